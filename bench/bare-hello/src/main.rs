//! A bare axum hello-world on the same runtime settings as `picloud`: the
//! baseline that `bench/run.sh` measures PiCloud's data plane against.

use axum::{Router, routing::any};

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8091".to_owned());
    let app = Router::new().route("/hello", any(|| async { "Hello, world!" }));
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .expect("bind the benchmark address");
    axum::serve(listener, app).await.expect("serve");
}
