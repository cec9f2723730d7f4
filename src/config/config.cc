#include "config/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <type_traits>

#include "common/duration.h"
#include "common/strings.h"
#include "common/url.h"
#include "config/text.h"

namespace keypaird::config {
namespace {

bool ParseInt64(const std::string& s, int64_t min, int64_t max, int64_t* out) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || v < min || v > max) {
    return false;
  }
  *out = v;
  return true;
}

Status Bad(std::string_view flag, const std::string& why) {
  return InvalidArgument(Cat("--", flag, ": ", why));
}

// ---- How a row's value is parsed and stored (the `apply` of the table's rows): plain
// functions, one instantiation per row, so the table holds no state of its own.

// An integer in [kMin, kMax] stored in Field; kNoun names the unit in the message.
inline constexpr char kInteger[] = "an integer";
inline constexpr char kSeconds[] = "seconds";
template <auto Field, int64_t kMin, int64_t kMax, const char* kNoun = kInteger>
std::string Int(const std::string& v, Config* c) {
  int64_t n = 0;
  if (!ParseInt64(v, kMin, kMax, &n)) {
    if (kMax == 2147483647) return Cat("must be ", kNoun, " >= ", std::to_string(kMin));
    return Cat("must be ", kNoun, " from ", std::to_string(kMin), " to ", std::to_string(kMax));
  }
  c->*Field = static_cast<std::remove_reference_t<decltype(c->*Field)>>(n);
  return "";
}

template <auto Field, int64_t kMin, int64_t kMax>
std::string Seconds(const std::string& v, Config* c) {
  return Int<Field, kMin, kMax, kSeconds>(v, c);
}

template <auto Field>
std::string Text(const std::string& v, Config* c) {
  c->*Field = v;
  return "";
}

template <auto Field>
std::string NonEmptyText(const std::string& v, Config* c) {
  if (v.empty()) return "must not be empty";
  c->*Field = v;
  return "";
}

// A duration ("30s", "5m", "2h30m"; common/duration.h) from kMinMs to kMaxMs, in ms.
template <auto Field, int64_t kMinMs, int64_t kMaxMs>
std::string Duration(const std::string& v, Config* c) {
  const std::optional<int64_t> ms = ParseDurationMs(v);
  if (!ms.has_value()) return "must be a duration such as 30s, 5m, 1h or 2h30m";
  if (*ms < kMinMs || *ms > kMaxMs) {
    return Cat("must be from ", FormatDurationMs(kMinMs), " to ", FormatDurationMs(kMaxMs));
  }
  c->*Field = *ms;
  return "";
}

// A service's URL (the agents' --url, serve's --public-url and --oidc-issuer): parsed, and
// plain http:// only to loopback (common/url.h). Kept as written: an issuer is compared
// byte for byte.
template <auto Field>
std::string WebUrl(const std::string& v, Config* c) {
  StatusOr<HttpUrl> url = ParseHttpUrl(v);
  if (!url.ok()) return url.status().message();
  if (Status s = CheckAgentUrl(*url); !s.ok()) return s.message();
  c->*Field = v;
  return "";
}

// An origin, https://HOST[:PORT] (http:// only on loopback), with no path: where browsers
// reach the service. Sign-in's cookies and redirects and the console live at the root of it,
// so a proxy that serves keypaird under a path prefix is refused here rather than half-working.
template <auto Field>
std::string OriginUrl(const std::string& v, Config* c) {
  if (std::string why = WebUrl<Field>(v, c); !why.empty()) return why;
  if (!ParseHttpUrl(v)->base_path.empty()) {
    return "must be the origin browsers reach the service at, with no path: sign-in and the "
           "console are served at the root of their host";
  }
  return "";
}

// A switch; the value ("true", "1", "false", "0") is checked by ApplyValue.
template <auto Field>
std::string Switch(const std::string& v, Config* c) {
  c->*Field = v == "true" || v == "1";
  return "";
}

// A comma-separated list of ids 1..2147483647 (projects, regions), in the order given.
inline constexpr char kProject[] = "project";
inline constexpr char kRegion[] = "region";
template <auto Field, const char* kWhat>
std::string IdList(const std::string& v, Config* c) {
  std::vector<int64_t> ids;
  size_t pos = 0;
  while (pos <= v.size()) {
    size_t comma = v.find(',', pos);
    if (comma == std::string::npos) comma = v.size();
    int64_t id = 0;
    if (!ParseInt64(v.substr(pos, comma - pos), 1, 2147483647, &id)) {
      return Cat("expected a comma-separated list of ", kWhat, " ids (integers >= 1)");
    }
    ids.push_back(id);
    pos = comma + 1;
  }
  c->*Field = std::move(ids);
  return "";
}

