// The C++ NaDiT against the official-code parity fixtures (dit3b_a, dit3b_d,
// dit7b_a): forward within 1e-4 in fp32, gradients (vid and the listed
// parameters) within 1e-3 relative, from both .pth and .safetensors weights.
// Also: module keys equal the official layout, strict loading reports
// missing / unexpected / mis-shaped keys, gradient checkpointing gives the
// same gradients, fp16 weights and the bf16 path stay close.
#include "seedvr/models/dit/nadit.h"

#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "seedvr/config/model_config.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/models/dit/dit_shapes.h"
#include "seedvr/models/dit/dit_weights.h"
#include "seedvr/testing/fixtures.h"

namespace seedvr::dit {
namespace {

using testing::FixturePath;

std::map<std::string, at::Tensor> ToMap(const core::TensorList& list) {
  std::map<std::string, at::Tensor> m;
  for (const auto& t : list) m[t.name] = t.tensor;
  return m;
}

// The fixtures' config.yaml values (see shared/fixtures/README.md): 4 layers,
// txt_in_dim 40, windows (4,3,3), regular/shifted alternating.
dit::DiTConfig LoadConfig(const std::string& name) {
  dit::DiTConfig c;
  c.num_layers = 4;
  c.txt_in_dim = 40;
  c.window.assign(4, {4, 3, 3});
  c.window_method = {"720pwin_by_size_bysize", "720pswin_by_size_bysize", "720pwin_by_size_bysize",
                     "720pswin_by_size_bysize"};
  c.block_type.assign(4, "mmdit_sr");
  if (name == "dit3b_a") {
    c.vid_dim = 64, c.heads = 2, c.head_dim = 32, c.rope_dim = 32, c.mm_layers = 2;
  } else if (name == "dit3b_d") {
    c.vid_dim = 48, c.heads = 3, c.head_dim = 16, c.rope_dim = 16, c.mm_layers = 2;
  } else if (name == "dit7b_a") {
    c.code_path = "dit", c.vid_dim = 48, c.heads = 2, c.head_dim = 24, c.mlp_type = "normal";
    c.vid_out_norm = "none";
  } else {
    ADD_FAILURE() << "unknown case " << name;
  }
  c.txt_dim = c.vid_dim;
  c.emb_dim = 6 * c.vid_dim;
  return c;
}

NaDiT LoadModel(const std::string& name, const std::string& weights_file, dit::DiTConfig* config_out = nullptr) {
  dit::DiTConfig c = LoadConfig(name);
  if (config_out) *config_out = c;
  NaDiT model(c);
  auto s = dit::LoadDiTWeightsFile(*model, FixturePath(name + "/" + weights_file));
  EXPECT_TRUE(s.ok()) << s;
  model->eval();
  return model;
}

std::map<std::string, at::Tensor> LoadIO(const std::string& name) {
  auto io = core::ReadSafetensors(FixturePath(name + "/io.safetensors"));
  EXPECT_TRUE(io.ok()) << io.status();
  return io.ok() ? ToMap(*io) : std::map<std::string, at::Tensor>{};
}

at::Tensor Forward(NaDiT& model, std::map<std::string, at::Tensor>& io, const at::Tensor& vid) {
  return model->forward(vid, io.at("vid_shape"), io.at("txt"), io.at("txt_shape"), io.at("timestep"));
}

double MaxAbs(const at::Tensor& a) { return a.abs().max().item<double>(); }
double MaxDiff(const at::Tensor& a, const at::Tensor& b) { return MaxAbs(a.to(at::kFloat) - b.to(at::kFloat)); }

// Forward and backward against every reference tensor of a case.
void CheckCase(const std::string& name, const std::string& weights_file, bool backward) {
  SCOPED_TRACE(name + "/" + weights_file);
  auto model = LoadModel(name, weights_file);
  auto io = LoadIO(name);
  ASSERT_TRUE(io.count("out"));
  auto vid = io.at("vid").clone().requires_grad_(backward);
  at::Tensor out;
  if (backward) {
    out = Forward(model, io, vid);
  } else {
    at::NoGradGuard no_grad;
    out = Forward(model, io, vid);
  }
  ASSERT_EQ(out.sizes(), io.at("out").sizes());
  EXPECT_LE(MaxDiff(out, io.at("out")), 1e-4);
  std::printf("%s %s: out max|diff| %.3e\n", name.c_str(), weights_file.c_str(), MaxDiff(out, io.at("out")));
  if (!backward) return;

  auto params = model->named_parameters();
  std::vector<std::string> names = {"vid"};
  std::vector<at::Tensor> wrt = {vid};
  for (const auto& [key, ref] : io) {
    if (key.rfind("grad_", 0) != 0 || key == "grad_seed" || key == "grad_vid") continue;
    const std::string p = key.substr(5);
    auto* t = params.find(p);
    ASSERT_NE(t, nullptr) << "no parameter " << p;
    names.push_back(p);
    wrt.push_back(*t);
  }
  ASSERT_GE(names.size(), 5u);
  auto grads = torch::autograd::grad({(out * io.at("grad_seed")).sum()}, wrt);
  for (size_t i = 0; i < grads.size(); ++i) {
    const auto& ref = io.at("grad_" + names[i]);
    ASSERT_EQ(grads[i].sizes(), ref.sizes()) << names[i];
    EXPECT_LE(MaxDiff(grads[i], ref) / MaxAbs(ref), 1e-3) << "grad_" << names[i];
    std::printf("  grad_%-40s relative max|diff| %.3e\n", names[i].c_str(), MaxDiff(grads[i], ref) / MaxAbs(ref));
  }
}

TEST(NaDiTParityTest, Dit3bA) { CheckCase("dit3b_a", "weights.safetensors", true); }
TEST(NaDiTParityTest, Dit3bD) { CheckCase("dit3b_d", "weights.safetensors", true); }
TEST(NaDiTParityTest, Dit7bA) { CheckCase("dit7b_a", "weights.safetensors", true); }
TEST(NaDiTParityTest, Dit3bAPth) { CheckCase("dit3b_a", "weights.pth", false); }
TEST(NaDiTParityTest, Dit3bDPth) { CheckCase("dit3b_d", "weights.pth", false); }
TEST(NaDiTParityTest, Dit7bAPth) { CheckCase("dit7b_a", "weights.pth", false); }

// named_parameters() + named_buffers() give exactly the official keys and
// shapes; the recomputed RoPE frequencies equal the stored ones.
TEST(NaDiTModuleTest, KeysMatchOfficialLayoutAndFixtureFiles) {
  for (const std::string name : {"dit3b_a", "dit3b_d", "dit7b_a"}) {
    SCOPED_TRACE(name);
    dit::DiTConfig c = LoadConfig(name);
    NaDiT model(c);
    std::map<std::string, std::vector<int64_t>> got;
    for (const auto& p : model->named_parameters()) got[p.key()] = p.value().sizes().vec();
    for (const auto& b : model->named_buffers()) got[b.key()] = b.value().sizes().vec();
    std::map<std::string, std::vector<int64_t>> want;
    for (const auto& t : dit::DiTStateDictShapes(c)) want[t.name] = t.shape;
    EXPECT_EQ(got, want);
    int64_t nparams = 0;
    for (const auto& p : model->parameters()) nparams += p.numel();
    EXPECT_EQ(nparams, dit::CountDiTParameters(c));

    auto file = core::ReadStateDict(FixturePath(name + "/weights.safetensors"));
    ASSERT_TRUE(file.ok()) << file.status();
    std::map<std::string, std::vector<int64_t>> in_file;
    for (const auto& t : *file) in_file[t.name] = t.tensor.sizes().vec();
    EXPECT_EQ(in_file, want);
    auto m = ToMap(*file);
    for (const auto& b : model->named_buffers()) {
      EXPECT_LE(MaxDiff(b.value(), m.at(b.key())), 1e-6 * MaxAbs(m.at(b.key()))) << b.key();
    }
  }
}

// The fixtures' config.yaml files, parsed by the project's config loader, give
// the same model (and the same outputs) as the configs above.
TEST(NaDiTConfigTest, FixtureYamlGivesTheSameModel) {
  for (const std::string name : {"dit3b_a", "dit3b_d", "dit7b_a"}) {
    SCOPED_TRACE(name);
    auto yaml = config::LoadDiTConfigFile(FixturePath(name + "/config.yaml"));
    ASSERT_TRUE(yaml.ok()) << yaml.status();
    EXPECT_TRUE(dit::ValidateDiTConfig(*yaml).ok()) << dit::ValidateDiTConfig(*yaml);
    const dit::DiTConfig ref = LoadConfig(name);
    EXPECT_EQ(yaml->code_path, ref.code_path);
    EXPECT_EQ(yaml->window_method, ref.window_method);
    EXPECT_EQ(yaml->window, ref.window);
    EXPECT_EQ(dit::DiTRopeFreqCount(*yaml), dit::DiTRopeFreqCount(ref));
    auto a = dit::DiTStateDictShapes(*yaml), b = dit::DiTStateDictShapes(ref);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].name, b[i].name);
      EXPECT_EQ(a[i].shape, b[i].shape) << a[i].name;
    }
    NaDiT model(*yaml);
    ASSERT_TRUE(dit::LoadDiTWeightsFile(*model, FixturePath(name + "/weights.safetensors")).ok());
    auto io = LoadIO(name);
    at::NoGradGuard no_grad;
    EXPECT_LE(MaxDiff(Forward(model, io, io.at("vid")), io.at("out")), 1e-4);
  }
}

