// Cross-checks certificates and KRLs against the real OpenSSH: ssh-keygen must read
// every certificate type and show the fields we set, our reader must read (and verify)
// what ssh-keygen signs, ssh-keygen -Q must agree with our KRLs, and a real sshd that
// trusts our CA and reads our KRL must let in exactly the certificates it should. Needs
// ssh-keygen, ssh and sshd (openssh-client, openssh-server); every child process is
// bounded in time.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "sshkey/certificate.h"
#include "sshkey/certificate_test_keys.h"
#include "sshkey/krl.h"
#include "sshkey/sshkey.h"
#include "testing/openssh_harness.h"

namespace keypaird::sshkey {
namespace {

using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)
using testkeys::BlobOf;
using testkeys::Hex;
using testkeys::kTestKeys;
using testkeys::TestKey;
using testutil::CurrentUser;
using testutil::Describe;
using testutil::ReadFile;
using testutil::RunCommand;
using testutil::RunResult;
using testutil::Sshd;
using testutil::SshLogin;
using testutil::TempDir;
using testutil::TrimRight;
using testutil::WriteFile;

constexpr uint64_t kAfter = 1'700'000'000;   // 2023-11-14T22:13:20Z
constexpr uint64_t kBefore = 1'700'003'600;  // 2023-11-14T23:13:20Z

uint64_t Now() { return static_cast<uint64_t>(std::time(nullptr)); }

CaKey NewCa() {
  StatusOr<CaKey> ca = CaKey::Generate();
  EXPECT_TRUE(ca.ok()) << ca.status().message();
  return std::move(*ca);
}

std::string DecodeCertFile(const std::string& path) {
  std::string line = TrimRight(ReadFile(path));
  std::istringstream words(line);
  std::string type, b64, blob;
  words >> type >> b64;
  EXPECT_TRUE(Base64DecodeStrict(b64, &blob)) << line;
  return blob;
}

// A keypair made by ssh-keygen: the private key at `path`, the public one at path.pub.
struct UserKey {
  std::string path;
  std::string blob;
};

UserKey MakeUserKey(const TempDir& dir, const std::string& name,
                    const std::string& type = "ed25519", int bits = 0) {
  UserKey key{dir / name, ""};
  std::vector<std::string> gen = {"ssh-keygen", "-q", "-t", type, "-N",
                                  "",           "-C", name, "-f", key.path};
  if (bits != 0) gen.insert(gen.begin() + 4, {"-b", std::to_string(bits)});
  RunResult r = RunCommand(gen, 60s);
  EXPECT_EQ(r.exit_code, 0) << Describe(gen, r);
  key.blob = BlobOf(ReadFile(key.path + ".pub"));
  return key;
}

UserCertificateRequest Request(std::string key_blob, uint64_t serial,
                               std::vector<std::string> principals) {
  UserCertificateRequest req;
  req.key_blob = std::move(key_blob);
  req.serial = serial;
  req.key_id = "keypaird test " + std::to_string(serial);
  req.principals = std::move(principals);
  req.valid_after = Now() - 300;
  req.valid_before = Now() + 3600;
  req.extensions = {kSshKeygenDefaultExtensions.begin(), kSshKeygenDefaultExtensions.end()};
  req.comment = "cert " + std::to_string(serial);
  return req;
}

// Signs and writes KEY-cert.pub beside the key, where ssh looks for it.
void WriteCertificate(const CaKey& ca, const UserKey& key, const UserCertificateRequest& req) {
  StatusOr<Certificate> cert = SignUserCertificate(ca, req);
  ASSERT_TRUE(cert.ok()) << cert.status().message();
  ASSERT_TRUE(WriteFile(key.path + "-cert.pub", cert->line + "\n", 0644));
}

std::string Sha256Fingerprint(const std::string& pub_path) {
  std::vector<std::string> fp = {"ssh-keygen", "-l", "-E", "sha256", "-f", pub_path};
  RunResult r = RunCommand(fp, 30s);
  EXPECT_EQ(r.exit_code, 0) << Describe(fp, r);
  std::istringstream words(r.out);
  std::string bits, hash;
  words >> bits >> hash;
  return hash;
}

// `ssh-keygen -L` in UTC.
RunResult ListCertificate(const std::string& path) {
  return RunCommand({"env", "TZ=UTC", "ssh-keygen", "-L", "-f", path}, 30s);
}

// The lines of `ssh-keygen -L` output, leading blanks removed, without the first line
// (the file name) and without the lines that name the CA.
std::vector<std::string> ListingFields(std::string_view out) {
  std::vector<std::string> lines;
  std::istringstream in{std::string(out)};
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    const size_t start = line.find_first_not_of(" \t");
    line = start == std::string::npos ? "" : TrimRight(line.substr(start));
    if (first || line.starts_with("Signing CA:")) {
      first = false;
      continue;
    }
    lines.push_back(line);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------
// ssh-keygen -L reads every certificate type.

class SshKeygenListsTest : public testing::TestWithParam<TestKey> {};

TEST_P(SshKeygenListsTest, ShowsEveryFieldWeSet) {
  const TestKey& key = GetParam();
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  CaKey ca = NewCa();
  ASSERT_TRUE(WriteFile(dir / "ca.pub", ca.PublicKeyLine("ca") + "\n", 0644));
  ASSERT_TRUE(WriteFile(dir / "key.pub", std::string(key.line) + " key\n", 0644));
  UserCertificateRequest req;
  req.key_blob = BlobOf(key.line);
  req.serial = 18'446'744'073'709'551'615u;  // the largest serial shows as such
  req.key_id = "alice@example key 1";
  req.principals = {"alice", "root", "deploy-bot"};
  req.valid_after = kAfter;
  req.valid_before = kBefore;
  req.force_command = "/usr/bin/rsync --server";
  req.source_address = "192.0.2.0/24,2001:db8::/32";
  req.extensions = {"permit-pty", "permit-port-forwarding", "permit-agent-forwarding",
                    "permit-X11-forwarding", "permit-user-rc"};
  StatusOr<Certificate> cert = SignUserCertificate(ca, req);
  ASSERT_TRUE(cert.ok()) << cert.status().message();
  ASSERT_TRUE(WriteFile(dir / "key-cert.pub", cert->line + "\n", 0644));

  RunResult r = ListCertificate(dir / "key-cert.pub");
  ASSERT_EQ(r.exit_code, 0) << Describe({"ssh-keygen", "-L"}, r);
  const std::string key_fp = Sha256Fingerprint(dir / "key.pub");
  const std::string ca_fp = Sha256Fingerprint(dir / "ca.pub");
  std::vector<std::string> fields = ListingFields(r.out);
  ASSERT_GE(fields.size(), 2u) << r.out;
  // "Public key: ED25519-CERT SHA256:..." (the word before -CERT depends on the type).
  EXPECT_TRUE(fields[1].starts_with("Public key: ")) << r.out;
  EXPECT_TRUE(fields[1].ends_with("-CERT " + key_fp)) << r.out;
  fields.erase(fields.begin() + 1);
  const std::vector<std::string> expected = {
      "Type: " + std::string(key.cert_type) + " user certificate",
      "Key ID: \"alice@example key 1\"",
      "Serial: 18446744073709551615",
      "Valid: from 2023-11-14T22:13:20 to 2023-11-14T23:13:20",
      "Principals:",
      "alice",
      "root",
      "deploy-bot",
      "Critical Options:",
      "force-command /usr/bin/rsync --server",
      "source-address 192.0.2.0/24,2001:db8::/32",
      "Extensions:",
      "permit-X11-forwarding",
      "permit-agent-forwarding",
      "permit-port-forwarding",
      "permit-pty",
      "permit-user-rc",
  };
  EXPECT_EQ(fields, expected) << r.out;
  EXPECT_NE(r.out.find("Signing CA: ED25519 " + ca_fp + " (using ssh-ed25519)"), std::string::npos)
      << r.out;
}

TEST(SshKeygenListsHostCertificateTest, ShowsAHostCertificateWithItsNamesOnly) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  CaKey ca = NewCa();
  UserCertificateRequest req;
  req.key_blob = BlobOf(kTestKeys[0].line);
  req.serial = 7;
  req.key_id = "host web-1";
  req.principals = {"web-1.example.com", "web-1"};
  req.valid_after = kAfter;
  req.valid_before = kBefore;
  StatusOr<Certificate> cert = SignHostCertificate(ca, req);
  ASSERT_TRUE(cert.ok()) << cert.status().message();
  ASSERT_TRUE(WriteFile(dir / "host-cert.pub", cert->line + "\n", 0644));
  RunResult r = ListCertificate(dir / "host-cert.pub");
  ASSERT_EQ(r.exit_code, 0) << Describe({"ssh-keygen", "-L"}, r);
  std::vector<std::string> fields = ListingFields(r.out);
  ASSERT_GE(fields.size(), 2u) << r.out;
  fields.erase(fields.begin() + 1);  // the public key's line
  const std::vector<std::string> expected = {
      "Type: " + std::string(kTestKeys[0].cert_type) + " host certificate",
      "Key ID: \"host web-1\"",
      "Serial: 7",
      "Valid: from 2023-11-14T22:13:20 to 2023-11-14T23:13:20",
      "Principals:",
      "web-1.example.com",
      "web-1",
      "Critical Options: (none)",
      "Extensions: (none)",
  };
  EXPECT_EQ(fields, expected) << r.out;

  // What a user certificate may carry, a host certificate may not.
  req.extensions = {"permit-pty"};
  EXPECT_EQ(SignHostCertificate(ca, req).status().code(), StatusCode::kInvalidArgument);
  req.extensions.clear();
  req.force_command = "/bin/true";
  EXPECT_EQ(SignHostCertificate(ca, req).status().code(), StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Types, SshKeygenListsTest, testing::ValuesIn(kTestKeys),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------
// Our reader and ssh-keygen's signer agree.

TEST(SshKeygenSignsTest, ReaderVerifiesSshKeygenCertificatesAndOursMatchThem) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  UserKey ca_key = MakeUserKey(dir, "ca");
  UserKey user = MakeUserKey(dir, "user");
  std::ostringstream validity;
  validity << std::hex << "0x" << kAfter << ":0x" << kBefore;
  std::vector<std::string> sign = {"ssh-keygen",
                                   "-q",
                                   "-s",
                                   ca_key.path,
                                   "-I",
                                   "the id",
                                   "-n",
                                   "root,alice",
                                   "-z",
                                   "77",
                                   "-V",
                                   validity.str(),
                                   "-O",
                                   "force-command=echo hi",
                                   "-O",
                                   "source-address=127.0.0.1/32,10.0.0.0/8",
                                   user.path + ".pub"};
  RunResult r = RunCommand(sign, 30s);
  ASSERT_EQ(r.exit_code, 0) << Describe(sign, r);

  StatusOr<ParsedCertificate> theirs = ParseCertificate(DecodeCertFile(user.path + "-cert.pub"));
  ASSERT_TRUE(theirs.ok()) << theirs.status().message();
  EXPECT_EQ(theirs->type, "ssh-ed25519-cert-v01@openssh.com");
  EXPECT_EQ(theirs->key_blob, user.blob);
  EXPECT_EQ(theirs->ca_key_blob, ca_key.blob);
  EXPECT_EQ(theirs->serial, 77u);
  EXPECT_EQ(theirs->cert_type, kCertTypeUser);
  EXPECT_EQ(theirs->key_id, "the id");
  EXPECT_EQ(theirs->principals, (std::vector<std::string>{"root", "alice"}));
  EXPECT_EQ(theirs->valid_after, kAfter);
  EXPECT_EQ(theirs->valid_before, kBefore);
  EXPECT_EQ(theirs->force_command, "echo hi");
  EXPECT_EQ(theirs->source_address, "127.0.0.1/32,10.0.0.0/8");
  std::vector<std::string> extensions;
  for (const CertificateOption& e : theirs->extensions) {
    extensions.push_back(e.name);
    EXPECT_EQ(e.data, "") << e.name;
  }
  EXPECT_EQ(extensions, std::vector<std::string>(kSshKeygenDefaultExtensions.begin(),
                                                 kSshKeygenDefaultExtensions.end()));

  // The same fields signed by us: every field reads back identical, options byte for
  // byte, and ssh-keygen -L shows the two alike but for the CA.
  UserCertificateRequest req;
  req.key_blob = user.blob;
  req.serial = 77;
  req.key_id = "the id";
  req.principals = {"root", "alice"};
  req.valid_after = kAfter;
  req.valid_before = kBefore;
  req.force_command = "echo hi";
  req.source_address = "127.0.0.1/32,10.0.0.0/8";
  req.extensions = extensions;
  req.comment = "user";
  CaKey ca = NewCa();
  StatusOr<Certificate> mine = SignUserCertificate(ca, req);
  ASSERT_TRUE(mine.ok()) << mine.status().message();
  StatusOr<ParsedCertificate> ours = ParseCertificate(mine->blob);
  ASSERT_TRUE(ours.ok()) << ours.status().message();
  ASSERT_EQ(ours->critical_options.size(), theirs->critical_options.size());
  for (size_t i = 0; i < ours->critical_options.size(); ++i) {
    EXPECT_EQ(ours->critical_options[i].name, theirs->critical_options[i].name);
    EXPECT_EQ(ours->critical_options[i].data, theirs->critical_options[i].data);
  }
  EXPECT_EQ(ours->nonce.size(), theirs->nonce.size());
  ASSERT_TRUE(WriteFile(dir / "mine-cert.pub", mine->line + "\n", 0644));
  RunResult listed_theirs = ListCertificate(user.path + "-cert.pub");
  RunResult listed_mine = ListCertificate(dir / "mine-cert.pub");
  ASSERT_EQ(listed_theirs.exit_code, 0) << listed_theirs.err;
  ASSERT_EQ(listed_mine.exit_code, 0) << listed_mine.err;
  EXPECT_EQ(ListingFields(listed_mine.out), ListingFields(listed_theirs.out))
      << "ours:\n"
      << listed_mine.out << "theirs:\n"
      << listed_theirs.out;
  EXPECT_EQ(TrimRight(ReadFile(dir / "mine-cert.pub")).substr(0, 33),
            TrimRight(ReadFile(user.path + "-cert.pub")).substr(0, 33));
}

TEST(SshKeygenSignsTest, TamperedSshKeygenCertificateFailsVerification) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  UserKey ca_key = MakeUserKey(dir, "ca");
  UserKey user = MakeUserKey(dir, "user");
  std::vector<std::string> sign = {"ssh-keygen", "-q", "-s",   ca_key.path,       "-I",
                                   "id",         "-n", "root", user.path + ".pub"};
  RunResult r = RunCommand(sign, 30s);
  ASSERT_EQ(r.exit_code, 0) << Describe(sign, r);
  std::string blob = DecodeCertFile(user.path + "-cert.pub");
  ASSERT_TRUE(ParseCertificate(blob).ok());
  // The last byte of the key id "id".
  const size_t at = blob.find(std::string_view("\0\0\0\x02id", 6));
  ASSERT_NE(at, std::string::npos);
  blob[at + 5] = 'x';
  StatusOr<ParsedCertificate> parsed = ParseCertificate(blob);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(), "the certificate signature does not verify with its CA key");
}

