#include "service/generated_cache.h"

#include <gtest/gtest.h>

#include <string>

namespace keypaird::service {
namespace {

GeneratedText Text(std::string body) { return MakeGeneratedText(std::move(body)); }

TEST(GeneratedCacheTest, AKeptTextIsFoundOnlyForItsGenerationAndBeforeItsDeadline) {
  GeneratedCache cache;
  cache.Keep("p1", 5, 1000, Text("krl"));
  std::optional<GeneratedText> found = cache.Find("p1", 5, 999);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found->body, "krl");
  EXPECT_EQ(found->etag, MakeGeneratedText("krl").etag);
  EXPECT_FALSE(cache.Find("p1", 6, 999).has_value());   // a change since
  EXPECT_FALSE(cache.Find("p1", 5, 1000).has_value());  // its deadline
  EXPECT_FALSE(cache.Find("p2", 5, 0).has_value());
}

TEST(GeneratedCacheTest, ALookUpCarriesTheGenerationItReadAndFindsNothingWithout) {
  GeneratedCache cache;
  cache.Keep("p1", 5, GeneratedCache::kForever, Text("keys"));
  GeneratedLookup hit = cache.LookUp("p1", 5, 0);
  EXPECT_EQ(hit.generation, 5);
  ASSERT_TRUE(hit.kept.has_value());
  EXPECT_EQ(*hit.kept->body, "keys");
  GeneratedLookup later = cache.LookUp("p1", 6, 0);
  EXPECT_EQ(later.generation, 6);  // what a text built now is kept for
  EXPECT_FALSE(later.kept.has_value());
  GeneratedLookup none = cache.LookUp("p1", std::nullopt, 0);  // a store that keeps none
  EXPECT_FALSE(none.generation.has_value());
  EXPECT_FALSE(none.kept.has_value());
}

TEST(GeneratedCacheTest, AnOlderGenerationNeverReplacesANewerOne) {
  GeneratedCache cache;
  cache.Keep("p1", 7, GeneratedCache::kForever, Text("new"));
  cache.Keep("p1", 6, GeneratedCache::kForever, Text("old"));  // a slow builder
  EXPECT_FALSE(cache.Find("p1", 6, 0).has_value());
  ASSERT_TRUE(cache.Find("p1", 7, 0).has_value());
  EXPECT_EQ(*cache.Find("p1", 7, 0)->body, "new");
  cache.Keep("p1", 8, GeneratedCache::kForever, Text("newer"));
  EXPECT_EQ(*cache.Find("p1", 8, 0)->body, "newer");
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.bytes(), 5u);
}

TEST(GeneratedCacheTest, ItStaysWithinItsEntriesAndBytes) {
  GeneratedCache by_count(2, 1 << 20);
  for (int i = 0; i < 5; ++i) by_count.Keep("p" + std::to_string(i), 1, 100, Text("x"));
  EXPECT_LE(by_count.size(), 2u);
  EXPECT_TRUE(by_count.Find("p4", 1, 0).has_value());  // the newest is kept

  GeneratedCache by_bytes(100, 800);
  for (int i = 0; i < 20; ++i) {
    by_bytes.Keep("p" + std::to_string(i), 1, 100, Text(std::string(100, 'k')));
    EXPECT_LE(by_bytes.bytes(), 800u);
  }
  EXPECT_TRUE(by_bytes.Find("p19", 1, 0).has_value());
  by_bytes.Keep("big", 1, 100, Text(std::string(101, 'k')));  // over an eighth: never kept
  EXPECT_FALSE(by_bytes.Find("big", 1, 0).has_value());
  EXPECT_TRUE(by_bytes.Find("p19", 1, 0).has_value());  // and it evicted nothing
}

}  // namespace
}  // namespace keypaird::service
