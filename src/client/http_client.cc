#include "client/http_client.h"

#include <arpa/inet.h>
#include <http_parser.h>
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
#include <cstdio>
#include <cstdlib>
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

// Reads one answer off a connection. http_parser frames it (heads, 1xx interim answers,
// Content-Length, chunks, the end of the connection) and fills an HttpResponse through its
// callbacks. Debian builds it lenient, so Scan checks what it lets through, on the bytes that
// frame the answer (all but the body's, which on_body points at): every line ends in CRLF, no
// header line is folded, a status line is exactly "HTTP/1.x DDD[ reason]", a head stays under
// the cap, and a chunk's data is followed by CRLF.
class AnswerReader {
 public:
  AnswerReader(Connection* conn, const HttpClientOptions& options)
      : conn_(conn), options_(options) {
    StartMessage();
  }

  StatusOr<HttpResponse> Read() {
    std::string in;
    while (!done_) {
      in.clear();
      StatusOr<size_t> n = conn_->ReadSome(&in, size_t{1} << 20);
      if (!n.ok()) return n.status();
      if (*n == 0) {
        http_parser_execute(&parser_, &Settings(), nullptr, 0);  // ends a body framed by the end
        if (done_) break;
        return Unavailable(conn_->authority() + " closed the connection before a complete answer");
      }
      if (Status s = Parse(in); !s.ok()) return s;
    }
    return std::move(response_);
  }

 private:
  static const http_parser_settings& Settings() {
    static constexpr http_parser_settings kSettings{.on_message_begin = nullptr,
                                                    .on_url = nullptr,
                                                    .on_status = nullptr,
                                                    .on_header_field = &OnHeaderField,
                                                    .on_header_value = &OnHeaderValue,
                                                    .on_headers_complete = &OnHeadersComplete,
                                                    .on_body = &OnBody,
                                                    .on_message_complete = &OnMessageComplete,
                                                    .on_chunk_header = nullptr,
                                                    .on_chunk_complete = nullptr};
    return kSettings;
  }

  // The answer, or the next one after a 1xx interim answer.
  void StartMessage() {
    http_parser_init(&parser_, HTTP_RESPONSE);
    parser_.data = this;
    parser_.allow_chunked_length = 1;  // with Transfer-Encoding, Content-Length is ignored
    response_ = HttpResponse();
    in_value_ = headers_done_ = cr_ = line_start_ = false;
    in_head_ = in_status_line_ = true;
    status_line_.clear();
    head_bytes_ = line_length_ = chunk_end_ = 0;
  }

  Status Parse(std::string_view in) {
    const char* p = in.data();
    const char* const end = p + in.size();
    while (p < end) {
      checked_ = p;
      const size_t n = http_parser_execute(&parser_, &Settings(), p, static_cast<size_t>(end - p));
      const http_errno error = HTTP_PARSER_ERRNO(&parser_);
      Scan(p + n);  // a fault it finds comes first in the stream: it replaces error_
      if (!error_.ok()) return error_;
      if (error != HPE_OK && error != HPE_PAUSED) return Bad(ParserErrorText(error));
      if (error == HPE_OK || done_) break;
      p += n;  // paused after an interim answer
      StartMessage();
    }
    return Status::Ok();
  }

  static std::string_view ParserErrorText(http_errno error) {
    static constexpr std::pair<http_errno, std::string_view> kTexts[] = {
        {HPE_INVALID_CONSTANT, "its status line is not HTTP/1.x"},
        {HPE_INVALID_VERSION, "its status line is not HTTP/1.x"},
        {HPE_INVALID_STATUS, "its status is not a number"},
        {HPE_INVALID_HEADER_TOKEN, "it has a malformed header line"},
        {HPE_UNEXPECTED_CONTENT_LENGTH, "it has two different Content-Lengths"},
        {HPE_INVALID_CONTENT_LENGTH, "its Content-Length is not a number"},
        {HPE_INVALID_CHUNK_SIZE, "a chunk size is not hex"},
        {HPE_HEADER_OVERFLOW, "its header is too large"}};
    for (const auto& [e, text] : kTexts) {
      if (e == error) return text;
    }
    return http_errno_description(error);
  }

