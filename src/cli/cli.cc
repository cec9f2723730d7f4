#include "cli/cli.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "auth/audit.h"
#include "auth/tokens.h"
#include "ca/authority.h"
#include "ca/kek.h"
#include "cli/agent.h"
#include "cli/client.h"
#include "cli/secure_files.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/rfc3339.h"
#include "common/version.h"
#include "config/config.h"
#include "http/api.h"
#include "server/server.h"
#include "service/key_pool.h"
#include "service/key_service.h"
#include "service/observed_store.h"
#include "service/hosts.h"
#include "service/people.h"
#include "service/sign_in.h"
#include "store/key_store.h"

namespace keypaird::cli {
namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "keypaird: %s\n", s.message().c_str());
  return 1;
}

StatusOr<std::unique_ptr<store::KeyStore>> Open(const config::Config& c, bool migrate,
                                                Metrics* metrics = nullptr) {
  store::StoreOptions options;
  options.apply_migrations = migrate;
  options.pool_size = c.db_pool;
  options.metrics = metrics;
  options.describe_key = service::DescribeKey;  // for keys stored before migration 4
  return store::OpenStore(c.database, options);
}

int Serve(const config::Config& c) {
  server::BlockStopSignals();  // before the store's writer or any pool starts a thread
  SetLogLevel(ParseLogLevel(c.log_level).value_or(LogLevel::kInfo));
  Metrics metrics;
  auto opened = Open(c, /*migrate=*/true, &metrics);
  if (!opened.ok()) return Fail(opened.status());
  std::unique_ptr<store::KeyStore> store = service::NewObservedStore(opened->get(), &metrics);
  // The token cache (docs/BENCHMARKS.md "The token cache"), exact by the credentials'
  // generation read in each request's snapshot. SQLite only: on PostgreSQL reading the
  // generation is the round trip that reading the token is, so it would save nothing.
  auth::TokenCache token_cache(100000, &metrics);
  const bool cache_tokens = !c.no_token_cache && c.database.starts_with("sqlite:");
  auth::Authenticator authenticator(store.get(), SystemNowMicros,
                                    cache_tokens ? &token_cache : nullptr);
  service::KeyPoolOptions pool_options;
  pool_options.depth = {{sshkey::KeyType::kRsa2048, c.rsa_pool_2048},
                        {sshkey::KeyType::kRsa3072, c.rsa_pool_3072},
                        {sshkey::KeyType::kRsa4096, c.rsa_pool_4096}};
  pool_options.threads = c.rsa_pool_threads;
  service::KeyPool pool(pool_options, &metrics);
  service::KeyService keys(store.get(), SystemNowMicros, &metrics, 0, &pool);
  std::unique_ptr<http::RateLimiter> limiter;
  if (c.rate_limit > 0) {
    const double burst = c.rate_burst > 0 ? c.rate_burst : std::max(1.0, 2 * c.rate_limit);
    limiter = std::make_unique<http::RateLimiter>(c.rate_limit, burst);
  }
  // The SSH certificate authority: only with a key-encryption key.
  std::unique_ptr<ca::CertificateAuthority> authority;
  if (!c.ca_kek_file.empty()) {
    StatusOr<ca::Kek> kek = ca::Kek::Load(c.ca_kek_file);
    if (!kek.ok()) return Fail(kek.status());
    authority = std::make_unique<ca::CertificateAuthority>(
        store.get(), &keys, std::move(*kek), c.ca_max_validity_ms / 1000, SystemNowMicros,
        &metrics);
    if (Status s = authority->VerifyKek(); !s.ok()) return Fail(s);
  }
  service::AuditLog audit(store.get());
  service::People people(store.get(), SystemNowMicros);
  service::Hosts hosts(store.get(), SystemNowMicros, authority.get(),
                       c.host_cert_validity_ms / 1000);
  // People's sign-in: only with an OpenID provider.
  std::unique_ptr<service::SignIn> sign_in;
  if (!c.oidc_issuer.empty()) {
    StatusOr<SecretString> secret = ReadSecretFile(c.oidc_client_secret_file, "client secret");
    if (!secret.ok()) return Fail(secret.status());
    std::string public_url = c.public_url;
    while (public_url.ends_with('/')) public_url.pop_back();
    service::SignInOptions options{.issuer = c.oidc_issuer,
                                   .client_id = c.oidc_client_id,
                                   .client_secret = std::move(*secret),
                                   .public_url = std::move(public_url),
                                   .groups_claim = c.oidc_groups_claim,
                                   .scopes = c.oidc_scopes,
                                   .session_ttl_s = c.session_ttl_ms / 1000,
                                   .ca_file = c.ca_file};
    sign_in = std::make_unique<service::SignIn>(store.get(), std::move(options), SystemNowMicros);
  }
  service::EventPruner pruner(store.get(), std::chrono::milliseconds(c.events_retention_ms));
  pruner.Start();  // stopped (joined) before the store closes: declared after it
  http::Api api(&keys, &authenticator,
                {.metrics = &metrics,
                 .rate_limiter = limiter.get(),
                 .regions = c.regions,
                 .ca = authority.get(),
                 .audit = &audit,
                 .people = &people,
                 .hosts = &hosts,
                 .sign_in = sign_in.get(),
                 .trusted_proxies = c.trusted_proxies});

  server::ServerOptions options;
  options.address = c.listen_address;
  options.port = c.listen_port;
  // Workers mostly wait on the store (a durable commit); many of them let concurrent
  // creates share one group commit. CPU-bound key generation is capped at the core
  // count inside KeyService.
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options.io_threads = c.io_threads > 0 ? c.io_threads : cores;
  options.workers = c.threads > 0 ? c.threads : std::max(64, 8 * cores);
  options.keygen_threads = cores;
  // SQLite reads a local file in microseconds; PostgreSQL reads cross the network.
  options.local_store = c.database.starts_with("sqlite:");
  options.max_connections = static_cast<size_t>(c.max_connections);
  options.read_timeout = std::chrono::seconds(c.read_timeout_s);
  options.shutdown_timeout = std::chrono::seconds(c.shutdown_timeout_s);
  options.tls_cert_file = c.tls_cert;
  options.tls_key_file = c.tls_key;
  options.metrics = &metrics;
  options.max_body_bytes = http::kMaxBodyBytes;
  options.max_target_bytes = http::kMaxTargetBytes;
  if (Status s = server::RunServer(options, api); !s.ok()) return Fail(s);
  return 0;  // the store closes cleanly as `opened` goes out of scope
}

