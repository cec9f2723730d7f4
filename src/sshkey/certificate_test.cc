// Unit tests of the CA key, the certificate signer and the certificate reader. The real
// OpenSSH tools check the same output in certificate_crosscheck_test.cc.
#include "sshkey/certificate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sshkey/certificate_test_keys.h"
#include "sshkey/wire.h"
#include "sshkey/sshkey.h"

namespace keypaird::sshkey {
namespace {

using testkeys::BlobOf;
using testkeys::Hex;
using testkeys::kTestKeys;
using testkeys::TestKey;

std::string Unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// RFC 8032 section 7.1, TEST 1.
constexpr std::string_view kRfc8032Seed =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view kRfc8032Public =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr std::string_view kRfc8032EmptySignature =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b4"
    "6bd25bf5f0595bbe24655141438e7a100b";

CaKey Rfc8032Ca() {
  StatusOr<CaKey> ca = CaKey::FromSeed(SecretString(Unhex(kRfc8032Seed)));
  EXPECT_TRUE(ca.ok()) << ca.status().message();
  return std::move(*ca);
}

UserCertificateRequest BasicRequest(std::string key_blob) {
  UserCertificateRequest req;
  req.key_blob = std::move(key_blob);
  req.serial = 42;
  req.key_id = "alice@example key 1";
  req.principals = {"alice", "root"};
  req.valid_after = 1'700'000'000;
  req.valid_before = 1'700'003'600;
  req.force_command = "echo hello";
  req.source_address = "127.0.0.1/32,::1";
  req.extensions = {kSshKeygenDefaultExtensions.begin(), kSshKeygenDefaultExtensions.end()};
  req.comment = "alice@laptop";
  return req;
}

// ---------------------------------------------------------------------------------------
// CaKey.

TEST(CaKeyTest, FromSeedGivesTheRfc8032PublicKey) {
  CaKey ca = Rfc8032Ca();
  std::string expected;
  AppendString(&expected, "ssh-ed25519");
  AppendString(&expected, Unhex(kRfc8032Public));
  EXPECT_EQ(Hex(ca.public_blob()), Hex(expected));
}

TEST(CaKeyTest, SignMakesTheRfc8032SignatureInSshFormat) {
  StatusOr<std::string> sig = Rfc8032Ca().Sign("");
  ASSERT_TRUE(sig.ok()) << sig.status().message();
  std::string expected;
  AppendString(&expected, "ssh-ed25519");
  AppendString(&expected, Unhex(kRfc8032EmptySignature));
  EXPECT_EQ(Hex(*sig), Hex(expected));
}

TEST(CaKeyTest, SeedRoundTripsToTheSameKey) {
  StatusOr<CaKey> ca = CaKey::Generate();
  ASSERT_TRUE(ca.ok()) << ca.status().message();
  StatusOr<SecretString> seed = ca->Seed();
  ASSERT_TRUE(seed.ok()) << seed.status().message();
  EXPECT_EQ(seed->size(), kCaSeedSize);
  StatusOr<CaKey> again = CaKey::FromSeed(*seed);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->public_blob(), ca->public_blob());
}

TEST(CaKeyTest, GenerateMakesDifferentKeys) {
  StatusOr<CaKey> a = CaKey::Generate();
  StatusOr<CaKey> b = CaKey::Generate();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->public_blob(), b->public_blob());
}

TEST(CaKeyTest, SeedOfWrongSizeIsInvalidArgument) {
  for (size_t n : {0, 31, 33, 64}) {
    StatusOr<CaKey> ca = CaKey::FromSeed(SecretString(std::string(n, 'x')));
    ASSERT_FALSE(ca.ok()) << n;
    EXPECT_EQ(ca.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ca.status().message(), "the CA key seed must be exactly 32 bytes");
  }
}

TEST(CaKeyTest, PublicKeyLineParsesAsThePublicKey) {
  CaKey ca = Rfc8032Ca();
  const std::string line = ca.PublicKeyLine("keypaird CA project 7");
  EXPECT_TRUE(line.starts_with("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI")) << line;
  StatusOr<PublicKey> key = ParsePublicKey(line);
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(key->blob, ca.public_blob());
  EXPECT_EQ(key->comment, "keypaird CA project 7");
  EXPECT_EQ(ca.PublicKeyLine(), "ssh-ed25519 " + Base64Encode(ca.public_blob()));
  EXPECT_EQ(ca.PublicKeyLine("bad\ncomment"), ca.PublicKeyLine());
}

