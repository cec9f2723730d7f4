// SQLite reads: a key, a token or a page of ListKeys on a connection the caller holds
// (a leased reader, the writer inside an op, or a snapshot's), and KeyStore::Snapshot as
// one leased reader connection in one read transaction. Internal to store/sqlite/.
//
// Threading: each function uses only the connection it is given, which the caller holds
// exclusively; a snapshot holds its lease (one thread at a time) until destroyed.
#ifndef KEYPAIRD_STORE_SQLITE_READS_H_
#define KEYPAIRD_STORE_SQLITE_READS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "store/key_store.h"
#include "store/sql/rows.h"
#include "store/sqlite/driver.h"
#include "store/sqlite/unchanged.h"

namespace keypaird::store::sqlite {

StatusOr<KeyRecord> GetKeyOn(Connection& conn, std::string_view id);
StatusOr<KeyRecord> GetKeyByNameOn(Connection& conn, int64_t project_id, std::string_view name);
StatusOr<TokenRecord> GetTokenOn(Connection& conn, std::string_view id);
StatusOr<int64_t> AuthGenerationOn(Connection& conn);
StatusOr<ProjectGenerations> GenerationsOfOn(Connection& conn, int64_t project_id);
StatusOr<UserRecord> GetUserOn(Connection& conn, int64_t id);

// ListKeys' page statement: the shared ListSql plus LIMIT and OFFSET as its last two
// parameters.
std::string ListPageSql(const sql::ListSql& list);
// One read transaction (or the caller's): the total and the page from one snapshot.
StatusOr<KeyPage> ListKeysOn(Connection& conn, const ListQuery& query);

// One read transaction (or the caller's): the count, if asked for, and the page.
StatusOr<EventPage> ListEventsOn(Connection& conn, const EventQuery& query);

// KeyStore::Snapshot over `lease` (or its error, which every read then returns). With
// `unchanged` (not owned; null for none), the generations may come from its memo while
// the database has not changed (unchanged.h).
std::unique_ptr<KeyReader> MakeSnapshot(StatusOr<Pool::Lease> lease, Unchanged* unchanged);

}  // namespace keypaird::store::sqlite

#endif  // KEYPAIRD_STORE_SQLITE_READS_H_
