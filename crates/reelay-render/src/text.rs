//! Typesetting: the embedded font, line wrapping for mixed Chinese/English text, fitting a
//! paragraph into a box, and rasterising lines into 8-bit coverage masks.
//!
//! The fonts (DejaVu Sans for Latin, Droid Sans Fallback for CJK; see `fonts/README.md`) are
//! compiled in, so output is identical on every machine. A character the font lacks is drawn as an outlined "tofu" box;
//! control characters other than newlines are dropped. Nothing here panics on any input text.

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont};

/// DejaVu Sans: Latin, Greek, Cyrillic and symbols (Bitstream Vera licence).
static LATIN_FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
/// Droid Sans Fallback: CJK, kana and hangul (Apache-2.0).
static CJK_FONT: &[u8] = include_bytes!("../fonts/DroidSansFallbackFull.ttf");

/// An 8-bit coverage mask (255 = fully inside a glyph).
#[derive(Clone, Debug, Default)]
pub struct Mask {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height` coverage values, row-major.
    pub alpha: Vec<u8>,
}

/// The embedded fonts, tried in order for each character.
pub struct Typeface {
    fonts: Vec<FontRef<'static>>,
}

impl Typeface {
    /// Parses the embedded fonts.
    pub fn embedded() -> Result<Self, String> {
        let fonts = [LATIN_FONT, CJK_FONT]
            .into_iter()
            .map(|bytes| FontRef::try_from_slice(bytes).map_err(|e| format!("embedded font: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { fonts })
    }

    /// The first font with a glyph for `c`, and that glyph.
    fn pick(&self, c: char) -> Option<(&FontRef<'static>, GlyphId)> {
        self.fonts.iter().find_map(|font| {
            let id = font.glyph_id(c);
            (id != GlyphId(0)).then_some((font, id))
        })
    }

    /// Whether some embedded font has a real glyph for `c`.
    pub fn has_glyph(&self, c: char) -> bool {
        self.pick(c).is_some()
    }

    /// Advance width of `c` at `size` pixels (tofu boxes get 0.6 em).
    fn advance(&self, c: char, size: f32) -> f32 {
        match self.pick(c) {
            Some((font, id)) => font.as_scaled(PxScale::from(size)).h_advance(id),
            None => size * 0.6,
        }
    }

    /// Width of `text` on one line at `size` pixels.
    pub fn measure(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(c, size)).sum()
    }

    /// The largest ascent and descent (below the baseline, positive) of the fonts at `size`.
    fn extents(&self, size: f32) -> (f32, f32) {
        self.fonts
            .iter()
            .fold((0.0f32, 0.0f32), |(ascent, descent), font| {
                let scaled = font.as_scaled(PxScale::from(size));
                (ascent.max(scaled.ascent()), descent.max(-scaled.descent()))
            })
    }

    /// Line height at `size` pixels.
    pub fn line_height(&self, size: f32) -> f32 {
        let (ascent, descent) = self.extents(size);
        (ascent + descent) * 1.08
    }

    /// Rasterises one line of text; the mask is as wide as the text and one line high.
    pub fn rasterize_line(&self, text: &str, size: f32) -> Mask {
        let (ascent, _) = self.extents(size);
        let width = self.measure(text, size).ceil().max(1.0) as usize;
        let height = self.line_height(size).ceil().max(1.0) as usize;
        let mut mask = Mask {
            width,
            height,
            alpha: vec![0; width * height],
        };
        let mut pen = 0.0f32;
        for c in text.chars() {
            match self.pick(c) {
                Some((font, id)) => {
                    let glyph = id.with_scale_and_position(size, ab_glyph::point(pen, ascent));
                    if let Some(outlined) = font.outline_glyph(glyph) {
                        let bounds = outlined.px_bounds();
                        outlined.draw(|x, y, coverage| {
                            let px = bounds.min.x as i64 + i64::from(x);
                            let py = bounds.min.y as i64 + i64::from(y);
                            add_coverage(&mut mask, px, py, coverage);
                        });
                    }
                }
                None => draw_tofu(&mut mask, pen, ascent, size),
            }
            pen += self.advance(c, size);
        }
        mask
    }
}

fn add_coverage(mask: &mut Mask, x: i64, y: i64, coverage: f32) {
    if x < 0 || y < 0 || x as usize >= mask.width || y as usize >= mask.height {
        return;
    }
    let index = y as usize * mask.width + x as usize;
    let value = u32::from(mask.alpha[index]) + (coverage.clamp(0.0, 1.0) * 255.0).round() as u32;
    mask.alpha[index] = value.min(255) as u8;
}

/// An outlined box standing in for a character the font does not have.
fn draw_tofu(mask: &mut Mask, pen: f32, ascent: f32, size: f32) {
    let left = (pen + size * 0.08).round() as i64;
    let right = (pen + size * 0.52).round() as i64;
    let top = (ascent - size * 0.72).round() as i64;
    let bottom = ascent.round() as i64;
    let stroke = (size / 14.0).round().max(1.0) as i64;
    for y in top..bottom {
        for x in left..right {
            let edge = x < left + stroke
                || x >= right - stroke
                || y < top + stroke
                || y >= bottom - stroke;
            if edge {
                add_coverage(mask, x, y, 1.0);
            }
        }
    }
}

/// True for characters after which a line may break without a space (CJK and full-width forms).
fn is_cjk(c: char) -> bool {
    matches!(u32::from(c),
        0x1100..=0x11FF | 0x2E80..=0x9FFF | 0xA960..=0xA97F | 0xAC00..=0xD7FF
        | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF)
}

/// Splits `text` into unbreakable pieces: a CJK character, a word, or a run of spaces;
/// newlines become their own `"\n"` piece and other control characters are dropped.
fn pieces(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        let c = if c == '\t' { ' ' } else { c };
        if c == '\n' || c == ' ' || is_cjk(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            out.push(c.to_string());
        } else if !c.is_control() {
            word.push(c);
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Greedy line wrapping of `text` into lines no wider than `max_width` at `size` pixels.
/// Words longer than a line are broken between characters.
pub fn wrap(face: &Typeface, text: &str, size: f32, max_width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_width = 0.0f32;
    for piece in pieces(text) {
        if piece == "\n" {
            lines.push(std::mem::take(&mut line).trim_end().to_string());
            line_width = 0.0;
            continue;
        }
        if piece == " " && line.is_empty() {
            continue;
        }
        let width = face.measure(&piece, size);
        if line_width + width <= max_width {
            line.push_str(&piece);
            line_width += width;
            continue;
        }
        if !line.trim().is_empty() {
            lines.push(std::mem::take(&mut line).trim_end().to_string());
        }
        line.clear();
        line_width = 0.0;
        if piece == " " {
            continue;
        }
        for c in piece.chars() {
            let advance = face.measure(c.encode_utf8(&mut [0; 4]), size);
            if line_width + advance > max_width && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                line_width = 0.0;
            }
            line.push(c);
            line_width += advance;
        }
    }
    if !line.trim().is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines.retain(|l| !l.is_empty());
    lines
}

/// A paragraph fitted into a box: its lines and the pixel size they are set at.
#[derive(Clone, Debug, PartialEq)]
pub struct Fitted {
    /// The wrapped lines (the last one ends in "…" when the text had to be cut).
    pub lines: Vec<String>,
    /// Font size in pixels.
    pub size: f32,
}

/// Finds the largest size between `min_size` and `max_size` at which `text` fits in
/// `max_width` × `max_height` (and at most `line_cap` lines); at `min_size` it cuts the text and
/// ends it with an ellipsis.
pub fn fit(
    face: &Typeface,
    text: &str,
    max_width: f32,
    max_height: f32,
    line_cap: usize,
    min_size: f32,
    max_size: f32,
) -> Fitted {
    let mut size = max_size.max(min_size);
    loop {
        let max_lines =
            ((max_height / face.line_height(size)).floor() as usize).clamp(1, line_cap.max(1));
        let lines = wrap(face, text, size, max_width);
        if lines.len() <= max_lines {
            return Fitted { lines, size };
        }
        if size <= min_size {
            let mut lines = lines;
            lines.truncate(max_lines);
            if let Some(last) = lines.last_mut() {
                while !last.is_empty() && face.measure(&format!("{last}…"), size) > max_width {
                    last.pop();
                }
                last.push('…');
            }
            return Fitted { lines, size };
        }
        size = (size * 0.9).max(min_size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face() -> Typeface {
        Typeface::embedded().expect("embedded font parses")
    }

    #[test]
    fn embedded_font_covers_latin_and_chinese() {
        let face = face();
        assert!("Reelay 0-9 ?! ·".chars().all(|c| face.has_glyph(c)));
        assert!("一只猫在月光下跳舞。".chars().all(|c| face.has_glyph(c)));
    }

    #[test]
    fn english_wraps_at_spaces() {
        let face = face();
        let lines = wrap(&face, "a cat dancing under the moon at night", 20.0, 120.0);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| face.measure(l, 20.0) <= 120.0));
        assert_eq!(lines.join(" "), "a cat dancing under the moon at night");
    }

    #[test]
    fn chinese_wraps_between_characters() {
        let face = face();
        let lines = wrap(&face, "一只猫在月光下跳舞一只猫在月光下跳舞", 20.0, 100.0);
        assert!(lines.len() >= 3);
        assert_eq!(lines.concat(), "一只猫在月光下跳舞一只猫在月光下跳舞");
    }

    #[test]
    fn overlong_text_is_cut_with_an_ellipsis() {
        let face = face();
        let fitted = fit(&face, &"word ".repeat(500), 200.0, 1000.0, 3, 12.0, 40.0);
        assert_eq!(fitted.lines.len(), 3);
        assert!(fitted.lines[2].ends_with('…'));
        assert_eq!(fitted.size, 12.0);
    }

    #[test]
    fn emoji_and_control_characters_render_as_tofu_without_panicking() {
        let face = face();
        assert!(!face.has_glyph('\u{10fffd}') && !face.has_glyph('🫠'));
        let mask = face.rasterize_line("hi 😀🫠\u{0}\u{200b}𝄞\u{10fffd}", 24.0);
        assert!(mask.alpha.iter().any(|&a| a > 0));
        assert!(wrap(&face, "\u{1}\u{7f}\n\n😀😀", 24.0, 10.0).len() >= 2);
        assert!(wrap(&face, "", 24.0, 100.0).is_empty());
    }
}
