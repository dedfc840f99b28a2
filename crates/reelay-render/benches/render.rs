//! Render benchmark: `CARGO_TARGET_DIR=/work/target-render cargo bench -p reelay-render`.
//!
//! Every case (resolution × scene × duration) runs in a child process (this binary re-executed
//! with `--case`), so its peak memory (VmHWM) is its own. Prints frames per second, seconds per
//! clip, the drawing cost alone (ms/frame, scene painting without encoding), peak memory, and for
//! first-frame clips the time of `ffmpeg -c:v libx264 -preset veryfast` on a comparable clip and
//! our time as a ratio of it (skipped when ffmpeg is absent). Set `BENCH_QUICK=1` for 5 s only.

use std::io::Cursor;
use std::process::Command;
use std::time::Instant;

use reelay_render::scene::Scene;
use reelay_render::text::Typeface;
use reelay_render::yuv::Yuv420;
use reelay_render::{render, MediaInput, RenderRequest};

const SIZES: [(&str, u32, u32); 3] = [
    ("480p", 864, 480),
    ("720p", 1248, 704),
    ("1080p", 1920, 1088),
];
const KINDS: [&str; 4] = ["text", "first-frame", "crossfade", "slideshow"];

/// A photo-like test image: smooth colour fields with some texture.
fn photo(width: u32, height: u32, salt: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (x as f32 / width as f32, y as f32 / height as f32);
        let texture = ((x.wrapping_mul(7919) ^ y.wrapping_mul(104_729) ^ salt) % 23) as f32;
        let r = 120.0 + 100.0 * (fx * 6.0 + salt as f32).sin() + texture;
        let g = 110.0 + 90.0 * (fy * 5.0).cos() + texture;
        let b = 100.0 + 80.0 * ((fx + fy) * 4.0).sin() + texture;
        image::Rgb([
            r.clamp(0.0, 255.0) as u8,
            g.clamp(0.0, 255.0) as u8,
            b.clamp(0.0, 255.0) as u8,
        ])
    });
    let mut bytes = Vec::new();
    img.write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .expect("png");
    bytes
}

fn request(kind: &str, width: u32, height: u32, seconds: u32) -> RenderRequest {
    let image = |field: &str, salt| MediaInput {
        field: field.to_string(),
        bytes: photo(1600, 1200, salt),
    };
    let mut request = RenderRequest {
        prompt: "A paper boat drifts down a rainy neon street at night. 雨夜霓虹街道上漂流的纸船。"
            .to_string(),
        duration_secs: seconds,
        width,
        height,
        fps: 24,
        seed: 1,
        watermark: true,
        label: "local preview · seedance2.0-sp".to_string(),
        ..RenderRequest::default()
    };
    match kind {
        "first-frame" => request.first_frame = Some(image("first_image", 1)),
        "crossfade" => {
            request.first_frame = Some(image("first_image", 1));
            request.last_frame = Some(image("last_image", 2));
        }
        "slideshow" => {
            request.images = (0..4)
                .map(|i| image(&format!("images[{i}]"), i + 3))
                .collect()
        }
        _ => {}
    }
    request
}

fn peak_memory_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Child: renders one case and prints `seconds draw_ms_per_frame peak_mb`.
fn run_case(kind: &str, width: u32, height: u32, seconds: u32) {
    let request = request(kind, width, height, seconds);
    let started = Instant::now();
    let output = render(&request, &mut |_| true).expect("render");
    let elapsed = started.elapsed().as_secs_f64();
    let peak = peak_memory_mb();
    assert_eq!(output.frames, seconds * 24);
    // Drawing alone, without the encoder.
    let face = Typeface::embedded().expect("font");
    let mut scene = Scene::build(&request, &face).expect("scene");
    let mut frame = Yuv420::black(width as usize, height as usize);
    let draw_started = Instant::now();
    for index in 0..output.frames {
        scene.draw(index, &mut frame).expect("draw");
    }
    let draw_ms = draw_started.elapsed().as_secs_f64() * 1000.0 / f64::from(output.frames);
    println!("{elapsed} {draw_ms} {peak}");
}

/// Seconds ffmpeg/libx264 veryfast takes for a comparable still-image clip, if ffmpeg exists.
fn ffmpeg_seconds(width: u32, height: u32, seconds: u32) -> Option<f64> {
    let dir = std::env::temp_dir();
    let input = dir.join("reelay-bench-input.png");
    let output = dir.join("reelay-bench-ffmpeg.mp4");
    std::fs::write(&input, photo(1600, 1200, 1)).ok()?;
    let started = Instant::now();
    let status = Command::new("ffmpeg")
        .args(["-y", "-loglevel", "error", "-loop", "1", "-i"])
        .arg(&input)
        .args([
            "-t",
            &seconds.to_string(),
            "-r",
            "24",
            "-s",
            &format!("{width}x{height}"),
        ])
        .args([
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        ])
        .arg(&output)
        .status()
        .ok()?;
    let elapsed = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&output);
    status.success().then_some(elapsed)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--case") {
        let get = |i: usize| args.get(at + i).cloned().unwrap_or_default();
        let parse = |i: usize| get(i).parse::<u32>().expect("number");
        run_case(&get(1), parse(2), parse(3), parse(4));
        return;
    }
    let durations: &[u32] = if std::env::var_os("BENCH_QUICK").is_some() {
        &[5]
    } else {
        &[5, 15]
    };
    let me = std::env::current_exe().expect("own path");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("reelay-render bench, {cores} cores; each case in its own process");
    println!(
        "{:<6} {:<12} {:>4} {:>7} {:>8} {:>9} {:>8} {:>10} {:>7}",
        "size", "scene", "sec", "fps", "s/clip", "draw ms/f", "peak MB", "x264 vf s", "ratio"
    );
    for &(name, width, height) in &SIZES {
        for &seconds in durations {
            let ffmpeg = ffmpeg_seconds(width, height, seconds);
            for kind in KINDS {
                let out = Command::new(&me)
                    .args([
                        "--case",
                        kind,
                        &width.to_string(),
                        &height.to_string(),
                        &seconds.to_string(),
                    ])
                    .output()
                    .expect("child runs");
                let text = String::from_utf8_lossy(&out.stdout);
                let numbers: Vec<f64> = text
                    .split_whitespace()
                    .filter_map(|v| v.parse().ok())
                    .collect();
                let [elapsed, draw_ms, peak] = numbers[..] else {
                    println!(
                        "{name:<6} {kind:<12} {seconds:>4} failed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    continue;
                };
                let fps = f64::from(seconds * 24) / elapsed;
                let (ff, ratio) = match (kind, ffmpeg) {
                    ("first-frame", Some(ff)) => {
                        (format!("{ff:.2}"), format!("{:.2}", elapsed / ff))
                    }
                    ("first-frame", None) => ("n/a".to_string(), "n/a".to_string()),
                    _ => (String::new(), String::new()),
                };
                println!(
                    "{name:<6} {kind:<12} {seconds:>4} {fps:>7.1} {elapsed:>8.2} {draw_ms:>9.2} {peak:>8.1} {ff:>10} {ratio:>7}"
                );
            }
        }
    }
}
