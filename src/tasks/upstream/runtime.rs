//! Learned run times: how long a remote channel's tasks take, per class of task (the model and
//! the price, which follows from the duration and the resolution), from the tasks this process
//! saw finish. The poller asks it when to look at a task next: more often as the task nears the
//! time tasks of its class usually end, less before.
//!
//! A class keeps its last [`SAMPLES`] run times (a ring), sorted again after every
//! [`RESORT_EVERY`] new ones: a small, recent quantile sketch. It lives in memory only (it only
//! saves status calls; a fresh process polls by age until it has learned).

use std::collections::HashMap;
use std::sync::Mutex;

/// Run times kept per class.
const SAMPLES: usize = 256;
/// Run times a class needs before it is trusted.
const MIN_SAMPLES: usize = 16;
/// New samples between two sorts of a class.
const RESORT_EVERY: usize = 16;
/// Each look is planned when this share of the probability that the task is still running
/// has passed (by the class's run times).
const STEP: f64 = 0.1;

/// What identifies a class of tasks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Class {
    pub model: String,
    pub seconds: i64,
    pub credits: i64,
}

#[derive(Default)]
struct Sketch {
    ring: Vec<i64>,
    next: usize,
    sorted: Vec<i64>,
    unsorted_adds: usize,
}

impl Sketch {
    fn add(&mut self, run_ms: i64) {
        if self.ring.len() < SAMPLES {
            self.ring.push(run_ms);
        } else {
            self.ring[self.next] = run_ms;
        }
        self.next = (self.next + 1) % SAMPLES;
        self.unsorted_adds += 1;
        if self.sorted.len() < MIN_SAMPLES || self.unsorted_adds >= RESORT_EVERY {
            self.sorted = self.ring.clone();
            self.sorted.sort_unstable();
            self.unsorted_adds = 0;
        }
    }

    /// The share of run times at most `age_ms`.
    fn cdf(&self, age_ms: i64) -> f64 {
        let below = self.sorted.partition_point(|&t| t <= age_ms);
        below as f64 / self.sorted.len() as f64
    }

    /// The run time below which a share `p` of the samples lie.
    fn quantile(&self, p: f64) -> i64 {
        let last = self.sorted.len() - 1;
        let index = ((p * self.sorted.len() as f64).ceil() as usize).clamp(1, last + 1) - 1;
        self.sorted[index]
    }
}

/// Run times of every class seen by this process.
#[derive(Default)]
pub(crate) struct RunTimes {
    classes: Mutex<HashMap<Class, Sketch>>,
}

impl RunTimes {
    /// A task of `class` ran for `run_ms` (from acceptance to its end as seen).
    pub(crate) fn record(&self, class: Class, run_ms: i64) {
        let mut classes = self.classes.lock().unwrap_or_else(|p| p.into_inner());
        classes.entry(class).or_default().add(run_ms.max(0));
    }

    /// How long after a look at `age_ms` the next look at a task of `class` should be, between
    /// `min_ms` and `max_ms`: when a tenth of the chance that it is still running has passed
    /// (so looks come closer together near the class's usual end, and stay at `min_ms` past
    /// all of it); by age (`age / 20`) until the class has enough samples.
    pub(crate) fn next_look_in(&self, class: &Class, age_ms: i64, min_ms: i64, max_ms: i64) -> i64 {
        let classes = self.classes.lock().unwrap_or_else(|p| p.into_inner());
        let planned = match classes.get(class) {
            Some(sketch) if sketch.sorted.len() >= MIN_SAMPLES => {
                let done = sketch.cdf(age_ms);
                if done >= 1.0 {
                    min_ms
                } else {
                    sketch.quantile(done + STEP * (1.0 - done)) - age_ms
                }
            }
            _ => age_ms / 20,
        };
        planned.clamp(min_ms, max_ms.max(min_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class() -> Class {
        Class {
            model: "m".into(),
            seconds: 5,
            credits: 100,
        }
    }

    #[test]
    fn looks_come_closer_near_the_usual_end_and_never_exceed_the_bounds() {
        let times = RunTimes::default();
        // Before learning: by age.
        assert_eq!(times.next_look_in(&class(), 100_000, 2_000, 30_000), 5_000);
        for i in 0..=100 {
            // Run times 30–40 s.
            times.record(class(), 30_000 + i * 100);
        }
        let early = times.next_look_in(&class(), 1_000, 500, 30_000);
        let near = times.next_look_in(&class(), 36_000, 500, 30_000);
        let past = times.next_look_in(&class(), 50_000, 500, 30_000);
        assert!(early > 25_000, "{early}");
        assert!(near < 2_000, "{near}");
        assert_eq!(past, 500);
        assert_eq!(times.next_look_in(&class(), 0, 500, 10_000), 10_000);
        // Another class is not learned yet.
        let other = Class {
            seconds: 10,
            ..class()
        };
        assert_eq!(times.next_look_in(&other, 0, 2_000, 30_000), 2_000);
    }
}
