// The route table, routing, request ids, and the steps every request goes through
// before its handler (Api::Handle).
#include "http/api.h"

#include <arpa/inet.h>

#include <cstring>
#include <future>
#include <nlohmann/json.hpp>

#include "common/random.h"
#include "common/secret.h"
#include "common/strings.h"
#include "common/uuid.h"
#include "http/api_internal.h"
#include "http/body.h"
#include "http/decoding.h"
#include "http/openapi_document.h"

namespace keypaird::http {

using nlohmann::json;

Placement Api::Match::placement() const {
  // 404 and 405 are answered at once.
  return route != nullptr ? route->placement : Placement::kIoThread;
}

const std::vector<Api::Route>& Api::Routes() {
  using P = Placement;
  // Every route of the service, in one place. Single reads run on the I/O thread in one
  // snapshot; lists (a page costs O(offset); v1/v2 return every visible key), writes and
  // pings may wait on the store, so they go to the workers — a short page of a paged list
  // and the kept authorized_keys and KRL are tried on the I/O thread first (quick_first);
  // creates parse or generate a key and then write asynchronously, on the key-generation
  // pool.
  static const std::vector<Route> kRoutes = [] {
    // One route per line or two, the table stays readable:
    // clang-format off
    std::vector<Route> routes = {
        {.method = "GET", .pattern = "/healthz",
         .authenticated = false, .placement = P::kIoThread, .handler = &Api::Healthz},
        {.method = "GET", .pattern = "/readyz",
         .authenticated = false, .placement = P::kWorker, .handler = &Api::Readyz},
        {.method = "GET", .pattern = "/metrics",
         .authenticated = false, .placement = P::kIoThread, .handler = &Api::MetricsText},
        {.method = "GET", .pattern = "/console",  // also "/console/"
         .authenticated = false, .placement = P::kIoThread, .handler = &Api::ConsoleFile},
        {.method = "GET", .pattern = "/console/{file}",
         .authenticated = false, .placement = P::kIoThread, .handler = &Api::ConsoleFile},
        // Sign-in (auth_routes.cc): the callback waits on the identity provider.
        {.method = "GET", .pattern = "/auth/login",
         .authenticated = false, .placement = P::kWorker, .handler = &Api::AuthLogin,
         .by_address = true},
        {.method = "GET", .pattern = "/auth/callback",
         .authenticated = false, .placement = P::kWorker, .handler = &Api::AuthCallback},
        {.method = "POST", .pattern = "/auth/logout",
         .placement = P::kWorker, .handler = &Api::AuthLogout, .bodiless = true},
        {.method = "GET", .pattern = "/auth/info",
         .authenticated = false, .placement = P::kIoThread, .handler = &Api::AuthInfo},
        // The device flow (`keypaird login`): the client starts and polls without a token;
        // the person decides in the browser, signed in.
        {.method = "POST", .pattern = "/auth/device",
         .authenticated = false, .placement = P::kWorker, .handler = &Api::DeviceStart,
         .bodiless = true, .by_address = true},
        {.method = "POST", .pattern = "/auth/device/token",
         .authenticated = false, .placement = P::kWorker, .handler = &Api::DeviceToken,
         .by_address = true},
        {.method = "POST", .pattern = "/auth/device/approve",
         .placement = P::kWorker, .handler = &Api::DeviceDecide},
        {.method = "POST", .pattern = "/cloud/v1/keypairs/{project_id}/{region_id}",
         .placement = P::kKeygen, .handler = &Api::V1Create},
        {.method = "GET", .pattern = "/cloud/v1/keypairs/{project_id}/{region_id}",
         .placement = P::kWorker, .handler = &Api::V1List, .one_snapshot = true},
        {.method = "GET", .pattern = "/cloud/v1/keypairs/{project_id}/{region_id}/{keypair_id}",
         .placement = P::kIoThread, .handler = &Api::V1Get, .one_snapshot = true},
        {.method = "DELETE", .pattern = "/cloud/v1/keypairs/{project_id}/{region_id}/{keypair_id}",
         .placement = P::kWorker, .handler = &Api::V1Delete},
        {.method = "PATCH",
         .pattern = "/cloud/v1/keypairs/{project_id}/{region_id}/{keypair_id}/share",
         .placement = P::kWorker, .handler = &Api::V1Share},
        {.method = "POST", .pattern = "/cloud/v2/keypairs",
         .placement = P::kKeygen, .handler = &Api::V2Create},
        {.method = "GET", .pattern = "/cloud/v2/keypairs",
         .placement = P::kWorker, .handler = &Api::V2List, .one_snapshot = true},
        {.method = "GET", .pattern = "/cloud/v2/keypairs/{keypair_id}",
         .placement = P::kIoThread, .handler = &Api::V2Get, .one_snapshot = true},
        {.method = "DELETE", .pattern = "/cloud/v2/keypairs/{keypair_id}",
         .placement = P::kWorker, .handler = &Api::V2Delete},
        {.method = "POST", .pattern = "/cloud/v1/ssh_keys/{project_id}",
         .placement = P::kKeygen, .handler = &Api::SshCreate},
        {.method = "GET", .pattern = "/cloud/v1/ssh_keys/{project_id}",
         .placement = P::kWorker, .handler = &Api::SshList, .one_snapshot = true,
         .quick_first = true},
        {.method = "GET", .pattern = "/cloud/v1/ssh_keys/{project_id}/{ssh_key_id}",
         .placement = P::kIoThread, .handler = &Api::SshGet, .one_snapshot = true},
        {.method = "PATCH", .pattern = "/cloud/v1/ssh_keys/{project_id}/{ssh_key_id}",
         .placement = P::kWorker, .handler = &Api::SshShare},
        {.method = "DELETE", .pattern = "/cloud/v1/ssh_keys/{project_id}/{ssh_key_id}",
         .placement = P::kWorker, .handler = &Api::SshDelete},
        // Gcore's audit log, for the SSH keys (the contract's field list; docs/audit.md).
        {.method = "GET", .pattern = "/cloud/v1/user_actions",
         .placement = P::kWorker, .handler = &Api::UserActions},
        // keypaird's own API (openapi/keypaird.yaml).
        {.method = "GET", .pattern = "/api/v1/openapi.yaml",
         .authenticated = false, .placement = P::kIoThread, .handler = &Api::OpenApiSpec},
        {.method = "GET", .pattern = "/api/v1/me", .placement = P::kIoThread, .handler = &Api::Me},
        {.method = "POST", .pattern = "/api/v1/projects/{project_id}/keys",
         .placement = P::kKeygen, .handler = &Api::NativeCreate},
        {.method = "GET", .pattern = "/api/v1/projects/{project_id}/keys",
         .placement = P::kWorker, .handler = &Api::NativeList, .one_snapshot = true,
         .quick_first = true},
        {.method = "GET", .pattern = "/api/v1/projects/{project_id}/keys/{key}",
         .placement = P::kIoThread, .handler = &Api::NativeGet, .one_snapshot = true},
        {.method = "PATCH", .pattern = "/api/v1/projects/{project_id}/keys/{key}",
         .placement = P::kWorker, .handler = &Api::NativeUpdate},
        {.method = "DELETE", .pattern = "/api/v1/projects/{project_id}/keys/{key}",
         .placement = P::kWorker, .handler = &Api::NativeDelete},
        {.method = "GET", .pattern = "/api/v1/events",
         .placement = P::kWorker, .handler = &Api::Events},
        {.method = "GET", .pattern = "/api/v1/grants",
         .placement = P::kWorker, .handler = &Api::GrantList},
        {.method = "POST", .pattern = "/api/v1/grants",
         .placement = P::kWorker, .handler = &Api::GrantCreate},
        {.method = "DELETE", .pattern = "/api/v1/grants/{grant_id}",
         .placement = P::kWorker, .handler = &Api::GrantDelete},
        {.method = "GET", .pattern = "/api/v1/projects/{project_id}/host_join_tokens",
         .placement = P::kWorker, .handler = &Api::JoinTokenList},
        {.method = "POST", .pattern = "/api/v1/projects/{project_id}/host_join_tokens",
         .placement = P::kWorker, .handler = &Api::JoinTokenCreate},
        {.method = "DELETE",
         .pattern = "/api/v1/projects/{project_id}/host_join_tokens/{token_id}",
         .placement = P::kWorker, .handler = &Api::JoinTokenDelete},
        // Enrolment is authorized by a join token, which the handler checks (not a token
        // of the API); a renewal by the host's own token.
        {.method = "POST", .pattern = "/api/v1/hosts/enroll", .authenticated = false,
         .placement = P::kWorker, .handler = &Api::HostEnroll, .by_address = true},
        {.method = "POST", .pattern = "/api/v1/hosts/{host_id}/renew",
         .placement = P::kWorker, .handler = &Api::HostRenew, .bodiless = true, .hosts = true},
        {.method = "GET", .pattern = "/api/v1/projects/{project_id}/hosts",
         .placement = P::kWorker, .handler = &Api::HostList},
        {.method = "DELETE", .pattern = "/api/v1/projects/{project_id}/hosts/{host_id}",
         .placement = P::kWorker, .handler = &Api::HostDelete},
        {.method = "GET", .pattern = "/api/v1/users",
         .placement = P::kWorker, .handler = &Api::UserList},
        {.method = "PATCH", .pattern = "/api/v1/users/{user_id}",
         .placement = P::kWorker, .handler = &Api::UserUpdate},
        {.method = "GET", .pattern = "/api/v1/keys",
         .placement = P::kWorker, .handler = &Api::NativeFind},
        {.method = "GET", .pattern = "/api/v1/projects/{project_id}/authorized_keys",
         .placement = P::kWorker, .handler = &Api::AuthorizedKeys, .one_snapshot = true,
         .hosts = true, .quick_first = true},
        // The CA's routes read the project's CA, make it (one write) or sign (CPU and a
        // write). Only a POST makes a CA: a read never writes.
        {.method = "GET", .pattern = "/api/v1/projects/{project_id}/ssh_ca",
         .placement = P::kWorker, .handler = &Api::CaInfo, .hosts = true},
        {.method = "POST", .pattern = "/api/v1/projects/{project_id}/ssh_ca",
         .placement = P::kWorker, .handler = &Api::CaCreate, .bodiless = true},
        {.method = "GET", .pattern = "/api/v1/projects/{project_id}/ssh_ca/public_key",
         .placement = P::kWorker, .handler = &Api::CaPublicKey, .hosts = true},
        {.method = "GET", .pattern = "/api/v1/projects/{project_id}/ssh_ca/krl",
         .placement = P::kWorker, .handler = &Api::CaKrl, .one_snapshot = true, .hosts = true,
         .quick_first = true},
        {.method = "GET", .pattern = "/api/v1/projects/{project_id}/ssh_host_ca",
         .placement = P::kWorker, .handler = &Api::HostCaInfo, .hosts = true},
        {.method = "POST", .pattern = "/api/v1/projects/{project_id}/ssh_host_ca",
         .placement = P::kWorker, .handler = &Api::HostCaCreate, .bodiless = true},
        {.method = "GET", .pattern = "/api/v1/projects/{project_id}/ssh_host_ca/known_hosts",
         .placement = P::kWorker, .handler = &Api::HostCaKnownHosts, .hosts = true},
        // Rotation and early deletion of a key rotated out (a project's administrators).
        {.method = "POST", .pattern = "/api/v1/projects/{project_id}/ssh_ca/rotate",
         .placement = P::kWorker, .handler = &Api::CaRotate, .bodiless = true},
        {.method = "POST", .pattern = "/api/v1/projects/{project_id}/ssh_host_ca/rotate",
         .placement = P::kWorker, .handler = &Api::HostCaRotate, .bodiless = true},
        {.method = "DELETE", .pattern = "/api/v1/projects/{project_id}/ssh_ca/keys/{fingerprint}",
         .placement = P::kWorker, .handler = &Api::CaKeyDelete},
        {.method = "DELETE",
         .pattern = "/api/v1/projects/{project_id}/ssh_host_ca/keys/{fingerprint}",
         .placement = P::kWorker, .handler = &Api::HostCaKeyDelete},
        {.method = "POST", .pattern = "/api/v1/projects/{project_id}/keys/{key}/certificates",
         .placement = P::kWorker, .handler = &Api::CaSign},
        // A public key the store does not hold (keypaird login's in-memory key).
        {.method = "POST", .pattern = "/api/v1/projects/{project_id}/ssh_ca/sign",
         .placement = P::kWorker, .handler = &Api::CaSignPublicKey},
        {.method = "POST", .pattern = "/api/v1/projects/{project_id}/certificates/{serial}/revoke",
         .placement = P::kWorker, .handler = &Api::CaRevoke, .bodiless = true},
    };
    // clang-format on
    for (Route& r : routes) r.segments = SplitPath(r.pattern);
    return routes;
  }();
  return kRoutes;
}

namespace {

bool Matches(const std::vector<std::string_view>& pattern,
             const std::vector<std::string_view>& parts, std::vector<std::string>* params) {
  if (pattern.size() != parts.size()) return false;
  params->clear();
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i].front() == '{') {
      std::string decoded;
      if (!PercentDecode(parts[i], false, &decoded)) return false;
      params->push_back(std::move(decoded));
    } else if (pattern[i] != parts[i]) {
      return false;
    }
  }
  return true;
}

