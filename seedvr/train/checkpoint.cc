#include "seedvr/train/checkpoint.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <filesystem>
#include <regex>

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

absl::StatusOr<core::PyValue> LoadCheckpoint(const std::string& path) {
  auto value = core::ReadPth(path, core::TensorMemory::kView);
  if (!value.ok()) return value.status();
  const core::PyValue* format = value->find("format");
  if (format == nullptr || !format->is_string() || std::get<std::string>(format->v) != kCheckpointFormat) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a seedvr training checkpoint (no format '",
                                                   kCheckpointFormat, "'); a released model goes in --dit_checkpoint"));
  }
  return value;
}

}  // namespace seedvr::train
