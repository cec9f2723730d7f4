// Structured logging: one JSON object per line on stderr.
//
//   LogLine(LogLevel::kInfo, "request").Str("request_id", id).Int("status", 200);
//
// The line is written when the LogLine is destroyed, in one write under a mutex, so
// lines from different threads never interleave; while a BackgroundLogWriter exists
// (the server), lines are instead queued and written in batches by its thread. Lines below the
// level set with SetLogLevel are dropped without formatting. Never pass secrets (private keys,
// token secrets, Authorization headers) to a LogLine: there is no redaction here because nothing
// secret is ever handed to it.
#ifndef KEYPAIRD_COMMON_LOG_H_
#define KEYPAIRD_COMMON_LOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keypaird {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

std::optional<LogLevel> ParseLogLevel(std::string_view name);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

// A line with no fields but the message.
void LogMessage(LogLevel level, std::string_view message);

// While one of these exists, log lines are queued in memory and written to stderr by a
// thread of its own, in batches at most every couple of milliseconds: one write(2) per
// batch instead of one per request. Destroying it writes everything queued. A line is
// thus on stderr within milliseconds, not at once: a process killed outright (SIGKILL)
// may lose its last few milliseconds of lines. At most one at a time.
class BackgroundLogWriter {
 public:
  BackgroundLogWriter();
  ~BackgroundLogWriter();
  BackgroundLogWriter(const BackgroundLogWriter&) = delete;
  BackgroundLogWriter& operator=(const BackgroundLogWriter&) = delete;
};

class LogLine {
 public:
  LogLine(LogLevel level, std::string_view message);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  LogLine& Str(std::string_view key, std::string_view value);
  LogLine& Int(std::string_view key, int64_t value);
  LogLine& Num(std::string_view key, double value);

 private:
  bool enabled_;
  std::string line_;
};

}  // namespace keypaird

#endif  // KEYPAIRD_COMMON_LOG_H_
