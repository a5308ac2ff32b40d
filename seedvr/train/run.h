// Building a training run from lowered parameters and driving it, as plain
// functions compiled once for every trainer specialization:
//   BuildTrainingParts  dataset and loaders, text embedding, DiT (from the
//                       released checkpoint or a seeded random init) and
//                       frozen VAE, in dependency order, so that a bad file
//                       fails before any training work
//   RunTrainingLoop     resume, the held-out evaluation before and after, the
//                       step loop with logging and atomic checkpoints; under
//                       torchrun rank 0 logs, saves and evaluates while the
//                       others wait (parallel.wait_timeout_s) and then check
//                       that every rank holds the same weights
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "seedvr/core/device.h"
#include "seedvr/data/loader.h"
#include "seedvr/data/video_pair_dataset.h"
#include "seedvr/models/dit/nadit.h"
#include "seedvr/models/vae/vae_model.h"
#include "seedvr/train/params.h"
#include "seedvr/train/trainer.h"

namespace seedvr::train {

struct TrainingParts {
  std::unique_ptr<core::CpuBf16Guard> cpu_bf16;  // safe bf16 kernels on the CPU, for the run's lifetime
  std::unique_ptr<data::VideoPairDataset> dataset;
  std::unique_ptr<data::DataLoader> loader;
  std::unique_ptr<data::VideoPairDataset> eval_dataset;  // empty without training.eval_clips
  std::unique_ptr<data::DataLoader> eval_loader;
  at::Tensor text;  // [Lt, txt_in_dim] positive embedding, fp32
  dit::NaDiT dit{nullptr};
  vae::VideoVAE vae{nullptr};
};

// The training loader reads this rank's share (params.dp_rank of dp_size).
absl::StatusOr<TrainingParts> BuildTrainingParts(const TrainerParams& params);

// A built trainer and the parts it reads (the trainer is destroyed first).
struct TrainingRun {
  std::unique_ptr<TrainingParts> parts;
  std::unique_ptr<TrainerInterface> trainer;
};

absl::Status RunTrainingLoop(TrainerInterface& trainer, const TrainerParams& params, TrainingParts& parts);

}  // namespace seedvr::train
