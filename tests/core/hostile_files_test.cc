// Hostile and broken tensor files, made here byte by byte: every one is an
// error naming the file (or, where PyTorch and the safetensors library accept
// it, the values they read), fast, and never a crash, a hang or an
// allocation without bound.
#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "absl/strings/str_cat.h"
#include "seedvr/core/cli.h"
#include "seedvr/core/io.h"
#include "seedvr/core/pickle.h"
#include "seedvr/core/tensor_file.h"
#include "seedvr/core/zip.h"
#include "seedvr/testing/fixtures.h"
#include "seedvr/text/text_embeddings.h"

namespace seedvr::core {
namespace {

using testing::TempDir;

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// PickleBytes bytes, opcode by opcode (protocol 2).
struct PickleBytes {
  std::string b = "\x80\x02";
  PickleBytes& Op(const std::string& ops) {
    b += ops;
    return *this;
  }
  PickleBytes& U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    return *this;
  }
  PickleBytes& Str(const std::string& s) {
    b.push_back('X');
    U32(static_cast<uint32_t>(s.size()));
    b += s;
    return *this;
  }
  PickleBytes& Int(int64_t v) {
    b += "\x8a\x08";
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xFF));
    return *this;
  }
  PickleBytes& Put(uint32_t i) { return Op("r").U32(i); }
  PickleBytes& Get(uint32_t i) { return Op("j").U32(i); }
  PickleBytes& Put1(uint8_t i) { return Op("q").Op(std::string(1, static_cast<char>(i))); }
  PickleBytes& Get1(uint8_t i) { return Op("h").Op(std::string(1, static_cast<char>(i))); }
  // A float32 tensor over storage "0" of `numel` elements.
  PickleBytes& Tensor(int64_t numel, const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides,
                      int64_t offset = 0) {
    Op("ctorch._utils\n_rebuild_tensor_v2\n((").Str("storage").Op("ctorch\nFloatStorage\n");
    Str("0").Str("cpu").Int(numel).Op("tQ").Int(offset).Op("(");
    for (int64_t s : sizes) Int(s);
    Op("t(");
    for (int64_t s : strides) Int(s);
    return Op("t\x89").Op("ccollections\nOrderedDict\n)R").Op("tR");
  }
  std::string Stop() const { return b + "."; }
};

