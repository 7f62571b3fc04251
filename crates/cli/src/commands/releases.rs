//! `picloud releases`, `rollback` and `replay`.

use serde_json::json;

use crate::args::{ReleasesArgs, ReplayArgs, RollbackArgs};
use crate::client::{Api, enc};
use crate::failure::{Failure, Result};
use crate::output::{self, cell};

use super::app_of;
use super::logs::print_execution;

pub async fn releases(args: ReleasesArgs) -> Result<()> {
    let api = Api::from_common(&args.common)?;
    let app = app_of(&args.app)?;
    let items = api.items(&format!("/apps/{}/releases", enc(&app))).await?;
    if args.common.json {
        output::json(&json!({ "items": items }));
        return Ok(());
    }
    if items.is_empty() {
        println!("app {app} has no releases yet: picloud deploy makes one");
        return Ok(());
    }
    for r in &items {
        let message = r["message"].as_str().unwrap_or_default();
        println!(
            "release {}  {}  {} by {}{}",
            cell(&r["number"]),
            cell(&r["created_at"]),
            cell(&r["kind"]),
            cell(&r["created_by"]),
            if message.is_empty() {
                String::new()
            } else {
                format!(": {}", message.lines().next().unwrap_or_default())
            }
        );
        for change in r["changes"].as_array().into_iter().flatten() {
            println!("  {}", change.as_str().unwrap_or_default());
        }
    }
    Ok(())
}

pub async fn rollback(args: RollbackArgs) -> Result<()> {
    let api = Api::from_common(&args.common)?;
    let app = app_of(&args.app)?;
    let path = format!("/apps/{}/releases", enc(&app));
    let items = api.items(&path).await?;
    let newest = items.first().and_then(|r| r["number"].as_i64());
    let which = match args.release {
        Some(which) => which,
        None => match items.get(1) {
            Some(previous) => cell(&previous["number"]),
            None => {
                return Err(Failure::usage(format!(
                    "app {app} has no release before its newest to roll back to"
                )));
            }
        },
    };
    let release = api
        .post(&format!("{path}/{}/rollback", enc(&which)), &json!(null))
        .await?;
    if args.common.json {
        output::json(&release);
    } else if release["number"].as_i64() > newest {
        println!(
            "rolled app {app} back to release {which}: release {} records it",
            cell(&release["number"])
        );
        for change in release["changes"].as_array().into_iter().flatten() {
            println!("  {}", change.as_str().unwrap_or_default());
        }
    } else {
        println!("app {app} already matches release {which}: nothing changed");
    }
    Ok(())
}

pub async fn replay(args: ReplayArgs) -> Result<()> {
    let api = Api::from_common(&args.common)?;
    let id: uuid::Uuid = args.execution.parse().map_err(|_| {
        Failure::usage(format!(
            "{:?} is not an execution id (a UUID, as picloud logs shows)",
            args.execution
        ))
    })?;
    let mut options = json!({ "dry_run": !args.commit });
    if let Some(version) = args.version {
        options["version"] = json!(version);
    }
    let answer = api
        .post(&format!("/executions/{id}/replay"), &options)
        .await?;
    if args.common.json {
        output::json(&answer);
        return Ok(());
    }
    let e = &answer["execution"];
    eprintln!(
        "replayed {id} as {}{}, version {}",
        cell(&e["id"]),
        if e["dry_run"].as_bool() == Some(true) {
            " (dry run: nothing was changed)"
        } else {
            ""
        },
        cell(&e["script_version"]),
    );
    print_execution(e);
    if let Some(body) = answer["response"]["body"].as_str()
        && !body.is_empty()
    {
        println!("{}", body.trim_end_matches('\n'));
    }
    Ok(())
}
