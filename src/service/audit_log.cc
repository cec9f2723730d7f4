#include "service/audit_log.h"

namespace keypaird::service {

StatusOr<store::EventPage> AuditLog::List(const auth::Principal& caller,
                                          const store::EventQuery& query) const {
  if (!caller.admin) {
    return PermissionDenied("Only an administrator's token may read the audit trail.");
  }
  return store_->ListEvents(query);
}

}  // namespace keypaird::service
