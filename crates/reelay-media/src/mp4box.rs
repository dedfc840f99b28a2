//! The one ISO base media (MP4 / QuickTime MOV) box walker, shared by the media probe and
//! reelay-render's reference-video demuxer.
//!
//! A box is a 32-bit size, a four-character type, and a body; a size of 1 means a 64-bit
//! size follows the type, and a size of 0 means "to the end of the parent". [`boxes`] walks
//! the boxes laid end to end in a parent's body, [`find`] takes the first child of a type,
//! [`find_path`] follows a path of types down the tree. [`u16_be`], [`u32_be`], [`u64_be`]
//! and [`uint_be`] read the fields inside a body, and [`version_and_flags`] the header of a
//! full box.
//!
//! Architecture Invariant: every declared size is checked against the bytes its parent
//! actually holds before anything is sliced, nothing is allocated in proportion to a declared
//! size, and hostile input yields a [`BoxError`], never a panic. Bodies are borrowed from the
//! input, never copied.

use std::borrow::Cow;

/// One box: its four-character type and its body (the bytes after the header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mp4Box<'a> {
    /// The box type, e.g. `*b"moov"`.
    pub kind: [u8; 4],
    /// The box's contents after its 8- or 16-byte header.
    pub body: &'a [u8],
}

/// Why a run of boxes could not be walked.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum BoxError {
    /// Fewer bytes are left than a box header (8 bytes, or 16 with a 64-bit size) needs.
    #[error("truncated box header")]
    TruncatedHeader,
    /// The declared size is smaller than the box's own header.
    #[error("box '{}' has an impossible size {size}", fourcc(.kind))]
    ImpossibleSize {
        /// The box type.
        kind: [u8; 4],
        /// The declared size in bytes.
        size: u64,
    },
    /// The declared size runs past the end of the parent (or of the file, at the top level).
    #[error("box '{}' runs past the end of the file", fourcc(.kind))]
    PastEnd {
        /// The box type.
        kind: [u8; 4],
    },
}

/// The callers' parsers report errors as strings; this lets `?` convert.
impl From<BoxError> for String {
    fn from(error: BoxError) -> Self {
        error.to_string()
    }
}

/// A box type as text for messages; bytes that are not UTF-8 show as U+FFFD.
pub fn fourcc(kind: &[u8; 4]) -> Cow<'_, str> {
    String::from_utf8_lossy(kind)
}

/// Iterates the boxes laid end to end in a parent's body; yields one error and stops at a box
/// whose header or size does not fit. Made by [`boxes`].
#[derive(Clone, Debug)]
pub struct Boxes<'a> {
    data: &'a [u8],
    position: usize,
    failed: bool,
    short_tail_ends: bool,
}

/// The boxes laid end to end in `data` (a file, or a box's body).
pub fn boxes(data: &[u8]) -> Boxes<'_> {
    Boxes {
        data,
        position: 0,
        failed: false,
        short_tail_ends: false,
    }
}

impl<'a> Boxes<'a> {
    /// Ends the walk quietly when fewer than 8 bytes are left, instead of reporting
    /// [`BoxError::TruncatedHeader`]. QuickTime ends some atom lists with a 32-bit zero, which
    /// players skip.
    pub fn allowing_short_tail(mut self) -> Self {
        self.short_tail_ends = true;
        self
    }

    /// The body of the first remaining box of type `kind`, if any. Boxes after it are not
    /// read, so a damaged box behind the one wanted is not an error.
    pub fn find_kind(self, kind: &[u8; 4]) -> Result<Option<&'a [u8]>, BoxError> {
        for item in self {
            let item = item?;
            if &item.kind == kind {
                return Ok(Some(item.body));
            }
        }
        Ok(None)
    }

    fn read_box(&mut self) -> Result<Mp4Box<'a>, BoxError> {
        let rest = self.data.get(self.position..).unwrap_or_default();
        let size32 = u32_be(rest, 0).ok_or(BoxError::TruncatedHeader)?;
        let kind: [u8; 4] = array_at(rest, 4).ok_or(BoxError::TruncatedHeader)?;
        let (header_len, size) = match size32 {
            0 => (8, rest.len() as u64),
            1 => (16, u64_be(rest, 8).ok_or(BoxError::TruncatedHeader)?),
            size => (8, u64::from(size)),
        };
        if size < header_len as u64 {
            return Err(BoxError::ImpossibleSize { kind, size });
        }
        let size = usize::try_from(size)
            .ok()
            .filter(|size| *size <= rest.len())
            .ok_or(BoxError::PastEnd { kind })?;
        let body = rest
            .get(header_len..size)
            .ok_or(BoxError::PastEnd { kind })?;
        self.position += size;
        Ok(Mp4Box { kind, body })
    }
}

