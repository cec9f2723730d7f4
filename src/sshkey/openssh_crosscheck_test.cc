// Cross-checks sshkey against the real OpenSSH tools: ssh-keygen must agree on
// fingerprints and formats, ssh-keygen must read our private keys, and a generated key
// must log in to a real sshd. Needs ssh-keygen, ssh and sshd (openssh-client and
// openssh-server); every child process is bounded in time.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
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
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sshkey/sshkey.h"

namespace keypaird::sshkey {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------
// Processes and files.

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal or on timeout
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv[0] (looked up in PATH) with stdin from /dev/null, capturing stdout and stderr;
// kills it after `timeout`.
RunResult RunCommand(const std::vector<std::string>& argv,
                     std::chrono::milliseconds timeout = 120s) {
  RunResult result;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.err = "pipe failed";
    return result;
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
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

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "keypaird-sshkey-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  bool ok() const { return !path_.empty(); }
  std::string operator/(std::string_view name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

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

// ---------------------------------------------------------------------------------------
// Keys made by ssh-keygen.

struct KeygenCase {
  std::string name;
  std::string type;
  int bits;  // 0: ssh-keygen's default
};

void PrintTo(const KeygenCase& c, std::ostream* os) { *os << c.name; }

class SshKeygenKeyTest : public testing::TestWithParam<KeygenCase> {};

TEST_P(SshKeygenKeyTest, AgreesWithSshKeygen) {
  const KeygenCase& c = GetParam();
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  const std::string key = dir / "key";
  std::vector<std::string> gen = {"ssh-keygen",           "-q", "-t", c.type, "-N", "", "-C",
                                  "crosscheck  key@host", "-f", key};
  if (c.bits != 0) {
    gen.insert(gen.begin() + 4, {"-b", std::to_string(c.bits)});
  }
  RunResult r = RunCommand(gen);
  ASSERT_EQ(r.exit_code, 0) << Describe(gen, r);

  // The .pub line is already in normal form.
  std::string pub = TrimRight(ReadFile(key + ".pub"));
  StatusOr<PublicKey> parsed = ParsePublicKey(ReadFile(key + ".pub"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->line, pub);
  EXPECT_EQ(parsed->comment, "crosscheck  key@host");

  std::vector<std::string> fp = {"ssh-keygen", "-l", "-E", "md5", "-f", key + ".pub"};
  r = RunCommand(fp);
  ASSERT_EQ(r.exit_code, 0) << Describe(fp, r);
  EXPECT_EQ(parsed->fingerprint, Md5FromSshKeygen(r.out)) << r.out;
  EXPECT_EQ(std::to_string(parsed->bits), r.out.substr(0, r.out.find(' '))) << r.out;
  if (c.bits != 0) {
    EXPECT_EQ(parsed->bits, c.bits);
  }

  // RFC 4716 export.
  std::vector<std::string> rfc = {"ssh-keygen", "-e", "-f", key + ".pub"};
  r = RunCommand(rfc);
  ASSERT_EQ(r.exit_code, 0) << Describe(rfc, r);
  StatusOr<PublicKey> from_rfc = ParsePublicKey(r.out);
  ASSERT_TRUE(from_rfc.ok()) << from_rfc.status().message() << "\n" << r.out;
  EXPECT_EQ(TypeAndBase64(from_rfc->line), TypeAndBase64(pub));
  EXPECT_NE(from_rfc->comment.find("converted by"), std::string::npos) << from_rfc->comment;
  EXPECT_EQ(from_rfc->fingerprint, parsed->fingerprint);

  // PKCS#8 (SubjectPublicKeyInfo) export. OpenSSH 9.2 cannot export Ed25519 this way;
  // sshkey_test covers Ed25519 PEM with a vector made by openssl.
  std::vector<std::string> pem = {"ssh-keygen", "-e", "-m", "PKCS8", "-f", key + ".pub"};
  r = RunCommand(pem);
  if (r.exit_code != 0 && c.type == "ed25519") {
    std::cout << "note: this ssh-keygen cannot export Ed25519 as PKCS8; PEM check skipped\n";
    return;
  }
  ASSERT_EQ(r.exit_code, 0) << Describe(pem, r);
  StatusOr<PublicKey> from_pem = ParsePublicKey(r.out);
  ASSERT_TRUE(from_pem.ok()) << from_pem.status().message() << "\n" << r.out;
  EXPECT_EQ(from_pem->line, TypeAndBase64(pub));
  EXPECT_EQ(from_pem->fingerprint, parsed->fingerprint);
}

INSTANTIATE_TEST_SUITE_P(
    Types, SshKeygenKeyTest,
    testing::Values(KeygenCase{"Ed25519", "ed25519", 0}, KeygenCase{"Ecdsa256", "ecdsa", 256},
                    KeygenCase{"Ecdsa384", "ecdsa", 384}, KeygenCase{"Ecdsa521", "ecdsa", 521},
                    KeygenCase{"Rsa2048", "rsa", 2048}, KeygenCase{"Rsa3072", "rsa", 3072},
                    KeygenCase{"Rsa4096", "rsa", 4096}),
    [](const auto& info) { return info.param.name; });

TEST(SshKeygenRejectTest, Rsa1024IsRejected) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::vector<std::string> gen = {"ssh-keygen", "-q", "-t", "rsa", "-b",
                                  "1024",       "-N", "",   "-f",  dir / "key"};
  RunResult r = RunCommand(gen);
  ASSERT_EQ(r.exit_code, 0) << Describe(gen, r);
  StatusOr<PublicKey> parsed = ParsePublicKey(ReadFile(dir / "key.pub"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().message(),
            "the RSA key has 1024 bits: at least 2048 bits are required");
}

TEST(SshKeygenRejectTest, DsaIsRejected) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::vector<std::string> gen = {"ssh-keygen", "-q", "-t", "dsa", "-N", "", "-f", dir / "key"};
  RunResult r = RunCommand(gen);
  // Debian bookworm's OpenSSH 9.2 still makes DSA keys; a newer one that refuses needs
  // this test rewritten around a stored DSA key, not skipped.
  if (r.exit_code != 0) {
    FAIL() << "ssh-keygen did not make a DSA key: " << r.err;
  }
  StatusOr<PublicKey> parsed = ParsePublicKey(ReadFile(dir / "key.pub"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "ssh-dss (DSA) keys are not accepted");
}

TEST(SshKeygenRejectTest, PrivateKeyFileIsRejected) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::vector<std::string> gen = {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir / "key"};
  RunResult r = RunCommand(gen);
  ASSERT_EQ(r.exit_code, 0) << Describe(gen, r);
  std::string priv = ReadFile(dir / "key");
  StatusOr<PublicKey> parsed = ParsePublicKey(priv);
  WipeString(priv);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find(".pub"), std::string::npos);
}

// ---------------------------------------------------------------------------------------
// Keys made by GenerateEd25519.

TEST(GeneratedKeyTest, SshKeygenReadsThePrivateKey) {
  constexpr int kKeys = 20;
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  for (int i = 0; i < kKeys; ++i) {
    SCOPED_TRACE("key " + std::to_string(i));
    const std::string comment = "keypaird test " + std::to_string(i);
    StatusOr<GeneratedKey> key = GenerateEd25519(comment);
    ASSERT_TRUE(key.ok()) << key.status().message();
    const std::string priv = dir / ("key" + std::to_string(i));
    ASSERT_TRUE(WriteFile(priv, key->private_key.view(), 0600));

    std::vector<std::string> y = {"ssh-keygen", "-y", "-f", priv};
    RunResult r = RunCommand(y, 30s);
    ASSERT_EQ(r.exit_code, 0) << Describe(y, r);
    EXPECT_EQ(TypeAndBase64(TrimRight(r.out)), TypeAndBase64(key->public_key.line));

    std::vector<std::string> fp = {"ssh-keygen", "-l", "-E", "md5", "-f", priv};
    r = RunCommand(fp, 30s);
    ASSERT_EQ(r.exit_code, 0) << Describe(fp, r);
    EXPECT_EQ(Md5FromSshKeygen(r.out), key->public_key.fingerprint) << r.out;
    // The comment stored in the private key is ours too.
    EXPECT_NE(r.out.find(" " + comment + " (ED25519)"), std::string::npos) << r.out;

    ASSERT_TRUE(WriteFile(priv + ".pub", key->public_key.line + "\n", 0644));
    std::vector<std::string> fp_pub = {"ssh-keygen", "-l", "-E", "md5", "-f", priv + ".pub"};
    r = RunCommand(fp_pub, 30s);
    ASSERT_EQ(r.exit_code, 0) << Describe(fp_pub, r);
    EXPECT_EQ(Md5FromSshKeygen(r.out), key->public_key.fingerprint) << r.out;
  }
}

// A throwaway sshd on a loopback port, killed when this object goes away.
class Sshd {
 public:
  static std::unique_ptr<Sshd> Start(const TempDir& dir, const std::string& authorized_keys,
                                     std::string* error) {
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
    std::string text = "Port " + std::to_string(port) +
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
    pid_t pid = fork();
    if (pid == 0) {
      int devnull = open("/dev/null", O_RDONLY);
      int logfd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(devnull, 0);
      dup2(logfd, 1);
      dup2(logfd, 2);
      execl(binary, binary, "-D", "-e", "-f", config.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    if (pid < 0) {
      *error = "fork failed";
      return nullptr;
    }
    auto sshd = std::unique_ptr<Sshd>(new Sshd(pid, port, log));
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!sshd->Accepts()) {
      int status;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        sshd->pid_ = -1;
        *error = "sshd exited early:\n" + ReadFile(log);
        return nullptr;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        *error = "sshd did not accept connections within 10 s:\n" + ReadFile(log);
        return nullptr;
      }
      std::this_thread::sleep_for(50ms);
    }
    return sshd;
  }

  ~Sshd() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + 5s;
    int status;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(20ms);
    }
  }
  Sshd(const Sshd&) = delete;
  Sshd& operator=(const Sshd&) = delete;

