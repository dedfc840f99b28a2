//! Per-key caps on long-lived or heavy requests (open event streams, uploads in progress): a
//! count per API key, held by a [`Pass`] for as long as the request lasts. Counted in this
//! process: with several replicas, each holds its own count (a key may hold the cap on each).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::error::{ApiError, ErrorCode};

/// How many of one kind of request each key may have open at once.
pub struct PerKeyCap {
    /// What is counted, for the error message (`event streams open`).
    what: &'static str,
    /// The setting that sets the cap, for the error message (`limits.streams_per_key`).
    setting: &'static str,
    /// At most this many per key; 0 = no cap.
    cap: u32,
    open: Mutex<HashMap<String, u32>>,
}

/// One open request of a key, counted until dropped.
pub struct Pass {
    cap: Arc<PerKeyCap>,
    key_id: String,
}

impl PerKeyCap {
    pub fn new(what: &'static str, setting: &'static str, cap: u32) -> Arc<PerKeyCap> {
        Arc::new(PerKeyCap {
            what,
            setting,
            cap,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// Counts one more for `key_id`, or 429 / 42900 when the key is at its cap.
    pub fn enter(self: &Arc<Self>, key_id: &str) -> Result<Pass, ApiError> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = open.entry(key_id.to_string()).or_insert(0);
        if self.cap > 0 && *count >= self.cap {
            let mut error = ApiError::new(
                ErrorCode::RateLimited,
                format!(
                    "this API key already has {} {} ({}); retry when one has finished",
                    count, self.what, self.setting
                ),
            );
            error.retry_after = Some(1);
            return Err(error);
        }
        *count += 1;
        Ok(Pass {
            cap: self.clone(),
            key_id: key_id.to_string(),
        })
    }

    /// Open requests of `key_id` now.
    pub fn open(&self, key_id: &str) -> u32 {
        let open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        open.get(key_id).copied().unwrap_or(0)
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut open = self
            .cap
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = open.get_mut(&self.key_id) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_holds_at_most_its_cap_and_gets_it_back_on_drop() {
        let cap = PerKeyCap::new("event streams open", "limits.streams_per_key", 2);
        let first = cap.enter("key_a").expect("first");
        let _second = cap.enter("key_a").expect("second");
        let refused = cap.enter("key_a").err().expect("third refused");
        assert_eq!(refused.code, ErrorCode::RateLimited);
        assert!(
            refused.message.contains("limits.streams_per_key"),
            "{}",
            refused.message
        );
        assert_eq!(refused.retry_after, Some(1));
        let _other = cap.enter("key_b").expect("another key is counted apart");
        drop(first);
        assert_eq!(cap.open("key_a"), 1);
        let _again = cap.enter("key_a").expect("room again");
        let none = PerKeyCap::new("uploads in progress", "limits.uploads_per_key", 0);
        let held: Vec<_> = (0..50)
            .map(|_| none.enter("key_a").expect("no cap"))
            .collect();
        assert_eq!(none.open("key_a"), 50);
        drop(held);
        assert_eq!(none.open("key_a"), 0);
    }
}