TEST(NaDiTLoadTest, StrictErrorsNameKeysAndShapes) {
  dit::DiTConfig c = LoadConfig("dit3b_a");
  NaDiT model(c);
  auto file = core::ReadStateDict(FixturePath("dit3b_a/weights.safetensors"));
  ASSERT_TRUE(file.ok());
  core::TensorList w = *file;
  // Drop one parameter, add a stray key, mis-shape another.
  std::string dropped, misshaped = "blocks.1.mlp.txt.proj_in.weight";
  for (auto it = w.begin(); it != w.end(); ++it) {
    if (it->name == "blocks.0.attn.norm_q.vid.weight") {
      dropped = it->name;
      w.erase(it);
      break;
    }
  }
  ASSERT_FALSE(dropped.empty());
  w.push_back({"blocks.0.attn.extra.weight", at::zeros({3})});
  for (auto& t : w) {
    if (t.name == misshaped) t.tensor = at::zeros({7, 64});
  }
  auto before = model->named_parameters().find("vid_in.proj.weight")->clone();
  auto s = dit::LoadDiTWeights(*model, w);
  ASSERT_FALSE(s.ok());
  const std::string msg(s.message());
  EXPECT_NE(msg.find("missing keys"), std::string::npos) << msg;
  EXPECT_NE(msg.find(dropped), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected keys"), std::string::npos) << msg;
  EXPECT_NE(msg.find("blocks.0.attn.extra.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find(misshaped + ": checkpoint [7, 64] vs model [256, 64]"), std::string::npos) << msg;
  // Nothing was copied.
  EXPECT_TRUE(at::equal(before, *model->named_parameters().find("vid_in.proj.weight")));

  auto bad = dit::LoadDiTWeightsFile(*model, "/nonexistent/weights.pth");
  EXPECT_FALSE(bad.ok());
}

// fp16 weights (as in the numz conversions) load into the fp32 model, with the
// RoPE buffers absent; the result stays close to the fp32 reference.
TEST(NaDiTLoadTest, Fp16WeightsWithoutRopeBuffers) {
  dit::DiTConfig c = LoadConfig("dit3b_a");
  NaDiT model(c);
  auto file = core::ReadStateDict(FixturePath("dit3b_a/weights.safetensors"));
  ASSERT_TRUE(file.ok());
  core::TensorList w;
  for (const auto& t : *file) {
    if (t.name.find("rope.rope.freqs") != std::string::npos) continue;
    w.push_back({t.name, t.tensor.to(at::kHalf)});
  }
  ASSERT_TRUE(dit::LoadDiTWeights(*model, w).ok());
  EXPECT_EQ(model->named_parameters().find("txt_in.weight")->scalar_type(), at::kFloat);
  auto io = LoadIO("dit3b_a");
  at::NoGradGuard no_grad;
  auto out = Forward(model, io, io.at("vid"));
  EXPECT_LE(MaxDiff(out, io.at("out")) / MaxAbs(io.at("out")), 2e-2);
}

// Checkpointing recomputes each block in backward: same output, same
// gradients for the input and every parameter (two samples, both paths).
TEST(NaDiTCheckpointTest, SameGradients) {
  for (const std::string name : {"dit3b_d", "dit7b_a"}) {
    SCOPED_TRACE(name);
    auto io = LoadIO(name);
    std::vector<std::vector<at::Tensor>> results;
    for (bool ckpt : {false, true}) {
      auto model = LoadModel(name, "weights.safetensors");
      model->set_gradient_checkpointing(ckpt);
      auto vid = io.at("vid").clone().requires_grad_(true);
      auto out = Forward(model, io, vid);
      (out * io.at("grad_seed")).sum().backward();
      std::vector<at::Tensor> r = {out.detach(), vid.grad()};
      for (const auto& p : model->parameters()) r.push_back(p.grad().defined() ? p.grad() : at::zeros_like(p));
      results.push_back(r);
    }
    ASSERT_EQ(results[0].size(), results[1].size());
    for (size_t i = 0; i < results[0].size(); ++i) {
      EXPECT_LE(MaxDiff(results[0][i], results[1][i]), 1e-6 * std::max(1.0, MaxAbs(results[0][i]))) << "tensor " << i;
    }
  }
}

// The checkpointed path really goes through the recomputing autograd function.
TEST(NaDiTCheckpointTest, UsesCheckpointFunction) {
  dit::DiTConfig c = LoadConfig("dit3b_a");
  NaDiT model(c);
  auto layout = SequenceLayout::Make({{3, 6, 10}}, {7});
  auto ctx = std::make_shared<BlockContext>();
  auto plan = std::make_shared<WindowPlan>(
      MakeWindowPlan(layout, {4, 3, 3}, WindowMethod::kRegular720p, DiTRopeKind(c), DiTRopeFreqs(c), true));
  ctx->attn.plan = plan.get();
  ctx->plan_owner = plan;
  ctx->attn.txt_rope = TextRopeTable(DiTRopeFreqs(c), {7});
  auto vid = at::randn({180, 64}, at::requires_grad());
  auto txt = at::randn({7, 64});
  auto emb = at::randn({1, 384});
  auto outs = CheckpointedBlockForward(model->block(0).ptr(), vid, txt, emb, ctx);
  ASSERT_EQ(outs.size(), 2u);
  ASSERT_TRUE(outs[0].grad_fn());
  EXPECT_NE(outs[0].grad_fn()->name().find("CheckpointedBlockFn"), std::string::npos) << outs[0].grad_fn()->name();
  auto ref = model->block(0)->forward(vid, txt, emb, *ctx);
  EXPECT_TRUE(at::allclose(outs[0], ref[0], 0, 0));
}

// bf16 autocast path (q/k/v in bf16, RoPE in fp32) stays near the fp32 reference.
TEST(NaDiTBf16Test, CloseToFp32) {
  for (const std::string name : {"dit3b_d", "dit7b_a"}) {
    SCOPED_TRACE(name);
    auto model = LoadModel(name, "weights.safetensors");
    model->set_compute_dtype("bfloat16");
    auto io = LoadIO(name);
    at::NoGradGuard no_grad;
    auto out = Forward(model, io, io.at("vid"));
    EXPECT_EQ(out.scalar_type(), at::kBFloat16);
    const double rel = MaxDiff(out, io.at("out")) / MaxAbs(io.at("out"));
    EXPECT_LE(rel, 0.1);
    const double mean_rel = (out.to(at::kFloat) - io.at("out")).abs().mean().item<double>() /
                            io.at("out").abs().mean().item<double>();
    EXPECT_LE(mean_rel, 0.03);
  }
}

TEST(NaDiTInputTest, ClearErrors) {
  auto model = LoadModel("dit3b_a", "weights.safetensors");
  auto io = LoadIO("dit3b_a");
  at::NoGradGuard no_grad;
  auto bad_shape = at::tensor({3, 12, 21}, at::kLong).view({1, 3});
  try {
    model->forward(io.at("vid"), bad_shape, io.at("txt"), io.at("txt_shape"), io.at("timestep"));
    ADD_FAILURE() << "expected an error";
  } catch (const c10::Error& e) {
    EXPECT_NE(std::string(e.what()).find("vid_shape"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace seedvr::dit
