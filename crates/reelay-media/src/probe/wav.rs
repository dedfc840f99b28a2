//! WAV duration from the RIFF chunks: the `fmt ` chunk's byte rate and the `data`
//! chunk's length. A `data` size larger than the file (streamed or truncated writers
//! leave 0xFFFFFFFF) counts only the bytes present.

use std::io::{Read, Seek};

use super::file::{read_at, Failure};
use super::{u16_le, u32_le};

pub(super) fn duration_secs(bytes: &[u8]) -> Result<f64, String> {
    let mut byte_rate = None;
    let mut data_len = None;
    let mut position = 12usize;
    while let Some(size) = u32_le(bytes, position + 4) {
        let id = &bytes[position..position + 4];
        let body_start = position + 8;
        let available = bytes.len() - body_start;
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        match id {
            b"fmt " => byte_rate = Some(read_byte_rate(&bytes[body_start..])?),
            b"data" => data_len = Some(size.min(available)),
            _ => {}
        }
        if byte_rate.is_some() && data_len.is_some() {
            break;
        }
        // Chunks are padded to an even length.
        let padded = size.saturating_add(size & 1);
        position = match body_start.checked_add(padded) {
            Some(next) if next <= bytes.len() => next,
            _ => break,
        };
    }
    let byte_rate = byte_rate.ok_or("no fmt chunk")?;
    let data_len = data_len.ok_or("no data chunk")?;
    Ok(data_len as f64 / f64::from(byte_rate))
}

/// The same walk over a file of `len` bytes, reading each chunk header with a seek.
pub(super) fn duration_secs_from<R: Read + Seek>(reader: &mut R, len: u64) -> Result<f64, Failure> {
    let mut byte_rate = None;
    let mut data_len = None;
    let mut position = 12u64;
    loop {
        let header = read_at(reader, position, 8)?;
        let Some(size) = u32_le(&header, 4) else {
            break;
        };
        let body_start = position + 8;
        let available = len - body_start;
        let size = u64::from(size);
        match &header[..4] {
            b"fmt " => {
                let body = read_at(reader, body_start, size.min(64))?;
                byte_rate = Some(read_byte_rate(&body).map_err(Failure::Malformed)?);
            }
            b"data" => data_len = Some(size.min(available)),
            _ => {}
        }
        if byte_rate.is_some() && data_len.is_some() {
            break;
        }
        let padded = size.saturating_add(size & 1);
        position = match body_start.checked_add(padded) {
            Some(next) if next <= len => next,
            _ => break,
        };
    }
    let byte_rate = byte_rate.ok_or("no fmt chunk")?;
    let data_len = data_len.ok_or("no data chunk")?;
    Ok(data_len as f64 / f64::from(byte_rate))
}

/// Bytes per second from a `fmt ` chunk body, recomputed from the sample rate and block
/// alignment when the stored value is 0.
fn read_byte_rate(fmt: &[u8]) -> Result<u32, String> {
    let channels = u16_le(fmt, 2).ok_or("fmt chunk is too short")?;
    let sample_rate = u32_le(fmt, 4).ok_or("fmt chunk is too short")?;
    let byte_rate = u32_le(fmt, 8).ok_or("fmt chunk is too short")?;
    let block_align = u16_le(fmt, 12).ok_or("fmt chunk is too short")?;
    if channels == 0 || sample_rate == 0 {
        return Err(format!(
            "fmt chunk says {channels} channels at {sample_rate} Hz"
        ));
    }
    let rate = if byte_rate > 0 {
        byte_rate
    } else {
        sample_rate.saturating_mul(u32::from(block_align))
    };
    if rate == 0 {
        return Err("fmt chunk gives no byte rate".to_owned());
    }
    Ok(rate)
}
