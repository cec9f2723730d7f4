// PostgreSQL migrations: the shared schema steps (sql::Migrate, store/sql/schema.h) in
// one transaction under a transaction-level advisory lock, which serialises the nodes
// that migrate at the same time. Internal to store/postgres/.
//
// Threading: runs on the caller's thread, on a connection it holds.
#ifndef KEYPAIRD_STORE_POSTGRES_MIGRATIONS_H_
#define KEYPAIRD_STORE_POSTGRES_MIGRATIONS_H_

#include <memory>

#include "store/postgres/driver.h"
#include "store/sql/schema.h"

namespace keypaird::store::pg {

// The migration session for sql::Migrate on `conn`, which it must outlive.
std::unique_ptr<sql::MigrationSession> MigrationSessionOn(Connection& conn);

}  // namespace keypaird::store::pg

#endif  // KEYPAIRD_STORE_POSTGRES_MIGRATIONS_H_
