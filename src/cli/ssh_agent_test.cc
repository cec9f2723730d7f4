// The ssh-agent client against a real ssh-agent: the key and its certificate (made by
// ssh-keygen) are listed, usable for signing, and forgotten when their lifetime ends.
#include "cli/ssh_agent.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sshkey/certificate.h"
#include "sshkey/private_key.h"
#include "sshkey/sshkey.h"
#include "sshkey/wire.h"
#include "testing/openssh_harness.h"

namespace keypaird::cli {
namespace {

using testutil::Describe;
using testutil::RunCommand;
using testutil::RunResult;
using testutil::TempDir;
using testutil::TrimRight;
using testutil::TypeAndBase64;

struct Certified {
  std::unique_ptr<sshkey::PrivateKey> key;
  std::string public_line;  // "ssh-ed25519 BASE64 id"
  std::string cert_line;    // as ssh-keygen wrote it
  std::string cert_blob;
};

// A fresh key made here, certified by a CA key and `ssh-keygen -s`.
Certified MakeCertified(const TempDir& dir) {
  Certified out;
  StatusOr<sshkey::PrivateKey> key = sshkey::GeneratePrivateKey(sshkey::KeyType::kEd25519);
  EXPECT_TRUE(key.ok());
  if (!key.ok()) return out;
  out.key = std::make_unique<sshkey::PrivateKey>(std::move(*key));
  out.public_line = sshkey::PublicKeyOf(*out.key, "id").value().line;
  EXPECT_TRUE(testutil::WriteFile(dir / "id.pub", out.public_line + "\n", 0600));
  for (const std::vector<std::string>& argv :
       {std::vector<std::string>{"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir / "ca"},
        std::vector<std::string>{"ssh-keygen", "-q", "-s", dir / "ca", "-I", "test", "-n", "alice",
                                 "-V", "+1h", dir / "id.pub"}}) {
    RunResult r = RunCommand(argv, std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 0) << Describe(argv, r);
  }
  out.cert_line = TrimRight(testutil::ReadFile(dir / "id-cert.pub"));
  const std::string base64 = TypeAndBase64(out.cert_line).substr(out.cert_line.find(' ') + 1);
  EXPECT_TRUE(sshkey::Base64DecodeStrict(base64, &out.cert_blob)) << out.cert_line;
  return out;
}

TEST(SshAgentTest, TheMessageCarriesTheCertificateBothHalvesAndTheLifetime) {
  TempDir dir;
  Certified c = MakeCertified(dir);
  ASSERT_NE(c.key, nullptr);
  StatusOr<SecretString> message = AddCertificateMessage(*c.key, c.cert_blob, "comment", 90);
  ASSERT_TRUE(message.ok()) << message.status().message();
  sshkey::WireReader r(message->view());
  uint8_t type = 0;
  std::string_view key_type, cert, pub, both, comment;
  ASSERT_TRUE(r.ReadU8(&type));
  EXPECT_EQ(type, kSshAgentcAddIdConstrained);
  ASSERT_TRUE(r.ReadString(&key_type) && r.ReadString(&cert) && r.ReadString(&pub) &&
              r.ReadString(&both) && r.ReadString(&comment));
  EXPECT_EQ(key_type, "ssh-ed25519-cert-v01@openssh.com");
  EXPECT_EQ(cert, c.cert_blob);
  ASSERT_EQ(pub.size(), 32u);
  ASSERT_EQ(both.size(), 64u);
  EXPECT_EQ(both.substr(32), pub);
  // ENC(A) is the key the certificate certifies.
  EXPECT_EQ(sshkey::ParseCertificate(c.cert_blob).value().key_blob.substr(4 + 11 + 4), pub);
  EXPECT_EQ(comment, "comment");
  uint8_t constraint = 0;
  uint32_t seconds = 0;
  ASSERT_TRUE(r.ReadU8(&constraint) && r.ReadU32(&seconds));
  EXPECT_EQ(constraint, kSshAgentConstrainLifetime);
  EXPECT_EQ(seconds, 90u);
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(AddCertificateMessage(*c.key, c.cert_blob, "comment", 0).ok());
}

// A real ssh-agent and a certified key, for each test.
class RealAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    agent_ = testutil::SshAgent::Start(dir_, &error);
    ASSERT_NE(agent_, nullptr) << error;
    c_ = MakeCertified(dir_);
    ASSERT_NE(c_.key, nullptr);
  }

  TempDir dir_;
  std::unique_ptr<testutil::SshAgent> agent_;
  Certified c_;
};

TEST_F(RealAgentTest, ListsTheCertificateAndSignsWithTheKey) {
  Status s = AddCertificateToAgent(agent_->socket(), *c_.key, c_.cert_blob, "keypaird-login", 3600);
  ASSERT_TRUE(s.ok()) << s.message();

  RunResult listed = agent_->Run({"ssh-add", "-L"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find(TypeAndBase64(c_.cert_line)), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("keypaird-login"), std::string::npos) << listed.out;

  // The private half in the agent is the one certified: a signature it makes with the
  // certificate's identity verifies against the key the certificate holds.
  ASSERT_TRUE(testutil::WriteFile(dir_ / "data", "signed by the agent\n", 0600));
  RunResult signed_ = agent_->Run(
      {"ssh-keygen", "-Y", "sign", "-f", dir_ / "id-cert.pub", "-n", "file", dir_ / "data"});
  ASSERT_EQ(signed_.exit_code, 0) << signed_.err;
  RunResult verified = RunCommand({"sh", "-c",
                                   "ssh-keygen -Y check-novalidate -n file -s '" +
                                       dir_ / "data.sig" + "' < '" + dir_ / "data" + "'"},
                                  std::chrono::seconds(30));
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_NE(verified.out.find("Good \"file\" signature"), std::string::npos) << verified.out;
}

TEST_F(RealAgentTest, ForgetsTheKeyWhenItsLifetimeEnds) {
  ASSERT_TRUE(AddCertificateToAgent(agent_->socket(), *c_.key, c_.cert_blob, "short", 2).ok());
  EXPECT_EQ(agent_->Run({"ssh-add", "-L"}).exit_code, 0);
  std::this_thread::sleep_for(std::chrono::seconds(3));  // the one bounded wait
  RunResult after = agent_->Run({"ssh-add", "-L"});
  EXPECT_EQ(after.exit_code, 1) << after.out;
  EXPECT_EQ(after.out.find(TypeAndBase64(c_.cert_line)), std::string::npos) << after.out;
}

TEST(SshAgentTest, NoAgentAtTheSocketIsUnavailable) {
  TempDir dir;
  Certified c = MakeCertified(dir);
  ASSERT_NE(c.key, nullptr);
  Status s = AddCertificateToAgent(dir / "nothing.sock", *c.key, c.cert_blob, "x", 60);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.message();
  EXPECT_NE(s.message().find(dir / "nothing.sock"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace keypaird::cli
