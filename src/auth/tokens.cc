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
constexpr std::string_view kJoinPrefix = "kpj_";  // a host join token's: never an API token
constexpr std::string_view kHostPrefix = "kph_";  // a host token's
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

// A record with a fresh id and secret for `user_id`, made at `now_us`: the rest is the
// caller's.
// A fresh "<prefix><id>_<secret>": its id, its hash of the secret, and the whole string.
struct FreshSecret {
  std::string id;
  std::string secret_hash;
  SecretString token;
};

StatusOr<FreshSecret> NewFreshSecret(std::string_view prefix) {
  std::string id;
  std::string secret;
  if (!RandomHex(kIdHexLen / 2, &id) || !RandomHex(kSecretHexLen / 2, &secret)) {
    WipeString(secret);
    return Internal("the random number generator failed");
  }
  FreshSecret fresh;
  fresh.secret_hash = HashSecret(secret);
  std::string token;
  token.reserve(prefix.size() + id.size() + 1 + secret.size());
  token.append(prefix).append(id).append("_").append(secret);
  WipeString(secret);
  fresh.id = std::move(id);
  fresh.token = SecretString(std::move(token));
  return fresh;
}

// A record with a fresh id and secret for `user_id`, made at `now_us`: the rest is the
// caller's.
StatusOr<MintedToken> NewSecret(int64_t user_id, int64_t now_us) {
  StatusOr<FreshSecret> fresh = NewFreshSecret(kPrefix);
  if (!fresh.ok()) return fresh.status();
  MintedToken minted;
  minted.record.id = std::move(fresh->id);
  minted.record.user_id = user_id;
  minted.record.secret_hash = std::move(fresh->secret_hash);
  minted.record.created_at_us = now_us;
  minted.token = std::move(fresh->token);
  return minted;
}

bool SplitWithPrefix(std::string_view prefix, std::string_view token, std::string_view* id,
                     std::string_view* secret) {
  if (token.size() != prefix.size() + kIdHexLen + 1 + kSecretHexLen) return false;
  if (token.substr(0, prefix.size()) != prefix) return false;
  std::string_view rest = token.substr(prefix.size());
  if (rest[kIdHexLen] != '_') return false;
  *id = rest.substr(0, kIdHexLen);
  *secret = rest.substr(kIdHexLen + 1);
  return IsLowerHex(*id) && IsLowerHex(*secret);
}

}  // namespace

Role RoleNamed(std::string_view name) {
  if (name == "viewer") return Role::kViewer;
  if (name == "editor") return Role::kEditor;
  if (name == "admin") return Role::kAdmin;
  return Role::kNone;
}

const char* RoleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kEditor:
      return "editor";
    case Role::kAdmin:
      return "admin";
    case Role::kNone:
      break;
  }
  return "";
}

namespace {

const store::TokenRole* RoleOf(const std::vector<store::TokenRole>& roles, int64_t project_id) {
  auto it = std::lower_bound(
      roles.begin(), roles.end(), project_id,
      [](const store::TokenRole& r, int64_t id) { return r.project_id < id; });
  return it != roles.end() && it->project_id == project_id ? &*it : nullptr;
}

}  // namespace

Role Principal::RoleIn(int64_t project_id) const {
  if (admin) return Role::kAdmin;
  if (granted) {
    const store::TokenRole* r = RoleOf(roles, project_id);
    return r == nullptr ? Role::kNone : RoleNamed(r->role);
  }
  if (!std::binary_search(projects.begin(), projects.end(), project_id)) return Role::kNone;
  return read_only ? Role::kViewer : Role::kEditor;
}

bool Principal::AdministersAnyProject() const {
  if (admin) return true;
  return granted && std::any_of(roles.begin(), roles.end(), [](const store::TokenRole& r) {
           return RoleNamed(r.role) == Role::kAdmin;
         });
}

const std::vector<std::string>& Principal::PrincipalsIn(int64_t project_id) const {
  static const std::vector<std::string> kNone;
  if (!granted) return principals;
  const store::TokenRole* r = RoleOf(roles, project_id);
  return r == nullptr ? kNone : r->principals;
}

Status ProjectDenied(int64_t project_id) {
  return PermissionDenied("You do not have access to project " + std::to_string(project_id) + ".");
}

Status ChangeDenied(const Principal& caller, int64_t project_id) {
  if (!caller.MayUseProject(project_id)) return ProjectDenied(project_id);
  return PermissionDenied("Your role in project " + std::to_string(project_id) +
                          " is viewer: it may only read.");
}

