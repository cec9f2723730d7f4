// SQLite-specific behaviour: files, pragmas, migrations, query plans. The shared
// KeyStore behaviour is in store/store_contract_test.cc.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/key_store.h"
#include "store/sql/diagnostics.h"
#include "store/sql/schema.h"
#include "store/testing/certificates_testing.h"
#include "store/testing/users_testing.h"

namespace keypaird::store {
namespace {

using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

// Direct access to the database file, bypassing the store.
class RawDb {
 public:
  explicit RawDb(const fs::path& path) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  void Exec(const std::string& sql) {
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
        << (err ? err : "");
    sqlite3_free(err);
  }
  // Every row's first column, as text.
  std::vector<std::string> Column(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK);
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      out.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sqlite-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    db_path_ = dir_ / "keys.db";
  }
  void TearDown() override { fs::remove_all(dir_); }

  StatusOr<std::unique_ptr<KeyStore>> Open(const fs::path& path, bool apply = true,
                                           int pool_size = 4) {
    StoreOptions options;
    options.apply_migrations = apply;
    options.pool_size = pool_size;
    return OpenStore("sqlite:" + path.string(), options);
  }

  std::unique_ptr<KeyStore> MustOpen(const fs::path& path) {
    auto store = Open(path);
    EXPECT_TRUE(store.ok()) << store.status().message();
    return store.ok() ? std::move(*store) : nullptr;
  }

  static std::vector<std::string> AllVersions() {
    std::vector<std::string> v;
    for (int i = 1; i <= sql::LatestSchemaVersion(); ++i) v.push_back(std::to_string(i));
    return v;
  }

  static KeyRecord Key(std::string id, std::string name) {
    KeyRecord key;
    key.id = std::move(id);
    key.project_id = 1;
    key.user_id = 2;
    key.name = std::move(name);
    key.public_key = "ssh-ed25519 AAAA x";
    key.fingerprint = "00:11";
    key.created_at_us = 3;
    return key;
  }

