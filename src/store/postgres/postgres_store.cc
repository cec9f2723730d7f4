// The PostgreSQL KeyStore backend (libpq).
//
// Every call leases one pooled connection, checks that it is still alive (an idle
// connection whose socket has become readable was closed or is being closed by the
// server: it is reopened, so a restarted server costs no failed request), runs one
// prepared statement and returns the connection. All I/O is non-blocking with a
// deadline, so a dead server or network can stall a call only for a bounded time;
// a connection that failed, timed out or lost its server is closed and reopened on its
// next use. After a failed connect every call fails at once for a short back-off instead
// of queueing behind connect attempts. Nothing is cached above the database.
//
// Status messages are fixed text (plus a SQLSTATE for unexpected errors): never SQL,
// URLs, host names or bound values. libpq's own message of a failed connect is logged
// (it names host, port, user and database, never the password), once per outage.

#include "store/postgres/postgres_store.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/log.h"
#include "store/key_store.h"
#include "store/postgres/postgres_store_testing.h"
#include "store/store_internal.h"

namespace keypaird::store {
namespace {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Connecting: libpq's connect_timeout (from the URL, else this) bounds a whole connect.
constexpr seconds kDefaultConnectTimeout{3};
// Server side: every statement on our connections (set as a startup option).
constexpr int kStatementTimeoutMs = 5000;
// Client side: a statement's answer must arrive within this, whatever the network does.
constexpr milliseconds kQueryTimeout{kStatementTimeoutMs + 1000};
// Migrations may wait for another node's migration (the advisory lock).
constexpr seconds kMigrationTimeout{65};
constexpr int kMigrationStatementTimeoutMs = 60000;
// Waiting for a free pooled connection.
constexpr seconds kAcquireTimeout{3};
// After a failed connect, calls that need a new connection fail at once for this long.
constexpr milliseconds kReconnectBackoff{250};
// pg_advisory_xact_lock key of the migration transaction ("kpd_migr").
constexpr int64_t kMigrationLockKey = 0x6b70645f6d696772;

constexpr std::string_view kDown = "the database is unavailable";
constexpr std::string_view kSlow = "the database did not answer in time";

// ---------------------------------------------------------------------------------------
// Schema migrations: the same steps, in meaning, as the SQLite backend's. Append new
// steps at the end; never edit or reorder applied ones. Step i has version i + 1.
//
// Text columns that are compared or sorted use the "C" collation: bytewise order and
// equality as the contract says, ILIKE case-insensitive for ASCII letters only, and the
// same behaviour whatever locale the database was created with.

constexpr const char* kMigrations[] = {
    // 1: keys. The UNIQUE constraint enforces name uniqueness and serves name order
    // (names are unique in a project, so no id tie-break is needed there); the two
    // created_at indexes serve "created_at ASC, id ASC" and "created_at DESC, id ASC"
    // as index walks.
    R"sql(
      CREATE TABLE keys (
        id TEXT COLLATE "C" NOT NULL,
        project_id BIGINT NOT NULL,
        user_id BIGINT NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
        public_key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        shared_in_project BOOLEAN NOT NULL,
        created_at_us BIGINT NOT NULL,
        CONSTRAINT keys_pkey PRIMARY KEY (id),
        CONSTRAINT keys_by_project_name UNIQUE (project_id, name)
      );
      CREATE INDEX keys_by_project_created ON keys (project_id, created_at_us, id);
      CREATE INDEX keys_by_project_created_desc ON keys (project_id, created_at_us DESC, id);
    )sql",
    // 2: API tokens. `projects` ascending; empty for admin tokens.
    R"sql(
      CREATE TABLE tokens (
        id TEXT COLLATE "C" NOT NULL,
        user_id BIGINT NOT NULL,
        admin BOOLEAN NOT NULL,
        projects BIGINT[] NOT NULL,
        secret_hash BYTEA NOT NULL,
        created_at_us BIGINT NOT NULL,
        revoked_at_us BIGINT,
        CONSTRAINT tokens_pkey PRIMARY KEY (id)
      );
      CREATE INDEX tokens_by_created ON tokens (created_at_us, id);
    )sql",
};
constexpr int kLatestVersion = static_cast<int>(std::size(kMigrations));

// ---------------------------------------------------------------------------------------
// RAII and small helpers.

struct ConnFinisher {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnFinisher>;

struct ResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultClearer>;

int64_t ParseInt64(const char* text) {
  int64_t value = 0;
  std::from_chars(text, text + std::strlen(text), value);
  return value;
}

// Waits until `fd` is readable (or writable too, if `write`); false on timeout or error.
bool WaitFd(int fd, bool write, Deadline deadline) {
  if (fd < 0) return false;
  for (;;) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, static_cast<short>(POLLIN | (write ? POLLOUT : 0)), 0};
    const int rc = ::poll(&p, 1, static_cast<int>(left));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

// A query result (text format).
class Result {
 public:
  explicit Result(ResultPtr result) : r_(std::move(result)) {}
  int rows() const { return PQntuples(r_.get()); }
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string Text(int row, int col) const {
    return std::string(PQgetvalue(r_.get(), row, col),
                       static_cast<size_t>(PQgetlength(r_.get(), row, col)));
  }
  int64_t Int64(int row, int col) const { return ParseInt64(PQgetvalue(r_.get(), row, col)); }
  bool Bool(int row, int col) const { return PQgetvalue(r_.get(), row, col)[0] == 't'; }
  // Rows an INSERT/UPDATE/DELETE affected.
  int64_t Affected() const { return ParseInt64(PQcmdTuples(r_.get())); }

