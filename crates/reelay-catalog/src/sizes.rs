//! Output pixel sizes (API.md §10) and the snapping of an image's shape to
//! the nearest supported ratio, used to resolve `ratio: adaptive`.

/// The six plain ratios, in the column order of API.md §10.
pub const KNOWN_RATIOS: &[&str] = &["16:9", "4:3", "1:1", "3:4", "9:16", "21:9"];

/// Every resolution tier with an output size, smallest first.
pub const KNOWN_RESOLUTIONS: &[&str] = &["480p", "720p", "1080p", "2k", "4k"];

/// Output size per resolution, one `(width, height)` per ratio of [`KNOWN_RATIOS`].
const SIZES: &[(&str, [(u32, u32); 6])] = &[
    (
        "480p",
        [
            (864, 480),
            (736, 544),
            (640, 640),
            (544, 736),
            (480, 864),
            (960, 416),
        ],
    ),
    (
        "720p",
        [
            (1248, 704),
            (1120, 832),
            (960, 960),
            (832, 1120),
            (704, 1248),
            (1504, 640),
        ],
    ),
    (
        "1080p",
        [
            (1920, 1088),
            (1664, 1248),
            (1440, 1440),
            (1248, 1664),
            (1088, 1920),
            (2176, 928),
        ],
    ),
    (
        "2k",
        [
            (2560, 1440),
            (2208, 1664),
            (1920, 1920),
            (1664, 2208),
            (1440, 2560),
            (3024, 1296),
        ],
    ),
    (
        "4k",
        [
            (3840, 2160),
            (3328, 2496),
            (2880, 2880),
            (2496, 3328),
            (2160, 3840),
            (4032, 1728),
        ],
    ),
];

/// Frames per second of every output.
pub const OUTPUT_FPS: u32 = 24;

/// The output `(width, height)` for a resolution (`480p`..`4k`) and a plain
/// ratio (`16:9`..`21:9`); `None` for anything else, including `adaptive`
/// (resolve it with [`nearest_ratio`] first).
pub fn output_size(resolution: &str, ratio: &str) -> Option<(u32, u32)> {
    let column = KNOWN_RATIOS.iter().position(|known| *known == ratio)?;
    SIZES
        .iter()
        .find(|(name, _)| *name == resolution)
        .map(|(_, row)| row[column])
}

/// Parses `"W:H"` into width / height as a float.
fn ratio_value(ratio: &str) -> Option<f64> {
    let (width, height) = ratio.split_once(':')?;
    let width: f64 = width.trim().parse().ok()?;
    let height: f64 = height.trim().parse().ok()?;
    (width > 0.0 && height > 0.0).then_some(width / height)
}

/// The ratio of `allowed` nearest to `width × height` (compared on a log
/// scale, so 2:1 and 1:2 are equally far from 1:1; ties go to the earlier
/// entry). Entries that are not `W:H` (such as `adaptive`) are skipped. When
/// `allowed` has no usable entry, the six plain ratios are used; a zero
/// width or height gives `16:9`.
pub fn nearest_ratio(width: u32, height: u32, allowed: &[&str]) -> String {
    if width == 0 || height == 0 {
        return "16:9".to_string();
    }
    let target = (f64::from(width) / f64::from(height)).ln();
    let mut candidates: Vec<(&str, f64)> = allowed
        .iter()
        .filter_map(|ratio| ratio_value(ratio).map(|value| (*ratio, value)))
        .collect();
    if candidates.is_empty() {
        candidates = KNOWN_RATIOS
            .iter()
            .filter_map(|ratio| ratio_value(ratio).map(|value| (*ratio, value)))
            .collect();
    }
    let mut best: Option<(&str, f64)> = None;
    for (ratio, value) in candidates {
        let distance = (value.ln() - target).abs();
        if best.is_none_or(|(_, best_distance)| distance < best_distance) {
            best = Some((ratio, distance));
        }
    }
    best.map_or_else(|| "16:9".to_string(), |(ratio, _)| ratio.to_string())
}
