// SignIn against a scripted provider (discovery, keys and token endpoint answered in
// process) on the memory store: every ID token that is not acceptable leaves no session
// and an event; PKCE, nonce and state are what the provider must see. The real provider
// (npm oidc-provider) is test/test_sign_in.py's.
#include "service/sign_in.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/digest.h"
#include "identity/identity_testing.h"

namespace keypaird::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace it = identity::testing;

constexpr char kIssuer[] = "https://id.example.com";
constexpr int64_t kNow = 1'800'000'000;

store::GrantRecord Grant(std::string id, std::string group, int64_t user_id, std::string email,
                         std::vector<int64_t> projects, std::string role,
                         std::vector<std::string> principals) {
  store::GrantRecord g;
  g.id = std::move(id);
  g.group = std::move(group);
  g.user_id = user_id;
  g.user_email = std::move(email);
  g.projects = std::move(projects);
  g.role = std::move(role);
  g.principals = std::move(principals);
  g.created_at_us = 1;
  return g;
}

// The query parameter `name` of `url` (no decoding: the values used here need none).
std::string Param(const std::string& url, const std::string& name) {
  const size_t at = url.find(name + "=");
  if (at == std::string::npos) return "";
  const size_t start = at + name.size() + 1;
  return url.substr(start, url.find('&', start) - start);
}

class SignInTest : public ::testing::Test {
 protected:
  SignInTest() : key_(it::MakeP256Key("k1")) {
    SignInOptions options;
    options.issuer = kIssuer;
    options.client_id = "keypaird";
    options.client_secret = SecretString("s3cret");
    options.public_url = "https://keys.example.com";
    options.session_ttl_s = 3600;
    sign_in_ = std::make_unique<SignIn>(
        store_.get(), std::move(options), [this] { return now_s_ * 1000000; },
        [this](const std::string& url, std::string_view form, std::string_view credentials,
               int* status) { return Answer(url, form, credentials, status); });
  }

  StatusOr<std::string> Answer(const std::string& url, std::string_view form,
                               std::string_view credentials, int* status) {
    *status = 200;
    if (provider_down_) return Unavailable("connection refused");
    if (url == std::string(kIssuer) + "/.well-known/openid-configuration") {
      return nlohmann::json{{"issuer", kIssuer},
                            {"authorization_endpoint", std::string(kIssuer) + "/auth"},
                            {"token_endpoint", std::string(kIssuer) + "/token"},
                            {"jwks_uri", std::string(kIssuer) + "/jwks"}}
          .dump();
    }
    if (url == std::string(kIssuer) + "/jwks") return it::JwksOf({&key_});
    if (url == std::string(kIssuer) + "/token") {
      last_form_ = std::string(form);
      last_credentials_ = std::string(credentials);
      if (token_status_ != 200) {
        *status = token_status_;
        return std::string(R"({"error":"invalid_grant"})");
      }
      return nlohmann::json{{"id_token", id_token_}, {"token_type", "Bearer"}}.dump();
    }
    *status = 404;
    return std::string("{}");
  }

  // The claims a good ID token for this sign-in has.
  nlohmann::json Claims(const std::string& nonce) const {
    return {{"iss", kIssuer},   {"aud", "keypaird"},   {"sub", "alice"},
            {"nonce", nonce},   {"iat", now_s_ - 10},  {"exp", now_s_ + 600},
            {"email", "alice@example.com"}, {"email_verified", true},
            {"groups", {"ops"}}};
  }

  // Starts a sign-in; the token endpoint will answer `make(nonce)` signed with key_.
  StatusOr<SessionStarted> SignInWith(
      const std::function<std::string(const std::string& nonce)>& make) {
    StatusOr<LoginStarted> started = sign_in_->Start("/console/keys");
    EXPECT_TRUE(started.ok()) << started.status().message();
    if (!started.ok()) return started.status();
    authorize_url_ = started->redirect_url;
    id_token_ = make(Param(started->redirect_url, "nonce"));
    return sign_in_->Finish("the-code", started->state, started->state, {"192.0.2.1", "test"});
  }

  int Sessions() {
    StatusOr<std::vector<store::TokenRecord>> tokens = store_->ListTokens();
    EXPECT_TRUE(tokens.ok());
    if (!tokens.ok()) return -1;
    return static_cast<int>(std::count_if(tokens->begin(), tokens->end(),
                                          [](const auto& t) { return t.kind == "session"; }));
  }

  std::vector<std::string> Actions() {
    StatusOr<store::EventPage> page = store_->ListEvents({});
    EXPECT_TRUE(page.ok());
    std::vector<std::string> out;
    if (page.ok()) {
      for (const store::EventRecord& e : page->events) out.push_back(e.action);
    }
    return out;
  }

