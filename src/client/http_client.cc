#include "client/http_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "common/duration.h"
#include "common/secret.h"
#include "common/strings.h"
#include "common/version.h"

namespace keypaird::client {
namespace {

using SteadyClock = std::chrono::steady_clock;
using Deadline = SteadyClock::time_point;

int MillisLeft(Deadline deadline) {
  const int64_t left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, INT_MAX));
}

class ScopedFd {
 public:
  explicit ScopedFd(int fd = -1) : fd_(fd) {}
  ~ScopedFd() {
    if (fd_ >= 0) close(fd_);
  }
  ScopedFd(ScopedFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ScopedFd& operator=(ScopedFd&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) close(fd_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

// OpenSSL writes to the socket with write(2), which raises SIGPIPE when the peer has gone.
// The signal is blocked on this thread while a request runs and, if one was raised meanwhile,
// taken off the pending set before the old mask comes back (the process's handlers stay
// untouched).
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    blocked_ = pthread_sigmask(SIG_BLOCK, &pipe_, &old_) == 0;
  }
  ~ScopedSigpipeBlock() {
    if (!blocked_) return;
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      const timespec zero{0, 0};
      while (sigtimedwait(&pipe_, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
  bool blocked_ = false;
};

// The reason of the oldest error on OpenSSL's queue (which is then emptied), or `fallback`.
std::string TlsErrorText(std::string_view fallback) {
  std::string text(fallback);
  if (const unsigned long e = ERR_get_error(); e != 0) {
    if (const char* reason = ERR_reason_error_string(e); reason != nullptr) text = reason;
  }
  ERR_clear_error();
  return text;
}

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

std::string AddressText(const Address& a) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (a.storage.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr, text,
              sizeof(text));
    return text;
  }
  inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr, text,
            sizeof(text));
  return std::string("[") + text + "]";
}

bool IsLoopbackAddress(const Address& a) {
  if (a.storage.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a.storage);
    return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
  return IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr) ||
         (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr) && v6->sin6_addr.s6_addr[12] == 127);
}

std::vector<Address> Addresses(const addrinfo* list) {
  std::vector<Address> out;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
        ai->ai_addrlen > sizeof(sockaddr_storage)) {
      continue;
    }
    Address a;
    std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
    a.length = ai->ai_addrlen;
    out.push_back(a);
  }
  return out;
}

// A name lookup that may outlive the request: getaddrinfo has no timeout, so it runs on a
// thread of its own, which is left behind (and frees its result) when the deadline passes.
struct Lookup {
  std::mutex mu;
  std::condition_variable done_cv;
  bool done = false;
  bool abandoned = false;
  int rc = 0;
  addrinfo* result = nullptr;
};

StatusOr<std::vector<Address>> Resolve(const std::string& host, uint16_t port, Deadline deadline,
                                       const std::string& within) {
  const std::string service = std::to_string(port);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* numeric = nullptr;
  if (getaddrinfo(host.c_str(), service.c_str(), &hints, &numeric) == 0) {
    std::vector<Address> out = Addresses(numeric);
    freeaddrinfo(numeric);
    return out;
  }
  auto lookup = std::make_shared<Lookup>();
  try {
    std::thread([lookup, host, service] {
      addrinfo name_hints{};
      name_hints.ai_socktype = SOCK_STREAM;
      name_hints.ai_family = AF_UNSPEC;
      name_hints.ai_flags = AI_NUMERICSERV;
      addrinfo* result = nullptr;
      const int rc = getaddrinfo(host.c_str(), service.c_str(), &name_hints, &result);
      std::lock_guard lock(lookup->mu);
      if (lookup->abandoned) {
        if (rc == 0) freeaddrinfo(result);
        return;
      }
      lookup->rc = rc;
      lookup->result = rc == 0 ? result : nullptr;
      lookup->done = true;
      lookup->done_cv.notify_all();
    }).detach();
  } catch (const std::system_error& e) {
    return Unavailable("cannot look up " + host + ": " + e.what());
  }
  std::unique_lock lock(lookup->mu);
  if (!lookup->done_cv.wait_until(lock, deadline, [&] { return lookup->done; })) {
    lookup->abandoned = true;
    return Unavailable("cannot look up " + host + " within " + within);
  }
  if (lookup->rc != 0) {
    return Unavailable("cannot look up " + host + ": " + gai_strerror(lookup->rc));
  }
  std::vector<Address> out = Addresses(lookup->result);
  freeaddrinfo(lookup->result);
  if (out.empty()) return Unavailable("cannot look up " + host + ": no IPv4 or IPv6 address");
  return out;
}

