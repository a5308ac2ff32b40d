#include "seedvr/models/dit/dit_memory.h"

#include <algorithm>
#include <string>
#include <vector>

#include "seedvr/models/dit/dit_shapes.h"

namespace seedvr::dit {
namespace {

constexpr double kF32 = 4, kBf16 = 2;

// Bytes one DiT block saves for backward per token of a stream, counted from
// what autograd keeps in models/dit/block.h, layers.h and attention.h (e =
// activation bytes: 2 under bf16 autocast, 4 in fp32):
//   RMSNorm (attn, mlp): its fp32 input (a copy under bf16)       2 x 4D
//   Modulate: the normalised tensor (for d scale)                 2 x eD
//   Linear inputs: qkv, MLP in                                    2 x eD
//   Gate: the gated branch outputs                                2 x eD
//   q/k RMSNorm: fp32 normalised q, k (for d weight), and their
//     input: fp32 copies under bf16 (8I), else the qkv output
//     the fp32 views keep alive (12I)                             8I + 8I | 12I
//   attention (flash-style kernels): q, k, v, out + logsumexp     4eI + 4H
//   proj_out input                                                eI
//   MLP hidden: SwiGLU gate, silu(gate), up, product (proj_out
//     input); GELU: pre- and post-activation                      4eHm | 2eHm
//   rsqrt statistics                                              4(2 + 2H)
// RoPE saves nothing per token (it multiplies by constant tables) and the
// window gathers save only their indices.
double BlockBytesPerToken(const DiTConfig& c, bool bf16) {
  const double e = bf16 ? kBf16 : kF32;
  const double d = static_cast<double>(c.vid_dim);
  const double inner = static_cast<double>(c.heads * c.head_dim);
  const double heads = static_cast<double>(c.heads);
  const double hidden = static_cast<double>(DiTMlpHidden(c));
  const double norms = 2 * kF32 * d;
  const double modulate_linear_gate = 6 * e * d;
  const double qk_norm = 8 * inner + (bf16 ? 8 * inner : 12 * inner);
  const double attention = 4 * e * inner + kF32 * heads + e * inner;
  const double mlp = (c.mlp_type == "swiglu" ? 4 : 2) * e * hidden;
  const double stats = kF32 * (2 + 2 * heads);
  return norms + modulate_linear_gate + qk_norm + attention + mlp + stats;
}

// Bytes the attention saves per text token of each window: every (window ||
// text) segment holds its own copy of the text's k, v, q and output
// (q and output only where the text output is needed: all but the last layer).
double TextCopyBytesPerToken(const DiTConfig& c, bool bf16, bool need_txt) {
  const double e = bf16 ? kBf16 : kF32;
  const double inner = static_cast<double>(c.heads * c.head_dim);
  return (need_txt ? 4 : 2) * e * inner + (need_txt ? kF32 * c.heads : 0);
}

// Bytes alive per token at the peaks of a block's forward without autograd
// (see DiTInferenceBytes), and per token of one attention call: the gathered
// q/k/v, RoPE'd q/k, joined (window || text) q/k/v, output and its copy
// (10e), the text's gathered q/k/v (3e, counted over every token of the
// call), and RoPE's fp32 temporaries for one of q/k (5 fp32 copies).
struct InferencePerToken {
  double attention = 0;
  double mlp = 0;
  double attention_call = 0;
};

InferencePerToken InferenceBytesPerToken(const DiTConfig& c, bool bf16) {
  const double e = bf16 ? kBf16 : kF32;
  const double d = static_cast<double>(c.vid_dim);
  const double inner = static_cast<double>(c.heads * c.head_dim);
  const double hidden = static_cast<double>(DiTMlpHidden(c));
  InferencePerToken p;
  p.attention = 2 * e * d + 4 * e * inner + std::max(3 * kF32 * inner, 4 * e * inner);
  p.mlp = 6 * e * d + (c.mlp_type == "swiglu" ? 4 : 2) * e * hidden;
  p.attention_call = (13 * e + 5 * kF32) * inner;
  return p;
}

// Windows of all segments are batched into attention calls of at most this
// many tokens (AttentionContext::max_tokens_per_call).
constexpr int64_t kAttentionCallTokens = 2048;

// Fraction of one block's saved tensors that backward holds as gradients of
// the intermediates while it walks the block (grad of the MLP hidden, of
// q/k/v, ...): about half of them at once.
constexpr double kBackwardWorkingSet = 0.5;

}  // namespace

std::vector<Window> DiTLayerWindows(const DiTConfig& c, int64_t layer, const Grid3& grid) {
  const Grid3 counts = layer < static_cast<int64_t>(c.window.size()) ? c.window[layer] : Grid3{4, 3, 3};
  const std::string method = layer < static_cast<int64_t>(c.window_method.size())
                                 ? c.window_method[layer]
                                 : (layer % 2 == 0 ? "720pwin_by_size_bysize" : "720pswin_by_size_bysize");
  return MakeWindows(grid, counts, ParseWindowMethod(method).value_or(WindowMethod::kRegular720p),
                     c.window_reference_grid);
}

bool IsBf16Compute(const DiTConfig& c) { return c.compute_dtype == "bfloat16" || c.compute_dtype == "bf16"; }

DiTActivations DiTActivationBytes(const DiTConfig& c, const Grid3& grid, int64_t text, int64_t clips) {
  const bool bf16 = IsBf16Compute(c);
  const double e = bf16 ? kBf16 : kF32;
  const double nv = static_cast<double>(grid[0] * grid[1] * grid[2]);
  const double nt = static_cast<double>(text);
  DiTActivations a;
  a.block_bytes_per_token = BlockBytesPerToken(c, bf16);
  double blocks = 0;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const int64_t windows = static_cast<int64_t>(DiTLayerWindows(c, i, grid).size());
    a.max_windows = std::max(a.max_windows, windows);
    const bool last = i + 1 == c.num_layers;
    // The last layer's text stream skips the MLP; count it whole (small).
    const double block = (nv + nt) * a.block_bytes_per_token +
                         static_cast<double>(windows) * nt * TextCopyBytesPerToken(c, bf16, !last);
    blocks += block;
    a.per_block_max = std::max(a.per_block_max, block);
  }
  // Outside the blocks: patch-in output, output RMSNorm (fp32 input),
  // modulation and vid_out input.
  const double head = nv * (kF32 + 3 * e) * static_cast<double>(c.vid_dim);
  const double working = kBackwardWorkingSet * a.per_block_max;
  const double inputs = static_cast<double>(c.num_layers) * (nv + nt) * e * static_cast<double>(c.vid_dim);
  a.full = clips * (blocks + head + working);
  a.checkpointed = clips * (inputs + a.per_block_max + head + working);
  a.per_block_max *= clips;
  return a;
}

