// Minimal logging for the data layer: one line per message on stderr, with a
// replaceable sink so the trainer can route it to its own log.
#pragma once

#include <functional>
#include <string>

namespace seedvr::data {

enum class LogLevel { kInfo, kWarning, kError };

using LogSink = std::function<void(LogLevel, const std::string&)>;

// Installs `sink` (nullptr restores the default stderr sink). Thread-safe.
void SetDataLogSink(LogSink sink);
void DataLog(LogLevel level, const std::string& message);

}  // namespace seedvr::data
