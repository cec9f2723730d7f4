// The PostgreSQL backend's factory. Internal to store/: everyone else goes through
// OpenStore("postgresql://…") in store/key_store.h.
#ifndef KEYPAIRD_STORE_POSTGRES_POSTGRES_STORE_H_
#define KEYPAIRD_STORE_POSTGRES_POSTGRES_STORE_H_

#include <memory>
#include <string>

#include "common/status.h"
#include "store/key_store.h"

namespace keypaird::store {

// `url` is a libpq connection URI (postgresql://user[:password]@host[:port]/db[?param=…],
// also postgres://) and is handed to libpq as is, so every libpq URI parameter works
// (sslmode, sslrootcert, target_session_attrs, …). Defaults the URL may override:
// connect_timeout=3, TCP keepalives, application_name=keypaird and
// options='-c statement_timeout=5000'.
//
// Connections: `options.pool_size` connections, each leased to one call at a time,
// opened lazily (the first at open) and reopened on the next call after they break.
// Every statement is prepared once per connection. A call never waits longer than a
// bounded time: the connect timeout to connect, then about 6 s for its statement
// (client-side deadline on top of the server's statement_timeout); while the database is
// down every call fails at once with kUnavailable ("the database is unavailable").
// Nothing is cached: every call reads the database.
//
// Schema: the same versioned migrations as SQLite, recorded in schema_migrations and
// applied in one transaction under a transaction-level advisory lock, so several nodes
// starting at once are safe.
//
// Errors: kInvalidArgument for a URL libpq cannot parse (never echoed); kUnavailable if
// the database cannot be reached, if the schema is behind and options.apply_migrations is
// false (the message says to run `keypaird migrate`), or if the database was migrated by
// a newer keypaird.
StatusOr<std::unique_ptr<KeyStore>> OpenPostgresStore(const std::string& url,
                                                      const StoreOptions& options);

}  // namespace keypaird::store

#endif  // KEYPAIRD_STORE_POSTGRES_POSTGRES_STORE_H_
