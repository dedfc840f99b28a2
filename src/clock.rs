//! The wall clock every layer reads: seconds since the Unix epoch, as stored in the database
//! and compared with signed URLs' expiry times.

/// Seconds since the Unix epoch (0 if the system clock is set before 1970).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Microseconds since the Unix epoch: the clock of the rate limiters (`store::rate`), fine
/// enough for a slot of 60 µs (1,000,000 per minute).
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}
