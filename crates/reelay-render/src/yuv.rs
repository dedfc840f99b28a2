//! YUV 4:2:0 pictures (BT.709, limited range) and the two colour conversions the renderer
//! needs: RGB → YUV once per input picture, and YUV → RGB once for the last-frame PNG.
//!
//! Every frame is drawn straight into these planes; there is no per-frame RGB stage.

use openh264::formats::YUVSource;

/// A planar YUV 4:2:0 picture with tightly packed rows (stride = width).
///
/// Width and height are even, so the chroma planes are exactly half size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Yuv420 {
    /// Luma width in pixels (even).
    pub width: usize,
    /// Luma height in pixels (even).
    pub height: usize,
    /// Luma plane, `width * height` bytes.
    pub y: Vec<u8>,
    /// Cb plane, `(width / 2) * (height / 2)` bytes.
    pub u: Vec<u8>,
    /// Cr plane, `(width / 2) * (height / 2)` bytes.
    pub v: Vec<u8>,
}

/// Luma of black in limited range.
pub const Y_BLACK: u8 = 16;
/// Luma of white in limited range.
pub const Y_WHITE: u8 = 235;
/// Neutral chroma.
pub const C_NEUTRAL: u8 = 128;

impl Yuv420 {
    /// A black picture. `width` and `height` must be even (callers round them).
    pub fn black(width: usize, height: usize) -> Self {
        let chroma = (width / 2) * (height / 2);
        Self {
            width,
            height,
            y: vec![Y_BLACK; width * height],
            u: vec![C_NEUTRAL; chroma],
            v: vec![C_NEUTRAL; chroma],
        }
    }

    /// Converts packed RGB8 (`width * height * 3` bytes, even dimensions) to YUV 4:2:0.
    pub fn from_rgb(rgb: &[u8], width: usize, height: usize) -> Self {
        let mut out = Self::black(width, height);
        let chroma_width = width / 2;
        for row_pair in 0..height / 2 {
            let top = &rgb[row_pair * 2 * width * 3..(row_pair * 2 + 1) * width * 3];
            let bottom = &rgb[(row_pair * 2 + 1) * width * 3..(row_pair * 2 + 2) * width * 3];
            let y_top = row_pair * 2 * width;
            for x in 0..width {
                out.y[y_top + x] = luma(&top[x * 3..x * 3 + 3]);
                out.y[y_top + width + x] = luma(&bottom[x * 3..x * 3 + 3]);
            }
            for cx in 0..chroma_width {
                let mut sum = [0i32; 3];
                for px in [&top[cx * 6..cx * 6 + 6], &bottom[cx * 6..cx * 6 + 6]] {
                    for channel in 0..3 {
                        sum[channel] += i32::from(px[channel]) + i32::from(px[channel + 3]);
                    }
                }
                let (r, g, b) = (sum[0], sum[1], sum[2]);
                let index = row_pair * chroma_width + cx;
                // Sums of four pixels: divide by 4 inside the shift.
                out.u[index] = clamp_u8(((-26 * r - 87 * g + 113 * b + 512) >> 10) + 128);
                out.v[index] = clamp_u8(((112 * r - 102 * g - 10 * b + 512) >> 10) + 128);
            }
        }
        out
    }

    /// Converts to packed RGB8 (nearest-neighbour chroma), for the last-frame PNG.
    pub fn to_rgb(&self) -> Vec<u8> {
        let mut rgb = vec![0u8; self.width * self.height * 3];
        let chroma_width = self.width / 2;
        for row in 0..self.height {
            for x in 0..self.width {
                let c = (row / 2) * chroma_width + x / 2;
                let luma = (i32::from(self.y[row * self.width + x]) - 16) * 298;
                let cb = i32::from(self.u[c]) - 128;
                let cr = i32::from(self.v[c]) - 128;
                let out = &mut rgb[(row * self.width + x) * 3..][..3];
                out[0] = clamp_u8((luma + 459 * cr + 128) >> 8);
                out[1] = clamp_u8((luma - 55 * cb - 136 * cr + 128) >> 8);
                out[2] = clamp_u8((luma + 541 * cb + 128) >> 8);
            }
        }
        rgb
    }

    /// Copies all three planes from `other`, which must have the same size.
    pub fn copy_from(&mut self, other: &Self) {
        self.y.copy_from_slice(&other.y);
        self.u.copy_from_slice(&other.u);
        self.v.copy_from_slice(&other.v);
    }
}

/// BT.709 limited-range luma of one RGB8 pixel.
#[inline]
fn luma(px: &[u8]) -> u8 {
    let (r, g, b) = (i32::from(px[0]), i32::from(px[1]), i32::from(px[2]));
    clamp_u8(((47 * r + 157 * g + 16 * b + 128) >> 8) + 16)
}

/// Clamps an integer into `0..=255`.
#[inline]
pub fn clamp_u8(value: i32) -> u8 {
    value.clamp(0, 255) as u8
}

/// BT.709 limited-range (Y, Cb, Cr) of one colour given as RGB floats in `0.0..=1.0`.
pub fn rgb_to_ycbcr(r: f32, g: f32, b: f32) -> (u8, u8, u8) {
    let y = 16.0 + 219.0 * (0.2126 * r + 0.7152 * g + 0.0722 * b);
    let cb = 128.0 + 224.0 * (-0.1146 * r - 0.3854 * g + 0.5 * b);
    let cr = 128.0 + 224.0 * (0.5 * r - 0.4542 * g - 0.0458 * b);
    (
        y.round().clamp(0.0, 255.0) as u8,
        cb.round().clamp(0.0, 255.0) as u8,
        cr.round().clamp(0.0, 255.0) as u8,
    )
}

impl YUVSource for Yuv420 {
    fn dimensions(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    fn strides(&self) -> (usize, usize, usize) {
        (self.width, self.width / 2, self.width / 2)
    }

    fn y(&self) -> &[u8] {
        &self.y
    }

    fn u(&self) -> &[u8] {
        &self.u
    }

    fn v(&self) -> &[u8] {
        &self.v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rgb_round_trip_stays_close_for_flat_colours() {
        for colour in [[0u8, 0, 0], [255, 255, 255], [200, 30, 90], [20, 160, 240]] {
            let rgb: Vec<u8> = colour.iter().copied().cycle().take(4 * 4 * 3).collect();
            let back = Yuv420::from_rgb(&rgb, 4, 4).to_rgb();
            for (a, b) in rgb.iter().zip(&back) {
                assert!(
                    (i32::from(*a) - i32::from(*b)).abs() <= 4,
                    "{colour:?}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn float_and_integer_conversions_agree() {
        let (y, u, v) = rgb_to_ycbcr(200.0 / 255.0, 30.0 / 255.0, 90.0 / 255.0);
        let picture = Yuv420::from_rgb(&[200, 30, 90].repeat(4), 2, 2);
        assert!((i32::from(y) - i32::from(picture.y[0])).abs() <= 1);
        assert!((i32::from(u) - i32::from(picture.u[0])).abs() <= 1);
        assert!((i32::from(v) - i32::from(picture.v[0])).abs() <= 1);
    }
}
