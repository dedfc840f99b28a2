//! A small, deterministic MP4 (ISO-BMFF) writer: one H.264 video track and an optional audio
//! track (MP3 passed through, or FLAC), `moov` before `mdat` (fast start), one-second interleaved
//! chunks, no timestamps or tool strings that would vary between runs.
//!
//! Written here rather than taken from a muxer crate because the renderer needs MP3 and FLAC audio
//! tracks (muxide 0.5 takes only AAC or Opus) and an exact audio edit list; the format subset is
//! small. Tests read the output back with the independent `mp4` crate.

use crate::encode::{ParameterSets, Sample};

/// Movie timescale (milliseconds).
const MOVIE_TIMESCALE: u32 = 1000;
/// Video ticks per frame; the video timescale is `fps * VIDEO_TICKS_PER_FRAME`.
const VIDEO_TICKS_PER_FRAME: u32 = 512;

/// The encoded video track.
pub struct VideoTrack<'a> {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// SPS and PPS for the `avcC` box.
    pub parameter_sets: &'a ParameterSets,
    /// One sample per frame, in order.
    pub samples: &'a [Sample],
}

/// How the audio samples are coded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AudioCodec {
    /// MPEG audio layer III; `object_type` is 0x6B (MPEG-1) or 0x69 (MPEG-2/2.5).
    Mp3 {
        /// The `esds` object type indication.
        object_type: u8,
    },
    /// FLAC; `streaminfo` is the 34-byte STREAMINFO block body.
    Flac {
        /// STREAMINFO block body.
        streaminfo: Vec<u8>,
    },
}

/// One coded audio frame.
#[derive(Clone, Debug)]
pub struct AudioFrame {
    /// The coded bytes.
    pub data: Vec<u8>,
    /// Its length in samples (per channel).
    pub samples: u32,
}

/// The audio track.
#[derive(Clone, Debug)]
pub struct AudioTrack {
    /// Codec and its configuration.
    pub codec: AudioCodec,
    /// Samples per second.
    pub sample_rate: u32,
    /// Channel count.
    pub channels: u16,
    /// Bits per sample written in the sample entry (16 for MP3).
    pub sample_size: u16,
    /// Coded frames, in order.
    pub frames: Vec<AudioFrame>,
    /// How much of the track plays, in samples (the rest is cut by an edit list).
    pub play_samples: u64,
}

/// Builds the MP4 file.
pub fn write_mp4(video: &VideoTrack<'_>, audio: Option<&AudioTrack>) -> Vec<u8> {
    let fps = video.fps.max(1);
    let frame_count = video.samples.len();
    let chunk_count = frame_count.div_ceil(fps as usize).max(1);

    // Lay out the media data: per second, the video chunk then the audio chunk.
    let mut video_chunks: Vec<(u64, u32)> = Vec::new();
    let mut audio_chunks: Vec<(u64, u32)> = Vec::new();
    let mut audio_chunk_of = Vec::new();
    if let Some(track) = audio {
        let mut start = 0u64;
        for frame in &track.frames {
            let second = (start / u64::from(track.sample_rate.max(1))) as usize;
            audio_chunk_of.push(second.min(chunk_count - 1));
            start += u64::from(frame.samples);
        }
    }
    let mut mdat_payload_size = 0u64;
    let mut audio_index = 0usize;
    for chunk in 0..chunk_count {
        let first = chunk * fps as usize;
        let last = ((chunk + 1) * fps as usize).min(frame_count);
        if last > first {
            video_chunks.push((mdat_payload_size, (last - first) as u32));
            mdat_payload_size += video.samples[first..last]
                .iter()
                .map(|s| s.data.len() as u64)
                .sum::<u64>();
        }
        if let Some(track) = audio {
            let begin = audio_index;
            while audio_index < track.frames.len() && audio_chunk_of[audio_index] == chunk {
                mdat_payload_size += track.frames[audio_index].data.len() as u64;
                audio_index += 1;
            }
            if audio_index > begin {
                audio_chunks.push((
                    mdat_payload_size - chunk_bytes(&track.frames[begin..audio_index]),
                    (audio_index - begin) as u32,
                ));
            }
        }
    }

    let ftyp = ftyp();
    let provisional = moov(video, audio, &video_chunks, &audio_chunks, 0);
    let large = mdat_payload_size + 8 > u64::from(u32::MAX);
    let header = if large { 16 } else { 8 };
    let base = (ftyp.len() + provisional.len()) as u64 + header;
    let moov = moov(video, audio, &video_chunks, &audio_chunks, base);

    let mut out = Vec::with_capacity((base + mdat_payload_size) as usize);
    out.extend_from_slice(&ftyp);
    out.extend_from_slice(&moov);
    if large {
        out.extend_from_slice(&1u32.to_be_bytes());
        out.extend_from_slice(b"mdat");
        out.extend_from_slice(&(mdat_payload_size + 16).to_be_bytes());
    } else {
        out.extend_from_slice(&((mdat_payload_size + 8) as u32).to_be_bytes());
        out.extend_from_slice(b"mdat");
    }
    let mut audio_index = 0usize;
    for chunk in 0..chunk_count {
        let first = chunk * fps as usize;
        let last = ((chunk + 1) * fps as usize).min(frame_count);
        for sample in &video.samples[first.min(last)..last] {
            out.extend_from_slice(&sample.data);
        }
        if let Some(track) = audio {
            while audio_index < track.frames.len() && audio_chunk_of[audio_index] == chunk {
                out.extend_from_slice(&track.frames[audio_index].data);
                audio_index += 1;
            }
        }
    }
    out
}

