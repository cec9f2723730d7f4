#include "config/config.h"

#include <gtest/gtest.h>

#include <map>
#include <tuple>

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
  StatusOr<Config> c = Parse(
      {"serve", "--listen=0.0.0.0:9000", "--allow-plaintext", "--database", "sqlite:/tmp/x.db"},
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
  EXPECT_TRUE(
      Parse({"serve", "--listen", "0.0.0.0:8080", "--tls-cert", "c.pem", "--tls-key", "k.pem"})
          .ok());
  EXPECT_TRUE(
      Parse({"serve", "--listen", "10.1.2.3:8080"}, {{"KEYPAIRD_ALLOW_PLAINTEXT", "1"}}).ok());
  EXPECT_TRUE(Parse({"serve", "--listen", "127.0.0.5:8080"}).ok());
  EXPECT_FALSE(Parse({"serve", "--tls-cert", "c.pem"}).ok());  // key missing
}

TEST(ConfigTest, SignInNeedsItsClientAndPublicUrl) {
  const std::vector<std::string> full = {
      "serve", "--oidc-issuer", "https://id.example.com/", "--oidc-client-id", "keypaird",
      "--oidc-client-secret-file", "/etc/keypaird/oidc-secret", "--public-url",
      "https://keys.example.com", "--session-ttl", "8h"};
  StatusOr<Config> c = Parse(full);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->oidc_issuer, "https://id.example.com/");  // as written: compared byte for byte
  EXPECT_EQ(c->session_ttl_ms, int64_t{8} * 3600 * 1000);
  EXPECT_EQ(c->oidc_groups_claim, "groups");
  for (const char* needed : {"--oidc-client-id", "--oidc-client-secret-file", "--public-url"}) {
    std::vector<std::string> args;
    for (size_t i = 0; i < full.size(); ++i) {
      if (full[i] == needed) {
        ++i;
        continue;
      }
      args.push_back(full[i]);
    }
    c = Parse(args);
    ASSERT_FALSE(c.ok()) << needed;
    EXPECT_NE(c.status().message().find(std::string(needed).substr(2)), std::string::npos);
  }
  std::vector<std::string> bad = full;
  bad.insert(bad.end(), {"--oidc-scopes", "email profile"});
  EXPECT_FALSE(Parse(bad).ok());
  bad = full;
  bad[2] = "http://id.example.com";  // plain http to another host
  EXPECT_FALSE(Parse(bad).ok());
  bad = full;
  bad.insert(bad.end(), {"--session-ttl", "1m"});
  EXPECT_FALSE(Parse(bad).ok());
  // The public URL is an origin: cookies, redirects and the console live at its root.
  for (const char* url : {"https://keys.example.com/", "http://127.0.0.1:8080"}) {
    bad = full;
    bad[8] = url;
    EXPECT_TRUE(Parse(bad).ok()) << url;
  }
  bad = full;
  bad[8] = "https://example.com/keypaird";
  c = Parse(bad);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("no path"), std::string::npos) << c.status().message();
}

