//! User routes and domain claims: their syntax, and the tables that match a
//! request against them (docs/routing.md is the user's view).
//!
//! Both the manager (validation, conflicts, `GET /routes/match`) and the
//! orchestrator (dispatch) use these types, so the answer to "where does
//! this request go" has exactly one implementation.
//!
//! - [`RoutePattern`]: `/users/:id`, `/files/*path`.
//! - [`RouteTable`]: one app's routes, a trie of path segments with
//!   per-segment precedence static > `:param` > `*rest`. Matching walks the
//!   trie along the request's segments (backtracking to a lower-precedence
//!   branch only where a higher one led nowhere), so it costs O(segments),
//!   not O(routes).
//! - [`DomainPattern`]: `api.example.com`, `{tenant}.example.com`.
//! - [`HostTable`]: Host → the most specific claim.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::ids::{AppId, RouteId, ScriptId};

/// Longest route pattern, in bytes.
pub const MAX_PATTERN_LEN: usize = 1024;
/// Most segments in a route pattern (bounds the matcher's depth).
pub const MAX_PATTERN_SEGMENTS: usize = 64;
/// Longest parameter name.
pub const MAX_PARAM_NAME_LEN: usize = 64;

/// Why a route pattern or a domain pattern was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The path belongs to PiCloud itself (`/api/…`, `/admin/…`, …).
    #[error("{0}")]
    Reserved(String),
    #[error("{0}")]
    Malformed(String),
}

fn malformed(msg: impl Into<String>) -> PatternError {
    PatternError::Malformed(msg.into())
}

/// One segment of a route pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Static(String),
    /// `:name`: exactly one non-empty segment.
    Param(String),
    /// `*name`, last only: the rest of the path, possibly empty.
    Rest(String),
}

/// A parsed route path (`/users/:id`, `/files/*path`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutePattern {
    segments: Vec<Segment>,
    text: String,
}

/// Paths PiCloud serves itself; no route may claim them.
const RESERVED_PREFIXES: [&str; 2] = ["api", "admin"];
const RESERVED_EXACT: [&str; 3] = ["healthz", "version", "metrics"];

fn is_static_char(c: char) -> bool {
    // RFC 3986 pchar without '%' (patterns are written decoded).
    c.is_ascii_alphanumeric() || "-._~!$&'()+,;=@:".contains(c)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= MAX_PARAM_NAME_LEN
}

impl RoutePattern {
    /// Parses a route path. A trailing slash does not matter; `/` alone is
    /// the root.
    pub fn parse(path: &str) -> Result<RoutePattern, PatternError> {
        if path.len() > MAX_PATTERN_LEN {
            return Err(malformed(format!(
                "the path is longer than {MAX_PATTERN_LEN} bytes"
            )));
        }
        let Some(body) = path.strip_prefix('/') else {
            return Err(malformed("the path must start with '/'"));
        };
        let body = body.strip_suffix('/').unwrap_or(body);
        let mut segments = Vec::new();
        if !body.is_empty() {
            let parts: Vec<&str> = body.split('/').collect();
            if parts.len() > MAX_PATTERN_SEGMENTS {
                return Err(malformed(format!(
                    "the path has more than {MAX_PATTERN_SEGMENTS} segments"
                )));
            }
            for (i, part) in parts.iter().enumerate() {
                let last = i + 1 == parts.len();
                segments.push(Self::segment(part, last)?);
            }
        }
        let mut names: Vec<&str> = segments
            .iter()
            .filter_map(|s| match s {
                Segment::Param(n) | Segment::Rest(n) => Some(n.as_str()),
                Segment::Static(_) => None,
            })
            .collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(malformed(format!(
                "the parameter name '{}' is used twice",
                w[0]
            )));
        }
        if let Some(Segment::Static(first)) = segments.first() {
            if RESERVED_PREFIXES.contains(&first.as_str()) {
                return Err(PatternError::Reserved(format!(
                    "paths under /{first}/ belong to PiCloud"
                )));
            }
            if segments.len() == 1 && RESERVED_EXACT.contains(&first.as_str()) {
                return Err(PatternError::Reserved(format!(
                    "/{first} belongs to PiCloud"
                )));
            }
        }
        let text = if segments.is_empty() {
            "/".to_owned()
        } else {
            format!("/{body}")
        };
        Ok(RoutePattern { segments, text })
    }

    fn segment(part: &str, last: bool) -> Result<Segment, PatternError> {
        if part.is_empty() {
            return Err(malformed("the path has an empty segment ('//')"));
        }
        if let Some(name) = part.strip_prefix(':') {
            if !valid_name(name) {
                return Err(malformed(format!(
                    "':{name}' is not a parameter: a name is a letter or '_' then letters, digits or '_' (at most {MAX_PARAM_NAME_LEN})"
                )));
            }
            return Ok(Segment::Param(name.to_owned()));
        }
        if let Some(name) = part.strip_prefix('*') {
            if !valid_name(name) {
                return Err(malformed(format!(
                    "'*{name}' is not a rest parameter: a name is a letter or '_' then letters, digits or '_' (at most {MAX_PARAM_NAME_LEN})"
                )));
            }
            if !last {
                return Err(malformed(format!("'*{name}' must be the last segment")));
            }
            return Ok(Segment::Rest(name.to_owned()));
        }
        if part == "." || part == ".." {
            return Err(malformed(format!("'{part}' is not a path segment")));
        }
        if let Some(c) = part.chars().find(|&c| !is_static_char(c)) {
            return Err(malformed(format!(
                "{c:?} is not allowed in a path segment (letters, digits and -._~!$&'()+,;=@: are)"
            )));
        }
        Ok(Segment::Static(part.to_owned()))
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The normalised text: a leading `/`, no trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The pattern with parameter names left out (`/users/:`, `/files/*`):
    /// two routes of one shape match exactly the same paths.
    pub fn shape(&self) -> String {
        if self.segments.is_empty() {
            return "/".to_owned();
        }
        let mut s = String::new();
        for seg in &self.segments {
            s.push('/');
            match seg {
                Segment::Static(t) => s.push_str(t),
                Segment::Param(_) => s.push(':'),
                Segment::Rest(_) => s.push('*'),
            }
        }
        s
    }
}

