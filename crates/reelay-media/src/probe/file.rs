//! Probing a file through `Read + Seek` without holding it in memory: the format from its
//! first bytes, then only the headers each container needs.
//!
//! - images: `imagesize` reads the header through the reader;
//! - MP4/MOV: a skeleton of the top-level boxes is built, keeping `ftyp`, `moov` and `moof`
//!   whole and every other box (the `mdat` with the samples) as an empty box of its kind; the
//!   slice parser then reads the skeleton as it reads a whole file;
//! - WAV: the chunk headers are walked with seeks;
//! - MP3: the tags are skipped with seeks, the first frame found in a window after them, then
//!   the frame headers are walked.
//!
//! A file no longer than [`WHOLE_FILE_BYTES`] is read whole and probed as a slice, exactly as
//! [`super::probe`] does.

use std::io::{BufReader, Read, Seek, SeekFrom};

use super::{mp3, mp4, wav, Probe, ProbeError};
use crate::sniff::{describe_unrecognized, sniff, MediaFormat};

/// Files up to this size are read whole; larger ones header by header.
pub const WHOLE_FILE_BYTES: u64 = 256 * 1024;

/// The most a file's kept MP4 boxes (`ftyp`, `moov`, every `moof`) may take together.
const MAX_MP4_HEADER_BYTES: u64 = 16 * 1024 * 1024;

/// Sniffs and probes a file of `len` bytes through `reader`, reading only what it needs: at
/// most [`WHOLE_FILE_BYTES`] plus the MP4 header boxes (themselves capped at 16 MiB).
pub fn probe_reader<R: Read + Seek>(reader: &mut R, len: u64) -> Result<Probe, ProbeError> {
    let head_len = len.min(WHOLE_FILE_BYTES);
    let head = read_at(reader, 0, head_len).map_err(|_| ProbeError::Unrecognized {
        what: "an unreadable file",
    })?;
    if (head.len() as u64) < head_len || len <= WHOLE_FILE_BYTES {
        return super::probe(&head);
    }
    let format = sniff(&head).ok_or_else(|| ProbeError::Unrecognized {
        what: describe_unrecognized(&head),
    })?;
    let malformed = |reason: String| ProbeError::Malformed { format, reason };
    let io = |error: std::io::Error| ProbeError::Malformed {
        format,
        reason: format!("reading the file failed: {error}"),
    };
    let mut probe = Probe {
        format,
        width: None,
        height: None,
        duration_secs: None,
        size_bytes: len,
    };
    match format {
        MediaFormat::Jpeg
        | MediaFormat::Png
        | MediaFormat::Webp
        | MediaFormat::Bmp
        | MediaFormat::Gif => {
            reader.seek(SeekFrom::Start(0)).map_err(io)?;
            let size = imagesize::reader_size(BufReader::new(&mut *reader))
                .map_err(|error| malformed(error.to_string()))?;
            let (width, height) =
                super::checked_dimensions(size.width, size.height).map_err(malformed)?;
            probe.width = Some(width);
            probe.height = Some(height);
        }
        MediaFormat::Mp4 | MediaFormat::Mov => {
            let skeleton = mp4_skeleton(reader, len).map_err(|error| match error {
                Skeleton::Io(error) => io(error),
                Skeleton::TooLarge => malformed(format!(
                    "its header boxes take more than {MAX_MP4_HEADER_BYTES} bytes"
                )),
            })?;
            let movie = mp4::parse(&skeleton).map_err(malformed)?;
            probe.width = movie.width;
            probe.height = movie.height;
            probe.duration_secs = movie.duration_secs;
        }
        MediaFormat::Wav => {
            let seconds = wav::duration_secs_from(&mut BufReader::new(&mut *reader), len).map_err(
                |error| match error {
                    Failure::Io(error) => io(error),
                    Failure::Malformed(reason) => malformed(reason),
                },
            )?;
            probe.duration_secs = Some(seconds);
        }
        MediaFormat::Mp3 => {
            let seconds = mp3::duration_secs_from(&mut BufReader::new(&mut *reader), len).map_err(
                |error| match error {
                    Failure::Io(error) => io(error),
                    Failure::Malformed(reason) => malformed(reason),
                },
            )?;
            probe.duration_secs = Some(seconds);
        }
    }
    Ok(probe)
}

