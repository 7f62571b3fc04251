//! The cheap truths of the docs, checked against the code, and the SDK
//! guardrail of docs/versioning.md:
//!
//! - every version number the docs show (`GET /version` examples, the
//!   table in versioning.md) is the one the code has: adding a migration
//!   without moving the schema number in the docs fails here;
//! - every `PICLOUD_*` variable the code reads is in docs/configuration.md,
//!   and every one the docs name exists;
//! - every path of the admin API's OpenAPI document appears in the docs;
//! - an SDK contract test file that differs from the last released SDK's
//!   (crates/shared/sdk-released.toml) while `SDK_VERSION` is still that
//!   release's fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use picloud_manager_core::db::{POSTGRES_MIGRATOR, SQLITE_MIGRATOR, schema_version};
use picloud_shared::version::{API_VERSION, PRODUCT_VERSION, SDK_VERSION, WIRE_VERSION};
use regex::Regex;
use sha2::{Digest, Sha256};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// README.md, ARCHITECTURE.md and docs/*.md: (path relative to the root, text).
fn docs() -> Vec<(String, String)> {
    let root = root();
    let mut files = vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.expect("docs entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.sort();
    files.extend(pages);
    assert!(files.len() > 10, "the docs were not found: {files:?}");
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read a doc");
            let name = p
                .strip_prefix(&root)
                .expect("under root")
                .display()
                .to_string();
            (name, text)
        })
        .collect()
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a source folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// (doc, line number, captured value) for every match of `re`'s first group.
fn find_all(re: &Regex) -> Vec<(String, usize, String)> {
    let mut found = Vec::new();
    for (name, text) in docs() {
        for (i, line) in text.lines().enumerate() {
            for c in re.captures_iter(line) {
                found.push((name.clone(), i + 1, c[1].to_owned()));
            }
        }
    }
    found
}

