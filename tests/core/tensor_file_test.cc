#include "seedvr/core/tensor_file.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "seedvr/testing/fixtures.h"

namespace seedvr::core {
namespace {

using testing::FixturePath;
using testing::SharedDir;
using testing::TempDir;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

TensorList AllDTypes() {
  at::manual_seed(3);
  return {
      {"f64", at::randn({3, 2}, at::kDouble)},
      {"f32", at::randn({4, 5})},
      {"f16", at::randn({7}).to(at::kHalf)},
      {"bf16", at::randn({2, 3, 4}).to(at::kBFloat16)},
      {"i64", at::arange(-5, 5, at::kLong)},
      {"i32", at::arange(0, 6, at::kInt).reshape({2, 3})},
      {"u8", at::arange(0, 200, at::kByte)},
      {"bool", at::rand({9}) > 0.5},
      {"scalar", at::scalar_tensor(2.5)},
      {"empty", at::zeros({0, 4})},
  };
}

void ExpectSame(const TensorList& a, const TensorList& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].tensor.scalar_type(), b[i].tensor.scalar_type()) << a[i].name;
    EXPECT_EQ(a[i].tensor.sizes(), b[i].tensor.sizes()) << a[i].name;
    EXPECT_TRUE(at::equal(a[i].tensor, b[i].tensor)) << a[i].name;
  }
}

TEST(Safetensors, RoundTripsEveryDType) {
  std::string path = TempDir() + "/all.safetensors";
  TensorList tensors = AllDTypes();
  ASSERT_TRUE(WriteSafetensors(path, tensors, {{"format", "pt"}}).ok());
  std::map<std::string, std::string> meta;
  auto read = ReadSafetensors(path, &meta);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectSame(tensors, *read);
  EXPECT_EQ(meta["format"], "pt");
}

TEST(Safetensors, UpcastsFloat8OnRead) {
  std::string path = TempDir() + "/f8.safetensors";
  at::Tensor values = at::tensor({0.5f, -2.0f, 448.0f, 0.0f});
  // Hand-written header: e4m3fn bytes for the values above.
  std::string header = R"({"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  at::Tensor f8 = values.to(at::kFloat8_e4m3fn);
  file += header + std::string(static_cast<const char*>(f8.data_ptr()), 4);
  WriteAll(path, file);
  auto read = ReadSafetensors(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ((*read)[0].tensor.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal((*read)[0].tensor, values));
}

TEST(Pth, RoundTripsNestedCheckpoint) {
  std::string path = TempDir() + "/nested.pth";
  auto root = std::make_shared<PyDict>();
  auto list = std::make_shared<PyList>(PyList{PyValue{int64_t{1}}, PyValue{std::string("two")}, PyValue{3.5}});
  root->emplace_back(PyValue{std::string("model")}, FromTensorList(AllDTypes()));
  root->emplace_back(PyValue{std::string("step")}, PyValue{int64_t{10000}});
  root->emplace_back(PyValue{std::string("big")}, PyValue{int64_t{1} << 40});
  root->emplace_back(PyValue{std::string("lr")}, PyValue{1e-5});
  root->emplace_back(PyValue{std::string("name")}, PyValue{std::string("seedvr")});
  root->emplace_back(PyValue{std::string("flag")}, PyValue{true});
  root->emplace_back(PyValue{std::string("none")}, PyValue{});
  root->emplace_back(PyValue{std::string("list")}, PyValue{list});
  ASSERT_TRUE(WritePth(path, PyValue{root}).ok());

  auto read = ReadPth(path);
  ASSERT_TRUE(read.ok()) << read.status();
  auto model = ReadStateDict(path + ":model");
  ASSERT_TRUE(model.ok()) << model.status();
  ExpectSame(AllDTypes(), *model);
  EXPECT_EQ(std::get<int64_t>(read->find("step")->v), 10000);
  EXPECT_EQ(std::get<int64_t>(read->find("big")->v), int64_t{1} << 40);
  EXPECT_EQ(std::get<double>(read->find("lr")->v), 1e-5);
  EXPECT_EQ(std::get<std::string>(read->find("name")->v), "seedvr");
  EXPECT_TRUE(std::get<bool>(read->find("flag")->v));
  EXPECT_TRUE(read->find("none")->is_none());
  const auto& l = *std::get<std::shared_ptr<PyList>>(read->find("list")->v);
  ASSERT_EQ(l.size(), 3u);
  EXPECT_EQ(std::get<std::string>(l[1].v), "two");
  EXPECT_FALSE(ReadStateDict(path + ":missing").ok());
}

TEST(Fixtures, PthAndSafetensorsHoldTheSameTensors) {
  for (const char* c : {"dit3b_a", "dit3b_d", "dit7b_a", "vae_a"}) {
    std::string name(c);
    auto pth = ReadStateDict(FixturePath(name + "/weights.pth"));
    ASSERT_TRUE(pth.ok()) << pth.status() << " (SEEDVR_SHARED_DIR=" << SharedDir() << ")";
    auto st = ReadStateDict(FixturePath(name + "/weights.safetensors"));
    ASSERT_TRUE(st.ok()) << st.status();
    EXPECT_GT(pth->size(), 10u);
    ExpectSame(*pth, *st);
  }
  // The VAE fixture has exactly the released VAE's 250 keys.
  auto vae = ReadStateDict(FixturePath("vae_a/weights.pth"));
  ASSERT_TRUE(vae.ok());
  EXPECT_EQ(vae->size(), 250u);
}

TEST(Fixtures, ReadsReleasedTextEmbeddings) {
  auto pos = ReadPth(SharedDir() + "/text_embeddings/pos_emb.pt");
  ASSERT_TRUE(pos.ok()) << pos.status();
  ASSERT_TRUE(pos->is_tensor());
  const at::Tensor& t = std::get<at::Tensor>(pos->v);
  EXPECT_EQ(t.scalar_type(), at::kBFloat16);
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{58, 5120}));
  EXPECT_NEAR(t.to(at::kFloat).abs().mean().item<float>(), 0.4134, 1e-3);
  EXPECT_EQ(t.to(at::kFloat).abs().max().item<float>(), 43.0f);
  auto neg = ReadPth(SharedDir() + "/text_embeddings/neg_emb.pt");
  ASSERT_TRUE(neg.ok()) << neg.status();
  EXPECT_EQ(std::get<at::Tensor>(neg->v).sizes(), (std::vector<int64_t>{64, 5120}));
}

