#include "seedvr/train/checkpoint.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <regex>
#include <variant>

#include "absl/strings/str_cat.h"

namespace seedvr::train {

namespace fs = std::filesystem;

std::string CheckpointPath(const std::string& save_dir, int64_t step) {
  return absl::StrCat(save_dir, "/checkpoint_", step, ".pth");
}

std::string FinalCheckpointPath(const std::string& save_dir) { return save_dir + "/checkpoint_final.pth"; }

std::string EmaPath(const std::string& save_dir, int64_t step) { return absl::StrCat(save_dir, "/ema_", step, ".pth"); }

std::string FinalEmaPath(const std::string& save_dir) { return save_dir + "/ema_final.pth"; }

namespace {

// The EMA alone: a plain state dict of bf16 tensors under the official keys.
absl::Status WriteEmaWeights(const std::string& path, const core::PyValue& state) {
  const core::PyValue* ema = state.find("ema");
  if (ema == nullptr) return absl::InvalidArgumentError(absl::StrCat("checkpoint state for ", path, " has no 'ema'"));
  auto weights = core::ToTensorList(*ema, path);
  if (!weights.ok()) return weights.status();
  for (core::NamedTensor& w : *weights) w.tensor = w.tensor.to(at::kBFloat16);
  return core::WritePth(path, core::FromTensorList(*weights));
}

}  // namespace

std::vector<std::pair<int64_t, std::string>> ListCheckpoints(const std::string& save_dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  static const std::regex kName("checkpoint_([0-9]+)\\.pth");
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(save_dir, ec)) {
    std::smatch m;
    std::string name = entry.path().filename().string();
    if (std::regex_match(name, m, kName)) found.emplace_back(std::stoll(m[1]), entry.path().string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

absl::Status SaveCheckpoint(const std::string& save_dir, int64_t step, bool final, const core::PyValue& state,
                            int64_t keep_last) {
  std::error_code ec;
  fs::create_directories(save_dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create save_dir ", save_dir, ": ", ec.message()));
  absl::Status s = core::WritePth(final ? FinalCheckpointPath(save_dir) : CheckpointPath(save_dir, step), state);
  if (s.ok()) s = WriteEmaWeights(final ? FinalEmaPath(save_dir) : EmaPath(save_dir, step), state);
  if (!s.ok() || keep_last <= 0) return s;
  auto all = ListCheckpoints(save_dir);
  for (size_t i = 0; i + static_cast<size_t>(keep_last) < all.size(); ++i) {
    fs::remove(all[i].second, ec);
    fs::remove(EmaPath(save_dir, all[i].first), ec);
  }
  return absl::OkStatus();
}

namespace {

// What a value of a checkpoint is, for errors.
std::string Describe(const core::PyValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>)
          return "None";
        else if constexpr (std::is_same_v<T, bool>)
          return x ? "True" : "False";
        else if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, double>)
          return absl::StrCat(x);
        else if constexpr (std::is_same_v<T, std::string>)
          return absl::StrCat("the string '", x.substr(0, 40), "'");
        else if constexpr (std::is_same_v<T, at::Tensor>)
          return absl::StrCat("a tensor of ", x.numel(), " elements");
        else if constexpr (std::is_same_v<T, std::shared_ptr<core::PyList>>)
          return "a list";
        else
          return "a dict";
      },
      v.v);
}

// Entries of one dict of a checkpoint, named `where['key']` in errors.
class Entries {
 public:
  Entries(const core::PyValue& dict, std::string where) : dict_(dict), where_(std::move(where)) {}

  std::string Name(const char* key) const { return absl::StrCat(where_, "['", key, "']"); }

  // The entry, or an error when it is missing (`required`) or not a dict.
  absl::StatusOr<const core::PyValue*> Dict(const char* key, bool required = true) const {
    const core::PyValue* v = dict_.find(key);
    if (v == nullptr && required) return Missing(key);
    if (v == nullptr) return nullptr;
    if (!v->is_dict()) return Wrong(key, "a dict", *v);
    return v;
  }

  absl::Status Int(const char* key, int64_t min, bool required = true) const {
    const core::PyValue* v = dict_.find(key);
    if (v == nullptr) return required ? Missing(key) : absl::OkStatus();
    if (!v->is_int() || std::get<int64_t>(v->v) < min) return Wrong(key, absl::StrCat("an integer >= ", min), *v);
    return absl::OkStatus();
  }

