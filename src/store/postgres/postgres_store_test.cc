// PostgreSQL-specific behaviour of the store (the shared contract is in
// store_contract_test.cc): migrations with several nodes, index use, bounded failures,
// recovery after lost connections, pool size, no caching between nodes. Every test gets
// a database of its own on the cluster named by KEYPAIRD_TEST_POSTGRES_URL; without it
// the tests fail.

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <latch>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/key_store.h"
#include "store/sql/diagnostics.h"
#include "store/sql/schema.h"
#include "store/testing/certificates_testing.h"
#include "store/testing/postgres_testing.h"
#include "store/testing/users_testing.h"

namespace keypaird::store {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using Clock = std::chrono::steady_clock;

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* url = std::getenv(kTestPostgresUrlVariable);
    ASSERT_TRUE(url != nullptr && *url != '\0')
        << kTestPostgresUrlVariable
        << " is not set: run the tests with scripts/test.sh, which starts a PostgreSQL cluster";
    maintenance_url_ = url;
    auto db = PostgresTestDatabase::Create(maintenance_url_);
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_ = std::move(*db);
  }

  std::unique_ptr<KeyStore> MustOpen(int pool_size = 4, bool apply = true) {
    StoreOptions options;
    options.pool_size = pool_size;
    options.apply_migrations = apply;
    auto store = OpenStore(db_->url(), options);
    EXPECT_TRUE(store.ok()) << store.status().message();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::vector<std::string> Query(const std::string& sql) {
    auto rows = db_->Query(sql);
    EXPECT_TRUE(rows.ok()) << rows.status().message();
    return rows.ok() ? *rows : std::vector<std::string>{};
  }

  static KeyRecord Key(std::string id, int64_t project, std::string name, int64_t created = 1) {
    KeyRecord key;
    key.id = std::move(id);
    key.project_id = project;
    key.user_id = 7;
    key.name = std::move(name);
    key.public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB c";
    key.fingerprint = "aa:bb";
    key.created_at_us = created;
    return key;
  }

  // A fake server: accepts TCP connections and never says a word.
  struct SilentServer {
    SilentServer() {
      fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      socklen_t len = sizeof(addr);
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len);
      ::listen(fd, 16);
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
      port = ntohs(addr.sin_port);
    }
    ~SilentServer() { ::close(fd); }
    int fd;
    int port;
  };

  std::string maintenance_url_;
  std::unique_ptr<PostgresTestDatabase> db_;
};

TEST_F(PostgresStoreTest, BothUrlSchemesOpenTheStore) {
  for (const std::string scheme : {"postgresql://", "postgres://"}) {
    std::string url = db_->url();
    url.replace(0, url.find("://") + 3, scheme);
    auto store = OpenStore(url);
    ASSERT_TRUE(store.ok()) << scheme << ": " << store.status().message();
    EXPECT_TRUE((*store)->Ping().ok());
  }
}

TEST_F(PostgresStoreTest, MigrationsRecordEveryVersionAndReopeningChangesNothing) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  std::vector<std::string> expected;
  for (int v = 1; v <= sql::LatestSchemaVersion(); ++v) {
    expected.push_back(std::to_string(v));
  }
  EXPECT_EQ(Query("SELECT version FROM schema_migrations ORDER BY version"), expected);
  ASSERT_TRUE(store->InsertKey(Key("id-1", 1, "kept"), {}).ok());
  store.reset();
  auto again = MustOpen(4, /*apply=*/false);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(Query("SELECT version FROM schema_migrations ORDER BY version"), expected);
  EXPECT_EQ(again->GetKey("id-1")->name, "kept");
}

