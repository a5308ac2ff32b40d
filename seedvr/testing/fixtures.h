// Where tests find the shared reference data (`../shared` beside the clone)
// and the Python with torch. tools/test.sh exports SEEDVR_SHARED_DIR and
// SEEDVR_PYTHON; Bazel passes them to every test.
#pragma once

#include <cstdlib>
#include <string>

namespace seedvr::testing {

inline std::string SharedDir() {
  const char* dir = std::getenv("SEEDVR_SHARED_DIR");
  return dir != nullptr && *dir != '\0' ? std::string(dir) : std::string("../shared");
}

// Path of a file under shared/fixtures, e.g. FixturePath("dit3b_a/io.safetensors").
inline std::string FixturePath(const std::string& relative) {
  return SharedDir() + "/fixtures/" + relative;
}

// The Python with the pinned torch (tools/setup.sh; tools/test.sh exports
// SEEDVR_PYTHON), for torch.load checks and torchrun.
inline std::string Python() {
  const char* p = std::getenv("SEEDVR_PYTHON");
  return p != nullptr && *p != '\0' ? std::string(p) : std::string("/opt/seedvr/venv/bin/python");
}

// A fresh directory under the test's scratch space.
inline std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? std::string(dir) : std::string("/tmp");
}

}  // namespace seedvr::testing
