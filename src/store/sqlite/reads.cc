#include "store/sqlite/reads.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "store/store_internal.h"

namespace keypaird::store::sqlite {

namespace {

template <typename BindFn>
StatusOr<KeyRecord> ReadOneKey(Connection& conn, const std::string& sql, BindFn bind) {
  auto stmt = conn.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  bind(*stmt);
  const int rc = stmt->Step();
  if (rc == SQLITE_DONE) return NotFound(std::string(kKeyNotFound));
  if (rc != SQLITE_ROW) return FromSqlite(rc);
  return sql::ReadKey(*stmt);
}

}  // namespace

StatusOr<KeyRecord> GetKeyOn(Connection& conn, std::string_view id) {
  return ReadOneKey(conn, Sql().get_key, [&](Stmt& stmt) { stmt.Bind(1, std::string(id)); });
}

StatusOr<KeyRecord> GetKeyByNameOn(Connection& conn, int64_t project_id, std::string_view name) {
  return ReadOneKey(conn, Sql().get_key_by_name, [&](Stmt& stmt) {
    stmt.Bind(1, project_id);
    stmt.Bind(2, std::string(name));
  });
}

StatusOr<TokenRecord> GetTokenOn(Connection& conn, std::string_view id) {
  auto stmt = conn.Prepare(Sql().get_token);
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, std::string(id));
  const int rc = stmt->Step();
  if (rc == SQLITE_DONE) return NotFound(std::string(kTokenNotFound));
  if (rc != SQLITE_ROW) return FromSqlite(rc);
  return sql::ReadToken(*stmt);
}
StatusOr<int64_t> AuthGenerationOn(Connection& conn) {
  auto stmt = conn.Prepare(Sql().auth_generation);
  if (!stmt.ok()) return stmt.status();
  const int rc = stmt->Step();
  if (rc == SQLITE_DONE) return Internal("the auth_generation row is missing");
  if (rc != SQLITE_ROW) return FromSqlite(rc);
  return stmt->Int64(0);
}
StatusOr<ProjectGenerations> GenerationsOfOn(Connection& conn, int64_t project_id) {
  auto stmt = conn.Prepare(Sql().project_generations);
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, project_id);
  const int rc = stmt->Step();
  if (rc != SQLITE_ROW) return FromSqlite(rc == SQLITE_DONE ? SQLITE_CORRUPT : rc);
  return ProjectGenerations{.revocations = stmt->Int64(0), .keys = stmt->Int64(1)};
}
StatusOr<UserRecord> GetUserOn(Connection& conn, int64_t id) {
  auto stmt = conn.Prepare(Sql().get_user);
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, id);
  const int rc = stmt->Step();
  if (rc == SQLITE_DONE) return NotFound(std::string(kUserNotFound));
  if (rc != SQLITE_ROW) return FromSqlite(rc);
  return sql::ReadUser(*stmt);
}

std::string ListPageSql(const sql::ListSql& list) {
  const size_t n = list.params.size();
  // SQLite: a negative LIMIT means no limit.
  return "SELECT " + sql::KeyColumnsOf("k.") + list.from + list.where + list.order + " LIMIT " +
         sql::Param(sql::Dialect::kSqlite, n + 1) + " OFFSET " +
         sql::Param(sql::Dialect::kSqlite, n + 2);
}

namespace {

// While it lives, each statement on the connection stops (SQLITE_INTERRUPT) once it has run
// about `budget` virtual-machine instructions in this run (SQLite counts them per statement;
// Stmt resets the count when a cached statement is given back); no bound for a budget of 0.
class WorkBudget {
 public:
  WorkBudget(Connection& conn, int64_t budget) : db_(budget > 0 ? conn.db() : nullptr) {
    if (db_ == nullptr) return;
    const int steps = static_cast<int>(std::min<int64_t>(budget, INT32_MAX));
    sqlite3_progress_handler(
        db_, steps, [](void*) { return 1; }, nullptr);
  }
  ~WorkBudget() {
    if (db_ != nullptr) sqlite3_progress_handler(db_, 0, nullptr, nullptr);
  }
  WorkBudget(const WorkBudget&) = delete;
  WorkBudget& operator=(const WorkBudget&) = delete;

  // The status of a step that returned `rc`: kResourceExhausted if the budget stopped it.
  Status Of(int rc) const {
    if (db_ != nullptr && rc == SQLITE_INTERRUPT) {
      return Status(StatusCode::kResourceExhausted, "the read needs more work than its budget");
    }
    return FromSqlite(rc);
  }

