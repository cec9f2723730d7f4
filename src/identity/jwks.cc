#include "identity/jwks.h"

#include <cjose/jwk.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>
#include <utility>

#include "common/base64.h"
#include "identity/jwks_internal.h"

namespace keypaird::identity {
namespace {

// RFC 7518 §3.3: RS256 keys are at least 2048 bits.
constexpr size_t kMinRsaBits = 2048;
constexpr size_t kEd25519KeyBytes = 32;

// The string member `name` of `obj` into *out ("" when absent); false when it is present but
// not a string.
bool OptionalString(const nlohmann::json& obj, const char* name, std::string* out) {
  out->clear();
  const auto it = obj.find(name);
  if (it == obj.end()) return true;
  if (!it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

const char* CurveName(cjose_jwk_ec_curve curve) {
  switch (curve) {
    case CJOSE_JWK_EC_P_256:
      return "P-256";
    case CJOSE_JWK_EC_P_384:
      return "P-384";
    case CJOSE_JWK_EC_P_521:
      return "P-521";
    default:
      return nullptr;
  }
}

// An RSA or EC key, imported by cjose from the member's own JSON text. Fills key->crv for EC.
bool ImportWithCjose(const nlohmann::json& member, Jwk* key) {
  const std::string text = member.dump();
  cjose_err err{};
  CjoseJwkPtr jwk(cjose_jwk_import(text.data(), text.size(), &err));
  if (jwk == nullptr) return false;
  // cjose reads "kty" itself; make sure it read the same type we did.
  const cjose_jwk_kty_t kty = cjose_jwk_get_kty(jwk.get(), &err);
  if (key->kty == "RSA") {
    if (kty != CJOSE_JWK_KTY_RSA || cjose_jwk_get_keysize(jwk.get(), &err) < kMinRsaBits) {
      return false;
    }
    key->crv.clear();
  } else {
    if (kty != CJOSE_JWK_KTY_EC) return false;
    const char* curve = CurveName(cjose_jwk_EC_get_curve(jwk.get(), &err));
    if (curve == nullptr) return false;
    key->crv = curve;
  }
  auto material = std::make_shared<JwkKeyMaterial>();
  material->cjose = std::move(jwk);
  key->material = std::move(material);
  return true;
}

// cjose 0.6.2 (Debian bookworm) knows no OKP keys (RFC 8037), so Ed25519 public keys are
// imported here: "x" is the 32-byte public key, base64url without padding.
bool ImportEd25519(const nlohmann::json& member, Jwk* key) {
  std::string x_b64;
  if (!OptionalString(member, "x", &x_b64) || key->crv != "Ed25519") return false;
  std::string x;
  if (!Base64UrlDecode(x_b64, &x) || x.size() != kEd25519KeyBytes) return false;
  OpenSslPtr<EVP_PKEY, EVP_PKEY_free> pkey(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x.data()), x.size()));
  if (pkey == nullptr) return false;
  auto material = std::make_shared<JwkKeyMaterial>();
  material->ed25519 = std::move(pkey);
  key->material = std::move(material);
  return true;
}

Status CouldNotFetch(const Status& why) {
  return Unavailable("the identity provider's signing keys could not be fetched: " + why.message());
}

enum class Verdict { kKept, kNotForSigning, kUnusable };

Verdict ImportMember(const nlohmann::json& member, Jwk* key) {
  if (!member.is_object()) return Verdict::kUnusable;
  if (!OptionalString(member, "use", &key->use)) return Verdict::kUnusable;
  if (!key->use.empty() && key->use != "sig") return Verdict::kNotForSigning;
  if (!OptionalString(member, "kid", &key->kid) || !OptionalString(member, "kty", &key->kty) ||
      !OptionalString(member, "alg", &key->alg) || !OptionalString(member, "crv", &key->crv)) {
    return Verdict::kUnusable;
  }
  // "oct" keys are left out on purpose: a symmetric key has no place in a public set, and
  // holding none means no HS256 token can ever find a key to be checked with.
  bool imported = false;
  if (key->kty == "RSA" || key->kty == "EC") {
    imported = ImportWithCjose(member, key);
  } else if (key->kty == "OKP") {
    imported = ImportEd25519(member, key);
  }
  return imported ? Verdict::kKept : Verdict::kUnusable;
}

}  // namespace

bool IsAcceptedSigningAlg(std::string_view alg) {
  return alg == "RS256" || alg == "ES256" || alg == "EdDSA";
}

bool KeyFitsAlg(const Jwk& key, std::string_view alg) {
  if (!key.alg.empty() && key.alg != alg) return false;
  if (alg == "RS256") return key.kty == "RSA";
  if (alg == "ES256") return key.kty == "EC" && key.crv == "P-256";
  if (alg == "EdDSA") return key.kty == "OKP" && key.crv == "Ed25519";
  return false;
}

const Jwk* Jwks::Find(std::string_view kid) const {
  if (kid.empty()) return nullptr;  // keys without a kid are found only as a set's sole key
  for (const Jwk& key : keys_) {
    if (key.kid == kid) return &key;
  }
  return nullptr;
}

StatusOr<Jwks> ParseJwks(std::string_view json) {
  const nlohmann::json doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidArgument("the provider's key set (jwks_uri) is not a JSON object");
  }
  const auto members = doc.find("keys");
  if (members == doc.end() || !members->is_array()) {
    return InvalidArgument("the provider's key set (jwks_uri) has no \"keys\" array");
  }
  Jwks set;
  for (const nlohmann::json& member : *members) {
    Jwk key;
    switch (ImportMember(member, &key)) {
      case Verdict::kNotForSigning:
        ++set.skipped_not_for_signing_;
        continue;
      case Verdict::kUnusable:
        ++set.skipped_unusable_;
        continue;
      case Verdict::kKept:
        break;
    }
    // Two keys with one kid: which one a token meant is unknowable, so the first one stands.
    if (set.Find(key.kid) != nullptr) {
      ++set.skipped_unusable_;
      continue;
    }
    set.keys_.push_back(std::move(key));
  }
  return set;
}