int TokenCreate(const config::Config& c) {
  auto store = Open(c, true);
  if (!store.ok()) return Fail(store.status());
  StatusOr<auth::MintedToken> minted = auth::MintToken(
      c.user_id, c.admin, c.projects, SystemNowMicros(), {c.read_only, c.principals});
  if (!minted.ok()) return Fail(minted.status());
  // The token's user is one of keypaird's users from now on (a person's id, if it is one).
  store::EventRecord made = auth::NewCliEvent(auth::kUserCreate, minted->record.created_at_us);
  auth::AboutUser(c.user_id, &made);
  if (Status s = (*store)->EnsureUser(c.user_id, minted->record.created_at_us, made); !s.ok()) {
    return Fail(s);
  }
  store::EventRecord event = auth::NewCliEvent(auth::kTokenCreate, minted->record.created_at_us);
  auth::AboutToken(minted->record.id, &minted->record, &event);
  if (Status s = (*store)->InsertToken(minted->record, event); !s.ok()) return Fail(s);
  // The one and only time the secret is shown.
  std::fwrite(minted->token.view().data(), 1, minted->token.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  std::fprintf(stderr, "keypaird: created token %s for user %lld\n", minted->record.id.c_str(),
               static_cast<long long>(minted->record.user_id));
  return 0;
}

int TokenList(const config::Config& c) {
  auto store = Open(c, true);
  if (!store.ok()) return Fail(store.status());
  auto tokens = (*store)->ListTokens();
  if (!tokens.ok()) return Fail(tokens.status());
  std::printf("%-16s  %-10s  %-24s  %-20s  %s\n", "ID", "USER", "SCOPE", "CREATED", "REVOKED");
  for (const auto& t : *tokens) {
    std::string scope = "admin";
    if (!t.admin) {
      scope = "projects:";
      for (size_t i = 0; i < t.projects.size(); ++i) {
        if (i > 0) scope += ',';
        scope += std::to_string(t.projects[i]);
      }
    }
    if (t.read_only) scope += " read-only";
    if (t.user_disabled) scope += " (user disabled)";
    if (!t.principals.empty()) {
      scope += " principals:";
      for (size_t i = 0; i < t.principals.size(); ++i) scope += (i ? "," : "") + t.principals[i];
    }
    std::printf("%-16s  %-10lld  %-24s  %-20s  %s\n", t.id.c_str(),
                static_cast<long long>(t.user_id), scope.c_str(),
                FormatRfc3339(t.created_at_us).c_str(),
                t.revoked_at_us ? FormatRfc3339(*t.revoked_at_us).c_str() : "-");
  }
  return 0;
}

int TokenRevoke(const config::Config& c) {
  auto store = Open(c, true);
  if (!store.ok()) return Fail(store.status());
  // Accept the id or a whole token (only its public id part is used).
  std::string id = c.token_id;
  std::string_view tid;
  std::string_view secret;
  if (auth::SplitToken(id, &tid, &secret)) id = std::string(tid);
  const int64_t now = SystemNowMicros();
  store::EventRecord event = auth::NewCliEvent(auth::kTokenRevoke, now);
  auth::AboutToken(id, nullptr, &event);
  if (Status s = (*store)->RevokeToken(id, now, event); !s.ok()) {
    if (s.code() == StatusCode::kNotFound) {
      return Fail(NotFound("no token with id " + c.token_id));
    }
    return Fail(s);
  }
  std::fprintf(stderr, "keypaird: revoked token %s\n", id.c_str());
  return 0;
}

std::string JoinIds(const std::vector<int64_t>& ids) {
  std::string out;
  for (int64_t id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out;
}

std::string JoinWords(const std::vector<std::string>& words, const char* none = "-") {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : ",") + w;
  return out.empty() ? none : out;
}

int GrantCreate(const config::Config& c) {
  auto store = Open(c, true);
  if (!store.ok()) return Fail(store.status());
  service::GrantRequest request;
  request.group = c.group;
  request.user_id = c.user_id;
  request.user_email = c.user_email;
  request.projects = c.projects;
  request.role = c.role;
  request.principals = c.principals;
  StatusOr<store::GrantRecord> grant =
      service::People(store->get(), SystemNowMicros).CreateGrant(nullptr, request);
  if (!grant.ok()) return Fail(grant.status());
  std::printf("%s\n", grant->id.c_str());
  return 0;
}

int GrantList(const config::Config& c) {
  auto store = Open(c, true);
  if (!store.ok()) return Fail(store.status());
  auto grants = service::People(store->get(), SystemNowMicros).ListGrants(nullptr);
  if (!grants.ok()) return Fail(grants.status());
  std::printf("%-36s  %-32s  %-16s  %-6s  %s\n", "ID", "FOR", "PROJECTS", "ROLE", "PRINCIPALS");
  for (const store::GrantRecord& g : *grants) {
    const std::string who = !g.group.empty()        ? "group:" + g.group
                            : !g.user_email.empty() ? "email:" + g.user_email
                                                    : "user:" + std::to_string(g.user_id);
    std::printf("%-36s  %-32s  %-16s  %-6s  %s\n", g.id.c_str(), who.c_str(),
                JoinIds(g.projects).c_str(), g.role.c_str(), JoinWords(g.principals).c_str());
  }
  return 0;
}

int GrantDelete(const config::Config& c) {
  auto store = Open(c, true);
  if (!store.ok()) return Fail(store.status());
  if (Status s = service::People(store->get(), SystemNowMicros).DeleteGrant(nullptr, c.grant_id);
      !s.ok()) {
    return Fail(s);
  }
  std::fprintf(stderr, "keypaird: deleted grant %s\n", c.grant_id.c_str());
  return 0;
}

int UserList(const config::Config& c) {
  auto store = Open(c, true);
  if (!store.ok()) return Fail(store.status());
  auto users = service::People(store->get(), SystemNowMicros).ListUsers(nullptr);
  if (!users.ok()) return Fail(users.status());
  std::printf("%-10s  %-8s  %-32s  %-24s  %-20s  %s\n", "ID", "STATE", "EMAIL", "GROUPS",
              "LAST SIGN-IN", "ISSUER");
  for (const store::UserRecord& u : *users) {
    std::printf("%-10lld  %-8s  %-32s  %-24s  %-20s  %s\n", static_cast<long long>(u.id),
                u.disabled ? "disabled" : "active", u.email.empty() ? "-" : u.email.c_str(),
                JoinWords(u.groups).c_str(),
                u.last_sign_in_at_us ? FormatRfc3339(*u.last_sign_in_at_us).c_str() : "-",
                u.issuer.empty() ? "- (token user)" : u.issuer.c_str());
  }
  return 0;
}

int UserSetDisabled(const config::Config& c, bool disabled) {
  auto store = Open(c, true);
  if (!store.ok()) return Fail(store.status());
  StatusOr<store::UserRecord> user = service::People(store->get(), SystemNowMicros)
                                         .SetDisabled(nullptr, c.target_user_id, disabled);
  if (!user.ok()) return Fail(user.status());
  std::fprintf(stderr, "keypaird: user %lld is %s\n", static_cast<long long>(user->id),
               user->disabled ? "disabled: its tokens and sessions stop now" : "enabled");
  return 0;
}

int CaNewKek(const config::Config& c) {
  if (Status s = ca::Kek::WriteNew(c.kek_out); !s.ok()) return Fail(s);
  std::fprintf(stderr,
               "keypaird: wrote a new key-encryption key to %s (mode 0600); keep a copy: the "
               "projects' CA keys cannot be opened without it\n",
               c.kek_out.c_str());
  return 0;
}

int Migrate(const config::Config& c) {
  auto store = Open(c, true);
  if (!store.ok()) return Fail(store.status());
  std::fprintf(stderr, "keypaird: the database schema is current\n");
  return 0;
}

}  // namespace

