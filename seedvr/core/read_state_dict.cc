// ReadStateDict: one model's weights out of the ways trainers save them (see
// tensor_file.h).
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "seedvr/core/io.h"
#include "seedvr/core/tensor_file.h"

namespace seedvr::core {
namespace {

// A dict with string keys and tensor values only (and at least one).
bool IsTensorDict(const PyValue& v) {
  if (!v.is_dict() || v.dict().empty()) return false;
  for (const auto& [k, e] : v.dict()) {
    if (!k.is_string() || !e.is_tensor()) return false;
  }
  return true;
}

std::string Describe(const PyValue& v) {
  if (IsTensorDict(v)) return absl::StrCat("state dict of ", v.dict().size(), " tensors");
  if (v.is_dict()) return absl::StrCat("dict of ", v.dict().size(), " entries");
  if (v.is_tensor()) return "tensor";
  if (std::holds_alternative<std::shared_ptr<PyList>>(v.v)) return "list";
  return "value";
}

// "'a' (state dict of 3 tensors), 'step' (value)" for a dict's string keys.
std::string ListEntries(const PyValue& dict) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : dict.dict()) {
    if (k.is_string()) parts.push_back(absl::StrCat("'", std::get<std::string>(k.v), "' (", Describe(v), ")"));
  }
  return absl::StrJoin(parts, ", ");
}

// The state dict inside a `.pth` value: `entry`, the value itself, or the one
// dict of tensors under a known wrapper name. `note` says what was chosen.
absl::StatusOr<TensorList> PickStateDict(const PyValue& value, const std::string& path, const std::string& entry,
                                         std::string* note) {
  if (!entry.empty()) {
    const PyValue* chosen = value.find(entry);
    if (chosen == nullptr) {
      return absl::NotFoundError(absl::StrCat(path, " has no entry '", entry, "'",
                                              value.is_dict() ? "; its entries: " + ListEntries(value) : ""));
    }
    return ToTensorList(*chosen, absl::StrCat(path, ":", entry));
  }
  if (!value.is_dict() || IsTensorDict(value)) return ToTensorList(value, path);
  std::vector<std::string> candidates;
  bool loose_tensors = false;
  for (const auto& [k, v] : value.dict()) {
    if (k.is_string() && IsTensorDict(v)) candidates.push_back(std::get<std::string>(k.v));
    loose_tensors = loose_tensors || v.is_tensor();
  }
  if (candidates.size() == 1 && !loose_tensors) {
    for (const char* known : kStateDictEntries) {
      if (candidates[0] == known) {
        *note = absl::StrCat("using the state dict under '", known, "'");
        return ToTensorList(*value.find(known), absl::StrCat(path, ":", known));
      }
    }
  }
  if (candidates.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " holds no state dict (a dict of tensors); its entries: ", ListEntries(value)));
  }
  std::string example = candidates[0];
  for (const char* known : kStateDictEntries) {
    if (std::find(candidates.begin(), candidates.end(), known) != candidates.end()) {
      example = known;
      break;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat(path, " does not say which entry holds the weights; its entries: ", ListEntries(value),
                   ". Choose one as FILE:ENTRY, e.g. ", path, ":", example));
}

// Removes `prefix` from every name when every name carries it.
bool StripCommonPrefix(TensorList& tensors, const std::string& prefix) {
  if (tensors.empty()) return false;
  for (const NamedTensor& t : tensors) {
    if (!absl::StartsWith(t.name, prefix)) return false;
  }
  for (NamedTensor& t : tensors) t.name.erase(0, prefix.size());
  return true;
}

}  // namespace

absl::StatusOr<TensorList> ReadStateDict(const std::string& spec, TensorMemory memory) {
  std::string path = spec, entry;
  struct stat st {};
  if (const size_t colon = spec.rfind(':'); ::stat(spec.c_str(), &st) != 0 && colon != std::string::npos && colon > 0) {
    path = spec.substr(0, colon);
    entry = spec.substr(colon + 1);
  }
  auto size = CheckInputFile(path, "weights file");
  if (!size.ok()) return size.status();
  // A zip archive starts with "PK"; safetensors with its header length.
  char magic[2] = {0, 0};
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    std::fread(magic, 1, 2, f);
    std::fclose(f);
  }
  std::string note;
  absl::StatusOr<TensorList> tensors;
  if (magic[0] == 'P' && magic[1] == 'K') {
    auto value = ReadPth(path, memory);
    if (!value.ok()) return value.status();
    tensors = PickStateDict(*value, path, entry, &note);
  } else if (!entry.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is a safetensors file; it has no entry '", entry, "'"));
  } else {
    tensors = ReadSafetensors(path, nullptr, memory);
  }
  if (!tensors.ok()) return tensors.status();
  // torch.compile wraps a module as `_orig_mod`, DDP as `module`; either may
  // wrap the other.
  for (bool stripped = true; stripped;) {
    stripped = false;
    for (const char* prefix : {"_orig_mod.", "module."}) {
      if (StripCommonPrefix(*tensors, prefix)) {
        absl::StrAppend(&note, note.empty() ? "" : "; ", "removed the prefix '", prefix, "' from every key");
        stripped = true;
      }
    }
  }
  if (!note.empty()) std::fprintf(stderr, "%s: %s\n", path.c_str(), note.c_str());
  return tensors;
}

}  // namespace seedvr::core