TEST(CaKeyTest, MovedFromKeyRefusesToSign) {
  CaKey ca = Rfc8032Ca();
  CaKey moved = std::move(ca);
  EXPECT_FALSE(moved.public_blob().empty());
  // Using the moved-from key is what this test is about.
  // NOLINTBEGIN(bugprone-use-after-move,clang-analyzer-cplusplus.Move)
  EXPECT_TRUE(ca.public_blob().empty());
  EXPECT_EQ(ca.PublicKeyLine(), "");
  StatusOr<std::string> sig = ca.Sign("x");
  ASSERT_FALSE(sig.ok());
  EXPECT_EQ(sig.status().code(), StatusCode::kInternal);
  StatusOr<SecretString> seed = ca.Seed();
  ASSERT_FALSE(seed.ok());
  EXPECT_EQ(seed.status().code(), StatusCode::kInternal);
  StatusOr<Certificate> cert = SignUserCertificate(ca, BasicRequest(BlobOf(kTestKeys[0].line)));
  // NOLINTEND(bugprone-use-after-move,clang-analyzer-cplusplus.Move)
  ASSERT_FALSE(cert.ok());
  EXPECT_EQ(cert.status().code(), StatusCode::kInternal);
  // A moved-from key can be assigned a key again.
  ca = std::move(moved);
  EXPECT_FALSE(ca.public_blob().empty());
}

// ---------------------------------------------------------------------------------------
// Certificates of every key type.

class CertificateTypeTest : public testing::TestWithParam<TestKey> {};