  static mode_t Mode(const fs::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  fs::path dir_;
  fs::path db_path_;
};

TEST_F(SqliteStoreTest, ASnapshotReadsOneTransactionAndGivesItsConnectionBack) {
  auto opened = Open(db_path_, true, /*pool_size=*/2);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  KeyStore& store = **opened;
  ASSERT_TRUE(store.InsertKey(Key("id-1", "first"), {}).ok());
  {
    std::unique_ptr<KeyReader> snapshot = store.Snapshot();
    ASSERT_TRUE(snapshot->GetKey("id-1").ok());  // the snapshot is taken here
    // A write committed meanwhile is not seen by the snapshot's reads...
    ASSERT_TRUE(store.InsertKey(Key("id-2", "second"), {}).ok());
    EXPECT_EQ(snapshot->GetKey("id-2").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(snapshot->GetKeyByName(1, "second").status().code(), StatusCode::kNotFound);
    StatusOr<KeyPage> page = snapshot->ListKeys({});  // runs inside the snapshot's transaction
    ASSERT_TRUE(page.ok()) << page.status().message();
    EXPECT_EQ(page->total, 1);
    EXPECT_EQ(page->keys.size(), 1u);
    EXPECT_EQ(snapshot->GetToken("none").status().code(), StatusCode::kNotFound);
    // ... while the store's own reads, on another connection, see it.
    EXPECT_TRUE(store.GetKey("id-2").ok());
  }
  EXPECT_TRUE(store.GetKey("id-2").ok());  // after the snapshot: a fresh one
  // Both pooled connections are free again and out of any transaction: two snapshots
  // can be held at once, and each sees the latest state.
  std::unique_ptr<KeyReader> a = store.Snapshot();
  std::unique_ptr<KeyReader> b = store.Snapshot();
  EXPECT_TRUE(a->GetKey("id-2").ok());
  EXPECT_TRUE(b->GetKey("id-2").ok());
}

// What a request reads first — the credentials generation, then its project's — comes from
// the memo while the database has not changed (no read transaction: unchanged.h), and
// never after a commit, whether the store made it or another connection did (the command
// line, another node).
TEST_F(SqliteStoreTest, AnUnchangedDatabasesGenerationsComeFromTheMemoUntilACommit) {
  std::unique_ptr<KeyStore> store = MustOpen(db_path_);
  ASSERT_NE(store, nullptr);
  sql::Diagnostics* diagnostics = sql::DiagnosticsOf(*store);
  ASSERT_NE(diagnostics, nullptr);
  ASSERT_TRUE(store->InsertKey(Key("id-1", "first"), {}).ok());
  auto ask = [&] {  // as a request does: one snapshot, the two generations
    std::unique_ptr<KeyReader> snapshot = store->Snapshot();
    StatusOr<int64_t> auth = snapshot->AuthGeneration();
    StatusOr<ProjectGenerations> project = snapshot->GenerationsOf(1);
    EXPECT_TRUE(auth.ok() && project.ok());
    return std::pair<int64_t, int64_t>(auth.ok() ? *auth : -1,
                                       project.ok() ? project->keys.value_or(-1) : -1);
  };
  const auto first = ask();  // the credentials' read begins the transaction: kept
  EXPECT_EQ(diagnostics->unchanged_hits(), 0);
  EXPECT_EQ(ask(), first);  // the credentials' from the memo; the project's read, kept
  EXPECT_EQ(diagnostics->unchanged_hits(), 1);
  EXPECT_EQ(ask(), first);  // both from the memo
  EXPECT_EQ(diagnostics->unchanged_hits(), 3);

  // The store's own commit: the project's generation moves, nothing comes from the memo.
  ASSERT_TRUE(store->InsertKey(Key("id-2", "second"), {}).ok());
  const auto after_insert = ask();
  EXPECT_EQ(after_insert.first, first.first);
  EXPECT_GT(after_insert.second, first.second);
  EXPECT_EQ(diagnostics->unchanged_hits(), 3);

  // Another connection's commit (a revocation elsewhere moves the same row).
  RawDb raw(db_path_);
  EXPECT_EQ(ask(), after_insert);  // the memo again
  const int64_t hits = diagnostics->unchanged_hits();
  EXPECT_EQ(hits, 4);
  raw.Exec("UPDATE auth_generation SET value = value + 5 WHERE id = 1");
  EXPECT_EQ(ask(), std::make_pair(first.first + 5, after_insert.second));
  EXPECT_EQ(diagnostics->unchanged_hits(), hits);

  // A snapshot that answered from the memo answers the same when asked again, as one
  // transaction would, even if the database changed in between.
  (void)ask();  // the project's generation kept again
  std::unique_ptr<KeyReader> snapshot = store->Snapshot();
  StatusOr<ProjectGenerations> before = snapshot->GenerationsOf(1);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(diagnostics->unchanged_hits(), hits + 2);
  ASSERT_TRUE(store->InsertKey(Key("id-3", "third"), {}).ok());
  StatusOr<ProjectGenerations> again = snapshot->GenerationsOf(1);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->keys, before->keys);
  // Its first read of anything else begins its transaction, which sees the new key.
  EXPECT_TRUE(snapshot->GetKey("id-3").ok());
}

// Whether a process other than this one holds a POSIX lock on byte `offset` of `path`:
// F_GETLK never reports the caller's own locks, so a child process asks (it only opens,
// asks and exits).
bool LockedByThisProcess(const fs::path& path, off_t offset) {
  const pid_t child = ::fork();
  if (child == 0) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    lock.l_start = offset;
    lock.l_len = 1;
    const bool held = fd >= 0 && ::fcntl(fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
    ::_exit(held ? 0 : 1);
  }
  int status = 0;
  if (child < 0 || ::waitpid(child, &status, 0) != child) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// SQLite tells other processes that a database is open through a POSIX lock on byte 128 of
// its -shm file (the "DMS" lock, walformat.html); a process that finds none takes itself for
// the first, truncates the file and rebuilds the WAL index under the running store (a
// server killed by SIGBUS, a WAL index rebuilt under its writer). Closing any descriptor of
// the file drops the process's locks on it, so the store must never open one beside
// SQLite's: not to watch the WAL index (unchanged.h), not when a second store opens the
// same file in the same process.
TEST_F(SqliteStoreTest, WhileOpenItKeepsTheLockThatTellsOtherProcessesTheDatabaseIsInUse) {
  std::unique_ptr<KeyStore> store = MustOpen(db_path_);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->InsertKey(Key("id-1", "first"), {}).ok());
  for (int i = 0; i < 3; ++i) {  // the generations read, then from the memo
    std::unique_ptr<KeyReader> snapshot = store->Snapshot();
    ASSERT_TRUE(snapshot->AuthGeneration().ok());
  }
  ASSERT_GT(sql::DiagnosticsOf(*store)->unchanged_hits(), 0);  // the watch is in use
  const fs::path shm = db_path_.string() + "-shm";
  // And the database file's SHARED lock (the byte after PENDING and RESERVED, at 1 GiB),
  // which a connection in WAL mode holds while it is open: with it no other process's
  // close checkpoints and deletes the WAL under the store.
  constexpr off_t kShared = 0x40000002;
  auto in_use = [&] {
    return LockedByThisProcess(shm, 128) && LockedByThisProcess(db_path_, kShared);
  };
  EXPECT_TRUE(in_use());

  std::unique_ptr<KeyStore> second = MustOpen(db_path_);
  ASSERT_NE(second, nullptr);
  second.reset();
  EXPECT_TRUE(in_use());
  ASSERT_TRUE(store->InsertKey(Key("id-2", "second"), {}).ok());
  EXPECT_TRUE(in_use());
  store.reset();
  // The question tells the two apart.
  EXPECT_FALSE(LockedByThisProcess(shm, 128));
  EXPECT_FALSE(LockedByThisProcess(db_path_, kShared));
}

// A page read under a work budget stops when it would walk far past what it returns, and
// fails as kResourceExhausted without leaving the connection stopped for the next read.
TEST_F(SqliteStoreTest, AListStopsAtItsWorkBudget) {
  std::unique_ptr<KeyStore> store = MustOpen(db_path_);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 100; ++i) {  // user 5's, the oldest
    KeyRecord k = Key("seen-" + std::to_string(i), "seen-" + std::to_string(i));
    k.user_id = 5;
    k.created_at_us = 10 + i;
    ASSERT_TRUE(store->InsertKey(k, {}).ok());
  }
  KeyRecord hidden = Key("hidden-0", "hidden-0");  // user 2's, not shared: newer
  hidden.shared_in_project = false;
  hidden.created_at_us = 1000;
  ASSERT_TRUE(store->InsertKey(hidden, {}).ok());
  {
    RawDb raw(db_path_);
    raw.Exec("BEGIN; CREATE TEMP TABLE t AS SELECT * FROM keys WHERE id = 'hidden-0'");
    for (int i = 1; i < 6000; ++i) {
      const std::string n = std::to_string(i);
      raw.Exec("UPDATE t SET id = 'hidden-" + n + "', name = 'hidden-" + n + "', created_at_us = " +
               std::to_string(1000 + i) + "; INSERT INTO keys SELECT * FROM t");
    }
    raw.Exec("COMMIT");
  }
  ListQuery q;
  q.project_id = 1;
  q.visible_to_user = 5;
  q.limit = 100;
  q.work_budget = kShortPageWork;
  std::unique_ptr<KeyReader> snapshot = store->Snapshot();
  StatusOr<KeyPage> oldest = snapshot->ListKeys(q);  // the 100 it sees come first
  ASSERT_TRUE(oldest.ok()) << oldest.status().message();
  EXPECT_EQ(oldest->keys.size(), 100u);
  EXPECT_EQ(oldest->total, 100);
  q.order = OrderBy::kCreatedAtDesc;  // 6 000 it does not see come first
  EXPECT_EQ(snapshot->ListKeys(q).status().code(), StatusCode::kResourceExhausted);
  q.work_budget = 0;
  StatusOr<KeyPage> unbounded = snapshot->ListKeys(q);
  ASSERT_TRUE(unbounded.ok()) << unbounded.status().message();
  EXPECT_EQ(unbounded->keys.size(), 100u);
  EXPECT_EQ(unbounded->keys.front().id, "seen-99");
  q.visible_to_user = 2;  // the owner of the 6 000 sees them first
  q.work_budget = kShortPageWork;
  StatusOr<KeyPage> owner = snapshot->ListKeys(q);
  ASSERT_TRUE(owner.ok()) << owner.status().message();
  EXPECT_EQ(owner->keys.front().id, "hidden-5999");
}

// A page that fits its budget fits it every time: the budget is per run of the (cached)
// statement, not spent over its runs.
TEST_F(SqliteStoreTest, APageThatFitsItsWorkBudgetFitsItEveryTime) {
  std::unique_ptr<KeyStore> store = MustOpen(db_path_);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 100; ++i) {
    KeyRecord k = Key("k-" + std::to_string(i), "k-" + std::to_string(i));
    k.created_at_us = 10 + i;
    ASSERT_TRUE(store->InsertKey(k, {}).ok());
  }
  ListQuery q;
  q.project_id = 1;
  q.visible_to_user = 5;  // sees the 100 (shared)
  q.limit = 100;
  q.work_budget = kShortPageWork;  // some 15 times what one page of these takes: counted
                                   // over the runs, it would stop the 16th
  std::unique_ptr<KeyReader> snapshot = store->Snapshot();
  for (int run = 0; run < 20; ++run) {
    StatusOr<KeyPage> page = snapshot->ListKeys(q);
    ASSERT_TRUE(page.ok()) << "run " << run << ": " << page.status().message();
    EXPECT_EQ(page->keys.size(), 100u);
  }
}

