//! Webhooks (API.md §6): Standard Webhooks signing, the retry schedule, and the dispatcher that
//! delivers queued deliveries.
//!
//! Architecture Invariant: a delivery is enqueued by the task state machine in the same
//! transaction as the terminal status (`store::webhooks::enqueue_for`), so it survives crashes;
//! the dispatcher only reads the queue, and every attempt carries the same `webhook-id`.

mod dispatch;
mod service;
mod sign;

pub use dispatch::Dispatcher;
pub use service::{Delivery, Webhooks};
pub use sign::{new_secret, sign, signing_key, SECRET_PREFIX};

use std::time::Duration;

use rand::Rng;

/// When to try again after `attempts` failed attempts, or `None` to give up.
///
/// `schedule[i]` is the wait after the (i+1)-th failure; past its end the last delay repeats.
/// No attempt is scheduled later than `max_age_secs` after the delivery was enqueued.
/// Delays get ±10% jitter so that a receiver coming back is not hit by every retry at once.
pub fn next_attempt_at(
    schedule: &[u64],
    max_age_secs: u64,
    attempts: i64,
    enqueued_at: i64,
    now: i64,
) -> Option<i64> {
    let index = usize::try_from(attempts.max(1) - 1).unwrap_or(0);
    let base = schedule
        .get(index)
        .or_else(|| schedule.last())
        .copied()
        .unwrap_or(0);
    let jittered = jitter(Duration::from_secs(base));
    let at = now + jittered.as_secs() as i64;
    (at <= enqueued_at + max_age_secs as i64).then_some(at)
}

fn jitter(delay: Duration) -> Duration {
    if delay.is_zero() {
        return delay;
    }
    let factor = rand::thread_rng().gen_range(0.9..=1.1);
    Duration::from_secs_f64((delay.as_secs_f64() * factor).round().max(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEDULE: [u64; 7] = [5, 30, 120, 600, 1800, 3600, 7200];

    #[test]
    fn follows_the_schedule_with_jitter_then_repeats_the_last_delay() {
        let first = next_attempt_at(&SCHEDULE, 86_400, 1, 0, 0).expect("retry");
        assert!((4..=6).contains(&first), "{first}");
        let third = next_attempt_at(&SCHEDULE, 86_400, 3, 0, 100).expect("retry");
        assert!((100 + 108..=100 + 132).contains(&third), "{third}");
        let late = next_attempt_at(&SCHEDULE, 86_400, 20, 0, 10_000).expect("retry");
        assert!((10_000 + 6480..=10_000 + 7920).contains(&late), "{late}");
    }

    #[test]
    fn gives_up_after_the_max_age() {
        assert_eq!(next_attempt_at(&SCHEDULE, 86_400, 12, 0, 85_000), None);
    }
}
