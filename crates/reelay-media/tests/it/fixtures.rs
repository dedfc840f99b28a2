//! Real media files built in the test: images through the `image` crate, WAV, MP4/MOV and
//! MP3 written byte by byte.

use std::io::Cursor;

use image::{ImageFormat, RgbImage};

/// An image of `width`×`height` encoded as `format`.
pub fn image_file(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let pixels = RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut out = Cursor::new(Vec::new());
    pixels
        .write_to(&mut out, format)
        .expect("encode test image");
    out.into_inner()
}

/// A 16-bit PCM WAV of `seconds` of silence.
pub fn wav_file(sample_rate: u32, channels: u16, seconds: f64) -> Vec<u8> {
    let block_align = channels * 2;
    let byte_rate = sample_rate * u32::from(block_align);
    let data_len =
        (f64::from(byte_rate) * seconds) as u32 / u32::from(block_align) * u32::from(block_align);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(36 + data_len + 12).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    // An unrelated chunk with an odd size, padded, before fmt.
    out.extend_from_slice(b"LIST");
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(b"abc\0");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&byte_rate.to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out.resize(out.len() + data_len as usize, 0);
    out
}

/// One ISO-BMFF box.
pub fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

fn full_box(kind: &[u8; 4], version: u8, fields: &[u8]) -> Vec<u8> {
    let mut body = vec![version, 0, 0, 0];
    body.extend_from_slice(fields);
    mp4_box(kind, &body)
}

fn mvhd(timescale: u32, duration: u32) -> Vec<u8> {
    let mut fields = vec![0; 8]; // creation, modification
    fields.extend_from_slice(&timescale.to_be_bytes());
    fields.extend_from_slice(&duration.to_be_bytes());
    fields.extend_from_slice(&0x0001_0000u32.to_be_bytes()); // rate 1.0
    fields.extend_from_slice(&0x0100u16.to_be_bytes()); // volume 1.0
    fields.extend_from_slice(&[0; 10]);
    fields.extend_from_slice(&[0; 36]); // matrix
    fields.extend_from_slice(&[0; 24]); // pre_defined
    fields.extend_from_slice(&2u32.to_be_bytes()); // next track id
    full_box(b"mvhd", 0, &fields)
}

fn tkhd(width: u32, height: u32) -> Vec<u8> {
    let mut fields = vec![0; 8]; // creation, modification
    fields.extend_from_slice(&1u32.to_be_bytes()); // track id
    fields.extend_from_slice(&[0; 4]);
    fields.extend_from_slice(&0u32.to_be_bytes()); // duration
    fields.extend_from_slice(&[0; 8]);
    fields.extend_from_slice(&[0; 8]); // layer, alternate group, volume, reserved
    fields.extend_from_slice(&[0; 36]); // matrix
    fields.extend_from_slice(&(width << 16).to_be_bytes());
    fields.extend_from_slice(&(height << 16).to_be_bytes());
    full_box(b"tkhd", 0, &fields)
}

fn hdlr(handler: &[u8; 4]) -> Vec<u8> {
    let mut fields = vec![0; 4];
    fields.extend_from_slice(handler);
    fields.extend_from_slice(&[0; 12]);
    fields.extend_from_slice(b"handler\0");
    full_box(b"hdlr", 0, &fields)
}

fn stsd_visual(width: u16, height: u16) -> Vec<u8> {
    let mut entry = vec![0; 6];
    entry.extend_from_slice(&1u16.to_be_bytes()); // data reference index
    entry.extend_from_slice(&[0; 16]);
    entry.extend_from_slice(&width.to_be_bytes());
    entry.extend_from_slice(&height.to_be_bytes());
    entry.extend_from_slice(&[0; 50]);
    let mut fields = 1u32.to_be_bytes().to_vec();
    fields.extend_from_slice(&mp4_box(b"avc1", &entry));
    full_box(b"stsd", 0, &fields)
}

fn trak(handler: &[u8; 4], tkhd_size: (u32, u32), stsd_size: Option<(u16, u16)>) -> Vec<u8> {
    let mut mdia = hdlr(handler);
    if let Some((width, height)) = stsd_size {
        let stbl = mp4_box(b"stbl", &stsd_visual(width, height));
        mdia.extend_from_slice(&mp4_box(b"minf", &stbl));
    }
    let mut body = tkhd(tkhd_size.0, tkhd_size.1);
    body.extend_from_slice(&mp4_box(b"mdia", &mdia));
    mp4_box(b"trak", &body)
}

/// A minimal MP4 (or MOV with `brand = b"qt  "`): ftyp, mdat, then moov with an audio
/// track and a `width`×`height` video track lasting `seconds`.
pub fn movie_file(brand: &[u8; 4], seconds: f64, width: u32, height: u32) -> Vec<u8> {
    let timescale = 600;
    let mut moov = mvhd(timescale, (seconds * f64::from(timescale)) as u32);
    moov.extend_from_slice(&trak(b"soun", (0, 0), None));
    moov.extend_from_slice(&trak(b"vide", (width, height), None));
    let mut ftyp_body = brand.to_vec();
    ftyp_body.extend_from_slice(&[0, 0, 2, 0]);
    ftyp_body.extend_from_slice(brand);
    let mut out = mp4_box(b"ftyp", &ftyp_body);
    out.extend_from_slice(&mp4_box(b"mdat", &[0x55; 1000]));
    out.extend_from_slice(&mp4_box(b"moov", &moov));
    out
}

