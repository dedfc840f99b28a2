//! Wake-ups across processes. Within one process a `tokio::sync::Notify` wakes idle loops at
//! once; with PostgreSQL, `NOTIFY` carries the same poke to every replica (`LISTEN` in
//! [`spawn_listener`]), so a task accepted by one replica is claimed by another's idle worker
//! without waiting for its poll interval. Polling stays the safety net: a lost notification
//! only delays work, never loses it.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{Backend, Db};

/// What a poke announces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Topic {
    /// A task was accepted (wakes dispatchers).
    Tasks,
    /// A task was routed to the local channel (wakes local workers).
    Local,
}

impl Topic {
    fn channel(self) -> &'static str {
        match self {
            Topic::Tasks => "reelay_tasks",
            Topic::Local => "reelay_local",
        }
    }
}

/// Tells other replicas about new work (no-op on SQLite, where one process owns the database).
pub(crate) async fn announce(db: &Db, topic: Topic) {
    if db.backend() != Backend::Postgres {
        return;
    }
    if let Err(error) = sqlx::query("SELECT pg_notify($1, '')")
        .bind(topic.channel())
        .execute(&db.write)
        .await
    {
        tracing::debug!(%error, "NOTIFY failed; other replicas will find the work by polling");
    }
}

/// On PostgreSQL, listens for pokes and forwards them to this process's `Notify`s until
/// `shutdown`; reconnects after errors. `None` on SQLite.
pub(crate) fn spawn_listener(
    db: &Db,
    tasks: Arc<Notify>,
    local: Arc<Notify>,
    shutdown: CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    if db.backend() != Backend::Postgres {
        return None;
    }
    let url = db.url().to_string();
    Some(tokio::spawn(async move {
        loop {
            let listened = listen(&url, &tasks, &local);
            tokio::select! {
                _ = shutdown.cancelled() => return,
                Err(error) = listened => {
                    tracing::warn!(%error, "LISTEN connection lost; retrying in 1 s");
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }))
}

/// Forwards notifications until the connection fails.
async fn listen(
    url: &str,
    tasks: &Notify,
    local: &Notify,
) -> Result<std::convert::Infallible, sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener
        .listen_all([Topic::Tasks.channel(), Topic::Local.channel()])
        .await?;
    loop {
        let notification = listener.recv().await?;
        if notification.channel() == Topic::Local.channel() {
            local.notify_one();
        } else {
            tasks.notify_one();
        }
    }
}
