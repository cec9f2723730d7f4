// libFuzzer target for request decoding: http::Api::Handle end to end (routing, path and
// query decoding, media type, authentication, JSON body validation, KeyService, rendering)
// over an in-memory store.
//
// Input format (human-readable, so seeds are easy to write and the dictionary helps):
//
//   METHOD TARGET\n              TARGET = raw path [?query], any bytes but '\n'
//   Header-Name: value\n         zero or more; Content-Type, Authorization, X-Request-ID
//   \n                           end of headers
//   body                         the rest, verbatim
//
// In an Authorization value the placeholders $USER (user 1, projects 1 and 2), $OTHER
// (user 2, project 1) and $ADMIN (user 3, admin) become the APIKey tokens minted at start.
// Each input runs against a fresh store holding two keys with fixed ids (see Seed), so the
// outcome depends on the input alone.
//
// Invariants (any violation aborts): the status is a documented one and never 5xx; every
// response has an X-Request-ID of 32 hex digits; 204 has no body, everything else is valid
// JSON (except /metrics); errors carry exactly exception_class/message/request_id (+
// invalid_fields on 400) with the class that belongs to the status; 405 has Allow; 400/409
// have x-should-retry: false; no token secret is ever echoed; any public_key rendered
// parses again with sshkey::ParsePublicKey.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "auth/tokens.h"
#include "common/uuid.h"
#include "http/api.h"
#include "service/key_service.h"
#include "sshkey/sshkey.h"
#include "store/key_store.h"

