#include "seedvr/train/training_core.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/utils.h>

#include <functional>
#include <memory>
#include <optional>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "seedvr/core/device.h"
#include "seedvr/data/clip_tensor.h"
#include "seedvr/data/random.h"
#include "seedvr/models/generator/generator.h"
#include "seedvr/train/checkpoint.h"
#include "seedvr/train/eval_metrics.h"

namespace seedvr::train {
namespace {

core::TensorList Detached(const NamedTensors& params) {
  core::TensorList out;
  for (const auto& [name, p] : params) out.push_back({name, p.detach()});
  return out;
}

core::PyValue Str(const char* s) { return core::PyValue{std::string(s)}; }

// Seeds of the per-step streams ("shared", "batch").
constexpr uint64_t kSharedStream = 0x736861726564ull;
constexpr uint64_t kBatchStream = 0x6261746368ull;

// A checkpoint's whole tensors for `params`, checked name by name and
// shape by shape; `what` names the entry in errors.
absl::Status CheckMatches(const core::TensorList& list, const NamedTensors& params, const std::string& what) {
  if (list.size() != params.size()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " holds ", list.size(), " tensors; this model has ",
                                                   params.size(), " (was it trained with another config?)"));
  }
  for (size_t i = 0; i < params.size(); ++i) {
    if (list[i].name != params[i].first || !list[i].tensor.sizes().equals(params[i].second.sizes())) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": '", list[i].name, "' [", absl::StrJoin(list[i].tensor.sizes(), ", "), "] does not match '",
          params[i].first, "' [", absl::StrJoin(params[i].second.sizes(), ", "), "]"));
    }
  }
  return absl::OkStatus();
}

// Copies a checkpoint's state dict `key` into `params`, strictly.
absl::Status LoadParameters(const core::PyValue& state, const char* key, const NamedTensors& params,
                            const std::string& where) {
  const core::PyValue* v = state.find(key);
  if (v == nullptr) return absl::InvalidArgumentError(absl::StrCat(where, ": no '", key, "' entry"));
  const std::string what = absl::StrCat(where, "['", key, "']");
  auto list = core::ToTensorList(*v, what);
  if (!list.ok()) return list.status();
  if (auto s = CheckMatches(*list, params, what); !s.ok()) return s;
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) params[i].second.copy_((*list)[i].tensor);
  return absl::OkStatus();
}

// `tensors` under the names of `params` (empty stays empty: a gather's
// result off rank 0).
core::TensorList Named(const NamedTensors& params, const std::vector<at::Tensor>& tensors) {
  core::TensorList out;
  for (size_t i = 0; i < tensors.size(); ++i) out.push_back({params[i].first, tensors[i]});
  return out;
}

std::vector<at::Tensor> Values(const core::TensorList& list) {
  std::vector<at::Tensor> out;
  for (const core::NamedTensor& t : list) out.push_back(t.tensor);
  return out;
}

// What the optimizers and the EMA hold: the parameters, or this rank's shards.
NamedTensors Held(const NamedTensors& params, parallel::ShardedParameters* shards) {
  if (shards == nullptr) return params;
  NamedTensors out;
  for (size_t i = 0; i < params.size(); ++i) out.emplace_back(params[i].first, shards->shards()[i]);
  return out;
}

// An AdamW state with its moment lists replaced by `map` of them.
absl::StatusOr<core::PyValue> MapMoments(const core::PyValue& state,
                                         const std::function<absl::StatusOr<core::TensorList>(core::TensorList)>& map,
                                         const std::string& where) {
  const auto* items = std::get_if<std::shared_ptr<core::PyDict>>(&state.v);
  if (items == nullptr) return absl::InvalidArgumentError(where + ": optimizer state is not a dict");
  auto out = std::make_shared<core::PyDict>();
  for (const auto& [key, value] : **items) {
    const auto* name = std::get_if<std::string>(&key.v);
    if (name == nullptr || (*name != "exp_avg" && *name != "exp_avg_sq")) {
      out->emplace_back(key, value);
      continue;
    }
    auto list = core::ToTensorList(value, absl::StrCat(where, "['", *name, "']"));
    if (!list.ok()) return list.status();
    auto mapped = map(*std::move(list));
    if (!mapped.ok()) return mapped.status();
    out->emplace_back(key, core::FromTensorList(*mapped));
  }
  return core::PyValue{out};
}

}  // namespace

