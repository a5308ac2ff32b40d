// One SeedVR2 DiT block and its gradient checkpointing; see block.h.
#include "seedvr/models/dit/block.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "seedvr/core/device.h"

namespace seedvr::dit {

MMBlockImpl::MMBlockImpl(const BlockOptions& o) : opt_(o) {
  attn = register_module("attn", MMWindowAttention(o.attn));
  mlp = register_module("mlp", MakeMM<MLP>(o.shared, [&] { return MLP(o.attn.dim, o.mlp_hidden, o.swiglu); }));
  ada = register_module("ada", MakeMM<AdaSingle>(o.shared, [&] { return AdaSingle(o.attn.dim); }));
}

std::vector<at::Tensor> MMBlockImpl::forward(const at::Tensor& vid, const at::Tensor& txt, const at::Tensor& emb,
                                             const BlockContext& ctx) {
  auto& ada_v = (*ada)[Stream::kVid];
  auto& ada_t = (*ada)[Stream::kTxt];
  const double eps = opt_.eps;
  auto a_v = Modulate(RmsNormNoAffine(vid, eps), ada_v->vec(emb, AdaLayer::kAttn, AdaPart::kScale, ctx.vid_samples),
                      ada_v->vec(emb, AdaLayer::kAttn, AdaPart::kShift, ctx.vid_samples));
  auto a_t = RmsNormNoAffine(txt, eps);
  // Official 3B quirk: the last layer's AdaSingle is `vid_only`, so the text
  // entering the last attention (whose keys/values the video still sees)
  // is normalised but not modulated. Verified against the fixtures.
  if (!opt_.last_txt_unmodulated) {
    a_t = Modulate(a_t, ada_t->vec(emb, AdaLayer::kAttn, AdaPart::kScale, ctx.txt_samples),
                   ada_t->vec(emb, AdaLayer::kAttn, AdaPart::kShift, ctx.txt_samples));
  }
  auto [o_v, o_t] = attn->forward(a_v, a_t, ctx.attn, /*need_txt=*/!opt_.last);
  auto v = vid + Gate(o_v, ada_v->vec(emb, AdaLayer::kAttn, AdaPart::kGate, ctx.vid_samples));
  v = v + Gate(MlpBranch(v, Stream::kVid, emb, ctx.vid_samples), ada_v->vec(emb, AdaLayer::kMlp, AdaPart::kGate, ctx.vid_samples));
  if (opt_.last) return {v};
  auto t = txt + Gate(o_t, ada_t->vec(emb, AdaLayer::kAttn, AdaPart::kGate, ctx.txt_samples));
  t = t + Gate(MlpBranch(t, Stream::kTxt, emb, ctx.txt_samples), ada_t->vec(emb, AdaLayer::kMlp, AdaPart::kGate, ctx.txt_samples));
  return {v, t};
}

at::Tensor MMBlockImpl::MlpBranch(const at::Tensor& x, Stream s, const at::Tensor& emb, const TokenSamples& ts) {
  auto& a = (*ada)[s];
  auto m = Modulate(RmsNormNoAffine(x, opt_.eps), a->vec(emb, AdaLayer::kMlp, AdaPart::kScale, ts),
                    a->vec(emb, AdaLayer::kMlp, AdaPart::kShift, ts));
  return (*mlp)[s](m);
}

torch::autograd::variable_list CheckpointedBlockFn::forward(torch::autograd::AutogradContext* ctx,
                                                           at::TensorList inputs,
                                                           c10::intrusive_ptr<CheckpointCall> call) {
  ctx->save_for_backward({inputs[0], inputs[1], inputs[2]});
  call->needs.clear();
  for (const auto& t : inputs) call->needs.push_back(t.requires_grad());
  ctx->saved_data["call"] = c10::IValue::make_capsule(call);
  core::AutocastScope autocast(call->device, call->ctx->bf16);
  return call->block->forward(inputs[0], inputs[1], inputs[2], *call->ctx);
}

torch::autograd::variable_list CheckpointedBlockFn::backward(torch::autograd::AutogradContext* ctx,
                                                            torch::autograd::variable_list grad_out) {
  auto call = c10::static_intrusive_pointer_cast<CheckpointCall>(ctx->saved_data["call"].toCapsule());
  const std::vector<bool>& needs = call->needs;
  auto saved = ctx->get_saved_variables();
  at::AutoGradMode grad_mode(true);
  std::vector<at::Tensor> in(3);
  for (size_t i = 0; i < 3; ++i) in[i] = saved[i].detach().requires_grad_(needs[i]);
  std::vector<at::Tensor> outs;
  {
    core::AutocastScope autocast(call->device, call->ctx->bf16);
    outs = call->block->forward(in[0], in[1], in[2], *call->ctx);
  }
  // Differentiate w.r.t. everything that needs a gradient: the block inputs
  // and the parameters (in the order they were passed to apply()).
  auto params = call->block->parameters();
  std::vector<at::Tensor> wrt;
  std::vector<size_t> wrt_slot;
  for (size_t i = 0; i < needs.size(); ++i) {
    if (!needs[i]) continue;
    wrt.push_back(i < 3 ? in[i] : params[i - 3]);
    wrt_slot.push_back(i);
  }
  std::vector<at::Tensor> ys, gys;
  for (size_t i = 0; i < outs.size(); ++i) {
    if (grad_out[i].defined() && outs[i].requires_grad()) {
      ys.push_back(outs[i]);
      gys.push_back(grad_out[i]);
    }
  }
  torch::autograd::variable_list result(needs.size() + 1);  // + the call argument
  if (wrt.empty() || ys.empty()) return result;
  auto grads = torch::autograd::grad(ys, wrt, gys, /*retain_graph=*/false, /*create_graph=*/false,
                                     /*allow_unused=*/true);
  for (size_t j = 0; j < wrt_slot.size(); ++j) result[wrt_slot[j]] = grads[j];
  return result;
}

std::vector<at::Tensor> CheckpointedBlockForward(const std::shared_ptr<MMBlockImpl>& block, const at::Tensor& vid,
                                                 const at::Tensor& txt, const at::Tensor& emb,
                                                 const std::shared_ptr<const BlockContext>& ctx) {
  auto call = c10::make_intrusive<CheckpointCall>();
  call->block = block;
  call->ctx = ctx;
  call->device = vid.device().type();
  std::vector<at::Tensor> inputs = {vid, txt, emb};
  for (const auto& p : block->parameters()) inputs.push_back(p);
  call->num_params = inputs.size() - 3;
  return CheckpointedBlockFn::apply(at::TensorList(inputs), call);
}

}  // namespace seedvr::dit