TEST_F(SqliteStoreTest, ASnapshotWithoutAFreeConnectionFailsItsReadsAsUnavailable) {
  auto opened = Open(db_path_, true, /*pool_size=*/1);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  KeyStore& store = **opened;
  std::unique_ptr<KeyReader> holder = store.Snapshot();
  ASSERT_EQ(holder->GetKey("x").status().code(), StatusCode::kNotFound);
  // The only reader connection is pinned: a second snapshot waits the busy timeout,
  // then reports kUnavailable on every read instead of failing to exist.
  std::unique_ptr<KeyReader> starved = store.Snapshot();
  EXPECT_EQ(starved->GetKey("x").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(starved->GetToken("x").status().code(), StatusCode::kUnavailable);
}

TEST_F(SqliteStoreTest, AsyncInsertReportsOnceAfterTheKeyIsReadable) {
  auto store = MustOpen(db_path_);
  ASSERT_NE(store, nullptr);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Status> results;
  KeyStore* raw = store.get();
  bool visible_when_done = false;
  store->InsertKeyAsync(Key("async-1", "async"), {}, [&](Status s) {
    // Committed before `done`: another connection already sees the key.
    visible_when_done = raw->GetKey("async-1").ok();
    std::lock_guard lock(mu);
    results.push_back(std::move(s));
    cv.notify_one();
  });
  store->InsertKeyAsync(Key("async-2", "async"), {}, [&](Status s) {
    std::lock_guard lock(mu);
    results.push_back(std::move(s));
    cv.notify_one();
  });
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return results.size() == 2; }));
  EXPECT_TRUE(results[0].ok()) << results[0].message();
  EXPECT_EQ(results[1].code(), StatusCode::kAlreadyExists);  // same name, same project
  EXPECT_TRUE(visible_when_done);
}

