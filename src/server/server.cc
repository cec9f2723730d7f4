// See server.h. The pieces, bottom up: a Transport moves bytes (plain socket or TLS); a
// Connection parses requests with http_parser and writes responses; an IoThread runs
// one epoll loop over its connections and a mailbox through which other threads hand
// it answers and new connections; Server ties the threads, the listener, the pools and
// shutdown together.
#include "server/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/openssl_ptr.h"
#include "common/secret.h"
#include "common/strings.h"
#include "common/worker_pool.h"
#include "server/request_head.h"

namespace keypaird::server {

Placement RunsOn(Placement declared, bool local_store) {
  return local_store ? declared : Placement::kWorker;
}

namespace {

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

void BlockStopSignals() {
  const sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

namespace {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;

constexpr size_t kMaxFieldName = 1024;
constexpr size_t kMaxFieldValue = 16 * 1024;
constexpr size_t kMaxFields = 100;
constexpr size_t kReadChunk = 16 * 1024;
// Buffered input beyond a request being handled (pipelining) at most; past it the
// connection stops reading until the response is out.
constexpr size_t kMaxBufferedInput = 256 * 1024;
// After an answer that ends the connection: how much to read and discard at most.
constexpr size_t kLingerBytes = 8 * 1024 * 1024;
constexpr std::chrono::milliseconds kSweepInterval{250};

// The IP address of a peer, as text ("192.0.2.1", "2001:db8::1"; an IPv4-mapped IPv6
// address as its IPv4 form); "" if it is neither.
std::string AddressText(const sockaddr_storage& peer) {
  char text[INET6_ADDRSTRLEN] = {};
  if (peer.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&peer);
    if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)) == nullptr) return "";
  } else if (peer.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&peer);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      in_addr v4{};
      std::memcpy(&v4, in6->sin6_addr.s6_addr + 12, sizeof(v4));
      if (inet_ntop(AF_INET, &v4, text, sizeof(text)) == nullptr) return "";
    } else if (inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text)) == nullptr) {
      return "";
    }
  } else {
    return "";
  }
  return text;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

// ---------------------------------------------------------------------------------------
// Transport: plain TCP or TLS over a non-blocking socket.

enum class IoResult { kOk, kWouldBlock, kClosed, kError };

using SslPtr = OpenSslPtr<SSL, SSL_free>;
using SslCtxPtr = OpenSslPtr<SSL_CTX, SSL_CTX_free>;

class Transport {
 public:
  Transport(int fd, SSL_CTX* tls) : fd_(fd) {
    if (tls != nullptr) {
      ssl_.reset(SSL_new(tls));
      if (ssl_ != nullptr) {
        SSL_set_fd(ssl_.get(), fd);
        SSL_set_accept_state(ssl_.get());
        SSL_set_mode(ssl_.get(),
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
      } else {
        broken_ = true;
      }
    }
  }
  ~Transport() { ::close(fd_); }
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  int fd() const { return fd_; }
  // Plain TCP: a read that returns less than asked for has emptied the socket. (Not so for
  // TLS, whose reads end at a record's end.)
  bool plain() const { return !ssl_; }

  // Reads up to `n` bytes into `buf`; *got is set on kOk.
  IoResult Read(char* buf, size_t n, size_t* got) {
    if (broken_) return IoResult::kError;
    if (!ssl_) {
      for (;;) {
        const ssize_t r = ::recv(fd_, buf, n, 0);
        if (r > 0) {
          *got = static_cast<size_t>(r);
          return IoResult::kOk;
        }
        if (r == 0) return IoResult::kClosed;
        if (errno == EINTR) continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? IoResult::kWouldBlock : IoResult::kError;
      }
    }
    ERR_clear_error();
    const int r = SSL_read(ssl_.get(), buf, static_cast<int>(std::min<size_t>(n, INT32_MAX)));
    if (r > 0) {
      *got = static_cast<size_t>(r);
      return IoResult::kOk;
    }
    return TlsResult(r);
  }

  // Writes from the buffers; *wrote is set on kOk (possibly fewer bytes than given).
  IoResult Write(const iovec* iov, int count, size_t* wrote) {
    if (broken_) return IoResult::kError;
    if (!ssl_) {
      for (;;) {
        const ssize_t r = ::writev(fd_, iov, count);
        if (r >= 0) {
          *wrote = static_cast<size_t>(r);
          return IoResult::kOk;
        }
        if (errno == EINTR) continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? IoResult::kWouldBlock : IoResult::kError;
      }
    }
    // TLS: one buffer at a time (a record each); partial writes are enabled.
    for (int i = 0; i < count; ++i) {
      if (iov[i].iov_len == 0) continue;
      ERR_clear_error();
      const int r = SSL_write(ssl_.get(), iov[i].iov_base,
                              static_cast<int>(std::min<size_t>(iov[i].iov_len, INT32_MAX)));
      if (r > 0) {
        *wrote = static_cast<size_t>(r);
        return IoResult::kOk;
      }
      return TlsResult(r);
    }
    *wrote = 0;
    return IoResult::kOk;
  }

  // No more writes from us (TLS: close_notify first); reads go on.
  void ShutdownWrite() {
    if (ssl_ && !broken_) {
      ERR_clear_error();
      (void)SSL_shutdown(ssl_.get());
    }
    ::shutdown(fd_, SHUT_WR);
  }

 private:
  IoResult TlsResult(int r) {
    switch (SSL_get_error(ssl_.get(), r)) {
      case SSL_ERROR_WANT_READ:
      case SSL_ERROR_WANT_WRITE:
        return IoResult::kWouldBlock;
      case SSL_ERROR_ZERO_RETURN:
        return IoResult::kClosed;
      default:
        broken_ = true;  // handshake failure, protocol error, reset
        return IoResult::kError;
    }
  }

  int fd_;
  SslPtr ssl_;
  bool broken_ = false;
};

// ---------------------------------------------------------------------------------------

class IoThread;
class Server;

// One request from the moment it was read until its answer is written: what the access
// log and the metrics need of it.
struct Exchange {
  std::string method;
  std::optional<std::string> request_id;
  TimePoint started;
};

// One client connection. Owned and used by one IoThread only.
class Connection {
 public:
  Connection(uint64_t id, IoThread* owner, std::unique_ptr<Transport> transport,
             TimePoint deadline, std::string peer_address);

