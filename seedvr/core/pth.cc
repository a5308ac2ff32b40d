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

absl::StatusOr<PyValue> ReadPth(const std::string& path) {
  auto file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  auto zip = ZipReader::Open(*file);
  if (!zip.ok()) {
    return absl::Status(zip.status().code(),
                        absl::StrCat(zip.status().message(),
                                     " (legacy non-zip torch.save files are not supported)"));
  }
  // Records live under one top folder named after the saved file's stem.
  std::string prefix;
  for (const auto& [name, entry] : zip->entries()) {
    if (absl::EndsWith(name, "/data.pkl") && name.find('/') == name.size() - 9) {
      prefix = name.substr(0, name.size() - 8);
      break;
    }
  }
  if (prefix.empty()) return absl::DataLossError(absl::StrCat(path, ": no <name>/data.pkl entry; not a PyTorch checkpoint"));
  if (auto order = zip->Find(prefix + "byteorder"); order.ok()) {
    std::string value(reinterpret_cast<const char*>((*file)->data() + order->offset), order->size);
    if (value != "little") return absl::UnimplementedError(absl::StrCat(path, ": byte order '", value, "' is not supported"));
  }
  auto pkl = zip->Find(prefix + "data.pkl");
  const std::shared_ptr<MappedFile>& mapped = *file;
  StorageLoader loader = [&](const std::string& key, c10::ScalarType dtype, int64_t numel) -> absl::StatusOr<at::Tensor> {
    if (key.find('/') != std::string::npos) return absl::InvalidArgumentError(absl::StrCat(path, ": bad storage key ", key));
    auto rec = zip->Find(prefix + "data/" + key);
    if (!rec.ok()) return rec.status();
    const uint64_t need = static_cast<uint64_t>(numel) * c10::elementSize(dtype);
    if (static_cast<uint64_t>(numel) > (uint64_t{1} << 60) / 8 || need > rec->size) {
      return absl::DataLossError(absl::StrCat(path, ": storage ", key, " holds ", rec->size, " bytes, needs ", need));
    }
    return ViewMapped(mapped, mapped->data() + rec->offset, {numel}, dtype);
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

absl::StatusOr<TensorList> ReadStateDict(const std::string& path, const std::string& subkey) {
  auto file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  // A zip archive starts with "PK"; safetensors with its header length.
  const bool is_zip = (*file)->size() >= 2 && (*file)->data()[0] == 'P' && (*file)->data()[1] == 'K';
  if (!is_zip) {
    if (!subkey.empty()) return absl::InvalidArgumentError(absl::StrCat(path, " is a safetensors file; it has no entry '", subkey, "'"));
    return ReadSafetensors(path);
  }
  auto value = ReadPth(path);
  if (!value.ok()) return value.status();
  if (subkey.empty()) return ToTensorList(*value, path);
  const PyValue* sub = value->find(subkey);
  if (sub == nullptr) return absl::NotFoundError(absl::StrCat(path, " has no entry '", subkey, "'"));
  return ToTensorList(*sub, absl::StrCat(path, "['", subkey, "']"));
}

}  // namespace seedvr::core
