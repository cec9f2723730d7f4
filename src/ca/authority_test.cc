#include "ca/authority.h"

#include <gtest/gtest.h>

#include "auth/audit.h"
#include "sshkey/certificate.h"
#include "sshkey/krl.h"
#include "store/testing/forwarding_store.h"

namespace keypaird::ca {
namespace {

constexpr char kEd25519[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIjxL6g1II8NsO8odvBwGKvq2Dx/h/xrvsV9b9LVIYKm alice@laptop";

auth::Principal User(int64_t id, std::vector<std::string> principals) {
  auth::Principal p;
  p.token_id = "token-of-" + std::to_string(id);
  p.user_id = id;
  p.projects = {1};
  p.principals = std::move(principals);
  return p;
}

// The wire form of a "TYPE BASE64 COMMENT" certificate line ("" if it does not decode).
std::string CertificateBlob(const std::string& line) {
  const size_t start = line.find(' ') + 1;
  std::string blob;
  if (!sshkey::Base64DecodeStrict(line.substr(start, line.rfind(' ') - start), &blob)) return "";
  return blob;
}

// How many serials a KRL section lists.
uint64_t SerialsIn(const sshkey::KrlCaSerials& section) {
  uint64_t n = 0;
  for (const sshkey::SerialRange& r : section.serials) n += r.last - r.first + 1;
  return n;
}

class AuthorityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service::CreateKeyRequest req;
    req.project_id = 1;
    req.name = "alice-key";
    req.public_key = kEd25519;
    StatusOr<service::CreatedKey> created = keys_.Create(alice_, std::move(req));
    ASSERT_TRUE(created.ok()) << created.status().message();
    key_id_ = created->key.id;
  }

  SignRequest Request(std::vector<std::string> principals = {"deploy"}) {
    SignRequest r;
    r.principals = std::move(principals);
    r.valid_for_s = 600;
    return r;
  }