// The audit trail's promise: a change never lands without its event. A trigger makes
// every event insert fail (as a full disk or a bug would); the change goes with it, while
// the writes beside it in the same group commit still land.
TEST_F(SqliteStoreTest, AChangeWhoseEventFailsIsNotMade) {
  auto store = MustOpen(db_path_);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->InsertKey(Key("kept", "kept"), {}).ok());
  RawDb raw(db_path_);
  raw.Exec("CREATE TRIGGER no_events BEFORE INSERT ON events BEGIN "
           "SELECT RAISE(ABORT, 'injected'); END");
  EventRecord event;
  event.id = "e1";
  event.action = "key.create";
  EXPECT_FALSE(store->InsertKey(Key("lost", "lost"), event).ok());
  EXPECT_EQ(store->GetKey("lost").status().code(), StatusCode::kNotFound);
  event.action = "key.delete";
  EXPECT_FALSE(store->DeleteKey("kept", std::nullopt, event).ok());
  EXPECT_TRUE(store->GetKey("kept").ok());

  std::latch done(2);
  Status with_event, without;
  event.action = "key.create";
  store->InsertKeyAsync(Key("async-lost", "a1"), event, [&](Status s) {
    with_event = std::move(s);
    done.count_down();
  });
  store->InsertKeyAsync(Key("async-kept", "a2"), {}, [&](Status s) {
    without = std::move(s);
    done.count_down();
  });
  done.wait();
  EXPECT_FALSE(with_event.ok());
  EXPECT_TRUE(without.ok()) << without.message();
  EXPECT_EQ(store->GetKey("async-lost").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store->GetKey("async-kept").ok());
  // A user's and a grant's change too.
  event.action = "user.sign_in";
  EXPECT_FALSE(store->SignIn(testing::Person("sub-1"), 5, event).ok());
  EXPECT_TRUE(store->ListUsers()->empty());
  event.action = "grant.create";
  EXPECT_FALSE(store->InsertGrant(testing::ViewerGrant("g1"), event).ok());
  EXPECT_TRUE(store->ListGrants()->empty());
  EXPECT_THAT(raw.Column("SELECT count(*) FROM events"), ElementsAre("0"));

  raw.Exec("DROP TRIGGER no_events");
  event.action = "key.create";
  EXPECT_TRUE(store->InsertKey(Key("lost", "lost"), event).ok());
  EXPECT_THAT(raw.Column("SELECT id FROM events"), ElementsAre("e1"));
}

TEST_F(SqliteStoreTest, CreatesMissingParentDirectoriesAndFileWithPrivateModes) {
  const fs::path path = dir_ / "a" / "b" / "keys.db";
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Mode(dir_ / "a"), 0700u);
  EXPECT_EQ(Mode(dir_ / "a" / "b"), 0700u);
  EXPECT_EQ(Mode(path), 0600u);
  ASSERT_TRUE(store->InsertKey(Key("id", "k"), {}).ok());
  EXPECT_EQ(Mode(path.string() + "-wal"), 0600u);
  EXPECT_EQ(Mode(path.string() + "-shm"), 0600u);
}

TEST_F(SqliteStoreTest, RelativePathWithoutDirectoryWorks) {
  const fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  {
    auto store = OpenStore("sqlite:plain.db");
    EXPECT_TRUE(store.ok()) << store.status().message();
  }
  fs::current_path(cwd);
  EXPECT_TRUE(fs::exists(dir_ / "plain.db"));
}

TEST_F(SqliteStoreTest, DataPersistsAcrossReopen) {
  TokenRecord token;
  token.id = "0123456789abcdef";
  token.user_id = 9;
  token.projects = {1, 2};
  token.secret_hash = std::string(32, '\0');
  token.created_at_us = 77;
  {
    auto store = MustOpen(db_path_);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->InsertKey(Key("id-1", "kept"), {}).ok());
    ASSERT_TRUE(store->InsertToken(token, {}).ok());
  }
  auto store = MustOpen(db_path_);
  ASSERT_NE(store, nullptr);
  auto key = store->GetKey("id-1");
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(*key, Key("id-1", "kept"));
  auto got = store->GetToken(token.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, token);
}

TEST_F(SqliteStoreTest, FileIsInWalMode) {
  auto store = MustOpen(db_path_);
  ASSERT_NE(store, nullptr);
  RawDb raw(db_path_);
  EXPECT_THAT(raw.Column("PRAGMA journal_mode"), ::testing::ElementsAre("wal"));
}

TEST_F(SqliteStoreTest, EveryConnectionHasWalForeignKeysAndBusyTimeout) {
  auto store = Open(db_path_, true, /*pool_size=*/3);
  ASSERT_TRUE(store.ok()) << store.status().message();
  sql::Diagnostics* diagnostics = sql::DiagnosticsOf(**store);
  ASSERT_NE(diagnostics, nullptr);
  // The writer and three readers.
  const std::pair<const char*, const char*> kExpected[] = {{"PRAGMA journal_mode", "wal"},
                                                           {"PRAGMA foreign_keys", "1"},
                                                           {"PRAGMA busy_timeout", "5000"}};
  for (const auto& [pragma, value] : kExpected) {
    auto values = diagnostics->OnEveryConnection(pragma);
    ASSERT_TRUE(values.ok()) << values.status().message();
    EXPECT_THAT(*values, ::testing::ElementsAre(value, value, value, value)) << pragma;
  }
  // The writer's commits do not wait for the disk (NORMAL): its syncer thread syncs the
  // WAL before answering (the tests below); the readers keep FULL, which costs them
  // nothing.
  auto synchronous = diagnostics->OnEveryConnection("PRAGMA synchronous");
  ASSERT_TRUE(synchronous.ok());
  EXPECT_THAT(*synchronous, ::testing::ElementsAre("1", "2", "2", "2"));
}

TEST_F(SqliteStoreTest, OnlySqlStoresHaveDiagnostics) {
  auto memory = NewMemoryStore();
  EXPECT_EQ(sql::DiagnosticsOf(*memory), nullptr);
  auto sqlite = MustOpen(db_path_);
  ASSERT_NE(sqlite, nullptr);
  EXPECT_NE(sql::DiagnosticsOf(*sqlite), nullptr);
}

TEST_F(SqliteStoreTest, MigrationsAreRecordedOnceAfterTwoOpens) {
  ASSERT_NE(MustOpen(db_path_), nullptr);
  ASSERT_NE(MustOpen(db_path_), nullptr);
  RawDb raw(db_path_);
  EXPECT_EQ(raw.Column("SELECT version FROM schema_migrations ORDER BY version"), AllVersions());
  EXPECT_THAT(raw.Column("SELECT applied_at FROM schema_migrations"), Each(HasSubstr("T")));
}

