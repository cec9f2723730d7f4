#include "config/config.h"

#include <gtest/gtest.h>

#include <map>

namespace keypaird::config {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

StatusOr<Config> Parse(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  return ParseCommandLine(args, FakeEnv(std::move(env)));
}

TEST(ConfigTest, ServeDefaults) {
  StatusOr<Config> c = Parse({"serve"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->command, Command::kServe);
  EXPECT_EQ(c->database, "sqlite:./data/keypaird.db");
  EXPECT_EQ(c->listen_address, "127.0.0.1");
  EXPECT_EQ(c->listen_port, 8080);
}

TEST(ConfigTest, FlagsInBothFormsAndFlagBeatsEnvironment) {
  StatusOr<Config> c = Parse({"serve", "--listen=0.0.0.0:9000", "--allow-plaintext", "--database",
                              "sqlite:/tmp/x.db"},
                             {{"KEYPAIRD_LISTEN", "127.0.0.1:7000"}, {"KEYPAIRD_THREADS", "3"}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->listen_address, "0.0.0.0");
  EXPECT_EQ(c->listen_port, 9000);
  EXPECT_EQ(c->database, "sqlite:/tmp/x.db");
  EXPECT_EQ(c->threads, 3);  // from the environment
}

TEST(ConfigTest, NonLoopbackPlainHttpNeedsTlsOrAnExplicitSwitch) {
  Status refused = Parse({"serve", "--listen", "0.0.0.0:8080"}).status();
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("--tls-cert"), std::string::npos);
  EXPECT_TRUE(Parse({"serve", "--listen", "0.0.0.0:8080", "--tls-cert", "c.pem", "--tls-key",
                     "k.pem"})
                  .ok());
  EXPECT_TRUE(Parse({"serve", "--listen", "10.1.2.3:8080"}, {{"KEYPAIRD_ALLOW_PLAINTEXT", "1"}}).ok());
  EXPECT_TRUE(Parse({"serve", "--listen", "127.0.0.5:8080"}).ok());
  EXPECT_FALSE(Parse({"serve", "--tls-cert", "c.pem"}).ok());  // key missing
}

TEST(ConfigTest, OperationalFlags) {
  StatusOr<Config> c = Parse({"serve", "--rate-limit", "2.5", "--rate-burst", "7", "--log-level",
                              "warn", "--max-connections", "50", "--read-timeout", "3",
                              "--shutdown-timeout", "4"});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_DOUBLE_EQ(c->rate_limit, 2.5);
  EXPECT_EQ(c->rate_burst, 7);
  EXPECT_EQ(c->log_level, "warn");
  EXPECT_EQ(c->max_connections, 50);
  EXPECT_EQ(c->read_timeout_s, 3);
  EXPECT_EQ(c->shutdown_timeout_s, 4);
  EXPECT_FALSE(Parse({"serve", "--rate-limit", "-1"}).ok());
  EXPECT_FALSE(Parse({"serve", "--rate-limit", "fast"}).ok());
  EXPECT_FALSE(Parse({"serve", "--log-level", "loud"}).ok());
  EXPECT_FALSE(Parse({"serve", "--read-timeout", "0"}).ok());
}

TEST(ConfigTest, Ipv6ListenAddress) {
  StatusOr<Config> c = Parse({"serve", "--listen", "[::1]:8081"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->listen_address, "::1");
  EXPECT_EQ(c->listen_port, 8081);
}

TEST(ConfigTest, BadValuesNameTheFlagOrVariable) {
  EXPECT_NE(Parse({"serve", "--listen", "nope"}).status().message().find("--listen"),
            std::string::npos);
  EXPECT_NE(Parse({"serve", "--listen", "h:70000"}).status().message().find("--listen"),
            std::string::npos);
  EXPECT_NE(Parse({"serve", "--threads", "-1"}).status().message().find("--threads"),
            std::string::npos);
  EXPECT_NE(Parse({"serve"}, {{"KEYPAIRD_THREADS", "lots"}}).status().message().find(
                "KEYPAIRD_THREADS"),
            std::string::npos);
  EXPECT_FALSE(Parse({"serve", "--bogus", "1"}).ok());
  EXPECT_FALSE(Parse({"serve", "--database"}).ok());
  EXPECT_FALSE(Parse({"frobnicate"}).ok());
}

TEST(ConfigTest, TokenCreateNeedsUserAndExactlyOneScope) {
  StatusOr<Config> c = Parse({"token", "create", "--user", "4", "--projects", "1,2"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->command, Command::kTokenCreate);
  EXPECT_EQ(c->user_id, 4);
  EXPECT_EQ(c->projects, (std::vector<int64_t>{1, 2}));
  StatusOr<Config> admin = Parse({"token", "create", "--user", "1", "--admin"});
  ASSERT_TRUE(admin.ok());
  EXPECT_TRUE(admin->admin);
  EXPECT_FALSE(Parse({"token", "create", "--projects", "1"}).ok());
  EXPECT_FALSE(Parse({"token", "create", "--user", "1"}).ok());
  EXPECT_FALSE(Parse({"token", "create", "--user", "1", "--admin", "--projects", "1"}).ok());
  EXPECT_FALSE(Parse({"token", "create", "--user", "1", "--projects", "1,,2"}).ok());
}

TEST(ConfigTest, RegionsAreAListOfIdsAndDefaultToAny) {
  EXPECT_TRUE(Parse({"serve"}).value().regions.empty());
  EXPECT_EQ(Parse({"serve", "--regions", "76,1"}).value().regions,
            (std::vector<int64_t>{76, 1}));
  EXPECT_EQ(Parse({"serve"}, {{"KEYPAIRD_REGIONS", "3"}}).value().regions,
            (std::vector<int64_t>{3}));
  for (const char* bad : {"", "0", "1,", "a", "1,,2", "2147483648"}) {
    StatusOr<Config> c = Parse({"serve", "--regions", bad});
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.status().message().find("--regions"), std::string::npos) << bad;
  }
  EXPECT_FALSE(Parse({"token", "list", "--regions", "1"}).ok());
}

TEST(ConfigTest, TokenRevokeTakesOneId) {
  StatusOr<Config> c = Parse({"token", "revoke", "abcdef0123456789"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->token_id, "abcdef0123456789");
  EXPECT_FALSE(Parse({"token", "revoke"}).ok());
  EXPECT_FALSE(Parse({"token", "explode"}).ok());
}

TEST(ConfigTest, HelpAndVersion) {
  EXPECT_EQ(Parse({}).value().command, Command::kHelp);
  EXPECT_EQ(Parse({"--help"}).value().command, Command::kHelp);
  EXPECT_EQ(Parse({"serve", "--help"}).value().command, Command::kHelp);
  EXPECT_EQ(Parse({"--version"}).value().command, Command::kVersion);
  for (const char* flag :
       {"--listen", "--database", "--threads", "--io-threads", "--db-pool", "--max-connections",
        "--read-timeout", "--shutdown-timeout", "--rate-limit", "--rate-burst", "--tls-cert",
        "--tls-key", "--allow-plaintext", "--log-level", "--regions", "--user", "--projects",
        "--admin", "KEYPAIRD_REGIONS",
        "KEYPAIRD_DATABASE", "KEYPAIRD_TLS_CERT", "token revoke", "migrate", "/metrics"}) {
    EXPECT_NE(HelpText().find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace keypaird::config
