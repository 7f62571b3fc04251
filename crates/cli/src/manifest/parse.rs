//! Reading `picloud.toml` and checking it whole.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use picloud_shared::routing::{DomainPattern, Methods, RoutePattern};
use picloud_shared::{RecordRequests, SandboxCeilings, SandboxOverrides, ScriptName};

use super::position::{Ctx, shown};
use super::raw::*;
use super::triggers::check_trigger;
use super::*;

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

/// Two routes of one manifest with the same shape and overlapping methods
/// would be refused by the server halfway through a deploy: refuse them
/// first.
pub(super) fn check_route_conflicts(cx: &Ctx, scripts: &[ScriptSpec]) -> Result<(), ManifestError> {
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
