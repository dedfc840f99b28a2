//! reelay-media's integration tests, one binary: the fetcher against a real local HTTP
//! server, and sniffing/probing on files generated here. No traffic leaves 127.0.0.0/8:
//! every refused address is refused before connecting (canary servers prove it).

#[cfg(feature = "fetch")]
mod fetch;
mod fixtures;
mod probe;
mod props;
#[cfg(feature = "fetch")]
mod server;
