// keypaird login against a scripted service on loopback: the device authorization's polling
// (pending, slow_down, refusals, expiry, retries), the sign call it makes, and where the key
// goes (files that ssh-keygen reads, a real ssh-agent).
#include "cli/login.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "sshkey/certificate.h"
#include "sshkey/sshkey.h"
#include "testing/fake_http_server.h"
#include "testing/openssh_harness.h"

namespace keypaird::cli {
namespace {

using nlohmann::json;
using testutil::FakeHttpServer;
using testutil::FakeReply;
using testutil::FakeRequest;
using testutil::RunCommand;
using testutil::RunResult;
using testutil::TempDir;

constexpr char kDeviceCode[] = "device-code-secret-0123456789";
constexpr char kAccessToken[] = "kpd_access_secret_abcdefghijklmnop";
constexpr char kUserCode[] = "WDJB-MJHT";

FakeReply Json(int status, const json& body) {
  return FakeHttpServer::Reply(status, body.dump(), {{"Content-Type", "application/json"}});
}
FakeReply TokenError(const std::string& error) { return Json(400, {{"error", error}}); }

struct Outcome {
  int code = -1;
  std::vector<std::string> log;
  std::vector<int64_t> sleeps_ms;
  std::string Log() const {
    std::string all;
    for (const std::string& line : log) all += line + "\n";
    return all;
  }
};

// A keypaird service as far as login sees it: /auth/device, a script of answers to
// /auth/device/token (the last one repeats), and a sign route backed by a real CA key.
class LoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    StatusOr<sshkey::CaKey> ca = sshkey::CaKey::Generate();
    ASSERT_TRUE(ca.ok());
    ca_ = std::make_unique<sshkey::CaKey>(std::move(*ca));
    std::string error;
    server_ = FakeHttpServer::Start([this](const FakeRequest& r) { return Handle(r); }, &error);
    ASSERT_NE(server_, nullptr) << error;
  }

  FakeReply Handle(const FakeRequest& r) {
    std::lock_guard<std::mutex> lock(mu_);
    if (r.method == "POST" && r.target == "/auth/device") {
      return Json(200,
                  {{"device_code", device_code_},
                   {"user_code", kUserCode},
                   {"verification_uri", server_->Url() + "/device"},
                   {"verification_uri_complete", server_->Url() + "/device?user_code=" + kUserCode},
                   {"expires_in", expires_in_},
                   {"interval", 1}});
    }
    if (r.method == "POST" && r.target == "/auth/device/token") {
      const size_t i = std::min(polls_++, token_script_.size() - 1);
      return token_script_[i];
    }
    if (r.method == "POST" && r.target == "/api/v1/projects/7/ssh_ca/sign") {
      if (sign_answer_.has_value()) return *sign_answer_;
      const json body = json::parse(r.body);
      StatusOr<sshkey::PublicKey> key =
          sshkey::ParsePublicKey(body.at("public_key").get<std::string>());
      if (!key.ok()) return Json(400, {{"message", key.status().message()}});
      sshkey::UserCertificateRequest cert;
      cert.key_blob = key->blob;
      cert.serial = 4242;
      cert.key_id = "alice@example.com";
      cert.principals = body.contains("principals")
                            ? body["principals"].get<std::vector<std::string>>()
                            : std::vector<std::string>{"alice"};
      const uint64_t now = static_cast<uint64_t>(time(nullptr));
      cert.valid_after = now - 60;
      cert.valid_before = now + body.at("valid_for").get<uint64_t>();
      cert.extensions = {"permit-pty"};
      StatusOr<sshkey::Certificate> signed_cert = sshkey::SignUserCertificate(*ca_, cert);
      if (!signed_cert.ok()) return Json(500, {{"message", signed_cert.status().message()}});
      return Json(201, {{"certificate", signed_cert->line},
                        {"serial", "4242"},
                        {"principals", cert.principals}});
    }
    return Json(404, {{"message", "no route " + r.target}});
  }

