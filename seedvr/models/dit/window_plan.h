// Index plans that let one forward attend all windows of all samples with a
// few batched attention calls.
//
// A forward sees several samples of different sizes. Per window method the
// plan lists every (window || its sample's text) segment, groups segments of
// equal shape (window f,h,w and text length) so that each group is one
// batched [G, heads, N, head_dim] attention, and precomputes the gather
// indices, the inverse permutation that puts video outputs back in sequence
// order, the per-token window counts for averaging text outputs, and the RoPE
// tables of each window shape. Plans are built once per forward (not per
// layer) and only hold small integer tensors and tables.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

#include "seedvr/models/dit/rope.h"
#include "seedvr/models/dit/window.h"

namespace seedvr::dit {

// Where each sample's tokens live in the flattened streams (after patchify).
struct SequenceLayout {
  std::vector<Grid3> vid_grid;       // token grid per sample
  std::vector<int64_t> vid_offset;   // first video token per sample
  std::vector<int64_t> txt_len;      // text tokens per sample
  std::vector<int64_t> txt_offset;   // first text token per sample
  int64_t vid_total = 0;
  int64_t txt_total = 0;
  int64_t batch() const { return static_cast<int64_t>(vid_grid.size()); }

  static SequenceLayout Make(std::vector<Grid3> grids, std::vector<int64_t> txt_lens);
};

// Segments of one shape: `count` windows with `vid_len` video and `txt_len`
// text tokens each.
struct WindowGroup {
  Grid3 shape{};
  int64_t txt_len = 0;
  int64_t count = 0;
  int64_t vid_len() const { return shape[0] * shape[1] * shape[2]; }
  at::Tensor vid_index;     // [count * vid_len] video token of each segment slot
  at::Tensor txt_index;     // [count * txt_len] text token (values, output averaging)
  at::Tensor txt_qk_index;  // [count * txt_len] row of the roped text q/k (see below)
  RopeTable rope;           // video table [vid_len, 1, P]; undefined without RoPE
};

struct WindowPlan {
  std::vector<std::vector<Window>> windows;  // per sample, official order
  std::vector<WindowGroup> groups;
  at::Tensor vid_inverse;        // [vid_total]: row of each token in cat(group outputs)
  at::Tensor txt_window_count;   // [txt_total, 1] fp32: windows of the token's sample
};

// Builds the plan of one window method. `freqs` are the per-axis RoPE
// frequencies (ignored for RopeKind::kNone).
//
// Batched 3B quirk (official behaviour, reproduced): the official windowed
// mmrope repeats each sample's text once per window *before* applying RoPE,
// then gathers the text q/k of every segment with the offsets of the
// un-repeated text. For sample b > 0 these offsets land in earlier samples'
// copies, so (window || text) segments of later samples use another sample's
// text queries/keys (the values are the right ones). With one sample, or when
// all earlier samples have one window, it is the identity. The released model
// was trained with this code, and the official-code fixture dit3b_d (two
// samples) only matches with it. `txt_qk_index` encodes it; the 7B path has
// no text RoPE and uses the plain text rows.
// `window_reference`: see MakeWindows (window.h).
WindowPlan MakeWindowPlan(const SequenceLayout& layout, const Grid3& counts, WindowMethod method, RopeKind rope_kind,
                          const at::Tensor& freqs, bool mm_text_quirk,
                          const std::array<int64_t, 2>& window_reference = {0, 0});

// Moves every tensor of a plan to `device` (plans are built on the CPU).
void MovePlanTo(WindowPlan& plan, const at::Device& device);

}  // namespace seedvr::dit
