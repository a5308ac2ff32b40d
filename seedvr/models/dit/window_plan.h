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

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
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

  static SequenceLayout Make(std::vector<Grid3> grids, std::vector<int64_t> txt_lens) {
    SequenceLayout s;
    s.vid_grid = std::move(grids);
    s.txt_len = std::move(txt_lens);
    for (const auto& g : s.vid_grid) {
      s.vid_offset.push_back(s.vid_total);
      s.vid_total += g[0] * g[1] * g[2];
    }
    for (int64_t l : s.txt_len) {
      s.txt_offset.push_back(s.txt_total);
      s.txt_total += l;
    }
    return s;
  }
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
inline WindowPlan MakeWindowPlan(const SequenceLayout& layout, const Grid3& counts, WindowMethod method,
                                 RopeKind rope_kind, const at::Tensor& freqs, bool mm_text_quirk) {
  WindowPlan plan;
  const int64_t batch = layout.batch();
  for (int64_t b = 0; b < batch; ++b) plan.windows.push_back(MakeWindows(layout.vid_grid[b], counts, method));

  // Row of the repeated-then-roped text that segment text slot k reads.
  std::vector<int64_t> qk_src;
  qk_src.reserve(layout.txt_total);
  for (int64_t b = 0; b < batch && static_cast<int64_t>(qk_src.size()) < layout.txt_total; ++b) {
    const int64_t copies = mm_text_quirk ? static_cast<int64_t>(plan.windows[b].size()) : 1;
    for (int64_t c = 0; c < copies; ++c) {
      for (int64_t j = 0; j < layout.txt_len[b]; ++j) qk_src.push_back(layout.txt_offset[b] + j);
    }
  }

  // Group (sample, window) pairs by (f, h, w, txt_len), in a deterministic order.
  using Key = std::tuple<int64_t, int64_t, int64_t, int64_t>;
  std::map<Key, std::vector<std::pair<int64_t, size_t>>> by_shape;
  for (int64_t b = 0; b < batch; ++b) {
    for (size_t i = 0; i < plan.windows[b].size(); ++i) {
      const Grid3 s = plan.windows[b][i].shape();
      by_shape[{s[0], s[1], s[2], layout.txt_len[b]}].push_back({b, i});
    }
  }

  std::vector<int64_t> inverse(layout.vid_total, -1);
  int64_t row = 0;
  for (const auto& [key, members] : by_shape) {
    WindowGroup g;
    g.shape = {std::get<0>(key), std::get<1>(key), std::get<2>(key)};
    g.txt_len = std::get<3>(key);
    g.count = static_cast<int64_t>(members.size());
    std::vector<int64_t> vid_idx, txt_idx, txt_qk_idx;
    vid_idx.reserve(g.count * g.vid_len());
    for (const auto& [b, i] : members) {
      const Window& w = plan.windows[b][i];
      const Grid3& grid = layout.vid_grid[b];
      for (int64_t t = w.begin[0]; t < w.end[0]; ++t) {
        for (int64_t y = w.begin[1]; y < w.end[1]; ++y) {
          for (int64_t x = w.begin[2]; x < w.end[2]; ++x) {
            const int64_t tok = layout.vid_offset[b] + (t * grid[1] + y) * grid[2] + x;
            inverse[tok] = row++;
            vid_idx.push_back(tok);
          }
        }
      }
      for (int64_t j = 0; j < g.txt_len; ++j) {
        const int64_t tok = layout.txt_offset[b] + j;
        txt_idx.push_back(tok);
        txt_qk_idx.push_back(qk_src[tok]);
      }
    }
    auto as_tensor = [](const std::vector<int64_t>& v) {
      return at::tensor(c10::ArrayRef<int64_t>(v), at::TensorOptions().dtype(at::kLong));
    };
    g.vid_index = as_tensor(vid_idx);
    g.txt_index = as_tensor(txt_idx);
    g.txt_qk_index = as_tensor(txt_qk_idx);
    g.rope = WindowRopeTable(rope_kind, freqs, g.shape, g.txt_len);
    plan.groups.push_back(std::move(g));
  }
  TORCH_CHECK(row == layout.vid_total, "window plan does not cover every video token (", row, " of ",
              layout.vid_total, ")");
  plan.vid_inverse = at::tensor(c10::ArrayRef<int64_t>(inverse), at::TensorOptions().dtype(at::kLong));
  std::vector<float> count(layout.txt_total);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t j = 0; j < layout.txt_len[b]; ++j) {
      count[layout.txt_offset[b] + j] = static_cast<float>(plan.windows[b].size());
    }
  }
  plan.txt_window_count = at::tensor(c10::ArrayRef<float>(count), at::TensorOptions().dtype(at::kFloat))
                              .view({layout.txt_total, 1});
  return plan;
}

// Moves every tensor of a plan to `device` (plans are built on the CPU).
inline void MovePlanTo(WindowPlan& plan, const at::Device& device) {
  if (device.is_cpu()) return;
  for (auto& g : plan.groups) {
    g.vid_index = g.vid_index.to(device);
    g.txt_index = g.txt_index.to(device);
    g.txt_qk_index = g.txt_qk_index.to(device);
    if (g.rope.defined()) g.rope = {g.rope.cos.to(device), g.rope.sin.to(device)};
  }
  plan.vid_inverse = plan.vid_inverse.to(device);
  plan.txt_window_count = plan.txt_window_count.to(device);
}

}  // namespace seedvr::dit
