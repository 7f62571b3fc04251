//! One app's routes as a trie of path segments, and a request path to
//! match against it.

use std::borrow::Cow;

use foldhash::HashMap;

use crate::{Methods, RoutePattern, Segment};

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
            statics: HashMap::default(),
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

/// A request path split into percent-decoded segments, borrowed from the
/// raw path where a segment has nothing to decode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestPath<'a> {
    segments: Vec<Cow<'a, str>>,
}

/// The request path cannot be matched (its percent-decoding is not UTF-8).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the path is not valid UTF-8 once percent-decoded")]
pub struct InvalidPath;

impl<'a> RequestPath<'a> {
    /// Splits a raw request path on `/`, then percent-decodes each segment:
    /// an encoded slash (`%2F`) stays inside its segment, and `.`/`..` are
    /// ordinary segments (nothing is normalised away). One trailing slash
    /// does not matter.
    pub fn parse(raw: &'a str) -> Result<RequestPath<'a>, InvalidPath> {
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
                    .map_err(|_| InvalidPath)
            })
            .collect::<Result<_, _>>()?;
        Ok(RequestPath { segments })
    }

    pub fn segments(&self) -> &[Cow<'a, str>] {
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
    segments: &'p [Cow<'p, str>],
    at: usize,
    captured: &mut Vec<&'p str>,
) -> Option<(&'t Entry<T>, Option<usize>)> {
    if at == segments.len() {
        if let Some(e) = pick(&node.end, method) {
            return Some((e, None));
        }
    } else {
        let seg = &segments[at];
        if let Some(child) = node.statics.get(seg.as_ref())
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
