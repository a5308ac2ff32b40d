#include "seedvr/text/text_embeddings.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "seedvr/core/tensor_file.h"

namespace seedvr::text {
namespace {

absl::Status Check(const at::Tensor& t, const std::string& what, int64_t width) {
  if (t.dim() != 2 || t.size(0) < 1) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": expected a [tokens, width] tensor, got [", absl::StrJoin(t.sizes(), ", "), "]"));
  }
  if (t.size(1) != width) {
    return absl::InvalidArgumentError(absl::StrCat(what, " has width ", t.size(1), ", but the model's txt_in_dim is ",
                                                   width, " (the released embeddings are 5120 wide)"));
  }
  if (!at::isfinite(t.to(at::kFloat)).all().item<bool>()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " holds NaN or infinite values"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TextEmbeddings> LoadTextEmbeddings(const std::string& path, int64_t expected_width) {
  TextEmbeddings out;
  auto pth = core::ReadPth(path);
  if (pth.ok() && pth->is_tensor()) {
    out.pos = std::get<at::Tensor>(pth->v);
  } else {
    auto list = core::ReadStateDict(path);
    if (!list.ok()) {
      return absl::Status(list.status().code(),
                          absl::StrCat("cannot read text embeddings: ", list.status().message(),
                                       " (create them with: bazel run //tools:prepare_text_embeddings)"));
    }
    for (const core::NamedTensor& t : *list) {
      if (t.name == "pos") out.pos = t.tensor;
      else if (t.name == "neg") out.neg = t.tensor;
    }
    if (!out.pos.defined()) return absl::InvalidArgumentError(absl::StrCat(path, " has no 'pos' tensor"));
  }
  if (auto s = Check(out.pos, path + " ['pos']", expected_width); !s.ok()) return s;
  if (out.neg.defined()) {
    if (auto s = Check(out.neg, path + " ['neg']", expected_width); !s.ok()) return s;
  }
  return out;
}

absl::Status WriteTextEmbeddings(const std::string& path, const TextEmbeddings& e, const std::string& source) {
  core::TensorList list = {{"pos", e.pos}};
  if (e.neg.defined()) list.push_back({"neg", e.neg});
  return core::WriteSafetensors(path, list, {{"source", source}});
}

TextEmbeddings MakeDeterministicEmbeddings(int64_t width, int64_t length, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  TextEmbeddings e;
  e.pos = at::randn({length, width}, gen, at::kFloat);
  e.neg = at::randn({length, width}, gen, at::kFloat);
  return e;
}

}  // namespace seedvr::text
