// Api: the HTTP surface of keypaird, independent of the network code: the server's
// Handler (src/server/handler.h).
//
// Every route is listed once, in the route table (Api::Routes in api.cc), with what it
// needs: its method and path template, whether it needs a token, and where it runs
// (Placement). The server routes a request once (JobFor: MatchRoute), runs it where its
// route says, and Handle answers it: size and media-type checks (413, 415), authentication (401),
// rate limits (429), JSON decoding and validation (400), the call into KeyService, and
// rendering. Errors map to statuses and bodies in one place (errors.h). Handle never
// touches a socket, which keeps the whole API testable without one.
//
// Handlers live beside their family's decoding: gcore_keypairs.cc (v1 and v2 keypairs),
// gcore_ssh_keys.cc (v1 ssh_keys), gcore_operations.cc (what the three share).
//
// Threading: const and thread-safe. A handler answers through its Responder exactly
// once: on the calling thread, or — for writes that complete asynchronously — on the
// thread that finished the write (the SQLite writer).
#ifndef KEYPAIRD_HTTP_API_H_
#define KEYPAIRD_HTTP_API_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/tokens.h"
#include "common/metrics.h"
#include "common/status.h"
#include "http/errors.h"
#include "http/rate_limiter.h"
#include "server/handler.h"
#include "server/message.h"
#include "service/audit_log.h"
#include "service/key_service.h"
#include "service/hosts.h"
#include "service/people.h"
#include "service/sign_in.h"

namespace keypaird::ca {
class CertificateAuthority;
}

namespace keypaird::http {

inline constexpr size_t kMaxBodyBytes = 64 * 1024;
// A request target (path and query) longer than this is refused with 414.
inline constexpr size_t kMaxTargetBytes = 8 * 1024;

// The server's values, as the API speaks them. Where each route runs (Placement): on the
// I/O thread for no store access or reads of one resource from a local store
// (microseconds); on the workers for what may block on the store (lists, deletes,
// updates, pings); on the key-generation pool for parsing or generating a key followed
// by an asynchronous write, whose completion answers.
using server::Placement;
using server::Responder;

struct ApiExtras {
  const Metrics* metrics = nullptr;     // rendered at GET /metrics
  RateLimiter* rate_limiter = nullptr;  // per-token limit; 429 RateLimitError when hit
  // The region ids that exist (config --regions); a v1 keypairs path naming another is
  // 404. Empty: every well-formed region id exists.
  std::vector<int64_t> regions = {};
  // The projects' SSH certificate authority (serve --ca-kek-file); null: the CA routes
  // answer 404 saying it is not enabled.
  const ca::CertificateAuthority* ca = nullptr;
  // Reads the audit trail (GET /api/v1/events); null: that route answers 404.
  const service::AuditLog* audit = nullptr;
  // Users and grants (/api/v1/users, /api/v1/grants); null: those routes answer 404.
  const service::People* people = nullptr;
  // Hosts: join tokens (/api/v1/projects/{id}/host_join_tokens), enrolment and renewal
  // (/api/v1/hosts/…), a project's hosts; null: those answer 404.
  const service::Hosts* hosts = nullptr;
  // Sign-in with an OpenID provider (/auth/*, session cookies; serve --oidc-issuer); null:
  // the /auth routes answer 404 and cookies are not looked at.
  service::SignIn* sign_in = nullptr;
  // Peers (IP addresses, as CanonicalIp writes them) whose X-Forwarded-For names the
  // client in the audit trail (serve --trusted-proxies); from others the peer counts.
  std::vector<std::string> trusted_proxies = {};
};

class Api final : public server::Handler {
 public:
  struct Call;   // per-request context handed to handlers
  struct Route;  // one row of the route table
  // The Gcore families' shared operations' arguments (api_internal.h).
  struct CreateShape;
  struct KeyTarget;

  // What a handler returns: the response, or nothing when it has taken the Responder
  // (Call::TakeResponder) and will answer later from another thread.
  struct Reply {
    Reply(HttpResponse r) : response(std::move(r)) {}  // NOLINT(google-explicit-constructor)
    static Reply Pending() { return Reply(); }
    // Call::quick_only: the answer is not a quick one; the request is to be handled in full
    // where its route's placement says.
    static Reply NotQuick() {
      Reply r;
      r.not_quick = true;
      return r;
    }
    std::optional<HttpResponse> response;
    bool not_quick = false;

   private:
    Reply() = default;
  };

  // The route a request names (null: 404, or 405 when `allow` lists other methods) and
  // its decoded path captures.
  struct Match {
    const Route* route = nullptr;
    std::vector<std::string> params;
    std::string allow;  // "GET, POST" for a known path with another method
    Placement placement() const;
  };

