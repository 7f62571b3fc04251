//! Every client command but `deploy`: login, logout, init, invoke, logs,
//! apps, scripts, kv, version (docs/cli.md).

use std::collections::HashSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::time::Duration;

use picloud_shared::version;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::client::{self, Api, Credentials, answer_failure, enc, normalise_url};
use super::manifest::FILE_NAME;
use super::output::{self, Progress, cell};
use super::{
    AppChoice, AppsArgs, AppsCommand, Common, Failure, InitArgs, InvokeArgs, KvArgs, KvCommand,
    LoginArgs, LogsArgs, ReleasesArgs, ReplayArgs, Result, RollbackArgs, ScriptsArgs,
    ScriptsCommand, SecretsArgs, SecretsCommand, exit,
};

/// The app a command acts on: `--app`, else the app of `--dir`'s
/// `picloud.toml` (as `spin` and `wrangler` read theirs), else `default`.
pub(crate) fn app_of(choice: &AppChoice) -> Result<String> {
    if let Some(app) = &choice.app {
        return Ok(app.clone());
    }
    if !choice.dir.join(FILE_NAME).exists() && choice.dir == Path::new(".") {
        return Ok(DEFAULT_APP.to_owned());
    }
    // A --dir given without a manifest in it is a mistake, said as deploy says it.
    super::manifest::Manifest::load(&choice.dir)
        .map(|m| m.app)
        .map_err(|e| Failure::error(e.0))
}

/// The app every instance has; its routes answer on every host no app claims.
pub(crate) const DEFAULT_APP: &str = "default";

fn io_error(what: impl std::fmt::Display, e: std::io::Error) -> Failure {
    Failure::error(format!("{what}: {e}"))
}

// ----- login, logout -----

pub async fn login(args: LoginArgs) -> Result<()> {
    let Some(url) = &args.common.url else {
        return Err(Failure::usage(
            "login needs the server: --url URL (or PICLOUD_URL)",
        ));
    };
    let base = normalise_url(url)?;
    let password = if args.password_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| io_error("cannot read the password from standard input", e))?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    } else {
        rpassword::prompt_password(format!("Password for {} at {base}: ", args.username))
            .map_err(|e| io_error("cannot read the password", e))?
    };
    let api = Api::new(base.clone(), None)?;
    let body = json!({ "username": args.username, "password": password });
    let reply = api
        .send(
            Method::POST,
            &format!("{}/admin/auth/login", version::api_prefix()),
            Some(("application/json", body.to_string().into_bytes())),
            false,
        )
        .await?;
    if !reply.status.is_success() {
        return Err(answer_failure(reply.status, &reply.body));
    }
    let answer: Value = serde_json::from_slice(&reply.body)
        .map_err(|e| Failure::error(format!("{base} answered something that is not JSON ({e})")))?;
    let token = answer["token"]
        .as_str()
        .ok_or_else(|| Failure::error(format!("{base} answered the login without a token")))?;
    let creds = Credentials {
        url: base.clone(),
        token: token.to_owned(),
        username: args.username.clone(),
        expires_at: answer["expires_at"].as_str().unwrap_or_default().to_owned(),
    };
    let path = client::save_credentials(&creds)?;
    if args.common.json {
        output::json(&json!({
            "url": base,
            "username": args.username,
            "expires_at": creds.expires_at,
            "saved_to": path,
        }));
    } else {
        println!(
            "logged in to {base} as {}; saved in {} (valid until {}, extended while used)",
            args.username,
            path.display(),
            creds.expires_at,
        );
    }
    Ok(())
}

pub async fn logout(common: Common) -> Result<()> {
    let saved = match client::load_credentials() {
        Ok(saved) => saved,
        // A damaged file: no session to end, but forget it.
        Err(_) => {
            client::remove_credentials()?;
            if common.json {
                output::json(&json!({ "logged_out": true, "url": null }));
            } else {
                println!("removed the damaged saved login");
            }
            return Ok(());
        }
    };
    let Some(saved) = saved else {
        if common.json {
            output::json(&json!({ "logged_out": false }));
        } else {
            println!("not logged in");
        }
        return Ok(());
    };
    let base = normalise_url(&saved.url)?;
    let api = Api::new(base.clone(), Some(saved.token))?;
    let ended = api.admin(Method::POST, "/auth/logout", None).await;
    // The login is forgotten whatever the server says.
    client::remove_credentials()?;
    match ended {
        Ok(_) => {}
        // The session had ended already (expired or revoked).
        Err(f) if f.exit == exit::AUTH => {}
        Err(f) => {
            return Err(Failure {
                exit: f.exit,
                message: format!(
                    "forgot the saved login, but could not end the session on the server: {}",
                    f.message
                ),
            });
        }
    }
    if common.json {
        output::json(&json!({ "logged_out": true, "url": base }));
    } else {
        println!("logged out of {base}");
    }
    Ok(())
}