  uint64_t id() const { return id_; }
  int fd() const { return transport_->fd(); }
  bool closed() const { return closed_; }
  bool awaiting() const { return awaiting_; }
  bool idle() const { return !awaiting_ && out_.empty() && !linger_ && in_.empty(); }
  TimePoint deadline() const { return deadline_; }
  bool has_deadline() const { return has_deadline_; }

  // Readable and/or writable (edge-triggered): read, parse, dispatch, write, as far as
  // possible without blocking. `events` is what epoll reported (ReadAvailable).
  void Drive(uint32_t events = kReadToTheEnd);
  // The answer to the request this connection is waiting for.
  void Answer(HttpResponse response);
  // Stop: answer what has been received, then close.
  void Drain();
  void Close();

 private:
  static int OnMessageBegin(http_parser* p);
  static int OnUrl(http_parser* p, const char* at, size_t n);
  static int OnHeaderField(http_parser* p, const char* at, size_t n);
  static int OnHeaderValue(http_parser* p, const char* at, size_t n);
  static int OnHeadersComplete(http_parser* p);
  static int OnBody(http_parser* p, const char* at, size_t n);
  static int OnMessageComplete(http_parser* p);
  static const http_parser_settings& Settings();

  // Reads what the socket holds. A plain read that comes back short has emptied it and the
  // next bytes raise a new edge, so it stops there instead of asking once more for EAGAIN
  // (one system call in two on a keep-alive request); it reads on to EOF or EAGAIN when the
  // peer has half-closed (EPOLLRDHUP, EPOLLHUP, EPOLLERR: the EOF raises no edge of its own
  // once reported), on TLS, and when not driven by an event.
  void ReadAvailable(uint32_t events = kReadToTheEnd);
  static constexpr uint32_t kReadToTheEnd = EPOLLRDHUP;
  void Parse();
  void ParseLoop();
  // False (and refuse_ set) for a field the request may not carry.
  bool StoreHeader();
  void Dispatch();
  // Answers a request that could not be read, then closes.
  void Refuse(int status);
  void Queue(HttpResponse response, bool close_after);
  void WriteOut();
  void Finished();

  uint64_t id_;
  IoThread* owner_;
  std::unique_ptr<Transport> transport_;
  http_parser parser_{};
  RequestHeadCheck head_check_;  // what http_parser lets through, on the raw head

  std::string in_;  // bytes read and not yet parsed
  bool peer_closed_ = false;
  bool closed_ = false;

  // The request being parsed.
  HttpRequest request_;
  std::string target_;
  const std::string peer_address_;  // the client's IP, given to every request
  std::string field_;
  std::string value_;
  bool in_value_ = false;
  size_t fields_ = 0;
  bool expect_continue_ = false;
  int refuse_ = 0;  // 413/414/431 found while parsing: answer it, then close
  bool complete_ = false;
  bool keep_alive_ = true;
  bool http10_ = false;

  // The request being handled, and the answer being written.
  bool awaiting_ = false;
  Exchange exchange_;
  std::string out_;  // status line and headers (and a 100 Continue before them)
  std::shared_ptr<ResponseBody> out_body_;
  size_t out_pos_ = 0;  // bytes of out_ + body written
  bool answer_queued_ = false;  // out_ holds an answer (not just a 100 Continue)
  bool close_after_write_ = false;
  bool draining_ = false;
  bool in_parse_ = false;
  bool linger_ = false;
  size_t lingered_ = 0;

  bool has_deadline_ = true;
  TimePoint deadline_;
};

// One epoll loop. Other threads reach it only through Post (mailbox + eventfd).
class IoThread {
 public:
  IoThread(Server* server, int index);
  ~IoThread();
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  Server& server() { return *server_; }
  int index() const { return index_; }

  // Runs `task` on this thread, soon. Thread-safe.
  void Post(std::function<void()> task);
  // The answer for connection `id`, from any thread.
  void Deliver(uint64_t id, HttpResponse response);
  bool OnThisThread() const { return current_ == this; }

  void Adopt(int fd, std::string peer_address);  // on this thread
  void Loop();         // returns once stopped
  void StartDrain();   // on this thread
  void Stop();         // thread-safe

  // Registers an fd with `data` as its epoll tag (on this thread).
  bool Watch(int fd, uint64_t data, uint32_t events);
  void Unwatch(int fd);

  static constexpr uint64_t kWakeTag = 1;
  static constexpr uint64_t kListenTag = 2;
  static constexpr uint64_t kSignalTag = 3;
  static constexpr uint64_t kFirstConnectionId = 16;

