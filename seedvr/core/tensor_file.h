// Reading and writing named tensors: safetensors and PyTorch `.pth` zip
// checkpoints.
//
// Both readers memory-map the file and hand out tensors that view the mapping
// (copy-on-write), so a 13 GB checkpoint is never held in memory twice. The
// `.pth` reader interprets a safe subset of pickle: it builds dicts, lists,
// tuples, scalars, strings and tensors, and refuses any other global with an
// error naming it; nothing is ever executed.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace seedvr::core {

struct NamedTensor {
  std::string name;
  at::Tensor tensor;
};
// Tensors in file order.
using TensorList = std::vector<NamedTensor>;

// A value read from a `.pth` file: the pickle subset that checkpoints use.
struct PyValue;
using PyList = std::vector<PyValue>;
using PyDict = std::vector<std::pair<PyValue, PyValue>>;  // insertion order
struct PyValue {
  std::variant<std::monostate, bool, int64_t, double, std::string, at::Tensor,
               std::shared_ptr<PyList>, std::shared_ptr<PyDict>>
      v;
  bool is_none() const { return std::holds_alternative<std::monostate>(v); }
  bool is_dict() const { return std::holds_alternative<std::shared_ptr<PyDict>>(v); }
  bool is_tensor() const { return std::holds_alternative<at::Tensor>(v); }
  bool is_string() const { return std::holds_alternative<std::string>(v); }
  bool is_int() const { return std::holds_alternative<int64_t>(v); }
  const PyDict& dict() const { return *std::get<std::shared_ptr<PyDict>>(v); }
  // Value under a string key of a dict, or nullptr.
  const PyValue* find(const std::string& key) const;
};

// safetensors ---------------------------------------------------------------

// Reads every tensor (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL;
// F8_E4M3 is upcast to F32 on read). `metadata` receives `__metadata__`.
absl::StatusOr<TensorList> ReadSafetensors(
    const std::string& path, std::map<std::string, std::string>* metadata = nullptr);

// Writes contiguous little-endian data with a JSON header; atomic (temporary
// file + rename).
absl::Status WriteSafetensors(const std::string& path, const TensorList& tensors,
                              const std::map<std::string, std::string>& metadata = {});

// PyTorch `.pth` ------------------------------------------------------------

// Reads the pickled object of a `torch.save` zip archive.
absl::StatusOr<PyValue> ReadPth(const std::string& path);

// Writes `value` so that Python's `torch.load` (weights_only too) reads it
// back: dicts (as plain dicts, or OrderedDicts when `ordered` is set on
// write), lists, scalars, strings and tensors. Atomic (temporary + rename).
absl::Status WritePth(const std::string& path, const PyValue& value);

// Convenience -----------------------------------------------------------------

// Reads a flat state dict from `.safetensors` or `.pth` (by content, not
// extension). For `.pth` files holding nested dicts, `subkey` picks one entry
// (for example "ema" in a training checkpoint); empty means the top level,
// where a dict with a single "state_dict"/"model" entry of tensors is not
// unwrapped silently: name it.
absl::StatusOr<TensorList> ReadStateDict(const std::string& path,
                                         const std::string& subkey = "");

// Turns a dict of tensors into a TensorList; non-tensor entries are an error
// naming the key.
absl::StatusOr<TensorList> ToTensorList(const PyValue& dict, const std::string& where);

// Builds a dict PyValue from tensors (keys in order).
PyValue FromTensorList(const TensorList& tensors);

}  // namespace seedvr::core
