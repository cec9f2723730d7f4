// The PostgreSQL driver (libpq): one non-blocking connection with a deadline on every
// step, statements prepared once per connection and run by name, results in text format
// read as an sql::Row, parameters as text, and the mapping of SQLSTATEs to Status.
// Internal to store/postgres/.
//
// All I/O is non-blocking with a deadline, so a dead server or network can stall a call
// only for a bounded time; a connection that failed, timed out or lost its server closes
// itself and is reopened (Open) by its next user. Healthy() tells a connection the server
// has closed while it sat idle in the pool.
//
// Threading: a Connection is not thread-safe; the pool (sql::ConnectionPool) leases each
// to one caller at a time.
//
// Status messages are fixed text (plus a SQLSTATE for unexpected errors): never SQL,
// URLs, host names or bound values. last_error() keeps libpq's message of a failed
// connect for the log.
#ifndef KEYPAIRD_STORE_POSTGRES_DRIVER_H_
#define KEYPAIRD_STORE_POSTGRES_DRIVER_H_

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/status.h"
#include "store/sql/pool.h"
#include "store/sql/rows.h"
#include "store/sql/statements.h"

namespace keypaird::store::pg {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// Connecting: libpq's connect_timeout (from the URL, else this) bounds a whole connect.
inline constexpr std::chrono::seconds kDefaultConnectTimeout{3};
// Server side: every statement on our connections (set as a startup option).
inline constexpr int kStatementTimeoutMs = 5000;
// Client side: a statement's answer must arrive within this, whatever the network does.
inline constexpr std::chrono::milliseconds kQueryTimeout{kStatementTimeoutMs + 1000};

inline constexpr std::string_view kDown = "the database is unavailable";
inline constexpr std::string_view kSlow = "the database did not answer in time";

// The shared statements (store/sql/statements.h) with $n parameters.
inline const sql::Statements& Sql() { return sql::StatementsFor(sql::Dialect::kPostgres); }

struct ConnFinisher {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnFinisher>;

struct ResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultClearer>;

int64_t ParseInt64(const char* text);

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
  std::chrono::milliseconds connect_timeout{kDefaultConnectTimeout};
};

// Our defaults come first and the URL last: libpq lets later settings override earlier
// ones, so anything the URL says wins.
StatusOr<ConnectSettings> MakeConnectSettings(const std::string& url);

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
  Status Open(const ConnectSettings& settings);

  const std::string& last_error() const { return last_error_; }

  // True if the connection is open, idle and has nothing to read: the server sends
  // nothing to an idle session of ours unless it is closing it (shutdown, restart,
  // pg_terminate_backend, idle timeouts), and then the socket turns readable.
  bool Healthy() const;

  bool Idle() const { return conn_ != nullptr && PQtransactionStatus(conn_.get()) == PQTRANS_IDLE; }

  // Runs a prepared statement (preparing it first on this connection if needed).
  StatusOr<Result> Run(const Statement& statement, const Params& params, Deadline deadline);

  // Runs `sql` once, unprepared, with parameters.
  StatusOr<Result> RunOnce(const std::string& sql, const Params& params, Deadline deadline);

  // Runs `sql` (one or more statements, no parameters) by the simple query protocol.
  StatusOr<Result> Exec(const std::string& sql, Deadline deadline);

  // Ends an open transaction; closes the connection if that fails.
  void Rollback(Deadline deadline);

  // The constraint a unique violation named (kAlreadyExists from Run).
  const std::string& violated_constraint() const { return violated_constraint_; }

 private:
  static std::vector<const char*> Values(const Params& params);
  Status Broken();
  // Sends what is buffered and collects the results of the query in flight, within the
  // deadline. The first error wins; otherwise the last result is returned.
  StatusOr<Result> Collect(Deadline deadline);
  // The connection's state is unknown after a deadline passes mid-query: close it (the
  // server notices and cancels the statement).
  Status TimedOut();
  Status FromError(const PGresult* result);

  ConnPtr conn_;
  std::unordered_set<std::string> prepared_;
  std::string last_error_;
  std::string last_sqlstate_;
  std::string violated_constraint_;
};

// A fixed set of connection slots, each leased to one caller at a time.
using Pool = sql::ConnectionPool<Connection>;

// A caller that failed half-way must not leave a transaction open on a pooled
// connection (callers roll back; this is the backstop).
std::function<void(Connection&)> CloseIfNotIdle();

inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
Status StatusOf(const StatusOr<T>& s) {
  return s.status();
}

// ---------------------------------------------------------------------------------------
// Rows and parameters: the shared row mapping (store/sql/rows.h) over libpq's text results.

class Row {
 public:
  Row(const Result& r, int row) : r_(r), row_(row) {}
  std::string Text(int col) const { return r_.Text(row_, col); }
  int64_t Int64(int col) const { return r_.Int64(row_, col); }
  bool Bool(int col) const { return r_.Bool(row_, col); }
  bool IsNull(int col) const { return r_.IsNull(row_, col); }
  StatusOr<std::string> Blob(int col) const {
    size_t length = 0;
    unsigned char* raw = PQunescapeBytea(
        reinterpret_cast<const unsigned char*>(r_.Text(row_, col).c_str()), &length);
    if (raw == nullptr) return Internal("corrupt record in the database");
    std::string bytes(reinterpret_cast<const char*>(raw), length);
    PQfreemem(raw);
    return bytes;
  }

 private:
  const Result& r_;
  int row_;
};

// A parameter in libpq's text format.
std::optional<std::string> ToText(const sql::SqlValue& value);
Params ToParams(const std::vector<sql::SqlValue>& values);

}  // namespace keypaird::store::pg

#endif  // KEYPAIRD_STORE_POSTGRES_DRIVER_H_
