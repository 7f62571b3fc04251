//! Route patterns (`/users/:id`, `/files/*path`) and the methods a route
//! answers.

use std::fmt;

use crate::{
    MAX_PARAM_NAME_LEN, MAX_PATTERN_LEN, MAX_PATTERN_SEGMENTS, PatternError, malformed, valid_name,
};

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

/// Whether a request path, as sent (undecoded), is in the paths PiCloud
/// serves itself: `/api` and `/admin` and below them, `/healthz`,
/// `/version`, `/metrics`. No user route matches such a path.
pub fn is_reserved_request_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let (first, below) = rest
        .split_once('/')
        .map_or((rest, false), |(f, _)| (f, true));
    RESERVED_PREFIXES.contains(&first) || (!below && RESERVED_EXACT.contains(&first))
}

fn is_static_char(c: char) -> bool {
    // RFC 3986 pchar without '%' (patterns are written decoded).
    c.is_ascii_alphanumeric() || "-._~!$&'()+,;=@:".contains(c)
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