std::string HashSecret(std::string_view secret) {
  static const Digest kSha256("SHA256");
  std::string hash = kSha256.Of(secret);
  if (hash.empty()) std::abort();  // no SHA-256: no token can be minted or checked
  return hash;
}

bool SecretMatches(std::string_view stored_hash, std::string_view secret) {
  const std::string hash = HashSecret(secret);
  return stored_hash.size() == hash.size() &&
         CRYPTO_memcmp(stored_hash.data(), hash.data(), hash.size()) == 0;
}

bool SplitToken(std::string_view token, std::string_view* id, std::string_view* secret) {
  return SplitWithPrefix(kPrefix, token, id, secret);
}

StatusOr<JoinSecret> NewJoinSecret() {
  StatusOr<FreshSecret> fresh = NewFreshSecret(kJoinPrefix);
  if (!fresh.ok()) return fresh.status();
  return JoinSecret{.id = std::move(fresh->id),
                    .secret_hash = std::move(fresh->secret_hash),
                    .token = std::move(fresh->token)};
}

bool SplitJoinToken(std::string_view token, std::string_view* id, std::string_view* secret) {
  return SplitWithPrefix(kJoinPrefix, token, id, secret);
}

StatusOr<JoinSecret> NewHostSecret() {
  StatusOr<FreshSecret> fresh = NewFreshSecret(kHostPrefix);
  if (!fresh.ok()) return fresh.status();
  return JoinSecret{.id = std::move(fresh->id),
                    .secret_hash = std::move(fresh->secret_hash),
                    .token = std::move(fresh->token)};
}

bool SplitHostToken(std::string_view token, std::string_view* id, std::string_view* secret) {
  return SplitWithPrefix(kHostPrefix, token, id, secret);
}

