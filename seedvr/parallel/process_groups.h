// The process groups of a multi-process training run, on PyTorch's c10d.
//
// Launch (LaunchEnv::FromEnvironment): torchrun sets RANK, WORLD_SIZE,
// LOCAL_RANK, MASTER_ADDR and MASTER_PORT, and, serving the store itself,
// TORCHELASTIC_USE_AGENT_STORE=True and TORCHELASTIC_RESTART_COUNT. Every
// rank is then a client of the agent's TCPStore under the prefix
// /worker/attempt_<restart count>, as PyTorch's own ranks are. A launch that
// sets the same variables without the agent gets a store served by rank 0.
//
// Layout: world = data parallel x sequence parallel. Consecutive ranks form
// a sequence-parallel group of sp_size (0..sp-1, sp..2sp-1, ...), as the
// official SeedVR code groups them (common/distributed/advanced.py); a
// rank's data-parallel group holds the ranks at the same position of every
// sequence-parallel group. Backends: Gloo for CPU tensors, plus NCCL for
// CUDA tensors in a --config=cuda build on a GPU run. Every collective runs
// under the configured timeout, so a rank that dies or hangs becomes an
// error on the others, never a hang.
//
// Faults: each rank beats a heartbeat in the store on its own connection;
// Diagnose() reports which ranks stopped beating or reported a failure, so
// a survivor's last message names the rank that failed.
#pragma once

#include <c10/core/Device.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace seedvr::parallel {

// Where this process stands in a launch, from torchrun's variables.
struct LaunchEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool agent_store = false;  // torchrun's agent serves the store
  int restart_count = 0;

  // A plain process (no WORLD_SIZE) is rank 0 of 1. Errors name the
  // variable and its value.
  static absl::StatusOr<LaunchEnv> FromEnvironment();
};

struct GroupOptions {
  int sp_size = 1;                                    // divides the world size
  c10::Device device = c10::kCPU;                     // CUDA: NCCL for CUDA tensors
  std::chrono::milliseconds timeout{45000};           // every collective (parallel.timeout_s)
  std::chrono::milliseconds connect_timeout{300000};  // store connection and group setup
};

class ProcessGroups {
 public:
  // Connects to the store and builds the world, data-parallel and (sp_size
  // > 1) sequence-parallel groups; blocks until every rank has joined or
  // connect_timeout passes. Errors name the store address or the layout.
  static absl::StatusOr<std::shared_ptr<ProcessGroups>> Create(const LaunchEnv& env, const GroupOptions& options);
  ~ProcessGroups();
  ProcessGroups(const ProcessGroups&) = delete;
  ProcessGroups& operator=(const ProcessGroups&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  int sp_size() const { return sp_size_; }
  int sp_rank() const { return rank_ % sp_size_; }
  int dp_size() const { return world_size_ / sp_size_; }
  int dp_rank() const { return rank_ / sp_size_; }
  bool is_main() const { return rank_ == 0; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  const c10::intrusive_ptr<c10d::ProcessGroup>& world() const { return world_; }
  const c10::intrusive_ptr<c10d::ProcessGroup>& data_parallel() const { return data_parallel_; }
  // Null when sp_size is 1.
  const c10::intrusive_ptr<c10d::ProcessGroup>& sequence_parallel() const { return sequence_parallel_; }

  // Records that this rank failed with `reason`, watches the other ranks'
  // heartbeats for a few seconds and says what became of them, e.g.
  // "rank 1 stopped responding (no heartbeat for 3 s)".
  std::string Diagnose(const std::string& reason);

 private:
  ProcessGroups() = default;
  void Beat();

  int rank_ = 0, world_size_ = 1, sp_size_ = 1;
  std::chrono::milliseconds timeout_{0};
  std::string store_address_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::Store> health_store_;  // its own connection: heartbeats and diagnosis
  c10::intrusive_ptr<c10d::ProcessGroup> world_, data_parallel_, sequence_parallel_;
  std::thread heartbeat_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
};

// The message of a c10d or other exception, without C++ backtraces.
std::string ErrorMessage(const std::exception& e);

// Waits for `work` at most `timeout`; a failure or a timeout becomes an
// error that says `what` was running.
absl::Status Wait(c10d::Work& work, std::chrono::milliseconds timeout, const std::string& what);

// Overwrites `tensors` on every rank of the world with rank 0's, so every
// replica starts from the same weights. Throws on a failed collective.
void BroadcastFromRankZero(const ProcessGroups& groups, const std::vector<at::Tensor>& tensors);

// Replaces each value by its mean over the data-parallel ranks.
absl::Status AverageOverRanks(const ProcessGroups& groups, std::vector<double>& values);

// The largest `value` over the ranks of `group` (a barrier too), waiting at
// most `timeout`; errors say `what` was running.
absl::StatusOr<double> MaxOverRanks(const c10::intrusive_ptr<c10d::ProcessGroup>& group, double value,
                                    std::chrono::milliseconds timeout, const std::string& what);

// A barrier over the world that also checks every rank holds the same
// `value` (a weight checksum), waiting at most `timeout`.
absl::Status CheckAgreement(const ProcessGroups& groups, double value, std::chrono::milliseconds timeout,
                            const std::string& what);

}  // namespace seedvr::parallel
