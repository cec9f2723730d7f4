#include "store/postgres/driver.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <type_traits>
#include <variant>

#include "common/strings.h"

namespace keypaird::store::pg {

using std::chrono::milliseconds;
using std::chrono::seconds;

int64_t ParseInt64(const char* text) {
  int64_t value = 0;
  std::from_chars(text, text + std::strlen(text), value);
  return value;
}

namespace {

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

}  // namespace

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

Status Connection::Open(const ConnectSettings& settings) {
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

bool Connection::Healthy() const {
  if (conn_ == nullptr || PQstatus(conn_.get()) != CONNECTION_OK ||
      PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) {
    return false;
  }
  pollfd p{PQsocket(conn_.get()), POLLIN, 0};
  return p.fd >= 0 && ::poll(&p, 1, 0) == 0;
}

StatusOr<Result> Connection::Run(const Statement& statement, const Params& params,
                                 Deadline deadline) {
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

StatusOr<Result> Connection::RunOnce(const std::string& sql, const Params& params,
                                     Deadline deadline) {
  if (conn_ == nullptr) return Unavailable(std::string(kDown));
  const std::vector<const char*> values = Values(params);
  if (PQsendQueryParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                        values.data(), nullptr, nullptr, 0) == 0) {
    return Broken();
  }
  return Collect(deadline);
}

StatusOr<Result> Connection::Exec(const std::string& sql, Deadline deadline) {
  if (conn_ == nullptr) return Unavailable(std::string(kDown));
  if (PQsendQuery(conn_.get(), sql.c_str()) == 0) return Broken();
  return Collect(deadline);
}

void Connection::Rollback(Deadline deadline) {
  if (conn_ == nullptr || Idle()) return;
  (void)Exec("ROLLBACK", deadline);
  if (!Idle()) Close();
}

std::vector<const char*> Connection::Values(const Params& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  return values;
}

Status Connection::Broken() {
  Close();
  return Unavailable(std::string(kDown));
}

StatusOr<Result> Connection::Collect(Deadline deadline) {
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

Status Connection::TimedOut() {
  Close();
  return Unavailable(std::string(kSlow));
}

Status Connection::FromError(const PGresult* result) {
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

std::function<void(Connection&)> CloseIfNotIdle() {
  return [](Connection& conn) {
    if (conn.open() && !conn.Idle()) conn.Close();
  };
}

std::optional<std::string> ToText(const sql::SqlValue& value) {
  return std::visit(
      [](const auto& v) -> std::optional<std::string> {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, sql::SqlNull>) {
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          return std::string(v ? "t" : "f");
        } else if constexpr (std::is_same_v<T, std::string>) {
          return v;
        } else {
          std::string out = "\\x";
          AppendHex(&out, reinterpret_cast<const unsigned char*>(v.bytes.data()), v.bytes.size());
          return out;
        }
      },
      value);
}

Params ToParams(const std::vector<sql::SqlValue>& values) {
  Params params;
  params.reserve(values.size());
  for (const auto& v : values) params.push_back(ToText(v));
  return params;
}

}  // namespace keypaird::store::pg
