// Data-parallel training (strategy "ddp") on c10d. Every rank holds the
// whole generator and discriminator and trains on its own clips. Gradients
// are averaged by c10d's Reducer, the engine of PyTorch's
// DistributedDataParallel: parameters are grouped into buckets (1 MiB first,
// then parallel.bucket_mb, in reverse registration order, roughly the order
// backward produces them) and each bucket's all-reduce starts as soon as its
// gradients are ready, overlapping the rest of the backward pass. Parameters
// are broadcast from rank 0 when attached, so every rank starts from the same
// weights and, stepping on the same averaged gradients, keeps them (and the
// EMA) identical; Agree checks that at every checkpoint.
//
// With sequence parallelism (sp_size > 1) the ranks of a group train on the
// same clips, each on its share of the tokens; their gradients are partial
// sums (ulysses.h), so gradients are averaged over every rank of the world,
// which equals the data-parallel mean of one process per group.
//
// Gradient accumulation: only the last micro-batch's backward reduces
// (PrepareBackward), as DDP's no_sync does for the others. Parameters that a
// step leaves without a gradient are found from the loss's graph (DDP's
// find_unused_parameters), so discriminators with unused heads work.
#pragma once

#include <array>
#include <memory>
#include <torch/csrc/distributed/c10d/reducer.hpp>

#include "seedvr/parallel/parallelism.h"

namespace seedvr::parallel {

class DataParallel : public MultiProcess {
 public:
  static constexpr const char* kName = "ddp";

  DataParallel(std::shared_ptr<ProcessGroups> groups, StrategyOptions options);
  DataParallel(DataParallel&&) noexcept;
  DataParallel& operator=(DataParallel&&) noexcept;
  ~DataParallel();

  ShardedParameters* sharded(Role) const { return nullptr; }
  void Attach(Role role, std::vector<at::Tensor> params);
  void PrepareBackward(Role role, const at::Tensor& loss);

 private:
  StrategyOptions options_;
  std::array<std::unique_ptr<c10d::Reducer>, 2> reducers_;  // by Role
};

static_assert(Parallelism<DataParallel>);

}  // namespace seedvr::parallel
