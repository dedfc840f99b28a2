//! Input images: probing their size, decoding them (with limits, so huge or hostile files fail
//! cleanly), cover-cropping to the output's aspect and scaling them once to the size the frames
//! sample from.

use std::io::Cursor;

use image::{ImageReader, Limits};

use crate::draw::{draw_view, Rect, View};
use crate::yuv::Yuv420;

/// The largest side we agree to decode.
const MAX_SIDE: u32 = 16_384;
/// The most memory the image decoder may allocate for one input.
const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, String> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("cannot read image: {e}"))?;
    if reader.format().is_none() {
        return Err("not a supported image (PNG, JPEG, WebP, BMP or GIF)".to_string());
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    Ok(reader)
}

/// Pixel size of an encoded image, read from its header only.
pub fn image_dimensions(bytes: &[u8]) -> Result<(u32, u32), String> {
    reader(bytes)?
        .into_dimensions()
        .map_err(|e| format!("cannot read image size: {e}"))
}

/// Decodes `bytes`, crops it to the aspect ratio of `width` × `height` (centred) and scales it
/// to exactly that size (both even).
pub fn load_cover(bytes: &[u8], width: usize, height: usize) -> Result<Yuv420, String> {
    let decoded = reader(bytes)?
        .decode()
        .map_err(|e| format!("cannot decode image: {e}"))?;
    let rgb = decoded.into_rgb8();
    let (src_width, src_height) = (rgb.width() as usize, rgb.height() as usize);
    if src_width == 0 || src_height == 0 {
        return Err("image is empty".to_string());
    }
    let crop = View::cover(src_width, src_height, Rect::full(width, height));
    // Cheap integer box reduction first so the final bilinear pass never skips source pixels.
    let factor = ((crop.width / width as f64)
        .min(crop.height / height as f64)
        .floor() as usize)
        .max(1);
    let (reduced, reduced_width, reduced_height) =
        box_reduce(rgb.as_raw(), src_width, src_height, factor);
    drop(rgb);
    let source = Yuv420::from_rgb(&reduced, reduced_width, reduced_height);
    let scale = factor as f64;
    let view = View {
        x: crop.x / scale,
        y: crop.y / scale,
        width: crop.width / scale,
        height: crop.height / scale,
    };
    let mut out = Yuv420::black(width, height);
    draw_view(&mut out, Rect::full(width, height), &source, view);
    Ok(out)
}

/// Averages `factor` × `factor` blocks of packed RGB8; the result has even dimensions (a last
/// odd row/column is dropped, or duplicated for one-pixel images).
fn box_reduce(rgb: &[u8], width: usize, height: usize, factor: usize) -> (Vec<u8>, usize, usize) {
    let out_width = ((width / factor) & !1).max(2);
    let out_height = ((height / factor) & !1).max(2);
    let mut out = vec![0u8; out_width * out_height * 3];
    let area = (factor * factor) as u32;
    for oy in 0..out_height {
        for ox in 0..out_width {
            let mut sum = [0u32; 3];
            for dy in 0..factor {
                let sy = (oy * factor + dy).min(height - 1);
                for dx in 0..factor {
                    let sx = (ox * factor + dx).min(width - 1);
                    let px = &rgb[(sy * width + sx) * 3..][..3];
                    for c in 0..3 {
                        sum[c] += u32::from(px[c]);
                    }
                }
            }
            let dst = &mut out[(oy * out_width + ox) * 3..][..3];
            for c in 0..3 {
                dst[c] = ((sum[c] + area / 2) / area) as u8;
            }
        }
    }
    (out, out_width, out_height)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img =
            image::RgbImage::from_fn(width, height, |x, _| image::Rgb([(x % 256) as u8, 90, 200]));
        let mut bytes = Vec::new();
        img.write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
            .expect("encode png");
        bytes
    }

    #[test]
    fn dimensions_come_from_the_header() {
        assert_eq!(image_dimensions(&png(33, 17)), Ok((33, 17)));
        assert!(image_dimensions(b"not an image").is_err());
    }

    #[test]
    fn odd_and_tiny_images_scale_to_the_exact_output_size() {
        for (w, h) in [(1, 1), (33, 17), (3001, 7)] {
            let picture = load_cover(&png(w, h), 64, 36).expect("decodes");
            assert_eq!(
                (picture.width, picture.height, picture.y.len()),
                (64, 36, 64 * 36)
            );
        }
    }

    #[test]
    fn truncated_images_are_errors() {
        let bytes = png(40, 40);
        assert!(load_cover(&bytes[..bytes.len() / 2], 16, 16).is_err());
    }
}
