// What the SQL backends share about rows: the column lists, a key or token as statement
// parameters, reading one back from a result row, and the SQL of a ListKeys query.
// Internal to store/; each backend only binds SqlValues and offers a Row (below) in its
// driver's terms.
//
// A Row is any type with, for a 0-based column:
//   std::string Text(int) const;  int64_t Int64(int) const;  bool Bool(int) const;
//   bool IsNull(int) const;       StatusOr<std::string> Blob(int) const;
#ifndef KEYPAIRD_STORE_SQL_ROWS_H_
#define KEYPAIRD_STORE_SQL_ROWS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"
#include "store/key_store.h"
#include "store/sql/schema.h"

namespace keypaird::store::sql {

struct SqlNull {};
struct SqlBlob {
  std::string bytes;
};
// A statement parameter.
using SqlValue = std::variant<SqlNull, int64_t, bool, std::string, SqlBlob>;

// Parameter n (1-based) as the dialect writes it: ?n (SQLite) or $n (PostgreSQL).
std::string Param(Dialect dialect, size_t n);

// ---- keys

inline constexpr char kKeyColumns[] =
    "id, project_id, user_id, name, public_key, fingerprint, shared_in_project, created_at_us";
inline constexpr int kKeyColumnCount = 8;

// The values of kKeyColumns, in order.
std::vector<SqlValue> KeyValues(const KeyRecord& key);

template <typename Row>
KeyRecord ReadKey(const Row& row) {
  KeyRecord key;
  key.id = row.Text(0);
  key.project_id = row.Int64(1);
  key.user_id = row.Int64(2);
  key.name = row.Text(3);
  key.public_key = row.Text(4);
  key.fingerprint = row.Text(5);
  key.shared_in_project = row.Bool(6);
  key.created_at_us = row.Int64(7);
  return key;
}

// ---- tokens

inline constexpr char kTokenColumns[] =
    "id, user_id, admin, projects, secret_hash, created_at_us, revoked_at_us";

// The values of kTokenColumns, in order.
std::vector<SqlValue> TokenValues(const TokenRecord& token, Dialect dialect);

// The projects column as either backend stores it ("1,2" or "{1,2}"); kInternal if it
// is neither.
StatusOr<std::vector<int64_t>> ParseProjects(std::string_view text);

template <typename Row>
StatusOr<TokenRecord> ReadToken(const Row& row) {
  TokenRecord token;
  token.id = row.Text(0);
  token.user_id = row.Int64(1);
  token.admin = row.Bool(2);
  StatusOr<std::vector<int64_t>> projects = ParseProjects(row.Text(3));
  if (!projects.ok()) return projects.status();
  token.projects = std::move(*projects);
  StatusOr<std::string> hash = row.Blob(4);
  if (!hash.ok()) return hash.status();
  token.secret_hash = std::move(*hash);
  token.created_at_us = row.Int64(5);
  if (!row.IsNull(6)) token.revoked_at_us = row.Int64(6);
  return token;
}

// ---- ListKeys

// The parts of a ListKeys statement for one ListQuery. Filter parameters are numbered
// from 1; a backend appends its own (limit, offset) after them.
struct ListSql {
  std::string where;  // " WHERE ..." or ""
  std::string order;  // " ORDER BY ..."
  std::vector<SqlValue> params;
  // Which filters are set and which order: one prepared statement per shape.
  std::string shape;
  // Every filter is on (project, owner, shared): a total can come from key_counts.
  bool counted_columns_only = true;
};

ListSql BuildListSql(const ListQuery& query, Dialect dialect);

}  // namespace keypaird::store::sql

#endif  // KEYPAIRD_STORE_SQL_ROWS_H_