 private:
  void RunMailbox();
  void Sweep(TimePoint now);
  void Release(uint64_t id);

  Server* server_;
  int index_;
  int epoll_fd_;
  int wake_fd_;
  std::mutex mu_;
  std::vector<std::function<void()>> mailbox_;  // guarded by mu_
  bool woken_ = false;                          // guarded by mu_: a wake is pending
  bool stop_requested_ = false;                 // guarded by mu_
  std::atomic<bool> stopping_{false};
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  TimePoint next_sweep_{};
  static thread_local IoThread* current_;
  friend class Connection;
};

thread_local IoThread* IoThread::current_ = nullptr;

class Server {
 public:
  Server(const ServerOptions& options, const Handler& handler, SSL_CTX* tls)
      : options_(options),
        handler_(handler),
        tls_(tls),
        workers_(options.workers, options.max_queued_requests, "kpd-worker"),
        keygen_(std::max(1, options.keygen_threads), options.max_queued_requests, "kpd-keygen") {}

  const ServerOptions& options() const { return options_; }
  const Handler& handler() const { return handler_; }
  SSL_CTX* tls() const { return tls_; }
  Metrics* metrics() const { return options_.metrics; }

  // Binds, then starts one thread per I/O loop; with `watch_signals`, SIGINT and SIGTERM
  // stop it (they must be blocked: BlockStopSignals).
  Status Start(bool watch_signals);
  uint16_t port() const { return port_; }
  // As a stop signal does. Thread-safe.
  void RequestStop();
  // Until the loops have stopped; then shuts the pools down.
  void Wait();

  // Runs a request read on `thread` where the handler's Job says; the answer goes back to
  // connection `id` on that thread.
  void Dispatch(IoThread* thread, uint64_t id, HttpRequest request, TimePoint started);

  uint64_t NextConnectionId() { return next_id_.fetch_add(1, std::memory_order_relaxed); }
  void ConnectionOpened();
  void ConnectionClosed();
  void RequestStarted() { in_flight_.fetch_add(1, std::memory_order_acq_rel); }
  void RequestEnded();
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  // On the listening thread.
  void OnListenerReady();
  void OnSignal();

 private:
  void BeginStop(int signal_number);  // on the listening thread
  Status Listen();
  void PauseAccepting();
  void ResumeAccepting();

  const ServerOptions& options_;
  const Handler& handler_;
  SSL_CTX* tls_;
  uint16_t port_ = 0;
  std::vector<std::thread> loops_;
  WorkerPool workers_;
  WorkerPool keygen_;
  std::vector<std::unique_ptr<IoThread>> threads_;
  int listen_fd_ = -1;
  int signal_fd_ = -1;
  std::atomic<uint64_t> next_id_{IoThread::kFirstConnectionId};
  std::atomic<size_t> next_thread_{0};
  std::atomic<int64_t> open_{0};
  std::atomic<bool> accept_paused_{false};
  std::atomic<int64_t> in_flight_{0};
  std::mutex idle_mu_;
  std::condition_variable idle_cv_;
  std::atomic<bool> stopping_{false};
  std::thread stopper_;
};

// ---------------------------------------------------------------------------------------
// Connection.

Connection::Connection(uint64_t id, IoThread* owner, std::unique_ptr<Transport> transport,
                       TimePoint deadline, std::string peer_address)
    : id_(id),
      owner_(owner),
      transport_(std::move(transport)),
      peer_address_(std::move(peer_address)),
      deadline_(deadline) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
}

const http_parser_settings& Connection::Settings() {
  static const http_parser_settings kSettings = [] {
    http_parser_settings s{};
    s.on_message_begin = &Connection::OnMessageBegin;
    s.on_url = &Connection::OnUrl;
    s.on_header_field = &Connection::OnHeaderField;
    s.on_header_value = &Connection::OnHeaderValue;
    s.on_headers_complete = &Connection::OnHeadersComplete;
    s.on_body = &Connection::OnBody;
    s.on_message_complete = &Connection::OnMessageComplete;
    return s;
  }();
  return kSettings;
}

int Connection::OnMessageBegin(http_parser* p) {
  auto* c = static_cast<Connection*>(p->data);
  c->request_ = HttpRequest();
  c->target_.clear();
  c->field_.clear();
  c->value_.clear();
  c->in_value_ = false;
  c->fields_ = 0;
  c->expect_continue_ = false;
  c->complete_ = false;
  return 0;
}

int Connection::OnUrl(http_parser* p, const char* at, size_t n) {
  auto* c = static_cast<Connection*>(p->data);
  if (c->target_.size() + n > c->owner_->server().options().max_target_bytes) {
    c->refuse_ = 414;
    return 1;
  }
  c->target_.append(at, n);
  return 0;
}

