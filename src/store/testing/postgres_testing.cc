#include "store/testing/postgres_testing.h"

#include <libpq-fe.h>

#include <cstdio>
#include <memory>
#include <random>

namespace keypaird::store {
namespace {

struct ConnFinisher {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};

}  // namespace

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
  std::unique_ptr<PGconn, ConnFinisher> conn(PQconnectdb(url.c_str()));
  if (conn == nullptr || PQstatus(conn.get()) != CONNECTION_OK) {
    return Unavailable("cannot connect to the test database: " +
                       std::string(conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  std::unique_ptr<PGresult, ResultClearer> r(PQexec(conn.get(), sql.c_str()));
  const ExecStatusType status = PQresultStatus(r.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    return Internal("test query failed: " + std::string(PQerrorMessage(conn.get())));
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

}  // namespace keypaird::store
