#include "common/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>

#include "common/secret.h"

namespace keypaird {
namespace {

TEST(WorkerPoolTest, RunsEveryQueuedTaskBeforeShutdownReturns) {
  std::atomic<int> done{0};
  WorkerPool pool(3);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(pool.Submit([&done] { ++done; }));
  pool.Shutdown();
  EXPECT_EQ(done.load(), 1000);
}

TEST(WorkerPoolTest, RefusesTasksAfterShutdown) {
  WorkerPool pool(1);
  pool.Shutdown();
  EXPECT_FALSE(pool.Submit([] {}));
}

TEST(SecretStringTest, WipeEmptiesAndMoveLeavesSourceEmpty) {
  SecretString a(std::string(100, 'k'));
  SecretString b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(b.view(), std::string(100, 'k'));
  b.Wipe();
  EXPECT_TRUE(b.empty());
}

TEST(SecretStringTest, WipeStringZeroesTheWholeAllocation) {
  std::string s(64, 'x');
  const char* data = s.data();
  const size_t cap = s.capacity();
  WipeString(s);
  EXPECT_TRUE(s.empty());
  ASSERT_EQ(s.data(), data);  // no reallocation: the same bytes were overwritten
  for (size_t i = 0; i < cap; ++i) EXPECT_EQ(data[i], '\0') << i;
}

}  // namespace
}  // namespace keypaird