TEST_P(CertificateTypeTest, RoundTripsThroughTheReader) {
  const TestKey& key = GetParam();
  CaKey ca = Rfc8032Ca();
  const std::string blob = BlobOf(key.line);
  StatusOr<Certificate> cert = SignUserCertificate(ca, BasicRequest(blob));
  ASSERT_TRUE(cert.ok()) << cert.status().message();
  EXPECT_EQ(cert->type, key.cert_type);
  EXPECT_EQ(cert->line,
            std::string(key.cert_type) + " " + Base64Encode(cert->blob) + " alice@laptop");

  StatusOr<ParsedCertificate> parsed = ParseCertificate(cert->blob);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->type, key.cert_type);
  EXPECT_EQ(parsed->key_type, key.line.substr(0, key.line.find(' ')));
  EXPECT_EQ(parsed->key_blob, blob);
  EXPECT_EQ(parsed->nonce.size(), 32u);
  EXPECT_EQ(parsed->serial, 42u);
  EXPECT_EQ(parsed->cert_type, kCertTypeUser);
  EXPECT_EQ(parsed->key_id, "alice@example key 1");
  EXPECT_EQ(parsed->principals, (std::vector<std::string>{"alice", "root"}));
  EXPECT_EQ(parsed->valid_after, 1'700'000'000u);
  EXPECT_EQ(parsed->valid_before, 1'700'003'600u);
  EXPECT_EQ(parsed->force_command, "echo hello");
  EXPECT_EQ(parsed->source_address, "127.0.0.1/32,::1");
  ASSERT_EQ(parsed->critical_options.size(), 2u);
  EXPECT_EQ(parsed->critical_options[0].name, "force-command");
  EXPECT_EQ(parsed->critical_options[1].name, "source-address");
  ASSERT_EQ(parsed->extensions.size(), kSshKeygenDefaultExtensions.size());
  for (size_t i = 0; i < parsed->extensions.size(); ++i) {
    EXPECT_EQ(parsed->extensions[i].name, kSshKeygenDefaultExtensions[i]);
    EXPECT_EQ(parsed->extensions[i].data, "");
  }
  EXPECT_EQ(parsed->ca_key_blob, ca.public_blob());
}

TEST_P(CertificateTypeTest, EveryFlippedByteIsRejected) {
  CaKey ca = Rfc8032Ca();
  StatusOr<Certificate> cert = SignUserCertificate(ca, BasicRequest(BlobOf(GetParam().line)));
  ASSERT_TRUE(cert.ok()) << cert.status().message();
  for (size_t i = 0; i < cert->blob.size(); ++i) {
    std::string bad = cert->blob;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    StatusOr<ParsedCertificate> parsed = ParseCertificate(bad);
    ASSERT_FALSE(parsed.ok()) << "byte " << i << " of " << cert->blob.size();
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST_P(CertificateTypeTest, EveryTruncationIsRejected) {
  CaKey ca = Rfc8032Ca();
  StatusOr<Certificate> cert = SignUserCertificate(ca, BasicRequest(BlobOf(GetParam().line)));
  ASSERT_TRUE(cert.ok()) << cert.status().message();
  for (size_t n = 0; n < cert->blob.size(); ++n) {
    StatusOr<ParsedCertificate> parsed = ParseCertificate(cert->blob.substr(0, n));
    ASSERT_FALSE(parsed.ok()) << n;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  }
  StatusOr<ParsedCertificate> longer = ParseCertificate(cert->blob + '\0');
  ASSERT_FALSE(longer.ok());
  EXPECT_EQ(longer.status().message(), "the certificate has trailing bytes after its signature");
}

INSTANTIATE_TEST_SUITE_P(Types, CertificateTypeTest, testing::ValuesIn(kTestKeys),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------
// Encoding details.

TEST(CertificateTest, SignatureCoversEverythingUpToTheCaKey) {
  CaKey ca = Rfc8032Ca();
  StatusOr<Certificate> cert = SignUserCertificate(ca, BasicRequest(BlobOf(kTestKeys[0].line)));
  ASSERT_TRUE(cert.ok()) << cert.status().message();
  // The last field is string(signature), 4 + 4 + 11 + 4 + 64 bytes.
  const size_t signed_size = cert->blob.size() - (4 + 4 + 11 + 4 + 64);
  StatusOr<std::string> sig = ca.Sign(std::string_view(cert->blob).substr(0, signed_size));
  ASSERT_TRUE(sig.ok());
  std::string expected_tail;
  AppendString(&expected_tail, *sig);
  EXPECT_EQ(Hex(cert->blob.substr(signed_size)), Hex(expected_tail));  // Ed25519 is deterministic
  // ... and just before the signature stands the CA key.
  EXPECT_EQ(cert->blob.substr(signed_size - ca.public_blob().size(), ca.public_blob().size()),
            ca.public_blob());
}

TEST(CertificateTest, CriticalOptionValuesAreWireStringsInsideTheDataField) {
  CaKey ca = Rfc8032Ca();
  StatusOr<Certificate> cert = SignUserCertificate(ca, BasicRequest(BlobOf(kTestKeys[0].line)));
  ASSERT_TRUE(cert.ok());
  StatusOr<ParsedCertificate> parsed = ParseCertificate(cert->blob);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->critical_options[0].data, std::string("\0\0\0\x0a", 4) + "echo hello");
  EXPECT_EQ(parsed->critical_options[1].data, std::string("\0\0\0\x10", 4) + "127.0.0.1/32,::1");
}

TEST(CertificateTest, ExtensionsAreSortedByteWiseAndDeduplicated) {
  CaKey ca = Rfc8032Ca();
  UserCertificateRequest req = BasicRequest(BlobOf(kTestKeys[0].line));
  req.extensions = {"permit-pty", "permit-X11-forwarding", "permit-pty", "custom@example.com"};
  StatusOr<Certificate> cert = SignUserCertificate(ca, req);
  ASSERT_TRUE(cert.ok()) << cert.status().message();
  StatusOr<ParsedCertificate> parsed = ParseCertificate(cert->blob);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  std::vector<std::string> names;
  for (const CertificateOption& e : parsed->extensions) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"custom@example.com", "permit-X11-forwarding",
                                             "permit-pty"}));
}

TEST(CertificateTest, DefaultExtensionsConstantIsSorted) {
  EXPECT_TRUE(
      std::is_sorted(kSshKeygenDefaultExtensions.begin(), kSshKeygenDefaultExtensions.end()));
}

