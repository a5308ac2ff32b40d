// Video decoding through FFmpeg (libavformat/libavcodec/libswscale) into
// packed RGB24, or RGB48 for high bit depth. No FFmpeg or torch types in this
// header.
//
// Colour: the stream's matrix (BT.601/709/2020/...) and range (limited/full)
// are honoured via sws_setColorspaceDetails; an untagged stream uses BT.709
// when its height is >= 720 and BT.601 otherwise (the player convention).
// Output RGB is full range [0, 255] (RGB48: [0, 65535]).
//
// Frames come out as stored: a display rotation is reported in VideoInfo,
// not applied, so a writer can copy it to the output unchanged; with
// ReaderOptions::upright they come out as players show them.
//
// What the decoder delivers is the truth, the container's metadata a hint:
// an exact frame count is the video stream's packets, and a header count or
// duration that disagrees with it is logged once per Open (data/log.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "seedvr/data/data_config.h"
#include "seedvr/data/frame.h"

namespace seedvr::data {

struct VideoInfo {
  std::string path;
  std::string container;  // e.g. "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi"
  std::string codec;      // decoder name, e.g. "h264", "hevc", "vp9"
  std::string pix_fmt;
  int bits_per_component = 8;  // of the stored pix_fmt: 8, 10, 12, ...
  // Colour tags as FFmpeg names them (av_color_*_name); "unknown" when the
  // stream leaves one unspecified.
  std::string color_matrix;     // "bt709", "smpte170m", "bt2020nc", ...
  std::string color_primaries;  // "bt709", "bt2020", ...
  std::string color_trc;        // "bt709", "smpte2084", "arib-std-b67", ...
  bool full_range = false;
  // Counterclockwise rotation in degrees [0, 360) that the display matrix
  // asks players to apply, as av_display_rotation_get reports it (rounded);
  // 0 when the stream has none.
  int rotation_degrees = 0;
  int width = 0;
  int height = 0;
  double fps = 0.0;
  double time_base_s = 0.0;  // timestamp resolution (mkv: 0.001), so times are +-time_base_s / 2
  // The same time base exactly, and the first timestamp in it: what Read's
  // `pts` is counted in, for writing a stream with the same timing.
  int time_base_num = 0;
  int time_base_den = 0;
  int64_t start_pts = 0;
  double duration_s = 0.0;
  // Frames in the stream: with ReaderOptions::exact_frame_count the video
  // stream's packets; else the container's count when it stores one (mp4,
  // mov, avi) or duration * fps (mkv, webm). Both are hints only: remuxed and
  // legacy files store wrong counts, and an mkv's duration is its longest
  // stream's, so a soundtrack that outlasts the picture inflates it.
  int64_t frame_count = 0;
  bool frame_count_exact = false;
  // The stored pix_fmt has an alpha plane (RGBA PNG, ...): frames come out
  // as RGB, without it.
  bool has_alpha = false;
};

struct ReaderOptions {
  int threads = 1;                 // decoder threads (the loader parallelizes across clips)
  // Count the video stream's packets (demux only, no decode) when the
  // container stores no frame count. Set it wherever the count sizes work
  // (restoring a whole video, sampling clip starts); it costs one pass over
  // the file at Open.
  bool exact_frame_count = false;
  // Frames come out as players show them: the display rotation, rounded to
  // a multiple of 90 degrees, is applied to the pixels, and info() reports
  // the displayed width and height and a rotation_degrees of 0. For
  // consumers that cannot carry the rotation as a tag (training, image
  // outputs, containers without a display matrix).
  bool upright = false;
  // Streams whose frames hold more pixels than this are refused at Open
  // with ResourceExhausted, before any decoder allocates a frame (a few KB
  // can declare 16000 x 16000); 0: no limit.
  int64_t max_frame_pixels = kDefaultMaxFramePixels;
  // Open, a seek or a Read that takes longer than this fails with
  // DeadlineExceeded instead of hanging (a stalled mount, a stuck demuxer);
  // 0: no limit. Paths are checked to be regular files before they are
  // opened, so a FIFO never blocks the open.
  double timeout_s = 120;
};

class VideoReader {
 public:
  static absl::StatusOr<std::unique_ptr<VideoReader>> Open(const std::string& path,
                                                           const ReaderOptions& options = {});
  ~VideoReader();
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  const VideoInfo& info() const;

  // The next Read returns frame `index` (0-based, counted from the stream's
  // first timestamp). Seeks backward to a keyframe with av_seek_frame, then
  // decodes forward and drops frames before the target; short forward jumps
  // just decode forward.
  absl::Status SeekToFrame(int64_t index);
  // Same, for the first frame whose timestamp is >= `seconds`.
  absl::Status SeekToTime(double seconds);

  // Decodes the next frame. Returns false at the end of the stream; an error
  // for a decoding or demuxing failure. `index` receives the frame index,
  // `time_s` its presentation time in seconds from the stream's first
  // timestamp (index / fps for a frame without a timestamp), `pts` the
  // frame's own timestamp in the stream's time base (info().time_base_num /
  // time_base_den, start_pts included; the one its index implies when it has
  // none), so variable frame rate timing can be written back exactly.
  absl::StatusOr<bool> Read(Frame* out, int64_t* index = nullptr, double* time_s = nullptr, int64_t* pts = nullptr);
  // Same into a caller buffer of width*height*3 bytes (the stream's size).
  absl::StatusOr<bool> ReadInto(uint8_t* rgb, int64_t* index = nullptr, double* time_s = nullptr,
                                int64_t* pts = nullptr);
  // Same as packed RGB48 (native endian, full range [0, 65535]) into
  // width*height*3 values: keeps the precision of 10-bit and deeper streams.
  absl::StatusOr<bool> ReadInto16(uint16_t* rgb48, int64_t* index = nullptr, double* time_s = nullptr,
                                  int64_t* pts = nullptr);

 private:
  struct Impl;
  explicit VideoReader(std::unique_ptr<Impl> impl);
  // ReadInto and ReadInto16: the next frame as packed `rgb_fmt` (an AVPixelFormat).
  absl::StatusOr<bool> ReadAs(uint8_t* rgb, int rgb_fmt, int64_t* index, double* time_s, int64_t* pts);
  std::unique_ptr<Impl> impl_;
  bool pending_ = false;  // a decoded frame from SeekToFrame awaits Read
};

absl::StatusOr<VideoInfo> ProbeVideo(const std::string& path, const ReaderOptions& options = {});

// Reads `count` frames from `start`. When the stream ends first, what the
// decoder delivered is the truth: without `padded` the clip holds only the
// decoded frames (clip.t < count); with `padded` the last decoded frame is
// repeated up to `count` and *padded receives how many were repeated. Never
// pads silently. Fails when no frame at all can be decoded from `start`, or
// when a stream with an exact frame count ends more than 2 frames early
// (truncated). `time_s` (if given) receives each returned frame's time as
// Read reports it; a repeated frame repeats the last time.
absl::StatusOr<Clip> ReadClip(const std::string& path, int64_t start, int count, const ReaderOptions& options = {},
                              int* padded = nullptr, std::vector<double>* time_s = nullptr);

}  // namespace seedvr::data
