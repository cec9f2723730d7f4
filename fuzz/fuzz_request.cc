// libFuzzer target for request decoding: http::Api::Handle end to end (routing, path and
// query decoding, media type, authentication, read-only tokens, conditional requests, JSON
// body validation, KeyService, the SSH certificate authority, rendering) over an in-memory
// store, for every route of the route table (src/http/api.cc).
//
// Input format (human-readable, so seeds are easy to write and the dictionary helps):
//
//   METHOD TARGET\n              TARGET = raw path [?query], any bytes but '\n'
//   Header-Name: value\n         zero or more: Content-Type, Authorization, X-Request-ID,
//                                If-Match, If-None-Match (names in any case)
//   \n                           end of headers
//   body                         the rest, verbatim
//
// In an Authorization value the placeholders $USER (user 1, projects 1 and 2, certificate
// principals "deploy" and "alice"), $OTHER (user 2, project 1, principal "bob"), $ADMIN
// (user 3, admin) and $READER (user 1, project 1, read-only) become the tokens minted at
// start, after either scheme ("APIKey $USER", "Bearer $USER").
//
// Each input runs against a fresh store (Seed) holding four keys with fixed ids, labels,
// one disabled and one expired; project 1's SSH CA (the same key for every input) with
// three certificates, one revoked and one of the disabled key; and a fixed clock. So the
// outcome depends on the input alone, and what a read must answer is known exactly.
//
// Invariants (any violation aborts, printing the request and the response):
//   - status: never 5xx; a route's status is one openapi/keypaird.yaml (as embedded)
//     documents for that method and path, 429 excepted (no rate limiter here); 413 exactly
//     when the body is over 64 KiB; 404/405 (with Allow) only when no route matches;
//     routes the document marks `security: []` never verify a token, the others answer
//     2xx/304 only to a verified token, and never anything but 403 to a read-only token's
//     non-GET (HEAD is GET: it runs the GET route); 304 only to a GET with If-None-Match
//     (with an ETag); 412 only with If-Match;
//   - every response is X-Content-Type-Options: nosniff; a secret body (a create answer)
//     and an issued certificate are Cache-Control: no-store;
//   - every response has an X-Request-ID of 32 lowercase hex digits (the client's own
//     when it sent one of that shape); 204 and 304 have no body;
//   - errors: JSON of exactly exception_class/message/request_id (+ invalid_fields on 400)
//     with the class of their status; x-should-retry: false exactly on 400/409;
//   - successes, by route: the content type of the route (yaml, html/js/css/svg, text,
//     octet-stream only where documented; the console's and the OpenAPI document's bytes
//     as embedded); Gcore keys and lists; native key objects with exactly the documented
//     fields, a public_key that parses again with the same fingerprint_md5,
//     fingerprint_sha256, type, bits and comment, an ETag "<id>/<revision>", and, read
//     back, exactly the seeded key (after a PATCH: the seeded key with the body's changes);
//     native pages equal to the seeded keys the filters, order, cursor and limit select
//     (next_cursor exactly when more follow); /api/v1/me the token's scope;
//     authorized_keys exactly the usable visible keys, oldest first, each line a public key;
//     the CA's public key and info; the KRL parses with sshkey::ParseKrl and lists exactly
//     the seeded revocations, by serial (never a key); a certificate parses and verifies with
//     sshkey::ParseCertificate, is signed by the project's CA, and its serial, key id,
//     principals, validity and options are those of the answer and of the request (for
//     ssh_ca/sign: the body's public key, for the caller, by default all its principals);
//   - authorization: every key shown is in a project the token may use and visible to it;
//     a key changed, deleted, certified or a certificate revoked belongs to the caller
//     unless it is an admin, and certificates name only the token's principals;
//   - a generated private key (unencrypted OpenSSH) reads back as the key shown; no token
//     secret is ever in a body unless the client sent it.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "auth/tokens.h"
#include "ca/authority.h"
#include "ca/kek.h"
#include "common/duration.h"
#include "common/rfc3339.h"
#include "common/uuid.h"
#include "fuzz_check.h"
#include "http/api.h"
#include "http/console_assets.h"
#include "http/decoding.h"
#include "http/native_codec.h"
#include "http/openapi_document.h"
#include "service/audit_log.h"
#include "service/key_service.h"
#include "service/hosts.h"
#include "service/people.h"
#include "sshkey/certificate.h"
#include "sshkey/krl.h"
#include "sshkey/openssh_private_key.h"
#include "sshkey/private_key.h"
#include "sshkey/sshkey.h"
#include "store/key_store.h"