TEST(CertificateTest, NoOptionsNoExtensionsAndNoComment) {
  CaKey ca = Rfc8032Ca();
  UserCertificateRequest req = BasicRequest(BlobOf(kTestKeys[0].line));
  req.force_command.reset();
  req.source_address.reset();
  req.extensions.clear();
  req.comment.clear();
  req.serial = 0;
  req.key_id.clear();
  StatusOr<Certificate> cert = SignUserCertificate(ca, req);
  ASSERT_TRUE(cert.ok()) << cert.status().message();
  EXPECT_EQ(cert->line, cert->type + " " + Base64Encode(cert->blob));
  StatusOr<ParsedCertificate> parsed = ParseCertificate(cert->blob);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_TRUE(parsed->critical_options.empty());
  EXPECT_TRUE(parsed->extensions.empty());
  EXPECT_FALSE(parsed->force_command.has_value());
  EXPECT_FALSE(parsed->source_address.has_value());
  EXPECT_EQ(parsed->serial, 0u);
  EXPECT_EQ(parsed->key_id, "");
}

TEST(CertificateTest, NoncesDiffer) {
  CaKey ca = Rfc8032Ca();
  UserCertificateRequest req = BasicRequest(BlobOf(kTestKeys[0].line));
  StatusOr<Certificate> a = SignUserCertificate(ca, req);
  StatusOr<Certificate> b = SignUserCertificate(ca, req);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->blob, b->blob);
  StatusOr<ParsedCertificate> pa = ParseCertificate(a->blob);
  StatusOr<ParsedCertificate> pb = ParseCertificate(b->blob);
  ASSERT_TRUE(pa.ok() && pb.ok());
  EXPECT_NE(pa->nonce, pb->nonce);
}

// ---------------------------------------------------------------------------------------
// Requests that are refused.

struct BadRequest {
  std::string name;
  void (*mutate)(UserCertificateRequest*);
  std::string message;
};

void PrintTo(const BadRequest& b, std::ostream* os) { *os << b.name; }

class BadRequestTest : public testing::TestWithParam<BadRequest> {};

TEST_P(BadRequestTest, IsInvalidArgumentWithItsMessage) {
  CaKey ca = Rfc8032Ca();
  UserCertificateRequest req = BasicRequest(BlobOf(kTestKeys[0].line));
  GetParam().mutate(&req);
  StatusOr<Certificate> cert = SignUserCertificate(ca, req);
  ASSERT_FALSE(cert.ok());
  EXPECT_EQ(cert.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cert.status().message(), GetParam().message);
}

const char kSourceAddressMessage[] =
    "source_address must be a comma-separated list of IP addresses or CIDR blocks (such as "
    "192.0.2.0/24 or 2001:db8::/32) with no host bits set";

