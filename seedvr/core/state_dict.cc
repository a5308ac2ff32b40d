// Strict state-dict loading shared by every model (see state_dict.h).
#include "seedvr/core/state_dict.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace seedvr::core {
namespace {

std::string ShapeString(at::IntArrayRef s) { return "[" + absl::StrJoin(s, ", ") + "]"; }

void AppendList(std::ostringstream& msg, const char* what, const std::vector<std::string>& items, int max_listed) {
  if (items.empty()) return;
  msg << "\n  " << items.size() << " " << what << ":";
  for (size_t i = 0; i < items.size(); ++i) {
    if (static_cast<int>(i) == max_listed) {
      msg << "\n    ... and " << items.size() - i << " more";
      break;
    }
    msg << "\n    " << items[i];
  }
}

}  // namespace

absl::Status LoadStateDictStrict(torch::nn::Module& module, const TensorList& weights,
                                 const StrictLoadOptions& options) {
  // Model entries in module order: parameters, then buffers.
  std::map<std::string, at::Tensor> model;
  std::vector<std::string> order;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    model[item.key()] = item.value();
    order.push_back(item.key());
  }
  for (const auto& item : module.named_buffers(/*recurse=*/true)) {
    model[item.key()] = item.value();
    order.push_back(item.key());
  }
  auto recomputed = [&](const std::string& k) { return options.recomputed && options.recomputed(k); };

  std::vector<std::string> unexpected, mismatched, bad_dtype, duplicated;
  std::set<std::string> seen;
  for (const auto& w : weights) {
    if (!seen.insert(w.name).second) {
      duplicated.push_back(w.name);
      continue;
    }
    auto it = model.find(w.name);
    if (it == model.end()) {
      unexpected.push_back(w.name + " " + ShapeString(w.tensor.sizes()));
      continue;
    }
    if (!w.tensor.sizes().equals(it->second.sizes())) {
      mismatched.push_back(absl::StrCat(w.name, ": checkpoint ", ShapeString(w.tensor.sizes()), " vs model ",
                                        ShapeString(it->second.sizes())));
      continue;
    }
    if (!at::isFloatingType(w.tensor.scalar_type())) {
      bad_dtype.push_back(absl::StrCat(w.name, ": ", std::string(c10::toString(w.tensor.scalar_type()))));
    }
  }
  std::vector<std::string> missing;
  for (const auto& k : order) {
    if (!seen.count(k) && !recomputed(k)) missing.push_back(k + " " + ShapeString(model[k].sizes()));
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty() || !bad_dtype.empty() || !duplicated.empty()) {
    std::ostringstream msg;
    msg << "state dict does not match the model (" << weights.size() << " entries in the file, " << order.size()
        << " in the model):";
    AppendList(msg, "missing keys (in the model, not in the file)", missing, options.max_listed);
    AppendList(msg, "unexpected keys (in the file, not in the model)", unexpected, options.max_listed);
    AppendList(msg, "shape mismatches", mismatched, options.max_listed);
    AppendList(msg, "non-floating-point entries", bad_dtype, options.max_listed);
    AppendList(msg, "duplicated keys", duplicated, options.max_listed);
    return absl::InvalidArgumentError(msg.str());
  }

  at::NoGradGuard no_grad;
  for (const auto& w : weights) {
    if (recomputed(w.name)) continue;
    model[w.name].copy_(w.tensor);  // converts dtype and device
  }
  return absl::OkStatus();
}

absl::Status LoadStateDictFile(torch::nn::Module& module, const std::string& path,
                               const StrictLoadOptions& options) {
  // Views: every value is copied into the module before returning.
  auto weights = ReadStateDict(path, TensorMemory::kView);
  if (!weights.ok()) return weights.status();
  auto status = LoadStateDictStrict(module, *weights, options);
  if (!status.ok()) return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
  return absl::OkStatus();
}

}  // namespace seedvr::core