namespace {

using keypaird::StatusOr;
using nlohmann::json;
namespace auth = keypaird::auth;
namespace http = keypaird::http;
namespace service = keypaird::service;
namespace sshkey = keypaird::sshkey;
namespace store = keypaird::store;

constexpr int64_t kNow = 1'780'000'000'000'000;  // fixed clock: reproducible outcomes

struct Minted {
  store::TokenRecord record;
  std::string header;  // "APIKey kpd_..."
  std::string secret;  // the secret part, which must never appear in a response
};

struct Globals {
  Minted user, other, admin;
  bool verbose;
};

const Globals* g = nullptr;

Minted Mint(int64_t user, bool admin, std::vector<int64_t> projects) {
  StatusOr<auth::MintedToken> m = auth::MintToken(user, admin, std::move(projects), kNow);
  if (!m.ok()) std::abort();
  Minted out;
  out.record = m->record;
  out.header = "APIKey " + std::string(m->token.view());
  std::string_view id, secret;
  if (!auth::SplitToken(m->token.view(), &id, &secret)) std::abort();
  out.secret = std::string(secret);
  return out;
}

constexpr const char* kSeedPublicKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIjxL6g1II8NsO8odvBwGKvq2Dx/h/xrvsV9b9LVIYKm "
    "my-username@my-hostname";

// Two keys every input can act on: "seed-key" (user 1, shared) and "private-key" (user 2,
// not shared), both in project 1.
void Seed(store::KeyStore* s) {
  StatusOr<sshkey::PublicKey> pk = sshkey::ParsePublicKey(kSeedPublicKey);
  if (!pk.ok()) std::abort();
  store::KeyRecord a{"11111111-1111-4111-8111-111111111111",
                     1,
                     1,
                     "seed-key",
                     pk->line,
                     pk->fingerprint,
                     true,
                     kNow - 2};
  store::KeyRecord b{"22222222-2222-4222-8222-222222222222",
                     1,
                     2,
                     "private-key",
                     pk->line,
                     pk->fingerprint,
                     false,
                     kNow - 1};
  if (!s->InsertKey(a).ok() || !s->InsertKey(b).ok()) std::abort();
  for (const Minted* m : {&g->user, &g->other, &g->admin}) {
    if (!s->InsertToken(m->record).ok()) std::abort();
  }
}

[[noreturn]] void Fail(const char* what, const http::HttpRequest& req,
                       const http::HttpResponse& resp) {
  std::fprintf(stderr, "fuzz_request: invariant violated: %s\n", what);
  std::fprintf(stderr, "  request: %s %s ? %s\n", req.method.c_str(), req.path.c_str(),
               req.query.c_str());
  std::fprintf(stderr, "  status: %d\n", resp.status);
  if (resp.body) {
    std::fprintf(stderr, "  body: %.*s\n", static_cast<int>(resp.body->size()), resp.body->data());
  }
  std::abort();
}

#define FUZZ_CHECK(cond)                 \
  do {                                   \
    if (!(cond)) Fail(#cond, req, resp); \
  } while (0)

const char* ClassFor(int status) {
  switch (status) {
    case 400:
      return "ValidationError";
    case 401:
      return "NotAuthenticated";
    case 403:
      return "ForbiddenError";
    case 404:
      return "NotFoundError";
    case 405:
      return "HTTPError";
    case 409:
      return "ConflictError";
    case 413:
      return "PayloadTooLarge";
    case 415:
      return "UnsupportedMediaType";
    default:
      return nullptr;
  }
}

bool IsHex32(std::string_view s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

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

bool IsHttpMethod(std::string_view m) {
  // What RESTinio's http-parser can hand over (the common ones; others are routed the same).
  static constexpr std::string_view kMethods[] = {"GET",   "HEAD",    "POST",  "PUT",    "DELETE",
                                                  "PATCH", "OPTIONS", "TRACE", "CONNECT"};
  for (std::string_view k : kMethods) {
    if (m == k) return true;
  }
  return false;
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
    if (name == "Content-Type") {
      req->content_type = std::string(value);
    } else if (name == "Authorization") {
      std::string v(value);
      ReplaceAll(&v, "$USER", g->user.header.substr(7));
      ReplaceAll(&v, "$OTHER", g->other.header.substr(7));
      ReplaceAll(&v, "$ADMIN", g->admin.header.substr(7));
      req->authorization = std::move(v);
    } else if (name == "X-Request-ID") {
      req->request_id = std::string(value);
    }
  }
  req->body = std::string(in);
  return true;
}

void CheckRenderedKey(const json& k, const http::HttpRequest& req, const http::HttpResponse& resp) {
  FUZZ_CHECK(k.is_object());
  FUZZ_CHECK(k.contains("id") && k["id"].is_string() &&
             IsUuid(k["id"].get<std::string>()));
  FUZZ_CHECK(k.contains("name") && k["name"].is_string());
  FUZZ_CHECK(service::ValidateKeyName(k["name"].get<std::string>()).ok());
  FUZZ_CHECK(k.contains("public_key") && k["public_key"].is_string());
  StatusOr<sshkey::PublicKey> pk = sshkey::ParsePublicKey(k["public_key"].get<std::string>());
  FUZZ_CHECK(pk.ok());
  FUZZ_CHECK(pk->line == k["public_key"].get<std::string>());
  FUZZ_CHECK(k.contains("fingerprint") && k["fingerprint"] == pk->fingerprint);
  FUZZ_CHECK(k.contains("project_id") && k["project_id"].is_number_integer());
  FUZZ_CHECK(k.contains("shared_in_project") && k["shared_in_project"].is_boolean());
  FUZZ_CHECK(k.contains("state") && k["state"] == "ACTIVE");
  FUZZ_CHECK(k.contains("created_at") && k["created_at"].is_string());
  if (k.contains("private_key") && k["private_key"].is_string()) {
    FUZZ_CHECK(
        k["private_key"].get<std::string>().rfind("-----BEGIN OPENSSH PRIVATE KEY-----", 0) == 0);
  }
}

void CheckResponse(const http::HttpRequest& req, const http::HttpResponse& resp) {
  static constexpr int kDocumented[] = {200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 415};
  bool documented = false;
  for (int s : kDocumented) documented = documented || resp.status == s;
  FUZZ_CHECK(documented);

  const std::string request_id(resp.Header("X-Request-ID"));
  FUZZ_CHECK(IsHex32(request_id));
  FUZZ_CHECK(resp.route != nullptr);

  if (resp.status == 204) {
    FUZZ_CHECK(resp.body == nullptr || resp.body->size() == 0);
    return;
  }
  FUZZ_CHECK(resp.body != nullptr);
  const std::string_view text = resp.body->view();
  // A token secret in a response is a leak, unless the client itself put it where the
  // response may quote it (the fuzzer does find the secrets and paste them into paths).
  const std::string sent = ClientText(req);
  for (const Minted* m : {&g->user, &g->other, &g->admin}) {
    FUZZ_CHECK(text.find(m->secret) == std::string_view::npos ||
               sent.find(m->secret) != std::string::npos);
  }
  if (std::string_view(resp.content_type) != "application/json") {
    FUZZ_CHECK(resp.status == 200 && req.path.find("metrics") != std::string::npos);
    return;
  }
  const json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!body.is_discarded());
  FUZZ_CHECK(body.is_object());

  if (resp.status >= 400) {
    const char* cls = ClassFor(resp.status);
    FUZZ_CHECK(cls != nullptr);
    FUZZ_CHECK(body.contains("exception_class") && body["exception_class"] == cls);
    FUZZ_CHECK(body.contains("message") && body["message"].is_string() &&
               !body["message"].get<std::string>().empty());
    FUZZ_CHECK(body.contains("request_id") && body["request_id"] == request_id);
    FUZZ_CHECK(body.size() == (resp.status == 400 ? 4u : 3u));
    if (resp.status == 400) {
      FUZZ_CHECK(body.contains("invalid_fields") && body["invalid_fields"].is_object());
      for (const auto& [field, messages] : body["invalid_fields"].items()) {
        FUZZ_CHECK(messages.is_array() && !messages.empty());
        for (const json& m : messages) FUZZ_CHECK(m.is_string());
      }
    }
    FUZZ_CHECK((resp.Header("x-should-retry") == "false") ==
               (resp.status == 400 || resp.status == 409));
    if (resp.status == 405) FUZZ_CHECK(!resp.Header("Allow").empty());
    return;
  }

  // Successes: a key, or a list of keys, or a health answer.
  if (body.contains("results")) {
    FUZZ_CHECK(body["results"].is_array() && body["count"].is_number_integer());
    FUZZ_CHECK(body["count"].get<int64_t>() >= static_cast<int64_t>(body["results"].size()));
    for (const json& k : body["results"]) CheckRenderedKey(k, req, resp);
  } else if (body.contains("id")) {
    CheckRenderedKey(body, req, resp);
  } else {
    FUZZ_CHECK(body.contains("status"));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static const Globals globals{Mint(1, false, {1, 2}), Mint(2, false, {1}), Mint(3, true, {}),
                               std::getenv("FUZZ_REQUEST_VERBOSE") != nullptr};
  g = &globals;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::HttpRequest req;
  if (!Decode(std::string_view(reinterpret_cast<const char*>(data), size), &req)) return 0;

  std::unique_ptr<store::KeyStore> s = store::NewMemoryStore();
  Seed(s.get());
  auth::Authenticator authenticator(s.get());
  service::KeyService keys(s.get(), [] { return kNow; });
  const http::Api api(&keys, &authenticator);

  const http::HttpResponse resp = api.Handle(req);
  if (g->verbose) {  // FUZZ_REQUEST_VERBOSE=1: what each input did (for writing seeds)
    std::fprintf(stderr, "%s %s -> %d %.*s\n", req.method.c_str(), req.path.c_str(), resp.status,
                 resp.body ? static_cast<int>(std::min<size_t>(resp.body->size(), 160)) : 0,
                 resp.body ? resp.body->data() : "");
  }
  CheckResponse(req, resp);
  return 0;
}