TEST_F(SqliteStoreTest, ConcurrentOpenersMigrateOnce) {
  constexpr int kOpeners = 8;
  std::vector<std::thread> threads;
  std::vector<Status> results(kOpeners);
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] { results[i] = Open(db_path_).status(); });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.message();
  RawDb raw(db_path_);
  EXPECT_EQ(raw.Column("SELECT version FROM schema_migrations ORDER BY version"), AllVersions());
}

TEST_F(SqliteStoreTest, FreshDatabaseWithoutApplyingMigrationsAsksToRunMigrate) {
  auto store = Open(db_path_, /*apply=*/false);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(store.status().message(), HasSubstr("run `keypaird migrate`"));

  ASSERT_NE(MustOpen(db_path_), nullptr);  // what `keypaird migrate` does
  auto again = Open(db_path_, /*apply=*/false);
  EXPECT_TRUE(again.ok()) << again.status().message();
}

TEST_F(SqliteStoreTest, PartlyMigratedDatabaseGetsOnlyTheMissingSteps) {
  ASSERT_NE(MustOpen(db_path_), nullptr);
  const int latest = sql::LatestSchemaVersion();
  ASSERT_GE(latest, 3);
  {
    RawDb raw(db_path_);  // roll step 3 (key_counts) back by hand
    raw.Exec(
        "DROP TRIGGER keys_counted_insert; DROP TRIGGER keys_counted_delete; "
        "DROP TRIGGER keys_counted_update; DROP TABLE key_counts; "
        "DELETE FROM schema_migrations WHERE version = 3");
  }
  auto behind = Open(db_path_, /*apply=*/false);
  ASSERT_FALSE(behind.ok());
  EXPECT_THAT(behind.status().message(), HasSubstr("keypaird migrate"));

  auto store = MustOpen(db_path_);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->ListTokens().ok());
  RawDb raw(db_path_);
  EXPECT_EQ(raw.Column("SELECT version FROM schema_migrations ORDER BY version"), AllVersions());
}

// Migration 8 makes a token user of every user id in tokens and keys (made when first
// seen), so that no person signing in later gets one of their ids.
TEST_F(SqliteStoreTest, MigrationMakesATokenUserOfEveryUserAlreadyThere) {
  {
    auto store = MustOpen(db_path_);
    ASSERT_NE(store, nullptr);
    Status s = testing::AddTokensAndKeysOfUsers3And9(*store);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  {
    RawDb raw(db_path_);  // a database at migration 7
    raw.Exec(
        "DROP TABLE users; DROP TABLE grants; DELETE FROM schema_migrations WHERE version = 8");
  }
  auto store = MustOpen(db_path_);
  ASSERT_NE(store, nullptr);
  Status s = testing::CheckUsersOf3And9(*store);
  EXPECT_TRUE(s.ok()) << s.message();
}

// Back to the schema before migration 13 (CA rotation).
constexpr char kBefore13[] = R"sql(
  DROP INDEX certificates_by_ca_key;
  DROP INDEX host_certificates_by_ca_key;
  ALTER TABLE certificates DROP COLUMN ca_generation;
  ALTER TABLE host_certificates DROP COLUMN ca_generation;
  ALTER TABLE ssh_cas DROP COLUMN generation;
  DROP TABLE ssh_ca_old_keys;
  DELETE FROM schema_migrations WHERE version = 13;
)sql";

