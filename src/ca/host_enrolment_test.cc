// Host enrolment end to end below HTTP (service/hosts.h with the real CertificateAuthority
// over the memory store): join tokens spent with the enrolment, host certificates from the
// host CA, host tokens that stop with their host, and the host CA's part of the KRL.
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "auth/tokens.h"
#include "ca/authority.h"
#include "sshkey/certificate.h"
#include "sshkey/certificate_test_keys.h"
#include "sshkey/krl.h"
#include "sshkey/sshkey.h"

namespace keypaird::ca {
namespace {

using sshkey::testkeys::kTestKeys;

std::string LineOf(int i) { return std::string(kTestKeys[i].line) + " root@web-1"; }

// The wire form of a "TYPE BASE64 COMMENT" certificate line.
std::string BlobOfLine(const std::string& line) {
  const size_t start = line.find(' ') + 1;
  const size_t end = line.find(' ', start);
  std::string blob;
  EXPECT_TRUE(sshkey::Base64DecodeStrict(line.substr(start, end - start), &blob)) << line;
  return blob;
}

class HostEnrolmentTest : public ::testing::Test {
 protected:
  HostEnrolmentTest() {
    admin_.admin = true;
    admin_.token_id = "aaaaaaaaaaaaaaaa";
    editor_.user_id = 5;
    editor_.projects = {1};
    editor_.token_id = "bbbbbbbbbbbbbbbb";
  }

  // A join token of project 1 for these names, its whole string.
  std::string JoinToken(std::vector<std::string> names, int64_t uses = 2) {
    service::JoinTokenRequest r;
    r.hostnames = std::move(names);
    r.uses = uses;
    StatusOr<service::MadeJoinToken> made = hosts_.CreateJoinToken(admin_, 1, r);
    EXPECT_TRUE(made.ok()) << made.status().message();
    return std::string(made->token.view());
  }

  service::EnrollRequest Request(std::vector<std::string> names,
                                 std::vector<std::string> keys = {LineOf(0), LineOf(1)}) {
    return {.project_id = 1, .hostnames = std::move(names), .public_keys = std::move(keys)};
  }

  int64_t UsesLeft() { return store_->ListJoinTokens(1)->at(0).uses_left; }

