#include "auth/token_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "auth/tokens.h"
#include "common/metrics.h"
#include "store/testing/forwarding_store.h"

namespace keypaird::auth {
namespace {

// Counts the token reads that reach the store; its snapshots read through it (each call on
// its own, as PostgreSQL's do), so that they are counted too.
class CountingStore final : public store::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  StatusOr<store::TokenRecord> GetToken(std::string_view id) override {
    ++token_reads;
    return ForwardingStore::GetToken(id);
  }
  // The default reader, which reads through this store (so its reads are counted).
  std::unique_ptr<store::KeyReader> Snapshot() override {
    return KeyStore::Snapshot();  // NOLINT(bugprone-parent-virtual-call): on purpose, above
  }
  std::atomic<int> token_reads{0};
};

class TokenCacheTest : public ::testing::Test {
 protected:
  // A token of `user` for project 1, stored; its string.
  std::string Mint(int64_t user = 7) {
    StatusOr<MintedToken> m = MintToken(user, false, {1}, 1000);
    EXPECT_TRUE(m.ok());
    EXPECT_TRUE(inner_->InsertToken(m->record, {}).ok());
    id_ = m->record.id;
    return "APIKey " + std::string(m->token.view());
  }
  // Authenticates as a request answered from one snapshot does.
  StatusOr<Principal> Request(const std::string& header) {
    std::unique_ptr<store::KeyReader> snapshot = store_.Snapshot();
    return auth_.Authenticate(header, snapshot.get());
  }
  std::string HitsAndMisses() const {
    const std::string text = metrics_.Render();
    std::string out;
    for (const char* result : {"hit", "miss"}) {
      const std::string series =
          std::string("keypaird_auth_cache_total{result=\"") + result + "\"} ";
      const size_t at = text.find(series);
      out += result + std::string("=") +
             (at == std::string::npos
                  ? "?"
                  : text.substr(at + series.size(), text.find('\n', at) - at - series.size())) +
             " ";
    }
    return out;
  }

