//! End-to-end renders, checked with tools that are not ours: the `mp4` crate parses the
//! container, a small box walker here checks track handlers, and OpenH264's decoder decodes the
//! frames. Renders are 480p and 1–2 s so the suite stays fast.

use std::io::Cursor;

use openh264::decoder::Decoder;
use openh264::formats::YUVSource;
use reelay_render::{
    image_dimensions, render, MediaInput, RenderError, RenderOutput, RenderRequest,
};

const W: u32 = 864;
const H: u32 = 480;

fn request(prompt: &str, seconds: u32) -> RenderRequest {
    RenderRequest {
        prompt: prompt.to_string(),
        duration_secs: seconds,
        width: W,
        height: H,
        fps: 24,
        seed: 42,
        label: "local preview · seedance2.0-sp".to_string(),
        ..RenderRequest::default()
    }
}

fn input(field: &str, bytes: Vec<u8>) -> Option<MediaInput> {
    Some(MediaInput {
        field: field.to_string(),
        bytes,
    })
}

fn run(request: &RenderRequest) -> Result<RenderOutput, RenderError> {
    render(request, &mut |_| true)
}

/// A PNG: left half warm, right half cool, with a horizontal gradient.
fn warm_cool_png(width: u32, height: u32) -> Vec<u8> {
    png(width, height, |x, y| {
        if x < width / 2 {
            [230, 60 + (y * 100 / height) as u8, 40]
        } else {
            [30, 80, 120 + (x * 100 / width) as u8]
        }
    })
}

/// A PNG: bright top third, dark bottom.
fn bright_top_png(width: u32, height: u32) -> Vec<u8> {
    png(width, height, |_, y| {
        if y < height / 3 {
            [250, 250, 240]
        } else {
            [20, 30, 25]
        }
    })
}

fn png(width: u32, height: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb(pixel(x, y)));
    let mut bytes = Vec::new();
    img.write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .expect("png");
    bytes
}

/// A 16×9 grid of mean luma (BT.709-ish) of an RGB image, cover-cropped to 16:9-ish `W`×`H`.
fn thumb_of_png(bytes: &[u8]) -> Vec<f64> {
    let img = image::load_from_memory(bytes).expect("decode").to_rgb8();
    let (iw, ih) = (img.width() as f64, img.height() as f64);
    let target = f64::from(W) / f64::from(H);
    let (cw, ch) = if iw / ih > target {
        (ih * target, ih)
    } else {
        (iw, iw / target)
    };
    let (x0, y0) = ((iw - cw) / 2.0, (ih - ch) / 2.0);
    grid(16, 9, |gx, gy| {
        let px = img.get_pixel(
            (x0 + gx * cw).min(iw - 1.0) as u32,
            (y0 + gy * ch).min(ih - 1.0) as u32,
        );
        16.0 + 219.0
            * (0.2126 * f64::from(px[0]) + 0.7152 * f64::from(px[1]) + 0.0722 * f64::from(px[2]))
            / 255.0
    })
}

fn thumb_of_luma(luma: &[u8], width: usize, height: usize) -> Vec<f64> {
    grid(16, 9, |gx, gy| {
        f64::from(luma[(gy * height as f64) as usize * width + (gx * width as f64) as usize])
    })
}

/// Averages `sample(x, y)` (x, y in 0..1) over 8×8 points in each of `cols`×`rows` cells.
fn grid(cols: usize, rows: usize, sample: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    let mut out = Vec::new();
    for r in 0..rows {
        for c in 0..cols {
            let mut sum = 0.0;
            for i in 0..8 {
                for j in 0..8 {
                    sum += sample(
                        (c as f64 + (j as f64 + 0.5) / 8.0) / cols as f64,
                        (r as f64 + (i as f64 + 0.5) / 8.0) / rows as f64,
                    );
                }
            }
            out.push(sum / 64.0);
        }
    }
    out
}

fn mean_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64
}

/// What the `mp4` crate says about the file.
struct Probe {
    duration_secs: f64,
    width: u16,
    height: u16,
    video_samples: u32,
    video_track: u32,
    timescale_frame_rate: f64,
}