TEST(ConfigTest, OperationalFlags) {
  StatusOr<Config> c =
      Parse({"serve", "--rate-limit", "2.5", "--rate-burst", "7", "--log-level", "warn",
             "--max-connections", "50", "--read-timeout", "3", "--shutdown-timeout", "4"});
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

  c = Parse({"serve", "--rsa-pool-2048", "0", "--rsa-pool-3072", "64", "--rsa-pool-threads", "1"},
            {{"KEYPAIRD_RSA_POOL_4096", "2"}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(std::tuple(c->rsa_pool_2048, c->rsa_pool_3072, c->rsa_pool_4096, c->rsa_pool_threads),
            std::tuple(0, 64, 2, 1));
  c = Parse({"serve"});
  EXPECT_EQ(std::tuple(c->rsa_pool_2048, c->rsa_pool_3072, c->rsa_pool_4096, c->rsa_pool_threads),
            std::tuple(8, 8, 4, 0));
  EXPECT_FALSE(Parse({"serve", "--rsa-pool-3072", "-1"}).ok());
  EXPECT_FALSE(Parse({"serve", "--rsa-pool-4096", "5000"}).ok());
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
  EXPECT_NE(
      Parse({"serve"}, {{"KEYPAIRD_THREADS", "lots"}}).status().message().find("KEYPAIRD_THREADS"),
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
  EXPECT_EQ(Parse({"serve", "--regions", "76,1"}).value().regions, (std::vector<int64_t>{76, 1}));
  EXPECT_EQ(Parse({"serve"}, {{"KEYPAIRD_REGIONS", "3"}}).value().regions,
            (std::vector<int64_t>{3}));
  for (const char* bad : {"", "0", "1,", "a", "1,,2", "2147483648"}) {
    StatusOr<Config> c = Parse({"serve", "--regions", bad});
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.status().message().find("--regions"), std::string::npos) << bad;
  }
  EXPECT_FALSE(Parse({"token", "list", "--regions", "1"}).ok());
}

TEST(ConfigTest, TrustedProxiesAreIpAddressesWrittenOneWay) {
  EXPECT_TRUE(Parse({"serve"}).value().trusted_proxies.empty());
  EXPECT_EQ(Parse({"serve", "--trusted-proxies", "10.0.0.5,2001:DB8:0::1,::ffff:192.0.2.1"})
                .value()
                .trusted_proxies,
            (std::vector<std::string>{"10.0.0.5", "2001:db8::1", "192.0.2.1"}));
  for (const char* bad : {"", "10.0.0.5,", "proxy.example.com", "10.0.0.0/8", "10.0.0.5 "}) {
    StatusOr<Config> c = Parse({"serve", "--trusted-proxies", bad});
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.status().message().find("--trusted-proxies"), std::string::npos) << bad;
  }
}

TEST(ConfigTest, TokenRevokeTakesOneId) {
  StatusOr<Config> c = Parse({"token", "revoke", "abcdef0123456789"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->token_id, "abcdef0123456789");
  EXPECT_FALSE(Parse({"token", "revoke"}).ok());
  EXPECT_FALSE(Parse({"token", "explode"}).ok());
}

TEST(ConfigTest, GrantCreateNeedsProjectsARoleAndExactlyOneSubject) {
  StatusOr<Config> c = Parse({"grant", "create", "--group", "ops", "--projects", "2,1", "--role",
                              "editor", "--principals", "deploy"});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->command, Command::kGrantCreate);
  EXPECT_EQ(c->group, "ops");
  EXPECT_EQ(c->role, "editor");
  EXPECT_EQ(c->principals, std::vector<std::string>{"deploy"});
  EXPECT_TRUE(Parse({"grant", "create", "--user-email", "a@b.c", "--projects", "1", "--role",
                     "viewer"})
                  .ok());
  EXPECT_TRUE(Parse({"grant", "create", "--user", "7", "--projects", "1", "--role", "admin"}).ok());
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {"grant", "create", "--projects", "1", "--role", "viewer"},
           {"grant", "create", "--group", "g", "--user", "1", "--projects", "1", "--role", "x"},
           {"grant", "create", "--group", "g", "--role", "viewer"},
           {"grant", "create", "--group", "g", "--projects", "1"},
           {"grant", "delete"},
           {"grant", "delete", "a", "b"},
           {"user", "disable"},
           {"user", "disable", "0"},
           {"user", "enable", "x"},
       }) {
    EXPECT_FALSE(Parse(bad).ok()) << bad[1] << " " << bad.size();
  }
  StatusOr<Config> d = Parse({"user", "disable", "42"});
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->command, Command::kUserDisable);
  EXPECT_EQ(d->target_user_id, 42);
  EXPECT_EQ(Parse({"grant", "delete", "g1"})->grant_id, "g1");
}