// A comma-separated list of IP addresses (IPv4 or IPv6), each written as inet_ntop would.
template <auto Field>
std::string IpList(const std::string& v, Config* c) {
  std::vector<std::string> addresses;
  size_t pos = 0;
  while (pos <= v.size()) {
    size_t comma = v.find(',', pos);
    if (comma == std::string::npos) comma = v.size();
    std::string address = CanonicalIp(v.substr(pos, comma - pos));
    if (address.empty()) return "expected a comma-separated list of IP addresses";
    addresses.push_back(std::move(address));
    pos = comma + 1;
  }
  c->*Field = std::move(addresses);
  return "";
}

// A comma-separated list of words (certificate principals); each is checked where it is
// used (auth::ValidatePrincipal, when the token is made).
template <auto Field>
std::string WordList(const std::string& v, Config* c) {
  std::vector<std::string> words;
  size_t pos = 0;
  while (pos <= v.size()) {
    size_t comma = v.find(',', pos);
    if (comma == std::string::npos) comma = v.size();
    if (comma == pos) return "expected a comma-separated list with no empty entries";
    words.push_back(v.substr(pos, comma - pos));
    pos = comma + 1;
  }
  c->*Field = std::move(words);
  return "";
}

// One more word (a repeatable flag: `login --principal a --principal b`).
template <auto Field>
std::string AppendWord(const std::string& v, Config* c) {
  if (v.empty()) return "expected a value";
  (c->*Field).push_back(v);
  return "";
}

template <auto Field>
std::string OptionalText(const std::string& v, Config* c) {
  if (v.empty()) return "must not be empty";
  c->*Field = v;
  return "";
}

// A name a host certificate gives the host (and a known_hosts pattern): printable ASCII without
// spaces or commas, which separate them in known_hosts and in the host's state file.
bool IsHostWord(std::string_view v) {
  return !v.empty() && std::all_of(v.begin(), v.end(),
                                   [](char ch) { return ch > ' ' && ch < 0x7f && ch != ','; });
}

std::string ApplyHostname(const std::string& v, Config* c) {
  if (!IsHostWord(v)) return "must be a host name: printable, no spaces or commas";
  c->hostnames.push_back(v);
  return "";
}

// known_hosts patterns, "web-1.example.com,*.db.example.com".
std::string ApplyHostPatterns(const std::string& v, Config* c) {
  if (std::string why = WordList<&Config::known_hosts_patterns>(v, c); !why.empty()) return why;
  for (const std::string& p : c->known_hosts_patterns) {
    if (!IsHostWord(p)) return "each pattern must be printable, with no spaces";
  }
  return "";
}

std::string ApplyListen(const std::string& v, Config* c) {
  const size_t colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0) return "expected HOST:PORT";
  std::string host = v.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // [::1]:8080
  }
  int64_t port = 0;
  if (!ParseInt64(v.substr(colon + 1), 1, 65535, &port)) {
    return "the port must be an integer from 1 to 65535";
  }
  c->listen_address = host;
  c->listen_port = static_cast<uint16_t>(port);
  return "";
}

std::string ApplyRateLimit(const std::string& value, Config* c) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size() || !(v >= 0) || v > 1e6) {
    return "must be a number of requests per second from 0 (off) to 1000000";
  }
  c->rate_limit = v;
  return "";
}

constexpr CommandSet kServe = CommandBit(Command::kServe);
constexpr CommandSet kTokenCreate = CommandBit(Command::kTokenCreate);
constexpr CommandSet kGrantCreate = CommandBit(Command::kGrantCreate);
// The commands on users and grants (docs/people.md).
constexpr CommandSet kPeople = kGrantCreate | CommandBit(Command::kGrantList) |
                               CommandBit(Command::kGrantDelete) | CommandBit(Command::kUserList) |
                               CommandBit(Command::kUserDisable) | CommandBit(Command::kUserEnable);
constexpr CommandSet kAuthorizedKeys = CommandBit(Command::kAuthorizedKeys);
// The commands that are clients of a keypaird service with an API token.
constexpr CommandSet kAgents = kAuthorizedKeys | CommandBit(Command::kKrl);
// keypaird login: a client of the service too, signed in as a person instead of a token.
constexpr CommandSet kLogin = CommandBit(Command::kLogin);
constexpr CommandSet kHostEnroll = CommandBit(Command::kHostEnroll);
// The commands an enrolled SSH server runs (cli/host.h).
constexpr CommandSet kHost = kHostEnroll | CommandBit(Command::kHostRenew);
constexpr CommandSet kSshConfig = CommandBit(Command::kSshConfig);
// Every command that opens the database.
constexpr CommandSet kDatabaseCommands = kServe | CommandBit(Command::kMigrate) | kTokenCreate |
                                         CommandBit(Command::kTokenList) |
                                         CommandBit(Command::kTokenRevoke) | kPeople;

