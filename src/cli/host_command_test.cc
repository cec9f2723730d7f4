// host enroll, host renew and ssh-config (cli/host.h) against a scripted service on loopback,
// with host keys, host certificates, a user CA and a KRL made by ssh-keygen: what they send,
// what they write (and with which modes), when renew renews, and that no token is ever shown.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/client.h"
#include "cli/host.h"
#include "cli/host_files.h"
#include "testing/fake_http_server.h"
#include "testing/openssh_harness.h"

namespace keypaird::cli {
namespace {

using nlohmann::json;
using testutil::Describe;
using testutil::FakeHttpServer;
using testutil::FakeReply;
using testutil::FakeRequest;
using testutil::ReadFile;
using testutil::RunCommand;
using testutil::RunResult;
using testutil::TempDir;
using testutil::TrimRight;
using testutil::WriteFile;

constexpr char kJoinToken[] =
    "kpj_0123456789abcdef_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr char kHostToken[] =
    "kph_fedcba9876543210_fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
constexpr char kHostId[] = "00112233aabbccdd";
const std::vector<std::string> kNames = {"web-1.example.com", "web-1"};
const std::vector<std::string> kKeyTypes = {"ecdsa", "ed25519"};  // file name order

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

bool Exists(const std::string& path) { return std::filesystem::exists(path); }

void RunOk(const std::vector<std::string>& argv) {
  const RunResult r = RunCommand(argv);
  ASSERT_EQ(r.exit_code, 0) << Describe(argv, r);
}

FakeReply Json(int status, const json& body) {
  return FakeHttpServer::Reply(status, body.dump(), {{"Content-Type", "application/json"}});
}

struct Outcome {
  int code = -1;
  std::string out;
  std::string log;
};

// A keypaird service as far as the host commands see it. Certificates are made fresh for each
// enrol or renew call with the validity `validity_` (ssh-keygen -V).
class HostCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    std::filesystem::create_directories(ssh_dir_);
    std::filesystem::create_directories(sign_dir_);
    for (const std::string& type : kKeyTypes) {
      ASSERT_NO_FATAL_FAILURE(RunOk({"ssh-keygen", "-q", "-t", type, "-N", "", "-C", "root@web-1",
                                     "-f", ssh_dir_ + "/ssh_host_" + type + "_key"}));
    }
    for (const char* ca : {"host_ca", "user_ca", "user_ca_2"}) {
      ASSERT_NO_FATAL_FAILURE(
          RunOk({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", ca, "-f", dir_ / ca}));
    }
    ASSERT_TRUE(WriteFile(dir_ / "krl.spec", "serial: 7\n", 0644));
    ASSERT_NO_FATAL_FAILURE(RunOk({"ssh-keygen", "-q", "-k", "-f", dir_ / "revoked.krl", "-s",
                                   dir_ / "user_ca.pub", dir_ / "krl.spec"}));
    ASSERT_TRUE(WriteFile(join_file_, std::string(kJoinToken) + "\n", 0600));
    user_ca_key_ = TrimRight(ReadFile(dir_ / "user_ca.pub"));
    std::string error;
    server_ = FakeHttpServer::Start([this](const FakeRequest& r) { return Handle(r); }, &error);
    ASSERT_NE(server_, nullptr) << error;
  }

  // Host certificates of every host key, as the service would sign them now.
  std::vector<std::string> Certify() {
    std::vector<std::string> lines;
    for (const std::string& type : kKeyTypes) {
      const std::string copy = sign_dir_ + "/ssh_host_" + type + "_key.pub";
      EXPECT_TRUE(WriteFile(copy, ReadFile(ssh_dir_ + "/ssh_host_" + type + "_key.pub"), 0644));
      const std::vector<std::string> argv = {"ssh-keygen",
                                             "-q",
                                             "-s",
                                             dir_ / "host_ca",
                                             "-I",
                                             "web-1-" + type,
                                             "-h",
                                             "-n",
                                             "web-1.example.com,web-1",
                                             "-z",
                                             std::to_string(++serial_),
                                             "-V",
                                             validity_,
                                             copy};
      const RunResult r = RunCommand(argv);
      EXPECT_EQ(r.exit_code, 0) << Describe(argv, r);
      lines.push_back(TrimRight(ReadFile(sign_dir_ + "/ssh_host_" + type + "_key-cert.pub")));
    }
    return lines;
  }

  json Answer(bool with_token) {
    json certs = json::array();
    for (const std::string& line : Certify()) {
      certs.push_back({{"certificate", line},
                       {"serial", std::to_string(serial_)},
                       {"valid_after", "2026-12-06T00:00:00Z"},
                       {"valid_before", "2026-12-07T00:00:00Z"}});
    }
    json answer = {{"host_id", kHostId},
                   {"project_id", 1},
                   {"hostnames", kNames},
                   {"certificates", certs},
                   {"user_ca_public_keys", {user_ca_key_}},
                   {"known_hosts", "@cert-authority web-1.example.com " +
                                       TrimRight(ReadFile(dir_ / "host_ca.pub")) + "\n"}};
    if (with_token) answer["host_token"] = kHostToken;
    return answer;
  }

  FakeReply Handle(const FakeRequest& r) {
    std::lock_guard<std::mutex> lock(mu_);
    if (r.method == "POST" && r.target == "/api/v1/hosts/enroll") {
      if (busy_enrolments_ > 0) {
        --busy_enrolments_;
        return FakeHttpServer::Reply(429, R"({"message": "Too many requests"})",
                                     {{"Content-Type", "application/json"}, {"Retry-After", "7"}});
      }
      if (enroll_error_.has_value()) return *enroll_error_;
      return Json(201, Answer(/*with_token=*/true));
    }
    if (r.method == "POST" && r.target == std::string("/api/v1/hosts/") + kHostId + "/renew") {
      if (host_deleted_) return Json(401, {{"message", "Invalid token"}});
      return Json(200, Answer(/*with_token=*/false));
    }
    if (r.method == "GET" && r.target == "/api/v1/projects/1/ssh_ca/public_key") {
      if (host_deleted_) return Json(401, {{"message", "Invalid token"}});
      return FakeHttpServer::Reply(200, user_ca_key_ + "\n", {{"Content-Type", "text/plain"}});
    }
    if (r.method == "GET" && r.target == "/api/v1/projects/1/ssh_ca/krl") {
      return FakeHttpServer::Reply(200, ReadFile(dir_ / "revoked.krl"),
                                   {{"Content-Type", "application/octet-stream"}});
    }
    if (r.method == "GET" && r.target.starts_with("/api/v1/projects/1/ssh_host_ca/known_hosts")) {
      return FakeHttpServer::Reply(200, known_hosts_, {{"Content-Type", "text/plain"}});
    }
    return Json(404, {{"message", "no route " + r.method + " " + r.target}});
  }

  // Runs the command line `args` as the lean binary would, capturing what it prints.
  Outcome Run(const std::vector<std::string>& args) {
    Outcome o;
    StatusOr<config::Config> c = config::ParseCommandLine(
        args, [](const std::string&) { return std::optional<std::string>(); });
    if (!c.ok()) {
      o.code = 2;
      o.log = c.status().message();
      return o;
    }
    HostIo io;
    io.out = [&](std::string_view text) { o.out += text; };
    io.log = [&](std::string_view text) { o.log.append(text).append("\n"); };
    io.sleep = [this](std::chrono::seconds d) { slept_.push_back(d); };
    if (c->command == config::Command::kHostEnroll) {
      o.code = HostEnrollCommand(*c, io);
    } else if (c->command == config::Command::kHostRenew) {
      o.code = HostRenewCommand(*c, io);
    } else {
      o.code = SshConfigCommand(*c, io);
    }
    // Whatever happened, neither token is ever shown.
    for (const char* token : {kJoinToken, kHostToken}) {
      EXPECT_EQ(o.out.find(token), std::string::npos) << o.out;
      EXPECT_EQ(o.log.find(token), std::string::npos) << o.log;
    }
    return o;
  }

  std::vector<std::string> EnrollArgs() const {
    return {"host",
            "enroll",
            "--url",
            server_->Url(),
            "--project",
            "1",
            "--join-token-file",
            join_file_,
            "--hostname",
            kNames[0],
            "--hostname",
            kNames[1],
            "--ssh-dir",
            ssh_dir_,
            "--config-dir",
            config_dir_,
            "--state-dir",
            state_dir_};
  }
  std::vector<std::string> RenewArgs() const {
    return {"host", "renew", "--state-dir", state_dir_};
  }

  std::vector<FakeRequest> TakeRequests() {
    std::vector<FakeRequest> all = server_->Requests();
    std::vector<FakeRequest> fresh(all.begin() + static_cast<std::ptrdiff_t>(seen_), all.end());
    seen_ = all.size();
    return fresh;
  }
  static std::vector<std::string> Targets(const std::vector<FakeRequest>& requests) {
    std::vector<std::string> targets;
    for (const FakeRequest& r : requests) targets.push_back(r.method + " " + r.target);
    return targets;
  }

  std::string CertPath(const std::string& type) const {
    return ssh_dir_ + "/ssh_host_" + type + "_key-cert.pub";
  }
  std::string State(const std::string& name) const { return state_dir_ + "/" + name; }
  std::string RenewTarget() const {
    return std::string("POST /api/v1/hosts/") + kHostId + "/renew";
  }

  TempDir dir_;
  std::string ssh_dir_ = dir_ / "ssh";
  std::string sign_dir_ = dir_ / "sign";
  std::string config_dir_ = dir_ / "sshd_config.d";
  std::string state_dir_ = dir_ / "keypaird/host";
  std::string join_file_ = dir_ / "join-token";
  std::mutex mu_;
  std::string validity_ = "-5m:+3h";
  int serial_ = 0;
  std::string user_ca_key_;
  std::optional<FakeReply> enroll_error_;
  int busy_enrolments_ = 0;  // enrolments answered 429 before the next is taken
  std::vector<std::chrono::seconds> slept_;
  bool host_deleted_ = false;
  std::string known_hosts_;
  size_t seen_ = 0;
  std::unique_ptr<FakeHttpServer> server_;
};

TEST_F(HostCommandTest, EnrollSendsTheJoinTokenKeysAndNamesAndWritesEveryFile) {
  const Outcome o = Run(EnrollArgs());
  ASSERT_EQ(o.code, 0) << o.log;
  const std::vector<FakeRequest> requests = TakeRequests();
  ASSERT_EQ(Targets(requests), (std::vector<std::string>{"POST /api/v1/hosts/enroll",
                                                         "GET /api/v1/projects/1/ssh_ca/krl"}));
  EXPECT_EQ(requests[0].Header("Authorization"), std::string("Bearer ") + kJoinToken);
  const json body = json::parse(requests[0].body);
  EXPECT_EQ(body["project_id"], 1);
  EXPECT_EQ(body["hostnames"], json(kNames));
  std::vector<std::string> keys;
  for (const std::string& type : kKeyTypes) {
    keys.push_back(TrimRight(ReadFile(ssh_dir_ + "/ssh_host_" + type + "_key.pub")));
  }
  EXPECT_EQ(body["public_keys"], json(keys));
  // The KRL is fetched with the host token just received, never the join token.
  EXPECT_EQ(requests[1].Header("Authorization"), std::string("Bearer ") + kHostToken);

  for (const std::string& type : kKeyTypes) {
    EXPECT_TRUE(ReadFile(CertPath(type))
                    .starts_with(type == "ed25519" ? "ssh-ed25519-cert-v01@openssh.com "
                                                   : "ecdsa-sha2-nistp256-cert-v01"));
    EXPECT_EQ(ModeOf(CertPath(type)), 0644u);
  }
  EXPECT_EQ(ModeOf(state_dir_), 0700u);
  EXPECT_EQ(ReadFile(State("token")), std::string(kHostToken) + "\n");
  EXPECT_EQ(ModeOf(State("token")), 0600u);
  EXPECT_EQ(ReadFile(State("user_ca_keys.pub")), user_ca_key_ + "\n");
  EXPECT_EQ(ReadFile(State("revoked.krl")), ReadFile(dir_ / "revoked.krl"));
  EXPECT_TRUE(ReadFile(config_dir_ + "/50-keypaird.conf")
                  .find("HostCertificate " + CertPath("ed25519") + "\n") != std::string::npos);
  // What renew needs, never the token.
  const std::string conf = ReadFile(State("host.conf"));
  EXPECT_EQ(ModeOf(State("host.conf")), 0600u);
  for (const std::string& line : std::vector<std::string>{
           "url=" + server_->Url(), "project=1", std::string("host_id=") + kHostId,
           "hostnames=web-1.example.com,web-1", "ssh_dir=" + ssh_dir_,
           "config_dir=" + config_dir_}) {
    EXPECT_NE(conf.find("\n" + line + "\n"), std::string::npos) << line << " in\n" << conf;
  }
  EXPECT_EQ(conf.find(kHostToken), std::string::npos);
  EXPECT_EQ(conf.find("authorized_keys="), std::string::npos);
  // The summary: the host, its names, the files, and when the certificates expire.
  EXPECT_TRUE(o.out.starts_with(std::string("host ") + kHostId +
                                " (web-1.example.com, web-1) in project 1: enrolled\n"))
      << o.out;
  EXPECT_NE(o.out.find("written: "), std::string::npos) << o.out;
  EXPECT_NE(o.out.find(CertPath("ed25519") + " expires at "), std::string::npos) << o.out;
}

TEST_F(HostCommandTest, EnrollAgainRenewsInsteadOfSpendingTheJoinTokenAndChangesNothing) {
  ASSERT_EQ(Run(EnrollArgs()).code, 0);
  TakeRequests();
  const std::string cert = ReadFile(CertPath("ed25519"));
  const Outcome o = Run(EnrollArgs());
  ASSERT_EQ(o.code, 0) << o.log;
  // No second enrolment; the certificates are fresh, so no renewal either.
  EXPECT_EQ(Targets(TakeRequests()),
            (std::vector<std::string>{"GET /api/v1/projects/1/ssh_ca/public_key",
                                      "GET /api/v1/projects/1/ssh_ca/krl"}));
  EXPECT_NE(o.log.find("already enrolled in project 1 as host 00112233aabbccdd: renewing it "
                       "instead"),
            std::string::npos)
      << o.log;
  EXPECT_EQ(ReadFile(CertPath("ed25519")), cert);
  EXPECT_EQ(o.out.find("written:"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find(": current\n"), std::string::npos) << o.out;
}

TEST_F(HostCommandTest, EnrollAgainWithOtherNamesIsRefused) {
  ASSERT_EQ(Run(EnrollArgs()).code, 0);
  TakeRequests();
  std::vector<std::string> args = EnrollArgs();
  args.insert(args.end(), {"--hostname", "web-2"});
  const Outcome o = Run(args);
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.log.find("to change its names, delete the host in the project and enrol it again"),
            std::string::npos)
      << o.log;
  EXPECT_TRUE(TakeRequests().empty());
}

TEST_F(HostCommandTest, RenewSkipsFreshCertificatesButRefreshesTheUserCaKeys) {
  ASSERT_EQ(Run(EnrollArgs()).code, 0);
  TakeRequests();
  const std::string cert = ReadFile(CertPath("ed25519"));
  user_ca_key_ = TrimRight(ReadFile(dir_ / "user_ca_2.pub"));  // the CA was rotated
  const Outcome o = Run(RenewArgs());
  ASSERT_EQ(o.code, 0) << o.log;
  const std::vector<FakeRequest> requests = TakeRequests();
  ASSERT_EQ(Targets(requests), (std::vector<std::string>{"GET /api/v1/projects/1/ssh_ca/public_key",
                                                         "GET /api/v1/projects/1/ssh_ca/krl"}));
  EXPECT_EQ(requests[0].Header("Authorization"), std::string("Bearer ") + kHostToken);
  EXPECT_EQ(ReadFile(CertPath("ed25519")), cert);
  EXPECT_EQ(ReadFile(State("user_ca_keys.pub")), user_ca_key_ + "\n");
  EXPECT_NE(o.out.find("written: " + State("user_ca_keys.pub")), std::string::npos) << o.out;
}

TEST_F(HostCommandTest, RenewWithForceRenewsWithTheHostTokenAndCurrentKeys) {
  ASSERT_EQ(Run(EnrollArgs()).code, 0);
  TakeRequests();
  const std::string cert = ReadFile(CertPath("ed25519"));
  std::vector<std::string> args = RenewArgs();
  args.push_back("--force");
  const Outcome o = Run(args);
  ASSERT_EQ(o.code, 0) << o.log;
  const std::vector<FakeRequest> requests = TakeRequests();
  ASSERT_EQ(Targets(requests),
            (std::vector<std::string>{RenewTarget(), "GET /api/v1/projects/1/ssh_ca/krl"}));
  EXPECT_EQ(requests[0].Header("Authorization"), std::string("Bearer ") + kHostToken);
  const json body = json::parse(requests[0].body);
  EXPECT_EQ(body["public_keys"].size(), kKeyTypes.size());
  EXPECT_EQ(body["public_keys"][1], TrimRight(ReadFile(ssh_dir_ + "/ssh_host_ed25519_key.pub")));
  EXPECT_NE(ReadFile(CertPath("ed25519")), cert);  // a new serial
  // The token file is not rewritten by a renewal (the answer has none).
  EXPECT_EQ(ReadFile(State("token")), std::string(kHostToken) + "\n");
  EXPECT_NE(o.out.find(": renewed\n"), std::string::npos) << o.out;
}

TEST_F(HostCommandTest, RenewRenewsOnceLessThanAThirdOfTheValidityIsLeft) {
  validity_ = "-3h:+30m";  // 3h30m in all, 30 minutes left: less than a third
  ASSERT_EQ(Run(EnrollArgs()).code, 0);
  TakeRequests();
  validity_ = "-5m:+3h";
  const Outcome o = Run(RenewArgs());
  ASSERT_EQ(o.code, 0) << o.log;
  EXPECT_EQ(Targets(TakeRequests()),
            (std::vector<std::string>{RenewTarget(), "GET /api/v1/projects/1/ssh_ca/krl"}));
  EXPECT_NE(o.log.find("less than a third of the validity"), std::string::npos) << o.log;
  // The next run finds the new certificates fresh.
  ASSERT_EQ(Run(RenewArgs()).code, 0);
  EXPECT_EQ(Targets(TakeRequests())[0], "GET /api/v1/projects/1/ssh_ca/public_key");
}

TEST_F(HostCommandTest, RenewOfADeletedHostSaysToEnrolAgain) {
  ASSERT_EQ(Run(EnrollArgs()).code, 0);
  host_deleted_ = true;
  const Outcome fresh = Run(RenewArgs());
  EXPECT_EQ(fresh.code, 1);
  EXPECT_NE(fresh.log.find("this host was deleted from project 1: enrol it again"),
            std::string::npos)
      << fresh.log;
  std::vector<std::string> args = RenewArgs();
  args.push_back("--force");
  const Outcome forced = Run(args);
  EXPECT_EQ(forced.code, 1);
  EXPECT_NE(forced.log.find("this host was deleted from project 1: enrol it again"),
            std::string::npos)
      << forced.log;
}

TEST_F(HostCommandTest, EnrollOfADeletedHostEnrolsAgainWithTheJoinToken) {
  ASSERT_EQ(Run(EnrollArgs()).code, 0);
  TakeRequests();
  host_deleted_ = true;
  const Outcome o = Run(EnrollArgs());
  ASSERT_EQ(o.code, 0) << o.log;
  EXPECT_EQ(
      Targets(TakeRequests()),
      (std::vector<std::string>{"GET /api/v1/projects/1/ssh_ca/public_key",
                                "POST /api/v1/hosts/enroll", "GET /api/v1/projects/1/ssh_ca/krl"}));
  EXPECT_NE(o.log.find("enrolling again with the join token"), std::string::npos) << o.log;
  EXPECT_NE(o.out.find(": enrolled\n"), std::string::npos) << o.out;
}

TEST_F(HostCommandTest, RenewOfAHostNeverEnrolledSaysSo) {
  const Outcome o = Run(RenewArgs());
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.log.find("this host is not enrolled: " + State("host.conf") +
                       " does not exist; run keypaird host enroll first"),
            std::string::npos)
      << o.log;
}

TEST_F(HostCommandTest, EnrollRefusalsShowTheServiceMessageAndWriteNothing) {
  for (const int status : {401, 403}) {
    enroll_error_ =
        Json(status, {{"message", "join token used up: make a new one"}, {"code", status}});
    const Outcome o = Run(EnrollArgs());
    EXPECT_EQ(o.code, 1);
    EXPECT_NE(o.log.find("the enrolment was refused: " + server_->Url() +
                         "/api/v1/hosts/enroll answered " + std::to_string(status) +
                         ": join token used up: make a new one"),
              std::string::npos)
        << o.log;
    EXPECT_FALSE(Exists(state_dir_));
    EXPECT_FALSE(Exists(CertPath("ed25519")));
  }
}

// A 429 (the service's rate limit per address, for a wave of hosts) is waited out as its
// Retry-After says, a bounded number of times; then the enrolment goes on, or fails.
TEST_F(HostCommandTest, EnrollWaitsOutTheRateLimit) {
  busy_enrolments_ = 2;
  Outcome o = Run(EnrollArgs());
  ASSERT_EQ(o.code, 0) << o.log;
  EXPECT_EQ(slept_, (std::vector<std::chrono::seconds>(2, std::chrono::seconds(7))));
  auto enrolments = [this] {
    const std::vector<std::string> targets = Targets(TakeRequests());
    return std::count(targets.begin(), targets.end(), "POST /api/v1/hosts/enroll");
  };
  EXPECT_EQ(enrolments(), 3);
  EXPECT_NE(o.log.find("answered 429 (too many enrolments from here): trying again in 7 s"),
            std::string::npos)
      << o.log;
  EXPECT_TRUE(Exists(CertPath("ed25519")));

  std::filesystem::remove_all(state_dir_);
  slept_.clear();
  busy_enrolments_ = 1000;
  o = Run(EnrollArgs());
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(slept_.size(), 7u);
  EXPECT_EQ(enrolments(), 8);
  EXPECT_NE(o.log.find("the enrolment was refused: " + server_->Url() +
                       "/api/v1/hosts/enroll answered 429"),
            std::string::npos)
      << o.log;
  EXPECT_FALSE(Exists(state_dir_));
}

TEST_F(HostCommandTest, EnrollRefusesAJoinTokenFileOthersCanReadOrAnotherToken) {
  ASSERT_EQ(chmod(join_file_.c_str(), 0644), 0);
  const Outcome readable = Run(EnrollArgs());
  EXPECT_EQ(readable.code, 1);
  EXPECT_NE(readable.log.find("the join token file " + join_file_ + " "), std::string::npos)
      << readable.log;
  ASSERT_TRUE(WriteFile(join_file_, "kpd_an_api_token\n", 0600));
  const Outcome api_token = Run(EnrollArgs());
  EXPECT_EQ(api_token.code, 1);
  EXPECT_NE(api_token.log.find(join_file_ + " does not hold a join token (kpj_...)"),
            std::string::npos)
      << api_token.log;
  EXPECT_EQ(api_token.log.find("kpd_an_api_token"), std::string::npos);
  EXPECT_TRUE(TakeRequests().empty());
}

TEST_F(HostCommandTest, ReloadCommandRunsOnlyWhenAFileChangedAndItsFailureFails) {
  const std::string reloads = dir_ / "reloads";
  std::vector<std::string> args = EnrollArgs();
  args.insert(args.end(), {"--reload-command", "echo reloaded >> '" + reloads + "'"});
  ASSERT_EQ(Run(args).code, 0);
  EXPECT_EQ(ReadFile(reloads), "reloaded\n");
  ASSERT_EQ(Run(args).code, 0);  // everything current: no reload
  EXPECT_EQ(ReadFile(reloads), "reloaded\n");

  std::vector<std::string> renew = RenewArgs();
  renew.insert(renew.end(), {"--force", "--reload-command", "exit 3"});
  const Outcome o = Run(renew);
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.log.find("--reload-command failed (exit 3)"), std::string::npos) << o.log;
}

TEST_F(HostCommandTest, AuthorizedKeysSelectorIsKeptForRenew) {
  std::vector<std::string> args = EnrollArgs();
  const std::string cache = dir_ / "agent-cache";
  args.insert(args.end(), {"--authorized-keys", "login=%u", "--authorized-keys-user", "nobody",
                           "--authorized-keys-cache", cache});
  ASSERT_EQ(Run(args).code, 0);
  const std::string conf = ReadFile(State("host.conf"));
  EXPECT_NE(conf.find("\nauthorized_keys=login=%u\nauthorized_keys_user=nobody\n"
                      "authorized_keys_cache=" + cache + "\n"),
            std::string::npos)
      << conf;
  const std::string drop_in = ReadFile(config_dir_ + "/50-keypaird.conf");
  EXPECT_NE(drop_in.find("--label-selector login=%u"), std::string::npos) << drop_in;
  // sshd runs this very binary, as nobody, with nobody's copy of the host token.
  EXPECT_NE(drop_in.find("AuthorizedKeysCommand " +
                         std::filesystem::read_symlink("/proc/self/exe").string() +
                         " authorized-keys "),
            std::string::npos)
      << drop_in;
  EXPECT_NE(drop_in.find("--token-file " + state_dir_ + "-agent.token --project"),
            std::string::npos)
      << drop_in;
  EXPECT_NE(drop_in.find("\nAuthorizedKeysCommandUser nobody\n"), std::string::npos) << drop_in;
  EXPECT_EQ(ReadFile(state_dir_ + "-agent.token"), ReadFile(State("token")));
  ASSERT_EQ(Run(RenewArgs()).code, 0);
  EXPECT_EQ(ReadFile(config_dir_ + "/50-keypaird.conf"), drop_in);
}

TEST_F(HostCommandTest, MissingHostnameIsAUsageError) {
  std::vector<std::string> args = {"keypaird",     "host",      "enroll", "--url",
                                   server_->Url(), "--project", "1",      "--join-token-file",
                                   join_file_};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  EXPECT_EQ(ClientMain(static_cast<int>(argv.size()), argv.data()), 2);
  EXPECT_TRUE(TakeRequests().empty());
}

TEST_F(HostCommandTest, SshConfigPrintsTheLinesAndSendsTheToken) {
  const std::string ca = TrimRight(ReadFile(dir_ / "host_ca.pub"));
  known_hosts_ = "@cert-authority *.example.com,web-1 " + ca + "\n";
  ASSERT_TRUE(WriteFile(dir_ / "api-token", "kpd_apitoken_secret\n", 0600));
  const Outcome o = Run({"ssh-config", "--url", server_->Url(), "--project", "1", "--hosts",
                         "*.example.com,web-1", "--token-file", dir_ / "api-token"});
  ASSERT_EQ(o.code, 0) << o.log;
  EXPECT_EQ(o.out, known_hosts_);
  const std::vector<FakeRequest> requests = TakeRequests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target,
            "/api/v1/projects/1/ssh_host_ca/known_hosts?hosts=%2A.example.com%2Cweb-1");
  EXPECT_EQ(requests[0].Header("Authorization"), "Bearer kpd_apitoken_secret");
  EXPECT_EQ(o.log.find("kpd_apitoken_secret"), std::string::npos);
}