bool Connection::StoreHeader() {
  if (field_.empty()) return true;
  auto keep = [&](std::optional<std::string>* slot) {
    if (!slot->has_value()) *slot = value_;
  };
  if (EqualsIgnoreAsciiCase(field_, "authorization")) {
    // Two credentials: which one counts would depend on who reads the request (a proxy
    // may check the other one).
    if (request_.authorization.has_value()) {
      refuse_ = 400;
      return false;
    }
    request_.authorization = value_;
  } else if (EqualsIgnoreAsciiCase(field_, "content-type")) {
    keep(&request_.content_type);
  } else if (EqualsIgnoreAsciiCase(field_, "x-request-id")) {
    keep(&request_.request_id);
  } else if (EqualsIgnoreAsciiCase(field_, "if-match")) {
    keep(&request_.if_match);
  } else if (EqualsIgnoreAsciiCase(field_, "if-none-match")) {
    keep(&request_.if_none_match);
  } else if (EqualsIgnoreAsciiCase(field_, "user-agent")) {
    keep(&request_.user_agent);
  } else if (EqualsIgnoreAsciiCase(field_, "x-forwarded-for")) {
    keep(&request_.forwarded_for);
  } else if (EqualsIgnoreAsciiCase(field_, "cookie")) {
    if (request_.cookie.has_value()) {
      request_.cookie->append("; ").append(value_);
    } else {
      request_.cookie = value_;
    }
    WipeString(value_);
  } else if (EqualsIgnoreAsciiCase(field_, "origin")) {
    keep(&request_.origin);
  } else if (EqualsIgnoreAsciiCase(field_, "x-csrf-token")) {
    keep(&request_.csrf_token);
  } else if (EqualsIgnoreAsciiCase(field_, "expect")) {
    expect_continue_ = EqualsIgnoreAsciiCase(value_, "100-continue");
  }
  field_.clear();
  value_.clear();
  return true;
}

int Connection::OnHeaderField(http_parser* p, const char* at, size_t n) {
  auto* c = static_cast<Connection*>(p->data);
  if (c->in_value_) {
    if (!c->StoreHeader()) return 1;
    c->in_value_ = false;
  }
  if (c->field_.empty() && ++c->fields_ > kMaxFields) {
    c->refuse_ = 431;
    return 1;
  }
  if (c->field_.size() + n > kMaxFieldName) {
    c->refuse_ = 431;
    return 1;
  }
  c->field_.append(at, n);
  return 0;
}

int Connection::OnHeaderValue(http_parser* p, const char* at, size_t n) {
  auto* c = static_cast<Connection*>(p->data);
  c->in_value_ = true;
  if (c->value_.size() + n > kMaxFieldValue) {
    c->refuse_ = 431;
    return 1;
  }
  c->value_.append(at, n);
  return 0;
}

int Connection::OnHeadersComplete(http_parser* p) {
  auto* c = static_cast<Connection*>(p->data);
  if (!c->StoreHeader()) return -1;  // an error for http_parser; Parse answers refuse_
  c->request_.method = http_method_str(static_cast<http_method>(p->method));
  c->request_.peer_address = c->peer_address_;
  const size_t q = c->target_.find('?');
  c->request_.path = c->target_.substr(0, q);
  if (q != std::string::npos) c->request_.query = c->target_.substr(q + 1);
  c->keep_alive_ = http_should_keep_alive(p) != 0;
  c->http10_ = p->http_major == 1 && p->http_minor == 0;
  // A body announced larger than the limit is refused before it is read.
  const size_t max_body = c->owner_->server().options().max_body_bytes;
  if ((p->flags & F_CONTENTLENGTH) != 0 && p->content_length > max_body) {
    c->refuse_ = 413;
    return -1;  // an error for http_parser (1 and 2 mean "no body"); Parse answers refuse_
  }
  if (c->expect_continue_ && p->content_length > 0) {
    c->out_.append("HTTP/1.1 100 Continue\r\n\r\n");
  }
  return 0;
}

int Connection::OnBody(http_parser* p, const char* at, size_t n) {
  auto* c = static_cast<Connection*>(p->data);
  if (c->request_.body.size() + n > c->owner_->server().options().max_body_bytes) {
    // chunked, or more than announced
    c->refuse_ = 413;
    return 1;
  }
  c->request_.body.append(at, n);
  return 0;
}

int Connection::OnMessageComplete(http_parser* p) {
  auto* c = static_cast<Connection*>(p->data);
  c->complete_ = true;
  c->keep_alive_ = c->keep_alive_ && http_should_keep_alive(p) != 0;
  http_parser_pause(p, 1);  // one request at a time: the rest waits in in_
  return 0;
}

void Connection::Drive(uint32_t events) {
  if (closed_) return;
  if (!out_.empty() || out_body_) WriteOut();
  if (closed_) return;
  ReadAvailable(events);
  if (closed_) return;
  if (linger_) {
    if (peer_closed_ || lingered_ > kLingerBytes) Close();
    return;
  }
  Parse();
  if (!closed_ && (!out_.empty() || out_body_)) WriteOut();  // a 100 Continue
  if (!closed_ && peer_closed_ && idle()) Close();
}

