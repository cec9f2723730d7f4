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
#include "testing/openssh_harness.h"

namespace keypaird::sshkey {
namespace {

using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)
using testutil::CurrentUser;
using testutil::Describe;
using testutil::Md5FromSshKeygen;
using testutil::ReadFile;
using testutil::RunCommand;
using testutil::RunResult;
using testutil::Sshd;
using testutil::SshLogin;
using testutil::TempDir;
using testutil::TrimRight;
using testutil::TypeAndBase64;
using testutil::WriteFile;

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

  std::vector<std::string> fp256 = {"ssh-keygen", "-l", "-E", "sha256", "-f", key + ".pub"};
  r = RunCommand(fp256);
  ASSERT_EQ(r.exit_code, 0) << Describe(fp256, r);
  const size_t at = r.out.find("SHA256:");
  ASSERT_NE(at, std::string::npos) << r.out;
  EXPECT_EQ(parsed->fingerprint_sha256, r.out.substr(at, r.out.find(' ', at) - at)) << r.out;
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
