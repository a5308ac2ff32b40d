// Text embeddings for the DiT. SeedVR2's text encoder is not public: the
// released `pos_emb.pt` / `neg_emb.pt` (bf16 [58, 5120] and [64, 5120]) are
// all there is. The trainer and `infer` read one safetensors file holding
// `pos` (and `neg` when known), written by //tools:prepare_text_embeddings.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace seedvr::text {

struct TextEmbeddings {
  at::Tensor pos;  // [Lt, width], used for one-step restoration
  at::Tensor neg;  // [Ln, width] or undefined
};

// Reads a file written by WriteTextEmbeddings, a `.pt` holding a bare tensor
// (taken as `pos`), or a safetensors file with `pos`. Checks the width
// against the model's txt_in_dim and that values are finite.
absl::StatusOr<TextEmbeddings> LoadTextEmbeddings(const std::string& path, int64_t expected_width);

absl::Status WriteTextEmbeddings(const std::string& path, const TextEmbeddings& embeddings,
                                 const std::string& source);

// Deterministic stand-in embeddings for model widths that have no released
// ones (small configs): unit-variance Gaussian rows from a fixed seed, so that
// every run and every tool sees the same text condition.
TextEmbeddings MakeDeterministicEmbeddings(int64_t width, int64_t length = 58, uint64_t seed = 58);

}  // namespace seedvr::text