  // Checks the framing bytes from checked_ up to `upto`; false (error_ set) at a fault.
  bool Scan(const char* upto) {
    for (; checked_ < upto; ++checked_) {
      const char c = *checked_;
      if (chunk_end_ > 0 && c != "\n\r"[--chunk_end_]) return Fault("a chunk does not end in CRLF");
      if (cr_ != (c == '\n')) return Fault("a line does not end in CRLF");
      if (line_start_ && (c == ' ' || c == '\t')) return Fault("it folds a header line");
      cr_ = c == '\r';
      line_start_ = c == '\n';
      if (!in_head_) continue;
      if (++head_bytes_ > options_.max_header_bytes + 4) {  // + the CRLFs that end it
        return Fault("its header is too large");
      }
      if (c == '\n') {
        if (in_status_line_ && !CheckStatusLine()) return false;
        in_head_ = in_status_line_ || line_length_ > 0;  // an empty line ends the head
        in_status_line_ = false;
        line_length_ = 0;
      } else if (c != '\r') {
        ++line_length_;
        if (in_status_line_) status_line_ += c;
      }
    }
    return true;
  }

  // "HTTP/1.1 200 OK", "HTTP/1.1 200"
  bool CheckStatusLine() {
    const std::string_view line = status_line_;
    if (line.size() < 12 || !line.starts_with("HTTP/1.") || line[8] != ' ' ||
        (line.size() > 12 && line[12] != ' ')) {
      return Fault("its status line is not HTTP/1.x");
    }
    for (size_t i = 9; i < 12; ++i) {
      if (line[i] < '0' || line[i] > '9') return Fault("its status is not a number");
    }
    return line[9] != '0' || Fault("its status is below 100");
  }

  static AnswerReader* Of(http_parser* p) { return static_cast<AnswerReader*>(p->data); }

  static int OnHeaderField(http_parser* p, const char* at, size_t n) {
    AnswerReader* r = Of(p);
    if (r->headers_done_) return 0;  // a trailer field: not needed
    auto& headers = r->response_.headers;
    if (headers.empty() || r->in_value_) headers.emplace_back();
    r->in_value_ = false;
    headers.back().first.append(at, n);
    // The lenient parser takes the space of "Name : value" into the name.
    return std::memchr(at, ' ', n) == nullptr ? 0 : r->Fail("it has a malformed header line");
  }

  static int OnHeaderValue(http_parser* p, const char* at, size_t n) {
    AnswerReader* r = Of(p);
    if (r->headers_done_) return 0;
    r->in_value_ = true;
    r->response_.headers.back().second.append(at, n);
    return 0;
  }

  static int OnHeadersComplete(http_parser* p) {
    AnswerReader* r = Of(p);
    HttpResponse& response = r->response_;
    r->headers_done_ = true;
    response.status = p->status_code;
    for (auto& header : response.headers) header.second = std::string(TrimBlanks(header.second));
    if (response.status == 101) return r->Fail("switched protocols (101), which a GET never asks");
    if (response.status < 200 || response.status == 204 || response.status == 304) {
      return 1;  // no body, whatever the head says
    }
    // F_CHUNKED: the last coding of the last Transfer-Encoding is chunked, which frames the body.
    if (const std::string* codings = response.Header("Transfer-Encoding");
        codings != nullptr && (p->flags & F_CHUNKED) == 0) {
      return r->Fail("it uses a transfer coding other than chunked: " + *codings);
    }
    if ((p->flags & (F_CHUNKED | F_CONTENTLENGTH)) == F_CONTENTLENGTH &&
        p->content_length > r->options_.max_body_bytes) {
      return r->Fail(r->TooLarge());  // refused before it is read
    }
    return 0;
  }

  static int OnBody(http_parser* p, const char* at, size_t n) {
    AnswerReader* r = Of(p);
    if (!r->Scan(at)) return -1;
    r->checked_ = at + n;
    if (n > r->options_.max_body_bytes - r->response_.body.size()) return r->Fail(r->TooLarge());
    r->response_.body.append(at, n);
    if ((p->flags & F_CHUNKED) != 0 && p->content_length == 0) r->chunk_end_ = 2;  // its CRLF
    return 0;
  }