TEST(SshKeygenSignsTest, EcdsaCaSignaturesAreNotVerified) {
  TempDir dir;
  ASSERT_TRUE(dir.ok());
  UserKey ca_key = MakeUserKey(dir, "ca", "ecdsa", 256);
  UserKey user = MakeUserKey(dir, "user");
  std::vector<std::string> sign = {"ssh-keygen", "-q", "-s",   ca_key.path,       "-I",
                                   "id",         "-n", "root", user.path + ".pub"};
  RunResult r = RunCommand(sign, 30s);
  ASSERT_EQ(r.exit_code, 0) << Describe(sign, r);
  StatusOr<ParsedCertificate> parsed = ParseCertificate(DecodeCertFile(user.path + "-cert.pub"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(),
            "only certificates signed by an ssh-ed25519 CA key can be verified");
}

// ---------------------------------------------------------------------------------------
// ssh-keygen -Q reads our KRLs.

// "FILE (COMMENT): REVOKED" / ": ok" lines of `ssh-keygen -Q`, by file.
std::vector<std::pair<std::string, std::string>> QueryKrl(const std::string& krl,
                                                          const std::vector<std::string>& files) {
  std::vector<std::string> q = {"ssh-keygen", "-Q", "-f", krl};
  q.insert(q.end(), files.begin(), files.end());
  RunResult r = RunCommand(q, 30s);
  EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << Describe(q, r);
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    const size_t colon = line.rfind(": ");
    if (colon == std::string::npos) continue;
    out.emplace_back(line.substr(0, line.find(' ')), line.substr(colon + 2));
  }
  EXPECT_EQ(out.size(), files.size()) << Describe(q, r);
  return out;
}

