#include "store/sqlite/driver.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <thread>
#include <type_traits>
#include <variant>

#include "common/strings.h"

namespace keypaird::store::sqlite {

Status FromSqlite(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable("the database is busy; try again later");
    case SQLITE_CANTOPEN:
      return Unavailable("cannot open the database");
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return AlreadyExists("the record already exists");
      }
      break;
    default:
      break;
  }
  return Internal(std::string("database error: ") + sqlite3_errstr(rc));
}

void Stmt::Bind(int index, const sql::SqlValue& value) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, sql::SqlNull>) {
          Check(sqlite3_bind_null(stmt_, index));
        } else if constexpr (std::is_same_v<T, int64_t>) {
          Check(sqlite3_bind_int64(stmt_, index, v));
        } else if constexpr (std::is_same_v<T, bool>) {
          Check(sqlite3_bind_int64(stmt_, index, v ? 1 : 0));
        } else if constexpr (std::is_same_v<T, std::string>) {
          Check(
              sqlite3_bind_text64(stmt_, index, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
        } else {
          Check(
              sqlite3_bind_blob64(stmt_, index, v.bytes.data(), v.bytes.size(), SQLITE_TRANSIENT));
        }
      },
      value);
}

void Stmt::BindAll(const std::vector<sql::SqlValue>& values) {
  for (size_t i = 0; i < values.size(); ++i) Bind(static_cast<int>(i + 1), values[i]);
}

StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& filename,
                                                       bool in_memory) {
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(filename.c_str(), &raw, flags, nullptr);
  // sqlite3_open_v2 allocates a handle even when it fails: own it before checking.
  auto conn = std::unique_ptr<Connection>(new Connection(DbPtr(raw)));
  if (rc != SQLITE_OK) {
    return Unavailable(std::string("cannot open the database: ") + sqlite3_errstr(rc));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  // synchronous and foreign_keys are per connection; journal_mode=WAL persists in the
  // file but setting it again is a cheap check that it took.
  if (!in_memory) {
    // Switching a fresh file to WAL takes an exclusive lock, and SQLite answers BUSY at
    // once (no busy handler) when another process is opening the same new file — as
    // when `serve` and `token create` start together. Retry within the busy timeout.
    const auto deadline = SteadyClock::now() + kBusyTimeout;
    auto mode = conn->QueryText("PRAGMA journal_mode=WAL");
    while (!mode.ok() && mode.status().code() == StatusCode::kUnavailable &&
           SteadyClock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      mode = conn->QueryText("PRAGMA journal_mode=WAL");
    }
    if (!mode.ok()) return OpenFailure(mode.status());
    if (*mode != "wal") return Unavailable("cannot switch the database to WAL mode");
  }
  for (const char* pragma : {"PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    if (Status s = conn->Exec(pragma); !s.ok()) return OpenFailure(s);
  }
  return conn;
}

StatusOr<Stmt> Connection::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v3(db_.get(), sql.c_str(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return FromSqlite(rc);
    it = cache_.emplace(sql, std::move(stmt)).first;
  }
  return Stmt(it->second.get());
}

Status Connection::ExecCached(const std::string& sql) {
  auto stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  return stmt->Run();
}

Status Connection::Exec(const char* sql) {
  const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::Ok() : FromSqlite(rc);
}

StatusOr<std::string> Connection::QueryText(const char* sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr);
  StmtPtr stmt(raw);
  if (rc != SQLITE_OK) return FromSqlite(rc);
  rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_DONE) return std::string();
  if (rc != SQLITE_ROW) return FromSqlite(rc);
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
  return p == nullptr ? std::string() : std::string(p);
}

Status Connection::OpenFailure(const Status& s) {
  return s.code() == StatusCode::kUnavailable
             ? s
             : Unavailable("cannot open the database: " + s.message());
}

std::function<void(Connection&)> RollBackOnRelease() {
  return [](Connection& conn) { conn.RollbackIfActive(); };
}

namespace {

// mkdir -p of `dir`; directories it creates get mode 0700.
Status MakeDirectories(const std::filesystem::path& dir) {
  std::filesystem::path current;
  for (const auto& part : dir) {
    current /= part;
    if (::mkdir(current.c_str(), 0700) != 0 && errno != EEXIST) {
      return Unavailable("cannot create the database directory: " + ErrnoText(errno));
    }
  }
  return Status::Ok();
}

}  // namespace

Status CreateDatabaseFile(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    if (Status s = MakeDirectories(parent); !s.ok()) return s;
  }
  // Create it ourselves so that it gets 0600 (SQLite would use 0644); the -wal and -shm
  // files SQLite creates copy the main file's mode. An existing file is not opened: closing
  // a descriptor of a file drops every POSIX lock this process holds on it, SQLite's too.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Ok();
    return Unavailable("cannot create the database file: " + ErrnoText(errno));
  }
  ::close(fd);
  return Status::Ok();
}

}  // namespace keypaird::store::sqlite
