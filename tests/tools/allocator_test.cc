// The binaries' malloc (SEEDVR_MALLOC, tools/build/defs.bzl): tensors of
// activation size, freed layer after layer, serve the next ones without the
// kernel faulting fresh pages in, and freeing returns them for reuse rather
// than growing the process.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdint>
#include <fstream>

namespace seedvr {
namespace {

constexpr int64_t kFloats = (64 << 20) / 4;  // 64 MiB: 16384 pages of 4 KiB

int64_t MinorFaults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

int64_t ResidentPages() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident;
}

// A chain of elementwise ops on 64 MiB tensors, each freeing its input: a
// network's activations, layer after layer. Returns its page faults.
int64_t FaultsOfChain() {
  at::Tensor x = at::ones({kFloats});
  const int64_t before = MinorFaults();
  for (int i = 0; i < 4; ++i) x = x * 2;
  return MinorFaults() - before;
}

TEST(Allocator, FreedActivationsAreReusedWithoutPageFaults) {
  FaultsOfChain();  // the first pass maps its peak, two tensors
  const int64_t resident = ResidentPages();
  EXPECT_LT(FaultsOfChain(), 100);
  EXPECT_LT(FaultsOfChain(), 100);
  // glibc would map and fault in 4 x 16384 pages per chain; reuse must not
  // come from holding more than the chain's peak either.
  EXPECT_LT(ResidentPages() - resident, 1000);
}

}  // namespace
}  // namespace seedvr