std::vector<std::string_view> SplitWords(std::string_view s) {
  std::vector<std::string_view> words;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find(' ', pos);
    if (end == std::string_view::npos) end = s.size();
    if (end > pos) words.push_back(s.substr(pos, end - pos));
    pos = end + 1;
  }
  return words;
}

// "a, b or c"
std::string JoinOr(const std::vector<std::string_view>& items, std::string_view last = " or ") {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? last : ", ";
    out += items[i];
  }
  return out;
}

const Flag* FindFlag(std::string_view name, Command command) {
  for (const Flag& f : Flags()) {
    if (f.name == name && (f.commands & CommandBit(command)) != 0) return &f;
  }
  return nullptr;
}

// Checks what the table says of every value (switches, choices), then stores it.
std::string ApplyValue(const Flag& f, const std::string& value, Config* c) {
  if (f.value.empty() && value != "true" && value != "1" && value != "false" && value != "0") {
    return Cat("takes no value (or true/false in ", EnvName(f.name), ")");
  }
  if (!f.choices.empty()) {
    const std::vector<std::string_view> choices = SplitWords(f.choices);
    if (std::find(choices.begin(), choices.end(), value) == choices.end()) {
      return Cat("must be one of ", JoinOr(choices, ", "));
    }
  }
  return f.apply(value, c);
}

constexpr std::string_view kHelpTopics[] = {"man", "env", "bash-completion"};

// Reads the flags (--name VALUE, --name=VALUE, --switch) of `command` from args[i...]; other
// words go to `positional`, each flag's raw value to `given`. Stops at --help (sets kHelp).
Status ParseFlags(const std::vector<std::string>& args, size_t i, Command command, Config* c,
                  std::vector<std::string>* positional, std::map<std::string, std::string>* given) {
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      c->command = Command::kHelp;
      c->help_format = HelpFormat::kText;
      return Status::Ok();
    }
    if (a.rfind("--", 0) != 0) {
      positional->push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const Flag* flag = FindFlag(name, command);
    if (flag == nullptr) return InvalidArgument("unknown flag --" + name + " for this command");
    if (flag->value.empty()) {
      value = value.value_or("true");  // a switch: no separate value
    } else if (!value.has_value()) {
      if (i + 1 >= args.size()) return Bad(name, "needs a value");
      value = args[++i];
    }
    if (std::string why = ApplyValue(*flag, *value, c); !why.empty()) return Bad(name, why);
    (*given)[name] = *value;
  }
  return Status::Ok();
}

// `keypaird help [TOPIC]`; `help env` takes serve's flags as the defaults to show.
StatusOr<Config> ParseHelp(const std::vector<std::string>& args) {
  Config c;
  c.command = Command::kHelp;
  if (args.size() < 2 || args[1] == "--help" || args[1] == "-h") return c;
  const std::string& topic = args[1];
  if (topic == "man") {
    c.help_format = HelpFormat::kMan;
  } else if (topic == "env") {
    c.help_format = HelpFormat::kEnv;
  } else if (topic == "bash-completion") {
    c.help_format = HelpFormat::kBashCompletion;
  } else {
    return InvalidArgument(Cat("help: unknown topic '", topic, "' (expected ",
                               JoinOr({std::begin(kHelpTopics), std::end(kHelpTopics)}), ")"));
  }
  std::vector<std::string> positional;
  const Command flags_of = c.help_format == HelpFormat::kEnv ? Command::kServe : Command::kVersion;
  Config scratch;  // checks the values as serve would
  scratch.command = flags_of;
  std::map<std::string, std::string> given;
  if (Status s = ParseFlags(args, 2, flags_of, &scratch, &positional, &given); !s.ok()) return s;
  if (scratch.command == Command::kHelp) return scratch;  // help env --help
  if (!positional.empty()) return InvalidArgument(Cat("unexpected argument '", positional[0], "'"));
  c.help_defaults = std::move(given);
  return c;
}

}  // namespace

