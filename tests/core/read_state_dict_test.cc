// Weights as other trainers save them (issue 18, BR-12 and BR-13): the case
// scripts re-save the EMA of a seedvr training checkpoint written here, with
// the Python torch that SEEDVR_PYTHON names.
#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>

#include <cstdlib>
#include <fstream>

#include "seedvr/core/state_dict.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/testing/fixtures.h"

namespace seedvr::core {
namespace {

using ::testing::HasSubstr;

// Weights of torch::nn::Linear(4, 3).
TensorList LinearWeights() {
  at::manual_seed(7);
  return {{"weight", at::randn({3, 4})}, {"bias", at::randn({3})}};
}

PyValue Dict(std::vector<std::pair<std::string, PyValue>> entries) {
  auto d = std::make_shared<PyDict>();
  for (auto& [k, v] : entries) d->emplace_back(PyValue{k}, std::move(v));
  return PyValue{d};
}

// A seedvr training checkpoint's layout: several state dicts and scalars.
std::string WriteTrainingCheckpoint(const std::string& dir) {
  const std::string path = dir + "/checkpoint_5.pth";
  TensorList generator = LinearWeights();
  for (NamedTensor& t : generator) t.tensor = t.tensor + 1;
  EXPECT_TRUE(WritePth(path, Dict({{"format", PyValue{std::string("seedvr-train-v1")}},
                                   {"generator", FromTensorList(generator)},
                                   {"ema", FromTensorList(LinearWeights())},
                                   {"step", PyValue{int64_t{5}}}}))
                  .ok());
  return path;
}

// Runs shared/cases/CASE.sh DIR CHECKPOINT.
void RunCase(const std::string& name, const std::string& dir, const std::string& checkpoint) {
  std::string cmd =
      "PY=" + testing::Python() + " bash " + testing::SharedDir() + "/cases/" + name + ".sh " + dir + " " + checkpoint;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

void ExpectSame(const TensorList& a, const TensorList& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_TRUE(at::equal(a[i].tensor, b[i].tensor)) << a[i].name;
  }
}

// Reads `spec` into a fresh Linear(4, 3) as every weights flag does; returns
// the log line(s).
std::string LoadsAsThePlainFile(const std::string& spec) {
  torch::nn::Linear model(4, 3);
  ::testing::internal::CaptureStderr();
  absl::Status s = LoadStateDictFile(*model, spec);
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_TRUE(at::equal(model->weight, LinearWeights()[0].tensor)) << spec;
  EXPECT_TRUE(at::equal(model->bias, LinearWeights()[1].tensor)) << spec;
  return log;
}

TEST(ReadStateDict, CompiledAndDdpPrefixesAreRemovedBR12) {
  std::string dir = testing::TempDir() + "/br12";
  RunCase("BR-12", dir, WriteTrainingCheckpoint(testing::TempDir()));
  auto plain = ReadStateDict(dir + "/dit_plain.pth");
  ASSERT_TRUE(plain.ok()) << plain.status();
  ExpectSame(*plain, LinearWeights());
  EXPECT_EQ(LoadsAsThePlainFile(dir + "/dit_plain.pth"), "");
  EXPECT_THAT(LoadsAsThePlainFile(dir + "/dit_orig_mod.pth"),
              HasSubstr("dit_orig_mod.pth: removed the prefix '_orig_mod.' from every key"));
  EXPECT_THAT(LoadsAsThePlainFile(dir + "/dit_module.pth"),
              HasSubstr("dit_module.pth: removed the prefix 'module.' from every key"));
}

TEST(ReadStateDict, NestedStateDictsAreUnwrappedBR13) {
  std::string dir = testing::TempDir() + "/br13";
  RunCase("BR-13", dir, WriteTrainingCheckpoint(testing::TempDir()));
  for (const char* entry : {"state_dict", "params_ema", "ema_step"}) {
    const std::string file = dir + "/nested_" + entry + ".pth";
    const std::string used = std::string(entry) == "ema_step" ? "ema" : entry;
    EXPECT_THAT(LoadsAsThePlainFile(file), HasSubstr(file + ": using the state dict under '" + used + "'"));
  }
}

TEST(ReadStateDict, AmbiguousFilesListTheirEntriesAndHowToChoose) {
  const std::string checkpoint = WriteTrainingCheckpoint(testing::TempDir());
  auto r = ReadStateDict(checkpoint);
  ASSERT_FALSE(r.ok());
  const std::string message(r.status().message());
  EXPECT_THAT(message, HasSubstr("'generator' (state dict of 2 tensors)"));
  EXPECT_THAT(message, HasSubstr("'ema' (state dict of 2 tensors)"));
  EXPECT_THAT(message, HasSubstr("'step' (value)"));
  EXPECT_THAT(message, HasSubstr("Choose one as FILE:ENTRY, e.g. " + checkpoint + ":ema"));
  EXPECT_EQ(LoadsAsThePlainFile(checkpoint + ":ema"), "");
  auto missing = ReadStateDict(checkpoint + ":params");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("has no entry 'params'; its entries: 'format'"));
}

TEST(ReadStateDict, BothPrefixesTogetherAndOnlyWhenEveryKeyHasThem) {
  const std::string dir = testing::TempDir();
  TensorList both = LinearWeights();
  for (NamedTensor& t : both) t.name = "module._orig_mod." + t.name;
  ASSERT_TRUE(WriteSafetensors(dir + "/both.safetensors", both).ok());
  EXPECT_THAT(LoadsAsThePlainFile(dir + "/both.safetensors"),
              HasSubstr("removed the prefix 'module.' from every key; removed the prefix '_orig_mod.' from every key"));

  TensorList partial = LinearWeights();
  partial[0].name = "module.weight";
  ASSERT_TRUE(WritePth(dir + "/partial.pth", FromTensorList(partial)).ok());
  auto r = ReadStateDict(dir + "/partial.pth");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].name, "module.weight");  // not every key: kept as is
}

TEST(ReadStateDict, EntriesNamedOtherwiseAreNotGuessed) {
  const std::string dir = testing::TempDir();
  ASSERT_TRUE(WritePth(dir + "/weights.pth",
                       Dict({{"weights", FromTensorList(LinearWeights())}, {"epoch", PyValue{int64_t{3}}}}))
                  .ok());
  auto r = ReadStateDict(dir + "/weights.pth");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("e.g. " + dir + "/weights.pth:weights"));
  EXPECT_EQ(LoadsAsThePlainFile(dir + "/weights.pth:weights"), "");
  // A state dict beside loose tensors is not unwrapped either.
  ASSERT_TRUE(
      WritePth(dir + "/loose.pth", Dict({{"ema", FromTensorList(LinearWeights())}, {"extra", PyValue{at::ones({2})}}}))
          .ok());
  EXPECT_FALSE(ReadStateDict(dir + "/loose.pth").ok());
}

TEST(ReadStateDict, AFileWhoseNameHasAColonIsTheFile) {
  const std::string dir = testing::TempDir();
  ASSERT_TRUE(WriteSafetensors(dir + "/run:3.safetensors", LinearWeights()).ok());
  EXPECT_EQ(LoadsAsThePlainFile(dir + "/run:3.safetensors"), "");
  auto entry = ReadStateDict(dir + "/run:3.safetensors:ema");
  ASSERT_FALSE(entry.ok());
  EXPECT_THAT(std::string(entry.status().message()), HasSubstr("is a safetensors file; it has no entry 'ema'"));
}

}  // namespace
}  // namespace seedvr::core
