//! `picloud invoke`.

use std::io::Write;

use picloud_shared::version;
use reqwest::Method;
use serde_json::{Value, json};

use crate::args::InvokeArgs;
use crate::client::{Api, answer_failure};
use crate::failure::{Failure, Result};
use crate::output::{self};

use super::app_of;

pub async fn invoke(args: InvokeArgs) -> Result<()> {
    let body = match &args.data {
        Some(data) => {
            serde_json::from_str::<Value>(data)
                .map_err(|e| Failure::usage(format!("--data is not JSON: {e}")))?;
            Some(("application/json", data.clone().into_bytes()))
        }
        None => None,
    };
    let method = args
        .method
        .clone()
        .unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.to_owned());
    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| Failure::usage(format!("--method {method:?} is not an HTTP method")))?;
    let path = match args.path.as_str() {
        "" => String::new(),
        p if p.starts_with('/') || p.starts_with('?') => p.to_owned(),
        p => format!("/{p}"),
    };
    let api = Api::from_common(&args.common)?;
    let app = app_of(&args.app)?;
    let id = api.script_id(&app, &args.name).await?;
    // Without the token: the data plane needs none, and the script would
    // see it in its headers.
    let reply = api
        .send(
            method,
            &format!("{}/execute/{id}{path}", version::api_prefix()),
            body,
            false,
        )
        .await?;
    let is_json = reply
        .headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
    if args.common.json {
        let headers: serde_json::Map<String, Value> = reply
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
                )
            })
            .collect();
        let body = if reply.body.is_empty() {
            Value::Null
        } else if is_json {
            serde_json::from_slice(&reply.body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&reply.body).into()))
        } else {
            Value::String(String::from_utf8_lossy(&reply.body).into_owned())
        };
        output::json(&json!({
            "status": reply.status.as_u16(),
            "headers": headers,
            "body": body,
            "execution_id": header_text(&reply.headers, "picloud-execution-id"),
            "request_id": header_text(&reply.headers, "picloud-request-id"),
        }));
    } else if !reply.status.is_server_error() {
        // The status for people, on stderr: stdout is the body as it came.
        // (A 5xx is said by the one error line below.)
        let reason = reply.status.canonical_reason().unwrap_or("");
        let execution = header_text(&reply.headers, "picloud-execution-id")
            .map(|id| format!(" (execution {id})"))
            .unwrap_or_default();
        eprintln!("{} {reason}{execution}", reply.status.as_u16());
    }
    if !args.common.json && !reply.body.is_empty() {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&reply.body);
        if !reply.body.ends_with(b"\n") {
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }
    if reply.status.is_server_error() {
        let f = answer_failure(reply.status, &reply.body);
        return Err(Failure::error(format!(
            "the script answered {}: {}",
            reply.status.as_u16(),
            f.message
        )));
    }
    Ok(())
}

fn header_text(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