TEST(ConfigTest, HelpAndVersion) {
  EXPECT_EQ(Parse({}).value().command, Command::kHelp);
  EXPECT_EQ(Parse({"--help"}).value().command, Command::kHelp);
  EXPECT_EQ(Parse({"serve", "--help"}).value().command, Command::kHelp);
  EXPECT_EQ(Parse({"--version"}).value().command, Command::kVersion);
  for (const char* flag : {"--listen",          "--database",
                           "--threads",         "--io-threads",
                           "--db-pool",         "--max-connections",
                           "--read-timeout",    "--shutdown-timeout",
                           "--rate-limit",      "--rate-burst",
                           "--tls-cert",        "--tls-key",
                           "--allow-plaintext", "--log-level",
                           "--regions",         "--user",
                           "--projects",        "--admin",
                           "KEYPAIRD_REGIONS",  "KEYPAIRD_DATABASE",
                           "KEYPAIRD_TLS_CERT", "token revoke",
                           "migrate",           "/metrics",
                           "authorized-keys",   "krl",
                           "--max-stale",       "KEYPAIRD_TOKEN_FILE"}) {
    EXPECT_NE(HelpText().find(flag), std::string::npos) << flag;
  }
}

TEST(ConfigTest, AgentCommandsNeedAServiceATokenFileAndAProject) {
  StatusOr<Config> c =
      Parse({"authorized-keys", "--url", "https://keys.example.com/kp", "--token-file", "/t",
             "--project", "3", "--label-selector", "login=%u", "--cache-file", "/c/%u",
             "--max-stale", "2h30m", "--timeout", "500ms", "--owner-id", "9", "--ca-file", "ca"});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->command, Command::kAuthorizedKeys);
  EXPECT_EQ(c->url, "https://keys.example.com/kp");
  EXPECT_EQ(c->token_file, "/t");
  EXPECT_EQ(c->project, 3);
  EXPECT_EQ(c->label_selector, "login=%u");
  EXPECT_EQ(c->cache_file, "/c/%u");
  EXPECT_EQ(c->max_stale_ms, 9000000);
  EXPECT_EQ(c->timeout_ms, 500);
  EXPECT_EQ(c->owner_id, 9);
  EXPECT_EQ(c->ca_file, "ca");
  // Defaults: 1h of staleness, 2 s per request, every key, no cache.
  StatusOr<Config> d = Parse({"krl", "--url", "http://127.0.0.1:8080", "--token-file", "/t",
                              "--project", "1", "--out", "/var/lib/k/revoked.krl"});
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->command, Command::kKrl);
  EXPECT_EQ(d->out, "/var/lib/k/revoked.krl");
  EXPECT_EQ(d->timeout_ms, 2000);
  EXPECT_EQ(d->max_stale_ms, 3600000);
  EXPECT_TRUE(d->cache_file.empty());

  auto message = [](std::vector<std::string> args) {
    return Parse(std::move(args)).status().message();
  };
  EXPECT_EQ(message({"authorized-keys", "--token-file", "/t", "--project", "1"}),
            "--url: is required");
  EXPECT_EQ(message({"authorized-keys", "--url", "https://k", "--project", "1"}),
            "--token-file: is required");
  EXPECT_EQ(message({"krl", "--url", "https://k", "--token-file", "/t"}), "--project: is required");
  EXPECT_EQ(message({"krl", "--url", "https://k", "--token-file", "/t", "--project", "1"}),
            "--out: is required");
  EXPECT_EQ(message({"krl", "--out", "o", "--url", "https://k", "--token-file", "/t", "--project",
                     "1", "--label-selector", "a"}),
            "unknown flag --label-selector for this command");
}