namespace {

using keypaird::StatusOr;
using nlohmann::json;
namespace auth = keypaird::auth;
namespace ca = keypaird::ca;
namespace http = keypaird::http;
namespace service = keypaird::service;
namespace sshkey = keypaird::sshkey;
namespace store = keypaird::store;

constexpr int64_t kNow = 1'780'000'000'000'000;  // fixed clock: reproducible outcomes
constexpr int64_t kNowS = kNow / 1'000'000;
constexpr int64_t kMaxValidity = 86400;  // the CA's --ca-max-validity here

// ---- the fixture: tokens, keys, the CA and its certificates

struct Minted {
  store::TokenRecord record;
  std::string token;   // "kpd_..."
  std::string secret;  // the secret part, which must never appear in a response
};

Minted Mint(int64_t user, bool admin, std::vector<int64_t> projects, auth::TokenScope scope) {
  StatusOr<auth::MintedToken> m = auth::MintToken(user, admin, std::move(projects), kNow, scope);
  if (!m.ok()) FUZZ_FAIL("MintToken", m.status().message());
  Minted out;
  out.record = m->record;
  out.token = std::string(m->token.view());
  std::string_view id, secret;
  if (!auth::SplitToken(out.token, &id, &secret)) FUZZ_FAIL("SplitToken");
  out.secret = std::string(secret);
  return out;
}

constexpr const char* kKeyEd25519 =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIjxL6g1II8NsO8odvBwGKvq2Dx/h/xrvsV9b9LVIYKm "
    "my-username@my-hostname";
constexpr const char* kKeyEd25519Other =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPKbubPI66eA+6w57u6FoskJn7JUWxyEJPYRr3NcaRUL c@host";
constexpr const char* kKeyEcdsa =
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBDVzEgL/WuFJeo9XS/"
    "6gRcIHkiEk8/+G7iXE3QHy1zB3w/wiMmYfsIG/kGc+qFju+vOSILr5A9GH+ymG7xQos1w= ecdsa256@fuzz-seed";

store::KeyRecord SeedKey(const char* id, int64_t project, int64_t owner, const char* name,
                         const char* public_key, bool shared, int64_t created_at_us) {
  StatusOr<sshkey::PublicKey> pk = sshkey::ParsePublicKey(public_key);
  if (!pk.ok()) FUZZ_FAIL("seed key", pk.status().message());
  store::KeyRecord k;
  k.id = id;
  k.project_id = project;
  k.user_id = owner;
  k.name = name;
  k.public_key = pk->line;
  k.fingerprint = pk->fingerprint;
  k.shared_in_project = shared;
  k.created_at_us = created_at_us;
  k.type = pk->type;
  k.bits = pk->bits;
  k.comment = pk->comment;
  k.fingerprint_sha256 = pk->fingerprint_sha256;
  k.updated_at_us = created_at_us;
  k.revision = 1;
  return k;
}

// One operation of openapi/keypaird.yaml: the statuses it documents and whether it needs
// no token (`security: []`).
struct Operation {
  std::set<int> statuses;
  bool open = false;
};

// The paths' operations of the embedded OpenAPI document, by "METHOD /path/{template}".
// A line reader for the document's own layout (paths at indent 2, methods at 4, their
// keys at 6, statuses at 8), not a YAML parser; the route table check at start makes
// sure it found every route.
std::map<std::string, Operation> DocumentedOperations(std::string_view doc) {
  std::map<std::string, Operation> ops;
  std::string path;
  Operation* op = nullptr;
  bool in_responses = false;
  while (!doc.empty()) {
    const size_t nl = doc.find('\n');
    std::string_view line = doc.substr(0, nl);
    doc = nl == std::string_view::npos ? std::string_view() : doc.substr(nl + 1);
    const size_t indent = line.find_first_not_of(' ');
    if (indent == std::string_view::npos || line[indent] == '#') continue;
    std::string_view text = line.substr(indent);
    if (indent == 0) {
      if (text == "components:") break;
      continue;
    }
    if (indent == 2 && text.starts_with('/') && text.ends_with(':')) {
      path = std::string(text.substr(0, text.size() - 1));
      op = nullptr;
    } else if (indent == 4) {
      op = nullptr;
      for (const char* m : {"get", "post", "patch", "delete", "put"}) {
        if (text == std::string(m) + ":") {
          std::string method(m);
          for (char& c : method) c = static_cast<char>(c - 'a' + 'A');
          op = &ops[method + " " + path];
        }
      }
    } else if (indent == 6 && op != nullptr) {
      in_responses = text == "responses:";
      if (text == "security: []") op->open = true;
    } else if (indent == 8 && op != nullptr && in_responses && text.size() == 6 &&
               text[0] == '\'' && text.substr(4) == "':") {
      op->statuses.insert(std::atoi(std::string(text.substr(1, 3)).c_str()));
    }
  }
  return ops;
}

// What a route's successful answer is.
enum class Shape {
  kStatus,          // {"status": ...}
  kMetrics,         // Prometheus text
  kConsole,         // an embedded console file
  kRedirect,        // 302 to a Location (sign-in)
  kAuthInfo,        // {"sign_in", "issuer"}: off in the fuzzer
  kSignInOff,       // a sign-in route, which cannot succeed with sign-in off
  kYaml,            // the OpenAPI document
  kGcoreKey,        // a Gcore key object
  kGcoreList,       // {"count", "results"} of Gcore keys
  kNativeKey,       // a native key object with its ETag
  kNativePage,      // {"results", "next_cursor"} of native keys
  kNoContent,       // 204
  kMe,              // the token's scope
  kAuthorizedKeys,  // text, one public key a line
  kCaInfo,          // the CA as JSON
  kCaPublicKey,     // the CA's public key line
  kKrl,             // an OpenSSH KRL
  kCertificate,     // an issued certificate of a stored key
  kKeyCertificate,  // an issued certificate of a public key not stored (ssh_ca/sign)
  kEvents,          // {"results", "next_cursor"} of events (administrators)
  kUserActions,     // {"count", "results"} of Gcore user actions (administrators)
  kGrants,          // {"results"} of grants (administrators)
  kGrant,           // a grant made (administrators)
  kUsers,           // {"results"} of users (administrators)
  kUser,            // a user disabled or enabled (administrators)
  kJoinTokens,      // {"results"} of a project's join tokens (its administrators)
  kJoinToken,       // a join token made, with its secret (its administrators)
  kHosts,           // {"results"} of a project's hosts (its administrators)
  kHostCaInfo,      // the host CA as JSON
  kKnownHosts,      // @cert-authority lines of the host CA
  kCaRotated,       // a CA after its rotation (user or host)
  kUnreachable,     // cannot succeed on the seeded store (enrolment, renewal: no secret known)
};

struct RouteSpec {
  const char* method;
  const char* pattern;  // as in the route table, which is what HttpResponse::route holds
  Shape shape;
};

// Every route of Api::Routes (src/http/api.cc). A response labelled with a route missing
// here fails: add the route and its checks when the API grows.
constexpr RouteSpec kRouteSpecs[] = {
    {"GET", "/healthz", Shape::kStatus},
    {"GET", "/readyz", Shape::kStatus},
    {"GET", "/metrics", Shape::kMetrics},
    {"GET", "/console", Shape::kConsole},
    {"GET", "/console/{file}", Shape::kConsole},
    // Sign-in is off in the fuzzer's Api: these answer 404 (and 401 without a caller).
    {"GET", "/auth/login", Shape::kRedirect},
    {"GET", "/auth/callback", Shape::kRedirect},
    {"POST", "/auth/logout", Shape::kNoContent},
    {"GET", "/auth/info", Shape::kAuthInfo},
    {"POST", "/auth/device", Shape::kSignInOff},
    {"POST", "/auth/device/token", Shape::kSignInOff},
    {"POST", "/auth/device/approve", Shape::kSignInOff},
    {"POST", "/cloud/v1/keypairs/{project_id}/{region_id}", Shape::kGcoreKey},
    {"GET", "/cloud/v1/keypairs/{project_id}/{region_id}", Shape::kGcoreList},
    {"GET", "/cloud/v1/keypairs/{project_id}/{region_id}/{keypair_id}", Shape::kGcoreKey},
    {"DELETE", "/cloud/v1/keypairs/{project_id}/{region_id}/{keypair_id}", Shape::kNoContent},
    {"PATCH", "/cloud/v1/keypairs/{project_id}/{region_id}/{keypair_id}/share", Shape::kGcoreKey},
    {"POST", "/cloud/v2/keypairs", Shape::kGcoreKey},
    {"GET", "/cloud/v2/keypairs", Shape::kGcoreList},
    {"GET", "/cloud/v2/keypairs/{keypair_id}", Shape::kGcoreKey},
    {"DELETE", "/cloud/v2/keypairs/{keypair_id}", Shape::kNoContent},
    {"POST", "/cloud/v1/ssh_keys/{project_id}", Shape::kGcoreKey},
    {"GET", "/cloud/v1/ssh_keys/{project_id}", Shape::kGcoreList},
    {"GET", "/cloud/v1/ssh_keys/{project_id}/{ssh_key_id}", Shape::kGcoreKey},
    {"PATCH", "/cloud/v1/ssh_keys/{project_id}/{ssh_key_id}", Shape::kGcoreKey},
    {"DELETE", "/cloud/v1/ssh_keys/{project_id}/{ssh_key_id}", Shape::kNoContent},
    {"GET", "/api/v1/openapi.yaml", Shape::kYaml},
    {"GET", "/api/v1/me", Shape::kMe},
    {"POST", "/api/v1/projects/{project_id}/keys", Shape::kNativeKey},
    {"GET", "/api/v1/projects/{project_id}/keys", Shape::kNativePage},
    {"GET", "/api/v1/projects/{project_id}/keys/{key}", Shape::kNativeKey},
    {"PATCH", "/api/v1/projects/{project_id}/keys/{key}", Shape::kNativeKey},
    {"DELETE", "/api/v1/projects/{project_id}/keys/{key}", Shape::kNoContent},
    {"GET", "/api/v1/keys", Shape::kNativePage},
    {"GET", "/api/v1/projects/{project_id}/authorized_keys", Shape::kAuthorizedKeys},
    {"GET", "/api/v1/projects/{project_id}/ssh_ca", Shape::kCaInfo},
    {"POST", "/api/v1/projects/{project_id}/ssh_ca", Shape::kCaInfo},
    {"GET", "/api/v1/projects/{project_id}/ssh_ca/public_key", Shape::kCaPublicKey},
    {"GET", "/api/v1/projects/{project_id}/ssh_ca/krl", Shape::kKrl},
    {"POST", "/api/v1/projects/{project_id}/keys/{key}/certificates", Shape::kCertificate},
    {"POST", "/api/v1/projects/{project_id}/ssh_ca/sign", Shape::kKeyCertificate},
    {"POST", "/api/v1/projects/{project_id}/certificates/{serial}/revoke", Shape::kNoContent},
    {"GET", "/api/v1/events", Shape::kEvents},
    {"GET", "/cloud/v1/user_actions", Shape::kUserActions},
    {"GET", "/api/v1/grants", Shape::kGrants},
    {"POST", "/api/v1/grants", Shape::kGrant},
    {"DELETE", "/api/v1/grants/{grant_id}", Shape::kNoContent},
    {"GET", "/api/v1/users", Shape::kUsers},
    {"PATCH", "/api/v1/users/{user_id}", Shape::kUser},
    {"GET", "/api/v1/projects/{project_id}/host_join_tokens", Shape::kJoinTokens},
    {"POST", "/api/v1/projects/{project_id}/host_join_tokens", Shape::kJoinToken},
    {"DELETE", "/api/v1/projects/{project_id}/host_join_tokens/{token_id}", Shape::kNoContent},
    {"POST", "/api/v1/hosts/enroll", Shape::kUnreachable},
    {"POST", "/api/v1/hosts/{host_id}/renew", Shape::kUnreachable},
    {"GET", "/api/v1/projects/{project_id}/hosts", Shape::kHosts},
    {"DELETE", "/api/v1/projects/{project_id}/hosts/{host_id}", Shape::kNoContent},
    {"GET", "/api/v1/projects/{project_id}/ssh_host_ca", Shape::kHostCaInfo},
    {"POST", "/api/v1/projects/{project_id}/ssh_host_ca", Shape::kHostCaInfo},
    {"GET", "/api/v1/projects/{project_id}/ssh_host_ca/known_hosts", Shape::kKnownHosts},
    {"POST", "/api/v1/projects/{project_id}/ssh_ca/rotate", Shape::kCaRotated},
    {"POST", "/api/v1/projects/{project_id}/ssh_host_ca/rotate", Shape::kCaRotated},
    // A fresh store's CAs have only their signing key, which is never deleted (409).
    {"DELETE", "/api/v1/projects/{project_id}/ssh_ca/keys/{fingerprint}", Shape::kNoContent},
    {"DELETE", "/api/v1/projects/{project_id}/ssh_host_ca/keys/{fingerprint}", Shape::kNoContent},
};

const RouteSpec* FindRouteSpec(std::string_view method, std::string_view pattern) {
  for (const RouteSpec& r : kRouteSpecs) {
    if (method == r.method && pattern == r.pattern) return &r;
  }
  return nullptr;
}

struct Globals {
  Minted user, other, admin, reader;
  std::vector<store::KeyRecord> keys;  // the seeded keys, oldest first
  store::CaRecord ca;                  // project 1's CA
  std::string ca_blob;                 // its public key blob
  store::CaRecord host_ca;             // project 1's host CA
  std::vector<store::CertificateRecord> certificates;  // project 1's, serials 1, 2, 3
  std::map<std::string, Operation> operations;
  bool verbose = false;
};

const Globals* g = nullptr;

// The project 1 CA's key, the same for every input: sealed once with the fuzzer's KEK.
ca::Kek FuzzKek() {
  StatusOr<ca::Kek> kek = ca::Kek::FromBytes(std::string(32, 'k'));
  if (!kek.ok()) FUZZ_FAIL("Kek::FromBytes", kek.status().message());
  return std::move(*kek);
}

void MakeCa(Globals* out) {
  const keypaird::SecretString seed(std::string(sshkey::kCaSeedSize, 'c'));
  StatusOr<sshkey::CaKey> key = sshkey::CaKey::FromSeed(seed);
  if (!key.ok()) FUZZ_FAIL("CaKey::FromSeed", key.status().message());
  StatusOr<std::string> sealed = FuzzKek().Seal(seed.view(), 1);
  if (!sealed.ok()) FUZZ_FAIL("Kek::Seal", sealed.status().message());
  out->ca = store::CaRecord{.project_id = 1,
                            .kind = store::CaKind::kUser,
                            .public_key = key->PublicKeyLine("keypaird project 1 CA"),
                            .sealed_seed = *sealed,
                            .created_at_us = kNow - 10};
  out->ca_blob = std::string(key->public_blob());
  const keypaird::SecretString host_seed(std::string(sshkey::kCaSeedSize, 'h'));
  StatusOr<sshkey::CaKey> host_key = sshkey::CaKey::FromSeed(host_seed);
  if (!host_key.ok()) FUZZ_FAIL("CaKey::FromSeed", host_key.status().message());
  StatusOr<std::string> host_sealed = FuzzKek().Seal(host_seed.view(), 1, /*host=*/true);
  if (!host_sealed.ok()) FUZZ_FAIL("Kek::Seal", host_sealed.status().message());
  out->host_ca = store::CaRecord{.project_id = 1,
                                 .kind = store::CaKind::kHost,
                                 .public_key = host_key->PublicKeyLine("keypaird project 1 host CA"),
                                 .sealed_seed = *host_sealed,
                                 .created_at_us = kNow - 9};
}

store::CertificateRecord SeedCertificate(int64_t serial, const store::KeyRecord& key,
                                         std::vector<std::string> principals, bool revoked) {
  StatusOr<sshkey::PublicKey> pk = sshkey::ParsePublicKey(key.public_key);
  if (!pk.ok()) FUZZ_FAIL("seed certificate key");
  store::CertificateRecord c;
  c.project_id = key.project_id;
  c.serial = serial;
  c.key_id = key.id;
  c.key_owner_id = key.user_id;
  c.key_sha256 = sshkey::KeySha256(pk->blob);
  c.principals = std::move(principals);
  c.valid_after_s = kNowS - 300;
  c.valid_before_s = kNowS + 3600;
  c.issued_at_us = kNow - 5;
  if (revoked) c.revoked_at_us = kNow - 2;
  return c;
}

void MakeGlobals(Globals* out) {
  out->user = Mint(1, false, {1, 2}, {false, {"deploy", "alice"}});
  out->other = Mint(2, false, {1}, {false, {"bob"}});
  out->admin = Mint(3, true, {}, {});
  out->reader = Mint(1, false, {1}, {true, {"deploy"}});

  // "seed-key" (user 1, shared, labelled), "private-key" (user 2, not shared),
  // "disabled-key" (user 1, disabled) in project 1; "expired-key" (user 1, the seed key's
  // public key, expired) in project 2.
  store::KeyRecord a = SeedKey("11111111-1111-4111-8111-111111111111", 1, 1, "seed-key",
                               kKeyEd25519, true, kNow - 4);
  a.labels = {{"env", "prod"}, {"team", "ops"}};
  store::KeyRecord b = SeedKey("22222222-2222-4222-8222-222222222222", 1, 2, "private-key",
                               kKeyEd25519Other, false, kNow - 3);
  b.labels = {{"env", "prod"}};
  store::KeyRecord c = SeedKey("33333333-3333-4333-8333-333333333333", 1, 1, "disabled-key",
                               kKeyEcdsa, true, kNow - 2);
  c.labels = {{"env", "dev"}, {"app.example/role", ""}};
  c.disabled = true;
  store::KeyRecord d = SeedKey("44444444-4444-4444-8444-444444444444", 2, 1, "expired-key",
                               kKeyEd25519, true, kNow - 1);
  d.expires_at_us = kNow - 1;
  out->keys = {a, b, c, d};

  MakeCa(out);
  // Serial 1: the seed key's; 2: the private key's, revoked; 3: the disabled key's (so the
  // KRL lists that key).
  out->certificates = {SeedCertificate(1, a, {"deploy"}, false),
                       SeedCertificate(2, b, {"bob"}, true),
                       SeedCertificate(3, c, {"alice"}, false)};

  out->operations = DocumentedOperations(http::OpenApiDocument());
  for (const RouteSpec& r : kRouteSpecs) {
    auto it = out->operations.find(std::string(r.method) + " " + r.pattern);
    if (it == out->operations.end() || it->second.statuses.empty()) {
      FUZZ_FAIL("route not in openapi/keypaird.yaml (or no statuses read)", r.pattern);
    }
  }
  out->verbose = std::getenv("FUZZ_REQUEST_VERBOSE") != nullptr;
}

std::vector<const Minted*> Tokens() { return {&g->user, &g->other, &g->admin, &g->reader}; }

void Seed(store::KeyStore* s) {
  for (const store::KeyRecord& k : g->keys) {
    if (!s->InsertKey(k, {}).ok()) FUZZ_FAIL("seed InsertKey");
  }
  for (const Minted* m : Tokens()) {
    if (!s->InsertToken(m->record, {}).ok()) FUZZ_FAIL("seed InsertToken");
  }
  if (!s->GetOrCreateCa(g->ca, {}).ok()) FUZZ_FAIL("seed GetOrCreateCa");
  if (!s->GetOrCreateCa(g->host_ca, {}).ok()) FUZZ_FAIL("seed GetOrCreateCa (host)");
  for (const store::CertificateRecord& c : g->certificates) {
    StatusOr<int64_t> serial = s->NextSerial(c.project_id, store::CaKind::kUser);
    if (!serial.ok() || *serial != c.serial) FUZZ_FAIL("seed NextSerial");
    store::CertificateRecord issued = c;
    issued.revoked_at_us.reset();
    if (!s->RecordCertificate(issued, {}).ok()) FUZZ_FAIL("seed RecordCertificate");
    if (c.revoked_at_us && !s->RevokeCertificate(c.project_id, c.serial, *c.revoked_at_us, {}).ok()) {
      FUZZ_FAIL("seed RevokeCertificate");
    }
  }
}

// ---- decoding the input

void ReplaceAll(std::string* s, std::string_view from, std::string_view to) {
  for (size_t pos = s->find(from); pos != std::string::npos; pos = s->find(from, pos + to.size())) {
    s->replace(pos, from.size(), to);
  }
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool IsHttpMethod(std::string_view m) {
  // What RESTinio's http-parser can hand over (the common ones; others are routed the same).
  static constexpr std::string_view kMethods[] = {"GET",   "HEAD",    "POST",  "PUT",    "DELETE",
                                                  "PATCH", "OPTIONS", "TRACE", "CONNECT"};
  return std::find(std::begin(kMethods), std::end(kMethods), m) != std::end(kMethods);
}

// Splits the input into a request; false if the first line is not "METHOD TARGET".
bool Decode(std::string_view in, http::HttpRequest* req) {
  size_t nl = in.find('\n');
  std::string_view first = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  const size_t sp = first.find(' ');
  if (sp == std::string_view::npos) return false;
  req->method = std::string(first.substr(0, sp));
  if (!IsHttpMethod(req->method)) return false;
  std::string_view target = first.substr(sp + 1);
  const size_t q = target.find('?');
  req->path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) req->query = std::string(target.substr(q + 1));

  while (!in.empty()) {
    nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    if (line.empty()) break;  // end of headers
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (EqualsIgnoringCase(name, "Content-Type")) {
      req->content_type = std::string(value);
    } else if (EqualsIgnoringCase(name, "Authorization")) {
      std::string v(value);
      ReplaceAll(&v, "$USER", g->user.token);
      ReplaceAll(&v, "$OTHER", g->other.token);
      ReplaceAll(&v, "$ADMIN", g->admin.token);
      ReplaceAll(&v, "$READER", g->reader.token);
      req->authorization = std::move(v);
    } else if (EqualsIgnoringCase(name, "X-Request-ID")) {
      req->request_id = std::string(value);
    } else if (EqualsIgnoringCase(name, "If-Match")) {
      req->if_match = std::string(value);
    } else if (EqualsIgnoringCase(name, "If-None-Match")) {
      req->if_none_match = std::string(value);
    }
  }
  req->body = std::string(in);
  return true;
}

// What the client sent that a response may legitimately quote back: path, query and body,
// raw and percent-decoded (valid escapes only). Not the Authorization header.
std::string ClientText(const http::HttpRequest& req) {
  const std::string raw = req.path + "\n" + req.query + "\n" + req.body;
  std::string decoded;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%' && i + 2 < raw.size() && HexDigit(raw[i + 1]) >= 0 &&
        HexDigit(raw[i + 2]) >= 0) {
      decoded.push_back(static_cast<char>(HexDigit(raw[i + 1]) * 16 + HexDigit(raw[i + 2])));
      i += 2;
    } else {
      decoded.push_back(raw[i] == '+' ? ' ' : raw[i]);
    }
  }
  return raw + "\n" + decoded;
}

