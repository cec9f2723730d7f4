#include "service/key_service.h"

#include <gtest/gtest.h>

#include "common/uuid.h"

namespace keypaird::service {
namespace {

constexpr const char* kEd25519 =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIjxL6g1II8NsO8odvBwGKvq2Dx/h/xrvsV9b9LVIYKm "
    "my-username@my-hostname";

auth::Principal User(int64_t id, std::vector<int64_t> projects) {
  auth::Principal p;
  p.user_id = id;
  p.projects = std::move(projects);
  return p;
}

auth::Principal Admin() {
  auth::Principal p;
  p.user_id = 99;
  p.admin = true;
  return p;
}

class KeyServiceTest : public ::testing::Test {
 protected:
  CreateKeyRequest Req(std::string name, std::optional<std::string> pub = kEd25519,
                       int64_t project = 1, bool shared = true) {
    CreateKeyRequest req;
    req.project_id = project;
    req.name = std::move(name);
    req.public_key = std::move(pub);
    req.shared_in_project = shared;
    return req;
  }

  int64_t now_ = 1'700'000'000'000'000;
  std::unique_ptr<store::KeyStore> store_ = store::NewMemoryStore();
  KeyService svc_{store_.get(), [this] { return now_++; }};
  auth::Principal alice_ = User(1, {1, 2});
  auth::Principal bob_ = User(2, {1});
};

TEST_F(KeyServiceTest, ImportStoresTheNormalisedKeyOwnedByTheCaller) {
  StatusOr<CreatedKey> c =
      svc_.Create(alice_, Req("alice-key", std::string("  ") + kEd25519 + "\r\n"));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(IsUuid(c->key.id));
  EXPECT_EQ(c->key.id[14], '7');  // version 7, time-ordered
  // Its first 48 bits are its creation's millisecond.
  EXPECT_EQ(std::stoll(c->key.id.substr(0, 8) + c->key.id.substr(9, 4), nullptr, 16),
            c->key.created_at_us / 1000);
  EXPECT_EQ(c->key.public_key, kEd25519);
  EXPECT_EQ(c->key.fingerprint.size(), 47u);
  EXPECT_EQ(c->key.user_id, 1);
  EXPECT_EQ(c->key.project_id, 1);
  EXPECT_EQ(c->key.created_at_us, 1'700'000'000'000'000);
  EXPECT_TRUE(c->private_key.empty());
  StatusOr<store::KeyRecord> stored = store_->GetKey(c->key.id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, c->key);
}

TEST_F(KeyServiceTest, GenerateReturnsAnOpenSshPrivateKeyOnceAndStoresOnlyThePublicPart) {
  StatusOr<CreatedKey> c = svc_.Create(alice_, Req("gen-key", std::nullopt));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->private_key.view().substr(0, 35), "-----BEGIN OPENSSH PRIVATE KEY-----");
  EXPECT_EQ(c->private_key.view().back(), '\n');
  EXPECT_EQ(c->key.public_key.substr(0, 12), "ssh-ed25519 ");
  EXPECT_EQ(c->key.public_key.substr(c->key.public_key.size() - 8), " gen-key");
  StatusOr<store::KeyRecord> stored = store_->GetKey(c->key.id);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->public_key, c->key.public_key);
}

TEST_F(KeyServiceTest, NameRules) {
  struct Case {
    std::string name;
    bool ok;
  };
  const Case cases[] = {
      {"abc", true},          {"a-b", true},
      {"My key 1.pub", true}, {"key_", true},
      {"key.", true},         {std::string(63, 'a'), true},
      {"ab", false},          {std::string(64, 'a'), false},
      {"-abc", false},        {" abc", false},
      {"abc-", false},        {"abc ", false},
      {"a/bc", false},        {"a\nbc", false},
      {"ключ", false},        {"", false},
  };
  for (const Case& c : cases) {
    Status s = ValidateKeyName(c.name);
    EXPECT_EQ(s.ok(), c.ok) << "'" << c.name << "'";
    if (!s.ok()) {
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(s.field_errors().count("name"), 1u);
    }
  }
}

TEST_F(KeyServiceTest, BadPublicKeyIsAFieldError) {
  StatusOr<CreatedKey> c = svc_.Create(alice_, Req("k-bad", std::string("ssh-dss AAAA")));
  ASSERT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().field_errors().count("public_key"), 1u);
  EXPECT_EQ(c.status().field_errors().count("name"), 0u);
}

