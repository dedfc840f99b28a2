//! Each configured channel at run time: its provider, the operator's pause switch, a circuit
//! breaker, and what this process knows of its `rpm` pacing (the limit itself is paced in the
//! database, `store::rate`, shared by every replica; a refusal's wait is remembered here so that
//! routing does not ask again before the next slot).
//!
//! The breaker lives in this process's memory; the pause switch is also stored
//! (`channel_state`) so that it survives restarts.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde::Serialize;
use tokio::sync::Notify;

use super::counted::Counted;
use super::local::LocalProvider;
use super::{ark::ArkProvider, relay::RelayProvider, Execution, Outcome, Provider, LOCAL_CHANNEL};
use crate::config::ChannelSettings;
use crate::metrics::Metrics;

const MINUTE: Duration = Duration::from_secs(60);
/// Window of the "recent error rate" shown to operators.
const RECENT: Duration = Duration::from_secs(300);

/// One channel at run time.
pub struct Channel {
    pub settings: ChannelSettings,
    /// What runs its tasks (every call counted).
    pub provider: Arc<dyn Provider>,
    /// Routing keeps within `rpm` and `max_concurrency` (false only for the implicit local
    /// channel of a server with no `[[channels]]`: its capacity is the workers' concurrency).
    pub limited: bool,
    paused: AtomicBool,
    health: Mutex<Health>,
    /// Wakes this channel's poller (a callback arrived, a task was submitted).
    pub wake: Notify,
}

#[derive(Default)]
struct Health {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    open_reason: Option<String>,
    /// Creates of the last minute (shown to operators; the limit is paced in the database).
    creates: VecDeque<Instant>,
    /// The database refused a create slot: none frees before this.
    creates_paused_until: Option<Instant>,
    recent: VecDeque<(Instant, bool)>,
    last_error: Option<String>,
    /// The newest errors last, at most [`RECENT_ERRORS`], with their unix second.
    errors: VecDeque<(i64, String)>,
}

/// How many of a channel's latest errors operators see.
const RECENT_ERRORS: usize = 10;

impl Health {
    fn note_error(&mut self, message: String) {
        if self.errors.len() == RECENT_ERRORS {
            self.errors.pop_front();
        }
        self.errors
            .push_back((crate::clock::now(), message.clone()));
        self.last_error = Some(message);
    }
}

/// What operators see about a channel (`GET /admin/v1/channels`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct HealthView {
    pub paused: bool,
    /// `closed`, `open` or `half_open` (cool-down over; the next call is a trial).
    pub breaker: &'static str,
    pub breaker_reason: Option<String>,
    pub consecutive_failures: u32,
    pub recent_calls: usize,
    pub recent_error_rate: f64,
    pub creates_last_minute: usize,
    pub last_error: Option<String>,
    /// This replica's latest errors, newest first: `(unix second, message)`.
    pub recent_errors: Vec<(i64, String)>,
}

impl Channel {
    pub fn new(settings: ChannelSettings, provider: Arc<dyn Provider>, limited: bool) -> Channel {
        Channel {
            settings,
            provider,
            limited,
            paused: AtomicBool::new(false),
            health: Mutex::new(Health::default()),
            wake: Notify::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// How this channel runs tasks.
    pub(crate) fn execution(&self) -> Execution {
        self.provider.execution()
    }

    /// Records how a task run in this process ended: a failure the request caused (its inputs)
    /// still shows the channel working; any other counts toward the breaker.
    pub(crate) fn record_outcome(&self, outcome: &Outcome) {
        match outcome {
            Outcome::Failed(failure) if !failure.is_request_fault() => {
                self.record_failure(&format!("{}: {}", failure.code, failure.message))
            }
            _ => self.record_success(),
        }
    }

    fn health(&self) -> MutexGuard<'_, Health> {
        // A panic while holding this lock leaves plain counters behind; keep using them.
        self.health
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    pub(crate) fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::SeqCst);
    }