impl<'a> Iterator for Boxes<'a> {
    type Item = Result<Mp4Box<'a>, BoxError>;

    fn next(&mut self) -> Option<Self::Item> {
        let left = self.data.len().saturating_sub(self.position);
        if self.failed || left == 0 || (self.short_tail_ends && left < 8) {
            return None;
        }
        let result = self.read_box();
        if result.is_err() {
            self.failed = true;
        }
        Some(result)
    }
}

/// The body of the first child of type `kind` in `data`, if any (see [`Boxes::find_kind`]).
pub fn find<'a>(data: &'a [u8], kind: &[u8; 4]) -> Result<Option<&'a [u8]>, BoxError> {
    boxes(data).find_kind(kind)
}

/// Follows a path of box types down from `data`, e.g. `[b"mdia", b"minf", b"stbl"]` from a
/// `trak` body; `None` when a box on the path is missing.
pub fn find_path<'a>(data: &'a [u8], path: &[&[u8; 4]]) -> Result<Option<&'a [u8]>, BoxError> {
    let mut current = data;
    for kind in path {
        match find(current, kind)? {
            Some(body) => current = body,
            None => return Ok(None),
        }
    }
    Ok(Some(current))
}

/// The version and the 24-bit flags that open a full box's body, or `None` when the body is
/// shorter than four bytes.
pub fn version_and_flags(body: &[u8]) -> Option<(u8, u32)> {
    let word = u32_be(body, 0)?;
    Some(((word >> 24) as u8, word & 0x00FF_FFFF))
}

/// `N` bytes at `at`, or `None` past the end.
pub fn array_at<const N: usize>(data: &[u8], at: usize) -> Option<[u8; N]> {
    let end = at.checked_add(N)?;
    data.get(at..end)?.try_into().ok()
}

/// A big-endian `u16` at `at`, or `None` past the end.
pub fn u16_be(data: &[u8], at: usize) -> Option<u16> {
    array_at(data, at).map(u16::from_be_bytes)
}

/// A big-endian `u32` at `at`, or `None` past the end.
pub fn u32_be(data: &[u8], at: usize) -> Option<u32> {
    array_at(data, at).map(u32::from_be_bytes)
}

/// A big-endian `u64` at `at`, or `None` past the end.
pub fn u64_be(data: &[u8], at: usize) -> Option<u64> {
    array_at(data, at).map(u64::from_be_bytes)
}

/// A big-endian unsigned integer of `len` bytes (0 to 8) at `at`, e.g. an H.264 NAL length
/// whose size a header chooses; `None` past the end or for `len` over 8.
pub fn uint_be(data: &[u8], at: usize, len: usize) -> Option<u64> {
    if len > 8 {
        return None;
    }
    let bytes = data.get(at..at.checked_add(len)?)?;
    Some(
        bytes
            .iter()
            .fold(0, |value, &byte| (value << 8) | u64::from(byte)),
    )
}