TEST_F(KeyServiceTest, NamesAreUniquePerProjectAndCaseSensitive) {
  ASSERT_TRUE(svc_.Create(alice_, Req("dup")).ok());
  StatusOr<CreatedKey> again = svc_.Create(bob_, Req("dup"));
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(svc_.Create(alice_, Req("DUP")).ok());
  EXPECT_TRUE(svc_.Create(alice_, Req("dup", kEd25519, 2)).ok());
}

TEST_F(KeyServiceTest, ProjectsOutsideTheTokenAreForbidden) {
  EXPECT_EQ(svc_.Create(bob_, Req("k-p2", kEd25519, 2)).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(svc_.Create(Admin(), Req("k-p9", kEd25519, 9)).ok());
}

ListKeysRequest InProject(int64_t project_id) {
  ListKeysRequest r;
  r.project_id = project_id;
  return r;
}

TEST_F(KeyServiceTest, UnsharedKeysAreInvisibleToOtherUsersButNotToAdmins) {
  StatusOr<CreatedKey> c = svc_.Create(alice_, Req("private-one", kEd25519, 1, false));
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(svc_.Get(alice_, 1, {c->key.id}).ok());
  EXPECT_EQ(svc_.Get(bob_, 1, {c->key.id}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(svc_.Get(bob_, 1, {"private-one", true}).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(svc_.Get(Admin(), 1, {c->key.id}).ok());
  EXPECT_EQ(svc_.Delete(bob_, 1, {c->key.id}).code(), StatusCode::kNotFound);

  StatusOr<store::KeyPage> bobs = svc_.List(bob_, InProject(1));
  ASSERT_TRUE(bobs.ok());
  EXPECT_EQ(bobs->total, 0);
  StatusOr<store::KeyPage> admins = svc_.List(Admin(), {});
  ASSERT_TRUE(admins.ok());
  EXPECT_EQ(admins->total, 1);
}

TEST_F(KeyServiceTest, OnlyOwnerOrAdminMayDeleteOrShare) {
  StatusOr<CreatedKey> c = svc_.Create(alice_, Req("shared-one"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(svc_.Delete(bob_, 1, {c->key.id}).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(svc_.SetShared(bob_, 1, {c->key.id}, false).status().code(),
            StatusCode::kPermissionDenied);
  StatusOr<store::KeyRecord> unshared = svc_.SetShared(alice_, 1, {"shared-one", true}, false);
  ASSERT_TRUE(unshared.ok());
  EXPECT_FALSE(unshared->shared_in_project);
  EXPECT_TRUE(svc_.Delete(Admin(), 1, {c->key.id}).ok());
  EXPECT_EQ(svc_.Get(alice_, 1, {c->key.id}).status().code(), StatusCode::kNotFound);
}

TEST_F(KeyServiceTest, KeyInAnotherProjectIsNotFoundThroughThisOne) {
  StatusOr<CreatedKey> c = svc_.Create(alice_, Req("in-two", kEd25519, 2));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(svc_.Get(alice_, 1, {c->key.id}).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(svc_.Get(alice_, std::nullopt, {c->key.id}).ok());
  EXPECT_EQ(svc_.Get(bob_, std::nullopt, {c->key.id}).status().code(), StatusCode::kNotFound);
}

TEST_F(KeyServiceTest, ListWithoutProjectNeedsAnAdmin) {
  EXPECT_EQ(svc_.List(alice_, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(svc_.List(bob_, InProject(2)).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(KeyServiceTest, CreateAsyncReportsTheSameOutcomesAsCreate) {
  std::vector<StatusOr<CreatedKey>> results;
  auto collect = [&](StatusOr<CreatedKey> r) { results.push_back(std::move(r)); };
  svc_.CreateAsync(alice_, Req("async-key"), collect);
  svc_.CreateAsync(alice_, Req("async-key"), collect);                // name taken
  svc_.CreateAsync(alice_, Req("async-gen", std::nullopt), collect);  // generated
  svc_.CreateAsync(alice_, Req("x"), collect);                        // bad name
  svc_.CreateAsync(bob_, Req("elsewhere", kEd25519, 2), collect);     // not bob's project
  ASSERT_EQ(results.size(), 5u);  // the fake store answers at once
  ASSERT_TRUE(results[0].ok());
  EXPECT_TRUE(IsUuid(results[0]->key.id));
  EXPECT_TRUE(results[0]->private_key.empty());
  EXPECT_EQ(results[1].status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(results[1].status().field_errors().count("name"), 1u);
  ASSERT_TRUE(results[2].ok());
  EXPECT_TRUE(results[2]->private_key.view().starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
  EXPECT_EQ(results[3].status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(results[4].status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(store_->GetKey(results[0]->key.id).ok());
  EXPECT_TRUE(store_->GetKey(results[2]->key.id).ok());
}

TEST_F(KeyServiceTest, ReadsGoThroughTheSnapshotWhenGiven) {
  StatusOr<CreatedKey> c = svc_.Create(alice_, Req("snap"));
  ASSERT_TRUE(c.ok());
  std::unique_ptr<store::KeyReader> snapshot = svc_.Snapshot();
  auto got = svc_.Get(alice_, 1, {"snap", /*allow_name=*/true}, snapshot.get());
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->id, c->key.id);
  auto page = svc_.List(alice_, InProject(1), snapshot.get());
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 1);
}

// The authorized_keys answer is kept for the project's keys generation (SQLite: the real
// triggers): the same bytes object while nothing changes; a write by anyone (here straight
// to the store, as another process would) is in the next answer; a key leaves at its
// expiry with nothing written; each caller's view is its own answer.
TEST(AuthorizedKeysTest, KeptWhileNothingChangesExactAfterAnyWriteAndAtAnExpiry) {
  StatusOr<std::unique_ptr<store::KeyStore>> opened = store::OpenStore("sqlite::memory:");
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  store::KeyStore& store = **opened;
  int64_t now = 1'700'000'000'000'000;
  KeyService svc(&store, [&now] { return now; });
  const auth::Principal alice = User(1, {1});
  const auth::Principal bob = User(2, {1});
  auto create = [&](const auth::Principal& who, const char* name, bool shared,
                    std::optional<int64_t> expires_in_us = std::nullopt) {
    now += 1000;  // listed oldest first
    CreateKeyRequest req;
    req.project_id = 1;
    req.name = name;
    req.shared_in_project = shared;
    if (expires_in_us) req.expires_at_us = now + *expires_in_us;
    StatusOr<CreatedKey> c = svc.Create(who, std::move(req));
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? c->key : store::KeyRecord{};
  };
  auto answer = [&](const auth::Principal& who) {
    StatusOr<GeneratedText> t =
        svc.AuthorizedKeys(who, {.project_id = 1, .labels = {}, .owner_id = std::nullopt});
    EXPECT_TRUE(t.ok()) << t.status().message();
    return t.ok() ? *t : GeneratedText{std::make_shared<const std::string>("failed"), ""};
  };

  const store::KeyRecord one = create(alice, "one", true);
  const GeneratedText first = answer(alice);
  EXPECT_EQ(*first.body, one.public_key + "\n");
  EXPECT_EQ(answer(alice).body.get(), first.body.get());  // kept
  EXPECT_EQ(answer(alice).etag, first.etag);

  const store::KeyRecord bobs = create(bob, "bobs", false);  // unshared: only bob sees it
  EXPECT_EQ(*answer(alice).body, one.public_key + "\n");
  EXPECT_EQ(*answer(bob).body, one.public_key + "\n" + bobs.public_key + "\n");
  EXPECT_EQ(*answer(alice).body, one.public_key + "\n");  // bob's view did not replace alice's

  store::KeyUpdate disable;
  disable.disabled = true;
  disable.updated_at_us = now;
  ASSERT_TRUE(store.UpdateKey(one.id, disable, std::nullopt, {}).ok());
  EXPECT_EQ(*answer(alice).body, "");
  EXPECT_NE(answer(alice).etag, first.etag);

  const store::KeyRecord brief = create(alice, "brief", true, 10'000'000);
  const GeneratedText with_brief = answer(alice);
  EXPECT_EQ(*with_brief.body, brief.public_key + "\n");
  now += 9'999'999;
  EXPECT_EQ(answer(alice).body.get(), with_brief.body.get());  // still kept
  now += 1;  // the key expires: nothing is written
  EXPECT_EQ(*answer(alice).body, "");
  EXPECT_EQ(
      svc.AuthorizedKeys(User(3, {2}), {.project_id = 1, .labels = {}, .owner_id = std::nullopt})
          .status()
          .code(),
      StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace keypaird::service
