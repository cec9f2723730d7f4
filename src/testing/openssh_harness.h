// Test-only helpers for the cross-checks against the real OpenSSH tools: running a
// command with a deadline, temporary directories and files, and a throwaway sshd on a
// loopback port. Linked only into test binaries (keypaird_openssh_testing); nothing in
// the product depends on it.
//
// Threading: RunCommand and the file helpers are thread-compatible; an Sshd object is
// owned by one test.
#ifndef KEYPAIRD_TESTING_OPENSSH_HARNESS_H_
#define KEYPAIRD_TESTING_OPENSSH_HARNESS_H_

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace keypaird::testutil {

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal or on timeout
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv[0] (looked up in PATH) with stdin from `stdin_data` (empty: /dev/null),
// capturing stdout and stderr; kills it after `timeout`.
RunResult RunCommand(const std::vector<std::string>& argv,
                     std::chrono::milliseconds timeout = std::chrono::seconds(120),
                     std::string_view stdin_data = {});

// "`argv` exit=N\nstdout: ...\nstderr: ..." for failure messages.
std::string Describe(const std::vector<std::string>& argv, const RunResult& r);

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  bool ok() const { return !path_.empty(); }
  std::string operator/(std::string_view name) const { return (path_ / name).string(); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// Writes `data` to `path` with exactly `mode`. False on any error.
bool WriteFile(const std::string& path, std::string_view data, mode_t mode);
std::string ReadFile(const std::string& path);
std::string TrimRight(std::string s);

// "TYPE BASE64" of a public key line, without the comment.
std::string TypeAndBase64(std::string_view line);
// The hex after "MD5:" in `ssh-keygen -l -E md5` output.
std::string Md5FromSshKeygen(std::string_view out);

std::string CurrentUser();
int FreeLoopbackPort();

// A throwaway sshd on a loopback port, killed when this object goes away.
class Sshd {
 public:
  // `extra_config`: more sshd_config lines (e.g. "TrustedUserCAKeys /path\n"); they
  // come before the defaults, so they win (sshd takes the first value of a keyword).
  // `authorized_keys` may be "none" (with AuthorizedKeysCommand in extra_config).
  static std::unique_ptr<Sshd> Start(const TempDir& dir, const std::string& authorized_keys,
                                     std::string* error, const std::string& extra_config = "");
  ~Sshd();
  Sshd(const Sshd&) = delete;
  Sshd& operator=(const Sshd&) = delete;

  int port() const { return port_; }
  std::string Log() const { return ReadFile(log_); }

 private:
  Sshd(pid_t pid, int port, std::string log) : pid_(pid), port_(port), log_(std::move(log)) {}
  bool Accepts() const;

  pid_t pid_;
  int port_;
  std::string log_;
};

// A throwaway ssh-agent (`ssh-agent -D -a SOCKET`) in `dir`, killed when this object goes away.
class SshAgent {
 public:
  static std::unique_ptr<SshAgent> Start(const TempDir& dir, std::string* error);
  ~SshAgent();
  SshAgent(const SshAgent&) = delete;
  SshAgent& operator=(const SshAgent&) = delete;

  const std::string& socket() const { return socket_; }
  // Runs an OpenSSH tool (ssh-add -L) against this agent (SSH_AUTH_SOCK set to it).
  RunResult Run(const std::vector<std::string>& argv) const;

 private:
  SshAgent(pid_t pid, std::string socket) : pid_(pid), socket_(std::move(socket)) {}
  pid_t pid_;
  std::string socket_;
};

// `ssh` arguments that log in as `user` (default: the current user) with only the
// identity `key` (and its certificate `key-cert.pub`, if present) and run
// `echo keypaird-login-ok`.
std::vector<std::string> SshLogin(const std::string& key, int port, const std::string& user = "");

}  // namespace keypaird::testutil

#endif  // KEYPAIRD_TESTING_OPENSSH_HARNESS_H_
