// SQLite migrations: the shared schema steps (sql::Migrate, store/sql/schema.h) applied
// on the writer connection. BEGIN IMMEDIATE takes the write lock, so processes that open
// the same new file at once migrate one after another. Internal to store/sqlite/.
//
// Threading: runs on the caller's thread, on a connection no one else uses yet.
#ifndef KEYPAIRD_STORE_SQLITE_MIGRATIONS_H_
#define KEYPAIRD_STORE_SQLITE_MIGRATIONS_H_

#include <memory>

#include "store/sql/schema.h"
#include "store/sqlite/driver.h"

namespace keypaird::store::sqlite {

// The migration session for sql::Migrate on `conn`, which it must outlive.
std::unique_ptr<sql::MigrationSession> MigrationSessionOn(Connection& conn);

}  // namespace keypaird::store::sqlite

#endif  // KEYPAIRD_STORE_SQLITE_MIGRATIONS_H_