TEST(ConfigTest, HostEnrollNeedsServiceProjectJoinTokenAndNames) {
  StatusOr<Config> c = Parse({"host", "enroll", "--url", "https://keys.example.com", "--project",
                              "3", "--join-token-file", "/j", "--hostname", "web-1.example.com",
                              "--hostname", "web-1", "--ssh-dir", "/s", "--config-dir", "/c",
                              "--state-dir", "/st", "--authorized-keys", "login=%u",
                              "--reload-command", "systemctl reload ssh"});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->command, Command::kHostEnroll);
  EXPECT_EQ(c->hostnames, (std::vector<std::string>{"web-1.example.com", "web-1"}));
  EXPECT_EQ(c->join_token_file, "/j");
  EXPECT_EQ(c->ssh_dir, "/s");
  EXPECT_EQ(c->ssh_config_dir, "/c");
  EXPECT_EQ(c->host_state_dir, "/st");
  EXPECT_EQ(c->authorized_keys_selector, "login=%u");
  EXPECT_EQ(c->reload_command, "systemctl reload ssh");
  const std::vector<std::string> base = {"host", "enroll", "--url", "https://k", "--project",
                                         "3", "--join-token-file", "/j"};
  EXPECT_EQ(Parse(base).status().message(), "--hostname: is required (once per name)");
  std::vector<std::string> comma = base;
  comma.insert(comma.end(), {"--hostname", "a,b"});
  EXPECT_EQ(Parse(comma).status().message(),
            "--hostname: must be a host name: printable, no spaces or commas");
  EXPECT_EQ(Parse({"host", "enroll", "--project", "3", "--join-token-file", "/j", "--hostname",
                   "h"})
                .status()
                .message(),
            "--url: is required");
  EXPECT_EQ(Parse({"host"}).status().message(), "host: expected enroll or renew");
  // renew takes its settings from the state directory, not from flags.
  StatusOr<Config> renew = Parse({"host", "renew", "--force"});
  ASSERT_TRUE(renew.ok()) << renew.status().message();
  EXPECT_TRUE(renew->force);
  EXPECT_EQ(renew->host_state_dir, "/etc/keypaird/host");
  EXPECT_EQ(Parse({"host", "renew", "--url", "https://k"}).status().message(),
            "unknown flag --url for this command");
}

TEST(ConfigTest, SshConfigNeedsServiceProjectAndPatterns) {
  StatusOr<Config> c = Parse({"ssh-config", "--url", "https://k", "--project", "2", "--hosts",
                              "*.example.com,web-1", "--write", "/k", "--token-file", "/t"});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->command, Command::kSshConfig);
  EXPECT_EQ(c->known_hosts_patterns, (std::vector<std::string>{"*.example.com", "web-1"}));
  EXPECT_EQ(c->write_file, "/k");
  EXPECT_EQ(Parse({"ssh-config", "--url", "https://k", "--project", "2"}).status().message(),
            "--hosts: is required");
  EXPECT_EQ(
      Parse({"ssh-config", "--url", "https://k", "--project", "2", "--hosts", "a,,b"})
          .status()
          .message(),
      "--hosts: expected a comma-separated list with no empty entries");
}

TEST(ConfigTest, LoginNeedsAServiceAndAProject) {
  StatusOr<Config> c =
      Parse({"login", "--url", "https://keys.example.com", "--project", "4", "--principals",
             "alice,deploy", "--ttl", "2h", "--out", "k", "--no-agent", "--ca-file", "ca"});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->command, Command::kLogin);
  EXPECT_EQ(c->project, 4);
  EXPECT_EQ(c->principals, (std::vector<std::string>{"alice", "deploy"}));
  EXPECT_EQ(c->ttl_ms, 7200000);
  EXPECT_EQ(c->out, "k");
  EXPECT_TRUE(c->no_agent);
  EXPECT_EQ(c->ca_file, "ca");
  // --principal P, once per principal (the contract's spelling), adds to the list.
  StatusOr<Config> each = Parse({"login", "--url", "https://k", "--project", "4", "--principals",
                                 "x,y", "--principal", "alice", "--principal", "deploy"});
  ASSERT_TRUE(each.ok()) << each.status().message();
  EXPECT_EQ(each->principals, (std::vector<std::string>{"x", "y", "alice", "deploy"}));
  EXPECT_FALSE(Parse({"login", "--url", "https://k", "--project", "4", "--principal", "a",
                      "--principal", ""})
                   .ok());
  // Defaults: 8 hours, every principal of the person, into ssh-agent.
  StatusOr<Config> d = Parse({"login", "--url", "https://k", "--project", "1"});
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->ttl_ms, 8 * 3600000);
  EXPECT_TRUE(d->principals.empty());
  EXPECT_FALSE(d->no_agent);
  EXPECT_TRUE(d->out.empty());

  auto message = [](std::vector<std::string> args) {
    return Parse(std::move(args)).status().message();
  };
  EXPECT_EQ(message({"login", "--project", "1"}), "--url: is required");
  EXPECT_EQ(message({"login", "--url", "https://k"}), "--project: is required");
  EXPECT_EQ(message({"login", "--url", "https://k", "--project", "1", "--no-agent"}),
            "--no-agent: needs --out (the key has to go somewhere)");
  EXPECT_EQ(message({"login", "--url", "https://k", "--project", "1", "--ttl", "25h"}),
            "--ttl: must be from 1m to 1d");
  EXPECT_EQ(message({"login", "--url", "https://k", "--project", "1", "--token-file", "t"}),
            "unknown flag --token-file for this command");
}

