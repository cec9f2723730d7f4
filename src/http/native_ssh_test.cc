// The SSH access routes through Api::Handle: authorized_keys and the CA's routes, with and
// without a CA. What the certificates and KRLs hold is proved against OpenSSH elsewhere
// (ca/authority_test.cc, sshkey/certificate_crosscheck_test.cc, test/test_ssh_ca.py).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "ca/authority.h"
#include "http/api.h"
#include "http/api_testing.h"
#include "sshkey/krl.h"
#include "sshkey/sshkey.h"
#include "store/key_store.h"

namespace keypaird::http {
namespace {

using nlohmann::json;

constexpr const char* kKeyA =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIjxL6g1II8NsO8odvBwGKvq2Dx/h/xrvsV9b9LVIYKm a@host";
constexpr const char* kKeyB =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILxJ1muk1bBi4Fvs3C3p3dDit4XfeUsDN4nlNN/0gvKk b@host";
constexpr const char* kKeyC =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPKbubPI66eA+6w57u6FoskJn7JUWxyEJPYRr3NcaRUL c@host";

class NativeSshTest : public ::testing::Test {
 protected:
  void SetUp() override {
    alice_ = Mint(1, false, {1}, {"deploy", "alice"});
    bob_ = Mint(2, false, {1}, {"deploy"});
    admin_ = Mint(9, true, {}, {});
  }

  std::string Mint(int64_t user, bool admin, std::vector<int64_t> projects,
                   std::vector<std::string> principals,
                   std::optional<int64_t> expires_at_us = std::nullopt) {
    StatusOr<auth::MintedToken> m =
        auth::MintToken(user, admin, std::move(projects), 0, {false, std::move(principals)});
    EXPECT_TRUE(m.ok());
    m->record.expires_at_us = expires_at_us;
    EXPECT_TRUE(store_->InsertToken(m->record, {}).ok());
    return "Bearer " + std::string(m->token.view());
  }

  HttpResponse Call(const Api& api, std::string method, std::string target,
                    const std::string& token, std::string body = "",
                    std::optional<std::string> if_none_match = std::nullopt) {
    HttpRequest r = testing::Request(std::move(method), target, token);
    if (!body.empty()) r.content_type = "application/json";
    r.body = std::move(body);
    r.if_none_match = std::move(if_none_match);
    return api.Handle(r);
  }
  HttpResponse Call(std::string method, std::string target, const std::string& token,
                    std::string body = "",
                    std::optional<std::string> if_none_match = std::nullopt) {
    return Call(api_, std::move(method), std::move(target), token, std::move(body),
                std::move(if_none_match));
  }

  std::string Import(const std::string& token, const std::string& name, const char* key,
                     json extra = json::object()) {
    json body = {{"name", name}, {"public_key", key}};
    body.update(extra);
    HttpResponse r = Call("POST", "/api/v1/projects/1/keys", token, body.dump());
    EXPECT_EQ(r.status, 201) << r.body->view();
    return json::parse(r.body->view())["id"].get<std::string>();
  }

  static json Body(const HttpResponse& r) { return json::parse(r.body->view()); }
  static std::string Text(const HttpResponse& r) { return std::string(r.body->view()); }

