//! Rate limits paced evenly and shared by every replica (`rate_limits`): per-key request RPM,
//! per-channel create RPM and per-channel status-call RPM.
//!
//! The algorithm is GCRA (the "generic cell rate algorithm" of the `governor` crate, a token
//! bucket without a timer): a limit of `rpm` per minute has one slot every `60 s / rpm`; a scope
//! stores its theoretical arrival time (TAT), the moment its next slot frees. A request is let
//! through when the TAT is not later than now, and moves the TAT one slot past
//! `max(TAT, now)`. There is no burst: requests are spaced one slot apart, so no one-second
//! window ever holds more than `⌈rpm / 60⌉ + 1` of them, and a minute's budget is never spent in
//! its first seconds and followed by a stall.
//!
//! A caller that will wait anyway (the poller, the dispatcher) may book a slot up to `ahead`
//! in the future and sleep until it ([`take`] returns the slot's moment): the requests are still
//! one slot apart.
//!
//! The decision is one conditional upsert, so it is exact under concurrency on both backends:
//! SQLite has one writer; PostgreSQL locks the conflicting row and evaluates the `WHERE` on its
//! latest version.

use std::time::Duration;

use super::Db;

/// A granted slot: the moment (µs since the epoch) the caller may act; never before now and at
/// most `ahead` after it.
pub type Slot = i64;

/// Microseconds between two slots of a limit of `rpm` per minute (at least 1).
pub fn slot_us(rpm: i64) -> i64 {
    (60_000_000 / rpm.max(1)).max(1)
}

/// Takes the next slot of `scope`'s limit of `rpm` per minute if it falls within `ahead` of
/// `now_us`: `Ok(slot)` (the moment the caller may act), or `Err(wait)` until the earliest time
/// a call with the same `ahead` would succeed (a refused call takes nothing).
pub async fn take(
    db: &Db,
    scope: &str,
    rpm: i64,
    now_us: i64,
    ahead: Duration,
) -> Result<Result<Slot, Duration>, sqlx::Error> {
    let slot = slot_us(rpm);
    let ahead_us = ahead.as_micros() as i64;
    let granted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO rate_limits (scope, tat_us) VALUES ($1, $2) \
         ON CONFLICT (scope) DO UPDATE SET tat_us = \
           (CASE WHEN rate_limits.tat_us > $3 THEN rate_limits.tat_us ELSE $3 END) + $4 \
         WHERE rate_limits.tat_us <= $5 \
         RETURNING tat_us",
    )
    .bind(scope)
    .bind(now_us + slot)
    .bind(now_us)
    .bind(slot)
    .bind(now_us + ahead_us)
    .fetch_optional(&db.write)
    .await?;
    if let Some(tat) = granted {
        return Ok(Ok((tat - slot).max(now_us)));
    }
    // Refused: read when the next slot frees (only for the answer; the decision was above).
    let tat: Option<i64> = sqlx::query_scalar("SELECT tat_us FROM rate_limits WHERE scope = $1")
        .bind(scope)
        .fetch_optional(&db.write)
        .await?;
    let wait = tat.map_or(0, |tat| tat - ahead_us - now_us).max(1);
    Ok(Err(Duration::from_micros(wait as u64)))
}

/// Consecutive slots granted at once by [`take_many`]: `count` slots, the first at `first` (µs
/// since the epoch), one `every` µs apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slots {
    pub first: Slot,
    pub count: i64,
    pub every: i64,
}

impl Slots {
    /// The moment of the `i`-th slot (from 0).
    pub fn at(&self, i: i64) -> Slot {
        self.first + i * self.every
    }
}

/// Takes up to `n` consecutive slots of `scope`'s limit, as many as fall within `ahead` of
/// `now_us` (what `n` calls of [`take`] in a row would grant, in one transaction): `Ok(slots)`
/// with at least one slot, or `Err(wait)` as [`take`] answers when not even one is free.
///
/// The scope's row is locked before it is read (PostgreSQL: the upsert's row lock, held to
/// commit; SQLite: the write lock), so concurrent takers, on any replica, never share a slot.
pub async fn take_many(
    db: &Db,
    scope: &str,
    rpm: i64,
    now_us: i64,
    ahead: Duration,
    n: i64,
) -> Result<Result<Slots, Duration>, sqlx::Error> {
    let every = slot_us(rpm);
    let ahead_us = ahead.as_micros() as i64;
    let mut tx = db.write.begin().await?;
    // An absent row means a TAT in the past; 0 is one.
    sqlx::query(
        "INSERT INTO rate_limits (scope, tat_us) VALUES ($1, 0) \
         ON CONFLICT (scope) DO UPDATE SET tat_us = rate_limits.tat_us",
    )
    .bind(scope)
    .execute(&mut *tx)
    .await?;
    let tat: i64 = sqlx::query_scalar("SELECT tat_us FROM rate_limits WHERE scope = $1")
        .bind(scope)
        .fetch_one(&mut *tx)
        .await?;
    let first = tat.max(now_us);
    if first > now_us + ahead_us || n < 1 {
        tx.commit().await?;
        let wait = (first - ahead_us - now_us).max(1);
        return Ok(Err(Duration::from_micros(wait as u64)));
    }
    let count = n.min((now_us + ahead_us - first) / every + 1);
    sqlx::query("UPDATE rate_limits SET tat_us = $1 WHERE scope = $2")
        .bind(first + count * every)
        .bind(scope)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Ok(Slots {
        first,
        count,
        every,
    }))
}

