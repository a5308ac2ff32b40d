// Strict state-dict loading for the VAE (see vae_weights.h). Kept out of the
// headers: it is type-independent and needs only one compilation.
#include "seedvr/models/vae/vae_weights.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <torch/nn/module.h>

#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace seedvr::vae {
namespace {

std::string Shape(const at::Tensor& t) {
  return absl::StrCat("[", absl::StrJoin(t.sizes(), ", "), "]");
}

// Keeps long key lists readable: the first 20 plus a count.
std::string KeyList(const std::vector<std::string>& keys) {
  constexpr size_t kShown = 20;
  std::vector<std::string> shown(keys.begin(),
                                 keys.begin() + static_cast<long>(std::min(keys.size(), kShown)));
  std::string s = absl::StrJoin(shown, ", ");
  if (keys.size() > kShown) absl::StrAppend(&s, ", ... (", keys.size() - kShown, " more)");
  return s;
}

}  // namespace

absl::Status LoadVAEWeights(torch::nn::Module& model, const TensorList& weights) {
  std::map<std::string, at::Tensor> targets;
  for (const auto& p : model.named_parameters(/*recurse=*/true)) targets[p.key()] = p.value();
  for (const auto& b : model.named_buffers(/*recurse=*/true)) targets[b.key()] = b.value();

  std::vector<std::string> unexpected, mismatched, duplicate;
  std::set<std::string> seen;
  for (const auto& nt : weights) {
    if (!seen.insert(nt.name).second) {
      duplicate.push_back(nt.name);
      continue;
    }
    auto it = targets.find(nt.name);
    if (it == targets.end()) {
      unexpected.push_back(nt.name);
    } else if (!nt.tensor.sizes().equals(it->second.sizes())) {
      mismatched.push_back(absl::StrCat(nt.name, ": checkpoint ", Shape(nt.tensor), " vs model ",
                                        Shape(it->second)));
    }
  }
  std::vector<std::string> missing;
  for (const auto& [name, t] : targets)
    if (!seen.count(name)) missing.push_back(name);

  if (!missing.empty() || !unexpected.empty() || !mismatched.empty() || !duplicate.empty()) {
    std::vector<std::string> parts;
    if (!missing.empty())
      parts.push_back(absl::StrCat(missing.size(), " missing keys: ", KeyList(missing)));
    if (!unexpected.empty())
      parts.push_back(absl::StrCat(unexpected.size(), " unexpected keys: ", KeyList(unexpected)));
    if (!mismatched.empty())
      parts.push_back(absl::StrCat(mismatched.size(), " shape mismatches: ",
                                   absl::StrJoin(mismatched, "; ")));
    if (!duplicate.empty())
      parts.push_back(absl::StrCat("duplicate keys: ", KeyList(duplicate)));
    return absl::InvalidArgumentError(
        absl::StrCat("VAE weights do not match the model (strict load): ",
                     absl::StrJoin(parts, ". ")));
  }

  at::NoGradGuard no_grad;
  for (const auto& nt : weights) {
    at::Tensor& dst = targets[nt.name];
    if (!nt.tensor.is_floating_point() && dst.is_floating_point())
      return absl::InvalidArgumentError(absl::StrCat(
          nt.name, ": checkpoint dtype ", c10::toString(nt.tensor.scalar_type()),
          " is not a floating type"));
    // copy_ converts dtype and device; the source may be a read-only mapping.
    dst.copy_(nt.tensor);
  }
  return absl::OkStatus();
}

absl::Status LoadVAEWeights(torch::nn::Module& model, const std::string& path) {
  auto weights = ReadStateDict(path);
  if (!weights.ok())
    return absl::Status(weights.status().code(),
                        absl::StrCat("reading VAE weights ", path, ": ",
                                     weights.status().message()));
  absl::Status s = LoadVAEWeights(model, *weights);
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat(path, ": ", s.message()));
  return s;
}

}  // namespace seedvr::vae
