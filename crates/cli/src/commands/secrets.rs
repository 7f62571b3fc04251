//! `picloud secrets`.

use std::io::IsTerminal;

use serde_json::json;

use crate::args::{SecretsArgs, SecretsCommand};
use crate::client::{Api, enc};
use crate::failure::{Failure, Result};
use crate::output::{self, cell};

use super::{app_of, io_error};

pub async fn secrets(args: SecretsArgs) -> Result<()> {
    let api = Api::from_common(&args.common)?;
    let json_out = args.common.json;
    let app_name = app_of(&args.app)?;
    let app = enc(&app_name);
    match args.command {
        SecretsCommand::Set { name } => {
            picloud_shared::secrets::check_secret_name(&name).map_err(Failure::usage)?;
            let value = if std::io::stdin().is_terminal() {
                rpassword::prompt_password(format!("Value of {name} (app {app_name}): "))
                    .map_err(|e| io_error("cannot read the value", e))?
            } else {
                let mut value = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut value)
                    .map_err(|e| io_error("cannot read the value from standard input", e))?;
                // `echo value | picloud secrets set NAME`: the newline is not
                // part of the value.
                if value.ends_with('\n') {
                    value.pop();
                    if value.ends_with('\r') {
                        value.pop();
                    }
                }
                value
            };
            let info = api
                .put(
                    &format!("/apps/{app}/secrets/{}", enc(&name)),
                    &json!({ "value": value }),
                )
                .await?;
            if json_out {
                output::json(&info);
            } else {
                println!("set secret {name} for app {app_name}");
            }
        }
        SecretsCommand::List => {
            let items = api.items(&format!("/apps/{app}/secrets")).await?;
            if json_out {
                output::json(&json!({ "items": items }));
            } else {
                let rows: Vec<Vec<String>> = items
                    .iter()
                    .map(|s| {
                        vec![
                            cell(&s["name"]),
                            cell(&s["updated_at"]),
                            cell(&s["updated_by"]),
                        ]
                    })
                    .collect();
                output::table(&["NAME", "UPDATED", "BY"], &rows);
            }
        }
        SecretsCommand::Delete { name } => {
            picloud_shared::secrets::check_secret_name(&name).map_err(Failure::usage)?;
            api.delete(&format!("/apps/{app}/secrets/{}", enc(&name)))
                .await?;
            if json_out {
                output::json(&json!({ "deleted": name }));
            } else {
                println!("deleted secret {name} from app {app_name}");
            }
        }
    }
    Ok(())
}
