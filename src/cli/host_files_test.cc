// The files of `keypaird host enroll` (cli/host_files.h) against real host keys, host
// certificates and a KRL made by ssh-keygen, and a real sshd reading the drop-in.
#include "cli/host_files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/secure_files.h"
#include "testing/openssh_harness.h"

namespace keypaird::cli {
namespace {

using testutil::Describe;
using testutil::ReadFile;
using testutil::RunCommand;
using testutil::RunResult;
using testutil::TempDir;
using testutil::TrimRight;
using testutil::WriteFile;

constexpr char kToken[] = "kpd_host_0123456789abcdef_0123456789abcdefghijklmnopqrstuvwxyz";
const std::vector<std::string> kKeyTypes = {"ecdsa", "ed25519", "rsa"};  // file name order

struct stat StatOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st;
}
mode_t ModeOf(const std::string& path) { return StatOf(path).st_mode & 07777; }
timespec MtimeOf(const std::string& path) { return StatOf(path).st_mtim; }

bool SameTime(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// Sets `path`'s modification time to 2001, so that a rewrite cannot keep it by chance.
void MakeOld(const std::string& path) {
  const timespec t{1000000000, 0};
  const timespec times[2] = {t, t};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << path;
}

void RunOk(const std::vector<std::string>& argv) {
  const RunResult r = RunCommand(argv);
  ASSERT_EQ(r.exit_code, 0) << Describe(argv, r);
}

// Members public: the table of refusals below changes them from lambdas.
class HostFilesTest : public ::testing::Test {
 public:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    std::filesystem::create_directories(ssh_dir_);
    std::filesystem::create_directories(sign_dir_);
    paths_.ssh_dir = ssh_dir_;
    paths_.config_dir = dir_ / "sshd_config.d";
    paths_.state_dir = dir_ / "etc-keypaird/host";
    for (const std::string& type : kKeyTypes) {
      std::vector<std::string> argv = {"ssh-keygen", "-q", "-t",        type, "-N",
                                       "",           "-C", "root@host", "-f", KeyPath(type)};
      if (type == "rsa") argv.insert(argv.begin() + 4, {"-b", "2048"});
      ASSERT_NO_FATAL_FAILURE(RunOk(argv));
    }
    ASSERT_NO_FATAL_FAILURE(
        RunOk({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir_ / "host_ca"}));
    ASSERT_NO_FATAL_FAILURE(
        RunOk({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir_ / "user_ca"}));
    // A KRL of the user CA revoking serial 7, serials 100 to 200, and 301, 303 and 305 (which
    // ssh-keygen writes as a serial list, a range and a bitmap, all of which ParseKrl reads).
    ASSERT_TRUE(WriteFile(dir_ / "krl.spec",
                          "serial: 7\nserial: 100-200\nserial: 301\nserial: 303\nserial: 305\n",
                          0644));
    ASSERT_NO_FATAL_FAILURE(RunOk({"ssh-keygen", "-q", "-k", "-f", dir_ / "revoked.krl", "-s",
                                   dir_ / "user_ca.pub", dir_ / "krl.spec"}));
  }

  std::string KeyPath(const std::string& type) const {
    return ssh_dir_ + "/ssh_host_" + type + "_key";
  }

  // A host certificate of `type`'s key from the throwaway host CA, made beside a copy of the
  // public key so that nothing appears in the SSH directory.
  std::string Certify(const std::string& type, const std::string& names = "host.example.com",
                      int serial = 1) {
    const std::string copy = sign_dir_ + "/ssh_host_" + type + "_key.pub";
    EXPECT_TRUE(WriteFile(copy, ReadFile(KeyPath(type) + ".pub"), 0644));
    const std::vector<std::string> argv = {
        "ssh-keygen", "-q",  "-s", dir_ / "host_ca",       "-I", "id-" + type, "-h",
        "-n",         names, "-z", std::to_string(serial), "-V", "+30d",       copy};
    const RunResult r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 0) << Describe(argv, r);
    return TrimRight(ReadFile(sign_dir_ + "/ssh_host_" + type + "_key-cert.pub"));
  }