TEST_F(PostgresStoreTest, NodesStartingTogetherMigrateOnceAndAllOpen) {
  constexpr int kNodes = 8;
  std::latch start(kNodes);
  std::atomic<int> opened{0};
  std::vector<std::string> failures(kNodes);
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      StoreOptions options;
      options.pool_size = 1;
      auto store = OpenStore(db_->url(), options);
      if (store.ok()) {
        ++opened;
      } else {
        failures[i] = store.status().message();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(opened.load(), kNodes) << ::testing::PrintToString(failures);
  EXPECT_EQ(Query("SELECT count(*) FROM schema_migrations"),
            std::vector<std::string>{std::to_string(sql::LatestSchemaVersion())});
}

TEST_F(PostgresStoreTest, SchemaBehindWithoutApplyingSaysToRunMigrate) {
  StoreOptions options;
  options.apply_migrations = false;
  auto store = OpenStore(db_->url(), options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(store.status().message(), HasSubstr("run `keypaird migrate`"));
  EXPECT_EQ(Query("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
            std::vector<std::string>{"0"});
}

TEST_F(PostgresStoreTest, SchemaOfANewerKeypairdIsRefused) {
  ASSERT_NE(MustOpen(), nullptr);
  Query("INSERT INTO schema_migrations (version) VALUES (" +
        std::to_string(sql::LatestSchemaVersion() + 1) + ")");
  for (bool apply : {true, false}) {
    StoreOptions options;
    options.apply_migrations = apply;
    auto store = OpenStore(db_->url(), options);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
    EXPECT_THAT(store.status().message(), HasSubstr("newer keypaird"));
  }
}

TEST_F(PostgresStoreTest, EveryOrderOfAProjectPageIsAnIndexWalk) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(
        store->InsertKey(Key("id-" + std::to_string(i), i % 3, "k" + std::to_string(i), i), {}).ok());
  }
  Query("ANALYZE keys");
  const std::pair<OrderBy, const char*> orders[] = {
      {OrderBy::kCreatedAtAsc, "keys_by_project_created"},
      {OrderBy::kCreatedAtDesc, "keys_by_project_created_desc"},
      {OrderBy::kNameAsc, "keys_by_project_name"},
      {OrderBy::kNameDesc, "keys_by_project_name"}};
  for (const auto& [order, index] : orders) {
    for (bool visibility : {false, true}) {
      ListQuery q;
      q.project_id = 1;
      q.order = order;
      q.offset = 3;
      q.limit = 5;
      if (visibility) q.visible_to_user = 7;
      auto plan = sql::DiagnosticsOf(*store)->ExplainListKeys(q);
      ASSERT_TRUE(plan.ok()) << plan.status().message();
      const std::string text = ::testing::PrintToString(*plan);
      EXPECT_THAT(*plan, Each(Not(HasSubstr("Sort")))) << text;
      EXPECT_THAT(*plan, Each(Not(HasSubstr("Seq Scan")))) << text;
      EXPECT_THAT(*plan, Contains(HasSubstr(std::string(" on ") + "keys")));
      EXPECT_THAT(*plan, Contains(HasSubstr(std::string("using ") + index + " on keys"))) << text;
    }
  }
}

// Keyset pages and label selectors with an equality term walk an index in order; a
// fingerprint lookup uses its index.
TEST_F(PostgresStoreTest, KeysetLabelAndFingerprintPagesAreIndexWalks) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  ListQuery keyset;
  keyset.project_id = 5;
  keyset.order = OrderBy::kCreatedAtDesc;
  keyset.after = KeyCursor{100, "n", "some-id"};
  keyset.limit = 10;
  keyset.with_total = false;
  ListQuery labelled = keyset;
  labelled.labels = {{LabelTerm::Op::kEquals, "team", "db"}, {LabelTerm::Op::kNotExists, "x", ""}};
  ListQuery labelled_asc = labelled;
  labelled_asc.order = OrderBy::kCreatedAtAsc;
  ListQuery fingerprint;
  fingerprint.fingerprint_sha256 = "SHA256:abc";
  fingerprint.project_ids = {1, 2};
  fingerprint.order = OrderBy::kCreatedAtDesc;  // the native API's order, the index's
  const std::pair<ListQuery, const char*> cases[] = {{keyset, "keys_by_project_created_desc"},
                                                     {labelled, "key_labels_by_value_desc"},
                                                     {labelled_asc, "key_labels_by_value"},
                                                     {fingerprint, "keys_by_fingerprint_sha256"}};
  for (const auto& [query, index] : cases) {
    auto plan = sql::DiagnosticsOf(*store)->ExplainListKeys(query);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    const std::string text = ::testing::PrintToString(*plan);
    EXPECT_THAT(*plan, Contains(HasSubstr(std::string("using ") + index))) << text;
    EXPECT_THAT(*plan, Each(Not(HasSubstr("Seq Scan")))) << text;
    EXPECT_THAT(*plan, Each(Not(HasSubstr("Sort")))) << text;  // fingerprints too (migration 6)
  }
}

