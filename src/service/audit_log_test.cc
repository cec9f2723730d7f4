// Who reads the audit trail, and its retention (service/audit_log.h), over the memory store.
#include "service/audit_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "store/testing/forwarding_store.h"

namespace keypaird::service {
namespace {

class CountingStore final : public store::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  StatusOr<int64_t> PruneEvents(int64_t before_us, int64_t max_rows) override {
    ++prunes;
    last_before_us = before_us;
    return inner()->PruneEvents(before_us, max_rows);
  }
  StatusOr<store::EventPage> ListEvents(const store::EventQuery& query) override {
    ++lists;
    return inner()->ListEvents(query);
  }
  std::atomic<int> prunes = 0;
  std::atomic<int> lists = 0;
  std::atomic<int64_t> last_before_us = 0;
};

void AddEvents(store::KeyStore& store, int count, int64_t time_us) {
  static int n = 0;
  for (int i = 0; i < count; ++i) {
    store::KeyRecord key;
    key.id = "k" + std::to_string(++n);
    key.project_id = 1;
    key.name = key.id;
    store::EventRecord event;
    event.id = "e" + std::to_string(n);
    event.action = "key.create";
    event.time_us = time_us;
    ASSERT_TRUE(store.InsertKey(key, event).ok());
  }
}

int64_t EventCount(store::KeyStore& store) {
  store::EventQuery q;
  q.with_total = true;
  q.limit = 0;
  return store.ListEvents(q)->total;
}

TEST(AuditLogTest, OnlyAdministratorsReadIt) {
  std::unique_ptr<store::KeyStore> store = store::NewMemoryStore();
  AddEvents(*store, 2, 10);
  AuditLog log(store.get());
  auth::Principal user;
  user.user_id = 1;
  user.projects = {1};
  EXPECT_EQ(log.List(user, {}).status().code(), StatusCode::kPermissionDenied);
  auth::Principal admin;
  admin.admin = true;
  EXPECT_EQ(log.List(admin, {})->events.size(), 2u);
}

TEST(AuditLogTest, AnEmptyPageIsStillRefusedToOthersAndReadsNothing) {
  // Gcore's user_actions asks for no rows when its filters can match no key event.
  std::unique_ptr<store::KeyStore> memory = store::NewMemoryStore();
  CountingStore store(memory.get());
  AddEvents(store, 2, 10);
  AuditLog log(&store);
  store::EventQuery nothing;
  nothing.limit = 0;
  nothing.with_total = false;
  auth::Principal user;
  user.user_id = 1;
  user.projects = {1};
  EXPECT_EQ(log.List(user, nothing).status().code(), StatusCode::kPermissionDenied);
  auth::Principal admin;
  admin.admin = true;
  StatusOr<store::EventPage> page = log.List(admin, nothing);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->events.empty());
  EXPECT_EQ(page->total, 0);
  EXPECT_EQ(store.lists, 0);
  nothing.with_total = true;
  EXPECT_EQ(log.List(admin, nothing)->total, 2);
  EXPECT_EQ(store.lists, 1);
}

constexpr int64_t kDay = int64_t{86400} * 1000000;

TEST(EventPrunerTest, APassDeletesWhatIsOlderThanTheRetentionInBatches) {
  std::unique_ptr<store::KeyStore> memory = store::NewMemoryStore();
  CountingStore store(memory.get());
  const int64_t now = 1000 * kDay;
  AddEvents(store, 25, now - 31 * kDay);  // past a 30-day retention
  AddEvents(store, 5, now - 29 * kDay);   // within it
  EventPruner pruner(&store, std::chrono::hours(24 * 30), [&] { return now; }, /*batch=*/10);
  auto pruned = pruner.PruneOnce();
  ASSERT_TRUE(pruned.ok()) << pruned.status().message();
  EXPECT_EQ(*pruned, 25);
  EXPECT_EQ(store.prunes, 3);  // 10, 10, 5: the short batch ends the pass
  EXPECT_EQ(store.last_before_us, now - 30 * kDay);
  EXPECT_EQ(EventCount(store), 5);
  EXPECT_EQ(pruner.PruneOnce().value(), 0);
}

TEST(EventPrunerTest, TheThreadPrunesAtOnceAndStopsWhenAsked) {
  std::unique_ptr<store::KeyStore> memory = store::NewMemoryStore();
  CountingStore store(memory.get());
  const int64_t now = 1000 * kDay;
  AddEvents(store, 3, now - 2 * kDay);
  EventPruner pruner(&store, std::chrono::hours(24), [&] { return now; });
  pruner.Start();
  for (int i = 0; i < 500 && EventCount(store) > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(EventCount(store), 0);
  pruner.Stop();  // within its one-minute wait: returns at once (the test would hang else)
  const int prunes = store.prunes;
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(store.prunes, prunes);
}

}  // namespace
}  // namespace keypaird::service
