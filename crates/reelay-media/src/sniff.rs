//! What a file is, from its first bytes: [`sniff`] reads magic numbers and never trusts a
//! file name or a Content-Type. [`describe_unrecognized`] names common non-media content
//! (an HTML error page, JSON, SVG) so refusals can say what the user actually sent.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The three kinds of media Seedance takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// A still image.
    Image,
    /// A video file.
    Video,
    /// An audio file.
    Audio,
}

impl MediaKind {
    /// "image", "video" or "audio".
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
        }
    }

    /// "an image", "a video", "an audio file": for sentences.
    pub fn with_article(self) -> &'static str {
        match self {
            MediaKind::Image => "an image",
            MediaKind::Video => "a video",
            MediaKind::Audio => "an audio file",
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A container format reelay recognises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaFormat {
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// PNG (8-byte signature).
    Png,
    /// WebP (`RIFF....WEBP`).
    Webp,
    /// Windows bitmap (`BM` with a known DIB header size).
    Bmp,
    /// GIF (`GIF87a` / `GIF89a`).
    Gif,
    /// ISO base media (`ftyp` box, brand other than `qt  `).
    Mp4,
    /// QuickTime (`ftyp` brand `qt  `, or a file starting with `moov`).
    Mov,
    /// MPEG audio layer III (ID3 tag or frame sync).
    Mp3,
    /// RIFF WAVE (`RIFF....WAVE`).
    Wav,
}

impl MediaFormat {
    /// Every format, in a stable order.
    pub const ALL: [MediaFormat; 9] = [
        MediaFormat::Jpeg,
        MediaFormat::Png,
        MediaFormat::Webp,
        MediaFormat::Bmp,
        MediaFormat::Gif,
        MediaFormat::Mp4,
        MediaFormat::Mov,
        MediaFormat::Mp3,
        MediaFormat::Wav,
    ];

    /// Image, video or audio.
    pub fn kind(self) -> MediaKind {
        match self {
            MediaFormat::Jpeg
            | MediaFormat::Png
            | MediaFormat::Webp
            | MediaFormat::Bmp
            | MediaFormat::Gif => MediaKind::Image,
            MediaFormat::Mp4 | MediaFormat::Mov => MediaKind::Video,
            MediaFormat::Mp3 | MediaFormat::Wav => MediaKind::Audio,
        }
    }

    /// The MIME type to store and serve the file with.
    pub fn mime(self) -> &'static str {
        match self {
            MediaFormat::Jpeg => "image/jpeg",
            MediaFormat::Png => "image/png",
            MediaFormat::Webp => "image/webp",
            MediaFormat::Bmp => "image/bmp",
            MediaFormat::Gif => "image/gif",
            MediaFormat::Mp4 => "video/mp4",
            MediaFormat::Mov => "video/quicktime",
            MediaFormat::Mp3 => "audio/mpeg",
            MediaFormat::Wav => "audio/wav",
        }
    }

    /// The short lowercase name, also the usual file extension ("jpeg", "mov", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            MediaFormat::Jpeg => "jpeg",
            MediaFormat::Png => "png",
            MediaFormat::Webp => "webp",
            MediaFormat::Bmp => "bmp",
            MediaFormat::Gif => "gif",
            MediaFormat::Mp4 => "mp4",
            MediaFormat::Mov => "mov",
            MediaFormat::Mp3 => "mp3",
            MediaFormat::Wav => "wav",
        }
    }
}

impl fmt::Display for MediaFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// ISO-BMFF major brands that are images or audio, not video (HEIF, AVIF, M4A).
const NON_VIDEO_BRANDS: &[&[u8; 4]] = &[
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis",
    b"M4A ", b"M4B ", b"M4P ",
];

/// Sizes of the BMP DIB headers in use (core, info, v2–v5).
const BMP_DIB_SIZES: &[u32] = &[12, 40, 52, 56, 64, 108, 124];

/// The format of `bytes` from its magic numbers, or `None` when it is none of ours.
pub fn sniff(bytes: &[u8]) -> Option<MediaFormat> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(MediaFormat::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(MediaFormat::Png);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Some(MediaFormat::Gif);
    }
    if bytes.len() >= 12 && bytes.starts_with(b"RIFF") {
        match &bytes[8..12] {
            b"WEBP" => return Some(MediaFormat::Webp),
            b"WAVE" => return Some(MediaFormat::Wav),
            _ => return None,
        }
    }
    if is_bmp(bytes) {
        return Some(MediaFormat::Bmp);
    }
    if let Some(format) = sniff_iso_bmff(bytes) {
        return Some(format);
    }
    if bytes.starts_with(b"ID3") || crate::probe::mp3::starts_with_frame(bytes) {
        return Some(MediaFormat::Mp3);
    }
    None
}

fn is_bmp(bytes: &[u8]) -> bool {
    if bytes.len() < 18 || !bytes.starts_with(b"BM") {
        return false;
    }
    let dib_size = u32::from_le_bytes([bytes[14], bytes[15], bytes[16], bytes[17]]);
    BMP_DIB_SIZES.contains(&dib_size)
}

