//! Recording accepted submissions together.
//!
//! While many creates are in flight (up to `CREATES_IN_FLIGHT` per channel), their answers
//! arrive hundreds a second; one write each would queue them all for SQLite's one writer, ahead
//! of the poller's and the result copies' writes. Instead each answer is queued here, and
//! whoever finds no write under way records everything queued in one statement
//! (`store::upstream::mark_submitted_many`) while the next answers queue behind it (a group
//! commit without a task of its own: every answer waits for its own to be written or for the
//! turn to write). Every create still learns whether its submission was recorded, as with one
//! write each.
//!
//! Nothing is lost in a crash: until its answer is recorded a submission stays `submitting`,
//! and the poller reconciles it by its marker (see the module doc of `upstream`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex as SyncMutex};

use tokio::sync::{oneshot, Mutex};

use crate::store::upstream as rows;
use crate::store::Db;

/// Most answers recorded by one statement.
const MAX_BATCH: usize = 256;

/// Why an answer may not have been recorded (it then stays `submitting` and is reconciled).
#[derive(Debug, Clone, thiserror::Error)]
pub(super) enum NotRecorded {
    #[error("{0}")]
    Database(Arc<sqlx::Error>),
    /// The write that held it was cut short (shutdown aborts the submissions in flight).
    #[error("the write holding it was cut short")]
    CutShort,
}

struct Job {
    task_id: String,
    upstream_id: String,
    next_poll_ms: i64,
    /// True when recorded; false when the submission was already resolved.
    reply: oneshot::Sender<Result<bool, NotRecorded>>,
}

/// The queue of accepted submissions not yet recorded.
#[derive(Default)]
pub(super) struct AcceptedSubmissions {
    queue: SyncMutex<Vec<Job>>,
    /// Held while one caller writes what is queued.
    writing: Mutex<()>,
}

impl AcceptedSubmissions {
    /// Records that the upstream accepted `task_id` as `upstream_id`, to be looked at first at
    /// `next_poll_ms`. False when the submission was already resolved (reconciled as never
    /// accepted, or the task ended): nothing tracks this upstream task.
    pub(super) async fn record(
        &self,
        db: &Db,
        task_id: &str,
        upstream_id: &str,
        next_poll_ms: i64,
    ) -> Result<bool, NotRecorded> {
        let (reply, mut answer) = oneshot::channel();
        self.queued().push(Job {
            task_id: task_id.to_string(),
            upstream_id: upstream_id.to_string(),
            next_poll_ms,
            reply,
        });
        loop {
            tokio::select! {
                biased;
                answered = &mut answer => {
                    return answered.unwrap_or(Err(NotRecorded::CutShort));
                }
                _turn = self.writing.lock() => {
                    // Nobody else writes now, so this answer is either written already or
                    // queued: everything queued is written, then the turn passes on (to an
                    // answer queued meanwhile, which writes the next group).
                    let jobs = std::mem::take(&mut *self.queued());
                    write(db, jobs).await;
                }
            }
        }
    }