// `krl` encoded, in the file at `path`; its bytes in `*bytes` when asked.
void WriteKrl(const std::string& path, const Krl& krl, std::string* bytes = nullptr) {
  StatusOr<std::string> encoded = EncodeKrl(krl);
  ASSERT_TRUE(encoded.ok()) << encoded.status().message();
  ASSERT_TRUE(WriteFile(path, *encoded, 0644));
  if (bytes != nullptr) *bytes = *std::move(encoded);
}

// A scratch directory and a CA (its public key in ca.pub) for checking KRLs with ssh-keygen.
class SshKeygenKrlTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir.ok());
    ASSERT_TRUE(WriteFile(dir / "ca.pub", ca.PublicKeyLine() + "\n", 0644));
  }

  TempDir dir;
  CaKey ca = NewCa();
};

TEST_F(SshKeygenKrlTest, QueryReportsRevokedCertificatesAndKeys) {
  CaKey other_ca = NewCa();
  UserKey a = MakeUserKey(dir, "a");  // certificate serial 5: revoked
  UserKey b = MakeUserKey(dir, "b");  // certificate serial 6: not revoked
  UserKey c = MakeUserKey(dir, "c");  // plain key revoked by SHA-256; its certificate too
  UserKey d = MakeUserKey(dir, "d");  // nothing revoked
  UserKey e = MakeUserKey(dir, "e");  // serial 5 too, but from the other CA: not revoked
  UserKey f = MakeUserKey(dir, "f");  // the other CA's serial 77: revoked for every CA
  WriteCertificate(ca, a, Request(a.blob, 5, {"root"}));
  WriteCertificate(ca, b, Request(b.blob, 6, {"root"}));
  WriteCertificate(ca, c, Request(c.blob, 7, {"root"}));
  WriteCertificate(other_ca, e, Request(e.blob, 5, {"root"}));
  WriteCertificate(other_ca, f, Request(f.blob, 77, {"root"}));
  WriteCertificate(ca, d, Request(d.blob, 1000, {"root"}));  // just past the range 500..999

  Krl krl{.krl_version = 3,
          .generated_date = Now(),
          .comment = "keypaird test",
          .certificates = {{std::string(ca.public_blob()), SerialRangesOf({5, 100, 101, 102})},
                           {std::string(ca.public_blob()), {{500, 999}}},
                           {"", {{77, 77}}}},
          .revoked_key_sha256 = {KeySha256(c.blob)}};
  ASSERT_NO_FATAL_FAILURE(WriteKrl(dir / "krl", krl));

  const std::vector<std::pair<std::string, std::string>> expected = {
      {a.path + "-cert.pub", "REVOKED"}, {b.path + "-cert.pub", "ok"},
      {c.path + ".pub", "REVOKED"},      {c.path + "-cert.pub", "REVOKED"},
      {d.path + ".pub", "ok"},           {d.path + "-cert.pub", "ok"},
      {a.path + ".pub", "ok"},           {e.path + "-cert.pub", "ok"},
      {f.path + "-cert.pub", "REVOKED"},
  };
  std::vector<std::string> files;
  for (const auto& [file, verdict] : expected) files.push_back(file);
  EXPECT_EQ(QueryKrl(dir / "krl", files), expected);
}

