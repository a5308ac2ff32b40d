#include "seedvr/core/cli.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"

namespace seedvr::core {
namespace {

const char* tool_name = "seedvr";

[[noreturn]] void ReportAndExit() {
  std::string message = "terminated without an exception (a bug)";
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const c10::Error& error) {
      message = error.what_without_backtrace();  // ATen's backtrace helps nobody who runs the tool
    } catch (const std::exception& error) {
      message = error.what();
    } catch (...) {
      message = "unknown exception";
    }
  }
  std::fflush(stdout);
  std::fprintf(stderr, "%s: error: %s\n", tool_name, message.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

}  // namespace

void ExitOnUncaughtException(const char* tool) {
  tool_name = tool;
  std::set_terminate(ReportAndExit);
}

std::vector<char*> ParseToolCommandLine(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) break;
    if (std::strcmp(argv[i], "--help") != 0 && std::strcmp(argv[i], "-help") != 0 && std::strcmp(argv[i], "-h") != 0) {
      continue;
    }
    std::vector<const absl::CommandLineFlag*> own;
    for (const auto& [name, flag] : absl::GetAllFlags()) {
      if (absl::StartsWith(flag->Filename(), "tools/")) own.push_back(flag);
    }
    std::sort(own.begin(), own.end(), [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
    std::printf("%s\n\nFlags:\n", std::string(absl::ProgramUsageMessage()).c_str());
    for (const absl::CommandLineFlag* flag : own) {
      std::printf("  --%s (%s); default: %s\n", std::string(flag->Name()).c_str(), flag->Help().c_str(),
                  flag->DefaultValue().c_str());
    }
    std::exit(0);
  }
  return absl::ParseCommandLine(argc, argv);
}

}  // namespace seedvr::core
