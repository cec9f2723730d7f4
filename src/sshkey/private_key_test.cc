// Unit tests of private_key.h and openssh_private_key.h: every key type in every format,
// plain and encrypted, read back by our own OpenSSH reader, by OpenSSL (PKCS#8) and by a
// PPK reader written here from PuTTY's format description; the reader's refusals.
#include "sshkey/private_key.h"

#include <argon2.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "sshkey/openssh_private_key.h"
#include "sshkey/openssl_util.h"
#include "sshkey/private_key_internal.h"
#include "sshkey/private_key_testing.h"
#include "sshkey/sshkey.h"
#include "sshkey/wire.h"

namespace keypaird::sshkey {
namespace {

using namespace std::string_literals;  // NOLINT(google-build-using-namespace)
using testing_keys::IdentifierOf;
using testing_keys::kAllFormats;
using testing_keys::kAllTypes;
using testing_keys::KeyOf;
using testing_keys::kPassphrase;
using testing_keys::kWrongPassphrase;
using testing_keys::TypeAndBase64;

constexpr char kComment[] = "alice@laptop";

struct Expected {
  std::string ssh_type;
  int bits;
};

Expected ExpectedOf(KeyType type) {
  switch (type) {
    case KeyType::kEd25519:
      return {"ssh-ed25519", 256};
    case KeyType::kEcdsaP256:
      return {"ecdsa-sha2-nistp256", 256};
    case KeyType::kEcdsaP384:
      return {"ecdsa-sha2-nistp384", 384};
    case KeyType::kEcdsaP521:
      return {"ecdsa-sha2-nistp521", 521};
    case KeyType::kRsa2048:
      return {"ssh-rsa", 2048};
    case KeyType::kRsa3072:
      return {"ssh-rsa", 3072};
    case KeyType::kRsa4096:
      return {"ssh-rsa", 4096};
  }
  return {};
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

std::string Decode64(std::string_view b64) {
  std::string out;
  EXPECT_TRUE(Base64DecodeStrict(b64, &out));
  return out;
}

// The binary inside an OpenSSH private key's armour; checks the 70-column layout.
std::string OpenSshBinary(std::string_view pem) {
  std::vector<std::string_view> lines = Lines(pem);
  std::string b64;
  EXPECT_GE(lines.size(), 3u);
  if (lines.size() < 3) return "";
  EXPECT_EQ(lines.front(), "-----BEGIN OPENSSH PRIVATE KEY-----");
  EXPECT_EQ(lines.back(), "-----END OPENSSH PRIVATE KEY-----");
  for (size_t i = 1; i + 1 < lines.size(); ++i) {
    if (i + 2 < lines.size()) {
      EXPECT_EQ(lines[i].size(), 70u);
    } else {
      EXPECT_LE(lines[i].size(), 70u);
    }
    b64.append(lines[i]);
  }
  return Decode64(b64);
}

std::string Armour(std::string_view binary) {
  std::string b64 = Base64Encode(binary);
  std::string out = "-----BEGIN OPENSSH PRIVATE KEY-----\n";
  for (size_t i = 0; i < b64.size(); i += 70) out += b64.substr(i, 70) + "\n";
  return out + "-----END OPENSSH PRIVATE KEY-----\n";
}

struct OpenSshFields {
  std::string cipher, kdf, kdf_options, public_blob, private_section;
  uint32_t keys = 0;
};

OpenSshFields ParseOpenSshBinary(std::string_view bin) {
  OpenSshFields f;
  EXPECT_TRUE(bin.starts_with("openssh-key-v1\0"s));
  WireReader r(bin.substr(15));
  std::string_view cipher, kdf, options, pub, priv;
  EXPECT_TRUE(r.ReadString(&cipher) && r.ReadString(&kdf) && r.ReadString(&options) &&
              r.ReadU32(&f.keys) && r.ReadString(&pub) && r.ReadString(&priv) && r.empty());
  f.cipher = cipher;
  f.kdf = kdf;
  f.kdf_options = options;
  f.public_blob = pub;
  f.private_section = priv;
  return f;
}

std::string RebuildOpenSshBinary(const OpenSshFields& f) {
  std::string out("openssh-key-v1\0"s);
  AppendString(&out, f.cipher);
  AppendString(&out, f.kdf);
  AppendString(&out, f.kdf_options);
  AppendU32(&out, f.keys);
  AppendString(&out, f.public_blob);
  AppendString(&out, f.private_section);
  return out;
}

// The SPKI of a key OpenSSL read, as ParsePublicKey's "TYPE BASE64".
std::string PublicLineOf(EVP_PKEY* pkey) {
  std::unique_ptr<BIO, OpenSslDeleter<BIO, BIO_free_all>> bio(BIO_new(BIO_s_mem()));
  EXPECT_EQ(PEM_write_bio_PUBKEY(bio.get(), pkey), 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);  // NOLINT(google-runtime-int)
  StatusOr<PublicKey> key = ParsePublicKey(std::string(data, static_cast<size_t>(n)));
  EXPECT_TRUE(key.ok()) << key.status().message();
  return key.ok() ? key->line : "";
}

PkeyPtr ReadPkcs8(std::string_view pem, const std::string& passphrase) {
  std::unique_ptr<BIO, OpenSslDeleter<BIO, BIO_free_all>> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return PkeyPtr(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, const_cast<char*>(passphrase.c_str())));
}

// ---------------------------------------------------------------------------------------
// A PPK 3 reader written from PuTTY's appendix C, independently of the writer: it parses
// the headers, derives the keys with Argon2id, decrypts, checks the MAC, and returns the
// private blob's plaintext (empty on any failure, with a reason in *error).

struct Ppk {
  std::map<std::string, std::string> headers;
  std::string public_blob;
  std::string private_plain;
};

std::optional<Ppk> ReadPpk(std::string_view text, const std::string& passphrase,
                           std::string* error) {
  Ppk ppk;
  std::vector<std::string_view> lines = Lines(text);
  size_t i = 0;
  auto header = [&](std::string_view name) -> std::optional<std::string> {
    if (i >= lines.size() || !lines[i].starts_with(std::string(name) + ": ")) {
      *error = "expected header " + std::string(name) + " at line " + std::to_string(i + 1);
      return std::nullopt;
    }
    std::string value(lines[i].substr(name.size() + 2));
    ppk.headers[std::string(name)] = value;
    ++i;
    return value;
  };
  auto block = [&](std::string_view name, std::string* out) {
    std::optional<std::string> count = header(name);
    if (!count) return false;
    std::string b64;
    for (int k = 0; k < std::stoi(*count); ++k, ++i) {
      if (i >= lines.size() || lines[i].size() > 64) {
        *error = "bad base64 line";
        return false;
      }
      if (k + 1 < std::stoi(*count) && lines[i].size() != 64) {
        *error = "short base64 line";
        return false;
      }
      b64.append(lines[i]);
    }
    return Base64DecodeStrict(b64, out);
  };
  std::optional<std::string> type = header("PuTTY-User-Key-File-3");
  std::optional<std::string> encryption = header("Encryption");
  std::optional<std::string> comment = header("Comment");
  if (!type || !encryption || !comment || !block("Public-Lines", &ppk.public_blob)) return {};
  std::array<uint8_t, 80> keys{};
  size_t mac_key_size = 0;
  if (*encryption == "aes256-cbc") {
    std::optional<std::string> kdf = header("Key-Derivation");
    std::optional<std::string> memory = header("Argon2-Memory");
    std::optional<std::string> passes = header("Argon2-Passes");
    std::optional<std::string> parallelism = header("Argon2-Parallelism");
    std::optional<std::string> salt_hex = header("Argon2-Salt");
    if (!kdf || !memory || !passes || !parallelism || !salt_hex || *kdf != "Argon2id") return {};
    std::string salt;
    for (size_t k = 0; k + 1 < salt_hex->size(); k += 2) {
      salt.push_back(static_cast<char>(std::stoi(salt_hex->substr(k, 2), nullptr, 16)));
    }
    if (argon2id_hash_raw(std::stoul(*passes), std::stoul(*memory), std::stoul(*parallelism),
                          passphrase.data(), passphrase.size(), salt.data(), salt.size(),
                          keys.data(), keys.size()) != ARGON2_OK) {
      *error = "argon2 failed";
      return {};
    }
    mac_key_size = 32;
  } else if (*encryption != "none") {
    *error = "unknown encryption";
    return {};
  }
  std::string priv;
  if (!block("Private-Lines", &priv)) return {};
  std::optional<std::string> mac_hex = header("Private-MAC");
  if (!mac_hex || i != lines.size() || !text.ends_with("\n")) {
    *error = "trailing text or no final newline";
    return {};
  }
  if (mac_key_size != 0) {
    if (priv.size() % 16 != 0) return {};
    CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    int len = 0;
    auto* p = reinterpret_cast<unsigned char*>(priv.data());
    EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, keys.data(), keys.data() + 32);
    EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
    EVP_DecryptUpdate(ctx.get(), p, &len, p, static_cast<int>(priv.size()));
  }
  std::string mac_input;
  for (std::string_view s :
       {std::string_view(*type), std::string_view(*encryption), std::string_view(*comment),
        std::string_view(ppk.public_blob), std::string_view(priv)}) {
    AppendString(&mac_input, s);
  }
  unsigned char mac[32];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), keys.data() + 48, static_cast<int>(mac_key_size),
       reinterpret_cast<const unsigned char*>(mac_input.data()), mac_input.size(), mac, &mac_len);
  std::string hex;
  for (unsigned char c : mac)
    hex += "0123456789abcdef"s[c >> 4], hex += "0123456789abcdef"s[c & 15];
  if (hex != *mac_hex) {
    *error = "MAC mismatch";
    return {};
  }
  ppk.private_plain = priv;
  return ppk;
}

