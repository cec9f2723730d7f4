// The SQLite backend's factory. Internal to store/: everyone else goes through
// OpenStore("sqlite:PATH") in store/key_store.h.
#ifndef KEYPAIRD_STORE_SQLITE_SQLITE_STORE_H_
#define KEYPAIRD_STORE_SQLITE_SQLITE_STORE_H_

#include <memory>
#include <string_view>

#include "common/status.h"
#include "store/key_store.h"

namespace keypaird::store {

// `path` is what follows "sqlite:" in the URL: a file path, or ":memory:" for a private
// in-memory database (one connection, no persistence). For a file, the parent directory
// (mode 0700) and the file (mode 0600) are created if missing. Every connection runs in
// WAL mode with synchronous=FULL, foreign_keys=ON and a 5 s busy timeout.
//
// Schema: versioned migrations recorded in schema_migrations, each applied once in its
// own BEGIN IMMEDIATE transaction (safe when several processes open at once).
//
// Errors: kInvalidArgument for an empty path; kUnavailable if the file cannot be created
// or opened, if the schema is behind and options.apply_migrations is false (the message
// says to run `keypaird migrate`), or if the database was written by a newer keypaird
// (it has migrations this build does not know).
StatusOr<std::unique_ptr<KeyStore>> OpenSqliteStore(std::string_view path,
                                                    const StoreOptions& options);

}  // namespace keypaird::store

#endif  // KEYPAIRD_STORE_SQLITE_SQLITE_STORE_H_
