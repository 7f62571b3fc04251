//! What every HTTP edge agrees on about browsers: the session cookie and
//! token prefixes, which host serves the dashboard, and the rules that keep
//! a script's content from acting with a signed-in admin's rights
//! (docs/security.md, "Script content and the admin session").
//!
//! The manager sets and reads the session cookie; the orchestrator keeps it
//! (and PiCloud's tokens) away from scripts and keeps scripts from setting
//! it. Both read these rules from here, so they cannot drift apart. So is
//! the client's address behind trusted proxies (`PICLOUD_TRUSTED_PROXIES`),
//! which login throttling and scripts (`ctx.request.ip`) both use.

use std::net::IpAddr;

use ipnet::IpNet;

/// The session cookie's name. Scripts never see it and cannot set it.
pub const SESSION_COOKIE: &str = "picloud_session";
/// Session tokens start with this, so a leaked one is recognisable.
pub const SESSION_TOKEN_PREFIX: &str = "pcs_";
/// API tokens start with this.
pub const API_TOKEN_PREFIX: &str = "pct_";

/// The `Content-Security-Policy` every script response carries on a host
/// that serves the dashboard: the page runs as an opaque origin, so it can
/// neither read the dashboard's answers nor send a write the admin API
/// accepts (its `Origin` is `null`), whatever it contains. No
/// `allow-same-origin`, no top navigation, no escaping popups.
pub const SCRIPT_SANDBOX_CSP: &str =
    "sandbox allow-downloads allow-forms allow-modals allow-popups allow-scripts";

/// Where the dashboard and the cookie session live (`PICLOUD_ADMIN_HOST`).
///
/// Unset (the default), every host serves the dashboard, so every script
/// response is sandboxed. Set, only that host serves the dashboard and the
/// cookie session; user routes never answer there and no app may claim it,
/// and scripts on every other host run with their own, ordinary origin.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdminHost(Option<String>);

impl AdminHost {
    /// The default: the dashboard on every host.
    pub fn everywhere() -> Self {
        AdminHost(None)
    }

    /// Parses `PICLOUD_ADMIN_HOST`: a host name or IP address as browsers
    /// send it in `Host` (a port is allowed and ignored, as for domain
    /// claims). Lower-cased.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.contains("://") || raw.contains('/') {
            return Err("a host name such as admin.example.com, without scheme or path".into());
        }
        let host = crate::routing::normalise_host(raw);
        let ok = !host.is_empty()
            && host.len() <= 253
            && host.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'.' | b'-' | b'_' | b'[' | b']' | b':')
            });
        if !ok {
            return Err(format!("{raw:?} is not a host name"));
        }
        Ok(AdminHost(Some(host.trim_end_matches('.').to_owned())))
    }

    /// The configured host, if one is.
    pub fn host(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// Whether `host` (normalised: lower case, no port) serves the dashboard
    /// and the cookie session.
    pub fn serves_dashboard(&self, host: &str) -> bool {
        self.0
            .as_deref()
            .is_none_or(|admin| admin == host.trim_end_matches('.'))
    }

    /// Whether `host` is kept for the dashboard alone: user routes never
    /// answer there, and no app may claim it.
    pub fn reserves(&self, host: &str) -> bool {
        self.0
            .as_deref()
            .is_some_and(|admin| admin == host.trim_end_matches('.'))
    }
}

/// The name of a cookie in a `Set-Cookie` value: what comes before the
/// first `=`, trimmed (a value without `=` has an empty name, as browsers
/// parse it).
fn set_cookie_name(value: &[u8]) -> &[u8] {
    let value = value.split(|&b| b == b';').next().unwrap_or_default();
    match value.iter().position(|&b| b == b'=') {
        Some(i) => value[..i].trim_ascii(),
        None => &[],
    }
}

/// Whether a `Set-Cookie` value would set, replace or clear the session
/// cookie (its name compared without regard to case, to be safe).
pub fn sets_session_cookie(value: &[u8]) -> bool {
    set_cookie_name(value).eq_ignore_ascii_case(SESSION_COOKIE.as_bytes())
}

