// Api: the HTTP surface of keypaird, independent of the network library.
//
// Api::Handle takes a parsed HTTP request and returns the complete response: routing
// (404, 405 with Allow), size and media-type checks (413, 415), authentication (401),
// JSON decoding and validation (400), the call into KeyService, and rendering — the
// Gcore error body and status mapping live in one place (error_mapping in api.cc).
// http/server.cc only moves bytes between RESTinio and this class, which keeps the
// whole API testable without sockets.
//
// All routes are listed in one table (kRoutes in api.cc).
//
// Threading: Handle is const and thread-safe; it blocks on the store and may generate
// keys, so the server calls it on worker threads, except for the requests that
// QuickOnIoThread says are cheap (single reads on a local store).
#ifndef KEYPAIRD_HTTP_API_H_
#define KEYPAIRD_HTTP_API_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/tokens.h"
#include "common/metrics.h"
#include "http/rate_limiter.h"
#include "service/key_service.h"
#include "store/key_store.h"

namespace keypaird::http {

inline constexpr size_t kMaxBodyBytes = 64 * 1024;

struct HttpRequest {
  std::string method;  // upper case, e.g. "POST"
  std::string path;    // raw (percent-encoded) path, no query
  std::string query;   // raw query string without '?', may be empty
  std::optional<std::string> authorization;
  std::optional<std::string> content_type;
  std::optional<std::string> request_id;  // the client's X-Request-ID, if any
  std::string body;
};

// A response body. When `secret`, the bytes are wiped when the last reference goes —
// after the network layer has written them. Shape (data()/size()) fits RESTinio's
// shared buffers.
class ResponseBody {
 public:
  ResponseBody(std::string bytes, bool secret) : bytes_(std::move(bytes)), secret_(secret) {}
  ~ResponseBody();
  ResponseBody(const ResponseBody&) = delete;
  ResponseBody& operator=(const ResponseBody&) = delete;

  const char* data() const noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return bytes_.size(); }
  std::string_view view() const noexcept { return bytes_; }

 private:
  std::string bytes_;
  bool secret_;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type
  std::shared_ptr<ResponseBody> body;                        // null: no body (204)
  const char* content_type = "application/json";

  // For the access log and metrics: the matched route template ("" if none) and the
  // id (never the secret) of the token that was verified ("" if none).
  const char* route = "";
  std::string token_id;

  std::string_view Header(std::string_view name) const;  // "" if absent; exact name
};

// Which family a route belongs to: the wire shapes differ (v1/v2 keypairs call the
// name "sshkey_name" and always carry private_key; ssh_keys calls it "name").
enum class Family { kNone, kKeypairs, kSshKeys };

// Family-specific wire shape of a create request.
struct CreateShape {
  Family family;
  const char* name_field;  // "sshkey_name" (v1/v2) or "name" (ssh_keys)
  bool project_in_body;    // v2: project_id comes in the body
  int success_status;      // 200 (v1/v2) or 201 (ssh_keys)
};

// The key a route names, decoded from its path and query.
struct KeyTarget {
  std::optional<int64_t> project_id;
  service::KeyRef ref;
};

// Optional collaborators; null ones are simply not used.
struct ApiExtras {
  const Metrics* metrics = nullptr;  // rendered at GET /metrics
  RateLimiter* rate_limiter = nullptr;  // per-token limit; 429 RateLimitError when hit
  // The region ids that exist (config --regions); a v1 keypairs path naming another is
  // 404. Empty: every well-formed region id exists.
  std::vector<int64_t> regions = {};
};

class Api {
 public:
  Api(service::KeyService* keys, auth::Authenticator* auth, store::KeyStore* store,
      ApiExtras extras = {})
      : keys_(keys), auth_(auth), store_(store), extras_(std::move(extras)) {
    std::sort(extras_.regions.begin(), extras_.regions.end());
  }

  HttpResponse Handle(const HttpRequest& request) const;

  // True if the request is cheap enough to handle on an I/O thread: the store's reads
  // are local (KeyStore::LocalReads) and it reads one thing (a key by id or name, health,
  // metrics, or an unknown path). Lists never are: a page costs O(offset), a name filter
  // or a caller who sees few keys of a big project scans it, and the v1/v2 lists return
  // every visible key. One slow request on an I/O thread would stall its connections.
  bool QuickOnIoThread(const HttpRequest& request) const;

  // Handle for a request QuickOnIoThread accepted: its store reads (the token, then the
  // key) share one snapshot, KeyStore::InOneSnapshot — one SQLite read transaction.
  HttpResponse HandleQuick(const HttpRequest& request) const;

  // The 503 answered without handling when the server is saturated or stopping.
  static HttpResponse Overloaded(const HttpRequest& request);

  // A request id for this request: the client's X-Request-ID if it is 32 hex digits or
  // a UUID (normalised to 32 lowercase hex), otherwise a fresh random one.
  static std::string RequestIdFor(const std::optional<std::string>& client_id);

  struct Call;  // per-request context handed to handlers (api.cc)

 private:
  HttpResponse Healthz(const Call& call) const;
  HttpResponse Readyz(const Call& call) const;
  HttpResponse MetricsText(const Call& call) const;
  HttpResponse V1Create(const Call& call) const;
  HttpResponse V1List(const Call& call) const;
  HttpResponse V1Get(const Call& call) const;
  HttpResponse V1Delete(const Call& call) const;
  HttpResponse V1Share(const Call& call) const;
  HttpResponse V2Create(const Call& call) const;
  HttpResponse V2List(const Call& call) const;
  HttpResponse V2Get(const Call& call) const;
  HttpResponse V2Delete(const Call& call) const;
  HttpResponse SshCreate(const Call& call) const;
  HttpResponse SshList(const Call& call) const;
  HttpResponse SshGet(const Call& call) const;
  HttpResponse SshShare(const Call& call) const;
  HttpResponse SshDelete(const Call& call) const;

  // The operations behind the routes, shared by the three families.
  HttpResponse CreateKey(const Call& call, const CreateShape& shape,
                         StatusOr<int64_t> path_project) const;
  HttpResponse ListKeys(const Call& call, Family family,
                        const StatusOr<service::ListKeysRequest>& request) const;
  HttpResponse GetKey(const Call& call, Family family, const StatusOr<KeyTarget>& target) const;
  HttpResponse DeleteKey(const Call& call, Family family, const StatusOr<KeyTarget>& target) const;
  HttpResponse ShareKey(const Call& call, Family family, const StatusOr<KeyTarget>& target) const;

  // v1 keypairs paths: the project of /{project_id}/{region_id}, after checking both
  // (400 if malformed, 404 if the region is not one of extras_.regions).
  StatusOr<int64_t> V1Project(const std::vector<std::string>& params) const;
  StatusOr<KeyTarget> V1Target(const std::vector<std::string>& params) const;

  struct Route {
    const char* method;
    const char* pattern;  // segments; "{name}" captures one segment
    bool authenticated;
    HttpResponse (Api::*handler)(const Call&) const;
    std::vector<std::string_view> segments = {};  // `pattern` split once, at first use
  };
  static const std::vector<Route>& Routes();

  service::KeyService* keys_;
  auth::Authenticator* auth_;
  store::KeyStore* store_;
  ApiExtras extras_;
};

}  // namespace keypaird::http

#endif  // KEYPAIRD_HTTP_API_H_