/// Why a streamed probe stopped.
pub(super) enum Failure {
    Io(std::io::Error),
    Malformed(String),
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Failure {
        Failure::Io(error)
    }
}

impl From<&str> for Failure {
    fn from(reason: &str) -> Failure {
        Failure::Malformed(reason.to_owned())
    }
}

/// Up to `len` bytes at `at` (fewer at the end of the file).
pub(super) fn read_at<R: Read + Seek>(
    reader: &mut R,
    at: u64,
    len: u64,
) -> std::io::Result<Vec<u8>> {
    reader.seek(SeekFrom::Start(at))?;
    let mut bytes = Vec::with_capacity(usize::try_from(len.min(WHOLE_FILE_BYTES)).unwrap_or(0));
    reader.take(len).read_to_end(&mut bytes)?;
    Ok(bytes)
}

enum Skeleton {
    Io(std::io::Error),
    TooLarge,
}

/// The file's top-level boxes with only `ftyp`, `moov` and `moof` kept whole; every other box
/// becomes an empty box of its kind. A box whose header or size does not fit is copied as it
/// is, with the rest of the file (up to the cap), so the parser reports it as it would.
fn mp4_skeleton<R: Read + Seek>(reader: &mut R, len: u64) -> Result<Vec<u8>, Skeleton> {
    let mut skeleton = Vec::new();
    let mut position = 0u64;
    let room = |skeleton: &Vec<u8>| MAX_MP4_HEADER_BYTES.saturating_sub(skeleton.len() as u64);
    while position < len {
        let header = read_at(reader, position, 16).map_err(Skeleton::Io)?;
        let size32 = header
            .get(..4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        let kind: Option<[u8; 4]> = header.get(4..8).map(|b| [b[0], b[1], b[2], b[3]]);
        let (header_len, size) = match (size32, kind) {
            (Some(0), Some(_)) => (8u64, Some(len - position)),
            (Some(1), Some(_)) => (
                16,
                header
                    .get(8..16)
                    .map(|b| u64::from_be_bytes(b.try_into().unwrap_or([0; 8]))),
            ),
            (Some(size), Some(_)) => (8, Some(u64::from(size))),
            _ => (8, None),
        };
        let fits = size.filter(|size| *size >= header_len && position + size <= len);
        let (Some(size), Some(kind)) = (fits, kind) else {
            // Damaged: copy what is left so the parser names the fault.
            let rest = read_at(reader, position, (len - position).min(room(&skeleton)))
                .map_err(Skeleton::Io)?;
            skeleton.extend_from_slice(&rest);
            break;
        };
        if matches!(&kind, b"ftyp" | b"moov" | b"moof") {
            if size > room(&skeleton) {
                return Err(Skeleton::TooLarge);
            }
            let whole = read_at(reader, position, size).map_err(Skeleton::Io)?;
            skeleton.extend_from_slice(&whole);
        } else {
            skeleton.extend_from_slice(&8u32.to_be_bytes());
            skeleton.extend_from_slice(&kind);
        }
        position += size;
    }
    Ok(skeleton)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::mp4box::mp4_box;

    fn mvhd(timescale: u32, duration: u32) -> Vec<u8> {
        let mut body = vec![0, 0, 0, 0];
        body.extend_from_slice(&[0; 8]);
        body.extend_from_slice(&timescale.to_be_bytes());
        body.extend_from_slice(&duration.to_be_bytes());
        body.extend_from_slice(&[0; 80]);
        mp4_box(b"mvhd", &body)
    }

    fn big_mp4(mdat_len: usize, moov_first: bool) -> Vec<u8> {
        let ftyp = mp4_box(b"ftyp", b"isom\0\0\0\0isommp41");
        let moov = mp4_box(b"moov", &mvhd(1000, 4_000));
        let mdat = mp4_box(b"mdat", &vec![7; mdat_len]);
        let mut file = ftyp;
        if moov_first {
            file.extend_from_slice(&moov);
            file.extend_from_slice(&mdat);
        } else {
            file.extend_from_slice(&mdat);
            file.extend_from_slice(&moov);
        }
        file
    }

    #[test]
    fn a_large_mp4_is_probed_from_its_header_boxes_alone() {
        for moov_first in [true, false] {
            let file = big_mp4(3 * 1024 * 1024, moov_first);
            let whole = super::super::probe(&file).expect("probes whole");
            let streamed =
                probe_reader(&mut Cursor::new(&file), file.len() as u64).expect("probes streamed");
            assert_eq!(streamed, whole);
            assert_eq!(streamed.duration_secs, Some(4.0));
            assert_eq!(streamed.size_bytes, file.len() as u64);
        }
    }

    #[test]
    fn a_truncated_large_mp4_is_malformed_as_a_whole_one_is() {
        let mut file = big_mp4(1024 * 1024, false);
        file.truncate(file.len() - 20);
        let whole = super::super::probe(&file).expect_err("whole refuses");
        let streamed =
            probe_reader(&mut Cursor::new(&file), file.len() as u64).expect_err("refused");
        assert!(matches!(whole, ProbeError::Malformed { .. }));
        assert!(
            matches!(streamed, ProbeError::Malformed { .. }),
            "{streamed:?}"
        );
    }

    #[test]
    fn small_files_are_probed_whole() {
        let file = big_mp4(1000, true);
        assert_eq!(
            probe_reader(&mut Cursor::new(&file), file.len() as u64),
            super::super::probe(&file)
        );
        let html = b"<!DOCTYPE html><html></html>";
        assert_eq!(
            probe_reader(&mut Cursor::new(html), html.len() as u64),
            super::super::probe(html)
        );
    }

    #[test]
    fn a_large_wav_is_timed_from_its_chunk_headers() {
        let data_len = 2 * 1024 * 1024u32;
        let mut file = b"RIFF".to_vec();
        file.extend_from_slice(&(36 + data_len).to_le_bytes());
        file.extend_from_slice(b"WAVEfmt ");
        file.extend_from_slice(&16u32.to_le_bytes());
        file.extend_from_slice(&1u16.to_le_bytes()); // PCM
        file.extend_from_slice(&1u16.to_le_bytes()); // mono
        file.extend_from_slice(&8000u32.to_le_bytes());
        file.extend_from_slice(&16000u32.to_le_bytes());
        file.extend_from_slice(&2u16.to_le_bytes());
        file.extend_from_slice(&16u16.to_le_bytes());
        file.extend_from_slice(b"data");
        file.extend_from_slice(&data_len.to_le_bytes());
        file.resize(file.len() + data_len as usize, 0);
        let whole = super::super::probe(&file).expect("whole");
        let streamed = probe_reader(&mut Cursor::new(&file), file.len() as u64).expect("streamed");
        assert_eq!(streamed, whole);
        assert_eq!(streamed.duration_secs, Some(f64::from(data_len) / 16000.0));
    }

    #[test]
    fn a_large_mp3_is_timed_by_walking_its_frames() {
        // MPEG-1 layer III, 128 kb/s, 44.1 kHz: 417-byte frames.
        let mut frame = vec![0xFF, 0xFB, 0x90, 0x00];
        frame.resize(417, 0x55);
        let mut file = b"ID3\x04\x00\x00\x00\x00\x01\x00".to_vec();
        file.extend_from_slice(&[0; 128]);
        for _ in 0..2000 {
            file.extend_from_slice(&frame);
        }
        let whole = super::super::probe(&file).expect("whole");
        let streamed = probe_reader(&mut Cursor::new(&file), file.len() as u64).expect("streamed");
        assert_eq!(streamed, whole);
        assert!(streamed.duration_secs.is_some_and(|s| s > 50.0));
    }

    #[test]
    fn a_large_image_is_sized_from_its_header() {
        let mut png = Vec::new();
        image::RgbImage::new(640, 360)
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("encodes");
        png.resize(png.len() + 1024 * 1024, 0);
        let streamed = probe_reader(&mut Cursor::new(&png), png.len() as u64).expect("streamed");
        assert_eq!(streamed, super::super::probe(&png).expect("whole"));
        assert_eq!((streamed.width, streamed.height), (Some(640), Some(360)));
    }
}