 private:
  sqlite3* db_;
};

}  // namespace

StatusOr<KeyPage> ListKeysOn(Connection& conn, const ListQuery& query) {
  if (Status s = ValidateListQuery(query); !s.ok()) return s;
  const WorkBudget budget(conn, query.work_budget);
  const sql::ListSql list = sql::BuildListSql(query, sql::Dialect::kSqlite);
  // One read transaction: the total and the page come from the same snapshot (the
  // snapshot reader's, if the caller has one).
  const bool own_transaction = !conn.InTransaction();
  if (own_transaction) {
    if (Status s = conn.ExecCached("BEGIN"); !s.ok()) return s;
  }
  KeyPage page;
  if (query.with_total) {
    // When every term of the WHERE clause is on a key_counts column (project, owner,
    // shared): sum the groups (migration 3) instead of counting keys.
    auto count = conn.Prepare(list.counted_columns_only
                                  ? "SELECT coalesce(sum(n), 0) FROM key_counts k" + list.where
                                  : "SELECT count(*)" + list.from + list.where);
    if (!count.ok()) return count.status();
    count->BindAll(list.params);
    if (int rc = count->Step(); rc != SQLITE_ROW) return budget.Of(rc);
    page.total = count->Int64(0);
  }
  {
    auto stmt = conn.Prepare(ListPageSql(list));
    if (!stmt.ok()) return stmt.status();
    stmt->BindAll(list.params);
    const int n = static_cast<int>(list.params.size());
    stmt->Bind(n + 1, query.limit);
    stmt->Bind(n + 2, query.offset);
    int rc;
    while ((rc = stmt->Step()) == SQLITE_ROW) {
      StatusOr<KeyRecord> key = sql::ReadKey(*stmt);
      if (!key.ok()) return key.status();
      page.keys.push_back(std::move(*key));
    }
    if (rc != SQLITE_DONE) return budget.Of(rc);
  }
  if (own_transaction) {
    if (Status s = conn.ExecCached("COMMIT"); !s.ok()) return s;
  }
  return page;
}

StatusOr<EventPage> ListEventsOn(Connection& conn, const EventQuery& query) {
  const sql::EventListSql list = sql::BuildEventListSql(query, sql::Dialect::kSqlite);
  const bool own_transaction = !conn.InTransaction();
  if (own_transaction) {
    if (Status s = conn.ExecCached("BEGIN"); !s.ok()) return s;
  }
  EventPage page;
  if (query.with_total) {
    auto count = conn.Prepare(list.count);
    if (!count.ok()) return count.status();
    count->BindAll(list.count_params);
    if (int rc = count->Step(); rc != SQLITE_ROW) return FromSqlite(rc);
    page.total = count->Int64(0);
  }
  auto stmt = conn.Prepare(list.page);
  if (!stmt.ok()) return stmt.status();
  stmt->BindAll(list.page_params);
  int rc;
  while ((rc = stmt->Step()) == SQLITE_ROW) page.events.push_back(sql::ReadEvent(*stmt));
  if (rc != SQLITE_DONE) return FromSqlite(rc);
  if (own_transaction) {
    if (Status s = conn.ExecCached("COMMIT"); !s.ok()) return s;
  }
  return page;
}

namespace {

// KeyStore::Snapshot: one leased connection in one read transaction (BEGIN is deferred:
// the transaction starts at its first read). With `unchanged`, the generations are taken
// from its memo while the snapshot has read nothing else and the WAL-index header is the
// memo's (unchanged.h): a request answered from caches then opens no transaction at all.
class SnapshotReader final : public KeyReader {
 public:
  SnapshotReader(StatusOr<Pool::Lease> lease, Unchanged* unchanged)
      : lease_(std::move(lease)), unchanged_(unchanged) {
    if (lease_.ok()) began_ = (*lease_)->ExecCached("BEGIN");
  }
  ~SnapshotReader() override {
    // Ends a read transaction: nothing to lose. If it fails the pool rolls back.
    if (lease_.ok() && began_.ok()) (void)(*lease_)->ExecCached("COMMIT");
  }
  SnapshotReader(const SnapshotReader&) = delete;
  SnapshotReader& operator=(const SnapshotReader&) = delete;

