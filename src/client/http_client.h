// A small HTTP/1.1 client for the agent commands (`keypaird authorized-keys`, `keypaird krl`),
// `keypaird login` and the server's calls to an OpenID provider: one GET or POST (a form or
// JSON) per connection, over
// TLS (OpenSSL; the peer's certificate and host name verified against the system trust store
// plus an optional extra PEM anchor) or over plain TCP to a loopback address only.
//
// The whole request (name lookup, connect, TLS handshake, sending, reading the answer) runs
// against one deadline. Answers may be framed by Content-Length, chunked, or by the end of the
// connection (over TLS only with a clean close_notify, so a cut answer is never taken for a
// whole one); bodies above a cap are refused. Redirects are not followed: a 3xx is an answer
// like any other.
//
// HttpCall blocks the calling thread; it holds no state between calls and may run on several
// threads at once. The credentials and the form body are copied only into the request buffer,
// which is wiped once sent, and never appear in an error message. SIGPIPE is blocked on the
// calling thread while it writes (and a pending one discarded), so a peer that closes early is
// an error, not a signal.
#ifndef KEYPAIRD_CLIENT_HTTP_CLIENT_H_
#define KEYPAIRD_CLIENT_HTTP_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/url.h"

namespace keypaird::client {

struct HttpRequest {
  HttpUrl url;         // scheme, host, port, path prefix
  std::string target;  // appended to url.base_path: "/api/v1/...?..." (already encoded)
  // Sent as "Authorization: Bearer <token>" when not empty. A view: the caller keeps the
  // secret (a SecretString) and its lifetime.
  std::string_view bearer_token;
  std::vector<std::pair<std::string, std::string>> headers;  // more request headers
  // POSTed as application/x-www-form-urlencoded when not empty; a GET otherwise. A view:
  // it may hold a secret (an authorization code), the caller keeps it.
  std::string_view form_body;
  // POSTed as application/json when not empty (give at most one of the two bodies). A view
  // too: it may hold a secret (a device code).
  std::string_view json_body;
  // Sent as "Authorization: Basic <value>" when not empty: the base64 of "id:secret" (RFC
  // 6749 2.3.1). A view, like bearer_token; give at most one of the two.
  std::string_view basic_credentials;
};

struct HttpClientOptions {
  // The whole request, name lookup included.
  std::chrono::milliseconds timeout{2000};
  // A PEM file of extra trust anchors for https://, besides the system's.
  std::string ca_file;
  size_t max_body_bytes = size_t{64} << 20;
  size_t max_header_bytes = size_t{64} << 10;
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  std::string body;
  // The first header named `name` (any case), or nullptr.
  const std::string* Header(std::string_view name) const;
};

// GETs (or POSTs request.form_body or request.json_body to) request.url + request.target and
// returns the final answer (1xx interim answers are skipped), whatever its status.
//   kInvalidArgument: the request may not be made: plain http:// to a host that is not
//     loopback (or a loopback name that resolves elsewhere), an unreadable --ca-file, a
//     header or credential with a line break, both a bearer token and basic credentials, both
//     bodies.
//   kUnavailable: no complete answer: the name does not resolve, no address accepts the
//     connection, the deadline passed, the TLS handshake or the certificate check failed, or
//     the answer is malformed, cut short or larger than the caps.
// Messages name the host and what went wrong, for an operator's log.
StatusOr<HttpResponse> HttpCall(const HttpRequest& request, const HttpClientOptions& options);

}  // namespace keypaird::client

#endif  // KEYPAIRD_CLIENT_HTTP_CLIENT_H_
