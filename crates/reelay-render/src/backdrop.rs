//! The title card's backdrop: a two-colour gradient at a seeded angle with soft glowing blobs and
//! a vignette, all derived from the prompt and seed, rendered once (in parallel rows) and then
//! filmed with the same Ken Burns camera as still images.

use rayon::prelude::*;

use crate::plan::Rng;
use crate::yuv::Yuv420;

/// A soft coloured glow.
struct Blob {
    x: f32,
    y: f32,
    radius: f32,
    colour: [f32; 3],
    strength: f32,
}

/// HSV (all 0..1) to RGB (0..1).
fn hsv(h: f64, s: f64, v: f64) -> [f32; 3] {
    let h = (h.rem_euclid(1.0)) * 6.0;
    let c = v * s;
    let x = c * (1.0 - ((h % 2.0) - 1.0).abs());
    let m = v - c;
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    [(r + m) as f32, (g + m) as f32, (b + m) as f32]
}

/// Renders a `width` × `height` (even) backdrop from `rng`.
pub fn render(width: usize, height: usize, rng: &mut Rng) -> Yuv420 {
    let base_hue = rng.unit();
    let second_hue = base_hue + rng.range(0.12, 0.45);
    let from = hsv(base_hue, rng.range(0.55, 0.8), rng.range(0.18, 0.32));
    let to = hsv(second_hue, rng.range(0.5, 0.8), rng.range(0.32, 0.5));
    let angle = rng.range(0.0, std::f64::consts::TAU);
    let (dx, dy) = (angle.cos() as f32, angle.sin() as f32);
    let blobs: Vec<Blob> = (0..6)
        .map(|_| Blob {
            x: rng.range(0.0, 1.0) as f32,
            y: rng.range(0.0, 1.0) as f32,
            radius: rng.range(0.15, 0.45) as f32,
            colour: hsv(
                base_hue + rng.range(-0.1, 0.55),
                rng.range(0.4, 0.8),
                rng.range(0.6, 1.0),
            ),
            strength: rng.range(0.12, 0.3) as f32,
        })
        .collect();
    let dither_seed = rng.next_u64();
    let (w, h) = (width as f32, height as f32);
    let aspect = w / h;
    let mut rgb = vec![0u8; width * height * 3];
    rgb.par_chunks_mut(width * 3)
        .enumerate()
        .for_each(|(row, out)| {
            let v = (row as f32 + 0.5) / h;
            for col in 0..width {
                let u = (col as f32 + 0.5) / w;
                let t = (((u - 0.5) * dx * aspect + (v - 0.5) * dy) * 0.9 + 0.5).clamp(0.0, 1.0);
                let mut colour: [f32; 3] = std::array::from_fn(|c| from[c] + (to[c] - from[c]) * t);
                for blob in &blobs {
                    let ddx = (u - blob.x) * aspect;
                    let ddy = v - blob.y;
                    let falloff = 1.0 - (ddx * ddx + ddy * ddy) / (blob.radius * blob.radius);
                    if falloff > 0.0 {
                        let glow = falloff * falloff * blob.strength;
                        for (value, tint) in colour.iter_mut().zip(blob.colour) {
                            *value += tint * glow;
                        }
                    }
                }
                let edge = ((u - 0.5) * (u - 0.5) + (v - 0.5) * (v - 0.5)) * 1.6;
                let vignette = (1.0 - edge).max(0.35);
                // ±0.5 level of hashed dither keeps the smooth gradient from banding.
                let noise = hash_noise(dither_seed, row, col);
                let px = &mut out[col * 3..col * 3 + 3];
                for (out, value) in px.iter_mut().zip(colour) {
                    *out = ((value * vignette).min(1.0) * 255.0 + noise)
                        .round()
                        .clamp(0.0, 255.0) as u8;
                }
            }
        });
    Yuv420::from_rgb(&rgb, width, height)
}

/// Deterministic noise in -0.5..0.5 for one pixel.
fn hash_noise(seed: u64, row: usize, col: usize) -> f32 {
    let mut z = seed ^ ((row as u64) << 32 | col as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z ^= z >> 32;
    (z & 0xffff) as f32 / 65535.0 - 0.5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backdrops_depend_only_on_the_seed() {
        let a = render(64, 36, &mut Rng::for_request("sea", 1));
        let b = render(64, 36, &mut Rng::for_request("sea", 1));
        let c = render(64, 36, &mut Rng::for_request("sea", 2));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
