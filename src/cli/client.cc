#include "cli/client.h"

#include <limits.h>
#include <signal.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cli/agent.h"
#include "cli/host.h"
#include "cli/login.h"
#include "common/version.h"

namespace keypaird::cli {
namespace {

// The directory of the running binary, with a trailing '/' ("" if unknown).
std::string SelfDirectory() {
  char path[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return "";
  const std::string self(path, static_cast<size_t>(n));
  return self.substr(0, self.rfind('/') + 1);
}

// Replaces this process with keypaird-server, the same arguments; returns only on failure.
int ExecServer(char** argv) {
  const std::string dir = SelfDirectory();
  std::vector<std::string> candidates;
  if (!dir.empty()) {
    candidates.push_back(dir + "keypaird-server");
    candidates.push_back(dir + KEYPAIRD_SERVER_FROM_BINDIR);
  }
  candidates.emplace_back(KEYPAIRD_SERVER_PATH);
  for (const std::string& path : candidates) {
    if (access(path.c_str(), X_OK) != 0) continue;
    execv(path.c_str(), argv);
    std::fprintf(stderr, "keypaird: cannot run %s: %s\n", path.c_str(), std::strerror(errno));
    return 127;
  }
  std::fprintf(stderr,
               "keypaird: this command runs the service, and keypaird-server (the keypaird "
               "package) is not installed here: looked for %s\n",
               candidates.back().c_str());
  return 127;
}

}  // namespace

bool IsClientCommand(config::Command command) {
  switch (command) {
    case config::Command::kHelp:
    case config::Command::kVersion:
    case config::Command::kAuthorizedKeys:
    case config::Command::kKrl:
    case config::Command::kLogin:
    case config::Command::kHostEnroll:
    case config::Command::kHostRenew:
    case config::Command::kSshConfig:
      return true;
    default:
      return false;
  }
}

int RunInfo(const config::Config& c) {
  if (c.command == config::Command::kVersion) {
    std::printf("keypaird %.*s\n", static_cast<int>(kVersion.size()), kVersion.data());
    return 0;
  }
  std::fputs(config::HelpDocument(c).c_str(), stdout);
  return 0;
}

// sshd throws away the stderr of its AuthorizedKeysCommand, so authorized-keys also sends
// each message to syslog (LOG_AUTHPRIV, beside sshd's own lines).
int RunAgent(const config::Config& c) {
  signal(SIGPIPE, SIG_IGN);  // a reader that goes away is a write error, not a kill
  const bool authorized_keys = c.command == config::Command::kAuthorizedKeys;
  const char* name = authorized_keys ? "authorized-keys" : "krl";
  if (authorized_keys) openlog("keypaird-authorized-keys", LOG_PID, LOG_AUTHPRIV);
  AgentIo io;
  io.out = [](std::string_view text) {
    return std::fwrite(text.data(), 1, text.size(), stdout) == text.size() &&
           std::fflush(stdout) == 0;
  };
  io.log = [&](std::string_view message) {
    std::fprintf(stderr, "keypaird %s: %.*s\n", name, static_cast<int>(message.size()),
                 message.data());
    if (authorized_keys) {
      syslog(LOG_WARNING, "%.*s", static_cast<int>(message.size()), message.data());
    }
  };
  const int code = authorized_keys ? AuthorizedKeysCommand(c, io) : KrlCommand(c, io);
  if (authorized_keys) closelog();
  return code;
}

int RunLogin(const config::Config& c) {
  signal(SIGPIPE, SIG_IGN);
  LoginIo io;
  io.log = [](std::string_view message) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());
  };
  io.sleep = [](std::chrono::milliseconds ms) { std::this_thread::sleep_for(ms); };
  return LoginCommand(c, io);
}

int RunHost(const config::Config& c) {
  signal(SIGPIPE, SIG_IGN);
  const char* name = c.command == config::Command::kHostEnroll  ? "host enroll"
                     : c.command == config::Command::kHostRenew ? "host renew"
                                                                : "ssh-config";
  HostIo io;
  io.out = [](std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  };
  io.log = [&](std::string_view message) {
    std::fprintf(stderr, "keypaird %s: %.*s\n", name, static_cast<int>(message.size()),
                 message.data());
  };
  switch (c.command) {
    case config::Command::kHostEnroll:
      return HostEnrollCommand(c, io);
    case config::Command::kHostRenew:
      return HostRenewCommand(c, io);
    default:
      return SshConfigCommand(c, io);
  }
}

int ClientMain(int argc, char** argv) {
  StatusOr<config::Config> c =
      config::ParseCommandLine(std::vector<std::string>(argv + 1, argv + argc));
  if (!c.ok()) {
    std::fprintf(stderr, "keypaird: %s\n", c.status().message().c_str());
    return 2;
  }
  if (!IsClientCommand(c->command)) return ExecServer(argv);
  return RunClientCommand(*c);
}

int RunClientCommand(const config::Config& c) {
  switch (c.command) {
    case config::Command::kHelp:
    case config::Command::kVersion:
      return RunInfo(c);
    case config::Command::kLogin:
      return RunLogin(c);
    case config::Command::kHostEnroll:
    case config::Command::kHostRenew:
    case config::Command::kSshConfig:
      return RunHost(c);
    default:
      return RunAgent(c);
  }
}

}  // namespace keypaird::cli
