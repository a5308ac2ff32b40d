// The SeedVR2 DiT ("NaDiT"): a native-resolution MM-DiT with adaptive window
// attention, for both official code paths (spec §1):
//   code_path "dit_v2" (3B family): layers >= mm_layers share one weight set
//     (`.all`), SwiGLU MLP, mmrope3d on video and text, output RMSNorm +
//     modulation;
//   code_path "dit" (7B family): separate vid/txt weights everywhere,
//     GELU-tanh MLP with biases, pixel RoPE on video only, no output norm.
// Inputs are flattened native-resolution batches: several samples of
// different sizes go through one call.
//
// Module and parameter names equal the official state-dict keys, including
// the persistent `blocks.N.attn.rope.rope.freqs` buffers.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <string>
#include <vector>

#include "seedvr/models/dit/attention.h"
#include "seedvr/models/dit/block.h"
#include "seedvr/models/dit/dit_config.h"
#include "seedvr/models/dit/dit_shapes.h"
#include "seedvr/models/dit/layers.h"
#include "seedvr/models/dit/rope.h"
#include "seedvr/models/dit/window.h"
#include "seedvr/models/dit/window_plan.h"
#include "seedvr/parallel/ulysses.h"

namespace seedvr::dit {

RopeKind DiTRopeKind(const DiTConfig& c);

// Per-axis RoPE frequencies of a config, fp32 (empty when there is no RoPE).
at::Tensor DiTRopeFreqs(const DiTConfig& c);

class NaDiTImpl : public torch::nn::Module {
 public:
  explicit NaDiTImpl(DiTConfig config);

  // vid [L, vid_in_channels] (samples back to back, each (T,H,W) row-major,
  // channels last), vid_shape [B, 3] int64 (T, H, W latent), txt [Lt,
  // txt_in_dim], txt_shape [B, 1] int64, timestep [B]. Returns [L,
  // vid_out_channels] in the computation dtype (fp32, or bf16 under
  // compute_dtype "bfloat16").
  at::Tensor forward(const at::Tensor& vid, const at::Tensor& vid_shape, const at::Tensor& txt,
                     const at::Tensor& txt_shape, const at::Tensor& timestep);

  // The video tokens [L/patch, vid_dim] after each block in `layers`
  // (ascending); the blocks after the last one are not run. For
  // discriminators built on the DiT backbone.
  std::vector<at::Tensor> Features(const at::Tensor& vid, const at::Tensor& vid_shape, const at::Tensor& txt,
                                   const at::Tensor& txt_shape, const at::Tensor& timestep,
                                   const std::vector<int64_t>& layers);

  const DiTConfig& config() const { return config_; }
  // Switches per-block gradient checkpointing after construction.
  void set_gradient_checkpointing(bool on) { config_.gradient_checkpointing = on; }
  void set_compute_dtype(const std::string& dtype) { config_.compute_dtype = dtype; }
  // Ulysses sequence parallelism (parallel/ulysses.h): after patchify each
  // rank of the group runs the blocks on its shard of the video and text
  // tokens, exchanging q/k/v around attention; outputs and features are
  // gathered, so callers see the same tensors as without it. Every rank of
  // the group must call with the same inputs. Null: off.
  void set_sequence_parallel(parallel::SequenceParallelHandle sp) { sp_ = std::move(sp); }
  MMBlock block(int64_t i) const { return block_list_.at(i); }

  PatchLinear vid_in{nullptr};
  torch::nn::Linear txt_in{nullptr};
  TimeEmbedding emb_in{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  RMSNorm vid_out_norm{nullptr};
  OutAda vid_out_ada{nullptr};
  PatchLinear vid_out{nullptr};

 private:
  // The forward pass; with `features`, collects the video tokens after the
  // blocks in `taps` and stops after the last of them.
  at::Tensor Run(const at::Tensor& vid, const at::Tensor& vid_shape, const at::Tensor& txt,
                 const at::Tensor& txt_shape, const at::Tensor& timestep, const std::vector<int64_t>& taps,
                 std::vector<at::Tensor>* features);

  static std::string PlanKey(const Grid3& counts, WindowMethod m);

  void CheckInputs(const at::Tensor& vid, const at::Tensor& vid_shape, const at::Tensor& txt,
                   const at::Tensor& txt_shape, const at::Tensor& timestep) const;

  DiTConfig config_;
  std::vector<MMBlock> block_list_;
  std::vector<std::string> layer_plan_key_;
  parallel::SequenceParallelHandle sp_;
};
TORCH_MODULE(NaDiT);

}  // namespace seedvr::dit
