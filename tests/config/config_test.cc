#include "seedvr/config/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "seedvr/config/model_config.h"
#include "seedvr/testing/fixtures.h"

namespace seedvr::config {
namespace {

// Asserts that parsing fails and that the message mentions each fragment.
void ExpectError(const absl::StatusOr<TrainConfig>& r, std::initializer_list<const char*> fragments) {
  ASSERT_FALSE(r.ok());
  for (const char* f : fragments) {
    EXPECT_NE(r.status().message().find(f), std::string::npos) << "missing '" << f << "' in: " << r.status();
  }
}

TEST(Config, ShippedConfigsLoad) {
  auto c3 = LoadTrainConfig("configs/train.yaml");
  ASSERT_TRUE(c3.ok()) << c3.status();
  EXPECT_EQ(c3->model.vid_dim, 2560);
  EXPECT_EQ(c3->model.window.size(), 32u);
  EXPECT_EQ(c3->model.window_method[1], "720pswin_by_size_bysize");
  EXPECT_EQ(c3->loss.r1_interval, 16);
  EXPECT_EQ(c3->optimizer.d_lr, 1e-4);
  auto demo = LoadTrainConfig("configs/demo.yaml");
  ASSERT_TRUE(demo.ok()) << demo.status();
  EXPECT_EQ(demo->vae_training.steps, 600);
  EXPECT_EQ(demo->data.degradation.scale, 8);
  EXPECT_EQ(demo->loss.lambda_l1, 0.1);  // the published loss weights
  EXPECT_EQ(demo->loss.lambda_fm, 0.1);
  auto c7 = LoadTrainConfig("configs/train_7b.yaml");
  ASSERT_TRUE(c7.ok()) << c7.status();
  EXPECT_EQ(c7->model.code_path, "dit");
  EXPECT_EQ(c7->model.num_layers, 36);
  EXPECT_EQ(c7->parallel.sp_size, 2);
  // SeedVR2's final recipe (arXiv 2506.05301 §4): RpGAN, aR1 = aR2 = 1000,
  // L1 0.1, FM 0.1, AdamW lr 1e-6 with weight decay 0.01, the DiT discriminator.
  auto recipe = LoadTrainConfig("configs/seedvr2_recipe.yaml");
  ASSERT_TRUE(recipe.ok()) << recipe.status();
  EXPECT_EQ(recipe->loss.loss_type, "rpgan");
  EXPECT_EQ(recipe->loss.lambda_ar1, 1000.0);
  EXPECT_EQ(recipe->loss.lambda_ar2, 1000.0);
  EXPECT_EQ(recipe->loss.lambda_l1, 0.1);
  EXPECT_EQ(recipe->loss.lambda_fm, 0.1);
  EXPECT_EQ(recipe->loss.lambda_r1, 0.0);
  EXPECT_EQ(recipe->optimizer.g_lr, 1e-6);
  EXPECT_EQ(recipe->optimizer.weight_decay, 0.01);
  EXPECT_EQ(recipe->discriminator.type, "dit");
  // The guide's config keeps GAN practice for D (APT: beta1 0, beta2 0.9).
  EXPECT_EQ(c3->optimizer.d_betas, (std::array<double, 2>{0.0, 0.9}));
  // Training windows are sized for the 720p frame restoration runs at.
  EXPECT_EQ(c3->model.window_reference_grid, (std::array<int64_t, 2>{45, 80}));
  auto own = LoadTrainConfig("configs/train.yaml", {"training.window_frame=[0, 0]"});
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->model.window_reference_grid, (std::array<int64_t, 2>{0, 0}));
  // Configs stored in checkpoints of earlier versions still load.
  EXPECT_TRUE(
      LoadTrainConfig("configs/train.yaml", {"vae.tile_overlap=16", "data.degradation.blur_aniso_prob=0.5"}).ok());
  // Keys only the DiT discriminator reads are refused with another type.
  ExpectError(LoadTrainConfig("configs/train.yaml", {"discriminator.checkpoint=d.pth"}),
              {"discriminator.checkpoint", "dit discriminator", "patch"});
  ExpectError(LoadTrainConfig("configs/train.yaml", {"data.degradation.betag_range=[0, 4]"}),
              {"data.degradation.betag_range", "0 < lo"});
  ExpectError(LoadTrainConfig("configs/train.yaml", {"training.window_frame=[720, 0]"}),
              {"training.window_frame", "multiples of 16", "[720, 0]"});
  auto tiny = LoadTrainConfig("configs/tiny.yaml");
  ASSERT_TRUE(tiny.ok()) << tiny.status();
  EXPECT_EQ(tiny->data.crop_size.h, 64);
}

TEST(Config, FixtureModelConfigsLoad) {
  for (const char* c : {"dit3b_a", "dit3b_d", "dit7b_a"}) {
    auto m = LoadDiTConfigFile(testing::FixturePath(std::string(c) + "/config.yaml"));
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(m->num_layers, 4);
    EXPECT_EQ(m->window.size(), 4u);
  }
  auto v = LoadVAEConfigFile(testing::FixturePath("vae_a/config.yaml"));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->block_out_channels, (std::vector<int64_t>{4, 8, 16, 16}));
  EXPECT_EQ(v->norm_num_groups, 2);
}