  Api(service::KeyService* keys, auth::Authenticator* auth, ApiExtras extras = {})
      : keys_(keys), auth_(auth), extras_(std::move(extras)) {
    std::sort(extras_.regions.begin(), extras_.regions.end());
  }

  // Routes the request; cheap (no store, no allocation beyond the captures).
  Match MatchRoute(const HttpRequest& request) const;

  // server::Handler: MatchRoute, then Handle where the route's Placement says.
  Job JobFor(std::shared_ptr<const HttpRequest> request) const override;
  // Unreadable, or Overloaded for 503.
  HttpResponse Refusal(int status, const std::optional<std::string>& request_id) const override;

  // Answers a matched request through `respond`, exactly once.
  void Handle(const HttpRequest& request, Match match, Responder respond) const;
  // Routes with quick_first, on the I/O thread: answers through `respond` and returns true
  // if the answer is a quick one (Call::quick_only); false, having answered nothing, when
  // the request needs Handle.
  bool HandleQuick(const HttpRequest& request, Match match, const Responder& respond) const;

  // MatchRoute + Handle, waiting for the response: for tests and tools.
  HttpResponse Handle(const HttpRequest& request) const;

  // The 503 answered without handling when the server is saturated or stopping.
  static HttpResponse Overloaded(const HttpRequest& request);
  // Answers for requests the server could not read: 400 (malformed HTTP), 413 (body
  // over kMaxBodyBytes, whatever Content-Length says), 414 (target over
  // kMaxTargetBytes), 431 (header fields too large).
  static HttpResponse Unreadable(int status, const std::optional<std::string>& request_id);

  // What every answer carries: X-Content-Type-Options: nosniff, and Cache-Control:
  // no-store on a secret body (a private key) or one marked no_store (a certificate).
  static void AddSecurityHeaders(HttpResponse& response);

  // A request id for this request: the client's X-Request-ID if it is 32 hex digits or
  // a UUID (normalised to 32 lowercase hex), otherwise a fresh random one.
  static std::string RequestIdFor(const std::optional<std::string>& client_id);

 private:
  using Handler = Reply (Api::*)(Call&) const;

  static const std::vector<Route>& Routes();

  Reply Healthz(Call& call) const;
  Reply Readyz(Call& call) const;
  Reply MetricsText(Call& call) const;
  Reply ConsoleFile(Call& call) const;  // console_route.cc
  // gcore_keypairs.cc
  Reply V1Create(Call& call) const;
  Reply V1List(Call& call) const;
  Reply V1Get(Call& call) const;
  Reply V1Delete(Call& call) const;
  Reply V1Share(Call& call) const;
  Reply V2Create(Call& call) const;
  Reply V2List(Call& call) const;
  Reply V2Get(Call& call) const;
  Reply V2Delete(Call& call) const;
  // gcore_ssh_keys.cc
  Reply SshCreate(Call& call) const;
  Reply SshList(Call& call) const;
  Reply SshGet(Call& call) const;
  Reply SshShare(Call& call) const;
  Reply SshDelete(Call& call) const;

