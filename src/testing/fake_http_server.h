// A scripted HTTP server on a loopback port, for the tests of the HTTP client and the agent
// commands: each connection reads one request head, and the test's handler decides the answer
// byte for byte (any status, any framing, malformed on purpose), when it comes (after a delay,
// in pieces with pauses) or whether it comes at all (hold the connection open, or close it).
// Plain TCP or TLS (OpenSSL, with a PEM certificate and key the test makes).
//
// Test-only (keypaird_fake_http_server). Each connection is served on a thread of its own; the
// handler may run on several at once. The destructor closes every connection and joins them.
#ifndef KEYPAIRD_TESTING_FAKE_HTTP_SERVER_H_
#define KEYPAIRD_TESTING_FAKE_HTTP_SERVER_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace keypaird::testutil {

struct FakeRequest {
  std::string method;
  std::string target;  // as sent: path and query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // as framed by Content-Length (no chunked requests)
  // The first header named `name` (any case), or "".
  std::string Header(std::string_view name) const;
};

struct FakeReply {
  std::vector<std::string> pieces;     // written in turn
  std::chrono::milliseconds delay{0};  // before the first piece
  std::chrono::milliseconds pause{0};  // between pieces
  bool hang = false;                   // after the pieces, hold the connection open
  bool tls_close_notify = true;        // over TLS: end with close_notify
};

class FakeHttpServer {
 public:
  using Handler = std::function<FakeReply(const FakeRequest&)>;

  // Listens on 127.0.0.1 (or ::1) on a free port. With `cert_file`/`key_file` (PEM), speaks
  // TLS. nullptr (and *error) when it cannot.
  static std::unique_ptr<FakeHttpServer> Start(Handler handler, std::string* error,
                                               const std::string& cert_file = "",
                                               const std::string& key_file = "", bool ipv6 = false);
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT" (https, [::1] as started).
  std::string Url() const;
  // The requests received so far, in order.
  std::vector<FakeRequest> Requests() const;

  // A whole answer: status line, `headers`, Content-Length and `body`.
  static std::string Answer(int status, std::string_view body,
                            const std::vector<std::pair<std::string, std::string>>& headers = {});
  static FakeReply Reply(int status, std::string_view body,
                         const std::vector<std::pair<std::string, std::string>>& headers = {});

 private:
  struct Impl;
  explicit FakeHttpServer(std::unique_ptr<Impl> impl, int port, bool tls, bool ipv6);
  std::unique_ptr<Impl> impl_;
  int port_;
  bool tls_;
  bool ipv6_;
};

// Makes a self-signed certificate (and its key) for the names in `subject_alt_names`
// ("DNS:localhost,IP:127.0.0.1") with the openssl command. False (and *error) on failure.
bool MakeSelfSignedCertificate(const std::string& cert_file, const std::string& key_file,
                               const std::string& subject_alt_names, std::string* error);

}  // namespace keypaird::testutil

#endif  // KEYPAIRD_TESTING_FAKE_HTTP_SERVER_H_
