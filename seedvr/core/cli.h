// Small helpers shared by the command-line tools.
#pragma once

#include <unistd.h>

#include <cstdlib>

namespace seedvr::core {

// `bazel run` starts tools inside their runfiles tree; relative paths on the
// command line mean the user's directory, so go back there.
inline void EnterUserWorkingDirectory() {
  if (const char* dir = std::getenv("BUILD_WORKING_DIRECTORY"); dir != nullptr && *dir != '\0') {
    if (::chdir(dir) != 0) std::abort();
  }
}

}  // namespace seedvr::core
