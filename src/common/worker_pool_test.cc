#include "common/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

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

TEST(WorkerPoolTest, RefusesTasksPastTheQueueBound) {
  std::atomic<bool> release{false};
  std::atomic<bool> started{false};
  WorkerPool pool(1, 2);
  ASSERT_TRUE(pool.Submit([&] {
    started = true;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }));
  while (!started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(pool.Submit([] {}));
  EXPECT_TRUE(pool.Submit([] {}));
  EXPECT_FALSE(pool.Submit([] {}));  // two waiting already
  release = true;
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

namespace keypaird {
namespace {

TEST(WorkerPoolTest, WaitIdleReturnsOnceQueuedWorkIsDone) {
  std::atomic<int> done{0};
  WorkerPool pool(2);
  for (int i = 0; i < 50; ++i) {
    pool.Submit([&done] {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      ++done;
    });
  }
  EXPECT_TRUE(pool.WaitIdle(std::chrono::steady_clock::now() + std::chrono::seconds(30)));
  EXPECT_EQ(done.load(), 50);
}

TEST(WorkerPoolTest, WaitIdleGivesUpAtTheDeadline) {
  std::atomic<bool> release{false};
  WorkerPool pool(1);
  pool.Submit([&release] {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  EXPECT_FALSE(pool.WaitIdle(std::chrono::steady_clock::now() + std::chrono::milliseconds(50)));
  release = true;
}

}  // namespace
}  // namespace keypaird

#include "common/metrics.h"

namespace keypaird {
namespace {

TEST(MetricsTest, RendersCountersHistogramsAndGauges) {
  Metrics m;
  m.ObserveRequest("/cloud/v1/ssh_keys/{project_id}", "GET", 200, 0.002);
  m.ObserveRequest("/cloud/v1/ssh_keys/{project_id}", "GET", 200, 0.2);
  m.ObserveKeyGeneration("ed25519", 0.00005);
  m.ObserveStoreError("insert_key");
  m.ConnectionOpened();
  const std::string text = m.Render();
  EXPECT_NE(text.find("keypaird_http_requests_total{route=\"/cloud/v1/ssh_keys/{project_id}\","
                      "method=\"GET\",status=\"200\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("keypaird_http_request_duration_seconds_bucket{route=\"/cloud/v1/ssh_keys/"
                      "{project_id}\",method=\"GET\",le=\"0.0025\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("le=\"+Inf\"} 2"), std::string::npos);
  EXPECT_NE(text.find("keypaird_key_generations_total{type=\"ed25519\"} 1"), std::string::npos);
  EXPECT_NE(text.find("keypaird_store_errors_total{operation=\"insert_key\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("keypaird_open_connections 1"), std::string::npos);
}

}  // namespace
}  // namespace keypaird
