//! Reference audio → the output's audio track, trimmed or padded to the clip's duration.
//!
//! - **MP3** is passed through frame by frame (MP3 in MP4, `mp4a` object type 0x6B/0x69, plays
//!   in browsers). Trimming drops whole frames past the end and an edit list cuts the track to the
//!   exact duration; padding appends silent frames (a header and all-zero side info, which every
//!   decoder renders as silence).
//! - **WAV** (PCM 8/16/24-bit or 32-bit float, any rate, up to 8 channels) is trimmed or padded
//!   with silence to the exact sample count and stored as FLAC (lossless, `fLaC` sample entry,
//!   plays in current browsers). The FLAC frames are "verbatim" subframes: no prediction, so the
//!   encoder stays tiny and exact, at the cost of WAV-like size.

use crate::mux::{AudioCodec, AudioFrame, AudioTrack};

/// FLAC block size (samples per channel per frame).
const FLAC_BLOCK: usize = 4096;

/// Builds the audio track for `seconds` of output from one reference audio file.
pub fn prepare(bytes: &[u8], seconds: u32) -> Result<AudioTrack, String> {
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WAVE") {
        return wav_to_flac(bytes, seconds);
    }
    mp3(bytes, seconds)
}

/// One parsed MP3 frame header.
#[derive(Clone, Copy, Debug)]
struct Mp3Header {
    mpeg1: bool,
    sample_rate: u32,
    channels: u16,
    samples: u32,
    length: usize,
}

fn mp3_header(b: &[u8]) -> Option<Mp3Header> {
    if b.len() < 4 || b[0] != 0xff || b[1] & 0xe0 != 0xe0 {
        return None;
    }
    let version = (b[1] >> 3) & 3; // 0 = 2.5, 2 = 2, 3 = 1
    let layer = (b[1] >> 1) & 3; // 1 = layer III
    let bitrate_index = usize::from(b[2] >> 4);
    let rate_index = usize::from((b[2] >> 2) & 3);
    if version == 1 || layer != 1 || bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
        return None;
    }
    let mpeg1 = version == 3;
    const V1: [u32; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const V2: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    let bitrate = if mpeg1 {
        V1[bitrate_index]
    } else {
        V2[bitrate_index]
    } * 1000;
    let base_rate = [44_100, 48_000, 32_000][rate_index];
    let sample_rate = match version {
        3 => base_rate,
        2 => base_rate / 2,
        _ => base_rate / 4,
    };
    let padding = usize::from((b[2] >> 1) & 1);
    let per_frame = if mpeg1 { 144 } else { 72 };
    let length = (per_frame * bitrate / sample_rate) as usize + padding;
    let channels = if b[3] >> 6 == 3 { 1 } else { 2 };
    Some(Mp3Header {
        mpeg1,
        sample_rate,
        channels,
        samples: if mpeg1 { 1152 } else { 576 },
        length,
    })
}

/// Skips a leading ID3v2 tag.
fn skip_id3(bytes: &[u8]) -> usize {
    if bytes.len() >= 10 && bytes.starts_with(b"ID3") {
        let size = bytes[6..10]
            .iter()
            .fold(0usize, |acc, &b| (acc << 7) | usize::from(b & 0x7f));
        let footer = if bytes[5] & 0x10 != 0 { 10 } else { 0 };
        return (10 + size + footer).min(bytes.len());
    }
    0
}

fn mp3(bytes: &[u8], seconds: u32) -> Result<AudioTrack, String> {
    let mut at = skip_id3(bytes);
    let mut frames: Vec<(usize, Mp3Header)> = Vec::new();
    while at + 4 <= bytes.len() {
        let Some(header) = mp3_header(&bytes[at..]) else {
            at += 1;
            continue;
        };
        if at + header.length > bytes.len() {
            break;
        }
        // The first frame must be confirmed by a second one right after it (no false syncs).
        let next = at + header.length;
        if frames.is_empty() && next + 4 <= bytes.len() && mp3_header(&bytes[next..]).is_none() {
            at += 1;
            continue;
        }
        if let Some((_, first)) = frames.first() {
            if header.sample_rate != first.sample_rate || header.mpeg1 != first.mpeg1 {
                at += 1;
                continue;
            }
        }
        frames.push((at, header));
        at = next;
    }
    let Some(&(first_at, first)) = frames.first() else {
        return Err("not a WAV or MP3 file (no MPEG audio layer III frames found)".to_string());
    };
    let target = u64::from(seconds) * u64::from(first.sample_rate);
    let mut out = Vec::new();
    let mut total = 0u64;
    for &(offset, header) in &frames {
        if total >= target {
            break;
        }
        out.push(AudioFrame {
            data: bytes[offset..offset + header.length].to_vec(),
            samples: header.samples,
        });
        total += u64::from(header.samples);
    }
    if total < target {
        let silent = silent_mp3_frame(&bytes[first_at..first_at + 4])
            .ok_or("cannot build a silent MP3 frame")?;
        while total < target {
            out.push(AudioFrame {
                data: silent.clone(),
                samples: first.samples,
            });
            total += u64::from(first.samples);
        }
    }
    Ok(AudioTrack {
        codec: AudioCodec::Mp3 {
            object_type: if first.mpeg1 { 0x6b } else { 0x69 },
        },
        sample_rate: first.sample_rate,
        channels: first.channels,
        sample_size: 16,
        frames: out,
        play_samples: target,
    })
}