// ---- what the seeded state says a read must answer

bool IsHex32(std::string_view s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool Usable(const store::KeyRecord& k) {
  return !k.disabled && (!k.expires_at_us || *k.expires_at_us > kNow);
}

bool VisibleTo(const Minted& caller, const store::KeyRecord& k) {
  const store::TokenRecord& t = caller.record;
  if (t.admin) return true;
  return std::binary_search(t.projects.begin(), t.projects.end(), k.project_id) &&
         (k.shared_in_project || k.user_id == t.user_id);
}

bool MayUseProject(const Minted& caller, int64_t project) {
  const store::TokenRecord& t = caller.record;
  return t.admin || std::binary_search(t.projects.begin(), t.projects.end(), project);
}

bool LabelsMatch(const store::KeyRecord& k, const std::vector<store::LabelTerm>& terms) {
  using Op = store::LabelTerm::Op;
  for (const store::LabelTerm& t : terms) {
    auto it = k.labels.find(t.key);
    const bool has = it != k.labels.end();
    const bool ok = t.op == Op::kEquals      ? has && it->second == t.value
                    : t.op == Op::kNotEquals ? !has || it->second != t.value
                    : t.op == Op::kExists    ? has
                                             : !has;
    if (!ok) return false;
  }
  return true;
}

bool ContainsIgnoringCase(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (EqualsIgnoringCase(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

// The seeded key a reference names: its id in any case, or its name (in `project` if set).
const store::KeyRecord* Named(std::string_view ref, std::optional<int64_t> project) {
  for (const store::KeyRecord& k : g->keys) {
    if (project && k.project_id != *project) continue;
    if (EqualsIgnoringCase(k.id, ref)) return &k;
  }
  for (const store::KeyRecord& k : g->keys) {
    if ((!project || k.project_id == *project) && k.name == ref) return &k;
  }
  return nullptr;
}

const store::KeyRecord* SeededById(std::string_view id) {
  for (const store::KeyRecord& k : g->keys) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

// Whether `a` comes after the cursor position `c` in `order` (ties by id ascending).
bool After(const store::KeyRecord& a, const store::KeyCursor& c, store::OrderBy order) {
  switch (order) {
    case store::OrderBy::kCreatedAtAsc:
      return std::tie(a.created_at_us, a.id) > std::tie(c.created_at_us, c.id);
    case store::OrderBy::kCreatedAtDesc:
      return a.created_at_us < c.created_at_us || (a.created_at_us == c.created_at_us && a.id > c.id);
    case store::OrderBy::kNameAsc:
      return std::tie(a.name, a.id) > std::tie(c.name, c.id);
    case store::OrderBy::kNameDesc:
      return a.name < c.name || (a.name == c.name && a.id > c.id);
  }
  return false;
}

bool Before(const store::KeyRecord& a, const store::KeyRecord& b, store::OrderBy order) {
  return After(b, store::KeyCursor{a.created_at_us, a.name, a.id}, order);
}

// ---- checking a response

struct Checker {
  const http::HttpRequest& req;
  const http::HttpResponse& resp;
  std::vector<std::string> params;  // the matched route's decoded captures
  const Minted* caller = nullptr;   // the verified token, if any
  json body;                        // the parsed JSON body, if JSON

  std::string Describe() const {
    std::string d = "\n  request: " + req.method + " " + req.path + " ? " + req.query;
    d += "\n  status: " + std::to_string(resp.status) + " (" + resp.content_type + ")";
    if (resp.body) d += "\n  body: " + std::string(resp.body->view().substr(0, 2000));
    return d;
  }

#define CHECK(cond) FUZZ_CHECK(cond, Describe())

  json RequestBody() const {
    json b = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    return b.is_object() ? b : json::object();
  }

  int64_t PathProject() const {
    int64_t p = 0;
    CHECK(!params.empty() && http::ParseInt(params[0], 1, http::kMaxId, &p));
    return p;
  }

  // A changed, deleted or certified key must be the caller's (or the caller an admin).
  void CheckOwner(int64_t owner) const { CHECK(caller->record.admin || owner == caller->record.user_id); }

  void Run() {
    if (!resp.token_id.empty()) {
      for (const Minted* m : Tokens()) {
        if (m->record.id == resp.token_id) caller = m;
      }
      CHECK(caller != nullptr);
    }
    CHECK(IsHex32(resp.Header("X-Request-ID")));
    if (req.request_id && req.request_id->size() == 32 &&
        std::all_of(req.request_id->begin(), req.request_id->end(),
                    [](char c) { return HexDigit(c) >= 0; })) {
      std::string lowered = *req.request_id;
      for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      CHECK(resp.Header("X-Request-ID") == lowered);
    }
    CHECK(resp.status >= 200 && resp.status < 500);
    CHECK(resp.Header("X-Content-Type-Options") == "nosniff");
    // A private key (any create answer) or a certificate is kept by no cache.
    CHECK((resp.body && resp.body->secret()) <= (resp.Header("Cache-Control") == "no-store"));
    if (resp.status == 201 && (std::string_view(resp.route).ends_with("/certificates") ||
                               std::string_view(resp.route).ends_with("/ssh_ca/sign"))) {
      CHECK(resp.Header("Cache-Control") == "no-store");
    }
    if (resp.status == 204 || resp.status == 304) {
      CHECK(resp.body == nullptr || resp.body->size() == 0);
    } else {
      CHECK(resp.body != nullptr);
      CheckNoSecret();
    }
    const std::string_view route = resp.route;
    if (route.empty()) {  // nothing matched
      CHECK(resp.status == 404 || resp.status == 405);
      CHECK(caller == nullptr);
      CheckError();
      return;
    }
    // HEAD runs the GET route (the server sends the headers only).
    const std::string method = req.method == "HEAD" ? "GET" : req.method;
    const RouteSpec* spec = FindRouteSpec(method, route);
    CHECK(spec != nullptr);  // a route of the table that this fuzzer does not know
    const Operation& op = g->operations.at(method + " " + std::string(route));
    CHECK((resp.status == 413) == (req.body.size() > http::kMaxBodyBytes));
    if (resp.status != 413) CHECK(op.statuses.count(resp.status) == 1 && resp.status != 429);
    if (op.open) CHECK(caller == nullptr && resp.status != 401);
    if (resp.status < 400 && !op.open) CHECK(caller != nullptr);
    // Enrolment takes a join token and nothing else: an API token there is 401 too.
    if (resp.status == 401) CHECK(caller == nullptr || route == "/api/v1/hosts/enroll");
    if (caller == &g->reader && method != "GET") CHECK(resp.status == 403);
    if (resp.status == 304) {
      CHECK(method == "GET" && req.if_none_match.has_value());
      CHECK(!resp.Header("ETag").empty());
    }
    if (resp.status == 412) CHECK(req.if_match.has_value());
    if (resp.status >= 400) return CheckError();
    if (resp.status == 304) return;
    CheckSuccess(*spec);
  }

  void CheckNoSecret() const {
    // A token secret in a response is a leak, unless the client itself put it where the
    // response may quote it (the fuzzer does find the secrets and paste them into paths).
    const std::string_view text = resp.body->view();
    const std::string sent = ClientText(req);
    for (const Minted* m : Tokens()) {
      CHECK(text.find(m->secret) == std::string_view::npos ||
            sent.find(m->secret) != std::string::npos);
    }
  }

  static const char* ClassFor(int status) {
    switch (status) {
      case 400: return "ValidationError";
      case 401: return "NotAuthenticated";
      case 403: return "ForbiddenError";
      case 404: return "NotFoundError";
      case 405: return "HTTPError";
      case 409: return "ConflictError";
      case 412: return "PreconditionFailed";
      case 413: return "PayloadTooLarge";
      case 415: return "UnsupportedMediaType";
      default: return nullptr;
    }
  }

  void ParseJsonBody() {
    CHECK(std::string_view(resp.content_type) == "application/json");
    body = json::parse(resp.body->view(), nullptr, /*allow_exceptions=*/false);
    CHECK(!body.is_discarded());
    CHECK(body.is_object());
  }

  void CheckError() {
    ParseJsonBody();
    const char* cls = ClassFor(resp.status);
    CHECK(cls != nullptr);
    CHECK(body.contains("exception_class") && body["exception_class"] == cls);
    CHECK(body.contains("message") && body["message"].is_string() &&
          !body["message"].get<std::string>().empty());
    CHECK(body.contains("request_id") && body["request_id"] == resp.Header("X-Request-ID"));
    CHECK(body.size() == (resp.status == 400 ? 4u : 3u));
    if (resp.status == 400) {
      CHECK(body.contains("invalid_fields") && body["invalid_fields"].is_object());
      for (const auto& [field, messages] : body["invalid_fields"].items()) {
        CHECK(messages.is_array() && !messages.empty());
        for (const json& m : messages) CHECK(m.is_string());
      }
    }
    CHECK((resp.Header("x-should-retry") == "false") ==
          (resp.status == 400 || resp.status == 409));
    if (resp.status == 405) CHECK(!resp.Header("Allow").empty());
  }

  void CheckSuccess(const RouteSpec& spec) {
    const std::string_view ctype = resp.content_type;
    switch (spec.shape) {
      case Shape::kNoContent:
        CHECK(resp.status == 204);
        return CheckNoContent();
      case Shape::kStatus:
        ParseJsonBody();
      {
        const json expected = {
            {"status", std::string_view(resp.route) == "/healthz" ? "ok" : "ready"}};
        CHECK(body == expected);
        return;
      }
      case Shape::kMetrics:
        CHECK(ctype == "text/plain; version=0.0.4");
        return;
      case Shape::kConsole: {
        // One of the embedded files, as it is, with its type and ETag.
        bool found = false;
        for (const http::ConsoleAsset& a : http::ConsoleAssets()) {
          found = found || (a.bytes == resp.body->view() && ctype == a.content_type &&
                            resp.Header("ETag") == a.etag);
        }
        CHECK(found);
        return;
      }
      case Shape::kRedirect:
        CHECK(resp.status == 302 && !resp.Header("Location").empty());
        return;
      case Shape::kAuthInfo:
        ParseJsonBody();
        CHECK(body == json({{"sign_in", false}, {"issuer", nullptr}, {"signed_in", false}}));
        return;
      case Shape::kSignInOff:
        CHECK(false);  // 404 whatever the request
        return;
      case Shape::kYaml:
        CHECK(ctype == "application/yaml" && resp.body->view() == http::OpenApiDocument());
        return;
      case Shape::kGcoreKey:
        ParseJsonBody();
        return CheckGcoreKey(body, req.method == "POST" ? Change::kCreate
                                   : req.method == "PATCH" ? Change::kShare
                                                           : Change::kNone);
      case Shape::kGcoreList:
        ParseJsonBody();
        CHECK(body.size() == 2 && body.contains("results") && body["results"].is_array());
        CHECK(body.contains("count") && body["count"].is_number_integer());
        CHECK(body["count"].get<int64_t>() >= static_cast<int64_t>(body["results"].size()));
        for (const json& k : body["results"]) CheckGcoreKey(k, Change::kNone);
        return;
      case Shape::kNativeKey:
        ParseJsonBody();
        return CheckNativeKeyAnswer();
      case Shape::kNativePage:
        ParseJsonBody();
        return CheckNativePage();
      case Shape::kMe:
        ParseJsonBody();
        return CheckMe();
      case Shape::kAuthorizedKeys:
        CHECK(ctype == "text/plain; charset=utf-8");
        return CheckAuthorizedKeys();
      case Shape::kCaInfo:
        ParseJsonBody();
        return CheckCaInfo();
      case Shape::kCaPublicKey: {
        CHECK(ctype == "text/plain; charset=utf-8");
        const std::string_view text = resp.body->view();
        CHECK(text.ends_with('\n'));
        CheckCaPublicKey(text.substr(0, text.size() - 1));
        return;
      }
      case Shape::kKrl:
        CHECK(ctype == "application/octet-stream");
        return CheckKrl();
      case Shape::kCertificate:
        ParseJsonBody();
        return CheckCertificate();
      case Shape::kKeyCertificate:
        ParseJsonBody();
        return CheckKeyCertificate();
      case Shape::kEvents:
      case Shape::kUserActions:
      case Shape::kGrants:
      case Shape::kUsers:
      case Shape::kGrant:
      case Shape::kUser:
        ParseJsonBody();
        return CheckAdminAnswer(spec.shape);
      case Shape::kJoinTokens:
      case Shape::kJoinToken:
      case Shape::kHosts:
        ParseJsonBody();
        return CheckJoinTokenAnswer(spec.shape);
      case Shape::kHostCaInfo:
        ParseJsonBody();
        return CheckHostCaInfo();
      case Shape::kKnownHosts:
        CHECK(ctype == "text/plain; charset=utf-8");
        return CheckKnownHosts();
      case Shape::kCaRotated:
        ParseJsonBody();
        return CheckCaRotated();
      case Shape::kUnreachable:
        FUZZ_FAIL("a host enrolled or renewed, but the seeded store has no join or host token",
                  req.path);
    }
  }

  // Project 1's host CA is the seeded one; another project's is made by a POST.
  // A CA's `keys` when it has only its signing key: that one, not retiring.
  void CheckOneKey() const {
    CHECK(body.contains("keys") && body["keys"].is_array() && body["keys"].size() == 1);
    const json& k = body["keys"][0];
    CHECK(k.size() == 4 && k["public_key"] == body["public_key"] &&
          k["fingerprint_sha256"] == body["fingerprint_sha256"] &&
          k["created_at"] == body["created_at"] && k["retires_at"].is_null());
  }

  // A rotation: by an administrator, of a CA the seeded store has (project 1's); a new
  // signing key, then the seeded one until its last certificate expires: the user CA's
  // seeded certificates' expiry. The seeded host CA signed nothing: it retires at once.
  void CheckCaRotated() const {
    CHECK(caller->record.admin && PathProject() == 1 && resp.status == 200);
    const bool host = std::string_view(resp.route).find("/ssh_host_ca/") != std::string_view::npos;
    const store::CaRecord& seeded = host ? g->host_ca : g->ca;
    CHECK(body.size() == 4 && body["public_key"].is_string() && body["keys"].is_array());
    const sshkey::PublicKey pk = ReparsedKey(body["public_key"]);
    CHECK(pk.type == "ssh-ed25519" && pk.line != seeded.public_key);
    CHECK(body["fingerprint_sha256"] == pk.fingerprint_sha256 && Time(body["created_at"]) == kNow);
    const json& keys = body["keys"];
    CHECK(keys.size() == (host ? 1u : 2u) && keys[0]["public_key"] == body["public_key"] &&
          keys[0]["retires_at"].is_null());
    if (host) return;
    CHECK(keys[1]["public_key"] == seeded.public_key &&
          Time(keys[1]["created_at"]) == seeded.created_at_us);
    int64_t last = kNowS;
    for (const store::CertificateRecord& c : g->certificates) last = std::max(last, c.valid_before_s);
    CHECK(Time(keys[1]["retires_at"]) == last * 1000000);
  }

  void CheckHostCaInfo() const {
    CHECK(body.size() == 4 && body.contains("public_key") && body["public_key"].is_string());
    CheckOneKey();
    const sshkey::PublicKey pk = ReparsedKey(body["public_key"]);
    CHECK(pk.type == "ssh-ed25519" &&
          pk.comment == "keypaird project " + std::to_string(PathProject()) + " host CA");
    CHECK((PathProject() == 1) == (pk.line == g->host_ca.public_key));
    CHECK(req.method == "POST" || PathProject() == 1);  // a read makes none
    CHECK(resp.status == (req.method == "POST" && PathProject() != 1 ? 201 : 200));
    CHECK(body["fingerprint_sha256"] == pk.fingerprint_sha256);
  }

  // One line, the seeded host CA's for the patterns asked ("*" when none).
  void CheckKnownHosts() const {
    CHECK(PathProject() == 1);
    const std::string_view text = resp.body->view();
    CHECK(text.starts_with("@cert-authority ") && text.ends_with(" " + g->host_ca.public_key + "\n"));
    const std::string_view patterns =
        text.substr(16, text.size() - 16 - g->host_ca.public_key.size() - 2);
    CHECK(!patterns.empty() && patterns.find(' ') == std::string_view::npos &&
          patterns.find('\n') == std::string_view::npos);
    CHECK(patterns == "*" || ClientText(req).find(std::string(patterns)) != std::string::npos ||
          req.query.find('%') != std::string::npos);
  }

  // The audit trail, users and grants: only administrators get an answer, of its shape.
  // The seeded store has no events and no grants, and its users are the tokens' (a grant
  // made or a user changed is what the request asked for).
  void CheckAdminAnswer(Shape shape) const {
    CHECK(caller->record.admin);
    CHECK(body.is_object());
    if (shape == Shape::kGrant) {
      CHECK(resp.status == 201);
      const json request = RequestBody();
      std::vector<int64_t> projects = request["projects"].get<std::vector<int64_t>>();
      std::sort(projects.begin(), projects.end());
      projects.erase(std::unique(projects.begin(), projects.end()), projects.end());
      CHECK(body["projects"] == projects && body["role"] == request["role"]);
      CHECK(body["id"].is_string() && keypaird::IsUuid(body["id"].get<std::string>()));
      return;
    }
    if (shape == Shape::kUser) {
      CHECK(resp.status == 200);
      int64_t id = 0;
      CHECK(params.size() == 1 && http::ParseInt(params[0], 1, http::kMaxId, &id));
      CHECK(body["id"] == id && body["disabled"] == RequestBody()["disabled"]);
      bool a_tokens_user = false;
      for (const Minted* m : Tokens()) a_tokens_user = a_tokens_user || m->record.user_id == id;
      CHECK(a_tokens_user && body["issuer"].is_null());
      return;
    }
    CHECK(resp.status == 200 && body.contains("results") && body["results"].is_array());
    if (shape == Shape::kUsers) {
      std::set<int64_t> users;
      for (const Minted* m : Tokens()) users.insert(m->record.user_id);
      CHECK(body["results"].size() == users.size());
      for (const json& u : body["results"]) CHECK(users.count(u["id"].get<int64_t>()) == 1);
      return;
    }
    CHECK(body["results"].empty());
    if (shape == Shape::kEvents) CHECK(body["next_cursor"].is_null());
    if (shape == Shape::kUserActions) CHECK(body["count"] == 0);
  }

  // A project's join tokens: only for an administrator of the project (the seeded tokens:
  // admin tokens), and the seeded store has none; one made is what the request asked for,
  // its secret in the shape of a join token.
  void CheckJoinTokenAnswer(Shape shape) const {
    CHECK(caller->record.admin);
    if (shape == Shape::kJoinToken) CHECK(!caller->record.read_only);
    CHECK(body.is_object());
    if (shape == Shape::kJoinTokens || shape == Shape::kHosts) {
      CHECK(resp.status == 200 && body.size() == 1 && body["results"].is_array());
      CHECK(body["results"].empty());
      return;
    }
    CHECK(resp.status == 201 && body["project_id"] == PathProject());
    CHECK(body["token"].is_string());
    const std::string token = body["token"].get<std::string>();
    std::string_view id, secret;
    CHECK(auth::SplitJoinToken(token, &id, &secret));
    CHECK(body["id"] == std::string(id));
    const json request = RequestBody();
    CHECK(body["hostnames"].is_array() && !body["hostnames"].empty() &&
          body["hostnames"].size() <= request["hostnames"].size());
    for (const json& h : body["hostnames"]) {
      std::string lowered;
      CHECK(h.is_string() && service::CheckHostnamePattern(h.get<std::string>(), &lowered).ok() &&
            lowered == h.get<std::string>());
    }
    CHECK(body["uses"] == request.value("uses", json(1)) && body["uses_left"] == body["uses"]);
  }

  // 204: a delete of a key the caller owns, or a revocation of a certificate of such a key.
  void CheckNoContent() const {
    if (std::string_view(resp.route) == "/api/v1/grants/{grant_id}") {
      FUZZ_FAIL("a grant deleted, but the seeded store has none", params.at(0));
    }
    if (std::string_view(resp.route).ends_with("/host_join_tokens/{token_id}")) {
      FUZZ_FAIL("a join token deleted, but the seeded store has none", params.at(1));
    }
    if (std::string_view(resp.route).ends_with("/hosts/{host_id}")) {
      FUZZ_FAIL("a host deleted, but the seeded store has none", params.at(1));
    }
    if (std::string_view(resp.route).ends_with("/revoke")) {
      int64_t serial = 0;
      CHECK(params.size() == 2 && http::ParseInt(params[1], 1, INT64_MAX, &serial));
      const int64_t project = PathProject();
      const store::CertificateRecord* cert = nullptr;
      for (const store::CertificateRecord& c : g->certificates) {
        if (c.project_id == project && c.serial == serial) cert = &c;
      }
      CHECK(cert != nullptr);
      CheckOwner(cert->key_owner_id);
      return;
    }
    CHECK(req.method == "DELETE" && !params.empty());
    const store::KeyRecord* k = Named(params.back(), std::nullopt);
    CHECK(k != nullptr && VisibleTo(*caller, *k));
    CheckOwner(k->user_id);
  }

  // A public key as the API renders it: it parses again to itself.
  sshkey::PublicKey ReparsedKey(const json& public_key) const {
    CHECK(public_key.is_string());
    StatusOr<sshkey::PublicKey> pk = sshkey::ParsePublicKey(public_key.get<std::string>());
    CHECK(pk.ok());
    CHECK(pk->line == public_key.get<std::string>());
    return *pk;
  }

  // A generated private key: of its format, and (unencrypted OpenSSH) the key shown.
  void CheckPrivateKey(const json& private_key, std::string_view format, bool encrypted,
                       const sshkey::PublicKey& shown) const {
    CHECK(private_key.is_string());
    const std::string text = private_key.get<std::string>();
    if (format == "openssh") {
      CHECK(text.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
      if (!encrypted) {
        StatusOr<sshkey::OpenSshPrivateKey> read = sshkey::ReadOpenSshPrivateKey(text, "");
        CHECK(read.ok());
        StatusOr<sshkey::PublicKey> pub = sshkey::PublicKeyOf(read->key, "");
        CHECK(pub.ok() && pub->blob == shown.blob);
      }
    } else if (format == "pkcs8") {
      CHECK(text.starts_with(encrypted ? "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
                                       : "-----BEGIN PRIVATE KEY-----\n"));
    } else {
      CHECK(format == "ppk" && text.starts_with("PuTTY-User-Key-File-3: " + shown.type + "\n"));
      CHECK((text.find("\nEncryption: aes256-cbc\n") != std::string::npos) == encrypted);
    }
  }

  enum class Change { kNone, kCreate, kShare };

  void CheckGcoreKey(const json& k, Change change) const {
    CHECK(k.is_object());
    CHECK(k.contains("id") && k["id"].is_string() && keypaird::IsUuid(k["id"].get<std::string>()));
    CHECK(k.contains("name") && k["name"].is_string());
    CHECK(service::ValidateKeyName(k["name"].get<std::string>()).ok());
    CHECK(k.contains("public_key"));
    const sshkey::PublicKey pk = ReparsedKey(k["public_key"]);
    CHECK(k.contains("fingerprint") && k["fingerprint"] == pk.fingerprint);
    CHECK(k.contains("project_id") && k["project_id"].is_number_integer());
    CHECK(MayUseProject(*caller, k["project_id"].get<int64_t>()));
    CHECK(k.contains("shared_in_project") && k["shared_in_project"].is_boolean());
    CHECK(k.contains("state") && k["state"] == "ACTIVE");
    CHECK(k.contains("created_at") && k["created_at"].is_string());
    const std::string id = k["id"].get<std::string>();
    const store::KeyRecord* seeded = SeededById(id);
    if (change == Change::kCreate) {
      CHECK(seeded == nullptr && k["created_at"] == keypaird::FormatRfc3339(kNow));
      json request = RequestBody();
      const bool imported = request.contains("public_key") && !request["public_key"].is_null();
      if (k.contains("private_key") && !k["private_key"].is_null()) {
        CHECK(!imported);
        CheckPrivateKey(k["private_key"], "openssh", false, pk);
      } else {
        CHECK(imported);
      }
      return;
    }
    CHECK(!k.contains("private_key") || k["private_key"].is_null());
    CHECK(seeded != nullptr && VisibleTo(*caller, *seeded));
    CHECK(k["name"] == seeded->name && k["public_key"] == seeded->public_key &&
          k["project_id"] == seeded->project_id &&
          k["created_at"] == keypaird::FormatRfc3339(seeded->created_at_us));
    if (change == Change::kShare) {
      CheckOwner(seeded->user_id);
      json request = RequestBody();
      CHECK(k["shared_in_project"] == request["shared_in_project"]);
    } else {
      CHECK(k["shared_in_project"] == seeded->shared_in_project);
    }
  }

  // A native key object, checked on its own, and as a KeyRecord (revision left at 0).
  store::KeyRecord NativeKey(const json& k, bool may_hold_private_key) const {
    static const std::set<std::string> kFields = {
        "id",        "name",          "project_id",      "owner_id",           "shared_in_project",
        "state",     "type",          "bits",            "comment",            "public_key",
        "fingerprint_md5", "fingerprint_sha256", "labels", "disabled", "expires_at",
        "created_at", "updated_at"};
    CHECK(k.is_object());
    std::set<std::string> fields;
    for (const auto& [name, value] : k.items()) fields.insert(name);
    if (may_hold_private_key && k.contains("private_key")) {
      CHECK(fields.erase("private_key") == 1 && fields.erase("private_key_format") == 1);
    }
    CHECK(fields == kFields);
    store::KeyRecord r;
    CHECK(k["id"].is_string() && keypaird::IsUuid(k["id"].get<std::string>()));
    r.id = k["id"].get<std::string>();
    CHECK(k["name"].is_string() && service::ValidateKeyName(k["name"].get<std::string>()).ok());
    r.name = k["name"].get<std::string>();
    CHECK(k["project_id"].is_number_integer() && k["owner_id"].is_number_integer());
    r.project_id = k["project_id"].get<int64_t>();
    r.user_id = k["owner_id"].get<int64_t>();
    CHECK(k["shared_in_project"].is_boolean() && k["disabled"].is_boolean());
    r.shared_in_project = k["shared_in_project"].get<bool>();
    r.disabled = k["disabled"].get<bool>();
    CHECK(k["state"] == "ACTIVE");
    const sshkey::PublicKey pk = ReparsedKey(k["public_key"]);
    CHECK(k["type"] == pk.type && k["bits"] == pk.bits && k["comment"] == pk.comment);
    CHECK(k["fingerprint_md5"] == pk.fingerprint && k["fingerprint_sha256"] == pk.fingerprint_sha256);
    r.public_key = pk.line;
    r.fingerprint = pk.fingerprint;
    r.fingerprint_sha256 = pk.fingerprint_sha256;
    r.type = pk.type;
    r.bits = pk.bits;
    r.comment = pk.comment;
    CHECK(k["labels"].is_object());
    for (const auto& [name, value] : k["labels"].items()) {
      CHECK(value.is_string() && service::IsLabelKey(name) &&
            service::IsLabelValue(value.get<std::string>()));
      r.labels.emplace(name, value.get<std::string>());
    }
    r.created_at_us = Time(k["created_at"]);
    r.updated_at_us = Time(k["updated_at"]);
    if (!k["expires_at"].is_null()) r.expires_at_us = Time(k["expires_at"]);
    r.revision = 0;
    CHECK(VisibleTo(*caller, r));
    return r;
  }

  int64_t Time(const json& t) const {
    int64_t us = 0;
    CHECK(t.is_string() && keypaird::ParseRfc3339(t.get<std::string>(), &us));
    CHECK(keypaird::FormatRfc3339(us) == t.get<std::string>());
    return us;
  }

  // The ETag of a single native key: "\"<id>/<revision>\"".
  int64_t ETagRevision(const std::string& id) const {
    const std::string_view etag = resp.Header("ETag");
    const std::string prefix = "\"" + id + "/";
    CHECK(etag.starts_with(prefix) && etag.ends_with('"'));
    int64_t revision = 0;
    CHECK(http::ParseInt(etag.substr(prefix.size(), etag.size() - prefix.size() - 1), 1,
                         INT64_MAX, &revision));
    return revision;
  }

  void CheckNativeKeyAnswer() const {
    const int64_t project = PathProject();
    store::KeyRecord shown = NativeKey(body, req.method == "POST");
    shown.revision = ETagRevision(shown.id);
    CHECK(shown.project_id == project);
    json request = RequestBody();
    if (req.method == "POST") {  // created: the caller's, as the body asked
      CHECK(resp.status == 201 && SeededById(shown.id) == nullptr && shown.revision == 1);
      CHECK(shown.user_id == caller->record.user_id);
      CHECK(shown.created_at_us == kNow && shown.updated_at_us == kNow);
      CHECK(request["name"] == shown.name);
      CHECK(shown.shared_in_project == request.value("shared_in_project", true));
      CHECK(shown.disabled == request.value("disabled", false));
      CHECK(json(shown.labels) == request.value("labels", json::object()));
      const bool imported = request.contains("public_key") && !request["public_key"].is_null();
      CHECK(body.contains("private_key") == !imported);
      if (!imported) {
        json generate = request.value("generate", json::object());
        if (!generate.is_object()) generate = json::object();
        const std::string format =
            generate["format"].is_string() ? generate["format"].get<std::string>() : "openssh";
        const bool encrypted = generate["passphrase"].is_string();
        CHECK(body["private_key_format"] == format);
        CheckPrivateKey(body["private_key"], format, encrypted, ReparsedKey(body["public_key"]));
      }
      return;
    }
    const store::KeyRecord* seeded = SeededById(shown.id);
    CHECK(seeded != nullptr);
    store::KeyRecord expected = *seeded;
    if (req.method == "PATCH") {  // the seeded key with the body's changes
      CheckOwner(seeded->user_id);
      if (request.contains("name")) expected.name = request["name"].get<std::string>();
      if (request.contains("shared_in_project")) {
        expected.shared_in_project = request["shared_in_project"].get<bool>();
      }
      if (request.contains("labels")) {
        expected.labels = request["labels"].get<std::map<std::string, std::string>>();
      }
      if (request.contains("disabled")) expected.disabled = request["disabled"].get<bool>();
      if (request.contains("expires_at")) {
        expected.expires_at_us.reset();
        if (!request["expires_at"].is_null()) {
          int64_t us = 0;
          CHECK(keypaird::ParseRfc3339(request["expires_at"].get<std::string>(), &us));
          expected.expires_at_us = us;
        }
      }
      expected.updated_at_us = kNow;
      expected.revision = 2;
    }
    CHECK(shown == expected);
  }

  // The native filters of the request's query (which must parse: the answer was 200).
  struct Filters {
    std::optional<int64_t> project;
    std::optional<int64_t> owner;
    std::string name, fingerprint, type;
    std::vector<store::LabelTerm> labels;
    std::optional<bool> usable;
    store::OrderBy order = store::OrderBy::kCreatedAtDesc;
    std::optional<store::KeyCursor> after;
    int64_t limit = 100;
  };

  Filters QueryFilters() const {
    Filters f;
    http::Query q;
    CHECK(http::ParseQuery(req.query, &q).ok());
    auto value = [&q](const char* name) { return http::QueryValue(q, name); };
    if (const std::string* v = value("limit")) CHECK(http::ParseInt(*v, 1, 1000, &f.limit));
    if (const std::string* v = value("order_by")) {
      StatusOr<store::OrderBy> order = http::ParseOrderBy(*v);
      CHECK(order.ok());
      f.order = *order;
    }
    if (const std::string* v = value("cursor")) {
      StatusOr<store::KeyCursor> cursor = http::DecodeCursor(*v, f.order);
      CHECK(cursor.ok());
      f.after = *cursor;
    }
    if (const std::string* v = value("name")) f.name = *v;
    if (const std::string* v = value("fingerprint")) f.fingerprint = *v;
    if (const std::string* v = value("type")) f.type = *v;
    if (const std::string* v = value("owner_id")) {
      int64_t owner = 0;
      CHECK(http::ParseInt(*v, 1, http::kMaxId, &owner));
      f.owner = owner;
    }
    if (const std::string* v = value("label_selector")) {
      StatusOr<std::vector<store::LabelTerm>> terms = http::ParseLabelSelector(*v);
      CHECK(terms.ok());
      f.labels = *terms;
    }
    if (const std::string* v = value("usable")) f.usable = *v == "true";
    return f;
  }

  // The seeded keys the filters select for the caller, in the filters' order.
  std::vector<store::KeyRecord> Selected(const Filters& f) const {
    std::vector<store::KeyRecord> out;
    for (const store::KeyRecord& k : g->keys) {
      if (!VisibleTo(*caller, k) || (f.project && k.project_id != *f.project) ||
          (f.owner && k.user_id != *f.owner) || !ContainsIgnoringCase(k.name, f.name) ||
          (!f.type.empty() && k.type != f.type) || !LabelsMatch(k, f.labels) ||
          (f.usable && Usable(k) != *f.usable) || (f.after && !After(k, *f.after, f.order))) {
        continue;
      }
      if (!f.fingerprint.empty() && k.fingerprint != f.fingerprint &&
          k.fingerprint_sha256 != f.fingerprint) {
        continue;
      }
      out.push_back(k);
    }
    std::sort(out.begin(), out.end(), [&f](const store::KeyRecord& a, const store::KeyRecord& b) {
      return Before(a, b, f.order);
    });
    return out;
  }

  void CheckNativePage() const {
    CHECK(body.size() == 2 && body.contains("results") && body["results"].is_array());
    CHECK(body.contains("next_cursor"));
    Filters f = QueryFilters();
    if (std::string_view(resp.route) == "/api/v1/keys") {
      CHECK(!f.fingerprint.empty());
    } else {
      f.project = PathProject();
    }
    std::vector<store::KeyRecord> expected = Selected(f);
    const bool more = static_cast<int64_t>(expected.size()) > f.limit;
    if (more) expected.resize(static_cast<size_t>(f.limit));
    std::vector<store::KeyRecord> shown;
    for (const json& k : body["results"]) {
      shown.push_back(NativeKey(k, false));
      shown.back().revision = 1;
    }
    CHECK(shown == expected);
    if (!more) {
      CHECK(body["next_cursor"].is_null());
      return;
    }
    // The cursor continues after the page's last key.
    CHECK(body["next_cursor"].is_string());
    StatusOr<store::KeyCursor> next = http::DecodeCursor(body["next_cursor"].get<std::string>(), f.order);
    CHECK(next.ok());
    CHECK(next->id == expected.back().id && next->created_at_us == expected.back().created_at_us &&
          next->name == expected.back().name);
  }

  void CheckMe() const {
    const store::TokenRecord& t = caller->record;
    json roles = json::array();
    for (int64_t p : t.projects) {
      roles.push_back({{"project_id", p},
                       {"role", t.read_only ? "viewer" : "editor"},
                       {"principals", t.principals}});
    }
    // The fuzzer's callers are token users: no identity, no session.
    const json expected = {{"user_id", t.user_id},   {"token_id", t.id},
                           {"admin", t.admin},       {"read_only", t.read_only},
                           {"projects", t.projects}, {"principals", t.principals},
                           {"via", "token"},         {"issuer", nullptr},
                           {"email", nullptr},       {"name", nullptr},
                           {"groups", json::array()}, {"roles", roles},
                           {"csrf_token", nullptr}};
    CHECK(body == expected);
  }

  void CheckAuthorizedKeys() const {
    Filters f;
    f.project = PathProject();
    f.order = store::OrderBy::kCreatedAtAsc;
    f.usable = true;
    http::Query q;
    CHECK(http::ParseQuery(req.query, &q).ok());
    if (const std::string* v = http::QueryValue(q, "label_selector")) {
      StatusOr<std::vector<store::LabelTerm>> terms = http::ParseLabelSelector(*v);
      CHECK(terms.ok());
      f.labels = *terms;
    }
    if (const std::string* v = http::QueryValue(q, "owner_id")) {
      int64_t owner = 0;
      CHECK(http::ParseInt(*v, 1, http::kMaxId, &owner));
      f.owner = owner;
    }
    std::string expected;
    for (const store::KeyRecord& k : Selected(f)) expected += k.public_key + "\n";
    const std::string_view text = resp.body->view();
    CHECK(text == expected);
    for (size_t pos = 0; pos < text.size();) {  // each line a public key, as it is
      const size_t nl = text.find('\n', pos);
      CHECK(nl != std::string_view::npos);
      ReparsedKey(std::string(text.substr(pos, nl - pos)));
      pos = nl + 1;
    }
    CheckContentETag();
  }

  // A generated text's validator (authorized_keys, the KRL): 128 bits of a digest, in hex,
  // to be revalidated on every use.
  void CheckContentETag() const {
    const std::string_view etag = resp.Header("ETag");
    CHECK(etag.size() == 34 && etag.front() == '"' && etag.back() == '"' &&
          IsHex32(etag.substr(1, 32)));
    CHECK(resp.Header("Cache-Control") == "no-cache");
  }

  // The project's CA public key line: ed25519; project 1's is the seeded one.
  sshkey::PublicKey CheckCaPublicKey(std::string_view line) const {
    const sshkey::PublicKey pk = ReparsedKey(std::string(line));
    CHECK(pk.type == "ssh-ed25519");
    CHECK((PathProject() == 1) == (pk.line == g->ca.public_key));
    return pk;
  }

  void CheckCaInfo() const {
    CHECK(body.size() == 4 && body.contains("public_key") && body["public_key"].is_string());
    CheckOneKey();
    const sshkey::PublicKey pk = CheckCaPublicKey(body["public_key"].get<std::string>());
    CHECK(body.contains("fingerprint_sha256") && body["fingerprint_sha256"] == pk.fingerprint_sha256);
    CHECK(body.contains("created_at") &&
          Time(body["created_at"]) == (PathProject() == 1 ? g->ca.created_at_us : kNow));
  }

  // Project 1's KRL revokes, by serial, the revoked certificate and the disabled key's;
  // other projects' (without a CA) nothing; never a bare key. Nothing in it is the clock's:
  // its version is the sum of its serials, its date its CA's creation (0 without a CA).
  void CheckKrl() const {
    const std::string_view data = resp.body->view();
    CHECK(data.starts_with("SSHKRL\n"));
    StatusOr<sshkey::Krl> krl = sshkey::ParseKrl(data);
    CHECK(krl.ok());
    std::vector<sshkey::KrlCaSerials> serials;
    uint64_t version = 0;
    if (PathProject() == 1) {
      std::vector<uint64_t> revoked;
      for (const store::CertificateRecord& c : g->certificates) {
        if (c.revoked_at_us || SeededById(c.key_id)->disabled) {
          revoked.push_back(static_cast<uint64_t>(c.serial));
          version += static_cast<uint64_t>(c.serial);
        }
      }
      serials.push_back({g->ca_blob, sshkey::SerialRangesOf(std::move(revoked))});
    }
    CHECK(krl->certificates == serials && krl->revoked_key_sha256.empty());
    CHECK(krl->krl_version == version);
    CHECK(krl->generated_date ==
          (PathProject() == 1 ? static_cast<uint64_t>(g->ca.created_at_us / 1000000) : 0u));
    CheckContentETag();
  }

  // What both certificate routes answer: `id_field` (the stored key's certificate key id,
  // or a key's fingerprint) and the certificate, which parses, is signed by the project's
  // CA, and holds what the answer says, the principals `asked` (each the token may have) and
  // `valid_for` seconds. The parsed certificate.
  sshkey::ParsedCertificate CheckIssued(const char* id_field, const std::vector<std::string>& asked,
                                        uint64_t valid_for) const {
    CHECK(resp.status == 201);
    const int64_t project = PathProject();
    CHECK(body.size() == 6);
    for (const char* f : {"certificate", "serial", id_field, "valid_after", "valid_before"}) {
      CHECK(body.contains(f) && body[f].is_string());
    }
    CHECK(body.contains("principals") && body["principals"].is_array());
    // The certificate line: "TYPE BASE64 COMMENT", a valid certificate of the CA.
    const std::string line = body["certificate"].get<std::string>();
    const size_t sp1 = line.find(' ');
    CHECK(sp1 != std::string::npos);
    const size_t sp2 = line.find(' ', sp1 + 1);
    std::string blob;
    CHECK(sshkey::Base64DecodeStrict(line.substr(sp1 + 1, sp2 == std::string::npos
                                                              ? std::string::npos
                                                              : sp2 - sp1 - 1),
                                     &blob));
    StatusOr<sshkey::ParsedCertificate> cert = sshkey::ParseCertificate(blob);
    CHECK(cert.ok());
    CHECK(cert->type == line.substr(0, sp1) && cert->cert_type == sshkey::kCertTypeUser);
    if (project == 1) CHECK(cert->ca_key_blob == g->ca_blob);
    // The answer says what the certificate holds.
    CHECK(body["serial"] == std::to_string(cert->serial));
    CHECK(cert->serial == (project == 1 ? 4u : 1u));  // after the seeded 1..3
    CHECK(body["principals"] == cert->principals);
    CHECK(Time(body["valid_after"]) == static_cast<int64_t>(cert->valid_after) * 1000000);
    CHECK(Time(body["valid_before"]) == static_cast<int64_t>(cert->valid_before) * 1000000);
    CHECK(cert->valid_after <= static_cast<uint64_t>(kNowS));
    CHECK(cert->valid_before >= static_cast<uint64_t>(kNowS + 60) &&
          cert->valid_before <= static_cast<uint64_t>(kNowS + kMaxValidity));
    if (!caller->record.admin) {
      for (const std::string& p : cert->principals) {
        const auto& mine = caller->record.principals;
        CHECK(std::find(mine.begin(), mine.end(), p) != mine.end());
      }
    }
    // ... and what the request asked for.
    CHECK(asked == cert->principals);
    CHECK(cert->valid_before == static_cast<uint64_t>(kNowS) + valid_for);
    return std::move(*cert);
  }

  // Principals in order, each once: the CA collapses duplicates.
  static std::vector<std::string> Once(const json& principals) {
    std::vector<std::string> out;
    for (const json& p : principals) {
      if (std::find(out.begin(), out.end(), p.get<std::string>()) == out.end()) {
        out.push_back(p.get<std::string>());
      }
    }
    return out;
  }

  void CheckCertificate() const {
    json request = RequestBody();
    const sshkey::ParsedCertificate cert = CheckIssued("key_id", Once(request["principals"]),
                                                       request.value("valid_for", uint64_t{3600}));
    const int64_t project = PathProject();
    // Of the key the path names, usable, the caller's.
    CHECK(params.size() == 2);
    const store::KeyRecord* key = Named(params[1], project);
    CHECK(key != nullptr && VisibleTo(*caller, *key) && Usable(*key));
    CheckOwner(key->user_id);
    StatusOr<sshkey::PublicKey> subject = sshkey::ParsePublicKey(key->public_key);
    CHECK(subject.ok() && cert.key_blob == subject->blob);
    CHECK(body["key_id"] == cert.key_id);
    CHECK(cert.key_id == "keypaird:project=" + std::to_string(project) + ":key=" + key->id +
                             ":serial=" + std::to_string(cert.serial));
    auto option = [&request](const char* name) -> std::optional<std::string> {
      if (!request.contains(name) || request[name].is_null()) return std::nullopt;
      return request[name].get<std::string>();
    };
    CHECK(cert.force_command == option("force_command"));
    CHECK(cert.source_address == option("source_address"));
    std::set<std::string> extensions(sshkey::kSshKeygenDefaultExtensions.begin(),
                                     sshkey::kSshKeygenDefaultExtensions.end());
    if (request.contains("extensions")) {
      extensions = request["extensions"].get<std::set<std::string>>();
    }
    CheckExtensions(cert, extensions);
  }

  // POST …/ssh_ca/sign: the body's public key, certified for the caller: the body's
  // principals or all the token's, valid_for in seconds or as a duration, no options.
  void CheckKeyCertificate() const {
    json request = RequestBody();
    uint64_t valid_for = 3600;
    if (request.contains("valid_for")) {
      const json& v = request["valid_for"];
      valid_for =
          v.is_string()
              ? static_cast<uint64_t>(*keypaird::ParseDurationMs(v.get<std::string>()) / 1000)
              : v.get<uint64_t>();
    }
    const sshkey::ParsedCertificate cert =
        CheckIssued("fingerprint_sha256",
                    Once(request.contains("principals") ? request["principals"]
                                                        : json(caller->record.principals)),
                    valid_for);
    StatusOr<sshkey::PublicKey> subject =
        sshkey::ParsePublicKey(request["public_key"].get<std::string>());
    CHECK(subject.ok() && cert.key_blob == subject->blob);
    CHECK(body["fingerprint_sha256"] == subject->fingerprint_sha256);
    CHECK(cert.key_id == "keypaird:project=" + std::to_string(PathProject()) +
                             ":user=" + std::to_string(caller->record.user_id) +
                             ":serial=" + std::to_string(cert.serial));
    CHECK(!cert.force_command && !cert.source_address);
    CheckExtensions(cert, std::set<std::string>(sshkey::kSshKeygenDefaultExtensions.begin(),
                                                sshkey::kSshKeygenDefaultExtensions.end()));
  }

  void CheckExtensions(const sshkey::ParsedCertificate& cert,
                       const std::set<std::string>& extensions) const {
    std::set<std::string> got;
    for (const sshkey::CertificateOption& e : cert.extensions) got.insert(e.name);
    CHECK(got == extensions && got.size() == cert.extensions.size());
  }

#undef CHECK
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static Globals globals;
  g = &globals;  // Mint and MakeGlobals only read what is already set
  MakeGlobals(&globals);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::HttpRequest req;
  if (!Decode(std::string_view(reinterpret_cast<const char*>(data), size), &req)) return 0;

  std::unique_ptr<store::KeyStore> s = store::NewMemoryStore();
  Seed(s.get());
  const keypaird::Clock clock = [] { return kNow; };
  auth::Authenticator authenticator(s.get());
  service::KeyService keys(s.get(), clock);
  const ca::CertificateAuthority authority(s.get(), &keys, FuzzKek(), kMaxValidity, clock);
  const service::AuditLog audit(s.get());
  const service::People people(s.get(), clock);
  const service::Hosts hosts(s.get(), clock);
  const http::Api api(&keys, &authenticator,
                      http::ApiExtras{.ca = &authority, .audit = &audit, .people = &people,
                                      .hosts = &hosts});

  const http::HttpResponse resp = api.Handle(req);
  if (g->verbose) {  // FUZZ_REQUEST_VERBOSE=1: what each input did (for writing seeds)
    std::fprintf(stderr, "%s %s -> %d %.*s\n", req.method.c_str(), req.path.c_str(), resp.status,
                 resp.body ? static_cast<int>(std::min<size_t>(resp.body->size(), 160)) : 0,
                 resp.body ? resp.body->data() : "");
  }
  Checker checker{req, resp, api.MatchRoute(req).params, nullptr, json()};
  checker.Run();
  return 0;
}