// Migration 9 lets a certificate have no stored key (key_id NULL). SQLite rebuilds the table
// for it: the certificates recorded before keep every field.
TEST_F(SqliteStoreTest, MigrationKeepsTheCertificatesAndAllowsOnesWithoutAKey) {
  {
    auto store = MustOpen(db_path_);
    ASSERT_NE(store, nullptr);
    Status s = testing::AddACertificateOfAStoredKey(*store);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  {
    RawDb raw(db_path_);  // back to the table of migration 5, key_id NOT NULL
    raw.Exec(kBefore13);
    raw.Exec(R"sql(
      ALTER TABLE certificates RENAME TO certificates_9;
      CREATE TABLE certificates (
        project_id INTEGER NOT NULL, serial INTEGER NOT NULL, key_id TEXT NOT NULL,
        key_owner_id INTEGER NOT NULL, key_sha256 BLOB NOT NULL, principals TEXT NOT NULL,
        valid_after_s INTEGER NOT NULL, valid_before_s INTEGER NOT NULL,
        issued_at_us INTEGER NOT NULL, issued_by TEXT NOT NULL, revoked_at_us INTEGER,
        PRIMARY KEY (project_id, serial));
      INSERT INTO certificates SELECT * FROM certificates_9;
      DROP TABLE certificates_9;
      CREATE INDEX certificates_by_key ON certificates (key_id);
      DELETE FROM schema_migrations WHERE version = 9;
    )sql");
  }
  auto store = MustOpen(db_path_);
  ASSERT_NE(store, nullptr);
  Status s = testing::CheckCertificatesAfterMigration9(*store);
  EXPECT_TRUE(s.ok()) << s.message();
}

// Migration 12 keys the CAs by (project, kind): SQLite rebuilds ssh_cas, and the CAs made
// before are the projects' user CAs, their serials going on.
TEST_F(SqliteStoreTest, MigrationKeepsEachCaAsTheProjectsUserCa) {
  {
    auto store = MustOpen(db_path_);
    ASSERT_NE(store, nullptr);
    Status s = testing::AddAUserCaWithTwoSerials(*store);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  {
    RawDb raw(db_path_);  // back to ssh_cas of migration 5
    raw.Exec(kBefore13);
    raw.Exec(R"sql(
      ALTER TABLE ssh_cas RENAME TO ssh_cas_12;
      CREATE TABLE ssh_cas (
        project_id INTEGER PRIMARY KEY NOT NULL, public_key TEXT NOT NULL,
        sealed_seed BLOB NOT NULL, created_at_us INTEGER NOT NULL,
        next_serial INTEGER NOT NULL DEFAULT 1);
      INSERT INTO ssh_cas SELECT project_id, public_key, sealed_seed, created_at_us, next_serial
        FROM ssh_cas_12;
      DROP TABLE ssh_cas_12;
      DROP TABLE hosts;
      DROP TABLE host_certificates;
      DELETE FROM schema_migrations WHERE version = 12;
    )sql");
  }
  auto store = MustOpen(db_path_);
  ASSERT_NE(store, nullptr);
  Status s = testing::CheckCasAfterMigration12(*store);
  EXPECT_TRUE(s.ok()) << s.message();
}

// Migration 13 adds CA rotation: the CAs and certificates made before are generation 1.
TEST_F(SqliteStoreTest, MigrationMakesEachCaAndCertificateTheFirstGeneration) {
  {
    auto store = MustOpen(db_path_);
    ASSERT_NE(store, nullptr);
    Status s = testing::AddACertificateOfAStoredKey(*store);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  {
    RawDb raw(db_path_);
    raw.Exec(kBefore13);
  }
  auto store = MustOpen(db_path_);
  ASSERT_NE(store, nullptr);
  Status s = testing::CheckCasAfterMigration13(*store);
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST_F(SqliteStoreTest, DatabaseFromANewerVersionIsRefused) {
  ASSERT_NE(MustOpen(db_path_), nullptr);
  {
    RawDb raw(db_path_);
    raw.Exec("INSERT INTO schema_migrations VALUES (999, '2030-01-01T00:00:00Z')");
  }
  for (bool apply : {true, false}) {
    auto store = Open(db_path_, apply);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
    EXPECT_THAT(store.status().message(), HasSubstr("newer keypaird"));
  }
}

TEST_F(SqliteStoreTest, UnknownSchemeOrBadUrlIsInvalidArgument) {
  for (const char* url : {"", "mysql://u:secret@db/keys", "sqlite", "sqlite:", "file:keys.db"}) {
    auto store = OpenStore(url);
    ASSERT_FALSE(store.ok()) << url;
    EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument) << url;
    EXPECT_THAT(store.status().message(), Not(HasSubstr("secret")));
  }
  StoreOptions no_pool;
  no_pool.pool_size = 0;
  EXPECT_EQ(OpenStore("sqlite::memory:", no_pool).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteStoreTest, UncreatableDirectoryIsUnavailableWithoutThePath) {
  { std::ofstream(dir_ / "file") << "x"; }
  const fs::path path = dir_ / "file" / "sub" / "keys.db";  // parent is a regular file
  auto store = Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(store.status().message(), Not(HasSubstr(dir_.string())));
}

TEST_F(SqliteStoreTest, FileThatIsNotADatabaseIsUnavailableWithoutThePath) {
  { std::ofstream(db_path_) << std::string(4096, 'x'); }
  auto store = Open(db_path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(store.status().message(), Not(HasSubstr(dir_.string())));
}

TEST_F(SqliteStoreTest, MemoryDatabasesArePrivate) {
  auto a = OpenStore("sqlite::memory:");
  auto b = OpenStore("sqlite::memory:");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->InsertKey(Key("id", "only-in-a"), {}).ok());
  EXPECT_TRUE((*a)->GetKey("id").ok());
  EXPECT_EQ((*b)->GetKey("id").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(":memory:"));
}

// A page of one project, in any order and with the visibility/owner filters, walks an
// index: no sort step (a "TEMP B-TREE") and no full scan.
TEST_F(SqliteStoreTest, ProjectPagesAreIndexWalksInEveryOrder) {
  auto store = MustOpen(db_path_);
  ASSERT_NE(store, nullptr);
  for (OrderBy order :
       {OrderBy::kCreatedAtAsc, OrderBy::kCreatedAtDesc, OrderBy::kNameAsc, OrderBy::kNameDesc}) {
    for (int filters = 0; filters < 4; ++filters) {
      ListQuery q;
      q.project_id = 5;
      q.order = order;
      q.offset = 20;
      q.limit = 10;
      if (filters & 1) q.visible_to_user = 3;
      if (filters & 2) q.owner_id = 3;
      auto plan = sql::DiagnosticsOf(*store)->ExplainListKeys(q);
      ASSERT_TRUE(plan.ok()) << plan.status().message();
      std::string joined;
      for (const auto& line : *plan) joined += line + "\n";
      SCOPED_TRACE("order " + std::to_string(static_cast<int>(order)) + " filters " +
                   std::to_string(filters) + ":\n" + joined);
      EXPECT_THAT(joined, HasSubstr("USING INDEX"));
      EXPECT_THAT(joined, Not(HasSubstr("TEMP B-TREE")));
    }
  }
}

// Keyset pages, label selectors with an equality term and fingerprint lookups are index
// walks too: a deep page costs what the first one costs, and a selector does not scan the
// project.
TEST_F(SqliteStoreTest, KeysetLabelAndFingerprintPagesAreIndexWalks) {
  auto store = MustOpen(db_path_);
  ASSERT_NE(store, nullptr);
  struct Case {
    const char* what;
    ListQuery query;
    const char* index;
  };
  ListQuery keyset;
  keyset.project_id = 5;
  keyset.order = OrderBy::kCreatedAtDesc;
  keyset.after = KeyCursor{100, "n", "some-id"};
  keyset.limit = 10;
  keyset.with_total = false;
  ListQuery by_name = keyset;
  by_name.order = OrderBy::kNameAsc;
  ListQuery labelled = keyset;
  labelled.labels = {{LabelTerm::Op::kEquals, "team", "db"}, {LabelTerm::Op::kNotExists, "x", ""}};
  ListQuery labelled_asc = labelled;
  labelled_asc.order = OrderBy::kCreatedAtAsc;
  ListQuery fingerprint;
  fingerprint.fingerprint_sha256 = "SHA256:abc";
  fingerprint.project_ids = {1, 2};
  fingerprint.order = OrderBy::kCreatedAtDesc;  // the native API's order, the index's
  ListQuery md5 = fingerprint;
  md5.fingerprint_sha256.clear();
  md5.fingerprint = "3f:9a:11:0c:5e:7d:21:aa:b0:c4:19:8e:55:01:de:42";
  const Case cases[] = {
      {"keyset created desc", keyset, "keys_by_project_created_desc"},
      {"keyset name", by_name, "sqlite_autoindex_keys_2"},
      {"label, created desc", labelled, "key_labels_by_value_desc"},
      {"label, created asc", labelled_asc, "key_labels_by_value"},
      {"fingerprint", fingerprint, "keys_by_fingerprint_sha256"},
      {"md5 fingerprint", md5, "keys_by_fingerprint "},
  };
  for (const Case& c : cases) {
    auto plan = sql::DiagnosticsOf(*store)->ExplainListKeys(c.query);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    std::string joined;
    for (const auto& line : *plan) joined += line + "\n";
    SCOPED_TRACE(std::string(c.what) + ":\n" + joined);
    EXPECT_THAT(joined, HasSubstr(c.index));
    // Fingerprints too (migration 6): a key shared by many projects costs one page.
    EXPECT_THAT(joined, Not(HasSubstr("TEMP B-TREE")));
  }
  // Oldest first, the fingerprint index gives the creation order backwards and only keys
  // created in the same microsecond are sorted (by id), as the walk goes: still one page.
  fingerprint.order = OrderBy::kCreatedAtAsc;
  auto plan = sql::DiagnosticsOf(*store)->ExplainListKeys(fingerprint);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  std::string joined;
  for (const auto& line : *plan) joined += line + "\n";
  EXPECT_THAT(joined, HasSubstr("keys_by_fingerprint_sha256")) << joined;
  EXPECT_THAT(joined, Not(HasSubstr("TEMP B-TREE FOR ORDER BY"))) << joined;
}

// Migration 3 counts the keys already there; the triggers then follow inserts, deletes
// and sharing changes, so list totals stay exact without counting rows.
TEST_F(SqliteStoreTest, ListTotalsCountKeysFromBeforeTheCountsMigrationAndAfter) {
  {
    auto store = MustOpen(db_path_);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 5; ++i) {
      KeyRecord k = Key("old-" + std::to_string(i), "old-" + std::to_string(i));
      k.user_id = 2 + i % 2;             // owners 2 and 3
      k.shared_in_project = i % 3 != 0;  // 0 and 3 unshared
      ASSERT_TRUE(store->InsertKey(k, {}).ok());
    }
  }
  {
    RawDb raw(db_path_);  // make it a database from before migration 3
    raw.Exec(
        "DROP TRIGGER keys_counted_insert; DROP TRIGGER keys_counted_delete; "
        "DROP TRIGGER keys_counted_update; DROP TABLE key_counts; "
        "DELETE FROM schema_migrations WHERE version = 3");
  }
  auto store = MustOpen(db_path_);
  ASSERT_NE(store, nullptr);
  auto total = [&](std::optional<int64_t> viewer, std::optional<int64_t> owner) {
    ListQuery q;
    q.project_id = 1;
    q.visible_to_user = viewer;
    q.owner_id = owner;
    q.limit = 0;
    auto page = store->ListKeys(q);
    EXPECT_TRUE(page.ok());
    return page.ok() ? page->total : -1;
  };
  EXPECT_EQ(total(std::nullopt, std::nullopt), 5);
  EXPECT_EQ(total(2, std::nullopt), 4);  // 1, 2, 4 shared + own unshared 0
  EXPECT_EQ(total(3, std::nullopt), 4);  // 1, 2, 4 shared + own unshared 3
  EXPECT_EQ(total(9, std::nullopt), 3);
  EXPECT_EQ(total(std::nullopt, 3), 2);

  KeyUpdate unshare;
  unshare.shared_in_project = false;
  ASSERT_TRUE(store->UpdateKey("old-1", unshare, std::nullopt, {}).ok());  // owner 3
  ASSERT_TRUE(store->DeleteKey("old-2", std::nullopt, {}).ok());                         // owner 2, shared
  ASSERT_TRUE(store->InsertKey(Key("new", "new"), {}).ok());               // owner 2, shared
  EXPECT_EQ(total(std::nullopt, std::nullopt), 5);
  EXPECT_EQ(total(2, std::nullopt), 3);  // 4, new + own 0
  EXPECT_EQ(total(3, std::nullopt), 4);  // 4, new + own 1, 3
  EXPECT_EQ(total(9, std::nullopt), 2);
  ListQuery named;
  named.project_id = 1;
  named.name_contains = "OLD";
  named.limit = 0;
  EXPECT_EQ(store->ListKeys(named)->total, 4);  // a name filter counts rows
}

// Group commit: concurrent writers share transactions (fewer commits than ops), and each
// caller gets its own result even when other ops in its batch fail.
TEST_F(SqliteStoreTest, ConcurrentWritesShareCommitsAndEachCallerGetsItsOwnResult) {
  auto store = MustOpen(db_path_);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->InsertKey(Key("taken-id", "taken"), {}).ok());
  StatusOr<sql::WriteStats> before = sql::DiagnosticsOf(*store)->write_stats();
  ASSERT_TRUE(before.ok()) << before.status().message();

  constexpr int kThreads = 64;
  constexpr int kRounds = 10;
  std::latch start(kThreads);
  std::atomic<int> wrong{0};
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int r = 0; r < kRounds; ++r) {
        const std::string id = "id-" + std::to_string(t) + "-" + std::to_string(r);
        auto fail = [&](const std::string& what) {
          ++wrong;
          errors[t] = id + ": " + what;
        };
        // Every op of this round: a clash that must fail alone, a fresh insert that must
        // succeed, an update that must return this caller's own row, a delete of a
        // missing id.
        if (store->InsertKey(Key(id + "-dup", "taken"), {}).code() != StatusCode::kAlreadyExists) {
          fail("clash not reported");
        }
        if (!store->InsertKey(Key(id, "name-" + id), {}).ok()) fail("insert failed");
        KeyUpdate unshare;
        unshare.shared_in_project = false;
        auto updated = store->UpdateKey(id, unshare, std::nullopt, {});
        if (!updated.ok() || updated->id != id || updated->name != "name-" + id ||
            updated->shared_in_project) {
          fail("UpdateKey returned another row");
        }
        if (store->DeleteKey(id + "-missing", std::nullopt, {}).code() != StatusCode::kNotFound) {
          fail("delete of a missing id not NotFound");
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0) << [&] {
    std::string all;
    for (const auto& e : errors) all += e.empty() ? "" : e + "\n";
    return all;
  }();

  StatusOr<sql::WriteStats> after = sql::DiagnosticsOf(*store)->write_stats();
  ASSERT_TRUE(after.ok());
  const int64_t ops = after->operations - before->operations;
  const int64_t txns = after->transactions - before->transactions;
  EXPECT_EQ(ops, int64_t{kThreads} * kRounds * 4);
  EXPECT_LT(txns, ops / 2) << "writes were not batched";
  EXPECT_GT(after->largest_batch, 1);
  // Every answered write had its transaction synced, and a sync served many writes.
  EXPECT_EQ(after->synced_transactions, after->transactions);
  EXPECT_LT(after->syncs - before->syncs, ops / 2) << "writes did not share syncs";

  // Every successful insert is there (and only those), with its update applied.
  RawDb raw(db_path_);
  EXPECT_THAT(raw.Column("SELECT count(*) FROM keys"),
              ::testing::ElementsAre(std::to_string(kThreads * kRounds + 1)));
  EXPECT_THAT(raw.Column("SELECT count(*) FROM keys WHERE shared_in_project = 0"),
              ::testing::ElementsAre(std::to_string(kThreads * kRounds)));
}

// A writer alone pays one transaction per op: no waiting for company.
TEST_F(SqliteStoreTest, SequentialWritesCommitOneByOne) {
  auto store = MustOpen(db_path_);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store->InsertKey(Key("id-" + std::to_string(i), "k-" + std::to_string(i)), {}).ok());
    // Answered only once its commit was synced: one sync per commit when alone.
    const sql::WriteStats stats = sql::DiagnosticsOf(*store)->write_stats();
    EXPECT_EQ(stats.synced_transactions, stats.transactions);
    EXPECT_EQ(stats.syncs, stats.transactions);
  }
  EXPECT_EQ(store->InsertKey(Key("id-9", "k-0"), {}).code(), StatusCode::kAlreadyExists);
  StatusOr<sql::WriteStats> stats = sql::DiagnosticsOf(*store)->write_stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->operations, 6);
  EXPECT_EQ(stats->transactions, 6);
  EXPECT_EQ(stats->largest_batch, 1);
}

