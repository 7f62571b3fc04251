//! `picloud.toml`, the project manifest (docs/manifest.md): parsed with
//! unknown keys refused, then checked whole (names, routes, domains,
//! triggers, sandboxes) before `deploy` reaches the server. Every error is
//! one line, `FILE:LINE:COLUMN: key: what is wrong`.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use picloud_shared::routing::{DomainPattern, Methods, RoutePattern};
use picloud_shared::{RecordRequests, SandboxCeilings, SandboxOverrides, ScriptName};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;

pub const FILE_NAME: &str = "picloud.toml";

/// A checked manifest. Script sources are not read yet ([`Manifest::read_sources`]).
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The manifest's path as the user sees it (for messages).
    pub path: PathBuf,
    /// The folder script files are relative to.
    pub dir: PathBuf,
    pub app: String,
    /// `None`: the manifest says nothing about domains, and deploy leaves
    /// the app's claims alone. `Some`: exactly these (normalised) patterns.
    pub domains: Option<Vec<String>>,
    /// The secrets the app's scripts need (names only: values are never in
    /// a manifest); deploy warns about the ones the server lacks.
    pub secrets: Vec<String>,
    /// Which requests the app keeps for replay; `None`: left as it is.
    pub record_requests: Option<RecordRequests>,
    /// The headers left out of kept requests (lower case); `None`: left
    /// as they are.
    pub redact_headers: Option<Vec<String>>,
    pub scripts: Vec<ScriptSpec>,
    pub triggers: Vec<TriggerSpec>,
    /// Where each key is, for errors found later (a file that cannot be
    /// read, a route taken on the server).
    text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScriptSpec {
    pub name: String,
    /// As written in the manifest, relative to its folder.
    pub file: String,
    /// Filled by [`Manifest::read_sources`].
    pub source: String,
    pub description: String,
    pub sandbox: SandboxOverrides,
    pub routes: Vec<RouteSpec>,
    file_span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    /// Normalised: a leading `/`, no trailing one.
    pub path: String,
    /// Upper-case, sorted; `None` for any method.
    pub methods: Option<Vec<String>>,
    pub span: Range<usize>,
}

impl RouteSpec {
    /// `GET,POST /users/:id` or `any /users/:id`.
    pub fn describe(&self) -> String {
        match &self.methods {
            Some(m) => format!("{} {}", m.join(","), self.path),
            None => format!("any {}", self.path),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerSpec {
    Kv {
        collection: String,
        /// Sorted, without duplicates.
        events: Vec<String>,
        script: String,
        max_attempts: u32,
        dead_letter_script: Option<String>,
    },
    Cron {
        schedule: String,
        script: String,
    },
}

impl TriggerSpec {
    pub fn script(&self) -> &str {
        match self {
            TriggerSpec::Kv { script, .. } | TriggerSpec::Cron { script, .. } => script,
        }
    }
}

impl fmt::Display for TriggerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TriggerSpec::Kv {
                collection,
                events,
                script,
                max_attempts,
                dead_letter_script,
            } => {
                write!(
                    f,
                    "kv {collection} [{}] -> {script} (max_attempts {max_attempts}",
                    events.join(",")
                )?;
                if let Some(d) = dead_letter_script {
                    write!(f, ", dead letters -> {d}")?;
                }
                f.write_str(")")
            }
            TriggerSpec::Cron { schedule, script } => write!(f, "cron {schedule:?} -> {script}"),
        }
    }
}

// ----- the file as written -----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    app: RawApp,
    #[serde(default)]
    scripts: Vec<RawScript>,
    #[serde(default)]
    triggers: Vec<Spanned<RawTrigger>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApp {
    name: Spanned<String>,
    domains: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    secrets: Vec<Spanned<String>>,
    record_requests: Option<Spanned<String>>,
    redact_headers: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScript {
    name: Spanned<String>,
    file: Spanned<String>,
    #[serde(default)]
    routes: Vec<Spanned<RawRoute>>,
    sandbox: Option<Spanned<SandboxOverrides>>,
    description: Option<String>,
}

/// One trigger, flat, so that every key keeps its position; which keys a
/// kind takes is checked after parsing.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrigger {
    kind: Spanned<String>,
    script: Spanned<String>,
    collection: Option<Spanned<String>>,
    events: Option<Spanned<Vec<String>>>,
    max_attempts: Option<Spanned<u32>>,
    dead_letter_script: Option<Spanned<String>>,
    schedule: Option<Spanned<String>>,
}

