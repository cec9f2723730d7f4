// Structured logging: one JSON object per line on stderr.
//
//   LogLine(LogLevel::kInfo, "request").Str("request_id", id).Int("status", 200);
//
// The line is written when the LogLine is destroyed, in one write under a mutex, so
// lines from different threads never interleave. Lines below the level set with
// SetLogLevel are dropped without formatting. Never pass secrets (private keys, token
// secrets, Authorization headers) to a LogLine: there is no redaction here because
// nothing secret is ever handed to it.
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