// The audit trail keeps this much of a User-Agent.
constexpr size_t kMaxUserAgent = 512;

// The client's address for the audit trail: the peer's, or, when the peer is a trusted
// proxy, the first address of its X-Forwarded-For (if that is an address at all).
std::string ClientAddress(const HttpRequest& request, const std::vector<std::string>& trusted) {
  if (request.forwarded_for.has_value() &&
      std::find(trusted.begin(), trusted.end(), request.peer_address) != trusted.end()) {
    const std::string_view list = *request.forwarded_for;
    std::string first = CanonicalIp(TrimBlanks(list.substr(0, list.find(','))));
    if (!first.empty()) return first;
  }
  return request.peer_address;
}

// What the rate limit counts an open route's request against: the client's address, or
// for IPv6 its /64 (a single host may pick any address of its /64).
std::string AddressRateKey(const std::string& address) {
  in6_addr v6{};
  char out[INET6_ADDRSTRLEN] = {};
  if (address.find(':') != std::string::npos && inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    std::memset(v6.s6_addr + 8, 0, 8);
    if (inet_ntop(AF_INET6, &v6, out, sizeof(out)) != nullptr) {
      return "address " + std::string(out) + "/64";
    }
  }
  return "address " + address;
}

}  // namespace

Api::Match Api::MatchRoute(const HttpRequest& request) const {
  Match match;
  const std::vector<std::string_view> parts = SplitPath(request.path);
  std::vector<std::string> params;
  // HEAD is the GET route's (the server sends its headers only).
  const std::string_view method =
      request.method == "HEAD" ? std::string_view("GET") : std::string_view(request.method);
  for (const Route& r : Routes()) {
    if (!Matches(r.segments, parts, &params)) continue;
    if (method == r.method) {
      match.route = &r;
      match.params = std::move(params);
      match.allow.clear();
      return match;
    }
    if (!match.allow.empty()) match.allow += ", ";
    match.allow += r.method;
    if (std::string_view(r.method) == "GET") match.allow += ", HEAD";
  }
  return match;
}

