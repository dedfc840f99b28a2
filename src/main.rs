//! The `reelay` binary: parse the command line and run it.

/// mimalloc instead of the system allocator: under load glibc's malloc/free took about a tenth of
/// the server's CPU (`perf`, docs/BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    reelay::telemetry::init();
    reelay::cli::run().await
}