void Connection::ReadAvailable(uint32_t events) {
  const bool to_the_end =
      (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0 || !transport_->plain();
  char buf[kReadChunk];
  while (!peer_closed_ && (linger_ || in_.size() < kMaxBufferedInput)) {
    size_t got = 0;
    const IoResult r = transport_->Read(buf, sizeof(buf), &got);
    if (r == IoResult::kOk) {
      if (linger_) {
        lingered_ += got;  // discarded
      } else {
        in_.append(buf, got);
      }
      if (!to_the_end && got < sizeof(buf)) return;
      continue;
    }
    if (r == IoResult::kWouldBlock) return;
    if (r == IoResult::kError && !linger_) {
      // A reset: nobody is left to answer. Work in progress still finishes (the
      // answer is dropped when it arrives).
      Close();
      return;
    }
    peer_closed_ = true;
  }
}

void Connection::Parse() {
  if (in_parse_) return;  // an answer given inline: the running loop goes on
  in_parse_ = true;
  ParseLoop();
  in_parse_ = false;
}

void Connection::ParseLoop() {
  while (!awaiting_ && !closed_ && !linger_ && !answer_queued_ && !in_.empty()) {
    if (head_check_.Scan(in_) == RequestHeadCheck::Verdict::kBad) {
      Refuse(400);
      return;
    }
    if (HTTP_PARSER_ERRNO(&parser_) == HPE_PAUSED) http_parser_pause(&parser_, 0);
    const size_t n = http_parser_execute(&parser_, &Settings(), in_.data(), in_.size());
    const http_errno err = HTTP_PARSER_ERRNO(&parser_);
    in_.erase(0, n);
    head_check_.Consumed(n);
    if (err != HPE_OK && err != HPE_PAUSED) {
      Refuse(refuse_ != 0 ? refuse_ : 400);
      return;
    }
    if (!complete_) return;  // wait for the rest
    complete_ = false;
    head_check_.Reset();
    Dispatch();
  }
}

void Connection::Dispatch() {
  awaiting_ = true;
  has_deadline_ = false;  // the handler's time is not the client's
  exchange_ = {request_.method, request_.request_id, SteadyClock::now()};
  if (draining_) keep_alive_ = false;
  owner_->server().Dispatch(owner_, id_, std::move(request_), exchange_.started);
  request_ = HttpRequest();
}

void Connection::Refuse(int status) {
  owner_->server().RequestStarted();
  exchange_ = {request_.method.empty() ? "-" : request_.method, request_.request_id,
               SteadyClock::now()};
  awaiting_ = true;
  keep_alive_ = false;
  Answer(owner_->server().handler().Refusal(status, request_.request_id));
}

void Connection::Answer(HttpResponse response) {
  if (closed_) return;
  awaiting_ = false;
  Queue(std::move(response), !keep_alive_ || draining_);
}

// The metrics and the access-log line of one answer: counted before it is written (a
// client that has its answer sees it counted), logged after (a log line need not delay
// the client).
const char* RouteOf(const HttpResponse& response) {
  return response.route[0] != '\0' ? response.route : "unmatched";
}

double SecondsSince(TimePoint t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

void CountAnswer(Metrics* metrics, const Exchange& exchange, const HttpResponse& response) {
  if (metrics == nullptr) return;
  metrics->ObserveRequest(RouteOf(response), exchange.method, response.status,
                          SecondsSince(exchange.started));
}

void LogAnswer(const Exchange& exchange, const HttpResponse& response) {
  LogLine(LogLevel::kInfo, "request")
      .Str("request_id", response.Header("X-Request-ID"))
      .Str("method", exchange.method)
      .Str("route", RouteOf(response))
      .Int("status", response.status)
      .Num("duration_ms", SecondsSince(exchange.started) * 1000)
      .Str("token_id", response.token_id);
}

void Connection::Queue(HttpResponse response, bool close_after) {
  Server& server = owner_->server();
  CountAnswer(server.metrics(), exchange_, response);
  std::string& h = out_;
  h.append("HTTP/1.1 ").append(std::to_string(response.status)).append(" ");
  h.append(ReasonPhrase(response.status)).append("\r\n");
  const size_t length = response.body ? response.body->size() : 0;
  if (response.body) {
    h.append("Content-Type: ").append(response.content_type).append("\r\n");
  }
  if (response.status != 204 && response.status != 304) {
    h.append("Content-Length: ").append(std::to_string(length)).append("\r\n");
  }
  for (const auto& [name, value] : response.headers) {
    h.append(name).append(": ").append(value).append("\r\n");
  }
  if (close_after) {
    h.append("Connection: close\r\n");
  } else if (http10_) {
    h.append("Connection: keep-alive\r\n");
  }
  h.append("\r\n");
  // out_pos_ stays: a 100 Continue may still be partly unsent before these headers.
  // HEAD: the headers of the GET, Content-Length included, and never a body (the next
  // response on the connection would be read as its body).
  if (exchange_.method == "HEAD") response.body.reset();
  out_body_ = std::move(response.body);
  answer_queued_ = true;
  close_after_write_ = close_after;
  has_deadline_ = true;
  deadline_ = SteadyClock::now() + server.options().write_timeout;
  WriteOut();
  LogAnswer(exchange_, response);
  server.RequestEnded();
  // Next request, if the client sent one already (unless this runs inside Parse, whose
  // loop goes on by itself).
  if (!closed_ && !answer_queued_) Parse();
}

void Connection::WriteOut() {
  while (!closed_ && (!out_.empty() || out_body_)) {
    iovec iov[2];
    int count = 0;
    const size_t head = out_.size();
    if (out_pos_ < head) {
      iov[count++] = {out_.data() + out_pos_, head - out_pos_};
    }
    if (out_body_) {
      const size_t body_pos = out_pos_ > head ? out_pos_ - head : 0;
      iov[count++] = {const_cast<char*>(out_body_->data()) + body_pos,
                      out_body_->size() - body_pos};
    }
    size_t wrote = 0;
    const IoResult r = transport_->Write(iov, count, &wrote);
    if (r == IoResult::kWouldBlock) return;
    if (r != IoResult::kOk) {
      Close();
      return;
    }
    out_pos_ += wrote;
    const size_t total = head + (out_body_ ? out_body_->size() : 0);
    if (out_pos_ >= total) {
      out_.clear();
      out_body_.reset();  // a secret body is wiped here, once sent
      out_pos_ = 0;
      Finished();
      return;
    }
  }
}

void Connection::Finished() {
  if (!answer_queued_) return;  // only a 100 Continue went out
  answer_queued_ = false;
  if (close_after_write_ || draining_) {
    // Lingering close: the client may still be sending (an oversized body); closing
    // now would reset the connection and could destroy the answer in flight.
    transport_->ShutdownWrite();
    in_.clear();
    if (peer_closed_) {  // it has sent all it will: nothing to linger for
      Close();
      return;
    }
    linger_ = true;
    has_deadline_ = true;
    deadline_ = SteadyClock::now() + owner_->server().options().linger_time;
    return;
  }
  if (peer_closed_ && in_.empty()) {  // the client said all it will say
    Close();
    return;
  }
  has_deadline_ = true;
  deadline_ = SteadyClock::now() + owner_->server().options().read_timeout;
}

void Connection::Drain() {
  draining_ = true;
  if (awaiting_ || !out_.empty() || out_body_ || linger_) return;  // closes after its answer
  ReadAvailable();  // a request already sent is still answered
  if (closed_) return;
  Parse();
  if (!closed_ && !awaiting_ && out_.empty() && !out_body_) Close();
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  owner_->Unwatch(transport_->fd());
}

// ---------------------------------------------------------------------------------------
// IoThread.

IoThread::IoThread(Server* server, int index)
    : server_(server),
      index_(index),
      epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  Watch(wake_fd_, kWakeTag, EPOLLIN);
}

IoThread::~IoThread() {
  connections_.clear();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

bool IoThread::Watch(int fd, uint64_t data, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = data;
  return epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

void IoThread::Unwatch(int fd) { (void)epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

void IoThread::Post(std::function<void()> task) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    mailbox_.push_back(std::move(task));
    wake = !woken_;
    woken_ = true;
  }
  if (wake) {
    const uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
  }
}

void IoThread::Deliver(uint64_t id, HttpResponse response) {
  // `release`: free the connection if the answer closed it. Not for an answer given on
  // this thread: that one comes from inside the connection's own Drive (a route answered
  // inline, or a refusal), which still uses the connection when the answer returns; the
  // caller of Drive releases it afterwards.
  auto answer = [this, id](HttpResponse r, bool release) {
    auto it = connections_.find(id);
    if (it == connections_.end() || it->second->closed()) {
      server_->RequestEnded();  // the client is gone; a secret body is wiped here
      return;
    }
    it->second->Answer(std::move(r));
    if (release && it->second->closed()) Release(id);
  };
  if (OnThisThread()) return answer(std::move(response), /*release=*/false);
  // std::function needs a copyable task: the response travels in a shared_ptr.
  auto shared = std::make_shared<HttpResponse>(std::move(response));
  Post([answer, shared] { answer(std::move(*shared), /*release=*/true); });
}

void IoThread::Adopt(int fd, std::string peer_address) {
  const uint64_t id = server_->NextConnectionId();
  auto conn = std::make_unique<Connection>(
      id, this, std::make_unique<Transport>(fd, server_->tls()),
      SteadyClock::now() + server_->options().read_timeout, std::move(peer_address));
  if (!Watch(fd, id, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
    server_->ConnectionClosed();
    return;  // the Transport closes fd
  }
  Connection* c = conn.get();
  connections_.emplace(id, std::move(conn));
  if (stopping_.load(std::memory_order_acquire)) c->Drain();
  c->Drive();
  if (c->closed()) Release(id);
}

// An answer still coming for a released connection finds nothing and is dropped.
void IoThread::Release(uint64_t id) {
  if (connections_.erase(id) > 0) server_->ConnectionClosed();
}

void IoThread::RunMailbox() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(mu_);
    tasks.swap(mailbox_);
    woken_ = false;
    uint64_t n = 0;
    (void)!::read(wake_fd_, &n, sizeof(n));
  }
  for (auto& task : tasks) task();
}

void IoThread::Sweep(TimePoint now) {
  std::vector<uint64_t> expired;
  for (auto& [id, conn] : connections_) {
    if (conn->has_deadline() && now >= conn->deadline()) expired.push_back(id);
  }
  for (uint64_t id : expired) {
    connections_.at(id)->Close();  // a slow or idle client, or a linger that is over
    Release(id);
  }
}

void IoThread::StartDrain() {
  stopping_.store(true, std::memory_order_release);
  std::vector<uint64_t> closed;
  for (auto& [id, conn] : connections_) {
    conn->Drain();
    if (conn->closed()) closed.push_back(id);
  }
  for (uint64_t id : closed) Release(id);
}

void IoThread::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_requested_ = true;
  }
  Post([] {});  // wakes the loop
}

