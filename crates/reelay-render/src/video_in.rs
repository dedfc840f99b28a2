//! Reference videos: an MP4/MOV demuxer for the first H.264 video track, reading boxes with
//! reelay-media's bounds-checked walker ([`reelay_media::mp4box`]), and a streaming OpenH264
//! decoder that hands out the source frame for each output time, looping a clip shorter than
//! its share. Only one decoded frame per video is kept in memory.
//!
//! Every malformed, truncated or unsupported input (no video track, H.265, undecodable data)
//! becomes `RenderError::InvalidInput` naming the field; nothing here panics on bad bytes.

use std::collections::VecDeque;

use openh264::decoder::{DecodeOptions, Decoder, DecoderConfig, Flush};
use openh264::formats::YUVSource;
use openh264::OpenH264API;

use reelay_media::mp4box::{self, Boxes};

use crate::encode::split_annex_b;
use crate::yuv::Yuv420;
use crate::{MediaInput, RenderError};

/// Samples fed before giving up on seeing a first picture.
const FIRST_PICTURE_WITHIN: usize = 64;

/// One video track's samples, located in the file.
struct Track {
    /// `avcC` parameter sets and NAL length size.
    sps: Vec<Vec<u8>>,
    pps: Vec<Vec<u8>>,
    length_size: usize,
    /// (offset, size) of each sample in decode order.
    samples: Vec<(usize, usize)>,
    /// Duration in seconds.
    duration: f64,
}

/// A big-endian integer of `len` bytes at `at` (a short read is a truncated box).
fn be(bytes: &[u8], at: usize, len: usize) -> Result<u64, String> {
    mp4box::uint_be(bytes, at, len).ok_or_else(|| "truncated box".to_string())
}

/// The child boxes of `data`; fewer than 8 bytes left at the end (a QuickTime terminator)
/// end the walk without an error.
fn boxes(data: &[u8]) -> Boxes<'_> {
    mp4box::boxes(data).allowing_short_tail()
}

fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Result<Option<&'a [u8]>, String> {
    Ok(boxes(data).find_kind(kind)?)
}

fn require<'a>(data: &'a [u8], kind: &[u8; 4]) -> Result<&'a [u8], String> {
    child(data, kind)?.ok_or_else(|| format!("missing '{}' box", mp4box::fourcc(kind)))
}

/// Parses the first video track of an MP4/MOV file.
fn parse(file: &[u8]) -> Result<Track, String> {
    let moov = child(file, b"moov")?.ok_or("not an MP4/MOV file (no 'moov' box)")?;
    for item in boxes(moov) {
        let item = item?;
        if &item.kind != b"trak" {
            continue;
        }
        let mdia = require(item.body, b"mdia")?;
        let hdlr = require(mdia, b"hdlr")?;
        if hdlr.get(8..12) != Some(b"vide") {
            continue;
        }
        return parse_video_track(file, mdia);
    }
    Err("no video track".to_string())
}