double DiTInferenceBytes(const DiTConfig& c, const Grid3& grid, int64_t text) {
  const InferencePerToken p = InferenceBytesPerToken(c, IsBf16Compute(c));
  int64_t largest_window = 0;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    for (const Window& w : DiTLayerWindows(c, i, grid)) largest_window = std::max(largest_window, w.numel());
  }
  const double call_tokens = static_cast<double>(std::max(kAttentionCallTokens, largest_window + text));
  const double vid = static_cast<double>(grid[0] * grid[1] * grid[2]);
  const double tokens = vid + static_cast<double>(text);
  const double patch = static_cast<double>(c.patch_size[0] * c.patch_size[1] * c.patch_size[2]);
  const double inputs = 3 * kF32 * static_cast<double>(c.vid_in_channels) * patch * vid;
  return inputs + std::max(tokens * p.attention + call_tokens * p.attention_call, tokens * p.mlp);
}

double DiTForwardFlops(const DiTConfig& c, const Grid3& grid, int64_t text, int64_t clips) {
  const double nv = static_cast<double>(grid[0] * grid[1] * grid[2]);
  const double nt = static_cast<double>(text);
  // Each weight matrix multiplies the tokens of the stream it belongs to.
  double matmul = 0;
  for (const DiTTensorShape& t : DiTStateDictShapes(c)) {
    if (t.buffer || t.shape.size() < 2) continue;
    double numel = 1;
    for (int64_t d : t.shape) numel *= static_cast<double>(d);
    const auto has = [&](const char* part) { return t.name.find(part) != std::string::npos; };
    double tokens = 1;  // the timestep embedding: once per clip
    if (has(".all.")) {
      tokens = nv + nt;
    } else if (has(".txt.") || t.name.rfind("txt_in", 0) == 0) {
      tokens = nt;
    } else if (has(".vid.") || t.name.rfind("vid_in", 0) == 0 || t.name.rfind("vid_out", 0) == 0) {
      tokens = nv;
    }
    matmul += 2 * numel * tokens;
  }
  // q k^T and p v over each window's video tokens joined with the text.
  const double inner = static_cast<double>(c.heads * c.head_dim);
  double attention = 0;
  for (int64_t i = 0; i < c.num_layers; ++i) {
    for (const Window& w : DiTLayerWindows(c, i, grid)) {
      const double n = static_cast<double>(w.numel()) + nt;
      attention += 4 * n * n * inner;
    }
  }
  return static_cast<double>(clips) * (matmul + attention);
}

}  // namespace seedvr::dit
