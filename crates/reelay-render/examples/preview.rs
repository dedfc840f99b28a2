//! Renders one clip to disk so a person can look at it:
//! `cargo run -p reelay-render --release --example preview -- OUT.mp4 "prompt" [SECONDS] [WxH] [first.png] [last.png]`
//! Writes OUT.mp4 and OUT.png (the last frame). Env `AUDIO=file.mp3|wav` and `VIDEO=file.mp4` add
//! reference media.

use reelay_render::{render, MediaInput, RenderRequest};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = args
        .first()
        .cloned()
        .unwrap_or_else(|| "preview.mp4".to_string());
    let prompt = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "A paper boat drifts down a rainy street. 雨中的纸船。".to_string());
    let seconds = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let (width, height) = args
        .get(3)
        .and_then(|s| s.split_once('x'))
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .unwrap_or((1248, 704));
    let load = |index: usize, field: &str| -> Result<Option<MediaInput>, std::io::Error> {
        args.get(index)
            .map(|path| {
                Ok(MediaInput {
                    field: field.to_string(),
                    bytes: std::fs::read(path)?,
                })
            })
            .transpose()
    };
    let request = RenderRequest {
        prompt,
        duration_secs: seconds,
        width,
        height,
        fps: 24,
        seed: 7,
        watermark: true,
        return_last_frame: true,
        label: "local preview · seedance2.0-sp".to_string(),
        first_frame: load(4, "first_image")?,
        last_frame: load(5, "last_image")?,
        reference_audios: env_input("AUDIO", "reference_audios[0]")?,
        reference_videos: env_input("VIDEO", "reference_videos[0]")?,
        ..RenderRequest::default()
    };
    let started = std::time::Instant::now();
    let output = render(&request, &mut |_| true)?;
    println!(
        "{} frames in {:.2} s, {} bytes",
        output.frames,
        started.elapsed().as_secs_f64(),
        output.mp4.len()
    );
    std::fs::write(&out, &output.mp4)?;
    if let Some(png) = output.last_frame_png {
        std::fs::write(format!("{}.png", out.trim_end_matches(".mp4")), png)?;
    }
    Ok(())
}

fn env_input(var: &str, field: &str) -> Result<Vec<MediaInput>, std::io::Error> {
    match std::env::var_os(var) {
        Some(path) => Ok(vec![MediaInput {
            field: field.to_string(),
            bytes: std::fs::read(path)?,
        }]),
        None => Ok(Vec::new()),
    }
}
