// See fake_http_server.h.
#include "testing/fake_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <set>

#include "testing/openssh_harness.h"

namespace keypaird::testutil {

namespace {

bool SameIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

FakeRequest ParseHead(const std::string& head) {
  FakeRequest r;
  size_t line_end = head.find("\r\n");
  const std::string first = head.substr(0, line_end);
  const size_t sp1 = first.find(' ');
  const size_t sp2 = first.find(' ', sp1 + 1);
  r.method = first.substr(0, sp1);
  r.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
  while (line_end != std::string::npos) {
    const size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end - start);
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t value = colon + 1;
    while (value < line.size() && line[value] == ' ') ++value;
    r.headers.emplace_back(line.substr(0, colon), line.substr(value));
  }
  return r;
}

}  // namespace

std::string FakeRequest::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (SameIgnoringCase(n, name)) return v;
  }
  return "";
}

struct FakeHttpServer::Impl {
  Handler handler;
  int listen_fd = -1;
  SSL_CTX* tls = nullptr;
  std::thread acceptor;

  mutable std::mutex mu;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::set<int> open_fds;
  std::vector<std::thread> workers;
  std::vector<FakeRequest> requests;

  ~Impl() {
    if (tls != nullptr) SSL_CTX_free(tls);
  }

  // Waits up to `d`; false when the server is stopping.
  bool Sleep(std::chrono::milliseconds d) {
    std::unique_lock lock(mu);
    return !stop_cv.wait_for(lock, d, [&] { return stopping; });
  }

  void AcceptLoop() {
    while (true) {
      const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      std::lock_guard lock(mu);
      if (stopping) {
        if (fd >= 0) close(fd);
        return;
      }
      if (fd < 0) continue;
      open_fds.insert(fd);
      workers.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    // OpenSSL writes with write(2): an alert or a reply to a client that has already gone
    // would raise SIGPIPE and end the test process. A real server ignores the signal; this
    // thread blocks it (a pending thread-directed signal dies with the thread).
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    SSL* ssl = nullptr;
    if (tls != nullptr) {
      ssl = SSL_new(tls);
      SSL_set_fd(ssl, fd);
      if (SSL_accept(ssl) != 1) {
        ERR_clear_error();
        SSL_free(ssl);
        Close(fd);
        return;
      }
    }
    auto read_some = [&](char* buf, size_t n) -> ssize_t {
      if (ssl == nullptr) return recv(fd, buf, n, 0);
      size_t got = 0;
      return SSL_read_ex(ssl, buf, n, &got) == 1 ? static_cast<ssize_t>(got) : -1;
    };
    auto write_all = [&](std::string_view data) {
      while (!data.empty()) {
        ssize_t n = -1;
        if (ssl == nullptr) {
          n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        } else {
          size_t put = 0;
          n = SSL_write_ex(ssl, data.data(), data.size(), &put) == 1 ? static_cast<ssize_t>(put)
                                                                     : -1;
        }
        if (n <= 0) return false;
        data.remove_prefix(static_cast<size_t>(n));
      }
      return true;
    };
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = read_some(buf, sizeof(buf));
      if (n <= 0) break;
      head.append(buf, static_cast<size_t>(n));
    }
    bool close_notify = true;
    if (const size_t end = head.find("\r\n\r\n"); end != std::string::npos) {
      FakeRequest request = ParseHead(head.substr(0, end));
      request.body = head.substr(end + 4);
      const size_t length = std::strtoul(request.Header("Content-Length").c_str(), nullptr, 10);
      while (request.body.size() < length) {
        const ssize_t n = read_some(buf, sizeof(buf));
        if (n <= 0) break;
        request.body.append(buf, static_cast<size_t>(n));
      }
      {
        std::lock_guard lock(mu);
        requests.push_back(request);
      }
      const FakeReply reply = handler(request);
      close_notify = reply.tls_close_notify;
      bool go_on = Sleep(reply.delay);
      for (size_t i = 0; go_on && i < reply.pieces.size(); ++i) {
        if (i > 0) go_on = Sleep(reply.pause);
        if (go_on) go_on = write_all(reply.pieces[i]);
      }
      if (go_on && reply.hang) {
        std::unique_lock lock(mu);
        stop_cv.wait(lock, [&] { return stopping; });
      }
    }
    if (ssl != nullptr) {
      if (close_notify) (void)SSL_shutdown(ssl);
      ERR_clear_error();
      SSL_free(ssl);
    }
    Close(fd);
  }