TEST_F(PostgresStoreTest, UnreachableServerFailsFastAndTheMessageLeaksNothing) {
  SilentServer placeholder;  // a port that is surely ours; closed below, so it refuses
  const int port = placeholder.port;
  ::close(placeholder.fd);
  placeholder.fd = -1;
  const std::string url =
      "postgresql://admin:hunter2@127.0.0.1:" + std::to_string(port) + "/secretdb";
  const auto start = Clock::now();
  auto store = OpenStore(url);
  const auto took = Clock::now() - start;
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.status().message(), "cannot connect to the database");
  EXPECT_LT(took, std::chrono::seconds(2));
}

TEST_F(PostgresStoreTest, SilentServerTimesOutWithinTheConnectTimeout) {
  SilentServer silent;
  const std::string url =
      "postgresql://u@127.0.0.1:" + std::to_string(silent.port) + "/db?connect_timeout=2";
  const auto start = Clock::now();
  auto store = OpenStore(url);
  const auto took = Clock::now() - start;
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_GE(took, std::chrono::milliseconds(1900));
  EXPECT_LT(took, std::chrono::milliseconds(3500));
}

TEST_F(PostgresStoreTest, MalformedUrlIsInvalidArgumentWithoutEcho) {
  auto store = OpenStore("postgresql://u:hunter2@host/db?no_such_parameter=1");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(store.status().message(), AllOf(Not(HasSubstr("hunter2")), Not(HasSubstr("host"))));
}

TEST_F(PostgresStoreTest, EveryPooledConnectionHasTheStatementTimeout) {
  auto store = MustOpen(/*pool_size=*/3);
  ASSERT_NE(store, nullptr);
  auto timeouts = sql::DiagnosticsOf(*store)->OnEveryConnection("SHOW statement_timeout");
  ASSERT_TRUE(timeouts.ok()) << timeouts.status().message();
  EXPECT_THAT(*timeouts, ElementsAre("5s", "5s", "5s"));
  auto names = sql::DiagnosticsOf(*store)->OnEveryConnection("SHOW application_name");
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, Each("keypaird"));
}

TEST_F(PostgresStoreTest, TheUrlOverridesTheDefaults) {
  StoreOptions options;
  options.pool_size = 1;
  auto store = OpenStore(db_->url() + "?application_name=node-a", options);
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto names = sql::DiagnosticsOf(**store)->OnEveryConnection("SHOW application_name");
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, ElementsAre("node-a"));
}

