//! Running tasks on remote channels (`ark`, `relay`): the dispatcher routes `queued` tasks and
//! submits them exactly once (`dispatch`), one poller per channel asks for many statuses per call
//! and maps them (`poll`), and results are copied into reelay's storage before a task completes
//! (`rehost`).
//!
//! Architecture Invariant: an upstream task is never submitted twice. A submission is recorded
//! `submitting` before the create call; it is retried (here or on another channel) only after an
//! answer that proves the upstream did not accept it. After an ambiguous failure (timeout) or a
//! crash mid-call, the poller reconciles by listing the upstream's tasks and looking for the
//! submission's marker; only when it is still absent `reconcile_grace_ms` after the submit
//! started is the task submitted again.

mod accepted;
mod dispatch;
mod poll;
mod rehost;
mod runtime;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::config::UpstreamSettings;
use crate::providers::channels::Channels;
use crate::storage::Storage;
use crate::store::Db;

/// Create calls a remote channel has in flight at once in this process (counting those waiting
/// for their `rpm` slot): the dispatcher routes no more to it until one ends.
const CREATES_IN_FLIGHT: usize = 256;

/// Everything the dispatcher and pollers share.
pub struct Upstream {
    pub db: Db,
    pub channels: Arc<Channels>,
    pub storage: Storage,
    pub settings: UpstreamSettings,
    /// Origin for `callback_url`s.
    pub public_url: Arc<str>,
    /// Woken on create (the API's notifier).
    pub wake: Arc<Notify>,
    /// Pokes the local worker after a task is routed to the local channel.
    pub local_wake: Arc<Notify>,
    downloader: reqwest::Client,
    /// This process's name as a channel's poller (the lease in `channel_state`).
    instance: String,
    /// Channels a task must skip for a while after they refused it (failover).
    avoid: Mutex<HashMap<String, Vec<(String, Instant)>>>,
    /// Tasks whose result is being copied now.
    rehosting: Mutex<HashSet<String>>,
    /// Tasks in a status call now (picked, waiting for its slot or its answer).
    polling: Mutex<HashSet<String>>,
    /// Run times learned from the tasks seen to end, by class (plans the poller's looks).
    run_times: runtime::RunTimes,
    rehost_permits: Arc<Semaphore>,
    /// Per remote channel, its create calls in flight ([`CREATES_IN_FLIGHT`]).
    create_permits: HashMap<String, Arc<Semaphore>>,
    /// A routing pass left tasks because a channel had no create permit left: the next create
    /// that ends wakes the dispatcher.
    creates_starved: AtomicBool,
    /// Accepted submissions waiting to be recorded together.
    accepted: accepted::AcceptedSubmissions,
}

impl Upstream {
    pub fn new(
        db: Db,
        channels: Arc<Channels>,
        storage: Storage,
        settings: UpstreamSettings,
        public_url: Arc<str>,
        wake: Arc<Notify>,
        local_wake: Arc<Notify>,
    ) -> Result<Upstream, String> {
        let downloader = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.download_timeout_secs.max(1)))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| format!("result downloader: {e}"))?;
        let rehost_concurrency = settings.rehost_concurrency.max(1) as usize;
        let create_permits = channels
            .remote()
            .map(|c| {
                let permits = Arc::new(Semaphore::new(CREATES_IN_FLIGHT));
                (c.name().to_string(), permits)
            })
            .collect();
        Ok(Upstream {
            db,
            channels,
            storage,
            settings,
            public_url,
            wake,
            local_wake,
            downloader,
            instance: crate::ids::new_id("poller"),
            avoid: Mutex::new(HashMap::new()),
            rehosting: Mutex::new(HashSet::new()),
            polling: Mutex::new(HashSet::new()),
            run_times: runtime::RunTimes::default(),
            rehost_permits: Arc::new(Semaphore::new(rehost_concurrency)),
            create_permits,
            creates_starved: AtomicBool::new(false),
            accepted: accepted::AcceptedSubmissions::default(),
        })
    }

    /// Runs the dispatcher and one poller per remote channel until `shutdown`. A submission cut
    /// short by shutdown stays `submitting` and is reconciled at the next start.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut loops = tokio::task::JoinSet::new();
        loops.spawn(self.clone().dispatch_loop(shutdown.clone()));
        for channel in self.channels.remote() {
            loops.spawn(self.clone().poll_loop(channel.clone(), shutdown.clone()));
        }
        while loops.join_next().await.is_some() {}
    }

    fn avoid_map(&self) -> MutexGuard<'_, HashMap<String, Vec<(String, Instant)>>> {
        self.avoid.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn rehosting_set(&self) -> MutexGuard<'_, HashSet<String>> {
        self.rehosting.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn polling_set(&self) -> MutexGuard<'_, HashSet<String>> {
        self.polling.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes `task_id` skip `channel` for `span`.
    fn avoid(&self, task_id: &str, channel: &str, span: Duration) {
        let until = Instant::now() + span;
        let mut map = self.avoid_map();
        let entry = map.entry(task_id.to_string()).or_default();
        entry.retain(|(name, _)| name != channel);
        entry.push((channel.to_string(), until));
    }

    /// Channels `task_id` skips now.
    fn avoided(&self, task_id: &str) -> Vec<String> {
        let now = Instant::now();
        let mut map = self.avoid_map();
        let Some(entry) = map.get_mut(task_id) else {
            return Vec::new();
        };
        entry.retain(|(_, until)| *until > now);
        let names = entry.iter().map(|(name, _)| name.clone()).collect();
        if entry.is_empty() {
            map.remove(task_id);
        }
        names
    }
}

/// The marker a task's submissions carry upstream (Ark's `safety_identifier`, ≤ 64 chars; a
/// relay's `Idempotency-Key`): a hash of the task id, stable across resubmissions, revealing
/// nothing about the user.
pub(crate) fn marker_for(task_id: &str) -> String {
    let digest = Sha256::digest(format!("reelay-task:{task_id}").as_bytes());
    format!("rl-{}", &hex::encode(digest)[..40])
}