 private:
  ResultPtr r_;
};

// A statement prepared once per connection under `name`.
struct Statement {
  std::string name;
  std::string sql;
};

using Params = std::vector<std::optional<std::string>>;

struct ConnectSettings {
  std::vector<std::string> keywords;
  std::vector<std::string> values;
  milliseconds connect_timeout{kDefaultConnectTimeout};
};

// Our defaults come first and the URL last: libpq lets later settings override earlier
// ones, so anything the URL says wins.
StatusOr<ConnectSettings> MakeConnectSettings(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &error);
  if (parsed == nullptr) {
    if (error != nullptr) PQfreemem(error);
    return InvalidArgument("the PostgreSQL database URL is not valid");
  }
  ConnectSettings settings;
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "connect_timeout" && o->val != nullptr) {
      // libpq: 0 or negative = wait forever (we do not), below 2 s counts as 2 s.
      const int64_t s = ParseInt64(o->val);
      if (s > 0) settings.connect_timeout = seconds(std::max<int64_t>(s, 2));
    }
  }
  PQconninfoFree(parsed);
  settings.keywords = {"connect_timeout",     "keepalives",       "keepalives_idle",
                       "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                       "application_name",    "options",          "dbname"};
  settings.values = {std::to_string(kDefaultConnectTimeout.count()),
                     "1",
                     "30",
                     "10",
                     "3",
                     "20000",
                     "keypaird",
                     "-c statement_timeout=" + std::to_string(kStatementTimeoutMs),
                     url};
  return settings;
}

// ---------------------------------------------------------------------------------------
// One libpq connection and the names of the statements prepared on it. Not thread-safe:
// used by one call at a time, which the pool guarantees.

class Connection {
 public:
  bool open() const { return conn_ != nullptr; }

  void Close() {
    conn_.reset();
    prepared_.clear();
  }

  // Opens (or reopens) the connection within the connect timeout. On failure,
  // last_error() holds libpq's message for the log.
  Status Open(const ConnectSettings& settings) {
    Close();
    std::vector<const char*> keywords, values;
    for (size_t i = 0; i < settings.keywords.size(); ++i) {
      keywords.push_back(settings.keywords[i].c_str());
      values.push_back(settings.values[i].c_str());
    }
    keywords.push_back(nullptr);
    values.push_back(nullptr);
    ConnPtr conn(PQconnectStartParams(keywords.data(), values.data(), /*expand_dbname=*/1));
    if (conn == nullptr) {
      last_error_ = "out of memory";
      return Unavailable(std::string(kDown));
    }
    // libpq's connect_timeout only applies to its blocking connect: enforce it here.
    const Deadline deadline = Clock::now() + settings.connect_timeout;
    PostgresPollingStatusType state =
        PQstatus(conn.get()) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
    while (state != PGRES_POLLING_OK) {
      if (state == PGRES_POLLING_FAILED) {
        last_error_ = PQerrorMessage(conn.get());
        return Unavailable(std::string(kDown));
      }
      if (!WaitFd(PQsocket(conn.get()), state == PGRES_POLLING_WRITING, deadline)) {
        last_error_ = "timed out while connecting";
        return Unavailable(std::string(kDown));
      }
      state = PQconnectPoll(conn.get());
    }
    PQsetNoticeProcessor(
        conn.get(), [](void*, const char*) {}, nullptr);
    if (PQsetnonblocking(conn.get(), 1) != 0) {
      last_error_ = PQerrorMessage(conn.get());
      return Unavailable(std::string(kDown));
    }
    conn_ = std::move(conn);
    return Status::Ok();
  }

  const std::string& last_error() const { return last_error_; }

  // True if the connection is open, idle and has nothing to read: the server sends
  // nothing to an idle session of ours unless it is closing it (shutdown, restart,
  // pg_terminate_backend, idle timeouts), and then the socket turns readable.
  bool Healthy() const {
    if (conn_ == nullptr || PQstatus(conn_.get()) != CONNECTION_OK ||
        PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) {
      return false;
    }
    pollfd p{PQsocket(conn_.get()), POLLIN, 0};
    return p.fd >= 0 && ::poll(&p, 1, 0) == 0;
  }

  bool Idle() const { return conn_ != nullptr && PQtransactionStatus(conn_.get()) == PQTRANS_IDLE; }

  // Runs a prepared statement (preparing it first on this connection if needed).
  StatusOr<Result> Run(const Statement& statement, const Params& params, Deadline deadline) {
    if (conn_ == nullptr) return Unavailable(std::string(kDown));
    if (!prepared_.contains(statement.name)) {
      if (PQsendPrepare(conn_.get(), statement.name.c_str(), statement.sql.c_str(), 0, nullptr) ==
          0) {
        return Broken();
      }
      auto prepared = Collect(deadline);
      if (!prepared.ok()) return prepared.status();
      prepared_.insert(statement.name);
    }
    const std::vector<const char*> values = Values(params);
    if (PQsendQueryPrepared(conn_.get(), statement.name.c_str(), static_cast<int>(values.size()),
                            values.data(), nullptr, nullptr, 0) == 0) {
      return Broken();
    }
    auto result = Collect(deadline);
    // A session whose prepared statements were dropped behind our back (DISCARD ALL by
    // a pooler): prepare again next time.
    if (!result.ok() && last_sqlstate_ == "26000") prepared_.erase(statement.name);
    return result;
  }

