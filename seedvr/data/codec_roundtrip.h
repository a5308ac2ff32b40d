// Lossy compression round trips through libavcodec, in memory (no files):
// JPEG via the mjpeg encoder and whole-clip video codecs (x264, MPEG-4, ...).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "seedvr/data/frame.h"

namespace seedvr::data {

// mjpeg qscale matching a libjpeg quality factor (1-100): libjpeg scales its
// standard tables by s = 50/q (q < 50) or 2 - q/50, and FFmpeg's quantiser
// step is about table * qscale / 8, so qscale ~= 8 s, clamped to [1, 31].
// Approximate: FFmpeg's MJPEG tables are not libjpeg's exactly.
int JpegQualityToQscale(double quality);

// Compresses `frame` as a baseline 4:2:0 JPEG at `quality` and decodes it back.
absl::Status JpegRoundTrip(Frame* frame, double quality);
absl::Status JpegRoundTrip(uint8_t* rgb, int w, int h, double quality);

struct CodecRoundTripOptions {
  std::string encoder = "libx264";  // any libavcodec encoder with a matching decoder
  int crf = -1;                      // x264/x265
  int64_t bitrate = 0;               // bits/s
  int qscale = -1;                   // mpeg4/mpeg2 fixed quantiser
  std::string preset = "veryfast";
  double fps = 25.0;
  int gop = 12;
};

// Encodes the whole clip as one stream (yuv420p, BT.601 limited) and decodes it
// back in place. Odd or tiny sizes are padded by edge replication to a multiple
// of 16 (at least 32) and cropped back.
absl::Status VideoCodecRoundTrip(Clip* clip, const CodecRoundTripOptions& options);

}  // namespace seedvr::data