impl fmt::Display for RoutePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The methods a route answers: a set, or any method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Methods {
    Any,
    /// Upper-case, sorted, without duplicates; never empty.
    Only(Vec<String>),
}

impl Methods {
    /// Validates and normalises a method list (`None` = any method).
    pub fn parse(methods: Option<&[String]>) -> Result<Methods, PatternError> {
        let Some(list) = methods else {
            return Ok(Methods::Any);
        };
        if list.is_empty() {
            return Err(malformed(
                "methods is empty: leave it out to answer any method",
            ));
        }
        let mut out = Vec::with_capacity(list.len());
        for m in list {
            let upper = m.to_ascii_uppercase();
            if upper.is_empty()
                || upper.len() > 32
                || !upper
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
            {
                return Err(malformed(format!("{m:?} is not an HTTP method")));
            }
            out.push(upper);
        }
        out.sort_unstable();
        out.dedup();
        Ok(Methods::Only(out))
    }

    pub fn overlaps(&self, other: &Methods) -> bool {
        match (self, other) {
            (Methods::Any, _) | (_, Methods::Any) => true,
            (Methods::Only(a), Methods::Only(b)) => a.iter().any(|m| b.contains(m)),
        }
    }

    /// `None` for any method.
    pub fn as_list(&self) -> Option<&[String]> {
        match self {
            Methods::Any => None,
            Methods::Only(list) => Some(list),
        }
    }
}

/// What a route table holds per route.
#[derive(Clone, Debug)]
struct Entry<T> {
    methods: Methods,
    /// Parameter names in segment order (the rest parameter last).
    names: Vec<String>,
    value: T,
}

#[derive(Debug)]
struct Node<T> {
    statics: HashMap<String, Node<T>>,
    param: Option<Box<Node<T>>>,
    /// Routes ending in `*rest` here.
    rest: Vec<Entry<T>>,
    /// Routes ending exactly here.
    end: Vec<Entry<T>>,
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Node {
            statics: HashMap::new(),
            param: None,
            rest: Vec::new(),
            end: Vec::new(),
        }
    }
}

/// A request matched against a route table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteMatch<'a, T> {
    pub value: &'a T,
    /// Captured parameters by name, the rest parameter included.
    pub params: Vec<(String, String)>,
    /// What `*rest` captured; `""` when the route has none.
    pub rest: String,
}

/// A request path split into percent-decoded segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestPath {
    segments: Vec<String>,
}

/// The request path cannot be matched (its percent-decoding is not UTF-8).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the path is not valid UTF-8 once percent-decoded")]
pub struct InvalidPath;

impl RequestPath {
    /// Splits a raw request path on `/`, then percent-decodes each segment:
    /// an encoded slash (`%2F`) stays inside its segment, and `.`/`..` are
    /// ordinary segments (nothing is normalised away). One trailing slash
    /// does not matter.
    pub fn parse(raw: &str) -> Result<RequestPath, InvalidPath> {
        let body = raw.strip_prefix('/').unwrap_or(raw);
        let body = body.strip_suffix('/').unwrap_or(body);
        if body.is_empty() {
            return Ok(RequestPath {
                segments: Vec::new(),
            });
        }
        let segments = body
            .split('/')
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .map(|c| c.into_owned())
                    .map_err(|_| InvalidPath)
            })
            .collect::<Result<_, _>>()?;
        Ok(RequestPath { segments })
    }

    pub fn segments(&self) -> &[String] {
        &self.segments
    }
}

/// One app's routes.
#[derive(Debug)]
pub struct RouteTable<T> {
    root: Node<T>,
    len: usize,
}

impl<T> Default for RouteTable<T> {
    fn default() -> Self {
        RouteTable {
            root: Node::default(),
            len: 0,
        }
    }
}