  // Runs `sql` once, unprepared, with parameters.
  StatusOr<Result> RunOnce(const std::string& sql, const Params& params, Deadline deadline) {
    if (conn_ == nullptr) return Unavailable(std::string(kDown));
    const std::vector<const char*> values = Values(params);
    if (PQsendQueryParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                          values.data(), nullptr, nullptr, 0) == 0) {
      return Broken();
    }
    return Collect(deadline);
  }

  // Runs `sql` (one or more statements, no parameters) by the simple query protocol.
  StatusOr<Result> Exec(const std::string& sql, Deadline deadline) {
    if (conn_ == nullptr) return Unavailable(std::string(kDown));
    if (PQsendQuery(conn_.get(), sql.c_str()) == 0) return Broken();
    return Collect(deadline);
  }

  // Ends an open transaction; closes the connection if that fails.
  void Rollback(Deadline deadline) {
    if (conn_ == nullptr || Idle()) return;
    (void)Exec("ROLLBACK", deadline);
    if (!Idle()) Close();
  }

  // The constraint a unique violation named (kAlreadyExists from Run).
  const std::string& violated_constraint() const { return violated_constraint_; }

 private:
  static std::vector<const char*> Values(const Params& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    return values;
  }

  Status Broken() {
    Close();
    return Unavailable(std::string(kDown));
  }

  // Sends what is buffered and collects the results of the query in flight, within the
  // deadline. The first error wins; otherwise the last result is returned.
  StatusOr<Result> Collect(Deadline deadline) {
    last_sqlstate_.clear();
    PGconn* c = conn_.get();
    for (;;) {
      const int flushed = PQflush(c);
      if (flushed == 0) break;
      if (flushed < 0) return Broken();
      if (!WaitFd(PQsocket(c), /*write=*/true, deadline)) return TimedOut();
      if (PQconsumeInput(c) == 0) return Broken();
    }
    ResultPtr error, last;
    for (;;) {
      while (PQisBusy(c) != 0) {
        if (!WaitFd(PQsocket(c), /*write=*/false, deadline)) return TimedOut();
        if (PQconsumeInput(c) == 0) return Broken();
      }
      ResultPtr result(PQgetResult(c));
      if (result == nullptr) break;
      const ExecStatusType status = PQresultStatus(result.get());
      if (status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE) {
        if (error == nullptr) error = std::move(result);
      } else {
        last = std::move(result);
      }
    }
    if (PQstatus(c) != CONNECTION_OK) return Broken();
    if (error != nullptr) return FromError(error.get());
    if (last == nullptr) return Internal("database error: no result");
    return Result(std::move(last));
  }

  // The connection's state is unknown after a deadline passes mid-query: close it (the
  // server notices and cancels the statement).
  Status TimedOut() {
    Close();
    return Unavailable(std::string(kSlow));
  }

  Status FromError(const PGresult* result) {
    const char* field = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    last_sqlstate_ = field != nullptr ? field : "";
    const std::string_view code = last_sqlstate_;
    if (code == "23505") {
      const char* constraint = PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME);
      violated_constraint_ = constraint != nullptr ? constraint : "";
      return AlreadyExists("the record already exists");
    }
    if (code == "57014") return Unavailable(std::string(kSlow));  // statement_timeout
    // Connection exceptions, insufficient resources, operator intervention (shutdown,
    // "cannot connect now"), serialization failures and deadlocks, lock timeouts: try
    // again later. A read-only transaction means we reached a standby.
    if (code.starts_with("08") || code.starts_with("53") || code.starts_with("57P") ||
        code == "40001" || code == "40P01" || code == "55P03") {
      return Unavailable(std::string(kDown));
    }
    if (code == "25006") return Unavailable("the database is read-only");
    return Internal("database error (SQLSTATE " +
                    (code.empty() ? std::string("none") : last_sqlstate_) + ")");
  }

  ConnPtr conn_;
  std::unordered_set<std::string> prepared_;
  std::string last_error_;
  std::string last_sqlstate_;
  std::string violated_constraint_;
};

// A fixed set of connection slots, each leased to one caller at a time.
class ConnectionPool {
 public:
  class Lease {
   public:
    Lease(ConnectionPool* pool, Connection* conn) : pool_(pool), conn_(conn) {}
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), conn_(other.conn_) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->Release(conn_);
    }
    Connection& operator*() const { return *conn_; }
    Connection* operator->() const { return conn_; }

   private:
    ConnectionPool* pool_;
    Connection* conn_;
  };

  explicit ConnectionPool(int size) {
    for (int i = 0; i < size; ++i) {
      all_.push_back(std::make_unique<Connection>());
      free_.push_back(all_.back().get());
    }
  }

  StatusOr<Lease> Acquire(Deadline deadline) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_until(lock, deadline, [this] { return !free_.empty(); })) {
      return Unavailable("all database connections are busy; try again later");
    }
    Connection* conn = free_.back();
    free_.pop_back();
    return Lease(this, conn);
  }

  size_t size() const { return all_.size(); }

 private:
  void Release(Connection* conn) {
    // A caller that failed half-way must not leave a transaction open on a pooled
    // connection (callers roll back; this is the backstop).
    if (conn->open() && !conn->Idle()) conn->Close();
    {
      std::lock_guard lock(mu_);
      free_.push_back(conn);
    }
    cv_.notify_one();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> all_;
  std::vector<Connection*> free_;  // guarded by mu_
};

const Status& StatusOf(const Status& s) { return s; }
template <typename T>
Status StatusOf(const StatusOr<T>& s) {
  return s.status();
}

// ---------------------------------------------------------------------------------------
// Row mapping.

constexpr const char* kKeyColumns =
    "id, project_id, user_id, name, public_key, fingerprint, shared_in_project, created_at_us";