TEST(Config, UnknownKeyIsRejectedWithItsPath) {
  ExpectError(ParseTrainConfig("loss:\n  lambda_rl: 1.0\n"), {"loss.lambda_rl", "unknown key"});
  ExpectError(ParseTrainConfig("trainng:\n  max_steps: 3\n"), {"trainng", "unknown key"});
}

TEST(Config, WrongTypeNamesExpectedAndGiven) {
  ExpectError(ParseTrainConfig("training:\n  max_steps: lots\n"), {"training.max_steps", "an integer", "lots"});
  ExpectError(ParseTrainConfig("training:\n  batch_size: 1.5\n"), {"training.batch_size", "an integer", "1.5"});
  ExpectError(ParseTrainConfig("data:\n  crop_size: 256\n"), {"data.crop_size", "[H, W]"});
  ExpectError(ParseTrainConfig("model:\n  qk_bias: maybe\n"), {"model.qk_bias", "true or false"});
}

TEST(Config, OutOfRangeValuesAreRejected) {
  ExpectError(ParseTrainConfig("loss:\n  r1_interval: 0\n"), {"loss.r1_interval", ">= 1", "0"});
  ExpectError(ParseTrainConfig("optimizer:\n  g_lr: -1\n"), {"optimizer.g_lr"});
  ExpectError(ParseTrainConfig("data:\n  crop_size: [250, 256]\n"), {"data.crop_size", "multiples of 16"});
  ExpectError(ParseTrainConfig("parallel:\n  sp_size: 3\n"), {"parallel.sp_size", "divisor of model.heads (20)"});
  ExpectError(ParseTrainConfig("parallel:\n  timeout_s: 0\n"), {"parallel.timeout_s"});
  ExpectError(ParseTrainConfig("parallel:\n  bucket_mb: -1\n"), {"parallel.bucket_mb"});
  ExpectError(ParseTrainConfig("model:\n  heads: 10\n"), {"model.heads", "vid_dim"});
  ExpectError(ParseTrainConfig("model:\n  num_layers: 4\n  window: [[4, 3, 3]]\n"), {"model.window", "one entry per layer (4)"});
  ExpectError(ParseTrainConfig("training:\n  eval_every: -5\n"), {"training.eval_every"});
  // L1 alone is a run (a warm-up); no weight at all is not.
  EXPECT_TRUE(ParseTrainConfig("loss:\n  lambda_adv: 0\n  lambda_fm: 0\n  lambda_l1: 1\n").ok());
  ExpectError(ParseTrainConfig("loss:\n  lambda_adv: 0\n  lambda_fm: 0\n  lambda_l1: 0\n"),
              {"loss.lambda_l1", "nothing to learn from"});
}