// Waits until `fd` is ready for `events`; kUnavailable when the deadline passes first.
Status WaitFor(int fd, short events, Deadline deadline, const std::string& timeout_message) {
  while (true) {
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, MillisLeft(deadline));
    if (n > 0) return Status::Ok();
    if (n == 0) return Unavailable(timeout_message);
    if (errno != EINTR) return Unavailable(std::string("poll failed: ") + std::strerror(errno));
  }
}

// Tries each address in turn. With `loopback_only`, addresses that are not loopback are not
// even tried (a name such as localhost could be made to point elsewhere).
StatusOr<ScopedFd> Connect(const std::vector<Address>& addresses, const std::string& authority,
                           bool loopback_only, Deadline deadline,
                           const std::string& timeout_message) {
  std::string failures;
  bool tried = false;
  for (const Address& a : addresses) {
    if (loopback_only && !IsLoopbackAddress(a)) continue;
    tried = true;
    ScopedFd fd(socket(a.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    int error = 0;
    if (fd.get() < 0) {
      error = errno;
    } else if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&a.storage), a.length) != 0) {
      error = errno;
      if (error == EINPROGRESS) {
        if (Status s = WaitFor(fd.get(), POLLOUT, deadline, timeout_message); !s.ok()) return s;
        socklen_t length = sizeof(error);
        if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
      }
    }
    if (error == 0) return fd;
    failures += (failures.empty() ? "" : "; ") + AddressText(a) + ": " + std::strerror(error);
  }
  if (!tried) {
    return InvalidArgument(authority +
                           " resolves to no loopback address, and plain http:// is allowed "
                           "only to loopback: use https://");
  }
  return Unavailable("cannot connect to " + authority + " (" + failures + ")");
}

// One connection, plain or TLS, every wait bounded by the request's deadline.
class Connection {
 public:
  Connection(ScopedFd fd, Deadline deadline, std::string authority, std::string timeout_message)
      : fd_(std::move(fd)),
        deadline_(deadline),
        authority_(std::move(authority)),
        timeout_message_(std::move(timeout_message)) {}
  ~Connection() {
    if (ssl_ != nullptr && clean_) (void)SSL_shutdown(ssl_.get());  // close_notify, best effort
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::string& authority() const { return authority_; }

  // The TLS handshake, verifying the certificate chain and that it names `host`.
  Status StartTls(SSL_CTX* ctx, const std::string& host) {
    ssl_.reset(SSL_new(ctx));
    if (ssl_ == nullptr || SSL_set_fd(ssl_.get(), fd_.get()) != 1) {
      return Unavailable("TLS setup failed: " + TlsErrorText("out of memory"));
    }
    in6_addr ip6{};
    in_addr ip4{};
    const bool ip_literal =
        inet_pton(AF_INET, host.c_str(), &ip4) == 1 || inet_pton(AF_INET6, host.c_str(), &ip6) == 1;
    if (ip_literal) {
      // A certificate for an address names it in an iPAddress subjectAltName.
      if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), host.c_str()) != 1) {
        return Unavailable("TLS setup failed: " + TlsErrorText("bad address"));
      }
    } else if (SSL_set_tlsext_host_name(ssl_.get(), host.c_str()) != 1 ||
               SSL_set1_host(ssl_.get(), host.c_str()) != 1) {
      return Unavailable("TLS setup failed: " + TlsErrorText("bad host name"));
    }
    SSL_set_hostflags(ssl_.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set_connect_state(ssl_.get());
    while (true) {
      ERR_clear_error();
      const int r = SSL_connect(ssl_.get());
      if (r == 1) return Status::Ok();
      const int error = SSL_get_error(ssl_.get(), r);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        const short events = error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        if (Status s = WaitFor(fd_.get(), events, deadline_, timeout_message_); !s.ok()) return s;
        continue;
      }
      clean_ = false;
      if (const long verify = SSL_get_verify_result(ssl_.get()); verify != X509_V_OK) {
        ERR_clear_error();
        return Unavailable("the TLS certificate of " + authority_ +
                           " is not trusted: " + X509_verify_cert_error_string(verify));
      }
      return Unavailable("TLS handshake with " + authority_ +
                         " failed: " + TlsErrorText("the connection was closed"));
    }
  }

  Status WriteAll(std::string_view data) {
    while (!data.empty()) {
      size_t written = 0;
      if (ssl_ == nullptr) {
        const ssize_t n = send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
        if (n >= 0) {
          written = static_cast<size_t>(n);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
          if (Status s = WaitFor(fd_.get(), POLLOUT, deadline_, timeout_message_); !s.ok()) {
            return s;
          }
        } else {
          return Unavailable("cannot send the request to " + authority_ + ": " +
                             std::strerror(errno));
        }
      } else {
        ERR_clear_error();
        if (SSL_write_ex(ssl_.get(), data.data(), data.size(), &written) != 1) {
          written = 0;
          if (Status s = TlsWait(SSL_get_error(ssl_.get(), 0), "send the request"); !s.ok()) {
            return s;
          }
        }
      }
      data.remove_prefix(written);
    }
    return Status::Ok();
  }

  // Appends what arrives (at most `max` bytes) to *out: the count, 0 at a clean end of the
  // stream. Over TLS, an end without close_notify is an error: the answer may have been cut.
  StatusOr<size_t> ReadSome(std::string* out, size_t max) {
    char buf[16384];
    const size_t want = std::min(max, sizeof(buf));
    while (true) {
      if (ssl_ == nullptr) {
        const ssize_t n = recv(fd_.get(), buf, want, 0);
        if (n >= 0) {
          out->append(buf, static_cast<size_t>(n));
          return static_cast<size_t>(n);
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
          return Unavailable("cannot read the answer of " + authority_ + ": " +
                             std::strerror(errno));
        }
        if (Status s = WaitFor(fd_.get(), POLLIN, deadline_, timeout_message_); !s.ok()) return s;
        continue;
      }
      ERR_clear_error();
      size_t n = 0;
      if (SSL_read_ex(ssl_.get(), buf, want, &n) == 1) {
        out->append(buf, n);
        return n;
      }
      const int error = SSL_get_error(ssl_.get(), 0);
      if (error == SSL_ERROR_ZERO_RETURN) return size_t{0};
      if (Status s = TlsWait(error, "read the answer"); !s.ok()) return s;
    }
  }

 private:
  // After an SSL call that did not complete: waits for the socket when OpenSSL asks to,
  // else the error.
  Status TlsWait(int error, std::string_view doing) {
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      return WaitFor(fd_.get(), error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline_,
                     timeout_message_);
    }
    clean_ = false;
    return Unavailable("cannot " + std::string(doing) + " of " + authority_ + " over TLS: " +
                       TlsErrorText("the connection was closed without close_notify"));
  }

  ScopedFd fd_;
  Deadline deadline_;
  std::string authority_;
  std::string timeout_message_;
  std::unique_ptr<SSL, SslFree> ssl_;
  bool clean_ = true;
};

