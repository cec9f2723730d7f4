#include "service/sign_in.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "auth/audit.h"
#include "client/http_client.h"
#include "common/base64.h"
#include "common/json_writer.h"
#include "common/log.h"
#include "common/strings.h"
#include "common/url.h"
#include "identity/id_token.h"

namespace keypaird::service {
namespace {

constexpr int64_t kLoginTtlUs = int64_t{600} * 1000000;  // from /auth/login to the callback
constexpr size_t kMaxStateBytes = 128;
constexpr size_t kMaxCodeBytes = 4096;

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n) == nullptr) {
    std::abort();  // no HMAC-SHA256: nothing here can work
  }
  std::string mac(reinterpret_cast<const char*>(out), n);
  OPENSSL_cleanse(out, sizeof(out));
  return mac;
}

bool SameBytes(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

int Rank(std::string_view role) { return static_cast<int>(auth::RoleNamed(role)); }

// "https://host[:port]" and "/path?query" of an absolute URL the discovery check accepted.
StatusOr<std::pair<HttpUrl, std::string>> SplitUrl(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return InvalidArgument("not an absolute URL: " + url);
  const size_t path_start = url.find_first_of("/?", scheme_end + 3);
  StatusOr<HttpUrl> base = ParseHttpUrl(url.substr(0, path_start));
  if (!base.ok()) return base.status();
  std::string target = path_start == std::string::npos ? "/" : url.substr(path_start);
  if (target.front() == '?') target.insert(0, "/");
  return std::make_pair(std::move(*base), std::move(target));
}

// application/x-www-form-urlencoded's value encoding (RFC 6749 appendix B).
std::string FormValue(std::string_view value) { return PercentEncodeQueryValue(value); }

}  // namespace

std::vector<store::TokenRole> RolesFromGrants(const std::vector<store::GrantRecord>& grants,
                                              const store::UserRecord& user,
                                              bool email_verified) {
  std::map<int64_t, store::TokenRole> by_project;
  for (const store::GrantRecord& g : grants) {
    bool matches = false;
    if (!g.group.empty()) {
      matches = std::find(user.groups.begin(), user.groups.end(), g.group) != user.groups.end();
    } else if (g.user_id != 0) {
      matches = g.user_id == user.id;
    } else if (!g.user_email.empty()) {
      matches = email_verified && EqualsIgnoreAsciiCase(g.user_email, user.email);
    }
    if (!matches) continue;
    for (int64_t project : g.projects) {
      store::TokenRole& r = by_project[project];
      r.project_id = project;
      if (Rank(g.role) > Rank(r.role)) r.role = g.role;
      r.principals.insert(r.principals.end(), g.principals.begin(), g.principals.end());
    }
  }
  std::vector<store::TokenRole> roles;
  for (auto& [project, r] : by_project) {
    std::sort(r.principals.begin(), r.principals.end());
    r.principals.erase(std::unique(r.principals.begin(), r.principals.end()), r.principals.end());
    roles.push_back(std::move(r));
  }
  return roles;
}

std::string LocalReturnTo(std::string_view r) {
  const std::string fallback = "/console/";
  if (r.empty() || r.size() > 2048 || r.front() != '/') return fallback;
  if (r.size() > 1 && (r[1] == '/' || r[1] == '\\')) return fallback;  // "//host", "/\host"
  for (char c : r) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u == 0x7f || c == '\\') return fallback;
  }
  return std::string(r);
}

SignIn::SignIn(store::KeyStore* store, SignInOptions options, Clock now_us, Fetch fetch)
    : store_(store), options_(std::move(options)), now_us_(std::move(now_us)),
      fetch_(std::move(fetch)) {
  key_ = SecretString(Hmac(options_.client_secret.view(), "keypaird sign-in key v1"));
  StatusOr<HttpUrl> url = ParseHttpUrl(options_.public_url);
  if (url.ok()) {
    HttpUrl origin = *url;
    origin.base_path.clear();
    origin_ = origin.ToString();
  }
  if (!fetch_) {
    const client::HttpClientOptions http{.timeout = std::chrono::milliseconds(
                                             options_.http_timeout_ms),
                                         .ca_file = options_.ca_file,
                                         .max_body_bytes = size_t{1} << 20};
    fetch_ = [http](const std::string& url, std::string_view form, std::string_view credentials,
                    int* status) -> StatusOr<std::string> {
      StatusOr<std::pair<HttpUrl, std::string>> split = SplitUrl(url);
      if (!split.ok()) return split.status();
      client::HttpRequest request;
      request.url = split->first;
      request.target = split->second;
      request.form_body = form;
      request.basic_credentials = credentials;
      request.headers.emplace_back("Accept", "application/json");
      StatusOr<client::HttpResponse> r = client::HttpCall(request, http);
      if (!r.ok()) return r.status();
      *status = r->status;
      return std::move(r->body);
    };
  }
}