impl<T> RouteTable<T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The routes that a new route of this shape and these methods would
    /// conflict with: same shape (parameter names do not count), and
    /// overlapping methods.
    pub fn conflicts(&self, pattern: &RoutePattern, methods: &Methods) -> Vec<&T> {
        let Some((node, is_rest)) = self.find_node(pattern) else {
            return Vec::new();
        };
        let entries = if is_rest { &node.rest } else { &node.end };
        entries
            .iter()
            .filter(|e| e.methods.overlaps(methods))
            .map(|e| &e.value)
            .collect()
    }

    fn find_node(&self, pattern: &RoutePattern) -> Option<(&Node<T>, bool)> {
        let mut node = &self.root;
        for seg in pattern.segments() {
            match seg {
                Segment::Static(s) => node = node.statics.get(s)?,
                Segment::Param(_) => node = node.param.as_deref()?,
                Segment::Rest(_) => return Some((node, true)),
            }
        }
        Some((node, false))
    }

    /// Adds a route; refused (with the routes in the way) when it conflicts.
    pub fn insert(
        &mut self,
        pattern: &RoutePattern,
        methods: Methods,
        value: T,
    ) -> Result<(), Vec<&T>> {
        if !self.conflicts(pattern, &methods).is_empty() {
            return Err(self.conflicts(pattern, &methods));
        }
        let mut node = &mut self.root;
        let mut names = Vec::new();
        let mut is_rest = false;
        for seg in pattern.segments() {
            match seg {
                Segment::Static(s) => node = node.statics.entry(s.clone()).or_default(),
                Segment::Param(n) => {
                    names.push(n.clone());
                    node = node.param.get_or_insert_with(Default::default);
                }
                Segment::Rest(n) => {
                    names.push(n.clone());
                    is_rest = true;
                }
            }
        }
        let entry = Entry {
            methods,
            names,
            value,
        };
        if is_rest {
            node.rest.push(entry);
        } else {
            node.end.push(entry);
        }
        self.len += 1;
        Ok(())
    }

    /// Finds the route for `method` and `path`: per segment, a static
    /// segment beats `:param`, which beats `*rest`; a lower-precedence
    /// branch is tried only when a higher one leads to no route for the
    /// method. `HEAD` falls back to a `GET` route.
    pub fn find(&self, method: &str, path: &RequestPath) -> Option<RouteMatch<'_, T>> {
        let mut captured: Vec<&str> = Vec::new();
        let (entry, rest_from) = find_in(&self.root, method, path.segments(), 0, &mut captured)?;
        let mut values: Vec<String> = captured.iter().map(|s| (*s).to_owned()).collect();
        let rest = match rest_from {
            Some(from) => {
                let rest = path.segments()[from..].join("/");
                values.push(rest.clone());
                rest
            }
            None => String::new(),
        };
        Some(RouteMatch {
            value: &entry.value,
            params: entry.names.iter().cloned().zip(values).collect(),
            rest,
        })
    }
}

fn pick<'a, T>(entries: &'a [Entry<T>], method: &str) -> Option<&'a Entry<T>> {
    let named = |m: &str| {
        entries
            .iter()
            .find(|e| matches!(&e.methods, Methods::Only(list) if list.iter().any(|x| x == m)))
    };
    named(method)
        .or_else(|| entries.iter().find(|e| e.methods == Methods::Any))
        .or_else(|| if method == "HEAD" { named("GET") } else { None })
}

/// Depth-first in precedence order. Each trie node is visited at most once,
/// and the depth is bounded by the longest pattern.
fn find_in<'t, 'p, T>(
    node: &'t Node<T>,
    method: &str,
    segments: &'p [String],
    at: usize,
    captured: &mut Vec<&'p str>,
) -> Option<(&'t Entry<T>, Option<usize>)> {
    if at == segments.len() {
        if let Some(e) = pick(&node.end, method) {
            return Some((e, None));
        }
    } else {
        let seg = &segments[at];
        if let Some(child) = node.statics.get(seg.as_str())
            && let Some(found) = find_in(child, method, segments, at + 1, captured)
        {
            return Some(found);
        }
        if let Some(child) = node.param.as_deref()
            && !seg.is_empty()
        {
            captured.push(seg);
            if let Some(found) = find_in(child, method, segments, at + 1, captured) {
                return Some(found);
            }
            captured.pop();
        }
    }
    pick(&node.rest, method).map(|e| (e, Some(at)))
}

/// One label of a domain pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Label {
    Literal(String),
    /// `{name}`: exactly one label.
    Wildcard(String),
}

/// A domain an app claims: `api.example.com`, or with wildcard labels,
/// `{tenant}.example.com`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainPattern {
    labels: Vec<Label>,
    text: String,
}

impl DomainPattern {
    /// Parses a pattern; it is lower-cased. Refused: malformed names, IP
    /// addresses, `localhost`, and patterns without a literal label above
    /// the top level (`{a}.com` would claim a whole TLD).
    pub fn parse(raw: &str) -> Result<DomainPattern, PatternError> {
        let text = raw.trim().trim_end_matches('.').to_ascii_lowercase();
        if text.is_empty() {
            return Err(malformed("the domain is empty"));
        }
        if text.len() > 253 {
            return Err(malformed("the domain is longer than 253 characters"));
        }
        if text.parse::<std::net::IpAddr>().is_ok() || text.starts_with('[') {
            return Err(PatternError::Reserved(
                "IP addresses cannot be claimed; claim a domain name".into(),
            ));
        }
        let mut labels = Vec::new();
        for part in text.split('.') {
            if let Some(inner) = part.strip_prefix('{') {
                let Some(name) = inner.strip_suffix('}') else {
                    return Err(malformed(format!("'{part}' is not a label: missing '}}'")));
                };
                if !valid_name(name) {
                    return Err(malformed(format!(
                        "'{{{name}}}' is not a wildcard label: a name is a letter or '_' then letters, digits or '_'"
                    )));
                }
                labels.push(Label::Wildcard(name.to_owned()));
                continue;
            }
            let ok = !part.is_empty()
                && part.len() <= 63
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !part.starts_with('-')
                && !part.ends_with('-');
            if !ok {
                return Err(malformed(format!(
                    "'{part}' is not a domain label (1-63 of a-z, 0-9 and '-', not starting or ending with '-')"
                )));
            }
            labels.push(Label::Literal(part.to_owned()));
        }
        let mut names: Vec<&str> = labels
            .iter()
            .filter_map(|l| match l {
                Label::Wildcard(n) => Some(n.as_str()),
                Label::Literal(_) => None,
            })
            .collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(malformed(format!(
                "the label name '{}' is used twice",
                w[0]
            )));
        }
        if matches!(labels.last(), Some(Label::Literal(tld)) if tld == "localhost") {
            return Err(PatternError::Reserved("localhost cannot be claimed".into()));
        }
        let literal_labels = labels
            .iter()
            .filter(|l| matches!(l, Label::Literal(_)))
            .count();
        if labels.len() < 2 {
            return Err(malformed(
                "a domain needs at least two labels (like example.com)",
            ));
        }
        if literal_labels < 2 || !matches!(labels.last(), Some(Label::Literal(_))) {
            return Err(malformed(
                "a domain pattern needs at least two literal labels, the last one among them (like {tenant}.example.com)",
            ));
        }
        Ok(DomainPattern { labels, text })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_exact(&self) -> bool {
        self.labels.iter().all(|l| matches!(l, Label::Literal(_)))
    }

