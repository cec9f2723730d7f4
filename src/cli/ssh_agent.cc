#include "cli/ssh_agent.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "sshkey/wire.h"

namespace keypaird::cli {
namespace {

constexpr std::string_view kCertType = "ssh-ed25519-cert-v01@openssh.com";
constexpr size_t kEd25519Half = 32;

using Clock = std::chrono::steady_clock;

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Waits until `fd` is ready for `events` or the deadline passes; false on timeout or error.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

bool WriteAll(int fd, std::string_view data, Clock::time_point deadline) {
  while (!data.empty()) {
    if (!WaitFor(fd, POLLOUT, deadline)) return false;
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool ReadExactly(int fd, size_t size, std::string* out, Clock::time_point deadline) {
  out->clear();
  while (out->size() < size) {
    if (!WaitFor(fd, POLLIN, deadline)) return false;
    char buf[256];
    const ssize_t n = recv(fd, buf, std::min(sizeof(buf), size - out->size()), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    out->append(buf, static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

StatusOr<SecretString> AddCertificateMessage(const sshkey::PrivateKey& key,
                                             std::string_view certificate_blob,
                                             std::string_view comment, uint32_t lifetime_s) {
  if (lifetime_s == 0) return InvalidArgument("an agent key's lifetime must be at least 1 s");
  // k || ENC(A): the public half ENC(A) is its last 32 bytes.
  StatusOr<SecretString> pair = sshkey::Ed25519KeyPair(key);
  if (!pair.ok()) return pair.status();
  const std::string_view both = pair->view();
  const std::string_view public_key = both.substr(kEd25519Half);
  std::string message;
  // Reserved once, so that no append moves the private bytes and leaves a copy behind.
  message.reserve(1 + 4 + kCertType.size() + 4 + certificate_blob.size() + 4 + public_key.size() +
                  4 + both.size() + 4 + comment.size() + 1 + 4);
  sshkey::AppendU8(&message, kSshAgentcAddIdConstrained);
  sshkey::AppendString(&message, kCertType);
  sshkey::AppendString(&message, certificate_blob);
  sshkey::AppendString(&message, public_key);
  sshkey::AppendString(&message, both);
  sshkey::AppendString(&message, comment);
  sshkey::AppendU8(&message, kSshAgentConstrainLifetime);
  sshkey::AppendU32(&message, lifetime_s);
  return SecretString(std::move(message));
}

Status AddCertificateToAgent(const std::string& socket_path, const sshkey::PrivateKey& key,
                             std::string_view certificate_blob, std::string_view comment,
                             uint32_t lifetime_s, std::chrono::milliseconds timeout) {
  const std::string agent = "the ssh-agent at " + socket_path;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof(address.sun_path)) {
    return InvalidArgument("SSH_AUTH_SOCK is empty or too long for a socket path");
  }
  std::memcpy(address.sun_path, socket_path.data(), socket_path.size());
  StatusOr<SecretString> body = AddCertificateMessage(key, certificate_blob, comment, lifetime_s);
  if (!body.ok()) return body.status();
  // The length prefix and the body in one buffer, wiped when it goes.
  std::string framed;
  framed.reserve(4 + body->size());
  sshkey::AppendString(&framed, body->view());
  const SecretString message(std::move(framed));
  body->Wipe();

  const Clock::time_point deadline = Clock::now() + timeout;
  Socket s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (s.fd() < 0) return Internal("cannot make a socket: " + std::string(std::strerror(errno)));
  if (connect(s.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 &&
      errno != EINPROGRESS && errno != EAGAIN) {
    return Unavailable("cannot reach " + agent + ": " + std::strerror(errno));
  }
  if (!WriteAll(s.fd(), message.view(), deadline)) {
    return Unavailable("cannot send the key to " + agent);
  }
  std::string length;
  std::string answer;
  if (!ReadExactly(s.fd(), 4, &length, deadline)) {
    return Unavailable("no answer from " + agent + " within " + std::to_string(timeout.count()) +
                       " ms");
  }
  uint32_t size = 0;
  sshkey::WireReader reader(length);
  if (!reader.ReadU32(&size) || size == 0 || size > 4096 ||
      !ReadExactly(s.fd(), size, &answer, deadline)) {
    return Unavailable("a malformed answer from " + agent);
  }
  const auto code = static_cast<uint8_t>(answer[0]);
  if (code == kSshAgentSuccess) return Status::Ok();
  if (code == kSshAgentFailure) {
    return FailedPrecondition(agent +
                              " refused the key (is it locked, or too old for certificates "
                              "with a lifetime?)");
  }
  return Unavailable("an unexpected answer (" + std::to_string(code) + ") from " + agent);
}

}  // namespace keypaird::cli
