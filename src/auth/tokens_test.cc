#include "auth/tokens.h"

#include <gtest/gtest.h>

namespace keypaird::auth {
namespace {

class TokensTest : public ::testing::Test {
 protected:
  std::string Mint(int64_t user, bool admin, std::vector<int64_t> projects) {
    StatusOr<MintedToken> m = MintToken(user, admin, std::move(projects), 1000);
    EXPECT_TRUE(m.ok()) << m.status().message();
    EXPECT_TRUE(store_->InsertToken(m->record, {}).ok());
    last_id_ = m->record.id;
    return std::string(m->token.view());
  }

  std::unique_ptr<store::KeyStore> store_ = store::NewMemoryStore();
  int64_t now_us_ = 5000;
  Authenticator auth_{store_.get(), [this] { return now_us_; }};
  std::string last_id_;
};

TEST_F(TokensTest, MintedTokenHasTheDocumentedShapeAndOnlyItsHashIsStored) {
  StatusOr<MintedToken> m = MintToken(7, false, {3, 1, 3}, 42);
  ASSERT_TRUE(m.ok());
  const std::string token(m->token.view());
  ASSERT_EQ(token.size(), 4u + 16 + 1 + 64);
  EXPECT_EQ(token.substr(0, 4), "kpd_");
  std::string_view id, secret;
  ASSERT_TRUE(SplitToken(token, &id, &secret));
  EXPECT_EQ(id, m->record.id);
  EXPECT_EQ(m->record.secret_hash, HashSecret(secret));
  EXPECT_EQ(m->record.secret_hash.size(), 32u);
  EXPECT_EQ(m->record.secret_hash.find(secret), std::string::npos);
  EXPECT_EQ(m->record.projects, (std::vector<int64_t>{1, 3}));  // sorted, deduplicated
  EXPECT_EQ(m->record.created_at_us, 42);
}

TEST_F(TokensTest, AJoinTokenHasItsOwnShapeAndIsNeverAnApiToken) {
  StatusOr<JoinSecret> j = NewJoinSecret();
  ASSERT_TRUE(j.ok());
  const std::string token(j->token.view());
  ASSERT_EQ(token.size(), 4u + 16 + 1 + 64);
  EXPECT_EQ(token.substr(0, 4), "kpj_");
  std::string_view id, secret;
  ASSERT_TRUE(SplitJoinToken(token, &id, &secret));
  EXPECT_EQ(id, j->id);
  EXPECT_EQ(j->secret_hash, HashSecret(secret));
  EXPECT_FALSE(SplitToken(token, &id, &secret));  // not an API token
  StatusOr<MintedToken> api = MintToken(1, true, {}, 0);
  ASSERT_TRUE(api.ok());
  EXPECT_FALSE(SplitJoinToken(api->token.view(), &id, &secret));
  EXPECT_NE(NewJoinSecret()->id, j->id);
}

TEST_F(TokensTest, AHostTokenHasItsOwnShapeAndIsNeitherAnApiNorAJoinToken) {
  StatusOr<JoinSecret> h = NewHostSecret();
  ASSERT_TRUE(h.ok());
  const std::string token(h->token.view());
  EXPECT_EQ(token.substr(0, 4), "kph_");
  std::string_view id, secret;
  ASSERT_TRUE(SplitHostToken(token, &id, &secret));
  EXPECT_EQ(id, h->id);
  EXPECT_EQ(h->secret_hash, HashSecret(secret));
  EXPECT_FALSE(SplitToken(token, &id, &secret));
  EXPECT_FALSE(SplitJoinToken(token, &id, &secret));
  // Unknown to the store: refused like any unknown token, without a lookup of API tokens.
  EXPECT_EQ(auth_.Authenticate("Bearer " + token).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(TokenOfHeader("Bearer  kph_x "), std::optional<std::string_view>("kph_x"));
  EXPECT_EQ(TokenOfHeader("Basic abc"), std::nullopt);
  EXPECT_EQ(TokenOfHeader("kph_x"), std::nullopt);
}

TEST_F(TokensTest, TwoTokensNeverShareIdOrSecret) {
  StatusOr<MintedToken> a = MintToken(1, true, {}, 0);
  StatusOr<MintedToken> b = MintToken(1, true, {}, 0);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->record.id, b->record.id);
  EXPECT_NE(a->record.secret_hash, b->record.secret_hash);
}

TEST_F(TokensTest, MintRejectsBadScopes) {
  EXPECT_EQ(MintToken(0, true, {}, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MintToken(1, false, {}, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MintToken(1, true, {1}, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MintToken(1, false, {0}, 0).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(TokensTest, AuthenticatesWithAnyCaseOfTheSchemeWord) {
  const std::string token = Mint(5, false, {10, 20});
  for (const char* scheme : {"APIKey ", "apikey ", "ApiKey ", "APIKEY  ", "Bearer ", "bearer "}) {
    StatusOr<Principal> p = auth_.Authenticate(scheme + token);
    ASSERT_TRUE(p.ok()) << scheme;
    EXPECT_EQ(p->user_id, 5);
    EXPECT_EQ(p->token_id, last_id_);
    EXPECT_FALSE(p->admin);
    EXPECT_TRUE(p->MayUseProject(10));
    EXPECT_TRUE(p->MayUseProject(20));
    EXPECT_FALSE(p->MayUseProject(15));
  }
}

TEST_F(TokensTest, AdminMayUseEveryProject) {
  StatusOr<Principal> p = auth_.Authenticate("APIKey " + Mint(1, true, {}));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->admin);
  EXPECT_TRUE(p->MayUseProject(123456));
}

TEST_F(TokensTest, RejectsMissingMalformedUnknownWrongAndRevokedTokens) {
  const std::string token = Mint(5, false, {1});
  std::string wrong_secret = token;
  wrong_secret.back() = wrong_secret.back() == '0' ? '1' : '0';
  std::string unknown_id = token;
  unknown_id[4] = unknown_id[4] == 'a' ? 'b' : 'a';
  for (const std::string& header :
       {std::string(), std::string("APIKey"), "Basic " + token, token, "APIKey " + wrong_secret,
        "APIKey " + unknown_id, "APIKey " + token + "x", std::string("APIKey kpd_short_x")}) {
    StatusOr<Principal> p = auth_.Authenticate(header);
    EXPECT_EQ(p.status().code(), StatusCode::kUnauthenticated) << header;
  }
  ASSERT_TRUE(store_->RevokeToken(last_id_, 2000, {}).ok());
  EXPECT_EQ(auth_.Authenticate("APIKey " + token).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(TokensTest, ADisabledUsersTokensAreRefusedUntilTheUserIsEnabled) {
  const std::string first = Mint(6, false, {1});
  const std::string second = Mint(6, true, {});
  const std::string other = Mint(7, false, {1});
  ASSERT_TRUE(store_->SetUserDisabled(6, true, 3000, {}).ok());
  for (const std::string& token : {first, second}) {
    StatusOr<Principal> p = auth_.Authenticate("APIKey " + token);
    EXPECT_EQ(p.status().code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(p.status().message(), "The token's user is disabled.");
  }
  EXPECT_TRUE(auth_.Authenticate("APIKey " + other).ok());
  ASSERT_TRUE(store_->SetUserDisabled(6, false, 4000, {}).ok());
  EXPECT_TRUE(auth_.Authenticate("APIKey " + first).ok());
}

TEST_F(TokensTest, ReadOnlyAndPrincipalsComeWithThePrincipal) {
  StatusOr<MintedToken> m = MintToken(9, false, {1}, 0, {true, {"deploy", "alice", "deploy"}});
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->record.read_only);
  EXPECT_EQ(m->record.principals, (std::vector<std::string>{"alice", "deploy"}));  // sorted, once
  ASSERT_TRUE(store_->InsertToken(m->record, {}).ok());
  StatusOr<Principal> p = auth_.Authenticate("Bearer " + std::string(m->token.view()));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->read_only);
  EXPECT_EQ(p->principals, (std::vector<std::string>{"alice", "deploy"}));
}

TEST_F(TokensTest, PrincipalsAreCheckedWhenMinted) {
  for (const char* bad : {"", "with space", "a,b", "new\nline", "root;rm"}) {
    EXPECT_EQ(MintToken(1, false, {1}, 0, {false, {bad}}).status().code(),
              StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_TRUE(MintToken(1, false, {1}, 0, {false, {"ops.team-1@example.com", "_svc"}}).ok());
  EXPECT_EQ(MintToken(1, false, {1}, 0, {false, std::vector<std::string>(65, "p")}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(TokensTest, RolesDecideWhatACallerMayDoPerProject) {
  Principal token;  // a project token of projects 1 and 2
  token.projects = {1, 2};
  EXPECT_EQ(token.RoleIn(1), Role::kEditor);
  EXPECT_EQ(token.RoleIn(3), Role::kNone);
  token.read_only = true;
  EXPECT_EQ(token.RoleIn(2), Role::kViewer);
  EXPECT_FALSE(token.MayChange(2));
  Principal admin;
  admin.admin = true;
  EXPECT_TRUE(admin.Administers(12345));
  Principal session;
  session.session = true;
  session.granted = true;
  session.projects = {1, 4, 7};
  session.roles = {{1, "viewer", {}}, {4, "editor", {"deploy"}}, {7, "admin", {"root"}}};
  EXPECT_EQ(session.RoleIn(1), Role::kViewer);
  EXPECT_TRUE(session.MayUseProject(1));
  EXPECT_FALSE(session.MayChange(1));
  EXPECT_TRUE(session.MayChange(4));
  EXPECT_FALSE(session.Administers(4));
  EXPECT_TRUE(session.Administers(7));
  EXPECT_EQ(session.RoleIn(2), Role::kNone);
  EXPECT_EQ(session.PrincipalsIn(4), (std::vector<std::string>{"deploy"}));
  EXPECT_TRUE(session.PrincipalsIn(2).empty());
  EXPECT_TRUE(session.AdministersAnyProject());
  session.roles.pop_back();  // no admin role left
  EXPECT_FALSE(session.AdministersAnyProject());
  EXPECT_TRUE(admin.AdministersAnyProject());
  EXPECT_FALSE(token.AdministersAnyProject());
  EXPECT_EQ(ChangeDenied(session, 1).message(), "Your role in project 1 is viewer: it may only read.");
  EXPECT_EQ(ChangeDenied(session, 2).message(), "You do not have access to project 2.");
}

TEST_F(TokensTest, ASessionIsOnlyACookiesAndEndsOnTime) {
  StatusOr<MintedToken> m =
      MintSession(5, {{9, "editor", {"deploy"}}, {2, "viewer", {}}}, 1000, 8000);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->record.kind, "session");
  EXPECT_EQ(m->record.projects, (std::vector<int64_t>{2, 9}));
  EXPECT_FALSE(m->record.read_only);  // an editor somewhere
  ASSERT_TRUE(store_->InsertToken(m->record, {}).ok());
  const std::string cookie(m->token.view());
  StatusOr<Principal> p = auth_.AuthenticateSession(cookie);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_TRUE(p->session);
  EXPECT_EQ(p->RoleIn(9), Role::kEditor);
  EXPECT_EQ(p->RoleIn(2), Role::kViewer);
  // Never as an Authorization header; a token never as a cookie.
  EXPECT_EQ(auth_.Authenticate("Bearer " + cookie).status().code(), StatusCode::kUnauthenticated);
  const std::string token = Mint(5, false, {1});
  EXPECT_EQ(auth_.AuthenticateSession(token).status().code(), StatusCode::kUnauthenticated);
  // Ended at expires_at.
  now_us_ = 8000;
  EXPECT_EQ(auth_.AuthenticateSession(cookie).status().message(),
            "The session has ended: sign in again.");
}

TEST_F(TokensTest, ASessionsRolesAreChecked) {
  EXPECT_FALSE(MintSession(5, {{1, "owner", {}}}, 0, 10).ok());
  EXPECT_FALSE(MintSession(5, {{1, "viewer", {}}, {1, "admin", {}}}, 0, 10).ok());
  EXPECT_FALSE(MintSession(5, {{0, "viewer", {}}}, 0, 10).ok());
  EXPECT_FALSE(MintSession(5, {{1, "viewer", {"a b"}}}, 0, 10).ok());
  EXPECT_FALSE(MintSession(5, {}, 10, 10).ok());
  StatusOr<MintedToken> viewer = MintSession(5, {{1, "viewer", {}}}, 0, 10);
  ASSERT_TRUE(viewer.ok());
  EXPECT_TRUE(viewer->record.read_only);  // a viewer everywhere
  EXPECT_TRUE(MintSession(5, {}, 0, 10).ok());  // signed in with no grant: no project
}

}  // namespace
}  // namespace keypaird::auth
