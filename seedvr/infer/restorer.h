// One-step video restoration with a trained (or released) SeedVR2 generator,
// following the official pipeline (spec §4) over a stream of chunks so that
// memory does not grow with the video's length.
//
// Per chunk of `chunk_frames` frames (decoded as the chunk needs them):
// area-preserving resize, crop to multiples of 16, pad to 4n+1 frames, VAE
// encode, one DiT step at t = 1000 (x̂ = noise - v; in overlapped spatial
// tiles when the whole latent does not fit `max_memory_gb`), VAE decode
// within its exact memory bounds, trim, wavelet colour fix against the same
// chunk's input. Consecutive chunks share `temporal_overlap` frames, blended
// in pixels with a linear ramp (see RestorerOptions), and frames are encoded
// as soon as no later chunk changes them.
//
// Outputs keep the input's frame count (the frames the decoder delivers),
// timestamps (variable frame rate too), frame rate, colour tags, and its
// audio and subtitle streams. A display rotation stays a tag where the
// output's container stores one (mp4, mov) and is applied to the pixels
// elsewhere (mkv, webm, images, PNG sequences), so the output displays as
// the input did. An alpha plane (transparent PNG) is not restored: the
// output is opaque, and a warning names the file. They are written under a temporary name beside the output
// (PartialPath) and renamed when complete, so an interrupted run never leaves
// a file that looks finished.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "seedvr/data/data_config.h"
#include "seedvr/parallel/ulysses.h"

namespace seedvr::infer {

// How restored videos are encoded. Images (png/jpg inputs) are written as an
// image of the same type whatever these say.
struct OutputOptions {
  // libx264 | libx265 | ffv1 | prores | libvpx-vp9 | png; empty: by the
  // container (libx264 for mp4/mov/mkv, libvpx-vp9 for webm). png writes a
  // PNG sequence: a folder of 000001.png, 000002.png, ...
  std::string codec;
  int crf = 12;         // x264/x265/vp9 constant quality: restored detail should survive the encode
  std::string pix_fmt;  // yuv420p, yuv444p, yuv420p10le, yuv444p10le, ...; empty: the codec's default
  std::string preset;   // x264/x265 preset; empty: the encoder's default
};

struct RestorerOptions {
  std::string checkpoint;       // training checkpoint (its EMA), or released .pth/.safetensors
  std::string config;           // training config; default: the checkpoint's stored config
  std::string vae_checkpoint;   // overrides training.vae_checkpoint
  std::string text_embeddings;  // overrides training.text_embeddings
  int64_t res_h = 720;          // target area res_h * res_w, aspect ratio kept
  int64_t res_w = 1280;
  uint64_t seed = 666;
  bool color_fix = true;
  // Frames restored together (4n+1): the DiT attends within a chunk, and
  // memory is bounded by one chunk whatever the video's length.
  int64_t chunk_frames = 33;
  // Frames shared by consecutive chunks (< chunk_frames). They are blended
  // in pixels, after decode and colour fix: the causal VAE encodes each
  // chunk's first frame alone, so latents of two chunks never describe the
  // same frames the same way, while pixels do. The later chunk's weight
  // rises linearly (i + 1) / (overlap + 1) across the shared frames.
  int64_t temporal_overlap = 5;
  // Memory budget (GB) of the DiT and the VAE on the device: the DiT
  // restores in overlapped spatial tiles when the whole latent exceeds it,
  // and the VAE's activation budget and per-convolution and GroupNorm bounds
  // are at most it (all VAE splits are exact). 0: what the device has
  // available at start-up (on the CPU, shared by torchrun's local processes).
  double max_memory_gb = 0;
  OutputOptions output;
  std::string device = "auto";  // auto | cpu | cuda | cuda:N (core/device.h)
  // auto | bf16 | fp32 for the DiT (autocast); auto is bf16 on a GPU and the
  // config's model.compute_dtype on the CPU. With bf16 on a GPU the VAE's
  // weights are bf16 too, as the official pipeline runs it; on the CPU fp32.
  std::string precision = "auto";
  // Ulysses sequence parallelism: every rank of the group restores the same
  // video with the DiT's tokens split across the group (chunks pad to
  // 4 * sp_size * n + 1 frames, as the official cut_videos does); the
  // group's rank 0 writes the output. Null: one process.
  parallel::SequenceParallelHandle sp;
  // Inputs whose frames hold more pixels fail before a frame is decoded,
  // naming the file and the limit (--max_frame_pixels); 0: no limit.
  int64_t max_frame_pixels = data::kDefaultMaxFramePixels;
};

// What a restoration has done so far, for progress displays.
struct Progress {
  int64_t frames_done = 0;   // frames written (or restored, on ranks that do not write)
  int64_t frames_total = 0;  // the input's frame count
};

class Restorer {
 public:
  // Errors name the flag or file at fault; a config that cannot work is
  // rejected here, before any video is read.
  static absl::StatusOr<std::unique_ptr<Restorer>> Create(const RestorerOptions& options);
  virtual ~Restorer() = default;

  // Restores one video (or image) into `output` (OutputPath), through
  // PartialPath(output). On failure nothing is left at either path and the
  // error names `input`. `progress` hears each written chunk.
  virtual absl::Status RestoreFile(const std::string& input, const std::string& output,
                                   const std::function<void(const Progress&)>& progress) = 0;
};

// Where `input` is restored to under `output_dir`: the same file name, or for
// a PNG sequence a folder named after the input's stem. A codec the input's
// container cannot hold changes the extension: prores -> .mov, ffv1 -> .mkv,
// and anything but VP9 from .webm -> .mkv.
std::string OutputPath(const std::string& input, const std::string& output_dir, const OutputOptions& output);

// The temporary name an output is written under until it is complete: the
// same folder, ".partial." before the file name (the extension is kept, so the
// container is still chosen by it).
std::string PartialPath(const std::string& output);

}  // namespace seedvr::infer
