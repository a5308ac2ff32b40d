#include "seedvr/infer/restorer.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "seedvr/config/config.h"
#include "seedvr/core/device.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/data/log.h"
#include "seedvr/data/remux.h"
#include "seedvr/data/video_reader.h"
#include "seedvr/data/video_writer.h"
#include "seedvr/infer/video_ops.h"
#include "seedvr/models/dit/dit_memory.h"
#include "seedvr/models/dit/dit_weights.h"
#include "seedvr/models/dit/nadit.h"
#include "seedvr/models/generator/generator.h"
#include "seedvr/models/generator/spatial_tiles.h"
#include "seedvr/models/vae/vae_model.h"
#include "seedvr/models/vae/vae_weights.h"
#include "seedvr/parallel/process_groups.h"
#include "seedvr/text/text_embeddings.h"
#include "seedvr/train/checkpoint.h"

namespace seedvr::infer {
namespace fs = std::filesystem;
namespace {

bool IsImage(const std::string& path) {
  for (const char* ext : {".png", ".jpg", ".jpeg"}) {
    if (absl::EndsWithIgnoreCase(path, ext)) return true;
  }
  return false;
}

// Standard normal noise of `shape` [B, C, T', h, w] whose latent frame j
// depends only on (seed, stream, first_frame + 4 j), the last input frame
// that latent covers in a causal 4x temporal encode. Overlapping chunks thus
// draw the same noise for the same frames, and chunks whose starts are a
// multiple of 4 apart draw the noise of one pass over the whole video.
at::Tensor FrameNoise(at::IntArrayRef shape, const at::TensorOptions& options, uint64_t seed, uint64_t stream,
                      int64_t first_frame) {
  std::vector<at::Tensor> frames;
  std::vector<int64_t> one(shape.begin(), shape.end());
  one[2] = 1;
  for (int64_t j = 0; j < shape[2]; ++j) {
    // splitmix64 of the triple: nearby keys give unrelated generators.
    uint64_t z =
        seed + 0x9E3779B97F4A7C15ull * (stream * 0x100000000ull + static_cast<uint64_t>(first_frame + 4 * j) + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    at::Generator gen = core::SeededGenerator(options.device(), z ^ (z >> 31));
    frames.push_back(at::randn(one, gen, options));
  }
  return at::cat(frames, 2);
}

void RemoveQuietly(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

// The encoder of one output: frames go to PartialPath(output) (a PNG
// sequence to a folder of that name); Finish copies the input's audio and
// subtitle streams in and renames the result to `output`. Destroyed
// unfinished, it removes what it wrote.
class OutputFile {
 public:
  static absl::StatusOr<std::unique_ptr<OutputFile>> Open(const std::string& input, const data::VideoInfo& info,
                                                          const std::string& output, const OutputOptions& o, int width,
                                                          int height) {
    auto file = std::unique_ptr<OutputFile>(new OutputFile());
    file->input_ = input;
    file->output_ = output;
    file->partial_ = PartialPath(output);
    data::EncoderOptions enc;
    enc.fps = info.fps > 0 ? info.fps : 25.0;
    // The input's time base, colour tags and rotation: frames keep their
    // timestamps, and players show the output as they showed the input.
    enc.time_base_num = info.time_base_num;
    enc.time_base_den = info.time_base_den;
    if (info.color_matrix != "unknown") enc.color_matrix = info.color_matrix;
    if (info.color_primaries != "unknown") enc.color_primaries = info.color_primaries;
    if (info.color_trc != "unknown") enc.color_trc = info.color_trc;
    enc.full_range = info.full_range;
    std::string path = file->partial_;
    if (IsImage(input)) {
      enc.codec = absl::EndsWithIgnoreCase(output, ".png") ? "png" : "mjpeg";
      if (enc.codec == "png") enc.pix_fmt = "rgb24";
      enc.qscale = 2;
    } else {
      auto copy = data::HasStreamsToCopy(input);
      if (!copy.ok()) return copy.status();
      file->copy_streams_ = *copy;
      enc.rotation_degrees = info.rotation_degrees;
      enc.codec = o.codec;
      enc.crf = o.crf;
      enc.pix_fmt = o.pix_fmt;
      enc.preset = o.preset;
      if (o.codec == "png") {
        path = (fs::path(file->partial_) / "%06d.png").string();
        file->copy_streams_ = false;  // a PNG sequence has no other streams
        enc.rotation_degrees = 0;
      } else if (file->copy_streams_) {
        const fs::path out(output);
        path = (out.parent_path() / (".partial.video." + out.filename().string())).string();
      }
    }
    const bool sequence = o.codec == "png" && !IsImage(input);
    file->video_ = sequence ? file->partial_ : path;
    RemoveQuietly(file->partial_);  // left by an interrupted run
    std::error_code ec;
    if (sequence && !fs::create_directories(file->partial_, ec)) {
      return absl::InternalError(absl::StrCat("cannot create ", file->partial_, ": ", ec.message()));
    }
    auto writer = data::VideoWriter::Open(path, width, height, enc);
    if (!writer.ok()) {
      return absl::Status(writer.status().code(),
                          absl::StrCat("cannot write ", output, ": ", writer.status().message()));
    }
    file->writer_ = std::move(*writer);
    return file;
  }

  ~OutputFile() {
    if (finished_) return;
    writer_.reset();
    if (video_ != partial_) RemoveQuietly(video_);
    RemoveQuietly(partial_);
  }

  // rgb48: uint16 [H, W, 3] on the CPU, full range; `pts` in the input's
  // time base. 16 bits feed 10-bit pix_fmts their precision.
  absl::Status Write(const at::Tensor& rgb48, int64_t pts) {
    return writer_->Write16(static_cast<const uint16_t*>(rgb48.data_ptr()), pts);
  }

  absl::Status Finish() {
    if (absl::Status s = writer_->Close(); !s.ok()) return s;
    if (copy_streams_) {
      absl::Status s = data::CopyStreams(video_, input_, partial_);
      RemoveQuietly(video_);
      if (!s.ok()) return s;
    }
    if (fs::is_directory(output_)) RemoveQuietly(output_);  // rename replaces files, not folders
    std::error_code ec;
    fs::rename(partial_, output_, ec);
    if (ec) return absl::InternalError(absl::StrCat("cannot rename ", partial_, " to ", output_, ": ", ec.message()));
    finished_ = true;
    return absl::OkStatus();
  }

 private:
  OutputFile() = default;
  std::string input_, output_, partial_;
  std::string video_;  // what the encoder writes: partial_, or a video-only file beside it
  bool copy_streams_ = false;
  bool finished_ = false;
  std::unique_ptr<data::VideoWriter> writer_;
};

class RestorerImpl : public Restorer {
 public:
  RestorerImpl(RestorerOptions o, config::TrainConfig config, generator::SeedVR2Generator generator, vae::VideoVAE vae,
               c10::Device device, at::ScalarType vae_dtype, double dit_budget_bytes, int64_t text_tokens)
      : options_(std::move(o)),
        config_(std::move(config)),
        generator_(std::move(generator)),
        vae_(std::move(vae)),
        device_(device),
        vae_dtype_(vae_dtype),
        dit_budget_bytes_(dit_budget_bytes),
        text_tokens_(text_tokens),
        sp_size_(options_.sp ? options_.sp->size : 1),
        writes_(!options_.sp || options_.sp->rank == 0) {}

  absl::Status RestoreFile(const std::string& input, const std::string& output,
                           const std::function<void(const Progress&)>& progress) override {
    absl::Status s;
    try {
      s = Restore(input, output, progress);
    } catch (const std::exception& e) {  // LibTorch reports through exceptions
      s = absl::InternalError(e.what());
    }
    if (s.ok() || absl::StrContains(s.message(), input)) return s;
    return absl::Status(s.code(), absl::StrCat(input, ": ", s.message()));
  }

 private:
  absl::Status Restore(const std::string& input, const std::string& output,
                       const std::function<void(const Progress&)>& progress) {
    torch::NoGradGuard no_grad;
    // The exact frame count (a packet count where the container stores none)
    // is only the progress total: the frames the decoder delivers are what
    // gets restored.
    data::ReaderOptions read;
    read.exact_frame_count = true;
    read.upright = !data::StoresRotation(output);  // what cannot stay a tag turns the pixels
    read.max_frame_pixels = options_.max_frame_pixels;
    auto reader = data::VideoReader::Open(input, read);
    if (!reader.ok()) {
      if (absl::IsResourceExhausted(reader.status())) {  // the pixel limit: name its flag
        return absl::ResourceExhaustedError(absl::StrCat(reader.status().message(), " (--max_frame_pixels)"));
      }
      return reader.status();
    }
    const data::VideoInfo info = (*reader)->info();
    if (info.has_alpha && writes_) {
      data::DataLog(data::LogLevel::kWarning,
                    absl::StrCat(input, " has an alpha channel (", info.pix_fmt, "): only colour is restored, ", output,
                                 " is written opaque, without the transparency"));
    }
    Progress done{0, std::max<int64_t>(info.frame_count, 1)};

    const int64_t chunk = options_.chunk_frames, overlap = options_.temporal_overlap;
    // The encoder opens before any work, so a bad codec or folder costs nothing.
    std::unique_ptr<OutputFile> file;
    absl::Status opened = absl::OkStatus();
    if (writes_) {
      const auto [h, w] = RestoredSize(info.height, info.width, options_.res_h, options_.res_w);
      auto made = OutputFile::Open(input, info, output, options_.output, static_cast<int>(w), static_cast<int>(h));
      opened = made.status();
      if (made.ok()) file = std::move(*made);
    }
    if (absl::Status s = AgreeInGroup(opened, "opening the output"); !s.ok()) return s;
    int64_t last_pts = -1;
    std::deque<data::Frame> window;  // decoded frames not yet restored by every chunk that holds them
    std::deque<int64_t> pts;         // their timestamps in the input's time base
    at::Tensor carry;                // the previous chunk's restored overlap frames
    int64_t first_frame = 0;         // the video's index of window.front()
    bool eof = false;
    while (true) {
      // One frame past the chunk tells whether this chunk is the last.
      while (!eof && static_cast<int64_t>(window.size()) <= chunk) {
        data::Frame frame;
        int64_t frame_pts = 0;
        auto got = (*reader)->Read(&frame, nullptr, nullptr, &frame_pts);
        if (!got.ok()) return got.status();
        if (*got) {
          window.push_back(std::move(frame));
          // A stream starting before 0 (B-frame delay) starts at 0 instead;
          // a repeated or backward timestamp moves to just after the last.
          last_pts = std::max(frame_pts - std::min<int64_t>(info.start_pts, 0), last_pts + 1);
          pts.push_back(last_pts);
        } else {
          eof = true;
        }
      }
      if (window.empty()) break;
      const int64_t n = std::min<int64_t>(chunk, static_cast<int64_t>(window.size()));
      const bool last = static_cast<int64_t>(window.size()) <= chunk;
      auto restored = RestoreChunk(window, n, first_frame);
      if (!restored.ok()) return restored.status();
      at::Tensor out = *restored;  // float [n, 3, H, W] in [-1, 1]
      if (carry.defined()) BlendOverlap(carry, out);
      const int64_t emit = last ? n : n - overlap;
      absl::Status written = absl::OkStatus();
      if (writes_) {
        at::Tensor rgb = out.narrow(0, 0, emit).add(1).mul_(32767.5).round_().clamp_(0, 65535).to(at::kInt);
        rgb = rgb.permute({0, 2, 3, 1}).to(at::kCPU).to(at::kUInt16).contiguous();
        for (int64_t i = 0; i < emit && written.ok(); ++i) written = file->Write(rgb[i], pts[i]);
      }
      if (absl::Status s = AgreeInGroup(written, "writing the output"); !s.ok()) return s;
      done.frames_done += emit;
      done.frames_total = std::max(done.frames_total, done.frames_done);
      progress(done);
      if (last) break;
      if (overlap > 0) carry = out.narrow(0, n - overlap, overlap).clone();
      window.erase(window.begin(), window.begin() + (n - overlap));
      pts.erase(pts.begin(), pts.begin() + (n - overlap));
      first_frame += n - overlap;
    }
    if (done.frames_done == 0) return absl::DataLossError("no frame could be decoded");
    return AgreeInGroup(file ? file->Finish() : absl::OkStatus(), "finishing the output");
  }

  // Under sequence parallelism only the group's rank 0 writes: every rank
  // learns whether that worked, so the group moves to the next file together
  // instead of pairing one file's exchanges with another's.
  absl::Status AgreeInGroup(const absl::Status& mine, const std::string& what) {
    if (!options_.sp) return mine;
    auto failed = parallel::MaxOverRanks(options_.sp->group, mine.ok() ? 0.0 : 1.0, options_.sp->timeout, what);
    if (!failed.ok()) return failed.status();
    if (!mine.ok() || *failed == 0) return mine;
    return absl::AbortedError(absl::StrCat("another process of the sequence-parallel group failed ", what));
  }

  // Restores the first `n` frames of `window`, the video's frames from
  // `first_frame` on: float [n, 3, H, W] in [-1, 1]
  // on the device, H x W the resized and cropped size.
  absl::StatusOr<at::Tensor> RestoreChunk(const std::deque<data::Frame>& window, int64_t n, int64_t first_frame) {
    const data::Frame& first = window.front();
    at::Tensor bytes = at::empty({n, first.h, first.w, 3}, at::kByte);
    for (int64_t i = 0; i < n; ++i) {
      std::memcpy(bytes[i].data_ptr(), window[i].rgb.data(), window[i].rgb.size());
    }
    // uint8 crosses to the device, a quarter of float's bytes.
    at::Tensor video = core::ToDevice(bytes, device_).permute({0, 3, 1, 2}).to(at::kFloat).div_(255);
    at::Tensor lq = DivisibleCrop(AreaResize(video, options_.res_h, options_.res_w)) * 2 - 1;
    at::Tensor padded = PadTo4nPlus1(lq, sp_size_).permute({1, 0, 2, 3}).unsqueeze(0).contiguous();

    auto posterior = vae_->Encode(padded.to(vae_dtype_));
    if (!posterior.ok()) return posterior.status();
    const double scale = vae_->config().scaling_factor;
    const at::TensorOptions options = posterior->mean.options();
    at::Tensor eps = FrameNoise(posterior->mean.sizes(), options, options_.seed, 0, first_frame);
    at::Tensor latent = posterior->Sample(eps).to(at::kFloat) * scale;
    at::Tensor noise = FrameNoise(latent.sizes(), latent.options(), options_.seed, 1, first_frame);
    // Overlapped spatial tiles when the whole latent's DiT activations
    // exceed the budget (one tile is exactly Restore).
    generator::LatentTiles tiles{latent.size(3), latent.size(4), 0, 0};
    if (dit_budget_bytes_ > 0) {
      auto chosen = generator::ChooseLatentTiles(config_.model, latent.size(2), latent.size(3), latent.size(4),
                                                 dit_budget_bytes_, text_tokens_);
      if (!chosen.ok()) return chosen.status();
      tiles = *chosen;
    }
    at::Tensor restored = generator::RestoreTiled(generator_, latent, noise, tiles);
    auto decoded = vae_->Decode((restored / scale).to(vae_dtype_));
    if (!decoded.ok()) return decoded.status();
    at::Tensor out = (*decoded)[0].to(at::kFloat).permute({1, 0, 2, 3}).narrow(0, 0, n);  // trim the padding
    if (options_.color_fix) out = WaveletColorFix(out, lq);
    return out.clamp(-1, 1).contiguous();
  }

  RestorerOptions options_;
  config::TrainConfig config_;
  generator::SeedVR2Generator generator_;
  vae::VideoVAE vae_;
  c10::Device device_;
  at::ScalarType vae_dtype_;
  double dit_budget_bytes_;  // DiT activations; 0: unbounded
  int64_t text_tokens_;
  int64_t sp_size_;
  bool writes_;
};

absl::Status CheckOptions(const RestorerOptions& o) {
  if (!(o.max_memory_gb >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--max_memory_gb: expected 0 (what the device has available) or a bound in GB, got ", o.max_memory_gb));
  }
  if (o.chunk_frames < 1 || (o.chunk_frames - 1) % 4 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--chunk_frames: expected 4n+1 frames (1, 5, 9, ..., 33, ...), got ", o.chunk_frames));
  }
  if (o.temporal_overlap < 0 || o.temporal_overlap >= o.chunk_frames) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--temporal_overlap: expected 0 to chunk_frames - 1 = ", o.chunk_frames - 1, ", got ", o.temporal_overlap));
  }
  if (o.res_h <= 0 || o.res_w <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--res_h/--res_w: expected positive sizes, got ", o.res_h, "x", o.res_w));
  }
  return absl::OkStatus();
}

}  // namespace

std::string OutputPath(const std::string& input, const std::string& output_dir, const OutputOptions& output) {
  const fs::path in(input);
  if (IsImage(input)) return (fs::path(output_dir) / in.filename()).string();
  if (output.codec == "png") return (fs::path(output_dir) / in.stem()).string();
  std::string ext = in.extension().string();
  if (output.codec == "prores") {
    ext = ".mov";
  } else if (output.codec == "ffv1" ||
             (!output.codec.empty() && output.codec != "libvpx-vp9" && absl::EqualsIgnoreCase(ext, ".webm"))) {
    ext = ".mkv";
  }
  return (fs::path(output_dir) / in.stem()).string() + ext;
}

std::string PartialPath(const std::string& output) {
  const fs::path out(output);
  return (out.parent_path() / (".partial." + out.filename().string())).string();
}

absl::StatusOr<std::unique_ptr<Restorer>> Restorer::Create(const RestorerOptions& o) {
  if (absl::Status s = CheckOptions(o); !s.ok()) return s;
  // A training checkpoint carries its config and EMA weights; a released
  // model needs --config. Views: the weights are copied into the models below.
  auto raw = core::ReadPth(o.checkpoint, core::TensorMemory::kView);
  const bool training = raw.ok() && raw->find("format") != nullptr;
  if (training) {
    if (absl::Status s = train::CheckCheckpoint(*raw, o.checkpoint); !s.ok()) return s;
  }
  absl::StatusOr<config::TrainConfig> config = absl::InvalidArgumentError("");
  if (!o.config.empty()) {
    config = config::LoadTrainConfig(o.config);
  } else if (training && raw->find("config") != nullptr && raw->find("config")->is_string()) {
    config =
        config::ParseTrainConfig(std::get<std::string>(raw->find("config")->v), {}, o.checkpoint + " (stored config)");
  } else {
    return absl::InvalidArgumentError(absl::StrCat(o.checkpoint, " is a released model without a stored config: pass --config"));
  }
  if (!config.ok()) return config.status();
  config::TrainConfig c = *config;
  c.model.gradient_checkpointing = false;
  c.model.window_reference_grid = {0, 0};  // the official rule: windows from each input's own grid
  auto device = core::ResolveDevice(o.device, core::LocalRankFromEnv(), "--device");
  if (!device.ok()) return device.status();
  auto bf16 = core::ResolveBf16(o.precision, *device, dit::IsBf16Compute(c.model), "--precision");
  if (!bf16.ok()) return bf16.status();
  c.model.compute_dtype = *bf16 ? "bfloat16" : "float32";
  const at::ScalarType vae_dtype = *bf16 && device->is_cuda() ? at::kBFloat16 : at::kFloat;

  auto weights = training ? core::ToTensorList(*raw->find("ema"), o.checkpoint + "['ema']")
                          : core::ReadStateDict(o.checkpoint, core::TensorMemory::kView);
  if (!weights.ok()) return weights.status();
  if (!training) {  // a training checkpoint's weights were checked with its entries
    if (absl::Status s = train::CheckFinite(*weights, o.checkpoint); !s.ok()) return s;
  }
  dit::NaDiT model(c.model);
  if (auto s = dit::LoadDiTWeights(*model, *weights); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(o.checkpoint, " does not fit the model config: ", s.message()));
  }
  model->eval();
  model->to(*device);

  const std::string text_path = o.text_embeddings.empty() ? c.training.text_embeddings : o.text_embeddings;
  auto text = text::LoadTextEmbeddings(text_path, c.model.txt_in_dim);
  if (!text.ok()) return text.status();

  // The memory budget: what is available once the DiT's weights are in
  // place, or --max_memory_gb less those weights.
  double weight_bytes = 0;
  for (const at::Tensor& p : model->parameters()) weight_bytes += static_cast<double>(p.nbytes());
  // Processes on one machine share its memory on the CPU; a sequence-parallel
  // group tiles alike, at its smallest budget.
  const char* local = std::getenv("LOCAL_WORLD_SIZE");
  const double sharing = device->is_cpu() && local != nullptr ? std::max(1, std::atoi(local)) : 1;
  double budget_gb = o.max_memory_gb > 0 ? o.max_memory_gb - weight_bytes / 1e9
                                         : static_cast<double>(core::AvailableMemoryBytes(*device)) / 1e9 / sharing;
  if (o.sp) {
    auto least = parallel::MaxOverRanks(o.sp->group, -budget_gb, o.sp->timeout, "agreeing on the memory budget");
    if (!least.ok()) return least.status();
    budget_gb = -*least;
  }
  if (o.max_memory_gb > 0 && budget_gb <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("--max_memory_gb ", o.max_memory_gb, " does not hold the DiT's ",
                                                   weight_bytes / 1e9, " GB of weights"));
  }
  if (budget_gb > 0) {
    c.vae.memory_limit_gb = std::min(c.vae.memory_limit_gb, budget_gb);
    c.vae.conv_max_mem_gb = std::min(c.vae.conv_max_mem_gb, budget_gb);
    c.vae.norm_max_mem_gb = std::min(c.vae.norm_max_mem_gb, budget_gb);
  }
  vae::VideoVAE vae(c.vae);
  const std::string vae_path = o.vae_checkpoint.empty() ? c.training.vae_checkpoint : o.vae_checkpoint;
  if (!vae_path.empty()) {
    if (auto s = vae::LoadVAEWeights(*vae, vae_path); !s.ok()) return s;
    core::TensorList loaded;
    for (const auto& p : vae->named_parameters()) loaded.push_back({p.key(), p.value()});
    if (absl::Status s = train::CheckFinite(loaded, vae_path); !s.ok()) return s;
  } else if (training && raw->find("vae") != nullptr) {
    auto vae_weights = core::ToTensorList(*raw->find("vae"), o.checkpoint + "['vae']");
    if (!vae_weights.ok()) return vae_weights.status();
    if (auto s = vae::LoadVAEWeights(*vae, *vae_weights); !s.ok()) return s;
  } else {
    return absl::InvalidArgumentError("no VAE weights: pass --vae_checkpoint ema_vae.pth");
  }
  vae->eval();
  vae->to(*device, vae_dtype);
  generator::SeedVR2Generator generator(model, text->pos.to(*device, at::kFloat));
  if (o.sp) generator.SetSequenceParallel(o.sp);
  return std::unique_ptr<Restorer>(
      new RestorerImpl(o, c, generator, vae, *device, vae_dtype, std::max(budget_gb, 0.0) * 1e9, text->pos.size(0)));
}

}  // namespace seedvr::infer