/// An MP4 whose tkhd says 0×0, so the size comes from the stsd sample entry.
pub fn movie_with_size_in_stsd(seconds: f64, width: u16, height: u16) -> Vec<u8> {
    let mut moov = mvhd(1000, (seconds * 1000.0) as u32);
    moov.extend_from_slice(&trak(b"vide", (0, 0), Some((width, height))));
    let mut out = mp4_box(b"ftyp", b"isom\0\0\0\0");
    out.extend_from_slice(&mp4_box(b"moov", &moov));
    out
}

/// A fragmented MP4 (as `-movflags empty_moov` writes): mvhd duration 0, a video track
/// at timescale 1000 with a trex default of 40 ticks, then two fragments: 25 samples at
/// the default (1 s) and 3 samples with explicit durations 100, 200, 300 (1.6 s in all).
pub fn fragmented_movie_file() -> Vec<u8> {
    let mut mdhd_fields = vec![0; 8];
    mdhd_fields.extend_from_slice(&1000u32.to_be_bytes());
    mdhd_fields.extend_from_slice(&[0; 8]);
    let mut mdia = full_box(b"mdhd", 0, &mdhd_fields);
    mdia.extend_from_slice(&hdlr(b"vide"));
    let mut trak_body = tkhd(640, 360);
    trak_body.extend_from_slice(&mp4_box(b"mdia", &mdia));
    let mut trex_fields = 1u32.to_be_bytes().to_vec(); // track id
    trex_fields.extend_from_slice(&1u32.to_be_bytes()); // sample description index
    trex_fields.extend_from_slice(&40u32.to_be_bytes()); // default duration
    trex_fields.extend_from_slice(&[0; 8]);
    let mut moov = mvhd(1000, 0);
    moov.extend_from_slice(&mp4_box(b"trak", &trak_body));
    moov.extend_from_slice(&mp4_box(b"mvex", &full_box(b"trex", 0, &trex_fields)));

    let tfhd = full_box(b"tfhd", 0, &1u32.to_be_bytes());
    let mut plain_run = 25u32.to_be_bytes().to_vec();
    plain_run.extend_from_slice(&0u32.to_be_bytes()); // data offset
    let mut fragment_1 = tfhd.clone();
    fragment_1.extend_from_slice(&flagged_box(b"trun", 0x000001, &plain_run));
    let mut timed_run = 3u32.to_be_bytes().to_vec();
    for duration in [100u32, 200, 300] {
        timed_run.extend_from_slice(&duration.to_be_bytes());
        timed_run.extend_from_slice(&500u32.to_be_bytes()); // sample size
    }
    let mut fragment_2 = tfhd;
    fragment_2.extend_from_slice(&flagged_box(b"trun", 0x000300, &timed_run));

    let mut out = mp4_box(b"ftyp", b"iso6\0\0\0\0");
    out.extend_from_slice(&mp4_box(b"moov", &moov));
    for fragment in [fragment_1, fragment_2] {
        out.extend_from_slice(&mp4_box(b"moof", &mp4_box(b"traf", &fragment)));
        out.extend_from_slice(&mp4_box(b"mdat", &[0; 64]));
    }
    out
}

fn flagged_box(kind: &[u8; 4], flags: u32, fields: &[u8]) -> Vec<u8> {
    let mut body = flags.to_be_bytes().to_vec();
    body.extend_from_slice(fields);
    mp4_box(kind, &body)
}

/// `frames` MPEG-1 layer III frames at 128 kbit/s, 44.1 kHz stereo, after an ID3v2 tag.
pub fn mp3_file(frames: usize) -> Vec<u8> {
    let mut out = b"ID3\x03\x00\x00\x00\x00\x00\x14".to_vec(); // 20-byte tag body
    out.extend_from_slice(&[0; 20]);
    for _ in 0..frames {
        let mut frame = vec![0xFF, 0xFB, 0x90, 0x00];
        frame.resize(417, 0);
        out.extend_from_slice(&frame);
    }
    out.extend_from_slice(b"TAG");
    out.resize(out.len() + 125, b' ');
    out
}

/// A short MP3 whose first frame carries a Xing header claiming `frames` frames.
pub fn mp3_with_xing(frames: u32) -> Vec<u8> {
    let mut first = vec![0xFF, 0xFB, 0x90, 0x00];
    first.resize(4 + 32, 0);
    first.extend_from_slice(b"Xing");
    first.extend_from_slice(&1u32.to_be_bytes());
    first.extend_from_slice(&frames.to_be_bytes());
    first.resize(417, 0);
    let mut out = first;
    for _ in 0..3 {
        let mut frame = vec![0xFF, 0xFB, 0x90, 0x00];
        frame.resize(417, 0);
        out.extend_from_slice(&frame);
    }
    out
}
