#include "auth/tokens.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>

#include "common/digest.h"
#include "common/strings.h"

namespace keypaird::auth {
namespace {

constexpr std::string_view kPrefix = "kpd_";
constexpr size_t kIdHexLen = 16;
constexpr size_t kSecretHexLen = 64;

// Random bytes as lowercase hex, into `out` (wiped by the caller when secret).
bool RandomHex(size_t bytes, std::string* out) {
  std::array<unsigned char, 64> buf{};
  if (bytes > buf.size() || RAND_bytes(buf.data(), static_cast<int>(bytes)) != 1) return false;
  out->clear();
  out->reserve(bytes * 2);
  AppendHex(out, buf.data(), bytes);
  OPENSSL_cleanse(buf.data(), buf.size());
  return true;
}

}  // namespace

bool Principal::MayUseProject(int64_t project_id) const {
  return admin || std::binary_search(projects.begin(), projects.end(), project_id);
}

std::string HashSecret(std::string_view secret) {
  static const Digest kSha256("SHA256");
  std::string hash = kSha256.Of(secret);
  if (hash.empty()) std::abort();  // no SHA-256: no token can be minted or checked
  return hash;
}

bool SplitToken(std::string_view token, std::string_view* id, std::string_view* secret) {
  if (token.size() != kPrefix.size() + kIdHexLen + 1 + kSecretHexLen) return false;
  if (token.substr(0, kPrefix.size()) != kPrefix) return false;
  std::string_view rest = token.substr(kPrefix.size());
  if (rest[kIdHexLen] != '_') return false;
  *id = rest.substr(0, kIdHexLen);
  *secret = rest.substr(kIdHexLen + 1);
  return IsLowerHex(*id) && IsLowerHex(*secret);
}

Status ValidatePrincipal(std::string_view principal) {
  if (principal.empty() || principal.size() > 255) {
    return InvalidArgument("a principal must be 1 to 255 characters long");
  }
  for (char c : principal) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '@' || c == '-';
    if (!ok) {
      return InvalidArgument("a principal may contain only letters, digits, '.', '_', '@' and '-'");
    }
  }
  return Status::Ok();
}

StatusOr<MintedToken> MintToken(int64_t user_id, bool admin, std::vector<int64_t> projects,
                                int64_t now_us, TokenScope scope) {
  if (user_id < 1) return InvalidArgument("the user id must be an integer >= 1");
  if (admin && !projects.empty()) {
    return InvalidArgument("a token is either admin or scoped to projects, not both");
  }
  if (!admin && projects.empty()) {
    return InvalidArgument("a non-admin token needs at least one project");
  }
  for (int64_t p : projects) {
    if (p < 1) return InvalidArgument("project ids must be integers >= 1");
  }
  std::sort(projects.begin(), projects.end());
  projects.erase(std::unique(projects.begin(), projects.end()), projects.end());
  if (scope.principals.size() > 64) return InvalidArgument("at most 64 principals per token");
  for (const std::string& p : scope.principals) {
    if (Status s = ValidatePrincipal(p); !s.ok()) return s;
  }
  std::sort(scope.principals.begin(), scope.principals.end());
  scope.principals.erase(std::unique(scope.principals.begin(), scope.principals.end()),
                         scope.principals.end());

  std::string id;
  std::string secret;
  if (!RandomHex(kIdHexLen / 2, &id) || !RandomHex(kSecretHexLen / 2, &secret)) {
    WipeString(secret);
    return Internal("the random number generator failed");
  }
  MintedToken minted;
  minted.record.id = id;
  minted.record.user_id = user_id;
  minted.record.admin = admin;
  minted.record.projects = std::move(projects);
  minted.record.secret_hash = HashSecret(secret);
  minted.record.created_at_us = now_us;
  minted.record.read_only = scope.read_only;
  minted.record.principals = std::move(scope.principals);
  std::string token;
  token.reserve(kPrefix.size() + id.size() + 1 + secret.size());
  token.append(kPrefix).append(id).append("_").append(secret);
  WipeString(secret);
  minted.token = SecretString(std::move(token));
  return minted;
}

StatusOr<Principal> Authenticator::Authenticate(std::string_view header,
                                                store::KeyReader* reads) const {
  if (header.empty()) return Unauthenticated("Authentication credentials were not provided.");
  const size_t space = header.find(' ');
  if (space == std::string_view::npos ||
      !(EqualsIgnoreAsciiCase(header.substr(0, space), "apikey") ||
        EqualsIgnoreAsciiCase(header.substr(0, space), "bearer"))) {
    return Unauthenticated("The Authorization header must be 'APIKey <token>'.");
  }
  std::string_view token = header.substr(space + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);

  std::string_view id;
  std::string_view secret;
  if (!SplitToken(token, &id, &secret)) return Unauthenticated("Invalid token.");
  StatusOr<store::TokenRecord> record = (reads != nullptr ? *reads : *store_).GetToken(id);
  if (!record.ok()) {
    if (record.status().code() == StatusCode::kNotFound) return Unauthenticated("Invalid token.");
    return record.status();
  }
  const std::string hash = HashSecret(secret);
  if (record->secret_hash.size() != hash.size() ||
      CRYPTO_memcmp(record->secret_hash.data(), hash.data(), hash.size()) != 0) {
    return Unauthenticated("Invalid token.");
  }
  if (record->revoked_at_us.has_value()) return Unauthenticated("Invalid token.");
  if (record->user_disabled) return Unauthenticated("The token's user is disabled.");
  Principal p;
  p.token_id = record->id;
  p.user_id = record->user_id;
  p.admin = record->admin;
  p.projects = record->projects;
  p.read_only = record->read_only;
  p.principals = record->principals;
  return p;
}

}  // namespace keypaird::auth
