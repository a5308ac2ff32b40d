// A safe subset of Python's pickle for PyTorch checkpoints (protocols 2-5).
//
// The unpickler builds values from data opcodes and allows exactly these
// globals: collections.OrderedDict, torch._utils._rebuild_tensor_v2,
// torch._utils._rebuild_parameter and the torch.*Storage classes. Any other
// global, and any opcode that would call arbitrary code (NEWOBJ, INST, OBJ,
// EXT*), is refused with an error naming it and its byte offset. A list or
// dict may be shared (memo) once complete, but not changed after it was put
// into another value, so the result has no cycles.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "seedvr/core/tensor_file.h"

namespace seedvr::core {

// Bounds on one pickle, far above what checkpoints need (a training
// checkpoint of a 7B model runs about 20 opcodes per tensor and nests under 10
// levels): a hostile file fails fast, with an error naming the file and the
// limit, instead of exhausting memory, time or the stack.
// Opcodes executed; each creates at most one value, so this bounds memory.
inline constexpr int64_t kMaxPickleOps = int64_t{1} << 22;
// Values in the result counted as a tree: a list, dict or tuple reached twice
// through the memo counts twice, so a graph that expands exponentially fails.
inline constexpr int64_t kMaxPickleNodes = int64_t{1} << 22;
// Bytes of strings copied (pushed, duplicated, memoized or fetched).
inline constexpr int64_t kMaxPickleStringBytes = int64_t{1} << 28;
// Nesting of lists, dicts and tuples; Python's own pickler cannot write
// deeper than its recursion limit of about 1000.
inline constexpr int kMaxPickleDepth = 1000;

// Resolves a persistent id ('storage', <Type>Storage, key, location, numel)
// to a flat tensor of `numel` elements of `dtype`.
using StorageLoader =
    std::function<absl::StatusOr<at::Tensor>(const std::string& key, c10::ScalarType dtype, int64_t numel)>;

absl::StatusOr<PyValue> Unpickle(const uint8_t* data, size_t size, const StorageLoader& load_storage,
                                 const std::string& where);

// Pickles `value` with protocol 2. Each tensor becomes its own storage,
// appended to `storages` (contiguous CPU data) under key "<index>".
absl::StatusOr<std::string> Pickle(const PyValue& value, std::vector<at::Tensor>* storages);

}  // namespace seedvr::core
