#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "common/json_writer.h"
#include "common/rfc3339.h"
#include "common/worker_pool.h"

namespace keypaird {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::mutex g_write_mu;  // one fwrite at a time

void WriteNow(std::string_view text) {
  std::lock_guard<std::mutex> lock(g_write_mu);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

// The queue behind BackgroundLogWriter.
class Batcher {
 public:
  // Queues `line`; false if no writer runs (the caller writes it itself).
  bool Enqueue(std::string_view line) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!running_) return false;
    // Bounded: if stderr cannot keep up, callers wait rather than memory growing.
    room_.wait(lock, [&] { return pending_.size() < kMaxPending || !running_; });
    if (!running_) return false;
    const bool was_empty = pending_.empty();
    pending_.append(line);
    lock.unlock();
    if (was_empty) wake_.notify_one();
    return true;
  }

  void Start() {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = true;
    thread_ = std::thread([this] {
      SetThreadName("kpd-log");
      Loop();
    });
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_ = false;
    }
    wake_.notify_one();
    room_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  static constexpr size_t kMaxPending = 4 << 20;
  static constexpr std::chrono::milliseconds kBatchWindow{2};

  void Loop() {
    std::string batch;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      wake_.wait(lock, [&] { return !pending_.empty() || !running_; });
      if (pending_.empty()) return;  // stopped and drained
      batch.swap(pending_);
      const bool running = running_;
      lock.unlock();
      room_.notify_all();
      WriteNow(batch);
      batch.clear();
      // Let the next batch gather (notifications meanwhile cost nothing: no waiter).
      if (running) std::this_thread::sleep_for(kBatchWindow);
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable wake_;  // the writer: lines queued, or stop
  std::condition_variable room_;  // callers: the queue has room again
  std::string pending_;
  bool running_ = false;
  std::thread thread_;
};

Batcher g_batcher;

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
  line_ += ',';
  AppendJsonString(&line_, key);
  line_ += ':';
  // Three decimals, by integer arithmetic (snprintf's float formatting showed in the
  // profile of every request); JSON has no NaN or infinities.
  if (!std::isfinite(value) || std::fabs(value) >= 9e15) {
    line_ += "null";
    return *this;
  }
  int64_t thousandths = std::llround(value * 1000);
  if (thousandths < 0) {
    line_ += '-';
    thousandths = -thousandths;
  }
  line_ += std::to_string(thousandths / 1000);
  const int64_t frac = thousandths % 1000;
  line_ += '.';
  line_ += static_cast<char>('0' + frac / 100);
  line_ += static_cast<char>('0' + frac / 10 % 10);
  line_ += static_cast<char>('0' + frac % 10);
  return *this;
}

void LogMessage(LogLevel level, std::string_view message) { LogLine line(level, message); }

BackgroundLogWriter::BackgroundLogWriter() { g_batcher.Start(); }

BackgroundLogWriter::~BackgroundLogWriter() { g_batcher.Stop(); }

LogLine::~LogLine() {
  if (!enabled_) return;
  line_ += "}\n";
  if (!g_batcher.Enqueue(line_)) WriteNow(line_);
}

}  // namespace keypaird
