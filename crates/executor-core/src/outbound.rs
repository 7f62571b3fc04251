//! Outbound HTTP for scripts (`http::request`), behind an SSRF guard.
//!
//! A script may call the rest of the world, never the machine it runs on or
//! the networks behind it: every address a host name resolves to is checked
//! (loopback, private, link-local, unique-local, CGNAT, multicast,
//! broadcast, unspecified, documentation and benchmark ranges, cloud
//! metadata, in IPv4, IPv6 and IPv4 inside IPv6), and the connection goes
//! to the checked addresses only: the client's resolver is [`Guard`]
//! itself, so there is no second lookup for DNS rebinding to slip through.
//! An address written in the URL is checked before anything is sent, and
//! every redirect (at most [`MAX_REDIRECTS`]) is checked again. The
//! operator opens holes explicitly (`PICLOUD_HTTP_ALLOW`: host names or
//! CIDR ranges).

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use picloud_shared::OutboundOutcome;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 5;

/// What the operator allows beyond the public internet, and the bounds.
#[derive(Clone, Debug)]
pub struct OutboundConfig {
    /// Host names whose addresses are not checked (`localhost`,
    /// `api.internal`), lower-case, and address ranges that are allowed.
    pub allow: Allow,
    /// Ports a URL may name; empty: any.
    pub ports: Vec<u16>,
    /// Calls one execution (with the scripts it invokes) may make.
    pub max_calls: usize,
    /// Largest response body read, in bytes.
    pub max_response_bytes: usize,
    /// A call's timeout when the script gives none (the execution's
    /// deadline bounds it anyway).
    pub default_timeout: Duration,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        OutboundConfig {
            allow: Allow::default(),
            ports: Vec::new(),
            max_calls: 50,
            max_response_bytes: 10 << 20,
            default_timeout: Duration::from_secs(30),
        }
    }
}

/// `PICLOUD_HTTP_ALLOW`: host names and address ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allow {
    pub hosts: Vec<String>,
    pub nets: Vec<IpNet>,
}

impl Allow {
    /// From a comma-separated list: each item a CIDR range (`10.0.0.0/8`),
    /// an address (`127.0.0.1`, `::1`) or a host name (`localhost`).
    pub fn parse(list: &str) -> Result<Allow, String> {
        let mut allow = Allow::default();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            if let Ok(net) = item.parse::<IpNet>() {
                allow.nets.push(net);
            } else if let Ok(ip) = item.parse::<IpAddr>() {
                allow.nets.push(IpNet::from(ip));
            } else if is_host_name(item) {
                allow
                    .hosts
                    .push(item.trim_end_matches('.').to_ascii_lowercase());
            } else {
                return Err(format!(
                    "{item:?} is neither a host name, an address nor a CIDR range"
                ));
            }
        }
        Ok(allow)
    }

    fn host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    fn address(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&ip))
    }
}

fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.trim_end_matches('.').split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Why an address is refused, or `None` when it is a public one.
pub fn refused_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_unspecified() || a == 0 => "an unspecified address",
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_private() => "a private address",
        (169, 254, _) => "a link-local address (cloud metadata lives there)",
        (100, 64..=127, _) => "a shared (CGNAT) address",
        (192, 0, 0) => "an IETF protocol address",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation address",
        (198, 18..=19, _) => "a benchmarking address",
        (192, 88, 99) => "a 6to4 relay address",
        _ if ip.is_broadcast() => "the broadcast address",
        (224..=239, _, _) => "a multicast address",
        (240..=255, _, _) => "a reserved address",
        _ => return None,
    })
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    // IPv4 inside IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d),
    // and NAT64 (64:ff9b::a.b.c.d) reach the IPv4 address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return refused_v4(v4);
    }
    let s = ip.segments();
    if s[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_unspecified() && !ip.is_loopback() {
        return refused_v4(Ipv4Addr::from(((s[6] as u32) << 16) | s[7] as u32))
            .or(Some("an IPv4-compatible address"));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return refused_v4(Ipv4Addr::from(((s[6] as u32) << 16) | s[7] as u32));
    }
    Some(match s[0] {
        _ if ip.is_unspecified() => "an unspecified address",
        _ if ip.is_loopback() => "a loopback address",
        0xfc00..=0xfdff => "a unique-local address",
        0xfe80..=0xfebf => "a link-local address",
        0xfec0..=0xfeff => "a site-local address",
        0xff00..=0xffff => "a multicast address",
        0x2001 if s[1] == 0x0db8 => "a documentation address",
        0x0100 if s[1..4] == [0, 0, 0] => "a discard address",
        0x2002 => "a 6to4 address",
        _ => return None,
    })
}

