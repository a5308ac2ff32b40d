// Parallelism strategies for the trainer.
//
// Contract (concept Parallelism):
//   static constexpr const char* kName;      // as listed by //tools:train
//   int rank() const; int world_size() const; bool is_main() const;
//   void AllReduceGradients(std::vector<at::Tensor> params);  // average grads
//   void Barrier();
// The trainer calls AllReduceGradients after each backward and before the
// optimizer step; only the main rank writes checkpoints and logs. Data
// parallel, sharded and sequence-parallel strategies implement the same
// contract, so the losses and models never see how work is split.
#pragma once

#include <ATen/core/Tensor.h>

#include <concepts>
#include <vector>

namespace seedvr::parallel {

template <class P>
concept Parallelism = requires(P p, const P cp, std::vector<at::Tensor> params) {
  { P::kName } -> std::convertible_to<const char*>;
  { cp.rank() } -> std::convertible_to<int>;
  { cp.world_size() } -> std::convertible_to<int>;
  { cp.is_main() } -> std::convertible_to<bool>;
  p.AllReduceGradients(params);
  p.Barrier();
};

// One process, one device: nothing to communicate.
struct SingleProcess {
  static constexpr const char* kName = "single";
  int rank() const { return 0; }
  int world_size() const { return 1; }
  bool is_main() const { return true; }
  void AllReduceGradients(const std::vector<at::Tensor>&) {}
  void Barrier() {}
};

static_assert(Parallelism<SingleProcess>);

}  // namespace seedvr::parallel