bool HasLineBreakOrNul(std::string_view s) {
  return s.find_first_of("\r\n", 0) != s.npos || s.find('\0') != s.npos;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Reads one answer off a connection: heads, then the body as the head frames it.
class AnswerReader {
 public:
  AnswerReader(Connection* conn, const HttpClientOptions& options)
      : conn_(conn), options_(options) {}

  StatusOr<HttpResponse> Read() {
    HttpResponse response;
    // Interim 1xx answers (100 Continue, 103 Early Hints) come before the real one.
    do {
      response = HttpResponse();
      if (Status s = ReadHead(&response); !s.ok()) return s;
      if (response.status == 101) return Bad("switched protocols (101), which a GET never asks");
    } while (response.status >= 100 && response.status < 200);
    if (Status s = ReadBody(&response); !s.ok()) return s;
    return response;
  }

 private:
  Status Bad(std::string_view what) const {
    return Unavailable("bad answer from " + conn_->authority() + ": " + std::string(what));
  }

  size_t Available() const { return buf_.size() - pos_; }

  // Reads more; `eof_ok` lets a clean end of the stream through (as 0).
  StatusOr<size_t> More(bool eof_ok) {
    if (pos_ > 0 && pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    }
    StatusOr<size_t> n = conn_->ReadSome(&buf_, size_t{1} << 20);
    if (!n.ok()) return n;
    if (*n == 0 && !eof_ok) {
      return Unavailable(conn_->authority() + " closed the connection before a complete answer");
    }
    return n;
  }

  Status ReadHead(HttpResponse* response) {
    size_t end = 0;
    while ((end = buf_.find("\r\n\r\n", pos_)) == std::string::npos) {
      if (Available() > options_.max_header_bytes) return Bad("its header is too large");
      if (StatusOr<size_t> n = More(false); !n.ok()) return n.status();
    }
    if (end - pos_ > options_.max_header_bytes) return Bad("its header is too large");
    const std::string_view head(buf_.data() + pos_, end - pos_);
    pos_ = end + 4;

    size_t line_end = head.find("\r\n");
    const std::string_view status_line = head.substr(0, line_end);
    // "HTTP/1.1 200 OK"
    if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.") || status_line[8] != ' ' ||
        (status_line.size() > 12 && status_line[12] != ' ')) {
      return Bad("its status line is not HTTP/1.x");
    }
    int status = 0;
    for (size_t i = 9; i < 12; ++i) {
      if (status_line[i] < '0' || status_line[i] > '9') return Bad("its status is not a number");
      status = status * 10 + (status_line[i] - '0');
    }
    if (status < 100) return Bad("its status is below 100");
    response->status = status;
    while (line_end != std::string_view::npos) {
      const size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string_view line = head.substr(start, line_end - start);
      if (line.empty()) continue;
      if (line.front() == ' ' || line.front() == '\t') return Bad("it folds a header line");
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0 ||
          line.substr(0, colon).find_first_of(" \t") != std::string_view::npos) {
        return Bad("it has a malformed header line");
      }
      response->headers.emplace_back(std::string(line.substr(0, colon)),
                                     std::string(Trim(line.substr(colon + 1))));
    }
    return Status::Ok();
  }

  Status ReadBody(HttpResponse* response) {
    if (response->status == 204 || response->status == 304) return Status::Ok();
    std::optional<uint64_t> length;
    bool chunked = false;
    for (const auto& [name, value] : response->headers) {
      if (EqualsIgnoreAsciiCase(name, "Transfer-Encoding")) {
        const std::string codings = AsciiLowered(value);
        const size_t comma = codings.rfind(',');
        if (Trim(comma == std::string::npos
                     ? std::string_view(codings)
                     : std::string_view(codings).substr(comma + 1)) != "chunked") {
          return Bad("it uses a transfer coding other than chunked: " + value);
        }
        chunked = true;
      } else if (EqualsIgnoreAsciiCase(name, "Content-Length")) {
        uint64_t n = 0;
        if (value.empty() || value.size() > 19 ||
            value.find_first_not_of("0123456789") != std::string::npos) {
          return Bad("its Content-Length is not a number");
        }
        n = std::stoull(value);
        if (length.has_value() && *length != n) return Bad("it has two different Content-Lengths");
        length = n;
      }
    }
    if (chunked) return ReadChunked(&response->body);
    if (length.has_value()) {
      if (*length > options_.max_body_bytes) return TooLarge();
      while (Available() < *length) {
        if (StatusOr<size_t> n = More(false); !n.ok()) return n.status();
      }
      response->body.assign(buf_, pos_, *length);
      pos_ += *length;
      return Status::Ok();
    }
    // No framing: the body runs to the end of the connection.
    while (true) {
      if (Available() > options_.max_body_bytes) return TooLarge();
      StatusOr<size_t> n = More(true);
      if (!n.ok()) return n.status();
      if (*n == 0) break;
    }
    response->body.assign(buf_, pos_);
    pos_ = buf_.size();
    return Status::Ok();
  }

  Status TooLarge() const {
    return Unavailable("the answer of " + conn_->authority() + " is larger than " +
                       std::to_string(options_.max_body_bytes) + " bytes");
  }

  // One line ending in CRLF (a chunk's size line, a trailer), without the CRLF.
  StatusOr<std::string> ReadLine() {
    size_t end = 0;
    while ((end = buf_.find("\r\n", pos_)) == std::string::npos) {
      if (Available() > 4096) return Bad("a chunk line is too long");
      if (StatusOr<size_t> n = More(false); !n.ok()) return n.status();
    }
    std::string line = buf_.substr(pos_, end - pos_);
    pos_ = end + 2;
    return line;
  }

  Status ReadChunked(std::string* body) {
    while (true) {
      StatusOr<std::string> line = ReadLine();
      if (!line.ok()) return line.status();
      // "1a2b" or "1a2b;extension=value"
      const std::string_view size_text = Trim(std::string_view(*line).substr(0, line->find(';')));
      if (size_text.empty() || size_text.size() > 15) return Bad("a chunk size is not hex");
      uint64_t size = 0;
      for (char c : size_text) {
        const int digit = HexDigitValue(c);
        if (digit < 0) return Bad("a chunk size is not hex");
        size = size * 16 + static_cast<uint64_t>(digit);
      }
      if (size == 0) break;
      if (size > options_.max_body_bytes - body->size()) return TooLarge();
      while (Available() < size + 2) {
        if (StatusOr<size_t> n = More(false); !n.ok()) return n.status();
      }
      body->append(buf_, pos_, size);
      if (buf_.compare(pos_ + size, 2, "\r\n") != 0) return Bad("a chunk does not end in CRLF");
      pos_ += size + 2;
    }
    // Trailer fields, up to the empty line; their content is not needed.
    for (size_t lines = 0;; ++lines) {
      StatusOr<std::string> line = ReadLine();
      if (!line.ok()) return line.status();
      if (line->empty()) return Status::Ok();
      if (lines > 100) return Bad("it has too many trailer lines");
    }
  }

  Connection* conn_;
  const HttpClientOptions& options_;
  std::string buf_;
  size_t pos_ = 0;
};