void IoThread::Loop() {
  current_ = this;
  SetThreadName(("kpd-io-" + std::to_string(index_)).c_str());
  epoll_event events[128];
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_requested_ && mailbox_.empty()) break;
    }
    const int n = epoll_wait(epoll_fd_, events, 128,
                             static_cast<int>(kSweepInterval.count()));
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kWakeTag) {
        RunMailbox();
      } else if (tag == kListenTag) {
        server_->OnListenerReady();
      } else if (tag == kSignalTag) {
        server_->OnSignal();
      } else {
        auto it = connections_.find(tag);
        if (it == connections_.end()) continue;
        it->second->Drive(events[i].events);
        if (it->second->closed()) Release(tag);
      }
    }
    const TimePoint now = SteadyClock::now();
    if (now >= next_sweep_) {
      Sweep(now);
      next_sweep_ = now + kSweepInterval;
    }
  }
  RunMailbox();
  current_ = nullptr;
}

// ---------------------------------------------------------------------------------------
// Server.

void Server::ConnectionOpened() {
  if (options_.metrics != nullptr) options_.metrics->ConnectionOpened();
}

void Server::ConnectionClosed() {
  if (options_.metrics != nullptr) options_.metrics->ConnectionClosed();
  const int64_t open = open_.fetch_sub(1, std::memory_order_acq_rel) - 1;
  if (open < static_cast<int64_t>(options_.max_connections) &&
      accept_paused_.load(std::memory_order_acquire) && !stopping()) {
    threads_[0]->Post([this] { ResumeAccepting(); });
  }
}