fn sniff_iso_bmff(bytes: &[u8]) -> Option<MediaFormat> {
    match bytes.get(4..8)? {
        b"ftyp" => {
            let brand = bytes.get(8..12)?;
            if brand == b"qt  " {
                Some(MediaFormat::Mov)
            } else if NON_VIDEO_BRANDS.iter().any(|b| &b[..] == brand) {
                None
            } else {
                Some(MediaFormat::Mp4)
            }
        }
        // Old QuickTime files have no ftyp and start with their movie box.
        b"moov" => Some(MediaFormat::Mov),
        _ => None,
    }
}

/// Names what unrecognised bytes look like ("an HTML document", "an empty file", ...),
/// so a refusal can say "an HTML document is not an image".
pub fn describe_unrecognized(bytes: &[u8]) -> &'static str {
    if bytes.is_empty() {
        return "an empty file";
    }
    let head = &bytes[..bytes.len().min(1024)];
    let text = String::from_utf8_lossy(head);
    let trimmed = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .to_ascii_lowercase();
    if trimmed.starts_with("<!doctype html")
        || trimmed.starts_with("<html")
        || trimmed.starts_with("<head")
        || trimmed.starts_with("<body")
        || (trimmed.starts_with('<') && trimmed.contains("<html"))
    {
        "an HTML document"
    } else if trimmed.starts_with("<svg")
        || (trimmed.starts_with("<?xml") && trimmed.contains("<svg"))
    {
        "an SVG image (not supported)"
    } else if trimmed.starts_with("<?xml") {
        "an XML document"
    } else if trimmed.starts_with('{') || trimmed.starts_with('[') {
        "a JSON document"
    } else if head.starts_with(b"%PDF") {
        "a PDF document"
    } else if head.len() >= 12 && &head[4..8] == b"ftyp" {
        "an unsupported ISO media file (HEIF, AVIF or M4A)"
    } else if head.starts_with(b"RIFF") {
        "an unsupported RIFF file"
    } else if head.starts_with(b"PK\x03\x04") {
        "a ZIP archive"
    } else if std::str::from_utf8(head).is_ok() && !head.contains(&0) {
        "a text file"
    } else {
        "a file of unknown format"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers_are_recognised() {
        let mut bmp = b"BM".to_vec();
        bmp.extend_from_slice(&[0; 12]);
        bmp.extend_from_slice(&40u32.to_le_bytes());
        let cases: &[(&[u8], MediaFormat)] = &[
            (b"\xFF\xD8\xFF\xE0\0\x10JFIF", MediaFormat::Jpeg),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", MediaFormat::Png),
            (b"GIF89a\x01\0\x01\0", MediaFormat::Gif),
            (b"RIFF\x24\0\0\0WEBPVP8 ", MediaFormat::Webp),
            (b"RIFF\x24\0\0\0WAVEfmt ", MediaFormat::Wav),
            (&bmp, MediaFormat::Bmp),
            (b"\0\0\0\x18ftypisom\0\0\0\0", MediaFormat::Mp4),
            (b"\0\0\0\x14ftypqt  \0\0\0\0", MediaFormat::Mov),
            (b"\0\0\0\x08moov", MediaFormat::Mov),
            (b"ID3\x04\0\0\0\0\0\0", MediaFormat::Mp3),
        ];
        for (bytes, format) in cases {
            assert_eq!(sniff(bytes), Some(*format), "{format}");
        }
    }

    #[test]
    fn look_alikes_are_not_media() {
        let cases: &[&[u8]] = &[
            b"",
            b"<!DOCTYPE html><html></html>",
            b"BM but not a bitmap at all",
            b"\0\0\0\x18ftypheic\0\0\0\0",
            b"\0\0\0\x18ftypavif\0\0\0\0",
            b"RIFF\x24\0\0\0AVI LIST",
            b"{\"error\":\"not found\"}",
            b"\xFF\xFF\xFF\xFF",
        ];
        for bytes in cases {
            assert_eq!(sniff(bytes), None, "{:?}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn unrecognised_content_is_named() {
        assert_eq!(
            describe_unrecognized(b"  <!doctype html>\n<html>"),
            "an HTML document"
        );
        assert_eq!(describe_unrecognized(b"<html><body>"), "an HTML document");
        assert_eq!(describe_unrecognized(b"{\"a\":1}"), "a JSON document");
        assert_eq!(
            describe_unrecognized(b"<svg xmlns=\"http://www.w3.org/2000/svg\">"),
            "an SVG image (not supported)"
        );
        assert_eq!(describe_unrecognized(b""), "an empty file");
        assert_eq!(
            describe_unrecognized(b"\0\x01\x02"),
            "a file of unknown format"
        );
    }

    #[test]
    fn formats_know_their_kind_and_mime() {
        assert_eq!(MediaFormat::Mov.kind(), MediaKind::Video);
        assert_eq!(MediaFormat::Mov.mime(), "video/quicktime");
        assert_eq!(MediaFormat::Wav.kind(), MediaKind::Audio);
        assert_eq!(MediaFormat::Gif.kind(), MediaKind::Image);
        assert_eq!(MediaFormat::ALL.len(), 9);
    }
}