TEST(ConfigTest, AgentUrlsArePlainHttpOnlyToLoopback) {
  const std::vector<std::string> rest = {"--token-file", "/t", "--project", "1"};
  auto with_url = [&](const std::string& url) {
    std::vector<std::string> args = {"authorized-keys", "--url", url};
    args.insert(args.end(), rest.begin(), rest.end());
    return Parse(args);
  };
  for (const char* ok : {"http://127.0.0.1:8080", "http://[::1]:8080", "http://localhost",
                         "https://10.0.0.5:8443", "https://keys.example.com/prefix/"}) {
    EXPECT_TRUE(with_url(ok).ok()) << ok;
  }
  EXPECT_EQ(with_url("http://10.0.0.5:8080").status().message(),
            "--url: plain http:// is allowed only to a loopback address (127.0.0.0/8, ::1, "
            "localhost), not to 10.0.0.5: use https:// so that the token is not sent in clear "
            "text");
  EXPECT_EQ(with_url("https://u:p@keys").status().message(),
            "--url: must not hold a user name or password (the token goes in --token-file)");
  StatusOr<Config> from_env = Parse({"authorized-keys", "--token-file", "/t", "--project", "1"},
                                    {{"KEYPAIRD_URL", "http://keys.example.com"}});
  EXPECT_EQ(from_env.status().message().rfind("KEYPAIRD_URL (--url: plain http://", 0), 0u)
      << from_env.status().message();
}

TEST(ConfigTest, AgentDurations) {
  auto with = [](const std::string& flag, const std::string& value) {
    return Parse({"authorized-keys", "--url", "https://k", "--token-file", "/t", "--project", "1",
                  flag, value});
  };
  EXPECT_EQ(with("--max-stale", "0s").value().max_stale_ms, 0);
  EXPECT_EQ(with("--max-stale", "168h").value().max_stale_ms, 604800000);
  EXPECT_EQ(with("--timeout", "100ms").value().timeout_ms, 100);
  EXPECT_EQ(with("--timeout", "5m").value().timeout_ms, 300000);
  EXPECT_EQ(with("--max-stale", "60").status().message(),
            "--max-stale: must be a duration such as 30s, 5m, 1h or 2h30m");
  EXPECT_EQ(with("--max-stale", "8761h").status().message(),
            "--max-stale: must be from 0s to 365d");
  EXPECT_EQ(with("--timeout", "50ms").status().message(), "--timeout: must be from 100ms to 5m");
  EXPECT_EQ(with("--timeout", "0s").status().message(), "--timeout: must be from 100ms to 5m");
}

// ---- The flag table drives parsing and every document made from it.

