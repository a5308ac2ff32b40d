// A safe subset of Python's pickle for PyTorch checkpoints (protocols 2-5).
//
// The unpickler builds values from data opcodes and allows exactly these
// globals: collections.OrderedDict, torch._utils._rebuild_tensor_v2,
// torch._utils._rebuild_parameter and the torch.*Storage classes. Any other
// global, and any opcode that would call arbitrary code (NEWOBJ, INST, OBJ,
// EXT*), is refused with an error naming it and its byte offset.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "seedvr/core/tensor_file.h"

namespace seedvr::core {

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
