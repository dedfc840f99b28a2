//! Seedance's published media rules (MODELS.md): which formats, how many pixels, how long,
//! how large. [`check_limits`] turns a [`Probe`] into a yes or a sentence saying what is
//! wrong; [`probe_and_check`] does both steps for callers holding the bytes.

use serde::{Deserialize, Serialize};

use crate::probe::{probe, probe_reader, Probe};
use crate::sniff::{MediaFormat, MediaKind};

const MIB: u64 = 1024 * 1024;

/// Limits on user media. Defaults are MODELS.md's "media byte limits" for all models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MediaLimits {
    /// Formats accepted (all nine by default; MD models drop GIF).
    pub allowed_formats: Vec<MediaFormat>,
    /// Smallest image side in pixels (300).
    pub image_min_side: u32,
    /// Largest image side in pixels (6000).
    pub image_max_side: u32,
    /// Smallest width/height ratio (0.4).
    pub image_min_aspect: f64,
    /// Largest width/height ratio (2.5).
    pub image_max_aspect: f64,
    /// Largest image file in bytes (30 MiB).
    pub image_max_bytes: u64,
    /// Shortest video in seconds (2).
    pub video_min_secs: f64,
    /// Longest video in seconds (15).
    pub video_max_secs: f64,
    /// Smallest video side in pixels, when a model requires one (none by default).
    pub video_min_side: Option<u32>,
    /// Largest video side in pixels, when a model requires one (none by default).
    pub video_max_side: Option<u32>,
    /// Largest video file in bytes (50 MiB).
    pub video_max_bytes: u64,
    /// Shortest audio in seconds (2).
    pub audio_min_secs: f64,
    /// Longest audio in seconds (15).
    pub audio_max_secs: f64,
    /// Largest audio file in bytes (15 MiB).
    pub audio_max_bytes: u64,
}

impl Default for MediaLimits {
    fn default() -> MediaLimits {
        MediaLimits {
            allowed_formats: MediaFormat::ALL.to_vec(),
            image_min_side: 300,
            image_max_side: 6000,
            image_min_aspect: 0.4,
            image_max_aspect: 2.5,
            image_max_bytes: 30 * MIB,
            video_min_secs: 2.0,
            video_max_secs: 15.0,
            video_min_side: None,
            video_max_side: None,
            video_max_bytes: 50 * MIB,
            audio_min_secs: 2.0,
            audio_max_secs: 15.0,
            audio_max_bytes: 15 * MIB,
        }
    }
}

impl MediaLimits {
    /// The byte cap for `kind`: pass it to `Fetcher::get` so oversize files stop early.
    pub fn max_bytes(&self, kind: MediaKind) -> u64 {
        match kind {
            MediaKind::Image => self.image_max_bytes,
            MediaKind::Video => self.video_max_bytes,
            MediaKind::Audio => self.audio_max_bytes,
        }
    }

    fn duration_range(&self, kind: MediaKind) -> (f64, f64) {
        match kind {
            MediaKind::Video => (self.video_min_secs, self.video_max_secs),
            _ => (self.audio_min_secs, self.audio_max_secs),
        }
    }
}

/// Checks a probed file against `limits` for a slot expecting `expected`. The error is a
/// sentence for the user, e.g. "image is 200×150 px; each side must be 300–6000 px".
pub fn check_limits(
    expected: MediaKind,
    probe: &Probe,
    limits: &MediaLimits,
) -> Result<(), String> {
    let format = probe.format;
    let kind = format.kind();
    if kind != expected {
        return Err(format!(
            "expected {} but the file is {kind} ({format})",
            expected.with_article()
        ));
    }
    if !limits.allowed_formats.contains(&format) {
        let accepted: Vec<&str> = limits
            .allowed_formats
            .iter()
            .filter(|allowed| allowed.kind() == kind)
            .map(|allowed| allowed.as_str())
            .collect();
        return Err(format!(
            "{format} files are not accepted here; accepted {kind} formats: {}",
            accepted.join(", ")
        ));
    }
    let max_bytes = limits.max_bytes(kind);
    if probe.size_bytes > max_bytes {
        return Err(format!(
            "{kind} is {}; it must be at most {}",
            human_bytes(probe.size_bytes),
            human_bytes(max_bytes)
        ));
    }
    match kind {
        MediaKind::Image => check_image(probe, limits),
        MediaKind::Video => {
            check_duration(kind, probe, limits)?;
            check_video_size(probe, limits)
        }
        MediaKind::Audio => check_duration(kind, probe, limits),
    }
}