namespace table {

// The words of a command ("token create" -> {"token", "create"}).
std::vector<std::string> Words(const Subcommand& s) {
  std::vector<std::string> words;
  std::string w;
  for (char ch : s.words) {
    if (ch == ' ') {
      words.push_back(w);
      w.clear();
    } else {
      w += ch;
    }
  }
  words.push_back(w);
  return words;
}

// The flags `required` (name, value) as arguments, less the one under test.
std::vector<std::string> RequiredLess(
    std::string_view flag, const std::vector<std::pair<std::string, std::string>>& required) {
  std::vector<std::string> args;
  for (const auto& [name, value] : required) {
    if (name == flag) continue;
    args.push_back("--" + name);
    args.push_back(value);
  }
  return args;
}

// What else a command line with this flag needs to be valid (the checks after parsing).
std::vector<std::string> Companions(std::string_view flag, Command command) {
  static const std::map<std::string_view, std::vector<std::string>> kByFlag = {
      {"tls-cert", {"--tls-key", "k.pem"}},
      {"tls-key", {"--tls-cert", "c.pem"}},
      {"projects", {"--user", "1"}},
      {"admin", {"--user", "1"}},
      {"user", {"--admin"}},
      {"oidc-issuer",
       {"--oidc-client-id", "keypaird", "--oidc-client-secret-file", "s",
        "--public-url", "https://keys.example.com"}},
  };
  if (command == Command::kGrantCreate) {
    // The required flags less the one under test, and one subject (a group, unless the
    // flag under test is the user or e-mail address the grant is for).
    std::vector<std::string> args = RequiredLess(flag, {{"projects", "1"}, {"role", "viewer"}});
    if (flag != "user" && flag != "user-email" && flag != "group") {
      args.push_back("--group");
      args.push_back("g");
    }
    return args;
  }
  if (auto it = kByFlag.find(flag); it != kByFlag.end()) return it->second;
  if (command == Command::kAuthorizedKeys || command == Command::kKrl) {
    // The required flags, less the one under test.
    std::vector<std::pair<std::string, std::string>> required = {
        {"url", "http://127.0.0.1:8080"}, {"token-file", "t"}, {"project", "1"}};
    if (command == Command::kKrl) required.emplace_back("out", "o");
    return RequiredLess(flag, required);
  }
  if (command == Command::kLogin) {
    std::vector<std::string> args =
        RequiredLess(flag, {{"url", "http://127.0.0.1:8080"}, {"project", "1"}});
    if (flag == "no-agent") {
      args.push_back("--out");
      args.push_back("o");
    }
    return args;
  }
  if (command == Command::kHostEnroll) {
    return RequiredLess(flag, {{"url", "http://127.0.0.1:8080"},
                               {"project", "1"},
                               {"join-token-file", "j"},
                               {"hostname", "web-1.example.com"}});
  }
  if (command == Command::kSshConfig) {
    return RequiredLess(
        flag, {{"url", "http://127.0.0.1:8080"}, {"project", "1"}, {"hosts", "*.example.com"}});
  }
  if (command == Command::kTokenCreate) return {"--user", "1", "--admin"};
  if (command == Command::kTokenRevoke) return {"0123456789abcdef"};
  if (command == Command::kGrantDelete) return {"0193c2e4-0000-7000-8000-000000000000"};
  if (command == Command::kUserDisable || command == Command::kUserEnable) return {"42"};
  return {};
}

// A valid value for a flag that has no default ("1" fits most).
std::string SampleValue(std::string_view flag) {
  if (flag == "url" || flag == "public-url") return "https://keys.example.com";
  if (flag == "oidc-issuer") return "https://id.example.com";
  if (flag == "oidc-scopes") return "openid";
  if (flag == "trusted-proxies") return "10.0.0.5,::1";
  return "1";
}

std::string RoffEscaped(std::string_view s) {
  std::string out;
  for (char ch : s) out += ch == '-' ? std::string("\\-") : std::string(1, ch);
  return out;
}

}  // namespace table

TEST(FlagTableTest, EveryFlagIsInHelpTheManPageTheCompletionAndServesInTheEnvFile) {
  const std::string help = HelpText();
  const std::string man = ManPage();
  const std::string env = EnvFile();
  const std::string completion = BashCompletion();
  ASSERT_FALSE(Flags().empty());
  for (const Flag& f : Flags()) {
    const std::string flag = "--" + std::string(f.name);
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
    EXPECT_NE(help.find(EnvName(f.name)), std::string::npos) << flag;
    EXPECT_NE(help.find(std::string(f.help)), std::string::npos) << flag;
    EXPECT_NE(man.find("\\fB" + table::RoffEscaped(flag) + "\\fR"), std::string::npos) << flag;
    EXPECT_NE(man.find(EnvName(f.name)), std::string::npos) << flag;
    EXPECT_NE(completion.find(flag), std::string::npos) << flag;
    const bool serve = (f.commands & CommandBit(Command::kServe)) != 0;
    EXPECT_EQ(env.find("\n#" + EnvName(f.name) + "=" + std::string(f.default_value) + "\n") !=
                  std::string::npos,
              serve)
        << flag;
  }
  for (const Subcommand& s : Subcommands()) {
    EXPECT_NE(help.find("keypaird " + std::string(s.words)), std::string::npos) << s.words;
    EXPECT_NE(man.find(table::RoffEscaped(s.words)), std::string::npos) << s.words;
  }
}