constexpr int kKeyColumnCount = 8;

KeyRecord ReadKey(const Result& r, int row) {
  KeyRecord key;
  key.id = r.Text(row, 0);
  key.project_id = r.Int64(row, 1);
  key.user_id = r.Int64(row, 2);
  key.name = r.Text(row, 3);
  key.public_key = r.Text(row, 4);
  key.fingerprint = r.Text(row, 5);
  key.shared_in_project = r.Bool(row, 6);
  key.created_at_us = r.Int64(row, 7);
  return key;
}

constexpr const char* kTokenColumns =
    "id, user_id, admin, projects, secret_hash, created_at_us, revoked_at_us";

std::string ProjectsArray(const std::vector<int64_t>& projects) {
  std::string out = "{";
  for (int64_t p : projects) {
    if (out.size() > 1) out += ',';
    out += std::to_string(p);
  }
  return out + "}";
}

StatusOr<std::vector<int64_t>> ParseProjectsArray(std::string_view text) {
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') {
    return Internal("corrupt token record in the database");
  }
  text = text.substr(1, text.size() - 2);
  std::vector<int64_t> projects;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    int64_t value = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (ec != std::errc() || end != item.data() + item.size()) {
      return Internal("corrupt token record in the database");
    }
    projects.push_back(value);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return projects;
}

std::string ByteaHex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\\x";
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

StatusOr<std::string> UnescapeBytea(const std::string& text) {
  size_t length = 0;
  unsigned char* raw =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(text.c_str()), &length);
  if (raw == nullptr) return Internal("corrupt token record in the database");
  std::string bytes(reinterpret_cast<const char*>(raw), length);
  PQfreemem(raw);
  return bytes;
}

StatusOr<TokenRecord> ReadToken(const Result& r, int row) {
  TokenRecord token;
  token.id = r.Text(row, 0);
  token.user_id = r.Int64(row, 1);
  token.admin = r.Bool(row, 2);
  auto projects = ParseProjectsArray(r.Text(row, 3));
  if (!projects.ok()) return projects.status();
  token.projects = std::move(*projects);
  auto hash = UnescapeBytea(r.Text(row, 4));
  if (!hash.ok()) return hash.status();
  token.secret_hash = std::move(*hash);
  token.created_at_us = r.Int64(row, 5);
  if (!r.IsNull(row, 6)) token.revoked_at_us = r.Int64(row, 6);
  return token;
}

std::optional<std::string> Text(int64_t v) { return std::to_string(v); }
std::optional<std::string> Text(std::string_view v) { return std::string(v); }
std::optional<std::string> Text(bool v) { return std::string(v ? "t" : "f"); }

// ---------------------------------------------------------------------------------------
// Statements.