  std::unique_ptr<store::KeyStore> inner_ = store::NewMemoryStore();
  CountingStore store_{inner_.get()};
  Metrics metrics_;
  TokenCache cache_{100, &metrics_};
  int64_t now_us_ = 5000;
  Authenticator auth_{&store_, [this] { return now_us_; }, &cache_};
  std::string id_;
};

TEST_F(TokenCacheTest, ATokenIsReadOnceWhileNothingChanges) {
  const std::string header = Mint();
  for (int i = 0; i < 5; ++i) {
    StatusOr<Principal> p = Request(header);
    ASSERT_TRUE(p.ok()) << p.status().message();
    EXPECT_EQ(p->token_id, id_);
    EXPECT_EQ(p->projects, std::vector<int64_t>{1});
  }
  EXPECT_EQ(store_.token_reads, 1);
  EXPECT_EQ(HitsAndMisses(), "hit=4 miss=1 ");
  // Another token's first read is a miss; it does not drop the first one (a token of a
  // known user: a new user moves the generation).
  const std::string other = Mint(7);
  ASSERT_TRUE(Request(other).ok());
  ASSERT_TRUE(Request(header).ok());
  EXPECT_EQ(store_.token_reads, 2);
}

TEST_F(TokenCacheTest, ARevocationMadeAnywhereStopsTheTokenAtTheNextRequest) {
  const std::string header = Mint();
  ASSERT_TRUE(Request(header).ok());
  ASSERT_TRUE(Request(header).ok());
  // Straight into the store, as the command line or another node does: nobody tells the
  // cache, the generation does.
  ASSERT_TRUE(inner_->RevokeToken(id_, 6000, {}).ok());
  EXPECT_EQ(Request(header).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(Request(header).status().code(), StatusCode::kUnauthenticated);  // kept revoked
}

TEST_F(TokenCacheTest, ADisabledUserIsRefusedAtTheNextRequestAndAcceptedWhenEnabled) {
  const std::string header = Mint(9);
  ASSERT_TRUE(Request(header).ok());
  ASSERT_TRUE(inner_->SetUserDisabled(9, true, 6000, {}).ok());
  StatusOr<Principal> refused = Request(header);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(refused.status().message(), "The token's user is disabled.");
  ASSERT_TRUE(inner_->SetUserDisabled(9, false, 7000, {}).ok());
  EXPECT_TRUE(Request(header).ok());
}

TEST_F(TokenCacheTest, ASessionsAccessTokenStopsWithTheSession) {
  Mint(10);  // makes user 10
  StatusOr<MintedToken> session =
      MintSession(10, {{.project_id = 1, .role = "editor", .principals = {}}}, 1000, 100000);
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE(inner_->InsertToken(session->record, {}).ok());
  StatusOr<MintedToken> access = MintAccess(session->record, 1000, 50000);
  ASSERT_TRUE(access.ok());
  ASSERT_TRUE(inner_->InsertToken(access->record, {}).ok());
  const std::string header = "Bearer " + std::string(access->token.view());
  ASSERT_TRUE(Request(header).ok());
  ASSERT_TRUE(inner_->RevokeToken(session->record.id, 6000, {}).ok());  // signed out
  EXPECT_EQ(Request(header).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(TokenCacheTest, ExpiryAndTheSecretAreCheckedOnEveryRequestFromTheKeptRecord) {
  Mint(11);
  StatusOr<MintedToken> session =
      MintSession(11, {{.project_id = 1, .role = "viewer", .principals = {}}}, 1000, 100000);
  ASSERT_TRUE(session.ok());
  ASSERT_TRUE(inner_->InsertToken(session->record, {}).ok());
  StatusOr<MintedToken> access = MintAccess(session->record, 1000, 50000);  // ends at 51000
  ASSERT_TRUE(access.ok());
  ASSERT_TRUE(inner_->InsertToken(access->record, {}).ok());
  const std::string token(access->token.view());
  ASSERT_TRUE(Request("Bearer " + token).ok());
  const int reads = store_.token_reads;

  std::string wrong = token;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  EXPECT_EQ(Request("Bearer " + wrong).status().code(), StatusCode::kUnauthenticated);
  now_us_ = 51000;
  EXPECT_EQ(Request("Bearer " + token).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(store_.token_reads, reads);  // both refused from the kept record
}

TEST_F(TokenCacheTest, WithoutASnapshotTheTokenIsReadOnEveryRequest) {
  const std::string header = Mint();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(auth_.Authenticate(header).ok());
  EXPECT_EQ(store_.token_reads, 3);
  EXPECT_EQ(cache_.size(), 0u);
}

TEST_F(TokenCacheTest, AnUnknownTokenIsNotKept) {
  Mint();
  const std::string unknown = "APIKey kpd_0123456789abcdef_" + std::string(64, 'a');
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Request(unknown).status().code(), StatusCode::kUnauthenticated);
  }
  EXPECT_EQ(store_.token_reads, 3);
  EXPECT_EQ(cache_.size(), 0u);
}

store::TokenRecord Record(std::string id) {
  store::TokenRecord r;
  r.id = std::move(id);
  return r;
}

TEST(TokenCacheUnitTest, ARecordServesOnlyItsOwnGeneration) {
  TokenCache cache;
  cache.Keep(5, std::make_shared<const store::TokenRecord>(Record("a")));
  EXPECT_NE(cache.Find("a", 5), nullptr);
  EXPECT_EQ(cache.Find("a", 4), nullptr);  // an older snapshot reads for itself
  EXPECT_EQ(cache.Find("a", 6), nullptr);
  EXPECT_EQ(cache.Find("b", 5), nullptr);
}

TEST(TokenCacheUnitTest, ANewerGenerationDropsTheOlderAndAnOlderOneIsNotKept) {
  TokenCache cache;
  cache.Keep(5, std::make_shared<const store::TokenRecord>(Record("a")));
  cache.Keep(6, std::make_shared<const store::TokenRecord>(Record("b")));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.Find("a", 5), nullptr);
  EXPECT_NE(cache.Find("b", 6), nullptr);
  // A request whose snapshot began before the change offers what it read: not kept.
  cache.Keep(5, std::make_shared<const store::TokenRecord>(Record("a")));
  EXPECT_EQ(cache.Find("a", 5), nullptr);
  EXPECT_EQ(cache.Find("a", 6), nullptr);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(TokenCacheUnitTest, ItHoldsAtMostItsLimit) {
  TokenCache cache(3);
  for (int i = 0; i < 10; ++i) {
    cache.Keep(1, std::make_shared<const store::TokenRecord>(Record("t" + std::to_string(i))));
    EXPECT_LE(cache.size(), 3u);
  }
  EXPECT_NE(cache.Find("t9", 1), nullptr);  // the newest is kept
}

}  // namespace
}  // namespace keypaird::auth
