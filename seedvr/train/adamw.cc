#include "seedvr/train/adamw.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"

namespace seedvr::train {

namespace {

// A host fp32 copy of `p`, pinned when `p` is on a GPU so copies overlap.
at::Tensor HostCopy(const at::Tensor& p) {
  at::Tensor host = p.detach().to(at::kCPU, at::kFloat, /*non_blocking=*/false, /*copy=*/true).contiguous();
  return p.is_cuda() ? host.pin_memory() : host;
}

}  // namespace

AdamW::AdamW(std::vector<std::pair<std::string, at::Tensor>> params, AdamWOptions options, bool offload)
    : params_(std::move(params)), options_(options), offload_(offload) {
  for (auto& [name, p] : params_) {
    if (offload_) master_.push_back(HostCopy(p));
    const at::Tensor& like = offload_ ? master_.back() : p;
    exp_avg_.push_back(at::zeros_like(like, at::MemoryFormat::Contiguous));
    exp_avg_sq_.push_back(at::zeros_like(like, at::MemoryFormat::Contiguous));
  }
}

void AdamW::ZeroGrad() {
  for (auto& [name, p] : params_) {
    if (p.grad().defined()) p.mutable_grad() = at::Tensor();
  }
}

void AdamW::Step() {
  torch::NoGradGuard no_grad;
  ++step_;
  // LibTorch's fused multi-tensor kernel (torch.optim.AdamW(fused=True)),
  // one call per device and dtype: a single pass over each parameter
  // instead of seven elementwise ops with their temporaries.
  struct Group {
    std::vector<at::Tensor> w, g, m, v;
  };
  std::map<std::tuple<std::string, at::ScalarType>, Group> groups;
  for (size_t i = 0; i < params_.size(); ++i) {
    const at::Tensor& p = params_[i].second;
    if (!p.grad().defined()) continue;
    const at::Tensor& w = offload_ ? master_[i] : p;
    Group& group = groups[{w.device().str(), w.scalar_type()}];
    group.w.push_back(w);
    group.g.push_back(p.grad().to(w.device(), w.scalar_type()));
    group.m.push_back(exp_avg_[i]);
    group.v.push_back(exp_avg_sq_[i]);
  }
  for (auto& [key, group] : groups) {
    // The kernel reads the step count from a tensor per parameter.
    const at::Tensor step = at::full({}, static_cast<double>(step_), group.w[0].options().dtype(at::kFloat));
    const std::vector<at::Tensor> steps(group.w.size(), step);
    at::_fused_adamw_(group.w, group.g, group.m, group.v, /*max_exp_avg_sqs=*/{}, steps, options_.lr, options_.beta1,
                      options_.beta2, options_.weight_decay, options_.eps, /*amsgrad=*/false,
                      /*maximize=*/false);
  }
  // Asynchronous from pinned memory: the next step's ClipGradNorm
  // synchronises before the master copies are written again.
  for (size_t i = 0; offload_ && i < params_.size(); ++i) {
    at::Tensor& p = params_[i].second;
    if (p.grad().defined()) p.copy_(master_[i], /*non_blocking=*/p.is_cuda());
  }
}

double AdamW::ClipGradNorm(double max_norm, const std::function<double(double)>& sum_over_ranks) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> grads;
  for (auto& [name, p] : params_) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  // One multi-tensor norm, summed on the device in fp64; one synchronisation.
  double squares = 0;
  if (!grads.empty()) {
    squares = at::stack(at::_foreach_norm(grads, 2, at::kFloat)).to(at::kDouble).square().sum().item<double>();
  }
  if (sum_over_ranks) squares = sum_over_ranks(squares);
  const double norm = std::sqrt(squares);
  if (max_norm > 0 && norm > max_norm && !grads.empty()) at::_foreach_mul_(grads, max_norm / (norm + 1e-6));
  return norm;
}

int64_t AdamW::StateBytes() const {
  int64_t bytes = 0;
  for (const auto* list : {&exp_avg_, &exp_avg_sq_, &master_}) {
    for (const at::Tensor& t : *list) bytes += t.numel() * t.element_size();
  }
  return bytes;
}

core::PyValue AdamW::State() const {
  auto d = std::make_shared<core::PyDict>();
  core::TensorList avg, avg_sq;
  for (size_t i = 0; i < params_.size(); ++i) {
    avg.push_back({params_[i].first, exp_avg_[i]});
    avg_sq.push_back({params_[i].first, exp_avg_sq_[i]});
  }
  d->emplace_back(core::PyValue{std::string("step")}, core::PyValue{step_});
  d->emplace_back(core::PyValue{std::string("lr")}, core::PyValue{options_.lr});
  d->emplace_back(core::PyValue{std::string("beta1")}, core::PyValue{options_.beta1});
  d->emplace_back(core::PyValue{std::string("beta2")}, core::PyValue{options_.beta2});
  d->emplace_back(core::PyValue{std::string("eps")}, core::PyValue{options_.eps});
  d->emplace_back(core::PyValue{std::string("weight_decay")}, core::PyValue{options_.weight_decay});
  d->emplace_back(core::PyValue{std::string("exp_avg")}, core::FromTensorList(avg));
  d->emplace_back(core::PyValue{std::string("exp_avg_sq")}, core::FromTensorList(avg_sq));
  return core::PyValue{d};
}

absl::StatusOr<std::string> AdamW::LoadState(const core::PyValue& state, const std::string& where) {
  const core::PyValue* step = state.find("step");
  const core::PyValue* avg = state.find("exp_avg");
  const core::PyValue* avg_sq = state.find("exp_avg_sq");
  if (step == nullptr || !step->is_int() || avg == nullptr || avg_sq == nullptr) {
    return absl::InvalidArgumentError(where + ": optimizer state lacks step, exp_avg or exp_avg_sq");
  }
  for (auto [key, target] : {std::pair{avg, &exp_avg_}, std::pair{avg_sq, &exp_avg_sq_}}) {
    auto list = core::ToTensorList(*key, where);
    if (!list.ok()) return list.status();
    if (list->size() != params_.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": optimizer state has ", list->size(), " tensors, the model has ", params_.size()));
    }
    for (size_t i = 0; i < params_.size(); ++i) {
      const core::NamedTensor& t = (*list)[i];
      if (t.name != params_[i].first || !t.tensor.sizes().equals(params_[i].second.sizes())) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": optimizer state entry ", i, " is '", t.name,
                                                       "', expected '", params_[i].first, "' of the same shape"));
      }
      (*target)[i].copy_(t.tensor);
    }
  }
  step_ = std::get<int64_t>(step->v);
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < master_.size(); ++i) master_[i].copy_(params_[i].second);
  std::string changed;
  for (auto [key, field] :
       {std::pair{"lr", options_.lr}, std::pair{"beta1", options_.beta1}, std::pair{"beta2", options_.beta2},
        std::pair{"eps", options_.eps}, std::pair{"weight_decay", options_.weight_decay}}) {
    const core::PyValue* v = state.find(key);
    if (v != nullptr && std::holds_alternative<double>(v->v) && std::get<double>(v->v) != field) {
      absl::StrAppend(&changed, changed.empty() ? "" : ", ", key, " ", std::get<double>(v->v), " -> ", field);
    }
  }
  return changed;
}

}  // namespace seedvr::train
