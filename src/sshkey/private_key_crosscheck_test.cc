// Private keys of every type and format, read back by the tools people will use them
// with: ssh-keygen (OpenSSH 9.2), openssl (3.0), puttygen (0.78) and a real sshd; and
// keys made by ssh-keygen read by our OpenSSH reader. Needs openssh-client,
// openssh-server, openssl and putty-tools; every child process is bounded in time.
//
// "Gives back the public key" shows a tool parsed the file (and, encrypted, decrypted
// it); that the private half is right too is shown by a signature: ssh-keygen -Y sign
// with the file (or the tool's decrypted conversion of it) verified against our public
// key, by openssl pkey -check, and by logging in to sshd.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sshkey/openssh_private_key.h"
#include "sshkey/private_key.h"
#include "sshkey/private_key_testing.h"
#include "sshkey/sshkey.h"
#include "testing/openssh_harness.h"

namespace keypaird::sshkey {
namespace {

using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)
using testing_keys::IdentifierOf;
using testing_keys::kAllTypes;
using testing_keys::KeyOf;
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

using testing_keys::kPassphrase;
using testing_keys::kWrongPassphrase;

constexpr char kComment[] = "crosscheck@keypaird";

// The public key `openssl pkey ... -pubout` prints, as "TYPE BASE64".
std::string OpensslPublicKey(const std::string& path, std::string_view passphrase) {
  std::vector<std::string> argv = {"openssl", "pkey", "-in", path, "-pubout"};
  if (!passphrase.empty()) argv.insert(argv.end(), {"-passin", "pass:" + std::string(passphrase)});
  RunResult r = RunCommand(argv, 60s);
  EXPECT_EQ(r.exit_code, 0) << Describe(argv, r);
  StatusOr<PublicKey> key = ParsePublicKey(r.out);
  EXPECT_TRUE(key.ok()) << key.status().message() << "\n" << r.out;
  return key.ok() ? key->line : "";
}

// Signs a message with the private key at `path` (unencrypted; a `path`.pub holding
// `public_line` is written for ssh-keygen) and verifies the signature against
// `public_line`: the private half is the public key's.
void ExpectSignatureVerifies(const TempDir& dir, const std::string& path,
                             const std::string& public_line) {
  const std::string message = "keypaird cross-check message\n";
  const std::string data = dir / "message";
  const std::string allowed = dir / "allowed_signers";
  ASSERT_TRUE(WriteFile(path + ".pub", public_line + "\n", 0644));
  ASSERT_TRUE(WriteFile(data, message, 0644));
  ASSERT_TRUE(WriteFile(allowed, "signer@keypaird " + TypeAndBase64(public_line) + "\n", 0644));
  std::vector<std::string> sign = {"ssh-keygen", "-Y", "sign", "-f", path, "-n", "keypaird", data};
  RunResult r = RunCommand(sign, 60s);
  ASSERT_EQ(r.exit_code, 0) << Describe(sign, r);
  std::vector<std::string> verify = {"ssh-keygen",      "-Y", "verify",   "-f", allowed,      "-I",
                                     "signer@keypaird", "-n", "keypaird", "-s", data + ".sig"};
  r = RunCommand(verify, 60s, message);
  EXPECT_EQ(r.exit_code, 0) << Describe(verify, r);
}

// `ssh-keygen -y -f path [-P passphrase]` prints `public_line` (type and base64).
void ExpectSshKeygenPublicKey(const std::string& path, std::string_view passphrase,
                              const std::string& public_line) {
  std::vector<std::string> y = {"ssh-keygen", "-y", "-f", path};
  if (!passphrase.empty()) y.insert(y.end(), {"-P", std::string(passphrase)});
  RunResult r = RunCommand(y, 60s);
  ASSERT_EQ(r.exit_code, 0) << Describe(y, r);
  EXPECT_EQ(TypeAndBase64(TrimRight(r.out)), TypeAndBase64(public_line));
}

// `ssh-keygen -y` refuses `path` with a wrong passphrase.
void ExpectSshKeygenRefusesPassphrase(const std::string& path) {
  std::vector<std::string> y = {"ssh-keygen", "-y", "-P", kWrongPassphrase, "-f", path};
  RunResult r = RunCommand(y, 60s);
  EXPECT_NE(r.exit_code, 0) << Describe(y, r);
  EXPECT_NE(r.err.find("incorrect passphrase"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

// Each test exports KeyOf(GetParam()) into a file of its own temporary directory.
class PerTypeTest : public testing::TestWithParam<KeyType> {
 protected:
  void SetUp() override { ASSERT_TRUE(dir_.ok()); }

  // Writes the key in `format` to `path_` (mode 0600) and returns the export.
  GeneratedKey Export(PrivateKeyFormat format, std::string_view passphrase) {
    StatusOr<GeneratedKey> out = ExportPrivateKey(KeyOf(GetParam()), kComment, format, passphrase);
    EXPECT_TRUE(out.ok()) << out.status().message();
    if (!out.ok()) return {};
    EXPECT_TRUE(WriteFile(path_, out->private_key.view(), 0600));
    return std::move(*out);
  }

  TempDir dir_;
  const std::string path_ = dir_ / "id";
};

std::string TypeCaseName(const testing::TestParamInfo<KeyType>& info) {
  return IdentifierOf(info.param);
}

// ---------------------------------------------------------------------------------------
// OpenSSH format: ssh-keygen.

using OpenSshFormatTest = PerTypeTest;

TEST_P(OpenSshFormatTest, SshKeygenReadsThePlainKey) {
  GeneratedKey key = Export(PrivateKeyFormat::kOpenSsh, "");
  ExpectSshKeygenPublicKey(path_, "", key.public_key.line);

  // The fingerprint, and the comment stored in the private key.
  std::vector<std::string> fp = {"ssh-keygen", "-l", "-E", "md5", "-f", path_};
  RunResult r = RunCommand(fp, 60s);
  ASSERT_EQ(r.exit_code, 0) << Describe(fp, r);
  EXPECT_EQ(Md5FromSshKeygen(r.out), key.public_key.fingerprint) << r.out;
  EXPECT_NE(r.out.find(std::string(" ") + kComment + " ("), std::string::npos) << r.out;

  ExpectSignatureVerifies(dir_, path_, key.public_key.line);
}

TEST_P(OpenSshFormatTest, SshKeygenDecryptsTheEncryptedKey) {
  GeneratedKey key = Export(PrivateKeyFormat::kOpenSsh, kPassphrase);
  ExpectSshKeygenPublicKey(path_, kPassphrase, key.public_key.line);
  ExpectSshKeygenRefusesPassphrase(path_);

  // ssh-keygen -p rewrites it unencrypted: the decrypted private half signs.
  std::vector<std::string> decrypt = {"ssh-keygen", "-p", "-P", kPassphrase, "-N", "", "-f", path_};
  RunResult r = RunCommand(decrypt, 60s);
  ASSERT_EQ(r.exit_code, 0) << Describe(decrypt, r);
  ExpectSignatureVerifies(dir_, path_, key.public_key.line);
}

INSTANTIATE_TEST_SUITE_P(Types, OpenSshFormatTest, testing::ValuesIn(kAllTypes), TypeCaseName);

// ---------------------------------------------------------------------------------------
// PKCS#8: openssl, and ssh-keygen where it reads PKCS#8.

// OpenSSH 9.2 reads PKCS#8 RSA and ECDSA keys but not Ed25519 ones ("invalid format");
// those are checked with openssl only.
bool SshKeygenReadsPkcs8(KeyType type) { return type != KeyType::kEd25519; }

using Pkcs8FormatTest = PerTypeTest;

TEST_P(Pkcs8FormatTest, OpensslAndSshKeygenReadThePlainKey) {
  GeneratedKey key = Export(PrivateKeyFormat::kPkcs8, "");
  EXPECT_EQ(OpensslPublicKey(path_, ""), TypeAndBase64(key.public_key.line));
  std::vector<std::string> check = {"openssl", "pkey", "-in", path_, "-check", "-noout"};
  RunResult r = RunCommand(check, 60s);
  EXPECT_EQ(r.exit_code, 0) << Describe(check, r);
  EXPECT_NE(r.out.find("Key is valid"), std::string::npos) << r.out;

  if (!SshKeygenReadsPkcs8(GetParam())) {
    std::vector<std::string> y = {"ssh-keygen", "-y", "-f", path_};
    r = RunCommand(y, 60s);
    EXPECT_NE(r.exit_code, 0) << "ssh-keygen reads Ed25519 PKCS#8 now: check it\n"
                              << Describe(y, r);
    return;
  }
  ExpectSshKeygenPublicKey(path_, "", key.public_key.line);
  ExpectSignatureVerifies(dir_, path_, key.public_key.line);
}

TEST_P(Pkcs8FormatTest, OpensslAndSshKeygenDecryptTheEncryptedKey) {
  GeneratedKey key = Export(PrivateKeyFormat::kPkcs8, kPassphrase);

  // PBES2: PBKDF2 with HMAC-SHA256, 600000 (0x927c0) iterations, and AES-256-CBC.
  std::vector<std::string> parse = {"openssl", "asn1parse", "-in", path_};
  RunResult r = RunCommand(parse, 60s);
  ASSERT_EQ(r.exit_code, 0) << Describe(parse, r);
  for (std::string_view want :
       {":PBES2", ":PBKDF2", ":hmacWithSHA256", ":aes-256-cbc", ":0927C0"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  }

  EXPECT_EQ(OpensslPublicKey(path_, kPassphrase), TypeAndBase64(key.public_key.line));
  std::vector<std::string> wrong = {"openssl",
                                    "pkey",
                                    "-in",
                                    path_,
                                    "-pubout",
                                    "-passin",
                                    std::string("pass:") + kWrongPassphrase};
  r = RunCommand(wrong, 60s);
  EXPECT_NE(r.exit_code, 0) << Describe(wrong, r);
  EXPECT_EQ(r.out.find("PUBLIC KEY"), std::string::npos) << r.out;

  // openssl decrypts it to a plain PKCS#8 key whose private half checks and signs.
  const std::string plain = dir_ / "plain.pem";
  std::vector<std::string> decrypt = {"openssl", "pkey",    "-in",
                                      path_,     "-passin", std::string("pass:") + kPassphrase,
                                      "-out",    plain};
  r = RunCommand(decrypt, 60s);
  ASSERT_EQ(r.exit_code, 0) << Describe(decrypt, r);
  std::vector<std::string> check = {"openssl", "pkey", "-in", plain, "-check", "-noout"};
  r = RunCommand(check, 60s);
  EXPECT_EQ(r.exit_code, 0) << Describe(check, r);

  if (!SshKeygenReadsPkcs8(GetParam())) return;
  ExpectSshKeygenPublicKey(path_, kPassphrase, key.public_key.line);
  ExpectSshKeygenRefusesPassphrase(path_);
  ExpectSignatureVerifies(dir_, plain, key.public_key.line);
}

INSTANTIATE_TEST_SUITE_P(Types, Pkcs8FormatTest, testing::ValuesIn(kAllTypes), TypeCaseName);

// ---------------------------------------------------------------------------------------
// PPK 3: puttygen.

using PpkFormatTest = PerTypeTest;

// puttygen converts `ppk` to an unencrypted OpenSSH key at `out`; needs `passphrase` to
// decrypt (and checks the MAC either way).
RunResult PuttygenToOpenSsh(const TempDir& dir, const std::string& ppk, const std::string& out,
                            std::string_view passphrase) {
  const std::string old_pass = dir / "old-passphrase";
  const std::string new_pass = dir / "new-passphrase";
  EXPECT_TRUE(WriteFile(old_pass, passphrase, 0600));
  EXPECT_TRUE(WriteFile(new_pass, "", 0600));
  std::vector<std::string> argv = {"puttygen",
                                   ppk,
                                   "-O",
                                   "private-openssh-new",
                                   "-o",
                                   out,
                                   "--old-passphrase",
                                   old_pass,
                                   "--new-passphrase",
                                   new_pass};
  RunResult r = RunCommand(argv, 60s);
  if (r.exit_code != 0) r.err = Describe(argv, r);
  return r;
}

void ExpectPuttygenPublicKey(const std::string& ppk, const std::string& public_line) {
  // The public half of a PPK is in clear text: no passphrase is needed for it.
  std::vector<std::string> pub = {"puttygen", ppk, "-O", "public-openssh"};
  RunResult r = RunCommand(pub, 60s);
  ASSERT_EQ(r.exit_code, 0) << Describe(pub, r);
  EXPECT_EQ(TypeAndBase64(TrimRight(r.out)), TypeAndBase64(public_line));
  EXPECT_EQ(TrimRight(r.out), public_line);  // PuTTY keeps the comment too
}

TEST_P(PpkFormatTest, PuttygenReadsThePlainKey) {
  GeneratedKey key = Export(PrivateKeyFormat::kPpk, "");
  ExpectPuttygenPublicKey(path_, key.public_key.line);

  const std::string converted = dir_ / "converted";
  RunResult r = PuttygenToOpenSsh(dir_, path_, converted, "");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectSignatureVerifies(dir_, converted, key.public_key.line);
}

TEST_P(PpkFormatTest, PuttygenDecryptsTheEncryptedKey) {
  GeneratedKey key = Export(PrivateKeyFormat::kPpk, kPassphrase);
  ExpectPuttygenPublicKey(path_, key.public_key.line);

  const std::string converted = dir_ / "converted";
  RunResult r = PuttygenToOpenSsh(dir_, path_, converted, kWrongPassphrase);
  EXPECT_NE(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("wrong passphrase"), std::string::npos) << r.err;

  r = PuttygenToOpenSsh(dir_, path_, converted, kPassphrase);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectSignatureVerifies(dir_, converted, key.public_key.line);
}

INSTANTIATE_TEST_SUITE_P(Types, PpkFormatTest, testing::ValuesIn(kAllTypes), TypeCaseName);

// ---------------------------------------------------------------------------------------
// A real sshd.

TEST(GeneratedKeyLoginTest, EveryTypeLogsInToSshd) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  std::string authorized;
  std::vector<std::string> paths;
  for (KeyType type : kAllTypes) {
    StatusOr<GeneratedKey> key =
        ExportPrivateKey(KeyOf(type), kComment, PrivateKeyFormat::kOpenSsh, "");
    ASSERT_TRUE(key.ok()) << key.status().message();
    paths.push_back(dir / ("id_" + IdentifierOf(type)));
    ASSERT_TRUE(WriteFile(paths.back(), key->private_key.view(), 0600));
    authorized += key->public_key.line + "\n";
  }
  StatusOr<PrivateKey> stranger_key = GeneratePrivateKey(KeyType::kEcdsaP256);
  ASSERT_TRUE(stranger_key.ok());
  const std::string stranger = dir / "stranger";
  StatusOr<GeneratedKey> stranger_out =
      ExportPrivateKey(*stranger_key, "stranger", PrivateKeyFormat::kOpenSsh, "");
  ASSERT_TRUE(stranger_out.ok());
  ASSERT_TRUE(WriteFile(stranger, stranger_out->private_key.view(), 0600));
  const std::string authorized_keys = dir / "authorized_keys";
  ASSERT_TRUE(WriteFile(authorized_keys, authorized, 0600));

  std::string error;
  std::unique_ptr<Sshd> sshd = Sshd::Start(dir, authorized_keys, &error);
  ASSERT_NE(sshd, nullptr) << error;
  for (const std::string& path : paths) {
    SCOPED_TRACE(path);
    std::vector<std::string> login = SshLogin(path, sshd->port());
    RunResult r = RunCommand(login, 30s);
    EXPECT_EQ(r.exit_code, 0) << Describe(login, r) << "\nsshd log:\n" << sshd->Log();
    EXPECT_EQ(r.out, "keypaird-login-ok\n");
  }
  std::vector<std::string> refused = SshLogin(stranger, sshd->port());
  RunResult r = RunCommand(refused, 30s);
  EXPECT_NE(r.exit_code, 0) << Describe(refused, r);
  EXPECT_NE(r.err.find("Permission denied"), std::string::npos) << r.err;
}

// ---------------------------------------------------------------------------------------
// Keys made by ssh-keygen, read by ReadOpenSshPrivateKey.

struct KeygenType {
  KeyType type;
  std::string keygen_type;
  std::string bits;
};

class OpenSshReaderInteropTest : public testing::TestWithParam<KeygenType> {};

TEST_P(OpenSshReaderInteropTest, ReadsWhatSshKeygenWrites) {
  const KeygenType& c = GetParam();
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  for (std::string_view passphrase : {"", kPassphrase}) {
    SCOPED_TRACE(passphrase.empty() ? "plain" : "encrypted");
    const std::string path = dir / (passphrase.empty() ? "plain" : "encrypted");
    std::vector<std::string> gen = {"ssh-keygen", "-q",
                                    "-t",         c.keygen_type,
                                    "-b",         c.bits,
                                    "-N",         std::string(passphrase),
                                    "-C",         "made by ssh-keygen",
                                    "-f",         path};
    RunResult r = RunCommand(gen, 120s);
    ASSERT_EQ(r.exit_code, 0) << Describe(gen, r);
    const std::string pub = TrimRight(ReadFile(path + ".pub"));

    StatusOr<OpenSshPrivateKey> read = ReadOpenSshPrivateKey(ReadFile(path), passphrase);
    ASSERT_TRUE(read.ok()) << read.status().message();
    EXPECT_EQ(read->key.type(), c.type);
    EXPECT_EQ(read->comment, "made by ssh-keygen");
    StatusOr<PublicKey> public_key = PublicKeyOf(read->key, read->comment);
    ASSERT_TRUE(public_key.ok()) << public_key.status().message();
    EXPECT_EQ(public_key->line, pub);

    if (!passphrase.empty()) {
      StatusOr<OpenSshPrivateKey> wrong = ReadOpenSshPrivateKey(ReadFile(path), kWrongPassphrase);
      ASSERT_FALSE(wrong.ok());
      EXPECT_EQ(wrong.status().message(),
                "wrong passphrase, or the OpenSSH private key is corrupted");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, OpenSshReaderInteropTest,
                         testing::Values(KeygenType{KeyType::kEd25519, "ed25519", "256"},
                                         KeygenType{KeyType::kEcdsaP256, "ecdsa", "256"},
                                         KeygenType{KeyType::kEcdsaP384, "ecdsa", "384"},
                                         KeygenType{KeyType::kEcdsaP521, "ecdsa", "521"},
                                         KeygenType{KeyType::kRsa2048, "rsa", "2048"},
                                         KeygenType{KeyType::kRsa3072, "rsa", "3072"}),
                         [](const auto& info) { return IdentifierOf(info.param.type); });

}  // namespace
}  // namespace keypaird::sshkey