// The private parts PuTTY stores for `pkey`, read through OpenSSL's own parameters.
std::string ExpectedPpkPrivateBlob(KeyType type, const EVP_PKEY* pkey) {
  std::string out;
  auto mpint = [&](const char* name) {
    BIGNUM* bn = nullptr;
    EXPECT_EQ(EVP_PKEY_get_bn_param(pkey, name, &bn), 1) << name;
    EXPECT_TRUE(AppendMpint(&out, bn));
    BN_clear_free(bn);
  };
  switch (type) {
    case KeyType::kEd25519: {
      unsigned char seed[32];
      size_t len = sizeof(seed);
      EXPECT_EQ(EVP_PKEY_get_raw_private_key(pkey, seed, &len), 1);
      AppendString(&out, seed, len);
      break;
    }
    case KeyType::kEcdsaP256:
    case KeyType::kEcdsaP384:
    case KeyType::kEcdsaP521:
      mpint(OSSL_PKEY_PARAM_PRIV_KEY);
      break;
    case KeyType::kRsa2048:
    case KeyType::kRsa3072:
    case KeyType::kRsa4096:
      mpint(OSSL_PKEY_PARAM_RSA_D);
      mpint(OSSL_PKEY_PARAM_RSA_FACTOR1);
      mpint(OSSL_PKEY_PARAM_RSA_FACTOR2);
      mpint(OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
      break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Names.

TEST(KeyTypeTest, NamesRoundTrip) {
  const std::vector<std::string> names = {"ed25519",  "ecdsa-p256", "ecdsa-p384", "ecdsa-p521",
                                          "rsa-2048", "rsa-3072",   "rsa-4096"};
  for (size_t i = 0; i < names.size(); ++i) {
    std::optional<KeyType> type = ParseKeyType(names[i]);
    ASSERT_TRUE(type.has_value()) << names[i];
    EXPECT_EQ(*type, kAllTypes[i]);
    EXPECT_EQ(KeyTypeName(*type), names[i]);
  }
  for (std::string_view bad : {"", "ED25519", "rsa", "rsa-1024", "ecdsa", "ssh-ed25519", "dsa"}) {
    EXPECT_FALSE(ParseKeyType(bad).has_value()) << bad;
  }
}

TEST(PrivateKeyFormatTest, NamesRoundTrip) {
  const std::vector<std::string> names = {"openssh", "pkcs8", "ppk"};
  for (size_t i = 0; i < names.size(); ++i) {
    std::optional<PrivateKeyFormat> format = ParsePrivateKeyFormat(names[i]);
    ASSERT_TRUE(format.has_value()) << names[i];
    EXPECT_EQ(*format, kAllFormats[i]);
    EXPECT_EQ(PrivateKeyFormatName(*format), names[i]);
  }
  for (std::string_view bad : {"", "OpenSSH", "pem", "pkcs1", "putty", "ppk2"}) {
    EXPECT_FALSE(ParsePrivateKeyFormat(bad).has_value()) << bad;
  }
}

// ---------------------------------------------------------------------------------------
// Every type x format x (plain, encrypted).

struct ExportCase {
  KeyType type;
  PrivateKeyFormat format;
  bool encrypted;
};

std::string CaseName(const ExportCase& c) {
  return IdentifierOf(c.type) + "_" + std::string(PrivateKeyFormatName(c.format)) +
         (c.encrypted ? "_encrypted" : "_plain");
}

void PrintTo(const ExportCase& c, std::ostream* os) { *os << CaseName(c); }

std::vector<ExportCase> AllCases() {
  std::vector<ExportCase> cases;
  for (KeyType type : kAllTypes) {
    for (PrivateKeyFormat format : kAllFormats) {
      cases.push_back({type, format, false});
      cases.push_back({type, format, true});
    }
  }
  return cases;
}

class ExportTest : public testing::TestWithParam<ExportCase> {};

TEST_P(ExportTest, WritesAKeyThatReadsBack) {
  const ExportCase& c = GetParam();
  const PrivateKey& key = KeyOf(c.type);
  const std::string passphrase = c.encrypted ? kPassphrase : "";
  StatusOr<GeneratedKey> out = ExportPrivateKey(key, kComment, c.format, passphrase);
  ASSERT_TRUE(out.ok()) << out.status().message();

  // The public half is ParsePublicKey's normal form of itself, with our comment.
  const Expected expected = ExpectedOf(c.type);
  EXPECT_EQ(out->public_key.type, expected.ssh_type);
  EXPECT_EQ(out->public_key.bits, expected.bits);
  EXPECT_EQ(out->public_key.comment, kComment);
  StatusOr<PublicKey> reparsed = ParsePublicKey(out->public_key.line);
  ASSERT_TRUE(reparsed.ok()) << reparsed.status().message();
  EXPECT_EQ(reparsed->line, out->public_key.line);
  EXPECT_EQ(reparsed->fingerprint, out->public_key.fingerprint);
  StatusOr<PublicKey> again = PublicKeyOf(key, kComment);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->line, out->public_key.line);

  const std::string_view text = out->private_key.view();
  ASSERT_TRUE(text.ends_with("\n"));
  switch (c.format) {
    case PrivateKeyFormat::kOpenSsh: {
      OpenSshFields f = ParseOpenSshBinary(OpenSshBinary(text));
      EXPECT_EQ(f.keys, 1u);
      EXPECT_EQ(f.public_blob, out->public_key.blob);
      if (c.encrypted) {
        EXPECT_EQ(f.cipher, "aes256-ctr");
        EXPECT_EQ(f.kdf, "bcrypt");
        WireReader options(f.kdf_options);
        std::string_view salt;
        uint32_t rounds = 0;
        ASSERT_TRUE(options.ReadString(&salt) && options.ReadU32(&rounds) && options.empty());
        EXPECT_EQ(salt.size(), 16u);
        EXPECT_EQ(rounds, 16u);
        EXPECT_EQ(f.private_section.size() % 16, 0u);
      } else {
        EXPECT_EQ(f.cipher, "none");
        EXPECT_EQ(f.kdf, "none");
        EXPECT_EQ(f.kdf_options, "");
        EXPECT_EQ(f.private_section.size() % 8, 0u);
      }
      StatusOr<OpenSshPrivateKey> read = ReadOpenSshPrivateKey(text, passphrase);
      ASSERT_TRUE(read.ok()) << read.status().message();
      EXPECT_TRUE(read->key.SameKeyAs(key));
      EXPECT_EQ(read->key.type(), c.type);
      EXPECT_EQ(read->comment, kComment);
      if (c.encrypted) {
        StatusOr<OpenSshPrivateKey> wrong = ReadOpenSshPrivateKey(text, kWrongPassphrase);
        ASSERT_FALSE(wrong.ok());
        EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
        EXPECT_EQ(wrong.status().message(),
                  "wrong passphrase, or the OpenSSH private key is corrupted");
      }
      break;
    }
    case PrivateKeyFormat::kPkcs8: {
      EXPECT_TRUE(text.starts_with(c.encrypted ? "-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
                                               : "-----BEGIN PRIVATE KEY-----\n"))
          << text.substr(0, 40);
      PkeyPtr read = ReadPkcs8(text, passphrase);
      ASSERT_NE(read, nullptr);
      EXPECT_EQ(PublicLineOf(read.get()), TypeAndBase64(out->public_key.line));
      EXPECT_EQ(EVP_PKEY_eq(read.get(), key.impl().pkey.get()), 1);
      if (c.encrypted) {
        EXPECT_EQ(ReadPkcs8(text, kWrongPassphrase), nullptr);
      }
      break;
    }
    case PrivateKeyFormat::kPpk: {
      std::string error;
      std::optional<Ppk> ppk = ReadPpk(text, passphrase, &error);
      ASSERT_TRUE(ppk.has_value()) << error << "\n" << text;
      EXPECT_EQ(ppk->headers["PuTTY-User-Key-File-3"], expected.ssh_type);
      EXPECT_EQ(ppk->headers["Comment"], kComment);
      EXPECT_EQ(ppk->public_blob, out->public_key.blob);
      const std::string blob = ExpectedPpkPrivateBlob(c.type, key.impl().pkey.get());
      if (c.encrypted) {
        EXPECT_EQ(ppk->headers["Encryption"], "aes256-cbc");
        EXPECT_EQ(ppk->headers["Argon2-Memory"], "8192");
        EXPECT_EQ(ppk->headers["Argon2-Passes"], "16");
        EXPECT_EQ(ppk->headers["Argon2-Parallelism"], "1");
        EXPECT_EQ(ppk->headers["Argon2-Salt"].size(), 32u);
        // Random padding up to the next block.
        EXPECT_EQ(ppk->private_plain.size() % 16, 0u);
        EXPECT_LT(ppk->private_plain.size() - blob.size(), 16u);
        EXPECT_EQ(ppk->private_plain.substr(0, blob.size()), blob);
        EXPECT_FALSE(ReadPpk(text, kWrongPassphrase, &error).has_value());
        EXPECT_EQ(error, "MAC mismatch");
      } else {
        EXPECT_EQ(ppk->headers["Encryption"], "none");
        EXPECT_EQ(ppk->private_plain, blob);
      }
      break;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypesAndFormats, ExportTest, testing::ValuesIn(AllCases()),
                         [](const auto& info) { return CaseName(info.param); });

// ---------------------------------------------------------------------------------------
// Keys and comments.

TEST(GeneratePrivateKeyTest, KeysAreFresh) {
  for (KeyType type : {KeyType::kEd25519, KeyType::kEcdsaP256}) {
    StatusOr<PrivateKey> a = GeneratePrivateKey(type);
    StatusOr<PrivateKey> b = GeneratePrivateKey(type);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->type(), type);
    EXPECT_TRUE(a->SameKeyAs(*a));
    EXPECT_FALSE(a->SameKeyAs(*b));
  }
  EXPECT_FALSE(KeyOf(KeyType::kEcdsaP256).SameKeyAs(KeyOf(KeyType::kEcdsaP384)));
}

TEST(GeneratePrivateKeyTest, RsaGenerationCanBeCancelled) {
  std::atomic<bool> cancel{true};
  StatusOr<PrivateKey> given_up = GeneratePrivateKey(KeyType::kRsa4096, &cancel);
  EXPECT_EQ(given_up.status().code(), StatusCode::kUnavailable);
  cancel = false;  // not set: the flag changes nothing
  StatusOr<PrivateKey> made = GeneratePrivateKey(KeyType::kRsa2048, &cancel);
  ASSERT_TRUE(made.ok()) << made.status().message();
  StatusOr<PublicKey> pub = PublicKeyOf(*made, "");
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->bits, 2048);
  // Quick types ignore it.
  cancel = true;
  EXPECT_TRUE(GeneratePrivateKey(KeyType::kEd25519, &cancel).ok());
}

TEST(GeneratePrivateKeyTest, MovesBetweenOwners) {
  StatusOr<PrivateKey> made = GeneratePrivateKey(KeyType::kEd25519);
  ASSERT_TRUE(made.ok());
  StatusOr<PublicKey> before = PublicKeyOf(*made, "");
  PrivateKey moved = std::move(*made);
  StatusOr<PublicKey> after = PublicKeyOf(moved, "");
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(before->line, after->line);
}

TEST(ExportPrivateKeyTest, EmptyCommentGivesTwoFieldLine) {
  StatusOr<GeneratedKey> out =
      ExportPrivateKey(KeyOf(KeyType::kEcdsaP256), "", PrivateKeyFormat::kPpk, "");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->public_key.line, TypeAndBase64(out->public_key.line));
  EXPECT_NE(out->private_key.view().find("\nComment: \n"), std::string_view::npos);
}

TEST(ExportPrivateKeyTest, RejectsCommentWithControlCharacters) {
  for (PrivateKeyFormat format : kAllFormats) {
    StatusOr<GeneratedKey> out =
        ExportPrivateKey(KeyOf(KeyType::kEd25519), "a\nPrivate-MAC: 00", format, "");
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(out.status().message(),
              "the comment contains control characters (such as tab, newline or DEL), which "
              "could inject lines into authorized_keys");
  }
}

TEST(ExportPrivateKeyTest, RejectsCommentWithSurroundingBlanks) {
  StatusOr<GeneratedKey> out =
      ExportPrivateKey(KeyOf(KeyType::kEd25519), " alice", PrivateKeyFormat::kOpenSsh, "");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(out.status().message(), "the comment must not begin or end with blanks");
}

TEST(ExportPrivateKeyTest, KeepsAUtf8Comment) {
  const std::string comment = "Zoë’s key ✓";
  StatusOr<GeneratedKey> out =
      ExportPrivateKey(KeyOf(KeyType::kEd25519), comment, PrivateKeyFormat::kOpenSsh, "");
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->public_key.comment, comment);
  StatusOr<OpenSshPrivateKey> read = ReadOpenSshPrivateKey(out->private_key.view(), "");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->comment, comment);
}