fn probe(mp4_bytes: &[u8]) -> (Probe, mp4::Mp4Reader<Cursor<Vec<u8>>>) {
    let reader =
        mp4::Mp4Reader::read_header(Cursor::new(mp4_bytes.to_vec()), mp4_bytes.len() as u64)
            .expect("mp4 parses");
    let (id, track) = reader
        .tracks()
        .iter()
        .find(|(_, t)| matches!(t.track_type(), Ok(mp4::TrackType::Video)))
        .expect("video track");
    let probe = Probe {
        duration_secs: reader.duration().as_secs_f64(),
        width: track.width(),
        height: track.height(),
        video_samples: track.sample_count(),
        video_track: *id,
        timescale_frame_rate: track.frame_rate(),
    };
    (probe, reader)
}

/// Handler types of all tracks, found with a box walker independent of both muxer and `mp4`.
fn handlers(file: &[u8]) -> Vec<String> {
    fn walk(data: &[u8], out: &mut Vec<String>) {
        let mut at = 0;
        while at + 8 <= data.len() {
            let size = u32::from_be_bytes(data[at..at + 4].try_into().expect("4 bytes")) as usize;
            let kind = &data[at + 4..at + 8];
            if size < 8 || at + size > data.len() {
                return;
            }
            let body = &data[at + 8..at + size];
            match kind {
                b"moov" | b"trak" | b"mdia" => walk(body, out),
                b"hdlr" => out.push(String::from_utf8_lossy(&body[8..12]).into_owned()),
                _ => {}
            }
            at += size;
        }
    }
    let mut out = Vec::new();
    walk(file, &mut out);
    out
}

/// Decodes every video frame with OpenH264; returns the luma planes.
fn decode_luma(mp4_bytes: &[u8]) -> Vec<Vec<u8>> {
    let (probe, mut reader) = probe(mp4_bytes);
    let track = &reader.tracks()[&probe.video_track];
    let mut headers = vec![0, 0, 0, 1];
    headers.extend_from_slice(track.sequence_parameter_set().expect("sps"));
    headers.extend_from_slice(&[0, 0, 0, 1]);
    headers.extend_from_slice(track.picture_parameter_set().expect("pps"));
    let mut decoder = Decoder::new().expect("decoder");
    decoder.decode(&headers).expect("headers decode");
    let mut frames = Vec::new();
    for id in 1..=probe.video_samples {
        let sample = reader
            .read_sample(probe.video_track, id)
            .expect("read")
            .expect("sample");
        let mut annex_b = Vec::new();
        let mut at = 0;
        while at + 4 <= sample.bytes.len() {
            let len = u32::from_be_bytes(sample.bytes[at..at + 4].try_into().expect("4")) as usize;
            annex_b.extend_from_slice(&[0, 0, 0, 1]);
            annex_b.extend_from_slice(&sample.bytes[at + 4..at + 4 + len]);
            at += 4 + len;
        }
        if let Some(picture) = decoder.decode(&annex_b).expect("frame decodes") {
            let (w, h) = picture.dimensions();
            let (stride, _, _) = picture.strides();
            let mut luma = Vec::with_capacity(w * h);
            for row in 0..h {
                luma.extend_from_slice(&picture.y()[row * stride..row * stride + w]);
            }
            frames.push(luma);
        }
    }
    for picture in decoder.flush_remaining().expect("flush") {
        let (w, h) = picture.dimensions();
        let (stride, _, _) = picture.strides();
        let mut luma = Vec::with_capacity(w * h);
        for row in 0..h {
            luma.extend_from_slice(&picture.y()[row * stride..row * stride + w]);
        }
        frames.push(luma);
    }
    frames
}

fn assert_shape(output: &RenderOutput, seconds: u32) {
    let (probe, _) = probe(&output.mp4);
    assert_eq!((probe.width, probe.height), (W as u16, H as u16));
    assert_eq!(probe.video_samples, seconds * 24);
    assert!(
        (probe.duration_secs - f64::from(seconds)).abs() < 0.01,
        "duration {}",
        probe.duration_secs
    );
    assert!((probe.timescale_frame_rate - 24.0).abs() < 0.01);
    assert_eq!(
        (output.width, output.height, output.fps, output.frames),
        (W, H, 24, seconds * 24)
    );
    assert_eq!(output.duration_secs, f64::from(seconds));
}