    /// Sort key: more specific first. Literal labels count from the right
    /// (the top level) leftwards, so at equal numbers of literal labels the
    /// pattern whose literals reach further left wins.
    fn specificity(&self) -> (usize, Vec<bool>) {
        let literals = self
            .labels
            .iter()
            .filter(|l| matches!(l, Label::Literal(_)))
            .count();
        let from_right = self
            .labels
            .iter()
            .rev()
            .map(|l| matches!(l, Label::Literal(_)))
            .collect();
        (literals, from_right)
    }

    fn matches(&self, host_labels: &[&str]) -> bool {
        host_labels.len() == self.labels.len()
            && self
                .labels
                .iter()
                .zip(host_labels)
                .all(|(label, got)| match label {
                    Label::Literal(l) => l == got,
                    Label::Wildcard(_) => !got.is_empty(),
                })
    }

    /// What the wildcards capture from a host this pattern matches.
    fn captures(&self, host_labels: &[&str]) -> Vec<(String, String)> {
        self.labels
            .iter()
            .zip(host_labels)
            .filter_map(|(label, got)| match label {
                Label::Wildcard(name) => Some((name.clone(), (*got).to_owned())),
                Label::Literal(_) => None,
            })
            .collect()
    }

    /// The literal labels after the last wildcard (`example.com` for
    /// `{t}.example.com`): wildcard claims are indexed by it.
    fn literal_suffix(&self) -> String {
        let from = self
            .labels
            .iter()
            .rposition(|l| matches!(l, Label::Wildcard(_)))
            .map_or(0, |i| i + 1);
        self.labels[from..]
            .iter()
            .map(|l| match l {
                Label::Literal(s) | Label::Wildcard(s) => s.as_str(),
            })
            .collect::<Vec<_>>()
            .join(".")
    }
}

impl fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A wildcard claim with its precedence, computed once.
#[derive(Debug)]
struct WildcardClaim<T> {
    pattern: DomainPattern,
    specificity: (usize, Vec<bool>),
    value: T,
}

/// Domain claims: Host → the most specific claim. Exact claims are one hash
/// lookup. Wildcard claims are indexed by label count and by their literal
/// suffix (the labels after the last wildcard), so a lookup tries one
/// bucket per suffix of the host, not every claim.
#[derive(Debug)]
pub struct HostTable<T> {
    exact: HashMap<String, T>,
    /// Label count → literal suffix → claims, most specific first.
    wildcards: HashMap<usize, HashMap<String, Vec<WildcardClaim<T>>>>,
}

impl<T> Default for HostTable<T> {
    fn default() -> Self {
        HostTable {
            exact: HashMap::new(),
            wildcards: HashMap::new(),
        }
    }
}

impl<T> HostTable<T> {
    /// Builds the table; claims must be distinct patterns (the database
    /// guarantees it).
    pub fn new(claims: impl IntoIterator<Item = (DomainPattern, T)>) -> Self {
        let mut table = HostTable::default();
        for (pattern, value) in claims {
            if pattern.is_exact() {
                table.exact.insert(pattern.text, value);
            } else {
                let bucket = table
                    .wildcards
                    .entry(pattern.labels.len())
                    .or_default()
                    .entry(pattern.literal_suffix())
                    .or_default();
                bucket.push(WildcardClaim {
                    specificity: pattern.specificity(),
                    pattern,
                    value,
                });
            }
        }
        for buckets in table.wildcards.values_mut() {
            for bucket in buckets.values_mut() {
                bucket.sort_by(|a, b| b.specificity.cmp(&a.specificity));
            }
        }
        table
    }

    /// The claim for a (normalised: lower-case, no port) host, with the
    /// labels its wildcards captured. Exact claims beat wildcard ones;
    /// among wildcards, more literal labels beat fewer.
    pub fn find(&self, host: &str) -> Option<(&T, Vec<(String, String)>)> {
        if let Some(v) = self.exact.get(host) {
            return Some((v, Vec::new()));
        }
        let labels: Vec<&str> = host.split('.').collect();
        let buckets = self.wildcards.get(&labels.len())?;
        // Each proper suffix of the host (after a dot) may be some claims'
        // literal suffix; the best match over all of them wins.
        let mut best: Option<&WildcardClaim<T>> = None;
        for (i, _) in host.match_indices('.') {
            let Some(bucket) = buckets.get(&host[i + 1..]) else {
                continue;
            };
            if let Some(claim) = bucket.iter().find(|c| c.pattern.matches(&labels))
                && best.is_none_or(|b| claim.specificity > b.specificity)
            {
                best = Some(claim);
            }
        }
        best.map(|c| (&c.value, c.pattern.captures(&labels)))
    }
}