TEST_F(PostgresStoreTest, RecoversByItselfAfterTheServerDropsEveryConnection) {
  auto store = MustOpen(/*pool_size=*/3);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->InsertKey(Key("id-1", 1, "before"), {}).ok());
  auto pids =
      sql::DiagnosticsOf(*store)->OnEveryConnection("SHOW application_name");  // opens all 3
  ASSERT_TRUE(pids.ok());
  auto open = sql::DiagnosticsOf(*store)->OnEveryConnection("SELECT pg_backend_pid()");
  ASSERT_TRUE(open.ok());
  ASSERT_THAT(*open, SizeIs(3));

  auto killed = PostgresQueryForTesting(
      maintenance_url_, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                            db_->name() + "' AND pid <> pg_backend_pid()");
  ASSERT_TRUE(killed.ok()) << killed.status().message();
  ASSERT_THAT(*killed, SizeIs(3));
  for (int i = 0; i < 200; ++i) {  // terminating is asynchronous: wait until they are gone
    auto left = PostgresQueryForTesting(
        maintenance_url_,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db_->name() + "'");
    ASSERT_TRUE(left.ok());
    if (left->at(0) == "0") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  // Every call succeeds the first time: writes too, which are never retried.
  Status inserted = store->InsertKey(Key("id-2", 1, "after"), {});
  EXPECT_TRUE(inserted.ok()) << inserted.message();
  EXPECT_TRUE(store->Ping().ok());
  auto got = store->GetKey("id-1");
  EXPECT_TRUE(got.ok()) << got.status().message();
  int64_t total = -1;
  ListQuery q;
  auto page = store->ListKeys(q);
  ASSERT_TRUE(page.ok()) << page.status().message();
  total = page->total;
  EXPECT_EQ(total, 2);
}

// The audit trail's promise: a change never lands without its event. A trigger makes
// every event insert fail (as a bug or a full disk would); the change goes with it.
TEST_F(PostgresStoreTest, AChangeWhoseEventFailsIsNotMade) {
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->InsertKey(Key("kept", 1, "kept"), {}).ok());
  TokenRecord token;
  token.id = "t1";
  token.admin = true;
  token.secret_hash = std::string(32, 'h');
  ASSERT_TRUE(store->InsertToken(token, {}).ok());
  Query("CREATE FUNCTION no_events() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'injected'; END $$");
  Query("CREATE TRIGGER no_events BEFORE INSERT ON events FOR EACH ROW "
        "EXECUTE FUNCTION no_events()");
  EventRecord event;
  event.id = "e1";
  event.action = "key.create";
  EXPECT_FALSE(store->InsertKey(Key("lost", 1, "lost"), event).ok());
  EXPECT_EQ(store->GetKey("lost").status().code(), StatusCode::kNotFound);
  event.action = "key.delete";
  EXPECT_FALSE(store->DeleteKey("kept", std::nullopt, event).ok());
  EXPECT_TRUE(store->GetKey("kept").ok());
  event.action = "token.revoke";
  EXPECT_FALSE(store->RevokeToken("t1", 5, event).ok());
  EXPECT_FALSE(store->GetToken("t1")->revoked_at_us.has_value());
  // A user's and a grant's change too.
  event.action = "user.sign_in";
  EXPECT_FALSE(store->SignIn(testing::Person("sub-1"), 5, event).ok());
  EXPECT_TRUE(store->ListUsers()->empty());
  event.action = "grant.create";
  EXPECT_FALSE(store->InsertGrant(testing::ViewerGrant("g1"), event).ok());
  EXPECT_TRUE(store->ListGrants()->empty());
  EXPECT_EQ(Query("SELECT count(*) FROM events"), std::vector<std::string>{"0"});

  Query("DROP TRIGGER no_events ON events");
  event.action = "key.create";
  EXPECT_TRUE(store->InsertKey(Key("lost", 1, "lost"), event).ok());
  EXPECT_EQ(Query("SELECT id FROM events"), std::vector<std::string>{"e1"});
}