void Server::RequestEnded() {
  if (in_flight_.fetch_sub(1, std::memory_order_acq_rel) == 1 && stopping()) {
    std::lock_guard lock(idle_mu_);
    idle_cv_.notify_all();
  }
}

void Server::PauseAccepting() {
  if (accept_paused_.exchange(true)) return;
  threads_[0]->Unwatch(listen_fd_);
}

void Server::ResumeAccepting() {
  if (stopping() || listen_fd_ < 0) return;
  if (open_.load(std::memory_order_acquire) >= static_cast<int64_t>(options_.max_connections)) {
    return;
  }
  if (!accept_paused_.exchange(false)) return;
  threads_[0]->Watch(listen_fd_, IoThread::kListenTag, EPOLLIN);
  OnListenerReady();  // connections waited in the backlog meanwhile
}

void Server::OnListenerReady() {
  while (!stopping() && listen_fd_ >= 0) {
    if (open_.load(std::memory_order_acquire) >= static_cast<int64_t>(options_.max_connections)) {
      PauseAccepting();  // the rest wait in the listen backlog
      return;
    }
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof(peer);
    const int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &peer_len,
                           SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN, or out of descriptors (EMFILE): try again on the next event
    }
    const int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    open_.fetch_add(1, std::memory_order_acq_rel);
    ConnectionOpened();
    IoThread* target =
        threads_[next_thread_.fetch_add(1, std::memory_order_relaxed) % threads_.size()].get();
    std::string address = AddressText(peer);
    if (target->OnThisThread()) {
      target->Adopt(fd, std::move(address));
    } else {
      target->Post([target, fd, address = std::move(address)]() mutable {
        target->Adopt(fd, std::move(address));
      });
    }
  }
}

void Server::Dispatch(IoThread* thread, uint64_t id, HttpRequest request, TimePoint started) {
  RequestStarted();
  Metrics* metrics = options_.metrics;
  const std::optional<std::string> request_id = request.request_id;
  Handler::Job job = handler_.JobFor(std::make_shared<const HttpRequest>(std::move(request)));
  Responder respond = [thread, id](HttpResponse r) { thread->Deliver(id, std::move(r)); };
  const Placement where = RunsOn(job.placement, options_.local_store);
  if (job.first && options_.local_store && job.first(respond)) return;
  if (where == Placement::kIoThread) {
    job.run(std::move(respond));
    return;
  }
  WorkerPool& pool = where == Placement::kKeygen ? keygen_ : workers_;
  const char* pool_name = where == Placement::kKeygen ? "keygen" : "workers";
  const bool queued =
      pool.Submit([metrics, pool_name, run = std::move(job.run), respond, started] {
        if (metrics != nullptr) {
          metrics->ObserveQueueWait(
              pool_name, std::chrono::duration<double>(SteadyClock::now() - started).count());
        }
        run(respond);
      });
  if (!queued) respond(handler_.Refusal(503, request_id));  // saturated or stopping
}

Status Server::Listen() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options_.port);
  const std::string where = options_.address + ":" + port;
  if (int rc = getaddrinfo(options_.address.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return Unavailable("cannot listen on " + where + ": " + gai_strerror(rc));
  }
  std::string error = "no usable address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    const int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) {
      listen_fd_ = fd;
      break;
    }
    error = std::strerror(errno);
    ::close(fd);
  }
  freeaddrinfo(found);
  if (listen_fd_ < 0) return Unavailable("cannot listen on " + where + ": " + error);
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  if (getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &length) == 0) {
    port_ = ntohs(bound.ss_family == AF_INET6
                      ? reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port
                      : reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
  }
  return Status::Ok();
}

void Server::OnSignal() {
  signalfd_siginfo info{};
  if (::read(signal_fd_, &info, sizeof(info)) != static_cast<ssize_t>(sizeof(info))) return;
  BeginStop(static_cast<int>(info.ssi_signo));
}

void Server::RequestStop() {
  // Once stopping, the loops may be gone: nothing to post to (and nothing left to do).
  if (stopping() || threads_.empty()) return;
  IoThread* first = threads_[0].get();
  first->Post([this] { BeginStop(0); });
}