std::string Api::RequestIdFor(const std::optional<std::string>& client_id) {
  if (client_id.has_value()) {
    std::string hex;
    for (char c : *client_id) {
      if (c == '-') continue;
      if (HexDigitValue(c) < 0) {
        hex.clear();
        break;
      }
      hex.push_back(AsciiLower(c));
    }
    const bool uuid_shape = client_id->size() == 36 && IsUuid(*client_id);
    if (hex.size() == 32 && (client_id->size() == 32 || uuid_shape)) return hex;
  }
  unsigned char raw[16];
  NonSecretRandom16(raw);
  std::string id;
  AppendHex(&id, raw, sizeof(raw));
  return id;
}

void Api::Handle(const HttpRequest& request, Match match, Responder respond) const {
  HandleAs(request, std::move(match), std::move(respond), /*quick_only=*/false);
}

bool Api::HandleQuick(const HttpRequest& request, Match match, const Responder& respond) const {
  return HandleAs(request, std::move(match), respond, /*quick_only=*/true);
}

bool Api::HandleAs(const HttpRequest& request, Match match, Responder outer,
                   bool quick_only) const {
  // quick_only: everything but a quick answer (or the rate limit's refusal of one) is left to
  // the full handling, which answers it as it always did.
  if (quick_only && (match.route == nullptr || request.body.size() > kMaxBodyBytes ||
                     (request.method != "GET" && request.method != "HEAD"))) {
    return false;
  }
  const std::string request_id = RequestIdFor(request.request_id);
  Responder respond = [outer = std::move(outer)](HttpResponse r) {
    AddSecurityHeaders(r);
    outer(std::move(r));
  };
  if (match.route == nullptr) {
    if (match.allow.empty()) {
      respond(ErrorResponse(NotFound("The requested resource was not found."), request_id));
      return true;
    }
    HttpResponse r = PlainError(
        405, "HTTPError",
        "Method " + request.method + " is not allowed here; allowed: " + match.allow + ".",
        request_id);
    r.headers.emplace_back("Allow", match.allow);
    respond(std::move(r));
    return true;
  }
  const Route& route = *match.route;
  // Every answer from here on is labelled with its route and the caller's token id.
  auto labelled = [respond = std::move(respond),
                   pattern = route.pattern](std::string token_id) -> Responder {
    return [respond, pattern, token_id = std::move(token_id)](HttpResponse r) {
      r.route = pattern;
      r.token_id = token_id;
      respond(std::move(r));
    };
  };

  if (request.body.size() > kMaxBodyBytes) {
    labelled("")(Unreadable(413, request.request_id));
    return true;
  }

  Call call{request, request_id, std::move(match.params), {}, nullptr, nullptr,
            nullptr, quick_only};
  if (route.authenticated) {
    if (route.one_snapshot) call.snapshot = keys_->Snapshot();
    StatusOr<auth::Principal> caller = Authenticate(request, route, call.snapshot.get());
    if (!caller.ok()) {
      if (quick_only) return false;
      labelled("")(ErrorResponse(caller.status(), request_id));
      return true;
    }
    call.caller = std::move(caller).value();
    const bool host = !call.caller.host_id.empty();
    if (host && !route.hosts) {
      if (quick_only) return false;
      labelled(call.caller.token_id)(ErrorResponse(
          PermissionDenied("A host token only renews its own certificates and reads its "
                           "project's CA keys, KRL and authorized_keys."),
          request_id));
      return true;
    }
    // A reader may still sign itself out and approve its own sign-in elsewhere (/auth/…:
    // changes to the caller's own session, not to what it reads); a host renews itself.
    if (call.caller.read_only && !host && request.method != "GET" && request.method != "HEAD" &&
        !std::string_view(route.pattern).starts_with("/auth/")) {
      labelled(call.caller.token_id)(ErrorResponse(
          PermissionDenied("This token is read-only: it may only read (GET)."), request_id));
      return true;
    }
    // Counted before any work: a caller over its rate is refused before its request costs
    // anything, on whichever thread; a quick try left to the full handling is given back
    // (below), so that every answer counts once.
    if (std::optional<HttpResponse> limited = RateLimited(call.caller.token_id, request_id)) {
      labelled(call.caller.token_id)(*std::move(limited));
      return true;
    }
  }
  // Where the request came from, for the audit trail (the sign-in routes' too).
  call.caller.source_ip = ClientAddress(request, extras_.trusted_proxies);
  if (route.by_address) {
    if (std::optional<HttpResponse> limited =
            RateLimited(AddressRateKey(call.caller.source_ip), request_id)) {
      labelled("")(*std::move(limited));
      return true;
    }
  }
  call.caller.user_agent = ValidUtf8(request.user_agent.value_or("").substr(0, kMaxUserAgent));
  call.respond = labelled(call.caller.token_id);

  const bool no_body = route.bodiless && request.body.empty();
  if ((request.method == "POST" || request.method == "PATCH") && !no_body) {
    if (!request.content_type.has_value() || !IsJsonMediaType(*request.content_type)) {
      call.respond(PlainError(415, "UnsupportedMediaType",
                              "The request body must be JSON (Content-Type: application/json).",
                              request_id));
      return true;
    }
    StatusOr<json> body = ParseJsonBody(request.body);
    if (!body.ok()) {
      call.respond(ErrorResponse(body.status(), request_id));
      return true;
    }
    call.body = std::move(body).value();
  }
  Reply reply = (this->*route.handler)(call);
  if (reply.not_quick) {
    if (route.authenticated && extras_.rate_limiter != nullptr) {
      extras_.rate_limiter->Refund(call.caller.token_id);
    }
    return false;
  }
  if (reply.response.has_value()) call.respond(std::move(*reply.response));
  return true;
}

