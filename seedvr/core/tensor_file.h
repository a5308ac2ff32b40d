// Reading and writing named tensors: safetensors and PyTorch `.pth` zip
// checkpoints.
//
// Both readers memory-map the file. By default every tensor they return is
// copied out of the mapping, so a file rewritten or truncated later (a text
// embedding regenerated during training) cannot kill the process with SIGBUS;
// callers that copy the values into a model before returning ask for views
// (TensorMemory::kView), so a 13 GB checkpoint is never held in memory twice.
// The `.pth` reader interprets a safe subset of pickle: it builds dicts,
// lists, tuples, scalars, strings and tensors, and refuses any other global
// with an error naming it; nothing is ever executed.
//
// Hostile files are errors naming the file, never crashes: sizes and strides
// are checked with overflow-free arithmetic, a pickle's work, expanded size and
// nesting are bounded (pickle.h), a safetensors header is at most 100 MB and
// nested at most kMaxHeaderDepth, and where PyTorch or the safetensors library
// refuse a file so do these readers (overlapping or gapped safetensors data);
// where they accept, these read the same values (the first of two zip entries
// of one name, as torch.load does).
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

// Where the tensors a reader returns keep their bytes.
enum class TensorMemory {
  // Memory of their own: safe to keep for as long as the caller likes.
  kCopy,
  // Views of the file's private mapping (misaligned data is still copied).
  // Only for callers that copy every value out before they return: a file
  // truncated or rewritten in place while a view lives raises SIGBUS.
  kView,
};

// safetensors ---------------------------------------------------------------

// A header larger than this is refused, as the safetensors library does.
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// JSON nesting allowed in a header (a valid one nests 3 deep; serde_json,
// which the safetensors library parses with, stops at 128).
inline constexpr int kMaxHeaderDepth = 128;

// Reads every tensor (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL;
// F8_E4M3 is upcast to F32 on read), in the order of their data in the file.
// `metadata` receives `__metadata__`. As the safetensors library requires,
// the tensors' data ranges must tile the data section exactly (no overlap, no
// gap, nothing after the last); DataLoss otherwise, naming the tensor.
absl::StatusOr<TensorList> ReadSafetensors(const std::string& path,
                                           std::map<std::string, std::string>* metadata = nullptr,
                                           TensorMemory memory = TensorMemory::kCopy);

// Writes contiguous little-endian data with a JSON header; atomic (temporary
// file + rename).
absl::Status WriteSafetensors(const std::string& path, const TensorList& tensors,
                              const std::map<std::string, std::string>& metadata = {});

// PyTorch `.pth` ------------------------------------------------------------

// Reads the pickled object of a `torch.save` zip archive. As torch.load does,
// records are looked up under the top folder of the archive's first entry,
// an entry outside it or a missing version record is DataLoss, and of two
// entries of one name the first is read.
absl::StatusOr<PyValue> ReadPth(const std::string& path, TensorMemory memory = TensorMemory::kCopy);

// Writes `value` so that Python's `torch.load` (weights_only too) reads it
// back: dicts (as plain dicts, or OrderedDicts when `ordered` is set on
// write), lists, scalars, strings and tensors. Atomic (temporary + rename).
absl::Status WritePth(const std::string& path, const PyValue& value);

// Convenience -----------------------------------------------------------------

// Reads the weights of one model, as other trainers save them, from `spec`:
// "FILE" or "FILE:ENTRY" (FILE itself when a file of that full name exists,
// else split at the last ':'). FILE is `.safetensors` or `.pth`, by content.
//  - ENTRY picks one entry of a `.pth` dict (for example "ema" of a seedvr
//    training checkpoint).
//  - Without ENTRY, a dict of tensors is the state dict; a dict whose only
//    dict of tensors sits under one of kStateDictEntries (beside non-tensor
//    values such as a step counter) is unwrapped. A file holding several dicts
//    of tensors, or one under another name, is InvalidArgument listing them
//    and how to choose ("FILE:ENTRY").
//  - Then the prefixes `_orig_mod.` (torch.compile) and `module.` (DDP,
//    DataParallel) are removed, each only when every key carries it.
// What was unwrapped or removed is logged as one line on stderr.
absl::StatusOr<TensorList> ReadStateDict(const std::string& spec, TensorMemory memory = TensorMemory::kCopy);

// Entries that ReadStateDict unwraps without being told.
inline constexpr const char* kStateDictEntries[] = {"state_dict", "params_ema", "params", "model", "ema", "module"};

// Turns a dict of tensors into a TensorList; non-tensor entries are an error
// naming the key.
absl::StatusOr<TensorList> ToTensorList(const PyValue& dict, const std::string& where);

// Builds a dict PyValue from tensors (keys in order).
PyValue FromTensorList(const TensorList& tensors);

}  // namespace seedvr::core