JwksCache::JwksCache(std::function<StatusOr<std::string>()> fetch, std::function<int64_t()> now_s)
    : fetch_(std::move(fetch)), now_s_(std::move(now_s)) {}

void JwksCache::RefreshLocked(std::unique_lock<std::mutex>& lock) {
  if (fetching_) {
    // Someone's fetch is under way: its outcome is as fresh as ours would be.
    fetch_done_.wait(lock, [this] { return !fetching_; });
    return;
  }
  const int64_t now = now_s_();
  // A clock that stepped back (now < last start) does not hold fetches off for the gap.
  if (ever_fetched_ && now >= last_fetch_start_s_ &&
      now - last_fetch_start_s_ < kMinRefetchIntervalS) {
    return;
  }
  fetching_ = true;
  ever_fetched_ = true;
  last_fetch_start_s_ = now;
  ++fetches_;

  // The fetch is network I/O: made without the mutex, so lookups of known kids go on. Whatever
  // happens in it (even an exception), waiters must be woken and fetching_ reset.
  class FetchEnd {
   public:
    FetchEnd(JwksCache* cache, std::unique_lock<std::mutex>* lock) : cache_(cache), lock_(lock) {}
    FetchEnd(const FetchEnd&) = delete;
    FetchEnd& operator=(const FetchEnd&) = delete;
    ~FetchEnd() {
      if (!lock_->owns_lock()) lock_->lock();
      cache_->fetching_ = false;
      cache_->fetch_done_.notify_all();
    }

   private:
    JwksCache* cache_;
    std::unique_lock<std::mutex>* lock_;
  } end(this, &lock);
  lock.unlock();
  StatusOr<std::string> body = fetch_();
  StatusOr<Jwks> parsed = body.ok() ? ParseJwks(*body) : StatusOr<Jwks>(body.status());
  auto fresh = parsed.ok() ? std::make_shared<const Jwks>(std::move(*parsed)) : nullptr;
  lock.lock();
  if (fresh != nullptr) {
    set_ = std::move(fresh);
    last_error_ = Status::Ok();
  } else {
    last_error_ = parsed.status();  // and the set we had stays
  }
}

StatusOr<std::shared_ptr<const Jwks>> JwksCache::Current() {
  std::unique_lock<std::mutex> lock(mu_);
  if (set_ == nullptr) RefreshLocked(lock);
  if (set_ == nullptr) {
    return CouldNotFetch(last_error_);
  }
  return set_;
}

StatusOr<Jwk> JwksCache::Lookup(std::string_view kid) {
  std::unique_lock<std::mutex> lock(mu_);
  if (set_ != nullptr) {
    if (const Jwk* key = set_->Find(kid)) return *key;
  }
  RefreshLocked(lock);
  if (set_ == nullptr) {
    return CouldNotFetch(last_error_);
  }
  if (const Jwk* key = set_->Find(kid)) return *key;
  return NotFound("the identity provider lists no signing key with this kid");
}

int64_t JwksCache::fetches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fetches_;
}

}  // namespace keypaird::identity