std::optional<HttpResponse> Api::RateLimited(const std::string& token_id,
                                             const std::string& request_id) const {
  if (extras_.rate_limiter == nullptr) return std::nullopt;
  const int wait = extras_.rate_limiter->Acquire(token_id);
  if (wait <= 0) return std::nullopt;
  HttpResponse r = ErrorResponse(
      Status(StatusCode::kResourceExhausted,
             "Too many requests for this token; retry after " + std::to_string(wait) + " s."),
      request_id);
  r.headers.emplace_back("Retry-After", std::to_string(wait));
  return r;
}

StatusOr<auth::Principal> Api::Authenticate(const HttpRequest& request, const Route& route,
                                            store::KeyReader* reads) const {
  // Sessions are for keypaird's own API; the Gcore families stay the machines' (tokens).
  const std::string_view pattern = route.pattern;
  const bool session_route = pattern.starts_with("/api/") || pattern.starts_with("/auth/");
  const std::optional<std::string_view> cookie =
      extras_.sign_in != nullptr && session_route && !request.authorization.has_value()
          ? SessionCookie(request)
          : std::nullopt;
  if (!cookie.has_value()) return auth_->Authenticate(request.authorization.value_or(""), reads);
  StatusOr<auth::Principal> caller = auth_->AuthenticateSession(*cookie, reads);
  if (!caller.ok() || request.method == "GET" || request.method == "HEAD") return caller;
  // A browser sends the cookie with any site's request to this one: a change must come
  // from this origin's pages (Origin), or carry the session's CSRF token.
  const bool same_origin =
      request.origin.has_value() && *request.origin == extras_.sign_in->origin();
  const bool csrf_ok = request.csrf_token.has_value() &&
                       extras_.sign_in->CsrfMatches(caller->token_id, *request.csrf_token);
  if (!same_origin && !csrf_ok) {
    return PermissionDenied(
        "A change made with the session cookie must come from this site (Origin) or carry the "
        "session's X-CSRF-Token (GET /api/v1/me).");
  }
  return caller;
}

