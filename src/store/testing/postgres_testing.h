// Test fixtures for the PostgreSQL backend: fresh databases on the test cluster and raw
// queries beside the store. Linked only into test binaries (keypaird_store_testing); the
// production library never creates or drops databases.
#ifndef KEYPAIRD_STORE_TESTING_POSTGRES_TESTING_H_
#define KEYPAIRD_STORE_TESTING_POSTGRES_TESTING_H_

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace keypaird::store {

// The environment variable that holds the test cluster's maintenance URL
// (scripts/test.sh starts the cluster with scripts/postgres.sh and sets it).
inline constexpr char kTestPostgresUrlVariable[] = "KEYPAIRD_TEST_POSTGRES_URL";

// `url` with its database name replaced by `dbname` (the path part of the URI).
std::string PostgresUrlWithDatabase(const std::string& url, const std::string& dbname);

// An empty database made for one test, dropped (with FORCE) when this object goes.
class PostgresTestDatabase {
 public:
  // Creates a database with a unique name through `maintenance_url`.
  static StatusOr<std::unique_ptr<PostgresTestDatabase>> Create(const std::string& maintenance_url);
  ~PostgresTestDatabase();
  PostgresTestDatabase(const PostgresTestDatabase&) = delete;
  PostgresTestDatabase& operator=(const PostgresTestDatabase&) = delete;

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }

  // Runs `sql` (no parameters) in this database on a connection of its own and returns
  // the first column of every row.
  StatusOr<std::vector<std::string>> Query(const std::string& sql) const;

 private:
  PostgresTestDatabase(std::string maintenance_url, std::string name);
  std::string maintenance_url_;
  std::string name_;
  std::string url_;
};

// Runs `sql` through `url` on a new connection; the first column of every row.
StatusOr<std::vector<std::string>> PostgresQueryForTesting(const std::string& url,
                                                           const std::string& sql);

}  // namespace keypaird::store

#endif  // KEYPAIRD_STORE_TESTING_POSTGRES_TESTING_H_