StatusOr<std::unique_ptr<SSL_CTX, SslCtxFree>> NewTlsContext(const std::string& ca_file) {
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) return Unavailable("TLS setup failed: " + TlsErrorText("out of memory"));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  // The system's trust store (ca-certificates on Debian); a failure here leaves only
  // --ca-file, which the handshake then reports as an untrusted certificate.
  (void)SSL_CTX_set_default_verify_paths(ctx.get());
  if (!ca_file.empty() && SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1) {
    return InvalidArgument("cannot load the trust anchors of --ca-file " + ca_file + ": " +
                           TlsErrorText("no certificate in it"));
  }
  ERR_clear_error();
  return ctx;
}

}  // namespace

const std::string* HttpResponse::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreAsciiCase(n, name)) return &v;
  }
  return nullptr;
}

StatusOr<HttpResponse> HttpGet(const HttpRequest& request, const HttpClientOptions& options) {
  const Deadline deadline = SteadyClock::now() + options.timeout;
  const HttpUrl& url = request.url;
  const std::string authority = url.Authority();
  if (Status s = CheckAgentUrl(url); !s.ok()) return s;
  if (!request.target.starts_with("/") ||
      request.target.find_first_of(" \t\r\n") != std::string::npos) {
    return InvalidArgument("the request target must start with '/' and hold no white space");
  }
  for (const auto& [name, value] : request.headers) {
    if (HasLineBreakOrNul(name) || HasLineBreakOrNul(value)) {
      return InvalidArgument("the request header " + name + " holds a line break");
    }
  }
  if (HasLineBreakOrNul(request.bearer_token) ||
      request.bearer_token.find(' ') != std::string_view::npos) {
    return InvalidArgument("the token holds white space or a line break");
  }
  std::unique_ptr<SSL_CTX, SslCtxFree> tls;
  if (url.tls) {
    auto ctx = NewTlsContext(options.ca_file);
    if (!ctx.ok()) return ctx.status();
    tls = std::move(*ctx);
  }

  const std::string within = FormatDurationMs(options.timeout.count());
  const std::string timeout_message = "no complete answer from " + authority + " within " + within;
  StatusOr<std::vector<Address>> addresses = Resolve(url.host, url.port, deadline, within);
  if (!addresses.ok()) return addresses.status();
  ScopedSigpipeBlock no_sigpipe;
  StatusOr<ScopedFd> fd = Connect(*addresses, authority, !url.tls, deadline, timeout_message);
  if (!fd.ok()) return fd.status();
  Connection conn(std::move(*fd), deadline, authority, timeout_message);
  if (tls != nullptr) {
    if (Status s = conn.StartTls(tls.get(), url.host); !s.ok()) return s;
  }

  std::string head = "GET " + url.base_path + request.target + " HTTP/1.1\r\nHost: " + authority +
                     "\r\nUser-Agent: keypaird/" + std::string(kVersion) + "\r\n";
  for (const auto& [name, value] : request.headers) head += name + ": " + value + "\r\n";
  head += "Connection: close\r\n";
  // The token goes in last, into a buffer that is wiped however the call ends.
  SecretString wire;
  {
    std::string bytes = std::move(head);
    if (!request.bearer_token.empty()) {
      bytes.reserve(bytes.size() + request.bearer_token.size() + 64);
      bytes += "Authorization: Bearer ";
      bytes += request.bearer_token;
      bytes += "\r\n";
    }
    bytes += "\r\n";
    wire = SecretString(std::move(bytes));
  }
  if (Status s = conn.WriteAll(wire.view()); !s.ok()) return s;
  wire.Wipe();
  AnswerReader reader(&conn, options);
  return reader.Read();
}

}  // namespace keypaird::client
