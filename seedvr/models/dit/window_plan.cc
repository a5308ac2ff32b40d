// Index plans of the batched window attention; see window_plan.h.
#include "seedvr/models/dit/window_plan.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

namespace seedvr::dit {

SequenceLayout SequenceLayout::Make(std::vector<Grid3> grids, std::vector<int64_t> txt_lens) {
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

WindowPlan MakeWindowPlan(const SequenceLayout& layout, const Grid3& counts, WindowMethod method, RopeKind rope_kind,
                          const at::Tensor& freqs, bool mm_text_quirk, const std::array<int64_t, 2>& window_reference) {
  WindowPlan plan;
  const int64_t batch = layout.batch();
  for (int64_t b = 0; b < batch; ++b) {
    plan.windows.push_back(MakeWindows(layout.vid_grid[b], counts, method, window_reference));
  }

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

void MovePlanTo(WindowPlan& plan, const at::Device& device) {
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
