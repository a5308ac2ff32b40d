// Parallelism strategies for the trainer.
//
// A strategy owns how work is split across processes: it synchronises
// gradients, names the Ulysses group the models exchange attention heads
// over, and may shard the optimizer state, so the losses never see the
// split. Strategies: SingleProcess (below), DataParallel (data_parallel.h),
// ZeroRedundancy (zero.h).
//
// Contract (concept Parallelism):
//   static constexpr const char* kName;   // parallel.strategy, as //tools:train lists it
//   P(std::shared_ptr<ProcessGroups> groups, StrategyOptions);  // groups null for one process
//   int dp_rank() const; int dp_size() const;  // data-parallel position
//   bool is_main() const;                      // writes logs and checkpoints
//   // The Ulysses group the models split their tokens over (ulysses.h);
//   // null without sequence parallelism.
//   SequenceParallelHandle sequence_parallel() const;
//   // The role's sharded optimizer state (zero.h); null when every rank
//   // holds all of it. The trainer then steps the shards.
//   ShardedParameters* sharded(Role role) const;
//   // Once per parameter set, before training; the parameters require grad.
//   void Attach(Role role, std::vector<at::Tensor> params);
//   // The next backward of `loss` completes this update's gradients of
//   // `role` (the last micro-batch of a gradient accumulation); after it,
//   // every rank holds the same, averaged gradients (a sharding strategy
//   // instead reduces them into its shards at the optimizer step).
//   void PrepareBackward(Role role, const at::Tensor& loss);
//   // Replaces each value by its mean over the data-parallel ranks.
//   absl::Status Average(std::vector<double>& values);
//   // A barrier that also checks every rank holds the same `value` (a
//   // weight checksum), waiting at most `timeout`.
//   absl::Status Agree(double value, std::chrono::milliseconds timeout, const std::string& what);
//   // Whether `flag` is set on any rank (a stop signal seen by one of
//   // them), so that every rank leaves the step loop at the same step.
//   absl::StatusOr<bool> AnyRank(bool flag, std::chrono::milliseconds timeout, const std::string& what);
//
// Collective failures either return an error or, inside backward, throw
// (c10::DistBackendError); the run loop turns both into a stop that names
// the failed rank (fault.h).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "seedvr/parallel/process_groups.h"
#include "seedvr/parallel/ulysses.h"

namespace seedvr::parallel {

// The parameter sets a trainer updates.
enum class Role { kGenerator, kDiscriminator };

class ShardedParameters;  // zero.h

// Gradient bucketing (parallel.bucket_mb); PyTorch DDP's defaults.
struct StrategyOptions {
  int64_t first_bucket_bytes = int64_t{1} << 20;
  int64_t bucket_bytes = int64_t{25} << 20;
};

template <class P>
concept Parallelism = requires(P p, const P cp, std::vector<at::Tensor> params, const at::Tensor& loss,
                               std::vector<double>& values) {
  { P::kName } -> std::convertible_to<const char*>;
  requires std::constructible_from<P, std::shared_ptr<ProcessGroups>, StrategyOptions>;
  { cp.dp_rank() } -> std::convertible_to<int>;
  { cp.dp_size() } -> std::convertible_to<int>;
  { cp.is_main() } -> std::convertible_to<bool>;
  { cp.sequence_parallel() } -> std::same_as<SequenceParallelHandle>;
  { cp.sharded(Role::kGenerator) } -> std::same_as<ShardedParameters*>;
  p.Attach(Role::kGenerator, params);
  p.PrepareBackward(Role::kGenerator, loss);
  { p.Average(values) } -> std::same_as<absl::Status>;
  { p.Agree(0.0, std::chrono::milliseconds(0), std::string()) } -> std::same_as<absl::Status>;
  { p.AnyRank(true, std::chrono::milliseconds(0), std::string()) } -> std::same_as<absl::StatusOr<bool>>;
};

// One process, one device: nothing to communicate.
struct SingleProcess {
  static constexpr const char* kName = "single";
  SingleProcess(std::shared_ptr<ProcessGroups>, StrategyOptions) {}
  int dp_rank() const { return 0; }
  int dp_size() const { return 1; }
  bool is_main() const { return true; }
  SequenceParallelHandle sequence_parallel() const { return {}; }
  ShardedParameters* sharded(Role) const { return nullptr; }
  void Attach(Role, std::vector<at::Tensor>) {}
  void PrepareBackward(Role, const at::Tensor&) {}
  absl::Status Average(std::vector<double>&) { return absl::OkStatus(); }
  absl::Status Agree(double, std::chrono::milliseconds, const std::string&) { return absl::OkStatus(); }
  absl::StatusOr<bool> AnyRank(bool flag, std::chrono::milliseconds, const std::string&) { return flag; }
};

static_assert(Parallelism<SingleProcess>);

// What the multi-process strategies share: their place in the process
// groups (not null: a torchrun launch), the Ulysses group, the metric mean
// and the agreement check.
class MultiProcess {
 public:
  explicit MultiProcess(std::shared_ptr<ProcessGroups> groups) : groups_(std::move(groups)) {
    TORCH_CHECK(groups_ != nullptr, "multi-process training needs process groups (launch with torchrun)");
    sequence_parallel_ = MakeSequenceParallel(*groups_);
  }
  int dp_rank() const { return groups_->dp_rank(); }
  int dp_size() const { return groups_->dp_size(); }
  bool is_main() const { return groups_->is_main(); }
  SequenceParallelHandle sequence_parallel() const { return sequence_parallel_; }
  absl::Status Average(std::vector<double>& values) { return AverageOverRanks(*groups_, values); }
  absl::Status Agree(double value, std::chrono::milliseconds timeout, const std::string& what) {
    return CheckAgreement(*groups_, value, timeout, what);
  }
  absl::StatusOr<bool> AnyRank(bool flag, std::chrono::milliseconds timeout, const std::string& what) {
    auto any = MaxOverRanks(groups_->world(), flag ? 1.0 : 0.0, timeout, what);
    if (!any.ok()) return any.status();
    return *any > 0;
  }

 protected:
  std::shared_ptr<ProcessGroups> groups_;
  SequenceParallelHandle sequence_parallel_;
};

}  // namespace seedvr::parallel
