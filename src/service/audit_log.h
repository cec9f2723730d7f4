// AuditLog: who may read the audit trail, and how (docs/audit.md). The events themselves
// are written by the store with each change (store::EventRecord); this only reads them.
#ifndef KEYPAIRD_SERVICE_AUDIT_LOG_H_
#define KEYPAIRD_SERVICE_AUDIT_LOG_H_

#include "auth/tokens.h"
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

}  // namespace keypaird::service

#endif  // KEYPAIRD_SERVICE_AUDIT_LOG_H_
