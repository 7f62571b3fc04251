//! Where each route of a deployed app answers.

use serde_json::{Value, json};

use crate::args::DEFAULT_APP;
use crate::manifest::Manifest;
use crate::output::cell;

/// Each route of the manifest and a URL that reaches it from here: the
/// server's own, with the `Host` an app other than `default` needs (its
/// first exact claim, else its first wildcard one as the pattern; none when
/// it claims none, and then no host reaches it).
pub(crate) fn endpoints(m: &Manifest, base: &str, hosts: &[String]) -> Vec<Value> {
    let base = base.trim_end_matches('/');
    let host = if m.app == DEFAULT_APP {
        None
    } else {
        match hosts.iter().find(|h| !h.contains('{')).or(hosts.first()) {
            Some(h) => Some(h.clone()),
            None => return Vec::new(),
        }
    };
    m.scripts
        .iter()
        .flat_map(|s| {
            s.routes.iter().map(|r| {
                json!({
                    "script": s.name,
                    "methods": r.methods,
                    "path": r.path,
                    "url": format!("{base}{}", r.path),
                    "host": host,
                })
            })
        })
        .collect()
}

pub(crate) fn print_endpoints(m: &Manifest, endpoints: &[Value]) {
    let routes = m.scripts.iter().map(|s| s.routes.len()).sum::<usize>();
    if routes == 0 {
        return;
    }
    if endpoints.is_empty() {
        let first = m.scripts.iter().find(|s| !s.routes.is_empty());
        println!(
            "app {} claims no host, so its routes answer nowhere yet: add \
             domains = [\"...\"] under [app] in picloud.toml (docs/routing.md); \
             meanwhile: picloud invoke {}",
            m.app,
            first.map_or("NAME", |s| s.name.as_str())
        );
        return;
    }
    println!("routes:");
    for e in endpoints {
        let methods = e["methods"].as_array().map_or_else(
            || "any".to_owned(),
            |ms| {
                ms.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            },
        );
        let url = e["url"].as_str().unwrap_or_default();
        match e["host"].as_str() {
            None => println!("  {methods:<4} {url}  -> {}", cell(&e["script"])),
            Some(host) => println!(
                "  {methods:<4} {url}  (Host: {host}) -> {}",
                cell(&e["script"])
            ),
        }
    }
}
