#include "seedvr/core/dtype_names.h"

#include <array>
#include <utility>

namespace seedvr::core {
namespace {

using c10::ScalarType;

constexpr std::array<std::pair<const char*, ScalarType>, 11> kSafetensors = {{
    {"F64", ScalarType::Double},
    {"F32", ScalarType::Float},
    {"F16", ScalarType::Half},
    {"BF16", ScalarType::BFloat16},
    {"I64", ScalarType::Long},
    {"I32", ScalarType::Int},
    {"I16", ScalarType::Short},
    {"I8", ScalarType::Char},
    {"U8", ScalarType::Byte},
    {"BOOL", ScalarType::Bool},
    {"F8_E4M3", ScalarType::Float8_e4m3fn},
}};

constexpr std::array<std::pair<const char*, ScalarType>, 10> kStorages = {{
    {"DoubleStorage", ScalarType::Double},
    {"FloatStorage", ScalarType::Float},
    {"HalfStorage", ScalarType::Half},
    {"BFloat16Storage", ScalarType::BFloat16},
    {"LongStorage", ScalarType::Long},
    {"IntStorage", ScalarType::Int},
    {"ShortStorage", ScalarType::Short},
    {"CharStorage", ScalarType::Char},
    {"ByteStorage", ScalarType::Byte},
    {"BoolStorage", ScalarType::Bool},
}};

template <size_t N>
std::optional<ScalarType> ByName(const std::array<std::pair<const char*, ScalarType>, N>& table,
                                 const std::string& name) {
  for (const auto& [n, t] : table) {
    if (name == n) return t;
  }
  return std::nullopt;
}

template <size_t N>
std::optional<std::string> ByType(const std::array<std::pair<const char*, ScalarType>, N>& table,
                                  ScalarType type) {
  for (const auto& [n, t] : table) {
    if (type == t) return std::string(n);
  }
  return std::nullopt;
}

}  // namespace

std::optional<ScalarType> SafetensorsDType(const std::string& name) { return ByName(kSafetensors, name); }
std::optional<std::string> SafetensorsName(ScalarType type) { return ByType(kSafetensors, type); }
std::optional<ScalarType> StorageDType(const std::string& name) { return ByName(kStorages, name); }
std::optional<std::string> StorageName(ScalarType type) { return ByType(kStorages, type); }

}  // namespace seedvr::core
