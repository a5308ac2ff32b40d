// Joint (MM-DiT) window attention of the SeedVR2 DiT; see attention.h.
#include "seedvr/models/dit/attention.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace seedvr::dit {

at::Tensor SegmentAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t head_dim) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  return at::scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                          /*attn_mask=*/{}, /*dropout_p=*/0.0, /*is_causal=*/false, scale)
      .transpose(1, 2);
}

std::pair<at::Tensor, at::Tensor> WindowedJointAttention(
    const at::Tensor& q_v, const at::Tensor& k_v, const at::Tensor& v_v, const at::Tensor& q_t,
    const at::Tensor& k_t, const at::Tensor& v_t, const AttentionContext& ctx, bool need_txt) {
  const int64_t h = q_v.size(1), d = q_v.size(2), lt = q_t.size(0);
  auto cast = [&](const at::Tensor& x) { return ctx.bf16_attention ? x.to(at::kBFloat16) : x; };

  std::vector<at::Tensor> vid_parts;
  at::Tensor txt_acc;
  for (const WindowGroup& g : ctx.plan->groups) {
    const int64_t nw = g.vid_len(), ntx = g.txt_len;
    const int64_t per_call = std::max<int64_t>(1, ctx.max_tokens_per_call / (nw + ntx));
    for (int64_t first = 0; first < g.count; first += per_call) {
      const int64_t gc = std::min(per_call, g.count - first);
      const bool all = gc == g.count;
      auto vid_index = all ? g.vid_index : g.vid_index.narrow(0, first * nw, gc * nw);
      auto qv = ApplyRope(q_v.index_select(0, vid_index).view({gc, nw, h, d}), g.rope);
      auto kv = ApplyRope(k_v.index_select(0, vid_index).view({gc, nw, h, d}), g.rope);
      auto vv = v_v.index_select(0, vid_index).view({gc, nw, h, d});
      at::Tensor q = cast(qv), k = cast(kv), v = cast(vv);
      at::Tensor txt_index;
      if (ntx > 0) {
        txt_index = all ? g.txt_index : g.txt_index.narrow(0, first * ntx, gc * ntx);
        auto txt_qk_index = all ? g.txt_qk_index : g.txt_qk_index.narrow(0, first * ntx, gc * ntx);
        k = at::cat({k, cast(k_t.index_select(0, txt_qk_index).view({gc, ntx, h, d}))}, 1);
        v = at::cat({v, cast(v_t.index_select(0, txt_index).view({gc, ntx, h, d}))}, 1);
        if (need_txt) q = at::cat({q, cast(q_t.index_select(0, txt_qk_index).view({gc, ntx, h, d}))}, 1);
      }
      auto o = SegmentAttention(q, k, v, d);  // [gc, Nq, H, D]
      vid_parts.push_back(o.narrow(1, 0, nw).reshape({gc * nw, h * d}));
      if (need_txt && ntx > 0) {
        auto ot = o.narrow(1, nw, ntx).reshape({gc * ntx, h * d});
        if (!txt_acc.defined()) txt_acc = at::zeros({lt, h * d}, ot.options());
        txt_acc = txt_acc.index_add(0, txt_index, ot);
      }
    }
  }
  auto vid_o = (vid_parts.size() == 1 ? vid_parts[0] : at::cat(vid_parts)).index_select(0, ctx.plan->vid_inverse);
  at::Tensor txt_o;
  if (need_txt) {
    if (!txt_acc.defined()) txt_acc = at::zeros({lt, h * d}, vid_o.options());
    // Text outputs are averaged over the windows of their sample.
    txt_o = txt_acc / ctx.plan->txt_window_count;
  }
  return {vid_o, txt_o};
}

MMWindowAttentionImpl::MMWindowAttentionImpl(const AttentionOptions& o) : heads_(o.heads), head_dim_(o.head_dim) {
  const int64_t inner = o.heads * o.head_dim;
  proj_qkv = register_module("proj_qkv", MakeMM<torch::nn::Linear>(o.shared, [&] {
                               return MakeLinear(o.dim, 3 * inner, o.qk_bias);
                             }));
  proj_out = register_module("proj_out", MakeMM<torch::nn::Linear>(o.shared, [&] {
                               return MakeLinear(inner, o.dim, true);
                             }));
  norm_q = register_module("norm_q", MakeMM<RMSNorm>(o.shared, [&] { return RMSNorm(o.head_dim, o.eps, true); }));
  norm_k = register_module("norm_k", MakeMM<RMSNorm>(o.shared, [&] { return RMSNorm(o.head_dim, o.eps, true); }));
  if (o.rope_freqs > 0) rope = register_module("rope", NaRope(o.rope_init.clone()));
}

std::pair<at::Tensor, at::Tensor> MMWindowAttentionImpl::forward(const at::Tensor& vid, const at::Tensor& txt,
                                                                 const AttentionContext& ctx, bool need_txt) {
  const int64_t lv = vid.size(0), lt = txt.size(0), h = heads_, d = head_dim_;
  auto qkv_v = (*proj_qkv)[Stream::kVid](vid).view({lv, 3, h, d});
  auto qkv_t = (*proj_qkv)[Stream::kTxt](txt).view({lt, 3, h, d});
  auto q_v = (*norm_q)[Stream::kVid](qkv_v.select(1, 0));
  auto k_v = (*norm_k)[Stream::kVid](qkv_v.select(1, 1));
  auto v_v = qkv_v.select(1, 2);
  auto q_t = (*norm_q)[Stream::kTxt](qkv_t.select(1, 0));
  auto k_t = (*norm_k)[Stream::kTxt](qkv_t.select(1, 1));
  auto v_t = qkv_t.select(1, 2);
  if (ctx.sp) {
    // Stack q, k, v so that each stream is one exchange.
    auto v = parallel::SequenceToHeads(at::stack({q_v, k_v, v_v}, 1), ctx.plan->vid_inverse.size(0), ctx.sp);
    auto t = parallel::SequenceToHeads(at::stack({q_t, k_t, v_t}, 1), ctx.plan->txt_window_count.size(0), ctx.sp);
    q_v = v.select(1, 0), k_v = v.select(1, 1), v_v = v.select(1, 2);
    q_t = t.select(1, 0), k_t = t.select(1, 1), v_t = t.select(1, 2);
  }
  if (ctx.txt_rope.defined()) {
    q_t = ApplyRope(q_t, ctx.txt_rope);
    k_t = ApplyRope(k_t, ctx.txt_rope);
  }
  auto [vid_o, txt_o] = WindowedJointAttention(q_v, k_v, v_v, q_t, k_t, v_t, ctx, need_txt);
  if (ctx.sp) {
    auto back = [&](const at::Tensor& o) {
      return parallel::HeadsToSequence(o.reshape({o.size(0), 1, q_v.size(1), d}), ctx.sp).reshape({-1, h * d});
    };
    vid_o = back(vid_o);
    if (need_txt) txt_o = back(txt_o);
  }
  auto out_v = (*proj_out)[Stream::kVid](vid_o.to(vid.scalar_type()));
  at::Tensor out_t;
  if (need_txt) out_t = (*proj_out)[Stream::kTxt](txt_o.to(txt.scalar_type()));
  return {out_v, out_t};
}

}  // namespace seedvr::dit
