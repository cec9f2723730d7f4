#include "store/sqlite/migrations.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <vector>

#include "store/sql/schema.h"

namespace keypaird::store::sqlite {
namespace {

class MigrationSession final : public sql::MigrationSession {
 public:
  explicit MigrationSession(Connection* conn) : conn_(conn) {}

  StatusOr<std::set<int64_t>> AppliedVersions() override {
    std::set<int64_t> versions;
    auto exists = conn_->Prepare(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'");
    if (!exists.ok()) return exists.status();
    if (int rc = exists->Step(); rc != SQLITE_ROW) return FromSqlite(rc);
    if (exists->Int64(0) == 0) return versions;
    auto stmt = conn_->Prepare("SELECT version FROM schema_migrations");
    if (!stmt.ok()) return stmt.status();
    int rc;
    while ((rc = stmt->Step()) == SQLITE_ROW) versions.insert(stmt->Int64(0));
    if (rc != SQLITE_DONE) return FromSqlite(rc);
    return versions;
  }

  Status Begin() override {
    if (Status s = conn_->Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    return conn_->Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
  }

  Status Apply(int version, const char* statements) override {
    if (Status s = conn_->Exec(statements); !s.ok()) return s;
    auto insert = conn_->Prepare(
        "INSERT INTO schema_migrations (version, applied_at) "
        "VALUES (?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
    if (!insert.ok()) return insert.status();
    insert->Bind(1, int64_t{version});
    return insert->Run();
  }

  Status DescribeKeys(const std::function<Status(KeyRecord*)>& describe) override {
    std::vector<KeyRecord> keys;
    {
      auto stmt = conn_->Prepare(Sql().undescribed_keys);
      if (!stmt.ok()) return stmt.status();
      int rc;
      while ((rc = stmt->Step()) == SQLITE_ROW) {
        KeyRecord& key = keys.emplace_back();
        key.id = stmt->Text(0);
        key.public_key = stmt->Text(1);
      }
      if (rc != SQLITE_DONE) return FromSqlite(rc);
    }
    if (!keys.empty() && !describe) return Internal("no key parser to describe stored keys");
    for (KeyRecord& key : keys) {
      if (Status s = describe(&key); !s.ok()) return s;
      auto update = conn_->Prepare(Sql().describe_key);
      if (!update.ok()) return update.status();
      update->BindAll(
          {key.id, key.type, static_cast<int64_t>(key.bits), key.comment, key.fingerprint_sha256});
      if (Status s = update->Run(); !s.ok()) return s;
    }
    return Status::Ok();
  }

  Status Commit() override { return conn_->Exec("COMMIT"); }
  void Rollback() override { conn_->RollbackIfActive(); }

 private:
  Connection* conn_;
};

}  // namespace

std::unique_ptr<sql::MigrationSession> MigrationSessionOn(Connection& conn) {
  return std::make_unique<MigrationSession>(&conn);
}

}  // namespace keypaird::store::sqlite