std::string SignIn::Derived(std::string_view label, std::string_view state) const {
  std::string input(label);
  input.push_back('\0');
  input.append(state);
  return Base64UrlEncode(Hmac(key_.view(), input));
}

std::string SignIn::CsrfToken(std::string_view session_id) const {
  return Derived("csrf", session_id);
}

bool SignIn::CsrfMatches(std::string_view session_id, std::string_view presented) const {
  return SameBytes(CsrfToken(session_id), presented);
}

StatusOr<identity::OidcProviderMetadata> SignIn::Provider() {
  std::lock_guard lock(mu_);
  if (provider_.has_value()) return *provider_;
  std::string issuer = options_.issuer;
  while (issuer.ends_with('/')) issuer.pop_back();
  int status = 0;
  StatusOr<std::string> body = fetch_(issuer + "/.well-known/openid-configuration", "", "", &status);
  if (!body.ok() || status != 200) {
    LogLine(LogLevel::kWarn, "cannot read the identity provider's discovery document")
        .Str("issuer", options_.issuer)
        .Str("error", body.ok() ? "HTTP " + std::to_string(status) : body.status().message());
    return Unavailable("The identity provider cannot be reached; try again shortly.");
  }
  StatusOr<identity::OidcProviderMetadata> metadata =
      identity::ParseOidcDiscovery(*body, options_.issuer);
  if (!metadata.ok()) {
    LogLine(LogLevel::kError, "the identity provider's discovery document is not acceptable")
        .Str("issuer", options_.issuer)
        .Str("error", metadata.status().message());
    return Unavailable("The identity provider is not configured correctly; see the server's log.");
  }
  provider_ = *metadata;
  const std::string jwks_uri = metadata->jwks_uri;
  Fetch fetch = fetch_;
  jwks_ = std::make_unique<identity::JwksCache>(
      [fetch, jwks_uri]() -> StatusOr<std::string> {
        int code = 0;
        StatusOr<std::string> keys = fetch(jwks_uri, "", "", &code);
        if (keys.ok() && code != 200) {
          return Unavailable("the provider's JWK set answered HTTP " + std::to_string(code));
        }
        return keys;
      },
      [now = now_us_] { return now() / 1000000; });
  return *provider_;
}

StatusOr<LoginStarted> SignIn::Start(std::string_view return_to) {
  StatusOr<identity::OidcProviderMetadata> provider = Provider();
  if (!provider.ok()) return provider.status();
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof(raw)) != 1) return Internal("the random number generator failed");
  LoginStarted started;
  started.state = Base64UrlEncode(std::string_view(reinterpret_cast<char*>(raw), sizeof(raw)));
  const int64_t now = now_us_();
  store::LoginRecord login{.state_hash = auth::HashSecret(started.state),
                           .return_to = LocalReturnTo(return_to),
                           .created_at_us = now,
                           .expires_at_us = now + kLoginTtlUs};
  if (Status s = store_->StartLogin(login); !s.ok()) return s;
  const std::string verifier = Derived("pkce", started.state);  // its challenge: S256
  std::string& url = started.redirect_url;
  url = provider->authorization_endpoint;
  url += url.find('?') == std::string::npos ? '?' : '&';
  url += "response_type=code&client_id=" + FormValue(options_.client_id) +
         "&redirect_uri=" + FormValue(options_.public_url + "/auth/callback") +
         "&scope=" + FormValue(options_.scopes) + "&state=" + started.state +
         "&nonce=" + Derived("nonce", started.state) +
         "&code_challenge=" + Base64UrlEncode(auth::HashSecret(verifier)) + "&code_challenge_method=S256";
  return started;
}