/// The Host as dispatch sees it: lower-cased, without a port.
pub fn normalise_host(raw: &str) -> String {
    let raw = raw.trim();
    let host = if let Some(rest) = raw.strip_prefix('[') {
        // [::1]:8080
        rest.split(']')
            .next()
            .map(|h| format!("[{h}]"))
            .unwrap_or_default()
    } else {
        raw.rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(raw, |(h, _)| h)
            .to_owned()
    };
    host.to_ascii_lowercase()
}

/// Where a route leads (and what it is, for conflict reports).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteTarget {
    #[serde(rename = "id")]
    pub route_id: RouteId,
    pub script_id: ScriptId,
    pub path: String,
    /// `None`: any method.
    pub methods: Option<Vec<String>>,
}

/// Every domain claim and every app's route table: all that dispatch reads.
/// Immutable; a change builds a new one that replaces the old whole.
#[derive(Debug)]
pub struct Routing {
    default_app: AppId,
    hosts: HostTable<AppId>,
    apps: HashMap<AppId, RouteTable<RouteTarget>>,
    /// What the apps that keep requests keep (absent: nothing).
    recording: HashMap<AppId, Arc<crate::Recording>>,
}

/// Where a request goes: the app its Host reaches, and the route in that
/// app, if one matches.
#[derive(Debug)]
pub struct Dispatch<'a> {
    pub app_id: AppId,
    pub host_params: Vec<(String, String)>,
    pub route: Option<RouteMatch<'a, RouteTarget>>,
}

impl Routing {
    /// No claims, no routes.
    pub fn empty(default_app: AppId) -> Routing {
        Routing {
            default_app,
            hosts: HostTable::default(),
            apps: HashMap::new(),
            recording: HashMap::new(),
        }
    }

    /// Builds the tables. A route that conflicts with one added before it
    /// (which the manager never stores) is left out and returned.
    pub fn new(
        default_app: AppId,
        claims: impl IntoIterator<Item = (DomainPattern, AppId)>,
        routes: impl IntoIterator<Item = (AppId, RoutePattern, Methods, RouteTarget)>,
    ) -> (Routing, Vec<RouteTarget>) {
        let mut apps: HashMap<AppId, RouteTable<RouteTarget>> = HashMap::new();
        let mut skipped = Vec::new();
        for (app, pattern, methods, target) in routes {
            let table = apps.entry(app).or_default();
            if !table.conflicts(&pattern, &methods).is_empty() {
                skipped.push(target);
                continue;
            }
            let _ = table.insert(&pattern, methods, target);
        }
        let routing = Routing {
            default_app,
            hosts: HostTable::new(claims),
            apps,
            recording: HashMap::new(),
        };
        (routing, skipped)
    }

    /// The same, with what each app keeps of its requests (apps that keep
    /// none may be left out).
    pub fn with_recording(
        mut self,
        recording: impl IntoIterator<Item = (AppId, crate::Recording)>,
    ) -> Routing {
        self.recording = recording
            .into_iter()
            .filter(|(_, r)| r.mode != crate::RecordRequests::Off)
            .map(|(app, r)| (app, Arc::new(r)))
            .collect();
        self
    }

    /// What `app` keeps of its requests; `None`: nothing.
    pub fn recording(&self, app: AppId) -> Option<&Arc<crate::Recording>> {
        if self.recording.is_empty() {
            return None;
        }
        self.recording.get(&app)
    }

    /// The app a (normalised) Host reaches: the most specific claim, else
    /// the default app.
    pub fn app_for_host(&self, host: &str) -> (AppId, Vec<(String, String)>) {
        match self.hosts.find(host) {
            Some((app, params)) => (*app, params),
            None => (self.default_app, Vec::new()),
        }
    }

    /// One app's routes (`None`: it has none).
    pub fn table(&self, app: AppId) -> Option<&RouteTable<RouteTarget>> {
        self.apps.get(&app)
    }