  static int OnMessageComplete(http_parser* p) {
    Of(p)->done_ = p->status_code >= 200;  // else an interim answer: the real one follows
    http_parser_pause(p, 1);               // what follows belongs to the next answer, or to nobody
    return 0;
  }

  Status Bad(std::string_view what) const {
    return Unavailable("bad answer from " + conn_->authority() + ": " + std::string(what));
  }
  Status TooLarge() const {
    return Unavailable("the answer of " + conn_->authority() + " is larger than " +
                       std::to_string(options_.max_body_bytes) + " bytes");
  }
  int Fail(Status error) {
    error_ = std::move(error);
    return -1;
  }
  int Fail(std::string_view what) { return Fail(Bad(what)); }
  bool Fault(std::string_view what) { return Fail(what) == 0; }

  Connection* conn_;
  const HttpClientOptions& options_;
  http_parser parser_{};
  HttpResponse response_;
  bool done_ = false;  // response_ is the final answer, whole
  Status error_;
  bool in_value_ = false;
  bool headers_done_ = false;
  // Scan's state.
  const char* checked_ = nullptr;
  bool cr_ = false;          // the last framing byte was CR
  bool line_start_ = false;  // ... LF
  bool in_head_ = true;
  bool in_status_line_ = true;
  std::string status_line_;
  size_t head_bytes_ = 0;
  size_t line_length_ = 0;
  size_t chunk_end_ = 0;  // bytes of the CRLF after a chunk's data still to come
};

std::string CaFileProblem(const std::string& path, std::string_view why) {
  return "cannot load the trust anchors of --ca-file " + path + ": " + std::string(why);
}

// Before connecting: --ca-file can be read and holds a PEM certificate, so that the usual
// mistakes (a wrong path, no permission, an empty file, a key) are configuration errors
// whether or not the service answers. The certificates themselves are parsed once the service
// is reached (NewTlsContext): an agent whose service is down answers from its cache without
// OpenSSL's TLS set-up, ~4 ms of a run (docs/BENCHMARKS.md "The agent per login").
Status CheckCaFile(const std::string& path) {
  constexpr size_t kMaxCaFileBytes = 16 << 20;  // the whole ca-certificates bundle is ~200 KB
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rbe"), &std::fclose);
  if (file == nullptr) return InvalidArgument(CaFileProblem(path, std::strerror(errno)));
  std::string text;
  char buffer[16384];
  while (const size_t n = std::fread(buffer, 1, sizeof(buffer), file.get())) {
    text.append(buffer, n);
    if (text.size() > kMaxCaFileBytes) {
      return InvalidArgument(CaFileProblem(path, "larger than 16 MiB"));
    }
  }
  if (std::ferror(file.get()) != 0) {
    return InvalidArgument(CaFileProblem(path, "it cannot be read"));
  }
  // "-----BEGIN CERTIFICATE-----", or the TRUSTED / X509 CERTIFICATE OpenSSL also reads.
  constexpr std::string_view kBegin = "-----BEGIN ";
  for (size_t at = text.find(kBegin); at != std::string::npos; at = text.find(kBegin, at + 1)) {
    const size_t label = at + kBegin.size();
    const size_t end = text.find("-----", label);
    if (end != std::string::npos &&
        std::string_view(text).substr(label, end - label).ends_with("CERTIFICATE")) {
      return Status::Ok();
    }
  }
  return InvalidArgument(CaFileProblem(path, "no PEM certificate in it"));
}