INSTANTIATE_TEST_SUITE_P(
    Rules, BadRequestTest,
    testing::Values(
        BadRequest{"NoPrincipals", [](UserCertificateRequest* r) { r->principals.clear(); },
                   "principals must not be empty: a certificate without principals is valid for "
                   "every user"},
        BadRequest{"TooManyPrincipals",
                   [](UserCertificateRequest* r) { r->principals.assign(257, "u"); },
                   "at most 256 principals are allowed"},
        BadRequest{"EmptyPrincipal", [](UserCertificateRequest* r) { r->principals = {""}; },
                   "each principal must be non-empty and free of control characters"},
        BadRequest{"PrincipalWithNewline",
                   [](UserCertificateRequest* r) { r->principals = {"root\nalice"}; },
                   "each principal must be non-empty and free of control characters"},
        BadRequest{"PrincipalWithNul",
                   [](UserCertificateRequest* r) { r->principals = {std::string("a\0b", 3)}; },
                   "each principal must be non-empty and free of control characters"},
        BadRequest{"KeyIdWithControl", [](UserCertificateRequest* r) { r->key_id = "a\tb"; },
                   "key_id must be free of control characters"},
        BadRequest{"ValidBeforeEqualsValidAfter",
                   [](UserCertificateRequest* r) { r->valid_before = r->valid_after; },
                   "valid_before must be later than valid_after"},
        BadRequest{"ValidBeforeFirst",
                   [](UserCertificateRequest* r) { r->valid_before = r->valid_after - 1; },
                   "valid_before must be later than valid_after"},
        BadRequest{"EmptyForceCommand", [](UserCertificateRequest* r) { r->force_command = ""; },
                   "force_command must be non-empty and free of NUL bytes"},
        BadRequest{"ForceCommandWithNul",
                   [](UserCertificateRequest* r) { r->force_command = std::string("a\0", 2); },
                   "force_command must be non-empty and free of NUL bytes"},
        BadRequest{"EmptySourceAddress", [](UserCertificateRequest* r) { r->source_address = ""; },
                   kSourceAddressMessage},
        BadRequest{"HostBitsSet",
                   [](UserCertificateRequest* r) { r->source_address = "10.0.0.1/8"; },
                   kSourceAddressMessage},
        BadRequest{"Ipv6HostBitsSet",
                   [](UserCertificateRequest* r) { r->source_address = "2001:db8::1/32"; },
                   kSourceAddressMessage},
        BadRequest{"HostName",
                   [](UserCertificateRequest* r) { r->source_address = "host.example.com"; },
                   kSourceAddressMessage},
        BadRequest{"PrefixTooLong",
                   [](UserCertificateRequest* r) { r->source_address = "10.0.0.0/33"; },
                   kSourceAddressMessage},
        BadRequest{"EmptyPrefix",
                   [](UserCertificateRequest* r) { r->source_address = "10.0.0.0/"; },
                   kSourceAddressMessage},
        BadRequest{"EmptyEntry",
                   [](UserCertificateRequest* r) { r->source_address = "10.0.0.0/8,"; },
                   kSourceAddressMessage},
        BadRequest{"Blank",
                   [](UserCertificateRequest* r) { r->source_address = "10.0.0.0/8, ::1"; },
                   kSourceAddressMessage},
        BadRequest{"EmptyExtension", [](UserCertificateRequest* r) { r->extensions = {""}; },
                   "each extension name must be non-empty and free of control characters"},
        BadRequest{"CommentWithNewline",
                   [](UserCertificateRequest* r) { r->comment = "a\nssh-rsa AAAA"; },
                   "the certificate comment must be free of control characters"},
        BadRequest{"GarbageKey", [](UserCertificateRequest* r) { r->key_blob = "garbage"; },
                   "the key to certify is malformed: it does not start with a key type"},
        BadRequest{"TrailingBytesInKey", [](UserCertificateRequest* r) { r->key_blob += '\0'; },
                   "the key to certify: the key data has trailing bytes after the key fields"},
        BadRequest{"DsaKey",
                   [](UserCertificateRequest* r) {
                     r->key_blob.clear();
                     AppendString(&r->key_blob, "ssh-dss");
                   },
                   "the key to certify: ssh-dss (DSA) keys are not accepted"}),
    [](const auto& info) { return info.param.name; });

TEST(CertificateTest, SourceAddressFormsThatAreAccepted) {
  CaKey ca = Rfc8032Ca();
  for (const char* list : {"127.0.0.1", "10.0.0.0/8", "0.0.0.0/0", "::/0", "2001:db8::/32",
                           "192.0.2.128/25,2001:db8:1::/48,127.0.0.1/32"}) {
    UserCertificateRequest req = BasicRequest(BlobOf(kTestKeys[0].line));
    req.source_address = list;
    StatusOr<Certificate> cert = SignUserCertificate(ca, req);
    EXPECT_TRUE(cert.ok()) << list << ": " << cert.status().message();
  }
}

