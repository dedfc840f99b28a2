//! The `reelay` binary: parse the command line and run it.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    reelay::telemetry::init();
    reelay::cli::run().await
}