void Server::BeginStop(int signal_number) {
  if (stopping_.exchange(true)) return;
  LogLine(LogLevel::kInfo, "stopping").Int("signal", signal_number);
  // Stop accepting; connections still in the kernel's backlog are reset, as with any
  // server. Then answer what has been received and wait for it (a bounded time).
  threads_[0]->Unwatch(listen_fd_);
  ::close(listen_fd_);
  listen_fd_ = -1;
  for (auto& t : threads_) {
    IoThread* thread = t.get();
    thread->Post([thread] { thread->StartDrain(); });
  }
  stopper_ = std::thread([this] {
    const TimePoint deadline = SteadyClock::now() + options_.shutdown_timeout;
    {
      std::unique_lock lock(idle_mu_);
      idle_cv_.wait_until(lock, deadline, [this] {
        return in_flight_.load(std::memory_order_acquire) <= 0;
      });
    }
    if (in_flight_.load(std::memory_order_acquire) > 0) {
      LogMessage(LogLevel::kWarn, "shutdown timeout: in-flight requests abandoned");
    }
    // Let the last answers reach their sockets, then stop the loops.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (auto& t : threads_) t->Stop();
  });
}

Status Server::Start(bool watch_signals) {
  if (Status s = Listen(); !s.ok()) return s;
  if (watch_signals) {
    // SIGINT and SIGTERM arrive through a signalfd on the first I/O thread (blocked in
    // every thread: BlockStopSignals).
    const sigset_t stop_signals = StopSignals();
    BlockStopSignals();
    signal_fd_ = signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
  }
  const int n = std::max(1, options_.io_threads);
  for (int i = 0; i < n; ++i) threads_.push_back(std::make_unique<IoThread>(this, i));
  threads_[0]->Watch(listen_fd_, IoThread::kListenTag, EPOLLIN);
  if (signal_fd_ >= 0) threads_[0]->Watch(signal_fd_, IoThread::kSignalTag, EPOLLIN);
  LogLine(LogLevel::kInfo, "listening")
      .Str("address", options_.address)
      .Int("port", port_)
      .Str("scheme", tls_ != nullptr ? "https" : "http");
  for (int i = 0; i < n; ++i) loops_.emplace_back([this, i] { threads_[i]->Loop(); });
  return Status::Ok();
}

void Server::Wait() {
  for (auto& t : loops_) t.join();
  loops_.clear();
  if (stopper_.joinable()) stopper_.join();
  keygen_.Shutdown();
  workers_.Shutdown();
  threads_.clear();
  if (signal_fd_ >= 0) ::close(signal_fd_);
  signal_fd_ = -1;
  LogMessage(LogLevel::kInfo, "stopped");
}

StatusOr<SslCtxPtr> MakeTlsContext(const ServerOptions& options) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  auto failed = [](const std::string& what) {
    char buf[256] = "";
    ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
    ERR_clear_error();
    return InvalidArgument("cannot use the TLS certificate or key: " + what + ": " + buf);
  };
  if (ctx == nullptr) return failed("no TLS context");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // TLS 1.2: forward-secret AEAD suites only; TLS 1.3 suites are all modern.
  SSL_CTX_set_cipher_list(ctx.get(),
                          "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                          "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                          "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), options.tls_cert_file.c_str()) != 1) {
    return failed(options.tls_cert_file);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), options.tls_key_file.c_str(), SSL_FILETYPE_PEM) !=
          1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    return failed(options.tls_key_file);
  }
  return ctx;
}

}  // namespace

// The TLS context and the Server over it, for HttpServer and RunServer.
class ServerImpl {
 public:
  ServerImpl(ServerOptions options, const Handler& handler)
      : options_(std::move(options)), handler_(handler) {}
  ~ServerImpl() {
    if (running_) {
      server_->RequestStop();
      server_->Wait();
    }
  }
  ServerImpl(const ServerImpl&) = delete;
  ServerImpl& operator=(const ServerImpl&) = delete;

  Status Start(bool watch_signals) {
    if (options_.tls_cert_file.empty() != options_.tls_key_file.empty()) {
      return InvalidArgument("TLS needs both a certificate and a key");
    }
    if (!options_.tls_cert_file.empty()) {
      StatusOr<SslCtxPtr> ctx = MakeTlsContext(options_);
      if (!ctx.ok()) return ctx.status();
      tls_ = std::move(*ctx);
    }
    // A client that goes away mid-write must not kill the process.
    signal(SIGPIPE, SIG_IGN);
    server_ = std::make_unique<Server>(options_, handler_, tls_.get());
    if (Status s = server_->Start(watch_signals); !s.ok()) return s;
    running_ = true;
    return Status::Ok();
  }
  uint16_t port() const { return server_ ? server_->port() : 0; }
  void Stop() {
    if (running_) server_->RequestStop();
  }
  void Wait() {
    if (!running_) return;
    server_->Wait();
    running_ = false;
  }

 private:
  const ServerOptions options_;
  const Handler& handler_;
  SslCtxPtr tls_;
  std::unique_ptr<Server> server_;
  bool running_ = false;
};

HttpServer::HttpServer(ServerOptions options, const Handler& handler)
    : impl_(std::make_unique<ServerImpl>(std::move(options), handler)) {}
HttpServer::~HttpServer() = default;
Status HttpServer::Start() { return impl_->Start(/*watch_signals=*/false); }
uint16_t HttpServer::port() const { return impl_->port(); }
void HttpServer::Stop() { impl_->Stop(); }
void HttpServer::Wait() { impl_->Wait(); }

Status RunServer(const ServerOptions& options, const Handler& handler) {
  BackgroundLogWriter log_writer;  // first in, last out: drains every line at return
  ServerImpl server(options, handler);
  if (Status s = server.Start(/*watch_signals=*/true); !s.ok()) return s;
  server.Wait();
  return Status::Ok();
}

}  // namespace keypaird::server