  HostFiles Enrolment() {
    HostFiles files;
    for (const std::string& type : kKeyTypes) {
      files.certificates.push_back(
          {.public_key_path = KeyPath(type) + ".pub", .line = Certify(type)});
    }
    files.user_ca_public_keys = ReadFile(dir_ / "user_ca.pub");
    files.krl = ReadFile(dir_ / "revoked.krl");
    files.host_token = SecretString(kToken);
    files.hostnames = {"host.example.com"};
    return files;
  }

  // A real sshd configured by the drop-in and the host keys (Sshd::Start runs `sshd -t`
  // first), which come before the harness's own key.
  std::unique_ptr<testutil::Sshd> StartSshd(const TempDir& sshd_dir, std::string* error) const {
    std::string config = "Include " + DropIn() + "\n";
    for (const std::string& type : kKeyTypes) config += "HostKey " + KeyPath(type) + "\n";
    return testutil::Sshd::Start(sshd_dir, "none", error, config);
  }

  std::string DropIn() const { return paths_.config_dir + "/50-keypaird.conf"; }
  std::string State(const std::string& name) const { return paths_.state_dir + "/" + name; }
  std::vector<std::string> AllWritten() const {
    std::vector<std::string> all;
    for (const std::string& type : kKeyTypes) all.push_back(KeyPath(type) + "-cert.pub");
    all.push_back(State("user_ca_keys.pub"));
    all.push_back(State("revoked.krl"));
    all.push_back(State("token"));
    all.push_back(DropIn());
    return all;
  }

  TempDir dir_;
  std::string ssh_dir_ = dir_ / "ssh";
  std::string sign_dir_ = dir_ / "sign";
  HostPaths paths_;
};

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST_F(HostFilesTest, ReadsThePublicKeysSortedAndSkipsCertificates) {
  ASSERT_TRUE(
      WriteFile(ssh_dir_ + "/ssh_host_ed25519_key-cert.pub", Certify("ed25519") + "\n", 0644));
  ASSERT_TRUE(WriteFile(ssh_dir_ + "/id_ed25519.pub", ReadFile(KeyPath("ed25519") + ".pub"), 0644));
  StatusOr<std::vector<HostPublicKey>> keys = ReadHostPublicKeys(ssh_dir_);
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  ASSERT_EQ(keys->size(), 3u);
  for (size_t i = 0; i < kKeyTypes.size(); ++i) {
    EXPECT_EQ((*keys)[i].path, KeyPath(kKeyTypes[i]) + ".pub");
    EXPECT_EQ((*keys)[i].line, TrimRight(ReadFile(KeyPath(kKeyTypes[i]) + ".pub")));
  }
}

TEST_F(HostFilesTest, RefusesAMissingDirectoryOrOneWithoutPublicKeys) {
  StatusOr<std::vector<HostPublicKey>> keys = ReadHostPublicKeys(dir_ / "nowhere");
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(keys.status().message(), "the SSH directory " + dir_ / "nowhere" + " does not exist");

  // Private keys and certificates are not public keys.
  const std::string other = dir_ / "other";
  std::filesystem::create_directories(other);
  ASSERT_TRUE(WriteFile(other + "/ssh_host_ed25519_key", ReadFile(KeyPath("ed25519")), 0600));
  ASSERT_TRUE(WriteFile(other + "/ssh_host_ed25519_key-cert.pub", Certify("ed25519"), 0644));
  keys = ReadHostPublicKeys(other);
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().code(), StatusCode::kNotFound);
  EXPECT_NE(keys.status().message().find(other + " holds no host public key (ssh_host_*_key.pub)"),
            std::string::npos)
      << keys.status().message();

  // A private key under a public key's name is refused without quoting it.
  ASSERT_TRUE(WriteFile(other + "/ssh_host_ed25519_key.pub", ReadFile(KeyPath("ed25519")), 0644));
  keys = ReadHostPublicKeys(other);
  ASSERT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(keys.status().message().find("PRIVATE"), std::string::npos) << keys.status().message();

  HostPaths missing = paths_;
  missing.ssh_dir = dir_ / "nowhere";
  const Status s = WriteHostFiles(Enrolment(), missing).status();
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.message();
  EXPECT_EQ(s.message(), "the SSH directory " + dir_ / "nowhere" + " does not exist");
}

