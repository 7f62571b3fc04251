//! Domain claims (`api.example.com`, `{tenant}.example.com`) and the table
//! that finds the most specific claim for a Host.

use foldhash::HashMap;
use std::fmt;

use crate::{PatternError, malformed, valid_name};

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
            exact: HashMap::default(),
            wildcards: HashMap::default(),
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
        // Counted before they are collected: most hosts match no wildcard
        // claim's label count (and most tables hold none), so most lookups
        // end here without allocating.
        let buckets = self
            .wildcards
            .get(&(host.bytes().filter(|&b| b == b'.').count() + 1))?;
        let labels: Vec<&str> = host.split('.').collect();
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
    let mut host = if let Some(rest) = raw.strip_prefix('[') {
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
    // In place: one allocation per request's host, not two.
    host.make_ascii_lowercase();
    host
}