TEST(CertificateTest, CertificateIsNotACertifiableKey) {
  CaKey ca = Rfc8032Ca();
  StatusOr<Certificate> cert = SignUserCertificate(ca, BasicRequest(BlobOf(kTestKeys[0].line)));
  ASSERT_TRUE(cert.ok());
  StatusOr<Certificate> chained = SignUserCertificate(ca, BasicRequest(cert->blob));
  ASSERT_FALSE(chained.ok());
  EXPECT_EQ(chained.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(chained.status().message().find("certificates"), std::string::npos)
      << chained.status().message();
}

// ---------------------------------------------------------------------------------------
// The reader on hostile input.

TEST(ParseCertificateTest, GarbageIsInvalidArgument) {
  for (std::string_view input :
       {std::string_view(), std::string_view("\0\0\0", 3), std::string_view("\xff\xff\xff\xff"),
        std::string_view("ssh-ed25519-cert-v01@openssh.com"),
        std::string_view("\0\0\0\x0bssh-ed25519\0\0\0\x20", 19)}) {
    StatusOr<ParsedCertificate> parsed = ParseCertificate(input);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_FALSE(parsed.status().message().empty());
  }
}

TEST(ParseCertificateTest, PlainKeyIsNotACertificate) {
  StatusOr<ParsedCertificate> parsed = ParseCertificate(BlobOf(kTestKeys[0].line));
  ASSERT_FALSE(parsed.ok());
  EXPECT_TRUE(parsed.status().message().starts_with("not a certificate of an accepted type"))
      << parsed.status().message();
}

// Rebuilds a signed certificate with one field replaced, re-signed by the same CA, so that
// only the rule under test can fail.
class ResignedCertificateTest : public testing::Test {
 protected:
  // Fields as they stand after the Ed25519 key: serial .. reserved.
  std::string Build(std::string_view principals, std::string_view critical,
                    std::string_view extensions, uint32_t cert_type = kCertTypeUser) {
    std::string out;
    AppendString(&out, "ssh-ed25519-cert-v01@openssh.com");
    AppendString(&out, std::string(32, 'n'));
    out.append(BlobOf(kTestKeys[0].line).substr(4 + 11));
    AppendU64(&out, 1);
    AppendU32(&out, cert_type);
    AppendString(&out, "id");
    AppendString(&out, principals);
    AppendU64(&out, 0);
    AppendU64(&out, ~uint64_t{0});
    AppendString(&out, critical);
    AppendString(&out, extensions);
    AppendString(&out, "");
    AppendString(&out, ca_.public_blob());
    StatusOr<std::string> sig = ca_.Sign(out);
    EXPECT_TRUE(sig.ok());
    AppendString(&out, *sig);
    return out;
  }
  static std::string Option(std::string_view name, std::string_view data) {
    std::string out;
    AppendString(&out, name);
    AppendString(&out, data);
    return out;
  }
  static std::string Str(std::string_view s) {
    std::string out;
    AppendString(&out, s);
    return out;
  }

  CaKey ca_ = Rfc8032Ca();
};

TEST_F(ResignedCertificateTest, HandBuiltCertificateParses) {
  StatusOr<ParsedCertificate> parsed =
      ParseCertificate(Build(Str("root"), Option("force-command", Str("true")), ""));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->force_command, "true");
  EXPECT_EQ(parsed->principals, std::vector<std::string>{"root"});
}

TEST_F(ResignedCertificateTest, HostCertificateIsReadAsSuch) {
  StatusOr<ParsedCertificate> parsed = ParseCertificate(Build("", "", "", kCertTypeHost));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->cert_type, kCertTypeHost);
  EXPECT_TRUE(parsed->principals.empty());
}

TEST_F(ResignedCertificateTest, RuleViolationsAreRejected) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {Build(Str("a") + std::string("\0\0", 2), "", ""),
       "the certificate's principals are truncated"},
      {Build(Str(std::string("a\0b", 3)), "", ""), "a certificate principal contains a NUL byte"},
      {Build("", Option("source-address", "") + Option("force-command", Str("x")), ""),
       "the certificate's critical options are not sorted by name or repeat a name"},
      {Build("", "", Option("permit-pty", "") + Option("permit-pty", "")),
       "the certificate's extensions are not sorted by name or repeat a name"},
      {Build("", Option("force-command", "x"), ""),
       "the certificate's force-command option does not hold exactly one string"},
      {Build("", Option("source-address", Str("::1") + "x"), ""),
       "the certificate's source-address option does not hold exactly one string"},
      {Build("", Option("", ""), ""),
       "the certificate has an empty or invalid critical options name"},
      {Build("", std::string("\0\0\0\x01", 4), ""),
       "the certificate's critical options are truncated"},
      {Build("", "", "", 3), "the certificate is neither a user nor a host certificate"},
  };
  for (const auto& [blob, message] : cases) {
    StatusOr<ParsedCertificate> parsed = ParseCertificate(blob);
    ASSERT_FALSE(parsed.ok()) << message;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(parsed.status().message(), message);
  }
}

TEST_F(ResignedCertificateTest, UnknownCriticalOptionsAreReportedNotDropped) {
  StatusOr<ParsedCertificate> parsed =
      ParseCertificate(Build("", Option("verify-required", ""), ""));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->critical_options.size(), 1u);
  EXPECT_EQ(parsed->critical_options[0].name, "verify-required");
}

}  // namespace
}  // namespace keypaird::sshkey
