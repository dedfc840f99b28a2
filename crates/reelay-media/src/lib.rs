//! reelay-media: everything reelay does with users' media.
//!
//! - [`fetch`]: the safe fetcher for user-supplied URLs ([`Fetcher`], [`FetchPolicy`]),
//!   enforcing API.md §7 (https only, public addresses only, checked after DNS and on
//!   every redirect, capped size, timeouts). It is the default feature `fetch`; without it
//!   the crate has no network stack (no reqwest, no tokio) and the rest works alike.
//! - [`ip`]: which addresses count as public ([`is_public_ip`]).
//! - [`mp4box`]: the one bounds-checked MP4/MOV box walker ([`mp4box::boxes`],
//!   [`mp4box::find_path`]), shared by the probe and reelay-render's video demuxer.
//! - [`mod@sniff`]: the format from magic bytes ([`sniff()`], [`MediaFormat`]), never from an
//!   extension or a Content-Type.
//! - [`mod@probe`]: dimensions and duration read from headers ([`probe()`], [`Probe`]; from a
//!   file through `Read + Seek` without holding it: [`probe_reader`]).
//! - [`limits`]: Seedance's published media rules ([`MediaLimits`], [`check_limits`]).
//!
//! Architecture Invariant: nothing here decodes pixels or samples, and no parser indexes
//! past the end of its input: every read is bounds-checked and garbage yields an error.

#[cfg(feature = "fetch")]
pub mod fetch;
pub mod ip;
pub mod limits;
pub mod mp4box;
pub mod probe;
pub mod sniff;

#[cfg(feature = "fetch")]
pub use fetch::{
    FetchError, FetchPolicy, Fetched, FetchedInto, Fetcher, HostResolver, LookupFuture,
    PostOutcome, SystemResolver, POST_BODY_LIMIT,
};
pub use ip::{classify_ip, is_public_ip, AddressClass};
pub use limits::{check_limits, probe_and_check, probe_and_check_reader, MediaLimits};
pub use probe::{probe, probe_reader, Probe, ProbeError, WHOLE_FILE_BYTES};
pub use sniff::{describe_unrecognized, sniff, MediaFormat, MediaKind};
