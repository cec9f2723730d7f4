// KeyPool: keys generated ahead, handed out once, the pools kept at their depth, an empty
// pool generating on the caller's thread, and a stop that abandons a generation in progress.
#include "service/key_pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace keypaird::service {
namespace {

using sshkey::KeyType;

bool WaitForDepth(const KeyPool& pool, KeyType type, int depth) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (pool.Depth(type) < depth) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

TEST(KeyPoolTest, FillsToItsDepthAndHandsEachKeyOutOnce) {
  KeyPoolOptions options;
  options.depth = {{KeyType::kRsa2048, 3}};
  options.threads = 1;
  KeyPool pool(options);
  ASSERT_TRUE(WaitForDepth(pool, KeyType::kRsa2048, 3));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(pool.Depth(KeyType::kRsa2048), 3);  // not past its depth

  std::vector<sshkey::PrivateKey> taken;
  for (int i = 0; i < 3; ++i) {
    bool pooled = false;
    StatusOr<sshkey::PrivateKey> key = pool.Take(KeyType::kRsa2048, &pooled);
    ASSERT_TRUE(key.ok()) << key.status().message();
    EXPECT_TRUE(pooled);
    EXPECT_EQ(key->type(), KeyType::kRsa2048);
    for (const sshkey::PrivateKey& earlier : taken) EXPECT_FALSE(key->SameKeyAs(earlier));
    taken.push_back(std::move(*key));
  }
  // It refills.
  ASSERT_TRUE(WaitForDepth(pool, KeyType::kRsa2048, 1));
}

TEST(KeyPoolTest, AnUnpooledTypeIsGeneratedOnTheCallersThread) {
  KeyPoolOptions options;
  options.depth = {{KeyType::kRsa2048, 0}};
  options.threads = 1;
  KeyPool pool(options);
  for (KeyType type : {KeyType::kEd25519, KeyType::kRsa2048}) {
    bool pooled = true;
    StatusOr<sshkey::PrivateKey> key = pool.Take(type, &pooled);
    ASSERT_TRUE(key.ok()) << key.status().message();
    EXPECT_FALSE(pooled);
    EXPECT_EQ(key->type(), type);
    EXPECT_EQ(pool.Depth(type), 0);
  }
}

TEST(KeyPoolTest, AGenerationInProgressIsAbandonedAtTheStop) {
  KeyPoolOptions options;
  options.depth = {{KeyType::kRsa4096, 4}};
  options.threads = 2;
  Metrics metrics;
  {
    KeyPool pool(options, &metrics);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // both threads generating
  }
  // The destructor returned without either 4096-bit key being finished: no refill was
  // ever observed (one takes seconds, so a stop that waited would have recorded them).
  EXPECT_EQ(metrics.Render().find("keypaird_key_pool_refill_seconds_count{type=\"rsa-4096\"}"),
            std::string::npos);
}

}  // namespace
}  // namespace keypaird::service
