//! Providers run claimed tasks. Today there is one: `local`, the built-in preview renderer.
//! Upstream providers (Ark, relay) are a later addition behind the same worker loop; when the
//! second one lands this module grows a `Provider` trait with one file per implementation.
//!
//! Architecture Invariant: handlers never call a provider; they enqueue. Providers never write a
//! task's status; they return a result or a `TaskFailure` to the worker, which asks the state
//! machine.

pub mod local;

/// Name of the built-in channel.
pub const LOCAL_CHANNEL: &str = "local";
