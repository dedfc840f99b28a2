//! The wall clock every layer reads: seconds since the Unix epoch, as stored in the database
//! and compared with signed URLs' expiry times.

/// Seconds since the Unix epoch (0 if the system clock is set before 1970).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
