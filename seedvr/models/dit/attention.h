// Joint (MM-DiT) window attention of the SeedVR2 DiT (spec §1.3.5).
//
// Each video window is concatenated with a full copy of its sample's text and
// attended as one non-causal segment, scale 1/sqrt(head_dim). Video outputs go
// back to their positions; each text token's output is the mean over its
// sample's windows. Segments of equal shape are stacked and attended in one
// batched call (see window_plan.h), which is what makes this fast on CPU:
// a per-window loop spends most of its time in call overhead for the many
// small windows of a real frame.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <utility>

#include "seedvr/models/dit/layers.h"
#include "seedvr/models/dit/rope.h"
#include "seedvr/models/dit/window_plan.h"
#include "seedvr/parallel/ulysses.h"

namespace seedvr::dit {

struct AttentionOptions {
  int64_t dim = 0;
  int64_t heads = 0;
  int64_t head_dim = 0;
  bool qk_bias = false;
  double eps = 1e-5;
  bool shared = false;     // one `.all` weight set for both streams
  int64_t rope_freqs = 0;  // length of rope.rope.freqs; 0 = no RoPE
  at::Tensor rope_init;    // initial freqs buffer (fp32, [rope_freqs])
};

// Everything the attention needs besides weights and activations.
struct AttentionContext {
  const WindowPlan* plan = nullptr;
  RopeTable txt_rope;          // 3B text table [txt_total, 1, P]; undefined on the 7B path
  bool bf16_attention = false; // cast q/k/v to bf16 before attention (official bf16 path)
  // Segments of one shape are attended together in calls of at most this many
  // (query) tokens, at least one segment per call. Small windows are batched
  // (fewer calls); large windows go one per call, which keeps the gather/RoPE
  // temporaries of a call cache-sized (one big call was measured slower on
  // CPU than a per-window loop for 405-token windows).
  int64_t max_tokens_per_call = 2048;
  // Ulysses sequence parallelism (parallel/ulysses.h): the streams arrive
  // sharded by tokens; q/k/v are exchanged for all tokens of 1/sp of the
  // heads, so windows and text see the whole sequence. Null: one process.
  parallel::SequenceParallelHandle sp;
};

// One batched attention over segments [G, N, H, D] -> [G, N, H, D].
at::Tensor SegmentAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t head_dim);

// The attention core on normalised (and, for text, already roped) q/k/v:
// vid [Lv, H, D], txt [Lt, H, D] -> vid [Lv, H*D], txt [Lt, H*D] (txt
// undefined unless need_txt). Video RoPE is applied per window group here.
std::pair<at::Tensor, at::Tensor> WindowedJointAttention(const at::Tensor& q_v, const at::Tensor& k_v,
                                                         const at::Tensor& v_v, const at::Tensor& q_t,
                                                         const at::Tensor& k_t, const at::Tensor& v_t,
                                                         const AttentionContext& ctx, bool need_txt);

class MMWindowAttentionImpl : public torch::nn::Module {
 public:
  explicit MMWindowAttentionImpl(const AttentionOptions& o);

  // vid [Lv, D], txt [Lt, D] (normalised and modulated; under sequence
  // parallelism this rank's shards) -> per-stream outputs after proj_out. With `need_txt` false (last layer) the text
  // queries and the text projection are skipped: their result is discarded anyway.
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& vid, const at::Tensor& txt,
                                            const AttentionContext& ctx, bool need_txt = true);

  MM<torch::nn::Linear> proj_qkv, proj_out;
  MM<RMSNorm> norm_q, norm_k;
  NaRope rope{nullptr};

 private:
  int64_t heads_, head_dim_;
};
TORCH_MODULE(MMWindowAttention);

}  // namespace seedvr::dit
