// keypaird authorized-keys and keypaird krl against a scripted service on loopback: what they
// print, when they fall back on the cache and when they deny, what they leave on disk.
#include "cli/agent.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/secure_files.h"
#include "common/digest.h"
#include "sshkey/krl.h"
#include "sshkey/sshkey.h"
#include "testing/fake_http_server.h"
#include "testing/openssh_harness.h"

namespace keypaird::cli {
namespace {

using testutil::FakeHttpServer;
using testutil::FakeReply;
using testutil::FakeRequest;
using testutil::ReadFile;
using testutil::TempDir;
using testutil::WriteFile;

constexpr char kToken[] = "kpd_agenttest0000001_secretsecretsecretsecret";
constexpr char kKeys[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIjxL6g1II8NsO8odvBwGKvq2Dx/h/xrvsV9b9LVIYKm alice\n";
constexpr char kOldKeys[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOPq7c1m6wKfC2W1U2ot0Ns5e3tTqQ9b6JrVZrYw1nUx old\n";
constexpr int64_t kNow = int64_t{1800000000} * 1000000;  // the tests' clock
constexpr int64_t kMinute = int64_t{60} * 1000000;

const std::vector<std::pair<std::string, std::string>> kTextPlain = {
    {"Content-Type", "text/plain; charset=utf-8"}, {"ETag", "\"v2\""}};

struct Outcome {
  int code = -1;
  std::string out;
  std::vector<std::string> log;
  std::string Log() const {
    std::string all;
    for (const std::string& line : log) all += line + "\n";
    return all;
  }
};

int64_t MtimeUs(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return int64_t{st.st_mtim.tv_sec} * 1000000 + st.st_mtim.tv_nsec / 1000;
}

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    ASSERT_TRUE(WriteFile(token_file_, std::string(kToken) + "\n", 0600));
  }

  std::unique_ptr<FakeHttpServer> Serve(FakeHttpServer::Handler handler,
                                        const std::string& cert = "", const std::string& key = "") {
    std::string error;
    auto server = FakeHttpServer::Start(std::move(handler), &error, cert, key);
    EXPECT_NE(server, nullptr) << error;
    return server;
  }
  static FakeHttpServer::Handler Always(FakeReply reply) {
    return [reply](const FakeRequest&) { return reply; };
  }

  // Runs the command line `args` (parsed as main() would, without the environment).
  Outcome Command(std::vector<std::string> args) {
    StatusOr<config::Config> c = config::ParseCommandLine(
        args, [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
    EXPECT_TRUE(c.ok()) << c.status().message();
    Outcome run;
    if (!c.ok()) return run;
    AgentIo io;
    io.out = [&run](std::string_view text) {
      run.out += text;
      return true;
    };
    io.log = [&run](std::string_view line) { run.log.emplace_back(line); };
    io.now = [this] { return now_; };
    run.code =
        c->command == config::Command::kKrl ? KrlCommand(*c, io) : AuthorizedKeysCommand(*c, io);
    // The token never shows, whatever happened.
    EXPECT_EQ(run.out.find(kToken), std::string::npos);
    EXPECT_EQ(run.Log().find(kToken), std::string::npos) << run.Log();
    return run;
  }

  // keypaird authorized-keys against `url`, selecting login=alice, with the cache.
  Outcome AuthorizedKeys(const std::string& url, std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"authorized-keys",
                                     "--url",
                                     url,
                                     "--token-file",
                                     token_file_,
                                     "--project",
                                     "7",
                                     "--label-selector",
                                     "login=alice",
                                     "--cache-file",
                                     cache_,
                                     "--timeout",
                                     "500ms"};
    args.insert(args.end(), more.begin(), more.end());
    return Command(args);
  }

  std::string Source(const FakeHttpServer& server) const {
    return server.Url() + "/api/v1/projects/7/authorized_keys?label_selector=login%3Dalice";
  }
  // A cache of `keys` for `server`'s request, confirmed `age_us` ago.
  void Cache(const FakeHttpServer& server, const std::string& keys, int64_t age_us,
             const std::string& etag = "\"v1\"") {
    ASSERT_TRUE(WriteKeysCache(cache_, {Source(server), etag, keys, now_ - age_us}).ok());
  }
  // A URL nothing listens on.
  static std::string ClosedUrl() {
    return "http://127.0.0.1:" + std::to_string(testutil::FreeLoopbackPort());
  }

  TempDir dir_;
  std::string token_file_ = dir_ / "fleet.token";
  std::string cache_ = dir_ / "alice.keys";
  int64_t now_ = kNow;
};

// ---- authorized-keys

TEST_F(AgentTest, AGoodAnswerIsPrintedAndCachedWithItsETag) {
  auto server = Serve(Always(FakeHttpServer::Reply(200, kKeys, kTextPlain)));
  const Outcome run = AuthorizedKeys(server->Url());
  EXPECT_EQ(run.code, 0) << run.Log();
  EXPECT_EQ(run.out, kKeys);
  EXPECT_TRUE(run.log.empty()) << run.Log();

  const std::vector<FakeRequest> requests = server->Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/api/v1/projects/7/authorized_keys?label_selector=login%3Dalice");
  EXPECT_EQ(requests[0].Header("Authorization"), std::string("Bearer ") + kToken);
  EXPECT_EQ(requests[0].Header("Accept"), "text/plain");
  EXPECT_EQ(requests[0].Header("If-None-Match"), "");  // nothing cached yet

  StatusOr<KeysCache> cache = ReadKeysCache(cache_);
  ASSERT_TRUE(cache.ok()) << cache.status().message();
  EXPECT_EQ(*cache, (KeysCache{Source(*server), "\"v2\"", kKeys, kNow}));
  struct stat st {};
  ASSERT_EQ(stat(cache_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(AgentTest, SelectorsAndOwnerArePercentEncodedIntoTheQuery) {
  auto server = Serve(Always(FakeHttpServer::Reply(200, "", kTextPlain)));
  const Outcome run = Command({"authorized-keys", "--url", server->Url() + "/kp/", "--token-file",
                               token_file_, "--project", "3", "--label-selector",
                               "login=bob,team!=db,!gone", "--owner-id", "42"});
  EXPECT_EQ(run.code, 0) << run.Log();
  EXPECT_EQ(run.out, "");  // no keys is an answer too
  EXPECT_EQ(server->Requests().at(0).target,
            "/kp/api/v1/projects/3/authorized_keys"
            "?label_selector=login%3Dbob%2Cteam%21%3Ddb%2C%21gone&owner_id=42");
}

TEST_F(AgentTest, NotModifiedPrintsTheCacheAndRenewsItsTime) {
  auto server = Serve([](const FakeRequest& r) {
    return r.Header("If-None-Match") == "\"v1\""
               ? FakeHttpServer::Reply(304, "", {{"ETag", "\"v1\""}})
               : FakeHttpServer::Reply(200, "wrong\n", kTextPlain);
  });
  Cache(*server, kOldKeys, 50 * kMinute);
  const Outcome run = AuthorizedKeys(server->Url());
  EXPECT_EQ(run.code, 0) << run.Log();
  EXPECT_EQ(run.out, kOldKeys);
  EXPECT_EQ(MtimeUs(cache_), kNow);  // confirmed now: fresh for another --max-stale
  EXPECT_EQ(ReadKeysCache(cache_)->keys, kOldKeys);
}

TEST_F(AgentTest, WhenTheServiceIsDownAFreshCacheIsPrinted) {
  FakeReply silent;
  silent.hang = true;
  auto hanging = Serve(Always(silent));
  auto failing = Serve(Always(FakeHttpServer::Reply(503, "{\"message\":\"db down\"}")));
  auto busy = Serve(Always(FakeHttpServer::Reply(429, "")));
  auto html = Serve(
      Always(FakeHttpServer::Reply(200, "<html>proxy</html>", {{"Content-Type", "text/html"}})));
  const std::map<std::string, std::string> reasons = {
      {hanging->Url(),
       "no complete answer from 127.0.0.1:" + std::to_string(hanging->port()) + " within 500ms"},
      {failing->Url(), Source(*failing) + " answered 503: db down"},
      {busy->Url(), Source(*busy) + " answered 429"},
      {html->Url(), Source(*html) + " answered 200 with something other than authorized_keys text"},
      {ClosedUrl(), "cannot connect to"},
  };
  for (const auto& [url, reason] : reasons) {
    ASSERT_TRUE(WriteKeysCache(cache_, {url + "/api/v1/projects/7/authorized_keys"
                                              "?label_selector=login%3Dalice",
                                        "\"v1\"", kOldKeys, now_ - 59 * kMinute})
                    .ok());
    const Outcome run = AuthorizedKeys(url);
    EXPECT_EQ(run.code, 0) << url << "\n" << run.Log();
    EXPECT_EQ(run.out, kOldKeys) << url;
    ASSERT_EQ(run.log.size(), 1u) << run.Log();
    EXPECT_EQ(run.log[0].rfind(reason, 0), 0u) << run.log[0];
    EXPECT_NE(run.log[0].find("; printing the cached copy from 59m ago (--max-stale 1h)"),
              std::string::npos)
        << run.log[0];
    EXPECT_EQ(MtimeUs(cache_), now_ - 59 * kMinute);  // an outage confirms nothing
  }
}

TEST_F(AgentTest, WhenTheServiceIsDownAStaleOrMissingCacheDenies) {
  auto failing = Serve(Always(FakeHttpServer::Reply(500, "")));
  Cache(*failing, kOldKeys, 61 * kMinute);
  Outcome run = AuthorizedKeys(failing->Url());
  EXPECT_EQ(run.code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.Log(), Source(*failing) +
                           " answered 500, and the cached copy is 1h1m old, more than "
                           "--max-stale 1h; no keys printed\n");
  // A longer --max-stale lets the same copy through; --max-stale 0s never does.
  EXPECT_EQ(AuthorizedKeys(failing->Url(), {"--max-stale", "2h"}).out, kOldKeys);
  EXPECT_EQ(AuthorizedKeys(failing->Url(), {"--max-stale", "0s"}).code, 1);

  ASSERT_EQ(unlink(cache_.c_str()), 0);
  run = AuthorizedKeys(failing->Url());
  EXPECT_EQ(run.code, 1);
  EXPECT_EQ(run.Log(), Source(*failing) +
                           " answered 500, and there is no usable cached copy; no keys printed\n");
  run = Command(
      {"authorized-keys", "--url", failing->Url(), "--token-file", token_file_, "--project", "7"});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.Log().find("answered 500, and there is no --cache-file; no keys printed"),
            std::string::npos)
      << run.Log();
}

TEST_F(AgentTest, DenialsPrintNothingAndLeaveTheCacheAlone) {
  for (int status : {401, 403, 404, 400, 302}) {
    auto server = Serve(Always(FakeHttpServer::Reply(
        status, "{\"exception_class\":\"NotAuthenticated\",\"message\":\"Invalid token\"}",
        {{"Content-Type", "application/json"}})));
    Cache(*server, kOldKeys, kMinute);
    const std::string before = ReadFile(cache_);
    const Outcome run = AuthorizedKeys(server->Url());
    EXPECT_EQ(run.code, 1) << status;
    EXPECT_EQ(run.out, "") << status;
    EXPECT_EQ(run.Log(), Source(*server) + " answered " + std::to_string(status) +
                             " NotAuthenticated: Invalid token; no keys printed\n");
    EXPECT_EQ(ReadFile(cache_), before);
    EXPECT_EQ(MtimeUs(cache_), now_ - kMinute);
  }
}

TEST_F(AgentTest, ACacheForAnotherRequestIsNeverPrinted) {
  auto failing = Serve(Always(FakeHttpServer::Reply(502, "")));
  ASSERT_TRUE(WriteKeysCache(cache_, {failing->Url() + "/api/v1/projects/7/authorized_keys"
                                                       "?label_selector=login%3Dbob",
                                      "", "bob's keys\n", now_})
                  .ok());
  const Outcome run = AuthorizedKeys(failing->Url());
  EXPECT_EQ(run.code, 1);
  EXPECT_EQ(run.out, "");
  ASSERT_EQ(run.log.size(), 2u) << run.Log();
  EXPECT_EQ(
      run.log[0].rfind("the cache file " + cache_ + " holds the answer to another request", 0), 0u)
      << run.log[0];
  EXPECT_NE(run.log[1].find("no usable cached copy"), std::string::npos);
  // And no If-None-Match was sent on the strength of bob's ETag.
  EXPECT_EQ(failing->Requests().at(0).Header("If-None-Match"), "");
}

TEST_F(AgentTest, ACacheOthersCouldHaveChangedIsNeverPrinted) {
  auto failing = Serve(Always(FakeHttpServer::Reply(503, "")));
  Cache(*failing, kOldKeys, kMinute);
  ASSERT_EQ(chmod(cache_.c_str(), 0666), 0);
  Outcome run = AuthorizedKeys(failing->Url());
  EXPECT_EQ(run.code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.log.at(0),
            "the cache file " + cache_ + " may be changed by group or others; not used");

  // A symbolic link to a good cache is not followed either.
  const std::string real = dir_ / "real.keys";
  ASSERT_EQ(rename(cache_.c_str(), real.c_str()), 0);
  ASSERT_EQ(chmod(real.c_str(), 0600), 0);
  ASSERT_EQ(symlink(real.c_str(), cache_.c_str()), 0);
  run = AuthorizedKeys(failing->Url());
  EXPECT_EQ(run.code, 1);
  EXPECT_EQ(run.log.at(0),
            "the cache file " + cache_ + " is a symbolic link: name the file itself; not used");
}

TEST_F(AgentTest, ATokenFileOthersCanReadDeniesWithoutAskingTheService) {
  auto server = Serve(Always(FakeHttpServer::Reply(200, kKeys, kTextPlain)));
  Cache(*server, kOldKeys, kMinute);
  ASSERT_EQ(chmod(token_file_.c_str(), 0644), 0);
  const Outcome run = AuthorizedKeys(server->Url());
  EXPECT_EQ(run.code, 1);
  EXPECT_EQ(run.out, "");  // not even the fresh cache: the setup is wrong, not the service
  EXPECT_EQ(run.Log(), "the token file " + token_file_ +
                           " has mode 0644: others than its owner may read or change it, so the "
                           "token is no secret (chmod 600 " +
                           token_file_ + "); no keys printed\n");
  EXPECT_TRUE(server->Requests().empty());
}

TEST_F(AgentTest, AnUnaskedNotModifiedIsNotTrusted) {
  auto server = Serve(Always(FakeHttpServer::Reply(304, "")));
  const Outcome run = AuthorizedKeys(server->Url());
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.Log().find("answered 304 to a request without an ETag"), std::string::npos);
}

TEST_F(AgentTest, HttpsWithTheCaFileAndAnUntrustedCertificateCountsAsUnreachable) {
  const std::string cert = dir_ / "cert.pem";
  const std::string key = dir_ / "key.pem";
  std::string error;
  ASSERT_TRUE(testutil::MakeSelfSignedCertificate(cert, key, "IP:127.0.0.1", &error)) << error;
  auto server = Serve(Always(FakeHttpServer::Reply(200, kKeys, kTextPlain)), cert, key);
  Outcome run = AuthorizedKeys(server->Url(), {"--ca-file", cert});
  EXPECT_EQ(run.code, 0) << run.Log();
  EXPECT_EQ(run.out, kKeys);

  // Without the anchor the answer cannot be trusted: like an outage, the fresh cache it
  // just wrote is printed (an attacker in the middle gains at most --max-stale).
  run = AuthorizedKeys(server->Url());
  EXPECT_EQ(run.code, 0) << run.Log();
  EXPECT_EQ(run.out, kKeys);
  EXPECT_NE(run.Log().find("is not trusted: self-signed certificate"), std::string::npos)
      << run.Log();
  EXPECT_EQ(server->Requests().size(), 1u);
}

TEST_F(AgentTest, CacheFilesThatAreNotCachesAreRefused) {
  ASSERT_TRUE(WriteFile(cache_, "ssh-ed25519 AAAA planted\n", 0600));
  EXPECT_EQ(ReadKeysCache(cache_).status().message(),
            "the cache file " + cache_ + " is not a keypaird authorized-keys cache");
  EXPECT_EQ(ReadKeysCache(dir_ / "none").status().code(), StatusCode::kNotFound);
  // Keys that hold anything at all come back byte for byte.
  const KeysCache odd{"https://k/api", "W/\"x y\"", "a\n\nb\n\n", kNow - 5};
  ASSERT_TRUE(WriteKeysCache(cache_, odd).ok());
  EXPECT_EQ(ReadKeysCache(cache_).value(), odd);
  EXPECT_FALSE(WriteKeysCache(cache_, {"a\nb", "", "", kNow}).ok());
}

// ---- krl

class KrlTest : public AgentTest {
 protected:
  void SetUp() override {
    AgentTest::SetUp();
    // A key made by ssh-keygen, revoked by its SHA-256 in a KRL made by the sshkey encoder.
    const std::vector<std::string> keygen = {"ssh-keygen", "-q", "-t", "ed25519",
                                             "-N",         "",   "-f", dir_ / "user"};
    const testutil::RunResult r = testutil::RunCommand(keygen);
    ASSERT_EQ(r.exit_code, 0) << testutil::Describe(keygen, r);
    StatusOr<sshkey::PublicKey> pub = sshkey::ParsePublicKey(ReadFile(dir_ / "user.pub"));
    ASSERT_TRUE(pub.ok()) << pub.status().message();
    StatusOr<std::string> krl =
        sshkey::EncodeKrl({.krl_version = 3, .revoked_key_sha256 = {sshkey::KeySha256(pub->blob)}});
    ASSERT_TRUE(krl.ok()) << krl.status().message();
    krl_ = *krl;
  }

  Outcome Krl(const std::string& url) {
    return Command({"krl", "--url", url, "--token-file", token_file_, "--project", "7", "--out",
                    out_, "--timeout", "500ms"});
  }

  std::string out_ = dir_ / "revoked.krl";
  std::string krl_;
};

TEST_F(KrlTest, WritesTheKrlWithMode0644ThatSshKeygenReads) {
  auto server = Serve(
      Always(FakeHttpServer::Reply(200, krl_, {{"Content-Type", "application/octet-stream"}})));
  const Outcome run = Krl(server->Url());
  EXPECT_EQ(run.code, 0) << run.Log();
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.Log(), "wrote the KRL of project 7 to " + out_ + " (" +
                           std::to_string(krl_.size()) +
                           " bytes: 0 revoked certificate serials, 1 revoked keys)\n");
  EXPECT_EQ(server->Requests().at(0).target, "/api/v1/projects/7/ssh_ca/krl");
  EXPECT_EQ(server->Requests().at(0).Header("Authorization"), std::string("Bearer ") + kToken);
  EXPECT_EQ(server->Requests().at(0).Header("If-None-Match"), "");  // no file yet
  EXPECT_EQ(ReadFile(out_), krl_);
  struct stat st {};
  ASSERT_EQ(stat(out_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);

  const std::vector<std::string> query = {"ssh-keygen", "-Q", "-f", out_, dir_ / "user.pub"};
  const testutil::RunResult q = testutil::RunCommand(query);
  EXPECT_NE(q.exit_code, 0) << testutil::Describe(query, q);
  EXPECT_NE(q.out.find("REVOKED"), std::string::npos) << testutil::Describe(query, q);

  // The same list again: the file is not rewritten, and nothing is said.
  const ino_t inode = st.st_ino;
  const Outcome again = Krl(server->Url());
  EXPECT_EQ(again.code, 0);
  EXPECT_TRUE(again.log.empty()) << again.Log();
  ASSERT_EQ(stat(out_.c_str(), &st), 0);
  EXPECT_EQ(st.st_ino, inode);
  // It asked whether its copy is current: the ETag the service gives the same bytes.
  EXPECT_EQ(server->Requests().at(1).Header("If-None-Match"), BodyETag(krl_));
}

// A 304 to the ETag of the file in place: current, nothing written or said; a 304 to a
// request that named no copy (there is none) is not an answer.
TEST_F(KrlTest, NotModifiedLeavesTheFileInPlace) {
  ASSERT_TRUE(WriteFileAtomically(out_, krl_, 0644).ok());
  struct stat before {};
  ASSERT_EQ(stat(out_.c_str(), &before), 0);
  auto server = Serve(Always(FakeHttpServer::Reply(304, "")));
  const Outcome run = Krl(server->Url());
  EXPECT_EQ(run.code, 0) << run.Log();
  EXPECT_TRUE(run.log.empty()) << run.Log();
  EXPECT_EQ(server->Requests().at(0).Header("If-None-Match"), BodyETag(krl_));
  struct stat after {};
  ASSERT_EQ(stat(out_.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(ReadFile(out_), krl_);

  ASSERT_EQ(unlink(out_.c_str()), 0);
  const Outcome none = Krl(server->Url());
  EXPECT_EQ(none.code, 1);
  ASSERT_EQ(none.log.size(), 1u) << none.Log();
  EXPECT_NE(none.log[0].find("answered 304"), std::string::npos) << none.log[0];
  EXPECT_NE(access(out_.c_str(), F_OK), 0);
}

TEST_F(KrlTest, AnyFailureLeavesTheFileInPlaceAndExits1) {
  ASSERT_TRUE(WriteFileAtomically(out_, "the old list", 0644).ok());
  struct stat before {};
  ASSERT_EQ(stat(out_.c_str(), &before), 0);
  auto failing = Serve(Always(FakeHttpServer::Reply(500, "")));
  auto denied = Serve(Always(FakeHttpServer::Reply(
      403, "{\"exception_class\":\"ForbiddenError\",\"message\":\"project 7\"}")));
  auto not_enabled = Serve(Always(FakeHttpServer::Reply(404, "")));
  auto garbage = Serve(Always(FakeHttpServer::Reply(200, "<html>hello</html>")));
  const std::map<std::string, std::string> reasons = {
      {failing->Url(), "/api/v1/projects/7/ssh_ca/krl answered 500; "},
      {denied->Url(), "/api/v1/projects/7/ssh_ca/krl answered 403 ForbiddenError: project 7; "},
      {not_enabled->Url(), "/api/v1/projects/7/ssh_ca/krl answered 404; "},
      {garbage->Url(), "/api/v1/projects/7/ssh_ca/krl answered with something that is not a KRL"},
      {ClosedUrl(), "cannot connect to"},
  };
  for (const auto& [url, reason] : reasons) {
    const Outcome run = Krl(url);
    EXPECT_EQ(run.code, 1) << url;
    ASSERT_EQ(run.log.size(), 1u) << run.Log();
    EXPECT_NE(run.log[0].find(reason), std::string::npos) << run.log[0];
    EXPECT_NE(run.log[0].find(out_ + " is left as it is"), std::string::npos) << run.log[0];
    struct stat after {};
    ASSERT_EQ(stat(out_.c_str(), &after), 0);
    EXPECT_EQ(after.st_ino, before.st_ino);
    EXPECT_EQ(ReadFile(out_), "the old list");
  }
}

}  // namespace
}  // namespace keypaird::cli
