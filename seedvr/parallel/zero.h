// ZeRO-2 (Rajbhandari et al., "ZeRO: Memory Optimizations Toward Training
// Trillion Parameter Models", 2020, stage 2; strategy "zero2"): every rank
// keeps whole fp32 parameters for its forward and backward, and only its
// 1/N share of the gradients after reduction, of the AdamW moments (and,
// with optimizer.offload: cpu, of the host master copy) and of the EMA.
//
// Layout (per parameter, as PyTorch FSDP2 shards): each parameter, flattened
// and zero-padded to N c elements, is cut into N chunks of c; rank r owns
// chunk r of every parameter. A rank's chunks are views of one buffer, so a
// bucket of parameters is reduced by one reduce-scatter and rebuilt by one
// all-gather. Sharding runs over every rank of the world (data parallel x
// sequence parallel), since every rank holds all weights.
//
// One update: backward accumulates whole gradients locally (every
// micro-batch); ReduceScatterGradients sums them over the ranks into this
// rank's chunks (divided by N, as DDP averages; see ulysses.h for why every
// rank counts) and frees the whole gradients bucket by bucket; AdamW steps
// the chunks; AllGatherParameters writes every rank's updated chunks back
// into the parameters. A parameter no rank produced a gradient for keeps no
// gradient, so AdamW skips it exactly as under DDP.
//
// Checkpoints hold whole tensors (GatherToMain on save, Slice on load), the
// same file DDP and one process write: any world size, and either strategy,
// resumes from it.
#pragma once

#include <ATen/core/Tensor.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "seedvr/parallel/parallelism.h"
#include "seedvr/parallel/process_groups.h"

namespace seedvr::parallel {

class ShardedParameters {
 public:
  // `params` (any dtype, one device) are sharded over `groups`' world;
  // collectives move at most about `bucket_bytes` at a time.
  ShardedParameters(std::vector<at::Tensor> params, std::shared_ptr<ProcessGroups> groups, int64_t bucket_bytes);

  // This rank's chunk of each parameter, [c_i] each, fp32 like the
  // parameters, in parameter order.
  const std::vector<at::Tensor>& shards() const { return shards_; }
  // Bytes of one rank's chunks (one copy of the sharded state).
  int64_t shard_bytes() const;

  // After the last backward of an update: see the header comment. Throws on
  // a failed collective.
  void ReduceScatterGradients();
  // Writes every rank's chunks into the parameters.
  void AllGatherParameters();
  // Copies this rank's chunks out of the parameters (after loading them).
  void LoadShardsFromParameters();

  // The sum of `value` over the ranks (norms and checksums of shards).
  double SumOverRanks(double value) const;
  // Whole tensors shaped like the parameters, from every rank's `chunks`
  // (laid out as shards()), on rank 0, in host memory; empty elsewhere.
  std::vector<at::Tensor> GatherToMain(const std::vector<at::Tensor>& chunks) const;
  // This rank's chunks of whole tensors shaped like the parameters.
  std::vector<at::Tensor> Slice(const std::vector<at::Tensor>& whole) const;

 private:
  struct Bucket {
    size_t first = 0, end = 0;  // parameters [first, end)
    int64_t offset = 0, size = 0;  // their chunks in buffer_
  };
  void Run(const c10::intrusive_ptr<c10d::Work>& work, const char* what) const;

  std::vector<at::Tensor> params_;
  std::shared_ptr<ProcessGroups> groups_;
  int rank_ = 0, size_ = 1;
  std::vector<int64_t> chunk_, offset_;  // per parameter: chunk length c_i, offset in buffer_
  std::vector<Bucket> buckets_;
  at::Tensor buffer_;                    // this rank's chunks, back to back
  std::vector<at::Tensor> shards_;       // views of buffer_
};

// The strategy: DDP's launch, weight broadcast, metrics and checks, with the
// optimizer state sharded.
class ZeroRedundancy : public MultiProcess {
 public:
  static constexpr const char* kName = "zero2";

  ZeroRedundancy(std::shared_ptr<ProcessGroups> groups, StrategyOptions options)
      : MultiProcess(std::move(groups)), options_(options) {}

  ShardedParameters* sharded(Role role) const { return sharded_[static_cast<int>(role)].get(); }
  void Attach(Role role, std::vector<at::Tensor> params);
  void PrepareBackward(Role, const at::Tensor&) {}  // gradients are reduced at the step

 private:
  StrategyOptions options_;
  std::shared_ptr<ShardedParameters> sharded_[2];  // by Role
};

static_assert(Parallelism<ZeroRedundancy>);

}  // namespace seedvr::parallel