/// A silent frame with the same format as `header`: no CRC, no padding, zero side info and data.
fn silent_mp3_frame(header: &[u8]) -> Option<Vec<u8>> {
    let bytes = [header[0], header[1] | 0x01, header[2] & !0x02, header[3]];
    let parsed = mp3_header(&bytes)?;
    let mut frame = vec![0u8; parsed.length];
    frame[..4].copy_from_slice(&bytes);
    Some(frame)
}

/// PCM samples from a WAV file, interleaved, with their layout.
struct Pcm {
    sample_rate: u32,
    channels: u16,
    bits: u16,
    samples: Vec<i32>,
}

fn le(bytes: &[u8], at: usize, len: usize) -> Result<u32, String> {
    let slice = bytes.get(at..at + len).ok_or("truncated WAV file")?;
    Ok(slice
        .iter()
        .rev()
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
}

fn parse_wav(bytes: &[u8]) -> Result<Pcm, String> {
    let mut at = 12;
    let mut format = None;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = le(bytes, at + 4, 4)? as usize;
        let body = &bytes[at + 8..(at + 8).saturating_add(size).min(bytes.len())];
        if id == b"fmt " {
            let mut tag = le(body, 0, 2)?;
            if tag == 0xfffe {
                tag = le(body, 24, 2)?;
            }
            format = Some((
                tag,
                le(body, 2, 2)? as u16,
                le(body, 4, 4)?,
                le(body, 14, 2)? as u16,
            ));
        } else if id == b"data" {
            let (tag, channels, sample_rate, bits) = format.ok_or("WAV data before its format")?;
            if channels == 0 || channels > 8 || sample_rate == 0 || sample_rate > 655_350 {
                return Err(format!(
                    "unsupported WAV layout: {channels} channels at {sample_rate} Hz"
                ));
            }
            return decode_pcm(body, tag, channels, sample_rate, bits);
        }
        at = at + 8 + size + (size & 1);
    }
    Err("WAV file has no data chunk".to_string())
}

fn decode_pcm(
    data: &[u8],
    tag: u32,
    channels: u16,
    sample_rate: u32,
    bits: u16,
) -> Result<Pcm, String> {
    let (samples, out_bits): (Vec<i32>, u16) = match (tag, bits) {
        (1, 8) => (data.iter().map(|&b| i32::from(b) - 128).collect(), 8),
        (1, 16) => (data.chunks_exact(2).map(|c| i32::from(i16::from_le_bytes([c[0], c[1]]))).collect(), 16),
        (1, 24) => (data.chunks_exact(3).map(|c| i32::from_le_bytes([0, c[0], c[1], c[2]]) >> 8).collect(), 24),
        (3, 32) => (
            data.chunks_exact(4)
                .map(|c| (f32::from_le_bytes([c[0], c[1], c[2], c[3]]).clamp(-1.0, 1.0) * 32767.0).round() as i32)
                .collect(),
            16,
        ),
        _ => return Err(format!("unsupported WAV encoding (format {tag}, {bits} bits); use 8/16/24-bit PCM or 32-bit float")),
    };
    Ok(Pcm {
        sample_rate,
        channels,
        bits: out_bits,
        samples,
    })
}

fn wav_to_flac(bytes: &[u8], seconds: u32) -> Result<AudioTrack, String> {
    let mut pcm = parse_wav(bytes)?;
    let channels = usize::from(pcm.channels);
    let total = u64::from(seconds) * u64::from(pcm.sample_rate);
    pcm.samples
        .truncate(pcm.samples.len() / channels * channels);
    pcm.samples.resize(total as usize * channels, 0);
    let bytes_per_sample = usize::from(pcm.bits / 8);
    let mut frames = Vec::new();
    for (number, block) in pcm.samples.chunks(FLAC_BLOCK * channels).enumerate() {
        let block_len = block.len() / channels;
        frames.push(AudioFrame {
            data: flac_frame(number as u64, block, channels, block_len, bytes_per_sample),
            samples: block_len as u32,
        });
    }
    Ok(AudioTrack {
        codec: AudioCodec::Flac {
            streaminfo: streaminfo(pcm.sample_rate, pcm.channels, pcm.bits, total),
        },
        sample_rate: pcm.sample_rate,
        channels: pcm.channels,
        sample_size: pcm.bits,
        frames,
        play_samples: total,
    })
}