// ----- init -----

const HELLO: &str = r#"// Runs for GET /hello, and for `picloud invoke hello`.
// What a script sees and returns: docs/scripts.md.
let name = ctx.request.query.name ?? "world";
log::info("greeting", #{ name: name });
#{ hello: name }
"#;

fn starter_manifest(app: &str) -> String {
    let hosts = if app == DEFAULT_APP {
        "# The default app's routes answer on every host that no app claims\n\
         # (http://localhost:8080/hello on your own machine)."
            .to_owned()
    } else {
        format!(
            "# An app other than `default` answers only on the hosts it claims;\n\
             # until it claims one, call its scripts with `picloud invoke`.\n\
             # domains = [\"{app}.example.com\"]"
        )
    };
    format!(
        r#"# The PiCloud manifest: `picloud deploy` makes the server match it.
# Every key is described in docs/manifest.md.

[app]
name = "{app}"
{hosts}

[[scripts]]
name = "hello"
file = "scripts/hello.rhai"
routes = ["/hello"]
# routes = ["/hello", {{ path = "/users/:id", methods = ["GET"] }}]
# sandbox = {{ timeout_ms = 2000 }}

# [[triggers]]
# kind = "kv"                    # or "cron" with schedule = "0 * * * *"
# collection = "orders"
# events = ["set"]
# script = "hello"
"#
    )
}

pub fn init(args: InitArgs) -> Result<()> {
    let dir = &args.dir;
    let manifest = dir.join(FILE_NAME);
    let hello = dir.join("scripts").join("hello.rhai");
    for path in [&manifest, &hello] {
        if path.exists() {
            return Err(Failure::error(format!(
                "{} exists already; init changes nothing in an existing project",
                path.display()
            )));
        }
    }
    let app = match &args.app {
        Some(app) => {
            picloud_shared::ScriptName::parse(app).map_err(|_| {
                Failure::usage(format!(
                    "--app {app:?}: app names are 1 to 64 of a-z, 0-9, '_' and '-'"
                ))
            })?;
            app.clone()
        }
        None => DEFAULT_APP.to_owned(),
    };
    std::fs::create_dir_all(dir.join("scripts")).map_err(|e| {
        io_error(
            format!("cannot create {}", dir.join("scripts").display()),
            e,
        )
    })?;
    let write_new = |path: &Path, text: &str| -> Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| io_error(format!("cannot create {}", path.display()), e))?;
        f.write_all(text.as_bytes())
            .map_err(|e| io_error(format!("cannot write {}", path.display()), e))
    };
    write_new(&manifest, &starter_manifest(&app))?;
    write_new(&hello, HELLO)?;
    if args.common.json {
        output::json(&json!({ "app": app, "created": [manifest, hello] }));
    } else {
        // invoke and logs read the manifest of the folder they run in.
        let next = if dir == Path::new(".") {
            "picloud deploy".to_owned()
        } else {
            format!("cd {} && picloud deploy", dir.display())
        };
        println!(
            "created {} and {} (app {app}); next: {next}",
            manifest.display(),
            hello.display(),
        );
    }
    Ok(())
}

// ----- invoke -----

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

// ----- logs -----

/// One execution and its logs, for people.
fn print_execution(e: &Value) {
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

// ----- apps, scripts -----

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

// ----- kv -----

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

// ----- secrets -----

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

// ----- version -----

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_manifests_parse() {
        for app in ["default", "demo"] {
            let m = super::super::manifest::Manifest::parse(
                &starter_manifest(app),
                Path::new("picloud.toml"),
                Path::new("."),
            )
            .unwrap();
            assert_eq!(m.app, app);
            assert_eq!(m.domains, None);
            assert_eq!(m.scripts[0].name, "hello");
            assert_eq!(m.scripts[0].routes[0].path, "/hello");
        }
    }
}
