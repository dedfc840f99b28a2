//! The two per-frame pixel operations that dominate drawing: scaling a view of a source picture
//! into a rectangle of the frame (bilinear, 8-bit fixed point, row-wise and parallel), and
//! blending two frames (crossfades).
//!
//! Scaling first interpolates the two source rows vertically into a `u16` scratch row (a straight,
//! vectorisable loop), then gathers horizontally through a per-call column table, so each output
//! pixel costs two loads and two multiplies.

use rayon::prelude::*;

use crate::yuv::Yuv420;

/// Rows handed to one rayon task; small enough to balance, large enough to amortise scheduling.
const ROWS_PER_TASK: usize = 8;

/// A rectangle of the frame in luma pixels. All four numbers are even.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    /// Left edge.
    pub x: usize,
    /// Top edge.
    pub y: usize,
    /// Width.
    pub width: usize,
    /// Height.
    pub height: usize,
}

impl Rect {
    /// The whole of a `width` × `height` frame.
    pub fn full(width: usize, height: usize) -> Self {
        Self {
            x: 0,
            y: 0,
            width,
            height,
        }
    }

    fn halved(self) -> Self {
        Self {
            x: self.x / 2,
            y: self.y / 2,
            width: self.width / 2,
            height: self.height / 2,
        }
    }
}

/// The part of a source picture to show, in source luma pixel coordinates (may be fractional).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct View {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

impl View {
    /// The whole of `picture`.
    pub fn whole(picture: &Yuv420) -> Self {
        Self {
            x: 0.0,
            y: 0.0,
            width: picture.width as f64,
            height: picture.height as f64,
        }
    }

    /// The largest centred region of a `width` × `height` source with the aspect ratio of `rect`
    /// (a cover crop).
    pub fn cover(width: usize, height: usize, rect: Rect) -> Self {
        let (sw, sh) = (width as f64, height as f64);
        let target = rect.width as f64 / rect.height.max(1) as f64;
        if sw / sh > target {
            let w = sh * target;
            Self {
                x: (sw - w) / 2.0,
                y: 0.0,
                width: w,
                height: sh,
            }
        } else {
            let h = sw / target;
            Self {
                x: 0.0,
                y: (sh - h) / 2.0,
                width: sw,
                height: h,
            }
        }
    }

    fn halved(self) -> Self {
        Self {
            x: self.x / 2.0,
            y: self.y / 2.0,
            width: self.width / 2.0,
            height: self.height / 2.0,
        }
    }
}

/// Draws `view` of `src` scaled to fill `rect` of `dst`.
pub fn draw_view(dst: &mut Yuv420, rect: Rect, src: &Yuv420, view: View) {
    let (dst_width, src_width) = (dst.width, src.width);
    scale_plane(
        &mut dst.y, dst_width, rect, &src.y, src_width, src.height, view,
    );
    let (chroma_rect, chroma_view) = (rect.halved(), view.halved());
    let (dst_cw, src_cw, src_ch) = (dst_width / 2, src_width / 2, src.height / 2);
    scale_plane(
        &mut dst.u,
        dst_cw,
        chroma_rect,
        &src.u,
        src_cw,
        src_ch,
        chroma_view,
    );
    scale_plane(
        &mut dst.v,
        dst_cw,
        chroma_rect,
        &src.v,
        src_cw,
        src_ch,
        chroma_view,
    );
}

/// One output column: the left source sample (relative to the scratch row) and the weight of the
/// right one, 0..=255.
#[derive(Clone, Copy)]
struct Column {
    left: u32,
    weight: u32,
}

/// Source position and fractional weight (0..=255) for output sample `index`, clamped to the
/// source.
#[inline]
fn source_position(start: f64, step: f64, index: usize, limit: usize) -> (usize, u32) {
    let position = (start + (index as f64 + 0.5) * step - 0.5).clamp(0.0, (limit - 1) as f64);
    let whole = position.floor();
    let weight = ((position - whole) * 256.0) as u32;
    (whole as usize, weight.min(255))
}