fn check_image(probe: &Probe, limits: &MediaLimits) -> Result<(), String> {
    let (Some(width), Some(height)) = (probe.width, probe.height) else {
        return Err("could not read the image's width and height".to_owned());
    };
    let (min, max) = (limits.image_min_side, limits.image_max_side);
    if width < min || height < min || width > max || height > max {
        return Err(format!(
            "image is {width}×{height} px; each side must be {min}–{max} px"
        ));
    }
    let aspect = f64::from(width) / f64::from(height);
    if aspect < limits.image_min_aspect || aspect > limits.image_max_aspect {
        return Err(format!(
            "image is {width}×{height} px (aspect ratio {aspect:.2}); width/height must be {}–{}",
            limits.image_min_aspect, limits.image_max_aspect
        ));
    }
    Ok(())
}

fn check_duration(kind: MediaKind, probe: &Probe, limits: &MediaLimits) -> Result<(), String> {
    let Some(seconds) = probe.duration_secs else {
        return Err(format!("could not read the {kind}'s duration"));
    };
    let (min, max) = limits.duration_range(kind);
    if !seconds.is_finite() || seconds < min || seconds > max {
        return Err(format!(
            "{kind} is {seconds:.2} s long; it must be {min}–{max} s"
        ));
    }
    Ok(())
}

fn check_video_size(probe: &Probe, limits: &MediaLimits) -> Result<(), String> {
    let (Some(width), Some(height)) = (probe.width, probe.height) else {
        return Err(format!(
            "could not find a video track in the {} file",
            probe.format
        ));
    };
    let min = limits.video_min_side.unwrap_or(0);
    let max = limits.video_max_side.unwrap_or(u32::MAX);
    if width < min || height < min || width > max || height > max {
        return Err(format!(
            "video is {width}×{height} px; each side must be {}–{} px",
            min,
            limits
                .video_max_side
                .map_or_else(|| "any".to_owned(), |max| max.to_string())
        ));
    }
    Ok(())
}

/// Probes `bytes` and checks them for a slot expecting `expected`: the one call an asset
/// upload needs. Errors are user-facing sentences ("an HTML document is not an image").
pub fn probe_and_check(
    expected: MediaKind,
    bytes: &[u8],
    limits: &MediaLimits,
) -> Result<Probe, String> {
    let probed = probe(bytes).map_err(|error| error.explain_for(expected))?;
    check_limits(expected, &probed, limits)?;
    Ok(probed)
}

/// [`probe_and_check`] for a file of `len` bytes read through `reader`: only its headers are
/// read (see [`probe_reader`]), so a large file is never held in memory.
pub fn probe_and_check_reader<R: std::io::Read + std::io::Seek>(
    expected: MediaKind,
    reader: &mut R,
    len: u64,
    limits: &MediaLimits,
) -> Result<Probe, String> {
    let probed = probe_reader(reader, len).map_err(|error| error.explain_for(expected))?;
    check_limits(expected, &probed, limits)?;
    Ok(probed)
}

