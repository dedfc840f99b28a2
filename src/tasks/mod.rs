//! Tasks: the state machine (the only writer of status), the worker that runs claimed tasks,
//! the sweeps (lost workers, retention) and the public view of a task.

pub mod state;
pub mod sweep;
pub mod upstream;
pub mod view;
pub mod worker;

use serde::{Deserialize, Serialize};

/// What a completed task stores about its output (JSON in `tasks.result`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredResult {
    pub video_key: String,
    pub last_frame_key: Option<String>,
    pub width: u32,
    pub height: u32,
    pub duration: f64,
    pub fps: u32,
    pub frames: u32,
    pub size_bytes: u64,
    pub has_audio: bool,
    /// The channel that produced it (`local` for the built-in preview renderer).
    pub channel: String,
    /// The ratio actually rendered (resolves `adaptive`).
    pub ratio: String,
}

/// Why a task failed, as reported in `error: {code, message}`.
#[derive(Debug, Clone)]
pub struct TaskFailure {
    pub code: String,
    pub message: String,
}

impl TaskFailure {
    pub fn new(code: &str, message: impl Into<String>) -> TaskFailure {
        TaskFailure {
            code: code.to_string(),
            message: message.into(),
        }
    }
}
