// Training checkpoints: `checkpoint_<step>.pth` every N steps and
// `checkpoint_final.pth` at the end, in save_dir. Each is written atomically
// (temporary file, fsync, rename), so a crash mid-write leaves the previous
// checkpoint intact; `keep_last` bounds how many numbered ones stay on disk.
//
// Layout (a dict, readable by Python's torch.load(weights_only=True)):
//   format "seedvr-train-1", trainer: {discriminator, loss, parallelism}
//     (the compiled policies' names), step, d_step,
//   generator / ema / discriminator: state dicts (generator and EMA under the
//     official DiT key names),
//   g_optimizer / d_optimizer: AdamW state,
//   loader: data position {epoch, index, dp_size}, config: the resolved YAML.
// Random streams are derived from the seed and the step (training_core.h),
// so no generator state is kept. Under torchrun rank 0 writes the same files.
//
// Beside each, `ema_<step>.pth` / `ema_final.pth` hold the EMA alone: a plain
// state dict of bf16 tensors under the official DiT key names, the size of
// a released SeedVR2 model, for `infer --checkpoint ... --config ...` and
// other SeedVR2 tools (torch.load + load_state_dict).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "seedvr/core/tensor_file.h"

namespace seedvr::train {

inline constexpr char kCheckpointFormat[] = "seedvr-train-1";

std::string CheckpointPath(const std::string& save_dir, int64_t step);
std::string FinalCheckpointPath(const std::string& save_dir);
std::string EmaPath(const std::string& save_dir, int64_t step);
std::string FinalEmaPath(const std::string& save_dir);

// Writes `state` as checkpoint_<step>.pth (or checkpoint_final.pth when
// `final`) and its EMA as ema_<step>.pth (ema_final.pth), then removes the
// oldest numbered checkpoints, with their EMA files, beyond keep_last (0
// keeps all).
absl::Status SaveCheckpoint(const std::string& save_dir, int64_t step, bool final, const core::PyValue& state,
                            int64_t keep_last);

// Numbered checkpoints in save_dir, by step ascending.
std::vector<std::pair<int64_t, std::string>> ListCheckpoints(const std::string& save_dir);

// Reads a training checkpoint and checks it (CheckCheckpoint), so that what
// is resumed holds the types and ranges it was saved with. Its tensors view
// the file (nothing is held twice): copy them out before the file may change.
absl::StatusOr<core::PyValue> LoadCheckpoint(const std::string& path);

// Checks the entries of a training checkpoint read from `where`: the format
// tag; step and d_step non-negative integers; loader {epoch, index >= 0,
// dp_size >= 1 if present}; generator, ema, discriminator (and vae if
// present) dicts of finite tensors; g_optimizer / d_optimizer with a
// non-negative integer step, exp_avg and exp_avg_sq dicts of tensors, and lr,
// eps, weight_decay >= 0 and beta1, beta2 in [0, 1) where present; config a
// string if present. Entries it does not list are never read (the random
// state of earlier versions, trainer), so they are not checked. An error
// names the entry (`where['g_optimizer']['lr']`) and what it holds.
absl::Status CheckCheckpoint(const core::PyValue& state, const std::string& where);

// An error naming the first tensor of `weights` (from `where`) that holds a
// NaN or an infinity: such weights restore black frames without a word.
absl::Status CheckFinite(const core::TensorList& weights, const std::string& where);

}  // namespace seedvr::train
