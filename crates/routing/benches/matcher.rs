//! Route matching and host lookup, on a 10,000-route table against a
//! 10-route baseline (ratios matter on a shared machine), and a host table
//! of 1,000 claims. Each lookup includes splitting and decoding the path,
//! as on the request path.
//!
//! Run: `cargo bench -p picloud-routing --bench matcher`. Figures are in
//! docs/performance.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use picloud_routing::{DomainPattern, HostTable, Methods, RequestPath, RoutePattern, RouteTable};

fn methods(list: &[&str]) -> Methods {
    let list: Vec<String> = list.iter().map(|m| (*m).to_owned()).collect();
    Methods::parse(Some(&list)).expect("valid methods")
}

/// `services` groups of five routes: static, one and two parameters, rest,
/// and a method-specific pair.
fn table(services: usize) -> RouteTable<usize> {
    let mut t = RouteTable::new();
    let mut n = 0;
    let mut add = |path: String, m: Methods| {
        let pattern = RoutePattern::parse(&path).expect("valid pattern");
        t.insert(&pattern, m, n).expect("no conflict");
        n += 1;
    };
    for i in 0..services {
        add(format!("/svc{i}/health"), Methods::Any);
        add(format!("/svc{i}/users/:id"), methods(&["GET", "PUT"]));
        add(format!("/svc{i}/users/:id"), methods(&["DELETE"]));
        add(format!("/svc{i}/items/:id/comments/:cid"), Methods::Any);
        add(format!("/svc{i}/files/*path"), methods(&["GET"]));
    }
    t
}

fn lookups(c: &mut Criterion) {
    let big = table(2_000);
    let small = table(2);
    assert_eq!((big.len(), small.len()), (10_000, 10));
    let cases = [
        ("static", "GET", "/svc1/health"),
        ("param", "PUT", "/svc1/users/42"),
        ("two params", "GET", "/svc1/items/7/comments/9"),
        ("rest", "GET", "/svc1/files/a/b/c/d.txt"),
        ("miss", "GET", "/svc1/nothing/here"),
    ];
    let mut group = c.benchmark_group("route");
    for (name, method, path) in cases {
        for (size, t) in [("10", &small), ("10000", &big)] {
            assert_eq!(
                t.find(method, &RequestPath::parse(path).unwrap()).is_some(),
                name != "miss"
            );
            group.bench_function(format!("{name}/{size} routes"), |b| {
                b.iter(|| {
                    let path = RequestPath::parse(black_box(path)).unwrap();
                    black_box(t.find(black_box(method), &path).map(|m| *m.value))
                })
            });
        }
    }
    group.finish();

    let mut claims = Vec::new();
    for i in 0..500 {
        claims.push((
            DomainPattern::parse(&format!("app{i}.example.com")).unwrap(),
            i,
        ));
        claims.push((
            DomainPattern::parse(&format!("{{tenant}}.t{i}.example.com")).unwrap(),
            i,
        ));
    }
    let hosts = HostTable::new(claims);
    let mut group = c.benchmark_group("host");
    for (name, host) in [
        ("exact", "app250.example.com"),
        ("wildcard", "acme.t250.example.com"),
        ("unclaimed", "other.org"),
    ] {
        group.bench_function(format!("{name}/1000 claims"), |b| {
            b.iter(|| black_box(hosts.find(black_box(host)).map(|(v, _)| *v)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(30);
    targets = lookups
}
criterion_main!(benches);