TEST(Config, ResizeToAreaIsAPixelAreaOrOff) {
  auto off = ParseTrainConfig("");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->data.resize_to_area, 0);
  auto on = ParseTrainConfig("data:\n  resize_to_area: 921600\n");
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_EQ(on->data.resize_to_area, 921600);
  ExpectError(ParseTrainConfig("data:\n  resize_to_area: -1\n"), {"data.resize_to_area", "[0, 268435456]", "-1"});
  ExpectError(ParseTrainConfig("data:\n  resize_to_area: 1280x720\n"), {"data.resize_to_area", "an integer"});
}

TEST(Config, AllErrorsAreReportedTogether) {
  auto r = ParseTrainConfig("loss:\n  r1_interval: 0\n  lambda_fm: x\ntraining:\n  seeed: 1\n");
  ExpectError(r, {"loss.r1_interval", "loss.lambda_fm", "training.seeed"});
}

// 64-pixel crops are an 8x8 latent grid: two halvings leave 2x2, three 1x1,
// where the PatchGAN's instance norms would see one position per frame.
TEST(Config, PatchDiscriminatorKeepsAtLeastATwoByTwoGrid) {
  EXPECT_TRUE(ParseTrainConfig("", {"data.crop_size=[64, 128]", "discriminator.num_layers=2"}).ok());
  ExpectError(ParseTrainConfig("", {"data.crop_size=[64, 128]", "discriminator.num_layers=3"}),
              {"discriminator.num_layers", "latent grid", "(8x16)", "at most 2, got 3"});
  // 16-pixel crops are 2x2 latents: no layer count fits, and the error names the crop.
  ExpectError(ParseTrainConfig("", {"data.crop_size=[16, 64]", "discriminator.num_layers=1"}),
              {"data.crop_size", "at least 4x4", "(2x8)"});
  // Pixels are judged at the crop's own size; the video discriminator has no instance norms.
  EXPECT_TRUE(
      ParseTrainConfig("", {"data.crop_size=[64, 128]", "discriminator.num_layers=3", "discriminator.input=pixel"})
          .ok());
  EXPECT_TRUE(
      ParseTrainConfig("", {"data.crop_size=[64, 128]", "discriminator.type=video", "discriminator.num_layers=3"})
          .ok());
}