const Statement kInsertKey{"insert_key", std::string("INSERT INTO keys (") + kKeyColumns +
                                             ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"};
const Statement kGetKey{"get_key",
                        std::string("SELECT ") + kKeyColumns + " FROM keys WHERE id = $1"};
const Statement kGetKeyByName{
    "get_key_by_name",
    std::string("SELECT ") + kKeyColumns + " FROM keys WHERE project_id = $1 AND name = $2"};
const Statement kDeleteKey{"delete_key", "DELETE FROM keys WHERE id = $1"};
const Statement kSetShared{"set_shared",
                           std::string("UPDATE keys SET shared_in_project = $2 WHERE id = $1 "
                                       "RETURNING ") +
                               kKeyColumns};
const Statement kInsertToken{"insert_token", std::string("INSERT INTO tokens (") + kTokenColumns +
                                                 ") VALUES ($1, $2, $3, $4, $5, $6, $7)"};
const Statement kGetToken{"get_token",
                          std::string("SELECT ") + kTokenColumns + " FROM tokens WHERE id = $1"};
const Statement kListTokens{"list_tokens", std::string("SELECT ") + kTokenColumns +
                                               " FROM tokens ORDER BY created_at_us, id"};
// coalesce keeps the first revocation time; the row counts as affected either way.
const Statement kRevokeToken{
    "revoke_token", "UPDATE tokens SET revoked_at_us = coalesce(revoked_at_us, $2) WHERE id = $1"};
const Statement kPing{"ping", "SELECT 1"};

// ILIKE pattern for a literal substring: % _ and the escape character are escaped.
std::string ContainsPattern(std::string_view needle) {
  std::string pattern = "%";
  for (char c : needle) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  pattern += '%';
  return pattern;
}

// The statements of one ListQuery shape (which filters are set, which order) and the
// filter parameters; limit and offset are the page statement's last two parameters.
struct ListStatements {
  Statement page;   // the page; every row also carries the total (an InitPlan)
  Statement count;  // the total alone
  Params filters;
};

ListStatements MakeListStatements(const ListQuery& q) {
  ListStatements out;
  std::string where;
  std::string shape;
  auto add = [&](const char* term_before, const char* term_after, std::optional<std::string> v,
                 char tag) {
    out.filters.push_back(std::move(v));
    where += where.empty() ? " WHERE " : " AND ";
    where += term_before + ("$" + std::to_string(out.filters.size())) + term_after;
    shape += tag;
  };
  if (q.project_id) add("project_id = ", "", Text(*q.project_id), 'p');
  if (q.owner_id) add("user_id = ", "", Text(*q.owner_id), 'o');
  if (q.visible_to_user)
    add("(shared_in_project OR user_id = ", ")", Text(*q.visible_to_user), 'v');
  // ILIKE on a "C"-collation column folds ASCII letters only, as the contract says.
  if (!q.name_contains.empty()) {
    add("name ILIKE ", " ESCAPE '\\'", ContainsPattern(q.name_contains), 'n');
  }
  // Within one project names are unique: name order needs no tie-break there, which
  // lets the (project_id, name) index give the order by itself.
  const char* order = "";
  switch (q.order) {
    case OrderBy::kCreatedAtAsc:
      order = " ORDER BY created_at_us, id";
      shape += "_ca";
      break;
    case OrderBy::kCreatedAtDesc:
      order = " ORDER BY created_at_us DESC, id";
      shape += "_cd";
      break;
    case OrderBy::kNameAsc:
      order = q.project_id ? " ORDER BY name" : " ORDER BY name, id";
      shape += "_na";
      break;
    case OrderBy::kNameDesc:
      order = q.project_id ? " ORDER BY name DESC" : " ORDER BY name DESC, id";
      shape += "_nd";
      break;
  }
  const size_t n = out.filters.size();
  out.page.name = "list_" + shape;
  out.page.sql = std::string("SELECT ") + kKeyColumns + ", (SELECT count(*) FROM keys" + where +
                 ") FROM keys" + where + order + " LIMIT $" + std::to_string(n + 1) + " OFFSET $" +
                 std::to_string(n + 2);
  out.count.name = "count_" + shape;
  out.count.sql = "SELECT count(*) FROM keys" + where;
  return out;
}

Params PageParams(const ListStatements& s, const ListQuery& q) {
  Params params = s.filters;
  // LIMIT NULL is no limit.
  params.push_back(q.limit < 0 ? std::nullopt : Text(q.limit));
  params.push_back(Text(q.offset));
  return params;
}

// ---------------------------------------------------------------------------------------
// Migrations.

StatusOr<std::set<int64_t>> AppliedVersions(Connection& conn, Deadline deadline) {
  std::set<int64_t> versions;
  auto exists = conn.Exec("SELECT to_regclass('schema_migrations') IS NOT NULL", deadline);
  if (!exists.ok()) return exists.status();
  if (exists->rows() != 1 || !exists->Bool(0, 0)) return versions;
  auto rows = conn.Exec("SELECT version FROM schema_migrations", deadline);
  if (!rows.ok()) return rows.status();
  for (int i = 0; i < rows->rows(); ++i) versions.insert(rows->Int64(i, 0));
  return versions;
}

Status CheckNotNewer(const std::set<int64_t>& applied) {
  for (int64_t v : applied) {
    if (v < 1 || v > kLatestVersion) {
      return Unavailable("the database schema was written by a newer keypaird (it has migration " +
                         std::to_string(v) + "; this build knows up to " +
                         std::to_string(kLatestVersion) + "): upgrade keypaird");
    }
  }
  return Status::Ok();
}

// Everything missing, in one transaction, under a lock that serialises the nodes that
// migrate at the same time; the applied set is re-read under the lock.
Status ApplyMigrations(Connection& conn, Deadline deadline) {
  const std::string steps[] = {
      "BEGIN",
      "SET LOCAL statement_timeout = " + std::to_string(kMigrationStatementTimeoutMs),
      "SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLockKey) + ")",
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
  };
  for (const std::string& sql : steps) {
    if (auto r = conn.Exec(sql, deadline); !r.ok()) return r.status();
  }
  auto applied = AppliedVersions(conn, deadline);
  if (!applied.ok()) return applied.status();
  if (Status s = CheckNotNewer(*applied); !s.ok()) return s;
  for (int version = 1; version <= kLatestVersion; ++version) {
    if (applied->contains(version)) continue;
    if (auto r = conn.Exec(kMigrations[version - 1], deadline); !r.ok()) return r.status();
    if (auto r = conn.Exec(
            "INSERT INTO schema_migrations (version) VALUES (" + std::to_string(version) + ")",
            deadline);
        !r.ok()) {
      return r.status();
    }
  }
  if (auto r = conn.Exec("COMMIT", deadline); !r.ok()) return r.status();
  return Status::Ok();
}

// Brings the schema to kLatestVersion (or checks that it is there when !apply).
Status Migrate(Connection& conn, bool apply) {
  auto applied = AppliedVersions(conn, Clock::now() + kQueryTimeout);
  if (!applied.ok()) return applied.status();
  if (Status s = CheckNotNewer(*applied); !s.ok()) return s;
  if (static_cast<int>(applied->size()) == kLatestVersion) return Status::Ok();
  if (!apply) {
    return Unavailable("the database schema is not current (" + std::to_string(applied->size()) +
                       " of " + std::to_string(kLatestVersion) +
                       " migrations applied): run `keypaird migrate`");
  }
  const Deadline deadline = Clock::now() + kMigrationTimeout;
  Status s = ApplyMigrations(conn, deadline);
  if (!s.ok()) conn.Rollback(Clock::now() + kQueryTimeout);
  return s;
}

// ---------------------------------------------------------------------------------------

class PostgresStore final : public KeyStore {
 public:
  static StatusOr<std::unique_ptr<PostgresStore>> Open(const std::string& url,
                                                       const StoreOptions& options) {
    if (options.pool_size < 1) return InvalidArgument("the connection pool size must be >= 1");
    auto settings = MakeConnectSettings(url);
    if (!settings.ok()) return settings.status();
    auto store =
        std::unique_ptr<PostgresStore>(new PostgresStore(std::move(*settings), options.pool_size));
    // The first connection now: fail at start, with a clear message, rather than on the
    // first request. The others open on first use.
    auto lease = store->pool_.Acquire(Clock::now() + kAcquireTimeout);
    if (!lease.ok()) return lease.status();
    if (Status s = (*lease)->Open(store->settings_); !s.ok()) {
      LogLine(LogLevel::kError, "cannot connect to the database")
          .Str("error", OneLine((*lease)->last_error()));
      return Unavailable("cannot connect to the database");
    }
    if (Status s = Migrate(**lease, options.apply_migrations); !s.ok()) return s;
    return store;
  }

