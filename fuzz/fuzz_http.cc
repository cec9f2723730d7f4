// libFuzzer target for the HTTP/1.1 server (src/server/server.h) entered with raw bytes:
// each input is what one client sends on one connection (requests, pipelined or not,
// well framed or not), then it closes its sending side. One server runs for the whole
// session on a loopback port, in front of a handler that echoes "METHOD PATH BODY-LENGTH"
// and notes every request it is given, in order (one I/O thread, so one order).
//
// Invariants (any violation aborts, printing the input's answer):
//   - the server answers and closes the connection within 5 s (no hang);
//   - what it sends is a sequence of whole HTTP/1.1 responses and nothing else;
//   - every request the handler was given is answered exactly once, in order, with its
//     echo; a HEAD answer carries the echo's Content-Length and no body;
//   - a 100 Continue only before a final answer (Expect: 100-continue);
//   - a refusal (400, 413, 414, 431) is the handler's refusal answer (without its body
//     if it answers a HEAD), is the last thing sent, and says Connection: close; no other
//     status appears;
//   - the server still answers a fresh connection afterwards (checked every 256 inputs).
// ASan and UBSan (scripts/fuzz.sh) catch memory errors in the parser glue, the head check
// and the connection's buffers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fuzz_check.h"
#include "server/server.h"

namespace keypaird::fuzz {
namespace {

using server::Handler;
using server::HttpRequest;
using server::HttpResponse;
using server::Placement;
using server::Responder;
using server::ResponseBody;

std::string Echo(const HttpRequest& r) {
  return r.method + " " + r.path + " " + std::to_string(r.body.size());
}

class EchoHandler final : public Handler {
 public:
  Job JobFor(std::shared_ptr<const HttpRequest> request) const override {
    {
      std::lock_guard lock(mu_);
      seen_.push_back({request->method, Echo(*request)});
    }
    // Some on the workers, so that answers come back from another thread.
    const Placement where = request->path.size() % 2 == 0 ? Placement::kWorker : Placement::kIoThread;
    return {where, [request](Responder respond) {
              HttpResponse r;
              r.content_type = "text/plain";
              r.body = std::make_shared<ResponseBody>(Echo(*request), false);
              respond(std::move(r));
            }};
  }
  HttpResponse Refusal(int status, const std::optional<std::string>& /*id*/) const override {
    HttpResponse r;
    r.status = status;
    r.content_type = "text/plain";
    r.body = std::make_shared<ResponseBody>("refused " + std::to_string(status), false);
    return r;
  }
  struct Seen {
    std::string method;
    std::string echo;
  };
  std::vector<Seen> Take() const {
    std::lock_guard lock(mu_);
    std::vector<Seen> out;
    out.swap(seen_);
    return out;
  }

 private:
  mutable std::mutex mu_;
  mutable std::vector<Seen> seen_;
};

struct Session {
  EchoHandler handler;
  std::unique_ptr<server::HttpServer> server;
};

Session* StartSession() {
  auto* s = new Session;
  server::ServerOptions options;
  options.port = 0;
  options.io_threads = 1;
  options.workers = 2;
  options.read_timeout = std::chrono::seconds(2);
  s->server = std::make_unique<server::HttpServer>(options, s->handler);
  if (!s->server->Start().ok()) FUZZ_FAIL("the server does not start");
  return s;
}

// Sends `bytes` on a new connection, closes the sending side, reads until the server
// closes. False on a timeout.
// A connection to the server. A connect the client side could not make (interrupted by
// libFuzzer's alarm, or no local port free yet while thousands of closed connections of
// the last seconds wait out TIME_WAIT) is tried again with a fresh socket; what the
// server does (refusing, resetting) fails the run, with the reason.
int Connect(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int error = 0;
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) FUZZ_FAIL("socket", std::strerror(errno));
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) return fd;
    error = errno;
    close(fd);
    if (error != EINTR && error != EADDRNOTAVAIL && error != EAGAIN) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FUZZ_FAIL("connect", std::strerror(error));
}