TEST(GenerateEd25519Test, UsesTheOpenSshWriter) {
  StatusOr<GeneratedKey> out = GenerateEd25519("web-01");
  ASSERT_TRUE(out.ok());
  StatusOr<OpenSshPrivateKey> read = ReadOpenSshPrivateKey(out->private_key.view(), "");
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->key.type(), KeyType::kEd25519);
  EXPECT_EQ(read->comment, "web-01");
  StatusOr<PublicKey> public_key = PublicKeyOf(read->key, "web-01");
  ASSERT_TRUE(public_key.ok());
  EXPECT_EQ(public_key->line, out->public_key.line);
}

// ---------------------------------------------------------------------------------------
// The OpenSSH reader's refusals.

class OpenSshReaderTest : public testing::Test {
 protected:
  void SetUp() override {
    StatusOr<SecretString> text = WriteOpenSshPrivateKey(KeyOf(KeyType::kEd25519), "c", "");
    ASSERT_TRUE(text.ok());
    plain_ = std::string(text->view());
    fields_ = ParseOpenSshBinary(OpenSshBinary(plain_));
  }

  static std::string ReadError(std::string_view text, std::string_view passphrase = "") {
    StatusOr<OpenSshPrivateKey> read = ReadOpenSshPrivateKey(text, passphrase);
    if (read.ok()) return "ok";
    EXPECT_EQ(read.status().code(), StatusCode::kInvalidArgument);
    return read.status().message();
  }