  Status InsertKey(const KeyRecord& key) override {
    return Call(/*retry=*/false, [&](Connection& conn, Deadline deadline) -> Status {
      auto r = conn.Run(kInsertKey,
                        {Text(key.id), Text(key.project_id), Text(key.user_id), Text(key.name),
                         Text(key.public_key), Text(key.fingerprint), Text(key.shared_in_project),
                         Text(key.created_at_us)},
                        deadline);
      if (r.ok()) return Status::Ok();
      if (r.status().code() == StatusCode::kAlreadyExists) {
        // The only unique constraints: the primary key (id) and (project_id, name).
        return AlreadyExists(
            std::string(conn.violated_constraint() == "keys_pkey" ? kKeyIdTaken : kKeyNameTaken));
      }
      return r.status();
    });
  }

  StatusOr<KeyRecord> GetKey(std::string_view id) override {
    return ReadOneKey(kGetKey, {Text(id)});
  }

  StatusOr<KeyRecord> GetKeyByName(int64_t project_id, std::string_view name) override {
    return ReadOneKey(kGetKeyByName, {Text(project_id), Text(name)});
  }

  StatusOr<KeyPage> ListKeys(const ListQuery& query) override {
    if (Status s = ValidateListQuery(query); !s.ok()) return s;
    const ListStatements statements = MakeListStatements(query);
    const Params params = PageParams(statements, query);
    return Call(/*retry=*/true, [&](Connection& conn, Deadline deadline) -> StatusOr<KeyPage> {
      KeyPage page;
      if (query.limit == 0) {  // only the total
        auto count = conn.Run(statements.count, statements.filters, deadline);
        if (!count.ok()) return count.status();
        page.total = count->Int64(0, 0);
        return page;
      }
      auto r = conn.Run(statements.page, params, deadline);
      if (!r.ok()) return r.status();
      if (r->rows() > 0) return PageOf(*r);
      if (query.offset == 0) return page;  // nothing matched (total 0, same snapshot)
      // Past the end: an empty page carries no total. Read both again from one snapshot:
      // the total must agree with the emptiness (clients page while offset < total).
      if (auto b = conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", deadline);
          !b.ok()) {
        return b.status();
      }
      StatusOr<KeyPage> snapshot = ReadPageInTransaction(conn, statements, params, deadline);
      if (snapshot.ok()) {
        if (auto c = conn.Exec("COMMIT", deadline); !c.ok()) snapshot = c.status();
      }
      conn.Rollback(deadline);  // no-op after COMMIT
      return snapshot;
    });
  }