  StatusOr<KeyRecord> GetKey(std::string_view id) override {
    if (Status s = Usable(); !s.ok()) return s;
    read_ = true;
    return GetKeyOn(**lease_, id);
  }
  StatusOr<KeyRecord> GetKeyByName(int64_t project_id, std::string_view name) override {
    if (Status s = Usable(); !s.ok()) return s;
    read_ = true;
    return GetKeyByNameOn(**lease_, project_id, name);
  }
  StatusOr<KeyPage> ListKeys(const ListQuery& query) override {
    if (Status s = Usable(); !s.ok()) return s;
    read_ = true;
    return ListKeysOn(**lease_, query);
  }
  StatusOr<TokenRecord> GetToken(std::string_view id) override {
    if (Status s = Usable(); !s.ok()) return s;
    read_ = true;
    return GetTokenOn(**lease_, id);
  }
  StatusOr<EventPage> ListEvents(const EventQuery& query) override {
    if (Status s = ValidateEventQuery(query); !s.ok()) return s;
    if (Status s = Usable(); !s.ok()) return s;
    read_ = true;
    return ListEventsOn(**lease_, query);
  }
  StatusOr<UserRecord> GetUser(int64_t id) override {
    if (Status s = Usable(); !s.ok()) return s;
    read_ = true;
    return GetUserOn(**lease_, id);
  }
  StatusOr<int64_t> AuthGeneration() override {
    if (Status s = Usable(); !s.ok()) return s;
    if (auth_given_) return *auth_given_;  // asked again: the same answer
    if (const auto* header = Header()) {
      if (auto kept = unchanged_->memo.Auth(*header)) return *(auth_given_ = kept);
    }
    return FirstRead<int64_t>(
        [&] { return AuthGenerationOn(**lease_); },
        [&](const WalHeaderWatch::Header& at, int64_t g) { unchanged_->memo.KeepAuth(at, g); });
  }
  StatusOr<ProjectGenerations> GenerationsOf(int64_t project_id) override {
    if (Status s = Usable(); !s.ok()) return s;
    for (const auto& [id, given] : projects_given_) {
      if (id == project_id) return given;  // asked again: the same answer
    }
    if (const auto* header = Header()) {
      if (auto kept = unchanged_->memo.Project(*header, project_id)) {
        projects_given_.emplace_back(project_id, *kept);
        return *kept;
      }
    }
    return FirstRead<ProjectGenerations>(
        [&] { return GenerationsOfOn(**lease_, project_id); },
        [&](const WalHeaderWatch::Header& at, const ProjectGenerations& g) {
          unchanged_->memo.KeepProject(at, project_id, g);
        });
  }

 private:
  Status Usable() const { return lease_.ok() ? began_ : lease_.status(); }

  // The header this snapshot answers from the memo under — read at its first question —
  // or null once it has read the database (its transaction is then the answer).
  const WalHeaderWatch::Header* Header() {
    if (read_ || unchanged_ == nullptr) return nullptr;
    if (!header_read_) {
      header_ = unchanged_->watch->Read();
      header_read_ = true;
    }
    return header_ ? &*header_ : nullptr;
  }

  // Reads through the transaction; when that read began it (the snapshot had read nothing
  // before) and the header was the same just before and just after, no commit came
  // between: the value is the database's under that header, and `keep` remembers it.
  template <typename T, typename ReadFn, typename KeepFn>
  StatusOr<T> FirstRead(ReadFn read, KeepFn keep) {
    const bool first = !read_ && unchanged_ != nullptr;
    read_ = true;
    const auto before = first ? unchanged_->watch->Read() : std::nullopt;
    StatusOr<T> value = read();
    if (before && value.ok()) {
      if (const auto after = unchanged_->watch->Read(); after && *after == *before) {
        keep(*before, *value);
      }
    }
    return value;
  }

  StatusOr<Pool::Lease> lease_;
  Status began_;
  Unchanged* unchanged_;  // null: every read goes to the transaction
  bool read_ = false;     // the transaction has begun
  bool header_read_ = false;
  std::optional<WalHeaderWatch::Header> header_;
  // Answers given from the memo: a snapshot that has answered under one header answers
  // the same again even if the database changed since (its transaction would begin later).
  std::optional<int64_t> auth_given_;
  std::vector<std::pair<int64_t, ProjectGenerations>> projects_given_;
};

}  // namespace

std::unique_ptr<KeyReader> MakeSnapshot(StatusOr<Pool::Lease> lease, Unchanged* unchanged) {
  return std::make_unique<SnapshotReader>(std::move(lease), unchanged);
}

}  // namespace keypaird::store::sqlite