  std::string plain_;
  OpenSshFields fields_;
};

TEST_F(OpenSshReaderTest, AcceptsCrLfAndSurroundingWhitespace) {
  std::string crlf;
  for (char c : plain_) {
    if (c == '\n') crlf.push_back('\r');
    crlf.push_back(c);
  }
  EXPECT_EQ(ReadError("\n  " + crlf + "\n\n"), "ok");
}

TEST_F(OpenSshReaderTest, RefusesOtherText) {
  EXPECT_EQ(ReadError(""),
            "not an OpenSSH private key: it must start with \"-----BEGIN OPENSSH "
            "PRIVATE KEY-----\"");
  EXPECT_EQ(ReadError("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            "not an OpenSSH private key: it must start with \"-----BEGIN OPENSSH PRIVATE "
            "KEY-----\"");
  EXPECT_EQ(ReadError(plain_.substr(0, plain_.size() - 35)),
            "the OpenSSH private key has no \"-----END OPENSSH PRIVATE KEY-----\" line at its end");
  std::string bad = plain_;
  bad[40] = '*';
  EXPECT_EQ(ReadError(bad), "the OpenSSH private key is not valid base64");
  EXPECT_EQ(ReadError(std::string(kMaxOpenSshPrivateKeyInput + 1, 'A')),
            "the OpenSSH private key is too large");
}

TEST_F(OpenSshReaderTest, RefusesMalformedStructure) {
  OpenSshFields f = fields_;
  f.keys = 2;
  EXPECT_EQ(ReadError(Armour(RebuildOpenSshBinary(f))),
            "the OpenSSH private key file must hold exactly one key");
  std::string truncated = RebuildOpenSshBinary(fields_);
  truncated.resize(truncated.size() - 1);
  EXPECT_EQ(ReadError(Armour(truncated)), "the OpenSSH private key is malformed");
  EXPECT_EQ(ReadError(Armour(RebuildOpenSshBinary(fields_) + "x")),
            "the OpenSSH private key is malformed");
  f = fields_;
  f.cipher = "aes256-cbc";
  EXPECT_EQ(ReadError(Armour(RebuildOpenSshBinary(f))),
            "the OpenSSH private key uses an unsupported cipher or KDF: supported are none and "
            "aes256-ctr with bcrypt");
}

TEST_F(OpenSshReaderTest, RefusesDifferingCheckNumbers) {
  OpenSshFields f = fields_;
  f.private_section[0] = static_cast<char>(f.private_section[0] ^ 1);
  EXPECT_EQ(ReadError(Armour(RebuildOpenSshBinary(f))),
            "the OpenSSH private key is corrupted (its check numbers differ)");
}

TEST_F(OpenSshReaderTest, RefusesBadPadding) {
  OpenSshFields f = fields_;
  f.private_section.back() = static_cast<char>(f.private_section.back() + 1);
  EXPECT_EQ(ReadError(Armour(RebuildOpenSshBinary(f))),
            "the OpenSSH private key has invalid padding");
  f = fields_;
  f.private_section += std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
  EXPECT_EQ(ReadError(Armour(RebuildOpenSshBinary(f))),
            "the OpenSSH private key has invalid padding");
}

TEST_F(OpenSshReaderTest, RefusesAPublicKeyThatIsNotThePrivateKeys) {
  StatusOr<PublicKey> other = PublicKeyOf(KeyOf(KeyType::kEcdsaP256), "");
  StatusOr<GeneratedKey> other_ed = GenerateEd25519("");
  ASSERT_TRUE(other.ok() && other_ed.ok());
  OpenSshFields f = fields_;
  f.public_blob = other_ed->public_key.blob;
  EXPECT_EQ(ReadError(Armour(RebuildOpenSshBinary(f))),
            "the private key does not match its public key");
  f.public_blob = other->blob;
  EXPECT_EQ(ReadError(Armour(RebuildOpenSshBinary(f))),
            "the OpenSSH private key's private part is of a different type than its public key");
}

TEST_F(OpenSshReaderTest, RefusesAnEd25519SeedOfAnotherKey) {
  // Replace the seed (the first 32 bytes of the 64-byte private string) by another one.
  OpenSshFields f = fields_;
  size_t at = f.private_section.find(std::string("\0\0\0\x40", 4));
  ASSERT_NE(at, std::string::npos);
  f.private_section[at + 4] = static_cast<char>(f.private_section[at + 4] ^ 0x55);
  EXPECT_EQ(ReadError(Armour(RebuildOpenSshBinary(f))),
            "the private key does not match its public key");
}

TEST_F(OpenSshReaderTest, RefusesUnsupportedKeyTypes) {
  OpenSshFields f = fields_;
  std::string blob;
  AppendString(&blob, "ssh-dss");
  f.public_blob = blob;
  EXPECT_EQ(ReadError(Armour(RebuildOpenSshBinary(f))),
            "unsupported key type in the OpenSSH private key: supported are ssh-ed25519, "
            "ecdsa-sha2-nistp256/384/521 and ssh-rsa of 2048, 3072 or 4096 bits");
}

TEST(OpenSshReaderEncryptedTest, NeedsThePassphraseAndBoundsTheRounds) {
  StatusOr<SecretString> text =
      WriteOpenSshPrivateKey(KeyOf(KeyType::kEd25519), "c", "passphrase", 2);
  ASSERT_TRUE(text.ok());
  StatusOr<OpenSshPrivateKey> read = ReadOpenSshPrivateKey(text->view(), "");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().message(),
            "the OpenSSH private key is encrypted: a passphrase is needed");
  read = ReadOpenSshPrivateKey(text->view(), "passphrase", 1);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().message(),
            "the OpenSSH private key asks for 2 bcrypt rounds: at most 1 are accepted");
  read = ReadOpenSshPrivateKey(text->view(), "passphrase", 2);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_TRUE(read->key.SameKeyAs(KeyOf(KeyType::kEd25519)));
}

TEST(OpenSshReaderPartsTest, RsaPrivatePartsAreChecked) {
  // A key whose d does not fit its primes must not be accepted, however well formed.
  StatusOr<SecretString> text = WriteOpenSshPrivateKey(KeyOf(KeyType::kRsa2048), "", "");
  ASSERT_TRUE(text.ok());
  OpenSshFields f = ParseOpenSshBinary(OpenSshBinary(text->view()));
  // Flip a low bit of d, the third mpint after "ssh-rsa", n and e.
  WireReader r(f.private_section);
  uint32_t check = 0;
  std::string_view type, n, e, d;
  ASSERT_TRUE(r.ReadU32(&check) && r.ReadU32(&check) && r.ReadString(&type) && r.ReadString(&n) &&
              r.ReadString(&e) && r.ReadString(&d));
  size_t d_end = static_cast<size_t>(d.data() - f.private_section.data()) + d.size();
  f.private_section[d_end - 1] = static_cast<char>(f.private_section[d_end - 1] ^ 2);
  StatusOr<OpenSshPrivateKey> read = ReadOpenSshPrivateKey(Armour(RebuildOpenSshBinary(f)), "");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().message(), "the private key does not match its public key");
}

}  // namespace
}  // namespace keypaird::sshkey
