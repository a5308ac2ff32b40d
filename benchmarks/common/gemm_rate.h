// The machine's matrix-product rate, the yardstick the CPU benchmarks report
// their fraction of: FLOP/s of 1024 x 1024 x 1024 at::mm products in
// `dtype` at the current thread count, the mean of 10 after 3 warm-ups.
// Measured once per process and dtype; the benchmarks report it as the
// counter gemm_gflops.
#pragma once

#include <c10/core/ScalarType.h>

namespace seedvr::benchmarks {

double GemmRate(at::ScalarType dtype = at::kFloat);

}  // namespace seedvr::benchmarks