// A torch.save-style archive holding `pickle` and float storage "0".
std::string WritePthWithPickle(const std::string& name, const std::string& pickle, int64_t storage_floats = 16) {
  std::string path = TempDir() + "/" + name;
  std::vector<float> storage(static_cast<size_t>(storage_floats), 1.0f);
  absl::Status s = AtomicWrite(path, [&](FileWriter& out) {
    ZipWriter zip(&out);
    zip.Add("archive/data.pkl", pickle.data(), pickle.size());
    zip.Add("archive/byteorder", "little", 6);
    zip.Add("archive/data/0", storage.data(), storage.size() * sizeof(float));
    zip.Add("archive/version", "3\n", 2);
    zip.Finish();
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  return path;
}

std::string WriteSafetensorsWithHeader(const std::string& name, const std::string& header, size_t data_bytes) {
  std::string path = TempDir() + "/" + name;
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  WriteAll(path, file + header + std::string(data_bytes, '\0'));
  return path;
}

int RunPython(const std::string& body, const std::string& arg) {
  std::string script = TempDir() + "/script.py";
  std::ofstream(script) << body;
  return std::system((testing::Python() + " " + script + " " + arg).c_str());
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

#define EXPECT_ERROR_HAS(result, text)                                                         \
  do {                                                                                         \
    ASSERT_FALSE((result).ok());                                                               \
    EXPECT_NE((result).status().message().find(text), std::string::npos) << (result).status(); \
  } while (0)

// Kind 7: amplification ---------------------------------------------------------

// The issue's 642-byte pickle: each tuple holds the previous one twice
// through the memo, so 100 levels expand to 2^100 values.
TEST(Amplification, TupleGraphThroughTheMemoFailsFast) {
  PickleBytes p;
  p.Op("NN\x86").Put1(0);
  for (uint8_t i = 1; i <= 100; ++i) p.Get1(i - 1).Get1(i - 1).Op("\x86").Put1(i);
  std::string pickle = PickleBytes().Op("}").Str("x").Op(p.b.substr(2)).Op("s").Stop();
  EXPECT_LT(pickle.size(), 800u);
  std::string path = WritePthWithPickle("graph.pth", pickle);
  auto start = std::chrono::steady_clock::now();
  auto r = ReadPth(path);
  EXPECT_ERROR_HAS(r, absl::StrCat(kMaxPickleNodes, " values"));
  EXPECT_ERROR_HAS(r, path);
  EXPECT_LT(SecondsSince(start), 2.0);
}

// A few MB of references to one big tuple, placed in a list.
TEST(Amplification, RepeatedReferencesToABigTupleFail) {
  PickleBytes p;
  p.Op("(");
  for (int i = 0; i < 100000; ++i) p.Op("N");
  p.Op("t").Put(0).Op("0]");
  for (int i = 0; i < 1000; ++i) p.Get(0).Op("a");
  std::string path = WritePthWithPickle("refs.pth", p.Stop());
  auto r = ReadPth(path);
  EXPECT_ERROR_HAS(r, "once shared references are expanded");
}

TEST(Amplification, DuplicatedStringsAndEndlessOpcodesFail) {
  PickleBytes strings;
  strings.Str(std::string(1 << 20, 'a'));
  for (int i = 0; i < 300; ++i) strings.Op("2");
  auto r = ReadPth(WritePthWithPickle("strings.pth", strings.Stop()));
  EXPECT_ERROR_HAS(r, absl::StrCat(kMaxPickleStringBytes, " bytes of strings"));

  PickleBytes ops;
  for (int64_t i = 0; i < kMaxPickleOps / 2 + 1; ++i) ops.Op("N0");
  auto r2 = ReadPth(WritePthWithPickle("ops.pth", ops.Op("N").Stop()));
  EXPECT_ERROR_HAS(r2, absl::StrCat(kMaxPickleOps, " pickle opcodes"));
}

// Shared values are fine while they stay small; cycles are refused.
TEST(Amplification, SharedValuesReadAndCyclesAreRefused) {
  PickleBytes shared;
  shared.Op("}(").Str("a").Op("(K\x01K\x02t").Put(0).Str("b").Get(0).Op("u");
  auto r = ReadPth(WritePthWithPickle("shared.pth", shared.Stop()));
  ASSERT_TRUE(r.ok()) << r.status();
  const auto& b = *std::get<std::shared_ptr<PyList>>(r->find("b")->v);
  EXPECT_EQ(std::get<int64_t>(b[1].v), 2);

  PickleBytes cycle;
  cycle.Op("]").Put(0).Get(0).Op("a");
  auto c = ReadPth(WritePthWithPickle("cycle.pth", cycle.Stop()));
  EXPECT_ERROR_HAS(c, "changes after it became part of another value");
}

// Kind 15: stack depth ---------------------------------------------------------

TEST(Depth, HundredThousandNestedTuplesAndDictsAreRefused) {
  const int n = 100000;
  std::string tuples = PickleBytes().Op(std::string(n, '(')).Op(std::string(n, 't')).Stop();
  auto t = ReadPth(WritePthWithPickle("deep_tuples.pth", tuples));
  EXPECT_ERROR_HAS(t, absl::StrCat("nested deeper than ", kMaxPickleDepth));

  PickleBytes dicts;
  for (int i = 0; i < n; ++i) dicts.Op("}").Str("k");
  dicts.Op("}").Op(std::string(n, 's'));
  auto d = ReadPth(WritePthWithPickle("deep_dicts.pth", dicts.Stop()));
  EXPECT_ERROR_HAS(d, absl::StrCat("nested deeper than ", kMaxPickleDepth));

  PickleBytes lists;
  lists.Op(std::string(n, ']')).Op(std::string(n - 1, 'a'));
  auto l = ReadPth(WritePthWithPickle("deep_lists.pth", lists.Stop()));
  EXPECT_ERROR_HAS(l, absl::StrCat("nested deeper than ", kMaxPickleDepth));
}

TEST(Depth, NestingWithinTheLimitReads) {
  const int n = kMaxPickleDepth - 1;
  auto r = ReadPth(
      WritePthWithPickle("nested_ok.pth", PickleBytes().Op(std::string(n, ']')).Op(std::string(n - 1, 'a')).Stop()));
  ASSERT_TRUE(r.ok()) << r.status();
}

TEST(Depth, HundredThousandDeepJsonHeaderIsRefused) {
  const int n = 100000;
  std::string header =
      R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":)" + std::string(n, '[') + std::string(n, ']') + "}}";
  auto r = ReadSafetensors(WriteSafetensorsWithHeader("deep.safetensors", header, 4));
  EXPECT_ERROR_HAS(r, absl::StrCat("nests deeper than ", kMaxHeaderDepth));
  // Extra fields nested within the limit are ignored, as the library does.
  std::string shallow = R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":[[[{"y":[]}]]]}})";
  auto ok = ReadSafetensors(WriteSafetensorsWithHeader("shallow.safetensors", shallow, 4));
  ASSERT_TRUE(ok.ok()) << ok.status();
}

// Kind 16 (and 10): sizes and strides whose arithmetic overflows ---------------

TEST(SizeArithmetic, PickledShapesAndStridesThatOverflowAreRefused) {
  const int64_t e48 = int64_t{1} << 48, e47 = int64_t{1} << 47;
  auto wrap = [](PickleBytes p) { return PickleBytes().Op("}").Str("w").Op(p.b.substr(2)).Op("s").Stop(); };
  // (65537,) with stride 2^48: 65536 * 2^48 wraps to 0.
  auto a = ReadPth(WritePthWithPickle("stride.pth", wrap(PickleBytes().Tensor(16, {65537}, {e48}))));
  EXPECT_ERROR_HAS(a, "overflows 64 bits");
  // (2^47, 2^47) with stride 0: touches one element, but 2^94 elements.
  auto b = ReadPth(WritePthWithPickle("numel.pth", wrap(PickleBytes().Tensor(16, {e47, e47}, {0, 0}))));
  EXPECT_ERROR_HAS(b, "its size overflows 64 bits");
  // An empty tensor whose other dimensions overflow.
  auto c = ReadPth(WritePthWithPickle("empty.pth", wrap(PickleBytes().Tensor(16, {int64_t{1} << 62, 0}, {1, 1}))));
  EXPECT_ERROR_HAS(c, "its size overflows 64 bits");
  auto d = ReadPth(WritePthWithPickle("negative.pth", wrap(PickleBytes().Tensor(16, {4}, {-1}, 3))));
  EXPECT_ERROR_HAS(d, "negative tensor size or stride");
}

TEST(SizeArithmetic, ViewsUpToTheStorageEndReadAndOneBeyondIsRefused) {
  auto wrap = [](PickleBytes p) { return PickleBytes().Op("}").Str("w").Op(p.b.substr(2)).Op("s").Stop(); };
  auto fits = ReadPth(WritePthWithPickle("fits.pth", wrap(PickleBytes().Tensor(16, {4, 2}, {4, 1}, 2))));
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_EQ(std::get<at::Tensor>(fits->find("w")->v).sizes(), (std::vector<int64_t>{4, 2}));
  auto beyond = ReadPth(WritePthWithPickle("beyond.pth", wrap(PickleBytes().Tensor(16, {4, 2}, {4, 1}, 3))));
  EXPECT_ERROR_HAS(beyond, "exceeds its storage of 16 elements");
}

TEST(SizeArithmetic, SafetensorsShapesWhoseByteSizeWrapsAreRefused) {
  // F64 [2^31, 2^30]: 2^61 elements of 8 bytes wrap to 0 bytes.
  auto a = ReadSafetensors(WriteSafetensorsWithHeader(
      "wrap.safetensors", R"({"w":{"dtype":"F64","shape":[2147483648,1073741824],"data_offsets":[0,0]}})", 0));
  EXPECT_ERROR_HAS(a, "'w': shape [2147483648, 1073741824] of F64 overflows 64-bit sizes");
  auto b = ReadSafetensors(WriteSafetensorsWithHeader(
      "numel.safetensors", R"({"w":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0));
  EXPECT_ERROR_HAS(b, "overflows 64-bit sizes");
  auto c = ReadSafetensors(WriteSafetensorsWithHeader(
      "big.safetensors", R"({"w":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,0]}})", 0));
  EXPECT_ERROR_HAS(c, "not a size");
}

// Kind 10: what still escapes becomes one line and exit status 1 --------------

TEST(UncaughtErrors, AC10ErrorEndsTheToolWithOneLine) {
  // noexcept: like main, nothing above catches (gtest would).
  EXPECT_EXIT(
      []() noexcept {
        ExitOnUncaughtException("tool");
        TORCH_CHECK(false, "shape overflow in ", 42);
      }(),
      ::testing::ExitedWithCode(1), "tool: error: shape overflow in 42");
}

TEST(UncaughtErrors, AnExceptionInAThreadEndsTheToolWithOneLine) {
  EXPECT_EXIT(
      {
        ExitOnUncaughtException("tool");
        std::thread([] { throw std::runtime_error("disk gone"); }).join();
      },
      ::testing::ExitedWithCode(1), "tool: error: disk gone");
}

// Kind 8: linear header parsing, 100 MB cap -----------------------------------

TEST(HeaderParsing, TwoHundredThousandTensorsParseInLinearTime) {
  const int n = 200000;
  std::string header = "{";
  for (int i = 0; i < n; ++i) {
    absl::StrAppend(&header, i ? "," : "", "\"t", i, "\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[", i, ",",
                    i + 1, "]}");
  }
  header += "}";
  std::string path = WriteSafetensorsWithHeader("many.safetensors", header, n);
  auto start = std::chrono::steady_clock::now();
  auto r = ReadSafetensors(path, nullptr, TensorMemory::kView);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), static_cast<size_t>(n));
  EXPECT_EQ((*r)[12345].name, "t12345");  // in the order of their data
  EXPECT_LT(SecondsSince(start), 20.0);   // quadratic lookup took minutes
}

TEST(HeaderParsing, HeadersBeyondOneHundredMillionBytesAreRefused) {
  std::string path = TempDir() + "/cap.safetensors";
  std::string len(8, '\0');
  const uint64_t over = kMaxHeaderBytes + 1;
  for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((over >> (8 * i)) & 0xFF);
  WriteAll(path, len + "{}");
  auto r = ReadSafetensors(path);
  EXPECT_ERROR_HAS(r, "exceeds the limit of 100000000 bytes");
  EXPECT_ERROR_HAS(r, path);
  auto not_json = ReadSafetensors(WriteSafetensorsWithHeader("start.safetensors", " {}", 0));
  EXPECT_ERROR_HAS(not_json, "does not start with '{'");
}

// Kind 9: agreeing with PyTorch and the safetensors library -------------------

// The issue's zip with two entries of one name: torch.load reads the first.
TEST(Reference, DuplicateZipEntriesReadTheFirstAsTorchLoadDoes) {
  std::string dir = TempDir();
  ASSERT_EQ(RunPython(R"PY(
import sys, pickle, zipfile, torch
path = sys.argv[1] + "/dup.pth"
with zipfile.ZipFile(path, "w") as z:
    z.writestr("archive/data.pkl", pickle.dumps({"x": 1}, protocol=2))
    z.writestr("archive/data.pkl", pickle.dumps({"x": 2}, protocol=2))
    z.writestr("archive/byteorder", "little")
    z.writestr("archive/version", "3\n")
assert torch.load(path, weights_only=True) == {"x": 1}
# Entries in two top folders: refused.
with zipfile.ZipFile(sys.argv[1] + "/folders.pth", "w") as z:
    z.writestr("b/data.pkl", pickle.dumps({"x": "b"}, protocol=2))
    z.writestr("b/version", "3\n")
    z.writestr("a/data.pkl", pickle.dumps({"x": "a"}, protocol=2))
try:
    torch.load(sys.argv[1] + "/folders.pth", weights_only=True)
    sys.exit("torch.load read folders.pth")
except RuntimeError as e:
    assert "not in a subdirectory" in str(e), e
)PY",
                      dir),
            0);
  auto r = ReadPth(dir + "/dup.pth");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(std::get<int64_t>(r->find("x")->v), 1);
  auto f = ReadPth(dir + "/folders.pth");
  EXPECT_ERROR_HAS(f, "entry 'a/data.pkl' lies outside the archive's folder 'b/'");
}

TEST(Reference, DuplicateStorageRecordsReadTheFirst) {
  std::string pickle = PickleBytes().Op("}").Str("w").Op(PickleBytes().Tensor(2, {2}, {1}).b.substr(2)).Op("s").Stop();
  std::string path = TempDir() + "/dup_storage.pth";
  const float first[2] = {1, 2}, second[2] = {3, 4};
  ASSERT_TRUE(AtomicWrite(path, [&](FileWriter& out) {
                ZipWriter zip(&out);
                zip.Add("archive/data.pkl", pickle.data(), pickle.size());
                zip.Add("archive/data/0", first, sizeof(first));
                zip.Add("archive/data/0", second, sizeof(second));
                zip.Add("archive/version", "3\n", 2);
                zip.Finish();
                return absl::OkStatus();
              }).ok());
  auto r = ReadPth(path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(at::equal(std::get<at::Tensor>(r->find("w")->v), at::tensor({1.0f, 2.0f})));
}

// The issue's overlapping data ranges, refused as the safetensors library does.
TEST(Reference, OverlappingSafetensorsRangesAreRefused) {
  auto r = ReadSafetensors(WriteSafetensorsWithHeader(
      "overlap.safetensors",
      R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}})",
      24));
  EXPECT_ERROR_HAS(r, "tensor 'b' starts at data byte 8, inside the tensor before it (overlap)");
  auto same = ReadSafetensors(WriteSafetensorsWithHeader(
      "same.safetensors",
      R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
      16));
  EXPECT_ERROR_HAS(same, "(overlap)");
}

