//! `picloud init`: a starter project.

use std::io::Write;
use std::path::Path;

use serde_json::json;

use crate::args::{DEFAULT_APP, InitArgs};
use crate::failure::{Failure, Result};
use crate::manifest::FILE_NAME;
use crate::output::{self};

use super::io_error;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_manifests_parse() {
        for app in ["default", "demo"] {
            let m = crate::manifest::Manifest::parse(
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