  // Runs `keypaird login --url ... --project 7 ARGS...` with a clock that only the sleeps
  // move, and `ssh_auth_sock` as SSH_AUTH_SOCK.
  Outcome Login(std::vector<std::string> args, const std::string& ssh_auth_sock = "") {
    std::vector<std::string> all = {"login",     "--url", server_->Url(), "--project", "7",
                                    "--timeout", "5s"};
    all.insert(all.end(), args.begin(), args.end());
    StatusOr<config::Config> c = config::ParseCommandLine(
        all, [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
    EXPECT_TRUE(c.ok()) << c.status().message();
    Outcome run;
    if (!c.ok()) return run;
    int64_t now = static_cast<int64_t>(time(nullptr)) * 1000000;
    LoginIo io;
    io.log = [&run](std::string_view line) { run.log.emplace_back(line); };
    io.now = [&now] { return now; };
    io.sleep = [&](std::chrono::milliseconds ms) {
      run.sleeps_ms.push_back(ms.count());
      now += ms.count() * 1000;
    };
    io.env = [ssh_auth_sock](const std::string& name) -> std::optional<std::string> {
      if (name == "SSH_AUTH_SOCK" && !ssh_auth_sock.empty()) return ssh_auth_sock;
      return std::nullopt;
    };
    run.code = LoginCommand(*c, io);
    // The secrets never show, whatever happened.
    EXPECT_EQ(run.Log().find(kAccessToken), std::string::npos) << run.Log();
    EXPECT_EQ(run.Log().find(kDeviceCode), std::string::npos) << run.Log();
    return run;
  }

  std::vector<FakeRequest> RequestsTo(const std::string& target) const {
    std::vector<FakeRequest> out;
    for (const FakeRequest& r : server_->Requests()) {
      if (r.target == target) out.push_back(r);
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<sshkey::CaKey> ca_;
  std::unique_ptr<FakeHttpServer> server_;
  std::mutex mu_;
  std::vector<FakeReply> token_script_ = {
      Json(200, {{"access_token", kAccessToken}, {"token_type", "Bearer"}, {"expires_in", 3600}})};
  size_t polls_ = 0;
  int expires_in_ = 600;
  std::string device_code_ = kDeviceCode;
  std::optional<FakeReply> sign_answer_;
};

FakeReply Approved() {
  return Json(200,
              {{"access_token", kAccessToken}, {"token_type", "Bearer"}, {"expires_in", 3600}});
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST_F(LoginTest, PollsPatientlySlowsDownWhenToldThenHasTheKeyCertifiedIntoFiles) {
  token_script_ = {TokenError("authorization_pending"), TokenError("slow_down"),
                   TokenError("authorization_pending"), Approved()};
  const std::string key = dir_ / "id_login";
  Outcome run = Login({"--principals", "alice,deploy", "--ttl", "1h", "--out", key, "--no-agent"});
  ASSERT_EQ(run.code, 0) << run.Log();
  // RFC 8628: every `interval` seconds, 5 s more after a slow_down.
  EXPECT_EQ(run.sleeps_ms, (std::vector<int64_t>{1000, 1000, 6000, 6000}));
  // The person is told where to go and what to type.
  EXPECT_NE(run.Log().find(server_->Url() + "/device?user_code=" + kUserCode), std::string::npos)
      << run.Log();
  EXPECT_NE(run.Log().find(kUserCode), std::string::npos);

  const std::vector<FakeRequest> device = RequestsTo("/auth/device");
  ASSERT_EQ(device.size(), 1u);
  EXPECT_EQ(device[0].body, "{}");
  EXPECT_EQ(device[0].Header("Content-Type"), "application/json");
  const std::vector<FakeRequest> polls = RequestsTo("/auth/device/token");
  ASSERT_EQ(polls.size(), 4u);
  EXPECT_EQ(json::parse(polls[0].body), json({{"device_code", kDeviceCode}}));

  const std::vector<FakeRequest> sign = RequestsTo("/api/v1/projects/7/ssh_ca/sign");
  ASSERT_EQ(sign.size(), 1u);
  EXPECT_EQ(sign[0].Header("Authorization"), std::string("Bearer ") + kAccessToken);
  const json body = json::parse(sign[0].body);
  EXPECT_EQ(body.at("valid_for"), 3600);
  EXPECT_EQ(body.at("principals"), json({"alice", "deploy"}));
  const std::string public_key = body.at("public_key").get<std::string>();
  EXPECT_EQ(public_key.rfind("ssh-ed25519 AAAA", 0), 0u) << public_key;
  EXPECT_TRUE(public_key.ends_with(" keypaird-login")) << public_key;

  // The files: the key that was certified, readable by ssh-keygen, and only by the owner.
  EXPECT_EQ(ModeOf(key), 0600u);
  EXPECT_EQ(ModeOf(key + "-cert.pub"), 0600u);
  EXPECT_EQ(testutil::ReadFile(key).rfind("-----BEGIN OPENSSH PRIVATE KEY-----\n", 0), 0u);
  RunResult y = RunCommand({"ssh-keygen", "-y", "-f", key}, std::chrono::seconds(30));
  ASSERT_EQ(y.exit_code, 0) << y.err;
  EXPECT_EQ(testutil::TypeAndBase64(y.out), testutil::TypeAndBase64(public_key));
  RunResult l = RunCommand({"ssh-keygen", "-L", "-f", key + "-cert.pub"}, std::chrono::seconds(30));
  ASSERT_EQ(l.exit_code, 0) << l.err;
  EXPECT_NE(l.out.find("Serial: 4242"), std::string::npos) << l.out;
  EXPECT_NE(l.out.find("deploy"), std::string::npos) << l.out;

  // One summary line: principals, the end of validity, the serial, where the key went.
  const std::string& summary = run.log.back();
  EXPECT_NE(summary.find("4242"), std::string::npos) << summary;
  EXPECT_NE(summary.find("alice,deploy"), std::string::npos) << summary;
  EXPECT_TRUE(std::regex_search(
      summary, std::regex("valid until 20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z ")))
      << summary;
  EXPECT_NE(summary.find(key + "-cert.pub"), std::string::npos) << summary;
}

TEST_F(LoginTest, WithoutPrincipalsTheServiceChoosesThem) {
  Outcome run = Login({"--out", dir_ / "k", "--no-agent"});
  ASSERT_EQ(run.code, 0) << run.Log();
  const std::vector<FakeRequest> sign = RequestsTo("/api/v1/projects/7/ssh_ca/sign");
  ASSERT_EQ(sign.size(), 1u);
  const json body = json::parse(sign[0].body);
  EXPECT_FALSE(body.contains("principals")) << sign[0].body;
  EXPECT_EQ(body.at("valid_for"), 8 * 3600);  // the default --ttl
}

TEST_F(LoginTest, ARefusedSignInEndsItWithoutASignCall) {
  token_script_ = {TokenError("authorization_pending"), TokenError("access_denied")};
  Outcome run = Login({"--out", dir_ / "k", "--no-agent"});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.Log().find("refused"), std::string::npos) << run.Log();
  EXPECT_EQ(RequestsTo("/auth/device/token").size(), 2u);
  EXPECT_TRUE(RequestsTo("/api/v1/projects/7/ssh_ca/sign").empty());
  EXPECT_NE(access((dir_ / "k").c_str(), F_OK), 0);
}

TEST_F(LoginTest, AnExpiredCodeEndsIt) {
  token_script_ = {TokenError("expired_token")};
  Outcome run = Login({"--out", dir_ / "k", "--no-agent"});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.Log().find("expired"), std::string::npos) << run.Log();
  EXPECT_TRUE(RequestsTo("/api/v1/projects/7/ssh_ca/sign").empty());
}

TEST_F(LoginTest, AnotherErrorEndsItWithTheServiceDescription) {
  token_script_ = {Json(
      400, {{"error", "invalid_grant"}, {"error_description", "This device code is unknown."}})};
  Outcome run = Login({"--out", dir_ / "k", "--no-agent"});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.Log().find("400 invalid_grant: This device code is unknown."), std::string::npos)
      << run.Log();
  EXPECT_EQ(RequestsTo("/auth/device/token").size(), 1u);
}

TEST_F(LoginTest, PollingStopsWhenTheCodeRunsOut) {
  token_script_ = {TokenError("authorization_pending")};
  expires_in_ = 3;
  Outcome run = Login({"--out", dir_ / "k", "--no-agent"});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.Log().find("expired"), std::string::npos) << run.Log();
  EXPECT_EQ(RequestsTo("/auth/device/token").size(), 2u);  // at 1 s and 2 s, not at 3 s
}

TEST_F(LoginTest, ADeviceCodeThatIsNotPlainTextIsNeverSentBack) {
  device_code_ = "code\",\"admin\":true";
  Outcome run = Login({"--out", dir_ / "k", "--no-agent"});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.Log().find("device code"), std::string::npos) << run.Log();
  EXPECT_TRUE(RequestsTo("/auth/device/token").empty());
}