const std::vector<Subcommand>& Subcommands() {
  static const std::vector<Subcommand> kSubcommands = {
      {Command::kServe, "serve", "", "serve the HTTP API (migrates the database first)"},
      {Command::kMigrate, "migrate", "", "apply the database schema migrations"},
      {Command::kTokenCreate, "token create", "--user ID (--projects LIST | --admin)",
       "make an API token; prints only the token, just this once"},
      {Command::kTokenList, "token list", "", "list tokens: id, user, scope, created, revoked"},
      {Command::kTokenRevoke, "token revoke", "TOKEN_ID",
       "revoke a token (its id, or the whole token)"},
      {Command::kGrantCreate, "grant create",
       "(--group NAME | --user-email ADDR | --user ID) --projects LIST --role ROLE",
       "give a group, an e-mail address or a user a role in projects"},
      {Command::kGrantList, "grant list", "", "list grants: id, who, projects, role, principals"},
      {Command::kGrantDelete, "grant delete", "GRANT_ID", "delete a grant"},
      {Command::kUserList, "user list", "", "list users: id, issuer, e-mail, groups, state"},
      {Command::kUserDisable, "user disable", "ID",
       "disable a user: their tokens and sessions stop at once, on every node"},
      {Command::kUserEnable, "user enable", "ID", "enable a disabled user again"},
      {Command::kCaNewKek, "ca new-kek", "FILE",
       "write a new key-encryption key for serve --ca-kek-file (mode 0600, never overwrites)"},
      {Command::kAuthorizedKeys, "authorized-keys", "--url URL --token-file FILE --project ID",
       "print the keys that may log in, for sshd's AuthorizedKeysCommand"},
      {Command::kKrl, "krl", "--url URL --token-file FILE --project ID --out FILE",
       "fetch the project's SSH key revocation list into a file, for sshd's RevokedKeys"},
      {Command::kLogin, "login", "--url URL --project ID",
       "sign in with any browser, get a short-lived SSH certificate into ssh-agent or --out"},
      {Command::kHostEnroll, "host enroll",
       "--url URL --project ID --join-token-file FILE --hostname NAME",
       "enrol this SSH server: host certificates, trusted user CA keys, KRL, an sshd drop-in"},
      {Command::kHostRenew, "host renew", "",
       "renew the host certificates once a third of their validity is left; refresh the CA keys "
       "and KRL"},
      {Command::kSshConfig, "ssh-config", "--url URL --project ID --hosts PATTERNS",
       "print the known_hosts lines that trust a project's host CA, or --write them into a file"},
      {Command::kHelp, "help", "[man | env | bash-completion]",
       "this help; or the man page, env file or bash completion"},
  };
  return kSubcommands;
}

std::vector<std::string_view> CommandsUnder(std::string_view group) {
  std::vector<std::string_view> members;
  for (const Subcommand& s : Subcommands()) {
    std::vector<std::string_view> w = SplitWords(s.words);
    if (w.size() == 2 && w[0] == group) members.push_back(w[1]);
  }
  return members;
}

