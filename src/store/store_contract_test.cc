// The KeyStore contract: one suite, instantiated for every backend at the bottom of
// this file. A new backend (PostgreSQL) adds a StoreHarness and one more entry to
// kBackends. A backend that cannot be set up fails its tests: none is ever skipped.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <latch>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/key_store.h"
#include "store/testing/postgres_testing.h"
#include "store/testing/users_testing.h"

namespace keypaird::store {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

// Owns one empty store of some backend and whatever it needs (a temp dir, ...).
class StoreHarness {
 public:
  virtual ~StoreHarness() = default;
  virtual KeyStore& store() = 0;
};

struct Backend {
  std::string name;
  // nullptr + the reason in *why: the backend could not be set up (a test failure).
  std::function<std::unique_ptr<StoreHarness>(std::string* why)> make;
};

// Short test names in ctest output instead of a byte dump of the struct.
void PrintTo(const Backend& backend, std::ostream* os) { *os << backend.name; }

class MemoryHarness final : public StoreHarness {
 public:
  MemoryHarness() : store_(NewMemoryStore()) {}
  KeyStore& store() override { return *store_; }

 private:
  std::unique_ptr<KeyStore> store_;
};

class SqliteHarness final : public StoreHarness {
 public:
  // `in_memory`: "sqlite::memory:"; otherwise a file in a fresh temp dir.
  explicit SqliteHarness(bool in_memory) {
    std::string url = "sqlite::memory:";
    if (!in_memory) {
      std::string tmpl = (std::filesystem::temp_directory_path() / "keystore-XXXXXX").string();
      dir_ = mkdtemp(tmpl.data());
      url = "sqlite:" + (dir_ / "keys.db").string();
    }
    auto store = OpenStore(url);
    EXPECT_TRUE(store.ok()) << store.status().message();
    if (store.ok()) store_ = std::move(*store);
  }
  ~SqliteHarness() override {
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  KeyStore& store() override { return *store_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<KeyStore> store_;
};

// A database of its own on the test cluster named by KEYPAIRD_TEST_POSTGRES_URL, dropped
// afterwards. Without the variable the harness cannot be made: the tests fail.
class PostgresHarness final : public StoreHarness {
 public:
  static std::unique_ptr<StoreHarness> Make(std::string* why) {
    const char* url = std::getenv(kTestPostgresUrlVariable);
    if (url == nullptr || *url == '\0') {
      *why = std::string(kTestPostgresUrlVariable) +
             " is not set: run the tests with scripts/test.sh, which starts a PostgreSQL "
             "cluster (scripts/postgres.sh) and sets it";
      return nullptr;
    }
    auto db = PostgresTestDatabase::Create(url);
    if (!db.ok()) {
      *why = db.status().message();
      return nullptr;
    }
    auto store = OpenStore((*db)->url());
    if (!store.ok()) {
      *why = store.status().message();
      return nullptr;
    }
    auto harness = std::unique_ptr<PostgresHarness>(new PostgresHarness());
    harness->db_ = std::move(*db);
    harness->store_ = std::move(*store);
    return harness;
  }
  ~PostgresHarness() override { store_.reset(); }  // before the database is dropped
  KeyStore& store() override { return *store_; }

 private:
  PostgresHarness() = default;
  std::unique_ptr<PostgresTestDatabase> db_;
  std::unique_ptr<KeyStore> store_;
};

class KeyStoreContractTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string why;
    harness_ = GetParam().make(&why);
    ASSERT_NE(harness_, nullptr) << GetParam().name << " backend could not be set up: " << why;
  }

  KeyStore& store() { return harness_->store(); }

  static KeyRecord Key(std::string id, int64_t project, std::string name, int64_t created = 1000,
                       int64_t user = 7, bool shared = true) {
    KeyRecord key;
    key.id = std::move(id);
    key.project_id = project;
    key.user_id = user;
    key.name = std::move(name);
    key.public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB comment with spaces";
    key.fingerprint = "aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99";
    key.shared_in_project = shared;
    key.created_at_us = created;
    key.updated_at_us = created;
    key.type = "ssh-ed25519";
    key.bits = 256;
    key.comment = "comment with spaces";
    key.fingerprint_sha256 = "SHA256:" + key.id;
    return key;
  }

  static KeyUpdate Shared(bool shared, int64_t at = 2000) {
    KeyUpdate update;
    update.shared_in_project = shared;
    update.updated_at_us = at;
    return update;
  }

  void MustInsert(const KeyRecord& key) {
    Status s = store().InsertKey(key, {});
    ASSERT_TRUE(s.ok()) << s.message();
  }

  // Lists and returns the ids of the page (asserting success).
  std::vector<std::string> Ids(const ListQuery& query, int64_t* total = nullptr) {
    auto page = store().ListKeys(query);
    EXPECT_TRUE(page.ok()) << page.status().message();
    if (!page.ok()) return {};
    if (total != nullptr) *total = page->total;
    std::vector<std::string> ids;
    for (const auto& key : page->keys) ids.push_back(key.id);
    return ids;
  }

  // Keys with equal created_at and names that sort differently from their ids.
  void InsertOrderingSet() {
    MustInsert(Key("c", 1, "bravo", 200));
    MustInsert(Key("a", 1, "delta", 200));
    MustInsert(Key("e", 1, "alpha", 100));
    MustInsert(Key("b", 1, "charlie", 300));
    MustInsert(Key("d", 1, "echo", 200));
    MustInsert(Key("z", 2, "alpha", 150));  // another project, same name as "e"
  }

  static TokenRecord Token(std::string id, int64_t created, bool admin = false,
                           std::vector<int64_t> projects = {1, 5, 12}) {
    TokenRecord token;
    token.id = std::move(id);
    token.user_id = 42;
    token.admin = admin;
    token.projects = admin ? std::vector<int64_t>{} : std::move(projects);
    token.secret_hash = std::string("\x00\x01\xff\x7f", 4) + std::string(28, '\x80');
    token.created_at_us = created;
    return token;
  }
  // A person's session ending at `expires`, and an access token of it (device flow).
  static TokenRecord Session(std::string id, int64_t created, int64_t expires) {
    TokenRecord session = Token(std::move(id), created);
    session.kind = "session";
    session.expires_at_us = expires;
    return session;
  }
  static TokenRecord Access(std::string id, const TokenRecord& session, int64_t created,
                            int64_t expires) {
    TokenRecord access = Token(std::move(id), created);
    access.kind = "access";
    access.parent_id = session.id;
    access.expires_at_us = expires;
    return access;
  }

 private:
  std::unique_ptr<StoreHarness> harness_;
};

// --- keys: single-record operations -------------------------------------------------------

TEST_P(KeyStoreContractTest, InsertedKeyReadsBackWithEveryField) {
  KeyRecord key = Key("5f0c0d52-6d3a-4b8e-9d1e-0a2b3c4d5e6f", 3, "my key_1.a-b", 1715000000123456,
                      99, /*shared=*/false);
  MustInsert(key);

  auto by_id = store().GetKey(key.id);
  ASSERT_TRUE(by_id.ok()) << by_id.status().message();
  EXPECT_EQ(*by_id, key);

  auto by_name = store().GetKeyByName(3, "my key_1.a-b");
  ASSERT_TRUE(by_name.ok()) << by_name.status().message();
  EXPECT_EQ(*by_name, key);
}

TEST_P(KeyStoreContractTest, DuplicateNameInProjectIsAlreadyExists) {
  MustInsert(Key("id-1", 1, "dup"));
  Status s = store().InsertKey(Key("id-2", 1, "dup"), {});
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "a key with this name already exists in the project");
  EXPECT_EQ(store().GetKey("id-2").status().code(), StatusCode::kNotFound);
}

TEST_P(KeyStoreContractTest, SameNameInAnotherProjectIsAllowed) {
  MustInsert(Key("id-1", 1, "same"));
  MustInsert(Key("id-2", 2, "same"));
  EXPECT_EQ(store().GetKeyByName(1, "same")->id, "id-1");
  EXPECT_EQ(store().GetKeyByName(2, "same")->id, "id-2");
}

TEST_P(KeyStoreContractTest, DuplicateIdIsAlreadyExists) {
  MustInsert(Key("id-1", 1, "first"));
  Status s = store().InsertKey(Key("id-1", 2, "second"), {});
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "a key with this id already exists");
  EXPECT_EQ(store().GetKey("id-1")->name, "first");
}

TEST_P(KeyStoreContractTest, NamesAreCaseSensitive) {
  MustInsert(Key("id-1", 1, "Key"));
  MustInsert(Key("id-2", 1, "key"));
  EXPECT_EQ(store().GetKeyByName(1, "Key")->id, "id-1");
  EXPECT_EQ(store().GetKeyByName(1, "key")->id, "id-2");
  EXPECT_EQ(store().GetKeyByName(1, "KEY").status().code(), StatusCode::kNotFound);
}

