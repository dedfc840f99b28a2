//! Property tests (bounded fuzzing) of the sniffer and the probers: on any bytes — random, or a
//! valid PNG / JPEG / WAV / MP4 with bytes flipped, truncated or spliced — they return a
//! result or an error and never panic, and a probe that succeeds reports sane facts.
//! `PROPTEST_CASES` raises the count for a longer run.

use image::ImageFormat;
use proptest::prelude::*;
use reelay_media::{probe, sniff};

use crate::fixtures::{image_file, movie_file, wav_file};

fn seeds() -> Vec<Vec<u8>> {
    vec![
        image_file(64, 48, ImageFormat::Png),
        image_file(40, 30, ImageFormat::Jpeg),
        image_file(16, 16, ImageFormat::Gif),
        wav_file(8000, 1, 0.25),
        movie_file(b"isom", 2.0, 320, 240),
        movie_file(b"qt  ", 1.5, 640, 360),
    ]
}

/// A seed file changed by up to 8 byte edits, then maybe truncated.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let count = seeds().len();
    (
        0..count,
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        prop::option::of(any::<prop::sample::Index>()),
    )
        .prop_map(|(which, edits, cut)| {
            let mut bytes = seeds().swap_remove(which);
            for (at, value) in edits {
                let i = at.index(bytes.len());
                bytes[i] = value;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            bytes
        })
}

fn check(bytes: &[u8]) {
    let _ = sniff(bytes);
    if let Ok(probed) = probe(bytes) {
        if let (Some(w), Some(h)) = (probed.width, probed.height) {
            assert!(w > 0 && h > 0, "a probe reports positive sizes: {w}x{h}");
        }
        if let Some(secs) = probed.duration_secs {
            assert!(
                secs.is_finite() && secs >= 0.0,
                "a duration is finite: {secs} s"
            );
        }
        assert_eq!(probed.size_bytes, bytes.len() as u64);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes);
    }

    #[test]
    fn mutated_media_never_panics(bytes in mutated()) {
        check(&bytes);
    }

    #[test]
    fn magic_prefixes_with_garbage_never_panic(
        prefix in prop::sample::select(vec![
            b"\x89PNG\r\n\x1a\n".to_vec(),
            b"\xff\xd8\xff".to_vec(),
            b"GIF89a".to_vec(),
            b"RIFF\x00\x00\x00\x00WAVE".to_vec(),
            b"ID3".to_vec(),
            b"\x00\x00\x00\x18ftypisom".to_vec(),
            b"\x00\x00\x00\x14ftypqt  ".to_vec(),
        ]),
        tail in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = prefix;
        bytes.extend_from_slice(&tail);
        check(&bytes);
    }
}
