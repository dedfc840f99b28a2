//! Sprites: small pre-rendered YUV+alpha overlays (title lines with a soft shadow, the label and
//! watermark chips), built once per render and alpha-blended into each frame.

use crate::text::Mask;
use crate::yuv::{Yuv420, C_NEUTRAL, Y_BLACK, Y_WHITE};

/// A pre-rendered overlay with even dimensions and a neutral (grey-scale) colour.
#[derive(Clone, Debug, Default)]
pub struct Sprite {
    /// Width in luma pixels (even).
    pub width: usize,
    /// Height in luma pixels (even).
    pub height: usize,
    /// Luma the sprite paints, per pixel.
    pub luma: Vec<u8>,
    /// Opacity per luma pixel.
    pub alpha: Vec<u8>,
    /// Opacity per chroma pixel (2×2 average of `alpha`); chroma is pulled to neutral.
    pub chroma_alpha: Vec<u8>,
}

impl Sprite {
    fn from_layers(width: usize, height: usize, luma: Vec<u8>, alpha: Vec<u8>) -> Self {
        let (cw, ch) = (width / 2, height / 2);
        let mut chroma_alpha = vec![0u8; cw * ch];
        for cy in 0..ch {
            for cx in 0..cw {
                let at = |x: usize, y: usize| u32::from(alpha[y * width + x]);
                let sum = at(2 * cx, 2 * cy)
                    + at(2 * cx + 1, 2 * cy)
                    + at(2 * cx, 2 * cy + 1)
                    + at(2 * cx + 1, 2 * cy + 1);
                chroma_alpha[cy * cw + cx] = ((sum + 2) / 4) as u8;
            }
        }
        Self {
            width,
            height,
            luma,
            alpha,
            chroma_alpha,
        }
    }

    /// White text with a soft dark shadow; the sprite is larger than the mask by `margin` on every
    /// side and the text sits at (`margin`, `margin`).
    pub fn text_with_shadow(mask: &Mask, margin: usize) -> Self {
        let width = even_up(mask.width + 2 * margin);
        let height = even_up(mask.height + 2 * margin);
        let mut text = vec![0u8; width * height];
        for y in 0..mask.height {
            let row = &mask.alpha[y * mask.width..(y + 1) * mask.width];
            text[(y + margin) * width + margin..][..mask.width].copy_from_slice(row);
        }
        let radius = (margin / 3).max(1);
        let offset = (margin / 4).max(1);
        let shadow = box_blur(&shift(&text, width, height, offset), width, height, radius);
        let mut luma = vec![Y_BLACK; width * height];
        let mut alpha = vec![0u8; width * height];
        for i in 0..width * height {
            let t = u32::from(text[i]);
            let s = u32::from(shadow[i]) * 3 / 4;
            let combined = t + s * (255 - t) / 255;
            alpha[i] = combined.min(255) as u8;
            if let Some(y) =
                (u32::from(Y_WHITE) * t + u32::from(Y_BLACK) * (combined - t)).checked_div(combined)
            {
                luma[i] = y as u8;
            }
        }
        Self::from_layers(width, height, luma, alpha)
    }

    /// White text on a translucent dark chip with `padding` around it.
    pub fn chip(mask: &Mask, padding: usize) -> Self {
        let width = even_up(mask.width + 2 * padding);
        let height = even_up(mask.height + 2 * padding);
        let background = 150u32;
        let mut luma = vec![Y_BLACK; width * height];
        let mut alpha = vec![background as u8; width * height];
        for y in 0..mask.height {
            for x in 0..mask.width {
                let t = u32::from(mask.alpha[y * mask.width + x]);
                let i = (y + padding) * width + x + padding;
                let combined = t + background * (255 - t) / 255;
                alpha[i] = combined.min(255) as u8;
                luma[i] = ((u32::from(Y_WHITE) * t + u32::from(Y_BLACK) * (combined - t))
                    / combined.max(1)) as u8;
            }
        }
        Self::from_layers(width, height, luma, alpha)
    }

