// auth: TokenCache — the token records a node has read, each with the credentials'
// generation of the snapshot it was read in, so that a request whose own snapshot has the
// same generation uses the record instead of reading and decoding it again.
//
// Exact, not eventually right (docs/BENCHMARKS.md "The token cache"). Every change to what
// reading a token answers — a token revoked, its user disabled or enabled — moves the
// store's credentials generation in the change's own transaction (KeyReader::AuthGeneration,
// kept by triggers: the command line and other nodes move it too). A request reads the
// generation in the snapshot it reads everything else in (on SQLite from the memo of an
// unchanged database while no commit has come since it was read: store/sqlite/unchanged.h);
// a record read in a snapshot of the same generation is what the request would read itself. So a revocation stops its
// token at the first request whose snapshot begins after the revocation committed, on this
// node and on every other: what the service promised without a cache.
//
// What it saves is the token's read (its row and its user's) and its decoding, for the
// read of a one-row table in the snapshot the request opens anyway; it pays only where the
// request reads through one snapshot (KeyStore::Snapshot: SQLite's routes answered on the
// I/O thread). Elsewhere — PostgreSQL, where each read is a round trip, and the routes on the
// request workers — the Authenticator reads the token as before.
//
// Only what the store found is kept (an id that does not exist is not), at most
// `max_entries` records (the cache empties itself when full), so made-up ids cost nothing
// but the reads they would have cost anyway. Expiry and the secret are checked by the
// Authenticator on every request, from the record (which holds the secret's hash only).
// Thread-safe.
#ifndef KEYPAIRD_AUTH_TOKEN_CACHE_H_
#define KEYPAIRD_AUTH_TOKEN_CACHE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/metrics.h"
#include "store/key_store.h"

namespace keypaird::auth {

class TokenCache {
 public:
  // `metrics` (not owned) may be null.
  explicit TokenCache(size_t max_entries = 100000, Metrics* metrics = nullptr)
      : max_entries_(max_entries), metrics_(metrics) {}

  // The record of token `id` read in a snapshot of `generation`; null if none is kept.
  std::shared_ptr<const store::TokenRecord> Find(std::string_view id, int64_t generation);
  // Keeps `record`, read in a snapshot of `generation`. Records of older generations are
  // dropped when a newer one is kept: no request will ask for them again, but one whose
  // snapshot is older still may (it then reads the store).
  void Keep(int64_t generation, std::shared_ptr<const store::TokenRecord> record);

  size_t size() const;

 private:
  struct IdHash {  // finds by string_view without making a string
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  const size_t max_entries_;
  Metrics* const metrics_;
  mutable std::shared_mutex mu_;
  int64_t generation_ = -1;  // of every record kept
  std::unordered_map<std::string, std::shared_ptr<const store::TokenRecord>, IdHash,
                     std::equal_to<>>
      records_;  // by token id
};

}  // namespace keypaird::auth

#endif  // KEYPAIRD_AUTH_TOKEN_CACHE_H_