  int64_t now_ = 1'800'000'000'000'000;
  std::unique_ptr<store::KeyStore> store_ = store::NewMemoryStore();
  auth::Authenticator auth_{store_.get(), [this] { return now_; }};
  service::KeyService keys_{store_.get(), [this] { return now_; }};
  ca::CertificateAuthority ca_{store_.get(), &keys_,
                               ca::Kek::FromBytes(std::string(32, 'k')).value(), 7200,
                               [this] { return now_; }};
  Api api_{&keys_, &auth_, {nullptr, nullptr, {}, &ca_}};
  std::string alice_, bob_, admin_;
};

TEST_F(NativeSshTest, AuthorizedKeysListsTheUsableVisibleKeysOldestFirst) {
  Import(alice_, "key-a", kKeyA);
  now_ += 1000;
  Import(bob_, "key-b-private", kKeyB, {{"shared_in_project", false}});
  now_ += 1000;
  Import(alice_, "key-c", kKeyC);
  HttpResponse r = Call("GET", "/api/v1/projects/1/authorized_keys", alice_);
  ASSERT_EQ(r.status, 200);
  EXPECT_STREQ(r.content_type, "text/plain; charset=utf-8");
  // Bob's unshared key is not Alice's to see.
  EXPECT_EQ(Text(r), std::string(kKeyA) + "\n" + kKeyC + "\n");
  EXPECT_EQ(Text(Call("GET", "/api/v1/projects/1/authorized_keys", bob_)),
            std::string(kKeyA) + "\n" + kKeyB + "\n" + kKeyC + "\n");

  // A disabled key and an expired one drop out.
  ASSERT_EQ(Call("PATCH", "/api/v1/projects/1/keys/key-a", alice_, R"({"disabled":true})").status, 200);
  ASSERT_EQ(Call("PATCH", "/api/v1/projects/1/keys/key-c", alice_,
                 R"({"expires_at":"2027-01-15T09:00:00Z"})")
                .status,
            200);
  EXPECT_EQ(Text(Call("GET", "/api/v1/projects/1/authorized_keys", alice_)),
            std::string(kKeyC) + "\n");
  now_ += int64_t{3600} * 1000000;  // past key-c's expiry
  r = Call("GET", "/api/v1/projects/1/authorized_keys", alice_);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Text(r), "");
}

TEST_F(NativeSshTest, AuthorizedKeysFiltersByLabelsAndOwner) {
  Import(alice_, "key-a", kKeyA, {{"labels", {{"login", "root"}}}});
  Import(bob_, "key-b", kKeyB, {{"labels", {{"login", "deploy"}}}});
  now_ += 1;
  Import(alice_, "key-c", kKeyC, {{"labels", {{"login", "deploy"}}}});
  EXPECT_EQ(Text(Call("GET", "/api/v1/projects/1/authorized_keys?label_selector=login%3Ddeploy",
                      alice_)),
            std::string(kKeyB) + "\n" + kKeyC + "\n");
  EXPECT_EQ(Text(Call("GET",
                      "/api/v1/projects/1/authorized_keys?label_selector=login%3Ddeploy&owner_id=2",
                      alice_)),
            std::string(kKeyB) + "\n");
  EXPECT_EQ(Call("GET", "/api/v1/projects/1/authorized_keys?label_selector=%3D%3D", alice_).status,
            400);
  EXPECT_EQ(Call("GET", "/api/v1/projects/1/authorized_keys?owner_id=x", alice_).status, 400);
  EXPECT_EQ(Call("GET", "/api/v1/projects/2/authorized_keys", alice_).status, 403);
}

TEST_F(NativeSshTest, AuthorizedKeysHasAnETagThatChangesWithTheKeys) {
  Import(alice_, "key-a", kKeyA);
  HttpResponse first = Call("GET", "/api/v1/projects/1/authorized_keys", alice_);
  const std::string etag(first.Header("ETag"));
  ASSERT_EQ(etag.size(), 34u);
  EXPECT_EQ(etag.front(), '"');
  HttpResponse same =
      Call("GET", "/api/v1/projects/1/authorized_keys", alice_, "", "W/\"other\", " + etag);
  EXPECT_EQ(same.status, 304);
  EXPECT_EQ(same.body, nullptr);
  EXPECT_EQ(same.Header("ETag"), etag);
  Import(alice_, "key-b", kKeyB);
  HttpResponse changed = Call("GET", "/api/v1/projects/1/authorized_keys", alice_, "", etag);
  EXPECT_EQ(changed.status, 200);
  EXPECT_NE(changed.Header("ETag"), etag);
}

TEST_F(NativeSshTest, AuthorizedKeysPagesThroughLargeProjects) {
  // More keys than one store page (1000): every one once, in order.
  std::string expected;
  for (int i = 0; i < 1203; ++i) {
    store::KeyRecord k;
    k.id = "00000000-0000-4000-8000-" + std::string(12 - std::to_string(i).size(), '0') +
           std::to_string(i);
    k.name = "k" + std::to_string(i);
    k.project_id = 1;
    k.user_id = 1;
    k.shared_in_project = true;
    k.public_key = "ssh-ed25519 AAAA" + std::to_string(i);
    k.created_at_us = 1000 + i / 2;  // pairs share a creation time: the id breaks the tie
    k.updated_at_us = k.created_at_us;
    k.revision = 1;
    ASSERT_TRUE(store_->InsertKey(k, {}).ok());
  }
  for (int i = 0; i < 1203; ++i) expected += "ssh-ed25519 AAAA" + std::to_string(i) + "\n";
  HttpResponse r = Call("GET", "/api/v1/projects/1/authorized_keys", alice_);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Text(r), expected);
}