// A failed sync leaves the disk's state unknown: the write is not acknowledged, and the
// store takes no more writes (and is not ready) until it is opened again.
TEST_F(SqliteStoreTest, AFailedSyncStopsWritesUntilTheStoreIsOpenedAgain) {
  {
    auto store = MustOpen(db_path_);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->InsertKey(Key("id-1", "before"), {}).ok());
    sql::DiagnosticsOf(*store)->FailNextSyncForTesting();
    Status failed = store->InsertKey(Key("id-2", "unsynced"), {});
    EXPECT_EQ(failed.code(), StatusCode::kUnavailable);
    EXPECT_THAT(failed.message(), HasSubstr("durable"));
    EXPECT_EQ(store->InsertKey(Key("id-3", "after"), {}).code(), StatusCode::kUnavailable);
    EXPECT_EQ(store->DeleteKey("id-1", std::nullopt, {}).code(), StatusCode::kUnavailable);
    EXPECT_EQ(store->Ping().code(), StatusCode::kUnavailable);
    EXPECT_TRUE(store->GetKey("id-1").ok());  // reads go on
    EXPECT_EQ(store->GetKey("id-3").status().code(), StatusCode::kNotFound);
  }
  auto reopened = MustOpen(db_path_);
  ASSERT_NE(reopened, nullptr);
  EXPECT_TRUE(reopened->Ping().ok());
  EXPECT_TRUE(reopened->InsertKey(Key("id-3", "after"), {}).ok());
  EXPECT_TRUE(reopened->GetKey("id-1").ok());
}

}  // namespace
}  // namespace keypaird::store
