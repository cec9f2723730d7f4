#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "common/json_writer.h"
#include "common/rfc3339.h"

namespace keypaird {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_write_mu;

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

std::string NowRfc3339() {
  return FormatRfc3339(std::chrono::duration_cast<std::chrono::microseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
}

}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (name == LevelName(l)) return l;
  }
  return std::nullopt;
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

LogLine::LogLine(LogLevel level, std::string_view message) : enabled_(LogEnabled(level)) {
  if (!enabled_) return;
  line_.reserve(256);
  line_ += "{\"time\":";
  AppendJsonString(&line_, NowRfc3339());
  line_ += ",\"level\":";
  AppendJsonString(&line_, LevelName(level));
  line_ += ",\"msg\":";
  AppendJsonString(&line_, message);
}

LogLine& LogLine::Str(std::string_view key, std::string_view value) {
  if (!enabled_) return *this;
  line_ += ',';
  AppendJsonString(&line_, key);
  line_ += ':';
  AppendJsonString(&line_, value);
  return *this;
}

LogLine& LogLine::Int(std::string_view key, int64_t value) {
  if (!enabled_) return *this;
  line_ += ',';
  AppendJsonString(&line_, key);
  line_ += ':';
  line_ += std::to_string(value);
  return *this;
}

LogLine& LogLine::Num(std::string_view key, double value) {
  if (!enabled_) return *this;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", value);
  line_ += ',';
  AppendJsonString(&line_, key);
  line_ += ':';
  line_ += buf;
  return *this;
}

void LogMessage(LogLevel level, std::string_view message) { LogLine line(level, message); }

LogLine::~LogLine() {
  if (!enabled_) return;
  line_ += "}\n";
  std::lock_guard<std::mutex> lock(g_write_mu);
  std::fwrite(line_.data(), 1, line_.size(), stderr);
  std::fflush(stderr);
}

}  // namespace keypaird