StatusOr<std::unique_ptr<SSL_CTX, SslCtxFree>> NewTlsContext(const std::string& ca_file) {
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) return Unavailable("TLS setup failed: " + TlsErrorText("out of memory"));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  // The system's trust store (ca-certificates on Debian), as its hashed directory
  // (/etc/ssl/certs, or $SSL_CERT_DIR): a certificate is read when a chain asks for its
  // subject. SSL_CTX_set_default_verify_paths would also parse the whole bundle file
  // (~140 certificates) first: 10-30 ms of every https:// run of an agent that sshd starts
  // per login, mostly for trust anchors it never uses (docs/BENCHMARKS.md "The agent per
  // login"). $SSL_CERT_FILE, when set, is read as before. A failure here leaves only
  // --ca-file, which the handshake then reports as an untrusted certificate.
  (void)SSL_CTX_set_default_verify_dir(ctx.get());
  if (const char* file = std::getenv(X509_get_default_cert_file_env()); file != nullptr && *file) {
    (void)SSL_CTX_load_verify_locations(ctx.get(), file, nullptr);
  }
  if (!ca_file.empty() && SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1) {
    return InvalidArgument(CaFileProblem(ca_file, TlsErrorText("no certificate in it")));
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

StatusOr<HttpResponse> HttpCall(const HttpRequest& request, const HttpClientOptions& options) {
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
  for (std::string_view credential : {request.bearer_token, request.basic_credentials}) {
    if (HasLineBreakOrNul(credential) || credential.find(' ') != std::string_view::npos) {
      return InvalidArgument("the token holds white space or a line break");
    }
  }
  if (!request.bearer_token.empty() && !request.basic_credentials.empty()) {
    return InvalidArgument("a request has a bearer token or basic credentials, not both");
  }
  if (HasLineBreakOrNul(request.form_body)) {
    return InvalidArgument("a form body is URL-encoded: it holds no line break");
  }
  if (!request.form_body.empty() && !request.json_body.empty()) {
    return InvalidArgument("a request has a form body or a JSON body, not both");
  }
  if (url.tls && !options.ca_file.empty()) {
    if (Status s = CheckCaFile(options.ca_file); !s.ok()) return s;
  }

  const std::string within = FormatDurationMs(options.timeout.count());
  const std::string timeout_message = "no complete answer from " + authority + " within " + within;
  StatusOr<std::vector<Address>> addresses = Resolve(url.host, url.port, deadline, within);
  if (!addresses.ok()) return addresses.status();
  ScopedSigpipeBlock no_sigpipe;
  StatusOr<ScopedFd> fd = Connect(*addresses, authority, !url.tls, deadline, timeout_message);
  if (!fd.ok()) return fd.status();
  Connection conn(std::move(*fd), deadline, authority, timeout_message);
  if (url.tls) {
    auto tls = NewTlsContext(options.ca_file);
    if (!tls.ok()) return tls.status();
    if (Status s = conn.StartTls(tls->get(), url.host); !s.ok()) return s;
  }

  const std::string_view body = request.form_body.empty() ? request.json_body : request.form_body;
  const bool post = !body.empty();
  std::string head = (post ? "POST " : "GET ") + url.base_path + request.target +
                     " HTTP/1.1\r\nHost: " + authority + "\r\nUser-Agent: keypaird/" +
                     std::string(kVersion) + "\r\n";
  for (const auto& [name, value] : request.headers) head += name + ": " + value + "\r\n";
  head += "Connection: close\r\n";
  if (post) {
    head += std::string("Content-Type: ") +
            (request.form_body.empty() ? "application/json" : "application/x-www-form-urlencoded") +
            "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  // The credentials and the body go in last, into a buffer reserved once (no reallocation
  // leaves a copy behind) that is wiped however the call ends.
  SecretString wire;
  {
    std::string bytes = std::move(head);
    bytes.reserve(bytes.size() + request.bearer_token.size() + request.basic_credentials.size() +
                  body.size() + 64);
    if (!request.bearer_token.empty()) {
      bytes += "Authorization: Bearer ";
      bytes += request.bearer_token;
      bytes += "\r\n";
    } else if (!request.basic_credentials.empty()) {
      bytes += "Authorization: Basic ";
      bytes += request.basic_credentials;
      bytes += "\r\n";
    }
    bytes += "\r\n";
    bytes += body;
    wire = SecretString(std::move(bytes));
  }
  if (Status s = conn.WriteAll(wire.view()); !s.ok()) return s;
  wire.Wipe();
  AnswerReader reader(&conn, options);
  return reader.Read();
}

}  // namespace keypaird::client