fn chunk_bytes(frames: &[AudioFrame]) -> u64 {
    frames.iter().map(|f| f.data.len() as u64).sum()
}

/// Appends a box of type `kind` whose body `body` writes.
pub(crate) fn boxed(out: &mut Vec<u8>, kind: &[u8; 4], body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(kind);
    body(out);
    let size = (out.len() - start) as u32;
    out[start..start + 4].copy_from_slice(&size.to_be_bytes());
}

/// Appends a full box (with version and flags).
fn full_box(
    out: &mut Vec<u8>,
    kind: &[u8; 4],
    version: u8,
    flags: u32,
    body: impl FnOnce(&mut Vec<u8>),
) {
    boxed(out, kind, |out| {
        out.extend_from_slice(&((u32::from(version) << 24) | (flags & 0x00ff_ffff)).to_be_bytes());
        body(out);
    });
}

fn u16be(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_be_bytes());
}

fn u32be(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_be_bytes());
}

fn ftyp() -> Vec<u8> {
    let mut out = Vec::new();
    boxed(&mut out, b"ftyp", |out| {
        out.extend_from_slice(b"isom");
        u32be(out, 0x200);
        for brand in [b"isom", b"iso2", b"avc1", b"mp41"] {
            out.extend_from_slice(brand);
        }
    });
    out
}

const MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

fn movie_duration(video: &VideoTrack<'_>) -> u32 {
    let frames = video.samples.len() as u64;
    (frames * u64::from(MOVIE_TIMESCALE) / u64::from(video.fps.max(1))) as u32
}

fn moov(
    video: &VideoTrack<'_>,
    audio: Option<&AudioTrack>,
    video_chunks: &[(u64, u32)],
    audio_chunks: &[(u64, u32)],
    base: u64,
) -> Vec<u8> {
    let duration = movie_duration(video);
    let mut out = Vec::new();
    boxed(&mut out, b"moov", |out| {
        full_box(out, b"mvhd", 0, 0, |out| {
            u32be(out, 0);
            u32be(out, 0);
            u32be(out, MOVIE_TIMESCALE);
            u32be(out, duration);
            u32be(out, 0x0001_0000);
            u16be(out, 0x0100);
            out.extend_from_slice(&[0; 10]);
            MATRIX.iter().for_each(|&m| u32be(out, m));
            out.extend_from_slice(&[0; 24]);
            u32be(out, if audio.is_some() { 3 } else { 2 });
        });
        video_trak(out, video, duration, video_chunks, base);
        if let Some(track) = audio {
            audio_trak(out, track, duration, audio_chunks, base);
        }
    });
    out
}

fn tkhd(out: &mut Vec<u8>, track_id: u32, duration: u32, audio: bool, width: u32, height: u32) {
    full_box(out, b"tkhd", 0, 3, |out| {
        u32be(out, 0);
        u32be(out, 0);
        u32be(out, track_id);
        u32be(out, 0);
        u32be(out, duration);
        out.extend_from_slice(&[0; 8]);
        u16be(out, 0);
        u16be(out, u16::from(audio));
        u16be(out, if audio { 0x0100 } else { 0 });
        u16be(out, 0);
        MATRIX.iter().for_each(|&m| u32be(out, m));
        u32be(out, width << 16);
        u32be(out, height << 16);
    });
}