/// Checks hosts and addresses, and resolves names for the client (only to
/// addresses that pass).
#[derive(Clone)]
pub struct Guard {
    allow: Arc<Allow>,
    ports: Arc<[u16]>,
    lookup: Lookup,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("allow", &self.allow)
            .field("ports", &self.ports)
            .finish_non_exhaustive()
    }
}

/// Where a host name's addresses come from: the system's resolver, or in
/// the tests a fixed table (so a name can point anywhere).
type Lookup = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send>>
        + Send
        + Sync,
>;

fn system_lookup() -> Lookup {
    Arc::new(|host: String| {
        Box::pin(async move { Ok(tokio::net::lookup_host((host.as_str(), 0)).await?.collect()) })
    })
}

/// A refused call: what the script's error says.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

impl Guard {
    pub fn new(config: &OutboundConfig) -> Guard {
        Guard {
            allow: Arc::new(config.allow.clone()),
            ports: config.ports.clone().into(),
            lookup: system_lookup(),
        }
    }

    /// Whether a URL may be fetched, before any lookup: its scheme, its
    /// port, and an address written in it.
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), Refused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused(format!(
                "only http and https URLs can be fetched, not {}:",
                url.scheme()
            )));
        }
        let port = url.port_or_known_default().unwrap_or(0);
        if !self.ports.is_empty() && !self.ports.contains(&port) {
            return Err(Refused(format!(
                "port {port} is not one PICLOUD_HTTP_PORTS allows ({})",
                self.ports
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        match url.host() {
            None => Err(Refused("the URL has no host".into())),
            // A name is checked when it is resolved ([`Resolve`]).
            Some(url::Host::Domain(_)) => Ok(()),
            Some(url::Host::Ipv4(ip)) => self.check_ip(&ip.to_string(), IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check_ip(&ip.to_string(), IpAddr::V6(ip)),
        }
    }

    fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), Refused> {
        if self.allow.address(ip) || self.allow.host(host) {
            return Ok(());
        }
        match refused_range(ip) {
            None => Ok(()),
            Some(why) => Err(Refused(format!(
                "refused: {host} is {why}; PICLOUD_HTTP_ALLOW can open it"
            ))),
        }
    }

    /// The addresses of `host`, when it may be reached: any, when the host
    /// is allowed by name; else only if none is refused. A name that also
    /// points inward is refused whole, so a rebinding answer cannot pick
    /// the inward address.
    fn filter(&self, host: &str, addrs: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, Refused> {
        if self.allow.host(host) {
            return Ok(addrs);
        }
        if addrs.is_empty() {
            return Err(Refused(format!("{host} does not resolve to any address")));
        }
        for ip in addrs.iter().map(SocketAddr::ip) {
            if self.allow.address(ip) {
                continue;
            }
            if let Some(why) = refused_range(ip) {
                return Err(Refused(format!(
                    "refused: {host} resolves to {ip}, {why}; PICLOUD_HTTP_ALLOW can open it"
                )));
            }
        }
        Ok(addrs)
    }
}

impl Resolve for Guard {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            // A `Refused` itself (boxed by `?`), so `explain` finds it.
            let found = (guard.lookup)(host.clone())
                .await
                .map_err(|e| Refused(format!("{host} cannot be resolved: {e}")))?;
            let passed = guard.filter(&host, found)?;
            let addrs: Addrs = Box::new(passed.into_iter());
            Ok(addrs)
        })
    }
}

