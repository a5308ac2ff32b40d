// Where tensors live and which precision they compute in: the choices the
// trainer (training.device / training.precision) and `infer --device` make
// once at start-up, plus the few CUDA facilities the rest of the code needs
// (random state, pinned host copies, peak memory, synchronisation) and the
// bf16 autocast scope every mixed-precision forward runs in.
//
// Device specs: "auto" (the GPU of this process when one is visible: cuda:
// LOCAL_RANK under torchrun, else cuda:0; otherwise the CPU), "cpu", "cuda",
// "cuda:N". A CUDA spec without a usable GPU is an error naming the spec and
// why (no device, or a binary built without --config=cuda). Everything here
// also works, as a no-op where it must, on CPU-only builds.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace seedvr::core {

// True when this binary carries the CUDA backend (built with --config=cuda).
bool BuiltWithCuda();
// CUDA devices this process can use (0 on CPU-only builds or machines).
int64_t CudaDeviceCount();

// Resolves a device spec; `key` names the setting in errors
// ("training.device", "--device"). `local_rank` picks the GPU for "auto"
// and "cuda" (torchrun's LOCAL_RANK; 0 for a single process).
absl::StatusOr<c10::Device> ResolveDevice(const std::string& spec, int64_t local_rank, const std::string& key);

// LOCAL_RANK from the environment (torchrun sets it), 0 when absent.
int64_t LocalRankFromEnv();

// Resolves "auto" | "bf16" | "fp32" to whether bf16 compute is on: auto is
// bf16 on a GPU and `cpu_default` on the CPU.
absl::StatusOr<bool> ResolveBf16(const std::string& spec, const c10::Device& device, bool cpu_default,
                                 const std::string& key);

// A new generator on `device` seeded with `seed`, independent of the
// device's default generator and of every other one.
at::Generator SeededGenerator(const c10::Device& device, uint64_t seed);

// A host tensor on `device`: through pinned memory and an asynchronous copy
// on CUDA (the caller's stream orders it before use), unchanged on the CPU.
at::Tensor ToDevice(const at::Tensor& host, const c10::Device& device);

// Waits for the device's queued work (no-op on the CPU); timings need it.
void Synchronize(const c10::Device& device);

// Peak bytes allocated on a CUDA device since the last reset (0 on the CPU
// or on CPU-only builds), and the reset.
int64_t PeakAllocatedBytes(const c10::Device& device);
void ResetPeakAllocatedBytes(const c10::Device& device);

// Bytes this process could still allocate on `device`: on a GPU the driver's
// free memory plus what the caching allocator holds unused; on the CPU the
// kernel's MemAvailable (/proc/meminfo). 0 when unknown.
int64_t AvailableMemoryBytes(const c10::Device& device);

// Enables CPU/CUDA autocast to bf16 for a scope and restores the previous
// state, like Python's `torch.autocast(device, torch.bfloat16)`. A no-op when
// `enable` is false, so fp32 stays bit-for-bit the plain computation.
class AutocastScope {
 public:
  AutocastScope(c10::DeviceType device, bool enable);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_;
  bool active_;
  bool prev_enabled_ = false;
  at::ScalarType prev_dtype_ = at::kBFloat16;
};

// While alive, bf16 work on the CPU runs LibTorch's own convolutions instead
// of oneDNN's: in LibTorch 2.11, oneDNN's bf16 conv3d weight gradient on the
// CPU returns garbage (values up to 1e38) from run to run, the family of
// pytorch/pytorch#163347. Active only for `device` CPU with `bf16`; restores
// the previous setting when destroyed.
class CpuBf16Guard {
 public:
  CpuBf16Guard(const c10::Device& device, bool bf16);
  ~CpuBf16Guard();
  CpuBf16Guard(const CpuBf16Guard&) = delete;
  CpuBf16Guard& operator=(const CpuBf16Guard&) = delete;

 private:
  bool active_;
  bool prev_mkldnn_ = true;
};

// "NVIDIA H200 (cuda:0)", or "cpu".
std::string DeviceDescription(const c10::Device& device);

}  // namespace seedvr::core