Status SignIn::Refuse(Status status, std::string_view why, const RequestOrigin& from,
                      int64_t user_id) {
  store::EventRecord event = auth::NewCliEvent(auth::kUserSignInRefused, now_us_());
  event.via = "session";
  event.actor_user_id = user_id;
  event.source_ip = from.source_ip;
  event.user_agent = from.user_agent;
  event.resource_type = "user";
  event.resource_id = user_id > 0 ? std::to_string(user_id) : "";
  std::string details;
  JsonWriter w(&details);
  w.BeginObject().Key("reason").String(why).EndObject();
  event.details = std::move(details);
  if (Status s = store_->RecordEvent(event); !s.ok()) {
    LogLine(LogLevel::kWarn, "cannot record a refused sign-in").Str("error", s.message());
  }
  LogLine(LogLevel::kInfo, "sign-in refused").Str("reason", why).Str("source_ip", from.source_ip);
  return status;
}

void SignIn::Refused(std::string_view why, const RequestOrigin& from) {
  (void)Refuse(Status::Ok(), why, from);
}

StatusOr<SessionStarted> SignIn::Finish(std::string_view code, std::string_view state,
                                        std::string_view browser_state,
                                        const RequestOrigin& from) {
  if (state.empty() || state.size() > kMaxStateBytes || code.empty() ||
      code.size() > kMaxCodeBytes) {
    return InvalidArgument("This is not the answer to a sign-in: start again.");
  }
  // Not this browser's sign-in (login CSRF: someone else's code pushed into this browser),
  // or its cookie expired. Nothing is used up: the real browser may still finish it.
  if (!SameBytes(state, browser_state)) {
    return InvalidArgument("This sign-in was not started in this browser: start again.");
  }
  const int64_t now = now_us_();
  StatusOr<store::LoginRecord> login = store_->FinishLogin(auth::HashSecret(state), now);
  if (!login.ok()) {
    if (login.status().code() != StatusCode::kNotFound) return login.status();
    return Refuse(InvalidArgument("This sign-in was used already or has expired: start again."),
                  "state used, unknown or expired", from);
  }
  StatusOr<identity::OidcProviderMetadata> provider = Provider();
  if (!provider.ok()) return provider.status();

  // The code for tokens (RFC 6749 4.1.3, RFC 7636 4.5), with the client's credentials.
  SecretString form("grant_type=authorization_code&code=" + FormValue(code) +
                    "&redirect_uri=" + FormValue(options_.public_url + "/auth/callback") +
                    "&code_verifier=" + Derived("pkce", state));
  SecretString credentials(Base64Encode(FormValue(options_.client_id) + ":" +
                                        FormValue(options_.client_secret.view())));
  int status = 0;
  StatusOr<std::string> answer =
      fetch_(provider->token_endpoint, form.view(), credentials.view(), &status);
  if (!answer.ok()) {
    LogLine(LogLevel::kWarn, "cannot reach the identity provider's token endpoint")
        .Str("error", answer.status().message());
    return Unavailable("The identity provider cannot be reached; try again shortly.");
  }
  SecretString tokens(std::move(*answer));
  nlohmann::json parsed = nlohmann::json::parse(tokens.view(), nullptr, /*allow_exceptions=*/false);
  if (status != 200 || !parsed.is_object() || !parsed.contains("id_token") ||
      !parsed["id_token"].is_string()) {
    std::string error = parsed.is_object() && parsed.contains("error") && parsed["error"].is_string()
                            ? parsed["error"].get<std::string>().substr(0, 64)
                            : "HTTP " + std::to_string(status);
    return Refuse(Unauthenticated("The identity provider refused the sign-in (" + error + ")."),
                  "token endpoint: " + error, from);
  }
  SecretString id_token(parsed["id_token"].get<std::string>());
  parsed = nullptr;
  identity::IdTokenExpectations want{.issuer = options_.issuer,
                                     .client_id = options_.client_id,
                                     .nonce = Derived("nonce", state),
                                     .now_s = now / 1000000,
                                     .groups_claim = options_.groups_claim};
  StatusOr<identity::IdTokenClaims> claims = identity::VerifyIdToken(id_token.view(), *jwks_, want);
  if (!claims.ok()) {
    if (claims.status().code() == StatusCode::kUnavailable) return claims.status();
    return Refuse(Unauthenticated("The identity provider's answer is not acceptable: " +
                                  claims.status().message()),
                  "ID token: " + claims.status().message(), from);
  }

  store::UserRecord person;
  person.issuer = claims->issuer;
  person.subject = claims->subject;
  person.email = claims->email;
  person.name = claims->name;
  person.groups = claims->groups;
  store::EventRecord signed_in = auth::NewCliEvent(auth::kUserSignIn, now);
  signed_in.via = "session";
  signed_in.source_ip = from.source_ip;
  signed_in.user_agent = from.user_agent;
  signed_in.resource_type = "user";
  StatusOr<store::UserRecord> user = store_->SignIn(person, now, signed_in);
  if (!user.ok()) return user.status();
  if (user->disabled) {
    return Refuse(PermissionDenied("Your account is disabled: ask an administrator."),
                  "user disabled", from, user->id);
  }
  StatusOr<std::vector<store::GrantRecord>> grants = store_->ListGrants();
  if (!grants.ok()) return grants.status();
  StatusOr<auth::MintedToken> session =
      auth::MintSession(user->id, RolesFromGrants(*grants, *user, claims->email_verified), now,
                        now + options_.session_ttl_s * 1000000);
  if (!session.ok()) return session.status();
  if (Status s = store_->InsertToken(session->record, store::EventRecord{}); !s.ok()) return s;
  LogLine(LogLevel::kInfo, "signed in")
      .Int("user_id", user->id)
      .Str("session_id", session->record.id)
      .Str("source_ip", from.source_ip);
  SessionStarted started;
  started.cookie_value = std::move(session->token);
  started.return_to = login->return_to;
  started.expires_at_us = *session->record.expires_at_us;
  started.user = std::move(*user);
  return started;
}

