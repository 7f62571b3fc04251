//! `picloud deploy`: the steps of a deploy ([`crate::deploy`]) in order,
//! and what the command prints of them.

use serde_json::{Value, json};

use crate::args::{DEFAULT_APP, DeployArgs};
use crate::client::{Api, enc};
use crate::deploy::{apply, compile_check, endpoints, fetch, plan, print_endpoints, with_message};
use crate::failure::{Failure, Result};
use crate::manifest::Manifest;
use crate::output::{self, Progress};

pub async fn deploy(args: DeployArgs) -> Result<()> {
    let json_out = args.common.json;
    let progress = Progress::new();
    let mut m = Manifest::load(&args.dir).map_err(|e| Failure::error(e.0))?;
    m.read_sources().map_err(|e| Failure::error(e.0))?;
    compile_check(&m, &progress).await?;

    let api = Api::from_common(&args.common)?;
    api.require_login()?;
    progress.show(&format!("reading app {} on {}", m.app, api.base));
    let current = fetch(&api, &m).await?;
    progress.clear();
    let p = plan(&m, &current, args.prune)?;
    let lines = p.lines();

    if !json_out {
        let verb = if args.dry_run {
            "would deploy"
        } else {
            "deploying"
        };
        println!(
            "{verb} {} to app {} on {}",
            m.path.display(),
            m.app,
            api.base
        );
        for line in &lines {
            println!("  {line}");
        }
    }
    // A deploy that changed something is a release of the app (the server
    // answers the newest one when nothing it holds changed).
    let mut release = Value::Null;
    if !args.dry_run && !p.is_empty() {
        apply(&api, &m, &current, &p, args.message.as_deref()).await?;
        release = api
            .post(
                &format!("/apps/{}/releases", enc(&m.app)),
                &with_message(json!({ "kind": "deploy" }), args.message.as_deref()),
            )
            .await?;
    }

    let deleted: Vec<&str> = p.deleted.iter().map(|(n, _)| n.as_str()).collect();
    let updated: Vec<&str> = p.updated.iter().map(|(n, _, _)| n.as_str()).collect();
    // Where the routes answer: the app's claims as they are after this deploy.
    let hosts = if m.app == DEFAULT_APP {
        Vec::new()
    } else if let Some(domains) = &m.domains {
        domains.clone()
    } else if args.dry_run && !current.app_exists {
        Vec::new()
    } else {
        api.items(&format!("/apps/{}/domains", enc(&m.app)))
            .await?
            .iter()
            .filter_map(|d| d["pattern"].as_str().map(str::to_owned))
            .collect()
    };
    let endpoints = endpoints(&m, &api.base, &hosts);
    if json_out {
        output::json(&json!({
            "app": m.app,
            "dry_run": args.dry_run,
            "created": p.created,
            "updated": updated,
            "deleted": deleted,
            "unchanged": p.unchanged,
            "changes": lines,
            "routes": endpoints,
            "release": release["number"],
        }));
    } else if p.is_empty() {
        println!(
            "nothing to change: {} script(s) unchanged",
            p.unchanged.len()
        );
    } else {
        let counts = format!(
            "{} created, {} updated, {} deleted, {} unchanged",
            p.created.len(),
            updated.len(),
            deleted.len(),
            p.unchanged.len()
        );
        if args.dry_run {
            println!("dry run, nothing changed: scripts would be {counts}");
        } else {
            println!("done: scripts {counts}");
            if let Some(n) = release["number"].as_i64() {
                println!("release {n} of app {} (picloud releases lists them)", m.app);
            }
        }
    }
    if !json_out {
        print_endpoints(&m, &endpoints);
    }
    warn_missing_secrets(&api, &m, args.dry_run && !current.app_exists).await?;
    Ok(())
}

/// Says (on stderr) which of the secrets the manifest declares the app
/// lacks on the server, and how to set them. Values never travel with a
/// deploy.
async fn warn_missing_secrets(api: &Api, m: &Manifest, app_is_new: bool) -> Result<()> {
    if m.secrets.is_empty() {
        return Ok(());
    }
    let set: Vec<String> = if app_is_new {
        Vec::new()
    } else {
        api.items(&format!("/apps/{}/secrets", enc(&m.app)))
            .await?
            .iter()
            .filter_map(|s| s["name"].as_str().map(str::to_owned))
            .collect()
    };
    for name in m.secrets.iter().filter(|n| !set.contains(n)) {
        eprintln!(
            "warning: secret {name} is not set for app {}: picloud secrets set {name} --app {}",
            m.app, m.app
        );
    }
    Ok(())
}