/// Deletes the scopes whose next slot freed more than a minute before `now_us` (an absent row
/// means the same as a TAT in the past).
pub(crate) async fn prune(db: &Db, now_us: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM rate_limits WHERE tat_us < $1")
        .bind(now_us - 60_000_000)
        .execute(&db.write)
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn two_handles() -> (Db, Db, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("rate.db").display());
        let a = Db::connect(&url).await.expect("first handle");
        let b = Db::connect(&url).await.expect("second handle");
        (a, b, dir)
    }

    #[tokio::test]
    async fn slots_are_one_interval_apart_and_a_refusal_names_the_exact_wait() {
        let (db, _, _dir) = two_handles().await;
        let now = 1_000_000_000_000;
        // 600 per minute: one slot every 100 ms, no burst.
        assert_eq!(
            take(&db, "s", 600, now, Duration::ZERO).await.unwrap(),
            Ok(now)
        );
        assert_eq!(
            take(&db, "s", 600, now + 30_000, Duration::ZERO)
                .await
                .unwrap(),
            Err(Duration::from_micros(70_000))
        );
        assert_eq!(
            take(&db, "s", 600, now + 100_000, Duration::ZERO)
                .await
                .unwrap(),
            Ok(now + 100_000)
        );
        // Booking ahead: the slot is in the future, one interval after the last.
        assert_eq!(
            take(&db, "s", 600, now + 100_000, Duration::from_millis(250))
                .await
                .unwrap(),
            Ok(now + 200_000)
        );
        assert_eq!(
            take(&db, "s", 600, now + 100_000, Duration::from_millis(250))
                .await
                .unwrap(),
            Ok(now + 300_000)
        );
        assert_eq!(
            take(&db, "s", 600, now + 100_000, Duration::from_millis(250))
                .await
                .unwrap(),
            Err(Duration::from_micros(50_000))
        );
        // Another scope is independent; an idle scope starts afresh (no saved-up burst).
        assert_eq!(
            take(&db, "t", 600, now, Duration::ZERO).await.unwrap(),
            Ok(now)
        );
        let later = now + 3_600_000_000;
        assert_eq!(
            take(&db, "s", 600, later, Duration::ZERO).await.unwrap(),
            Ok(later)
        );
        assert!(take(&db, "s", 600, later + 1, Duration::ZERO)
            .await
            .unwrap()
            .is_err());
        assert_eq!(prune(&db, later + 120_000_000).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn many_slots_at_once_are_the_slots_single_takes_would_get() {
        let (a, b, _dir) = two_handles().await;
        let now = 1_000_000_000_000;
        let ahead = Duration::from_millis(250);
        // 600 per minute, booking 250 ms ahead: the slots at +0, +100 and +200 ms.
        let slots = take_many(&a, "s", 600, now, ahead, 10)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            slots,
            Slots {
                first: now,
                count: 3,
                every: 100_000
            }
        );
        assert_eq!(slots.at(2), now + 200_000);
        // Nothing is left within the booking, on either handle; the wait is to the next one.
        assert_eq!(
            take_many(&b, "s", 600, now, ahead, 1).await.unwrap(),
            Err(Duration::from_micros(50_000))
        );
        assert_eq!(
            take(&b, "s", 600, now, ahead).await.unwrap(),
            Err(Duration::from_micros(50_000))
        );
        // A single take and a batch share one sequence of slots.
        assert_eq!(
            take(&b, "s", 600, now + 50_000, ahead).await.unwrap(),
            Ok(now + 300_000)
        );
        let slots = take_many(&a, "s", 600, now + 250_000, ahead, 2)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((slots.first, slots.count), (now + 400_000, 2));
        // An idle scope starts afresh at now, with no saved-up burst.
        let later = now + 3_600_000_000;
        let slots = take_many(&b, "s", 600, later, Duration::ZERO, 5)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((slots.first, slots.count), (later, 1));
    }
}
