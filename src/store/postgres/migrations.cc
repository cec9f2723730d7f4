#include "store/postgres/migrations.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "store/sql/schema.h"

namespace keypaird::store::pg {
namespace {

// Migrations may wait for another node's migration (the advisory lock).
constexpr std::chrono::seconds kMigrationTimeout{65};
constexpr int kMigrationStatementTimeoutMs = 60000;
// pg_advisory_xact_lock key of the migration transaction ("kpd_migr").
constexpr int64_t kMigrationLockKey = 0x6b70645f6d696772;

class MigrationSession final : public sql::MigrationSession {
 public:
  explicit MigrationSession(Connection* conn) : conn_(conn) {}

  StatusOr<std::set<int64_t>> AppliedVersions() override {
    std::set<int64_t> versions;
    auto exists = conn_->Exec("SELECT to_regclass('schema_migrations') IS NOT NULL", Deadline());
    if (!exists.ok()) return exists.status();
    if (exists->rows() != 1 || !exists->Bool(0, 0)) return versions;
    auto rows = conn_->Exec("SELECT version FROM schema_migrations", Deadline());
    if (!rows.ok()) return rows.status();
    for (int i = 0; i < rows->rows(); ++i) versions.insert(rows->Int64(i, 0));
    return versions;
  }

  Status Begin() override {
    migrating_until_ = Clock::now() + kMigrationTimeout;
    const std::string steps[] = {
        "BEGIN",
        "SET LOCAL statement_timeout = " + std::to_string(kMigrationStatementTimeoutMs),
        "SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLockKey) + ")",
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    };
    for (const std::string& sql : steps) {
      if (auto r = conn_->Exec(sql, Deadline()); !r.ok()) return r.status();
    }
    return Status::Ok();
  }

  Status Apply(int version, const char* statements) override {
    if (auto r = conn_->Exec(statements, Deadline()); !r.ok()) return r.status();
    auto r = conn_->Exec(
        "INSERT INTO schema_migrations (version) VALUES (" + std::to_string(version) + ")",
        Deadline());
    return r.status();
  }

  Status DescribeKeys(const std::function<Status(KeyRecord*)>& describe) override {
    auto rows = conn_->Exec(Sql().undescribed_keys, Deadline());
    if (!rows.ok()) return rows.status();
    if (rows->rows() > 0 && !describe) return Internal("no key parser to describe stored keys");
    for (int i = 0; i < rows->rows(); ++i) {
      KeyRecord key;
      key.id = rows->Text(i, 0);
      key.public_key = rows->Text(i, 1);
      if (Status s = describe(&key); !s.ok()) return s;
      auto r = conn_->RunOnce(Sql().describe_key,
                              ToParams({key.id, key.type, static_cast<int64_t>(key.bits),
                                        key.comment, key.fingerprint_sha256}),
                              Deadline());
      if (!r.ok()) return r.status();
    }
    return Status::Ok();
  }

  Status Commit() override { return conn_->Exec("COMMIT", Deadline()).status(); }
  void Rollback() override { conn_->Rollback(Clock::now() + kQueryTimeout); }

 private:
  // Inside the migration transaction the deadline covers the wait for another node's
  // lock; before it, one query's.
  Clock::time_point Deadline() const {
    return migrating_until_ ? *migrating_until_ : Clock::now() + kQueryTimeout;
  }

  Connection* conn_;
  std::optional<Clock::time_point> migrating_until_;
};

}  // namespace

std::unique_ptr<sql::MigrationSession> MigrationSessionOn(Connection& conn) {
  return std::make_unique<MigrationSession>(&conn);
}

}  // namespace keypaird::store::pg