    /// Blends the sprite into `frame` with its top-left corner at (`x`, `y`) (rounded down to
    /// even), scaled by `opacity` (0..=256), clipped to the frame.
    pub fn draw(&self, frame: &mut Yuv420, x: i64, y: i64, opacity: u32) {
        let opacity = opacity.min(256);
        if opacity == 0 {
            return;
        }
        let (x, y) = (x & !1, y & !1);
        blend_layer(
            &mut frame.y,
            frame.width,
            frame.height,
            &self.luma,
            &self.alpha,
            self.width,
            x,
            y,
            opacity,
            None,
        );
        let (cw, ch) = (frame.width / 2, frame.height / 2);
        let sw = self.width / 2;
        for plane in [&mut frame.u, &mut frame.v] {
            blend_layer(
                plane,
                cw,
                ch,
                &[],
                &self.chroma_alpha,
                sw,
                x / 2,
                y / 2,
                opacity,
                Some(C_NEUTRAL),
            );
        }
    }
}

/// Blends `alpha`-weighted `values` (or the constant `fill`) into a plane at (`x`, `y`).
#[allow(clippy::too_many_arguments)]
fn blend_layer(
    plane: &mut [u8],
    plane_width: usize,
    plane_height: usize,
    values: &[u8],
    alpha: &[u8],
    width: usize,
    x: i64,
    y: i64,
    opacity: u32,
    fill: Option<u8>,
) {
    if width == 0 {
        return;
    }
    let height = alpha.len() / width;
    let x_start = x.max(0);
    let x_end = (x + width as i64).min(plane_width as i64);
    let y_start = y.max(0);
    let y_end = (y + height as i64).min(plane_height as i64);
    for py in y_start..y_end {
        let sy = (py - y) as usize;
        for px in x_start..x_end {
            let sx = (px - x) as usize;
            let a = (u32::from(alpha[sy * width + sx]) * opacity) >> 8;
            if a == 0 {
                continue;
            }
            let a = a + (a >> 7);
            let target = u32::from(fill.unwrap_or_else(|| values[sy * width + sx]));
            let out = &mut plane[py as usize * plane_width + px as usize];
            *out = ((u32::from(*out) * (256 - a) + target * a + 128) >> 8) as u8;
        }
    }
}

fn even_up(value: usize) -> usize {
    (value + 1) & !1
}

/// `layer` moved right and down by `offset` pixels.
fn shift(layer: &[u8], width: usize, height: usize, offset: usize) -> Vec<u8> {
    let mut out = vec![0u8; layer.len()];
    for y in offset..height {
        let (src, dst) = ((y - offset) * width, y * width);
        out[dst + offset..dst + width].copy_from_slice(&layer[src..src + width - offset]);
    }
    out
}

/// Separable box blur with the given radius (edges treated as transparent).
fn box_blur(layer: &[u8], width: usize, height: usize, radius: usize) -> Vec<u8> {
    let window = (2 * radius + 1) as u32;
    let mut horizontal = vec![0u8; layer.len()];
    for y in 0..height {
        let row = &layer[y * width..(y + 1) * width];
        for x in 0..width {
            let lo = x.saturating_sub(radius);
            let hi = (x + radius + 1).min(width);
            let sum: u32 = row[lo..hi].iter().map(|&v| u32::from(v)).sum();
            horizontal[y * width + x] = (sum / window) as u8;
        }
    }
    let mut out = vec![0u8; layer.len()];
    for x in 0..width {
        for y in 0..height {
            let lo = y.saturating_sub(radius);
            let hi = (y + radius + 1).min(height);
            let sum: u32 = (lo..hi)
                .map(|yy| u32::from(horizontal[yy * width + x]))
                .sum();
            out[y * width + x] = (sum / window) as u8;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_sprite_replaces_luma_and_clips_at_edges() {
        let mask = Mask {
            width: 4,
            height: 4,
            alpha: vec![255; 16],
        };
        let sprite = Sprite::chip(&mask, 0);
        let mut frame = Yuv420::black(8, 8);
        frame.y.fill(100);
        sprite.draw(&mut frame, 6, 6, 256);
        assert_eq!(frame.y[7 * 8 + 7], Y_WHITE);
        assert_eq!(frame.y[5 * 8 + 5], 100);
        sprite.draw(&mut frame, -100, -100, 256);
    }
}