TEST(Config, SetOverridesAnyKey) {
  auto r = ParseTrainConfig("training:\n  max_steps: 100\n",
                            {"training.max_steps=2", "loss.loss_type=hinge", "data.crop_size=[256, 128]"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->training.max_steps, 2);
  EXPECT_EQ(r->loss.loss_type, "hinge");
  EXPECT_EQ(r->data.crop_size.w, 128);
  ExpectError(ParseTrainConfig("", {"training.max_stepz=2"}), {"training.max_stepz", "unknown key"});
  ExpectError(ParseTrainConfig("", {"training"}), {"section.key=value"});
}

TEST(Config, CommandLineFlagsUseTheUsersNames) {
  auto r = ParseTrainCommandLine({"--config", "configs/train.yaml", "--data_root", "/videos/2024", "--batch_size", "2",
                                  "--num_frames=33", "--crop_size", "512", "512", "--sp_size", "2", "--save_dir", "out",
                                  "--resume", "out/checkpoint_10.pth", "--dit_checkpoint", "true", "--keep_last", "3", "--set",
                                  "training.max_steps=2"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->data.data_root, "/videos/2024");
  EXPECT_EQ(r->training.batch_size, 2);
  EXPECT_EQ(r->data.num_frames, 33);
  EXPECT_EQ(r->data.crop_size.h, 512);
  EXPECT_EQ(r->parallel.sp_size, 2);
  EXPECT_EQ(r->checkpoint.resume, "out/checkpoint_10.pth");
  EXPECT_EQ(r->training.dit_checkpoint, "true");  // a path, never a YAML bool
  EXPECT_EQ(r->training.max_steps, 2);
  EXPECT_EQ(r->checkpoint.keep_last, 3);
  EXPECT_FALSE(ParseTrainCommandLine({"--data_root", "x"}).ok());  // no --config
  auto bad = ParseTrainCommandLine({"--config", "configs/train.yaml", "--lr", "1"});
  ExpectError(bad, {"unknown flag --lr", "--crop_size H W"});
  ExpectError(ParseTrainCommandLine({"--config", "configs/train.yaml", "--crop_size", "256"}), {"expects 2 values"});
  ExpectError(ParseTrainCommandLine({"--config", "missing.yaml"}), {"missing.yaml"});
}

// Issue 18, kind 11: an empty value is a mistake, never a request for the
// default, whether it comes from --set or from the file.
TEST(Config, EmptyValueIsRefused) {
  ExpectError(ParseTrainConfig("", {"training.max_steps="}), {"training.max_steps", "an integer", "empty value"});
  ExpectError(ParseTrainCommandLine({"--config", "configs/train.yaml", "--set", "training.max_steps="}),
              {"training.max_steps", "empty value"});
  ExpectError(ParseTrainConfig("loss:\n  lambda_fm:\n"), {"loss.lambda_fm", "empty value"});
  ExpectError(ParseTrainConfig("data:\n  crop_size: ~\n"), {"data.crop_size", "empty value"});
  // A string may be empty: `dit_checkpoint:` is random initialisation.
  auto empty_path = ParseTrainConfig("training:\n  dit_checkpoint: x.pth\n", {"training.dit_checkpoint="});
  ASSERT_TRUE(empty_path.ok()) << empty_path.status();
  EXPECT_EQ(empty_path->training.dit_checkpoint, "");
  // Its check still runs.
  ExpectError(ParseTrainConfig("training:\n  precision:\n"), {"training.precision", "one of: auto"});
}

// Issue 18, kind 11: YAML keeps the first of two equal keys; the config
// refuses them, naming the key, wherever they are.
TEST(Config, KeyGivenTwiceIsRefused) {
  ExpectError(ParseTrainConfig("training:\n  max_steps: 5\n  max_steps: 7\n"),
              {"training.max_steps", "given more than once"});
  ExpectError(ParseTrainConfig("data:\n  num_frames: 5\nloss:\n  lambda_fm: 1\ndata:\n  num_frames: 9\n"),
              {"data: given more than once"});
  ExpectError(ParseTrainConfig("", {"data.degradation={scale: 2, scale: 3}"}),
              {"data.degradation.scale", "given more than once"});
  // A model config file goes through the same reader.
  const std::string path = testing::TempDir() + "/twice.yaml";
  std::ofstream(path) << "code_path: dit_v2\nheads: 4\nheads: 8\n";
  auto m = LoadDiTConfigFile(path);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("heads: given more than once"), std::string::npos) << m.status();
}

// Issue 18, kind 11: a directory given as --config is not read as an empty
// config; neither is a FIFO, which would block the open.
TEST(Config, ConfigThatIsNotAFileIsRefused) {
  const std::string dir = testing::TempDir() + "/config_dir";
  std::filesystem::create_directories(dir);
  ExpectError(LoadTrainConfig(dir), {dir.c_str(), "not a regular file"});
  ExpectError(ParseTrainCommandLine({"--config", dir}), {"not a regular file"});
  const std::string fifo = testing::TempDir() + "/config_fifo";
  std::filesystem::remove(fifo);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  ExpectError(LoadTrainConfig(fifo), {fifo.c_str(), "not a regular file"});
}

// Issue 18, kind 18: sizes that would exhaust memory or overflow are refused
// with their key; real ones (4K crops, long clips) pass.
TEST(Config, SizesAreBounded) {
  ExpectError(ParseTrainConfig("data:\n  crop_size: [1000000000, 256]\n"), {"data.crop_size", "1000000000"});
  ExpectError(ParseTrainConfig("data:\n  num_frames: 1000000000\n"), {"data.num_frames", "1000000000"});
  ExpectError(ParseTrainConfig("data:\n  degradation:\n    blur_kernel_size: [7, -3]\n"),
              {"data.degradation.blur_kernel_size", "at [1]", "-3"});
  ExpectError(ParseTrainConfig("data:\n  degradation:\n    blur_kernel_size: [100001]\n"),
              {"data.degradation.blur_kernel_size", "100001"});
  ExpectError(ParseTrainConfig("data:\n  degradation:\n    resize_scale: [0.5, 1000]\n"),
              {"data.degradation.resize_scale", "1000"});
  ExpectError(ParseTrainConfig("data:\n  degradation:\n    scale: 1000\n"), {"data.degradation.scale", "1000"});
  ExpectError(ParseTrainConfig("data:\n  resize_to_area: 100000000000\n"), {"data.resize_to_area"});
  ExpectError(ParseTrainConfig("training:\n  window_frame: [720, 1000000000]\n"), {"training.window_frame"});
  // Each side fits, the clip does not.
  ExpectError(ParseTrainConfig("data:\n  crop_size: [16384, 16384]\n  num_frames: 33\n"),
              {"data.num_frames", "pixels per clip", "33"});
  // Model sizes too: a typo is refused by key before a layer is allocated.
  ExpectError(ParseTrainConfig("model:\n  num_layers: 1000000\n"), {"model.num_layers", "1000000"});
  ExpectError(ParseTrainConfig("vae:\n  block_out_channels: [128, 100000000]\n"), {"vae.block_out_channels", "at [1]"});
  auto uhd = ParseTrainConfig("data:\n  crop_size: [2160, 3840]\n  num_frames: 121\n");
  EXPECT_TRUE(uhd.ok()) << uhd.status();
  auto long_clip = ParseTrainConfig("data:\n  crop_size: [256, 256]\n  num_frames: 4097\n");
  EXPECT_TRUE(long_clip.ok()) << long_clip.status();
}

// Issue 18, kind 18: every degradation value is checked, at start-up and
// naming its key.
TEST(Config, DegradationValuesAreChecked) {
  auto bad = [](const std::string& key, const std::string& value) {
    return ParseTrainConfig(absl::StrCat("data:\n  degradation:\n    ", key, ": ", value, "\n"));
  };
  ExpectError(bad("blur_sigma", "[-1, 3]"), {"data.degradation.blur_sigma", "0 < lo"});
  ExpectError(bad("blur_sigma2", "[0.2, .nan]"), {"data.degradation.blur_sigma2", "finite"});
  ExpectError(bad("noise_sigma", "[-5, 10]"), {"data.degradation.noise_sigma"});
  ExpectError(bad("noise_sigma2", "[1, 1000]"), {"data.degradation.noise_sigma2"});
  ExpectError(bad("poisson_scale", "[-1, 1]"), {"data.degradation.poisson_scale"});
  ExpectError(bad("poisson_scale2", "[.nan, 1]"), {"data.degradation.poisson_scale2"});
  ExpectError(bad("jpeg_quality", "[30, 500]"), {"data.degradation.jpeg_quality", "500"});
  ExpectError(bad("jpeg_quality2", "[0, 95]"), {"data.degradation.jpeg_quality2"});
  ExpectError(bad("blur_kernel_size", "[]"), {"data.degradation.blur_kernel_size", "non-empty"});
  ExpectError(bad("resize_scale2", "[0, 1]"), {"data.degradation.resize_scale2"});
  ExpectError(bad("resize_prob", "[0, 0, 0]"), {"data.degradation.resize_prob", "not all zero"});
  ExpectError(bad("resize_prob2", "[0.5, 0.5]"), {"data.degradation.resize_prob2", "3 non-negative"});
  ExpectError(bad("x264_crf", "[23, 80]"), {"data.degradation.x264_crf"});
  ExpectError(bad("bitrate", "[-1, 100000]"), {"data.degradation.bitrate"});
  ExpectError(bad("mpeg4_qscale", "[0, 31]"), {"data.degradation.mpeg4_qscale"});
  ExpectError(bad("x264_preset", "warp"), {"data.degradation.x264_preset", "veryfast"});
  // A misspelt codec is the config's fault, not the first clip's.
  ExpectError(bad("codecs", "[libx264_crf, libx265_crf]"),
              {"data.degradation.codecs", "libx265_crf", "at [1]", "mpeg4_qscale"});
  ExpectError(bad("blur_kernel_prob2", "[1, 0, 0, 0, 0, .inf]"), {"data.degradation.blur_kernel_prob2"});
  auto off = bad("codecs", "[]");  // no codec round trip
  EXPECT_TRUE(off.ok()) << off.status();
}

// Issue 18, kind 18: .inf and .nan pass no bound, so no number may be one.
TEST(Config, NonFiniteNumbersAreRefused) {
  ExpectError(ParseTrainConfig("loss:\n  lambda_adv: .inf\n"), {"loss.lambda_adv", "a finite number", ".inf"});
  ExpectError(ParseTrainConfig("optimizer:\n  betas: [.nan, 0.999]\n"), {"optimizer.betas", ".nan"});
  ExpectError(ParseTrainConfig("", {"optimizer.grad_clip=.inf"}), {"optimizer.grad_clip", "finite"});
  ExpectError(ParseTrainConfig("loss:\n  lambda_ar1: 1e300\n"), {"loss.lambda_ar1"});
  ExpectError(ParseTrainConfig("model:\n  norm_eps: .nan\n"), {"model.norm_eps"});
}

// Issue 18, kind 18: a key that is not a plain name (`? [a, b] : 1`) is an
// error naming where it is, in a training config, a stored one or a model file.
TEST(Config, ComplexKeyIsRefused) {
  ExpectError(ParseTrainConfig("? [a, b]\n: 1\n"), {"top level", "plain key names"});
  ExpectError(ParseTrainConfig("training:\n  ? {x: 1}\n  : 2\n"), {"training", "plain key names"});
  ExpectError(ParseTrainConfig("", {"loss={? [a]: 1}"}), {"loss", "plain key names"});
  const std::string path = testing::TempDir() + "/complex.yaml";
  std::ofstream(path) << "code_path: dit_v2\n? [heads]\n: 4\n";
  EXPECT_FALSE(LoadDiTConfigFile(path).ok());
}

// Issue 18, kind 12: the files a config names pass the same check as the
// config itself before training reads them, naming the key.
TEST(Config, PathsInTheConfigAreCheckedBeforeReading) {
  const std::string dir = testing::TempDir() + "/paths";
  std::filesystem::create_directories(dir);
  const std::string fifo = dir + "/text.fifo";
  std::filesystem::remove(fifo);
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::ofstream(dir + "/weights.pth") << "x";
  auto with = [](std::initializer_list<std::string> overrides) {
    auto c = ParseTrainConfig("", overrides);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? CheckInputPaths(*c) : c.status();
  };
  auto expect = [](const absl::Status& s, std::initializer_list<std::string> fragments) {
    ASSERT_FALSE(s.ok());
    for (const std::string& f : fragments) EXPECT_NE(s.message().find(f), std::string::npos) << f << " in " << s;
  };
  expect(with({"training.text_embeddings=" + fifo}), {"training.text_embeddings", fifo, "not a regular file"});
  expect(with({"training.dit_checkpoint=" + dir}), {"training.dit_checkpoint", "not a regular file"});
  expect(with({"checkpoint.resume=" + dir + "/checkpoint_9.pth"}), {"checkpoint.resume", "checkpoint_9.pth"});
  expect(with({"discriminator.type=dit", "discriminator.checkpoint=" + fifo}), {"discriminator.checkpoint"});
  EXPECT_TRUE(with({"training.vae_checkpoint=" + dir + "/weights.pth", "training.dit_checkpoint="}).ok());
}

TEST(Config, DumpReparsesToTheSameConfig) {
  auto a = LoadTrainConfig("configs/train.yaml", {"loss.lambda_fm=0.1", "data.degradation.noise_sigma=[2, 20]"});
  ASSERT_TRUE(a.ok()) << a.status();
  std::string text = DumpTrainConfig(*a);
  auto b = ParseTrainConfig(text);
  ASSERT_TRUE(b.ok()) << b.status() << "\n" << text;
  EXPECT_EQ(DumpTrainConfig(*b), text);
  EXPECT_EQ(b->loss.lambda_fm, 0.1);
  EXPECT_EQ(b->data.degradation.noise_sigma.hi, 20.0);
}

}  // namespace
}  // namespace seedvr::config
