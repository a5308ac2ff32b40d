#include <ATen/ATen.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "seedvr/core/dtype_names.h"
#include "seedvr/core/io.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/core/tensor_view.h"

namespace seedvr::core {
namespace {

// A header larger than this is refused before it is parsed.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

absl::Status Bad(const std::string& path, const std::string& what) {
  return absl::DataLossError(absl::StrCat(path, " is not a valid safetensors file: ", what));
}

}  // namespace

at::Tensor ViewMapped(const std::shared_ptr<MappedFile>& file, uint8_t* data,
                      const std::vector<int64_t>& sizes, c10::ScalarType dtype) {
  const auto options = at::TensorOptions().dtype(dtype);
  const size_t align = c10::elementSize(dtype);
  if (reinterpret_cast<uintptr_t>(data) % align != 0) {
    at::Tensor out = at::empty(sizes, options);
    std::memcpy(out.data_ptr(), data, out.nbytes());
    return out;
  }
  std::shared_ptr<MappedFile> keep = file;
  return at::from_blob(data, sizes, [keep](void*) {}, options);
}

absl::StatusOr<TensorList> ReadSafetensors(const std::string& path,
                                           std::map<std::string, std::string>* metadata) {
  auto file_or = MappedFile::Open(path);
  if (!file_or.ok()) return file_or.status();
  std::shared_ptr<MappedFile> file = *file_or;
  const uint64_t n = file->size();
  if (n < 8) return Bad(path, "shorter than its 8-byte header length");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | file->data()[i];
  if (header_len > kMaxHeaderBytes || header_len > n - 8) {
    return Bad(path, absl::StrCat("header length ", header_len, " exceeds the file (", n, " bytes)"));
  }
  const char* header = reinterpret_cast<const char*>(file->data() + 8);
  nlohmann::ordered_json json =
      nlohmann::ordered_json::parse(header, header + header_len, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return Bad(path, "header is not a JSON object");
  uint8_t* data = file->data() + 8 + header_len;
  const uint64_t data_size = n - 8 - header_len;

  TensorList out;
  for (auto it = json.begin(); it != json.end(); ++it) {
    const std::string& name = it.key();
    const auto& info = it.value();
    if (name == "__metadata__") {
      if (!info.is_object()) return Bad(path, "__metadata__ is not an object");
      if (metadata != nullptr) {
        for (auto m = info.begin(); m != info.end(); ++m) {
          if (!m.value().is_string()) return Bad(path, "__metadata__ value for " + m.key() + " is not a string");
          (*metadata)[m.key()] = m.value().get<std::string>();
        }
      }
      continue;
    }
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") ||
        !info.contains("data_offsets")) {
      return Bad(path, "tensor '" + name + "' lacks dtype, shape or data_offsets");
    }
    const auto& jd = info["dtype"];
    const auto& js = info["shape"];
    const auto& jo = info["data_offsets"];
    if (!jd.is_string()) return Bad(path, "dtype of '" + name + "' is not a string");
    std::optional<c10::ScalarType> dtype = SafetensorsDType(jd.get<std::string>());
    if (!dtype) {
      return absl::UnimplementedError(absl::StrCat(path, ": tensor '", name, "' has unsupported dtype ",
                                                   jd.get<std::string>()));
    }
    if (!js.is_array() || !jo.is_array() || jo.size() != 2 || !jo[0].is_number_unsigned() ||
        !jo[1].is_number_unsigned()) {
      return Bad(path, "shape or data_offsets of '" + name + "' malformed");
    }
    std::vector<int64_t> sizes;
    uint64_t numel = 1;
    bool overflow = false;
    for (const auto& d : js) {
      if (!d.is_number_unsigned()) return Bad(path, "shape of '" + name + "' has a non-integer");
      uint64_t v = d.get<uint64_t>();
      if (v > (1ull << 48)) overflow = true;
      if (v != 0 && numel > (1ull << 62) / v) overflow = true;
      numel *= v;
      sizes.push_back(static_cast<int64_t>(v));
    }
    uint64_t begin = jo[0].get<uint64_t>(), end = jo[1].get<uint64_t>();
    const uint64_t elem = c10::elementSize(*dtype);
    if (overflow || end < begin || end > data_size || numel * elem != end - begin) {
      return Bad(path, absl::StrCat("tensor '", name, "': offsets [", begin, ", ", end,
                                    ") do not match its shape and dtype within ", data_size,
                                    " data bytes"));
    }
    at::Tensor t = ViewMapped(file, data + begin, sizes, *dtype);
    // FP8 weights are upcast on read: no CPU kernels work on them directly.
    if (*dtype == c10::ScalarType::Float8_e4m3fn) t = t.to(at::kFloat);
    out.push_back({name, std::move(t)});
  }
  return out;
}

absl::Status WriteSafetensors(const std::string& path, const TensorList& tensors,
                              const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = meta;
  }
  std::vector<at::Tensor> contiguous;
  uint64_t offset = 0;
  for (const NamedTensor& nt : tensors) {
    if (nt.name == "__metadata__" || header.contains(nt.name)) {
      return absl::InvalidArgumentError(absl::StrCat("cannot write ", path, ": duplicate or reserved tensor name '", nt.name, "'"));
    }
    std::optional<std::string> dtype = SafetensorsName(nt.tensor.scalar_type());
    if (!dtype) {
      return absl::InvalidArgumentError(absl::StrCat("cannot write ", path, ": tensor '", nt.name,
                                                     "' has dtype ", c10::toString(nt.tensor.scalar_type()),
                                                     ", which safetensors cannot hold"));
    }
    at::Tensor c = nt.tensor.detach().to(at::kCPU).contiguous();
    nlohmann::ordered_json entry;
    entry["dtype"] = *dtype;
    entry["shape"] = c.sizes().vec();
    entry["data_offsets"] = {offset, offset + c.nbytes()};
    header[nt.name] = entry;
    offset += c.nbytes();
    contiguous.push_back(std::move(c));
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return AtomicWrite(path, [&](FileWriter& w) {
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>((text.size() >> (8 * i)) & 0xFF);
    w.Write(len, 8);
    w.Write(text.data(), text.size());
    for (const at::Tensor& c : contiguous) w.Write(c.data_ptr(), c.nbytes());
    return absl::OkStatus();
  });
}

}  // namespace seedvr::core
