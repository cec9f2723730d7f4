// identity: an OpenID provider's signing keys (its JWK set, RFC 7517), and a cache that
// refetches them when a token names a key it does not hold.
//
// ParseJwks keeps the keys an ID token may be verified with: RSA and EC keys imported by cjose,
// Ed25519 ("OKP") keys by OpenSSL (Debian bookworm's cjose 0.6.2 has no OKP keys). Keys for
// encryption, symmetric ("oct") keys and keys nobody can import are skipped and counted, never
// an error: one odd key must not stop sign-in with the others. A Jwk is an immutable value;
// copies share the imported key, which stays alive as long as any copy does.
//
// JwksCache is thread-safe. It fetches at most once per kMinRefetchIntervalS, whatever tokens
// arrive: a provider's key rollover is picked up on the first token signed with the new key
// (once the minute since the last fetch has passed), and a flood of tokens with made-up kids
// costs at most one fetch a minute.
#ifndef KEYPAIRD_IDENTITY_JWKS_H_
#define KEYPAIRD_IDENTITY_JWKS_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace keypaird::identity {

// The imported key itself (cjose or OpenSSL); defined in identity/jwks_internal.h.
struct JwkKeyMaterial;

struct Jwk {
  std::string kid;  // "" when the provider gave none
  std::string kty;  // "RSA", "EC" or "OKP"
  std::string crv;  // "P-256", "P-384", "P-521" or "Ed25519"; "" for RSA
  std::string alg;  // "" when not given: then any algorithm that fits kty and crv
  std::string use;  // "" or "sig"
  std::shared_ptr<const JwkKeyMaterial> material;
};

// The JWS algorithms accepted for ID tokens: RS256, ES256 and EdDSA (Ed25519 only).
bool IsAcceptedSigningAlg(std::string_view alg);

// True if an ID token whose header says `alg` may be verified with `key`: the algorithm is
// accepted, the key's type (and curve) is the one that algorithm is defined for, and the key's
// own "alg", when given, is the same. This is the guard against algorithm confusion.
bool KeyFitsAlg(const Jwk& key, std::string_view alg);

class Jwks {
 public:
  const std::vector<Jwk>& keys() const { return keys_; }
  // Keys left out because their "use" was not "sig".
  int skipped_not_for_signing() const { return skipped_not_for_signing_; }
  // Keys left out because they could not be used: symmetric, an unknown type or curve, an RSA
  // modulus under 2048 bits, a key cjose or OpenSSL refused to import, a kid seen before.
  int skipped_unusable() const { return skipped_unusable_; }

  // The key with this kid, or nullptr.
  const Jwk* Find(std::string_view kid) const;

 private:
  friend StatusOr<Jwks> ParseJwks(std::string_view json);
  std::vector<Jwk> keys_;
  int skipped_not_for_signing_ = 0;
  int skipped_unusable_ = 0;
};

// Parses the document at a provider's jwks_uri: {"keys": [...]}. kInvalidArgument if it is not
// JSON or has no "keys" array; a set with no usable key is returned empty (with its counts).
StatusOr<Jwks> ParseJwks(std::string_view json);

class JwksCache {
 public:
  static constexpr int64_t kMinRefetchIntervalS = 60;

  // `fetch` returns the body of the provider's jwks_uri (the HTTP client's deadlines and size
  // caps are its business); `now_s` the time in seconds. Both may be called from any thread
  // that calls Lookup or Current. Nothing is fetched until the first call.
  JwksCache(std::function<StatusOr<std::string>()> fetch, std::function<int64_t()> now_s);
  JwksCache(const JwksCache&) = delete;
  JwksCache& operator=(const JwksCache&) = delete;

  // The key named `kid`. When the current set lacks it, fetches the set again, unless a fetch
  // was started less than kMinRefetchIntervalS ago; a caller arriving while a fetch is under
  // way waits for its outcome instead of starting another. kNotFound when the key is still
  // unknown; kUnavailable when no set could be fetched yet. A failed fetch (or a body that does
  // not parse) keeps the previous set, and counts as a fetch for the interval.
  StatusOr<Jwk> Lookup(std::string_view kid);

  // The current set, fetched first when there is none yet (same rules and errors as Lookup).
  StatusOr<std::shared_ptr<const Jwks>> Current();

  // Fetches attempted so far (for metrics and tests).
  int64_t fetches() const;

 private:
  // Returns with `lock` held. Fetches if allowed (never more than once at a time), else waits
  // for a fetch under way, if any, to end.
  void RefreshLocked(std::unique_lock<std::mutex>& lock);

  const std::function<StatusOr<std::string>()> fetch_;
  const std::function<int64_t()> now_s_;

  mutable std::mutex mu_;
  std::condition_variable fetch_done_;
  std::shared_ptr<const Jwks> set_;  // null until a fetch succeeded
  Status last_error_;                // why the last fetch failed, if it did
  bool fetching_ = false;
  bool ever_fetched_ = false;
  int64_t last_fetch_start_s_ = 0;
  int64_t fetches_ = 0;
};

}  // namespace keypaird::identity

#endif  // KEYPAIRD_IDENTITY_JWKS_H_