fn mdhd_hdlr(out: &mut Vec<u8>, timescale: u32, duration: u64, handler: &[u8; 4], name: &str) {
    full_box(out, b"mdhd", 1, 0, |out| {
        out.extend_from_slice(&[0; 16]);
        u32be(out, timescale);
        out.extend_from_slice(&duration.to_be_bytes());
        u16be(out, 0x55c4); // "und"
        u16be(out, 0);
    });
    full_box(out, b"hdlr", 0, 0, |out| {
        u32be(out, 0);
        out.extend_from_slice(handler);
        out.extend_from_slice(&[0; 12]);
        out.extend_from_slice(name.as_bytes());
        out.push(0);
    });
}

fn dinf(out: &mut Vec<u8>) {
    boxed(out, b"dinf", |out| {
        full_box(out, b"dref", 0, 0, |out| {
            u32be(out, 1);
            full_box(out, b"url ", 0, 1, |_| {});
        });
    });
}

/// Sample tables shared by both tracks: stts, stsc, stsz, stco/co64 (plus stss when given).
fn tables(
    out: &mut Vec<u8>,
    durations: &[u32],
    sizes: &[u32],
    chunks: &[(u64, u32)],
    base: u64,
    sync: Option<&[u32]>,
) {
    full_box(out, b"stts", 0, 0, |out| {
        let mut runs: Vec<(u32, u32)> = Vec::new();
        for &d in durations {
            match runs.last_mut() {
                Some((count, delta)) if *delta == d => *count += 1,
                _ => runs.push((1, d)),
            }
        }
        u32be(out, runs.len() as u32);
        runs.iter().for_each(|&(count, delta)| {
            u32be(out, count);
            u32be(out, delta);
        });
    });
    if let Some(sync) = sync {
        full_box(out, b"stss", 0, 0, |out| {
            u32be(out, sync.len() as u32);
            sync.iter().for_each(|&s| u32be(out, s));
        });
    }
    full_box(out, b"stsc", 0, 0, |out| {
        let mut runs: Vec<(u32, u32)> = Vec::new();
        for (index, &(_, count)) in chunks.iter().enumerate() {
            if runs.last().map(|&(_, c)| c) != Some(count) {
                runs.push((index as u32 + 1, count));
            }
        }
        u32be(out, runs.len() as u32);
        runs.iter().for_each(|&(first, count)| {
            u32be(out, first);
            u32be(out, count);
            u32be(out, 1);
        });
    });
    full_box(out, b"stsz", 0, 0, |out| {
        u32be(out, 0);
        u32be(out, sizes.len() as u32);
        sizes.iter().for_each(|&s| u32be(out, s));
    });
    let wide = chunks
        .last()
        .is_some_and(|&(offset, _)| base + offset > u64::from(u32::MAX));
    full_box(out, if wide { b"co64" } else { b"stco" }, 0, 0, |out| {
        u32be(out, chunks.len() as u32);
        for &(offset, _) in chunks {
            if wide {
                out.extend_from_slice(&(base + offset).to_be_bytes());
            } else {
                u32be(out, (base + offset) as u32);
            }
        }
    });
}

fn video_trak(
    out: &mut Vec<u8>,
    video: &VideoTrack<'_>,
    duration: u32,
    chunks: &[(u64, u32)],
    base: u64,
) {
    let timescale = video.fps.max(1) * VIDEO_TICKS_PER_FRAME;
    let frames = video.samples.len();
    boxed(out, b"trak", |out| {
        tkhd(out, 1, duration, false, video.width, video.height);
        boxed(out, b"mdia", |out| {
            let media_duration = frames as u64 * u64::from(VIDEO_TICKS_PER_FRAME);
            mdhd_hdlr(
                out,
                timescale,
                media_duration,
                b"vide",
                "reelay preview video",
            );
            boxed(out, b"minf", |out| {
                full_box(out, b"vmhd", 0, 1, |out| out.extend_from_slice(&[0; 8]));
                dinf(out);
                boxed(out, b"stbl", |out| {
                    full_box(out, b"stsd", 0, 0, |out| {
                        u32be(out, 1);
                        avc1(out, video);
                    });
                    let durations = vec![VIDEO_TICKS_PER_FRAME; frames];
                    let sizes: Vec<u32> =
                        video.samples.iter().map(|s| s.data.len() as u32).collect();
                    let sync: Vec<u32> = video
                        .samples
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| s.keyframe)
                        .map(|(i, _)| i as u32 + 1)
                        .collect();
                    tables(out, &durations, &sizes, chunks, base, Some(&sync));
                });
            });
        });
    });
}