/// A box with a 32-bit size around `body`, for tests that build files by hand.
#[cfg(test)]
pub(crate) fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(data: &[u8]) -> Vec<Result<Mp4Box<'_>, BoxError>> {
        boxes(data).collect()
    }

    fn found<'a>(kind: &[u8; 4], body: &'a [u8]) -> Result<Mp4Box<'a>, BoxError> {
        Ok(Mp4Box { kind: *kind, body })
    }

    #[test]
    fn boxes_laid_end_to_end_are_read_in_order() {
        let mut data = mp4_box(b"ftyp", b"isom");
        data.extend_from_slice(&mp4_box(b"free", b""));
        data.extend_from_slice(&mp4_box(b"mdat", b"xyz"));
        assert_eq!(
            walk(&data),
            vec![
                found(b"ftyp", b"isom"),
                found(b"free", b""),
                found(b"mdat", b"xyz"),
            ]
        );
        assert!(walk(&[]).is_empty());
    }

    #[test]
    fn a_truncated_header_is_an_error_and_ends_the_walk() {
        let mut data = mp4_box(b"free", b"ab");
        data.extend_from_slice(&[0, 0, 0]);
        assert_eq!(
            walk(&data),
            vec![found(b"free", b"ab"), Err(BoxError::TruncatedHeader)]
        );
        assert_eq!(
            BoxError::TruncatedHeader.to_string(),
            "truncated box header"
        );
    }

    #[test]
    fn a_short_tail_ends_the_walk_quietly_when_allowed() {
        let mut data = mp4_box(b"avcC", b"\x01");
        data.extend_from_slice(&[0, 0, 0, 0]);
        let kinds: Vec<_> = boxes(&data)
            .allowing_short_tail()
            .map(|item| item.map(|found| found.kind))
            .collect();
        assert_eq!(kinds, vec![Ok(*b"avcC")]);
        // A full header that lies is still an error.
        let mut lying = mp4_box(b"avcC", b"");
        lying.extend_from_slice(&[0, 0, 0, 99, b'b', b't', b'r', b't']);
        let last = boxes(&lying).allowing_short_tail().last();
        assert_eq!(last, Some(Err(BoxError::PastEnd { kind: *b"btrt" })));
    }

    #[test]
    fn a_64_bit_size_is_read_after_the_type() {
        let mut data = 1u32.to_be_bytes().to_vec();
        data.extend_from_slice(b"mdat");
        data.extend_from_slice(&20u64.to_be_bytes());
        data.extend_from_slice(b"body");
        data.extend_from_slice(&mp4_box(b"moov", b""));
        assert_eq!(
            walk(&data),
            vec![found(b"mdat", b"body"), found(b"moov", b"")]
        );
    }

    #[test]
    fn a_64_bit_size_cut_short_is_a_truncated_header() {
        let mut data = 1u32.to_be_bytes().to_vec();
        data.extend_from_slice(b"mdat");
        data.extend_from_slice(&[0, 0, 0]);
        assert_eq!(walk(&data), vec![Err(BoxError::TruncatedHeader)]);
        // Even when a short tail is allowed: the 8-byte header is there, the size is not.
        assert_eq!(
            boxes(&data).allowing_short_tail().next(),
            Some(Err(BoxError::TruncatedHeader))
        );
    }

    #[test]
    fn a_size_of_zero_runs_to_the_end_of_the_parent() {
        let mut data = mp4_box(b"ftyp", b"isom");
        data.extend_from_slice(&0u32.to_be_bytes());
        data.extend_from_slice(b"mdat");
        data.extend_from_slice(b"the rest");
        assert_eq!(
            walk(&data),
            vec![found(b"ftyp", b"isom"), found(b"mdat", b"the rest"),]
        );
    }

    #[test]
    fn a_box_running_past_its_parent_is_an_error() {
        let mut data = 1000u32.to_be_bytes().to_vec();
        data.extend_from_slice(b"moov");
        data.extend_from_slice(&[0; 16]);
        let error = find(&data, b"moov").expect_err("runs past");
        assert_eq!(error, BoxError::PastEnd { kind: *b"moov" });
        assert_eq!(
            error.to_string(),
            "box 'moov' runs past the end of the file"
        );
        // A child that fits the file but not its parent is caught too.
        let mut inner = mp4_box(b"trak", &[0; 8]);
        inner[3] = 40;
        let mut file = mp4_box(b"moov", &inner);
        file.extend_from_slice(&[0; 64]);
        assert_eq!(
            find_path(&file, &[b"moov", b"trak"]),
            Err(BoxError::PastEnd { kind: *b"trak" })
        );
    }

    #[test]
    fn a_size_smaller_than_its_header_is_an_error() {
        let mut data = 3u32.to_be_bytes().to_vec();
        data.extend_from_slice(b"moov");
        assert_eq!(
            walk(&data),
            vec![Err(BoxError::ImpossibleSize {
                kind: *b"moov",
                size: 3
            })]
        );
        assert_eq!(
            walk(&data)[0].clone().expect_err("impossible").to_string(),
            "box 'moov' has an impossible size 3"
        );
        let mut wide = 1u32.to_be_bytes().to_vec();
        wide.extend_from_slice(b"mdat");
        wide.extend_from_slice(&15u64.to_be_bytes());
        assert_eq!(
            walk(&wide),
            vec![Err(BoxError::ImpossibleSize {
                kind: *b"mdat",
                size: 15
            })]
        );
    }

    #[test]
    fn a_huge_64_bit_size_is_an_error_not_an_overflow() {
        for size in [u64::MAX, u64::MAX - 8, 1 << 63] {
            let mut data = mp4_box(b"free", b"");
            data.extend_from_slice(&1u32.to_be_bytes());
            data.extend_from_slice(b"mdat");
            data.extend_from_slice(&size.to_be_bytes());
            data.extend_from_slice(&[0; 32]);
            assert_eq!(
                walk(&data).pop(),
                Some(Err(BoxError::PastEnd { kind: *b"mdat" }))
            );
        }
    }

    #[test]
    fn a_path_is_followed_down_the_tree() {
        let stbl = mp4_box(b"stbl", &mp4_box(b"stsz", b"sizes"));
        let mut minf = mp4_box(b"vmhd", b"");
        minf.extend_from_slice(&mp4_box(b"minf", &stbl));
        let trak = mp4_box(b"trak", &mp4_box(b"mdia", &minf));
        let path: [&[u8; 4]; 5] = [b"trak", b"mdia", b"minf", b"stbl", b"stsz"];
        assert_eq!(find_path(&trak, &path), Ok(Some(&b"sizes"[..])));
        assert_eq!(find_path(&trak, &[b"trak", b"mdia", b"hdlr"]), Ok(None));
        assert_eq!(find_path(&trak, &[]), Ok(Some(&trak[..])));
    }

    #[test]
    fn find_stops_at_the_first_match_and_reads_no_further() {
        let mut data = mp4_box(b"moov", b"first");
        data.extend_from_slice(&mp4_box(b"moov", b"second"));
        data.extend_from_slice(&[0xFF; 5]);
        assert_eq!(find(&data, b"moov"), Ok(Some(&b"first"[..])));
        assert_eq!(find(&data, b"udta"), Err(BoxError::TruncatedHeader));
    }

    #[test]
    fn full_box_version_and_flags_are_split() {
        assert_eq!(
            version_and_flags(&[1, 0x0A, 0x0B, 0x0C, 9]),
            Some((1, 0x0A_0B0C))
        );
        assert_eq!(version_and_flags(&[0, 0, 1]), None);
    }

    #[test]
    fn integer_reads_past_the_end_are_none() {
        let data = [0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0];
        assert_eq!(u16_be(&data, 6), Some(0xDEF0));
        assert_eq!(u16_be(&data, 7), None);
        assert_eq!(u32_be(&data, 4), Some(0x9ABC_DEF0));
        assert_eq!(u64_be(&data, 0), Some(0x1234_5678_9ABC_DEF0));
        assert_eq!(u64_be(&data, 1), None);
        assert_eq!(uint_be(&data, 1, 3), Some(0x34_5678));
        assert_eq!(uint_be(&data, 0, 0), Some(0));
        assert_eq!(uint_be(&data, 6, 3), None);
        assert_eq!(uint_be(&data, 0, 9), None);
        assert_eq!(uint_be(&data, usize::MAX, 2), None);
        assert_eq!(array_at::<2>(&data, usize::MAX), None);
    }
}