TEST_F(NativeSshTest, WithoutACaEveryCaRouteSaysItIsNotEnabled) {
  Api plain(&keys_, &auth_);
  const std::string id = Import(alice_, "key-a", kKeyA);
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"GET", "/api/v1/projects/1/ssh_ca"},
      {"POST", "/api/v1/projects/1/ssh_ca"},
      {"GET", "/api/v1/projects/1/ssh_ca/public_key"},
      {"GET", "/api/v1/projects/1/ssh_ca/krl"},
      {"POST", "/api/v1/projects/1/keys/" + id + "/certificates"},
      {"POST", "/api/v1/projects/1/ssh_ca/sign"},
      {"POST", "/api/v1/projects/1/certificates/1/revoke"},
  };
  for (const auto& [method, path] : routes) {
    HttpResponse r = Call(plain, method, path, alice_, method == "POST" ? "{}" : "");
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_NE(Body(r)["message"].get<std::string>().find("--ca-kek-file"), std::string::npos);
  }
  // authorized_keys needs no CA.
  EXPECT_EQ(Call(plain, "GET", "/api/v1/projects/1/authorized_keys", alice_).status, 200);
}

// A read never writes: before a POST (or a certificate) makes the CA, its reads are 404 with
// a message that says how to make it, and the KRL is empty; a read-only token cannot make it.
TEST_F(NativeSshTest, OnlyAPostMakesTheCa) {
  const std::string reader = [&] {
    StatusOr<auth::MintedToken> m = auth::MintToken(3, false, {1}, 0, {true, {}});
    EXPECT_TRUE(m.ok() && store_->InsertToken(m->record, {}).ok());
    return "Bearer " + std::string(m->token.view());
  }();
  for (const std::string& token : {reader, alice_}) {
    for (const char* path : {"/api/v1/projects/1/ssh_ca", "/api/v1/projects/1/ssh_ca/public_key"}) {
      HttpResponse r = Call("GET", path, token);
      EXPECT_EQ(r.status, 404) << path;
      EXPECT_NE(Body(r)["message"].get<std::string>().find("POST /api/v1/projects/1/ssh_ca"),
                std::string::npos);
    }
    HttpResponse krl = Call("GET", "/api/v1/projects/1/ssh_ca/krl", token);
    ASSERT_EQ(krl.status, 200);
    EXPECT_TRUE(sshkey::ParseKrl(krl.body->view())->certificates.empty());
  }
  EXPECT_EQ(Call("POST", "/api/v1/projects/1/ssh_ca", reader).status, 403);
  EXPECT_EQ(store_->GetCa(1, store::CaKind::kUser).status().code(), StatusCode::kNotFound);

  HttpResponse made = Call("POST", "/api/v1/projects/1/ssh_ca", alice_);
  ASSERT_EQ(made.status, 201);
  HttpResponse again = Call("POST", "/api/v1/projects/1/ssh_ca", bob_, "{}");
  ASSERT_EQ(again.status, 200);  // it exists: the same CA
  EXPECT_EQ(Body(again), Body(made));
  HttpResponse read = Call("GET", "/api/v1/projects/1/ssh_ca", reader);
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(Body(read), Body(made));
  EXPECT_EQ(Call("POST", "/api/v1/projects/1/ssh_ca", bob_, R"({"x":1})").status, 400);
}

