#include "seedvr/data/video_pair_dataset.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "seedvr/data/image_ops.h"
#include "seedvr/data/log.h"
#include "seedvr/data/random.h"

namespace seedvr::data {
namespace fs = std::filesystem;
namespace {

bool SupportedExtension(const fs::path& p) {
  const std::string ext = absl::AsciiStrToLower(p.extension().string());
  return ext == ".mp4" || ext == ".avi" || ext == ".mov" || ext == ".mkv" || ext == ".webm";
}

struct Listing {
  std::map<std::string, std::string> by_stem;  // stem -> path (first in name order)
  std::vector<SkippedFile> rejected;
  int files = 0;
};

absl::StatusOr<Listing> ListVideos(const fs::path& dir) {
  Listing out;
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    // Anything but a folder: the probe names what cannot be read (a FIFO, a
    // symlink loop) instead of the listing failing or hiding it.
    std::error_code kind;
    if (!it->is_directory(kind)) files.push_back(it->path());
  }
  if (ec) return absl::NotFoundError(absl::StrCat("cannot list ", dir.string(), ": ", ec.message()));
  std::sort(files.begin(), files.end());
  for (const fs::path& p : files) {
    ++out.files;
    if (!SupportedExtension(p)) {
      out.rejected.push_back({p.string(), "unsupported extension (use mp4, avi, mov, mkv or webm)"});
      continue;
    }
    const std::string stem = p.stem().string();
    auto [it, inserted] = out.by_stem.emplace(stem, p.string());
    if (!inserted) out.rejected.push_back({p.string(), absl::StrCat("duplicate stem '", stem, "' (using ", it->second, ")")});
  }
  return out;
}

// Opens the file and decodes its first frame: catches empty, corrupt,
// truncated-header and unsupported-codec files up front. The frame count is
// exact (packets counted where the container stores none): clip starts are
// drawn from it, and an mkv's duration x fps also counts a longer soundtrack.
absl::StatusOr<VideoInfo> ProbeAndDecode(const std::string& path, ReaderOptions options) {
  std::error_code ec;
  if (fs::file_size(path, ec) == 0 && !ec) return absl::InvalidArgumentError("empty file");
  options.exact_frame_count = true;
  absl::StatusOr<std::unique_ptr<VideoReader>> r = VideoReader::Open(path, options);
  if (!r.ok()) {
    if (absl::IsResourceExhausted(r.status())) {  // the pixel limit: name its key
      return absl::ResourceExhaustedError(absl::StrCat(r.status().message(), " (data.max_frame_pixels)"));
    }
    return r.status();
  }
  Frame f;
  absl::StatusOr<bool> got = (*r)->Read(&f);
  if (!got.ok()) return got.status();
  if (!*got) return absl::DataLossError("no frame could be decoded");
  return (*r)->info();
}

// Crops [x, x+cw) x [y, y+ch) from `src` viewed at full_w x full_h (a resize
// when that differs from the clip's own size; only the window is computed).
// `official`: the resize is torch's antialiased bicubic, as the official
// inference's AreaResize (data.resize_to_area); else bicubic, antialiased
// when shrinking.
Clip CropResized(const Clip& src, int full_w, int full_h, int x, int y, int cw, int ch, bool official) {
  Clip out(src.t, cw, ch);
  out.fps = src.fps;
  if (full_w == src.w && full_h == src.h) {
    for (int f = 0; f < src.t; ++f) {
      for (int r = 0; r < ch; ++r) {
        const uint8_t* s = src.frame(f) + (static_cast<size_t>(y + r) * src.w + x) * 3;
        std::copy(s, s + static_cast<size_t>(cw) * 3, out.frame(f) + static_cast<size_t>(r) * cw * 3);
      }
    }
    return out;
  }
  const bool shrink = full_w < src.w || full_h < src.h;
  const ResizeKernel kernel = official ? ResizeKernel::kBicubicAntialiased : ResizeKernel::kBicubic;
  for (int f = 0; f < src.t; ++f) {
    const ImageF img = ToFloat(src.frame(f), src.w, src.h);
    ToRgb8(Resize(img, full_w, full_h, kernel, shrink, x, y, cw, ch), out.frame(f));
  }
  return out;
}

// Decodes, for each time in `times` (seconds from the stream's first frame,
// non-decreasing, stored in a time base of `times_base_s`), the frame of
// `path` whose timestamp is nearest; a tie goes to the earlier frame, the one
// on screen at that instant. Past the stream's end the last frame is the
// nearest. Stored timestamps are rounded to their time base (mkv: 1 ms, so
// 1/12 s is kept as 83 ms), so distances that differ by less than the two
// resolutions together are a tie; never more than a tenth of an LQ frame,
// since containers whose time base is the frame interval (avi) store exact
// times and would otherwise tie everything.
absl::StatusOr<Clip> ReadNearestFrames(const std::string& path, const std::vector<double>& times, double times_base_s,
                                       const ReaderOptions& options) {
  absl::StatusOr<std::unique_ptr<VideoReader>> opened = VideoReader::Open(path, options);
  if (!opened.ok()) return opened.status();
  VideoReader& reader = **opened;
  const VideoInfo& info = reader.info();
  const double tie_s =
      std::min(times_base_s + info.time_base_s, info.fps > 0 ? 0.1 / info.fps : times_base_s + info.time_base_s) + 1e-9;
  Clip out(static_cast<int>(times.size()), info.width, info.height);
  out.fps = info.fps;
  if (times.empty()) return out;
  // One frame early: the frame nearest to the first time may precede it.
  const int64_t first = static_cast<int64_t>(std::floor(times.front() * info.fps)) - 1;
  if (first > 0) {
    if (absl::Status s = reader.SeekToFrame(first); !s.ok()) return s;
  }
  Frame a, b;  // a: the latest frame at or before the time (if any), b: the next one
  double ta = 0.0, tb = 0.0;
  absl::StatusOr<bool> got = reader.Read(&a, nullptr, &ta);
  if (!got.ok()) return got.status();
  if (!*got) return absl::OutOfRangeError(absl::StrCat("no frame could be decoded from frame ", first));
  absl::StatusOr<bool> has_b = reader.Read(&b, nullptr, &tb);
  if (!has_b.ok()) return has_b.status();
  for (int k = 0; k < out.t; ++k) {
    const double t = times[k];
    while (*has_b && tb <= t) {
      std::swap(a, b);
      ta = tb;
      has_b = reader.Read(&b, nullptr, &tb);
      if (!has_b.ok()) return has_b.status();
    }
    const bool take_b = *has_b && tb - t < std::fabs(t - ta) - tie_s;
    out.SetFrame(k, take_b ? b : a);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<VideoPairDataset>> VideoPairDataset::Create(const DataConfig& config,
                                                                           SampleContent content) {
  std::unique_ptr<VideoPairDataset> ds(new VideoPairDataset(config, content));
  const bool hq_only = content == SampleContent::kHqOnly;
  ds->clip_frames_ = RoundUpTo4nPlus1(config.num_frames);
  if (ds->clip_frames_ != config.num_frames) {
    DataLog(LogLevel::kInfo, absl::StrCat("num_frames ", config.num_frames, " is not of the form 4k+1 (the VAE encodes ",
                                          "4k+1 frames to k+1 latents); using ", ds->clip_frames_, " frames per clip"));
  }
  if (config.crop_size.h < 0 || config.crop_size.w < 0) return absl::InvalidArgumentError("crop_size must be >= 0");
  if (config.resize_to_area < 0) {
    return absl::InvalidArgumentError(absl::StrCat("data.resize_to_area must be >= 0 (a pixel area such as 921600 = ",
                                                   "1280x720, or 0 = off), got ", config.resize_to_area));
  }
  const fs::path root(config.data_root);
  const fs::path hq_dir = root / "hq", lq_dir = root / "lq";
  std::error_code ec;
  if (!fs::is_directory(hq_dir, ec)) {
    return absl::NotFoundError(absl::StrCat("no HQ folder: ", hq_dir.string(), " (expected data_root/hq/*.{mp4,avi,mov,",
                                            "mkv,webm} and optionally data_root/lq/ with the same stems)"));
  }
  absl::StatusOr<Listing> hq = ListVideos(hq_dir);
  if (!hq.ok()) return hq.status();
  Listing lq;
  const bool has_lq_dir = !hq_only && fs::is_directory(lq_dir, ec);
  if (has_lq_dir) {
    absl::StatusOr<Listing> l = ListVideos(lq_dir);
    if (!l.ok()) return l.status();
    lq = *std::move(l);
  }
  std::vector<SkippedFile> skipped = hq->rejected;
  skipped.insert(skipped.end(), lq.rejected.begin(), lq.rejected.end());
  int paired = 0, synthesized = 0;
  for (const auto& [stem, path] : hq->by_stem) {
    absl::StatusOr<VideoInfo> info = ProbeAndDecode(path, ds->reading());
    if (!info.ok()) {
      skipped.push_back({path, std::string(info.status().message())});
      continue;
    }
    if (info->frame_count < ds->clip_frames_ && config.short_clips == "skip") {
      skipped.push_back({path, absl::StrCat(info->frame_count, " frame(s), fewer than the ", ds->clip_frames_,
                                            " of a clip (data.short_clips: skip)")});
      continue;
    }
    PairEntry e;
    e.stem = stem;
    e.hq_path = path;
    e.hq_info = *info;
    auto lit = lq.by_stem.find(stem);
    const bool had_lq = lit != lq.by_stem.end();
    if (had_lq) {
      absl::StatusOr<VideoInfo> linfo = ProbeAndDecode(lit->second, ds->reading());
      if (linfo.ok()) {
        e.lq_path = lit->second;
        e.lq_info = *linfo;
      } else {
        skipped.push_back({lit->second, absl::StrCat(linfo.status().message(),
                                                     config.generate_lq ? " (LQ will be synthesized from HQ)" : "")});
      }
      lq.by_stem.erase(lit);
    }
    if (e.lq_path.empty() && !config.generate_lq && !hq_only) {
      skipped.push_back({path, had_lq       ? "its LQ partner is unusable and generate_lq is off"
                               : has_lq_dir ? "no LQ partner in lq/ and generate_lq is off"
                                            : "no LQ partner (no lq/ folder) and generate_lq is off"});
      continue;
    }
    if (!hq_only) (e.lq_path.empty() ? synthesized : paired)++;
    ds->entries_.push_back(std::move(e));
  }
  for (const auto& [stem, path] : lq.by_stem) skipped.push_back({path, "LQ file without an HQ partner"});
  for (const SkippedFile& s : skipped) DataLog(LogLevel::kWarning, absl::StrCat("skipping ", s.path, ": ", s.reason));
  if (ds->entries_.empty()) {
    std::vector<std::string> lines;
    for (const SkippedFile& s : skipped) lines.push_back(absl::StrCat("  ", s.path, ": ", s.reason));
    const std::string lq_state =
        hq_only ? std::string("HQ only")
                : absl::StrCat("lq/ ", has_lq_dir ? absl::StrCat("has ", lq.files, " file(s)") : "does not exist",
                               ", generate_lq is ", config.generate_lq ? "on" : "off");
    return absl::FailedPreconditionError(absl::StrCat(
        hq_only ? "no usable video" : "no usable video pair", " under ", root.string(), ": hq/ has ", hq->files,
        " file(s), ", lq_state, lines.empty() ? "" : "; rejected:\n", absl::StrJoin(lines, "\n")));
  }
  ds->skipped_ = std::move(skipped);
  DataLog(LogLevel::kInfo,
          absl::StrCat(ds->entries_.size(), " video(s) under ", root.string(), ": ",
                       hq_only ? std::string("HQ only")
                               : absl::StrCat(paired, " HQ/LQ pair(s), ", synthesized, " with synthesized LQ"),
                       ", ", ds->skipped_.size(), " file(s) skipped"));
  return ds;
}

absl::StatusOr<Sample> VideoPairDataset::Get(size_t index, uint64_t sample_seed) const {
  if (index >= entries_.size()) return absl::OutOfRangeError("sample index out of range");
  const PairEntry& e = entries_[index];
  Rng rng(DeriveSeed({sample_seed, 1}));
  const int T = clip_frames_;
  const int64_t n = e.hq_info.frame_count;
  Sample s;
  s.index = index;
  s.stem = e.stem;
  s.start_frame = n > T ? std::uniform_int_distribution<int64_t>(0, n - T)(rng) : 0;
  std::vector<double> hq_times;
  absl::StatusOr<Clip> hq = ReadClip(e.hq_path, s.start_frame, T, reading(), &s.padded_frames, &hq_times);
  if (!hq.ok()) {
    return absl::Status(hq.status().code(), absl::StrCat(e.hq_path, ": ", hq.status().message()));
  }
  if (s.padded_frames > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    if (padded_said_.insert(index).second) {
      DataLog(LogLevel::kInfo, absl::StrCat(e.hq_path, ": ", T - s.padded_frames, " frame(s) from frame ",
                                            s.start_frame, ", fewer than the ", T, " of a clip: its last frame is ",
                                            "repeated (data.short_clips: skip leaves such files out)"));
    }
  }
  // Geometry: with data.resize_to_area, the frame at the official
  // inference's area-preserving size; then upscaled to cover the crop when
  // smaller (one resize from the decoded frame to the final size).
  const bool area = config_.resize_to_area > 0;
  int full_w = hq->w, full_h = hq->h;
  if (area) {
    const AreaSize size = AreaResizeSize(hq->h, hq->w, static_cast<double>(config_.resize_to_area));
    full_w = static_cast<int>(std::max<int64_t>(size.w, 1));
    full_h = static_cast<int>(std::max<int64_t>(size.h, 1));
  }
  const int cw = config_.crop_size.w > 0 ? config_.crop_size.w : full_w;
  const int ch = config_.crop_size.h > 0 ? config_.crop_size.h : full_h;
  if (full_w < cw || full_h < ch) {
    const double scale = std::max(static_cast<double>(cw) / full_w, static_cast<double>(ch) / full_h);
    full_w = std::max(cw, static_cast<int>(std::ceil(full_w * scale - 1e-9)));
    full_h = std::max(ch, static_cast<int>(std::ceil(full_h * scale - 1e-9)));
    s.upscaled = true;
  }
  s.crop_x = UniformInt(rng, 0, full_w - cw);
  s.crop_y = UniformInt(rng, 0, full_h - ch);
  s.hq = CropResized(*hq, full_w, full_h, s.crop_x, s.crop_y, cw, ch, area);
  hq = Clip();  // free the full frames early
  if (!e.lq_path.empty()) {
    // Each HQ frame takes the LQ frame nearest in time, whatever the two
    // frame rates (an LQ at half the rate shows each of its frames twice).
    absl::StatusOr<Clip> lq = ReadNearestFrames(e.lq_path, hq_times, e.hq_info.time_base_s, reading());
    if (!lq.ok()) {
      return absl::Status(lq.status().code(), absl::StrCat(e.lq_path, ": ", lq.status().message()));
    }
    s.lq = CropResized(*lq, full_w, full_h, s.crop_x, s.crop_y, cw, ch, area);
  } else if (content_ == SampleContent::kPairs) {
    absl::StatusOr<Clip> lq = degrader_.Apply(s.hq, DeriveSeed({sample_seed, 2}), true, &s.degradation);
    if (!lq.ok()) return absl::Status(lq.status().code(), absl::StrCat("degradation: ", lq.status().message()));
    s.lq = *std::move(lq);
    s.synthesized_lq = true;
    synthesized_++;
  }
  clips_++;
  if (s.padded_frames > 0) padded_++;
  if (s.upscaled) upscaled_++;
  return s;
}

void VideoPairDataset::MarkBad(size_t index, const std::string& path, const std::string& reason) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!bad_.insert(index).second) return;
  skipped_.push_back({path, reason});
  DataLog(LogLevel::kWarning, absl::StrCat("skipping ", path, " from now on: ", reason));
}

bool VideoPairDataset::IsBad(size_t index) const {
  std::lock_guard<std::mutex> lock(mu_);
  return bad_.count(index) > 0;
}

DatasetStats VideoPairDataset::stats() const {
  DatasetStats st;
  st.clips_produced = clips_.load();
  st.lq_synthesized = synthesized_.load();
  st.padded_clips = padded_.load();
  st.upscaled_clips = upscaled_.load();
  std::lock_guard<std::mutex> lock(mu_);
  st.skipped = skipped_;
  return st;
}

}  // namespace seedvr::data
