// Ulysses sequence parallelism (DeepSpeed-Ulysses, arXiv 2309.14509; the
// official SeedVR code's common/distributed/ops.py): the ranks of a
// sequence-parallel group hold consecutive shards of a token sequence and
// exchange them around attention so that each rank attends the whole
// sequence for 1/sp of the heads.
//
// Sharding: a sequence of S tokens is zero-padded to sp * c rows, c =
// ceil(S / sp), and rank r holds rows [r c, (r + 1) c). Padding rows run
// through the per-token layers and are dropped by every gather, so any S
// works.
//
// Gradients: every operation's backward is its exact adjoint (the backward
// of one all-to-all is the other, unscaled; of the gather, a reduce-scatter
// sum). A rank's gradients are therefore its share of the gradient of the
// sum of the group's (identical) losses: summed over the group they are sp
// times one process's. The data-parallel strategies average gradients over
// every rank (world), not only over data-parallel ranks, which makes the
// result equal one process's. Gradients at a replicated input are partial
// on each rank; nothing here has a double backward (the DiT discriminator
// has no exact R1).
//
// Errors: a failed or timed-out exchange throws (inside backward too); the
// trainer turns it into a stop that names the rank.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/ivalue.h>

#include <chrono>
#include <cstdint>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>

#include "seedvr/parallel/process_groups.h"

namespace seedvr::parallel {

// This rank's place in a sequence-parallel group.
struct SequenceParallel : torch::CustomClassHolder {
  c10::intrusive_ptr<c10d::ProcessGroup> group;
  int rank = 0;
  int size = 1;
  std::chrono::milliseconds timeout{45000};

  // Rows per rank for a sequence of `length` tokens.
  int64_t ShardLength(int64_t length) const { return (length + size - 1) / size; }
};

using SequenceParallelHandle = c10::intrusive_ptr<SequenceParallel>;

// The sequence-parallel group of `groups`; null when sp_size is 1.
SequenceParallelHandle MakeSequenceParallel(const ProcessGroups& groups);

// This rank's shard of a sequence held whole by every rank: x [S, ...] ->
// [c, ...], zero-padded. Plain tensor ops, no communication.
at::Tensor ScatterSequence(const at::Tensor& x, const SequenceParallelHandle& sp);

// The whole sequence from every rank's shard: x [c, ...] -> [length, ...]
// (all-gather; backward: reduce-scatter sum).
at::Tensor GatherSequence(const at::Tensor& x, int64_t length, const SequenceParallelHandle& sp);

// Before attention: tokens sharded, all heads -> all tokens, this rank's
// heads: x [c, G, H, D] -> [length, G, H/sp, D] (G groups such as q, k, v;
// rank r gets heads [r H/sp, (r + 1) H/sp)). H must divide by sp.
at::Tensor SequenceToHeads(const at::Tensor& x, int64_t length, const SequenceParallelHandle& sp);

// After attention, the inverse: x [length, G, H/sp, D] -> [c, G, H, D].
at::Tensor HeadsToSequence(const at::Tensor& x, const SequenceParallelHandle& sp);

}  // namespace seedvr::parallel
