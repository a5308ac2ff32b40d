#include "seedvr/train/run.h"

#include <ATen/ATen.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "seedvr/core/device.h"
#include "seedvr/models/dit/dit_weights.h"
#include "seedvr/models/vae/vae_weights.h"
#include "seedvr/parallel/fault.h"
#include "seedvr/text/text_embeddings.h"
#include "seedvr/train/checkpoint.h"
#include "seedvr/train/monitor.h"

namespace seedvr::train {

absl::StatusOr<TrainingParts> BuildTrainingParts(const TrainerParams& params) {
  const config::TrainConfig& c = params.config;
  if (absl::Status s = config::CheckInputPaths(c); !s.ok()) return s;
  TrainingParts a;
  a.cpu_bf16 = std::make_unique<core::CpuBf16Guard>(params.device, params.bf16 || params.vae_bf16);
  auto dataset = data::VideoPairDataset::Create(c.data);
  if (!dataset.ok()) return dataset.status();
  a.dataset = *std::move(dataset);
  if (params.eval_clips > 0) {
    data::DataConfig eval = c.data;
    eval.data_root = c.training.eval_root;
    auto eval_dataset = data::VideoPairDataset::Create(eval);
    if (!eval_dataset.ok()) {
      return absl::Status(eval_dataset.status().code(),
                          absl::StrCat("training.eval_root: ", eval_dataset.status().message()));
    }
    a.eval_dataset = *std::move(eval_dataset);
    data::LoaderOptions o = data::LoaderOptions::FromConfig(eval);
    o.num_workers = 0;
    o.shuffle = false;
    a.eval_loader = std::make_unique<data::DataLoader>(a.eval_dataset.get(), o);
  }
  const std::string& text_path = c.training.text_embeddings;
  if (text_path.empty()) return absl::InvalidArgumentError("training.text_embeddings is empty");
  auto text = text::LoadTextEmbeddings(text_path, c.model.txt_in_dim);
  if (!text.ok()) return text.status();
  a.text = text->pos.to(params.device, at::kFloat);

  at::manual_seed(params.seed);  // random init when no checkpoint is given
  a.dit = dit::NaDiT(c.model);
  if (!c.training.dit_checkpoint.empty()) {
    if (auto s = dit::LoadDiTWeightsFile(*a.dit, c.training.dit_checkpoint); !s.ok()) return s;
  }
  a.vae = vae::VideoVAE(c.vae);
  if (!c.training.vae_checkpoint.empty()) {
    if (auto s = vae::LoadVAEWeights(*a.vae, c.training.vae_checkpoint); !s.ok()) return s;
  }
  a.dit->to(params.device);
  a.vae->to(params.device);
  a.loader = std::make_unique<data::DataLoader>(
      a.dataset.get(), data::LoaderOptions::FromConfig(c.data, params.dp_rank, params.dp_size));
  return a;
}

absl::Status RunTrainingLoop(TrainerInterface& t, const TrainerParams& p, TrainingParts& parts) {
  const std::string& dir = p.save_dir;
  const config::LoggingConfig& log = p.config.logging;
  const bool main = t.is_main();
  std::string resumed;
  if (!p.resume.empty()) {
    auto state = LoadCheckpoint(p.resume);
    if (!state.ok()) return state.status();
    auto note = t.LoadState(*state, p.resume);
    if (!note.ok()) return note.status();
    resumed = *std::move(note);
  }
  Monitor monitor({dir, p.max_steps, log.log_every, log.progress_bar, 200,
                   /*resume_step=*/p.resume.empty() ? -1 : t.step(), /*quiet=*/!main});
  if (!resumed.empty()) monitor.Print(resumed);
  const int64_t sp = p.config.parallel.sp_size;
  std::string ranks = p.dp_size > 1 ? absl::StrCat(" x ", p.dp_size, " data-parallel ranks") : "";
  if (sp > 1) absl::StrAppend(&ranks, " x ", sp, " sequence-parallel ranks (Ulysses)");
  monitor.Print(absl::StrCat("training ", t.Description(), " on ", core::DeviceDescription(p.device), ranks,
                             p.bf16 ? " in bf16" : " in fp32", "; ", parts.dataset->size(), " clips; from step ",
                             t.step(), " to ", p.max_steps));
  monitor.Print(absl::StrCat("optimizer state: ", t.StateSummary()));
  // Rank 0 alone evaluates and writes (the others take part in gathering
  // sharded state); every rank then checks that the weights still agree.
  auto evaluate = [&](const char* when) -> absl::Status {
    if (!parts.eval_loader) return absl::OkStatus();
    auto r = t.Evaluate(parts.eval_loader.get(), p.eval_clips);
    if (!r.ok()) return r.status();
    if (main) {
      monitor.Print(
          absl::StrFormat("eval %s (step %d, %d held-out clips): PSNR restored %.2f dB, LQ %.2f dB, "
                          "VAE round trip of HQ %.2f dB and of LQ %.2f dB; "
                          "high-frequency energy / HQ: restored %.3f, LQ %.3f; latent L1 restored %.4f, LQ %.4f; %s",
                          when, t.step(), r->clips, r->restored_psnr, r->lq_psnr, r->vae_psnr, r->lq_vae_psnr,
                          r->restored_hf_ratio, r->lq_hf_ratio, r->restored_l1, r->lq_l1, r->samples_path));
      if (auto s = monitor.Record(t.step(), {{"eval_restored_psnr", r->restored_psnr},
                                             {"eval_lq_psnr", r->lq_psnr},
                                             {"eval_vae_psnr", r->vae_psnr},
                                             {"eval_lq_vae_psnr", r->lq_vae_psnr},
                                             {"eval_restored_hf_ratio", r->restored_hf_ratio},
                                             {"eval_lq_hf_ratio", r->lq_hf_ratio},
                                             {"eval_restored_l1", r->restored_l1},
                                             {"eval_lq_l1", r->lq_l1}});
          !s.ok()) {
        return s;
      }
    }
    return t.Sync(p.wait_timeout, absl::StrCat("the evaluation ", when, " training"));
  };
  auto save = [&](bool final, int64_t keep_last) -> absl::Status {
    core::PyValue state = t.State();  // collective under ZeRO
    if (main) {
      parallel::CheckpointWriteScope writing;  // a stop signal waits for this write
      if (auto s = SaveCheckpoint(dir, t.step(), final, state, keep_last); !s.ok()) return s;
    }
    return t.Sync(p.wait_timeout, absl::StrCat("the checkpoint of step ", t.step()));
  };
  if (auto s = evaluate("before"); !s.ok()) return s;
  // From here a stop signal ends the run cleanly after the current step.
  parallel::EnableGracefulStop(p.wait_timeout);
  while (t.step() < p.max_steps) {
    auto m = t.Step();
    if (!m.ok()) return m.status();
    if (auto s = monitor.Record(t.step(), *m); !s.ok()) return s;  // NaN: stop, keep the last checkpoint
    auto signalled = t.AnyRank(parallel::StopSignal() != 0, p.wait_timeout, "agreeing on a stop signal");
    if (!signalled.ok()) return signalled.status();
    const bool stop = *signalled && t.step() < p.max_steps;  // at the last step the run ends anyway
    if (p.eval_every > 0 && t.step() % p.eval_every == 0 && t.step() < p.max_steps) {
      if (auto s = evaluate("during"); !s.ok()) return s;
    }
    if ((t.step() % p.save_every == 0 && t.step() < p.max_steps) || stop) {
      if (auto s = save(false, p.keep_last); !s.ok()) return s;
      if (auto s = monitor.WritePlot(); !s.ok()) return s;
    }
    if (stop) {
      return absl::CancelledError(absl::StrCat("stopped by a signal after step ", t.step(),
                                               " and saved it; continue with --resume ",
                                               CheckpointPath(dir, t.step())));
    }
  }
  if (auto s = save(false, p.keep_last); !s.ok()) return s;
  if (auto s = save(true, 0); !s.ok()) return s;
  if (auto s = evaluate("after"); !s.ok()) return s;
  monitor.Print(absl::StrCat("saved ", FinalCheckpointPath(dir), "; logs in ", dir, "/train_log.jsonl and ", dir,
                             "/loss_curves.html and .png"));
  return monitor.WritePlot();
}

}  // namespace seedvr::train