#[test]
fn text_only_renders_a_title_card_of_exact_shape_and_frame_count() {
    let output = run(&request(
        "A red fox runs through snow at dawn. 一只狐狸在雪地里奔跑。",
        2,
    ))
    .expect("renders");
    assert_shape(&output, 2);
    let frames = decode_luma(&output.mp4);
    assert_eq!(frames.len(), 48);
    assert!(!output.has_audio);
    assert_eq!(handlers(&output.mp4), vec!["vide"]);
    // The title fades in: the last frame has bright text pixels the first one lacks.
    let bright = |f: &Vec<u8>| f.iter().filter(|&&v| v > 200).count();
    assert!(bright(&frames[47]) > bright(&frames[0]) + 1000);
}

#[test]
fn first_frame_render_starts_on_the_input_image() {
    let image = warm_cool_png(1001, 777);
    let mut req = request("slow push in", 1);
    req.first_frame = input("first_image", image.clone());
    let output = run(&req).expect("renders");
    assert_shape(&output, 1);
    let frames = decode_luma(&output.mp4);
    let first = thumb_of_luma(&frames[0], W as usize, H as usize);
    let same = mean_abs_diff(&first, &thumb_of_png(&image));
    let other = mean_abs_diff(&first, &thumb_of_png(&bright_top_png(1001, 777)));
    assert!(same < 8.0, "first frame differs from the input by {same}");
    assert!(other > 3.0 * same, "{other} vs {same}");
}

#[test]
fn crossfade_ends_on_the_last_image() {
    let (first, last) = (warm_cool_png(640, 480), bright_top_png(333, 999));
    let mut req = request("", 2);
    req.first_frame = input("first_image", first.clone());
    req.last_frame = input("last_image", last.clone());
    req.return_last_frame = true;
    let output = run(&req).expect("renders");
    assert_shape(&output, 2);
    let frames = decode_luma(&output.mp4);
    let end = thumb_of_luma(&frames[47], W as usize, H as usize);
    let to_last = mean_abs_diff(&end, &thumb_of_png(&last));
    assert!(
        to_last < 8.0,
        "last frame differs from the last image by {to_last}"
    );
    assert!(mean_abs_diff(&end, &thumb_of_png(&first)) > 3.0 * to_last);
    let png = output.last_frame_png.expect("last frame png");
    assert_eq!(image_dimensions(&png), Ok((W, H)));
}

#[test]
fn slideshow_shows_each_image_in_turn() {
    let mut req = request("three images", 2);
    req.images = vec![
        MediaInput {
            field: "images[0]".into(),
            bytes: warm_cool_png(300, 200),
        },
        MediaInput {
            field: "images[1]".into(),
            bytes: bright_top_png(200, 300),
        },
        MediaInput {
            field: "images[2]".into(),
            bytes: warm_cool_png(50, 50),
        },
    ];
    let output = run(&req).expect("renders");
    assert_shape(&output, 2);
    let frames = decode_luma(&output.mp4);
    let middle = thumb_of_luma(&frames[24], W as usize, H as usize);
    assert!(mean_abs_diff(&middle, &thumb_of_png(&bright_top_png(200, 300))) < 15.0);
}

#[test]
fn the_same_request_renders_byte_identical_output() {
    let mut req = request("determinism 决定论 🎬", 1);
    req.images = vec![MediaInput {
        field: "images[0]".into(),
        bytes: warm_cool_png(97, 61),
    }];
    req.watermark = true;
    let a = run(&req).expect("renders");
    let b = run(&req).expect("renders");
    assert!(a.mp4 == b.mp4, "MP4 bytes differ");
    req.seed = 43;
    assert!(run(&req).expect("renders").mp4 != a.mp4);
}

#[test]
fn emoji_and_missing_glyphs_do_not_panic() {
    let prompt = "🫠😀\u{0}\u{7}\u{10fffd}𝄞 ".repeat(40) + "末尾";
    let output = run(&request(&prompt, 1)).expect("renders");
    assert_eq!(decode_luma(&output.mp4).len(), 24);
}