TEST_F(NativeSshTest, TheCaPublicKeyIsOneLineInBothShapes) {
  ASSERT_EQ(Call("POST", "/api/v1/projects/1/ssh_ca", alice_).status, 201);
  HttpResponse info = Call("GET", "/api/v1/projects/1/ssh_ca", alice_);
  ASSERT_EQ(info.status, 200);
  const json b = Body(info);
  EXPECT_TRUE(b["public_key"].get<std::string>().starts_with("ssh-ed25519 "));
  EXPECT_TRUE(b["fingerprint_sha256"].get<std::string>().starts_with("SHA256:"));
  EXPECT_EQ(b["created_at"], "2027-01-15T08:00:00.000000Z");
  HttpResponse text = Call("GET", "/api/v1/projects/1/ssh_ca/public_key", bob_);
  ASSERT_EQ(text.status, 200);
  EXPECT_STREQ(text.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(Text(text), b["public_key"].get<std::string>() + "\n");
  EXPECT_EQ(Call("GET", "/api/v1/projects/2/ssh_ca", alice_).status, 403);
}

TEST_F(NativeSshTest, SigningAnswersTheCertificateAndItsTerms) {
  const std::string id = Import(alice_, "key-a", kKeyA);
  HttpResponse r = Call("POST", "/api/v1/projects/1/keys/key-a/certificates", alice_,
                        R"({"principals":["deploy"],"valid_for":600})");
  ASSERT_EQ(r.status, 201) << Text(r);
  const json b = Body(r);
  EXPECT_TRUE(b["certificate"].get<std::string>().starts_with("ssh-ed25519-cert-v01@openssh.com "));
  EXPECT_EQ(b["serial"], "1");
  EXPECT_EQ(b["key_id"], "keypaird:project=1:key=" + id + ":serial=1");
  EXPECT_EQ(b["principals"], json::array({"deploy"}));
  EXPECT_EQ(b["valid_after"], "2027-01-15T07:55:00.000000Z");  // five minutes back
  EXPECT_EQ(b["valid_before"], "2027-01-15T08:10:00.000000Z");
  // Serials count up; the default validity is an hour.
  const json second = Body(Call("POST", "/api/v1/projects/1/keys/" + id + "/certificates", alice_,
                                R"({"principals":["alice","deploy"]})"));
  EXPECT_EQ(second["serial"], "2");
  EXPECT_EQ(second["valid_before"], "2027-01-15T09:00:00.000000Z");
}

TEST_F(NativeSshTest, BadSignRequestsAre400WithTheirField) {
  Import(alice_, "key-a", kKeyA);
  const std::string path = "/api/v1/projects/1/keys/key-a/certificates";
  struct Case {
    const char* body;
    const char* field;
  } cases[] = {
      {R"({})", "principals"},
      {R"({"principals":[]})", "principals"},
      {R"({"principals":"deploy"})", "principals"},
      {R"({"principals":["bad name"]})", "principals"},
      {R"({"principals":["deploy"],"valid_for":59})", "valid_for"},
      {R"({"principals":["deploy"],"valid_for":7201})", "valid_for"},
      {R"({"principals":["deploy"],"valid_for":-5})", "valid_for"},
      {R"({"principals":["deploy"],"valid_for":1e3})", "valid_for"},
      {R"({"principals":["deploy"],"valid_for":99999999999999999999})", "valid_for"},
      {R"({"principals":["deploy"],"extensions":["permit-everything"]})", "extensions"},
      {R"({"principals":["deploy"],"force_command":""})", "force_command"},
      {R"({"principals":["deploy"],"source_address":"not-an-address"})", "source_address"},
      {R"({"principals":["deploy"],"colour":"blue"})", "colour"},
  };
  for (const Case& c : cases) {
    HttpResponse r = Call("POST", path, alice_, c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    if (r.status == 400) {
      EXPECT_TRUE(Body(r)["invalid_fields"].contains(c.field)) << c.body << " " << Text(r);
    }
  }
  EXPECT_EQ(Call("POST", path, alice_, "[1]").status, 400);
}

TEST_F(NativeSshTest, OnlyTheOwnerOrAnAdminSignsAndOnlyAllowedPrincipals) {
  Import(alice_, "key-a", kKeyA);
  const std::string path = "/api/v1/projects/1/keys/key-a/certificates";
  EXPECT_EQ(Call("POST", path, bob_, R"({"principals":["deploy"]})").status, 403);
  EXPECT_EQ(Call("POST", path, alice_, R"({"principals":["root"]})").status, 403);
  EXPECT_EQ(Call("POST", path, admin_, R"({"principals":["root"]})").status, 201);
  EXPECT_EQ(Call("POST", "/api/v1/projects/1/keys/nope/certificates", alice_,
                 R"({"principals":["deploy"]})")
                .status,
            404);
  // A disabled key is not usable: refused, naming the key.
  ASSERT_EQ(Call("PATCH", "/api/v1/projects/1/keys/key-a", alice_, R"({"disabled":true})").status, 200);
  HttpResponse r = Call("POST", path, alice_, R"({"principals":["deploy"]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(Body(r)["invalid_fields"].contains("key"));
}

// POST …/ssh_ca/sign: a public key the store does not hold, for all the caller's principals
// unless the body names some, for an hour unless valid_for (seconds or a duration) says.
TEST_F(NativeSshTest, SigningAPublicKeyAnswersItsFingerprintNotAKey) {
  const std::string path = "/api/v1/projects/1/ssh_ca/sign";
  HttpResponse r = Call("POST", path, alice_, json{{"public_key", kKeyC}}.dump());
  ASSERT_EQ(r.status, 201) << Text(r);
  json b = Body(r);
  EXPECT_TRUE(b["certificate"].get<std::string>().starts_with("ssh-ed25519-cert-v01@openssh.com "));
  EXPECT_EQ(b["serial"], "1");
  EXPECT_EQ(b["fingerprint_sha256"], sshkey::ParsePublicKey(kKeyC)->fingerprint_sha256);
  EXPECT_FALSE(b.contains("key_id"));
  EXPECT_EQ(b["principals"], json::array({"alice", "deploy"}));  // all of alice's
  EXPECT_EQ(b["valid_after"], "2027-01-15T07:55:00.000000Z");
  EXPECT_EQ(b["valid_before"], "2027-01-15T09:00:00.000000Z");
  EXPECT_TRUE(r.no_store);
  b = Body(
      Call("POST", path, bob_,
           json{{"public_key", kKeyC}, {"principals", {"deploy"}}, {"valid_for", "1h30m"}}.dump()));
  EXPECT_EQ(b["serial"], "2");
  EXPECT_EQ(b["principals"], json::array({"deploy"}));
  EXPECT_EQ(b["valid_before"], "2027-01-15T09:30:00.000000Z");
  b = Body(Call("POST", path, admin_,
                json{{"public_key", kKeyC}, {"principals", {"root"}}, {"valid_for", 600}}.dump()));
  EXPECT_EQ(b["principals"], json::array({"root"}));  // an admin may ask for any
  EXPECT_EQ(b["valid_before"], "2027-01-15T08:10:00.000000Z");
  // Nothing was stored: no key lists, and each certificate is revocable by its serial.
  EXPECT_EQ(Text(Call("GET", "/api/v1/projects/1/authorized_keys", admin_)), "");
  EXPECT_EQ(Call("POST", "/api/v1/projects/1/certificates/1/revoke", bob_).status, 403);
  EXPECT_EQ(Call("POST", "/api/v1/projects/1/certificates/1/revoke", alice_).status, 204);
}

TEST_F(NativeSshTest, BadPublicKeySignRequestsAre400WithTheirFieldAndOthers403) {
  const std::string path = "/api/v1/projects/1/ssh_ca/sign";
  const json key = {{"public_key", kKeyC}};
  auto with = [&](json extra) {
    json body = key;
    body.update(extra);
    return body.dump();
  };
  struct Case {
    std::string body;
    const char* field;
  } cases[] = {
      {"{}", "public_key"},
      {R"({"public_key":null})", "public_key"},
      {R"({"public_key":"ssh-ed25519 AAAA"})", "public_key"},
      {R"({"public_key":"ssh-dss AAAAB3NzaC1kc3M= x"})", "public_key"},
      {with({{"principals", json::array()}}), "principals"},
      {with({{"principals", "deploy"}}), "principals"},
      {with({{"principals", {"bad name"}}}), "principals"},
      {with({{"valid_for", 59}}), "valid_for"},
      {with({{"valid_for", "2h1s"}}), "valid_for"},  // above the CA's 7200 s
      {with({{"valid_for", "2"}}), "valid_for"},     // a unit is needed
      {with({{"valid_for", "500ms"}}), "valid_for"},
      {with({{"valid_for", "soon"}}), "valid_for"},
      {with({{"valid_for", nullptr}}), "valid_for"},
      {with({{"extensions", json::array()}}), "extensions"},  // not on this route
  };
  for (const Case& c : cases) {
    HttpResponse r = Call("POST", path, alice_, c.body);
    EXPECT_EQ(r.status, 400) << c.body;
    if (r.status == 400) {
      EXPECT_TRUE(Body(r)["invalid_fields"].contains(c.field)) << c.body << " " << Text(r);
    }
  }
  // An admin token without principals of its own must name some.
  HttpResponse admin = Call("POST", path, admin_, key.dump());
  EXPECT_EQ(admin.status, 400);
  EXPECT_TRUE(Body(admin)["invalid_fields"].contains("principals")) << Text(admin);
  // A principal the token may not be issued, a token without principals, another project.
  EXPECT_EQ(Call("POST", path, bob_, with({{"principals", {"alice"}}})).status, 403);
  const std::string nobody = Mint(4, false, {1}, {});
  HttpResponse none = Call("POST", path, nobody, key.dump());
  EXPECT_EQ(none.status, 403);
  EXPECT_NE(Body(none)["message"].get<std::string>().find("no principals"), std::string::npos);
  EXPECT_EQ(Call("POST", "/api/v1/projects/2/ssh_ca/sign", alice_, key.dump()).status, 403);
  EXPECT_EQ(store_->GetCa(1, store::CaKind::kUser).status().code(), StatusCode::kNotFound);  // nothing was signed
}

TEST_F(NativeSshTest, RevokingPutsTheSerialInTheKrl) {
  Import(alice_, "key-a", kKeyA);
  ASSERT_EQ(Call("POST", "/api/v1/projects/1/keys/key-a/certificates", alice_,
                 R"({"principals":["deploy"]})")
                .status,
            201);
  HttpResponse empty = Call("GET", "/api/v1/projects/1/ssh_ca/krl", bob_);
  ASSERT_EQ(empty.status, 200);
  EXPECT_STREQ(empty.content_type, "application/octet-stream");
  EXPECT_TRUE(Text(empty).starts_with("SSHKRL\n"));

  EXPECT_EQ(Call("POST", "/api/v1/projects/1/certificates/1/revoke", bob_, "{}").status, 403);
  EXPECT_EQ(Call("POST", "/api/v1/projects/1/certificates/7/revoke", alice_, "{}").status, 404);
  EXPECT_EQ(Call("POST", "/api/v1/projects/1/certificates/x1/revoke", alice_, "{}").status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/projects/1/certificates/0/revoke", alice_, "{}").status, 400);
  EXPECT_EQ(Call("POST", "/api/v1/projects/1/certificates/1/revoke", alice_, R"({"x":1})").status,
            400);
  // No body at all (no Content-Type either) is fine.
  EXPECT_EQ(Call("POST", "/api/v1/projects/1/certificates/1/revoke", alice_).status, 204);
  EXPECT_EQ(Call("POST", "/api/v1/projects/1/certificates/1/revoke", alice_, "{}").status, 204);
  HttpResponse krl = Call("GET", "/api/v1/projects/1/ssh_ca/krl", bob_);
  ASSERT_EQ(krl.status, 200);
  EXPECT_GT(krl.body->view().size(), empty.body->view().size());
}

TEST_F(NativeSshTest, TheNewRoutesRunOnTheWorkers) {
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v1/projects/1/authorized_keys"},
           {"GET", "/api/v1/projects/1/ssh_ca"},
           {"GET", "/api/v1/projects/1/ssh_ca/public_key"},
           {"GET", "/api/v1/projects/1/ssh_ca/krl"},
           {"POST", "/api/v1/projects/1/keys/key-a/certificates"},
           {"POST", "/api/v1/projects/1/ssh_ca/sign"},
           {"POST", "/api/v1/projects/1/certificates/1/revoke"}}) {
    HttpRequest r;
    r.method = method;
    r.path = path;
    EXPECT_EQ(api_.MatchRoute(r).placement(), Placement::kWorker) << path;
  }
}

// The kept-first step (Api::HandleQuick, on the I/O thread): nothing until an answer is
// kept, then exactly what the full handling answers (body, ETag, a 304); another caller's
// view, a refused token and an answer changed since are left to the full handling.
TEST_F(NativeSshTest, AuthorizedKeysAndTheKrlAreAnsweredFirstFromWhatIsKept) {
  auto kept = [&](const std::string& target, const std::string& token,
                  std::optional<std::string> if_none_match =
                      std::nullopt) -> std::optional<HttpResponse> {
    HttpRequest r = testing::Request("GET", target, token);
    r.if_none_match = std::move(if_none_match);
    return testing::QuickAnswer(api_, r);
  };
  Import(alice_, "key-a", kKeyA);
  const std::string expiring = Mint(1, false, {1}, {"deploy", "alice"}, now_ + 500);
  const std::string akeys = "/api/v1/projects/1/authorized_keys";
  EXPECT_FALSE(kept(akeys, alice_).has_value());  // nothing kept yet
  const HttpResponse full = Call("GET", akeys, alice_);
  ASSERT_EQ(full.status, 200);
  std::optional<HttpResponse> first = kept(akeys, alice_);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(Text(*first), Text(full));
  EXPECT_EQ(Text(*first), std::string(kKeyA) + "\n");
  EXPECT_EQ(first->Header("ETag"), full.Header("ETag"));
  EXPECT_EQ(first->Header("Cache-Control"), "no-cache");
  std::optional<HttpResponse> same = kept(akeys, alice_, std::string(full.Header("ETag")));
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(same->status, 304);
  EXPECT_FALSE(kept(akeys, bob_).has_value());  // bob's view is not kept
  EXPECT_FALSE(kept(akeys, "Bearer kpd_nonsense").has_value());
  EXPECT_EQ(Call("GET", akeys, "Bearer kpd_nonsense").status, 401);
  // Another token of alice's view finds her answer kept until it expires, with nothing written
  // (alice's own still finds it): the kept step authenticates, it does not only look up.
  ASSERT_TRUE(kept(akeys, expiring).has_value());
  now_ += 1000;
  EXPECT_FALSE(kept(akeys, expiring).has_value());
  EXPECT_EQ(Call("GET", akeys, expiring).status, 401);
  EXPECT_TRUE(kept(akeys, alice_).has_value());
  now_ += 1000;
  Import(alice_, "key-c", kKeyC);
  EXPECT_FALSE(kept(akeys, alice_).has_value());  // changed since: built again in full
  EXPECT_EQ(Text(Call("GET", akeys, alice_)), std::string(kKeyA) + "\n" + kKeyC + "\n");

  ASSERT_EQ(Call("POST", "/api/v1/projects/1/ssh_ca", admin_).status, 201);
  const std::string krl = "/api/v1/projects/1/ssh_ca/krl";
  EXPECT_FALSE(kept(krl, alice_).has_value());
  const HttpResponse krl_full = Call("GET", krl, alice_);
  ASSERT_EQ(krl_full.status, 200);
  std::optional<HttpResponse> krl_first = kept(krl, bob_);
  ASSERT_TRUE(krl_first.has_value());
  EXPECT_EQ(Text(*krl_first), Text(krl_full));
  EXPECT_EQ(krl_first->Header("ETag"), krl_full.Header("ETag"));
  EXPECT_EQ(krl_first->content_type, std::string("application/octet-stream"));
}

// A KRL built on a worker reads through the store's own connections, never while the
// request still holds the snapshot its token was read in: with one pooled reader it is
// answered at once (holding the snapshot, the build would wait for a second reader until the
// store's deadline and fail: 503).
TEST(NativeSshSqliteTest, BuildingTheKrlNeverWaitsForASecondPooledReader) {
  const std::string dir = ::testing::TempDir() + "krl-pool-" + std::to_string(getpid());
  store::StoreOptions options;
  options.pool_size = 1;
  StatusOr<std::unique_ptr<store::KeyStore>> opened =
      store::OpenStore("sqlite:" + dir + "/keypaird.db", options);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  store::KeyStore& store = **opened;
  StatusOr<auth::MintedToken> m = auth::MintToken(9, true, {}, 0);
  ASSERT_TRUE(m.ok() && store.InsertToken(m->record, {}).ok());
  auth::Authenticator authn(&store);
  service::KeyService keys(&store);
  ca::CertificateAuthority ca(&store, &keys, ca::Kek::FromBytes(std::string(32, 'k')).value(),
                              7200);
  Api api(&keys, &authn, {nullptr, nullptr, {}, &ca});
  HttpRequest r;
  r.method = "POST";
  r.path = "/api/v1/projects/1/ssh_ca";
  r.authorization = "Bearer " + std::string(m->token.view());
  ASSERT_EQ(api.Handle(r).status, 201);
  r.method = "GET";
  r.path = "/api/v1/projects/1/ssh_ca/krl";
  const HttpResponse krl = api.Handle(r);
  EXPECT_EQ(krl.status, 200) << krl.body->view();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace keypaird::http