TEST_F(HostCommandTest, SshConfigWriteReplacesOnlyItsLinesAndIsIdempotent) {
  const std::string ca = TrimRight(ReadFile(dir_ / "host_ca.pub"));
  const std::string ca2 = TrimRight(ReadFile(dir_ / "user_ca_2.pub"));
  const std::string file = dir_ / "known_hosts";
  const std::string other =
      "github.com ssh-ed25519 "
      "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n";
  const std::string old_line =
      "@cert-authority *.example.com ssh-ed25519 AAAAold keypaird project 1 host CA\n";
  const std::string elsewhere =
      "@cert-authority *.other.com ssh-ed25519 AAAAx keypaird project 1 host CA\n";
  ASSERT_TRUE(WriteFile(file, other + old_line + elsewhere, 0644));
  known_hosts_ = "@cert-authority *.example.com " + ca + " keypaird project 1 host CA\n" +
                 "@cert-authority *.example.com " + ca2 + " keypaird project 1 host CA\n";
  const std::vector<std::string> args = {"ssh-config",    "--url",   server_->Url(),
                                         "--project",     "1",       "--hosts",
                                         "*.example.com", "--write", file};
  const Outcome first = Run(args);
  ASSERT_EQ(first.code, 0) << first.log;
  EXPECT_EQ(ReadFile(file), other + known_hosts_ + elsewhere);
  EXPECT_EQ(first.out, file + ": written (2 @cert-authority lines for *.example.com)\n");
  EXPECT_EQ(ModeOf(file), 0644u);
  const Outcome second = Run(args);
  ASSERT_EQ(second.code, 0) << second.log;
  EXPECT_EQ(ReadFile(file), other + known_hosts_ + elsewhere);
  EXPECT_EQ(second.out, file + ": already current (2 @cert-authority lines for *.example.com)\n");

  // A new file is made 0644.
  const std::string fresh = dir_ / "fresh_known_hosts";
  std::vector<std::string> to_fresh = args;
  to_fresh.back() = fresh;
  ASSERT_EQ(Run(to_fresh).code, 0);
  EXPECT_EQ(ReadFile(fresh), known_hosts_);
  EXPECT_EQ(ModeOf(fresh), 0644u);
}

TEST_F(HostCommandTest, SshConfigWriteRefusesLinesItCouldNotFindAgain) {
  const std::string file = dir_ / "known_hosts";
  ASSERT_TRUE(WriteFile(file, "keep me\n", 0644));
  known_hosts_ = "@cert-authority *.example.com ssh-ed25519 AAAAx some other comment\n";
  const Outcome o = Run({"ssh-config", "--url", server_->Url(), "--project", "1", "--hosts",
                         "*.example.com", "--write", file});
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.log.find("does not start with \"@cert-authority *.example.com \" and end with "
                       "\"keypaird project 1 host CA\""),
            std::string::npos)
      << o.log;
  EXPECT_EQ(ReadFile(file), "keep me\n");
}

TEST_F(HostCommandTest, SshConfigShowsTheServiceRefusal) {
  // The fake answers 404 for another project.
  const Outcome o =
      Run({"ssh-config", "--url", server_->Url(), "--project", "2", "--hosts", "*.example.com"});
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.log.find("answered 404: no route GET /api/v1/projects/2/ssh_host_ca/known_hosts"),
            std::string::npos)
      << o.log;
}

}  // namespace
}  // namespace keypaird::cli