fn wav(seconds_tenths: usize) -> Vec<u8> {
    let frames = 4410 * seconds_tenths;
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(36 + frames as u32 * 2).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&44_100u32.to_le_bytes());
    out.extend_from_slice(&88_200u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(frames as u32 * 2).to_le_bytes());
    for i in 0..frames {
        let v = ((i as f64 * 440.0 * std::f64::consts::TAU / 44_100.0).sin() * 8000.0) as i16;
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[test]
fn reference_audio_becomes_an_audio_track_and_none_means_none() {
    let mut req = request("with sound", 1);
    req.reference_audios = vec![MediaInput {
        field: "reference_audios[0]".into(),
        bytes: wav(5),
    }];
    let with = run(&req).expect("renders");
    assert!(with.has_audio);
    assert_eq!(handlers(&with.mp4), vec!["vide", "soun"]);
    assert_shape(&with, 1);

    // An MP3 (silent MPEG-1 layer III frames) is passed through.
    let mut frame = vec![0u8; 417];
    frame[..4].copy_from_slice(&[0xff, 0xfb, 0x90, 0x00]);
    req.reference_audios = vec![MediaInput {
        field: "reference_audios[0]".into(),
        bytes: frame.repeat(80),
    }];
    let mp3 = run(&req).expect("renders");
    assert!(mp3.has_audio);
    assert_eq!(handlers(&mp3.mp4), vec!["vide", "soun"]);

    req.reference_audios = vec![MediaInput {
        field: "reference_audios[0]".into(),
        bytes: b"nope".to_vec(),
    }];
    let err = run(&req).expect_err("bad audio");
    assert!(
        matches!(&err, RenderError::InvalidInput { field, .. } if field == "reference_audios[0]"),
        "{err}"
    );
}

#[test]
fn a_reference_video_is_used_as_the_background() {
    let mut source = request("", 1);
    source.first_frame = input("first_image", bright_top_png(400, 300));
    let clip = run(&source).expect("source clip").mp4;
    let mut req = request("over video", 2);
    req.reference_videos = vec![MediaInput {
        field: "reference_videos[0]".into(),
        bytes: clip,
    }];
    let output = run(&req).expect("renders");
    assert_shape(&output, 2);
    let frames = decode_luma(&output.mp4);
    // The bright top third of the source shows through (dimmed) in the first frame.
    let thumb = thumb_of_luma(&frames[0], W as usize, H as usize);
    let top: f64 = thumb[..16].iter().sum::<f64>() / 16.0;
    let bottom: f64 = thumb[16 * 8..].iter().sum::<f64>() / 16.0;
    assert!(top > bottom + 80.0, "top {top} bottom {bottom}");
}

#[test]
fn undecodable_reference_videos_are_input_errors_not_panics() {
    let mut source = request("", 1);
    source.first_frame = input("first_image", warm_cool_png(64, 64));
    let clip = run(&source).expect("source clip").mp4;
    let mut garbled = clip.clone();
    let len = garbled.len();
    for byte in &mut garbled[len / 2..] {
        *byte = byte.wrapping_mul(31).wrapping_add(7);
    }
    for (name, bytes) in [
        (
            "random",
            (0..5000u32)
                .map(|i| (i * 7919 % 251) as u8)
                .collect::<Vec<u8>>(),
        ),
        ("truncated", clip[..clip.len() / 3].to_vec()),
        ("garbled", garbled),
        ("empty", Vec::new()),
    ] {
        let mut req = request("x", 1);
        req.reference_videos = vec![MediaInput {
            field: "reference_videos[0]".into(),
            bytes,
        }];
        match run(&req) {
            Err(RenderError::InvalidInput { field, .. }) => {
                assert_eq!(field, "reference_videos[0]", "{name}")
            }
            Ok(_) if name == "garbled" => {} // the decoder may conceal damage; it must just not panic
            other => panic!(
                "{name}: expected an input error, got {:?}",
                other.map(|o| o.frames)
            ),
        }
    }
}

#[test]
fn bad_images_and_odd_sizes_are_errors() {
    let mut req = request("x", 1);
    req.images = vec![MediaInput {
        field: "images[1]".into(),
        bytes: b"GIF89a-broken".to_vec(),
    }];
    assert!(
        matches!(run(&req), Err(RenderError::InvalidInput { field, .. }) if field == "images[1]")
    );
    let mut odd = request("x", 1);
    odd.width = 865;
    assert!(matches!(run(&odd), Err(RenderError::Internal(_))));
}

#[test]
fn cancelling_through_progress_stops_the_render() {
    let mut calls = 0;
    let result = render(&request("cancel me", 2), &mut |_| {
        calls += 1;
        calls < 3
    });
    assert!(matches!(result, Err(RenderError::Cancelled)));
}
