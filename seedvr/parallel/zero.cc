// ZeRO-2 sharding of parameters' optimizer state; see zero.h.
#include "seedvr/parallel/zero.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <stdexcept>
#include <utility>

namespace seedvr::parallel {
namespace {

// p's elements zero-padded to `rows` x `chunk`, one chunk per rank.
at::Tensor Chunks(const at::Tensor& p, int64_t rows, int64_t chunk) {
  at::Tensor flat = p.detach().reshape(-1);
  const int64_t pad = rows * chunk - flat.numel();
  if (pad > 0) flat = at::constant_pad_nd(flat, {0, pad}, 0);
  return flat.view({rows, chunk});
}

}  // namespace

ShardedParameters::ShardedParameters(std::vector<at::Tensor> params, std::shared_ptr<ProcessGroups> groups,
                                     int64_t bucket_bytes)
    : params_(std::move(params)), groups_(std::move(groups)), rank_(groups_->rank()), size_(groups_->world_size()) {
  int64_t total = 0;
  Bucket bucket;
  for (size_t i = 0; i < params_.size(); ++i) {
    const int64_t c = (params_[i].numel() + size_ - 1) / size_;
    chunk_.push_back(c);
    offset_.push_back(total);
    if (bucket.end > bucket.first && (bucket.size + c) * size_ * params_[i].element_size() > bucket_bytes) {
      buckets_.push_back(bucket);
      bucket = Bucket{i, i, total, 0};
    }
    bucket.end = i + 1;
    bucket.size += c;
    total += c;
  }
  if (bucket.end > bucket.first) buckets_.push_back(bucket);
  TORCH_CHECK(!params_.empty(), "ZeRO sharding: no parameters");
  buffer_ = at::empty({total}, params_[0].options().requires_grad(false));
  for (size_t i = 0; i < params_.size(); ++i) shards_.push_back(buffer_.narrow(0, offset_[i], chunk_[i]));
  LoadShardsFromParameters();
}

int64_t ShardedParameters::shard_bytes() const { return buffer_.numel() * buffer_.element_size(); }

void ShardedParameters::Run(const c10::intrusive_ptr<c10d::Work>& work, const char* what) const {
  if (auto s = Wait(*work, groups_->timeout(), what); !s.ok()) throw std::runtime_error(std::string(s.message()));
}

void ShardedParameters::ReduceScatterGradients() {
  at::NoGradGuard no_grad;
  // Which parameters any rank has a gradient for.
  std::vector<float> defined;
  for (const at::Tensor& p : params_) defined.push_back(p.grad().defined() ? 1.0f : 0.0f);
  at::Tensor has = at::tensor(defined, at::kFloat);
  std::vector<at::Tensor> one = {has};
  c10d::AllreduceOptions max;
  max.reduceOp = c10d::ReduceOp::MAX;
  Run(groups_->world()->allreduce(one, max), "agreeing which parameters have gradients");
  const auto* any = has.data_ptr<float>();
  for (const Bucket& b : buckets_) {
    std::vector<at::Tensor> rows;
    for (size_t i = b.first; i < b.end; ++i) {
      const at::Tensor& g = params_[i].grad();
      rows.push_back(g.defined() ? Chunks(g, size_, chunk_[i]) : at::zeros({size_, chunk_[i]}, buffer_.options()));
      params_[i].mutable_grad() = at::Tensor();  // the whole gradient is no longer needed
    }
    at::Tensor in = at::cat(rows, 1).reshape(-1);  // [N x bucket chunks]: row r goes to rank r
    at::Tensor out = at::empty({b.size}, in.options());
    Run(groups_->world()->_reduce_scatter_base(out, in), "reduce-scattering gradients");
    out.div_(size_);
    for (size_t i = b.first; i < b.end; ++i) {
      shards_[i].mutable_grad() = any[i] > 0 ? out.narrow(0, offset_[i] - b.offset, chunk_[i]) : at::Tensor();
    }
  }
}

void ShardedParameters::AllGatherParameters() {
  at::NoGradGuard no_grad;
  for (const Bucket& b : buckets_) {
    at::Tensor in = buffer_.narrow(0, b.offset, b.size);
    at::Tensor flat = at::empty({size_ * b.size}, in.options());
    Run(groups_->world()->_allgather_base(flat, in), "all-gathering updated weights");
    at::Tensor out = flat.view({size_, b.size});
    for (size_t i = b.first; i < b.end; ++i) {
      at::Tensor whole = out.narrow(1, offset_[i] - b.offset, chunk_[i]).reshape(-1).narrow(0, 0, params_[i].numel());
      params_[i].detach().copy_(whole.view_as(params_[i]));
    }
  }
}

void ShardedParameters::LoadShardsFromParameters() {
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) shards_[i].copy_(Chunks(params_[i], size_, chunk_[i])[rank_]);
}

double ShardedParameters::SumOverRanks(double value) const {
  std::vector<at::Tensor> one = {at::full({1}, value, at::kDouble)};
  Run(groups_->world()->allreduce(one), "summing over ranks");
  return one[0].item<double>();
}

std::vector<at::Tensor> ShardedParameters::GatherToMain(const std::vector<at::Tensor>& chunks) const {
  at::NoGradGuard no_grad;
  TORCH_CHECK(chunks.size() == params_.size(), "GatherToMain: expected ", params_.size(), " chunks");
  // Host memory and Gloo: the whole state never exists on a GPU.
  at::Tensor mine = at::cat(chunks).to(at::kCPU).contiguous();
  std::vector<at::Tensor> in = {mine};
  std::vector<std::vector<at::Tensor>> out;
  if (rank_ == 0) {
    out.emplace_back();
    for (int r = 0; r < size_; ++r) out[0].push_back(at::empty_like(mine));
  }
  Run(groups_->world()->gather(out, in, c10d::GatherOptions{}), "gathering sharded state for the checkpoint");
  std::vector<at::Tensor> whole;
  if (rank_ != 0) return whole;
  at::Tensor all = at::stack(out[0]);  // [N, total]
  for (size_t i = 0; i < params_.size(); ++i) {
    whole.push_back(
        all.narrow(1, offset_[i], chunk_[i]).reshape(-1).narrow(0, 0, params_[i].numel()).view(params_[i].sizes()));
  }
  return whole;
}

std::vector<at::Tensor> ShardedParameters::Slice(const std::vector<at::Tensor>& whole) const {
  TORCH_CHECK(whole.size() == params_.size(), "Slice: expected ", params_.size(), " tensors");
  std::vector<at::Tensor> out;
  for (size_t i = 0; i < params_.size(); ++i) out.push_back(Chunks(whole[i], size_, chunk_[i])[rank_].clone());
  return out;
}

void ZeroRedundancy::Attach(Role role, std::vector<at::Tensor> params) {
  BroadcastFromRankZero(*groups_, params);
  sharded_[static_cast<int>(role)] = std::make_shared<ShardedParameters>(std::move(params), groups_,
                                                                         options_.bucket_bytes);
}

}  // namespace seedvr::parallel
