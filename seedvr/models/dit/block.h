// One SeedVR2 DiT block (`NaMMSRTransformerBlock`, spec §1.3.4) and its
// gradient checkpointing.
//
// Per stream s in {vid, txt} (stream weights, or the shared `.all` weights):
//   a = RMSNorm(x_s) * (emb_scale + P.attn_scale) + (emb_shift + P.attn_shift)
//   x_s += Attention(a_vid, a_txt)_s * (emb_gate + P.attn_gate)
//   x_s += MLP(RMSNorm(x_s) * scale' + shift') * gate'
// The last layer only needs the video stream afterwards; the text MLP (and
// the text attention projection) are skipped, which changes no output.
//
// Checkpointing runs the block without autograd in forward and recomputes it
// with autograd in backward, so only the block inputs stay alive between the
// passes. Parameters are passed to the autograd function as inputs so that
// they receive their gradients through the normal graph.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/ivalue.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/nn/module.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "seedvr/models/dit/attention.h"
#include "seedvr/models/dit/layers.h"

namespace seedvr::dit {

struct BlockOptions {
  AttentionOptions attn;
  int64_t mlp_hidden = 0;
  bool swiglu = true;
  bool shared = false;
  bool last = false;  // last layer: only the video stream is used afterwards
  // 3B last layer: the official `vid_only` AdaSingle modulates only the video
  // stream, so the text stream enters the last attention normalised but NOT
  // modulated (see MMBlockImpl::forward).
  bool last_txt_unmodulated = false;
  double eps = 1e-5;
};

// Per-forward inputs of a block besides activations.
struct BlockContext {
  AttentionContext attn;
  TokenSamples vid_samples, txt_samples;
  bool bf16 = false;  // autocast to bf16 (recomputation in backward restores it)
  std::shared_ptr<const WindowPlan> plan_owner;  // keeps attn.plan alive
};

class MMBlockImpl : public torch::nn::Module {
 public:
  explicit MMBlockImpl(const BlockOptions& o);

  // Returns {vid, txt}; on the last layer {vid} only.
  std::vector<at::Tensor> forward(const at::Tensor& vid, const at::Tensor& txt, const at::Tensor& emb,
                                  const BlockContext& ctx);

  const BlockOptions& options() const { return opt_; }

  MMWindowAttention attn{nullptr};
  MM<MLP> mlp;
  MM<AdaSingle> ada;

 private:
  at::Tensor MlpBranch(const at::Tensor& x, Stream s, const at::Tensor& emb, const TokenSamples& ts);

  BlockOptions opt_;
};
TORCH_MODULE(MMBlock);

// What the checkpoint function needs to recompute a block in backward.
struct CheckpointCall : torch::CustomClassHolder {
  std::shared_ptr<MMBlockImpl> block;
  std::shared_ptr<const BlockContext> ctx;
  c10::DeviceType device = c10::kCPU;
  size_t num_params = 0;
  std::vector<bool> needs;  // requires_grad of each apply() input
};

// inputs = {vid, txt, emb, params...}; outputs as MMBlockImpl::forward.
struct CheckpointedBlockFn : torch::autograd::Function<CheckpointedBlockFn> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, at::TensorList inputs,
                                                c10::intrusive_ptr<CheckpointCall> call);

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out);
};

// Runs `block` with gradient checkpointing.
std::vector<at::Tensor> CheckpointedBlockForward(const std::shared_ptr<MMBlockImpl>& block, const at::Tensor& vid,
                                                 const at::Tensor& txt, const at::Tensor& emb,
                                                 const std::shared_ptr<const BlockContext>& ctx);

}  // namespace seedvr::dit