    /// Not paused, breaker closed (or cooled down for a trial), and no refused `rpm` slot
    /// known to be still ahead.
    pub(crate) fn can_submit(&self) -> bool {
        if self.is_paused() {
            return false;
        }
        let now = Instant::now();
        let health = self.health();
        if health.open_until.is_some_and(|until| now < until) {
            return false;
        }
        !(self.limited && health.creates_paused_until.is_some_and(|until| now < until))
    }

    /// The breaker opened and has cooled down: the next create is its one trial call.
    pub(crate) fn on_trial(&self) -> bool {
        self.health().open_until.is_some()
    }

    /// The database refused a create slot: routing skips this channel until `until`.
    pub(crate) fn pause_creates_until(&self, until: Instant) {
        self.health().creates_paused_until = Some(until);
    }

    /// When routing may try this channel's create slots again, if that is still ahead.
    pub(crate) fn creates_resume_at(&self) -> Option<Instant> {
        let until = self.health().creates_paused_until?;
        (until > Instant::now()).then_some(until)
    }

    /// Counts one create (after `can_submit` and a slot); a cooled-down breaker lets this one
    /// call through as a trial and stays shut to others until it reports.
    pub(crate) fn reserve_submit(&self) {
        let now = Instant::now();
        let mut health = self.health();
        prune(&mut health.creates, now, MINUTE);
        health.creates.push_back(now);
        if health.open_until.is_some() {
            health.open_until = Some(now + self.cooldown());
        }
    }

    /// A call answered as expected: the breaker closes.
    pub(crate) fn record_success(&self) {
        let now = Instant::now();
        let mut health = self.health();
        health.consecutive_failures = 0;
        if health.open_until.is_some() {
            tracing::info!(channel = %self.settings.name, "channel breaker closed");
        }
        health.open_until = None;
        health.open_reason = None;
        push_recent(&mut health.recent, now, true);
    }

    /// A transient failure (5xx, connect error, timeout); enough in a row open the breaker.
    pub(crate) fn record_failure(&self, reason: &str) {
        let now = Instant::now();
        let mut health = self.health();
        health.consecutive_failures += 1;
        health.note_error(reason.to_string());
        push_recent(&mut health.recent, now, false);
        if health.consecutive_failures >= self.settings.breaker_threshold {
            if health.open_until.is_none() {
                tracing::error!(channel = %self.settings.name, %reason, "channel breaker opened after repeated errors");
            }
            health.open_until = Some(now + self.cooldown());
            health.open_reason = Some(format!(
                "{} errors in a row; last: {reason}",
                health.consecutive_failures
            ));
        }
    }

    /// The channel cannot work (auth, quota): open the breaker at once and alert.
    pub(crate) fn open_breaker(&self, code: &str, reason: &str) {
        let now = Instant::now();
        let mut health = self.health();
        health.consecutive_failures += 1;
        health.note_error(format!("{code}: {reason}"));
        push_recent(&mut health.recent, now, false);
        health.open_until = Some(now + self.cooldown());
        health.open_reason = Some(format!("{code}: {reason}"));
        tracing::error!(channel = %self.settings.name, %code, %reason, alert = true, "channel breaker opened: the upstream refuses this account; tasks wait or go to other channels");
    }

    fn cooldown(&self) -> Duration {
        Duration::from_secs(self.settings.breaker_cooldown_secs)
    }