    /// Two-phase dispatch: Host → app, then only that app's routes.
    pub fn dispatch(&self, host: &str, method: &str, path: &RequestPath) -> Dispatch<'_> {
        let (app_id, host_params) = self.app_for_host(host);
        let route = self.apps.get(&app_id).and_then(|t| t.find(method, path));
        Dispatch {
            app_id,
            host_params,
            route,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> RoutePattern {
        RoutePattern::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn m(list: &[&str]) -> Methods {
        Methods::parse(Some(
            &list.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        ))
        .unwrap()
    }

    fn table(routes: &[(&str, Methods, &'static str)]) -> RouteTable<&'static str> {
        let mut t = RouteTable::new();
        for (path, methods, name) in routes {
            t.insert(&p(path), methods.clone(), *name)
                .unwrap_or_else(|c| panic!("{path} conflicts with {c:?}"));
        }
        t
    }

    fn find<'a>(
        t: &'a RouteTable<&'static str>,
        method: &str,
        path: &str,
    ) -> Option<RouteMatch<'a, &'static str>> {
        t.find(method, &RequestPath::parse(path).unwrap())
    }

    #[test]
    fn patterns_parse_and_normalise() {
        assert_eq!(p("/users/:id/").as_str(), "/users/:id");
        assert_eq!(p("/").as_str(), "/");
        assert_eq!(p("/files/*path").shape(), "/files/*");
        assert_eq!(p("/a/:x/b/:y").shape(), "/a/:/b/:");
        assert_eq!(p("/").shape(), "/");
        assert_eq!(
            p("/u/:id").segments(),
            &[Segment::Static("u".into()), Segment::Param("id".into())]
        );
        assert_eq!(
            p("/apis/v1").as_str(),
            "/apis/v1",
            "only /api itself is reserved"
        );
    }

    #[test]
    fn bad_patterns_say_what_is_wrong() {
        let cases = [
            ("users", "start with '/'"),
            ("/a//b", "empty segment"),
            ("/:", "not a parameter"),
            ("/:1x", "not a parameter"),
            ("/*", "not a rest parameter"),
            ("/*rest/more", "must be the last segment"),
            ("/:id/:id", "used twice"),
            ("/:id/*id", "used twice"),
            ("/a b", "not allowed"),
            ("/a%2Fb", "not allowed"),
            ("/a?b", "not allowed"),
            ("/../etc", "not a path segment"),
        ];
        for (pattern, needle) in cases {
            match RoutePattern::parse(pattern) {
                Err(PatternError::Malformed(msg)) => {
                    assert!(msg.contains(needle), "{pattern}: {msg}")
                }
                other => panic!("{pattern}: {other:?}"),
            }
        }
        let long = format!("/{}", "a/".repeat(MAX_PATTERN_SEGMENTS + 1));
        assert!(matches!(
            RoutePattern::parse(&long),
            Err(PatternError::Malformed(_))
        ));
        let huge = format!("/{}", "a".repeat(MAX_PATTERN_LEN));
        assert!(matches!(
            RoutePattern::parse(&huge),
            Err(PatternError::Malformed(_))
        ));
    }

    #[test]
    fn reserved_paths_are_refused() {
        for path in [
            "/api",
            "/api/",
            "/api/x",
            "/admin",
            "/admin/:x",
            "/healthz",
            "/version",
            "/metrics",
            "/metrics/",
        ] {
            assert!(
                matches!(RoutePattern::parse(path), Err(PatternError::Reserved(_))),
                "{path}"
            );
        }
        for path in ["/healthz/x", "/metrics2", "/:api", "/x/api"] {
            assert!(RoutePattern::parse(path).is_ok(), "{path}");
        }
    }

    #[test]
    fn methods_normalise_and_overlap() {
        assert_eq!(
            m(&["post", "GET", "get"]),
            Methods::Only(vec!["GET".into(), "POST".into()])
        );
        assert!(Methods::parse(Some(&[])).is_err());
        assert!(Methods::parse(Some(&["G ET".into()])).is_err());
        assert!(Methods::parse(Some(&["".into()])).is_err());
        assert!(m(&["GET"]).overlaps(&Methods::Any));
        assert!(m(&["GET", "PUT"]).overlaps(&m(&["PUT"])));
        assert!(!m(&["GET"]).overlaps(&m(&["POST"])));
    }

    #[test]
    fn precedence_is_static_then_param_then_rest_per_segment() {
        let t = table(&[
            ("/users/me", Methods::Any, "me"),
            ("/users/:id", Methods::Any, "user"),
            ("/users/:id/posts/:post", Methods::Any, "post"),
            ("/users/*rest", Methods::Any, "users-rest"),
            ("/*all", Methods::Any, "catch-all"),
            ("/", Methods::Any, "root"),
        ]);
        type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: [Case; 10] = [
            ("/users/me", "me", &[], ""),
            ("/users/me/", "me", &[], ""),
            ("/users/42", "user", &[("id", "42")], ""),
            (
                "/users/42/posts/7",
                "post",
                &[("id", "42"), ("post", "7")],
                "",
            ),
            (
                "/users/42/likes",
                "users-rest",
                &[("rest", "42/likes")],
                "42/likes",
            ),
            ("/users", "users-rest", &[("rest", "")], ""),
            ("/usersx", "catch-all", &[("all", "usersx")], "usersx"),
            ("/", "root", &[], ""),
            ("/x/y/z", "catch-all", &[("all", "x/y/z")], "x/y/z"),
            (
                "/users/me/posts/1",
                "post",
                &[("id", "me"), ("post", "1")],
                "",
            ),
        ];
        for (path, want, params, rest) in cases {
            let got = find(&t, "GET", path).unwrap_or_else(|| panic!("{path}: no match"));
            assert_eq!(*got.value, want, "{path}");
            let params: Vec<(String, String)> = params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(got.params, params, "{path}");
            assert_eq!(got.rest, rest, "{path}");
        }
    }

    #[test]
    fn rest_may_be_empty_and_params_may_not() {
        let t = table(&[
            ("/files/*path", Methods::Any, "files"),
            ("/u/:id", Methods::Any, "u"),
        ]);
        let got = find(&t, "GET", "/files").unwrap();
        assert_eq!(
            (got.rest.as_str(), got.params.clone()),
            ("", vec![("path".into(), "".into())])
        );
        assert_eq!(find(&t, "GET", "/files/").unwrap().rest, "");
        assert_eq!(find(&t, "GET", "/files/a/b.txt").unwrap().rest, "a/b.txt");
        assert!(find(&t, "GET", "/u").is_none());
        assert!(
            find(&t, "GET", "/u//").is_none(),
            "an empty segment is no :param"
        );
    }

    #[test]
    fn methods_pick_the_route_and_backtrack() {
        let t = table(&[
            ("/items", m(&["GET"]), "list"),
            ("/items", m(&["POST"]), "create"),
            ("/items/special", m(&["GET"]), "special"),
            ("/items/:id", m(&["GET", "PATCH", "POST"]), "item"),
            ("/items/:id", m(&["DELETE"]), "delete-item"),
        ]);
        assert_eq!(*find(&t, "GET", "/items").unwrap().value, "list");
        assert_eq!(*find(&t, "POST", "/items").unwrap().value, "create");
        assert_eq!(
            *find(&t, "HEAD", "/items").unwrap().value,
            "list",
            "HEAD falls back to GET"
        );
        assert!(find(&t, "PUT", "/items").is_none());
        assert_eq!(*find(&t, "GET", "/items/special").unwrap().value, "special");
        // The static branch has no POST route: the :param branch has its chance.
        let got = find(&t, "POST", "/items/special").unwrap();
        assert_eq!((*got.value, got.params[0].1.as_str()), ("item", "special"));
        assert_eq!(
            *find(&t, "DELETE", "/items/9").unwrap().value,
            "delete-item"
        );
        assert_eq!(*find(&t, "PATCH", "/items/9").unwrap().value, "item");
        assert!(find(&t, "PUT", "/items/9").is_none());
        // An any-method route overlaps every method: it conflicts.
        let mut t = t;
        assert_eq!(
            t.insert(&p("/items/:x"), Methods::Any, "any"),
            Err(vec![&"item", &"delete-item"])
        );
    }

    #[test]
    fn conflicts_are_same_shape_and_overlapping_methods() {
        let mut t = table(&[
            ("/users/:id", m(&["GET"]), "get-user"),
            ("/files/*path", Methods::Any, "files"),
        ]);
        assert_eq!(
            t.conflicts(&p("/users/:uid"), &m(&["GET", "PUT"])),
            vec![&"get-user"]
        );
        assert_eq!(
            t.conflicts(&p("/users/:uid/"), &Methods::Any),
            vec![&"get-user"]
        );
        assert!(t.conflicts(&p("/users/:uid"), &m(&["PUT"])).is_empty());
        assert!(t.conflicts(&p("/users/me"), &m(&["GET"])).is_empty());
        assert!(t.conflicts(&p("/users/:id/x"), &m(&["GET"])).is_empty());
        assert_eq!(
            t.conflicts(&p("/files/*rest"), &m(&["GET"])),
            vec![&"files"]
        );
        assert!(t.conflicts(&p("/files/:name"), &m(&["GET"])).is_empty());
        assert_eq!(
            t.insert(&p("/files/*other"), Methods::Any, "again"),
            Err(vec![&"files"])
        );
        assert_eq!(t.len(), 2);
        t.insert(&p("/users/:uid"), m(&["PUT"]), "put-user")
            .unwrap();
        assert_eq!(t.len(), 3);
        let got = find(&t, "PUT", "/users/5").unwrap();
        assert_eq!(
            got.params,
            vec![("uid".to_string(), "5".to_string())],
            "names are per route"
        );
    }

    #[test]
    fn hostile_paths_are_matched_literally() {
        let t = table(&[
            ("/a/:x", Methods::Any, "a"),
            ("/files/*path", Methods::Any, "files"),
        ]);
        // An encoded slash stays inside its segment.
        let got = find(&t, "GET", "/a/b%2Fc").unwrap();
        assert_eq!(got.params[0].1, "b/c");
        // Dots are ordinary segments: nothing climbs out of /files.
        assert_eq!(
            find(&t, "GET", "/files/../../etc/passwd").unwrap().rest,
            "../../etc/passwd"
        );
        assert!(find(&t, "GET", "/a/../files").is_none());
        assert_eq!(find(&t, "GET", "/a/%2e%2e").unwrap().params[0].1, "..");
        // Thousands of segments, and a very long one.
        let deep = "/x".repeat(5000);
        assert!(find(&t, "GET", &deep).is_none());
        let got = find(&t, "GET", &format!("/files{deep}")).unwrap();
        assert_eq!(got.rest.len(), deep.len() - 1);
        assert_eq!(
            find(&t, "GET", &format!("/a/{}", "y".repeat(100_000)))
                .unwrap()
                .params[0]
                .1
                .len(),
            100_000
        );
        // Invalid UTF-8 once decoded.
        assert_eq!(RequestPath::parse("/a/%ff"), Err(InvalidPath));
        assert!(RequestPath::parse("/a/%zz").is_ok(), "a stray % is literal");
    }

    /// The trie against a brute-force reference on random tables: the
    /// answer must be the route whose per-position kinds (static < param <
    /// end of path < rest) are least, among those that match the path and
    /// the method.
    #[test]
    fn the_trie_agrees_with_a_brute_force_reference() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let words = ["a", "b", "c"];
        let verbs = ["GET", "POST", "DELETE"];
        for _ in 0..300 {
            let mut t: RouteTable<usize> = RouteTable::new();
            let mut routes: Vec<(RoutePattern, Methods)> = Vec::new();
            for _ in 0..rand(25) + 1 {
                let len = rand(4);
                let mut path = String::new();
                for i in 0..len {
                    path.push('/');
                    match rand(6) {
                        0..=2 => path.push_str(words[rand(3) as usize]),
                        3..=4 => path.push_str(&format!(":p{i}")),
                        _ => {
                            path.push_str(&format!("*r{i}"));
                            break;
                        }
                    }
                }
                let pattern = p(if path.is_empty() { "/" } else { &path });
                let methods = if rand(3) == 0 {
                    Methods::Any
                } else {
                    m(&[verbs[rand(3) as usize]])
                };
                if t.insert(&pattern, methods.clone(), routes.len()).is_ok() {
                    routes.push((pattern, methods));
                }
            }
            for _ in 0..40 {
                let path: String = (0..rand(5))
                    .map(|_| format!("/{}", ["a", "b", "c", "d"][rand(4) as usize]))
                    .collect();
                let method = verbs[rand(3) as usize];
                let req = RequestPath::parse(&path).unwrap();
                let reference = routes
                    .iter()
                    .enumerate()
                    .filter(|(_, (_, ms))| match ms {
                        Methods::Any => true,
                        Methods::Only(list) => list.iter().any(|x| x == method),
                    })
                    .filter_map(|(i, (pat, _))| reference_key(pat, req.segments()).map(|k| (k, i)))
                    .min()
                    .map(|(_, i)| i);
                let got = t.find(method, &req).map(|found| *found.value);
                assert_eq!(got, reference, "{method} {path} against {routes:?}");
            }
        }
    }

    /// Kinds per position if `pattern` matches `path`: 0 static, 1 param,
    /// 2 end of path, 3 rest.
    fn reference_key(pattern: &RoutePattern, path: &[String]) -> Option<Vec<u8>> {
        let mut key = Vec::new();
        for (i, seg) in pattern.segments().iter().enumerate() {
            match seg {
                Segment::Rest(_) => {
                    key.push(3);
                    return (i <= path.len()).then_some(key);
                }
                Segment::Static(s) => {
                    (path.get(i)? == s).then_some(())?;
                    key.push(0);
                }
                Segment::Param(_) => {
                    (!path.get(i)?.is_empty()).then_some(())?;
                    key.push(1);
                }
            }
        }
        (pattern.segments().len() == path.len()).then(|| {
            key.push(2);
            key
        })
    }

    #[test]
    fn domain_patterns() {
        let d = |s: &str| DomainPattern::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(d("API.Example.com.").as_str(), "api.example.com");
        assert!(d("api.example.com").is_exact());
        assert!(!d("{tenant}.example.com").is_exact());
        let bad = [
            ("", "empty"),
            ("example", "two labels"),
            ("{a}.com", "two literal labels"),
            ("example.{tld}", "two literal labels"),
            ("a..b.com", "not a domain label"),
            ("-a.b.com", "not a domain label"),
            ("a_b.com", "not a domain label"),
            ("{a.b.com", "not a label"),
            ("{1}.b.com", "not a wildcard label"),
            ("{a}.{a}.b.com", "used twice"),
            ("api.example.com:8080", "not a domain label"),
        ];
        for (pattern, needle) in bad {
            match DomainPattern::parse(pattern) {
                Err(PatternError::Malformed(msg)) => {
                    assert!(msg.contains(needle), "{pattern}: {msg}")
                }
                other => panic!("{pattern}: {other:?}"),
            }
        }
        for reserved in ["127.0.0.1", "::1", "[::1]", "localhost", "app.localhost"] {
            assert!(
                matches!(
                    DomainPattern::parse(reserved),
                    Err(PatternError::Reserved(_)) | Err(PatternError::Malformed(_))
                ),
                "{reserved}"
            );
        }
        assert!(matches!(
            DomainPattern::parse("app.localhost"),
            Err(PatternError::Reserved(_))
        ));
        assert!(matches!(
            DomainPattern::parse("10.0.0.1"),
            Err(PatternError::Reserved(_))
        ));
    }

    #[test]
    fn hosts_go_to_the_most_specific_claim() {
        let d = |s: &str| DomainPattern::parse(s).unwrap();
        let t = HostTable::new([
            (d("{tenant}.example.com"), "tenants"),
            (d("api.example.com"), "api"),
            (d("{a}.{b}.example.com"), "two-wild"),
            (d("{a}.eu.example.com"), "eu"),
            (d("{x}.{y}.shop.io"), "shop-any"),
            (d("{x}.cdn.shop.io"), "shop-cdn"),
            (d("api.{x}.shop.io"), "api-any"),
            (d("api.{x}.{y}.io"), "api-io"),
        ]);
        let find = |h: &str| t.find(h).map(|(v, p)| (*v, p));
        assert_eq!(find("api.example.com"), Some(("api", vec![])));
        assert_eq!(
            find("acme.example.com"),
            Some(("tenants", vec![("tenant".into(), "acme".into())]))
        );
        assert_eq!(find("x.eu.example.com").unwrap().0, "eu");
        assert_eq!(
            find("x.us.example.com"),
            Some((
                "two-wild",
                vec![("a".into(), "x".into()), ("b".into(), "us".into())]
            ))
        );
        assert_eq!(find("a.cdn.shop.io").unwrap().0, "shop-cdn");
        assert_eq!(find("a.www.shop.io").unwrap().0, "shop-any");
        // Across literal suffixes: at equal literal counts, the literals
        // reaching further left from the top level win.
        assert_eq!(find("api.cdn.shop.io").unwrap().0, "shop-cdn");
        assert_eq!(
            find("api.www.shop.io"),
            Some(("api-any", vec![("x".into(), "www".into())]))
        );
        assert_eq!(find("api.www.other.io").unwrap().0, "api-io");
        assert_eq!(find("example.com"), None);
        assert_eq!(find("a.b.c.example.com"), None, "a wildcard is one label");
        assert_eq!(find("other.org"), None);
    }
}