TEST_F(HostFilesTest, MatchesTheAnswersCertificatesToTheKeys) {
  StatusOr<std::vector<HostPublicKey>> keys = ReadHostPublicKeys(ssh_dir_);
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  // In another order than the keys, one with a line break, and no certificate for ecdsa.
  const std::string rsa = Certify("rsa");
  const std::string ed25519 = Certify("ed25519");
  StatusOr<std::vector<HostCertificate>> certs =
      MatchHostCertificates(*keys, {rsa + "\n", ed25519});
  ASSERT_TRUE(certs.ok()) << certs.status().message();
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_EQ((*certs)[0].public_key_path, KeyPath("ed25519") + ".pub");
  EXPECT_EQ((*certs)[0].line, ed25519);
  EXPECT_EQ((*certs)[1].public_key_path, KeyPath("rsa") + ".pub");
  EXPECT_EQ((*certs)[1].line, rsa);

  certs = MatchHostCertificates(*keys, {ed25519, Certify("ed25519", "host.example.com", 2)});
  EXPECT_EQ(certs.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(certs.status().message(), "certificate 2 of the answer is a second certificate for " +
                                          KeyPath("ed25519") + ".pub");
  certs = MatchHostCertificates(*keys, {"ssh-ed25519-cert-v01@openssh.com AAAA"});
  EXPECT_EQ(certs.status().code(), StatusCode::kInvalidArgument) << certs.status().message();
  // A certificate of a key the host no longer has.
  keys->erase(keys->begin() + 1);
  certs = MatchHostCertificates(*keys, {ed25519});
  EXPECT_EQ(certs.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(certs.status().message().find("certificate 1 of the answer certifies SHA256:"),
            std::string::npos)
      << certs.status().message();
}

TEST_F(HostFilesTest, WritesEveryFileWithItsModeAndNoPrivateKey) {
  std::vector<std::string> private_keys;
  std::vector<timespec> host_key_times;
  for (const std::string& type : kKeyTypes) {
    private_keys.push_back(ReadFile(KeyPath(type)));
    ASSERT_NE(private_keys.back().find("PRIVATE KEY"), std::string::npos);
    for (const std::string& path : {KeyPath(type), KeyPath(type) + ".pub"}) {
      host_key_times.push_back(MtimeOf(path));
    }
  }
  StatusOr<HostFilesWritten> written = WriteHostFiles(Enrolment(), paths_);
  ASSERT_TRUE(written.ok()) << written.status().message();
  EXPECT_EQ(written->changed, AllWritten());
  EXPECT_TRUE(written->unchanged.empty());

  for (const std::string& type : kKeyTypes) {
    EXPECT_EQ(ModeOf(KeyPath(type) + "-cert.pub"), 0644u);
    // ssh-keygen reads the certificate as the certificate of that key.
    const std::vector<std::string> argv = {"ssh-keygen", "-L", "-f", KeyPath(type) + "-cert.pub"};
    const RunResult r = RunCommand(argv);
    ASSERT_EQ(r.exit_code, 0) << Describe(argv, r);
    EXPECT_NE(r.out.find("host certificate"), std::string::npos) << r.out;
  }
  EXPECT_EQ(ModeOf(paths_.state_dir), 0700u);
  EXPECT_EQ(ModeOf(State("token")), 0600u);
  EXPECT_EQ(ModeOf(State("user_ca_keys.pub")), 0644u);
  EXPECT_EQ(ModeOf(State("revoked.krl")), 0644u);
  EXPECT_EQ(ModeOf(DropIn()), 0644u);
  StatusOr<SecretString> token = ReadTokenFile(State("token"));
  ASSERT_TRUE(token.ok()) << token.status().message();
  EXPECT_EQ(token->view(), kToken);
  EXPECT_EQ(ReadFile(State("revoked.krl")), ReadFile(dir_ / "revoked.krl"));
  EXPECT_EQ(TrimRight(ReadFile(State("user_ca_keys.pub"))),
            TrimRight(ReadFile(dir_ / "user_ca.pub")));
  EXPECT_EQ(
      ReadFile(DropIn()),
      "# Written by keypaird host enroll for host.example.com: `keypaird host renew` keeps it "
      "and the files it names current.\n"
      "HostCertificate " +
          KeyPath("ecdsa") +
          "-cert.pub\n"
          "HostCertificate " +
          KeyPath("ed25519") +
          "-cert.pub\n"
          "HostCertificate " +
          KeyPath("rsa") +
          "-cert.pub\n"
          "TrustedUserCAKeys " +
          State("user_ca_keys.pub") +
          "\n"
          "RevokedKeys " +
          State("revoked.krl") + "\n");

  for (const std::string& path : AllWritten()) {
    const std::string content = ReadFile(path);
    EXPECT_EQ(content.find("PRIVATE KEY"), std::string::npos) << path;
    for (const std::string& key : private_keys)
      EXPECT_EQ(content.find(key), std::string::npos) << path;
  }
  // The host keys themselves are untouched.
  size_t i = 0;
  for (const std::string& type : kKeyTypes) {
    for (const std::string& path : {KeyPath(type), KeyPath(type) + ".pub"}) {
      EXPECT_TRUE(SameTime(MtimeOf(path), host_key_times[i++])) << path;
    }
  }
}

TEST_F(HostFilesTest, SshdServesTheCertificatesFromTheDropIn) {
  HostFiles files = Enrolment();
  files.url = "https://keys.example.com";
  files.project_id = 4;
  files.authorized_keys_selector = "login=%u";
  paths_.authorized_keys_command_user = "nobody";
  paths_.authorized_keys_cache_dir = dir_ / "cache";
  StatusOr<HostFilesWritten> written = WriteHostFiles(files, paths_);
  ASSERT_TRUE(written.ok()) << written.status().message();
  const std::string drop_in = ReadFile(DropIn());
  const std::string agent_token = dir_ / "etc-keypaird/host-agent.token";
  EXPECT_EQ(AgentTokenPath(paths_), agent_token);
  EXPECT_NE(drop_in.find("\nAuthorizedKeysCommand /usr/bin/keypaird authorized-keys --url "
                         "https://keys.example.com --token-file " +
                         agent_token + " --project 4 --label-selector login=%u --cache-file " +
                         (dir_ / "cache/%u.keys") + " --max-stale 1h\n"
                         "AuthorizedKeysCommandUser nobody\n"),
            std::string::npos)
      << drop_in;
  // The command's user reads its own copy of the host token and owns its cache; the state
  // directory stays root's.
  const struct passwd* nobody = getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  struct stat st {};
  ASSERT_EQ(stat(agent_token.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, nobody->pw_uid);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(ReadFile(agent_token), ReadFile(State("token")));
  ASSERT_EQ(stat((dir_ / "cache").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, nobody->pw_uid);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(stat(State("token").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, getuid());

  TempDir sshd_dir;
  std::string error;
  std::unique_ptr<testutil::Sshd> sshd = StartSshd(sshd_dir, &error);
  ASSERT_NE(sshd, nullptr) << error;
  // It offers each certificate: ssh-keyscan -c prints the host certificates it is offered.
  for (const std::string& type : kKeyTypes) {
    const std::vector<std::string> argv = {
        "ssh-keyscan", "-c", "-t", type, "-p", std::to_string(sshd->port()), "127.0.0.1"};
    const RunResult r = RunCommand(argv);
    ASSERT_EQ(r.exit_code, 0) << Describe(argv, r) << sshd->Log();
    const std::string cert = ReadFile(KeyPath(type) + "-cert.pub");
    const std::string type_and_b64 = testutil::TypeAndBase64(cert);
    EXPECT_NE(r.out.find(type_and_b64), std::string::npos) << type << ": " << r.out;
  }
  EXPECT_EQ(sshd->Log().find("No matching private key"), std::string::npos) << sshd->Log();
}

// A client that trusts only the host CA (@cert-authority) logs in without a prompt with a user
// certificate of the trusted user CA, and not with one whose serial the KRL revokes.
TEST_F(HostFilesTest, SshdTrustsTheUserCaAndRefusesWhatTheKrlRevokes) {
  ASSERT_TRUE(WriteHostFiles(Enrolment(), paths_).ok());
  TempDir sshd_dir;
  std::string error;
  std::unique_ptr<testutil::Sshd> sshd = StartSshd(sshd_dir, &error);
  ASSERT_NE(sshd, nullptr) << error;
  const std::string known_hosts = dir_ / "known_hosts";
  ASSERT_TRUE(WriteFile(
      known_hosts, "@cert-authority host.example.com " + ReadFile(dir_ / "host_ca.pub"), 0644));
  const std::string user_key = dir_ / "user_key";
  ASSERT_NO_FATAL_FAILURE(RunOk({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", user_key}));
  auto login_with_serial = [&](int serial) {
    RunOk({"ssh-keygen", "-q", "-s", dir_ / "user_ca", "-I", "alice", "-n", testutil::CurrentUser(),
           "-z", std::to_string(serial), "-V", "+1h", user_key + ".pub"});
    std::vector<std::string> argv = testutil::SshLogin(user_key, sshd->port());
    // Before SshLogin's own options: ssh takes the first value of each.
    argv.insert(argv.begin() + 1,
                {"-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + known_hosts, "-o",
                 "HostKeyAlias=host.example.com"});
    return RunCommand(argv);
  };
  RunResult r = login_with_serial(3);
  EXPECT_EQ(r.exit_code, 0) << r.err << sshd->Log();
  EXPECT_EQ(r.out, "keypaird-login-ok\n");
  for (int revoked : {7, 150, 303}) {
    r = login_with_serial(revoked);
    EXPECT_NE(r.exit_code, 0) << "serial " << revoked << ": " << r.out;
    EXPECT_EQ(r.out, "") << "serial " << revoked;
  }
}

TEST_F(HostFilesTest, WritingTheSameAgainChangesNothing) {
  const HostFiles files = Enrolment();
  ASSERT_TRUE(WriteHostFiles(files, paths_).ok());
  for (const std::string& path : AllWritten()) ASSERT_NO_FATAL_FAILURE(MakeOld(path));
  StatusOr<HostFilesWritten> again = WriteHostFiles(files, paths_);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again->changed.empty());
  EXPECT_EQ(Sorted(again->unchanged), Sorted(AllWritten()));
  for (const std::string& path : AllWritten()) {
    EXPECT_EQ(MtimeOf(path).tv_sec, 1000000000) << path << " was rewritten";
  }
}

TEST_F(HostFilesTest, ANewCertificateRewritesOnlyItsFile) {
  HostFiles files = Enrolment();
  ASSERT_TRUE(WriteHostFiles(files, paths_).ok());
  for (const std::string& path : AllWritten()) ASSERT_NO_FATAL_FAILURE(MakeOld(path));
  files.certificates[1].line = Certify("ed25519", "host.example.com", 2);  // renewed
  StatusOr<HostFilesWritten> renewed = WriteHostFiles(files, paths_);
  ASSERT_TRUE(renewed.ok()) << renewed.status().message();
  const std::string cert = KeyPath("ed25519") + "-cert.pub";
  EXPECT_EQ(renewed->changed, std::vector<std::string>{cert});
  EXPECT_EQ(ReadFile(cert), files.certificates[1].line + "\n");
  for (const std::string& path : AllWritten()) {
    if (path != cert) {
      EXPECT_EQ(MtimeOf(path).tv_sec, 1000000000) << path << " was rewritten";
    }
  }
  EXPECT_NE(MtimeOf(cert).tv_sec, 1000000000);
}

TEST_F(HostFilesTest, AWrongModeIsPutRight) {
  const HostFiles files = Enrolment();
  ASSERT_TRUE(WriteHostFiles(files, paths_).ok());
  ASSERT_EQ(chmod(State("token").c_str(), 0644), 0);
  ASSERT_EQ(chmod(paths_.state_dir.c_str(), 0755), 0);
  StatusOr<HostFilesWritten> again = WriteHostFiles(files, paths_);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->changed, std::vector<std::string>{State("token")});
  EXPECT_EQ(ModeOf(State("token")), 0600u);
  EXPECT_EQ(ModeOf(paths_.state_dir), 0700u);
}

TEST_F(HostFilesTest, RefusesWhatDoesNotFitAndWritesNothing) {
  struct Case {
    const char* what;
    void (*change)(HostFiles&, HostFilesTest&);
    StatusCode code;
    const char* message;
  };
  const Case cases[] = {
      {"a certificate of another key",
       [](HostFiles& f, HostFilesTest& t) { f.certificates[0].line = t.Certify("ed25519"); },
       StatusCode::kFailedPrecondition, "certifies another key"},
      {"a hostname the certificate does not name",
       [](HostFiles& f, HostFilesTest&) { f.hostnames.push_back("other.example.com"); },
       StatusCode::kInvalidArgument, "does not name the host other.example.com"},
      {"a user certificate",
       [](HostFiles& f, HostFilesTest& t) {
         RunOk({"ssh-keygen", "-q", "-s", t.dir_ / "host_ca", "-I", "u", "-n", "host.example.com",
                t.sign_dir_ + "/ssh_host_rsa_key.pub"});
         f.certificates[2].line = TrimRight(ReadFile(t.sign_dir_ + "/ssh_host_rsa_key-cert.pub"));
       },
       StatusCode::kInvalidArgument, "is not a host certificate"},
      {"a key that is not in the SSH directory",
       [](HostFiles& f, HostFilesTest& t) { f.certificates[0].public_key_path = t.dir_ / "x.pub"; },
       StatusCode::kNotFound, "is for no host public key"},
      {"a private key as user CA key",
       [](HostFiles& f, HostFilesTest& t) { f.user_ca_public_keys = ReadFile(t.dir_ / "user_ca"); },
       StatusCode::kInvalidArgument, "of the user CA keys is not a public key"},
      {"no user CA key", [](HostFiles& f, HostFilesTest&) { f.user_ca_public_keys = "\n"; },
       StatusCode::kInvalidArgument, "no user CA key"},
      {"a KRL that is not one", [](HostFiles& f, HostFilesTest&) { f.krl = "not a KRL"; },
       StatusCode::kInvalidArgument, "the KRL is not one"},
      {"a token of two lines",
       [](HostFiles& f, HostFilesTest&) { f.host_token = SecretString("a\nb"); },
       StatusCode::kInvalidArgument, "the host token is not one token"},
      {"a selector with a space",
       [](HostFiles& f, HostFilesTest&) {
         f.url = "https://k";
         f.project_id = 1;
         f.authorized_keys_selector = "login=%u env=prod";
       },
       StatusCode::kInvalidArgument, "the label selector"},
      {"an AuthorizedKeysCommandUser that does not exist",
       [](HostFiles& f, HostFilesTest& t) {
         f.url = "https://k";
         f.project_id = 1;
         f.authorized_keys_selector = "login=%u";
         t.paths_.authorized_keys_command_user = "no-such-user-keypaird";
       },
       StatusCode::kFailedPrecondition, "does not exist"},
      {"root as the AuthorizedKeysCommandUser",
       [](HostFiles& f, HostFilesTest& t) {
         f.url = "https://k";
         f.project_id = 1;
         f.authorized_keys_selector = "login=%u";
         t.paths_.authorized_keys_command_user = "root";
       },
       StatusCode::kInvalidArgument, "must not be root"},
  };
  for (const Case& c : cases) {
    HostFiles files = Enrolment();
    c.change(files, *this);
    StatusOr<HostFilesWritten> written = WriteHostFiles(files, paths_);
    ASSERT_FALSE(written.ok()) << c.what;
    EXPECT_EQ(written.status().code(), c.code) << c.what << ": " << written.status().message();
    EXPECT_NE(written.status().message().find(c.message), std::string::npos)
        << c.what << ": " << written.status().message();
    EXPECT_EQ(written.status().message().find("PRIVATE"), std::string::npos) << c.what;
    for (const std::string& path : AllWritten()) {
      EXPECT_FALSE(std::filesystem::exists(path)) << c.what << ": " << path;
    }
  }
}

}  // namespace
}  // namespace keypaird::cli
