#include "seedvr/data/log.h"

#include <cstdio>
#include <mutex>

namespace seedvr::data {
namespace {
std::mutex& LogMutex() {
  static std::mutex m;
  return m;
}
LogSink& Sink() {
  static LogSink sink;
  return sink;
}
}  // namespace

void SetDataLogSink(LogSink sink) {
  std::lock_guard<std::mutex> lock(LogMutex());
  Sink() = std::move(sink);
}

void DataLog(LogLevel level, const std::string& message) {
  std::lock_guard<std::mutex> lock(LogMutex());
  if (Sink()) {
    Sink()(level, message);
    return;
  }
  const char* tag = level == LogLevel::kInfo ? "INFO" : level == LogLevel::kWarning ? "WARNING" : "ERROR";
  std::fprintf(stderr, "[data] %s: %s\n", tag, message.c_str());
  std::fflush(stderr);
}

}  // namespace seedvr::data