/// A `Cookie` header's value without the session cookie, as a script may
/// see it; `None` when nothing else is left.
pub fn cookie_without_session(value: &str) -> Option<String> {
    let kept: Vec<&str> = value
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let name = pair.split_once('=').map_or("", |(name, _)| name.trim());
            !name.eq_ignore_ascii_case(SESSION_COOKIE)
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// Whether an `Authorization` value carries a PiCloud session or API
/// token (which a script must never see).
pub fn carries_picloud_token(value: &str) -> bool {
    let Some((scheme, token)) = value.trim().split_once(' ') else {
        return false;
    };
    let token = token.trim();
    scheme.eq_ignore_ascii_case("bearer")
        && (token.starts_with(SESSION_TOKEN_PREFIX) || token.starts_with(API_TOKEN_PREFIX))
}

/// The client's address, as the connection layer resolved it (a request
/// extension): the TCP peer, or, when the peer is a trusted proxy, the
/// address it forwarded for ([`TrustedProxies::client`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// `PICLOUD_TRUSTED_PROXIES`: the reverse proxies whose `X-Forwarded-For`
/// (or `Forwarded`) headers are believed. Empty by default: the client is
/// the TCP peer and those headers are ignored, so no client can choose the
/// address it is counted as.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a list of addresses and CIDR ranges, separated by commas or
    /// spaces: `127.0.0.1, ::1, 10.0.0.0/8`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in raw.split([',', ' ', '\t', '\n']).filter(|s| !s.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(net) => net.trunc(),
                Err(_) => match item.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => {
                        return Err(format!(
                            "{item:?} is not an IP address or a CIDR range (such as 10.0.0.0/8)"
                        ));
                    }
                },
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that came from `peer` with these
    /// `X-Forwarded-For` and `Forwarded` header values (each header's values
    /// in the order they came). From anyone but a trusted proxy, the peer.
    /// From a trusted proxy, the hops it forwarded for are walked from the
    /// nearest back: the first one that is not itself a trusted proxy is the
    /// client (a client cannot pose as another by sending its own header,
    /// since its proxy appends the address it saw). `X-Forwarded-For` is
    /// read when present (Caddy and nginx set it, and Caddy passes a
    /// client's `Forwarded` on untouched), `Forwarded` otherwise. A hop that
    /// is not an address stops the walk at the proxy before it.
    pub fn client<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl Iterator<Item = &'a str>,
        forwarded: impl Iterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let mut hops: Vec<&str> = forwarded_for
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .collect();
        if hops.is_empty() {
            hops = forwarded
                .flat_map(|v| v.split(','))
                .filter_map(|element| {
                    element.split(';').find_map(|pair| {
                        let (key, value) = pair.trim().split_once('=')?;
                        key.trim()
                            .eq_ignore_ascii_case("for")
                            .then(|| value.trim().trim_matches('"'))
                    })
                })
                .collect();
        }
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                return client;
            };
            client = ip;
            if !self.trusts(ip) {
                return ip;
            }
        }
        client
    }
}

/// An address in a forwarding header: `203.0.113.7`, `203.0.113.7:4711`,
/// `2001:db8::1`, `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(addr) = hop.parse::<std::net::SocketAddr>() {
        return Some(addr.ip().to_canonical());
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
}

/// A request body's client paused longer than the body timeout
/// (`PICLOUD_BODY_TIMEOUT_SECS`): the server's connection loop fails the
/// body with this, and whoever reads it answers 408.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the client paused longer than the body timeout while sending the request body")]
pub struct BodyTimedOut;

/// The request's host as routing sees it (lower case, no port): the
/// `Host` header, else the URI's authority; empty if neither names one.
#[cfg(feature = "http")]
pub fn request_host(headers: &axum::http::HeaderMap, uri: &axum::http::Uri) -> String {
    headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.host())
        .map(crate::routing::normalise_host)
        .unwrap_or_default()
}

/// Whether `err`, or an error it was caused by, is [`BodyTimedOut`].
pub fn is_body_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    caused_by::<BodyTimedOut>(err)
}