// `ssh-keygen -Q -l -f path`: the listing of a KRL.
std::string ListKrl(const std::string& path) {
  std::vector<std::string> list = {"ssh-keygen", "-Q", "-l", "-f", path};
  RunResult r = RunCommand(list, 30s);
  EXPECT_EQ(r.exit_code, 0) << Describe(list, r);
  return r.out;
}

// `ranges` sorted and joined where they touch, as a KRL holds them.
std::vector<SerialRange> MergedRanges(std::vector<SerialRange> ranges) {
  Krl krl = NormalizeKrl({.certificates = {{"", std::move(ranges)}}});
  return krl.certificates.empty() ? std::vector<SerialRange>{} : krl.certificates[0].serials;
}

// The "serial: N" and "serial: N-M" lines of a listing, as ranges.
std::vector<SerialRange> ListedSerials(const std::string& listing) {
  std::vector<SerialRange> listed;
  std::istringstream in(listing);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("serial: ")) continue;
    const std::string v = line.substr(8);
    const size_t dash = v.find('-');
    listed.push_back({std::stoull(v.substr(0, dash)),
                      std::stoull(dash == std::string::npos ? v : v.substr(dash + 1))});
  }
  return listed;
}

TEST_F(SshKeygenKrlTest, ListingShowsOurSerialsAndHashes) {
  std::vector<uint64_t> serials;
  for (uint64_t s = 1; s <= 300; s += 3) serials.push_back(s);  // dense: a bitmap
  for (uint64_t s = 1000; s < 1100; ++s) serials.push_back(s);  // a run: one range
  serials.push_back(5000);                                      // isolated: the serial list
  serials.push_back(18'446'744'073'709'551'615u);
  const std::string h1 = KeySha256("one"), h2 = KeySha256("two");
  Krl krl{.krl_version = 9,
          .generated_date = kAfter,
          .certificates = {{std::string(ca.public_blob()), SerialRangesOf(serials)}},
          .revoked_key_sha256 = {h1, h2}};
  ASSERT_NO_FATAL_FAILURE(WriteKrl(dir / "krl", krl));

  const std::string listing = ListKrl(dir / "krl");
  EXPECT_NE(listing.find("# KRL version 9\n"), std::string::npos) << listing;
  EXPECT_NE(listing.find("# CA key " + TrimRight(ca.PublicKeyLine()).substr(0, 11) + " " +
                         Sha256Fingerprint(dir / "ca.pub")),
            std::string::npos)
      << listing;
  // Every serial line, as ranges, against ours.
  Krl from_listing{.certificates = {{std::string(ca.public_blob()), ListedSerials(listing)}}};
  EXPECT_EQ(NormalizeKrl(from_listing).certificates, NormalizeKrl(krl).certificates) << listing;
  std::set<std::string> hashes;
  std::istringstream in(listing);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("hash: SHA256:")) hashes.insert(line.substr(13));
  }
  EXPECT_EQ(hashes, (std::set<std::string>{Hex(h1), Hex(h2)})) << listing;
}