  int port() const { return port_; }
  std::string Log() const { return ReadFile(log_); }

 private:
  Sshd(pid_t pid, int port, std::string log) : pid_(pid), port_(port), log_(std::move(log)) {}

  static int FreeLoopbackPort() {
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

  bool Accepts() const {
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

  pid_t pid_;
  int port_;
  std::string log_;
};

std::vector<std::string> SshLogin(const std::string& key, int port) {
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
          CurrentUser() + "@127.0.0.1",
          "echo",
          "keypaird-login-ok"};
}

TEST(GeneratedKeyTest, LogsInToRealSshd) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  StatusOr<GeneratedKey> key = GenerateEd25519("keypaird-login");
  StatusOr<GeneratedKey> stranger = GenerateEd25519("not-authorized");
  ASSERT_TRUE(key.ok() && stranger.ok());
  const std::string priv = dir / "id_ed25519";
  const std::string stranger_priv = dir / "stranger";
  const std::string authorized_keys = dir / "authorized_keys";
  ASSERT_TRUE(WriteFile(priv, key->private_key.view(), 0600));
  ASSERT_TRUE(WriteFile(stranger_priv, stranger->private_key.view(), 0600));
  ASSERT_TRUE(WriteFile(authorized_keys, key->public_key.line + "\n", 0600));

  std::string error;
  std::unique_ptr<Sshd> sshd = Sshd::Start(dir, authorized_keys, &error);
  ASSERT_NE(sshd, nullptr) << error;

  std::vector<std::string> login = SshLogin(priv, sshd->port());
  RunResult r = RunCommand(login, 30s);
  EXPECT_EQ(r.exit_code, 0) << Describe(login, r) << "\nsshd log:\n" << sshd->Log();
  EXPECT_EQ(r.out, "keypaird-login-ok\n");

  std::vector<std::string> refused = SshLogin(stranger_priv, sshd->port());
  r = RunCommand(refused, 30s);
  EXPECT_NE(r.exit_code, 0) << Describe(refused, r);
  EXPECT_EQ(r.out.find("keypaird-login-ok"), std::string::npos);
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace keypaird::sshkey