/// A route: `"/path"` or `{ path = "/path", methods = ["GET"] }`.
struct RawRoute {
    path: String,
    methods: Option<Vec<String>>,
}

impl<'de> Deserialize<'de> for RawRoute {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            path: String,
            methods: Option<Vec<String>>,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawRoute;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    r#"a path like "/users/:id" or { path = "/users/:id", methods = ["GET"] }"#,
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawRoute, E> {
                Ok(RawRoute {
                    path: v.to_owned(),
                    methods: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawRoute, A::Error> {
                let full = Full::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawRoute {
                    path: full.path,
                    methods: full.methods,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// A manifest error, one line: `FILE:LINE:COLUMN: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError(pub String);

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Line and column (1-based, in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn at(&self, span: &Range<usize>, message: impl fmt::Display) -> ManifestError {
        let (line, col) = line_col(self.text, span.start);
        ManifestError(format!("{}:{line}:{col}: {message}", self.path.display()))
    }

    fn line_of(&self, span: &Range<usize>) -> usize {
        line_col(self.text, span.start).0
    }
}

impl Manifest {
    /// Reads `DIR/picloud.toml` and checks it (not the script files yet).
    pub fn load(dir: &Path) -> Result<Manifest, ManifestError> {
        let path = shown(&dir.join(FILE_NAME));
        let text = std::fs::read_to_string(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ManifestError(format!(
                    "{}: not found; run `picloud init` to start a project, or pass --dir",
                    path.display()
                ))
            } else {
                ManifestError(format!("{}: cannot read it: {e}", path.display()))
            }
        })?;
        Manifest::parse(&text, &path, dir)
    }

    /// Parses and checks a manifest's text. `path` is for messages, `dir`
    /// is the folder script files are relative to.
    pub fn parse(text: &str, path: &Path, dir: &Path) -> Result<Manifest, ManifestError> {
        let cx = Ctx { path, text };
        let raw: RawManifest = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            cx.at(&span, e.message().trim().replace('\n', " "))
        })?;

        let app = raw.app.name.get_ref().clone();
        if ScriptName::parse(&app).is_err() {
            return Err(cx.at(
                &raw.app.name.span(),
                format!("app.name: {app:?} is not a valid name (1 to 64 of a-z, 0-9, '_' and '-')"),
            ));
        }

        let domains = match raw.app.domains {
            None => None,
            Some(list) => {
                let mut seen: HashMap<String, Range<usize>> = HashMap::new();
                let mut out = Vec::new();
                for d in &list {
                    let pattern = DomainPattern::parse(d.get_ref()).map_err(|e| {
                        cx.at(&d.span(), format!("app.domains: {:?}: {e}", d.get_ref()))
                    })?;
                    let norm = pattern.as_str().to_owned();
                    if let Some(first) = seen.get(&norm) {
                        return Err(cx.at(
                            &d.span(),
                            format!(
                                "app.domains: {norm:?} is listed twice (first on line {})",
                                cx.line_of(first)
                            ),
                        ));
                    }
                    seen.insert(norm.clone(), d.span());
                    out.push(norm);
                }
                Some(out)
            }
        };

        let mut secrets: Vec<String> = Vec::new();
        for s in &raw.app.secrets {
            let name = s.get_ref();
            picloud_shared::secrets::check_secret_name(name)
                .map_err(|e| cx.at(&s.span(), format!("app.secrets: {e}")))?;
            if secrets.contains(name) {
                return Err(cx.at(&s.span(), format!("app.secrets: {name:?} is listed twice")));
            }
            secrets.push(name.clone());
        }

        let ceilings = SandboxCeilings::default();
        let mut names: HashMap<String, Range<usize>> = HashMap::new();
        let mut scripts = Vec::new();
        for s in raw.scripts {
            let name = s.name.get_ref().clone();
            if let Err(e) = ScriptName::parse(&name) {
                return Err(cx.at(&s.name.span(), format!("scripts.name: {e}")));
            }
            if let Some(first) = names.get(&name) {
                return Err(cx.at(
                    &s.name.span(),
                    format!(
                        "scripts.name: {name:?} is used twice (first on line {})",
                        cx.line_of(first)
                    ),
                ));
            }
            names.insert(name.clone(), s.name.span());
            if s.file.get_ref().trim().is_empty() {
                return Err(cx.at(&s.file.span(), "scripts.file: empty"));
            }
            let sandbox = match &s.sandbox {
                None => SandboxOverrides::default(),
                Some(sb) => {
                    ceilings
                        .validate(sb.get_ref())
                        .map_err(|e| cx.at(&sb.span(), format!("scripts.sandbox: {e}")))?;
                    *sb.get_ref()
                }
            };
            let mut routes = Vec::new();
            for r in &s.routes {
                let raw_route = r.get_ref();
                let pattern = RoutePattern::parse(&raw_route.path).map_err(|e| {
                    cx.at(
                        &r.span(),
                        format!("scripts.routes: {:?}: {e}", raw_route.path),
                    )
                })?;
                let methods = Methods::parse(raw_route.methods.as_deref()).map_err(|e| {
                    cx.at(
                        &r.span(),
                        format!("scripts.routes: {:?}: {e}", raw_route.path),
                    )
                })?;
                routes.push(RouteSpec {
                    path: pattern.as_str().to_owned(),
                    methods: methods.as_list().map(<[String]>::to_vec),
                    span: r.span(),
                });
            }
            scripts.push(ScriptSpec {
                name,
                file: s.file.get_ref().clone(),
                source: String::new(),
                description: s.description.unwrap_or_default(),
                sandbox,
                routes,
                file_span: s.file.span(),
            });
        }
        check_route_conflicts(&cx, &scripts)?;

        let record_requests = match &raw.app.record_requests {
            None => None,
            Some(mode) => Some(RecordRequests::parse(mode.get_ref()).ok_or_else(|| {
                cx.at(
                    &mode.span(),
                    format!(
                        "app.record_requests: {:?} is not one of \"off\", \"failed\", \"all\"",
                        mode.get_ref()
                    ),
                )
            })?),
        };
        let redact_headers = match &raw.app.redact_headers {
            None => None,
            Some(list) => {
                let mut out: Vec<String> = Vec::new();
                for h in list {
                    let name = picloud_shared::exec::redacted_header_name(h.get_ref())
                        .map_err(|e| cx.at(&h.span(), format!("app.redact_headers: {e}")))?;
                    if !out.contains(&name) {
                        out.push(name);
                    }
                }
                Some(out)
            }
        };

        let mut triggers = Vec::new();
        for t in raw.triggers {
            triggers.push(check_trigger(&cx, &t, &names)?);
        }

        Ok(Manifest {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
            app,
            domains,
            secrets,
            record_requests,
            redact_headers,
            scripts,
            triggers,
            text: text.to_owned(),
        })
    }

    /// Reads every script's file. A missing or unreadable file is an error
    /// naming it and the manifest line that lists it.
    pub fn read_sources(&mut self) -> Result<(), ManifestError> {
        let cx = Ctx {
            path: &self.path,
            text: &self.text,
        };
        for s in &mut self.scripts {
            let file = self.dir.join(&s.file);
            s.source = std::fs::read_to_string(&file).map_err(|e| {
                cx.at(
                    &s.file_span,
                    format!("scripts.file: cannot read {}: {e}", shown(&file).display()),
                )
            })?;
        }
        Ok(())
    }

    /// A script file's path as the user sees it (for compile errors).
    pub fn file_shown(&self, script: &ScriptSpec) -> PathBuf {
        shown(&self.dir.join(&script.file))
    }

    /// An error at a route of the manifest (found against the server).
    pub fn route_error(&self, route: &RouteSpec, message: impl fmt::Display) -> ManifestError {
        Ctx {
            path: &self.path,
            text: &self.text,
        }
        .at(&route.span, message)
    }
}

/// `./x` → `x`: paths as a person would type them.
fn shown(p: &Path) -> PathBuf {
    p.strip_prefix(".")
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| p.to_path_buf())
}

/// Two routes of one manifest with the same shape and overlapping methods
/// would be refused by the server halfway through a deploy: refuse them
/// first.
fn check_route_conflicts(cx: &Ctx, scripts: &[ScriptSpec]) -> Result<(), ManifestError> {
    let mut seen: Vec<(&ScriptSpec, &RouteSpec, String, Methods)> = Vec::new();
    for s in scripts {
        for r in &s.routes {
            let shape = RoutePattern::parse(&r.path)
                .map(|p| p.shape())
                .unwrap_or_default();
            let methods = Methods::parse(r.methods.as_deref()).unwrap_or(Methods::Any);
            if let Some((other_script, other, _, _)) = seen
                .iter()
                .find(|(_, _, sh, m)| *sh == shape && m.overlaps(&methods))
            {
                return Err(cx.at(
                    &r.span,
                    format!(
                        "scripts.routes: {} (script {:?}) conflicts with {} (script {:?}, line {}): same shape, overlapping methods",
                        r.describe(),
                        s.name,
                        other.describe(),
                        other_script.name,
                        cx.line_of(&other.span)
                    ),
                ));
            }
            seen.push((s, r, shape, methods));
        }
    }
    Ok(())
}

fn check_trigger(
    cx: &Ctx,
    t: &Spanned<RawTrigger>,
    names: &HashMap<String, Range<usize>>,
) -> Result<TriggerSpec, ManifestError> {
    let raw = t.get_ref();
    let script = raw.script.get_ref().clone();
    if !names.contains_key(&script) {
        return Err(cx.at(
            &raw.script.span(),
            format!("triggers.script: no script named {script:?} in this manifest"),
        ));
    }
    // A key that the kind does not take.
    let refuse = |key: &str, span: Option<Range<usize>>, kind: &str| -> Result<(), ManifestError> {
        match span {
            Some(span) => Err(cx.at(
                &span,
                format!("triggers.{key}: not a key of a {kind:?} trigger"),
            )),
            None => Ok(()),
        }
    };
    match raw.kind.get_ref().as_str() {
        "kv" => {
            refuse("schedule", raw.schedule.as_ref().map(Spanned::span), "kv")?;
            let collection = raw.collection.as_ref().ok_or_else(|| {
                cx.at(
                    &t.span(),
                    "triggers: a kv trigger needs collection = \"...\"",
                )
            })?;
            picloud_shared::kv::check_collection(collection.get_ref())
                .map_err(|e| cx.at(&collection.span(), format!("triggers.collection: {e}")))?;
            let events = raw.events.as_ref().ok_or_else(|| {
                cx.at(
                    &t.span(),
                    "triggers: a kv trigger needs events = [\"set\", \"delete\"] (either or both)",
                )
            })?;
            let mut list = events.get_ref().clone();
            if list.is_empty() {
                return Err(cx.at(
                    &events.span(),
                    "triggers.events: empty; list \"set\", \"delete\" or both",
                ));
            }
            if let Some(bad) = list
                .iter()
                .find(|e| !matches!(e.as_str(), "set" | "delete"))
            {
                return Err(cx.at(
                    &events.span(),
                    format!("triggers.events: {bad:?} is not an event; use \"set\" and \"delete\""),
                ));
            }
            list.sort();
            list.dedup();
            let max_attempts = match &raw.max_attempts {
                None => picloud_shared::events::DEFAULT_MAX_ATTEMPTS,
                Some(m) => {
                    let range = picloud_shared::events::MAX_ATTEMPTS_RANGE;
                    if !range.contains(m.get_ref()) {
                        return Err(cx.at(
                            &m.span(),
                            format!(
                                "triggers.max_attempts: {} to {}; got {}",
                                range.start(),
                                range.end(),
                                m.get_ref()
                            ),
                        ));
                    }
                    *m.get_ref()
                }
            };
            let dead_letter_script = match &raw.dead_letter_script {
                None => None,
                Some(d) => {
                    if !names.contains_key(d.get_ref()) {
                        return Err(cx.at(
                            &d.span(),
                            format!(
                                "triggers.dead_letter_script: no script named {:?} in this manifest",
                                d.get_ref()
                            ),
                        ));
                    }
                    Some(d.get_ref().clone())
                }
            };
            Ok(TriggerSpec::Kv {
                collection: collection.get_ref().clone(),
                events: list,
                script,
                max_attempts,
                dead_letter_script,
            })
        }
        "cron" => {
            refuse(
                "collection",
                raw.collection.as_ref().map(Spanned::span),
                "cron",
            )?;
            refuse("events", raw.events.as_ref().map(Spanned::span), "cron")?;
            refuse(
                "max_attempts",
                raw.max_attempts.as_ref().map(Spanned::span),
                "cron",
            )?;
            refuse(
                "dead_letter_script",
                raw.dead_letter_script.as_ref().map(Spanned::span),
                "cron",
            )?;
            let schedule = raw.schedule.as_ref().ok_or_else(|| {
                cx.at(
                    &t.span(),
                    "triggers: a cron trigger needs schedule = \"0 * * * *\"",
                )
            })?;
            picloud_shared::cron::parse(schedule.get_ref())
                .map_err(|e| cx.at(&schedule.span(), format!("triggers.schedule: {e}")))?;
            Ok(TriggerSpec::Cron {
                schedule: schedule.get_ref().clone(),
                script,
            })
        }
        other => Err(cx.at(
            &raw.kind.span(),
            format!("triggers.kind: {other:?}: a trigger is kind = \"kv\" or kind = \"cron\""),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, ManifestError> {
        Manifest::parse(text, Path::new("picloud.toml"), Path::new("."))
    }

    fn err(text: &str) -> String {
        parse(text).expect_err("an error").0
    }

    const FULL: &str = r#"
[app]
name = "shop"
domains = ["Shop.Example.com", "{tenant}.shop.example.com"]

[[scripts]]
name = "hello"
file = "scripts/hello.rhai"
routes = ["/hello/", { path = "/users/:id", methods = ["get", "POST"] }]
sandbox = { timeout_ms = 2000 }
description = "says hello"

[[scripts]]
name = "audit"
file = "scripts/audit.rhai"

[[triggers]]
kind = "kv"
collection = "orders"
events = ["set", "set"]
script = "audit"
dead_letter_script = "hello"

[[triggers]]
kind = "cron"
schedule = "0 * * * *"
script = "hello"
"#;

    #[test]
    fn the_contract_example_parses_and_is_normalised() {
        let m = parse(FULL).unwrap();
        assert_eq!(m.app, "shop");
        assert_eq!(
            m.domains.as_deref(),
            Some(
                &[
                    "shop.example.com".to_owned(),
                    "{tenant}.shop.example.com".to_owned()
                ][..]
            )
        );
        assert_eq!(m.scripts.len(), 2);
        let hello = &m.scripts[0];
        assert_eq!(hello.name, "hello");
        assert_eq!(hello.file, "scripts/hello.rhai");
        assert_eq!(hello.description, "says hello");
        assert_eq!(hello.sandbox.timeout_ms, Some(2000));
        assert_eq!(hello.routes[0].path, "/hello");
        assert_eq!(hello.routes[0].methods, None);
        assert_eq!(hello.routes[1].path, "/users/:id");
        assert_eq!(
            hello.routes[1].methods,
            Some(vec!["GET".to_owned(), "POST".to_owned()])
        );
        assert_eq!(m.scripts[1].description, "");
        assert_eq!(m.scripts[1].sandbox, SandboxOverrides::default());
        assert_eq!(
            m.triggers,
            vec![
                TriggerSpec::Kv {
                    collection: "orders".into(),
                    events: vec!["set".into()],
                    script: "audit".into(),
                    max_attempts: 3,
                    dead_letter_script: Some("hello".into()),
                },
                TriggerSpec::Cron {
                    schedule: "0 * * * *".into(),
                    script: "hello".into()
                },
            ]
        );
    }

    #[test]
    fn what_an_app_keeps_of_its_requests_is_checked() {
        let m = parse("[app]\nname = \"a\"\n").unwrap();
        assert_eq!((m.record_requests, m.redact_headers), (None, None));
        let m = parse(
            "[app]\nname = \"a\"\nrecord_requests = \"failed\"\nredact_headers = [\"X-Api-Key\", \"x-api-key\"]\n",
        )
        .unwrap();
        assert_eq!(m.record_requests, Some(RecordRequests::Failed));
        assert_eq!(m.redact_headers, Some(vec!["x-api-key".to_owned()]));
        let e = err("[app]\nname = \"a\"\nrecord_requests = \"some\"\n");
        assert!(
            e.starts_with("picloud.toml:3:19: app.record_requests: \"some\""),
            "{e}"
        );
        let e = err("[app]\nname = \"a\"\nredact_headers = [\"a b\"]\n");
        assert!(
            e.starts_with("picloud.toml:3:19: app.redact_headers: "),
            "{e}"
        );
    }

    #[test]
    fn no_domains_key_leaves_domains_alone() {
        let m = parse("[app]\nname = \"a\"\n").unwrap();
        assert_eq!(m.domains, None);
        assert!(m.scripts.is_empty());
        let m = parse("[app]\nname = \"a\"\ndomains = []\n").unwrap();
        assert_eq!(m.domains, Some(vec![]));
    }

    #[test]
    fn unknown_keys_are_named_with_file_line_and_column() {
        let e = err(
            "[app]\nname = \"a\"\n\n[[scripts]]\nname = \"x\"\nfile = \"x.rhai\"\nroute = [\"/x\"]\n",
        );
        assert!(e.starts_with("picloud.toml:7:1: "), "{e}");
        assert!(e.contains("unknown field `route`"), "{e}");
        let e = err("[app]\nname = \"a\"\nregion = \"eu\"\n");
        assert!(
            e.starts_with("picloud.toml:3:1: ") && e.contains("`region`"),
            "{e}"
        );
        let e = err(
            "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\nsandbox = { timeout = 5 }\n",
        );
        assert!(
            e.starts_with("picloud.toml:6:") && e.contains("`timeout`"),
            "{e}"
        );
        let e = err(
            "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\nroutes = [{ path = \"/a\", verbs = [\"GET\"] }]\n",
        );
        assert!(
            e.starts_with("picloud.toml:6:") && e.contains("`verbs`"),
            "{e}"
        );
        let e = err(
            "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\n[[triggers]]\nkind = \"cron\"\nschedule = \"* * * * *\"\nscript = \"x\"\ncollection_name = \"c\"\n",
        );
        assert!(
            e.starts_with("picloud.toml:10:1: ") && e.contains("`collection_name`"),
            "{e}"
        );
        let e = err("[[scripts]]\nname = \"x\"\nfile = \"x\"\n");
        assert!(e.contains("missing field `app`"), "{e}");
        assert_eq!(e.lines().count(), 1);
        let e = err("[app\nname = 1");
        assert!(e.starts_with("picloud.toml:1:"), "{e}");
        assert_eq!(e.lines().count(), 1);
    }

    #[test]
    fn names_are_checked_and_unique() {
        let e = err("[app]\nname = \"Shop\"\n");
        assert!(e.starts_with("picloud.toml:2:8: app.name: \"Shop\""), "{e}");
        let e = err("[app]\nname = \"a\"\n[[scripts]]\nname = \"Bad Name\"\nfile = \"x\"\n");
        assert!(e.starts_with("picloud.toml:4:8: scripts.name: "), "{e}");
        let e = err(
            "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x.rhai\"\n[[scripts]]\nname = \"x\"\nfile = \"y.rhai\"\n",
        );
        assert_eq!(
            e,
            "picloud.toml:7:8: scripts.name: \"x\" is used twice (first on line 4)"
        );
    }

    #[test]
    fn routes_inside_the_manifest_must_not_conflict() {
        let two = |a: &str, b: &str| {
            format!(
                "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\nroutes = [{a}]\n[[scripts]]\nname = \"y\"\nfile = \"y\"\nroutes = [{b}]\n"
            )
        };
        let e = err(&two(
            r#""/users/:id""#,
            r#"{ path = "/users/:uid/", methods = ["GET"] }"#,
        ));
        assert!(e.starts_with("picloud.toml:10:11: scripts.routes: GET /users/:uid (script \"y\") conflicts with any /users/:id (script \"x\", line 6)"), "{e}");
        // Disjoint methods, or different shapes, live side by side.
        parse(&two(
            r#"{ path = "/users/:id", methods = ["GET"] }"#,
            r#"{ path = "/users/:uid", methods = ["DELETE"] }"#,
        ))
        .unwrap();
        parse(&two(r#""/users/:id""#, r#""/users/*rest""#)).unwrap();
        // The same route twice in one script conflicts too.
        let e = err(
            "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\nroutes = [\"/a\", \"/a/\"]\n",
        );
        assert!(e.contains("conflicts with any /a"), "{e}");
        let e = err(
            "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\nroutes = [\"/api/x\"]\n",
        );
        assert!(
            e.starts_with("picloud.toml:6:11: scripts.routes: \"/api/x\": "),
            "{e}"
        );
        let e = err(
            "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\nroutes = [{ path = \"/a\", methods = [] }]\n",
        );
        assert!(e.contains("methods is empty"), "{e}");
    }

    #[test]
    fn domains_and_sandboxes_are_checked() {
        let e = err("[app]\nname = \"a\"\ndomains = [\"a.example.com\", \"A.example.com.\"]\n");
        assert!(e.contains("listed twice (first on line 3)"), "{e}");
        let e = err("[app]\nname = \"a\"\ndomains = [\"localhost\"]\n");
        assert!(
            e.starts_with("picloud.toml:3:12: app.domains: \"localhost\": "),
            "{e}"
        );
        let e = err(
            "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\nsandbox = { timeout_ms = 0 }\n",
        );
        assert!(
            e.contains("scripts.sandbox: sandbox.timeout_ms must be at least 1"),
            "{e}"
        );
        let e = err(
            "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\nsandbox = { timeout_ms = 60001 }\n",
        );
        assert!(e.contains("above the ceiling of 60000"), "{e}");
    }

    #[test]
    fn triggers_are_checked_per_kind() {
        let base = "[app]\nname = \"a\"\n[[scripts]]\nname = \"x\"\nfile = \"x\"\n[[triggers]]\n";
        let e = err(&format!("{base}kind = \"webhook\"\nscript = \"x\"\n"));
        assert!(
            e.starts_with("picloud.toml:7:8: triggers.kind: \"webhook\""),
            "{e}"
        );
        let e = err(&format!(
            "{base}kind = \"kv\"\nscript = \"nope\"\ncollection = \"c\"\nevents = [\"set\"]\n"
        ));
        assert!(
            e.contains("triggers.script: no script named \"nope\""),
            "{e}"
        );
        let e = err(&format!(
            "{base}kind = \"kv\"\nscript = \"x\"\nevents = [\"set\"]\n"
        ));
        assert!(e.contains("needs collection"), "{e}");
        let e = err(&format!(
            "{base}kind = \"kv\"\nscript = \"x\"\ncollection = \"c\"\nevents = [\"put\"]\n"
        ));
        assert!(e.contains("\"put\" is not an event"), "{e}");
        let e = err(&format!(
            "{base}kind = \"kv\"\nscript = \"x\"\ncollection = \"c\"\nevents = [\"set\"]\nmax_attempts = 21\n"
        ));
        assert!(e.contains("triggers.max_attempts: 1 to 20; got 21"), "{e}");
        let e = err(&format!(
            "{base}kind = \"kv\"\nscript = \"x\"\ncollection = \"c\"\nevents = [\"set\"]\nschedule = \"* * * * *\"\n"
        ));
        assert!(
            e.contains("triggers.schedule: not a key of a \"kv\" trigger"),
            "{e}"
        );
        let e = err(&format!(
            "{base}kind = \"cron\"\nscript = \"x\"\nschedule = \"every minute\"\n"
        ));
        assert!(
            e.starts_with("picloud.toml:9:12: triggers.schedule: "),
            "{e}"
        );
        let e = err(&format!("{base}kind = \"cron\"\nscript = \"x\"\n"));
        assert!(e.contains("needs schedule"), "{e}");
    }

    #[test]
    fn missing_files_are_named_with_the_line_that_lists_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("scripts")).unwrap();
        std::fs::write(dir.path().join("scripts/a.rhai"), "1").unwrap();
        let text = "[app]\nname = \"a\"\n[[scripts]]\nname = \"a\"\nfile = \"scripts/a.rhai\"\n[[scripts]]\nname = \"b\"\nfile = \"scripts/b.rhai\"\n";
        let mut m = Manifest::parse(text, Path::new("proj/picloud.toml"), dir.path()).unwrap();
        let e = m.read_sources().unwrap_err().0;
        assert!(
            e.starts_with("proj/picloud.toml:8:8: scripts.file: cannot read "),
            "{e}"
        );
        assert!(e.contains("scripts/b.rhai"), "{e}");
        std::fs::write(dir.path().join("scripts/b.rhai"), "2").unwrap();
        m.read_sources().unwrap();
        assert_eq!(m.scripts[0].source, "1");
        assert_eq!(m.scripts[1].source, "2");
    }

    #[test]
    fn positions_count_characters_from_one() {
        assert_eq!(line_col("ab\ncdé f", 0), (1, 1));
        assert_eq!(line_col("ab\ncdé f", 3), (2, 1));
        assert_eq!(line_col("ab\ncdé f", "ab\ncdé ".len()), (2, 5));
    }
}
