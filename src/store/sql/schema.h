// The database schema of the SQL backends, in one place: the list of migration steps
// (each written for SQLite and for PostgreSQL side by side, so that the two cannot
// drift) and the one runner that applies them. Internal to store/.
//
// Versions: step i of MigrationSteps() has version i + 1. Append new steps at the end;
// never edit or reorder applied ones. A database that records a version this build does
// not know was migrated by a newer keypaird and is refused.
#ifndef KEYPAIRD_STORE_SQL_SCHEMA_H_
#define KEYPAIRD_STORE_SQL_SCHEMA_H_

#include <cstdint>
#include <functional>
#include <set>
#include <span>

#include "common/status.h"
#include "store/key_store.h"

namespace keypaird::store::sql {

enum class Dialect { kSqlite, kPostgres };

struct MigrationStep {
  const char* sqlite;    // the step's statements on SQLite
  const char* postgres;  // the same step on PostgreSQL
  // After the statements: fill type, bits, comment and fingerprint_sha256 of every key
  // whose type is '' (MigrationSession::DescribeKeys).
  bool describe_keys = false;
  const char* For(Dialect d) const { return d == Dialect::kSqlite ? sqlite : postgres; }
};

std::span<const MigrationStep> MigrationSteps();
int LatestSchemaVersion();

// What the runner needs from one backend connection.
class MigrationSession {
 public:
  virtual ~MigrationSession() = default;
  // The versions recorded in schema_migrations; none if the table does not exist.
  virtual StatusOr<std::set<int64_t>> AppliedVersions() = 0;
  // Begins the migration transaction, exclusive against other processes or nodes that
  // migrate at the same time, and creates schema_migrations if it is missing.
  virtual Status Begin() = 0;
  // Runs a step's statements (no parameters) and records `version` as applied.
  virtual Status Apply(int version, const char* statements) = 0;
  // Fills the derived columns of every key whose type is '' with `describe`
  // (StoreOptions::describe_key); kInternal if there are such keys and no `describe`.
  virtual Status DescribeKeys(const std::function<Status(KeyRecord*)>& describe) = 0;
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
};

// Brings the schema to LatestSchemaVersion() in one transaction (the applied versions
// are read again under its lock), or, when !apply, checks that it is there:
// kUnavailable "run `keypaird migrate`" if not, kUnavailable "upgrade keypaird" for a
// database with unknown versions.
Status Migrate(MigrationSession& session, Dialect dialect, bool apply,
               const std::function<Status(KeyRecord*)>& describe_key);

}  // namespace keypaird::store::sql

#endif  // KEYPAIRD_STORE_SQL_SCHEMA_H_