  // native_keys.cc: keypaird's own API.
  Reply NativeCreate(Call& call) const;
  Reply NativeList(Call& call) const;
  Reply NativeFind(Call& call) const;
  Reply NativeGet(Call& call) const;
  Reply NativeUpdate(Call& call) const;
  Reply NativeDelete(Call& call) const;
  Reply Me(Call& call) const;
  // events.cc: the audit trail.
  Reply Events(Call& call) const;
  Reply UserActions(Call& call) const;  // gcore_user_actions.cc
  // Both: the caller's page of events (404 when the server keeps no audit trail).
  StatusOr<store::EventPage> ReadEvents(const Call& call, const store::EventQuery& query) const;
  Reply OpenApiSpec(Call& call) const;
  // hosts.cc: join tokens, enrolment, renewal, the hosts of a project.
  Reply JoinTokenList(Call& call) const;
  Reply JoinTokenCreate(Call& call) const;
  Reply JoinTokenDelete(Call& call) const;
  Reply HostEnroll(Call& call) const;
  Reply HostRenew(Call& call) const;
  Reply HostList(Call& call) const;
  Reply HostDelete(Call& call) const;
  static Status HostsOff();
  // people.cc: users and grants.
  Reply GrantList(Call& call) const;
  Reply GrantCreate(Call& call) const;
  Reply GrantDelete(Call& call) const;
  Reply UserList(Call& call) const;
  Reply UserUpdate(Call& call) const;
  static Status PeopleOff();
  // auth_routes.cc: sign-in with an OpenID provider.
  Reply AuthLogin(Call& call) const;
  Reply AuthCallback(Call& call) const;
  Reply AuthLogout(Call& call) const;
  Reply AuthInfo(Call& call) const;
  Reply DeviceStart(Call& call) const;
  Reply DeviceToken(Call& call) const;
  Reply DeviceDecide(Call& call) const;
  static Status SignInOff();
  // The caller of an authenticated route: the Authorization header's token, else (with
  // sign-in on, on keypaird's own routes) the session cookie's session, which may change
  // nothing from another site.
  // Handle and HandleQuick: answers and returns true, or (quick_only, and the answer is not
  // a quick one) answers nothing and returns false.
  bool HandleAs(const HttpRequest& request, Match match, Responder outer, bool quick_only) const;
  // The 429 for a token over its rate (ApiExtras::rate_limiter), counting this request.
  std::optional<HttpResponse> RateLimited(const std::string& token_id,
                                          const std::string& request_id) const;
  StatusOr<auth::Principal> Authenticate(const HttpRequest& request, const Route& route,
                                         store::KeyReader* reads) const;
  // native_ssh.cc: authorized_keys and the SSH certificate authority.
  Reply AuthorizedKeys(Call& call) const;
  Reply CaInfo(Call& call) const;
  Reply CaCreate(Call& call) const;
  Reply CaPublicKey(Call& call) const;
  Reply CaSign(Call& call) const;
  Reply CaSignPublicKey(Call& call) const;
  Reply CaRevoke(Call& call) const;
  Reply CaKrl(Call& call) const;
  Reply HostCaInfo(Call& call) const;
  Reply HostCaCreate(Call& call) const;
  Reply HostCaKnownHosts(Call& call) const;
  Reply CaRotate(Call& call) const;
  Reply HostCaRotate(Call& call) const;
  Reply CaKeyDelete(Call& call) const;
  Reply HostCaKeyDelete(Call& call) const;
  // …/ssh_ca and …/ssh_host_ca: the project's CA of that kind.
  Reply CaInfoOf(Call& call, store::CaKind kind) const;
  Reply CaCreateOf(Call& call, store::CaKind kind) const;
  Reply CaRotateOf(Call& call, store::CaKind kind) const;
  Reply CaKeyDeleteOf(Call& call, store::CaKind kind) const;
  StatusOr<std::optional<int64_t>> ExpectedRevision(const Call& call, int64_t project_id,
                                                    service::KeyRef ref) const;

  // gcore_operations.cc: the operations behind the routes, shared by the three families.
  Reply CreateKey(Call& call, const CreateShape& shape, StatusOr<int64_t> path_project) const;
  // The page `req` asks for, read through the call's reads; nullopt (to be left to the
  // workers) when the call is quick_only and the page is not a short one
  // (KeyService::IsShortPage) or took more than store::kShortPageWork.
  std::optional<StatusOr<store::KeyPage>> ListPage(const Call& call,
                                                   service::ListKeysRequest req) const;
  Reply ListKeys(Call& call, Family family,
                 const StatusOr<service::ListKeysRequest>& request) const;
  Reply GetKey(Call& call, Family family, const StatusOr<KeyTarget>& target) const;
  Reply DeleteKey(Call& call, Family family, const StatusOr<KeyTarget>& target) const;
  Reply ShareKey(Call& call, Family family, const StatusOr<KeyTarget>& target) const;
  // v1 keypairs paths: the project of /{project_id}/{region_id}, after checking both
  // (400 if malformed, 404 if the region is not one of extras_.regions).
  StatusOr<int64_t> V1Project(const std::vector<std::string>& params) const;
  StatusOr<KeyTarget> V1Target(const std::vector<std::string>& params) const;

  service::KeyService* keys_;
  auth::Authenticator* auth_;
  ApiExtras extras_;
};

// A row of the route table, written with designated initializers: {.method = "GET",
// .pattern = "/healthz", .authenticated = false, .placement = ..., .handler = ...}.
struct Api::Route {
  const char* method;
  const char* pattern;  // segments; "{name}" captures one segment
  bool authenticated = true;  // false: the route needs no token (health, metrics, console)
  Placement placement;
  Handler handler;
  // Reads one resource: the token and the resource come from one store snapshot.
  bool one_snapshot = false;
  // A POST that takes no body: it may come without one (and without a Content-Type).
  bool bodiless = false;
  // An enrolled host's token may call it (its renewal, and what sshd needs to read); a host
  // token gets 403 on every other route.
  bool hosts = false;
  // A worker route whose answer is often quick — kept in memory (a project's authorized_keys
  // and KRL), or a short page of one index walk (the lists) — but not always: tried first
  // on the I/O thread with Call::quick_only (HandleQuick), and handed to the workers only
  // when it is not quick.
  bool quick_first = false;
  // A route without a token that makes something (a sign-in's state, a device code, an
  // enrolment) or checks a secret (a device code, a join token): the rate limit counts it
  // against the client's address, as it counts the other routes against their token.
  bool by_address = false;
  std::vector<std::string_view> segments = {};  // `pattern` split once, at first use
};

}  // namespace keypaird::http

#endif  // KEYPAIRD_HTTP_API_H_
