// Tensors over the bytes of a mapped file.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "seedvr/core/io.h"
#include "seedvr/core/tensor_file.h"

namespace seedvr::core {

// A contiguous tensor of `sizes` over the bytes at `data` inside `file`: a
// copy, or with kView a view that keeps `file` mapped while it lives
// (misaligned data is copied either way). The caller has checked that the
// bytes lie inside the file.
at::Tensor TensorFromFile(const std::shared_ptr<MappedFile>& file, uint8_t* data, const std::vector<int64_t>& sizes,
                          c10::ScalarType dtype, TensorMemory memory);

// The element count of non-negative `sizes`, or nullopt when the count of
// its non-zero dimensions, or that count times `element_size` bytes, does not
// fit int64: ATen would throw on such a shape, so readers refuse it first.
std::optional<int64_t> CheckedNumel(const std::vector<int64_t>& sizes, int64_t element_size);

}  // namespace seedvr::core