fn check_number(what: &str, re: &str, expected: &str) -> usize {
    let re = Regex::new(re).expect("regex");
    let found = find_all(&re);
    let wrong: Vec<String> = found
        .iter()
        .filter(|(_, _, v)| v != expected)
        .map(|(doc, line, v)| format!("{doc}:{line}: {what} {v}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "the docs show a {what} that is not this build's ({expected}):\n{}",
        wrong.join("\n")
    );
    found.len()
}

#[test]
fn the_version_numbers_in_the_docs_are_this_builds() {
    let schema = schema_version();
    let postgres = POSTGRES_MIGRATOR.iter().map(|m| m.version).max();
    let sqlite = SQLITE_MIGRATOR.iter().map(|m| m.version).max();
    assert_eq!(sqlite, Some(schema));
    assert_eq!(postgres, Some(schema), "both backends end at the same step");

    // `GET /version` examples, in JSON with or without spaces.
    let examples = check_number("schema", r#""schema":\s*(\d+)"#, &schema.to_string());
    assert!(examples >= 3, "the /version examples were not found");
    check_number("sdk", r#""sdk":\s*"([^"]*)""#, SDK_VERSION);
    check_number("product", r#""product":\s*"([^"]*)""#, PRODUCT_VERSION);
    check_number("api", r#""api":\s*(\d+)"#, &API_VERSION.to_string());
    check_number("wire", r#""wire":\s*(\d+)"#, &WIRE_VERSION.to_string());

    // The table of docs/versioning.md.
    let table = [
        ("product", PRODUCT_VERSION.to_owned()),
        ("SDK", format!("\"{SDK_VERSION}\"")),
        ("API", API_VERSION.to_string()),
        ("schema", schema.to_string()),
        ("wire", WIRE_VERSION.to_string()),
    ];
    let versioning = std::fs::read_to_string(root().join("docs/versioning.md")).expect("read");
    for (surface, value) in table {
        let row = format!("| {surface} | `{value}` |");
        assert!(
            versioning.contains(&row),
            "docs/versioning.md's table must have the row `{row} ...`"
        );
    }
}

#[test]
fn every_picloud_variable_is_documented_and_every_documented_one_exists() {
    let root = root();
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).expect("crates/") {
        let krate = entry.expect("crate").path();
        if krate.join("src").is_dir() {
            rust_files(&krate.join("src"), &mut sources);
        }
        // build.rs and the files it includes (postgres_for_tests.rs).
        for file in std::fs::read_dir(&krate).expect("crate dir") {
            let path = file.expect("entry").path();
            if path.extension().is_some_and(|x| x == "rs") {
                sources.push(path);
            }
        }
    }
    let literal = Regex::new(r#""(PICLOUD_[A-Z0-9_]*[A-Z0-9])""#).expect("regex");
    let mut read: BTreeSet<String> = BTreeSet::new();
    for path in &sources {
        let text = std::fs::read_to_string(path).expect("read source");
        read.extend(literal.captures_iter(&text).map(|c| c[1].to_owned()));
    }
    // The settings the server parses are in config.rs, the client's in
    // cli/: a handful at least, or this scan is broken.
    for known in ["PICLOUD_BIND", "PICLOUD_URL", "PICLOUD_TOKEN"] {
        assert!(read.contains(known), "the scan missed {known}: {read:?}");
    }

    let configuration = std::fs::read_to_string(root.join("docs/configuration.md")).expect("read");
    let undocumented: Vec<&String> = read
        .iter()
        .filter(|v| {
            !Regex::new(&format!(r"\b{v}\b"))
                .expect("regex")
                .is_match(&configuration)
        })
        .collect();
    assert!(
        undocumented.is_empty(),
        "read by the code but not in docs/configuration.md: {undocumented:?}"
    );

    // The other way: a variable the docs name that nothing reads is a lie.
    // (A name ending in `_` or `*` is a family, like PICLOUD_SANDBOX_MAX_*.)
    let mentioned = Regex::new(r"\b(PICLOUD_[A-Z0-9_]*[A-Z0-9])\b(\*)?").expect("regex");
    // The deploy/ files (Caddyfile, Compose) have variables of their own.
    let mut everything = String::new();
    for path in &sources {
        everything.push_str(&std::fs::read_to_string(path).expect("read source"));
    }
    for entry in std::fs::read_dir(root.join("deploy")).expect("deploy/") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            everything.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
    let mut invented = BTreeSet::new();
    for (doc, text) in docs() {
        for c in mentioned.captures_iter(&text) {
            let name = &c[1];
            if c.get(2).is_some() || read.contains(name) || everything.contains(name) {
                continue;
            }
            invented.insert(format!("{doc}: {name}"));
        }
    }
    assert!(
        invented.is_empty(),
        "the docs name variables the code never reads:\n{}",
        invented.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn every_admin_api_path_is_in_the_docs() {
    let document = serde_json::to_value(picloud_manager_core::openapi::document()).expect("json");
    let paths: Vec<&String> = document["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .collect();
    assert!(paths.len() > 20, "too few paths: {paths:?}");

    // Parameter names may differ between the docs and the document
    // (`{id}`, `{script_id}`), so compare with every `{...}` as `{}`.
    let param = Regex::new(r"\{[^}/]*\}").expect("regex");
    let normalise = |p: &str| param.replace_all(p, "{}").trim_end_matches('/').to_owned();
    // In full (`/api/v1/admin/users`), or in a table of calls
    // (`` `GET /users` ``) on a page that says they are under
    // `/api/v1/admin`.
    let in_full = Regex::new(r"/api/v1/[A-Za-z0-9_{}./:-]*").expect("regex");
    let call = Regex::new(r"`(?:GET|PUT|POST|DELETE|PATCH) (/[A-Za-z0-9_{}./:-]*)").expect("regex");
    let mut documented = BTreeSet::new();
    for (_, text) in docs() {
        for m in in_full.find_iter(&text) {
            let path = m.as_str().trim_end_matches(['.', ':']);
            documented.insert(normalise(path));
        }
        if text.contains("under `/api/v1/admin`") {
            for c in call.captures_iter(&text) {
                documented.insert(normalise(&format!("/api/v1/admin{}", &c[1])));
            }
        }
    }
    let missing: Vec<&&String> = paths
        .iter()
        .filter(|p| !documented.contains(&normalise(p)))
        .collect();
    assert!(
        missing.is_empty(),
        "admin API paths no doc mentions (write them into docs/, in full, \
         as /api/v1/...): {missing:#?}"
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    // Line endings as committed: a checkout with CRLF hashes the same.
    let text = String::from_utf8_lossy(bytes).replace("\r\n", "\n");
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn sdk(version: &str) -> (u32, u32) {
    let (major, minor) = version.split_once('.').expect("MAJOR.MINOR");
    (major.parse().expect("major"), minor.parse().expect("minor"))
}

#[test]
fn the_sdk_contract_does_not_change_without_an_sdk_bump() {
    #[derive(serde::Deserialize)]
    struct Released {
        sdk: String,
        files: BTreeMap<String, String>,
    }
    let root = root();
    let record = std::fs::read_to_string(root.join("crates/shared/sdk-released.toml"))
        .expect("read crates/shared/sdk-released.toml");
    let released: Released = toml::from_str(&record).expect("sdk-released.toml");

    // Every contract file there is: crates/*/tests/sdk_contract*.rs.
    let mut contract = BTreeMap::new();
    for entry in std::fs::read_dir(root.join("crates")).expect("crates/") {
        let tests = entry.expect("crate").path().join("tests");
        let Ok(files) = std::fs::read_dir(&tests) else {
            continue;
        };
        for file in files {
            let path = file.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with("sdk_contract") && name.ends_with(".rs") {
                let relative = path.strip_prefix(&root).expect("under root");
                let bytes = std::fs::read(&path).expect("read a contract file");
                contract.insert(relative.display().to_string(), sha256_hex(&bytes));
            }
        }
    }
    assert!(
        contract.len() >= 2,
        "the SDK contract files were not found: {contract:?}"
    );

    let (now, then) = (sdk(SDK_VERSION), sdk(&released.sdk));
    assert!(
        now >= then,
        "SDK_VERSION {SDK_VERSION} is older than the released {}",
        released.sdk
    );
    if now == then {
        let record: String = contract
            .iter()
            .map(|(file, hash)| format!("\"{file}\" = \"{hash}\"\n"))
            .collect();
        assert_eq!(
            contract, released.files,
            "an SDK contract test changed while SDK_VERSION is still the released \
             {SDK_VERSION}: what scripts see is changing, so bump SDK_VERSION in \
             crates/shared/src/version.rs (minor for an addition, major for a change \
             or removal) and say so in docs/versioning.md. When that SDK is \
             released, record it in crates/shared/sdk-released.toml:\n\
             sdk = \"{SDK_VERSION}\"\n\n[files]\n{record}"
        );
    } else {
        // An unreleased SDK: its additions share the bump. The released
        // files must still be the ones recorded (a file renamed away from
        // the contract would escape the check).
        for file in released.files.keys() {
            assert!(
                contract.contains_key(file),
                "{file} is in crates/shared/sdk-released.toml but no longer exists"
            );
        }
    }
}

#[test]
fn the_sdk_guardrail_sees_a_changed_file() {
    // The check above compares hashes: one changed byte must show.
    let a = sha256_hex(b"let x = 1;\n");
    assert_ne!(a, sha256_hex(b"let x = 2;\n"));
    assert_eq!(a, sha256_hex(b"let x = 1;\r\n"));
    assert_eq!(sdk("1.10"), (1, 10));
    assert!(sdk("1.10") > sdk("1.9"));
}