/// The shared client: one connection pool, no proxy from the environment,
/// names resolved through the guard, redirects checked by it.
pub fn client(guard: &Guard) -> reqwest::Client {
    let redirects = guard.clone();
    reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(guard.clone()))
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                return attempt.error(Refused(format!("more than {MAX_REDIRECTS} redirects")));
            }
            match redirects.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(refused) => attempt.error(refused),
            }
        }))
        .user_agent(concat!("PiCloud/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .expect("a TLS backend is compiled in")
}

/// What a script asked to send, checked.
#[derive(Debug)]
pub struct Call {
    pub method: reqwest::Method,
    pub url: reqwest::Url,
    pub headers: reqwest::header::HeaderMap,
    pub body: Option<Vec<u8>>,
    /// The call's own timeout, when shorter than the execution's time left.
    pub timeout: Option<Duration>,
    /// The most body bytes read, and the setting that says so.
    pub max_body: (usize, &'static str),
}

/// What came back.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why a call brought no answer.
#[derive(Debug)]
pub enum Failure {
    /// The SSRF guard refused an address: nothing was sent there.
    Refused(String),
    /// The call's own timeout.
    Timeout(String),
    /// Connection, TLS, protocol, a body over the limit.
    Failed(String),
}

impl Failure {
    /// The script's message.
    pub fn message(&self) -> &str {
        match self {
            Failure::Refused(m) | Failure::Timeout(m) | Failure::Failed(m) => m,
        }
    }

    /// The record's outcome.
    pub fn outcome(&self) -> OutboundOutcome {
        match self {
            Failure::Refused(_) => OutboundOutcome::Refused,
            Failure::Timeout(_) => OutboundOutcome::Timeout,
            Failure::Failed(_) => OutboundOutcome::Failed,
        }
    }
}

/// Scripts' outbound HTTP: the guard, the one client and the bounds.
#[derive(Clone, Debug)]
pub struct Outbound {
    pub config: OutboundConfig,
    guard: Guard,
    client: reqwest::Client,
}

impl Outbound {
    pub fn new(config: OutboundConfig) -> Outbound {
        Outbound::with_guard(config.clone(), Guard::new(&config))
    }

    fn with_guard(config: OutboundConfig, guard: Guard) -> Outbound {
        let client = client(&guard);
        Outbound {
            config,
            guard,
            client,
        }
    }

    /// Checks a URL before anything is sent (see [`Guard::check_url`]).
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), Refused> {
        self.guard.check_url(url)
    }

    /// Sends `call` and reads its answer, at most `call.max_body` bytes of
    /// body.
    pub async fn send(&self, call: Call) -> Result<Answer, Failure> {
        self.guard
            .check_url(&call.url)
            .map_err(|r| Failure::Refused(r.0))?;
        let mut request = self
            .client
            .request(call.method, call.url.clone())
            .headers(call.headers);
        if let Some(body) = call.body {
            request = request.body(body);
        }
        if let Some(timeout) = call.timeout {
            request = request.timeout(timeout);
        }
        let mut response = request.send().await.map_err(|e| explain(&e, &call.url))?;
        let status = response.status().as_u16();
        let mut headers: Vec<(String, String)> = Vec::new();
        for (name, value) in response.headers() {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            match headers.iter_mut().find(|(n, _)| n == name.as_str()) {
                Some((_, v)) => {
                    v.push_str(", ");
                    v.push_str(&value);
                }
                None => headers.push((name.as_str().to_owned(), value)),
            }
        }
        let (max, setting) = call.max_body;
        let too_big =
            || Failure::Failed(format!("the response body is over {max} bytes ({setting})"));
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err(too_big());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| explain(&e, &call.url))? {
            if body.len() + chunk.len() > max {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

/// A failed call, in a line for the script: the guard's refusal when that
/// is what stopped it, else what the client says and its cause.
fn explain(e: &reqwest::Error, url: &reqwest::Url) -> Failure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut causes = Vec::new();
    while let Some(err) = source {
        if let Some(refused) = err.downcast_ref::<Refused>() {
            return Failure::Refused(refused.0.clone());
        }
        causes.push(err.to_string());
        source = err.source();
    }
    if e.is_timeout() {
        return Failure::Timeout(format!("{url}: timed out"));
    }
    causes.dedup();
    Failure::Failed(format!("{url}: {}", causes.join(": ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn every_inward_range_is_refused_and_public_ones_pass() {
        for refused in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "192.0.0.1",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.9",
            "198.18.0.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "64:ff9b::7f00:1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "100::1",
            "2002:7f00:1::1",
        ] {
            assert!(
                refused_range(ip(refused)).is_some(),
                "{refused} must be refused"
            );
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "172.32.0.1",
            "100.128.0.1",
            "169.255.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert_eq!(refused_range(ip(public)), None, "{public} must pass");
        }
    }

    #[test]
    fn the_allow_list_takes_names_addresses_and_ranges() {
        let allow = Allow::parse(" localhost, 127.0.0.1 ,10.0.0.0/8,::1, api.internal. ").unwrap();
        assert_eq!(allow.hosts, ["localhost", "api.internal"]);
        assert!(allow.address(ip("10.9.9.9")) && allow.address(ip("127.0.0.1")));
        assert!(allow.address(ip("::1")) && !allow.address(ip("127.0.0.2")));
        assert!(allow.host("LOCALHOST") && allow.host("api.internal."));
        assert!(Allow::parse("http://x").is_err());
        assert!(Allow::parse("10.0.0.0/33").is_err());
        assert_eq!(Allow::parse("").unwrap(), Allow::default());
    }

    #[test]
    fn urls_are_checked_before_any_lookup() {
        let guard = Guard::new(&OutboundConfig::default());
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(guard.check_url(&url("https://example.com/x")).is_ok());
        for bad in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "http://127.0.0.1/",
            "http://[::1]:8080/",
            "http://[::ffff:7f00:1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://0x7f000001/",
            "http://2130706433/",
            "http://10.1/",
        ] {
            assert!(guard.check_url(&url(bad)).is_err(), "{bad} must be refused");
        }
        let ports = Guard::new(&OutboundConfig {
            ports: vec![443],
            ..OutboundConfig::default()
        });
        assert!(ports.check_url(&url("https://example.com/")).is_ok());
        assert!(ports.check_url(&url("http://example.com/")).is_err());
        let open = Guard::new(&OutboundConfig {
            allow: Allow::parse("127.0.0.1").unwrap(),
            ..OutboundConfig::default()
        });
        assert!(open.check_url(&url("http://127.0.0.1:9/")).is_ok());
        assert!(open.check_url(&url("http://127.0.0.2:9/")).is_err());
    }

    #[test]
    fn a_name_is_refused_if_any_of_its_addresses_is() {
        let guard = Guard::new(&OutboundConfig::default());
        let sa = |s: &str| SocketAddr::new(ip(s), 0);
        assert!(
            guard
                .filter("good.example", vec![sa("93.184.216.34")])
                .is_ok()
        );
        let e = guard
            .filter("evil.example", vec![sa("93.184.216.34"), sa("127.0.0.1")])
            .unwrap_err();
        assert!(e.0.contains("127.0.0.1"), "{e}");
        let e = guard
            .filter("inner.example", vec![sa("10.0.0.1")])
            .unwrap_err();
        assert!(e.0.contains("a private address"), "{e}");
        let by_name = Guard::new(&OutboundConfig {
            allow: Allow::parse("localhost").unwrap(),
            ..OutboundConfig::default()
        });
        assert!(by_name.filter("localhost", vec![sa("127.0.0.1")]).is_ok());
    }

    /// A server on loopback that answers "up" to every request, and the
    /// number of connections it accepted.
    fn loopback_server() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nup",
                );
            }
        });
        (port, accepted)
    }

    /// A client whose names resolve from `answers` (each lookup of a name
    /// takes its next answer; the last one repeats), and the number of
    /// lookups made.
    fn resolving(
        config: OutboundConfig,
        answers: &[(&str, &[&str])],
    ) -> (Outbound, Arc<std::sync::atomic::AtomicUsize>) {
        let table: Arc<Vec<(String, Vec<IpAddr>)>> = Arc::new(
            answers
                .iter()
                .map(|(name, addrs)| (name.to_string(), addrs.iter().map(|a| ip(a)).collect()))
                .collect(),
        );
        let lookups = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = lookups.clone();
        let lookup: Lookup = Arc::new(move |host: String| {
            let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let found: Vec<SocketAddr> = table
                .iter()
                .filter(|(name, _)| *name == host)
                .map(|(_, addrs)| addrs[n.min(addrs.len() - 1)])
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            Box::pin(async move {
                if found.is_empty() {
                    Err(std::io::Error::other("no such name"))
                } else {
                    Ok(found)
                }
            })
        });
        let guard = Guard {
            lookup,
            ..Guard::new(&config)
        };
        (Outbound::with_guard(config, guard), lookups)
    }

    fn get(url: &str) -> Call {
        Call {
            method: reqwest::Method::GET,
            url: reqwest::Url::parse(url).unwrap(),
            headers: reqwest::header::HeaderMap::new(),
            body: None,
            timeout: Some(Duration::from_secs(10)),
            max_body: (1024, "the test's limit"),
        }
    }

    #[tokio::test]
    async fn a_name_that_resolves_inward_is_refused_without_connecting() {
        let (port, accepted) = loopback_server();
        let (outbound, lookups) = resolving(
            OutboundConfig::default(),
            &[
                ("inward.test", &["127.0.0.1"]),
                ("mapped.test", &["::ffff:127.0.0.1"]),
            ],
        );
        for (name, address) in [
            ("inward.test", "127.0.0.1"),
            ("mapped.test", "::ffff:127.0.0.1"),
        ] {
            match outbound.send(get(&format!("http://{name}:{port}/"))).await {
                Err(Failure::Refused(m)) => {
                    assert!(m.contains(&format!("{name} resolves to {address}")), "{m}")
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        assert_eq!(lookups.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    /// DNS rebinding: the name answers an allowed address when checked and
    /// an inward one after. The client connects to the checked address and
    /// never looks the name up again (nor through the system's resolver,
    /// which does not know `rebind.test`).
    #[tokio::test]
    async fn the_connection_goes_to_the_address_that_was_checked() {
        let (port, accepted) = loopback_server();
        let (outbound, lookups) = resolving(
            OutboundConfig {
                allow: Allow::parse("127.0.0.1/32").unwrap(),
                ..OutboundConfig::default()
            },
            &[("rebind.test", &["127.0.0.1", "10.0.0.1"])],
        );
        let answer = outbound
            .send(get(&format!("http://rebind.test:{port}/")))
            .await
            .unwrap();
        assert_eq!((answer.status, answer.body.as_slice()), (200, &b"up"[..]));
        assert_eq!(lookups.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
