//! `picloud logs`.

use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

use serde_json::{Value, json};

use crate::args::LogsArgs;
use crate::client::Api;
use crate::failure::{Result, exit};
use crate::output::{self, Progress, cell};

use super::app_of;

/// One execution and its logs, for people.
pub(super) fn print_execution(e: &Value) {
    let code = e["status_code"]
        .as_u64()
        .map_or_else(|| "-".to_owned(), |c| c.to_string());
    let ms = e["duration_ms"].as_f64().unwrap_or(0.0);
    println!(
        "{}  {:<14} {:>3}  {:>9.2} ms  {:<9}  execution {}{}",
        cell(&e["started_at"]),
        cell(&e["status"]),
        code,
        ms,
        cell(&e["invocation_type"]),
        cell(&e["id"]),
        match e["replay_of"].as_str() {
            Some(of) => format!("  replay of {of}"),
            None => String::new(),
        },
    );
    if let Some(logs) = e["logs"].as_array() {
        for l in logs {
            let data = if l["data"].is_null() {
                String::new()
            } else {
                format!(" {}", l["data"])
            };
            println!("    {:<5} {}{data}", cell(&l["level"]), cell(&l["message"]));
        }
    }
    if let Some(err) = e["error"].as_str() {
        println!("    error {err}");
    }
}

pub async fn logs(args: LogsArgs) -> Result<()> {
    let api = Api::from_common(&args.common)?;
    let app = app_of(&args.app)?;
    let id = api.script_id(&app, &args.name).await?;
    let path = format!("/scripts/{id}/executions?limit={}", args.limit);
    let first = api.items(&path).await?;
    if args.common.json && !args.follow {
        output::json(&json!({ "items": first }));
        return Ok(());
    }
    let show = |e: &Value| {
        if args.common.json {
            output::json_line(e);
        } else {
            print_execution(e);
        }
    };
    for e in first.iter().rev() {
        show(e);
    }
    if !args.follow {
        if first.is_empty() && !args.common.json {
            eprintln!("no executions of {} yet", args.name);
        }
        return Ok(());
    }

    // Follow: poll, show what was not seen, until Ctrl-C.
    let mut seen: HashSet<String> = first
        .iter()
        .filter_map(|e| e["id"].as_str().map(str::to_owned))
        .collect();
    let progress = Progress::new();
    let spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    let mut tick = 0usize;
    let mut note = String::new();
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        progress.show(&format!(
            "{} following {}… (Ctrl-C to stop){note}",
            spinner[tick % spinner.len()],
            args.name
        ));
        tokio::select! {
            _ = &mut stop => break,
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
        tick += 1;
        // A poll every 1.5 s.
        if !tick.is_multiple_of(6) {
            continue;
        }
        match api
            .items(&format!("/scripts/{id}/executions?limit=100"))
            .await
        {
            Ok(items) => {
                note.clear();
                let fresh: Vec<&Value> = items
                    .iter()
                    .filter(|e| e["id"].as_str().is_some_and(|i| !seen.contains(i)))
                    .collect();
                if !fresh.is_empty() {
                    progress.clear();
                    for e in fresh.iter().rev() {
                        show(e);
                    }
                    let _ = std::io::stdout().flush();
                }
                // Remember what the newest page holds: older ones never come back.
                seen = items
                    .iter()
                    .filter_map(|e| e["id"].as_str().map(str::to_owned))
                    .collect();
            }
            // The server restarting is not the end of a follow.
            Err(f) if f.exit == exit::UNREACHABLE => {
                note = " (cannot reach the server; retrying)".to_owned();
            }
            Err(f) => return Err(f),
        }
    }
    progress.clear();
    Ok(())
}