server::Handler::Job Api::JobFor(std::shared_ptr<const HttpRequest> request) const {
  Match match = MatchRoute(*request);
  const Placement placement = match.placement();
  Job job;
  job.placement = placement;
  if (match.route != nullptr && match.route->quick_first) {
    job.first = [this, request, match](const Responder& respond) {
      return HandleQuick(*request, match, respond);
    };
  }
  job.run = [this, request = std::move(request), match = std::move(match)](Responder respond) {
    Handle(*request, match, std::move(respond));
  };
  return job;
}

HttpResponse Api::Refusal(int status, const std::optional<std::string>& request_id) const {
  if (status == 503) {
    HttpRequest request;
    request.request_id = request_id;
    return Overloaded(request);
  }
  return Unreadable(status, request_id);
}

HttpResponse Api::Handle(const HttpRequest& request) const {
  std::promise<HttpResponse> answered;
  std::future<HttpResponse> response = answered.get_future();
  Handle(request, MatchRoute(request),
         [&answered](HttpResponse r) { answered.set_value(std::move(r)); });
  return response.get();
}

HttpResponse Api::Overloaded(const HttpRequest& request) {
  HttpResponse r = PlainError(503, "ServiceUnavailable", "The server is busy; try again shortly.",
                              RequestIdFor(request.request_id));
  r.headers.emplace_back("Retry-After", "1");
  AddSecurityHeaders(r);
  return r;
}

