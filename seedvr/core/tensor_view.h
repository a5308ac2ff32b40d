// Tensors that view a mapped file without copying it.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "seedvr/core/io.h"

namespace seedvr::core {

// A tensor of `sizes` (contiguous) over `bytes` at `data`, keeping `file`
// mapped while it lives. Misaligned data is copied to aligned memory.
at::Tensor ViewMapped(const std::shared_ptr<MappedFile>& file, uint8_t* data,
                      const std::vector<int64_t>& sizes, c10::ScalarType dtype);

}  // namespace seedvr::core