std::optional<std::string_view> TokenOfHeader(std::string_view header) {
  const size_t space = header.find(' ');
  if (space == std::string_view::npos ||
      !(EqualsIgnoreAsciiCase(header.substr(0, space), "apikey") ||
        EqualsIgnoreAsciiCase(header.substr(0, space), "bearer"))) {
    return std::nullopt;
  }
  std::string_view token = header.substr(space + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return token;
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

  StatusOr<MintedToken> minted = NewSecret(user_id, now_us);
  if (!minted.ok()) return minted;
  minted->record.admin = admin;
  minted->record.projects = std::move(projects);
  minted->record.read_only = scope.read_only;
  minted->record.principals = std::move(scope.principals);
  return minted;
}

StatusOr<MintedToken> MintSession(int64_t user_id, std::vector<store::TokenRole> roles,
                                  int64_t now_us, int64_t expires_at_us) {
  if (user_id < 1) return InvalidArgument("the user id must be an integer >= 1");
  if (expires_at_us <= now_us) return InvalidArgument("a session must end after it begins");
  std::sort(roles.begin(), roles.end(),
            [](const auto& a, const auto& b) { return a.project_id < b.project_id; });
  for (size_t i = 0; i < roles.size(); ++i) {
    if (roles[i].project_id < 1 || RoleNamed(roles[i].role) == Role::kNone ||
        (i > 0 && roles[i - 1].project_id == roles[i].project_id)) {
      return InvalidArgument("a session's roles name each project >= 1 once, with a known role");
    }
    for (const std::string& p : roles[i].principals) {
      if (Status s = ValidatePrincipal(p); !s.ok()) return s;
    }
  }
  StatusOr<MintedToken> minted = NewSecret(user_id, now_us);
  if (!minted.ok()) return minted;
  store::TokenRecord& r = minted->record;
  r.kind = "session";
  r.expires_at_us = expires_at_us;
  bool viewer_only = true;
  for (const store::TokenRole& role : roles) {
    r.projects.push_back(role.project_id);
    viewer_only = viewer_only && role.role == "viewer";
  }
  r.read_only = viewer_only;
  r.roles = std::move(roles);
  return minted;
}

StatusOr<MintedToken> MintAccess(const store::TokenRecord& session, int64_t now_us,
                                 int64_t max_ttl_us) {
  if (session.kind != "session" || !session.expires_at_us) {
    return InvalidArgument("an access token comes from a session");
  }
  const int64_t ends = std::min(*session.expires_at_us, now_us + max_ttl_us);
  if (ends <= now_us) return InvalidArgument("the session has ended");
  StatusOr<MintedToken> minted = NewSecret(session.user_id, now_us);
  if (!minted.ok()) return minted;
  store::TokenRecord& r = minted->record;
  r.kind = "access";
  r.parent_id = session.id;
  r.expires_at_us = ends;
  r.projects = session.projects;
  r.read_only = session.read_only;
  r.roles = session.roles;
  return minted;
}

StatusOr<Principal> Authenticator::Authenticate(std::string_view header,
                                                store::KeyReader* reads) const {
  if (header.empty()) return Unauthenticated("Authentication credentials were not provided.");
  const std::optional<std::string_view> token = TokenOfHeader(header);
  if (!token.has_value()) {
    return Unauthenticated("The Authorization header must be 'APIKey <token>'.");
  }
  if (token->starts_with(kHostPrefix)) return VerifyHost(*token);
  return Verify(*token, /*session=*/false, reads);
}

StatusOr<Principal> Authenticator::VerifyHost(std::string_view token) const {
  constexpr char kInvalid[] = "Invalid host token (or the host was deleted).";
  std::string_view id;
  std::string_view secret;
  if (!SplitHostToken(token, &id, &secret)) return Unauthenticated(kInvalid);
  StatusOr<store::HostRecord> host = store_->GetHost(id);
  if (!host.ok()) {
    if (host.status().code() == StatusCode::kNotFound) return Unauthenticated(kInvalid);
    return host.status();
  }
  if (!SecretMatches(host->token_hash, secret)) return Unauthenticated(kInvalid);
  Principal p;
  p.token_id = host->id;
  p.host_id = host->id;
  p.projects = {host->project_id};
  p.read_only = true;  // what it may change, it changes through its own routes
  return p;
}

StatusOr<Principal> Authenticator::AuthenticateSession(std::string_view cookie_value,
                                                       store::KeyReader* reads) const {
  return Verify(cookie_value, /*session=*/true, reads);
}

StatusOr<Principal> Authenticator::Verify(std::string_view token, bool session,
                                          store::KeyReader* reads) const {
  const char* invalid = session ? "The session has ended: sign in again." : "Invalid token.";
  std::string_view id;
  std::string_view secret;
  if (!SplitToken(token, &id, &secret)) return Unauthenticated(invalid);
  StatusOr<TokenRead> read = ReadToken(id, reads);
  if (!read.ok()) {
    if (read.status().code() == StatusCode::kNotFound) return Unauthenticated(invalid);
    return read.status();
  }
  const store::TokenRecord* record = &read->record();
  if (!SecretMatches(record->secret_hash, secret)) return Unauthenticated(invalid);
  // A session's secret is a cookie's, never an Authorization header's, and the other way
  // round (a token or a device flow's access token).
  if ((record->kind == "session") != session) return Unauthenticated(invalid);
  if (record->revoked_at_us.has_value()) return Unauthenticated(invalid);
  if (record->expires_at_us.has_value() && *record->expires_at_us <= now_us_()) {
    return Unauthenticated(invalid);
  }
  if (record->user_disabled) {
    return Unauthenticated(session ? "Your account is disabled." : "The token's user is disabled.");
  }
  Principal p;
  p.token_id = record->id;
  p.user_id = record->user_id;
  p.admin = record->admin;
  p.projects = record->projects;
  p.read_only = record->read_only;
  p.principals = record->principals;
  p.session = session;
  p.granted = record->kind != "token";
  p.roles = record->roles;
  return p;
}

StatusOr<Authenticator::TokenRead> Authenticator::ReadToken(std::string_view id,
                                                            store::KeyReader* reads) const {
  if (cache_ == nullptr || reads == nullptr) {
    StatusOr<store::TokenRecord> record = (reads != nullptr ? *reads : *store_).GetToken(id);
    if (!record.ok()) return record.status();
    return TokenRead{nullptr, std::move(*record)};
  }
  // The generation first: in a snapshot the order does not matter, but a reader that reads
  // each call on its own (the default Snapshot) must not tag a record with a generation
  // newer than the record.
  StatusOr<int64_t> generation = reads->AuthGeneration();
  if (!generation.ok()) return generation.status();
  if (auto kept = cache_->Find(id, *generation); kept != nullptr) {
    return TokenRead{std::move(kept), std::nullopt};
  }
  StatusOr<store::TokenRecord> record = reads->GetToken(id);
  if (!record.ok()) return record.status();
  auto shared = std::make_shared<const store::TokenRecord>(std::move(*record));
  cache_->Keep(*generation, shared);
  return TokenRead{std::move(shared), std::nullopt};
}

}  // namespace keypaird::auth
