//! A small ISO base media (MP4 / QuickTime MOV) box reader: duration from
//! `moov/mvhd` (or `moov/mvex/mehd` for fragmented files) and frame size from the first
//! video track's `tkhd` (or its `stsd` sample entry when `tkhd` says 0×0).
//!
//! Fragmented files with no total duration are summed by `mp4_fragments`.
//!
//! Only the boxes on those paths are visited, with the shared walker in
//! [`crate::mp4box`]: every size is checked against its parent before slicing, so a lying
//! size is an error, not a panic.

use crate::mp4box::{boxes, find, find_path, u16_be, u32_be, u64_be, version_and_flags};

/// What the movie header and the video track say.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Movie {
    pub(super) duration_secs: Option<f64>,
    pub(super) width: Option<u32>,
    pub(super) height: Option<u32>,
}

pub(super) fn parse(bytes: &[u8]) -> Result<Movie, String> {
    let moov = find(bytes, b"moov")?.ok_or("no movie header (moov box)")?;
    let mvhd = find(moov, b"mvhd")?.ok_or("no movie header (mvhd box)")?;
    let (timescale, mut duration) = read_mvhd(mvhd).ok_or("mvhd box is too short")?;
    if duration == 0 || duration == u64::from(u32::MAX) || duration == u64::MAX {
        // Fragmented files put the total in mvex/mehd, in the same timescale.
        if let Some(mehd) = find_path(moov, &[b"mvex", b"mehd"])? {
            duration = read_full_box_u32_or_u64(mehd, 4).unwrap_or(0);
        }
    }
    let mut duration_secs = (timescale > 0 && duration > 0 && duration != u64::MAX)
        .then(|| duration as f64 / f64::from(timescale));
    if duration_secs.is_none() && find(moov, b"mvex")?.is_some() {
        // Fragmented with no total anywhere: add up the fragments.
        duration_secs = super::mp4_fragments::duration_secs(bytes, moov)?;
    }
    let mut movie = Movie {
        duration_secs,
        ..Movie::default()
    };
    for item in boxes(moov) {
        let item = item?;
        if &item.kind != b"trak" {
            continue;
        }
        if let Some((width, height)) = video_track_size(item.body)? {
            movie.width = Some(width);
            movie.height = Some(height);
            break;
        }
    }
    Ok(movie)
}

/// (timescale, duration) from an mvhd body (a full box: version, flags, then fields).
fn read_mvhd(mvhd: &[u8]) -> Option<(u32, u64)> {
    match version_and_flags(mvhd)?.0 {
        1 => Some((u32_be(mvhd, 20)?, u64_be(mvhd, 24)?)),
        _ => Some((u32_be(mvhd, 12)?, u64::from(u32_be(mvhd, 16)?))),
    }
}

/// A field that is 32-bit in version 0 and 64-bit in version 1 of a full box.
fn read_full_box_u32_or_u64(body: &[u8], at: usize) -> Option<u64> {
    match version_and_flags(body)?.0 {
        1 => u64_be(body, at),
        _ => u32_be(body, at).map(u64::from),
    }
}

/// The frame size of a `vide` track, or `None` for other tracks.
fn video_track_size(trak: &[u8]) -> Result<Option<(u32, u32)>, String> {
    let handler = find_path(trak, &[b"mdia", b"hdlr"])?.and_then(|hdlr| hdlr.get(8..12));
    if handler != Some(b"vide") {
        return Ok(None);
    }
    if let Some(tkhd) = find(trak, b"tkhd")? {
        // Width and height are 16.16 fixed point, the last 8 bytes of tkhd.
        let at = if tkhd.first() == Some(&1) { 88 } else { 76 };
        if let (Some(width), Some(height)) = (u32_be(tkhd, at), u32_be(tkhd, at + 4)) {
            let (width, height) = (width >> 16, height >> 16);
            if width > 0 && height > 0 {
                return Ok(Some((width, height)));
            }
        }
    }
    // Fall back to the first visual sample entry: version/flags, entry count, then an
    // entry box whose body has 24 bytes of fields before width and height.
    let stsd = find_path(trak, &[b"mdia", b"minf", b"stbl", b"stsd"])?;
    let entry = stsd.and_then(|stsd| stsd.get(8..));
    let size = entry.and_then(|entry| Some((u16_be(entry, 32)?, u16_be(entry, 34)?)));
    Ok(size
        .filter(|(width, height)| *width > 0 && *height > 0)
        .map(|(width, height)| (u32::from(width), u32::from(height))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp4box::mp4_box;

    fn mvhd_v1(timescale: u32, duration: u64) -> Vec<u8> {
        let mut body = vec![1, 0, 0, 0];
        body.extend_from_slice(&[0; 16]);
        body.extend_from_slice(&timescale.to_be_bytes());
        body.extend_from_slice(&duration.to_be_bytes());
        body.extend_from_slice(&[0; 80]);
        mp4_box(b"mvhd", &body)
    }

    #[test]
    fn version_1_mvhd_and_64_bit_box_sizes_are_read() {
        let moov = mp4_box(b"moov", &mvhd_v1(1000, 7_500));
        // A 64-bit sized free box before the moov.
        let mut file = 1u32.to_be_bytes().to_vec();
        file.extend_from_slice(b"free");
        file.extend_from_slice(&20u64.to_be_bytes());
        file.extend_from_slice(&[0; 4]);
        file.extend_from_slice(&moov);
        let movie = parse(&file).expect("parses");
        assert_eq!(movie.duration_secs, Some(7.5));
        assert_eq!(movie.width, None);
    }

    #[test]
    fn a_box_larger_than_its_parent_is_an_error() {
        let mut file = 1000u32.to_be_bytes().to_vec();
        file.extend_from_slice(b"moov");
        file.extend_from_slice(&[0; 16]);
        assert!(parse(&file).is_err());
        let mut tiny = 3u32.to_be_bytes().to_vec();
        tiny.extend_from_slice(b"moov");
        assert!(parse(&tiny).is_err());
    }

    #[test]
    fn a_file_without_moov_is_an_error() {
        let file = mp4_box(b"ftyp", b"isom\0\0\0\0");
        assert_eq!(
            parse(&file).err().as_deref(),
            Some("no movie header (moov box)")
        );
    }
}
