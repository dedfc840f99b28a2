//! MP3 duration without decoding: skip ID3v2 tags, find the first MPEG audio layer III
//! frame, then read the frame count from a Xing/Info or VBRI header when the encoder wrote
//! one, else walk the frames and add up their samples.

use std::io::{Read, Seek, SeekFrom};

use super::file::{read_at, Failure};
use super::{u16_be, u32_be};

/// Kilobits per second by bitrate index, for MPEG-1 and for MPEG-2/2.5 layer III.
const BITRATES_V1: [u32; 15] = [
    0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
];
const BITRATES_V2: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];

/// How far past the tags to look for the first frame.
const SYNC_SEARCH_BYTES: usize = 64 * 1024;

/// One parsed layer III frame header.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct FrameHeader {
    mpeg1: bool,
    mono: bool,
    sample_rate: u32,
    frame_len: usize,
    samples: u32,
}

/// Parses the 4-byte header at the start of `bytes`, if it is a valid layer III frame.
pub(crate) fn parse_header(bytes: &[u8]) -> Option<FrameHeader> {
    let header = u32_be(bytes, 0)?;
    if header >> 21 != 0x7FF {
        return None;
    }
    let version = (header >> 19) & 0b11; // 00 = 2.5, 01 reserved, 10 = 2, 11 = 1
    let layer = (header >> 17) & 0b11; // 01 = layer III
    let bitrate_index = ((header >> 12) & 0b1111) as usize;
    let rate_index = ((header >> 10) & 0b11) as usize;
    let padding = (header >> 9) & 1;
    let mono = (header >> 6) & 0b11 == 0b11;
    if version == 0b01 || layer != 0b01 || bitrate_index == 0 || bitrate_index == 15 {
        return None;
    }
    let base_rate = [44_100, 48_000, 32_000].get(rate_index)?;
    let mpeg1 = version == 0b11;
    let (sample_rate, kbps, samples, coefficient) = match version {
        0b11 => (*base_rate, BITRATES_V1[bitrate_index], 1152, 144),
        0b10 => (base_rate / 2, BITRATES_V2[bitrate_index], 576, 72),
        _ => (base_rate / 4, BITRATES_V2[bitrate_index], 576, 72),
    };
    let frame_len = (coefficient * kbps * 1000 / sample_rate + padding) as usize;
    Some(FrameHeader {
        mpeg1,
        mono,
        sample_rate,
        frame_len,
        samples,
    })
}

/// True when `bytes` starts with a frame whose successor (if present) is a frame too:
/// a lone sync word is too weak a signal to call a file MP3.
pub(crate) fn starts_with_frame(bytes: &[u8]) -> bool {
    match parse_header(bytes) {
        Some(frame) if bytes.len() >= frame.frame_len + 4 => {
            parse_header(&bytes[frame.frame_len..]).is_some()
        }
        Some(_) => bytes.len() >= 4,
        None => false,
    }
}

/// The total length of the ID3v2 tags at the start of `bytes`.
fn id3_tags_len(bytes: &[u8]) -> usize {
    let mut position = 0usize;
    while bytes.get(position..position + 3) == Some(b"ID3") {
        let Some(size_bytes) = bytes.get(position + 6..position + 10) else {
            return bytes.len();
        };
        let size = size_bytes
            .iter()
            .fold(0usize, |size, byte| (size << 7) | usize::from(byte & 0x7F));
        let footer = match bytes.get(position + 5) {
            Some(flags) if flags & 0x10 != 0 => 10,
            _ => 0,
        };
        position = position.saturating_add(10 + size + footer);
    }
    position.min(bytes.len())
}

/// The offset of the first frame after the tags.
fn first_frame(bytes: &[u8]) -> Option<usize> {
    let start = id3_tags_len(bytes);
    let end = bytes.len().min(start.saturating_add(SYNC_SEARCH_BYTES));
    (start..end).find(|at| starts_with_frame(&bytes[*at..]))
}

pub(super) fn duration_secs(bytes: &[u8]) -> Result<f64, String> {
    let start = first_frame(bytes).ok_or("no MPEG audio frames found")?;
    let frame = parse_header(&bytes[start..]).ok_or("no MPEG audio frames found")?;
    if let Some(frames) = vbr_frame_count(&bytes[start..], &frame) {
        return Ok(f64::from(frames) * f64::from(frame.samples) / f64::from(frame.sample_rate));
    }
    let mut position = start;
    let mut seconds = 0.0;
    while let Some(header) = bytes.get(position..).and_then(parse_header) {
        if position + header.frame_len > bytes.len() {
            break;
        }
        seconds += f64::from(header.samples) / f64::from(header.sample_rate);
        position += header.frame_len;
    }
    Ok(seconds)
}