NamedTensors NamedParametersOf(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& item : module.named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

std::vector<at::Tensor> Tensors(const NamedTensors& params) {
  std::vector<at::Tensor> out;
  for (const auto& [name, p] : params) out.push_back(p);
  return out;
}

void SetRequiresGrad(const NamedTensors& params, bool on) {
  for (const auto& [name, p] : params) const_cast<at::Tensor&>(p).requires_grad_(on);
}

TrainingCore::TrainingCore(TrainerParams params, PolicyNames policies, NamedTensors generator,
                           NamedTensors discriminator, FrozenVAE vae, data::DataLoader* loader, Shards shards)
    : params_(std::move(params)),
      policies_(policies),
      g_params_(std::move(generator)),
      d_params_(std::move(discriminator)),
      shards_(shards),
      vae_(std::move(vae)),
      loader_(loader),
      shared_rng_(core::SeededGenerator(params_.device, params_.seed)),
      g_opt_(Held(g_params_, shards_.generator), params_.g_optimizer, params_.optimizer_offload),
      d_opt_(Held(d_params_, shards_.discriminator), params_.d_optimizer, params_.optimizer_offload),
      ema_(Held(g_params_, shards_.generator), params_.ema_decay, params_.ema_warmup, params_.ema_on_host) {}

at::Tensor LatentBatch::Randn(const at::Tensor& like) const { return at::randn(like.sizes(), rng, like.options()); }

absl::StatusOr<std::vector<LatentBatch>> TrainingCore::NextBatches() {
  const auto step = static_cast<uint64_t>(step_);
  shared_rng_ = core::SeededGenerator(params_.device, data::DeriveSeed({params_.seed, kSharedStream, step}));
  std::vector<LatentBatch> batches;
  for (int64_t a = 0; a < params_.grad_accum; ++a) {
    const auto global = static_cast<uint64_t>(a * params_.dp_size + params_.dp_rank);
    at::Generator rng =
        core::SeededGenerator(params_.device, data::DeriveSeed({params_.seed, kBatchStream, step, global}));
    std::vector<data::Sample> samples;
    for (int64_t i = 0; i < params_.batch_size; ++i) {
      auto s = loader_->Next();
      if (!s.ok()) return s.status();
      samples.push_back(*std::move(s));
    }
    std::vector<const data::Clip*> hq, lq;
    for (const auto& s : samples) {
      hq.push_back(&s.hq);
      lq.push_back(&s.lq);
    }
    std::optional<at::Generator> sample;
    if (params_.sample_posterior) sample = rng;
    // HQ and LQ (upscaled to the HQ size by the dataset) in one batch: half
    // the VAE's calls, each on twice the data.
    const at::Tensor lq_clips = data::ClipsToBatch(lq);
    auto latents = vae_.Encode(core::ToDevice(at::cat({data::ClipsToBatch(hq), lq_clips}), params_.device), sample);
    if (!latents.ok()) return latents.status();
    const int64_t n = params_.batch_size;
    LatentBatch b{latents->narrow(0, 0, n), latents->narrow(0, n, n), {}, rng};
    // The official order: the generator's noise, then the condition's.
    b.noise = b.Randn(b.lq);
    if (params_.condition_noise_scale > 0) {
      const double shift = generator::ConditionShift(lq_clips.size(2), lq_clips.size(3), lq_clips.size(4));
      b.lq = generator::AugmentCondition(b.lq, b.Randn(b.lq), params_.condition_noise_scale, shift);
    }
    batches.push_back(std::move(b));
  }
  return batches;
}

at::Tensor TrainingCore::DiscriminatorInput(const at::Tensor& latents) {
  return params_.d_input == DiscriminatorInput::kPixel ? vae_.DecodeWithGrad(latents) : latents;
}

void TrainingCore::ZeroGradDiscriminator() { d_opt_.ZeroGrad(); }
void TrainingCore::ZeroGradGenerator() { g_opt_.ZeroGrad(); }

double TrainingCore::Update(AdamW& opt, parallel::ShardedParameters* shards) {
  std::function<double(double)> sum_over_ranks;
  if (shards != nullptr) {
    shards->ReduceScatterGradients();
    sum_over_ranks = [shards](double v) { return shards->SumOverRanks(v); };
  }
  const double norm = opt.ClipGradNorm(params_.grad_clip, sum_over_ranks);
  opt.Step();
  opt.ZeroGrad();  // free the gradients before the next phase
  if (shards != nullptr) shards->AllGatherParameters();
  return norm;
}

double TrainingCore::StepDiscriminator() {
  const double norm = Update(d_opt_, shards_.discriminator);
  ++d_step_;
  return norm;
}

double TrainingCore::StepGenerator() {
  const double norm = Update(g_opt_, shards_.generator);
  ema_.Update(step_);
  ++step_;
  return norm;
}

core::PyValue TrainingCore::State() {
  auto d = std::make_shared<core::PyDict>();
  auto put = [&](const char* k, core::PyValue v) { d->emplace_back(Str(k), std::move(v)); };
  auto dict = [](std::vector<std::pair<const char*, core::PyValue>> items) {
    auto out = std::make_shared<core::PyDict>();
    for (auto& [k, v] : items) out->emplace_back(Str(k), std::move(v));
    return core::PyValue{out};
  };
  put("format", Str(kCheckpointFormat));
  put("trainer", dict({{"discriminator", Str(policies_.discriminator)},
                       {"loss", Str(policies_.loss)},
                       {"parallelism", Str(policies_.parallelism)}}));
  put("step", core::PyValue{step_});
  put("d_step", core::PyValue{d_step_});
  put("generator", core::FromTensorList(Detached(g_params_)));
  put("ema", core::FromTensorList(WholeEma()));
  put("discriminator", core::FromTensorList(Detached(d_params_)));
  // Sharded moments are gathered, whole and under the parameters' names.
  for (auto [key, opt, params, shards] : {std::tuple{"g_optimizer", &g_opt_, &g_params_, shards_.generator},
                                          std::tuple{"d_optimizer", &d_opt_, &d_params_, shards_.discriminator}}) {
    if (shards == nullptr) {
      put(key, opt->State());
      continue;
    }
    auto gathered = MapMoments(
        opt->State(),
        [&](core::TensorList held) -> absl::StatusOr<core::TensorList> {
          return Named(*params, shards->GatherToMain(Values(held)));
        },
        key);
    put(key, *std::move(gathered));  // its own State() is always a dict
  }
  const data::LoaderPosition pos = loader_->position();
  put("loader", dict({{"epoch", core::PyValue{pos.epoch}},
                      {"index", core::PyValue{pos.index}},
                      {"dp_size", core::PyValue{int64_t{params_.dp_size}}}}));
  put("config", core::PyValue{config::DumpTrainConfig(params_.config)});
  // A randomly initialised VAE exists nowhere else: keep it for restoration.
  if (params_.config.training.vae_checkpoint.empty())
    put("vae", core::FromTensorList(Detached(NamedParametersOf(*vae_.vae()))));
  return core::PyValue{d};
}

absl::StatusOr<std::string> TrainingCore::LoadState(const core::PyValue& state, const std::string& where) {
  if (auto s = LoadParameters(state, "generator", g_params_, where); !s.ok()) return s;
  if (auto s = LoadParameters(state, "discriminator", d_params_, where); !s.ok()) return s;
  // Whole tensors, sliced to this rank's shards under ZeRO.
  auto held = [](const NamedTensors& params, parallel::ShardedParameters* shards, const std::string& what) {
    return [&params, shards, what](core::TensorList whole) -> absl::StatusOr<core::TensorList> {
      if (auto s = CheckMatches(whole, params, what); !s.ok()) return s;
      return shards == nullptr ? whole : Named(params, shards->Slice(Values(whole)));
    };
  };
  for (parallel::ShardedParameters* shards : {shards_.generator, shards_.discriminator}) {
    if (shards != nullptr) shards->LoadShardsFromParameters();
  }
  const core::PyValue* ema = state.find("ema");
  if (ema == nullptr) return absl::InvalidArgumentError(where + ": no 'ema' entry");
  auto ema_list = core::ToTensorList(*ema, where + "['ema']");
  if (!ema_list.ok()) return ema_list.status();
  auto ema_held = held(g_params_, shards_.generator, where + "['ema']")(*std::move(ema_list));
  if (!ema_held.ok()) return ema_held.status();
  if (auto s = ema_.Load(*ema_held, where); !s.ok()) return s;
  std::string options_changed;
  for (auto [key, opt, params, shards] : {std::tuple{"g_optimizer", &g_opt_, &g_params_, shards_.generator},
                                          std::tuple{"d_optimizer", &d_opt_, &d_params_, shards_.discriminator}}) {
    const core::PyValue* v = state.find(key);
    if (v == nullptr) return absl::InvalidArgumentError(absl::StrCat(where, ": no '", key, "' entry"));
    const std::string what = absl::StrCat(where, "['", key, "']");
    auto mapped = MapMoments(*v, held(*params, shards, what), what);
    if (!mapped.ok()) return mapped.status();
    auto changed = opt->LoadState(*mapped, what);
    if (!changed.ok()) return changed.status();
    if (!changed->empty()) absl::StrAppend(&options_changed, options_changed.empty() ? "" : "; ", key, " ", *changed);
  }
  const core::PyValue* step = state.find("step");
  const core::PyValue* d_step = state.find("d_step");
  const core::PyValue* loader = state.find("loader");
  if (step == nullptr || d_step == nullptr || loader == nullptr || loader->find("epoch") == nullptr ||
      loader->find("index") == nullptr) {
    return absl::InvalidArgumentError(where + ": step, d_step or loader entries missing");
  }
  step_ = std::get<int64_t>(step->v);
  d_step_ = std::get<int64_t>(d_step->v);
  std::string note = absl::StrCat("resumed ", where, " at step ", step_);
  const int64_t epoch = std::get<int64_t>(loader->find("epoch")->v);
  int64_t index = std::get<int64_t>(loader->find("index")->v);
  const core::PyValue* saved = loader->find("dp_size");
  const int64_t saved_ranks = saved != nullptr ? std::get<int64_t>(saved->v) : 1;
  if (saved_ranks != params_.dp_size) {
    // The same global position in the epoch, split over the new ranks.
    const int64_t global = index * saved_ranks;
    index = global / params_.dp_size;
    absl::StrAppend(&note, "; it was saved with ", saved_ranks, " data-parallel ranks and continues on ",
                    params_.dp_size, ": the sampler re-splits epoch ", epoch, " from clip ", index * params_.dp_size,
                    " of its order (was ", global, ")");
  }
  loader_->Restore({epoch, index});
  if (!options_changed.empty()) {
    absl::StrAppend(&note, "; the config's optimizer settings replace the checkpoint's: ", options_changed);
  }
  return note;
}

double TrainingCore::WeightsChecksum() const {
  torch::NoGradGuard no_grad;
  double sum = 0, ema = 0;
  for (const auto& [name, p] : g_params_) sum += p.sum(at::kDouble).item<double>();
  for (const core::NamedTensor& w : ema_.weights()) ema += w.tensor.sum(at::kDouble).item<double>();
  return sum + (shards_.generator != nullptr ? shards_.generator->SumOverRanks(ema) : ema);
}

core::TensorList TrainingCore::WholeEma() const {
  if (shards_.generator == nullptr) return ema_.weights();
  return Named(g_params_, shards_.generator->GatherToMain(Values(ema_.weights())));
}

std::string TrainingCore::StateSummary() const {
  constexpr double kMiB = 1 << 20;
  return absl::StrFormat("G AdamW %.1f MiB, D AdamW %.1f MiB, EMA %.1f MiB (this rank%s)", g_opt_.StateBytes() / kMiB,
                         d_opt_.StateBytes() / kMiB, ema_.bytes() / kMiB,
                         shards_.generator != nullptr ? ", ZeRO-2 shards" : "");
}

absl::StatusOr<EvalResult> TrainingCore::Evaluate(const RestoreFn& restore, data::DataLoader* eval_loader,
                                                  int64_t clips, bool main) {
  torch::NoGradGuard no_grad;
  const core::TensorList ema = WholeEma();
  if (!main) return EvalResult{};
  std::vector<at::Tensor> saved;
  for (size_t i = 0; i < g_params_.size(); ++i) {
    saved.push_back(g_params_[i].second.detach().clone());
    g_params_[i].second.copy_(ema[i].tensor);
  }
  at::Generator gen = core::SeededGenerator(params_.device, params_.seed + 1);
  eval_loader->Restore({0, 0});
  EvalResult r;
  double hf_restored = 0, hf_lq = 0, hf_hq = 0;
  constexpr int64_t kSampleRows = 4;
  std::vector<SampleRow> rows;
  absl::Status status;
  auto clip = [&]() -> absl::Status {
    auto sample = eval_loader->Next();
    if (!sample.ok()) return sample.status();
    at::Tensor hq = core::ToDevice(data::ClipToTensor(sample->hq).unsqueeze(0), params_.device);
    at::Tensor lq = core::ToDevice(data::ClipToTensor(sample->lq).unsqueeze(0), params_.device);
    auto hq_lat = vae_.Encode(hq, std::nullopt);
    if (!hq_lat.ok()) return hq_lat.status();
    auto lq_lat = vae_.Encode(lq, std::nullopt);
    if (!lq_lat.ok()) return lq_lat.status();
    at::Tensor noise = at::randn(lq_lat->sizes(), gen, lq_lat->options());
    at::Tensor restored = restore(*lq_lat, noise);
    auto restored_px = vae_.Decode(restored);
    if (!restored_px.ok()) return restored_px.status();
    auto round_trip = vae_.Decode(*hq_lat);
    if (!round_trip.ok()) return round_trip.status();
    auto lq_round_trip = vae_.Decode(*lq_lat);
    if (!lq_round_trip.ok()) return lq_round_trip.status();
    r.restored_l1 += (restored - *hq_lat).abs().mean().item<double>();
    r.lq_l1 += (*lq_lat - *hq_lat).abs().mean().item<double>();
    r.restored_psnr += ClipPsnr(*restored_px, hq);
    r.lq_psnr += ClipPsnr(lq, hq);
    r.vae_psnr += ClipPsnr(*round_trip, hq);
    r.lq_vae_psnr += ClipPsnr(*lq_round_trip, hq);
    hf_restored += ClipHighFrequencyEnergy(*restored_px);
    hf_lq += ClipHighFrequencyEnergy(lq);
    hf_hq += ClipHighFrequencyEnergy(hq);
    if (static_cast<int64_t>(rows.size()) < kSampleRows) {
      const int64_t t = hq.size(2) / 2;
      rows.push_back(
          {lq[0].select(1, t), restored_px->select(2, t)[0], round_trip->select(2, t)[0], hq[0].select(1, t)});
    }
    ++r.clips;
    return absl::OkStatus();
  };
  for (int64_t i = 0; i < clips && status.ok(); ++i) status = clip();
  for (size_t i = 0; i < g_params_.size(); ++i) g_params_[i].second.copy_(saved[i]);
  if (!status.ok()) return status;
  if (r.clips > 0) {
    const auto n = static_cast<double>(r.clips);
    for (double* v : {&r.restored_l1, &r.lq_l1, &r.restored_psnr, &r.lq_psnr, &r.vae_psnr, &r.lq_vae_psnr}) *v /= n;
    r.restored_hf_ratio = hf_restored / hf_hq;
    r.lq_hf_ratio = hf_lq / hf_hq;
    r.samples_path = absl::StrCat(params_.save_dir, "/samples_", step_, ".png");
    if (auto s = WriteSampleSheet(r.samples_path, rows); !s.ok()) return s;
  }
  return r;
}

}  // namespace seedvr::train