TEST_P(KeyStoreContractTest, MissingKeyIsNotFoundEverywhere) {
  MustInsert(Key("id-1", 1, "present"));
  EXPECT_EQ(store().GetKey("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store().GetKeyByName(1, "absent").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store().GetKeyByName(2, "present").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store().DeleteKey("nope", std::nullopt, {}).code(), StatusCode::kNotFound);
  EXPECT_EQ(store().UpdateKey("nope", Shared(false), std::nullopt, {}).status().code(),
            StatusCode::kNotFound);
}

TEST_P(KeyStoreContractTest, DeleteRemovesTheKeyAndFreesItsName) {
  MustInsert(Key("id-1", 1, "gone"));
  ASSERT_TRUE(store().DeleteKey("id-1", std::nullopt, {}).ok());
  EXPECT_EQ(store().GetKey("id-1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store().GetKeyByName(1, "gone").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store().DeleteKey("id-1", std::nullopt, {}).code(), StatusCode::kNotFound);
  MustInsert(Key("id-2", 1, "gone"));
}

TEST_P(KeyStoreContractTest, UpdateReturnsAndStoresTheUpdatedKeyAndBumpsTheRevision) {
  KeyRecord key = Key("id-1", 1, "k", 5, 7, /*shared=*/true);
  MustInsert(key);

  auto off = store().UpdateKey("id-1", Shared(false, 50), std::nullopt, {});
  ASSERT_TRUE(off.ok()) << off.status().message();
  key.shared_in_project = false;
  key.updated_at_us = 50;
  key.revision = 2;
  EXPECT_EQ(*off, key);
  EXPECT_EQ(*store().GetKey("id-1"), key);

  auto again = store().UpdateKey("id-1", Shared(false, 60), std::nullopt, {});  // no change: OK
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->revision, 3);

  KeyUpdate all;
  all.name = "renamed";
  all.labels = std::map<std::string, std::string>{{"team", "db"}, {"login", "deploy"}};
  all.expires_at_us = int64_t{9000};
  all.disabled = true;
  all.shared_in_project = true;
  all.updated_at_us = 70;
  auto changed = store().UpdateKey("id-1", all, /*expected_revision=*/3, {});
  ASSERT_TRUE(changed.ok()) << changed.status().message();
  EXPECT_EQ(changed->name, "renamed");
  EXPECT_EQ(changed->labels.at("team"), "db");
  EXPECT_EQ(changed->expires_at_us, 9000);
  EXPECT_TRUE(changed->disabled);
  EXPECT_EQ(changed->revision, 4);
  EXPECT_EQ(*store().GetKeyByName(1, "renamed"), *changed);
  EXPECT_EQ(store().GetKeyByName(1, "k").status().code(), StatusCode::kNotFound);
  MustInsert(Key("id-2", 1, "k"));  // the old name is free again

  KeyUpdate clear;
  clear.expires_at_us = std::optional<int64_t>();
  clear.labels = std::map<std::string, std::string>{};
  clear.updated_at_us = 80;
  auto cleared = store().UpdateKey("id-1", clear, std::nullopt, {});
  ASSERT_TRUE(cleared.ok());
  EXPECT_FALSE(cleared->expires_at_us.has_value());
  EXPECT_TRUE(cleared->labels.empty());
  EXPECT_TRUE(cleared->disabled);  // untouched
}

TEST_P(KeyStoreContractTest, UpdateToATakenNameIsAlreadyExistsAndChangesNothing) {
  MustInsert(Key("id-1", 1, "first"));
  MustInsert(Key("id-2", 1, "second"));
  KeyUpdate update;
  update.name = "second";
  update.labels = std::map<std::string, std::string>{{"a", "b"}};
  update.updated_at_us = 9;
  EXPECT_EQ(store().UpdateKey("id-1", update, std::nullopt, {}).status().code(),
            StatusCode::kAlreadyExists);
  auto unchanged = store().GetKey("id-1");
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(unchanged->name, "first");
  EXPECT_TRUE(unchanged->labels.empty());
  EXPECT_EQ(unchanged->revision, 1);
  ListQuery q;
  q.project_id = 1;
  q.labels = {{LabelTerm::Op::kExists, "a", ""}};
  EXPECT_TRUE(Ids(q).empty());  // no label row was left behind either
}

TEST_P(KeyStoreContractTest, AStaleRevisionIsFailedPreconditionForUpdateAndDelete) {
  MustInsert(Key("id-1", 1, "k"));
  ASSERT_TRUE(store().UpdateKey("id-1", Shared(false), 1, {}).ok());  // now revision 2
  EXPECT_EQ(store().UpdateKey("id-1", Shared(true), 1, {}).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(store().DeleteKey("id-1", 1, {}).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store().GetKey("id-1").ok());
  EXPECT_EQ(store().DeleteKey("nope", 1, {}).code(), StatusCode::kNotFound);
  EXPECT_TRUE(store().DeleteKey("id-1", 2, {}).ok());
  EXPECT_EQ(store().GetKey("id-1").status().code(), StatusCode::kNotFound);
}

TEST_P(KeyStoreContractTest, EveryNativeFieldReadsBack) {
  KeyRecord key = Key("id-1", 4, "full", 10);
  key.type = "ecdsa-sha2-nistp384";
  key.bits = 384;
  key.comment = "";
  key.labels = {{"team", "db"}, {"a.b/c-d_e", ""}, {"z", "Value-1.x_Y"}};
  key.disabled = true;
  key.expires_at_us = 1234567;
  key.updated_at_us = 11;
  key.revision = 1;
  MustInsert(key);
  EXPECT_EQ(*store().GetKey("id-1"), key);
  EXPECT_EQ(*store().GetKeyByName(4, "full"), key);
  ListQuery q;
  q.project_id = 4;
  auto page = store().ListKeys(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->keys.size(), 1u);
  EXPECT_EQ(page->keys[0], key);
}

// --- keys: listing ----------------------------------------------------------------------

TEST_P(KeyStoreContractTest, ListOrdersByCreatedAtAscendingWithIdTieBreak) {
  InsertOrderingSet();
  ListQuery q;
  q.project_id = 1;
  q.order = OrderBy::kCreatedAtAsc;
  EXPECT_THAT(Ids(q), ElementsAre("e", "a", "c", "d", "b"));
}

TEST_P(KeyStoreContractTest, ListOrdersByCreatedAtDescendingWithIdAscendingTieBreak) {
  InsertOrderingSet();
  ListQuery q;
  q.project_id = 1;
  q.order = OrderBy::kCreatedAtDesc;
  EXPECT_THAT(Ids(q), ElementsAre("b", "a", "c", "d", "e"));
}

TEST_P(KeyStoreContractTest, ListOrdersByName) {
  InsertOrderingSet();
  ListQuery q;
  q.project_id = 1;
  q.order = OrderBy::kNameAsc;
  EXPECT_THAT(Ids(q), ElementsAre("e", "c", "b", "a", "d"));
  q.order = OrderBy::kNameDesc;
  EXPECT_THAT(Ids(q), ElementsAre("d", "a", "b", "c", "e"));
}

TEST_P(KeyStoreContractTest, ListNameTiesAcrossProjectsAreBrokenByIdAscending) {
  InsertOrderingSet();
  ListQuery q;  // every project: "alpha" exists in projects 1 (id e) and 2 (id z)
  q.order = OrderBy::kNameAsc;
  EXPECT_THAT(Ids(q), ElementsAre("e", "z", "c", "b", "a", "d"));
  q.order = OrderBy::kNameDesc;
  EXPECT_THAT(Ids(q), ElementsAre("d", "a", "b", "c", "e", "z"));
}

TEST_P(KeyStoreContractTest, ListWithoutProjectCoversEveryProject) {
  InsertOrderingSet();
  int64_t total = -1;
  EXPECT_THAT(Ids(ListQuery{}, &total), ElementsAre("e", "z", "a", "c", "d", "b"));
  EXPECT_EQ(total, 6);
  ListQuery q;
  q.project_id = 2;
  EXPECT_THAT(Ids(q, &total), ElementsAre("z"));
  EXPECT_EQ(total, 1);
  q.project_id = 3;
  EXPECT_THAT(Ids(q, &total), IsEmpty());
  EXPECT_EQ(total, 0);
}

TEST_P(KeyStoreContractTest, PagingReachesEveryKeyExactlyOnceInEveryOrder) {
  // 23 keys, created_at in runs of 3 equal values, to make ties cross page borders.
  std::vector<std::string> all;
  for (int i = 0; i < 23; ++i) {
    std::string id = "id-" + std::to_string(100 + (i * 7) % 23);
    MustInsert(Key(id, 1, "name-" + std::to_string(1000 - i), int64_t{10} * (i / 3)));
    all.push_back(id);
  }
  MustInsert(Key("other", 2, "elsewhere"));
  for (OrderBy order :
       {OrderBy::kCreatedAtAsc, OrderBy::kCreatedAtDesc, OrderBy::kNameAsc, OrderBy::kNameDesc}) {
    ListQuery q;
    q.project_id = 1;
    q.order = order;
    const std::vector<std::string> expected = Ids(q);
    ASSERT_EQ(expected.size(), 23u);

    std::vector<std::string> paged;
    q.limit = 4;
    for (q.offset = 0;; q.offset += q.limit) {
      int64_t total = -1;
      std::vector<std::string> page = Ids(q, &total);
      EXPECT_EQ(total, 23) << "offset " << q.offset;
      if (page.empty()) break;
      EXPECT_LE(page.size(), 4u);
      paged.insert(paged.end(), page.begin(), page.end());
    }
    EXPECT_EQ(paged, expected) << "order " << static_cast<int>(order);
    EXPECT_EQ(std::set<std::string>(paged.begin(), paged.end()),
              std::set<std::string>(all.begin(), all.end()));
  }
}

TEST_P(KeyStoreContractTest, TotalIgnoresOffsetAndLimit) {
  for (int i = 0; i < 5; ++i) {
    MustInsert(Key("id-" + std::to_string(i), 1, "k" + std::to_string(i), i));
  }
  ListQuery q;
  q.project_id = 1;
  q.limit = 0;
  int64_t total = -1;
  EXPECT_THAT(Ids(q, &total), IsEmpty());
  EXPECT_EQ(total, 5);
  q.limit = 2;
  q.offset = 4;
  EXPECT_THAT(Ids(q, &total), ElementsAre("id-4"));
  EXPECT_EQ(total, 5);
  q.offset = 50;
  EXPECT_THAT(Ids(q, &total), IsEmpty());
  EXPECT_EQ(total, 5);
  q.offset = 1;
  q.limit = -1;
  EXPECT_THAT(Ids(q, &total), ElementsAre("id-1", "id-2", "id-3", "id-4"));
  EXPECT_EQ(total, 5);
}

TEST_P(KeyStoreContractTest, ListRejectsNegativeOffsetAndLimitBelowMinusOne) {
  ListQuery q;
  q.offset = -1;
  EXPECT_EQ(store().ListKeys(q).status().code(), StatusCode::kInvalidArgument);
  q.offset = 0;
  q.limit = -2;
  EXPECT_EQ(store().ListKeys(q).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(KeyStoreContractTest, NameContainsIsACaseInsensitiveSubstring) {
  MustInsert(Key("1", 1, "Production-Web", 1));
  MustInsert(Key("2", 1, "staging web", 2));
  MustInsert(Key("3", 1, "laptop", 3));
  MustInsert(Key("4", 2, "WEBSERVER", 4));
  ListQuery q;
  q.project_id = 1;
  q.name_contains = "WeB";
  int64_t total = -1;
  EXPECT_THAT(Ids(q, &total), ElementsAre("1", "2"));
  EXPECT_EQ(total, 2);
  q.name_contains = "production-web";  // the whole name
  EXPECT_THAT(Ids(q), ElementsAre("1"));
  q.name_contains = "g w";
  EXPECT_THAT(Ids(q), ElementsAre("2"));
  q.name_contains = "nothing";
  EXPECT_THAT(Ids(q, &total), IsEmpty());
  EXPECT_EQ(total, 0);
  q.project_id.reset();
  q.name_contains = "web";
  EXPECT_THAT(Ids(q), ElementsAre("1", "2", "4"));
}

TEST_P(KeyStoreContractTest, NameContainsMatchesWildcardCharactersLiterally) {
  MustInsert(Key("1", 1, "a_b", 1));
  MustInsert(Key("2", 1, "axb", 2));
  MustInsert(Key("3", 1, "100%", 3));
  MustInsert(Key("4", 1, "1000", 4));
  MustInsert(Key("5", 1, "back\\slash", 5));
  MustInsert(Key("6", 1, "backXslash", 6));
  MustInsert(Key("7", 1, "dots.and.dashes-x", 7));
  ListQuery q;
  q.project_id = 1;
  q.name_contains = "a_b";
  EXPECT_THAT(Ids(q), ElementsAre("1"));
  q.name_contains = "_";
  EXPECT_THAT(Ids(q), ElementsAre("1"));
  q.name_contains = "0%";
  EXPECT_THAT(Ids(q), ElementsAre("3"));
  q.name_contains = "%";
  EXPECT_THAT(Ids(q), ElementsAre("3"));
  q.name_contains = "k\\s";
  EXPECT_THAT(Ids(q), ElementsAre("5"));
  q.name_contains = "\\";
  EXPECT_THAT(Ids(q), ElementsAre("5"));
  q.name_contains = "s.a";
  EXPECT_THAT(Ids(q), ElementsAre("7"));
  q.name_contains = "S-X";
  EXPECT_THAT(Ids(q), ElementsAre("7"));
}

TEST_P(KeyStoreContractTest, OwnerFilterKeepsOnlyThatUsersKeys) {
  MustInsert(Key("1", 1, "a", 1, /*user=*/10));
  MustInsert(Key("2", 1, "b", 2, /*user=*/11));
  MustInsert(Key("3", 2, "c", 3, /*user=*/10, /*shared=*/false));
  ListQuery q;
  q.owner_id = 10;
  int64_t total = -1;
  EXPECT_THAT(Ids(q, &total), ElementsAre("1", "3"));
  EXPECT_EQ(total, 2);
  q.project_id = 1;
  EXPECT_THAT(Ids(q), ElementsAre("1"));
  q.owner_id = 12;
  EXPECT_THAT(Ids(q, &total), IsEmpty());
  EXPECT_EQ(total, 0);
}

TEST_P(KeyStoreContractTest, VisibilityShowsSharedKeysAndOwnUnsharedKeys) {
  MustInsert(Key("1", 1, "shared-by-10", 1, 10, true));
  MustInsert(Key("2", 1, "private-of-10", 2, 10, false));
  MustInsert(Key("3", 1, "private-of-11", 3, 11, false));
  MustInsert(Key("4", 1, "shared-by-11", 4, 11, true));
  ListQuery q;
  q.project_id = 1;
  q.visible_to_user = 10;
  int64_t total = -1;
  EXPECT_THAT(Ids(q, &total), ElementsAre("1", "2", "4"));
  EXPECT_EQ(total, 3);
  q.visible_to_user = 12;
  EXPECT_THAT(Ids(q, &total), ElementsAre("1", "4"));
  EXPECT_EQ(total, 2);
  q.visible_to_user = 11;
  q.owner_id = 11;
  q.name_contains = "PRIVATE";
  EXPECT_THAT(Ids(q, &total), ElementsAre("3"));
  EXPECT_EQ(total, 1);
  q.visible_to_user.reset();
  q.owner_id.reset();
  EXPECT_THAT(Ids(q, &total), ElementsAre("2", "3"));  // no visibility filter: all
}

// --- tokens ---------------------------------------------------------------------------------

TEST_P(KeyStoreContractTest, InsertedTokensReadBackWithEveryField) {
  TokenRecord scoped = Token("0123456789abcdef", 100);
  TokenRecord admin = Token("fedcba9876543210", 200, /*admin=*/true);
  TokenRecord single = Token("00000000000000aa", 300, false, {77});
  TokenRecord revoked = Token("00000000000000bb", 400);
  revoked.revoked_at_us = 450;
  for (const auto* t : {&scoped, &admin, &single, &revoked}) {
    Status s = store().InsertToken(*t, {});
    ASSERT_TRUE(s.ok()) << s.message();
  }
  for (const auto* t : {&scoped, &admin, &single, &revoked}) {
    auto got = store().GetToken(t->id);
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(*got, *t);
  }
}

TEST_P(KeyStoreContractTest, ASessionReadsBackWithItsKindExpiryAndRoles) {
  TokenRecord session = Token("0123456789abcdef", 100);
  session.kind = "session";
  session.expires_at_us = 5000;
  session.projects = {3, 9};
  session.roles = {{.project_id = 3, .role = "editor", .principals = {"deploy", "root"}},
                   {.project_id = 9, .role = "viewer", .principals = {}}};
  ASSERT_TRUE(store().InsertToken(session, {}).ok());
  auto got = store().GetToken(session.id);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, session);
  // A token made before sessions reads as a token that never ends.
  TokenRecord token = Token("fedcba9876543210", 200);
  ASSERT_TRUE(store().InsertToken(token, {}).ok());
  got = store().GetToken(token.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->kind, "token");
  EXPECT_FALSE(got->expires_at_us.has_value());
  EXPECT_TRUE(got->roles.empty());
}

TEST_P(KeyStoreContractTest, ALoginIsFinishedOnceAndNotAfterItExpires) {
  const std::string a(32, 'a');
  const std::string b(32, 'b');
  ASSERT_TRUE(store().StartLogin({a, "/console/keys", 1000, 2000}).ok());
  ASSERT_TRUE(store().StartLogin({b, "/console/", 1000, 1500}).ok());
  EXPECT_EQ(store().StartLogin({a, "/x", 1100, 2000}).code(), StatusCode::kAlreadyExists);
  auto first = store().FinishLogin(a, 1900);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(*first, (LoginRecord{a, "/console/keys", 1000, 2000}));
  EXPECT_EQ(store().FinishLogin(a, 1900).status().code(), StatusCode::kNotFound);  // used
  EXPECT_EQ(store().FinishLogin(b, 1600).status().code(), StatusCode::kNotFound);  // expired
  EXPECT_EQ(store().FinishLogin(std::string(32, 'c'), 1).status().code(), StatusCode::kNotFound);
  // Starting a login takes the expired ones away.
  const std::string c(32, 'c');
  ASSERT_TRUE(store().StartLogin({c, "/", 3000, 4000}).ok());
  ASSERT_TRUE(store().StartLogin({b, "/console/", 3000, 3500}).ok());  // b's hash is free again
}

DeviceRecord Device(char fill, std::string user_code, int64_t created, int64_t expires) {
  DeviceRecord d;
  d.code_hash = std::string(32, fill);
  d.user_code = std::move(user_code);
  d.created_at_us = created;
  d.expires_at_us = expires;
  d.interval_s = 5;
  return d;
}

TEST_P(KeyStoreContractTest, ADeviceIsPolledDecidedOnceAndTakenOnce) {
  ASSERT_TRUE(store().StartDevice(Device('a', "BCDF-GHJK", 1000, 9000)).ok());
  EXPECT_EQ(store().StartDevice(Device('b', "BCDF-GHJK", 1000, 9000)).code(),
            StatusCode::kAlreadyExists);  // the user code is taken
  EXPECT_EQ(store().StartDevice(Device('a', "LMNP-QRST", 1000, 9000)).code(),
            StatusCode::kAlreadyExists);  // the code hash is taken
  const std::string hash(32, 'a');
  auto first = store().PollDevice(hash, 2000);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(*first, Device('a', "BCDF-GHJK", 1000, 9000));
  auto second = store().PollDevice(hash, 3000);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->last_poll_us, 2000);  // as it was before this poll
  EXPECT_EQ(store().DecideDevice("LMNP-QRST", true, 7, "s1", 3500).code(), StatusCode::kNotFound);
  EXPECT_EQ(store().DecideDevice("BCDF-GHJK", true, 7, "s1", 9500).code(),
            StatusCode::kNotFound);  // expired
  ASSERT_TRUE(store().DecideDevice("BCDF-GHJK", true, 7, "sess0123456789ab", 4000).ok());
  EXPECT_EQ(store().DecideDevice("BCDF-GHJK", false, 8, "s2", 4100).code(),
            StatusCode::kNotFound);  // decided once
  auto decided = store().PollDevice(hash, 5000);
  ASSERT_TRUE(decided.ok());
  EXPECT_EQ(decided->state, "approved");
  EXPECT_EQ(decided->user_id, 7);
  EXPECT_EQ(decided->session_id, "sess0123456789ab");
  EXPECT_EQ(store().PollDevice(hash, 5100).status().code(), StatusCode::kNotFound);  // taken
  // Starting one takes the expired ones away (and frees their user codes).
  ASSERT_TRUE(store().StartDevice(Device('c', "VWXZ-BCDF", 1000, 1500)).ok());
  ASSERT_TRUE(store().StartDevice(Device('d', "LMNP-QRST", 2000, 3000)).ok());
  EXPECT_EQ(store().PollDevice(std::string(32, 'c'), 2100).status().code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(store().StartDevice(Device('e', "VWXZ-BCDF", 2000, 3000)).ok());
}

TEST_P(KeyStoreContractTest, RevokingASessionRevokesItsAccessTokens) {
  const TokenRecord session = Session("00000000000000aa", 100, 10000);
  const TokenRecord access = Access("00000000000000bb", session, 200, 5000);
  const TokenRecord other = Token("00000000000000cc", 300);
  for (const TokenRecord* t : {&session, &access, &other}) {
    ASSERT_TRUE(store().InsertToken(*t, {}).ok());
  }
  auto got = store().GetToken(access.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, access);
  ASSERT_TRUE(store().RevokeToken(session.id, 400, {}).ok());
  EXPECT_EQ(store().GetToken(access.id)->revoked_at_us, 400);
  EXPECT_FALSE(store().GetToken(other.id)->revoked_at_us.has_value());
}

TEST_P(KeyStoreContractTest, ConcurrentFinishesOfOneLoginHaveOneWinner) {
  const std::string state(32, 's');
  ASSERT_TRUE(store().StartLogin({state, "/", 1000, 9000}).ok());
  std::atomic<int> won{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (store().FinishLogin(state, 2000).ok()) ++won;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
}

TEST_P(KeyStoreContractTest, ATokenReadsWhetherItsUserIsDisabled) {
  ASSERT_TRUE(store().InsertToken(Token("0123456789abcdef", 100), {}).ok());
  TokenRecord other = Token("fedcba9876543210", 200);
  other.user_id += 1;
  ASSERT_TRUE(store().InsertToken(other, {}).ok());
  const int64_t user = store().GetToken("0123456789abcdef")->user_id;
  ASSERT_NE(user, other.user_id);
  EXPECT_FALSE(store().GetToken("0123456789abcdef")->user_disabled);
  ASSERT_TRUE(store().SetUserDisabled(user, true, 300, {}).ok());
  EXPECT_TRUE(store().GetToken("0123456789abcdef")->user_disabled);
  EXPECT_FALSE(store().GetToken("fedcba9876543210")->user_disabled);
  auto listed = store().ListTokens();
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_TRUE((*listed)[0].user_disabled);
  EXPECT_FALSE((*listed)[1].user_disabled);
  ASSERT_TRUE(store().SetUserDisabled(user, false, 400, {}).ok());
  EXPECT_FALSE(store().GetToken("0123456789abcdef")->user_disabled);
}

TEST_P(KeyStoreContractTest, DuplicateTokenIdIsAlreadyExists) {
  ASSERT_TRUE(store().InsertToken(Token("0123456789abcdef", 1), {}).ok());
  Status s = store().InsertToken(Token("0123456789abcdef", 2, true), {});
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "a token with this id already exists");
  EXPECT_EQ(store().GetToken("0123456789abcdef")->created_at_us, 1);
}

TEST_P(KeyStoreContractTest, MissingTokenIsNotFound) {
  EXPECT_EQ(store().GetToken("0123456789abcdef").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store().RevokeToken("0123456789abcdef", 5, {}).code(), StatusCode::kNotFound);
}

TEST_P(KeyStoreContractTest, TokensAreListedByCreatedAtThenId) {
  auto empty = store().ListTokens();
  ASSERT_TRUE(empty.ok());
  EXPECT_THAT(*empty, IsEmpty());
  for (const auto& [id, created] :
       std::vector<std::pair<std::string, int64_t>>{{"cccccccccccccccc", 20},
                                                    {"bbbbbbbbbbbbbbbb", 30},
                                                    {"aaaaaaaaaaaaaaaa", 20},
                                                    {"dddddddddddddddd", 10}}) {
    ASSERT_TRUE(store().InsertToken(Token(id, created), {}).ok());
  }
  auto tokens = store().ListTokens();
  ASSERT_TRUE(tokens.ok()) << tokens.status().message();
  std::vector<std::string> ids;
  for (const auto& t : *tokens) ids.push_back(t.id);
  EXPECT_THAT(ids, ElementsAre("dddddddddddddddd", "aaaaaaaaaaaaaaaa", "cccccccccccccccc",
                               "bbbbbbbbbbbbbbbb"));
  EXPECT_EQ((*tokens)[0], Token("dddddddddddddddd", 10));
}

TEST_P(KeyStoreContractTest, RevokeIsIdempotentAndKeepsTheFirstTime) {
  ASSERT_TRUE(store().InsertToken(Token("0123456789abcdef", 1), {}).ok());
  ASSERT_TRUE(store().InsertToken(Token("1123456789abcdef", 2), {}).ok());
  EXPECT_TRUE(store().RevokeToken("0123456789abcdef", 500, {}).ok());
  EXPECT_TRUE(store().RevokeToken("0123456789abcdef", 900, {}).ok());
  EXPECT_EQ(store().GetToken("0123456789abcdef")->revoked_at_us, 500);
  EXPECT_EQ(store().GetToken("1123456789abcdef")->revoked_at_us, std::nullopt);
}

TEST_P(KeyStoreContractTest, PingIsOk) { EXPECT_TRUE(store().Ping().ok()); }

// --- concurrency -------------------------------------------------------------------------

TEST_P(KeyStoreContractTest, ConcurrentInsertsOfOneNameHaveExactlyOneWinner) {
  constexpr int kThreads = 200;
  std::latch start(kThreads);
  std::atomic<int> ok{0}, exists{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      Status s = store().InsertKey(Key("id-" + std::to_string(i), 1, "contested", i), {});
      if (s.ok()) {
        ++ok;
      } else if (s.code() == StatusCode::kAlreadyExists) {
        ++exists;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(exists.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
  int64_t total = -1;
  EXPECT_EQ(Ids(ListQuery{}, &total).size(), 1u);
  EXPECT_EQ(total, 1);
}

TEST_P(KeyStoreContractTest, ConcurrentDistinctInsertsAreAllStored) {
  constexpr int kThreads = 500;
  std::latch start(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  std::vector<std::string> ids;
  for (int i = 0; i < kThreads; ++i) ids.push_back("id-" + std::to_string(10000 + i));
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      // Readers run alongside the writers.
      if (i % 10 == 0) {
        ListQuery q;
        q.project_id = i % 3;
        q.limit = 5;
        if (!store().ListKeys(q).ok()) ++failures;
      }
      if (!store().InsertKey(Key(ids[i], i % 3, "key-" + std::to_string(i), i), {}).ok()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  int64_t total = -1;
  EXPECT_THAT(Ids(ListQuery{}, &total), ElementsAreArray(ids));  // created_at = i
  EXPECT_EQ(total, kThreads);
}

// --- keys: the native API's filters and keyset pages ------------------------------------

TEST_P(KeyStoreContractTest, LabelSelectorsMatchAsKubernetesDoes) {
  auto labelled = [&](std::string id, std::map<std::string, std::string> labels, int64_t created) {
    KeyRecord k = Key(std::move(id), 1, "n-" + std::to_string(created), created);
    k.labels = std::move(labels);
    MustInsert(k);
  };
  labelled("a", {{"team", "db"}, {"login", "deploy"}}, 1);
  labelled("b", {{"team", "db"}}, 2);
  labelled("c", {{"team", "web"}, {"login", "deploy"}}, 3);
  labelled("d", {}, 4);
  MustInsert(Key("e", 2, "other-project", 5));
  auto select = [&](std::vector<LabelTerm> terms, OrderBy order = OrderBy::kCreatedAtAsc) {
    ListQuery q;
    q.project_id = 1;
    q.order = order;
    q.labels = std::move(terms);
    return Ids(q);
  };
  using Op = LabelTerm::Op;
  EXPECT_THAT(select({{Op::kEquals, "team", "db"}}), ElementsAre("a", "b"));
  EXPECT_THAT(select({{Op::kEquals, "team", "db"}}, OrderBy::kCreatedAtDesc),
              ElementsAre("b", "a"));
  EXPECT_THAT(select({{Op::kEquals, "team", "db"}}, OrderBy::kNameDesc), ElementsAre("b", "a"));
  EXPECT_THAT(select({{Op::kEquals, "team", "db"}, {Op::kEquals, "login", "deploy"}}),
              ElementsAre("a"));
  EXPECT_THAT(select({{Op::kNotEquals, "team", "db"}}), ElementsAre("c", "d"));  // d: no team
  EXPECT_THAT(select({{Op::kExists, "login", ""}}), ElementsAre("a", "c"));
  EXPECT_THAT(select({{Op::kNotExists, "login", ""}}), ElementsAre("b", "d"));
  EXPECT_THAT(select({{Op::kEquals, "team", "db"}, {Op::kNotExists, "login", ""}}),
              ElementsAre("b"));
  EXPECT_THAT(select({{Op::kEquals, "team", "none"}}), ElementsAre());
  // Labels follow updates and deletes.
  KeyUpdate relabel;
  relabel.labels = std::map<std::string, std::string>{{"team", "web"}};
  relabel.updated_at_us = 9;
  ASSERT_TRUE(store().UpdateKey("a", relabel, std::nullopt, {}).ok());
  ASSERT_TRUE(store().DeleteKey("b", std::nullopt, {}).ok());
  EXPECT_THAT(select({{Op::kEquals, "team", "db"}}), ElementsAre());
  EXPECT_THAT(select({{Op::kEquals, "team", "web"}}), ElementsAre("a", "c"));
}

TEST_P(KeyStoreContractTest, FingerprintTypeUsableAndProjectFilters) {
  KeyRecord a = Key("a", 1, "a", 1);
  a.fingerprint = "11:11";
  a.fingerprint_sha256 = "SHA256:one";
  KeyRecord b = Key("b", 2, "b", 2);
  b.fingerprint = "11:11";
  b.fingerprint_sha256 = "SHA256:one";
  b.type = "ssh-rsa";
  b.disabled = true;
  KeyRecord c = Key("c", 3, "c", 3);
  c.expires_at_us = 100;  // expired at 150
  KeyRecord d = Key("d", 3, "d", 4);
  d.expires_at_us = 200;  // still usable at 150
  for (const KeyRecord& k : {a, b, c, d}) MustInsert(k);
  ListQuery q;
  q.fingerprint = "11:11";
  EXPECT_THAT(Ids(q), ElementsAre("a", "b"));
  q = {};
  q.fingerprint_sha256 = "SHA256:one";
  q.project_ids = {2, 3};
  EXPECT_THAT(Ids(q), ElementsAre("b"));
  q = {};
  q.type = "ssh-rsa";
  EXPECT_THAT(Ids(q), ElementsAre("b"));
  q = {};
  q.usable = true;
  q.now_us = 150;
  EXPECT_THAT(Ids(q), ElementsAre("a", "d"));
  q.usable = false;
  EXPECT_THAT(Ids(q), ElementsAre("b", "c"));
  q = {};
  q.project_ids = {1, 3};
  int64_t total = -1;
  EXPECT_THAT(Ids(q, &total), ElementsAre("a", "c", "d"));
  EXPECT_EQ(total, 3);
  q.with_total = false;
  EXPECT_THAT(Ids(q, &total), ElementsAre("a", "c", "d"));
  EXPECT_EQ(total, 0);
}

// owner_enabled (authorized_keys) leaves out the keys of a disabled user, whatever else the
// query asks, and takes them back when the user is enabled; a user with no users row (a
// token's) counts as enabled.
TEST_P(KeyStoreContractTest, OwnerEnabledLeavesOutTheKeysOfADisabledUser) {
  ASSERT_TRUE(store().EnsureUser(7, 10, {}).ok());
  ASSERT_TRUE(store().EnsureUser(8, 10, {}).ok());
  MustInsert(Key("a", 1, "a", 1, /*user=*/7));
  MustInsert(Key("b", 1, "b", 2, /*user=*/8));
  MustInsert(Key("c", 1, "c", 3, /*user=*/9));  // no users row
  MustInsert(Key("d", 1, "d", 4, /*user=*/8, /*shared=*/false));
  ListQuery q;
  q.project_id = 1;
  q.owner_enabled = true;
  EXPECT_THAT(Ids(q), ElementsAre("a", "b", "c", "d"));
  ASSERT_TRUE(store().SetUserDisabled(8, true, 11, {}).ok());
  int64_t total = -1;
  EXPECT_THAT(Ids(q, &total), ElementsAre("a", "c"));
  EXPECT_EQ(total, 2);
  q.usable = true;
  q.now_us = 5;
  q.visible_to_user = 8;
  EXPECT_THAT(Ids(q), ElementsAre("a", "c"));
  q.owner_enabled = false;
  EXPECT_THAT(Ids(q), ElementsAre("a", "b", "c", "d"));  // every other list still has them
  q.owner_enabled = true;
  q.owner_id = 8;
  EXPECT_THAT(Ids(q), ElementsAre());
  ASSERT_TRUE(store().SetUserDisabled(8, false, 12, {}).ok());
  EXPECT_THAT(Ids(q), ElementsAre("b", "d"));
  // Read in a snapshot too (the login path reads there).
  ASSERT_TRUE(store().SetUserDisabled(7, true, 13, {}).ok());
  q.owner_id.reset();
  std::unique_ptr<KeyReader> snapshot = store().Snapshot();
  StatusOr<KeyPage> page = snapshot->ListKeys(q);
  ASSERT_TRUE(page.ok()) << page.status().message();
  std::vector<std::string> ids;
  for (const KeyRecord& k : page->keys) ids.push_back(k.id);
  EXPECT_THAT(ids, ElementsAre("b", "c", "d"));
}

TEST_P(KeyStoreContractTest, KeysetPagesVisitEveryKeyOnceInEveryOrderDespiteChanges) {
  // Equal creation times and names that sort differently from ids, in two projects.
  std::vector<KeyRecord> all_keys;
  for (int i = 0; i < 23; ++i) {
    KeyRecord k = Key("id-" + std::to_string(100 + i), 1, "name-" + std::to_string((i * 7) % 23),
                      1000 + i / 3);
    if (i % 4 == 0) k.labels = {{"team", "db"}};
    MustInsert(k);
    all_keys.push_back(k);
  }
  for (OrderBy order :
       {OrderBy::kCreatedAtAsc, OrderBy::kCreatedAtDesc, OrderBy::kNameAsc, OrderBy::kNameDesc}) {
    for (bool with_label : {false, true}) {
      ListQuery q;
      q.project_id = 1;
      q.order = order;
      q.with_total = false;
      if (with_label) q.labels = {{LabelTerm::Op::kEquals, "team", "db"}};
      ListQuery all = q;
      const std::vector<std::string> expected = Ids(all);
      std::vector<std::string> walked;
      q.limit = 4;
      for (int guard = 0; guard < 20; ++guard) {
        auto page = store().ListKeys(q);
        ASSERT_TRUE(page.ok()) << page.status().message();
        for (const KeyRecord& k : page->keys) walked.push_back(k.id);
        if (static_cast<int64_t>(page->keys.size()) < q.limit) break;
        const KeyRecord& last = page->keys.back();
        q.after = KeyCursor{last.created_at_us, last.name, last.id};
        if (guard == 1) {  // keys come and go meanwhile, elsewhere and at the walk's start
          const std::string tag = std::to_string(static_cast<int>(order)) + (with_label ? "l" : "");
          MustInsert(Key("zz-new-" + tag, 2, "elsewhere-" + tag, 1));
          ASSERT_TRUE(store().DeleteKey(walked.front(), std::nullopt, {}).ok());
          KeyRecord back = *std::find_if(all_keys.begin(), all_keys.end(), [&](const KeyRecord& k) {
            return k.id == walked.front();
          });
          MustInsert(back);  // the same key again (deleted and restored before the walk ends)
        }
      }
      EXPECT_EQ(walked, expected) << "order " << static_cast<int>(order) << " label " << with_label;
    }
  }
}

// --- the SSH CA ------------------------------------------------------------------------

CaRecord Ca(int64_t project, std::string seed) {
  return CaRecord{.project_id = project,
                  .kind = CaKind::kUser,
                  .public_key = "ssh-ed25519 AAAA ca-" + std::to_string(project),
                  .sealed_seed = std::move(seed),
                  .created_at_us = 5};
}

CertificateRecord Certificate(int64_t project, int64_t serial, std::string key_id,
                              int64_t valid_before_s = 1000) {
  CertificateRecord c;
  c.project_id = project;
  c.serial = serial;
  c.key_id = std::move(key_id);
  c.key_owner_id = 7;
  c.key_sha256 = std::string(31, 'h') + (c.key_id.empty() ? '-' : c.key_id.back());
  c.principals = {"deploy", "alice"};
  c.valid_after_s = 10;
  c.valid_before_s = valid_before_s;
  c.issued_at_us = 11;
  c.issued_by = "0123456789abcdef";
  return c;
}

TEST_P(KeyStoreContractTest, TheFirstCaOfAProjectWinsAndSerialsCountUp) {
  EXPECT_EQ(store().NextSerial(1, CaKind::kUser).status().code(), StatusCode::kNotFound);
  auto first = store().GetOrCreateCa(Ca(1, std::string("\x00sealed-one", 11)), {});
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->sealed_seed, std::string("\x00sealed-one", 11));
  auto second = store().GetOrCreateCa(Ca(1, "sealed-two"), {});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, *first);  // the first one stays
  EXPECT_EQ(store().GetOrCreateCa(Ca(2, "other"), {})->sealed_seed, "other");
  EXPECT_EQ(*store().NextSerial(1, CaKind::kUser), 1);
  EXPECT_EQ(*store().NextSerial(1, CaKind::kUser), 2);
  EXPECT_EQ(*store().NextSerial(2, CaKind::kUser), 1);  // per project
}

TEST_P(KeyStoreContractTest, GetCaReadsAndNeverMakesOne) {
  EXPECT_EQ(store().GetCa(1, CaKind::kUser).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store().GetCa(1, CaKind::kUser).status().code(), StatusCode::kNotFound);  // still none
  EXPECT_EQ(store().NextSerial(1, CaKind::kUser).status().code(), StatusCode::kNotFound);
  auto made = store().GetOrCreateCa(Ca(1, "sealed"), {});
  ASSERT_TRUE(made.ok()) << made.status().message();
  auto read = store().GetCa(1, CaKind::kUser);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(*read, *made);
  EXPECT_EQ(store().GetCa(2, CaKind::kUser).status().code(), StatusCode::kNotFound);
}

TEST_P(KeyStoreContractTest, ConcurrentSerialsAreAllDifferent) {
  ASSERT_TRUE(store().GetOrCreateCa(Ca(1, "s"), {}).ok());
  constexpr int kThreads = 32;
  std::latch start(kThreads);
  std::vector<int64_t> serials(kThreads, -1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      auto serial = store().NextSerial(1, CaKind::kUser);
      if (serial.ok()) serials[i] = *serial;
    });
  }
  for (auto& t : threads) t.join();
  std::sort(serials.begin(), serials.end());
  for (int i = 0; i < kThreads; ++i) EXPECT_EQ(serials[i], i + 1);
}

TEST_P(KeyStoreContractTest, CertificatesAreRecordedRevokedAndListedInRevocations) {
  MustInsert(Key("kept", 1, "kept"));
  MustInsert(Key("gone", 1, "gone"));
  MustInsert(Key("off", 1, "off"));
  ASSERT_TRUE(store().GetOrCreateCa(Ca(1, "s"), {}).ok());
  for (const CertificateRecord& c :
       {Certificate(1, 1, "kept"), Certificate(1, 2, "kept"), Certificate(1, 3, "gone"),
        Certificate(1, 4, "off"), Certificate(1, 5, "kept", /*valid_before_s=*/50)}) {
    ASSERT_TRUE(store().RecordCertificate(c, {}).ok());
  }
  EXPECT_EQ(store().RecordCertificate(Certificate(1, 1, "kept"), {}).code(),
            StatusCode::kAlreadyExists);
  auto got = store().GetCertificate(1, 2);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, Certificate(1, 2, "kept"));
  EXPECT_EQ(store().GetCertificate(2, 2).status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(store().RevokeCertificate(1, 2, 100, {}).ok());
  ASSERT_TRUE(store().RevokeCertificate(1, 2, 200, {}).ok());  // idempotent: the first time stays
  EXPECT_EQ(store().GetCertificate(1, 2)->revoked_at_us, 100);
  ASSERT_TRUE(store().RevokeCertificate(1, 5, 100, {}).ok());  // expires at 50
  EXPECT_EQ(store().RevokeCertificate(1, 9, 100, {}).code(), StatusCode::kNotFound);
  ASSERT_TRUE(store().DeleteKey("gone", std::nullopt, {}).ok());
  KeyUpdate disable;
  disable.disabled = true;
  disable.updated_at_us = 9;
  ASSERT_TRUE(store().UpdateKey("off", disable, std::nullopt, {}).ok());

  // By serial only: 2 revoked, 3 of a deleted key, 4 of a disabled one; 5 has expired
  // (sshd refuses it anyway), 1 is a usable key's.
  auto revoked = store().RevocationsOf(1, /*now_s=*/60);
  ASSERT_TRUE(revoked.ok()) << revoked.status().message();
  EXPECT_THAT(revoked->serials, ElementsAre(2, 3, 4));
  EXPECT_TRUE(store().RevocationsOf(2, 60)->serials.empty());
  // Expired certificates of deleted or disabled keys drop out too.
  EXPECT_TRUE(store().RevocationsOf(1, /*now_s=*/1000)->serials.empty());

  KeyUpdate enable;
  enable.disabled = false;
  enable.updated_at_us = 10;
  ASSERT_TRUE(store().UpdateKey("off", enable, std::nullopt, {}).ok());
  EXPECT_THAT(store().RevocationsOf(1, 60)->serials, ElementsAre(2, 3));  // 4 is back
}

// The attack of a project member on another's key: B imports A's public key as an unshared
// copy, has it certified and deletes it. The KRL lists B's certificate, not A's key or A's
// certificates (the rows carry the same key hash).
TEST_P(KeyStoreContractTest, DeletingACopyOfAnotherUsersKeyRevokesOnlyTheCopysCertificates) {
  MustInsert(Key("a-key", 1, "alice"));
  MustInsert(Key("b-copy", 1, "copy"));
  ASSERT_TRUE(store().GetOrCreateCa(Ca(1, "s"), {}).ok());
  CertificateRecord alice = Certificate(1, 1, "a-key");
  CertificateRecord copy = Certificate(1, 2, "b-copy");
  copy.key_sha256 = alice.key_sha256;  // the same public key
  ASSERT_TRUE(store().RecordCertificate(alice, {}).ok());
  ASSERT_TRUE(store().RecordCertificate(copy, {}).ok());
  ASSERT_TRUE(store().DeleteKey("b-copy", std::nullopt, {}).ok());
  EXPECT_THAT(store().RevocationsOf(1, 60)->serials, ElementsAre(2));
}

// A certificate of a public key the store does not hold (POST …/ssh_ca/sign) has no key_id.
// It reads back without one, is revoked by serial like any other, and is in the KRL only
// once revoked: no key of it can be deleted or disabled, so finding no key is no reason.
TEST_P(KeyStoreContractTest, ACertificateWithoutAStoredKeyIsListedOnlyWhenRevoked) {
  MustInsert(Key("kept", 1, "kept"));
  ASSERT_TRUE(store().GetOrCreateCa(Ca(1, "s"), {}).ok());
  CertificateRecord keyless = Certificate(1, 1, "");
  keyless.key_sha256 = std::string(32, 'z');
  CertificateRecord expiring = keyless;
  expiring.serial = 3;
  expiring.valid_before_s = 50;
  for (const CertificateRecord& c : {keyless, Certificate(1, 2, "kept"), expiring}) {
    ASSERT_TRUE(store().RecordCertificate(c, {}).ok());
  }
  auto got = store().GetCertificate(1, 1);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, keyless);
  EXPECT_TRUE(store().RevocationsOf(1, /*now_s=*/40)->serials.empty());

  ASSERT_TRUE(store().RevokeCertificate(1, 1, 100, {}).ok());
  ASSERT_TRUE(store().RevokeCertificate(1, 3, 100, {}).ok());
  EXPECT_EQ(store().GetCertificate(1, 1)->revoked_at_us, 100);
  EXPECT_THAT(store().RevocationsOf(1, /*now_s=*/40)->serials, ElementsAre(1, 3));
  EXPECT_THAT(store().RevocationsOf(1, /*now_s=*/60)->serials, ElementsAre(1));  // 3 expired
  EXPECT_TRUE(store().RevocationsOf(1, /*now_s=*/1000)->serials.empty());
  // Deleting the other certificate's key lists it too, and nothing else changes.
  ASSERT_TRUE(store().DeleteKey("kept", std::nullopt, {}).ok());
  EXPECT_THAT(store().RevocationsOf(1, 60)->serials, ElementsAre(1, 2));
}

// Disabling a user lists every unexpired certificate they own (a stored key's, or one of a
// key not stored: `keypaird login`'s) in the KRL of each project, until they are enabled.
TEST_P(KeyStoreContractTest, ADisabledUsersCertificatesAreListedUntilTheyAreEnabled) {
  ASSERT_TRUE(store().EnsureUser(7, 1, {}).ok());
  ASSERT_TRUE(store().EnsureUser(8, 1, {}).ok());
  MustInsert(Key("kept", 1, "kept"));
  ASSERT_TRUE(store().GetOrCreateCa(Ca(1, "s"), {}).ok());
  ASSERT_TRUE(store().GetOrCreateCa(Ca(2, "t"), {}).ok());
  CertificateRecord login = Certificate(1, 1, "");  // owner 7
  CertificateRecord stored = Certificate(1, 2, "kept");
  CertificateRecord someone_elses = Certificate(1, 3, "");
  someone_elses.key_owner_id = 8;
  CertificateRecord expired = Certificate(1, 4, "", /*valid_before_s=*/50);
  CertificateRecord other_project = Certificate(2, 1, "");
  for (const CertificateRecord& c : {login, stored, someone_elses, expired, other_project}) {
    ASSERT_TRUE(store().RecordCertificate(c, {}).ok());
  }
  EXPECT_TRUE(store().RevocationsOf(1, 60)->serials.empty());
  ASSERT_TRUE(store().SetUserDisabled(7, true, 100, {}).ok());
  EXPECT_THAT(store().RevocationsOf(1, 60)->serials, ElementsAre(1, 2));
  EXPECT_THAT(store().RevocationsOf(2, 60)->serials, ElementsAre(1));
  ASSERT_TRUE(store().SetUserDisabled(7, false, 200, {}).ok());
  EXPECT_TRUE(store().RevocationsOf(1, 60)->serials.empty());
  EXPECT_TRUE(store().RevocationsOf(2, 60)->serials.empty());
}

// --- snapshots and asynchronous writes --------------------------------------------------

// ---- the audit trail

EventRecord Event(std::string id, std::string action, int64_t time_us, int64_t project = 1,
                  std::string resource = "r") {
  EventRecord e;
  e.id = std::move(id);
  e.time_us = time_us;
  e.action = std::move(action);
  e.project_id = project;
  e.actor_user_id = 7;
  e.actor_token_id = "0123456789abcdef";
  e.via = "token";
  e.source_ip = "192.0.2.1";
  e.user_agent = "curl/7.88.1 \"quoted\" \xc3\xa9";
  e.resource_type = "ssh_key";
  e.resource_id = std::move(resource);
  e.resource_name = "name";
  e.details = R"({"a":[1,"b"]})";
  return e;
}

std::vector<std::string> EventIds(const StatusOr<EventPage>& page) {
  std::vector<std::string> ids;
  if (!page.ok()) {
    ADD_FAILURE() << page.status().message();
    return ids;
  }
  for (const EventRecord& e : page->events) ids.push_back(e.id);
  return ids;
}

TEST_P(KeyStoreContractTest, EveryChangeRecordsItsEventAndAFailedOneNone) {
  ASSERT_TRUE(store().InsertKey(Key("k1", 1, "one"), Event("e1", "key.create", 10)).ok());
  // Failures leave no event: a taken name, a stale revision, a missing key or token.
  EXPECT_EQ(store().InsertKey(Key("k2", 1, "one"), Event("x1", "key.create", 11)).code(),
            StatusCode::kAlreadyExists);
  KeyUpdate rename;
  rename.name = "uno";
  rename.updated_at_us = 12;
  EXPECT_EQ(store().UpdateKey("k1", rename, 5, Event("x2", "key.update", 12)).status().code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store().UpdateKey("k1", rename, 1, Event("e2", "key.update", 13)).ok());
  EXPECT_EQ(store().DeleteKey("nope", std::nullopt, Event("x3", "key.delete", 14)).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store().RevokeToken("nope", 15, Event("x4", "token.revoke", 15, 0)).code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(store().InsertToken(Token("t1", 16), Event("e3", "token.create", 16, 0)).ok());
  EXPECT_EQ(store().InsertToken(Token("t1", 17), Event("x5", "token.create", 17, 0)).code(),
            StatusCode::kAlreadyExists);
  // Revocations are events the first time only.
  ASSERT_TRUE(store().RevokeToken("t1", 18, Event("e4", "token.revoke", 18, 0)).ok());
  ASSERT_TRUE(store().RevokeToken("t1", 19, Event("x6", "token.revoke", 19, 0)).ok());
  // The CA: only the call that makes it records its event.
  ASSERT_TRUE(store().GetOrCreateCa(Ca(1, "s"), Event("e5", "ca.create", 20)).ok());
  ASSERT_TRUE(store().GetOrCreateCa(Ca(1, "t"), Event("x7", "ca.create", 21)).ok());
  ASSERT_TRUE(store().RecordCertificate(Certificate(1, 1, "k1"), Event("e6", "c.i", 22)).ok());
  EXPECT_EQ(store().RecordCertificate(Certificate(1, 1, "k1"), Event("x8", "c.i", 23)).code(),
            StatusCode::kAlreadyExists);
  ASSERT_TRUE(store().RevokeCertificate(1, 1, 24, Event("e7", "c.r", 24)).ok());
  ASSERT_TRUE(store().RevokeCertificate(1, 1, 25, Event("x9", "c.r", 25)).ok());
  EXPECT_EQ(store().RevokeCertificate(1, 9, 26, Event("xa", "c.r", 26)).code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(store().DeleteKey("k1", 2, Event("e8", "key.delete", 27)).ok());
  // An empty action: the change without an event.
  ASSERT_TRUE(store().InsertKey(Key("k3", 1, "three"), {}).ok());

  EventQuery all;
  all.ascending = true;
  EXPECT_THAT(EventIds(store().ListEvents(all)),
              ElementsAre("e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8"));
  // Stored as given, byte for byte.
  all.resource_ids = {"r"};
  auto page = store().ListEvents(all);
  ASSERT_TRUE(page.ok()) << page.status().message();
  ASSERT_FALSE(page->events.empty());
  EXPECT_EQ(page->events.front(), Event("e1", "key.create", 10));
}

TEST_P(KeyStoreContractTest, AsyncInsertRecordsItsEventWithTheKey) {
  std::latch done(2);
  Status first, second;
  store().InsertKeyAsync(Key("k1", 1, "one"), Event("e1", "key.create", 10), [&](Status s) {
    first = std::move(s);
    done.count_down();
  });
  store().InsertKeyAsync(Key("k2", 1, "one"), Event("x1", "key.create", 11), [&](Status s) {
    second = std::move(s);
    done.count_down();
  });
  done.wait();
  EXPECT_TRUE(first.ok()) << first.message();
  EXPECT_EQ(second.code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(EventIds(store().ListEvents({})), ElementsAre("e1"));
}

TEST_P(KeyStoreContractTest, EventsPageNewestFirstAndFilter) {
  // Same times with different ids: the id breaks the tie, in the page's direction.
  const std::vector<EventRecord> events = {
      Event("a", "key.create", 100, 1, "k1"), Event("b", "key.delete", 100, 2, "k2"),
      Event("c", "key.update", 200, 1, "k1"), Event("d", "token.create", 300, 0, "t1"),
      Event("e", "key.create", 400, 2, "k3"), Event("f", "key.create", 400, 1, "k4")};
  int n = 0;
  for (const EventRecord& e : events) {
    ASSERT_TRUE(store().InsertKey(Key("key-" + e.id, 9, "n" + std::to_string(n++)), e).ok());
  }
  EXPECT_THAT(EventIds(store().ListEvents({})), ElementsAre("f", "e", "d", "c", "b", "a"));

  // Keyset pages of 2, newest first, then oldest first.
  for (bool ascending : {false, true}) {
    std::vector<std::string> walked;
    EventQuery q;
    q.ascending = ascending;
    q.limit = 2;
    for (int pages = 0; pages < 10; ++pages) {
      auto page = store().ListEvents(q);
      ASSERT_TRUE(page.ok()) << page.status().message();
      for (const EventRecord& e : page->events) walked.push_back(e.id);
      if (page->events.size() < 2) break;
      q.after = EventCursor{page->events.back().time_us, page->events.back().id};
    }
    EXPECT_THAT(walked, ascending ? ElementsAre("a", "b", "c", "d", "e", "f")
                                  : ElementsAre("f", "e", "d", "c", "b", "a"));
  }

  EventQuery q;
  q.project_ids = std::vector<int64_t>{1};
  EXPECT_THAT(EventIds(store().ListEvents(q)), ElementsAre("f", "c", "a"));
  q.project_ids = std::vector<int64_t>{};
  EXPECT_THAT(EventIds(store().ListEvents(q)), IsEmpty());
  q.project_ids = std::vector<int64_t>{0, 2};
  EXPECT_THAT(EventIds(store().ListEvents(q)), ElementsAre("e", "d", "b"));
  q = {};
  q.actions = {"key.create", "token.create"};
  q.since_us = 100;
  q.until_us = 400;  // exclusive
  EXPECT_THAT(EventIds(store().ListEvents(q)), ElementsAre("d", "a"));
  q = {};
  q.resource_ids = {"k1"};
  EXPECT_THAT(EventIds(store().ListEvents(q)), ElementsAre("c", "a"));
  q = {};
  q.resource_types = {"token"};
  EXPECT_THAT(EventIds(store().ListEvents(q)), IsEmpty());
  q.resource_types = {"token", "ssh_key"};
  q.resource_name = "name";
  q.source_ips = {"192.0.2.9", "192.0.2.1"};
  q.user_agents = {"curl/7.88.1 \"quoted\" \xc3\xa9"};
  EXPECT_THAT(EventIds(store().ListEvents(q)), ElementsAre("f", "e", "d", "c", "b", "a"));
  q.resource_name = "other";
  EXPECT_THAT(EventIds(store().ListEvents(q)), IsEmpty());
  q = {};
  q.user_agents = {"curl/7.88.1"};
  EXPECT_THAT(EventIds(store().ListEvents(q)), IsEmpty());
  q = {};
  q.actor_user_id = 8;
  EXPECT_THAT(EventIds(store().ListEvents(q)), IsEmpty());
  q.actor_user_id = 7;
  q.offset = 4;
  q.with_total = true;
  auto page = store().ListEvents(q);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 6);
  EXPECT_THAT(EventIds(page), ElementsAre("b", "a"));
  q.offset = -1;
  EXPECT_EQ(store().ListEvents(q).status().code(), StatusCode::kInvalidArgument);
  q.offset = 0;
  q.limit = -1;
  EXPECT_EQ(store().ListEvents(q).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(KeyStoreContractTest, AnEventAloneIsRecordedAndOneWithoutActionRefused) {
  EventRecord refused;
  refused.id = "e1";
  refused.time_us = 100;
  refused.action = "user.sign_in_refused";
  refused.via = "session";
  refused.resource_type = "user";
  refused.details = R"({"reason":"user disabled"})";
  ASSERT_TRUE(store().RecordEvent(refused).ok());
  EXPECT_THAT(EventIds(store().ListEvents({})), ElementsAre("e1"));
  EXPECT_EQ(store().RecordEvent(EventRecord{}).code(), StatusCode::kInvalidArgument);
}

TEST_P(KeyStoreContractTest, PruningTakesTheOldestEventsInSmallBatches) {
  int n = 0;
  for (int64_t t : {50, 10, 30, 20, 40, 10}) {
    const std::string id = "e" + std::to_string(n++);
    ASSERT_TRUE(store().InsertKey(Key("k" + id, 1, "n" + id), Event(id, "key.create", t)).ok());
  }
  // Older than 40: e1 and e5 (10), e3 (20), e2 (30); two at a time, oldest first.
  auto pruned = store().PruneEvents(40, 2);
  ASSERT_TRUE(pruned.ok()) << pruned.status().message();
  EXPECT_EQ(*pruned, 2);
  EXPECT_THAT(EventIds(store().ListEvents({})), ElementsAre("e0", "e4", "e2", "e3"));
  EXPECT_EQ(store().PruneEvents(40, 2).value(), 2);
  EXPECT_EQ(store().PruneEvents(40, 2).value(), 0);
  EXPECT_THAT(EventIds(store().ListEvents({})), ElementsAre("e0", "e4"));
  EXPECT_EQ(store().PruneEvents(40, 0).status().code(), StatusCode::kInvalidArgument);
  // The keys are not the events: all six are still there.
  ListQuery q;
  q.project_id = 1;
  EXPECT_EQ(store().ListKeys(q)->total, 6);
}

TEST_P(KeyStoreContractTest, ASnapshotReadsWhatTheStoreHolds) {
  ASSERT_TRUE(store().InsertKey(Key("id-1", 1, "alpha", 10), {}).ok());
  const TokenRecord token = Token("0123456789abcdef", 5);
  ASSERT_TRUE(store().InsertToken(token, {}).ok());

  std::unique_ptr<KeyReader> snapshot = store().Snapshot();
  auto by_id = snapshot->GetKey("id-1");
  ASSERT_TRUE(by_id.ok()) << by_id.status().message();
  EXPECT_EQ(by_id->name, "alpha");
  auto by_name = snapshot->GetKeyByName(1, "alpha");
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(by_name->id, "id-1");
  EXPECT_EQ(snapshot->GetKey("id-2").status().code(), StatusCode::kNotFound);
  auto page = snapshot->ListKeys({});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 1);
  auto got = snapshot->GetToken(token.id);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, token);
}

TEST_P(KeyStoreContractTest, AsyncInsertReportsWhatInsertWould) {
  std::vector<Status> results(3);
  std::latch done(3);
  auto record = [&](int i) {
    return [&, i](Status s) {
      results[i] = std::move(s);
      done.count_down();
    };
  };
  store().InsertKeyAsync(Key("id-1", 1, "alpha", 10), {}, record(0));
  store().InsertKeyAsync(Key("id-2", 1, "alpha", 11), {}, record(1));  // the name is taken
  store().InsertKeyAsync(Key("id-1", 2, "beta", 12), {}, record(2));   // the id is taken
  done.wait();
  EXPECT_TRUE(results[0].ok()) << results[0].message();
  EXPECT_EQ(results[1].code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(results[2].code(), StatusCode::kAlreadyExists);
  auto got = store().GetKey("id-1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->name, "alpha");
}

// --- users and grants -----------------------------------------------------------------------

UserRecord Claims(std::string issuer, std::string subject, std::string email = "a@example.com",
                  std::vector<std::string> groups = {"staff"}) {
  UserRecord claims;
  claims.issuer = std::move(issuer);
  claims.subject = std::move(subject);
  claims.email = std::move(email);
  claims.name = "Ada Lovelace";
  claims.groups = std::move(groups);
  return claims;
}

GrantRecord Grant(std::string id, int64_t created, std::string group = "staff") {
  GrantRecord grant;
  grant.id = std::move(id);
  grant.group = std::move(group);
  grant.projects = {1, 5};
  grant.role = "editor";
  grant.principals = {"deploy", "root"};
  grant.created_at_us = created;
  return grant;
}

std::vector<int64_t> UserIds(const StatusOr<std::vector<UserRecord>>& users) {
  std::vector<int64_t> ids;
  if (!users.ok()) {
    ADD_FAILURE() << users.status().message();
    return ids;
  }
  for (const UserRecord& u : *users) ids.push_back(u.id);
  return ids;
}

TEST_P(KeyStoreContractTest, SignInMakesAPersonAndFindsItAgainByIssuerAndSubject) {
  const std::string issuer = "https://idp.example.com";
  auto made = store().SignIn(
      Claims(issuer, "sub-1", "ada@example.com", {"admins", "", "cn=ops,ou=groups", "a\\b"}), 100,
      {});
  ASSERT_TRUE(made.ok()) << made.status().message();
  UserRecord expected = Claims(issuer, "sub-1", "ada@example.com",
                               {"admins", "cn=ops,ou=groups", "a\\b"});  // "" is not kept
  expected.id = 1;
  expected.created_at_us = 100;
  expected.last_sign_in_at_us = 100;
  EXPECT_EQ(*made, expected);
  auto got = store().GetUser(1);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, expected);

  // Found again by (issuer, subject), not by email; what the provider says now is kept.
  UserRecord changed = Claims(issuer, "sub-1", "lovelace@example.com", {});
  changed.name = "Ada King";
  auto again = store().SignIn(changed, 200, {});
  ASSERT_TRUE(again.ok()) << again.status().message();
  changed.id = 1;
  changed.created_at_us = 100;
  changed.last_sign_in_at_us = 200;
  EXPECT_EQ(*again, changed);
  EXPECT_EQ(*store().GetUser(1), changed);

  // The same subject at another provider, and the same email elsewhere: other people.
  auto other = store().SignIn(Claims("https://other.example.com", "sub-1"), 300, {});
  ASSERT_TRUE(other.ok()) << other.status().message();
  EXPECT_EQ(other->id, 2);
  auto same_email = store().SignIn(Claims(issuer, "sub-2", "lovelace@example.com"), 400, {});
  ASSERT_TRUE(same_email.ok());
  EXPECT_EQ(same_email->id, 3);
  EXPECT_THAT(UserIds(store().ListUsers()), ElementsAre(1, 2, 3));

  EXPECT_EQ(store().SignIn(Claims("", "sub-1"), 500, {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store().SignIn(Claims(issuer, ""), 500, {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store().GetUser(4).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store().Snapshot()->GetUser(2)->subject, "sub-1");
}

TEST_P(KeyStoreContractTest, PeopleNeverTakeATokenUsersId) {
  EXPECT_THAT(UserIds(store().ListUsers()), IsEmpty());
  ASSERT_TRUE(store().EnsureUser(5, 50, {}).ok());
  ASSERT_TRUE(store().EnsureUser(5, 60, {}).ok());  // there already: unchanged
  EXPECT_EQ(store().EnsureUser(0, 60, {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store().EnsureUser(-3, 60, {}).code(), StatusCode::kInvalidArgument);
  UserRecord token_user;
  token_user.id = 5;
  token_user.created_at_us = 50;
  auto got = store().GetUser(5);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, token_user);

  auto person = store().SignIn(Claims("https://idp.example.com", "sub-1"), 100, {});
  ASSERT_TRUE(person.ok()) << person.status().message();
  EXPECT_EQ(person->id, 6);
  // A token for a person's id is that person's: EnsureUser leaves the person as it is.
  ASSERT_TRUE(store().EnsureUser(6, 200, {}).ok());
  EXPECT_EQ(*store().GetUser(6), *person);
  ASSERT_TRUE(store().EnsureUser(2, 300, {}).ok());  // below the people: a token user still
  // A token's user is a token user too, whoever wrote the token.
  TokenRecord token = Token("0123456789abcdef", 350);
  token.user_id = 8;
  ASSERT_TRUE(store().InsertToken(token, {}).ok());
  token.id = "1123456789abcdef";
  token.user_id = 6;  // a person's
  ASSERT_TRUE(store().InsertToken(token, {}).ok());
  EXPECT_EQ(*store().GetUser(6), *person);
  UserRecord eight;
  eight.id = 8;
  eight.created_at_us = 350;
  EXPECT_EQ(*store().GetUser(8), eight);
  EXPECT_EQ(store().SignIn(Claims("https://idp.example.com", "sub-2"), 400, {})->id, 9);
  EXPECT_THAT(UserIds(store().ListUsers()), ElementsAre(2, 5, 6, 8, 9));
}

TEST_P(KeyStoreContractTest, ConcurrentSignInsOfDistinctPeopleGetDistinctIds) {
  ASSERT_TRUE(store().EnsureUser(3, 1, {}).ok());
  constexpr int kThreads = 8;
  constexpr int kEach = 10;
  std::atomic<int> failures{0};
  const std::vector<int64_t> ids =
      testing::SignInConcurrently({&store()}, kThreads, kEach, &failures);
  EXPECT_EQ(failures.load(), 0);
  const std::set<int64_t> distinct(ids.begin(), ids.end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_FALSE(distinct.contains(3));
  EXPECT_EQ(UserIds(store().ListUsers()).size(), static_cast<size_t>(kThreads * kEach + 1));
}

// ---- host join tokens

JoinTokenRecord JoinToken(std::string id, int64_t project, int64_t uses, int64_t expires_at_us,
                          int64_t created_at_us = 10) {
  JoinTokenRecord t;
  t.id = std::move(id);
  t.project_id = project;
  t.secret_hash = std::string(31, 's') + t.id.back();
  t.hostnames = {"web-1.example.com", "*.db.example.com"};
  t.uses = uses;
  t.uses_left = uses;
  t.expires_at_us = expires_at_us;
  t.created_at_us = created_at_us;
  t.created_by = "0123456789abcdef";
  return t;
}

TEST_P(KeyStoreContractTest, JoinTokensAreKeptListedPerProjectAndDeleted) {
  const JoinTokenRecord a = JoinToken("aaaaaaaaaaaaaaa1", 1, 2, 1000, 10);
  const JoinTokenRecord b = JoinToken("aaaaaaaaaaaaaaa2", 1, 1, 1000, 20);
  const JoinTokenRecord other = JoinToken("aaaaaaaaaaaaaaa3", 2, 1, 1000, 5);
  for (const JoinTokenRecord& t : {b, a, other}) {
    ASSERT_TRUE(store().InsertJoinToken(t, Event("e" + t.id, "host_join_token.create", 1)).ok());
  }
  EXPECT_EQ(store().InsertJoinToken(a, {}).code(), StatusCode::kAlreadyExists);
  JoinTokenRecord bad = JoinToken("aaaaaaaaaaaaaaa4", 1, 1, 1000);
  bad.hostnames = {"a,b"};
  EXPECT_EQ(store().InsertJoinToken(bad, {}).code(), StatusCode::kInvalidArgument);
  bad = JoinToken("aaaaaaaaaaaaaaa4", 1, 1, 1000);
  bad.uses_left = 2;
  EXPECT_EQ(store().InsertJoinToken(bad, {}).code(), StatusCode::kInvalidArgument);

  auto listed = store().ListJoinTokens(1);
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  EXPECT_THAT(*listed, ElementsAre(a, b));  // oldest first, read back as written
  EXPECT_THAT(*store().ListJoinTokens(2), ElementsAre(other));
  // One by its id, any project's (the caller checks the project).
  EXPECT_EQ(*store().GetJoinToken(a.id), a);
  EXPECT_EQ(*store().GetJoinToken(other.id), other);
  EXPECT_EQ(store().GetJoinToken("aaaaaaaaaaaaaaa9").status().code(), StatusCode::kNotFound);

  // Another project's token is not found through this one.
  EXPECT_EQ(store().DeleteJoinToken(1, other.id, {}).code(), StatusCode::kNotFound);
  ASSERT_TRUE(store().DeleteJoinToken(1, a.id, Event("d1", "host_join_token.delete", 2)).ok());
  EXPECT_EQ(store().DeleteJoinToken(1, a.id, {}).code(), StatusCode::kNotFound);
  EXPECT_EQ(store().GetJoinToken(a.id).status().code(), StatusCode::kNotFound);
  EXPECT_THAT(*store().ListJoinTokens(1), ElementsAre(b));
  EventQuery q;
  q.actions = {"host_join_token.create", "host_join_token.delete"};
  EXPECT_EQ(store().ListEvents(q)->events.size(), 4u);
}

// ---- hosts

HostRecord Host(std::string id, int64_t project, int64_t enrolled_at_us = 100) {
  HostRecord h;
  h.id = std::move(id);
  h.project_id = project;
  h.token_hash = std::string(31, 't') + h.id.back();
  h.hostnames = {"web-1.example.com", "web-1"};
  h.public_keys = {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA" + h.id,
                   "ecdsa-sha2-nistp256 AAAAE2VjZHNh" + h.id};
  h.enrolled_at_us = enrolled_at_us;
  h.renewed_at_us = enrolled_at_us;
  h.valid_before_s = 5000;
  h.join_token_id = "bbbbbbbbbbbbbbb1";
  return h;
}

HostCertificateRecord HostCertificate(const HostRecord& host, int64_t serial,
                                      int64_t valid_before_s = 5000) {
  HostCertificateRecord c;
  c.project_id = host.project_id;
  c.serial = serial;
  c.host_id = host.id;
  c.key_sha256 = std::string(31, 'k') + static_cast<char>('0' + serial % 10);
  c.principals = host.hostnames;
  c.valid_after_s = 10;
  c.valid_before_s = valid_before_s;
  c.issued_at_us = host.renewed_at_us;
  return c;
}

TEST_P(KeyStoreContractTest, AHostEnrolsOnlyWithAJoinTokensSecretUntilItsUsesOrTimeRunOut) {
  const JoinTokenRecord t = JoinToken("bbbbbbbbbbbbbbb1", 1, 2, /*expires_at_us=*/1000);
  ASSERT_TRUE(store().InsertJoinToken(t, {}).ok());
  const HostRecord h1 = Host("a000000000000001", 1);
  const std::vector<HostCertificateRecord> c1 = {HostCertificate(h1, 1), HostCertificate(h1, 2)};
  auto enroll = [&](std::string_view id, std::string_view hash, int64_t now_us,
                    const HostRecord& h, const std::vector<HostCertificateRecord>& c) {
    return store().EnrollHost(id, hash, now_us, h, c, Event("en" + h.id, "host.enroll", 1));
  };
  EXPECT_EQ(enroll(t.id, std::string(32, 'x'), 100, h1, c1).code(),
            StatusCode::kNotFound);  // another secret
  EXPECT_EQ(enroll("bbbbbbbbbbbbbbb9", t.secret_hash, 100, h1, c1).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(enroll(t.id, t.secret_hash, 1000, h1, c1).code(),
            StatusCode::kNotFound);  // expired: at its expiry already
  HostRecord elsewhere = Host("a000000000000009", 2);
  EXPECT_EQ(enroll(t.id, t.secret_hash, 100, elsewhere, {}).code(),
            StatusCode::kNotFound);  // another project's host
  HostRecord bad = Host("a000000000000008", 1);
  bad.public_keys.clear();
  EXPECT_EQ(enroll(t.id, t.secret_hash, 100, bad, {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store().ListJoinTokens(1)->at(0).uses_left, 2);  // nothing spent so far
  EXPECT_EQ(store().GetHost(h1.id).status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(enroll(t.id, t.secret_hash, 100, h1, c1).ok());
  EXPECT_EQ(store().ListJoinTokens(1)->at(0).uses_left, 1);
  auto got = store().GetHost(h1.id);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, h1);  // read back as written
  // The same host id, or a serial already recorded: nothing stored, no use spent.
  EXPECT_EQ(enroll(t.id, t.secret_hash, 200, h1, {}).code(), StatusCode::kAlreadyExists);
  const HostRecord h2 = Host("a000000000000002", 1, 200);
  EXPECT_EQ(enroll(t.id, t.secret_hash, 200, h2, {HostCertificate(h2, 2)}).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(store().GetHost(h2.id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store().ListJoinTokens(1)->at(0).uses_left, 1);
  ASSERT_TRUE(enroll(t.id, t.secret_hash, 200, h2, {HostCertificate(h2, 3)}).ok());
  EXPECT_EQ(enroll(t.id, t.secret_hash, 300, Host("a000000000000003", 1), {}).code(),
            StatusCode::kNotFound);  // used up
  EXPECT_EQ(store().ListJoinTokens(1)->at(0).uses_left, 0);  // still listed
  EXPECT_THAT(*store().ListHosts(1), ElementsAre(h1, h2));  // oldest first
  EXPECT_THAT(*store().ListHosts(2), IsEmpty());
  EventQuery q;
  q.actions = {"host.enroll"};
  EXPECT_EQ(store().ListEvents(q)->events.size(), 2u);
}

TEST_P(KeyStoreContractTest, ConcurrentEnrolmentsNeverOverspendAJoinToken) {
  constexpr int kThreads = 8;
  const JoinTokenRecord t = JoinToken("ccccccccccccccc1", 1, 3, 1000);
  ASSERT_TRUE(store().InsertJoinToken(t, {}).ok());
  std::latch start(kThreads);
  std::atomic<int> spent = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      const HostRecord h = Host("c00000000000000" + std::to_string(i), 1);
      start.arrive_and_wait();
      if (store().EnrollHost(t.id, t.secret_hash, 100, h, {HostCertificate(h, i + 1)}, {}).ok()) {
        ++spent;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(spent, 3);
  EXPECT_EQ(store().ListJoinTokens(1)->at(0).uses_left, 0);
  EXPECT_EQ(store().ListHosts(1)->size(), 3u);
}

TEST_P(KeyStoreContractTest, ARenewalKeepsTheHostAndAddsItsCertificates) {
  const JoinTokenRecord t = JoinToken("bbbbbbbbbbbbbbb1", 1, 1, 1000);
  ASSERT_TRUE(store().InsertJoinToken(t, {}).ok());
  const HostRecord h = Host("d000000000000001", 1);
  ASSERT_TRUE(store().EnrollHost(t.id, t.secret_hash, 100, h, {HostCertificate(h, 1)}, {}).ok());
  HostRecord renewed = h;
  renewed.public_keys = {"ssh-ed25519 AAAAnew"};
  renewed.renewed_at_us = 900;
  renewed.valid_before_s = 9000;
  renewed.hostnames = {"ignored.example.com"};  // a renewal changes keys and times only
  ASSERT_TRUE(
      store().RenewHost(renewed, {HostCertificate(renewed, 2, 9000)}, Event("r1", "host.renew", 1))
          .ok());
  HostRecord expected = h;
  expected.public_keys = renewed.public_keys;
  expected.renewed_at_us = 900;
  expected.valid_before_s = 9000;
  EXPECT_EQ(*store().GetHost(h.id), expected);
  // A serial taken: nothing changes.
  HostRecord again = renewed;
  again.renewed_at_us = 950;
  EXPECT_EQ(store().RenewHost(again, {HostCertificate(again, 2)}, {}).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(store().GetHost(h.id)->renewed_at_us, 900);
  EXPECT_EQ(store().RenewHost(Host("d000000000000009", 1), {}, {}).code(), StatusCode::kNotFound);
}

TEST_P(KeyStoreContractTest, ADeletedHostsCertificatesAreRevokedUntilTheyExpire) {
  const JoinTokenRecord t = JoinToken("bbbbbbbbbbbbbbb1", 1, 2, 1000);
  ASSERT_TRUE(store().InsertJoinToken(t, {}).ok());
  const HostRecord gone = Host("e000000000000001", 1);
  const HostRecord kept = Host("e000000000000002", 1);
  ASSERT_TRUE(store()
                  .EnrollHost(t.id, t.secret_hash, 100, gone,
                              {HostCertificate(gone, 1, 50), HostCertificate(gone, 2, 5000)}, {})
                  .ok());
  ASSERT_TRUE(
      store().EnrollHost(t.id, t.secret_hash, 100, kept, {HostCertificate(kept, 3)}, {}).ok());
  EXPECT_THAT(store().RevocationsOf(1, 60)->host_serials, IsEmpty());
  // Deleted only through its own project.
  EXPECT_EQ(store().DeleteHost(2, gone.id, 500, {}).code(), StatusCode::kNotFound);
  ASSERT_TRUE(store().DeleteHost(1, gone.id, 500, Event("hd", "host.delete", 1)).ok());
  EXPECT_EQ(store().DeleteHost(1, gone.id, 500, {}).code(), StatusCode::kNotFound);
  EXPECT_EQ(store().GetHost(gone.id).status().code(), StatusCode::kNotFound);
  EXPECT_THAT(*store().ListHosts(1), ElementsAre(kept));
  // Serial 1 expired at 50: only 2 is listed, and neither in the user CA's list.
  auto revoked = store().RevocationsOf(1, 60);
  ASSERT_TRUE(revoked.ok()) << revoked.status().message();
  EXPECT_THAT(revoked->host_serials, ElementsAre(2));
  EXPECT_THAT(revoked->serials, IsEmpty());
  EXPECT_THAT(store().RevocationsOf(1, 6000)->host_serials, IsEmpty());
  EXPECT_THAT(store().RevocationsOf(2, 60)->host_serials, IsEmpty());
}

TEST_P(KeyStoreContractTest, AProjectsHostCaIsAnotherCaWithItsOwnSerials) {
  CaRecord host = Ca(1, "host-seed");
  host.kind = CaKind::kHost;
  EXPECT_EQ(store().NextSerial(1, CaKind::kHost).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store().GetOrCreateCa(Ca(1, "user-seed"), {}).ok());
  EXPECT_EQ(store().GetCa(1, CaKind::kHost).status().code(), StatusCode::kNotFound);
  auto made = store().GetOrCreateCa(host, {});
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_EQ(*made, host);
  EXPECT_EQ(*store().GetCa(1, CaKind::kHost), host);
  EXPECT_EQ(store().GetCa(1, CaKind::kUser)->sealed_seed, "user-seed");
  EXPECT_EQ(*store().NextSerial(1, CaKind::kUser), 1);
  EXPECT_EQ(*store().NextSerial(1, CaKind::kHost), 1);
  EXPECT_EQ(*store().NextSerial(1, CaKind::kHost), 2);
  EXPECT_EQ(*store().NextSerial(1, CaKind::kUser), 2);
}

// ---- CA rotation

CaRecord NextCaKey(int64_t project, CaKind kind, std::string name, int64_t at_us) {
  return CaRecord{.project_id = project,
                  .kind = kind,
                  .public_key = "ssh-ed25519 AAAA " + name,
                  .sealed_seed = "seed-" + name,
                  .created_at_us = at_us,
                  .generation = 0};  // the store gives it the next
}

TEST_P(KeyStoreContractTest, ARotationKeepsTheOldKeyWithoutItsSeedAndSerialsGoOn) {
  EXPECT_EQ(store().RotateCa(NextCaKey(1, CaKind::kUser, "two", 900), {}).status().code(),
            StatusCode::kNotFound);
  EXPECT_THAT(*store().CaKeysOf(1, CaKind::kUser), IsEmpty());
  ASSERT_TRUE(store().GetOrCreateCa(Ca(1, "seed-one"), {}).ok());
  EXPECT_EQ(store().GetCa(1, CaKind::kUser)->generation, 1);
  EXPECT_EQ(*store().NextSerial(1, CaKind::kUser), 1);
  EXPECT_EQ(*store().NextSerial(1, CaKind::kUser), 2);
  ASSERT_TRUE(store().RecordCertificate(Certificate(1, 1, "", /*valid_before_s=*/500), {}).ok());
  ASSERT_TRUE(store().RecordCertificate(Certificate(1, 2, "", /*valid_before_s=*/800), {}).ok());

  auto rotated = store().RotateCa(NextCaKey(1, CaKind::kUser, "two", 900),
                                  Event("rot", "ca.rotate", 900));
  ASSERT_TRUE(rotated.ok()) << rotated.status().message();
  EXPECT_EQ(rotated->generation, 2);
  EXPECT_EQ(rotated->public_key, "ssh-ed25519 AAAA two");
  EXPECT_EQ(rotated->sealed_seed, "seed-two");
  EXPECT_EQ(rotated->created_at_us, 900);
  EXPECT_EQ(*store().GetCa(1, CaKind::kUser), *rotated);
  EXPECT_EQ(*store().NextSerial(1, CaKind::kUser), 3);  // serials go on across keys
  CertificateRecord third = Certificate(1, 3, "", /*valid_before_s=*/2000);
  third.ca_generation = 2;
  ASSERT_TRUE(store().RecordCertificate(third, {}).ok());
  EXPECT_EQ(store().GetCertificate(1, 3)->ca_generation, 2);

  auto keys = store().CaKeysOf(1, CaKind::kUser);
  ASSERT_TRUE(keys.ok()) << keys.status().message();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0], (CaKeyRecord{.project_id = 1,
                                     .kind = CaKind::kUser,
                                     .generation = 2,
                                     .public_key = "ssh-ed25519 AAAA two",
                                     .created_at_us = 900,
                                     .rotated_at_us = 0,
                                     .signed_until_s = 0,
                                     .deleted_at_us = std::nullopt}));
  // The old key: no seed kept, trusted until its last certificate (800) expires.
  EXPECT_EQ((*keys)[1], (CaKeyRecord{.project_id = 1,
                                     .kind = CaKind::kUser,
                                     .generation = 1,
                                     .public_key = "ssh-ed25519 AAAA ca-1",
                                     .created_at_us = 5,
                                     .rotated_at_us = 900,
                                     .signed_until_s = 800,
                                     .deleted_at_us = std::nullopt}));
  // Another kind and another project are other CAs.
  EXPECT_THAT(*store().CaKeysOf(1, CaKind::kHost), IsEmpty());
  EXPECT_THAT(*store().CaKeysOf(2, CaKind::kUser), IsEmpty());

  ASSERT_TRUE(store().RotateCa(NextCaKey(1, CaKind::kUser, "three", 950), {}).ok());
  keys = store().CaKeysOf(1, CaKind::kUser);
  ASSERT_EQ(keys->size(), 3u);
  EXPECT_EQ((*keys)[0].generation, 3);
  EXPECT_EQ((*keys)[1].generation, 2);
  EXPECT_EQ((*keys)[1].signed_until_s, 2000);
  EXPECT_EQ((*keys)[1].rotated_at_us, 950);
  EXPECT_EQ((*keys)[2].generation, 1);
  EXPECT_THAT(EventIds(store().ListEvents({})), ElementsAre("rot"));
}

TEST_P(KeyStoreContractTest, RevocationsSayWhichKeyAndDeletingAnOldKeyRevokesItsCertificates) {
  ASSERT_TRUE(store().GetOrCreateCa(Ca(1, "seed-one"), {}).ok());
  for (int64_t serial : {1, 2}) {
    ASSERT_TRUE(store().RecordCertificate(Certificate(1, serial, ""), {}).ok());
  }
  ASSERT_TRUE(store().RotateCa(NextCaKey(1, CaKind::kUser, "two", 900), {}).ok());
  CertificateRecord third = Certificate(1, 3, "");
  third.ca_generation = 2;
  ASSERT_TRUE(store().RecordCertificate(third, {}).ok());
  ASSERT_TRUE(store().RevokeCertificate(1, 2, 100, {}).ok());
  ASSERT_TRUE(store().RevokeCertificate(1, 3, 100, {}).ok());
  auto revoked = store().RevocationsOf(1, 60);
  ASSERT_TRUE(revoked.ok()) << revoked.status().message();
  EXPECT_THAT(revoked->serials, ElementsAre(2, 3));
  EXPECT_THAT(revoked->serial_generations, ElementsAre(1, 2));

  EXPECT_EQ(store().DeleteCaKey(1, CaKind::kUser, 2, 950, {}).code(),
            StatusCode::kFailedPrecondition);  // the signing key
  EXPECT_EQ(store().DeleteCaKey(1, CaKind::kUser, 7, 950, {}).code(), StatusCode::kNotFound);
  EXPECT_EQ(store().DeleteCaKey(1, CaKind::kHost, 1, 950, {}).code(), StatusCode::kNotFound);
  ASSERT_TRUE(
      store().DeleteCaKey(1, CaKind::kUser, 1, 950, Event("del", "ca.key_delete", 950)).ok());
  EXPECT_EQ(store().DeleteCaKey(1, CaKind::kUser, 1, 960, {}).code(), StatusCode::kNotFound);
  // Its certificates are revoked (an earlier revocation keeps its time); the new key's not.
  EXPECT_EQ(store().GetCertificate(1, 1)->revoked_at_us, 950);
  EXPECT_EQ(store().GetCertificate(1, 2)->revoked_at_us, 100);
  EXPECT_EQ(store().GetCertificate(1, 3)->revoked_at_us, 100);
  revoked = store().RevocationsOf(1, 60);
  EXPECT_THAT(revoked->serials, ElementsAre(1, 2, 3));
  EXPECT_THAT(revoked->serial_generations, ElementsAre(1, 1, 2));
  auto keys = store().CaKeysOf(1, CaKind::kUser);
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[1].deleted_at_us, 950);
  EXPECT_THAT(EventIds(store().ListEvents({})), ElementsAre("del"));
}

TEST_P(KeyStoreContractTest, AHostCaRotatesOnItsOwnAndItsCertificatesSayWhichKey) {
  const JoinTokenRecord t = JoinToken("bbbbbbbbbbbbbbb1", 1, 2, 1000);
  ASSERT_TRUE(store().InsertJoinToken(t, {}).ok());
  CaRecord host = Ca(1, "host-seed");
  host.kind = CaKind::kHost;
  ASSERT_TRUE(store().GetOrCreateCa(Ca(1, "user-seed"), {}).ok());
  ASSERT_TRUE(store().GetOrCreateCa(host, {}).ok());
  const HostRecord h = Host("f000000000000001", 1);
  ASSERT_TRUE(store().EnrollHost(t.id, t.secret_hash, 100, h, {HostCertificate(h, 1, 3000)}, {})
                  .ok());
  auto rotated = store().RotateCa(NextCaKey(1, CaKind::kHost, "host-two", 900), {});
  ASSERT_TRUE(rotated.ok()) << rotated.status().message();
  EXPECT_EQ(rotated->generation, 2);
  EXPECT_EQ(store().GetCa(1, CaKind::kUser)->generation, 1);  // the user CA stays
  HostCertificateRecord renewed = HostCertificate(h, 2, 4000);
  renewed.ca_generation = 2;
  ASSERT_TRUE(store().RenewHost(h, {renewed}, {}).ok());
  auto keys = store().CaKeysOf(1, CaKind::kHost);
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[1].signed_until_s, 3000);
  ASSERT_TRUE(store().DeleteCaKey(1, CaKind::kHost, 1, 950, {}).ok());
  auto revoked = store().RevocationsOf(1, 60);
  EXPECT_THAT(revoked->host_serials, ElementsAre(1));
  EXPECT_THAT(revoked->host_serial_generations, ElementsAre(1));
  EXPECT_THAT(revoked->serials, IsEmpty());
}

TEST_P(KeyStoreContractTest, ConcurrentFirstSignInsOfOnePersonMakeOneUser) {
  constexpr int kThreads = 8;
  std::latch start(kThreads);
  std::vector<int64_t> ids(kThreads, -1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      const std::string id = "e" + std::to_string(t);
      EventRecord event;
      event.id = id;
      event.time_us = 100 + t;
      event.action = "user.sign_in";
      event.resource_type = "user";
      auto user = store().SignIn(Claims("https://idp.example.com", "sub-1"), 100 + t, event);
      if (user.ok()) ids[t] = user->id;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_THAT(ids, ::testing::Each(1));
  EXPECT_THAT(UserIds(store().ListUsers()), ElementsAre(1));
  auto events = store().ListEvents({});
  ASSERT_TRUE(events.ok()) << events.status().message();
  EXPECT_EQ(events->events.size(), static_cast<size_t>(kThreads));
  int made = 0;
  for (const EventRecord& e : events->events) {
    EXPECT_EQ(e.resource_id, "1");
    made += e.details == R"({"created":true})" ? 1 : 0;
    EXPECT_THAT(e.details, ::testing::AnyOf(R"({"created":true})", R"({"created":false})"));
  }
  EXPECT_EQ(made, 1);
}

// The credentials' generation (migration 14) moves with every change to what GetToken answers
// for a token that exists, and with nothing else: the token cache's rule (auth/token_cache.h).
TEST_P(KeyStoreContractTest, TheCredentialsGenerationMovesWithEveryChangeToAToken) {
  auto generation = [&] {
    StatusOr<int64_t> g = store().AuthGeneration();
    EXPECT_TRUE(g.ok()) << g.status().message();
    const int64_t value = g.ok() ? *g : -1;
    std::unique_ptr<KeyReader> snapshot = store().Snapshot();
    StatusOr<int64_t> in_snapshot = snapshot->AuthGeneration();
    EXPECT_TRUE(in_snapshot.ok() && *in_snapshot == value);  // a snapshot reads the same
    return value;
  };
  TokenRecord token = Token("a0a0a0a0a0a0a0a0", 10);
  ASSERT_TRUE(store().InsertToken(token, {}).ok());  // makes its user 42: moves
  int64_t g = generation();
  auto moved = [&](const char* what) {
    const int64_t now = generation();
    EXPECT_GT(now, g) << what;
    g = now;
  };
  auto still = [&](const char* what) { EXPECT_EQ(generation(), g) << what; };

  ASSERT_TRUE(store().InsertToken(Token("b0b0b0b0b0b0b0b0", 11), {}).ok());  // user 42 exists
  still("a token of a known user");
  ASSERT_TRUE(store().InsertKey(Key("k1", 1, "one"), Event("e1", "key.create", 12)).ok());
  ASSERT_TRUE(store().DeleteKey("k1", std::nullopt, Event("e2", "key.delete", 13)).ok());
  still("a key's writes");
  ASSERT_TRUE(store().SetUserDisabled(42, false, 14, {}).ok());
  still("enabling a user who is enabled");

  ASSERT_TRUE(store().SetUserDisabled(42, true, 15, {}).ok());
  moved("a user disabled");
  ASSERT_TRUE(store().SetUserDisabled(42, false, 16, {}).ok());
  moved("a user enabled");
  ASSERT_TRUE(store().RevokeToken(token.id, 17, {}).ok());
  moved("a token revoked");

  const TokenRecord session = Session("c0c0c0c0c0c0c0c0", 18, 1000);
  const TokenRecord access = Access("d0d0d0d0d0d0d0d0", session, 19, 1000);
  ASSERT_TRUE(store().InsertToken(session, {}).ok());
  ASSERT_TRUE(store().InsertToken(access, {}).ok());
  still("tokens of a known user");
  ASSERT_TRUE(store().RevokeToken(session.id, 20, {}).ok());
  moved("a session revoked with its access token");
  EXPECT_TRUE(store().GetToken(access.id)->revoked_at_us.has_value());

  ASSERT_TRUE(store().SignIn(Claims("https://idp.example.com", "sub-9"), 21, {}).ok());
  moved("a person's first sign-in makes a user");
  ASSERT_TRUE(
      store().SignIn(Claims("https://idp.example.com", "sub-9", "new@example.com"), 22, {}).ok());
  still("a known person's sign-in");
}

// A project's generations (migration 15) move with every change to what its KRL
// (revocations) and its authorized_keys (keys) are read from: the rule of the caches that
// keep them (service/generated_cache.h). On the SQL backends nothing else moves them —
// above all issuing a certificate, the login path's most frequent write, and another
// project's changes; the in-memory fake moves both with every write. PostgreSQL keeps no
// keys generation.
TEST_P(KeyStoreContractTest, AProjectsGenerationsMoveWithWhatItsKrlAndAuthorizedKeysRead) {
  const bool exact = GetParam().name != "Memory";
  auto generations = [&](int64_t project) {
    StatusOr<ProjectGenerations> g = store().GenerationsOf(project);
    EXPECT_TRUE(g.ok()) << g.status().message();
    std::unique_ptr<KeyReader> snapshot = store().Snapshot();
    StatusOr<ProjectGenerations> in_snapshot = snapshot->GenerationsOf(project);
    EXPECT_TRUE(g.ok() && in_snapshot.ok() && *in_snapshot == *g);  // a snapshot reads the same
    return g.ok() ? *g : ProjectGenerations{.revocations = -1, .keys = -1};
  };
  ProjectGenerations g = generations(1);
  ProjectGenerations other = generations(2);
  EXPECT_EQ(g.keys.has_value(), GetParam().name != "Postgres");
  // Each change is checked against both numbers: `krl` and `keys` say which must move.
  auto after = [&](const char* what, bool krl, bool keys) {
    const ProjectGenerations now = generations(1);
    if (krl) {
      EXPECT_GT(now.revocations, g.revocations) << what;
    } else if (exact) {
      EXPECT_EQ(now.revocations, g.revocations) << what;
    }
    if (now.keys.has_value() && g.keys.has_value()) {
      if (keys) {
        EXPECT_GT(*now.keys, *g.keys) << what;
      } else if (exact) {
        EXPECT_EQ(*now.keys, *g.keys) << what;
      }
    }
    g = now;
  };
  KeyUpdate disable;
  disable.disabled = true;
  disable.updated_at_us = 9;
  KeyUpdate enable = disable;
  enable.disabled = false;
  KeyUpdate relabel;
  relabel.labels = std::map<std::string, std::string>{{"login", "deploy"}};
  relabel.updated_at_us = 9;

  MustInsert(Key("k1", 1, "one"));
  after("a key made", false, true);
  ASSERT_TRUE(store().UpdateKey("k1", relabel, std::nullopt, {}).ok());
  after("a key relabelled", false, true);
  ASSERT_TRUE(store().GetOrCreateCa(Ca(1, "s"), {}).ok());
  after("the CA made", true, false);
  ASSERT_TRUE(store().NextSerial(1, CaKind::kUser).ok());
  ASSERT_TRUE(store().RecordCertificate(Certificate(1, 1, "k1"), {}).ok());
  after("a certificate issued", false, false);
  ASSERT_TRUE(store().RevokeCertificate(1, 1, 100, {}).ok());
  after("a certificate revoked", true, false);
  ASSERT_TRUE(store().RevokeCertificate(1, 1, 200, {}).ok());
  if (exact) after("a certificate revoked again", false, false);
  ASSERT_TRUE(store().RecordCertificate(Certificate(1, 2, "k1"), {}).ok());
  g = generations(1);
  ASSERT_TRUE(store().UpdateKey("k1", disable, std::nullopt, {}).ok());
  after("a certified key disabled", true, true);
  ASSERT_TRUE(store().RecordCertificate(Certificate(1, 3, "k1"), {}).ok());
  after("a certificate recorded while its key is disabled (listed at once)", true, false);
  ASSERT_TRUE(store().UpdateKey("k1", enable, std::nullopt, {}).ok());
  after("a certified key enabled", true, true);
  if (exact) {
    EXPECT_EQ(generations(2), other) << "another project's changes";
  }

  ASSERT_TRUE(store().EnsureUser(7, 10, {}).ok());
  g = generations(1);
  other = generations(2);
  ASSERT_TRUE(store().SetUserDisabled(7, true, 11, {}).ok());
  // Their keys leave authorized_keys (ListQuery::owner_enabled): keys moves too.
  after("a user disabled", true, true);
  EXPECT_GT(generations(2).revocations, other.revocations) << "a user disabled: every project";
  if (other.keys.has_value()) {
    EXPECT_GT(*generations(2).keys, *other.keys) << "a user disabled: every project";
  }
  ASSERT_TRUE(store().SetUserDisabled(7, false, 12, {}).ok());
  after("a user enabled", true, true);

  MustInsert(Key("k2", 1, "two"));
  g = generations(1);
  ASSERT_TRUE(store().DeleteKey("k2", std::nullopt, {}).ok());
  after("a key without certificates deleted", false, true);
  ASSERT_TRUE(store().DeleteKey("k1", std::nullopt, {}).ok());
  after("a certified key deleted", true, true);

  ASSERT_TRUE(store().RotateCa(NextCaKey(1, CaKind::kUser, "two", 900), {}).ok());
  after("the CA rotated", true, false);
  ASSERT_TRUE(store().NextSerial(1, CaKind::kUser).ok());
  if (exact) after("a serial taken", false, false);
  ASSERT_TRUE(store().DeleteCaKey(1, CaKind::kUser, 1, 950, {}).ok());
  after("a CA key deleted", true, false);

  const JoinTokenRecord t = JoinToken("bbbbbbbbbbbbbbb1", 1, 2, 1000);
  ASSERT_TRUE(store().InsertJoinToken(t, {}).ok());
  CaRecord host_ca = Ca(1, "host-seed");
  host_ca.kind = CaKind::kHost;
  ASSERT_TRUE(store().GetOrCreateCa(host_ca, {}).ok());
  g = generations(1);
  const HostRecord h = Host("f000000000000001", 1);
  ASSERT_TRUE(
      store().EnrollHost(t.id, t.secret_hash, 100, h, {HostCertificate(h, 1, 3000)}, {}).ok());
  after("a host enrolled", false, false);
  ASSERT_TRUE(store().DeleteHost(1, h.id, 200, {}).ok());
  after("a host deleted (its certificates revoked)", true, false);
}

TEST_P(KeyStoreContractTest, ADisabledUsersSignInChangesNothing) {
  const UserRecord claims = Claims("https://idp.example.com", "sub-1");
  auto made = store().SignIn(claims, 100, {});
  ASSERT_TRUE(made.ok()) << made.status().message();
  ASSERT_TRUE(
      store().SetUserDisabled(made->id, true, 150, Event("d1", "user.disable", 150, 0)).ok());
  ASSERT_TRUE(
      store().SetUserDisabled(made->id, true, 160, Event("x1", "user.disable", 160, 0)).ok());
  UserRecord disabled = *made;
  disabled.disabled = true;
  EXPECT_EQ(*store().GetUser(made->id), disabled);

  auto refused = store().SignIn(Claims("https://idp.example.com", "sub-1", "new@example.com"), 200,
                                Event("x2", "user.sign_in", 200, 0));
  ASSERT_TRUE(refused.ok()) << refused.status().message();
  EXPECT_EQ(*refused, disabled);  // the old email and last sign-in: nothing changed
  EXPECT_EQ(*store().GetUser(made->id), disabled);

  ASSERT_TRUE(
      store().SetUserDisabled(made->id, false, 300, Event("d2", "user.enable", 300, 0)).ok());
  auto back = store().SignIn(claims, 400, {});
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->disabled);
  EXPECT_EQ(back->last_sign_in_at_us, 400);
  EXPECT_EQ(store().SetUserDisabled(99, true, 500, Event("x3", "user.disable", 500, 0)).code(),
            StatusCode::kNotFound);
  EventQuery all;
  all.ascending = true;
  EXPECT_THAT(EventIds(store().ListEvents(all)), ElementsAre("d1", "d2"));
}

TEST_P(KeyStoreContractTest, GrantsAreInsertedListedAndDeleted) {
  EXPECT_THAT(*store().ListGrants(), IsEmpty());
  ASSERT_TRUE(store().EnsureUser(4, 1, {}).ok());
  GrantRecord by_group = Grant("g2", 20);
  GrantRecord by_user = Grant("g1", 20, "");
  by_user.user_id = 4;
  by_user.role = "admin";
  by_user.principals = {};
  GrantRecord by_email = Grant("g0", 30, "");
  by_email.user_email = "ada@example.com";
  by_email.role = "viewer";
  by_email.projects = {7};
  for (const GrantRecord* g : {&by_group, &by_user, &by_email}) {
    Status s = store().InsertGrant(*g, {});
    ASSERT_TRUE(s.ok()) << g->id << ": " << s.message();
  }
  Status taken = store().InsertGrant(Grant("g2", 40, "other"), {});
  EXPECT_EQ(taken.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(taken.message(), "a grant with this id already exists");

  auto invalid = [&](const std::function<void(GrantRecord&)>& change) {
    GrantRecord g = Grant("bad", 50);
    change(g);
    return store().InsertGrant(g, {}).code();
  };
  EXPECT_EQ(invalid([](GrantRecord& g) { g.group = ""; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(invalid([](GrantRecord& g) { g.user_id = 4; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(invalid([](GrantRecord& g) { g.user_email = "a@example.com"; }),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(invalid([](GrantRecord& g) { g.projects = {}; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(invalid([](GrantRecord& g) { g.projects = {5, 1}; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(invalid([](GrantRecord& g) { g.projects = {1, 1}; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(invalid([](GrantRecord& g) { g.role = "owner"; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(invalid([](GrantRecord& g) { g.principals = {"a,b"}; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(invalid([](GrantRecord& g) { g.principals = {""}; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(invalid([](GrantRecord& g) {
              g.group = "";
              g.user_id = 99;  // nobody has it yet: a person given 99 later must not inherit it
            }),
            StatusCode::kNotFound);

  auto listed = store().ListGrants();
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  EXPECT_THAT(*listed, ElementsAre(by_user, by_group, by_email));  // created_at, then id

  ASSERT_TRUE(store().DeleteGrant("g2", {}).ok());
  EXPECT_EQ(store().DeleteGrant("g2", {}).code(), StatusCode::kNotFound);
  EXPECT_THAT(*store().ListGrants(), ElementsAre(by_user, by_email));
}

TEST_P(KeyStoreContractTest, UserAndGrantChangesRecordTheirEventsAndFailedOnesNone) {
  EventRecord sign_in = Event("e1", "user.sign_in", 10, 0, "");
  sign_in.resource_type = "user";
  sign_in.details = R"( { "amr": ["pwd"] })";
  auto person = store().SignIn(Claims("https://idp.example.com", "sub-1"), 10, sign_in);
  ASSERT_TRUE(person.ok()) << person.status().message();
  sign_in.id = "e2";
  sign_in.time_us = 11;
  sign_in.details = "{}";
  ASSERT_TRUE(store().SignIn(Claims("https://idp.example.com", "sub-1"), 11, sign_in).ok());
  EXPECT_EQ(
      store().SignIn(Claims("", "sub-1"), 12, Event("x1", "user.sign_in", 12, 0)).status().code(),
      StatusCode::kInvalidArgument);
  ASSERT_TRUE(store().EnsureUser(9, 13, Event("e3", "user.create", 13, 0, "9")).ok());
  ASSERT_TRUE(store().EnsureUser(9, 14, Event("x2", "user.create", 14, 0, "9")).ok());
  EXPECT_EQ(store().EnsureUser(0, 15, Event("x3", "user.create", 15, 0, "0")).code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(store().SetUserDisabled(9, true, 16, Event("e4", "user.disable", 16, 0, "9")).ok());
  ASSERT_TRUE(store().SetUserDisabled(9, true, 17, Event("x4", "user.disable", 17, 0, "9")).ok());
  EXPECT_EQ(store().SetUserDisabled(8, true, 18, Event("x5", "user.disable", 18, 0, "8")).code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(store().InsertGrant(Grant("g1", 19), Event("e5", "grant.create", 19, 1, "g1")).ok());
  EXPECT_EQ(store().InsertGrant(Grant("g1", 20), Event("x6", "grant.create", 20, 1, "g1")).code(),
            StatusCode::kAlreadyExists);
  GrantRecord bad = Grant("g2", 21);
  bad.role = "owner";
  EXPECT_EQ(store().InsertGrant(bad, Event("x7", "grant.create", 21, 1, "g2")).code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(store().DeleteGrant("g1", Event("e6", "grant.delete", 22, 1, "g1")).ok());
  EXPECT_EQ(store().DeleteGrant("g1", Event("x8", "grant.delete", 23, 1, "g1")).code(),
            StatusCode::kNotFound);

  EventQuery all;
  all.ascending = true;
  auto page = store().ListEvents(all);
  EXPECT_THAT(EventIds(page), ElementsAre("e1", "e2", "e3", "e4", "e5", "e6"));
  ASSERT_TRUE(page.ok() && page->events.size() == 6);
  // SignIn's event names the user (the caller could not) and says whether it was made.
  EventRecord first = Event("e1", "user.sign_in", 10, 0, std::to_string(person->id));
  first.resource_type = "user";
  first.details = R"( {"created":true, "amr": ["pwd"] })";
  EXPECT_EQ(page->events[0], first);
  EXPECT_EQ(page->events[1].resource_id, std::to_string(person->id));
  EXPECT_EQ(page->events[1].details, R"({"created":false})");
  EXPECT_EQ(page->events[2].action, "user.create");
  EXPECT_EQ(page->events[4].action, "grant.create");
  EXPECT_EQ(page->events[5].resource_id, "g1");
}

// --- backends -----------------------------------------------------------------------------

const Backend kBackends[] = {
    {"Memory", [](std::string*) { return std::make_unique<MemoryHarness>(); }},
    {"SqliteFile", [](std::string*) { return std::make_unique<SqliteHarness>(false); }},
    {"SqliteMemory", [](std::string*) { return std::make_unique<SqliteHarness>(true); }},
    {"Postgres", &PostgresHarness::Make},
};

INSTANTIATE_TEST_SUITE_P(AllBackends, KeyStoreContractTest, ::testing::ValuesIn(kBackends),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace keypaird::store