  Status DeleteKey(std::string_view id) override {
    return Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      auto r = conn.Run(kDeleteKey, {Text(id)}, deadline);
      if (!r.ok()) return r.status();
      if (r->Affected() == 0) return NotFound(std::string(kKeyNotFound));
      return Status::Ok();
    });
  }

  StatusOr<KeyRecord> SetShared(std::string_view id, bool shared) override {
    return Call(false, [&](Connection& conn, Deadline deadline) -> StatusOr<KeyRecord> {
      auto r = conn.Run(kSetShared, {Text(id), Text(shared)}, deadline);
      if (!r.ok()) return r.status();
      if (r->rows() == 0) return NotFound(std::string(kKeyNotFound));
      return ReadKey(*r, 0);
    });
  }

  Status InsertToken(const TokenRecord& token) override {
    return Call(false, [&](Connection& conn, Deadline deadline) -> Status {
      auto r = conn.Run(
          kInsertToken,
          {Text(token.id), Text(token.user_id), Text(token.admin), ProjectsArray(token.projects),
           ByteaHex(token.secret_hash), Text(token.created_at_us),
           token.revoked_at_us ? Text(*token.revoked_at_us) : std::nullopt},
          deadline);
      if (r.ok()) return Status::Ok();
      if (r.status().code() == StatusCode::kAlreadyExists) {
        return AlreadyExists(std::string(kTokenIdTaken));
      }
      return r.status();
    });
  }

  StatusOr<TokenRecord> GetToken(std::string_view id) override {
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<TokenRecord> {
      auto r = conn.Run(kGetToken, {Text(id)}, deadline);
      if (!r.ok()) return r.status();
      if (r->rows() == 0) return NotFound(std::string(kTokenNotFound));
      return ReadToken(*r, 0);
    });
  }

  StatusOr<std::vector<TokenRecord>> ListTokens() override {
    return Call(true,
                [&](Connection& conn, Deadline deadline) -> StatusOr<std::vector<TokenRecord>> {
                  auto r = conn.Run(kListTokens, {}, deadline);
                  if (!r.ok()) return r.status();
                  std::vector<TokenRecord> tokens;
                  for (int i = 0; i < r->rows(); ++i) {
                    auto token = ReadToken(*r, i);
                    if (!token.ok()) return token.status();
                    tokens.push_back(std::move(*token));
                  }
                  return tokens;
                });
  }

  Status RevokeToken(std::string_view id, int64_t at_us) override {
    // Idempotent in effect (coalesce), so a retry after a lost connection is safe.
    return Call(true, [&](Connection& conn, Deadline deadline) -> Status {
      auto r = conn.Run(kRevokeToken, {Text(id), Text(at_us)}, deadline);
      if (!r.ok()) return r.status();
      if (r->Affected() == 0) return NotFound(std::string(kTokenNotFound));
      return Status::Ok();
    });
  }

  Status Ping() override {
    Status s = Call(true, [&](Connection& conn, Deadline deadline) -> Status {
      return conn.Run(kPing, {}, deadline).status();
    });
    return s.ok() || s.code() == StatusCode::kUnavailable ? s : Unavailable(std::string(kDown));
  }

  // --- for postgres_store_testing.h -----------------------------------------------------

  StatusOr<std::vector<std::string>> ListKeysPlan(const ListQuery& query) {
    const ListStatements statements = MakeListStatements(query);
    const Params params = PageParams(statements, query);
    return Call(false,
                [&](Connection& conn, Deadline deadline) -> StatusOr<std::vector<std::string>> {
                  std::vector<std::string> lines;
                  Status s;
                  for (const char* sql :
                       {"BEGIN", "SET LOCAL enable_seqscan = off", "SET LOCAL enable_sort = off"}) {
                    if (auto r = conn.Exec(sql, deadline); !r.ok()) s = r.status();
                    if (!s.ok()) break;
                  }
                  if (s.ok()) {
                    auto r = conn.RunOnce("EXPLAIN " + statements.page.sql, params, deadline);
                    if (r.ok()) {
                      for (int i = 0; i < r->rows(); ++i) lines.push_back(r->Text(i, 0));
                    } else {
                      s = r.status();
                    }
                  }
                  conn.Rollback(deadline);
                  if (!s.ok()) return s;
                  return lines;
                });
  }

  // Runs `sql` on every pooled connection (opening those that are closed).
  StatusOr<std::vector<std::string>> OnEveryConnection(const std::string& sql) {
    std::vector<ConnectionPool::Lease> leases;
    std::vector<std::string> out;
    for (size_t i = 0; i < pool_.size(); ++i) {
      auto lease = pool_.Acquire(Clock::now() + kAcquireTimeout);
      if (!lease.ok()) return lease.status();
      if (!(*lease)->Healthy()) {
        if (Status s = Connect(**lease); !s.ok()) return s;
      }
      auto r = (*lease)->Exec(sql, Clock::now() + kQueryTimeout);
      if (!r.ok()) return r.status();
      out.push_back(r->rows() > 0 ? r->Text(0, 0) : "");
      leases.push_back(std::move(*lease));  // hold it so the next Acquire gets another
    }
    return out;
  }

  StatusOr<std::vector<std::string>> OpenBackendPids() {
    std::vector<ConnectionPool::Lease> leases;
    std::vector<std::string> out;
    for (size_t i = 0; i < pool_.size(); ++i) {
      auto lease = pool_.Acquire(Clock::now() + kAcquireTimeout);
      if (!lease.ok()) return lease.status();
      if ((*lease)->Healthy()) {
        auto r = (*lease)->Exec("SELECT pg_backend_pid()", Clock::now() + kQueryTimeout);
        if (!r.ok()) return r.status();
        out.push_back(r->Text(0, 0));
      }
      leases.push_back(std::move(*lease));
    }
    return out;
  }

 private:
  PostgresStore(ConnectSettings settings, int pool_size)
      : settings_(std::move(settings)), pool_(pool_size) {}

  static std::string OneLine(std::string text) {
    for (char& c : text) {
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text;
  }

  // Opens `conn`, unless a connect failed moments ago (then fails at once).
  Status Connect(Connection& conn) {
    {
      std::lock_guard lock(mu_);
      if (Clock::now() < retry_after_) return Unavailable(std::string(kDown));
    }
    Status s = conn.Open(settings_);
    std::lock_guard lock(mu_);
    if (!s.ok()) {
      retry_after_ = Clock::now() + kReconnectBackoff;
      if (!down_) {
        down_ = true;
        LogLine(LogLevel::kError, "database unreachable").Str("error", OneLine(conn.last_error()));
      }
      return s;
    }
    if (down_) {
      down_ = false;
      LogLine(LogLevel::kInfo, "database reachable again");
    }
    return s;
  }

  // Leases a healthy connection and runs `fn(conn, deadline)` on it. If the connection
  // was lost under a call that is safe to repeat (`retry`: reads, and writes whose repeat
  // has the same effect) and had been open before, the call runs once more on a new
  // connection: the server may simply have been restarted since the connection was
  // last used. A stale connection fails fast and is closed by the failure, so retrying
  // until a failure on a fresh connection visits each stale pooled connection once.
  template <typename Fn>
  auto Call(bool retry, Fn&& fn) -> decltype(fn(std::declval<Connection&>(), Deadline())) {
    using R = decltype(fn(std::declval<Connection&>(), Deadline()));
    for (;;) {
      auto lease = pool_.Acquire(Clock::now() + kAcquireTimeout);
      if (!lease.ok()) return R(lease.status());
      Connection& conn = **lease;
      bool fresh = false;
      if (!conn.Healthy()) {
        if (Status s = Connect(conn); !s.ok()) return R(s);
        fresh = true;
      }
      R result = fn(conn, Clock::now() + kQueryTimeout);
      // Every pooled connection may have gone stale in one outage: keep going while the
      // failed one was not fresh (each failure closes it, so this ends within the pool).
      if (!StatusOf(result).ok() && !conn.open() && retry && !fresh) continue;
      return result;
    }
  }

  StatusOr<KeyRecord> ReadOneKey(const Statement& statement, const Params& params) {
    return Call(true, [&](Connection& conn, Deadline deadline) -> StatusOr<KeyRecord> {
      auto r = conn.Run(statement, params, deadline);
      if (!r.ok()) return r.status();
      if (r->rows() == 0) return NotFound(std::string(kKeyNotFound));
      return ReadKey(*r, 0);
    });
  }

  static KeyPage PageOf(const Result& r) {
    KeyPage page;
    page.total = r.Int64(0, kKeyColumnCount);
    page.keys.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) page.keys.push_back(ReadKey(r, i));
    return page;
  }

  static StatusOr<KeyPage> ReadPageInTransaction(Connection& conn, const ListStatements& s,
                                                 const Params& params, Deadline deadline) {
    auto r = conn.Run(s.page, params, deadline);
    if (!r.ok()) return r.status();
    if (r->rows() > 0) return PageOf(*r);
    auto count = conn.Run(s.count, s.filters, deadline);
    if (!count.ok()) return count.status();
    KeyPage page;
    page.total = count->Int64(0, 0);
    return page;
  }

  const ConnectSettings settings_;
  ConnectionPool pool_;
  std::mutex mu_;
  Deadline retry_after_{};  // guarded by mu_
  bool down_ = false;       // guarded by mu_: the last connect failed (logged once)
};

