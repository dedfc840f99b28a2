//! The open-file limit: raised to its hard limit at start, and the connection cap kept below it
//! so that accepting never runs the process out of descriptors (the database, stored files,
//! outgoing calls and the overflow pool need some too).

/// Descriptors kept for everything but client connections: database connections, files being
/// stored or served, upstream and webhook calls, logs.
const RESERVED: u64 = 128;

/// Connections answered past the cap (health checks, fast 503s), at most.
const OVERFLOW: u64 = 64;

/// The cap when the limit is unknown or unlimited and `server.max_connections` is 0.
const DEFAULT_CAP: u64 = 10_000;

/// Raises the soft open-file limit to the hard one and logs both; the soft limit in force after,
/// or `None` where it cannot be read.
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let (soft, hard) = match rlimit::Resource::NOFILE.get() {
            Ok(limits) => limits,
            Err(error) => {
                tracing::warn!(%error, "cannot read the open-file limit (RLIMIT_NOFILE)");
                return None;
            }
        };
        let raised = rlimit::increase_nofile_limit(hard).unwrap_or(soft);
        tracing::info!(
            soft_before = soft,
            hard,
            soft_now = raised,
            "open-file limit"
        );
        Some(raised)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The connection cap and the overflow pool for a configured cap (`0` = derive it) and an
/// open-file limit: both pools together stay below the limit minus the reserve.
pub fn connection_caps(configured: u64, open_files: Option<u64>) -> (usize, usize) {
    let room = open_files
        .filter(|&limit| limit < u64::MAX / 2)
        .map(|limit| limit.saturating_sub(RESERVED).max(2));
    let overflow = room.map_or(OVERFLOW, |room| (room / 8).clamp(1, OVERFLOW));
    let main = match (configured, room) {
        (0, Some(room)) => room - overflow,
        (0, None) => DEFAULT_CAP,
        (wanted, Some(room)) => wanted.min(room - overflow),
        (wanted, None) => wanted,
    }
    .max(1);
    let to_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    (to_usize(main), to_usize(overflow))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_below_the_descriptor_limit() {
        // ulimit -n 1024: 896 for clients, of which 64 overflow.
        assert_eq!(connection_caps(0, Some(1024)), (832, 64));
        assert_eq!(connection_caps(100, Some(1024)), (100, 64));
        assert_eq!(connection_caps(5000, Some(1024)), (832, 64));
        assert_eq!(connection_caps(0, None), (10_000, 64));
        assert_eq!(connection_caps(0, Some(u64::MAX)), (10_000, 64));
        let (main, overflow) = connection_caps(0, Some(200));
        assert!(main + overflow <= 200 - 128, "{main} + {overflow}");
        assert!(main >= 1 && overflow >= 1);
    }
}