fn parse_video_track(file: &[u8], mdia: &[u8]) -> Result<Track, String> {
    let mdhd = require(mdia, b"mdhd")?;
    let (timescale, duration) = if matches!(mp4box::version_and_flags(mdhd), Some((1, _))) {
        (be(mdhd, 20, 4)?, be(mdhd, 24, 8)?)
    } else {
        (be(mdhd, 12, 4)?, be(mdhd, 16, 4)?)
    };
    let stbl = require(require(mdia, b"minf")?, b"stbl")?;
    let stsd = require(stbl, b"stsd")?;
    let entry = boxes(stsd.get(8..).ok_or("truncated stsd")?)
        .next()
        .ok_or("empty stsd")??;
    match &entry.kind {
        b"avc1" | b"avc3" => {}
        b"hvc1" | b"hev1" => return Err("H.265/HEVC video is not supported; use H.264".to_string()),
        other => {
            return Err(format!(
                "unsupported video codec '{}'; use H.264",
                mp4box::fourcc(other)
            ))
        }
    }
    let avcc = require(entry.body.get(78..).ok_or("truncated avc1 entry")?, b"avcC")?;
    let (sps, pps, length_size) = parse_avcc(avcc)?;

    let sizes = {
        let stsz = require(stbl, b"stsz")?;
        let fixed = be(stsz, 4, 4)? as usize;
        let count = be(stsz, 8, 4)? as usize;
        if fixed != 0 {
            vec![fixed; count.min(10_000_000)]
        } else {
            (0..count)
                .map(|i| be(stsz, 12 + 4 * i, 4).map(|v| v as usize))
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    let chunk_offsets: Vec<u64> = if let Some(stco) = child(stbl, b"stco")? {
        let count = be(stco, 4, 4)? as usize;
        (0..count)
            .map(|i| be(stco, 8 + 4 * i, 4))
            .collect::<Result<_, _>>()?
    } else {
        let co64 = require(stbl, b"co64")?;
        let count = be(co64, 4, 4)? as usize;
        (0..count)
            .map(|i| be(co64, 8 + 8 * i, 8))
            .collect::<Result<_, _>>()?
    };
    let stsc = require(stbl, b"stsc")?;
    let runs = (0..be(stsc, 4, 4)? as usize)
        .map(|i| {
            Ok((
                be(stsc, 8 + 12 * i, 4)? as usize,
                be(stsc, 12 + 12 * i, 4)? as usize,
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;

    let mut samples = Vec::with_capacity(sizes.len());
    let mut sample = 0usize;
    for (chunk_index, &offset) in chunk_offsets.iter().enumerate() {
        let chunk_number = chunk_index + 1;
        let per_chunk = runs
            .iter()
            .rev()
            .find(|(first, _)| *first <= chunk_number)
            .map_or(0, |&(_, n)| n);
        let mut at = usize::try_from(offset).map_err(|_| "offset too large")?;
        for _ in 0..per_chunk {
            let Some(&size) = sizes.get(sample) else {
                break;
            };
            if at.checked_add(size).is_none_or(|end| end > file.len()) {
                return Err("sample data lies outside the file".to_string());
            }
            samples.push((at, size));
            at += size;
            sample += 1;
        }
    }
    if samples.is_empty() {
        return Err("video track has no samples".to_string());
    }
    let seconds = if timescale > 0 && duration > 0 {
        duration as f64 / timescale as f64
    } else {
        samples.len() as f64 / 24.0
    };
    Ok(Track {
        sps,
        pps,
        length_size,
        samples,
        duration: seconds.max(0.04),
    })
}

type ParameterSets = (Vec<Vec<u8>>, Vec<Vec<u8>>, usize);

fn parse_avcc(avcc: &[u8]) -> Result<ParameterSets, String> {
    let length_size = (be(avcc, 4, 1)? as usize & 3) + 1;
    let mut at = 5;
    let mut read_sets = |count_mask: u64| -> Result<Vec<Vec<u8>>, String> {
        let count = be(avcc, at, 1)? & count_mask;
        at += 1;
        let mut sets = Vec::new();
        for _ in 0..count {
            let len = be(avcc, at, 2)? as usize;
            sets.push(
                avcc.get(at + 2..at + 2 + len)
                    .ok_or("truncated avcC")?
                    .to_vec(),
            );
            at += 2 + len;
        }
        Ok(sets)
    };
    let sps = read_sets(0x1f)?;
    let pps = read_sets(0xff)?;
    Ok((sps, pps, length_size))
}

/// A decoder that keeps pictures for reordering (B-frames) until they are due.
fn new_decoder() -> Result<Decoder, String> {
    let config = DecoderConfig::default().flush_after_decode(Flush::NoFlush);
    Decoder::with_api_config(OpenH264API::from_source(), config)
        .map_err(|e| format!("cannot start the H.264 decoder: {e}"))
}

/// Converts one length-prefixed sample to Annex B.
fn to_annex_b(sample: &[u8], length_size: usize, out: &mut Vec<u8>) -> Result<(), String> {
    out.clear();
    let mut at = 0;
    while at + length_size <= sample.len() {
        let len = be(sample, at, length_size)? as usize;
        let nal = sample
            .get(at + length_size..at + length_size + len)
            .ok_or("NAL unit overruns its sample")?;
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal);
        at += length_size + len;
    }
    Ok(())
}

/// A reference video being decoded in order.
struct VideoSource {
    field: String,
    file: Vec<u8>,
    track: Track,
    decoder: Decoder,
    next_sample: usize,
    pictures_out: usize,
    current: Yuv420,
    /// Pictures flushed out of the decoder at the end of the track, not yet shown.
    flushed: VecDeque<Yuv420>,
    packet: Vec<u8>,
}

impl VideoSource {
    fn open(input: &MediaInput) -> Result<Self, String> {
        let track = parse(&input.bytes)?;
        let decoder = new_decoder()?;
        let mut source = Self {
            field: input.field.clone(),
            file: input.bytes.clone(),
            track,
            decoder,
            next_sample: 0,
            pictures_out: 0,
            current: Yuv420::black(2, 2),
            flushed: VecDeque::new(),
            packet: Vec::new(),
        };
        source.rewind()?;
        if !source.advance(FIRST_PICTURE_WITHIN)? {
            return Err("no decodable H.264 picture found".to_string());
        }
        Ok(source)
    }

    fn rewind(&mut self) -> Result<(), String> {
        self.decoder =
            Decoder::new().map_err(|e| format!("cannot start the H.264 decoder: {e}"))?;
        let mut headers = Vec::new();
        for set in self.track.sps.iter().chain(&self.track.pps) {
            headers.extend_from_slice(&[0, 0, 0, 1]);
            headers.extend_from_slice(set);
        }
        if !headers.is_empty() {
            self.decoder
                .decode(&headers)
                .map_err(|e| format!("bad parameter sets: {e}"))?;
        }
        self.next_sample = 0;
        self.pictures_out = 0;
        self.flushed.clear();
        Ok(())
    }

    /// Feeds samples until one more picture comes out (true) or `budget` samples are used up or
    /// the track and the decoder's reorder buffer are exhausted (false).
    fn advance(&mut self, budget: usize) -> Result<bool, String> {
        let no_flush = DecodeOptions::new().flush_after_decode(Flush::NoFlush);
        for _ in 0..budget {
            if let Some(picture) = self.flushed.pop_front() {
                self.current = picture;
                self.pictures_out += 1;
                return Ok(true);
            }
            let Some(&(offset, size)) = self.track.samples.get(self.next_sample) else {
                if self.next_sample == self.track.samples.len() {
                    // End of the track: drain the pictures the decoder holds for reordering.
                    self.next_sample += 1;
                    // OpenH264 can report an error here once every picture is out; the track is
                    // fully decoded either way, so a failed drain just ends it.
                    let remaining = self.decoder.flush_remaining().unwrap_or_default();
                    for picture in remaining {
                        let mut copy = Yuv420::black(2, 2);
                        copy_picture(&picture, &mut copy);
                        self.flushed.push_back(copy);
                    }
                    continue;
                }
                return Ok(false);
            };
            self.next_sample += 1;
            to_annex_b(
                &self.file[offset..offset + size],
                self.track.length_size,
                &mut self.packet,
            )?;
            let mut produced = false;
            // One NAL unit per call, as OpenH264 expects for streams with B-frames.
            for nal in split_annex_b(&self.packet) {
                let mut unit = Vec::with_capacity(nal.len() + 4);
                unit.extend_from_slice(&[0, 0, 0, 1]);
                unit.extend_from_slice(nal);
                let decoded = self
                    .decoder
                    .decode_with_options(&unit, no_flush.clone())
                    .map_err(|e| {
                        format!(
                            "cannot decode frame {} (NAL type {}): {e}",
                            self.next_sample,
                            nal[0] & 0x1f
                        )
                    })?;
                if let Some(picture) = decoded {
                    if produced {
                        let mut copy = Yuv420::black(2, 2);
                        copy_picture(&picture, &mut copy);
                        self.flushed.push_back(copy);
                    } else {
                        copy_picture(&picture, &mut self.current);
                        produced = true;
                    }
                }
            }
            if produced {
                self.pictures_out += 1;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The picture showing at `seconds` into this clip (looped).
    fn picture_at(&mut self, seconds: f64) -> Result<&Yuv420, String> {
        let count = self.track.samples.len();
        let wanted =
            ((seconds % self.track.duration) / self.track.duration * count as f64) as usize;
        let wanted = wanted.min(count - 1);
        if wanted + 1 < self.pictures_out {
            self.rewind()?;
        }
        while self.pictures_out < wanted + 1 {
            if !self.advance(FIRST_PICTURE_WITHIN)? {
                break;
            }
        }
        if self.pictures_out == 0 {
            return Err("no decodable H.264 picture found".to_string());
        }
        Ok(&self.current)
    }
}

/// Copies a decoded picture into `out`, dropping an odd last row/column.
fn copy_picture(picture: &impl YUVSource, out: &mut Yuv420) {
    let (width, height) = picture.dimensions();
    let (width, height) = ((width & !1).max(2), (height & !1).max(2));
    if out.width != width || out.height != height {
        *out = Yuv420::black(width, height);
    }
    let (sy, su, sv) = picture.strides();
    let planes = [
        (picture.y(), sy, &mut out.y, width),
        (picture.u(), su, &mut out.u, width / 2),
        (picture.v(), sv, &mut out.v, width / 2),
    ];
    for (src, stride, dst, row_width) in planes {
        for (row, dst_row) in dst.chunks_mut(row_width).enumerate() {
            if let Some(src_row) = src.get(row * stride..row * stride + row_width) {
                dst_row.copy_from_slice(src_row);
            }
        }
    }
}

/// The reference videos, each playing for an equal share of the clip.
pub struct VideoSequence {
    sources: Vec<VideoSource>,
}

impl VideoSequence {
    /// Opens every video and decodes its first picture, so bad inputs fail before rendering.
    pub fn open(inputs: &[MediaInput]) -> Result<Self, RenderError> {
        let sources = inputs
            .iter()
            .map(|input| {
                VideoSource::open(input).map_err(|reason| RenderError::InvalidInput {
                    field: input.field.clone(),
                    reason,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { sources })
    }

    /// The source picture for output frame `index` of `frames` at `fps`.
    pub fn frame(&mut self, index: u32, frames: u32, fps: u32) -> Result<&Yuv420, RenderError> {
        let count = self.sources.len().max(1) as u64;
        let which = (u64::from(index) * count / u64::from(frames.max(1))) as usize;
        let share_start = (which as u64 * u64::from(frames) / count) as u32;
        let seconds = f64::from(index - share_start.min(index)) / f64::from(fps.max(1));
        let source = self
            .sources
            .get_mut(which)
            .ok_or_else(|| RenderError::Internal("no reference video".into()))?;
        let field = source.field.clone();
        source
            .picture_at(seconds)
            .map_err(|reason| RenderError::InvalidInput { field, reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mux::boxed;

    /// A box with a 64-bit size of `size` and no body.
    fn wide_box(kind: &[u8; 4], size: u64) -> Vec<u8> {
        let mut out = 1u32.to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(&size.to_be_bytes());
        out
    }

    fn error(file: &[u8]) -> Option<String> {
        parse(file).err()
    }

    #[test]
    fn a_huge_64_bit_box_size_is_an_input_error_not_a_panic() {
        let mut file = wide_box(b"mdat", u64::MAX - 4);
        file.extend_from_slice(&[0; 64]);
        boxed(&mut file, b"moov", |_| {});
        assert_eq!(
            error(&file).as_deref(),
            Some("box 'mdat' runs past the end of the file")
        );
    }

    #[test]
    fn boxes_after_the_one_wanted_are_not_read() {
        let mut file = Vec::new();
        boxed(&mut file, b"moov", |out| boxed(out, b"mvhd", |_| {}));
        file.extend_from_slice(&wide_box(b"mdat", u64::MAX - 4));
        assert_eq!(error(&file).as_deref(), Some("no video track"));
    }

    #[test]
    fn a_short_tail_after_the_last_box_is_skipped() {
        let mut file = Vec::new();
        boxed(&mut file, b"moov", |out| {
            boxed(out, b"mvhd", |_| {});
            out.extend_from_slice(&[0; 4]);
        });
        file.extend_from_slice(&[0; 7]);
        assert_eq!(error(&file).as_deref(), Some("no video track"));
    }

    #[test]
    fn a_missing_box_is_named() {
        let mut file = Vec::new();
        boxed(&mut file, b"moov", |out| boxed(out, b"trak", |_| {}));
        assert_eq!(error(&file).as_deref(), Some("missing 'mdia' box"));
        assert_eq!(
            error(b"\0\0\0\x08free").as_deref(),
            Some("not an MP4/MOV file (no 'moov' box)")
        );
    }
}