TEST(FlagTableTest, EveryFlagParsesTheSameFromTheCommandLineAndItsVariable) {
  for (const Flag& f : Flags()) {
    for (const Subcommand& s : Subcommands()) {
      if ((f.commands & CommandBit(s.command)) == 0) continue;
      const std::string var = EnvName(f.name);
      // The default must be valid (the env file shows it), and any value must mean the same
      // in either place; a switch is a bare flag on the command line.
      std::vector<std::string> values = {f.value.empty() ? "true" : std::string(f.default_value),
                                         "1", "x"};
      if (values[0].empty()) values[0] = table::SampleValue(f.name);
      for (const std::string& value : values) {
        std::vector<std::string> base = table::Words(s);
        for (const std::string& a : table::Companions(f.name, s.command)) base.push_back(a);
        std::vector<std::string> by_flag = base;
        by_flag.push_back("--" + std::string(f.name));
        if (!f.value.empty()) {
          by_flag.push_back(value);
        } else if (value != "true") {
          by_flag.back() += "=" + value;
        }
        StatusOr<Config> from_flag = Parse(by_flag);
        StatusOr<Config> from_env = Parse(base, {{var, value}});
        const std::string where = std::string(s.words) + " --" + std::string(f.name) + " " + value;
        if (value == values[0]) {
          ASSERT_TRUE(from_flag.ok()) << where << ": " << from_flag.status().message();
        }
        ASSERT_EQ(from_flag.ok(), from_env.ok()) << where;
        if (from_flag.ok()) {
          EXPECT_TRUE(*from_flag == *from_env) << where;
        } else if (from_flag.status().message().rfind("--" + std::string(f.name) + ":", 0) == 0) {
          EXPECT_EQ(from_env.status().message(), var + " (" + from_flag.status().message() + ")")
              << where;
        } else {
          EXPECT_EQ(from_env.status().message(), from_flag.status().message()) << where;
        }
      }
    }
  }
}

TEST(FlagTableTest, ValuesOtherThanTheDefaultReachTheConfig) {
  // One per kind of row: integer, seconds, text, switch, choice, list, listen, number.
  EXPECT_EQ(Parse({"serve"}, {{"KEYPAIRD_DB_POOL", "9"}}).value().db_pool, 9);
  EXPECT_EQ(Parse({"serve", "--shutdown-timeout", "0"}).value().shutdown_timeout_s, 0);
  EXPECT_EQ(Parse({"migrate"}, {{"KEYPAIRD_DATABASE", "postgresql://h/db"}}).value().database,
            "postgresql://h/db");
  EXPECT_TRUE(Parse({"serve"}, {{"KEYPAIRD_ALLOW_PLAINTEXT", "true"}}).value().allow_plaintext);
  EXPECT_FALSE(Parse({"serve", "--allow-plaintext=0"}).value().allow_plaintext);
  EXPECT_EQ(Parse({"serve"}, {{"KEYPAIRD_LOG_LEVEL", "debug"}}).value().log_level, "debug");
  EXPECT_EQ(Parse({"token", "list", "--database=sqlite:/a b.db"}).value().database,
            "sqlite:/a b.db");
  EXPECT_EQ(Parse({"serve"}, {{"KEYPAIRD_RATE_LIMIT", "0.5"}}).value().rate_limit, 0.5);
  EXPECT_EQ(Parse({"serve"}, {{"KEYPAIRD_IO_THREADS", "64"}}).value().io_threads, 64);
}

