// Small helpers shared by the command-line tools.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace seedvr::core {

// `bazel run` starts tools inside their runfiles tree; relative paths on the
// command line mean the user's directory, so go back there.
inline void EnterUserWorkingDirectory() {
  if (const char* dir = std::getenv("BUILD_WORKING_DIRECTORY"); dir != nullptr && *dir != '\0') {
    if (::chdir(dir) != 0) std::abort();
  }
}

// Every tool calls this first. An exception that nothing caught (a
// c10::Error from ATen on a shape no reader foresaw, std::bad_alloc, a
// filesystem error), in main or in any thread, then ends the process with the
// one line "TOOL: error: MESSAGE" on stderr and exit status 1, instead of an
// abort with a core dump and a C++ backtrace.
void ExitOnUncaughtException(const char* tool);

// absl::ParseCommandLine for the tools with Abseil flags, except that --help
// (or -h) prints the usage message and the flags the tool's own source
// (tools/*.cc) defines on stdout and exits 0; Debian's Abseil 20220623 exits
// 1 after its --help. --helpfull and the other usage flags stay Abseil's.
// Returns the positional arguments, argv[0] first, as ParseCommandLine does.
std::vector<char*> ParseToolCommandLine(int argc, char** argv);

}  // namespace seedvr::core