  std::unique_ptr<store::KeyStore> store_ = store::NewMemoryStore();
  it::TestKey key_;
  int64_t now_s_ = kNow;
  bool provider_down_ = false;
  int token_status_ = 200;
  std::string id_token_;
  std::string authorize_url_;
  std::string last_form_;
  std::string last_credentials_;
  std::unique_ptr<SignIn> sign_in_;
};

TEST_F(SignInTest, AGoodIdTokenMakesTheUserAndASessionWithItsRoles) {
  store::GrantRecord g = Grant("g1", "ops", 0, "", {4}, "editor", {"deploy"});
  ASSERT_TRUE(store_->InsertGrant(g, {}).ok());
  StatusOr<SessionStarted> s =
      SignInWith([&](const std::string& nonce) { return it::Sign(key_, Claims(nonce)); });
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->return_to, "/console/keys");
  EXPECT_EQ(s->user.subject, "alice");
  EXPECT_EQ(s->expires_at_us, (kNow + 3600) * 1000000);
  auth::Authenticator auth(store_.get(), [this] { return now_s_ * 1000000; });
  StatusOr<auth::Principal> p = auth.AuthenticateSession(s->cookie_value.view());
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->user_id, s->user.id);
  EXPECT_EQ(p->RoleIn(4), auth::Role::kEditor);
  EXPECT_EQ(p->PrincipalsIn(4), (std::vector<std::string>{"deploy"}));
  EXPECT_THAT(Actions(), ElementsAre("user.sign_in"));
}

TEST_F(SignInTest, TheProviderSeesPkceTheNonceAndTheClientsCredentials) {
  ASSERT_TRUE(
      SignInWith([&](const std::string& nonce) { return it::Sign(key_, Claims(nonce)); }).ok());
  EXPECT_EQ(Param(authorize_url_, "code_challenge_method"), "S256");
  EXPECT_EQ(Param(authorize_url_, "client_id"), "keypaird");
  EXPECT_EQ(Param(authorize_url_, "redirect_uri"),
            "https%3A%2F%2Fkeys.example.com%2Fauth%2Fcallback");
  const std::string verifier = Param(last_form_, "code_verifier");
  ASSERT_GE(verifier.size(), 43u);  // RFC 7636 4.1
  static const Digest kSha256("SHA256");
  EXPECT_EQ(Base64UrlEncode(kSha256.Of(verifier)), Param(authorize_url_, "code_challenge"));
  EXPECT_EQ(Param(last_form_, "grant_type"), "authorization_code");
  EXPECT_EQ(Param(last_form_, "code"), "the-code");
  EXPECT_EQ(last_credentials_, Base64Encode("keypaird:s3cret"));
  // Two sign-ins never share a state, a nonce or a verifier.
  const std::string first_nonce = Param(authorize_url_, "nonce");
  ASSERT_TRUE(
      SignInWith([&](const std::string& nonce) { return it::Sign(key_, Claims(nonce)); }).ok());
  EXPECT_NE(Param(authorize_url_, "nonce"), first_nonce);
  EXPECT_NE(Param(last_form_, "code_verifier"), verifier);
}

TEST_F(SignInTest, AnIdTokenThatIsNotAcceptableLeavesNoSessionAndAnEvent) {
  const std::vector<std::pair<const char*, std::function<std::string(const std::string&)>>>
      bad = {
          {"tampered",
           [&](const std::string& nonce) {
             std::string t = it::Sign(key_, Claims(nonce));
             t[t.find('.') + 5] ^= 1;  // one bit of the payload
             return t;
           }},
          {"expired",
           [&](const std::string& nonce) {
             return it::Sign(key_, it::WithMember(Claims(nonce), "exp", now_s_ - 400));
           }},
          {"another audience",
           [&](const std::string& nonce) {
             return it::Sign(key_, it::WithMember(Claims(nonce), "aud", "someone-else"));
           }},
          {"another issuer",
           [&](const std::string& nonce) {
             return it::Sign(key_, it::WithMember(Claims(nonce), "iss", "https://evil.example"));
           }},
          {"another sign-in's nonce",
           [&](const std::string&) { return it::Sign(key_, Claims("someone-elses-nonce")); }},
          {"issued in the future",
           [&](const std::string& nonce) {
             return it::Sign(key_, it::WithMember(Claims(nonce), "iat", now_s_ + 3600));
           }},
          {"signed by another key",
           [&](const std::string& nonce) {
             it::TestKey other = it::MakeP256Key("k1");
             return it::Sign(other, Claims(nonce));
           }},
      };
  size_t events = 0;
  for (const auto& [what, make] : bad) {
    StatusOr<SessionStarted> s = SignInWith(make);
    EXPECT_EQ(s.status().code(), StatusCode::kUnauthenticated) << what;
    EXPECT_EQ(Sessions(), 0) << what;
    std::vector<std::string> actions = Actions();
    ASSERT_EQ(actions.size(), ++events) << what;
    EXPECT_EQ(actions.front(), "user.sign_in_refused") << what;
  }
  EXPECT_TRUE(store_->ListUsers()->empty());  // nobody was made
}