// The table of flags, in the order help shows them. A new flag: one row here (and its field
// in Config); help, the man page, the env file and completion follow.
const std::vector<Flag>& Flags() {
  static const std::vector<Flag> kFlags = {
      {.name = "listen", .commands = kServe, .value = "HOST:PORT",
       .default_value = "127.0.0.1:8080", .help = "address to serve HTTP on", .apply = ApplyListen},
      {.name = "database", .commands = kDatabaseCommands, .value = "URL",
       .default_value = "sqlite:./data/keypaird.db",
       .help = "sqlite:PATH or postgresql://USER@HOST:PORT/DB",
       .apply = NonEmptyText<&Config::database>},
      {.name = "threads", .commands = kServe, .value = "N", .default_value = "0",
       .help = "request workers, 0 = max(64, 8 x cores); key generation uses at most one per core",
       .apply = Int<&Config::threads, 0, 256>},
      {.name = "io-threads", .commands = kServe, .value = "N", .default_value = "0",
       .help = "HTTP I/O threads, 0 = one per core", .apply = Int<&Config::io_threads, 0, 64>},
      {.name = "db-pool", .commands = kServe, .value = "N", .default_value = "4",
       .help = "database connections", .apply = Int<&Config::db_pool, 1, 256>},
      {.name = "rsa-pool-2048", .commands = kServe, .value = "N", .default_value = "8",
       .help = "RSA 2048 keys generated ahead by idle cores, held in memory only; 0 = none",
       .apply = Int<&Config::rsa_pool_2048, 0, 4096>},
      {.name = "rsa-pool-3072", .commands = kServe, .value = "N", .default_value = "8",
       .help = "the same for RSA 3072", .apply = Int<&Config::rsa_pool_3072, 0, 4096>},
      {.name = "rsa-pool-4096", .commands = kServe, .value = "N", .default_value = "4",
       .help = "the same for RSA 4096", .apply = Int<&Config::rsa_pool_4096, 0, 4096>},
      {.name = "rsa-pool-threads", .commands = kServe, .value = "N", .default_value = "0",
       .help = "threads refilling the RSA pools at the lowest priority, 0 = one per core",
       .apply = Int<&Config::rsa_pool_threads, 0, 256>},
      {.name = "max-connections", .commands = kServe, .value = "N", .default_value = "1024",
       .help = "open HTTP connections at most", .apply = Int<&Config::max_connections, 1, 1000000>},
      {.name = "read-timeout", .commands = kServe, .value = "S", .default_value = "15",
       .help = "seconds to read one request; also closes idle keep-alive connections",
       .apply = Seconds<&Config::read_timeout_s, 1, 3600>},
      {.name = "shutdown-timeout", .commands = kServe, .value = "S", .default_value = "10",
       .help = "seconds in-flight requests get at stop",
       .apply = Seconds<&Config::shutdown_timeout_s, 0, 3600>},
      {.name = "rate-limit", .commands = kServe, .value = "R", .default_value = "0",
       .help = "requests per second per token (or address: sign-in, enrolment), per node; 0 = off",
       .apply = ApplyRateLimit},
      {.name = "rate-burst", .commands = kServe, .value = "N", .default_value = "0",
       .help = "requests a token may make at once; 0 = max(1, 2 x rate-limit)",
       .apply = Int<&Config::rate_burst, 0, 1000000>},
      {.name = "tls-cert", .commands = kServe, .value = "FILE",
       .help = "serve HTTPS (TLS 1.2+) with this PEM certificate chain",
       .apply = Text<&Config::tls_cert>},
      {.name = "tls-key", .commands = kServe, .value = "FILE",
       .help = "the PEM private key of --tls-cert", .apply = Text<&Config::tls_key>},
      {.name = "allow-plaintext", .commands = kServe, .default_value = "false",
       .help = "plain HTTP on a non-loopback address (only behind a TLS-terminating proxy)",
       .apply = Switch<&Config::allow_plaintext>},
      {.name = "no-token-cache", .commands = kServe, .default_value = "false",
       .help = "read every request's token from the database (no token cache; SQLite only)",
       .apply = Switch<&Config::no_token_cache>},
      {.name = "log-level", .commands = kServe, .value = "LEVEL", .default_value = "info",
       .help = "JSON log lines on stderr from this level up", .choices = "debug info warn error",
       .apply = Text<&Config::log_level>},
      {.name = "regions", .commands = kServe, .value = "LIST",
       .help = "region ids that exist, e.g. 1,76 (unset: any); v1 keypairs paths with another are 404",
       .apply = IdList<&Config::regions, kRegion>},
      {.name = "events-retention", .commands = kServe, .value = "DURATION",
       .default_value = "400d",
       .help = "how long the audit trail keeps an event (older ones are pruned in the background)",
       .apply = Duration<&Config::events_retention_ms, 1000, kMaxDurationMs>},
      {.name = "trusted-proxies", .commands = kServe, .value = "LIST",
       .help = "proxies (IPs) whose X-Forwarded-For names the client in the audit trail",
       .apply = IpList<&Config::trusted_proxies>},
      {.name = "ca-kek-file", .commands = kServe, .value = "FILE",
       .help = "enable the projects' SSH certificate authorities with this key-encryption key " "(ca new-kek)",
       .apply = Text<&Config::ca_kek_file>},
      {.name = "ca-max-validity", .commands = kServe, .value = "DURATION", .default_value = "24h",
       .help = "the longest certificate the CA signs",
       .apply = Duration<&Config::ca_max_validity_ms, 60 * 1000, int64_t{366} * 24 * 3600 * 1000>},
      {.name = "host-cert-validity", .commands = kServe, .value = "DURATION",
       .default_value = "30d",
       .help = "how long an enrolled host's certificates are valid (renewed at two-thirds)",
       .apply = Duration<&Config::host_cert_validity_ms, 10 * 1000,
                         int64_t{366} * 24 * 3600 * 1000>},
      {.name = "public-url", .commands = kServe, .value = "URL",
       .help = "where browsers reach this service, https://HOST[:PORT] (for sign-in)",
       .apply = OriginUrl<&Config::public_url>},
      {.name = "oidc-issuer", .commands = kServe, .value = "URL",
       .help = "enable sign-in with this OpenID provider (its issuer URL, exactly)",
       .apply = WebUrl<&Config::oidc_issuer>},
      {.name = "oidc-client-id", .commands = kServe, .value = "ID",
       .help = "keypaird's client id at the provider",
       .apply = NonEmptyText<&Config::oidc_client_id>},
      {.name = "oidc-client-secret-file", .commands = kServe, .value = "FILE",
       .help = "file holding the client secret: not a symlink, no access for group or others",
       .apply = NonEmptyText<&Config::oidc_client_secret_file>},
      {.name = "oidc-groups-claim", .commands = kServe, .value = "NAME", .default_value = "groups",
       .help = "the ID token claim that lists the person's groups",
       .apply = NonEmptyText<&Config::oidc_groups_claim>},
      {.name = "oidc-scopes", .commands = kServe, .value = "LIST",
       .default_value = "openid email profile groups",
       .help = "the scopes asked for at sign-in, separated by spaces",
       .apply = NonEmptyText<&Config::oidc_scopes>},
      {.name = "session-ttl", .commands = kServe, .value = "DURATION", .default_value = "12h",
       .help = "how long a sign-in lasts",
       .apply = Duration<&Config::session_ttl_ms, 5 * 60 * 1000, int64_t{30} * 24 * 3600 * 1000>},
      {.name = "user", .commands = kTokenCreate | kGrantCreate, .value = "ID",
       .help = "the token's user id (integer >= 1), required; or the user a grant is for",
       .apply = Int<&Config::user_id, 1, 2147483647>},
      {.name = "projects", .commands = kTokenCreate | kGrantCreate, .value = "LIST",
       .help = "projects the token may use (or the grant is for), e.g. 1,2",
       .apply = IdList<&Config::projects, kProject>},
      {.name = "admin", .commands = kTokenCreate, .default_value = "false",
       .help = "an admin token (every project)", .apply = Switch<&Config::admin>},
      {.name = "read-only", .commands = kTokenCreate, .default_value = "false",
       .help = "a read-only token: only GET requests, anything else is 403",
       .apply = Switch<&Config::read_only>},
      {.name = "principals", .commands = kTokenCreate | kGrantCreate | kLogin, .value = "LIST",
       .help = "SSH certificate principals the token (or grant) may be issued, or login asks for "
               "(unset: all of the person's), e.g. deploy,alice",
       .apply = WordList<&Config::principals>},
      {.name = "principal", .commands = kLogin, .value = "P",
       .help = "a principal login asks for; repeat it for more (after --principals: adds to it)",
       .apply = AppendWord<&Config::principals>},
      {.name = "group", .commands = kGrantCreate, .value = "NAME",
       .help = "the group (as the identity provider names it) a grant is for",
       .apply = Text<&Config::group>},
      {.name = "user-email", .commands = kGrantCreate, .value = "ADDR",
       .help = "the e-mail address (as the identity provider says it) a grant is for",
       .apply = Text<&Config::user_email>},
      {.name = "role", .commands = kGrantCreate, .value = "ROLE",
       .help = "viewer, editor or admin, required", .apply = Text<&Config::role>},
      {.name = "url", .commands = kAgents | kLogin | kHostEnroll | kSshConfig, .value = "URL",
       .help = "the keypaird service, https://HOST[:PORT][/PREFIX] (http:// only to a loopback address)",
       .apply = WebUrl<&Config::url>},
      {.name = "token-file", .commands = kAgents | kSshConfig, .value = "FILE",
       .help = "file holding the API token: not a symlink, no access for group or others",
       .apply = NonEmptyText<&Config::token_file>},
      {.name = "project", .commands = kAgents | kLogin | kHostEnroll | kSshConfig, .value = "ID",
       .help = "the project whose keys, revocation list or CAs to use, or that a host joins",
       .apply = Int<&Config::project, 1, 2147483647>},
      {.name = "label-selector", .commands = kAuthorizedKeys, .value = "SELECTOR",
       .help = "only keys whose labels match, e.g. login=%u (sshd puts the login name for %u)",
       .apply = Text<&Config::label_selector>},
      {.name = "owner-id", .commands = kAuthorizedKeys, .value = "ID",
       .help = "only keys of this owner (a user id)",
       .apply = Int<&Config::owner_id, 1, 2147483647>},
      {.name = "cache-file", .commands = kAuthorizedKeys, .value = "FILE",
       .help = "keep each good answer here (mode 0600), for when the service cannot be reached",
       .apply = Text<&Config::cache_file>},
      {.name = "max-stale", .commands = kAuthorizedKeys, .value = "DURATION", .default_value = "1h",
       .help = "the oldest cached answer printed while the service cannot be reached",
       .apply = Duration<&Config::max_stale_ms, 0, int64_t{8760} * 3600 * 1000>},
      {.name = "timeout", .commands = kAgents | kLogin | kHost | kSshConfig, .value = "DURATION", .default_value = "2s",
       .help = "for each whole request to the service: connect, TLS and the answer",
       .apply = Duration<&Config::timeout_ms, 100, 300000>},
      {.name = "ca-file", .commands = kAgents | kLogin | kHostEnroll | kSshConfig | kServe, .value = "FILE",
       .help = "PEM certificates to trust for https:// besides the system's trust store",
       .apply = Text<&Config::ca_file>},
      {.name = "out", .commands = CommandBit(Command::kKrl) | kLogin, .value = "FILE",
       .help = "krl: where the revocation list goes (mode 0644); login: where the private key "
               "goes, its certificate in FILE-cert.pub (both 0600); replaced atomically",
       .apply = NonEmptyText<&Config::out>},
      {.name = "ttl", .commands = kLogin, .value = "DURATION", .default_value = "8h",
       .help = "how long the login certificate is valid (the CA may cap it)",
       .apply = Duration<&Config::ttl_ms, 60 * 1000, int64_t{24} * 3600 * 1000>},
      {.name = "no-agent", .commands = kLogin, .default_value = "false",
       .help = "login: only write --out, do not add the key to ssh-agent",
       .apply = Switch<&Config::no_agent>},
      {.name = "join-token-file", .commands = kHostEnroll, .value = "FILE",
       .help = "file holding the project's join token (kpj_...): not a symlink, no access for "
               "group or others",
       .apply = NonEmptyText<&Config::join_token_file>},
      {.name = "hostname", .commands = kHostEnroll, .value = "NAME",
       .help = "a name clients reach this host by, certified by the host CA; repeat it for more",
       .apply = ApplyHostname},
      {.name = "ssh-dir", .commands = kHostEnroll, .value = "DIR", .default_value = "/etc/ssh",
       .help = "where the host keys are (ssh_host_*_key.pub); their certificates go beside them",
       .apply = NonEmptyText<&Config::ssh_dir>},
      {.name = "config-dir", .commands = kHostEnroll, .value = "DIR",
       .default_value = "/etc/ssh/sshd_config.d",
       .help = "where the sshd drop-in 50-keypaird.conf goes",
       .apply = NonEmptyText<&Config::ssh_config_dir>},
      {.name = "state-dir", .commands = kHost, .value = "DIR",
       .default_value = "/etc/keypaird/host",
       .help = "the host's token, settings, user CA keys and KRL (mode 0700)",
       .apply = NonEmptyText<&Config::host_state_dir>},
      {.name = "authorized-keys", .commands = kHostEnroll, .value = "LABELS",
       .help = "also have sshd ask keypaird authorized-keys for the keys whose labels match, "
               "e.g. login=%u",
       .apply = OptionalText<&Config::authorized_keys_selector>},
      {.name = "authorized-keys-user", .commands = kHostEnroll, .value = "USER",
       .default_value = "keypaird-agent",
       .help = "with --authorized-keys: the AuthorizedKeysCommandUser (not root), given a copy of "
               "the host token and the cache directory",
       .apply = NonEmptyText<&Config::authorized_keys_user>},
      {.name = "authorized-keys-cache", .commands = kHostEnroll, .value = "DIR",
       .default_value = "/var/cache/keypaird-agent",
       .help = "with --authorized-keys: where keypaird authorized-keys keeps its last answers",
       .apply = NonEmptyText<&Config::authorized_keys_cache>},
      {.name = "reload-command", .commands = kHost, .value = "COMMAND",
       .help = "run by /bin/sh -c when a file changed, e.g. 'systemctl reload ssh'",
       .apply = NonEmptyText<&Config::reload_command>},
      {.name = "force", .commands = CommandBit(Command::kHostRenew), .default_value = "false",
       .help = "renew the host certificates even when they are far from expiry",
       .apply = Switch<&Config::force>},
      {.name = "hosts", .commands = kSshConfig, .value = "PATTERNS",
       .help = "the known_hosts patterns of the hosts to trust, e.g. *.example.com,web-1",
       .apply = ApplyHostPatterns},
      {.name = "write", .commands = kSshConfig, .value = "FILE",
       .help = "replace keypaird's lines for --hosts in this known_hosts file (others are kept)",
       .apply = NonEmptyText<&Config::write_file>},
  };
  return kFlags;
}