  int64_t now_ = 1'800'000'000'000'000;  // microseconds
  std::unique_ptr<store::KeyStore> store_ = store::NewMemoryStore();
  service::KeyService keys_{store_.get(), [this] { return now_; }};
  CertificateAuthority ca_{store_.get(), &keys_, Kek::FromBytes(std::string(32, 'k')).value(),
                           86400,
                           [this] { return now_; }};
  auth::Principal alice_ = User(1, {"deploy", "alice"});
  auth::Principal bob_ = User(2, {"deploy"});
  std::string key_id_;
};

TEST_F(AuthorityTest, AProjectsCaIsMadeByAWriteAndNeverByARead) {
  // Reads first: no CA, and none made by asking.
  EXPECT_EQ(ca_.Info(alice_, 1).status().code(), StatusCode::kNotFound);
  EXPECT_NE(ca_.Info(alice_, 1).status().message().find("POST /api/v1/projects/1/ssh_ca"),
            std::string::npos);
  StatusOr<std::string> empty = ca_.Krl(alice_, 1);
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_TRUE(sshkey::ParseKrl(*empty)->certificates.empty());
  EXPECT_EQ(store_->GetCa(1, store::CaKind::kUser).status().code(), StatusCode::kNotFound);

  bool created = false;
  StatusOr<CaInfo> first = ca_.Create(alice_, 1, &created);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(created);
  EXPECT_TRUE(first->public_key.starts_with("ssh-ed25519 "));
  EXPECT_TRUE(first->fingerprint_sha256.starts_with("SHA256:"));
  StatusOr<CaInfo> again = ca_.Create(bob_, 1, &created);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(created);
  EXPECT_EQ(again->public_key, first->public_key);
  EXPECT_EQ(ca_.Info(bob_, 1)->public_key, first->public_key);
  auth::Principal admin;
  admin.admin = true;
  EXPECT_NE(ca_.Create(admin, 2, &created)->public_key, first->public_key);
  EXPECT_EQ(ca_.Info(alice_, 2).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ca_.Create(alice_, 2, &created).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(AuthorityTest, TheFirstCertificateMakesTheCa) {
  StatusOr<IssuedCertificate> issued = ca_.Sign(alice_, 1, {key_id_, false}, Request());
  ASSERT_TRUE(issued.ok()) << issued.status().message();
  StatusOr<CaInfo> info = ca_.Info(bob_, 1);
  ASSERT_TRUE(info.ok()) << info.status().message();
  StatusOr<sshkey::ParsedCertificate> cert =
      sshkey::ParseCertificate(CertificateBlob(issued->certificate));
  ASSERT_TRUE(cert.ok()) << cert.status().message();
  EXPECT_EQ(sshkey::ParsePublicKey(info->public_key)->blob, cert->ca_key_blob);
}

// Counts the CA rows asked of the store: made (GetOrCreateCa, a write) and read (GetCa).
class CaCountingStore final : public store::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  StatusOr<store::CaRecord> GetOrCreateCa(const store::CaRecord& candidate,
                                          const store::EventRecord& event) override {
    ++calls;
    return inner()->GetOrCreateCa(candidate, event);
  }
  StatusOr<store::CaRecord> GetCa(int64_t project_id, store::CaKind kind) override {
    ++reads;
    return inner()->GetCa(project_id, kind);
  }
  int calls = 0;
  int reads = 0;
};

TEST_F(AuthorityTest, ANodeMakesAProjectsCaOnceAndSignsWithAnotherNodesRotationAtOnce) {
  CaCountingStore counting(store_.get());
  CertificateAuthority node(&counting, &keys_, Kek::FromBytes(std::string(32, 'k')).value(), 86400,
                            [this] { return now_; });
  bool created = false;
  StatusOr<CaInfo> info = node.Create(alice_, 1, &created);
  ASSERT_TRUE(info.ok()) << info.status().message();
  EXPECT_EQ(counting.calls, 1);
  ASSERT_TRUE(node.Info(bob_, 1).ok());
  ASSERT_TRUE(node.Krl(bob_, 1).ok());
  StatusOr<IssuedCertificate> issued = node.Sign(alice_, 1, {key_id_, false}, Request());
  ASSERT_TRUE(issued.ok()) << issued.status().message();
  EXPECT_EQ(counting.calls, 1);  // a CA that exists is read, never offered again
  EXPECT_EQ(sshkey::ParseCertificate(CertificateBlob(issued->certificate))->ca_key_blob,
            sshkey::ParsePublicKey(info->public_key)->blob);
  // Another node (ca_) rotates: this node's next certificate is the new key's.
  auth::Principal admin;
  admin.admin = true;
  StatusOr<CaInfo> rotated = ca_.Rotate(admin, 1, store::CaKind::kUser);
  ASSERT_TRUE(rotated.ok()) << rotated.status().message();
  ASSERT_NE(rotated->public_key, info->public_key);
  issued = node.Sign(alice_, 1, {key_id_, false}, Request());
  ASSERT_TRUE(issued.ok()) << issued.status().message();
  EXPECT_EQ(sshkey::ParseCertificate(CertificateBlob(issued->certificate))->ca_key_blob,
            sshkey::ParsePublicKey(rotated->public_key)->blob);
  EXPECT_EQ(store_->GetCertificate(1, issued->serial)->ca_generation, 2);
  EXPECT_EQ(node.Info(bob_, 1)->public_key, rotated->public_key);
  EXPECT_EQ(counting.calls, 1);
}

TEST_F(AuthorityTest, ARotatedCaTrustsBothKeysUntilTheOldOnesLastCertificateExpires) {
  auth::Principal admin;
  admin.admin = true;
  EXPECT_EQ(ca_.Rotate(admin, 1, store::CaKind::kUser).status().code(), StatusCode::kNotFound);
  StatusOr<IssuedCertificate> old_cert = ca_.Sign(alice_, 1, {key_id_, false}, Request());
  ASSERT_TRUE(old_cert.ok()) << old_cert.status().message();
  const std::string old_key = ca_.Info(alice_, 1)->public_key;
  // Only the project's administrators rotate.
  EXPECT_EQ(ca_.Rotate(alice_, 1, store::CaKind::kUser).status().code(),
            StatusCode::kPermissionDenied);
  auth::Principal project_admin = User(3, {});
  project_admin.granted = true;
  project_admin.roles = {store::TokenRole{.project_id = 1, .role = "admin", .principals = {}}};
  ASSERT_TRUE(project_admin.Administers(1));
  now_ += 60'000'000;
  StatusOr<CaInfo> rotated = ca_.Rotate(project_admin, 1, store::CaKind::kUser);
  ASSERT_TRUE(rotated.ok()) << rotated.status().message();
  ASSERT_EQ(rotated->keys.size(), 2u);
  EXPECT_EQ(rotated->keys[0].public_key, rotated->public_key);
  EXPECT_FALSE(rotated->keys[0].retires_at_us.has_value());
  EXPECT_EQ(rotated->keys[1].public_key, old_key);
  EXPECT_EQ(rotated->keys[1].retires_at_us, old_cert->valid_before_s * 1000000);
  EXPECT_EQ(*ca_.TrustedCaKeys(admin, 1, store::CaKind::kUser),
            (std::vector<std::string>{rotated->public_key, old_key}));
  StatusOr<std::vector<std::string>> host_keys = ca_.TrustedCaKeys(admin, 1, store::CaKind::kHost);
  ASSERT_TRUE(host_keys.ok()) << host_keys.status().message();  // made now, by its first use
  EXPECT_EQ(*host_keys,
            (std::vector<std::string>{ca_.Info(admin, 1, store::CaKind::kHost)->public_key}));
  EXPECT_EQ(ca_.Info(admin, 1, store::CaKind::kHost)->keys.size(), 1u);  // not rotated

  // The KRL names each revoked certificate under the key that signed it.
  StatusOr<IssuedCertificate> new_cert = ca_.Sign(alice_, 1, {key_id_, false}, Request());
  ASSERT_TRUE(new_cert.ok());
  ASSERT_TRUE(ca_.Revoke(alice_, 1, old_cert->serial).ok());
  ASSERT_TRUE(ca_.Revoke(alice_, 1, new_cert->serial).ok());
  StatusOr<sshkey::Krl> krl = sshkey::ParseKrl(*ca_.Krl(alice_, 1));
  ASSERT_TRUE(krl.ok()) << krl.status().message();
  const std::string old_blob = sshkey::ParsePublicKey(old_key)->blob;
  const std::string new_blob = sshkey::ParsePublicKey(rotated->public_key)->blob;
  EXPECT_EQ(krl->certificates.size(), 2u);
  EXPECT_TRUE(sshkey::KrlRevokesCertificate(*krl, old_blob, old_cert->serial));
  EXPECT_FALSE(sshkey::KrlRevokesCertificate(*krl, new_blob, old_cert->serial));
  EXPECT_TRUE(sshkey::KrlRevokesCertificate(*krl, new_blob, new_cert->serial));

  // Once the old key's last certificate has expired, only the new key is trusted.
  now_ = old_cert->valid_before_s * 1000000 + 1;
  EXPECT_EQ(ca_.Info(alice_, 1)->keys.size(), 1u);
  EXPECT_EQ(*ca_.TrustedCaKeys(admin, 1, store::CaKind::kUser),
            (std::vector<std::string>{rotated->public_key}));
}

TEST_F(AuthorityTest, DeletingAKeyRotatedOutRevokesItsCertificatesAndNeverTheSigningKey) {
  auth::Principal admin;
  admin.admin = true;
  StatusOr<IssuedCertificate> old_cert = ca_.Sign(alice_, 1, {key_id_, false}, Request());
  ASSERT_TRUE(old_cert.ok()) << old_cert.status().message();
  const CaInfo before = *ca_.Info(alice_, 1);
  StatusOr<CaInfo> rotated = ca_.Rotate(admin, 1, store::CaKind::kUser);
  ASSERT_TRUE(rotated.ok()) << rotated.status().message();
  EXPECT_EQ(ca_.DeleteKey(admin, 1, store::CaKind::kUser, rotated->fingerprint_sha256).code(),
            StatusCode::kAlreadyExists);  // 409: rotate first
  EXPECT_EQ(ca_.DeleteKey(alice_, 1, store::CaKind::kUser, before.fingerprint_sha256).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(ca_.DeleteKey(admin, 1, store::CaKind::kHost, before.fingerprint_sha256).code(),
            StatusCode::kNotFound);  // the user CA's key, not the host CA's
  // Without its "SHA256:" too.
  ASSERT_TRUE(ca_.DeleteKey(admin, 1, store::CaKind::kUser,
                            before.fingerprint_sha256.substr(std::string("SHA256:").size()))
                  .ok());
  EXPECT_EQ(ca_.DeleteKey(admin, 1, store::CaKind::kUser, before.fingerprint_sha256).code(),
            StatusCode::kNotFound);  // deleted already
  StatusOr<CaInfo> after = ca_.Info(alice_, 1);
  ASSERT_EQ(after->keys.size(), 1u);
  EXPECT_EQ(after->keys[0].public_key, rotated->public_key);
  StatusOr<sshkey::Krl> krl = sshkey::ParseKrl(*ca_.Krl(alice_, 1));
  ASSERT_TRUE(krl.ok());
  EXPECT_TRUE(sshkey::KrlRevokesCertificate(*krl, sshkey::ParsePublicKey(before.public_key)->blob,
                                            old_cert->serial));
}

TEST_F(AuthorityTest, SignsAUserCertificateForTheKeyWithItsCa) {
  SignRequest req = Request({"deploy", "alice"});
  req.extensions = std::vector<std::string>{"permit-pty"};
  req.force_command = "uptime";
  StatusOr<IssuedCertificate> issued = ca_.Sign(alice_, 1, {key_id_, false}, req);
  ASSERT_TRUE(issued.ok()) << issued.status().message();
  EXPECT_EQ(issued->serial, 1);
  EXPECT_EQ(issued->valid_after_s, now_ / 1000000 - 300);
  EXPECT_EQ(issued->valid_before_s, now_ / 1000000 + 600);
  EXPECT_TRUE(issued->certificate.starts_with("ssh-ed25519-cert-v01@openssh.com "));
  StatusOr<sshkey::PublicKey> subject = sshkey::ParsePublicKey(kEd25519);
  StatusOr<sshkey::ParsedCertificate> parsed =
      sshkey::ParseCertificate(CertificateBlob(issued->certificate));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->key_blob, subject->blob);
  EXPECT_EQ(parsed->serial, 1u);
  EXPECT_EQ(parsed->principals, (std::vector<std::string>{"deploy", "alice"}));
  EXPECT_EQ(parsed->force_command, "uptime");
  ASSERT_EQ(parsed->extensions.size(), 1u);
  EXPECT_EQ(parsed->extensions[0].name, "permit-pty");
  StatusOr<sshkey::PublicKey> ca_key = sshkey::ParsePublicKey(ca_.Info(alice_, 1)->public_key);
  EXPECT_EQ(parsed->ca_key_blob, ca_key->blob);
  EXPECT_EQ(ca_.Sign(alice_, 1, {key_id_, false}, Request())->serial, 2);  // serials count up
  // Absent extensions are ssh-keygen's defaults.
  StatusOr<IssuedCertificate> plain = ca_.Sign(alice_, 1, {key_id_, false}, Request());
  ASSERT_TRUE(plain.ok());
}

TEST_F(AuthorityTest, SigningFollowsTheRules) {
  auto code = [&](const auth::Principal& who, SignRequest req) {
    return ca_.Sign(who, 1, {key_id_, false}, std::move(req)).status().code();
  };
  EXPECT_EQ(code(alice_, Request({})), StatusCode::kInvalidArgument);  // no principals
  EXPECT_EQ(code(alice_, Request({"root"})), StatusCode::kPermissionDenied);  // not alice's
  EXPECT_EQ(code(alice_, Request({"bad principal"})), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(bob_, Request()), StatusCode::kPermissionDenied);  // not bob's key
  SignRequest short_lived = Request();
  short_lived.valid_for_s = 59;
  EXPECT_EQ(code(alice_, short_lived), StatusCode::kInvalidArgument);
  SignRequest long_lived = Request();
  long_lived.valid_for_s = 86401;
  EXPECT_EQ(code(alice_, long_lived), StatusCode::kInvalidArgument);
  SignRequest odd = Request();
  odd.extensions = std::vector<std::string>{"permit-everything"};
  EXPECT_EQ(code(alice_, odd), StatusCode::kInvalidArgument);
  SignRequest source = Request();
  source.source_address = "not an address";
  EXPECT_EQ(code(alice_, source), StatusCode::kInvalidArgument);
  // A NUL in force_command is that field's fault, not the principals'.
  SignRequest nul = Request();
  nul.force_command = std::string("ls\0rm", 5);
  StatusOr<IssuedCertificate> nul_refused = ca_.Sign(alice_, 1, {key_id_, false}, nul);
  EXPECT_EQ(nul_refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(nul_refused.status().field_errors().count("force_command"), 1u);
  EXPECT_EQ(nul_refused.status().field_errors().count("principals"), 0u);
  // A principal named twice is listed once.
  StatusOr<IssuedCertificate> twice =
      ca_.Sign(alice_, 1, {key_id_, false}, Request({"alice", "deploy", "alice"}));
  ASSERT_TRUE(twice.ok()) << twice.status().message();
  EXPECT_EQ(twice->principals, (std::vector<std::string>{"alice", "deploy"}));
  EXPECT_EQ(sshkey::ParseCertificate(CertificateBlob(twice->certificate))->principals,
            (std::vector<std::string>{"alice", "deploy"}));
  auth::Principal admin;
  admin.admin = true;
  admin.token_id = "admin";
  EXPECT_TRUE(ca_.Sign(admin, 1, {key_id_, false}, Request({"root"})).ok());  // any principal
  // A disabled key is not certified.
  service::UpdateKeyRequest disable;
  disable.disabled = true;
  ASSERT_TRUE(keys_.Update(alice_, 1, {key_id_, false}, disable).ok());
  StatusOr<IssuedCertificate> refused = ca_.Sign(alice_, 1, {key_id_, false}, Request());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().field_errors().count("key"), 1u);
}

TEST_F(AuthorityTest, TheKrlListsCertificatesBySerialNeverAKey) {
  StatusOr<IssuedCertificate> one = ca_.Sign(alice_, 1, {key_id_, false}, Request());
  StatusOr<IssuedCertificate> two = ca_.Sign(alice_, 1, {key_id_, false}, Request());
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(ca_.Revoke(bob_, 1, one->serial).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(ca_.Revoke(alice_, 1, 99).code(), StatusCode::kNotFound);
  ASSERT_TRUE(ca_.Revoke(alice_, 1, one->serial).ok());
  StatusOr<std::string> bytes = ca_.Krl(bob_, 1);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  StatusOr<sshkey::Krl> krl = sshkey::ParseKrl(*bytes);
  ASSERT_TRUE(krl.ok()) << krl.status().message();
  StatusOr<sshkey::PublicKey> ca_key = sshkey::ParsePublicKey(ca_.Info(alice_, 1)->public_key);
  EXPECT_TRUE(sshkey::KrlRevokesCertificate(*krl, ca_key->blob, 1));
  EXPECT_FALSE(sshkey::KrlRevokesCertificate(*krl, ca_key->blob, 2));
  StatusOr<sshkey::PublicKey> subject = sshkey::ParsePublicKey(kEd25519);
  EXPECT_FALSE(sshkey::KrlRevokesKey(*krl, subject->blob));
  // Disabling a certified key revokes its certificates, by serial; enabling it takes them
  // out again.
  service::UpdateKeyRequest disable;
  disable.disabled = true;
  ASSERT_TRUE(keys_.Update(alice_, 1, {key_id_, false}, disable).ok());
  krl = sshkey::ParseKrl(*ca_.Krl(bob_, 1));
  ASSERT_TRUE(krl.ok());
  EXPECT_TRUE(sshkey::KrlRevokesCertificate(*krl, ca_key->blob, 2));
  service::UpdateKeyRequest enable;
  enable.disabled = false;
  ASSERT_TRUE(keys_.Update(alice_, 1, {key_id_, false}, enable).ok());
  krl = sshkey::ParseKrl(*ca_.Krl(bob_, 1));
  ASSERT_TRUE(krl.ok());
  EXPECT_FALSE(sshkey::KrlRevokesCertificate(*krl, ca_key->blob, 2));
  // Deleting it revokes its certificates by serial; the key itself is never listed.
  ASSERT_TRUE(keys_.Delete(alice_, 1, {key_id_, false}).ok());
  krl = sshkey::ParseKrl(*ca_.Krl(bob_, 1));
  ASSERT_TRUE(krl.ok());
  EXPECT_TRUE(sshkey::KrlRevokesCertificate(*krl, ca_key->blob, 1));
  EXPECT_TRUE(sshkey::KrlRevokesCertificate(*krl, ca_key->blob, 2));
  EXPECT_FALSE(sshkey::KrlRevokesKey(*krl, subject->blob));
  EXPECT_TRUE(krl->revoked_key_sha256.empty());
}

// The KRL is served with an ETag of its bytes: the same stored state must give the same
// bytes at any time (until a listed certificate expires), and a revocation new bytes with
// a version that grew.
TEST_F(AuthorityTest, TheKrlIsTheSameBytesForTheSameStateAndItsVersionGrowsWithARevocation) {
  StatusOr<std::string> empty = ca_.Krl(bob_, 1);
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ(sshkey::ParseKrl(*empty)->generated_date, 0u);  // no CA: no date at all
  StatusOr<IssuedCertificate> one = ca_.Sign(alice_, 1, {key_id_, false}, Request());
  StatusOr<IssuedCertificate> two = ca_.Sign(alice_, 1, {key_id_, false}, Request());
  ASSERT_TRUE(one.ok() && two.ok());
  const int64_t ca_made_s = now_ / 1000000;
  now_ += 5'000'000;
  StatusOr<std::string> none = ca_.Krl(bob_, 1);
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_EQ(sshkey::ParseKrl(*none)->generated_date, static_cast<uint64_t>(ca_made_s));

  ASSERT_TRUE(ca_.Revoke(alice_, 1, two->serial).ok());
  StatusOr<std::string> first = ca_.Krl(bob_, 1);
  ASSERT_TRUE(first.ok()) << first.status().message();
  now_ += 7'000'000;  // later, same state (both certificates still valid)
  StatusOr<std::string> again = ca_.Krl(alice_, 1);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(*again, *first);
  EXPECT_NE(*first, *none);

  // Revoking the lower serial after the higher one still moves the version up.
  ASSERT_TRUE(ca_.Revoke(alice_, 1, one->serial).ok());
  StatusOr<std::string> more = ca_.Krl(bob_, 1);
  ASSERT_TRUE(more.ok()) << more.status().message();
  EXPECT_NE(*more, *first);
  StatusOr<sshkey::Krl> before = sshkey::ParseKrl(*first);
  StatusOr<sshkey::Krl> after = sshkey::ParseKrl(*more);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_GT(before->krl_version, sshkey::ParseKrl(*none)->krl_version);
  EXPECT_GT(after->krl_version, before->krl_version);

  // A rotation names a new CA key: the date moves to it, the serials stay where they are.
  auth::Principal admin;
  admin.admin = true;
  now_ += 3'000'000;
  ASSERT_TRUE(ca_.Rotate(admin, 1, store::CaKind::kUser).ok());
  StatusOr<sshkey::Krl> rotated = sshkey::ParseKrl(*ca_.Krl(bob_, 1));
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(rotated->generated_date, static_cast<uint64_t>(now_ / 1000000));
  EXPECT_EQ(rotated->krl_version, after->krl_version);
  EXPECT_EQ(rotated->certificates, after->certificates);
}

// Keys made by ssh-keygen, which no test here imports.
constexpr char kLoginKey[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILxJ1muk1bBi4Fvs3C3p3dDit4XfeUsDN4nlNN/0gvKk login@laptop";
constexpr char kEcdsaKey[] =
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKiZoAWzImVCO99QZL"
    "/67ID21wLCx4pFdav25UucBv6+iC2bZ2Sb5+SGIfdiXlp87pPXhYhppmhBhdunWbgxp70= ecdsa@host";
constexpr char kDsaKey[] =
    "ssh-dss AAAAB3NzaC1kc3MAAACBAJcgrTdi8vW39LWM1oF4XFvLo8dVvf2KXyoRJrMzwlNAV3p2oWdX6x36iA4K2v"
    "hLthFqHfdk9H+cBsrX28FMJm2zZk10I1CCIAqsgXZ8/d+Wi5+yPngv7DwNI6/UphiFOGJWWkfz48N1KNKcvrpibC4U"
    "3QdtB0SAc1elNywDcj2lAAAAFQDBNeH0RhMSkXtbzouJkEP9WTndewAAAIASMv446QEI70+9JmwmozOx68OINYKtuJ"
    "rlez0xwD48ooja4pyBUUgL+/DResjnrLEkLS5XK4KVs/oLPHQo6QGNE46Qm0B+34R0LppKSNvLChXnZ/W69r0/+JEq"
    "W3F2hHheXnvdo6oHssJJycluZj02cAOK3ofC3xpiu0L/9PJv+gAAAIBPRZKhm2Y4IQXvhoBGS0+7bU//58g4xk+xc2"
    "dwa9hj11Q0rUKMwVkKBUXKBzIaDRke0uT8XMoDh4EElK7wMuWwbxppQrVQq7VgijX4IV3TitDEWIaf2uhjWxOo+U0G"
    "BLKgKuzERbIbXseDycX+6Tx+44N9slLxO553i0YNPZgWFw== dsa@host";
constexpr char kShortRsaKey[] =  // 1024 bits
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDL6C4dDgGQDVNMxGZM21gYZF94rYA++jfrs6+Ldu4kHl1FsTEMOn"
    "4JDWX49Wr4fjn15iHELZo7edYXNl430nKwLhU4ENPseCdZyJc1bJASGOXa/YhkGk9OHGCmn9dfi534IZc55ZcyB6Ro"
    "EINmNVvb5sJS45ju45OHCSeoasRKow== short@host";

TEST_F(AuthorityTest, DefaultPrincipalsAreAllTheCallersOrNone) {
  EXPECT_EQ(*DefaultPrincipals(alice_, 1), (std::vector<std::string>{"deploy", "alice"}));
  // A token that may be issued nothing is refused; an admin's may ask for any, so must name
  // them (the field says which).
  EXPECT_EQ(DefaultPrincipals(User(3, {}), 1).status().code(), StatusCode::kPermissionDenied);
  auth::Principal admin;
  admin.admin = true;
  StatusOr<std::vector<std::string>> none = DefaultPrincipals(admin, 1);
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(none.status().field_errors().count("principals"), 1u);
  admin.principals = {"root"};
  EXPECT_EQ(*DefaultPrincipals(admin, 1), std::vector<std::string>{"root"});
  // A person's session: the principals its grants give it in that project.
  auth::Principal session;
  session.session = true;
  session.granted = true;
  session.user_id = 9;
  session.projects = {1, 2};
  session.roles = {{1, "editor", {"deploy"}}, {2, "editor", {}}};
  EXPECT_EQ(*DefaultPrincipals(session, 1), std::vector<std::string>{"deploy"});
  EXPECT_EQ(DefaultPrincipals(session, 2).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(AuthorityTest, APublicKeyNotStoredIsCertifiedAndRecordedForTheCaller) {
  StatusOr<IssuedCertificate> issued = ca_.SignPublicKey(bob_, 1, kLoginKey, Request());
  ASSERT_TRUE(issued.ok()) << issued.status().message();
  StatusOr<sshkey::PublicKey> subject = sshkey::ParsePublicKey(kLoginKey);
  EXPECT_EQ(issued->fingerprint_sha256, subject->fingerprint_sha256);
  EXPECT_EQ(issued->key_id, "keypaird:project=1:user=2:serial=1");  // whose, for sshd's log
  EXPECT_EQ(issued->valid_before_s, now_ / 1000000 + 600);
  StatusOr<sshkey::ParsedCertificate> parsed =
      sshkey::ParseCertificate(CertificateBlob(issued->certificate));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->key_blob, subject->blob);
  EXPECT_EQ(parsed->principals, std::vector<std::string>{"deploy"});
  EXPECT_EQ(parsed->extensions.size(), sshkey::kSshKeygenDefaultExtensions.size());
  EXPECT_EQ(parsed->ca_key_blob, sshkey::ParsePublicKey(ca_.Info(bob_, 1)->public_key)->blob);
  // Recorded without a key, as bob's; the key itself is not stored.
  StatusOr<store::CertificateRecord> record = store_->GetCertificate(1, issued->serial);
  ASSERT_TRUE(record.ok()) << record.status().message();
  EXPECT_EQ(record->key_id, "");
  EXPECT_EQ(record->key_owner_id, 2);
  EXPECT_EQ(record->key_sha256, sshkey::KeySha256(subject->blob));
  EXPECT_EQ(record->principals, std::vector<std::string>{"deploy"});
  EXPECT_EQ(record->issued_by, bob_.token_id);
  EXPECT_EQ(record->valid_before_s, issued->valid_before_s);
  store::ListQuery same_key;
  same_key.fingerprint_sha256 = subject->fingerprint_sha256;
  EXPECT_TRUE(store_->ListKeys(same_key)->keys.empty());
  // The event names the key by its fingerprint: there is no key id.
  store::EventQuery events;
  events.actions = {std::string(auth::kCertificateIssue)};
  StatusOr<store::EventPage> page = store_->ListEvents(events);
  ASSERT_TRUE(page.ok() && page->events.size() == 1);
  const store::EventRecord& event = page->events[0];
  EXPECT_EQ(event.resource_id, "1");
  EXPECT_EQ(event.resource_name, subject->fingerprint_sha256);
  EXPECT_EQ(event.actor_user_id, 2);
  EXPECT_NE(event.details.find("\"fingerprint_sha256\":\"" + subject->fingerprint_sha256 + "\""),
            std::string::npos)
      << event.details;
  EXPECT_EQ(event.details.find("key_id"), std::string::npos) << event.details;
  // ECDSA too.
  EXPECT_TRUE(ca_.SignPublicKey(bob_, 1, kEcdsaKey, Request()).ok());
}

TEST_F(AuthorityTest, APublicKeyNotStoredFollowsTheRulesOfSigningAndOfImport) {
  auto refused = [&](const auth::Principal& who, std::string_view key, SignRequest req,
                     int64_t project = 1) {
    return ca_.SignPublicKey(who, project, key, std::move(req)).status();
  };
  EXPECT_EQ(refused(alice_, kLoginKey, Request({"root"})).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(refused(User(3, {}), kLoginKey, Request()).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(refused(alice_, kLoginKey, Request(), /*project=*/2).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(refused(alice_, kLoginKey, Request({})).field_errors().count("principals"), 1u);
  SignRequest long_lived = Request();
  long_lived.valid_for_s = 86401;
  EXPECT_EQ(refused(alice_, kLoginKey, long_lived).field_errors().count("valid_for"), 1u);
  // Keys import refuses are refused, on public_key, with import's reasons.
  StatusOr<IssuedCertificate> issued = ca_.SignPublicKey(alice_, 1, kLoginKey, Request());
  ASSERT_TRUE(issued.ok()) << issued.status().message();
  for (const std::string& bad :
       {std::string(kDsaKey), std::string(kShortRsaKey), issued->certificate,
        std::string("ssh-ed25519 AAAA"), std::string("not a key"), std::string("")}) {
    Status s = refused(alice_, bad, Request());
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    ASSERT_EQ(s.field_errors().count("public_key"), 1u) << bad;
    EXPECT_EQ(s.field_errors().at("public_key"),
              std::vector<std::string>{sshkey::ParsePublicKey(bad).status().message()});
  }
  // An admin may ask for any principal.
  auth::Principal admin;
  admin.admin = true;
  admin.token_id = "admin";
  EXPECT_TRUE(ca_.SignPublicKey(admin, 1, kLoginKey, Request({"root"})).ok());
}

TEST_F(AuthorityTest, ACertificateOfAKeyNotStoredIsInTheKrlOnlyOnceRevoked) {
  StatusOr<IssuedCertificate> issued = ca_.SignPublicKey(bob_, 1, kLoginKey, Request());
  ASSERT_TRUE(issued.ok()) << issued.status().message();
  StatusOr<sshkey::PublicKey> ca_key = sshkey::ParsePublicKey(ca_.Info(bob_, 1)->public_key);
  auto listed = [&] {
    StatusOr<sshkey::Krl> krl = sshkey::ParseKrl(*ca_.Krl(alice_, 1));
    return krl.ok() && sshkey::KrlRevokesCertificate(*krl, ca_key->blob, issued->serial);
  };
  EXPECT_FALSE(listed());  // no stored key: nothing was deleted
  // Its owner is the user it was issued for: not alice, bob (or an admin).
  EXPECT_EQ(ca_.Revoke(alice_, 1, issued->serial).code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(ca_.Revoke(bob_, 1, issued->serial).ok());
  EXPECT_TRUE(listed());
  store::EventQuery events;
  events.actions = {std::string(auth::kCertificateRevoke)};
  StatusOr<store::EventPage> page = store_->ListEvents(events);
  ASSERT_TRUE(page.ok() && page->events.size() == 1);
  EXPECT_NE(page->events[0].details.find(issued->fingerprint_sha256), std::string::npos);
  // Until it expires.
  now_ = (issued->valid_before_s + 1) * 1000000;
  EXPECT_FALSE(listed());
}

TEST_F(AuthorityTest, AnotherKekIsRefusedAtTheStart) {
  ASSERT_TRUE(ca_.VerifyKek().ok());  // the first KEK seals the check
  EXPECT_TRUE(ca_.VerifyKek().ok());  // and opens it again
  CertificateAuthority other(store_.get(), &keys_, Kek::FromBytes(std::string(32, 'x')).value(),
                             86400, [this] { return now_; });
  Status s = other.VerifyKek();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--ca-kek-file"), std::string::npos);
  // The check is no project's CA.
  EXPECT_EQ(ca_.Info(alice_, 1).status().code(), StatusCode::kNotFound);
  bool created = false;
  EXPECT_EQ(ca_.Create(alice_, 1, &created)->public_key.find("project 0"), std::string::npos);
}

// KrlText keeps the KRL for the project's revocations generation: the same bytes object
// while nothing changes, new bytes after a revocation, and new bytes when the first listed
// certificate expires though nothing was written.
TEST_F(AuthorityTest, TheKrlIsKeptWhileNothingChangesAndUntilItsFirstSerialExpires) {
  SignRequest brief = Request();
  brief.valid_for_s = 60;
  StatusOr<IssuedCertificate> short_lived = ca_.Sign(alice_, 1, {key_id_, false}, brief);
  StatusOr<IssuedCertificate> longer = ca_.Sign(alice_, 1, {key_id_, false}, Request());
  ASSERT_TRUE(short_lived.ok() && longer.ok());
  ASSERT_TRUE(ca_.Revoke(alice_, 1, short_lived->serial).ok());
  StatusOr<service::GeneratedText> first = ca_.KrlText(bob_, 1);
  ASSERT_TRUE(first.ok()) << first.status().message();
  StatusOr<service::GeneratedText> again = ca_.KrlText(alice_, 1);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->body.get(), first->body.get());  // kept
  EXPECT_EQ(again->etag, first->etag);
  EXPECT_EQ(*ca_.Krl(bob_, 1), *first->body);

  ASSERT_TRUE(ca_.Revoke(alice_, 1, longer->serial).ok());
  StatusOr<service::GeneratedText> both = ca_.KrlText(bob_, 1);
  ASSERT_TRUE(both.ok());
  EXPECT_NE(both->etag, first->etag);
  StatusOr<sshkey::Krl> parsed = sshkey::ParseKrl(*both->body);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->certificates.size(), 1u);
  EXPECT_EQ(SerialsIn(parsed->certificates[0]), 2u);

  now_ += 60'000'000 - 1;
  EXPECT_EQ(ca_.KrlText(bob_, 1)->body.get(), both->body.get());  // both still valid
  now_ += 1;  // the short-lived certificate expires: it leaves the KRL, nothing written
  StatusOr<service::GeneratedText> later = ca_.KrlText(bob_, 1);
  ASSERT_TRUE(later.ok());
  EXPECT_NE(later->etag, both->etag);
  StatusOr<sshkey::Krl> left = sshkey::ParseKrl(*later->body);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->certificates.size(), 1u);
  EXPECT_EQ(left->certificates[0].serials,
            (std::vector<sshkey::SerialRange>{
                {static_cast<uint64_t>(longer->serial), static_cast<uint64_t>(longer->serial)}}));
  EXPECT_EQ(*ca_.Krl(bob_, 1), *later->body);
  auth::Principal stranger = User(9, {});
  stranger.projects = {2};
  EXPECT_EQ(ca_.KrlText(stranger, 1).status().code(), StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace keypaird::ca
