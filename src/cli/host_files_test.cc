// The files of `keypaird host enroll` (cli/host_files.h) against real host keys and host
// certificates made by ssh-keygen.
#include "cli/host_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

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

const std::vector<std::string> kKeyTypes = {"ecdsa", "ed25519", "rsa"};  // file name order

void RunOk(const std::vector<std::string>& argv) {
  const RunResult r = RunCommand(argv);
  ASSERT_EQ(r.exit_code, 0) << Describe(argv, r);
}

class HostFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    std::filesystem::create_directories(ssh_dir_);
    std::filesystem::create_directories(sign_dir_);
    for (const std::string& type : kKeyTypes) {
      std::vector<std::string> argv = {"ssh-keygen", "-q", "-t",        type, "-N",
                                       "",           "-C", "root@host", "-f", KeyPath(type)};
      if (type == "rsa") argv.insert(argv.begin() + 4, {"-b", "2048"});
      ASSERT_NO_FATAL_FAILURE(RunOk(argv));
    }
    ASSERT_NO_FATAL_FAILURE(
        RunOk({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir_ / "host_ca"}));
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

  TempDir dir_;
  std::string ssh_dir_ = dir_ / "ssh";
  std::string sign_dir_ = dir_ / "sign";
};

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
}

}  // namespace
}  // namespace keypaird::cli
