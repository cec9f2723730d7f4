// Who manages grants and users (service/people.h), over the memory store: administrators'
// tokens everything; a project's administrator by grant the grants of their projects only.
#include "service/people.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace keypaird::service {
namespace {

GrantRequest GroupGrant(std::string group, std::vector<int64_t> projects, std::string role) {
  GrantRequest r;
  r.group = std::move(group);
  r.projects = std::move(projects);
  r.role = std::move(role);
  return r;
}

// A person signed in with `roles` ("project:role" pairs), as sign-in makes them.
auth::Principal Person(std::vector<std::pair<int64_t, std::string>> roles) {
  auth::Principal p;
  p.user_id = 7;
  p.granted = true;
  p.session = true;
  for (auto& [project, role] : roles) {
    store::TokenRole r;
    r.project_id = project;
    r.role = role;
    p.roles.push_back(r);
    p.projects.push_back(project);
  }
  return p;
}

class PeopleTest : public ::testing::Test {
 protected:
  // A millisecond apart each: grants are listed in the order they were made (UUIDv7 ids).
  PeopleTest() : people_(store_.get(), [this] { return now_us_ += 1000; }) {
    admin_.admin = true;
    admin_.user_id = 1;
  }

  std::string Make(const GrantRequest& r) {
    StatusOr<store::GrantRecord> g = people_.CreateGrant(&admin_, r);
    EXPECT_TRUE(g.ok()) << g.status().message();
    return g.ok() ? g->id : "";
  }

  std::vector<std::string> Listed(const auth::Principal& caller) {
    std::vector<std::string> ids;
    StatusOr<std::vector<store::GrantRecord>> grants = people_.ListGrants(&caller);
    EXPECT_TRUE(grants.ok()) << grants.status().message();
    if (!grants.ok()) return ids;
    for (const store::GrantRecord& g : *grants) ids.push_back(g.id);
    return ids;
  }

  int64_t now_us_ = 1'700'000'000'000'000;
  std::unique_ptr<store::KeyStore> store_ = store::NewMemoryStore();
  People people_;
  auth::Principal admin_;
};

TEST_F(PeopleTest, AProjectAdministratorSeesTheGrantsNamingTheirProjectsOnly) {
  const std::string mine = Make(GroupGrant("ops", {2}, "editor"));
  const std::string shared = Make(GroupGrant("dev", {2, 3}, "viewer"));
  Make(GroupGrant("sales", {3}, "admin"));  // of another project only: not listed
  const auth::Principal boss = Person({{1, "viewer"}, {2, "admin"}});
  EXPECT_EQ(Listed(boss), (std::vector<std::string>{mine, shared}));
  EXPECT_EQ(Listed(admin_).size(), 3u);
}

TEST_F(PeopleTest, OnlyAdministratorsOfSomethingReadGrants) {
  Make(GroupGrant("ops", {2}, "editor"));
  for (const auth::Principal& caller :
       {Person({{2, "editor"}}), Person({{2, "viewer"}, {3, "editor"}}), Person({})}) {
    EXPECT_EQ(people_.ListGrants(&caller).status().code(), StatusCode::kPermissionDenied);
  }
  auth::Principal project_token;  // a token's projects give no admin role
  project_token.user_id = 3;
  project_token.projects = {2};
  EXPECT_EQ(people_.ListGrants(&project_token).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(PeopleTest, AProjectAdministratorGrantsOnlyInProjectsTheyAdminister) {
  const auth::Principal boss = Person({{1, "editor"}, {2, "admin"}, {4, "admin"}});
  StatusOr<store::GrantRecord> ok = people_.CreateGrant(&boss, GroupGrant("ops", {2, 4}, "admin"));
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  for (const std::vector<int64_t>& projects : std::vector<std::vector<int64_t>>{{1}, {2, 3}, {5}}) {
    StatusOr<store::GrantRecord> no = people_.CreateGrant(&boss, GroupGrant("ops", projects, "viewer"));
    EXPECT_EQ(no.status().code(), StatusCode::kPermissionDenied);
  }
  EXPECT_EQ(store_->ListGrants()->size(), 1u);
}

TEST_F(PeopleTest, AProjectAdministratorDeletesOnlyGrantsWhollyTheirs) {
  const std::string mine = Make(GroupGrant("ops", {2}, "editor"));
  const std::string shared = Make(GroupGrant("dev", {2, 3}, "viewer"));
  const std::string other = Make(GroupGrant("sales", {3}, "admin"));
  const auth::Principal boss = Person({{2, "admin"}});
  // Also naming a project they do not administer: refused, and said so.
  EXPECT_EQ(people_.DeleteGrant(&boss, shared).code(), StatusCode::kPermissionDenied);
  // Of none of their projects: not theirs to know of.
  EXPECT_EQ(people_.DeleteGrant(&boss, other).code(), StatusCode::kNotFound);
  EXPECT_EQ(people_.DeleteGrant(&boss, "no-such-grant").code(), StatusCode::kNotFound);
  EXPECT_TRUE(people_.DeleteGrant(&boss, mine).ok());
  EXPECT_EQ(Listed(admin_), (std::vector<std::string>{shared, other}));
  EXPECT_TRUE(people_.DeleteGrant(&admin_, shared).ok());
  EXPECT_TRUE(people_.DeleteGrant(nullptr, other).ok());  // the server's command line
  EXPECT_TRUE(store_->ListGrants()->empty());
}

TEST_F(PeopleTest, GrantEventsBelongToTheGrantsFirstProject) {
  const std::string id = Make(GroupGrant("ops", {5, 3}, "editor"));
  ASSERT_TRUE(people_.DeleteGrant(&admin_, id).ok());
  store::EventQuery q;
  q.project_ids = std::vector<int64_t>{3};
  const std::vector<store::EventRecord> events = store_->ListEvents(q)->events;
  ASSERT_EQ(events.size(), 2u);
  for (const store::EventRecord& e : events) {
    EXPECT_EQ(e.resource_id, id);
    EXPECT_NE(e.details.find(R"("projects":[3,5])"), std::string::npos) << e.details;
  }
}

TEST_F(PeopleTest, UsersAreForAdministratorsTokensOnly) {
  const auth::Principal boss = Person({{2, "admin"}});
  EXPECT_EQ(people_.ListUsers(&boss).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(people_.SetDisabled(&boss, 7, true).status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(people_.ListUsers(&admin_).ok());
}

}  // namespace
}  // namespace keypaird::service
