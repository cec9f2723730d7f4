// AuditLog: who may read the audit trail, and how (docs/audit.md). The events themselves
// are written by the store with each change (store::EventRecord); this only reads them.
#ifndef KEYPAIRD_SERVICE_AUDIT_LOG_H_
#define KEYPAIRD_SERVICE_AUDIT_LOG_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "auth/tokens.h"
#include "common/clock.h"
#include "common/status.h"
#include "store/key_store.h"

namespace keypaird::service {

class AuditLog {
 public:
  explicit AuditLog(store::KeyStore* store) : store_(store) {}

  // The events `query` selects. Only administrators read the audit trail:
  // kPermissionDenied for anyone else. An administrator's token covers every project
  // (and the events of none, such as tokens'); a project filter narrows it.
  StatusOr<store::EventPage> List(const auth::Principal& caller,
                                  const store::EventQuery& query) const;

 private:
  store::KeyStore* store_;  // not owned
};

// The audit trail's retention (serve --events-retention): a thread that deletes events
// older than the retention, in batches of a few hundred rows (each one short write, so the
// writer is never held long), every tenth of the retention (at least every second, at
// most every minute).
class EventPruner {
 public:
  EventPruner(store::KeyStore* store, std::chrono::milliseconds retention,
              Clock now = SystemNowMicros, int64_t batch = 500);
  ~EventPruner();  // stops the thread, if started
  EventPruner(const EventPruner&) = delete;
  EventPruner& operator=(const EventPruner&) = delete;

  void Start();
  void Stop();

  // One pass: batches until nothing older than the retention is left (or an error);
  // how many events it deleted.
  StatusOr<int64_t> PruneOnce();

 private:
  void Run();

  store::KeyStore* store_;  // not owned
  const std::chrono::milliseconds retention_;
  const Clock now_;
  const int64_t batch_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace keypaird::service

#endif  // KEYPAIRD_SERVICE_AUDIT_LOG_H_
