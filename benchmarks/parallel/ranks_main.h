// The main() of the multi-rank benchmarks: every rank of a torchrun launch
// runs the same Google Benchmark cases (fixed iteration counts, so the ranks
// issue the same collectives) and rank 0 alone reports. Without torchrun
// the binary runs as a world of one. On a machine with GPUs each rank uses
// cuda:LOCAL_RANK (NCCL); otherwise the CPU (Gloo).
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "seedvr/core/cli.h"
#include "seedvr/core/device.h"
#include "seedvr/parallel/process_groups.h"

namespace seedvr::parallel {

inline std::shared_ptr<ProcessGroups>& BenchGroups() {
  static std::shared_ptr<ProcessGroups> groups;
  return groups;
}

inline c10::Device& BenchDevice() {
  static c10::Device device = c10::kCPU;
  return device;
}

[[noreturn]] inline void BenchFail(const std::string& what) {
  std::fprintf(stderr, "benchmark: %s\n", what.c_str());
  std::exit(1);
}

// Connects the ranks (`sp_size` 0: the whole world is one sequence-parallel
// group) and runs the registered benchmarks.
inline int RunBenchmarksOnRanks(int argc, char** argv, int sp_size) {
  core::EnterUserWorkingDirectory();
  auto env = LaunchEnv::FromEnvironment();
  if (!env.ok()) BenchFail(std::string(env.status().message()));
  if (env->world_size == 1) env->master_port = 0;  // a world of one serves its own store
  if (core::CudaDeviceCount() > 0) BenchDevice() = c10::Device(c10::kCUDA, env->local_rank);
  GroupOptions o;
  o.sp_size = sp_size > 0 ? sp_size : env->world_size;
  o.device = BenchDevice();
  o.timeout = std::chrono::minutes(5);
  auto groups = ProcessGroups::Create(*env, o);
  if (!groups.ok()) BenchFail(std::string(groups.status().message()));
  BenchGroups() = *groups;
  benchmark::Initialize(&argc, argv);
  // What ranks other than 0 report: nothing.
  class Silent : public benchmark::BenchmarkReporter {
   public:
    bool ReportContext(const Context&) override { return true; }
    void ReportRuns(const std::vector<Run>&) override {}
  } silent;
  if (env->rank == 0) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    benchmark::RunSpecifiedBenchmarks(&silent);
  }
  benchmark::Shutdown();
  BenchGroups().reset();
  return 0;
}

}  // namespace seedvr::parallel
