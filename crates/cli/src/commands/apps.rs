//! `picloud apps` and `picloud scripts`.

use serde_json::{Value, json};

use crate::args::{AppsArgs, AppsCommand, ScriptsArgs, ScriptsCommand};
use crate::client::{Api, enc};
use crate::failure::Result;
use crate::output::{self, cell};

use super::app_of;

pub async fn apps(args: AppsArgs) -> Result<()> {
    let api = Api::from_common(&args.common)?;
    let json_out = args.common.json;
    match args.command {
        AppsCommand::Ls => {
            let items = api.items("/apps").await?;
            if json_out {
                output::json(&json!({ "items": items }));
            } else {
                let rows: Vec<Vec<String>> = items
                    .iter()
                    .map(|a| {
                        vec![
                            cell(&a["name"]),
                            cell(&a["id"]),
                            cell(&a["created_at"]),
                            cell(&a["description"]),
                        ]
                    })
                    .collect();
                output::table(&["NAME", "ID", "CREATED", "DESCRIPTION"], &rows);
            }
        }
        AppsCommand::Create { name, description } => {
            let mut body = json!({ "name": name });
            if let Some(d) = description {
                body["description"] = json!(d);
            }
            let app = api.post("/apps", &body).await?;
            if json_out {
                output::json(&app);
            } else {
                println!("created app {} ({})", cell(&app["name"]), cell(&app["id"]));
            }
        }
        AppsCommand::Rm { name } => {
            api.delete(&format!("/apps/{}", enc(&name))).await?;
            if json_out {
                output::json(&json!({ "deleted": name }));
            } else {
                println!("deleted app {name} and everything it owned");
            }
        }
        AppsCommand::Record {
            name,
            mode,
            redact_headers,
        } => {
            let mut body = json!({ "record_requests": mode });
            if let Some(headers) = redact_headers {
                body["redact_headers"] = json!(headers);
            }
            let app = api.patch(&format!("/apps/{}", enc(&name)), &body).await?;
            if json_out {
                output::json(&app);
            } else {
                let redacted: Vec<&str> = app["redact_headers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                println!(
                    "app {name} keeps {} requests{}",
                    match mode.as_str() {
                        "off" => "no",
                        "failed" => "failed",
                        _ => "all",
                    },
                    if redacted.is_empty() {
                        String::new()
                    } else {
                        format!(" (without {})", redacted.join(", "))
                    }
                );
            }
        }
    }
    Ok(())
}

pub async fn scripts(args: ScriptsArgs) -> Result<()> {
    let api = Api::from_common(&args.common)?;
    let ScriptsCommand::Ls = args.command;
    let app = app_of(&args.app)?;
    let items = api.items(&format!("/scripts?app={}", enc(&app))).await?;
    if args.common.json {
        output::json(&json!({ "items": items }));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|s| {
            vec![
                cell(&s["name"]),
                cell(&s["version"]),
                cell(&s["stats"]["invocations"]),
                cell(&s["stats"]["errors"]),
                cell(&s["stats"]["last_status"]),
                cell(&s["updated_at"]),
                cell(&s["id"]),
            ]
        })
        .collect();
    output::table(
        &["NAME", "VERSION", "RUNS", "ERRORS", "LAST", "UPDATED", "ID"],
        &rows,
    );
    Ok(())
}
