#include "seedvr/core/cli.h"

#include <c10/util/Exception.h>

#include <cstdio>
#include <exception>
#include <string>

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

}  // namespace seedvr::core
