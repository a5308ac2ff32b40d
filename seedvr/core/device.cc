#include "seedvr/core/device.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <torch/cuda.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

#ifdef USE_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

namespace seedvr::core {

bool BuiltWithCuda() {
#ifdef USE_CUDA
  return true;
#else
  return false;
#endif
}

int64_t CudaDeviceCount() { return static_cast<int64_t>(torch::cuda::device_count()); }

int64_t LocalRankFromEnv() {
  const char* v = std::getenv("LOCAL_RANK");
  int64_t rank = 0;
  if (v == nullptr || !absl::SimpleAtoi(v, &rank) || rank < 0) return 0;
  return rank;
}

absl::StatusOr<c10::Device> ResolveDevice(const std::string& spec, int64_t local_rank, const std::string& key) {
  const int64_t gpus = CudaDeviceCount();
  if (spec == "cpu") return c10::Device(c10::kCPU);
  if (spec == "auto" && gpus == 0) return c10::Device(c10::kCPU);
  int64_t index = local_rank;
  if (spec != "auto" && spec != "cuda") {
    if (spec.rfind("cuda:", 0) != 0 || !absl::SimpleAtoi(spec.substr(5), &index) || index < 0) {
      return absl::InvalidArgumentError(absl::StrCat(key, ": expected auto, cpu, cuda or cuda:N, got '", spec, "'"));
    }
  }
  if (gpus == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        key, ": '", spec, "' asks for a GPU, but ",
        BuiltWithCuda() ? "no CUDA device is visible to this process (check the driver and CUDA_VISIBLE_DEVICES)"
                        : "this binary was built without CUDA (build with bazel build --config=cuda)",
        "; use cpu to run on the CPU"));
  }
  if (index >= gpus) {
    return absl::FailedPreconditionError(
        absl::StrCat(key, ": '", spec, "' needs GPU ", index, ", but only ", gpus, " CUDA device(s) are visible"));
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

absl::StatusOr<bool> ResolveBf16(const std::string& spec, const c10::Device& device, bool cpu_default,
                                 const std::string& key) {
  if (spec == "bf16") return true;
  if (spec == "fp32") return false;
  if (spec == "auto") return device.is_cuda() ? true : cpu_default;
  return absl::InvalidArgumentError(absl::StrCat(key, ": expected auto, bf16 or fp32, got '", spec, "'"));
}

at::Generator SeededGenerator(const c10::Device& device, uint64_t seed) {
#ifdef USE_CUDA
  if (device.is_cuda()) {
    at::Generator gen = at::cuda::detail::createCUDAGenerator(device.index());
    gen.set_current_seed(seed);
    return gen;
  }
#endif
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

at::Tensor ToDevice(const at::Tensor& host, const c10::Device& device) {
  if (!device.is_cuda()) return host.to(device);
  return host.pin_memory().to(device, /*non_blocking=*/true);
}

void Synchronize(const c10::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

int64_t PeakAllocatedBytes(const c10::Device& device) {
#ifdef USE_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
    return stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)].peak;
  }
#endif
  (void)device;
  return 0;
}

void ResetPeakAllocatedBytes(const c10::Device& device) {
#ifdef USE_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
#endif
  (void)device;
}

int64_t AvailableMemoryBytes(const c10::Device& device) {
#ifdef USE_CUDA
  if (device.is_cuda()) {
    c10::cuda::CUDAGuard guard(device.index());
    size_t free = 0, total = 0;
    if (cudaMemGetInfo(&free, &total) != cudaSuccess) return 0;
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
    const auto all = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
    return static_cast<int64_t>(free) + stats.reserved_bytes[all].current - stats.allocated_bytes[all].current;
  }
#endif
  (void)device;
  std::ifstream meminfo("/proc/meminfo");
  std::string key, unit;
  int64_t kb = 0;
  while (meminfo >> key >> kb >> unit) {
    if (key == "MemAvailable:") return kb * 1024;
  }
  return 0;
}

AutocastScope::AutocastScope(c10::DeviceType device, bool enable) : device_(device), active_(enable) {
  if (!active_) return;
  prev_enabled_ = at::autocast::is_autocast_enabled(device_);
  prev_dtype_ = at::autocast::get_autocast_dtype(device_);
  at::autocast::set_autocast_enabled(device_, true);
  at::autocast::set_autocast_dtype(device_, at::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // Casted weights are cached per autocast region; drop them on exit.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_, prev_enabled_);
  at::autocast::set_autocast_dtype(device_, prev_dtype_);
}

CpuBf16Guard::CpuBf16Guard(const c10::Device& device, bool bf16) : active_(device.is_cpu() && bf16) {
  if (!active_) return;
  prev_mkldnn_ = at::globalContext().userEnabledMkldnn();
  at::globalContext().setUserEnabledMkldnn(false);
}

CpuBf16Guard::~CpuBf16Guard() {
  if (active_) at::globalContext().setUserEnabledMkldnn(prev_mkldnn_);
}

std::string DeviceDescription(const c10::Device& device) {
#ifdef USE_CUDA
  if (device.is_cuda()) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, device.index()) == cudaSuccess) {
      return absl::StrCat(prop.name, " (", device.str(), ")");
    }
  }
#endif
  return device.str();
}

}  // namespace seedvr::core
