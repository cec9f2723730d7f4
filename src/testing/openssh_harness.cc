// See openssh_harness.h.
#include "testing/openssh_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace keypaird::testutil {

using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)
namespace fs = std::filesystem;

RunResult RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                     std::string_view stdin_data) {
  RunResult result;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.err = "pipe failed";
    return result;
  }
  // Input goes through a temporary file: no second pipe to keep fed while reading.
  int in_fd = -1;
  if (!stdin_data.empty()) {
    char tmpl[] = "/tmp/keypaird-stdin-XXXXXX";
    in_fd = mkostemp(tmpl, O_CLOEXEC);
    if (in_fd >= 0) {
      unlink(tmpl);
      std::string_view left = stdin_data;
      while (!left.empty()) {
        const ssize_t n = write(in_fd, left.data(), left.size());
        if (n <= 0) break;
        left.remove_prefix(static_cast<size_t>(n));
      }
      lseek(in_fd, 0, SEEK_SET);
    }
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    const int input = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
    dup2(input, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (in_fd >= 0) close(in_fd);
  if (pid < 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    result.err = "fork failed";
    return result;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) {
      result.timed_out = true;
      break;
    }
    int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t got = read(fds[i].fd, buf, sizeof(buf));
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (pollfd& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  // The pipes are closed; the child should be gone or about to be.
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) break;
    if (result.timed_out || std::chrono::steady_clock::now() > deadline) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  if (!result.timed_out && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

std::string Describe(const std::vector<std::string>& argv, const RunResult& r) {
  std::string s = "`";
  for (const std::string& a : argv) s += a + " ";
  s += "` exit=" + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") +
       "\nstdout: " + r.out + "\nstderr: " + r.err;
  return s;
}

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "keypaird-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) fs::remove_all(path_, ec);
}

bool WriteFile(const std::string& path, std::string_view data, mode_t mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return false;
  bool ok = fchmod(fd, mode) == 0;
  while (ok && !data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
    } else {
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  return close(fd) == 0 && ok;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TrimRight(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// "TYPE BASE64" of a line, without the comment.
std::string TypeAndBase64(std::string_view line) {
  size_t first = line.find(' ');
  size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
  return std::string(line.substr(0, second));
}

// The hex after "MD5:" in `ssh-keygen -l -E md5` output.
std::string Md5FromSshKeygen(std::string_view out) {
  size_t at = out.find("MD5:");
  if (at == std::string_view::npos) return "";
  std::string_view rest = out.substr(at + 4);
  return std::string(rest.substr(0, rest.find(' ')));
}

std::string CurrentUser() {
  passwd* pw = getpwuid(geteuid());
  return pw != nullptr ? pw->pw_name : "root";
}

namespace {

// Forks `argv` (argv[0] as execvp finds it) with stdin from /dev/null and stdout and stderr
// into `log`. -1 if fork fails.
pid_t SpawnLogged(const std::vector<std::string>& argv, const std::string& log) {
  // Made before fork: the child of a threaded test may not allocate.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    int logfd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(devnull, 0);
    dup2(logfd, 1);
    dup2(logfd, 2);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// Waits up to 10 s for the daemon `pid` to be `ready`. "" when it is; otherwise why not,
// with its log (and *pid set to -1 when it exited).
std::string WaitReady(pid_t* pid, const std::function<bool()>& ready, const std::string& name,
                      const std::string& what, const std::string& log) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!ready()) {
    int status;
    if (waitpid(*pid, &status, WNOHANG) == *pid) {
      *pid = -1;
      return name + " exited early:\n" + ReadFile(log);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return name + " did not " + what + " within 10 s:\n" + ReadFile(log);
    }
    std::this_thread::sleep_for(20ms);
  }
  return "";
}

// SIGTERM, then SIGKILL if it is still there after 5 s.
void Stop(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  int status;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace

std::unique_ptr<Sshd> Sshd::Start(const TempDir& dir, const std::string& authorized_keys,
                                  std::string* error, const std::string& extra_config) {
  const char* binary = nullptr;
  for (const char* candidate : {"/usr/sbin/sshd", "/usr/local/sbin/sshd"}) {
    if (access(candidate, X_OK) == 0) {
      binary = candidate;
      break;
    }
  }
  if (binary == nullptr) {
    *error = "sshd not found (install openssh-server)";
    return nullptr;
  }
  // Privilege separation chroots into /run/sshd.
  if (mkdir("/run/sshd", 0755) != 0 && errno != EEXIST) {
    *error = std::string("cannot create /run/sshd: ") + std::strerror(errno);
    return nullptr;
  }
  std::vector<std::string> hostkey = {"ssh-keygen", "-q", "-t", "ed25519",
                                      "-N",         "",   "-f", dir / "host_key"};
  RunResult r = RunCommand(hostkey, 30s);
  if (r.exit_code != 0) {
    *error = Describe(hostkey, r);
    return nullptr;
  }
  int port = FreeLoopbackPort();
  if (port <= 0) {
    *error = "no free loopback port";
    return nullptr;
  }
  const std::string config = dir / "sshd_config";
  std::string text = extra_config + "Port " + std::to_string(port) +
                     "\n"
                     "ListenAddress 127.0.0.1\n"
                     "HostKey " +
                     dir / "host_key" + "\n" + "PidFile " + dir / "sshd.pid" + "\n" +
                     "AuthorizedKeysFile " + authorized_keys + "\n" +
                     "UsePAM no\n"
                     "StrictModes no\n"
                     "PasswordAuthentication no\n"
                     "KbdInteractiveAuthentication no\n"
                     "PubkeyAuthentication yes\n"
                     "PermitRootLogin prohibit-password\n"
                     "LogLevel VERBOSE\n";
  if (!WriteFile(config, text, 0600)) {
    *error = "cannot write " + config;
    return nullptr;
  }
  std::vector<std::string> check = {binary, "-t", "-f", config};
  r = RunCommand(check, 30s);
  if (r.exit_code != 0) {
    *error = Describe(check, r);
    return nullptr;
  }

  const std::string log = dir / "sshd.log";
  pid_t pid = SpawnLogged({binary, "-D", "-e", "-f", config}, log);
  if (pid < 0) {
    *error = "fork failed";
    return nullptr;
  }
  auto sshd = std::unique_ptr<Sshd>(new Sshd(pid, port, log));
  *error = WaitReady(
      &sshd->pid_, [&] { return sshd->Accepts(); }, "sshd", "accept connections", log);
  if (!error->empty()) return nullptr;
  return sshd;
}

Sshd::~Sshd() { Stop(pid_); }

std::unique_ptr<SshAgent> SshAgent::Start(const TempDir& dir, std::string* error) {
  const std::string socket = dir / "agent.sock";
  const std::string log = dir / "ssh-agent.log";
  pid_t pid = SpawnLogged({"ssh-agent", "-D", "-a", socket}, log);
  if (pid < 0) {
    *error = "fork failed";
    return nullptr;
  }
  auto agent = std::unique_ptr<SshAgent>(new SshAgent(pid, socket));
  auto exists = [&] {
    struct stat st {};
    return stat(socket.c_str(), &st) == 0;
  };
  *error = WaitReady(&agent->pid_, exists, "ssh-agent", "make its socket", log);
  if (!error->empty()) return nullptr;
  return agent;
}

SshAgent::~SshAgent() { Stop(pid_); }

RunResult SshAgent::Run(const std::vector<std::string>& argv) const {
  std::vector<std::string> with_env = {"env", "SSH_AUTH_SOCK=" + socket_};
  with_env.insert(with_env.end(), argv.begin(), argv.end());
  return RunCommand(with_env, 30s);
}

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool Sshd::Accepts() const {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

std::vector<std::string> SshLogin(const std::string& key, int port, const std::string& user) {
  return {"ssh",
          "-F",
          "/dev/null",
          "-i",
          key,
          "-p",
          std::to_string(port),
          "-o",
          "BatchMode=yes",
          "-o",
          "StrictHostKeyChecking=no",
          "-o",
          "UserKnownHostsFile=/dev/null",
          "-o",
          "IdentitiesOnly=yes",
          "-o",
          "IdentityAgent=none",
          "-o",
          "ConnectTimeout=10",
          "-o",
          "LogLevel=ERROR",
          (user.empty() ? CurrentUser() : user) + "@127.0.0.1",
          "echo",
          "keypaird-login-ok"};
}

}  // namespace keypaird::testutil