fn scale_plane(
    dst: &mut [u8],
    dst_stride: usize,
    rect: Rect,
    src: &[u8],
    src_width: usize,
    src_height: usize,
    view: View,
) {
    if rect.width == 0 || rect.height == 0 || src_width == 0 || src_height == 0 {
        return;
    }
    let step_x = view.width / rect.width as f64;
    let step_y = view.height / rect.height as f64;
    let mut columns: Vec<Column> = (0..rect.width)
        .map(|dx| {
            let (left, weight) = source_position(view.x, step_x, dx, src_width);
            Column {
                left: left as u32,
                weight,
            }
        })
        .collect();
    // Columns are monotonic: only the span they touch is interpolated vertically.
    let span_start = columns.first().map_or(0, |c| c.left as usize);
    let span_end = columns
        .last()
        .map_or(0, |c| c.left as usize + 1)
        .min(src_width - 1);
    for column in &mut columns {
        column.left -= span_start as u32;
    }
    let span = span_end + 1 - span_start;

    dst.par_chunks_mut(dst_stride)
        .skip(rect.y)
        .take(rect.height)
        .enumerate()
        .with_min_len(ROWS_PER_TASK)
        .for_each_init(
            || vec![0u16; span + 1],
            |scratch, (dy, dst_row)| {
                let (top, weight) = source_position(view.y, step_y, dy, src_height);
                let bottom = (top + 1).min(src_height - 1);
                let top_row = &src[top * src_width + span_start..][..span];
                let bottom_row = &src[bottom * src_width + span_start..][..span];
                let (wt, wb) = (256 - weight as u16, weight as u16);
                for ((out, &a), &b) in scratch.iter_mut().zip(top_row).zip(bottom_row) {
                    *out = u16::from(a) * wt + u16::from(b) * wb;
                }
                scratch[span] = scratch[span - 1];
                let out_row = &mut dst_row[rect.x..rect.x + rect.width];
                for (out, column) in out_row.iter_mut().zip(&columns) {
                    let left = column.left as usize;
                    let a = u32::from(scratch[left]);
                    let b = u32::from(scratch[left + 1]);
                    *out = ((a * (256 - column.weight) + b * column.weight + 32768) >> 16) as u8;
                }
            },
        );
}

/// Blends `rect` of `src` over `dst`: `weight` is the share of `src`, 0..=256.
pub fn blend(dst: &mut Yuv420, src: &Yuv420, rect: Rect, weight: u32) {
    let width = dst.width;
    blend_plane(&mut dst.y, &src.y, width, rect, weight);
    let chroma_rect = rect.halved();
    blend_plane(&mut dst.u, &src.u, width / 2, chroma_rect, weight);
    blend_plane(&mut dst.v, &src.v, width / 2, chroma_rect, weight);
}

fn blend_plane(dst: &mut [u8], src: &[u8], stride: usize, rect: Rect, weight: u32) {
    let weight = weight.min(256) as u16;
    let keep = 256 - weight;
    dst.par_chunks_mut(stride)
        .zip(src.par_chunks(stride))
        .skip(rect.y)
        .take(rect.height)
        .with_min_len(ROWS_PER_TASK)
        .for_each(|(dst_row, src_row)| {
            let span = rect.x..rect.x + rect.width;
            for (d, &s) in dst_row[span.clone()].iter_mut().zip(&src_row[span]) {
                *d = ((u16::from(*d) * keep + u16::from(s) * weight + 128) >> 8) as u8;
            }
        });
}

/// Darkens (`factor` < 256) the luma of `rect` and pulls its chroma towards neutral by the same
/// factor; used to calm a busy background behind text.
pub fn dim(dst: &mut Yuv420, rect: Rect, factor: u32) {
    let factor = factor.min(256) as u16;
    let width = dst.width;
    let rows = dst.y.par_chunks_mut(width).skip(rect.y).take(rect.height);
    rows.with_min_len(ROWS_PER_TASK).for_each(|row| {
        for value in &mut row[rect.x..rect.x + rect.width] {
            let above_black = u16::from(*value).saturating_sub(16);
            *value = (16 + ((above_black * factor) >> 8)) as u8;
        }
    });
    let chroma = rect.halved();
    for plane in [&mut dst.u, &mut dst.v] {
        for row in plane
            .chunks_mut(width / 2)
            .skip(chroma.y)
            .take(chroma.height)
        {
            for value in &mut row[chroma.x..chroma.x + chroma.width] {
                let offset = i32::from(*value) - 128;
                *value = (128 + ((offset * i32::from(factor)) >> 8)) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(width: usize, height: usize) -> Yuv420 {
        let mut picture = Yuv420::black(width, height);
        for (i, value) in picture.y.iter_mut().enumerate() {
            *value = ((i % width) * 255 / (width - 1)) as u8;
        }
        picture
    }

    #[test]
    fn identity_view_copies_the_source() {
        let src = gradient(64, 32);
        let mut dst = Yuv420::black(64, 32);
        draw_view(&mut dst, Rect::full(64, 32), &src, View::whole(&src));
        assert_eq!(dst, src);
    }

    #[test]
    fn downscale_keeps_the_gradient_monotonic_and_in_range() {
        let src = gradient(300, 100);
        let mut dst = Yuv420::black(64, 20);
        draw_view(&mut dst, Rect::full(64, 20), &src, View::whole(&src));
        let row = &dst.y[..64];
        assert!(row.windows(2).all(|pair| pair[0] <= pair[1]));
        assert!(row[0] < 5 && row[63] > 250);
    }

    #[test]
    fn cover_view_crops_to_the_target_aspect() {
        let view = View::cover(400, 100, Rect::full(100, 100));
        assert_eq!((view.x, view.width, view.height), (150.0, 100.0, 100.0));
    }

    #[test]
    fn blend_weights_the_source() {
        let mut dst = Yuv420::black(4, 4);
        let mut src = Yuv420::black(4, 4);
        src.y.fill(216);
        blend(&mut dst, &src, Rect::full(4, 4), 128);
        assert!(dst.y.iter().all(|&v| v == 116));
        blend(&mut dst, &src, Rect::full(4, 4), 256);
        assert_eq!(dst.y, src.y);
    }
}