  int64_t now_us_ = 1'700'000'000'000'000;
  Clock clock_ = [this] { return now_us_ += 1000; };
  std::unique_ptr<store::KeyStore> store_ = store::NewMemoryStore();
  service::KeyService keys_{store_.get(), clock_};
  CertificateAuthority ca_{store_.get(), &keys_, Kek::FromBytes(std::string(32, 'k')).value(),
                           86400, clock_};
  service::Hosts hosts_{store_.get(), clock_, &ca_, /*cert_validity_s=*/7 * 86400};
  auth::Principal admin_;
  auth::Principal editor_;
  auth::Principal from_;
};

TEST_F(HostEnrolmentTest, AHostGetsAHostCertificatePerKeyFromTheHostCa) {
  const std::string join = JoinToken({"web-1.example.com", "*.db.example.com"});
  StatusOr<service::HostAnswer> a =
      hosts_.Enroll(join, Request({"Web-1.example.com", "pg-1.db.example.com"}), from_);
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(UsesLeft(), 1);
  EXPECT_EQ(a->host.hostnames,
            (std::vector<std::string>{"web-1.example.com", "pg-1.db.example.com"}));
  // The host token: its id is the host's, only its hash is kept.
  std::string_view id;
  std::string_view secret;
  ASSERT_TRUE(auth::SplitHostToken(a->host_token.view(), &id, &secret));
  EXPECT_EQ(id, a->host.id);
  StatusOr<store::HostRecord> stored = store_->GetHost(a->host.id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->token_hash, auth::HashSecret(secret));
  EXPECT_EQ(*stored, a->host);

  StatusOr<CaInfo> host_ca = ca_.Info(admin_, 1, store::CaKind::kHost);
  StatusOr<CaInfo> user_ca = ca_.Info(admin_, 1, store::CaKind::kUser);
  ASSERT_TRUE(host_ca.ok() && user_ca.ok());  // both made by the enrolment
  EXPECT_NE(host_ca->public_key, user_ca->public_key);
  EXPECT_EQ(a->user_ca_public_keys, std::vector<std::string>{user_ca->public_key});
  EXPECT_EQ(a->host_ca_public_keys, std::vector<std::string>{host_ca->public_key});
  ASSERT_EQ(a->certificates.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    StatusOr<sshkey::ParsedCertificate> cert =
        sshkey::ParseCertificate(BlobOfLine(a->certificates[i].certificate));
    ASSERT_TRUE(cert.ok()) << cert.status().message();
    EXPECT_EQ(cert->cert_type, sshkey::kCertTypeHost);
    EXPECT_EQ(cert->key_blob, sshkey::ParsePublicKey(LineOf(i))->blob);
    EXPECT_EQ(cert->ca_key_blob, sshkey::ParsePublicKey(host_ca->public_key)->blob);
    EXPECT_EQ(cert->principals, a->host.hostnames);
    EXPECT_EQ(cert->serial, static_cast<uint64_t>(i + 1));  // the host CA's own serials
    EXPECT_EQ(cert->valid_before - cert->valid_after, 7u * 86400 + 300);
    EXPECT_EQ(a->certificates[i].record.serial, i + 1);
  }
  EXPECT_EQ(a->host.valid_before_s, a->certificates[0].record.valid_before_s);
}

TEST_F(HostEnrolmentTest, RefusedEnrolmentsSpendNothingAndStoreNothing) {
  const std::string join = JoinToken({"web-1.example.com", "*.db.example.com"}, 1);
  auto code = [&](std::string_view token, const service::EnrollRequest& r) {
    return hosts_.Enroll(token, r, from_).status().code();
  };
  const service::EnrollRequest good = Request({"web-1.example.com"});
  EXPECT_EQ(code("kpd_" + join.substr(4), good), StatusCode::kUnauthenticated);  // not a join token
  std::string wrong = join;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  EXPECT_EQ(code(wrong, good), StatusCode::kUnauthenticated);
  service::EnrollRequest elsewhere = good;
  elsewhere.project_id = 2;
  EXPECT_EQ(code(join, elsewhere), StatusCode::kUnauthenticated);
  EXPECT_EQ(code(join, Request({"web-2.example.com"})), StatusCode::kPermissionDenied);
  EXPECT_EQ(code(join, Request({"db.example.com"})), StatusCode::kPermissionDenied);
  EXPECT_EQ(code(join, Request({"*.db.example.com"})), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(join, Request({"web-1.example.com"}, {})), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(join, Request({"web-1.example.com"}, {LineOf(5)})),  // a security key
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(join, Request({"web-1.example.com"}, {"ssh-ed25519 AAAA"})),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(join, Request({"web-1.example.com"}, std::vector<std::string>(17, LineOf(0)))),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(UsesLeft(), 1);
  EXPECT_TRUE(store_->ListHosts(1)->empty());
  // The one use, then none left.
  ASSERT_TRUE(hosts_.Enroll(join, good, from_).ok());
  EXPECT_EQ(code(join, Request({"pg-1.db.example.com"})), StatusCode::kUnauthenticated);
  EXPECT_EQ(store_->ListHosts(1)->size(), 1u);
  // Without a CA, no host is certified.
  service::Hosts no_ca(store_.get(), clock_);
  const std::string other = JoinToken({"web-9"});
  EXPECT_EQ(no_ca.Enroll(other, Request({"web-9"}), from_).status().code(),
            StatusCode::kNotFound);
}

TEST_F(HostEnrolmentTest, AHostTokenRenewsItsOwnHostOnlyUntilTheHostIsDeleted) {
  const std::string join = JoinToken({"web-1", "web-2"});
  StatusOr<service::HostAnswer> one = hosts_.Enroll(join, Request({"web-1"}), from_);
  StatusOr<service::HostAnswer> two = hosts_.Enroll(join, Request({"web-2"}, {LineOf(2)}), from_);
  ASSERT_TRUE(one.ok() && two.ok());
  auth::Authenticator auth(store_.get(), clock_);
  StatusOr<auth::Principal> host =
      auth.Authenticate("Bearer " + std::string(one->host_token.view()));
  ASSERT_TRUE(host.ok()) << host.status().message();
  EXPECT_EQ(host->host_id, one->host.id);
  EXPECT_EQ(host->RoleIn(1), auth::Role::kViewer);
  EXPECT_EQ(host->RoleIn(2), auth::Role::kNone);

  // Its own host: new certificates, new serials (the host CA's), the keys it has.
  StatusOr<service::HostAnswer> renewed = hosts_.Renew(*host, one->host.id, {});
  ASSERT_TRUE(renewed.ok()) << renewed.status().message();
  ASSERT_EQ(renewed->certificates.size(), 2u);
  EXPECT_EQ(renewed->certificates[0].record.serial, 4);
  EXPECT_TRUE(renewed->host_token.empty());
  EXPECT_GT(store_->GetHost(one->host.id)->renewed_at_us, one->host.renewed_at_us);
  // New keys replace the old ones.
  renewed = hosts_.Renew(*host, one->host.id, {LineOf(4)});
  ASSERT_TRUE(renewed.ok()) << renewed.status().message();
  EXPECT_EQ(store_->GetHost(one->host.id)->public_keys.size(), 1u);
  // Not another host's, and no other token renews.
  EXPECT_EQ(hosts_.Renew(*host, two->host.id, {}).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(hosts_.Renew(admin_, one->host.id, {}).status().code(),
            StatusCode::kPermissionDenied);

  // Deleted by an administrator only; its token stops, its certificates enter the KRL.
  EXPECT_EQ(hosts_.DeleteHost(editor_, 1, one->host.id).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(hosts_.DeleteHost(admin_, 2, one->host.id).code(), StatusCode::kNotFound);
  ASSERT_TRUE(hosts_.DeleteHost(admin_, 1, one->host.id).ok());
  EXPECT_EQ(auth.Authenticate("Bearer " + std::string(one->host_token.view())).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(hosts_.Renew(*host, one->host.id, {}).status().code(), StatusCode::kNotFound);
  StatusOr<std::string> krl = ca_.Krl(admin_, 1);
  ASSERT_TRUE(krl.ok()) << krl.status().message();
  StatusOr<sshkey::Krl> parsed = sshkey::ParseKrl(*krl);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->certificates.size(), 1u);
  EXPECT_EQ(parsed->certificates[0].ca_key_blob,
            sshkey::ParsePublicKey(ca_.Info(admin_, 1, store::CaKind::kHost)->public_key)->blob);
  // Serials 1, 2 (enrolment), 4, 5 (renewal) and 6 (new key): not 3, the other host's.
  EXPECT_EQ(parsed->certificates[0].serials,
            (std::vector<sshkey::SerialRange>{{1, 2}, {4, 6}}));
  // The hosts an administrator lists.
  EXPECT_EQ(hosts_.ListHosts(editor_, 1).status().code(), StatusCode::kPermissionDenied);
  StatusOr<std::vector<store::HostRecord>> listed = hosts_.ListHosts(admin_, 1);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->at(0).id, two->host.id);
}

}  // namespace
}  // namespace keypaird::ca
