// HTTP requests and responses as plain values, independent of how they travel: the
// server (server.h) parses bytes into an HttpRequest and writes an HttpResponse back;
// its Handler (handler.h; keypaird's is http::Api) sees only these.
#ifndef KEYPAIRD_SERVER_MESSAGE_H_
#define KEYPAIRD_SERVER_MESSAGE_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keypaird::server {

// The body, the Authorization header (a token) and the cookies (a session) are wiped when
// the request goes: a body may hold a passphrase.
struct HttpRequest {
  HttpRequest() = default;
  ~HttpRequest();
  HttpRequest(const HttpRequest&) = default;
  HttpRequest(HttpRequest&&) noexcept = default;
  HttpRequest& operator=(const HttpRequest&) = default;
  HttpRequest& operator=(HttpRequest&&) noexcept = default;

  std::string method;  // upper case, e.g. "POST"
  std::string path;    // raw (percent-encoded) path, no query
  std::string query;   // raw query string without '?', may be empty
  std::optional<std::string> authorization;
  std::optional<std::string> content_type;
  std::optional<std::string> request_id;  // the client's X-Request-ID, if any
  std::optional<std::string> if_match;
  std::optional<std::string> if_none_match;
  std::optional<std::string> user_agent;
  std::optional<std::string> forwarded_for;  // X-Forwarded-For as sent (the first field)
  std::optional<std::string> cookie;         // Cookie; several fields joined by "; "
  std::optional<std::string> origin;         // Origin (the first field)
  std::optional<std::string> csrf_token;     // X-CSRF-Token (the first field)
  std::string peer_address;                  // the client's IP address, as text
  std::string body;
};

// A response body. When `secret`, the bytes are wiped when the last reference goes —
// after the network layer has written them.
class ResponseBody {
 public:
  ResponseBody(std::string bytes, bool secret)
      : bytes_(std::move(bytes)), view_(bytes_), secret_(secret) {}
  // Bytes shared with others (a kept text sent to many clients): never secret, not copied.
  explicit ResponseBody(std::shared_ptr<const std::string> shared)
      : shared_(std::move(shared)), view_(*shared_), secret_(false) {}
  ~ResponseBody();
  ResponseBody(const ResponseBody&) = delete;
  ResponseBody& operator=(const ResponseBody&) = delete;

  const char* data() const noexcept { return view_.data(); }
  std::size_t size() const noexcept { return view_.size(); }
  std::string_view view() const noexcept { return view_; }
  bool secret() const noexcept { return secret_; }

 private:
  std::string bytes_;
  std::shared_ptr<const std::string> shared_;
  std::string_view view_;  // of bytes_ or *shared_
  bool secret_;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type/Length
  std::shared_ptr<ResponseBody> body;                        // null: no body (204, 304)
  const char* content_type = "application/json";
  // Cache-Control: no-store (a certificate); secret bodies get it anyway.
  bool no_store = false;

  // For the access log and metrics: the matched route template ("" if none) and the
  // id (never the secret) of the token that was verified ("" if none).
  const char* route = "";
  std::string token_id;

  std::string_view Header(std::string_view name) const;  // "" if absent; exact name
};

}  // namespace keypaird::server

#endif  // KEYPAIRD_SERVER_MESSAGE_H_
