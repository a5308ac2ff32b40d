// HQ/LQ video pairs for restoration training.
//
// Frames are read as players show them (a display rotation applied) and
// files whose frames exceed data.max_frame_pixels are skipped and named
// before a frame is decoded; paths that are not regular files (a FIFO, a
// symlink loop) are skipped at Create() and, replaced during training, fail
// the sample instead of blocking it (VideoReader checks before opening).
//
// Layout: data_root/hq/<stem>.<ext> (required) and data_root/lq/<stem>.<ext>
// (optional), ext one of mp4 avi mov mkv webm in any case; pairs match by stem
// (hq/a.mp4 <-> lq/a.mkv). An HQ file without an LQ partner gets a synthesized
// LQ (Degrader) when config.generate_lq, else it is reported and skipped. An LQ
// file without an HQ partner is reported. Every file is probed at Create():
// corrupt, empty, truncated or unsupported files are skipped with one warning
// each naming the file and the reason; no usable pair at all is an error that
// lists what was found.
//
// A sample (Get) is num_frames frames rounded up to 4k+1 (see DataConfig),
// from a random start, with a random crop_size window:
//   * short video (fewer frames than the clip): all frames, then the last
//     frame repeated (the official pipeline's padding rule); counted, and
//     logged once per file. With data.short_clips "skip" such files are
//     left out at Create() instead.
//   * data.resize_to_area > 0: HQ and LQ frames are first resized to that
//     pixel area, aspect kept, as the official inference's AreaResize (size
//     AreaResizeSize, torch's antialiased bicubic), so crops see the scale
//     inference restores at.
//   * small video (narrower or lower than the crop): upscaled (bicubic,
//     aspect kept) just enough to cover the crop; counted.
//   * LQ video: each HQ frame is paired with the LQ frame whose timestamp is
//     nearest (times counted from each stream's first frame; a tie takes the
//     earlier frame), so an LQ at another frame rate covers the same instants;
//     resized (bicubic, antialiased when shrinking) to the HQ frame size so
//     the crop window is the same pixels in both clips.
//
// SampleContent::kHqOnly makes a dataset of HQ clips alone (the VAE's
// reconstruction training): lq/ is not read, nothing is degraded,
// generate_lq is moot and Sample::lq stays empty.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "seedvr/data/data_config.h"
#include "seedvr/data/degradation.h"
#include "seedvr/data/frame.h"
#include "seedvr/data/video_reader.h"

namespace seedvr::data {

struct PairEntry {
  std::string stem;
  std::string hq_path;
  std::string lq_path;  // empty: LQ is synthesized
  VideoInfo hq_info;
  VideoInfo lq_info;
};

struct Sample {
  Clip hq;  // [T, crop_h, crop_w, 3]
  Clip lq;  // same geometry as hq; empty under SampleContent::kHqOnly
  size_t index = 0;
  std::string stem;
  int64_t start_frame = 0;
  int crop_x = 0, crop_y = 0;  // in the (possibly area-resized or upscaled) HQ frame
  int padded_frames = 0;
  bool upscaled = false;
  bool synthesized_lq = false;
  std::string degradation;  // drawn parameters when synthesized
};

enum class SampleContent { kPairs, kHqOnly };

struct SkippedFile {
  std::string path;
  std::string reason;
};

struct DatasetStats {
  int64_t clips_produced = 0;
  int64_t lq_synthesized = 0;
  int64_t padded_clips = 0;
  int64_t upscaled_clips = 0;
  std::vector<SkippedFile> skipped;  // at Create() and during training
};

class VideoPairDataset {
 public:
  static absl::StatusOr<std::unique_ptr<VideoPairDataset>> Create(const DataConfig& config,
                                                                  SampleContent content = SampleContent::kPairs);

  size_t size() const { return entries_.size(); }
  const std::vector<PairEntry>& entries() const { return entries_; }
  const DataConfig& config() const { return config_; }
  SampleContent content() const { return content_; }
  int clip_frames() const { return clip_frames_; }

  // Sample `index`, fully determined by (index, sample_seed). A decoding
  // failure is returned as an error (the loader skips the file).
  absl::StatusOr<Sample> Get(size_t index, uint64_t sample_seed) const;

  // Runtime failures: the first call per index logs one warning and records
  // the file in stats().skipped; IsBad() is then true.
  void MarkBad(size_t index, const std::string& path, const std::string& reason) const;
  bool IsBad(size_t index) const;

  DatasetStats stats() const;

 private:
  VideoPairDataset(const DataConfig& config, SampleContent content)
      : config_(config), content_(content), degrader_(config.degradation) {}
  // How every file is read: upright, within the pixel limit.
  ReaderOptions reading() const {
    ReaderOptions o;
    o.upright = true;
    o.max_frame_pixels = config_.max_frame_pixels;
    return o;
  }

  DataConfig config_;
  SampleContent content_;
  Degrader degrader_;
  int clip_frames_ = 1;
  std::vector<PairEntry> entries_;
  mutable std::mutex mu_;
  mutable std::set<size_t> bad_;
  mutable std::set<size_t> padded_said_;  // short files whose padding was logged
  mutable std::vector<SkippedFile> skipped_;
  mutable std::atomic<int64_t> clips_{0}, synthesized_{0}, padded_{0}, upscaled_{0};
};

}  // namespace seedvr::data
