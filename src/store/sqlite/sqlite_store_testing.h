// Test-only introspection of a SQLite KeyStore. Not for production code: it exists so
// that sqlite_store_test.cc can check per-connection settings and query plans without
// SQL leaking into the KeyStore interface.
#ifndef KEYPAIRD_STORE_SQLITE_SQLITE_STORE_TESTING_H_
#define KEYPAIRD_STORE_SQLITE_SQLITE_STORE_TESTING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/key_store.h"

namespace keypaird::store {

struct SqliteConnectionSettings {
  std::string journal_mode;  // "wal" for a file database
  int64_t synchronous = -1;  // 2 = FULL
  int64_t foreign_keys = -1;
  int64_t busy_timeout_ms = -1;
};

// The settings of every pooled connection (the writer first, then the readers) of a
// store made by OpenStore("sqlite:..."). Waits until each connection is free.
// kInvalidArgument if `store` is not a SQLite store.
StatusOr<std::vector<SqliteConnectionSettings>> SqliteConnectionSettingsForTesting(KeyStore& store);

// The EXPLAIN QUERY PLAN lines (the `detail` column) of the page query ListKeys runs
// for `query`. kInvalidArgument if `store` is not a SQLite store.
StatusOr<std::vector<std::string>> SqliteListKeysPlanForTesting(KeyStore& store,
                                                                const ListQuery& query);

// What the group-committing writer has done since the store was opened: committed
// write transactions and the ops (InsertKey, DeleteKey, SetShared, InsertToken,
// RevokeToken; successful or not) they carried. Migrations are not counted.
struct SqliteWriteStats {
  int64_t transactions = 0;
  int64_t operations = 0;
  int64_t largest_batch = 0;  // most ops in one transaction
};
StatusOr<SqliteWriteStats> SqliteWriteStatsForTesting(KeyStore& store);

// The newest schema version this build knows (= the number of migration steps).
int SqliteLatestSchemaVersionForTesting();

}  // namespace keypaird::store

#endif  // KEYPAIRD_STORE_SQLITE_SQLITE_STORE_TESTING_H_