/// The 34-byte FLAC STREAMINFO body.
fn streaminfo(sample_rate: u32, channels: u16, bits: u16, total: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(34);
    out.extend_from_slice(&(FLAC_BLOCK as u16).to_be_bytes());
    out.extend_from_slice(&(FLAC_BLOCK as u16).to_be_bytes());
    out.extend_from_slice(&[0; 6]); // min/max frame size unknown
    let packed = (u64::from(sample_rate) << 44)
        | (u64::from(channels - 1) << 41)
        | (u64::from(bits - 1) << 36)
        | (total & 0xf_ffff_ffff);
    out.extend_from_slice(&packed.to_be_bytes());
    out.extend_from_slice(&[0; 16]); // MD5 unknown
    out
}

/// One FLAC frame with verbatim subframes (everything stays byte-aligned for 8/16/24-bit).
fn flac_frame(
    number: u64,
    block: &[i32],
    channels: usize,
    block_len: usize,
    bytes_per_sample: usize,
) -> Vec<u8> {
    let mut out = vec![0xff, 0xf8, 0x70, ((channels as u8 - 1) << 4)];
    utf8_number(number, &mut out);
    out.extend_from_slice(&((block_len - 1) as u16).to_be_bytes());
    out.push(crc8(&out));
    for channel in 0..channels {
        out.push(0x02); // verbatim subframe, no wasted bits
        for frame in 0..block_len {
            let sample = block[frame * channels + channel];
            out.extend_from_slice(&sample.to_be_bytes()[4 - bytes_per_sample..]);
        }
    }
    let crc = crc16(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// FLAC's UTF-8-like variable-length number coding.
fn utf8_number(value: u64, out: &mut Vec<u8>) {
    if value < 0x80 {
        out.push(value as u8);
        return;
    }
    let bits = 64 - value.leading_zeros() as usize;
    let mut extra = 1;
    while bits > 6 * extra + (6 - extra) {
        extra += 1;
    }
    let lead_marker = !(0xffu8 >> (extra + 1));
    out.push(lead_marker | (value >> (6 * extra)) as u8);
    for i in (0..extra).rev() {
        out.push(0x80 | ((value >> (6 * i)) & 0x3f) as u8);
    }
}

fn crc8(data: &[u8]) -> u8 {
    data.iter().fold(0u8, |mut crc, &byte| {
        crc ^= byte;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x07
            } else {
                crc << 1
            };
        }
        crc
    })
}

fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |mut crc, &byte| {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x8005
            } else {
                crc << 1
            };
        }
        crc
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WAV file of `frames` 16-bit stereo samples at 8 kHz.
    pub fn wav(frames: usize) -> Vec<u8> {
        let data_len = frames * 4;
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(36 + data_len as u32).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        for v in [1u16, 2] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&8000u32.to_le_bytes());
        out.extend_from_slice(&32000u32.to_le_bytes());
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(data_len as u32).to_le_bytes());
        for i in 0..frames * 2 {
            out.extend_from_slice(&(((i * 37) % 2000) as i16 - 1000).to_le_bytes());
        }
        out
    }

    #[test]
    fn wav_is_padded_to_the_exact_duration_as_flac() {
        let track = prepare(&wav(3000), 2).expect("wav");
        assert_eq!(track.play_samples, 16_000);
        assert_eq!(
            track
                .frames
                .iter()
                .map(|f| u64::from(f.samples))
                .sum::<u64>(),
            16_000
        );
        assert_eq!(&track.frames[0].data[..2], &[0xff, 0xf8]);
    }

    #[test]
    fn wav_is_trimmed_to_the_exact_duration() {
        let track = prepare(&wav(40_000), 1).expect("wav");
        assert_eq!(
            track
                .frames
                .iter()
                .map(|f| u64::from(f.samples))
                .sum::<u64>(),
            8000
        );
    }

    #[test]
    fn mp3_frames_are_found_trimmed_and_padded() {
        // MPEG-1 layer III, 128 kbit/s, 44.1 kHz, stereo: 417-byte frames.
        let header = [0xff, 0xfb, 0x90, 0x00];
        let mut frame = vec![0u8; 417];
        frame[..4].copy_from_slice(&header);
        let file: Vec<u8> = frame.repeat(10);
        let padded = prepare(&file, 1).expect("mp3");
        assert_eq!(padded.frames.len(), 39); // 39 * 1152 >= 44100
        assert_eq!(padded.codec, AudioCodec::Mp3 { object_type: 0x6b });
        let trimmed = prepare(&frame.repeat(100), 1).expect("mp3");
        assert_eq!(trimmed.frames.len(), 39);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(prepare(b"hello world, not audio", 1).is_err());
        assert!(prepare(b"RIFF\0\0\0\0WAVE", 1).is_err());
    }

    #[test]
    fn utf8_numbers_match_the_flac_coding() {
        let mut out = Vec::new();
        utf8_number(0x7f, &mut out);
        utf8_number(0x80, &mut out);
        utf8_number(0x800, &mut out);
        assert_eq!(out, vec![0x7f, 0xc2, 0x80, 0xe0, 0xa0, 0x80]);
    }
}
