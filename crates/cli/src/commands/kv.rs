//! `picloud kv`.

use serde_json::{Value, json};

use crate::args::{KvArgs, KvCommand};
use crate::client::{Api, enc};
use crate::failure::{Failure, Result};
use crate::output::{self, cell};

use super::app_of;

pub async fn kv(args: KvArgs) -> Result<()> {
    let api = Api::from_common(&args.common)?;
    let json_out = args.common.json;
    let app = enc(&app_of(&args.app)?);
    match args.command {
        KvCommand::Get { collection, key } => {
            let item = api
                .get(&format!(
                    "/apps/{app}/kv/{}/{}",
                    enc(&collection),
                    enc(&key)
                ))
                .await?;
            if json_out {
                output::json(&item);
            } else {
                output::json(&item["value"]);
            }
        }
        KvCommand::Set {
            collection,
            key,
            value,
        } => {
            let value: Value = serde_json::from_str(&value).map_err(|e| {
                Failure::usage(format!(
                    "VALUE is not JSON ({e}); a string is written with its quotes: '\"text\"'"
                ))
            })?;
            let item = api
                .put(
                    &format!("/apps/{app}/kv/{}/{}", enc(&collection), enc(&key)),
                    &value,
                )
                .await?;
            if json_out {
                output::json(&item);
            } else {
                println!("set {collection}/{key}");
            }
        }
        KvCommand::Ls {
            collection: None, ..
        } => {
            let items = api.items(&format!("/apps/{app}/kv")).await?;
            if json_out {
                output::json(&json!({ "items": items }));
            } else {
                let rows: Vec<Vec<String>> = items
                    .iter()
                    .map(|c| vec![cell(&c["name"]), cell(&c["keys"])])
                    .collect();
                output::table(&["COLLECTION", "KEYS"], &rows);
            }
        }
        KvCommand::Ls {
            collection: Some(collection),
            prefix,
            limit,
            cursor,
        } => {
            let mut path = format!("/apps/{app}/kv/{}?limit={limit}", enc(&collection));
            if let Some(p) = prefix {
                path.push_str(&format!("&prefix={}", enc(&p)));
            }
            if let Some(c) = cursor {
                path.push_str(&format!("&cursor={}", enc(&c)));
            }
            let page = api.get(&path).await?;
            if json_out {
                output::json(&page);
            } else {
                let rows: Vec<Vec<String>> = page["items"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(|e| {
                        let v = e["value"].to_string();
                        let v = if v.chars().count() > 80 {
                            format!("{}…", v.chars().take(79).collect::<String>())
                        } else {
                            v
                        };
                        vec![cell(&e["key"]), v]
                    })
                    .collect();
                output::table(&["KEY", "VALUE"], &rows);
                if let Some(c) = page["cursor"].as_str() {
                    eprintln!("more keys: add --cursor {c}");
                }
            }
        }
        KvCommand::Rm { collection, key } => {
            api.delete(&format!(
                "/apps/{app}/kv/{}/{}",
                enc(&collection),
                enc(&key)
            ))
            .await?;
            if json_out {
                output::json(&json!({ "deleted": { "collection": collection, "key": key } }));
            } else {
                println!("deleted {collection}/{key}");
            }
        }
    }
    Ok(())
}
