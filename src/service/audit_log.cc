#include "service/audit_log.h"

#include <algorithm>

#include "common/log.h"

namespace keypaird::service {

StatusOr<store::EventPage> AuditLog::List(const auth::Principal& caller,
                                          const store::EventQuery& query) const {
  // An administrator's token reads every event; a project's administrator (a grant's
  // role) the events of the projects it names, each of which it administers.
  bool allowed = caller.admin;
  if (!allowed && query.project_ids.has_value() && !query.project_ids->empty()) {
    allowed = std::all_of(query.project_ids->begin(), query.project_ids->end(),
                          [&](int64_t p) { return p >= 1 && caller.Administers(p); });
  }
  if (!allowed) {
    return PermissionDenied(
        "Only an administrator may read the audit trail (a project's administrator, its "
        "project's events).");
  }
  if (query.limit == 0 && !query.with_total) return store::EventPage{};  // nothing to read
  return store_->ListEvents(query);
}

EventPruner::EventPruner(store::KeyStore* store, std::chrono::milliseconds retention, Clock now,
                         int64_t batch)
    : store_(store), retention_(retention), now_(std::move(now)), batch_(batch) {}

EventPruner::~EventPruner() { Stop(); }

void EventPruner::Start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
}

void EventPruner::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

StatusOr<int64_t> EventPruner::PruneOnce() {
  const int64_t before_us =
      now_() - std::chrono::duration_cast<std::chrono::microseconds>(retention_).count();
  int64_t total = 0;
  for (;;) {
    StatusOr<int64_t> pruned = store_->PruneEvents(before_us, batch_);
    if (!pruned.ok()) return pruned.status();
    total += *pruned;
    if (*pruned < batch_) return total;
    std::unique_lock lock(mu_);
    if (stop_) return total;
  }
}

void EventPruner::Run() {
  const auto interval = std::clamp<std::chrono::milliseconds>(
      retention_ / 10, std::chrono::seconds(1), std::chrono::minutes(1));
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    StatusOr<int64_t> pruned = PruneOnce();
    if (!pruned.ok()) {
      LogLine(LogLevel::kWarn, "pruning the audit trail failed")
          .Str("error", pruned.status().message());
    } else if (*pruned > 0) {
      LogLine(LogLevel::kInfo, "audit trail pruned").Int("events", *pruned);
    }
    lock.lock();
    wake_.wait_for(lock, interval, [this] { return stop_; });
  }
}

}  // namespace keypaird::service
