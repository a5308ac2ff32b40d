#include <ATen/ATen.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "seedvr/core/io.h"
#include "seedvr/core/pickle.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/core/tensor_view.h"
#include "seedvr/core/zip.h"

namespace seedvr::core {

const PyValue* PyValue::find(const std::string& key) const {
  if (!is_dict()) return nullptr;
  for (const auto& [k, v] : dict()) {
    if (k.is_string() && std::get<std::string>(k.v) == key) return &v;
  }
  return nullptr;
}

absl::StatusOr<PyValue> ReadPth(const std::string& path, TensorMemory memory) {
  if (auto checked = CheckInputFile(path, "checkpoint"); !checked.ok()) return checked.status();
  auto file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  auto zip = ZipReader::Open(*file);
  if (!zip.ok()) {
    return absl::Status(zip.status().code(),
                        absl::StrCat(zip.status().message(),
                                     " (legacy non-zip torch.save files are not supported)"));
  }
  // torch.load's rules: records live under the top folder of the first
  // entry, every entry does, and a version record is among them.
  const std::string& first = zip->first_name();
  const std::string prefix = first.find('/') == std::string::npos ? "" : first.substr(0, first.find('/') + 1);
  auto pkl = zip->Find(prefix + "data.pkl");
  if (prefix.empty() || !pkl.ok()) {
    return absl::DataLossError(absl::StrCat(path, ": no <name>/data.pkl entry beside its first entry '", first,
                                            "'; not a PyTorch checkpoint"));
  }
  for (const auto& [name, entry] : zip->entries()) {
    if (!absl::StartsWith(name, prefix)) {
      return absl::DataLossError(absl::StrCat(path, ": entry '", name, "' lies outside the archive's folder '", prefix,
                                              "' (torch.load refuses such files)"));
    }
  }
  if (!zip->Find(prefix + "version").ok() && !zip->Find(prefix + ".data/version").ok()) {
    return absl::DataLossError(absl::StrCat(path, ": no ", prefix, "version entry (torch.load refuses such files)"));
  }
  if (auto order = zip->Find(prefix + "byteorder"); order.ok()) {
    std::string value(reinterpret_cast<const char*>((*file)->data() + order->offset), order->size);
    if (value != "little") return absl::UnimplementedError(absl::StrCat(path, ": byte order '", value, "' is not supported"));
  }
  const std::shared_ptr<MappedFile>& mapped = *file;
  // Storages of a saved file are disjoint records, so together they hold no
  // more than the file: a bound on what entries aliasing one another's bytes
  // could make a copying read allocate.
  uint64_t storage_bytes = 0;
  StorageLoader loader = [&](const std::string& key, c10::ScalarType dtype, int64_t numel) -> absl::StatusOr<at::Tensor> {
    if (key.find('/') != std::string::npos) return absl::InvalidArgumentError(absl::StrCat(path, ": bad storage key ", key));
    auto rec = zip->Find(prefix + "data/" + key);
    if (!rec.ok()) return rec.status();
    const std::optional<int64_t> checked = CheckedNumel({numel}, static_cast<int64_t>(c10::elementSize(dtype)));
    const uint64_t need = checked ? static_cast<uint64_t>(numel) * c10::elementSize(dtype) : UINT64_MAX;
    if (need > rec->size) {
      return absl::DataLossError(absl::StrCat(path, ": storage ", key, " holds ", rec->size, " bytes, needs ", numel,
                                              " elements of ", c10::elementSize(dtype), " bytes"));
    }
    storage_bytes += need;
    if (storage_bytes > mapped->size()) {
      return absl::DataLossError(absl::StrCat(path, ": its storages add up to more bytes than the file holds (",
                                              mapped->size(), "); records overlap"));
    }
    return TensorFromFile(mapped, mapped->data() + rec->offset, {numel}, dtype, memory);
  };
  return Unpickle(mapped->data() + pkl->offset, pkl->size, loader, path);
}

absl::Status WritePth(const std::string& path, const PyValue& value) {
  std::vector<at::Tensor> storages;
  auto pkl = Pickle(value, &storages);
  if (!pkl.ok()) return absl::Status(pkl.status().code(), absl::StrCat("cannot write ", path, ": ", pkl.status().message()));
  // The record folder is named after the file's stem, as torch.save does.
  std::string stem = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  if (stem.find('.') != std::string::npos) stem = stem.substr(0, stem.find('.'));
  if (stem.empty()) stem = "archive";
  return AtomicWrite(path, [&](FileWriter& out) {
    ZipWriter zip(&out);
    zip.Add(stem + "/data.pkl", pkl->data(), pkl->size());
    zip.Add(stem + "/byteorder", "little", 6);
    for (size_t i = 0; i < storages.size(); ++i) {
      zip.Add(absl::StrCat(stem, "/data/", i), storages[i].data_ptr(), storages[i].nbytes());
    }
    zip.Add(stem + "/version", "3\n", 2);
    zip.Finish();
    return absl::OkStatus();
  });
}

absl::StatusOr<TensorList> ToTensorList(const PyValue& dict, const std::string& where) {
  if (!dict.is_dict()) return absl::InvalidArgumentError(absl::StrCat(where, " is not a dict of tensors"));
  TensorList out;
  for (const auto& [k, v] : dict.dict()) {
    if (!k.is_string()) return absl::InvalidArgumentError(absl::StrCat(where, " has a non-string key"));
    const std::string& name = std::get<std::string>(k.v);
    if (!v.is_tensor()) return absl::InvalidArgumentError(absl::StrCat(where, ": entry '", name, "' is not a tensor"));
    out.push_back({name, std::get<at::Tensor>(v.v)});
  }
  return out;
}

PyValue FromTensorList(const TensorList& tensors) {
  auto dict = std::make_shared<PyDict>();
  for (const NamedTensor& t : tensors) dict->emplace_back(PyValue{t.name}, PyValue{t.tensor});
  return PyValue{dict};
}

}  // namespace seedvr::core
