//! `picloud version`.

use picloud_shared::version;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::args::Common;
use crate::client::{Api, answer_failure};
use crate::failure::{Failure, Result, exit};
use crate::output::{self, cell};

pub async fn version(common: Common) -> Result<()> {
    let client = json!({
        "product": version::PRODUCT_VERSION,
        "api": version::API_VERSION,
        "sdk": version::SDK_VERSION,
    });
    let api = match Api::from_common(&common) {
        Ok(api) => Some(api),
        // No server known: the client's version alone.
        Err(f) if f.exit == exit::USAGE && common.url.is_none() => None,
        Err(f) => return Err(f),
    };
    let server = match &api {
        None => None,
        Some(api) => {
            let reply = api.send(Method::GET, "/version", None, false).await?;
            if reply.status != StatusCode::OK {
                return Err(answer_failure(reply.status, &reply.body));
            }
            let v: Value = serde_json::from_slice(&reply.body).map_err(|e| {
                Failure::error(format!(
                    "{}/version is not JSON ({e}); is it a PiCloud server?",
                    api.base
                ))
            })?;
            Some(v)
        }
    };
    if common.json {
        output::json(&json!({
            "client": client,
            "server": server,
            "url": api.as_ref().map(|a| a.base.clone()),
        }));
        return Ok(());
    }
    println!(
        "client  picloud {} (api {}, sdk {})",
        version::PRODUCT_VERSION,
        version::API_VERSION,
        version::SDK_VERSION
    );
    match (&api, &server) {
        (Some(api), Some(v)) => {
            println!(
                "server  picloud {} (api {}, sdk {}, schema {}) at {}",
                cell(&v["product"]),
                cell(&v["api"]),
                cell(&v["sdk"]),
                cell(&v["schema"]),
                api.base
            );
            if v["api"].as_u64() != Some(u64::from(version::API_VERSION)) {
                eprintln!(
                    "note: the server speaks API {}, this client API {}",
                    cell(&v["api"]),
                    version::API_VERSION
                );
            }
        }
        _ => println!("server  none known: pass --url, set PICLOUD_URL or run `picloud login`"),
    }
    Ok(())
}