std::string EnvName(std::string_view flag) {
  std::string name = "KEYPAIRD_";
  for (char ch : flag) {
    name.push_back(ch == '-' ? '_'
                             : static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
  }
  return name;
}

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

StatusOr<Config> ParseCommandLine(const std::vector<std::string>& args, const EnvLookup& env) {
  Config c;
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    c.command = Command::kHelp;
    return c;
  }
  if (args[0] == "help") return ParseHelp(args);
  if (args[0] == "--version") {
    c.command = Command::kVersion;
    return c;
  }
  size_t i = 0;
  bool found = false;
  for (const Subcommand& s : Subcommands()) {
    const std::vector<std::string_view> words = SplitWords(s.words);
    if (s.command == Command::kHelp || words.size() > args.size()) continue;
    if (std::equal(words.begin(), words.end(), args.begin())) {
      c.command = s.command;
      i = words.size();
      found = true;
      break;
    }
  }
  if (!found) {
    const std::vector<std::string_view> members = CommandsUnder(args[0]);
    if (members.empty()) {
      return InvalidArgument("unknown command '" + args[0] + "' (see keypaird --help)");
    }
    if (args.size() < 2) return InvalidArgument(args[0] + ": expected " + JoinOr(members));
    return InvalidArgument(args[0] + ": unknown subcommand '" + args[1] + "' (expected " +
                           JoinOr(members) + ")");
  }

  // Environment first, then flags override.
  for (const Flag& f : Flags()) {
    if ((f.commands & CommandBit(c.command)) == 0) continue;
    if (std::optional<std::string> v = env(EnvName(f.name)); v.has_value()) {
      if (std::string why = ApplyValue(f, *v, &c); !why.empty()) {
        return InvalidArgument(Cat(EnvName(f.name), " (", Bad(f.name, why).message(), ")"));
      }
    }
  }
  std::vector<std::string> positional;
  std::map<std::string, std::string> given;
  if (Status s = ParseFlags(args, i, c.command, &c, &positional, &given); !s.ok()) return s;
  if (c.command == Command::kHelp) return c;

  if (c.command == Command::kTokenRevoke) {
    if (positional.size() != 1) return InvalidArgument("token revoke: expected one TOKEN_ID");
    c.token_id = positional[0];
  } else if (c.command == Command::kGrantDelete) {
    if (positional.size() != 1) return InvalidArgument("grant delete: expected one GRANT_ID");
    c.grant_id = positional[0];
  } else if (c.command == Command::kUserDisable || c.command == Command::kUserEnable) {
    const char* what = c.command == Command::kUserDisable ? "disable" : "enable";
    if (positional.size() != 1) return InvalidArgument(Cat("user ", what, ": expected one ID"));
    if (!ParseInt64(positional[0], 1, 2147483647, &c.target_user_id)) {
      return InvalidArgument(Cat("user ", what, ": ID must be a user id (integer >= 1)"));
    }
  } else if (c.command == Command::kCaNewKek) {
    if (positional.size() != 1) return InvalidArgument("ca new-kek: expected one FILE");
    c.kek_out = positional[0];
  } else if (!positional.empty()) {
    return InvalidArgument("unexpected argument '" + positional[0] + "'");
  }
  if (c.command == Command::kServe) {
    if (c.tls_cert.empty() != c.tls_key.empty()) {
      return InvalidArgument("--tls-cert and --tls-key go together");
    }
    const bool loopback = c.listen_address == "127.0.0.1" || c.listen_address == "::1" ||
                          c.listen_address == "localhost" || c.listen_address.rfind("127.", 0) == 0;
    if (!loopback && c.tls_cert.empty() && !c.allow_plaintext) {
      return InvalidArgument("--listen " + c.listen_address +
                             " is not a loopback address: serve TLS (--tls-cert, --tls-key) or, "
                             "behind a TLS-terminating proxy on a private network, pass "
                             "--allow-plaintext");
    }
  }
  if (c.command == Command::kServe && !c.oidc_issuer.empty()) {
    if (c.oidc_client_id.empty()) return Bad("oidc-client-id", "is required with --oidc-issuer");
    if (c.oidc_client_secret_file.empty()) {
      return Bad("oidc-client-secret-file", "is required with --oidc-issuer");
    }
    if (c.public_url.empty()) return Bad("public-url", "is required with --oidc-issuer");
    if ((" " + c.oidc_scopes + " ").find(" openid ") == std::string::npos) {
      return Bad("oidc-scopes", "must include openid");
    }
  }
  if (c.command == Command::kAuthorizedKeys || c.command == Command::kKrl) {
    if (c.url.empty()) return Bad("url", "is required");
    if (c.token_file.empty()) return Bad("token-file", "is required");
    if (c.project == 0) return Bad("project", "is required");
    if (c.command == Command::kKrl && c.out.empty()) return Bad("out", "is required");
  }
  if (c.command == Command::kLogin) {
    if (c.url.empty()) return Bad("url", "is required");
    if (c.project == 0) return Bad("project", "is required");
    if (c.no_agent && c.out.empty()) {
      return Bad("no-agent", "needs --out (the key has to go somewhere)");
    }
  }
  if (c.command == Command::kHostEnroll) {
    if (c.url.empty()) return Bad("url", "is required");
    if (c.project == 0) return Bad("project", "is required");
    if (c.join_token_file.empty()) return Bad("join-token-file", "is required");
    if (c.hostnames.empty()) return Bad("hostname", "is required (once per name)");
  }
  if (c.command == Command::kSshConfig) {
    if (c.url.empty()) return Bad("url", "is required");
    if (c.project == 0) return Bad("project", "is required");
    if (c.known_hosts_patterns.empty()) return Bad("hosts", "is required");
  }
  if (c.command == Command::kGrantCreate) {
    if (c.projects.empty()) return Bad("projects", "is required");
    if (c.role.empty()) return Bad("role", "is required");
    if ((c.user_id != 0) + !c.group.empty() + !c.user_email.empty() != 1) {
      return InvalidArgument("grant create: give exactly one of --group, --user-email or --user");
    }
  }
  if (c.command == Command::kTokenCreate) {
    if (c.user_id == 0) return Bad("user", "is required");
    if (c.admin == !c.projects.empty()) {
      return InvalidArgument("token create: give exactly one of --projects or --admin");
    }
  }
  return c;
}

}  // namespace keypaird::config
