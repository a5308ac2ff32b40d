// Multi-rank gtest cases on real processes: a case starts copies of its own
// test binary, each running one Worker.<name> case as one rank, with
// torchrun's variables set (rank 0 serves the store, as without torchrun).
#pragma once

#include <gtest/gtest.h>
#include <limits.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "seedvr/parallel/process_groups.h"
#include "seedvr/testing/fixtures.h"
#include "seedvr/testing/processes.h"

namespace seedvr::testing {

// True inside a rank started by RunRanks.
inline bool IsRankWorker() { return std::getenv("SEEDVR_RANK_WORKER") != nullptr; }

// Runs the case Worker.<name> of this binary as `world` ranks and expects
// each to pass.
inline void RunRanks(const std::string& name, int world) {
  char self[PATH_MAX] = {};
  ASSERT_GT(::readlink("/proc/self/exe", self, sizeof(self) - 1), 0);
  const std::string port = std::to_string(FreePort());
  std::vector<pid_t> pids;
  std::vector<std::string> logs;
  for (int r = 0; r < world; ++r) {
    logs.push_back(TempDir() + "/" + name + "_rank" + std::to_string(r) + ".log");
    pids.push_back(Spawn({self, "--gtest_filter=Worker." + name},
                         {"SEEDVR_RANK_WORKER=1", "TEST_PREMATURE_EXIT_FILE=", "XML_OUTPUT_FILE=",
                          "RANK=" + std::to_string(r), "LOCAL_RANK=" + std::to_string(r),
                          "WORLD_SIZE=" + std::to_string(world), "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + port},
                         logs.back()));
    ASSERT_GT(pids.back(), 0);
  }
  for (int r = 0; r < world; ++r) {
    EXPECT_EQ(WaitExit(pids[r], std::chrono::seconds(240)), 0) << "rank " << r << ":\n" << ReadText(logs[r]);
    EXPECT_NE(ReadText(logs[r]).find("[  PASSED  ] 1 test"), std::string::npos) << logs[r];
  }
}

// This rank's process groups, from the variables RunRanks sets.
inline std::shared_ptr<parallel::ProcessGroups> ConnectRank(int sp_size) {
  auto env = parallel::LaunchEnv::FromEnvironment();
  EXPECT_TRUE(env.ok()) << env.status();
  if (!env.ok()) return nullptr;
  parallel::GroupOptions o;
  o.sp_size = sp_size;
  auto groups = parallel::ProcessGroups::Create(*env, o);
  EXPECT_TRUE(groups.ok()) << groups.status();
  return groups.ok() ? *groups : nullptr;
}

}  // namespace seedvr::testing