PostgresStore* AsPostgresStore(KeyStore& store) { return dynamic_cast<PostgresStore*>(&store); }

// A blocking connection for the test helpers.
StatusOr<ConnPtr> ConnectForTesting(const std::string& url) {
  auto settings = MakeConnectSettings(url);
  if (!settings.ok()) return settings.status();
  std::vector<const char*> keywords, values;
  for (size_t i = 0; i < settings->keywords.size(); ++i) {
    keywords.push_back(settings->keywords[i].c_str());
    values.push_back(settings->values[i].c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  ConnPtr conn(PQconnectdbParams(keywords.data(), values.data(), 1));
  if (conn == nullptr || PQstatus(conn.get()) != CONNECTION_OK) {
    return Unavailable("cannot connect to the test database: " +
                       std::string(conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  return conn;
}

}  // namespace

StatusOr<std::unique_ptr<KeyStore>> OpenPostgresStore(const std::string& url,
                                                      const StoreOptions& options) {
  auto store = PostgresStore::Open(url, options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<KeyStore>(std::move(*store));
}

// --- testing --------------------------------------------------------------------------------

std::string PostgresUrlWithDatabase(const std::string& url, const std::string& dbname) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t query = url.find('?', start);
  const size_t slash = url.find('/', start);
  const size_t end = query == std::string::npos ? url.size() : query;
  if (slash != std::string::npos && slash < end) {
    return url.substr(0, slash + 1) + dbname + url.substr(end);
  }
  return url.substr(0, end) + "/" + dbname + url.substr(end);
}

StatusOr<std::vector<std::string>> PostgresQueryForTesting(const std::string& url,
                                                           const std::string& sql) {
  auto conn = ConnectForTesting(url);
  if (!conn.ok()) return conn.status();
  ResultPtr r(PQexec(conn->get(), sql.c_str()));
  const ExecStatusType status = PQresultStatus(r.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    return Internal("test query failed: " + std::string(PQerrorMessage(conn->get())));
  }
  std::vector<std::string> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out.emplace_back(PQgetvalue(r.get(), i, 0));
  return out;
}

PostgresTestDatabase::PostgresTestDatabase(std::string maintenance_url, std::string name)
    : maintenance_url_(std::move(maintenance_url)),
      name_(std::move(name)),
      url_(PostgresUrlWithDatabase(maintenance_url_, name_)) {}

StatusOr<std::unique_ptr<PostgresTestDatabase>> PostgresTestDatabase::Create(
    const std::string& maintenance_url) {
  std::random_device random;
  std::string name = "kpd_test_";
  for (int i = 0; i < 4; ++i) {
    char buf[9];
    std::snprintf(buf, sizeof(buf), "%08x", random());
    name += buf;
  }
  auto created = PostgresQueryForTesting(maintenance_url, "CREATE DATABASE " + name);
  if (!created.ok()) return created.status();
  return std::unique_ptr<PostgresTestDatabase>(new PostgresTestDatabase(maintenance_url, name));
}

PostgresTestDatabase::~PostgresTestDatabase() {
  (void)PostgresQueryForTesting(maintenance_url_,
                                "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
}

StatusOr<std::vector<std::string>> PostgresTestDatabase::Query(const std::string& sql) const {
  return PostgresQueryForTesting(url_, sql);
}

StatusOr<std::vector<std::string>> PostgresListKeysPlanForTesting(KeyStore& store,
                                                                  const ListQuery& query) {
  PostgresStore* pg = AsPostgresStore(store);
  if (pg == nullptr) return InvalidArgument("not a PostgreSQL store");
  return pg->ListKeysPlan(query);
}

StatusOr<std::vector<std::string>> PostgresSessionSettingForTesting(KeyStore& store,
                                                                    const std::string& setting) {
  PostgresStore* pg = AsPostgresStore(store);
  if (pg == nullptr) return InvalidArgument("not a PostgreSQL store");
  return pg->OnEveryConnection("SHOW " + setting);
}

StatusOr<std::vector<std::string>> PostgresBackendPidsForTesting(KeyStore& store) {
  PostgresStore* pg = AsPostgresStore(store);
  if (pg == nullptr) return InvalidArgument("not a PostgreSQL store");
  return pg->OpenBackendPids();
}

int PostgresLatestSchemaVersionForTesting() { return kLatestVersion; }

}  // namespace keypaird::store