TEST(Reference, GapsAndUncoveredBytesAreRefusedAndOrderFollowsTheData) {
  auto gap = ReadSafetensors(WriteSafetensorsWithHeader(
      "gap.safetensors",
      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
      12));
  EXPECT_ERROR_HAS(gap, "after a gap");
  auto tail = ReadSafetensors(
      WriteSafetensorsWithHeader("tail.safetensors", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8));
  EXPECT_ERROR_HAS(tail, "the tensors cover 4 of its 8 data bytes");
  auto order = ReadSafetensors(WriteSafetensorsWithHeader(
      "order.safetensors",
      R"({"z":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
      8));
  ASSERT_TRUE(order.ok()) << order.status();
  EXPECT_EQ((*order)[0].name, "z");
}

// Kind 12: files that are not files -------------------------------------------

TEST(NotAFile, FifoAndDirectoryAreRefusedWithoutBlocking) {
  std::string fifo = TempDir() + "/weights.pth";
  ::unlink(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto a = ReadStateDict(fifo);
  EXPECT_ERROR_HAS(a, fifo + " is not a regular file");
  auto b = ReadPth(fifo);
  EXPECT_ERROR_HAS(b, "is not a regular file");
  auto c = ReadSafetensors(fifo);
  EXPECT_ERROR_HAS(c, "is not a regular file");
  auto d = ReadStateDict(TempDir());
  EXPECT_ERROR_HAS(d, "is not a regular file");
  auto e = ReadStateDict(fifo + ":ema");  // FILE:ENTRY with a FIFO as FILE
  EXPECT_ERROR_HAS(e, "is not a regular file");
}

// Kind 13: what outlives loading does not view the file -----------------------

// Rewriting the file in place (truncate, write) while a mapped view lives
// raises SIGBUS; the readers' results must survive it.
TEST(Mapping, ResultsSurviveTheFileBeingTruncated) {
  std::string dir = TempDir();
  TensorList tensors = {{"pos", at::arange(0, 5120 * 4, at::kFloat).reshape({4, 5120})}};
  ASSERT_TRUE(WriteSafetensors(dir + "/e.safetensors", tensors).ok());
  ASSERT_TRUE(WritePth(dir + "/e.pth", FromTensorList(tensors)).ok());
  ASSERT_TRUE(WritePth(dir + "/bare.pt", PyValue{tensors[0].tensor}).ok());
  auto st = ReadSafetensors(dir + "/e.safetensors");
  auto pth = ReadPth(dir + "/e.pth");
  auto sd = ReadStateDict(dir + "/e.pth");
  auto emb = text::LoadTextEmbeddings(dir + "/bare.pt", 5120);
  ASSERT_TRUE(st.ok() && pth.ok() && sd.ok() && emb.ok());
  for (const char* name : {"/e.safetensors", "/e.pth", "/bare.pt"}) WriteAll(dir + name, "");
  EXPECT_TRUE(at::equal((*st)[0].tensor, tensors[0].tensor));
  EXPECT_TRUE(at::equal(std::get<at::Tensor>(pth->find("pos")->v), tensors[0].tensor));
  EXPECT_TRUE(at::equal((*sd)[0].tensor, tensors[0].tensor));
  EXPECT_TRUE(at::equal(emb->pos.to(at::kFloat), tensors[0].tensor));
}

}  // namespace
}  // namespace seedvr::core
