//! The ceiling of the HTTP stack for `scripts/bench-load`: the same tokio runtime and axum
//! version as reelay, one route that answers "hello", nothing else.
//!
//!     cargo run --release --example bare_hello -- 127.0.0.1:18090

use axum::routing::get;
use axum::Router;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18090".to_string());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("bare_hello listening on http://{}", listener.local_addr()?);
    let app = Router::new().route("/", get(|| async { "hello" }));
    axum::serve(listener, app).await
}