// Every prefix of a valid file, and every single-byte corruption of its
// header region, gives an error or a well-formed result: never a crash.
TEST(BadInput, TruncatedAndCorruptedFilesAreErrors) {
  std::string dir = TempDir();
  TensorList small = {{"a", at::arange(0, 16, at::kFloat)}, {"b", at::ones({2, 2}, at::kLong)}};
  ASSERT_TRUE(WriteSafetensors(dir + "/s.safetensors", small).ok());
  ASSERT_TRUE(WritePth(dir + "/p.pth", FromTensorList(small)).ok());
  for (const std::string name : {"/s.safetensors", "/p.pth"}) {
    std::string bytes = ReadAll(dir + name);
    for (size_t n = 0; n < bytes.size(); n += (n < 512 ? 1 : 97)) {
      WriteAll(dir + "/cut", bytes.substr(0, n));
      EXPECT_FALSE(ReadStateDict(dir + "/cut").ok()) << name << " truncated to " << n;
    }
    for (size_t i = 0; i < std::min<size_t>(bytes.size(), 600); ++i) {
      std::string bad = bytes;
      bad[i] = static_cast<char>(bad[i] ^ 0x5A);
      WriteAll(dir + "/bad", bad);
      auto r = ReadStateDict(dir + "/bad");  // may succeed if only data bytes changed
      if (r.ok()) {
        EXPECT_LE(r->size(), 2u);
      }
    }
  }
}

TEST(BadInput, HugeHeaderLengthIsRefusedWithoutAllocating) {
  std::string path = TempDir() + "/huge.safetensors";
  WriteAll(path, std::string("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10));
  auto r = ReadSafetensors(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("header length"), std::string::npos) << r.status();
}

TEST(BadInput, OffsetsMismatchingShapeNameTheTensor) {
  std::string path = TempDir() + "/mismatch.safetensors";
  std::string header = R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}})";
  std::string file(8, '\0');
  file[0] = static_cast<char>(header.size());
  WriteAll(path, file + header + std::string(8, '\0'));
  auto r = ReadSafetensors(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'w'"), std::string::npos) << r.status();
}

TEST(BadInput, MissingFileNamesThePath) {
  auto r = ReadStateDict("/nonexistent/model.pth");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/model.pth"), std::string::npos);
}

}  // namespace
}  // namespace seedvr::core