namespace {

// RFC 8628 6.1: consonants only (no words, no look-alikes), 8 of them: 20^8 ~ 2^34.6.
constexpr std::string_view kUserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ";

}  // namespace

std::string NormalUserCode(std::string_view typed) {
  std::string code;
  for (char c : typed) {
    if (c == '-' || c == ' ') continue;
    const char upper = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    if (kUserCodeAlphabet.find(upper) == std::string_view::npos) return "";
    code.push_back(upper);
  }
  if (code.size() != 8) return "";
  return code.substr(0, 4) + "-" + code.substr(4);
}

StatusOr<DeviceStarted> SignIn::StartDevice() {
  const int64_t now = now_us_();
  for (int attempt = 0; attempt < 4; ++attempt) {
    unsigned char raw[32];
    unsigned char draws[64];
    if (RAND_bytes(raw, sizeof(raw)) != 1 || RAND_bytes(draws, sizeof(draws)) != 1) {
      return Internal("the random number generator failed");
    }
    std::string letters;
    for (unsigned char b : draws) {  // rejection sampling: no letter is likelier than another
      if (b >= 240) continue;
      letters.push_back(kUserCodeAlphabet[b % kUserCodeAlphabet.size()]);
      if (letters.size() == 8) break;
    }
    if (letters.size() < 8) continue;
    DeviceStarted started;
    started.device_code =
        SecretString(Base64UrlEncode(std::string_view(reinterpret_cast<char*>(raw), sizeof(raw))));
    OPENSSL_cleanse(raw, sizeof(raw));
    started.user_code = letters.substr(0, 4) + "-" + letters.substr(4);
    store::DeviceRecord device;
    device.code_hash = auth::HashSecret(started.device_code.view());
    device.user_code = started.user_code;
    device.created_at_us = now;
    device.expires_at_us = now + kDeviceTtlS * 1000000;
    device.interval_s = kDeviceIntervalS;
    Status s = store_->StartDevice(device);
    if (s.code() == StatusCode::kAlreadyExists) continue;  // a user code in use: draw again
    if (!s.ok()) return s;
    started.verification_uri = options_.public_url + "/console/#/device";
    started.verification_uri_complete =
        started.verification_uri + "?user_code=" + started.user_code;
    started.expires_in_s = kDeviceTtlS;
    started.interval_s = kDeviceIntervalS;
    return started;
  }
  return Unavailable("No device code could be drawn; try again.");
}

