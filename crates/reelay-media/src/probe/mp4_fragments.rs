//! Duration of a fragmented MP4 (`moov` with `mvex`, samples in `moof` boxes) that has
//! no total in `mvhd` or `mehd`, as written by live encoders and `empty_moov` muxers: add
//! up every `trun`'s sample durations per track (per-sample values, else the `tfhd`
//! default, else the `trex` default) and divide by that track's `mdhd` timescale.

use std::collections::HashMap;

use crate::mp4box::{boxes, find, find_path, u32_be, version_and_flags};

const TFHD_BASE_DATA_OFFSET: u32 = 0x01;
const TFHD_SAMPLE_DESCRIPTION_INDEX: u32 = 0x02;
const TFHD_DEFAULT_SAMPLE_DURATION: u32 = 0x08;
const TRUN_DATA_OFFSET: u32 = 0x01;
const TRUN_FIRST_SAMPLE_FLAGS: u32 = 0x04;
const TRUN_SAMPLE_DURATION: u32 = 0x100;
/// The four optional per-sample fields (duration, size, flags, composition offset).
const TRUN_SAMPLE_FIELDS: [u32; 4] = [0x100, 0x200, 0x400, 0x800];

/// Per track: timescale, default sample duration, and ticks counted so far.
#[derive(Default)]
struct Track {
    timescale: u32,
    default_duration: u32,
    ticks: u64,
}

/// The longest track's duration in seconds, or `None` when no fragment says anything.
pub(super) fn duration_secs(file: &[u8], moov: &[u8]) -> Result<Option<f64>, String> {
    let mut tracks = read_tracks(moov)?;
    for item in boxes(file) {
        let item = item?;
        if &item.kind != b"moof" {
            continue;
        }
        for traf in boxes(item.body) {
            let traf = traf?;
            if &traf.kind == b"traf" {
                add_traf(traf.body, &mut tracks)?;
            }
        }
    }
    Ok(tracks
        .values()
        .filter(|track| track.timescale > 0 && track.ticks > 0)
        .map(|track| track.ticks as f64 / f64::from(track.timescale))
        .fold(None, |longest: Option<f64>, seconds| {
            Some(longest.map_or(seconds, |longest| longest.max(seconds)))
        }))
}

fn read_tracks(moov: &[u8]) -> Result<HashMap<u32, Track>, String> {
    let mut tracks = HashMap::new();
    for item in boxes(moov) {
        let item = item?;
        if &item.kind != b"trak" {
            continue;
        }
        // A track without its headers cannot be timed: skip it.
        let (Some(tkhd), Some(mdhd)) = (
            find(item.body, b"tkhd")?,
            find_path(item.body, &[b"mdia", b"mdhd"])?,
        ) else {
            continue;
        };
        let id_at = if tkhd.first() == Some(&1) { 20 } else { 12 };
        let timescale_at = if mdhd.first() == Some(&1) { 20 } else { 12 };
        let (Some(id), Some(timescale)) = (u32_be(tkhd, id_at), u32_be(mdhd, timescale_at)) else {
            continue;
        };
        tracks.insert(
            id,
            Track {
                timescale,
                ..Track::default()
            },
        );
    }
    if let Some(mvex) = find(moov, b"mvex")? {
        for item in boxes(mvex) {
            let item = item?;
            if &item.kind != b"trex" {
                continue;
            }
            let id = u32_be(item.body, 4).ok_or("trex box is too short")?;
            let duration = u32_be(item.body, 12).ok_or("trex box is too short")?;
            if let Some(track) = tracks.get_mut(&id) {
                track.default_duration = duration;
            }
        }
    }
    Ok(tracks)
}

fn add_traf(traf: &[u8], tracks: &mut HashMap<u32, Track>) -> Result<(), String> {
    let tfhd = find(traf, b"tfhd")?.ok_or("track fragment without tfhd")?;
    let (_, flags) = version_and_flags(tfhd).ok_or("tfhd box is too short")?;
    let id = u32_be(tfhd, 4).ok_or("tfhd box is too short")?;
    let Some(track) = tracks.get_mut(&id) else {
        return Ok(());
    };
    let mut at = 8;
    if flags & TFHD_BASE_DATA_OFFSET != 0 {
        at += 8;
    }
    if flags & TFHD_SAMPLE_DESCRIPTION_INDEX != 0 {
        at += 4;
    }
    let default_duration = if flags & TFHD_DEFAULT_SAMPLE_DURATION != 0 {
        u32_be(tfhd, at).ok_or("tfhd box is too short")?
    } else {
        track.default_duration
    };
    for item in boxes(traf) {
        let item = item?;
        if &item.kind == b"trun" {
            let ticks = trun_ticks(item.body, default_duration)?;
            track.ticks = track.ticks.saturating_add(ticks);
        }
    }
    Ok(())
}

fn trun_ticks(trun: &[u8], default_duration: u32) -> Result<u64, String> {
    let (_, flags) = version_and_flags(trun).ok_or("trun box is too short")?;
    let count = u32_be(trun, 4).ok_or("trun box is too short")?;
    let mut at = 8usize;
    if flags & TRUN_DATA_OFFSET != 0 {
        at += 4;
    }
    if flags & TRUN_FIRST_SAMPLE_FLAGS != 0 {
        at += 4;
    }
    let stride = 4 * TRUN_SAMPLE_FIELDS
        .iter()
        .filter(|field| flags & **field != 0)
        .count();
    let needed = (count as usize)
        .checked_mul(stride)
        .and_then(|bytes| bytes.checked_add(at))
        .filter(|needed| *needed <= trun.len())
        .ok_or("trun box lists more samples than it holds")?;
    if flags & TRUN_SAMPLE_DURATION == 0 {
        return Ok(u64::from(count) * u64::from(default_duration));
    }
    let mut ticks = 0u64;
    while at < needed {
        ticks += u64::from(u32_be(trun, at).ok_or("trun box is too short")?);
        at += stride;
    }
    Ok(ticks)
}