int Main(const std::vector<std::string>& args) {
  StatusOr<config::Config> c = config::ParseCommandLine(args);
  if (!c.ok()) {
    std::fprintf(stderr, "keypaird: %s\n", c.status().message().c_str());
    return 2;
  }
  switch (c->command) {
    case config::Command::kServe:
      return Serve(*c);
    case config::Command::kMigrate:
      return Migrate(*c);
    case config::Command::kTokenCreate:
      return TokenCreate(*c);
    case config::Command::kTokenList:
      return TokenList(*c);
    case config::Command::kTokenRevoke:
      return TokenRevoke(*c);
    case config::Command::kGrantCreate:
      return GrantCreate(*c);
    case config::Command::kGrantList:
      return GrantList(*c);
    case config::Command::kGrantDelete:
      return GrantDelete(*c);
    case config::Command::kUserList:
      return UserList(*c);
    case config::Command::kUserDisable:
      return UserSetDisabled(*c, true);
    case config::Command::kUserEnable:
      return UserSetDisabled(*c, false);
    case config::Command::kCaNewKek:
      return CaNewKek(*c);
    case config::Command::kHelp:
    case config::Command::kVersion:
    case config::Command::kAuthorizedKeys:
    case config::Command::kKrl:
    case config::Command::kLogin:
    case config::Command::kHostEnroll:
    case config::Command::kHostRenew:
    case config::Command::kSshConfig:
      return RunClientCommand(*c);
  }
  return 2;
}

}  // namespace keypaird::cli