/// Whether `err`, or an error it was caused by, is an `E` (a body over
/// its limit is `http_body_util::LengthLimitError` somewhere in the chain).
pub fn caused_by<E: std::error::Error + 'static>(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.is::<E>() {
            return true;
        }
        next = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_host_is_parsed_like_a_host_header() {
        let h = AdminHost::parse("Admin.Example.com:8443").unwrap();
        assert_eq!(h.host(), Some("admin.example.com"));
        assert!(h.serves_dashboard("admin.example.com"));
        assert!(h.serves_dashboard("admin.example.com."));
        assert!(!h.serves_dashboard("shop.example.com"));
        assert!(h.reserves("admin.example.com"));
        assert!(!h.reserves("example.com"));
        assert_eq!(
            AdminHost::parse("127.0.0.1").unwrap().host(),
            Some("127.0.0.1")
        );
        assert_eq!(AdminHost::parse("[::1]:80").unwrap().host(), Some("[::1]"));
        for bad in [
            "",
            "https://admin.example.com",
            "admin.example.com/x",
            "a b",
        ] {
            assert!(AdminHost::parse(bad).is_err(), "{bad:?}");
        }
        let any = AdminHost::everywhere();
        assert!(any.serves_dashboard("anything.example"));
        assert!(!any.reserves("anything.example"));
    }

    #[test]
    fn the_session_cookie_is_recognised_in_set_cookie() {
        for v in [
            "picloud_session=x",
            "picloud_session=; Max-Age=0",
            " PICLOUD_SESSION =abc; Path=/api; Domain=example.com",
        ] {
            assert!(sets_session_cookie(v.as_bytes()), "{v}");
        }
        for v in [
            "other=1",
            "picloud_session_x=1",
            "picloud_session",
            "a=picloud_session=1",
        ] {
            assert!(!sets_session_cookie(v.as_bytes()), "{v}");
        }
    }

    #[test]
    fn scripts_see_every_cookie_but_the_session() {
        assert_eq!(
            cookie_without_session("a=1; picloud_session=pcs_x; b=2").as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(cookie_without_session("picloud_session=pcs_x"), None);
        assert_eq!(
            cookie_without_session("Picloud_Session = y;c=3").as_deref(),
            Some("c=3")
        );
        assert_eq!(cookie_without_session("a=1").as_deref(), Some("a=1"));
    }

    fn client(proxies: &str, peer: &str, xff: &[&str], fwd: &[&str]) -> String {
        TrustedProxies::parse(proxies)
            .unwrap()
            .client(
                peer.parse().unwrap(),
                xff.iter().copied(),
                fwd.iter().copied(),
            )
            .to_string()
    }

    #[test]
    fn forwarding_headers_are_believed_from_trusted_proxies_only() {
        // No proxies trusted: the headers are the client's word, ignored.
        assert_eq!(
            client("", "198.51.100.1", &["203.0.113.7"], &[]),
            "198.51.100.1"
        );
        // An untrusted peer cannot pose as another client.
        assert_eq!(
            client("127.0.0.1", "198.51.100.1", &["203.0.113.7"], &[]),
            "198.51.100.1"
        );
        // A trusted proxy: the hop it added.
        assert_eq!(
            client("127.0.0.1", "127.0.0.1", &["203.0.113.7"], &[]),
            "203.0.113.7"
        );
        // What the client sent is left of its real address: not believed.
        assert_eq!(
            client("127.0.0.1", "127.0.0.1", &["6.6.6.6, 203.0.113.7"], &[]),
            "203.0.113.7"
        );
        assert_eq!(
            client("127.0.0.1", "127.0.0.1", &["6.6.6.6", "203.0.113.7"], &[]),
            "203.0.113.7"
        );
        // Two proxies, both trusted (a CIDR range): the hop before them.
        assert_eq!(
            client(
                "127.0.0.1, 10.0.0.0/8",
                "127.0.0.1",
                &["6.6.6.6, 203.0.113.7, 10.1.2.3"],
                &[]
            ),
            "203.0.113.7"
        );
        // Every hop trusted: the farthest.
        assert_eq!(
            client("10.0.0.0/8 127.0.0.1", "127.0.0.1", &["10.0.0.9"], &[]),
            "10.0.0.9"
        );
        // No header: the proxy itself.
        assert_eq!(client("127.0.0.1", "127.0.0.1", &[], &[]), "127.0.0.1");
        // Garbage stops the walk at the proxy before it.
        assert_eq!(
            client("127.0.0.1", "127.0.0.1", &["203.0.113.7, unknown"], &[]),
            "127.0.0.1"
        );
        // Ports and IPv6, and an IPv4-mapped IPv6 peer.
        assert_eq!(
            client("::1", "::1", &["[2001:db8::7]:4711"], &[]),
            "2001:db8::7"
        );
        assert_eq!(
            client("127.0.0.1", "::ffff:127.0.0.1", &["203.0.113.7:1234"], &[]),
            "203.0.113.7"
        );
        // Forwarded, when there is no X-Forwarded-For.
        assert_eq!(
            client(
                "127.0.0.1",
                "127.0.0.1",
                &[],
                &[r#"for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https"#]
            ),
            "2001:db8:cafe::17"
        );
        // X-Forwarded-For wins: Caddy passes a client's Forwarded on as is.
        assert_eq!(
            client("127.0.0.1", "127.0.0.1", &["203.0.113.7"], &["for=6.6.6.6"]),
            "203.0.113.7"
        );
    }

    #[test]
    fn trusted_proxies_are_parsed() {
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        let p = TrustedProxies::parse("127.0.0.1,  fd00::/8\n10.1.2.3/8").unwrap();
        assert!(p.trusts("10.200.0.1".parse().unwrap()));
        assert!(p.trusts("fd12::1".parse().unwrap()));
        assert!(p.trusts("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!p.trusts("127.0.0.2".parse().unwrap()));
        for bad in ["localhost", "10.0.0.0/33", "1.2.3"] {
            let e = TrustedProxies::parse(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn picloud_tokens_are_recognised() {
        assert!(carries_picloud_token("Bearer pcs_abc"));
        assert!(carries_picloud_token("bearer  pct_abc"));
        assert!(!carries_picloud_token("Bearer sk_live_abc"));
        assert!(!carries_picloud_token("Basic cGN0Xw=="));
        assert!(!carries_picloud_token("pct_abc"));
    }
}