    pub(crate) fn health_view(&self) -> HealthView {
        let now = Instant::now();
        let mut health = self.health();
        prune(&mut health.creates, now, MINUTE);
        while health
            .recent
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > RECENT)
        {
            health.recent.pop_front();
        }
        let calls = health.recent.len();
        let errors = health.recent.iter().filter(|(_, ok)| !ok).count();
        let breaker = match health.open_until {
            None => "closed",
            Some(until) if now < until => "open",
            Some(_) => "half_open",
        };
        HealthView {
            paused: self.is_paused(),
            breaker,
            breaker_reason: health.open_reason.clone(),
            consecutive_failures: health.consecutive_failures,
            recent_calls: calls,
            recent_error_rate: if calls == 0 {
                0.0
            } else {
                errors as f64 / calls as f64
            },
            creates_last_minute: health.creates.len(),
            last_error: health.last_error.clone(),
            recent_errors: health.errors.iter().rev().cloned().collect(),
        }
    }
}

fn prune(window: &mut VecDeque<Instant>, now: Instant, span: Duration) {
    while window
        .front()
        .is_some_and(|at| now.duration_since(*at) >= span)
    {
        window.pop_front();
    }
}

fn push_recent(recent: &mut VecDeque<(Instant, bool)>, now: Instant, ok: bool) {
    recent.push_back((now, ok));
    if recent.len() > 1000 {
        recent.pop_front();
    }
}

/// Every channel of this process, in configuration order.
pub struct Channels {
    pub list: Vec<Arc<Channel>>,
}

impl Channels {
    /// Builds the runtime channels; with no `[[channels]]` the local channel serves every model.
    /// Reads each remote channel's key from its `api_key_env`; every provider call is counted in
    /// `metrics`. `local` runs the tasks of local channels.
    pub fn from_settings(
        settings: &[ChannelSettings],
        metrics: &Arc<Metrics>,
        local: LocalProvider,
    ) -> Result<Channels, String> {
        let local: Arc<dyn Provider> = Arc::new(local);
        let counted = |inner: Arc<dyn Provider>, name: &str| -> Arc<dyn Provider> {
            Arc::new(Counted::new(inner, name, metrics.clone()))
        };
        if settings.is_empty() {
            let settings = ChannelSettings {
                name: LOCAL_CHANNEL.into(),
                provider: LOCAL_CHANNEL.into(),
                ..ChannelSettings::default()
            };
            let provider = counted(local, LOCAL_CHANNEL);
            return Ok(Channels {
                list: vec![Arc::new(Channel::new(settings, provider, false))],
            });
        }
        let mut list = Vec::new();
        for (i, channel) in settings.iter().enumerate() {
            let provider: Arc<dyn Provider> = match channel.provider.as_str() {
                "ark" => Arc::new(
                    ArkProvider::new(channel, api_key(i, channel)?)
                        .map_err(|e| format!("channels[{i}]: {e}"))?,
                ),
                "relay" => Arc::new(
                    RelayProvider::new(channel, api_key(i, channel)?)
                        .map_err(|e| format!("channels[{i}]: {e}"))?,
                ),
                _ => local.clone(),
            };
            let provider = counted(provider, &channel.name);
            list.push(Arc::new(Channel::new(channel.clone(), provider, true)));
        }
        Ok(Channels { list })
    }

    /// Names of the channels serving `model`, in configuration order.
    pub fn serving(&self, model: &str) -> Vec<String> {
        self.list
            .iter()
            .filter(|c| c.settings.upstream_model(model).is_some())
            .map(|c| c.settings.name.clone())
            .collect()
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Channel>> {
        self.list.iter().find(|c| c.settings.name == name)
    }

    /// The channels that run tasks on other servers (each has a poller).
    pub fn remote(&self) -> impl Iterator<Item = &Arc<Channel>> {
        self.list
            .iter()
            .filter(|c| c.execution() == Execution::Remote)
    }
}

fn api_key(index: usize, channel: &ChannelSettings) -> Result<SecretString, String> {
    let env = channel.api_key_env.as_deref().unwrap_or_default();
    match std::env::var(env) {
        Ok(value) if !value.trim().is_empty() => Ok(SecretString::from(value.trim().to_string())),
        _ => Err(format!(
            "configuration key `channels[{index}].api_key_env`: environment variable {env} is not set"
        )),
    }
}
