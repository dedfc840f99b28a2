//! Reads what reelay needs to enforce media limits from a file's headers: image width and
//! height, video duration and frame size, audio duration. [`probe`] sniffs the format
//! first (see [`mod@crate::sniff`]), then dispatches to a small parser per container.
//!
//! Architecture Invariant: the parsers read through the bounds-checked helpers below and
//! return [`ProbeError::Malformed`] on anything odd; they never panic on garbage (tests
//! feed them truncated and corrupted files).

mod file;
pub(crate) mod mp3;
mod mp4;
mod mp4_fragments;
mod wav;

use crate::sniff::{describe_unrecognized, sniff, MediaFormat, MediaKind};

pub use file::{probe_reader, WHOLE_FILE_BYTES};

/// What probing found.
#[derive(Clone, Debug, PartialEq)]
pub struct Probe {
    /// The format from magic bytes.
    pub format: MediaFormat,
    /// Pixels across: images, and videos with a video track.
    pub width: Option<u32>,
    /// Pixels down: images, and videos with a video track.
    pub height: Option<u32>,
    /// Seconds: videos and audio, when the header says.
    pub duration_secs: Option<f64>,
    /// The file's size.
    pub size_bytes: u64,
}

/// Why a file could not be probed.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ProbeError {
    /// Not a format reelay accepts; `what` names what it looks like ("an HTML document").
    #[error("{what} is not a supported image, video or audio file")]
    Unrecognized {
        /// A noun phrase from [`describe_unrecognized`].
        what: &'static str,
    },
    /// The magic bytes match but the headers do not parse.
    #[error("the {format} file is damaged or truncated ({reason})")]
    Malformed {
        /// The sniffed format.
        format: MediaFormat,
        /// What was wrong.
        reason: String,
    },
}

impl ProbeError {
    /// The refusal phrased for what the caller expected, e.g. "an HTML document is not an
    /// image".
    pub fn explain_for(&self, expected: MediaKind) -> String {
        match self {
            ProbeError::Unrecognized { what } => {
                format!("{what} is not {}", expected.with_article())
            }
            ProbeError::Malformed { .. } => self.to_string(),
        }
    }
}

/// Sniffs and probes `bytes` (the whole file).
pub fn probe(bytes: &[u8]) -> Result<Probe, ProbeError> {
    let format = sniff(bytes).ok_or_else(|| ProbeError::Unrecognized {
        what: describe_unrecognized(bytes),
    })?;
    let malformed = |reason: String| ProbeError::Malformed { format, reason };
    let mut probe = Probe {
        format,
        width: None,
        height: None,
        duration_secs: None,
        size_bytes: bytes.len() as u64,
    };
    match format {
        MediaFormat::Jpeg
        | MediaFormat::Png
        | MediaFormat::Webp
        | MediaFormat::Bmp
        | MediaFormat::Gif => {
            let (width, height) = image_dimensions(bytes).map_err(malformed)?;
            probe.width = Some(width);
            probe.height = Some(height);
        }
        MediaFormat::Mp4 | MediaFormat::Mov => {
            let movie = mp4::parse(bytes).map_err(malformed)?;
            probe.width = movie.width;
            probe.height = movie.height;
            probe.duration_secs = movie.duration_secs;
        }
        MediaFormat::Wav => {
            probe.duration_secs = Some(wav::duration_secs(bytes).map_err(malformed)?)
        }
        MediaFormat::Mp3 => {
            probe.duration_secs = Some(mp3::duration_secs(bytes).map_err(malformed)?)
        }
    }
    Ok(probe)
}

fn image_dimensions(bytes: &[u8]) -> Result<(u32, u32), String> {
    let size = imagesize::blob_size(bytes).map_err(|error| error.to_string())?;
    checked_dimensions(size.width, size.height)
}

fn checked_dimensions(width: usize, height: usize) -> Result<(u32, u32), String> {
    let width = u32::try_from(width).map_err(|_| "width out of range".to_owned())?;
    let height = u32::try_from(height).map_err(|_| "height out of range".to_owned())?;
    if width == 0 || height == 0 {
        return Err(format!("header says {width}×{height} px"));
    }
    Ok((width, height))
}

pub(crate) use crate::mp4box::{array_at, u16_be, u32_be};

pub(crate) fn u16_le(data: &[u8], at: usize) -> Option<u16> {
    array_at(data, at).map(u16::from_le_bytes)
}

pub(crate) fn u32_le(data: &[u8], at: usize) -> Option<u32> {
    array_at(data, at).map(u32::from_le_bytes)
}
