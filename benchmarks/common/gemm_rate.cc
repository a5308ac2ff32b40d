#include "benchmarks/common/gemm_rate.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>

namespace seedvr::benchmarks {

double GemmRate(at::ScalarType dtype) {
  constexpr int64_t n = 1024;
  static std::mutex mutex;
  static std::map<at::ScalarType, double> rates;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = rates.find(dtype); it != rates.end()) return it->second;
  at::Tensor a = at::randn({n, n}).to(dtype), b = at::randn({n, n}).to(dtype);
  for (int i = 0; i < 3; ++i) at::mm(a, b);
  constexpr int kIters = 10;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kIters; ++i) at::mm(a, b);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double rate = 2.0 * static_cast<double>(n * n * n) * kIters / s;
  rates[dtype] = rate;
  return rate;
}

}  // namespace seedvr::benchmarks
