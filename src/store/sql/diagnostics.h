// Diagnostics: what the SQL backends show of themselves besides the KeyStore interface,
// for tests (store/testing/) and operators' tools, never for request handling. Both SQL
// backends implement it next to KeyStore; DiagnosticsOf finds it. Internal to store/.
#ifndef KEYPAIRD_STORE_SQL_DIAGNOSTICS_H_
#define KEYPAIRD_STORE_SQL_DIAGNOSTICS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/key_store.h"

namespace keypaird::store::sql {

// What a group-committing writer has done since the store was opened: committed write
// transactions and the ops (successful or not) they carried. Migrations not counted.
struct WriteStats {
  int64_t transactions = 0;
  int64_t operations = 0;
  int64_t largest_batch = 0;  // most ops in one transaction
  // The WAL syncs that made them durable, and the transactions those covered: every
  // acknowledged write's transaction is among them.
  int64_t syncs = 0;
  int64_t synced_transactions = 0;
};

class Diagnostics {
 public:
  virtual ~Diagnostics() = default;

  // The plan of the page statement ListKeys runs for `query`, one line per plan line
  // (SQLite: EXPLAIN QUERY PLAN details; PostgreSQL: EXPLAIN, planned with sequential
  // scans and sorts disabled unless nothing else can answer it).
  virtual StatusOr<std::vector<std::string>> ExplainListKeys(const ListQuery& query) = 0;

  // Runs a read-only statement without parameters on every pooled connection (opening
  // those that are closed), the writer's first; the first column of its first row on
  // each ("" if it returned none).
  virtual StatusOr<std::vector<std::string>> OnEveryConnection(const std::string& sql) = 0;

  // Group commit (SQLite); all zero where every write commits on its own.
  virtual WriteStats write_stats() const { return {}; }

  // SQLite: generations a snapshot took from the memo of an unchanged database instead of
  // reading them in a transaction (sqlite/unchanged.h). Zero elsewhere.
  virtual int64_t unchanged_hits() const { return 0; }

  // SQLite: the writer's next WAL sync fails as a failing disk's would (tests of what
  // happens then). Nothing elsewhere.
  virtual void FailNextSyncForTesting() {}
};

// The diagnostics of a store made by OpenStore, or nullptr (the in-memory fake).
inline Diagnostics* DiagnosticsOf(KeyStore& store) { return dynamic_cast<Diagnostics*>(&store); }

}  // namespace keypaird::store::sql

#endif  // KEYPAIRD_STORE_SQL_DIAGNOSTICS_H_