/// The same count over a file of `len` bytes: the tags are skipped with seeks, the first
/// frame is looked for in a window after them, and the frames are walked header by header.
pub(super) fn duration_secs_from<R: Read + Seek>(reader: &mut R, len: u64) -> Result<f64, Failure> {
    // The ID3v2 tags, header by header.
    let mut tags_end = 0u64;
    loop {
        let header = read_at(reader, tags_end, 10)?;
        if header.get(..3) != Some(b"ID3") {
            break;
        }
        if header.len() < 10 {
            tags_end = len;
            break;
        }
        let size = header[6..10]
            .iter()
            .fold(0u64, |size, byte| (size << 7) | u64::from(byte & 0x7F));
        let footer = if header[5] & 0x10 != 0 { 10 } else { 0 };
        tags_end = tags_end.saturating_add(10 + size + footer);
    }
    let tags_end = tags_end.min(len);
    // The search window, with room for two whole frames after its last start.
    let window = read_at(reader, tags_end, SYNC_SEARCH_BYTES as u64 + 2 * 2881 + 4)?;
    let end = window.len().min(SYNC_SEARCH_BYTES);
    let offset = (0..end)
        .find(|at| starts_with_frame(&window[*at..]))
        .ok_or("no MPEG audio frames found")?;
    let frame = parse_header(&window[offset..]).ok_or("no MPEG audio frames found")?;
    if let Some(frames) = vbr_frame_count(&window[offset..], &frame) {
        return Ok(f64::from(frames) * f64::from(frame.samples) / f64::from(frame.sample_rate));
    }
    let mut position = tags_end + offset as u64;
    let mut seconds = 0.0;
    let mut header = [0u8; 4];
    reader.seek(SeekFrom::Start(position))?;
    while position + 4 <= len {
        reader.read_exact(&mut header)?;
        let Some(frame) = parse_header(&header) else {
            break;
        };
        if position + frame.frame_len as u64 > len {
            break;
        }
        seconds += f64::from(frame.samples) / f64::from(frame.sample_rate);
        position += frame.frame_len as u64;
        reader.seek_relative(frame.frame_len as i64 - 4)?;
    }
    Ok(seconds)
}

/// The frame count from a Xing/Info or VBRI header in the first frame, if any.
fn vbr_frame_count(frame_bytes: &[u8], frame: &FrameHeader) -> Option<u32> {
    let side_info = match (frame.mpeg1, frame.mono) {
        (true, false) => 32,
        (true, true) => 17,
        (false, false) => 17,
        (false, true) => 9,
    };
    let xing = 4 + side_info;
    let tag = frame_bytes.get(xing..xing + 4)?;
    if tag == b"Xing" || tag == b"Info" {
        let flags = u32_be(frame_bytes, xing + 4)?;
        return (flags & 1 == 1)
            .then(|| u32_be(frame_bytes, xing + 8))
            .flatten()
            .filter(|frames| *frames > 0);
    }
    if frame_bytes.get(36..40) == Some(b"VBRI") && u16_be(frame_bytes, 40).is_some() {
        return u32_be(frame_bytes, 36 + 14).filter(|frames| *frames > 0);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpeg1_128k_header_parses() {
        let header = parse_header(&[0xFF, 0xFB, 0x90, 0x00]).expect("valid");
        assert_eq!(header.sample_rate, 44_100);
        assert_eq!(header.frame_len, 417);
        assert_eq!(header.samples, 1152);
        let padded = parse_header(&[0xFF, 0xFB, 0x92, 0x00]).expect("valid");
        assert_eq!(padded.frame_len, 418);
    }

    #[test]
    fn bad_headers_are_refused() {
        for bytes in [
            [0xFF, 0xFB, 0xF0, 0x00], // bitrate index 15
            [0xFF, 0xFB, 0x00, 0x00], // free format
            [0xFF, 0xFB, 0x9C, 0x00], // sample rate index 3
            [0xFF, 0xEB, 0x90, 0x00], // reserved version
            [0xFF, 0xFD, 0x90, 0x00], // layer II
            [0xFF, 0xD8, 0xFF, 0xE0], // JPEG
        ] {
            assert_eq!(parse_header(&bytes), None, "{bytes:02x?}");
        }
    }

    #[test]
    fn id3_tags_are_skipped() {
        let mut bytes = b"ID3\x04\x00\x00\x00\x00\x01\x00".to_vec(); // size 128
        bytes.extend_from_slice(&[0; 128]);
        assert_eq!(id3_tags_len(&bytes), 138);
        assert_eq!(id3_tags_len(b"ID3\x04\x00"), 5);
    }
}