  void Close(int fd) {
    std::lock_guard lock(mu);
    if (open_fds.erase(fd) > 0) close(fd);
  }
};

FakeHttpServer::FakeHttpServer(std::unique_ptr<Impl> impl, int port, bool tls, bool ipv6)
    : impl_(std::move(impl)), port_(port), tls_(tls), ipv6_(ipv6) {}

std::unique_ptr<FakeHttpServer> FakeHttpServer::Start(Handler handler, std::string* error,
                                                      const std::string& cert_file,
                                                      const std::string& key_file, bool ipv6) {
  auto impl = std::make_unique<Impl>();
  impl->handler = std::move(handler);
  if (!cert_file.empty()) {
    impl->tls = SSL_CTX_new(TLS_server_method());
    if (impl->tls == nullptr ||
        SSL_CTX_use_certificate_chain_file(impl->tls, cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(impl->tls, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      *error = "cannot load the TLS certificate or key";
      return nullptr;
    }
  }
  const int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    length = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    length = sizeof(*a);
  }
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0 ||
      listen(fd, 64) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    *error = std::string("cannot listen: ") + std::strerror(errno);
    if (fd >= 0) close(fd);
    return nullptr;
  }
  const int port = ntohs(ipv6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                              : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  impl->listen_fd = fd;
  const bool tls = impl->tls != nullptr;
  Impl* raw = impl.get();
  impl->acceptor = std::thread([raw] { raw->AcceptLoop(); });
  return std::unique_ptr<FakeHttpServer>(new FakeHttpServer(std::move(impl), port, tls, ipv6));
}

FakeHttpServer::~FakeHttpServer() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
    for (int fd : impl_->open_fds) shutdown(fd, SHUT_RDWR);
  }
  impl_->stop_cv.notify_all();
  shutdown(impl_->listen_fd, SHUT_RDWR);  // wakes accept()
  impl_->acceptor.join();
  close(impl_->listen_fd);
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(impl_->mu);
    workers.swap(impl_->workers);
  }
  for (std::thread& t : workers) t.join();
}

std::string FakeHttpServer::Url() const {
  return std::string(tls_ ? "https://" : "http://") + (ipv6_ ? "[::1]" : "127.0.0.1") + ":" +
         std::to_string(port_);
}

std::vector<FakeRequest> FakeHttpServer::Requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

std::string FakeHttpServer::Answer(
    int status, std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " Status\r\n";
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  out += body;
  return out;
}

FakeReply FakeHttpServer::Reply(int status, std::string_view body,
                                const std::vector<std::pair<std::string, std::string>>& headers) {
  FakeReply reply;
  reply.pieces.push_back(Answer(status, body, headers));
  return reply;
}

bool MakeSelfSignedCertificate(const std::string& cert_file, const std::string& key_file,
                               const std::string& subject_alt_names, std::string* error) {
  const std::vector<std::string> argv = {"openssl",
                                         "req",
                                         "-x509",
                                         "-newkey",
                                         "ec",
                                         "-pkeyopt",
                                         "ec_paramgen_curve:P-256",
                                         "-nodes",
                                         "-keyout",
                                         key_file,
                                         "-out",
                                         cert_file,
                                         "-days",
                                         "2",
                                         "-subj",
                                         "/CN=keypaird-test",
                                         "-addext",
                                         "subjectAltName=" + subject_alt_names};
  const RunResult r = RunCommand(argv, std::chrono::seconds(60));
  if (r.exit_code != 0) {
    *error = Describe(argv, r);
    return false;
  }
  return true;
}

}  // namespace keypaird::testutil