bool Exchange(uint16_t port, std::string_view bytes, std::string* out) {
  const int fd = Connect(port);
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  // The server may refuse and close before it has read everything: a send error then is
  // fine (what it answered is still read below).
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  bool ok = true;
  char buf[16384];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      out->append(buf, static_cast<size_t>(n));
      continue;
    }
    // libFuzzer's timeout alarm (SIGALRM, every -timeout/2 + 1 s) interrupts a wait: that
    // is not the end of the answer (taking it as one failed the check of a whole answer).
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ok = false;
    break;  // closed (or reset after a refusal)
  }
  close(fd);
  return ok;
}

struct Parsed {
  int status = 0;
  std::string content_length;
  std::string connection;
  std::string body;
};

// One response's head from the front of `data`; false if it is not a whole one.
bool ParseHead(std::string_view* data, Parsed* r) {
  const size_t end = data->find("\r\n\r\n");
  if (end == std::string_view::npos || !data->starts_with("HTTP/1.1 ") || end < 12) return false;
  const std::string_view head = data->substr(0, end);
  r->status = std::stoi(std::string(head.substr(9, 3)));
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos) {
    const size_t next = head.find("\r\n", pos + 2);
    const std::string_view line = head.substr(pos + 2, next == std::string_view::npos
                                                           ? std::string_view::npos
                                                           : next - pos - 2);
    if (line.starts_with("Content-Length: ")) r->content_length = line.substr(16);
    if (line.starts_with("Connection: ")) r->connection = line.substr(12);
    pos = next;
  }
  data->remove_prefix(end + 4);
  return true;
}

void Check(std::string_view input, const std::string& answer,
           const std::vector<EchoHandler::Seen>& seen) {
  const std::string detail = "input: " + std::string(input.substr(0, 500)) + "\nanswer: " +
                             answer.substr(0, 1000);
  std::string_view data = answer;
  size_t answered = 0;
  while (!data.empty()) {
    Parsed r;
    FUZZ_CHECK(ParseHead(&data, &r), detail);
    if (r.status == 100) continue;  // Expect: 100-continue; the final answer follows
    if (r.status == 200) {
      FUZZ_CHECK(answered < seen.size(), detail);  // an answer nobody asked for
      const EchoHandler::Seen& s = seen[answered++];
      FUZZ_CHECK(r.content_length == std::to_string(s.echo.size()), detail);
      if (s.method != "HEAD") {
        FUZZ_CHECK(data.substr(0, s.echo.size()) == s.echo, detail);
        data.remove_prefix(s.echo.size());
      }
      continue;
    }
    FUZZ_CHECK(r.status == 400 || r.status == 413 || r.status == 414 || r.status == 431, detail);
    const std::string body = "refused " + std::to_string(r.status);
    FUZZ_CHECK(r.content_length == std::to_string(body.size()), detail);
    // The last thing sent. A refused HEAD has the Content-Length of its body but not the
    // body (no answer to a HEAD carries one).
    FUZZ_CHECK(data == body || (data.empty() && input.find("HEAD") != std::string_view::npos),
               detail);
    FUZZ_CHECK(r.connection == "close", detail);
    data = {};
  }
  FUZZ_CHECK(answered == seen.size(), detail);  // every request answered once
}

}  // namespace
}  // namespace keypaird::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using keypaird::fuzz::Session;
  static Session* session = keypaird::fuzz::StartSession();
  static uint64_t runs = 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string answer;
  const bool closed = keypaird::fuzz::Exchange(session->server->port(), input, &answer);
  FUZZ_CHECK(closed, "the server neither answered nor closed within 5 s: " +
                         std::string(input.substr(0, 500)));
  keypaird::fuzz::Check(input, answer, session->handler.Take());
  if (++runs % 256 == 0) {
    std::string alive;
    FUZZ_CHECK(keypaird::fuzz::Exchange(session->server->port(),
                                        "GET /alive HTTP/1.1\r\nHost: x\r\n\r\n", &alive) &&
                   alive.starts_with("HTTP/1.1 200"),
               "the server stopped answering");
    session->handler.Take();
  }
  return 0;
}
