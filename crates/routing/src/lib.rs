//! User routes and domain claims: their syntax, and the tables that match a
//! request against them (docs/routing.md is the user's view). Pure: no I/O,
//! no PiCloud types; `picloud-shared` builds the routing snapshot the
//! manager and the orchestrator share on top of it, so the answer to
//! "where does this request go" has exactly one implementation.
//!
//! - [`RoutePattern`] and [`Methods`] (`pattern.rs`): `/users/:id`,
//!   `/files/*path`, and the methods a route answers.
//! - [`RouteTable`] (`table.rs`): one app's routes, a trie of path segments
//!   with per-segment precedence static > `:param` > `*rest`. Matching walks
//!   the trie along the request's segments ([`RequestPath`]), backtracking
//!   to a lower-precedence branch only where a higher one led nowhere, so it
//!   costs O(segments), not O(routes).
//! - [`DomainPattern`] and [`HostTable`] (`host.rs`): `api.example.com`,
//!   `{tenant}.example.com`, and Host → the most specific claim.

mod host;
mod pattern;
mod table;

pub use host::{DomainPattern, HostTable, normalise_host};
pub use pattern::{Methods, RoutePattern, Segment, is_reserved_request_path};
pub use table::{InvalidPath, RequestPath, RouteMatch, RouteTable};

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

pub(crate) fn malformed(msg: impl Into<String>) -> PatternError {
    PatternError::Malformed(msg.into())
}

/// A parameter or wildcard label name: an identifier.
pub(crate) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= MAX_PARAM_NAME_LEN
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
    fn reference_key(
        pattern: &RoutePattern,
        path: &[std::borrow::Cow<'_, str>],
    ) -> Option<Vec<u8>> {
        let mut key = Vec::new();
        for (i, seg) in pattern.segments().iter().enumerate() {
            match seg {
                Segment::Rest(_) => {
                    key.push(3);
                    return (i <= path.len()).then_some(key);
                }
                Segment::Static(s) => {
                    (path.get(i)?.as_ref() == s.as_str()).then_some(())?;
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
