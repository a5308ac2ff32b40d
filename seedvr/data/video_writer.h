// Video encoding through FFmpeg from packed RGB24 frames. No FFmpeg types here.
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
  // "mpeg4", "mjpeg", "prores" = prores_ks, ...). Empty: by container —
  // mp4/mov/mkv -> libx264, webm -> libvpx-vp9, avi -> mpeg4.
  std::string codec;
  double fps = 25.0;           // stored as the closest rational (29.97 -> 30000/1001)
  int crf = -1;                // libx264/libx265/libvpx-vp9 constant quality; -1 = encoder default
  int64_t bitrate = 0;         // bits/s; 0 = unset
  int qscale = -1;             // fixed quantiser for mpeg4/mjpeg (1-31); -1 = unset
  std::string preset;          // x264/x265 preset, e.g. "veryfast"
  std::string pix_fmt;         // empty = yuv420p (prores: yuv422p10le, mjpeg: yuvj420p)
  int gop = -1;                // keyframe interval; -1 = encoder default
  int threads = 1;
  std::string color_matrix = "bt709";  // bt709 | bt601 | bt2020; written into the stream
  bool full_range = false;             // limited (16-235) unless set
  std::string format;                  // container override ("matroska", "mp4", ...)
  std::map<std::string, std::string> codec_options;  // extra AVOptions for the encoder
};

class VideoWriter {
 public:
  // The container comes from the extension of `path` unless options.format.
  static absl::StatusOr<std::unique_ptr<VideoWriter>> Open(const std::string& path, int width, int height,
                                                           const EncoderOptions& options = {});
  ~VideoWriter();  // closes if still open (errors are lost: call Close())
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  absl::Status Write(const Frame& frame);
  absl::Status Write(const uint8_t* rgb);  // width*height*3 bytes
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