// Migration 8 makes a token user of every user id in tokens and keys (made when first
// seen), so that no person signing in later gets one of their ids.
TEST_F(PostgresStoreTest, MigrationMakesATokenUserOfEveryUserAlreadyThere) {
  {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
    Status s = testing::AddTokensAndKeysOfUsers3And9(*store);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  Query("DROP TABLE users; DROP TABLE grants; DELETE FROM schema_migrations WHERE version = 8");
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  Status s = testing::CheckUsersOf3And9(*store);
  EXPECT_TRUE(s.ok()) << s.message();
}

// Migration 9 lets a certificate have no stored key (key_id NULL); those recorded before
// keep every field.
TEST_F(PostgresStoreTest, MigrationKeepsTheCertificatesAndAllowsOnesWithoutAKey) {
  {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
    Status s = testing::AddACertificateOfAStoredKey(*store);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  Query(
      "ALTER TABLE certificates ALTER COLUMN key_id SET NOT NULL; "
      "DELETE FROM schema_migrations WHERE version = 9");
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  Status s = testing::CheckCertificatesAfterMigration9(*store);
  EXPECT_TRUE(s.ok()) << s.message();
}

// Migration 12 keys the CAs by (project, kind): those made before are the user CAs.
TEST_F(PostgresStoreTest, MigrationKeepsEachCaAsTheProjectsUserCa) {
  {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
    Status s = testing::AddAUserCaWithTwoSerials(*store);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  Query(
      "ALTER TABLE ssh_cas DROP CONSTRAINT ssh_cas_pkey; "
      "ALTER TABLE ssh_cas DROP COLUMN kind; "
      "ALTER TABLE ssh_cas ADD CONSTRAINT ssh_cas_pkey PRIMARY KEY (project_id); "
      "DROP TABLE hosts; DROP TABLE host_certificates; "
      "DELETE FROM schema_migrations WHERE version = 12");
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  Status s = testing::CheckCasAfterMigration12(*store);
  EXPECT_TRUE(s.ok()) << s.message();
}

// Migration 13 adds CA rotation: the CAs and certificates made before are generation 1.
TEST_F(PostgresStoreTest, MigrationMakesEachCaAndCertificateTheFirstGeneration) {
  {
    auto store = MustOpen();
    ASSERT_NE(store, nullptr);
    Status s = testing::AddACertificateOfAStoredKey(*store);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  Query(
      "ALTER TABLE certificates DROP COLUMN ca_generation; "
      "ALTER TABLE host_certificates DROP COLUMN ca_generation; "
      "ALTER TABLE ssh_cas DROP COLUMN generation; DROP TABLE ssh_ca_old_keys; "
      "DELETE FROM schema_migrations WHERE version = 13");
  auto store = MustOpen();
  ASSERT_NE(store, nullptr);
  Status s = testing::CheckCasAfterMigration13(*store);
  EXPECT_TRUE(s.ok()) << s.message();
}

// Two nodes make people and token users at once: every id is handed out once.
TEST_F(PostgresStoreTest, TwoNodesSigningInPeopleNeverShareAnId) {
  auto a = MustOpen();
  auto b = MustOpen();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  constexpr int kThreads = 8;
  constexpr int kEach = 10;
  std::atomic<int> failures{0};
  const std::vector<int64_t> ids = testing::SignInConcurrently(
      {a.get(), b.get()}, kThreads, kEach, &failures, [](KeyStore& node, int t, int i) {
        // Token users made meanwhile (far apart: each is made, none is a person's id
        // already), and one person's sign-ins on both nodes.
        if (t == 0 && !node.EnsureUser(1000 * (i + 1), 1, {}).ok()) return false;
        return node.SignIn(testing::Person("everyone"), 1, {}).ok();
      });
  EXPECT_EQ(failures.load(), 0);
  const std::set<int64_t> distinct(ids.begin(), ids.end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kThreads * kEach));
  auto users = a->ListUsers();
  ASSERT_TRUE(users.ok()) << users.status().message();
  int token_users = 0;
  for (const UserRecord& u : *users) {
    if (u.issuer.empty()) {
      ++token_users;
      EXPECT_FALSE(distinct.contains(u.id)) << u.id;
    }
  }
  EXPECT_EQ(token_users, kEach);
  EXPECT_EQ(users->size(), static_cast<size_t>(kThreads * kEach + 1 + kEach));  // + "everyone"
}

TEST_F(PostgresStoreTest, StatementBlockedPastTheTimeoutIsUnavailableNotAHang) {
  auto store = MustOpen(/*pool_size=*/1);
  ASSERT_NE(store, nullptr);
  // Another session holds the table: the insert waits for the lock until the
  // statement timeout (5 s) ends it.
  PGconn* blocker = PQconnectdb(db_->url().c_str());
  ASSERT_EQ(PQstatus(blocker), CONNECTION_OK) << PQerrorMessage(blocker);
  PQclear(PQexec(blocker, "BEGIN"));
  PGresult* locked = PQexec(blocker, "LOCK TABLE keys IN ACCESS EXCLUSIVE MODE");
  ASSERT_EQ(PQresultStatus(locked), PGRES_COMMAND_OK) << PQerrorMessage(blocker);
  PQclear(locked);

  const auto start = Clock::now();
  Status s = store->InsertKey(Key("id-1", 1, "blocked"), {});
  const auto took = Clock::now() - start;
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.message();
  EXPECT_EQ(s.message(), "the database did not answer in time");
  EXPECT_LT(took, std::chrono::milliseconds(6500));

  PQclear(PQexec(blocker, "ROLLBACK"));
  PQfinish(blocker);
  EXPECT_TRUE(store->InsertKey(Key("id-1", 1, "free"), {}).ok());
}

TEST_F(PostgresStoreTest, NeverOpensMoreConnectionsThanThePool) {
  auto store = MustOpen(/*pool_size=*/2);
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 40;
  std::latch start(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      if (!store->InsertKey(Key("id-" + std::to_string(i), 1, "k" + std::to_string(i), i), {}).ok()) {
        ++failures;
      }
      ListQuery q;
      q.project_id = 1;
      q.limit = 3;
      if (!store->ListKeys(q).ok()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Query("SELECT count(*) <= 2 FROM pg_stat_activity WHERE datname = current_database() "
                  "AND application_name = 'keypaird' AND pid <> pg_backend_pid()"),
            std::vector<std::string>{"t"});
}

TEST_F(PostgresStoreTest, TwoNodesSeeEachOthersWritesAtOnce) {
  auto a = MustOpen();
  auto b = MustOpen();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  TokenRecord token;
  token.id = "0123456789abcdef";
  token.user_id = 1;
  token.projects = {1};
  token.secret_hash = std::string(32, '\x01');
  ASSERT_TRUE(a->InsertToken(token, {}).ok());
  EXPECT_EQ(b->GetToken(token.id)->revoked_at_us, std::nullopt);
  ASSERT_TRUE(a->RevokeToken(token.id, 99, {}).ok());
  EXPECT_EQ(b->GetToken(token.id)->revoked_at_us, 99);

  ASSERT_TRUE(b->InsertKey(Key("id-1", 1, "shared"), {}).ok());
  EXPECT_EQ(a->GetKeyByName(1, "shared")->id, "id-1");
  EXPECT_EQ(a->InsertKey(Key("id-2", 1, "shared"), {}).code(), StatusCode::kAlreadyExists);
  store::KeyUpdate unshare;
  unshare.shared_in_project = false;
  ASSERT_TRUE(a->UpdateKey("id-1", unshare, std::nullopt, {}).ok());
  EXPECT_FALSE(b->GetKey("id-1")->shared_in_project);
  ASSERT_TRUE(a->DeleteKey("id-1", std::nullopt, {}).ok());
  EXPECT_EQ(b->GetKey("id-1").status().code(), StatusCode::kNotFound);
}

TEST(PostgresUrlTest, DatabaseNameIsReplacedOrAdded) {
  EXPECT_EQ(PostgresUrlWithDatabase("postgresql://u@h:1/postgres", "x"), "postgresql://u@h:1/x");
  EXPECT_EQ(PostgresUrlWithDatabase("postgresql://u@h:1", "x"), "postgresql://u@h:1/x");
  EXPECT_EQ(PostgresUrlWithDatabase("postgresql://u@h/db?sslmode=disable", "x"),
            "postgresql://u@h/x?sslmode=disable");
  EXPECT_EQ(PostgresUrlWithDatabase("postgres://h?sslmode=disable", "x"),
            "postgres://h/x?sslmode=disable");
}

}  // namespace
}  // namespace keypaird::store