TEST_F(SshKeygenKrlTest, ListingAndQueryAgreeWithOurBitmaps) {
  constexpr uint64_t kMax = 18'446'744'073'709'551'615u;
  std::vector<uint64_t> serials;
  for (uint64_t s = 1; s <= 20'000; s += 2) serials.push_back(s);   // three bitmaps
  for (uint64_t s = 30'000; s < 30'100; ++s) serials.push_back(s);  // a range
  serials.insert(serials.end(), {50'000, 90'000});                  // the list
  serials.insert(serials.end(), {100'000, 100'007});  // a bitmap 0x0081: a zero byte first
  for (uint64_t s = kMax - 10; s != kMax; s += 2) serials.push_back(s);
  serials.push_back(kMax);  // a bitmap up to the largest serial
  Krl krl{.krl_version = 4,
          .generated_date = Now(),
          .certificates = {{std::string(ca.public_blob()), SerialRangesOf(serials)}}};
  std::string encoded;
  ASSERT_NO_FATAL_FAILURE(WriteKrl(dir / "krl", krl, &encoded));
  EXPECT_LT(encoded.size(), 3'000u);  // bitmaps: 8 bytes a serial would be 80 KB

  const std::string listing = ListKrl(dir / "krl");
  EXPECT_EQ(MergedRanges(ListedSerials(listing)), SerialRangesOf(serials)) << listing;

  // And the revocation check sshd makes, through ssh-keygen -Q: in and beside the bitmaps.
  std::vector<std::pair<std::string, std::string>> expected;
  for (const auto& [serial, verdict] :
       std::vector<std::pair<uint64_t, std::string>>{{1, "REVOKED"},
                                                     {2, "ok"},
                                                     {19'999, "REVOKED"},
                                                     {20'001, "ok"},
                                                     {100'007, "REVOKED"},
                                                     {100'006, "ok"},
                                                     {kMax, "REVOKED"},
                                                     {kMax - 1, "ok"}}) {
    UserKey key = MakeUserKey(dir, "k" + std::to_string(expected.size()));
    ASSERT_NO_FATAL_FAILURE(WriteCertificate(ca, key, Request(key.blob, serial, {"root"})));
    expected.emplace_back(key.path + "-cert.pub", verdict);
  }
  std::vector<std::string> files;
  for (const auto& [file, verdict] : expected) files.push_back(file);
  EXPECT_EQ(QueryKrl(dir / "krl", files), expected);
}

TEST_F(SshKeygenKrlTest, OurReaderReadsTheBitmapsSshKeygenWrites) {
  // Dense serials ssh-keygen writes as a bitmap (within the 16 384 bits it reads back: a
  // larger one it writes but then refuses, "bignum is too large"), a run and strays.
  std::vector<uint64_t> serials;
  std::string spec;
  for (uint64_t s = 1; s < 10'000; s += 2) serials.push_back(s);
  for (uint64_t s = 20'000; s <= 20'100; ++s) serials.push_back(s);
  for (uint64_t s = 50'000; s < 50'300; s += 3) serials.push_back(s);
  serials.push_back(1'000'000);
  for (uint64_t s : serials) spec += "serial: " + std::to_string(s) + "\n";
  ASSERT_TRUE(WriteFile(dir / "spec", spec, 0644));
  std::vector<std::string> make = {"ssh-keygen",   "-k", "-z",        "5",         "-s",
                                   dir / "ca.pub", "-f", dir / "krl", dir / "spec"};
  RunResult r = RunCommand(make, 30s);
  ASSERT_EQ(r.exit_code, 0) << Describe(make, r);
  const std::string bytes = ReadFile(dir / "krl");
  // 5 201 serials in well under 8 bytes each: ssh-keygen used bitmaps.
  EXPECT_LT(bytes.size(), 2'000u);
  StatusOr<Krl> krl = ParseKrl(bytes);
  ASSERT_TRUE(krl.ok()) << krl.status().message();
  EXPECT_EQ(krl->krl_version, 5u);
  ASSERT_EQ(krl->certificates.size(), 1u);
  EXPECT_EQ(krl->certificates[0].ca_key_blob, std::string(ca.public_blob()));
  EXPECT_EQ(krl->certificates[0].serials, SerialRangesOf(serials));
  // ssh-keygen reads it too, with the same serials.
  const std::string listing = ListKrl(dir / "krl");
  EXPECT_EQ(MergedRanges(ListedSerials(listing)), SerialRangesOf(serials)) << listing;
}

TEST_F(SshKeygenKrlTest, OurReaderReadsTheEmptyKrlSshKeygenWrites) {
  ASSERT_TRUE(WriteFile(dir / "spec", "", 0644));
  std::vector<std::string> make = {"ssh-keygen", "-k", "-z", "12", "-f", dir / "krl", dir / "spec"};
  RunResult r = RunCommand(make, 30s);
  ASSERT_EQ(r.exit_code, 0) << Describe(make, r);
  StatusOr<Krl> krl = ParseKrl(ReadFile(dir / "krl"));
  ASSERT_TRUE(krl.ok()) << krl.status().message();
  EXPECT_EQ(krl->krl_version, 12u);
  EXPECT_TRUE(krl->certificates.empty());
  EXPECT_TRUE(krl->revoked_key_sha256.empty());
}

// ---------------------------------------------------------------------------------------
// A real sshd that trusts our CA and reads our KRL.

class SshdCertificateTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ca_ = new CaKey(NewCa());
    other_ca_ = new CaKey(NewCa());
    revoked_serial_ = new UserKey(MakeUserKey(*dir_, "revoked_serial"));
    revoked_key_ = new UserKey(MakeUserKey(*dir_, "revoked_key"));
    Krl krl{.krl_version = 1,
            .generated_date = Now(),
            .comment = "sshd test",
            .certificates = {{std::string(ca_->public_blob()), SerialRangesOf({13, 40, 41, 42})}},
            .revoked_key_sha256 = {KeySha256(revoked_key_->blob)}};
    ASSERT_NO_FATAL_FAILURE(WriteKrl(*dir_ / "krl", krl));
    ASSERT_TRUE(WriteFile(*dir_ / "ca.pub", ca_->PublicKeyLine("keypaird test CA") + "\n", 0644));
    std::string error;
    sshd_ = Sshd::Start(
                *dir_, "none", &error,
                "TrustedUserCAKeys " + *dir_ / "ca.pub" + "\nRevokedKeys " + *dir_ / "krl" + "\n")
                .release();
    ASSERT_NE(sshd_, nullptr) << error;
  }
  static void TearDownTestSuite() {
    delete sshd_;
    delete revoked_key_;
    delete revoked_serial_;
    delete other_ca_;
    delete ca_;
    delete dir_;
  }

  void SetUp() override {
    if (sshd_ == nullptr) GTEST_SKIP() << "sshd did not start (see the first test's failure)";
  }

  // Logs in with `key` (and its -cert.pub); the output and the sshd log lines it caused.
  struct Login {
    RunResult result;
    std::string log;
  };
  static Login LogIn(const UserKey& key, std::string_view wait_for_log = {}) {
    const size_t log_before = sshd_->Log().size();
    std::vector<std::string> login = SshLogin(key.path, sshd_->port());
    Login out{RunCommand(login, 30s), ""};
    // sshd writes the reason before it answers, but give a slow machine a moment.
    for (int i = 0; i < 50; ++i) {
      out.log = sshd_->Log().substr(log_before);
      if (wait_for_log.empty() || out.log.find(wait_for_log) != std::string::npos) break;
      std::this_thread::sleep_for(20ms);
    }
    return out;
  }

  static void ExpectAccepted(const UserKey& key) {
    Login l = LogIn(key);
    EXPECT_EQ(l.result.exit_code, 0) << Describe({"ssh", key.path}, l.result) << "\nsshd:\n"
                                     << l.log;
    EXPECT_EQ(l.result.out, "keypaird-login-ok\n");
  }

  static void ExpectRefused(const UserKey& key, std::string_view reason) {
    Login l = LogIn(key, reason);
    EXPECT_NE(l.result.exit_code, 0) << Describe({"ssh", key.path}, l.result);
    EXPECT_EQ(l.result.out.find("keypaird-login-ok"), std::string::npos);
    EXPECT_NE(l.result.err.find("Permission denied"), std::string::npos) << l.result.err;
    EXPECT_NE(l.log.find(reason), std::string::npos) << "sshd log:\n" << l.log;
  }

  static UserKey Key(const std::string& name) { return MakeUserKey(*dir_, name); }

  static TempDir* dir_;
  static CaKey* ca_;
  static CaKey* other_ca_;
  static UserKey* revoked_serial_;
  static UserKey* revoked_key_;
  static Sshd* sshd_;
};

TempDir* SshdCertificateTest::dir_ = nullptr;
CaKey* SshdCertificateTest::ca_ = nullptr;
CaKey* SshdCertificateTest::other_ca_ = nullptr;
UserKey* SshdCertificateTest::revoked_serial_ = nullptr;
UserKey* SshdCertificateTest::revoked_key_ = nullptr;
Sshd* SshdCertificateTest::sshd_ = nullptr;

TEST_F(SshdCertificateTest, CertificateForTheUserLogsIn) {
  UserKey key = Key("good");
  WriteCertificate(*ca_, key, Request(key.blob, 1, {"someone-else", CurrentUser()}));
  ExpectAccepted(key);
}

TEST_F(SshdCertificateTest, EcdsaAndRsaKeysLogInWithTheirCertificates) {
  for (const auto& [type, bits] : std::vector<std::pair<std::string, int>>{
           {"ecdsa", 256}, {"ecdsa", 384}, {"ecdsa", 521}, {"rsa", 2048}}) {
    SCOPED_TRACE(type + std::to_string(bits));
    UserKey key = MakeUserKey(*dir_, type + std::to_string(bits), type, bits);
    WriteCertificate(*ca_, key, Request(key.blob, 2, {CurrentUser()}));
    ExpectAccepted(key);
  }
}

TEST_F(SshdCertificateTest, KeyWithoutCertificateIsRefused) {
  UserKey key = Key("bare");
  ExpectRefused(key, "Failed publickey");
}

TEST_F(SshdCertificateTest, CertificateForOtherPrincipalsIsRefused) {
  UserKey key = Key("other_principal");
  WriteCertificate(*ca_, key, Request(key.blob, 3, {"someone-else", CurrentUser() + "x"}));
  ExpectRefused(key, "name is not a listed principal");
}

TEST_F(SshdCertificateTest, ExpiredCertificateIsRefused) {
  UserKey key = Key("expired");
  UserCertificateRequest req = Request(key.blob, 4, {CurrentUser()});
  req.valid_after = Now() - 7200;
  req.valid_before = Now() - 60;
  WriteCertificate(*ca_, key, req);
  ExpectRefused(key, "Certificate invalid: expired");
}

TEST_F(SshdCertificateTest, NotYetValidCertificateIsRefused) {
  UserKey key = Key("not_yet");
  UserCertificateRequest req = Request(key.blob, 5, {CurrentUser()});
  req.valid_after = Now() + 3600;
  req.valid_before = Now() + 7200;
  WriteCertificate(*ca_, key, req);
  ExpectRefused(key, "Certificate invalid: not yet valid");
}

TEST_F(SshdCertificateTest, CertificateFromAnotherCaIsRefused) {
  UserKey key = Key("other_ca");
  WriteCertificate(*other_ca_, key, Request(key.blob, 6, {CurrentUser()}));
  ASSERT_TRUE(WriteFile(*dir_ / "other_ca.pub", other_ca_->PublicKeyLine() + "\n", 0644));
  // sshd names the untrusted CA in the failure and says no more.
  ExpectRefused(key, "(serial 6) CA ED25519 " + Sha256Fingerprint(*dir_ / "other_ca.pub"));
}

TEST_F(SshdCertificateTest, CertificateWithRevokedSerialIsRefused) {
  WriteCertificate(*ca_, *revoked_serial_, Request(revoked_serial_->blob, 41, {CurrentUser()}));
  ExpectRefused(*revoked_serial_, "revoked by file");
}

TEST_F(SshdCertificateTest, SameKeyWithAnUnrevokedSerialLogsIn) {
  UserKey key = Key("unrevoked_serial");
  WriteCertificate(*ca_, key, Request(key.blob, 43, {CurrentUser()}));
  ExpectAccepted(key);
}

TEST_F(SshdCertificateTest, CertificateOfRevokedKeyIsRefused) {
  WriteCertificate(*ca_, *revoked_key_, Request(revoked_key_->blob, 7, {CurrentUser()}));
  ExpectRefused(*revoked_key_, "revoked by file");
}

TEST_F(SshdCertificateTest, ForceCommandReplacesTheCommand) {
  UserKey key = Key("forced");
  UserCertificateRequest req = Request(key.blob, 8, {CurrentUser()});
  req.force_command = "echo forced-by-certificate";
  WriteCertificate(*ca_, key, req);
  Login l = LogIn(key);
  EXPECT_EQ(l.result.exit_code, 0) << Describe({"ssh"}, l.result) << "\nsshd:\n" << l.log;
  EXPECT_EQ(l.result.out, "forced-by-certificate\n");
}

TEST_F(SshdCertificateTest, SourceAddressIsEnforced) {
  UserKey inside = Key("source_inside");
  UserCertificateRequest req = Request(inside.blob, 9, {CurrentUser()});
  req.source_address = "192.0.2.0/24,127.0.0.0/8";
  WriteCertificate(*ca_, inside, req);
  ExpectAccepted(inside);

  UserKey outside = Key("source_outside");
  req = Request(outside.blob, 10, {CurrentUser()});
  req.source_address = "192.0.2.0/24,::1";
  WriteCertificate(*ca_, outside, req);
  ExpectRefused(outside, "not from a permitted source address (127.0.0.1)");
}

}  // namespace
}  // namespace keypaird::sshkey