fn avc1(out: &mut Vec<u8>, video: &VideoTrack<'_>) {
    boxed(out, b"avc1", |out| {
        out.extend_from_slice(&[0; 6]);
        u16be(out, 1);
        out.extend_from_slice(&[0; 16]);
        u16be(out, video.width as u16);
        u16be(out, video.height as u16);
        u32be(out, 0x0048_0000);
        u32be(out, 0x0048_0000);
        u32be(out, 0);
        u16be(out, 1);
        let mut name = [0u8; 32];
        let label = b"reelay preview";
        name[0] = label.len() as u8;
        name[1..=label.len()].copy_from_slice(label);
        out.extend_from_slice(&name);
        u16be(out, 0x18);
        u16be(out, 0xffff);
        let sps = &video.parameter_sets.sps;
        let pps = &video.parameter_sets.pps;
        boxed(out, b"avcC", |out| {
            let byte = |i: usize| sps.get(i).copied().unwrap_or(0);
            out.extend_from_slice(&[1, byte(1), byte(2), byte(3), 0xff, 0xe1]);
            u16be(out, sps.len() as u16);
            out.extend_from_slice(sps);
            out.push(1);
            u16be(out, pps.len() as u16);
            out.extend_from_slice(pps);
            if matches!(byte(1), 100 | 110 | 122 | 144) {
                out.extend_from_slice(&[0xfd, 0xf8, 0xf8, 0]);
            }
        });
    });
}

fn audio_trak(
    out: &mut Vec<u8>,
    track: &AudioTrack,
    duration: u32,
    chunks: &[(u64, u32)],
    base: u64,
) {
    boxed(out, b"trak", |out| {
        tkhd(out, 2, duration, true, 0, 0);
        boxed(out, b"edts", |out| {
            full_box(out, b"elst", 0, 0, |out| {
                u32be(out, 1);
                let play_ms = track.play_samples * u64::from(MOVIE_TIMESCALE)
                    / u64::from(track.sample_rate.max(1));
                u32be(out, play_ms.min(u64::from(duration)) as u32);
                u32be(out, 0);
                u16be(out, 1);
                u16be(out, 0);
            });
        });
        boxed(out, b"mdia", |out| {
            let media_duration: u64 = track.frames.iter().map(|f| u64::from(f.samples)).sum();
            mdhd_hdlr(
                out,
                track.sample_rate,
                media_duration,
                b"soun",
                "reelay preview audio",
            );
            boxed(out, b"minf", |out| {
                full_box(out, b"smhd", 0, 0, |out| out.extend_from_slice(&[0; 4]));
                dinf(out);
                boxed(out, b"stbl", |out| {
                    full_box(out, b"stsd", 0, 0, |out| {
                        u32be(out, 1);
                        audio_sample_entry(out, track);
                    });
                    let durations: Vec<u32> = track.frames.iter().map(|f| f.samples).collect();
                    let sizes: Vec<u32> =
                        track.frames.iter().map(|f| f.data.len() as u32).collect();
                    tables(out, &durations, &sizes, chunks, base, None);
                });
            });
        });
    });
}

fn audio_sample_entry(out: &mut Vec<u8>, track: &AudioTrack) {
    let kind = match track.codec {
        AudioCodec::Mp3 { .. } => b"mp4a",
        AudioCodec::Flac { .. } => b"fLaC",
    };
    boxed(out, kind, |out| {
        out.extend_from_slice(&[0; 6]);
        u16be(out, 1);
        out.extend_from_slice(&[0; 8]);
        u16be(out, track.channels);
        u16be(out, track.sample_size);
        u32be(out, 0);
        u32be(
            out,
            if track.sample_rate <= 0xffff {
                track.sample_rate << 16
            } else {
                0
            },
        );
        match &track.codec {
            AudioCodec::Mp3 { object_type } => full_box(out, b"esds", 0, 0, |out| {
                // ES_Descriptor { DecoderConfigDescriptor, SLConfigDescriptor }, no decoder info.
                out.extend_from_slice(&[0x03, 21, 0, 0, 0]);
                out.extend_from_slice(&[0x04, 13, *object_type, 0x15, 0, 0, 0]);
                out.extend_from_slice(&[0; 8]);
                out.extend_from_slice(&[0x06, 1, 0x02]);
            }),
            AudioCodec::Flac { streaminfo } => full_box(out, b"dfLa", 0, 0, |out| {
                out.push(0x80);
                let len = streaminfo.len() as u32;
                out.extend_from_slice(&len.to_be_bytes()[1..]);
                out.extend_from_slice(streaminfo);
            }),
        }
    });
}
