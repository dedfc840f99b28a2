//! H.264 encoding with OpenH264 (compiled from its bundled source by the `openh264` crate).
//!
//! Settings chosen for previews that must be exact and reproducible: one encoder thread (the
//! bitstream does not depend on scheduling), frame skipping off (every input frame yields exactly
//! one access unit), bitrate rate control sized from the pixel rate, and an IDR every two seconds.
//! Output samples are converted from Annex B to length-prefixed NAL units, with the parameter sets
//! kept aside for the `avcC` box.

use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod,
    RateControlMode, UsageType, VuiConfig,
};
use openh264::OpenH264API;

use crate::yuv::Yuv420;

/// Bits per pixel per frame the rate control aims for.
const BITS_PER_PIXEL: f64 = 0.09;

/// One encoded frame in MP4 sample form.
#[derive(Clone, Debug)]
pub struct Sample {
    /// NAL units, each prefixed with its 4-byte big-endian length.
    pub data: Vec<u8>,
    /// Whether the sample is an IDR picture (a sync sample).
    pub keyframe: bool,
}

/// Sequence and picture parameter sets, as raw NAL units.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParameterSets {
    /// The first SPS seen.
    pub sps: Vec<u8>,
    /// The first PPS seen.
    pub pps: Vec<u8>,
}

/// An H.264 encoder for one clip.
pub struct H264Encoder {
    encoder: Encoder,
    fps: u32,
    frame_index: u64,
    /// Parameter sets captured from the first IDR.
    pub parameter_sets: ParameterSets,
}

impl H264Encoder {
    /// Creates an encoder for `width` × `height` at `fps`.
    pub fn new(width: usize, height: usize, fps: u32) -> Result<Self, String> {
        let bitrate = (width * height) as f64 * f64::from(fps) * BITS_PER_PIXEL;
        let config = EncoderConfig::new()
            .bitrate(BitRate::from_bps(
                bitrate.clamp(200_000.0, 40_000_000.0) as u32
            ))
            .max_frame_rate(FrameRate::from_hz(fps as f32))
            .rate_control_mode(RateControlMode::Bufferbased)
            .skip_frames(false)
            .usage_type(UsageType::CameraVideoRealTime)
            .complexity(Complexity::Low)
            .num_threads(1)
            .intra_frame_period(IntraFramePeriod::from_num_frames(fps * 2))
            .vui(VuiConfig::bt709());
        let encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| format!("cannot start the H.264 encoder: {e}"))?;
        Ok(Self {
            encoder,
            fps,
            frame_index: 0,
            parameter_sets: ParameterSets::default(),
        })
    }

    /// Encodes one frame into exactly one sample.
    pub fn encode(&mut self, frame: &Yuv420) -> Result<Sample, String> {
        let millis = self.frame_index * 1000 / u64::from(self.fps.max(1));
        self.frame_index += 1;
        let timestamp = openh264::Timestamp::from_millis(millis);
        let bitstream = self
            .encoder
            .encode_at(frame, timestamp)
            .map_err(|e| format!("H.264 encode failed: {e}"))?;
        if matches!(bitstream.frame_type(), FrameType::Skip | FrameType::Invalid) {
            return Err("H.264 encoder skipped a frame".to_string());
        }
        let mut annex_b = Vec::new();
        bitstream.write_vec(&mut annex_b);
        let mut sample = Sample {
            data: Vec::with_capacity(annex_b.len()),
            keyframe: false,
        };
        for nal in split_annex_b(&annex_b) {
            match nal.first().map(|b| b & 0x1f) {
                Some(7) if self.parameter_sets.sps.is_empty() => {
                    self.parameter_sets.sps = nal.to_vec()
                }
                Some(8) if self.parameter_sets.pps.is_empty() => {
                    self.parameter_sets.pps = nal.to_vec()
                }
                Some(7 | 8) => {}
                Some(kind) => {
                    if kind == 5 {
                        sample.keyframe = true;
                    }
                    sample
                        .data
                        .extend_from_slice(&(nal.len() as u32).to_be_bytes());
                    sample.data.extend_from_slice(nal);
                }
                None => {}
            }
        }
        if sample.data.is_empty() {
            return Err("H.264 encoder produced an empty frame".to_string());
        }
        Ok(sample)
    }
}

/// Splits an Annex B byte stream into NAL units (start codes removed).
pub fn split_annex_b(stream: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i] == 0 && stream[i + 1] == 0 && stream[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::with_capacity(starts.len());
    for (n, &start) in starts.iter().enumerate() {
        let mut end = starts.get(n + 1).map_or(stream.len(), |&next| next - 3);
        while end > start && stream[end - 1] == 0 {
            end -= 1;
        }
        if end > start {
            nals.push(&stream[start..end]);
        }
    }
    nals
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annex_b_split_handles_three_and_four_byte_start_codes() {
        let stream = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4,
        ];
        let nals = split_annex_b(&stream);
        assert_eq!(
            nals,
            vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4][..]]
        );
    }

    #[test]
    fn every_frame_becomes_one_sample_and_the_first_is_a_keyframe() {
        let mut encoder = H264Encoder::new(64, 48, 24).expect("encoder");
        let mut frame = Yuv420::black(64, 48);
        for i in 0..5u8 {
            frame.y.fill(16 + i * 30);
            let sample = encoder.encode(&frame).expect("encodes");
            assert_eq!(sample.keyframe, i == 0);
        }
        assert_eq!(
            encoder.parameter_sets.sps.first().map(|b| b & 0x1f),
            Some(7)
        );
        assert_eq!(
            encoder.parameter_sets.pps.first().map(|b| b & 0x1f),
            Some(8)
        );
    }
}
