// Join tokens for hosts (service/hosts.h), over the memory store.
#include "service/hosts.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace keypaird::service {
namespace {

TEST(HostnamePatternTest, NamesAndOneLabelWildcardsInLowerCase) {
  std::string out;
  for (const char* ok : {"web-1", "Web-1.Example.COM", "*.db.example.com", "a.b", "x1"}) {
    EXPECT_TRUE(CheckHostnamePattern(ok, &out).ok()) << ok;
  }
  ASSERT_TRUE(CheckHostnamePattern("*.DB.example.com", &out).ok());
  EXPECT_EQ(out, "*.db.example.com");
  for (const char* bad : {"", "*.", "*", "-web", "web-", "a..b", "a b", "a_b", "*.*.x",
                          "x.*.y", "web.", ".web", "a,b", "é.example.com"}) {
    EXPECT_FALSE(CheckHostnamePattern(bad, &out).ok()) << bad;
  }
  EXPECT_FALSE(CheckHostnamePattern(std::string(64, 'a'), &out).ok());   // a label of 64
  EXPECT_TRUE(CheckHostnamePattern(std::string(63, 'a'), &out).ok());
  std::string long_name;
  for (int i = 0; i < 64; ++i) long_name += "abc.";
  long_name += "x";  // 257 bytes
  EXPECT_FALSE(CheckHostnamePattern(long_name, &out).ok());
}

TEST(HostnamePatternTest, AWildcardAllowsExactlyOneMoreLabel) {
  EXPECT_TRUE(HostnameMatches("web-1.example.com", "web-1.example.com"));
  EXPECT_FALSE(HostnameMatches("web-1.example.com", "web-2.example.com"));
  EXPECT_TRUE(HostnameMatches("*.db.example.com", "pg-1.db.example.com"));
  EXPECT_FALSE(HostnameMatches("*.db.example.com", "db.example.com"));
  EXPECT_FALSE(HostnameMatches("*.db.example.com", "a.pg-1.db.example.com"));
  EXPECT_FALSE(HostnameMatches("*.db.example.com", "pg-1.xdb.example.com"));
  EXPECT_FALSE(HostnameMatches("*.db.example.com", ".db.example.com"));
}

class HostsTest : public ::testing::Test {
 protected:
  HostsTest() : hosts_(store_.get(), [this] { return now_us_ += 1000; }) {
    admin_.admin = true;
    admin_.token_id = "aaaaaaaaaaaaaaaa";
    editor_.user_id = 5;
    editor_.projects = {3};
    editor_.token_id = "bbbbbbbbbbbbbbbb";
  }

  int64_t now_us_ = 1'700'000'000'000'000;
  std::unique_ptr<store::KeyStore> store_ = store::NewMemoryStore();
  Hosts hosts_;
  auth::Principal admin_;
  auth::Principal editor_;
};

TEST_F(HostsTest, AnAdministratorMakesAJoinTokenShownOnceAndStoredAsAHash) {
  JoinTokenRequest r;
  r.hostnames = {"Web-1.example.com", "*.db.example.com", "web-1.example.com"};
  r.uses = 3;
  r.expires_in_s = 600;
  StatusOr<MadeJoinToken> made = hosts_.CreateJoinToken(admin_, 3, r);
  ASSERT_TRUE(made.ok()) << made.status().message();
  std::string_view id, secret;
  ASSERT_TRUE(auth::SplitJoinToken(made->token.view(), &id, &secret));
  EXPECT_EQ(id, made->record.id);
  EXPECT_EQ(made->record.secret_hash, auth::HashSecret(secret));
  EXPECT_EQ(made->record.hostnames,
            (std::vector<std::string>{"web-1.example.com", "*.db.example.com"}));
  EXPECT_EQ(made->record.uses_left, 3);
  EXPECT_EQ(made->record.expires_at_us, made->record.created_at_us + 600'000'000);
  EXPECT_EQ(made->record.created_by, admin_.token_id);
  auto listed = hosts_.ListJoinTokens(admin_, 3);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front(), made->record);
  // Its event says what it allows, never the secret or its hash.
  store::EventQuery q;
  q.actions = {"host_join_token.create"};
  auto events = store_->ListEvents(q);
  ASSERT_EQ(events->events.size(), 1u);
  const store::EventRecord& e = events->events[0];
  EXPECT_EQ(e.project_id, 3);
  EXPECT_EQ(e.resource_id, made->record.id);
  EXPECT_NE(e.details.find(R"("hostnames":["web-1.example.com","*.db.example.com"])"),
            std::string::npos) << e.details;
  EXPECT_EQ(e.details.find(std::string(secret)), std::string::npos);
  EXPECT_EQ(e.details.find(made->record.secret_hash), std::string::npos);
}

TEST_F(HostsTest, BadRequestsNameTheirField) {
  auto field_of = [&](JoinTokenRequest r) {
    StatusOr<MadeJoinToken> made = hosts_.CreateJoinToken(admin_, 3, r);
    EXPECT_EQ(made.status().code(), StatusCode::kInvalidArgument);
    return made.ok() || made.status().field_errors().empty()
               ? std::string()
               : made.status().field_errors().begin()->first;
  };
  JoinTokenRequest ok;
  ok.hostnames = {"web-1"};
  JoinTokenRequest r = ok;
  r.hostnames = {};
  EXPECT_EQ(field_of(r), "hostnames");
  r.hostnames = {"bad_name"};
  EXPECT_EQ(field_of(r), "hostnames");
  r = ok;
  r.uses = 0;
  EXPECT_EQ(field_of(r), "uses");
  r.uses = 1001;
  EXPECT_EQ(field_of(r), "uses");
  r = ok;
  r.expires_in_s = 59;
  EXPECT_EQ(field_of(r), "expires_in");
  r.expires_in_s = 30 * 24 * 3600 + 1;
  EXPECT_EQ(field_of(r), "expires_in");
  EXPECT_TRUE(store_->ListJoinTokens(3)->empty());
}

TEST_F(HostsTest, OnlyTheProjectsAdministratorsManageItsJoinTokens) {
  JoinTokenRequest r;
  r.hostnames = {"web-1"};
  EXPECT_EQ(hosts_.CreateJoinToken(editor_, 3, r).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(hosts_.ListJoinTokens(editor_, 3).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(hosts_.ListJoinTokens(editor_, 4).status().code(), StatusCode::kPermissionDenied);
  auth::Principal project_admin;  // by grant
  project_admin.user_id = 9;
  project_admin.granted = true;
  project_admin.roles = {{.project_id = 3, .role = "admin", .principals = {}}};
  project_admin.projects = {3};
  StatusOr<MadeJoinToken> made = hosts_.CreateJoinToken(project_admin, 3, r);
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_EQ(hosts_.CreateJoinToken(project_admin, 4, r).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(hosts_.DeleteJoinToken(editor_, 3, made->record.id).code(),
            StatusCode::kPermissionDenied);
  // Another project's id is not found through this project.
  EXPECT_EQ(hosts_.DeleteJoinToken(admin_, 4, made->record.id).code(), StatusCode::kNotFound);
  EXPECT_TRUE(hosts_.DeleteJoinToken(project_admin, 3, made->record.id).ok());
  EXPECT_EQ(hosts_.DeleteJoinToken(admin_, 3, made->record.id).code(), StatusCode::kNotFound);
  store::EventQuery q;
  q.actions = {"host_join_token.delete"};
  EXPECT_EQ(store_->ListEvents(q)->events.size(), 1u);
}

}  // namespace
}  // namespace keypaird::service