TEST_F(SignInTest, AStateIsFinishedOnceByTheBrowserThatStartedIt) {
  StatusOr<LoginStarted> started = sign_in_->Start("/console/");
  ASSERT_TRUE(started.ok());
  id_token_ = it::Sign(key_, Claims(Param(started->redirect_url, "nonce")));
  EXPECT_THAT(sign_in_->Finish("c", started->state, "other", {}).status().message(),
              HasSubstr("not started in this browser"));
  EXPECT_TRUE(sign_in_->Finish("c", started->state, started->state, {}).ok());
  EXPECT_EQ(sign_in_->Finish("c", started->state, started->state, {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Sessions(), 1);
  // Expired: ten minutes after it started.
  started = sign_in_->Start("/console/");
  now_s_ += 601;
  EXPECT_EQ(sign_in_->Finish("c", started->state, started->state, {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Sessions(), 1);
}

TEST_F(SignInTest, ACodeTheProviderRefusesAndADisabledUserMakeNoSession) {
  token_status_ = 400;
  StatusOr<SessionStarted> s =
      SignInWith([&](const std::string& nonce) { return it::Sign(key_, Claims(nonce)); });
  EXPECT_EQ(s.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(s.status().message(), HasSubstr("invalid_grant"));
  token_status_ = 200;
  s = SignInWith([&](const std::string& nonce) { return it::Sign(key_, Claims(nonce)); });
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(store_->SetUserDisabled(s->user.id, true, 1, {}).ok());
  const int before = Sessions();
  s = SignInWith([&](const std::string& nonce) { return it::Sign(key_, Claims(nonce)); });
  EXPECT_EQ(s.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Sessions(), before);
}

TEST_F(SignInTest, AProviderThatIsDownIsUnavailableUntilItIsBack) {
  provider_down_ = true;
  EXPECT_EQ(sign_in_->Start("/").status().code(), StatusCode::kUnavailable);
  provider_down_ = false;
  EXPECT_TRUE(sign_in_->Start("/").ok());
}

TEST_F(SignInTest, ADeviceGetsTheApprovingSessionsRightsOnceAndNotAfterItEnds) {
  store::GrantRecord g = Grant("g1", "ops", 0, "", {4}, "editor", {"deploy"});
  ASSERT_TRUE(store_->InsertGrant(g, {}).ok());
  StatusOr<SessionStarted> s =
      SignInWith([&](const std::string& nonce) { return it::Sign(key_, Claims(nonce)); });
  ASSERT_TRUE(s.ok());
  auth::Authenticator auth(store_.get(), [this] { return now_s_ * 1000000; });
  StatusOr<auth::Principal> session = auth.AuthenticateSession(s->cookie_value.view());
  ASSERT_TRUE(session.ok());

  StatusOr<DeviceStarted> device = sign_in_->StartDevice();
  ASSERT_TRUE(device.ok()) << device.status().message();
  EXPECT_EQ(NormalUserCode(device->user_code), device->user_code);
  EXPECT_EQ(sign_in_->PollDevice(device->device_code.view(), {})->error, "authorization_pending");
  EXPECT_EQ(sign_in_->PollDevice(device->device_code.view(), {})->error, "slow_down");
  now_s_ += 5;
  EXPECT_EQ(sign_in_->PollDevice(device->device_code.view(), {})->error, "authorization_pending");
  // Only a session decides (a token of the same user does not).
  auth::Principal token = *session;
  token.session = false;
  EXPECT_EQ(sign_in_->DecideDevice(token, device->user_code, true).code(),
            StatusCode::kPermissionDenied);
  ASSERT_TRUE(sign_in_->DecideDevice(*session, device->user_code, true).ok());
  StatusOr<DevicePolled> polled = sign_in_->PollDevice(device->device_code.view(), {});
  ASSERT_TRUE(polled.ok());
  ASSERT_EQ(polled->error, "");
  // The session (an hour here) began 5 s ago: the token ends with it, not an hour from now.
  EXPECT_EQ(polled->expires_in_s, SignIn::kAccessTtlS - 5);
  StatusOr<auth::Principal> access =
      auth.Authenticate("Bearer " + std::string(polled->access_token.view()));
  ASSERT_TRUE(access.ok()) << access.status().message();
  EXPECT_TRUE(access->granted);
  EXPECT_FALSE(access->session);
  EXPECT_EQ(access->RoleIn(4), auth::Role::kEditor);
  EXPECT_EQ(access->PrincipalsIn(4), (std::vector<std::string>{"deploy"}));
  EXPECT_EQ(sign_in_->PollDevice(device->device_code.view(), {})->error, "invalid_grant");
  // It ends within the hour, and with the session.
  now_s_ += SignIn::kAccessTtlS;
  EXPECT_FALSE(auth.Authenticate("Bearer " + std::string(polled->access_token.view())).ok());
}

TEST_F(SignInTest, AnExpiredDeviceCodeOrAnEndedSessionGivesNothing) {
  StatusOr<DeviceStarted> device = sign_in_->StartDevice();
  ASSERT_TRUE(device.ok());
  now_s_ += SignIn::kDeviceTtlS;
  EXPECT_EQ(sign_in_->PollDevice(device->device_code.view(), {})->error, "expired_token");

  StatusOr<SessionStarted> s =
      SignInWith([&](const std::string& nonce) { return it::Sign(key_, Claims(nonce)); });
  ASSERT_TRUE(s.ok());
  auth::Authenticator auth(store_.get(), [this] { return now_s_ * 1000000; });
  StatusOr<auth::Principal> session = auth.AuthenticateSession(s->cookie_value.view());
  ASSERT_TRUE(session.ok());
  device = sign_in_->StartDevice();
  ASSERT_TRUE(sign_in_->DecideDevice(*session, device->user_code, true).ok());
  ASSERT_TRUE(sign_in_->SignOut(*session).ok());  // the session ends before the poll
  EXPECT_EQ(sign_in_->PollDevice(device->device_code.view(), {})->error, "access_denied");
}

TEST(NormalUserCodeTest, WhatAPersonTypesBecomesTheCode) {
  EXPECT_EQ(NormalUserCode("bcdf-ghjk"), "BCDF-GHJK");
  EXPECT_EQ(NormalUserCode("BCDF GHJK"), "BCDF-GHJK");
  EXPECT_EQ(NormalUserCode("bcdfghjk"), "BCDF-GHJK");
  for (const char* bad : {"", "BCDF-GHJ", "BCDF-GHJKL", "AEIO-UBCD", "BCDF-GHJ1"}) {
    EXPECT_EQ(NormalUserCode(bad), "") << bad;
  }
}

TEST(RolesFromGrantsTest, TheHighestRoleAndEveryPrincipalPerProject) {
  store::UserRecord user;
  user.id = 5;
  user.email = "Alice@Example.com";
  user.groups = {"ops", "dev"};
  const std::vector<store::GrantRecord> grants = {
      Grant("a", "ops", 0, "", {1, 2}, "viewer", {"ro"}),
      Grant("b", "dev", 0, "", {2}, "editor", {"deploy"}),
      Grant("c", "", 5, "", {3}, "admin", {}),
      Grant("d", "", 0, "alice@example.com", {4}, "viewer", {}),
      Grant("e", "sales", 0, "", {5}, "admin", {}),
      Grant("f", "", 6, "", {6}, "admin", {}),
  };
  std::vector<store::TokenRole> roles = RolesFromGrants(grants, user, /*email_verified=*/true);
  EXPECT_EQ(roles, (std::vector<store::TokenRole>{{1, "viewer", {"ro"}},
                                                  {2, "editor", {"deploy", "ro"}},
                                                  {3, "admin", {}},
                                                  {4, "viewer", {}}}));
  // An address the provider has not verified matches no grant.
  roles = RolesFromGrants(grants, user, /*email_verified=*/false);
  EXPECT_EQ(roles.size(), 3u);
}

TEST(LocalReturnToTest, OnlyAPathOnThisOrigin) {
  EXPECT_EQ(LocalReturnTo("/console/keys?p=1#x"), "/console/keys?p=1#x");
  for (const char* elsewhere : {"", "https://evil.example/", "//evil.example", "/\\evil.example",
                                "javascript:alert(1)", "console/", "/a b", "/a\r\nb", "\\\\x"}) {
    EXPECT_EQ(LocalReturnTo(elsewhere), "/console/") << elsewhere;
  }
}

}  // namespace
}  // namespace keypaird::service