TEST_F(LoginTest, TransientFailuresAreRetriedAFewTimes) {
  token_script_ = {Json(503, {{"message", "busy"}}), Json(502, json::object()), Approved()};
  Outcome ok = Login({"--out", dir_ / "k", "--no-agent"});
  EXPECT_EQ(ok.code, 0) << ok.Log();

  polls_ = 0;
  token_script_ = {Json(503, {{"message", "busy"}})};
  Outcome failed = Login({"--out", dir_ / "k2", "--no-agent"});
  EXPECT_EQ(failed.code, 1);
  EXPECT_NE(failed.Log().find("503"), std::string::npos) << failed.Log();
  EXPECT_NE(failed.Log().find(std::to_string(kLoginMaxRetries) + " times in a row"),
            std::string::npos)
      << failed.Log();
  EXPECT_EQ(polls_, static_cast<size_t>(kLoginMaxRetries));
}

TEST_F(LoginTest, ARefusedCertificateShowsTheServiceMessage) {
  sign_answer_ = Json(403, {{"exception_class", "Forbidden"},
                            {"message", "principal root is not one of yours in project 7"}});
  Outcome run = Login({"--principals", "root", "--out", dir_ / "k", "--no-agent"});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.Log().find("403 Forbidden: principal root is not one of yours in project 7"),
            std::string::npos)
      << run.Log();
  EXPECT_NE(access((dir_ / "k").c_str(), F_OK), 0);
}

TEST_F(LoginTest, WithoutAnAgentOrOutItStopsBeforeAskingAnyone) {
  Outcome run = Login({});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.Log().find("eval $(ssh-agent)"), std::string::npos) << run.Log();
  EXPECT_NE(run.Log().find("--out"), std::string::npos) << run.Log();
  EXPECT_TRUE(server_->Requests().empty());
}

TEST_F(LoginTest, TheKeyGoesIntoTheRunningAgentUntilTheCertificateEnds) {
  std::string error;
  auto agent = testutil::SshAgent::Start(dir_, &error);
  ASSERT_NE(agent, nullptr) << error;
  Outcome run = Login({"--ttl", "10m"}, agent->socket());
  ASSERT_EQ(run.code, 0) << run.Log();
  EXPECT_NE(run.log.back().find("ssh-agent"), std::string::npos) << run.log.back();
  RunResult listed = agent->Run({"ssh-add", "-L"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("ssh-ed25519-cert-v01@openssh.com "), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("keypaird-login"), std::string::npos) << listed.out;
}

}  // namespace
}  // namespace keypaird::cli