Status SignIn::DecideDevice(const auth::Principal& caller, std::string_view user_code,
                            bool approve) {
  if (!caller.session) {
    return PermissionDenied("A sign-in on another device is approved in the browser, signed in.");
  }
  const std::string code = NormalUserCode(user_code);
  Status s = code.empty() ? NotFound("") : store_->DecideDevice(code, approve, caller.user_id,
                                                                 caller.token_id, now_us_());
  if (s.code() == StatusCode::kNotFound) {
    return NotFound("No sign-in is waiting for the code " + std::string(user_code.substr(0, 16)) +
                    ": check it, or start again (it lasts ten minutes).");
  }
  return s;
}

StatusOr<DevicePolled> SignIn::PollDevice(std::string_view device_code,
                                          const RequestOrigin& from) {
  DevicePolled answer;
  const int64_t now = now_us_();
  if (device_code.empty() || device_code.size() > 128) {
    answer.error = "invalid_request";
    answer.error_description = "device_code is required.";
    return answer;
  }
  StatusOr<store::DeviceRecord> device = store_->PollDevice(auth::HashSecret(device_code), now);
  if (!device.ok()) {
    if (device.status().code() != StatusCode::kNotFound) return device.status();
    answer.error = "invalid_grant";
    answer.error_description = "This device code is unknown, or its token was taken already.";
    return answer;
  }
  if (device->expires_at_us <= now) {
    answer.error = "expired_token";
    answer.error_description = "The device code has expired: run keypaird login again.";
    return answer;
  }
  if (device->state == "pending") {
    const bool too_soon =
        device->last_poll_us && now - *device->last_poll_us < device->interval_s * 1000000;
    answer.error = too_soon ? "slow_down" : "authorization_pending";
    answer.error_description = too_soon ? "Poll no more often than every interval seconds."
                                        : "Waiting for the person to approve in the browser.";
    return answer;
  }
  if (device->state == "denied") {
    answer.error = "access_denied";
    answer.error_description = "The sign-in was denied in the browser.";
    return answer;
  }
  // Approved: the approving session's rights, if it is still good.
  StatusOr<store::TokenRecord> session = store_->GetToken(device->session_id);
  if (!session.ok() && session.status().code() != StatusCode::kNotFound) return session.status();
  if (!session.ok() || session->revoked_at_us || session->user_disabled ||
      !session->expires_at_us || *session->expires_at_us <= now) {
    answer.error = "access_denied";
    answer.error_description = "The session that approved this sign-in has ended.";
    return answer;
  }
  StatusOr<auth::MintedToken> access = auth::MintAccess(*session, now, kAccessTtlS * 1000000);
  if (!access.ok()) return access.status();
  store::EventRecord event = auth::NewCliEvent(auth::kTokenCreate, now);
  event.via = "session";
  event.actor_user_id = session->user_id;
  event.actor_token_id = session->id;
  event.source_ip = from.source_ip;
  event.user_agent = from.user_agent;
  auth::AboutToken(access->record.id, &access->record, &event);
  if (Status s = store_->InsertToken(access->record, event); !s.ok()) return s;
  LogLine(LogLevel::kInfo, "device signed in")
      .Int("user_id", session->user_id)
      .Str("token_id", access->record.id)
      .Str("session_id", session->id);
  answer.access_token = std::move(access->token);
  answer.expires_in_s = (*access->record.expires_at_us - now) / 1000000;
  return answer;
}

Status SignIn::SignOut(const auth::Principal& caller) {
  if (!caller.session) return InvalidArgument("Only a browser session signs out.");
  store::EventRecord event = auth::NewEvent(caller, auth::kUserSignOut, now_us_());
  auth::AboutUser(caller.user_id, &event);
  return store_->RevokeToken(caller.token_id, now_us_(), event);
}

}  // namespace keypaird::service