    fn queued(&self) -> std::sync::MutexGuard<'_, Vec<Job>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Records `jobs` and answers each, `MAX_BATCH` to a statement. Two answers for one task (an
/// idempotent create repeated) go to different statements, in queue order, so the second finds
/// the submission recorded, as it would alone.
async fn write(db: &Db, mut jobs: Vec<Job>) {
    while !jobs.is_empty() {
        let mut seen = HashSet::new();
        let mut now = Vec::new();
        let mut later = Vec::new();
        for job in jobs {
            if now.len() < MAX_BATCH && seen.insert(job.task_id.clone()) {
                now.push(job);
            } else {
                later.push(job);
            }
        }
        write_once(db, now).await;
        jobs = later;
    }
}

async fn write_once(db: &Db, jobs: Vec<Job>) {
    let rows: Vec<(String, String, i64)> = jobs
        .iter()
        .map(|job| {
            (
                job.task_id.clone(),
                job.upstream_id.clone(),
                job.next_poll_ms,
            )
        })
        .collect();
    match rows::mark_submitted_many(db, &rows).await {
        Ok(recorded) => {
            let recorded: HashSet<String> = recorded.into_iter().collect();
            for job in jobs {
                let _ = job.reply.send(Ok(recorded.contains(&job.task_id)));
            }
        }
        Err(error) => {
            let error = NotRecorded::Database(Arc::new(error));
            for job in jobs {
                let _ = job.reply.send(Err(error.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database with an account, tasks `a`…`e` routed to channel `c`, and their submissions
    /// `submitting`.
    async fn routed_tasks() -> (Db, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("accepted.db").display());
        let db = Db::connect(&url).await.expect("database");
        sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ('acct', 'acct', 0)")
            .execute(&db.write)
            .await
            .expect("account");
        for id in ["a", "b", "c", "d", "e"] {
            sqlx::query(
                "INSERT INTO tasks (id, account_id, model, status, request, cost_credits, cost_unit, \
                 cost_seconds, channel, created_at, updated_at) \
                 VALUES ($1, 'acct', 'm', 'queued', '{}', 1, 'credits', 5, 'c', 0, 0)",
            )
            .bind(id)
            .execute(&db.write)
            .await
            .expect("task");
            sqlx::query(
                "INSERT INTO upstream_tasks (task_id, channel, upstream_model, submit_state, marker, \
                 submit_started_ms, next_poll_ms, updated_ms) VALUES ($1, 'c', 'm', 'submitting', $1, 0, 0, 0)",
            )
            .bind(id)
            .execute(&db.write)
            .await
            .expect("submission");
        }
        (db, dir)
    }

    async fn row(db: &Db, id: &str) -> (String, Option<String>, i64) {
        sqlx::query_as(
            "SELECT submit_state, upstream_id, next_poll_ms FROM upstream_tasks WHERE task_id = $1",
        )
        .bind(id)
        .fetch_one(&db.read)
        .await
        .expect("row")
    }

    #[tokio::test]
    async fn answers_arriving_together_are_each_recorded_and_each_told_their_own_outcome() {
        let (db, _dir) = routed_tasks().await;
        // `e` was resolved meanwhile (reconciled as never accepted): its answer is not recorded.
        sqlx::query("UPDATE upstream_tasks SET submit_state = 'done' WHERE task_id = 'e'")
            .execute(&db.write)
            .await
            .expect("resolve e");
        let accepted = AcceptedSubmissions::default();
        let (a, b, c, d, e, a_again) = tokio::join!(
            accepted.record(&db, "a", "up-a", 11),
            accepted.record(&db, "b", "up-b", 12),
            accepted.record(&db, "c", "up-c", 13),
            accepted.record(&db, "d", "up-d", 14),
            accepted.record(&db, "e", "up-e", 15),
            // A repeated answer for `a` (an idempotent create sent twice) finds it recorded.
            accepted.record(&db, "a", "up-a2", 16),
        );
        let outcomes = [a, b, c, d, e, a_again].map(|r| r.expect("written"));
        assert_eq!(outcomes, [true, true, true, true, false, false]);
        for (id, at) in [("a", 11), ("b", 12), ("c", 13), ("d", 14)] {
            assert_eq!(
                row(&db, id).await,
                ("submitted".to_string(), Some(format!("up-{id}")), at)
            );
        }
        assert_eq!(row(&db, "e").await, ("done".to_string(), None, 0));
    }

    #[tokio::test]
    async fn more_answers_than_one_statement_holds_are_all_recorded() {
        let (db, _dir) = routed_tasks().await;
        let accepted = AcceptedSubmissions::default();
        // 600 answers for unknown tasks and the five known ones, all at once.
        let mut calls = Vec::new();
        for n in 0..600 {
            calls.push((format!("x{n}"), format!("up-x{n}")));
        }
        for id in ["a", "b", "c", "d", "e"] {
            calls.push((id.to_string(), format!("up-{id}")));
        }
        let answers = futures::future::join_all(
            calls
                .iter()
                .map(|(id, upstream)| accepted.record(&db, id, upstream, 1)),
        )
        .await;
        let recorded = answers
            .into_iter()
            .map(|answer| answer.expect("written"))
            .filter(|recorded| *recorded)
            .count();
        assert_eq!(recorded, 5);
        for id in ["a", "b", "c", "d", "e"] {
            assert_eq!(row(&db, id).await.0, "submitted");
        }
    }
}