/// "30 MB" for whole mebibytes, "1.5 MB" above one, else "900 KB" or "512 bytes".
pub fn human_bytes(bytes: u64) -> String {
    if bytes >= MIB {
        if bytes % MIB == 0 {
            format!("{} MB", bytes / MIB)
        } else {
            format!("{:.1} MB", bytes as f64 / MIB as f64)
        }
    } else if bytes >= 1024 {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(width: u32, height: u32) -> Probe {
        Probe {
            format: MediaFormat::Png,
            width: Some(width),
            height: Some(height),
            duration_secs: None,
            size_bytes: 1000,
        }
    }

    fn timed(format: MediaFormat, seconds: f64) -> Probe {
        Probe {
            format,
            width: Some(1280),
            height: Some(720),
            duration_secs: Some(seconds),
            size_bytes: 1000,
        }
    }

    #[test]
    fn images_within_limits_pass() {
        let limits = MediaLimits::default();
        for (width, height) in [
            (300, 300),
            (6000, 6000),
            (1000, 400),
            (400, 1000),
            (1920, 1080),
        ] {
            assert_eq!(
                check_limits(MediaKind::Image, &image(width, height), &limits),
                Ok(()),
                "{width}×{height}"
            );
        }
    }

    #[test]
    fn small_large_and_skewed_images_are_refused_with_reasons() {
        let limits = MediaLimits::default();
        assert_eq!(
            check_limits(MediaKind::Image, &image(200, 150), &limits),
            Err("image is 200×150 px; each side must be 300–6000 px".to_owned())
        );
        assert!(check_limits(MediaKind::Image, &image(6001, 3000), &limits).is_err());
        let skewed = check_limits(MediaKind::Image, &image(3000, 1000), &limits);
        assert_eq!(
            skewed,
            Err(
                "image is 3000×1000 px (aspect ratio 3.00); width/height must be 0.4–2.5"
                    .to_owned()
            )
        );
    }

    #[test]
    fn wrong_kind_is_named() {
        let limits = MediaLimits::default();
        assert_eq!(
            check_limits(MediaKind::Image, &timed(MediaFormat::Wav, 5.0), &limits),
            Err("expected an image but the file is audio (wav)".to_owned())
        );
    }

    #[test]
    fn durations_outside_2_to_15_seconds_are_refused() {
        let limits = MediaLimits::default();
        assert_eq!(
            check_limits(MediaKind::Video, &timed(MediaFormat::Mp4, 5.0), &limits),
            Ok(())
        );
        assert_eq!(
            check_limits(MediaKind::Video, &timed(MediaFormat::Mov, 1.5), &limits),
            Err("video is 1.50 s long; it must be 2–15 s".to_owned())
        );
        assert!(check_limits(MediaKind::Audio, &timed(MediaFormat::Mp3, 15.5), &limits).is_err());
        let mut unknown = timed(MediaFormat::Mp4, 5.0);
        unknown.duration_secs = None;
        assert!(check_limits(MediaKind::Video, &unknown, &limits).is_err());
    }

    #[test]
    fn oversize_files_and_disallowed_formats_are_refused() {
        let mut limits = MediaLimits::default();
        let mut big = image(1000, 1000);
        big.size_bytes = 31 * MIB;
        assert_eq!(
            check_limits(MediaKind::Image, &big, &limits),
            Err("image is 31 MB; it must be at most 30 MB".to_owned())
        );
        limits
            .allowed_formats
            .retain(|format| *format != MediaFormat::Gif);
        let mut gif = image(1000, 1000);
        gif.format = MediaFormat::Gif;
        assert_eq!(
            check_limits(MediaKind::Image, &gif, &limits),
            Err(
                "gif files are not accepted here; accepted image formats: jpeg, png, webp, bmp"
                    .to_owned()
            )
        );
    }

    #[test]
    fn a_video_without_a_video_track_is_refused() {
        let mut audio_only = timed(MediaFormat::Mp4, 5.0);
        audio_only.width = None;
        audio_only.height = None;
        assert_eq!(
            check_limits(MediaKind::Video, &audio_only, &MediaLimits::default()),
            Err("could not find a video track in the mp4 file".to_owned())
        );
    }

    #[test]
    fn video_side_limits_apply_when_set() {
        let limits = MediaLimits {
            video_min_side: Some(720),
            video_max_side: Some(2160),
            ..MediaLimits::default()
        };
        let mut small = timed(MediaFormat::Mp4, 5.0);
        small.width = Some(640);
        small.height = Some(360);
        assert_eq!(
            check_limits(MediaKind::Video, &small, &limits),
            Err("video is 640×360 px; each side must be 720–2160 px".to_owned())
        );
    }

    #[test]
    fn byte_sizes_read_naturally() {
        assert_eq!(human_bytes(30 * MIB), "30 MB");
        assert_eq!(human_bytes(3 * MIB / 2), "1.5 MB");
        assert_eq!(human_bytes(2048), "2 KB");
        assert_eq!(human_bytes(12), "12 bytes");
        assert_eq!(MediaLimits::default().max_bytes(MediaKind::Audio), 15 * MIB);
    }
}