TEST(FlagTableTest, ErrorMessagesKeepTheirWording) {
  auto message = [](std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    return Parse(std::move(args), std::move(env)).status().message();
  };
  EXPECT_EQ(message({"serve", "--db-pool", "0"}), "--db-pool: must be an integer from 1 to 256");
  EXPECT_EQ(message({"serve", "--read-timeout", "0"}),
            "--read-timeout: must be seconds from 1 to 3600");
  EXPECT_EQ(message({"token", "create", "--user", "0"}), "--user: must be an integer >= 1");
  EXPECT_EQ(message({"serve", "--log-level", "loud"}),
            "--log-level: must be one of debug, info, warn, error");
  EXPECT_EQ(message({"serve", "--allow-plaintext=yes"}),
            "--allow-plaintext: takes no value (or true/false in KEYPAIRD_ALLOW_PLAINTEXT)");
  EXPECT_EQ(message({"serve"}, {{"KEYPAIRD_THREADS", "lots"}}),
            "KEYPAIRD_THREADS (--threads: must be an integer from 0 to 256)");
  EXPECT_EQ(message({"serve", "--listen"}), "--listen: needs a value");
  EXPECT_EQ(message({"serve", "--user", "1"}), "unknown flag --user for this command");
  EXPECT_EQ(message({"token"}), "token: expected create, list or revoke");
  EXPECT_EQ(message({"token", "x"}),
            "token: unknown subcommand 'x' (expected create, list or revoke)");
  EXPECT_EQ(message({"x"}), "unknown command 'x' (see keypaird --help)");
  EXPECT_EQ(message({"migrate", "extra"}), "unexpected argument 'extra'");
}

TEST(FlagTableTest, HelpTopicsPrintTheDocumentsTheBuildInstalls) {
  StatusOr<Config> man = Parse({"help", "man"});
  ASSERT_TRUE(man.ok());
  EXPECT_EQ(man->command, Command::kHelp);
  EXPECT_EQ(HelpDocument(*man), ManPage());
  EXPECT_EQ(HelpDocument(Parse({"help", "bash-completion"}).value()), BashCompletion());
  EXPECT_EQ(HelpDocument(Parse({"help"}).value()), HelpText());
  // help env shows given values as the defaults (the package's database), checked as serve
  // would check them.
  StatusOr<Config> env = Parse({"help", "env", "--database", "sqlite:/var/lib/k/k.db"});
  ASSERT_TRUE(env.ok()) << env.status().message();
  const std::string file = HelpDocument(*env);
  EXPECT_NE(file.find("\n#KEYPAIRD_DATABASE=sqlite:/var/lib/k/k.db\n"), std::string::npos);
  EXPECT_NE(file.find("\n#KEYPAIRD_LISTEN=127.0.0.1:8080\n"), std::string::npos);
  EXPECT_EQ(file.find("KEYPAIRD_USER"), std::string::npos);  // not a setting of serve
  EXPECT_FALSE(Parse({"help", "env", "--threads", "many"}).ok());
  EXPECT_FALSE(Parse({"help", "env", "--user", "1"}).ok());
  EXPECT_FALSE(Parse({"help", "man", "--listen", "127.0.0.1:1"}).ok());
  EXPECT_EQ(Parse({"help", "recipes"}).status().message(),
            "help: unknown topic 'recipes' (expected man, env or bash-completion)");
}

TEST(FlagTableTest, ManPageIsRoffWithEscapedHyphensAndTheVersion) {
  const std::string man = ManPage();
  EXPECT_EQ(man.rfind(".\\\"", 0), 0u);
  EXPECT_NE(man.find("\n.TH KEYPAIRD 1 "), std::string::npos);
  for (const char* section : {"NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS",
                              "ENVIRONMENT", "FILES", "\"EXIT STATUS\"", "\"SEE ALSO\""}) {
    EXPECT_NE(man.find("\n.SH " + std::string(section) + "\n"), std::string::npos) << section;
  }
  // Every hyphen is \- (so flags copy as typed); no line starts with a quote (a roff control).
  for (size_t i = man.find('-'); i != std::string::npos; i = man.find('-', i + 1)) {
    EXPECT_EQ(man[i - 1], '\\') << man.substr(i > 30 ? i - 30 : 0, 60);
  }
  EXPECT_EQ(man.find("\n'"), std::string::npos);
}

}  // namespace
}  // namespace keypaird::config