  // A float in [min, max) (`max_open`) or [min, max], where present.
  absl::Status Float(const char* key, double min, double max, bool max_open) const {
    const core::PyValue* v = dict_.find(key);
    if (v == nullptr) return absl::OkStatus();
    const double* x = std::get_if<double>(&v->v);
    if (x == nullptr || !(*x >= min && (max_open ? *x < max : *x <= max))) {
      return Wrong(key, absl::StrCat("a number in [", min, ", ", max, max_open ? ")" : "]"), *v);
    }
    return absl::OkStatus();
  }

  absl::Status String(const char* key, bool required = true) const {
    const core::PyValue* v = dict_.find(key);
    if (v == nullptr) return required ? Missing(key) : absl::OkStatus();
    if (!v->is_string()) return Wrong(key, "a string", *v);
    return absl::OkStatus();
  }

  // A dict of tensors; `finite` checks their values too.
  absl::Status Tensors(const char* key, bool finite, bool required = true) const {
    auto v = Dict(key, required);
    if (!v.ok() || *v == nullptr) return v.status();
    auto list = core::ToTensorList(**v, Name(key));
    if (!list.ok()) return list.status();
    return finite ? CheckFinite(*list, Name(key)) : absl::OkStatus();
  }

 private:
  absl::Status Missing(const char* key) const {
    return absl::InvalidArgumentError(absl::StrCat(where_, ": no '", key, "' entry"));
  }
  absl::Status Wrong(const char* key, const std::string& expected, const core::PyValue& v) const {
    return absl::InvalidArgumentError(absl::StrCat(Name(key), ": expected ", expected, ", got ", Describe(v)));
  }

  const core::PyValue& dict_;
  std::string where_;
};

}  // namespace

absl::Status CheckFinite(const core::TensorList& weights, const std::string& where) {
  c10::NoGradGuard no_grad;
  for (const core::NamedTensor& w : weights) {
    if (!w.tensor.is_floating_point()) continue;
    // One pass, no temporary: NaN and inf survive a double-precision sum,
    // which finite fp32 values cannot overflow.
    if (!std::isfinite(w.tensor.sum(at::kDouble).item<double>())) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": '", w.name, "' holds NaN or infinite values; these weights restore nothing"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckCheckpoint(const core::PyValue& state, const std::string& where) {
  const core::PyValue* format = state.find("format");
  if (format == nullptr || !format->is_string() || std::get<std::string>(format->v) != kCheckpointFormat) {
    return absl::InvalidArgumentError(absl::StrCat(where, " is not a seedvr training checkpoint (no format '",
                                                   kCheckpointFormat, "'); a released model goes in --dit_checkpoint"));
  }
  const Entries top(state, where);
  for (const absl::Status& s : {top.Int("step", 0), top.Int("d_step", 0), top.String("config", /*required=*/false)}) {
    if (!s.ok()) return s;
  }
  auto loader = top.Dict("loader");
  if (!loader.ok()) return loader.status();
  const Entries position(**loader, top.Name("loader"));
  for (const absl::Status& s :
       {position.Int("epoch", 0), position.Int("index", 0), position.Int("dp_size", 1, /*required=*/false)}) {
    if (!s.ok()) return s;
  }
  for (const char* key : {"g_optimizer", "d_optimizer"}) {
    auto opt = top.Dict(key);
    if (!opt.ok()) return opt.status();
    const Entries o(**opt, top.Name(key));
    for (const absl::Status& s :
         {o.Int("step", 0), o.Tensors("exp_avg", false), o.Tensors("exp_avg_sq", false),
          o.Float("lr", 0, HUGE_VAL, true), o.Float("beta1", 0, 1, true), o.Float("beta2", 0, 1, true),
          o.Float("eps", 0, HUGE_VAL, true), o.Float("weight_decay", 0, HUGE_VAL, true)}) {
      if (!s.ok()) return s;
    }
  }
  // Last: the weights' values take a pass over every tensor.
  for (const char* key : {"generator", "ema", "discriminator"}) {
    if (absl::Status s = top.Tensors(key, /*finite=*/true); !s.ok()) return s;
  }
  return top.Tensors("vae", /*finite=*/true, /*required=*/false);
}

absl::StatusOr<core::PyValue> LoadCheckpoint(const std::string& path) {
  auto value = core::ReadPth(path, core::TensorMemory::kView);
  if (!value.ok()) return value.status();
  if (absl::Status s = CheckCheckpoint(*value, path); !s.ok()) return s;
  return value;
}

}  // namespace seedvr::train
