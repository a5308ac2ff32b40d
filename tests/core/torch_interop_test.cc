// Files written here are read by Python's torch.load (and the reverse), with
// the PyTorch that tools/setup.sh installs (SEEDVR_PYTHON).
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "seedvr/core/tensor_file.h"
#include "seedvr/testing/fixtures.h"

namespace seedvr::core {
namespace {

int RunPython(const std::string& script_path, const std::string& arg) {
  std::string cmd = testing::Python() + " " + script_path + " " + arg;
  return std::system(cmd.c_str());
}

std::string WriteScript(const std::string& name, const std::string& body) {
  std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path) << body;
  return path;
}

TEST(TorchInterop, TorchLoadReadsOurPth) {
  std::string dir = testing::TempDir();
  at::manual_seed(0);
  TensorList model = {{"w", at::randn({3, 4})},
                      {"b16", at::randn({5}).to(at::kBFloat16)},
                      {"h", at::randn({2, 2}).to(at::kHalf)},
                      {"idx", at::arange(0, 7, at::kLong)}};
  auto root = std::make_shared<PyDict>();
  root->emplace_back(PyValue{std::string("model")}, FromTensorList(model));
  root->emplace_back(PyValue{std::string("step")}, PyValue{int64_t{42}});
  root->emplace_back(PyValue{std::string("config")}, PyValue{std::string("a: 1")});
  ASSERT_TRUE(WritePth(dir + "/ours.pth", PyValue{root}).ok());
  ASSERT_TRUE(WriteSafetensors(dir + "/ours.safetensors", model).ok());

  std::string script = WriteScript("check.py", R"PY(
import sys, torch, struct, json
d = sys.argv[1]
for weights_only in (True, False):
    ck = torch.load(d + "/ours.pth", weights_only=weights_only)
    assert ck["step"] == 42 and ck["config"] == "a: 1", ck
    m = ck["model"]
    assert list(m) == ["w", "b16", "h", "idx"], list(m)
    assert m["b16"].dtype == torch.bfloat16 and m["h"].dtype == torch.float16
    assert m["idx"].tolist() == list(range(7))
# The same values through the safetensors file, parsed by hand.
raw = open(d + "/ours.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
off = hdr["w"]["data_offsets"]
w = torch.frombuffer(bytearray(raw[8 + n + off[0]:8 + n + off[1]]), dtype=torch.float32).reshape(3, 4)
assert torch.equal(w, m["w"])
torch.save({"nested": {"a": torch.arange(6, dtype=torch.int32).reshape(2, 3)},
            "od": __import__("collections").OrderedDict([("x", torch.ones(2, dtype=torch.bfloat16))]),
            "view": torch.arange(10.0)[2:8:2], "lr": 0.5, "name": "py", "n": None, "t": (1, 2)},
           d + "/theirs.pth")
)PY");
  ASSERT_EQ(RunPython(script, dir), 0) << "python check failed; SEEDVR_PYTHON=" << testing::Python();

  auto theirs = ReadPth(dir + "/theirs.pth");
  ASSERT_TRUE(theirs.ok()) << theirs.status();
  const at::Tensor a = std::get<at::Tensor>(theirs->find("nested")->find("a")->v);
  EXPECT_TRUE(at::equal(a, at::arange(6, at::kInt).reshape({2, 3})));
  const at::Tensor x = std::get<at::Tensor>(theirs->find("od")->find("x")->v);
  EXPECT_EQ(x.scalar_type(), at::kBFloat16);
  const at::Tensor view = std::get<at::Tensor>(theirs->find("view")->v);
  EXPECT_TRUE(at::equal(view, at::tensor({2.0f, 4.0f, 6.0f})));
  EXPECT_EQ(std::get<double>(theirs->find("lr")->v), 0.5);
  EXPECT_TRUE(theirs->find("n")->is_none());
}

TEST(TorchInterop, RefusesCodeExecutingPickles) {
  std::string dir = testing::TempDir();
  std::string script = WriteScript("evil.py", R"PY(
import sys, torch, os
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[1] + "/pwned",))
torch.save({"x": Evil()}, sys.argv[1] + "/evil.pth")
)PY");
  ASSERT_EQ(RunPython(script, dir), 0);
  auto r = ReadPth(dir + "/evil.pth");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("refusing global"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("system"), std::string::npos) << r.status();
  EXPECT_FALSE(std::ifstream(dir + "/pwned").good());
}

}  // namespace
}  // namespace seedvr::core
