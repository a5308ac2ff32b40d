#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "seedvr/core/dtype_names.h"
#include "seedvr/core/io.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/core/tensor_view.h"

namespace seedvr::core {
namespace {

absl::Status Bad(const std::string& path, const std::string& what) {
  return absl::DataLossError(absl::StrCat(path, " is not a valid safetensors file: ", what));
}

// Whether objects and arrays in the JSON text nest deeper than `limit`; one
// pass that skips strings, so the parser never sees a deep document.
bool ExceedsDepth(const char* p, const char* end, int limit) {
  int depth = 0;
  bool in_string = false;
  for (; p < end; ++p) {
    if (in_string) {
      if (*p == '\\')
        ++p;
      else if (*p == '"')
        in_string = false;
    } else if (*p == '"') {
      in_string = true;
    } else if (*p == '{' || *p == '[') {
      if (++depth > limit) return true;
    } else if (*p == '}' || *p == ']') {
      --depth;
    }
  }
  return false;
}

}  // namespace

std::optional<int64_t> CheckedNumel(const std::vector<int64_t>& sizes, int64_t element_size) {
  int64_t nonzero = 1;
  bool empty = false;
  for (int64_t s : sizes) {
    if (s == 0)
      empty = true;
    else if (__builtin_mul_overflow(nonzero, s, &nonzero))
      return std::nullopt;
  }
  int64_t bytes;
  if (__builtin_mul_overflow(nonzero, element_size, &bytes)) return std::nullopt;
  return empty ? 0 : nonzero;
}

at::Tensor TensorFromFile(const std::shared_ptr<MappedFile>& file, uint8_t* data, const std::vector<int64_t>& sizes,
                          c10::ScalarType dtype, TensorMemory memory) {
  const auto options = at::TensorOptions().dtype(dtype);
  const size_t align = c10::elementSize(dtype);
  if (memory == TensorMemory::kCopy || reinterpret_cast<uintptr_t>(data) % align != 0) {
    at::Tensor out = at::empty(sizes, options);
    std::memcpy(out.data_ptr(), data, out.nbytes());
    return out;
  }
  std::shared_ptr<MappedFile> keep = file;
  return at::from_blob(data, sizes, [keep](void*) {}, options);
}

absl::StatusOr<TensorList> ReadSafetensors(const std::string& path, std::map<std::string, std::string>* metadata,
                                           TensorMemory memory) {
  if (auto checked = CheckInputFile(path, "tensor file"); !checked.ok()) return checked.status();
  auto file_or = MappedFile::Open(path);
  if (!file_or.ok()) return file_or.status();
  std::shared_ptr<MappedFile> file = *file_or;
  const uint64_t n = file->size();
  if (n < 8) return Bad(path, "shorter than its 8-byte header length");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | file->data()[i];
  if (header_len > kMaxHeaderBytes) {
    return Bad(path, absl::StrCat("header length ", header_len, " exceeds the limit of ", kMaxHeaderBytes, " bytes"));
  }
  if (header_len > n - 8) {
    return Bad(path, absl::StrCat("header length ", header_len, " exceeds the file (", n, " bytes)"));
  }
  const char* header = reinterpret_cast<const char*>(file->data() + 8);
  if (header_len == 0 || header[0] != '{') return Bad(path, "header does not start with '{'");
  if (ExceedsDepth(header, header + header_len, kMaxHeaderDepth)) {
    return Bad(path, absl::StrCat("header nests deeper than ", kMaxHeaderDepth, " levels"));
  }
  // json's std::map objects parse in O(n log n); ordered_json looks each key
  // up linearly, and a parser callback rescans each object's parent.
  nlohmann::json json = nlohmann::json::parse(header, header + header_len, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return Bad(path, "header is not a JSON object");
  uint8_t* data = file->data() + 8 + header_len;
  const uint64_t data_size = n - 8 - header_len;

  struct Info {
    const std::string* name;
    c10::ScalarType dtype;
    std::vector<int64_t> sizes;
    uint64_t begin, end;
  };
  std::vector<Info> infos;
  for (auto it = json.begin(); it != json.end(); ++it) {
    const std::string& name = it.key();
    const auto& info = it.value();
    if (name == "__metadata__") {
      if (!info.is_object()) return Bad(path, "__metadata__ is not an object");
      for (auto m = info.begin(); m != info.end(); ++m) {
        if (!m.value().is_string()) return Bad(path, "__metadata__ value for " + m.key() + " is not a string");
        if (metadata != nullptr) (*metadata)[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets")) {
      return Bad(path, "tensor '" + name + "' lacks dtype, shape or data_offsets");
    }
    const auto& jd = info["dtype"];
    const auto& js = info["shape"];
    const auto& jo = info["data_offsets"];
    if (!jd.is_string()) return Bad(path, "dtype of '" + name + "' is not a string");
    std::optional<c10::ScalarType> dtype = SafetensorsDType(jd.get<std::string>());
    if (!dtype) {
      return absl::UnimplementedError(
          absl::StrCat(path, ": tensor '", name, "' has unsupported dtype ", jd.get<std::string>()));
    }
    if (!js.is_array() || !jo.is_array() || jo.size() != 2 || !jo[0].is_number_unsigned() ||
        !jo[1].is_number_unsigned()) {
      return Bad(path, "shape or data_offsets of '" + name + "' malformed");
    }
    std::vector<int64_t> sizes;
    for (const auto& d : js) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > uint64_t{INT64_MAX}) {
        return Bad(path, "shape of '" + name + "' has a value that is not a size");
      }
      sizes.push_back(static_cast<int64_t>(d.get<uint64_t>()));
    }
    const int64_t elem = static_cast<int64_t>(c10::elementSize(*dtype));
    std::optional<int64_t> numel = CheckedNumel(sizes, elem);
    if (!numel) {
      return Bad(path, absl::StrCat("tensor '", name, "': shape [", absl::StrJoin(sizes, ", "), "] of ",
                                    jd.get<std::string>(), " overflows 64-bit sizes"));
    }
    const uint64_t begin = jo[0].get<uint64_t>(), end = jo[1].get<uint64_t>();
    if (end < begin || end > data_size || static_cast<uint64_t>(*numel * elem) != end - begin) {
      return Bad(path, absl::StrCat("tensor '", name, "': offsets [", begin, ", ", end,
                                    ") do not match its shape and dtype within ", data_size, " data bytes"));
    }
    infos.push_back({&name, *dtype, std::move(sizes), begin, end});
  }
  // The safetensors library's rule: sorted by offsets, each tensor starts
  // where the previous one ends and the last ends the file, so no two
  // tensors share bytes and no bytes go unread.
  std::sort(infos.begin(), infos.end(),
            [](const Info& a, const Info& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  uint64_t covered = 0;
  for (const Info& info : infos) {
    if (info.begin != covered) {
      return Bad(path, absl::StrCat("tensor '", *info.name, "' starts at data byte ", info.begin,
                                    info.begin < covered ? ", inside the tensor before it (overlap), which ends at "
                                                         : ", after a gap: the tensor before it ends at ",
                                    covered));
    }
    covered = info.end;
  }
  if (covered != data_size) {
    return Bad(path, absl::StrCat("the tensors cover ", covered, " of its ", data_size, " data bytes"));
  }
  TensorList out;
  for (const Info& info : infos) {
    at::Tensor t = TensorFromFile(file, data + info.begin, info.sizes, info.dtype, memory);
    // FP8 weights are upcast on read: no CPU kernels work on them directly.
    if (info.dtype == c10::ScalarType::Float8_e4m3fn) t = t.to(at::kFloat);
    out.push_back({*info.name, std::move(t)});
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
