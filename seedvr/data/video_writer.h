// Video encoding through FFmpeg from packed RGB24 frames, or RGB48 for high
// bit depth (swscale converts to the encoder's pix_fmt). No FFmpeg types here.
//
// Timing: frames are 1/fps apart unless Write is given a pts, counted in the
// time base of the options (the reader's time_base_num/den and pts reproduce
// a variable frame rate). Containers may store times in their own time base
// (mkv: 1/1000, mp4: a multiple of the one asked for), rounding to it.
// An image sequence is a path with a frame number pattern and an image codec:
// "dir/%06d.png" writes dir/000001.png, dir/000002.png, ...
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "seedvr/data/frame.h"

namespace seedvr::data {

struct EncoderOptions {
  // Encoder name as FFmpeg spells it ("libx264", "libx265", "libvpx-vp9",
  // "ffv1", "mpeg4", "mjpeg", "png", "prores" = prores_ks, ...). Empty: the
  // container's default — mp4/mov/mkv -> libx264, webm -> libvpx-vp9,
  // avi -> mpeg4, %06d.png -> png, %06d.jpg -> mjpeg.
  std::string codec;
  double fps = 25.0;           // stored as the closest rational (29.97 -> 30000/1001)
  // Time base of the pts given to Write; 0/0 = 1/fps (frame numbers).
  int time_base_num = 0;
  int time_base_den = 0;
  int crf = -1;                // libx264/libx265/libvpx-vp9 constant quality; -1 = encoder default
  int64_t bitrate = 0;         // bits/s; 0 = unset
  int qscale = -1;             // fixed quantiser for mpeg4/mjpeg (1-31); -1 = unset
  std::string preset;          // x264/x265 preset, e.g. "veryfast"
  // yuv420p, yuv444p, yuv420p10le, yuv444p10le, rgb24 (png), ... as the
  // encoder takes it (a pair it does not take is an error naming both).
  // Empty = yuv420p, or the encoder's first when it does not take yuv420p
  // (prores: yuv422p10le, png: rgb24); mjpeg: yuvj420p.
  std::string pix_fmt;
  int gop = -1;                // keyframe interval; -1 = encoder default
  int threads = 1;
  // bt709 | bt601 | bt2020; written into the stream. JPEG (mjpeg) is always
  // BT.601 full range, what JFIF means and what JPEG decoders assume
  // whatever the tags say: color_matrix and full_range do not apply to it.
  std::string color_matrix = "bt709";
  // Written into the stream, named as FFmpeg names them ("bt709", "bt2020",
  // "smpte2084", "arib-std-b67", ...). Empty: what color_matrix implies
  // (bt709 -> bt709/bt709, bt601 -> smpte170m/smpte170m, bt2020 -> bt2020/bt2020-10).
  std::string color_primaries;
  std::string color_trc;
  bool full_range = false;  // limited (16-235) unless set; RGB pix_fmts are full range
  // Counterclockwise display rotation in degrees, stored as the stream's
  // display matrix; VideoInfo::rotation_degrees reads the same value back.
  // Only the mov/mp4 family stores one (in FFmpeg 5.1): elsewhere a non-zero
  // rotation is an error rather than dropped.
  int rotation_degrees = 0;
  std::string format;                  // container override ("matroska", "mp4", ...)
  std::map<std::string, std::string> codec_options;  // extra AVOptions for the encoder
};

// Whether the container `path` (or `format`) is written in stores a display
// rotation (EncoderOptions::rotation_degrees); elsewhere rotate the pixels.
bool StoresRotation(const std::string& path, const std::string& format = "");

class VideoWriter {
 public:
  // The container comes from the extension of `path` unless options.format.
  static absl::StatusOr<std::unique_ptr<VideoWriter>> Open(const std::string& path, int width, int height,
                                                           const EncoderOptions& options = {});
  ~VideoWriter();  // closes if still open (errors are lost: call Close())
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  // `pts` in the options' time base, after the previous frame's; < 0: the
  // previous frame's plus 1/fps (the first frame: 0).
  absl::Status Write(const Frame& frame, int64_t pts = -1);
  absl::Status Write(const uint8_t* rgb, int64_t pts = -1);  // width*height*3 bytes
  // Packed RGB48, native endian, full range [0, 65535]: width*height*3 values.
  // Keeps the precision of a 10-bit (or deeper) pix_fmt.
  absl::Status Write16(const uint16_t* rgb48, int64_t pts = -1);
  // Flushes the encoder and writes the container trailer.
  absl::Status Close();

 private:
  struct Impl;
  explicit VideoWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

absl::Status WriteVideo(const std::string& path, const std::vector<Frame>& frames, const EncoderOptions& options = {});
absl::Status WriteVideo(const std::string& path, const Clip& clip, const EncoderOptions& options = {});

}  // namespace seedvr::data