HttpResponse Api::Unreadable(int status, const std::optional<std::string>& request_id) {
  const std::string id = RequestIdFor(request_id);
  HttpResponse r = [&] {
    switch (status) {
      case 413:
        return PlainError(
            413, "PayloadTooLarge",
            "The request body is larger than " + std::to_string(kMaxBodyBytes) + " bytes.", id);
      case 414:
        return PlainError(414, "URITooLong",
                          "The request target is longer than " + std::to_string(kMaxTargetBytes) +
                              " bytes.",
                          id);
      case 431:
        return PlainError(431, "RequestHeaderFieldsTooLarge",
                          "The request's header fields are too large or too many.", id);
      default:
        return PlainError(400, "BadRequest", "The request is not valid HTTP/1.1.", id);
    }
  }();
  AddSecurityHeaders(r);
  return r;
}

void Api::AddSecurityHeaders(HttpResponse& r) {
  // Browsers take the Content-Type at its word (a key's comment can look like HTML).
  if (r.Header("X-Content-Type-Options").empty()) {
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  }
  // A private key, a token or a certificate is kept by no cache, shared or private.
  if ((r.no_store || (r.body && r.body->secret()))) {
    std::erase_if(r.headers, [](const auto& h) { return h.first == "Cache-Control"; });
    r.headers.emplace_back("Cache-Control", "no-store");
  }
}

// ----- Operations endpoints

Api::Reply Api::Healthz(Call& call) const {
  return MakeResponse(200, R"({"status":"ok"})", call.request_id);
}

Api::Reply Api::MetricsText(Call& call) const {
  HttpResponse r =
      MakeResponse(200, extras_.metrics ? extras_.metrics->Render() : "", call.request_id);
  r.content_type = "text/plain; version=0.0.4";
  return r;
}

Api::Reply Api::OpenApiSpec(Call& call) const {
  HttpResponse r = MakeResponse(200, std::string(OpenApiDocument()), call.request_id);
  r.content_type = "application/yaml";
  return r;
}

Api::Reply Api::Readyz(Call& call) const {
  if (Status s = keys_->Ping(); !s.ok()) {
    return ErrorResponse(Unavailable("The database is not reachable."), call.request_id);
  }
  return MakeResponse(200, R"({"status":"ready"})", call.request_id);
}

}  // namespace keypaird::http
