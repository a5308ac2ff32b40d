// Names of tensor element types in the two file formats.
#pragma once

#include <c10/core/ScalarType.h>

#include <optional>
#include <string>

namespace seedvr::core {

// safetensors dtype string <-> ScalarType.
std::optional<c10::ScalarType> SafetensorsDType(const std::string& name);
std::optional<std::string> SafetensorsName(c10::ScalarType type);

// PyTorch legacy storage class ("FloatStorage") <-> ScalarType.
std::optional<c10::ScalarType> StorageDType(const std::string& name);
std::optional<std::string> StorageName(c10::ScalarType type);

}  // namespace seedvr::core
