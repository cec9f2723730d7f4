#include "config/config.h"

#include <charconv>
#include <cstdlib>
#include <map>

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

Status Bad(const std::string& flag, const std::string& why) {
  return InvalidArgument("--" + flag + ": " + why);
}

Status ParseListen(const std::string& v, Config* c) {
  const size_t colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0) return Bad("listen", "expected HOST:PORT");
  std::string host = v.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // [::1]:8080
  }
  int64_t port = 0;
  if (!ParseInt64(v.substr(colon + 1), 1, 65535, &port)) {
    return Bad("listen", "the port must be an integer from 1 to 65535");
  }
  c->listen_address = host;
  c->listen_port = static_cast<uint16_t>(port);
  return Status::Ok();
}

// A comma-separated list of ids 1..2147483647 (projects, regions), in the order given.
Status ParseIdList(const std::string& flag, const std::string& what, const std::string& v,
                   std::vector<int64_t>* out) {
  out->clear();
  size_t pos = 0;
  while (pos <= v.size()) {
    size_t comma = v.find(',', pos);
    if (comma == std::string::npos) comma = v.size();
    int64_t id = 0;
    if (!ParseInt64(v.substr(pos, comma - pos), 1, 2147483647, &id)) {
      return Bad(flag, "expected a comma-separated list of " + what + " ids (integers >= 1)");
    }
    out->push_back(id);
    pos = comma + 1;
  }
  return Status::Ok();
}

// Which flags each command takes (besides --help).
const std::map<Command, std::vector<std::string>>& AllowedFlags() {
  static const std::map<Command, std::vector<std::string>> kFlags = {
      {Command::kServe,
       {"database", "db-pool", "listen", "threads", "io-threads", "max-connections", "read-timeout",
        "shutdown-timeout", "rate-limit", "rate-burst", "tls-cert", "tls-key", "allow-plaintext",
        "log-level", "regions"}},
      {Command::kMigrate, {"database"}},
      {Command::kTokenCreate, {"database", "user", "admin", "projects", "read-only", "principals"}},
      {Command::kTokenList, {"database"}},
      {Command::kTokenRevoke, {"database"}},
  };
  return kFlags;
}

Status ApplyFlag(const std::string& name, const std::string& value, Config* c) {
  int64_t n = 0;
  if (name == "database") {
    if (value.empty()) return Bad(name, "must not be empty");
    c->database = value;
  } else if (name == "db-pool") {
    if (!ParseInt64(value, 1, 256, &n)) return Bad(name, "must be an integer from 1 to 256");
    c->db_pool = static_cast<int>(n);
  } else if (name == "listen") {
    return ParseListen(value, c);
  } else if (name == "threads") {
    if (!ParseInt64(value, 0, 256, &n)) return Bad(name, "must be an integer from 0 to 256");
    c->threads = static_cast<int>(n);
  } else if (name == "io-threads") {
    if (!ParseInt64(value, 0, 64, &n)) return Bad(name, "must be an integer from 0 to 64");
    c->io_threads = static_cast<int>(n);
  } else if (name == "max-connections") {
    if (!ParseInt64(value, 1, 1000000, &n))
      return Bad(name, "must be an integer from 1 to 1000000");
    c->max_connections = static_cast<int>(n);
  } else if (name == "read-timeout") {
    if (!ParseInt64(value, 1, 3600, &n)) return Bad(name, "must be seconds from 1 to 3600");
    c->read_timeout_s = static_cast<int>(n);
  } else if (name == "shutdown-timeout") {
    if (!ParseInt64(value, 0, 3600, &n)) return Bad(name, "must be seconds from 0 to 3600");
    c->shutdown_timeout_s = static_cast<int>(n);
  } else if (name == "rate-limit") {
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size() || !(v >= 0) || v > 1e6) {
      return Bad(name, "must be a number of requests per second from 0 (off) to 1000000");
    }
    c->rate_limit = v;
  } else if (name == "rate-burst") {
    if (!ParseInt64(value, 0, 1000000, &n))
      return Bad(name, "must be an integer from 0 to 1000000");
    c->rate_burst = static_cast<int>(n);
  } else if (name == "tls-cert") {
    c->tls_cert = value;
  } else if (name == "tls-key") {
    c->tls_key = value;
  } else if (name == "log-level") {
    if (value != "debug" && value != "info" && value != "warn" && value != "error") {
      return Bad(name, "must be one of debug, info, warn, error");
    }
    c->log_level = value;
  } else if (name == "allow-plaintext") {
    if (value != "true" && value != "1" && value != "false" && value != "0") {
      return Bad(name, "takes no value (or true/false in KEYPAIRD_ALLOW_PLAINTEXT)");
    }
    c->allow_plaintext = value == "true" || value == "1";
  } else if (name == "user") {
    if (!ParseInt64(value, 1, 2147483647, &n)) return Bad(name, "must be an integer >= 1");
    c->user_id = n;
  } else if (name == "projects") {
    return ParseIdList(name, "project", value, &c->projects);
  } else if (name == "regions") {
    return ParseIdList(name, "region", value, &c->regions);
  } else if (name == "read-only") {
    if (value != "true" && value != "1" && value != "false" && value != "0") {
      return Bad(name, "takes no value (or true/false in KEYPAIRD_READ_ONLY)");
    }
    c->read_only = value == "true" || value == "1";
  } else if (name == "principals") {
    c->principals.clear();
    size_t pos = 0;
    while (pos <= value.size()) {
      size_t comma = value.find(',', pos);
      if (comma == std::string::npos) comma = value.size();
      if (comma == pos) return Bad(name, "expected a comma-separated list of principals");
      c->principals.push_back(value.substr(pos, comma - pos));
      pos = comma + 1;
    }
  } else if (name == "admin") {
    if (value != "true" && value != "1" && value != "false" && value != "0") {
      return Bad(name, "takes no value (or true/false in KEYPAIRD_ADMIN)");
    }
    c->admin = value == "true" || value == "1";
  }
  return Status::Ok();
}

std::string EnvName(const std::string& flag) {
  std::string name = "KEYPAIRD_";
  for (char ch : flag) name.push_back(ch == '-' ? '_' : static_cast<char>(std::toupper(ch)));
  return name;
}

}  // namespace

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

StatusOr<Config> ParseCommandLine(const std::vector<std::string>& args, const EnvLookup& env) {
  Config c;
  size_t i = 0;
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    c.command = Command::kHelp;
    return c;
  }
  if (args[0] == "--version") {
    c.command = Command::kVersion;
    return c;
  }
  if (args[0] == "serve") {
    c.command = Command::kServe;
    i = 1;
  } else if (args[0] == "migrate") {
    c.command = Command::kMigrate;
    i = 1;
  } else if (args[0] == "token") {
    if (args.size() < 2) return InvalidArgument("token: expected create, list or revoke");
    if (args[1] == "create") {
      c.command = Command::kTokenCreate;
    } else if (args[1] == "list") {
      c.command = Command::kTokenList;
    } else if (args[1] == "revoke") {
      c.command = Command::kTokenRevoke;
    } else {
      return InvalidArgument("token: unknown subcommand '" + args[1] +
                             "' (expected create, list or revoke)");
    }
    i = 2;
  } else {
    return InvalidArgument("unknown command '" + args[0] + "' (see keypaird --help)");
  }

  const std::vector<std::string>& allowed = AllowedFlags().at(c.command);
  // Environment first, then flags override.
  for (const std::string& flag : allowed) {
    if (std::optional<std::string> v = env(EnvName(flag)); v.has_value()) {
      if (Status s = ApplyFlag(flag, *v, &c); !s.ok()) {
        return InvalidArgument(EnvName(flag) + " (" + s.message() + ")");
      }
    }
  }
  std::vector<std::string> positional;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      c.command = Command::kHelp;
      return c;
    }
    if (a.rfind("--", 0) != 0) {
      positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    bool known = false;
    for (const std::string& f : allowed) known = known || f == name;
    if (!known) return InvalidArgument("unknown flag --" + name + " for this command");
    if (name == "admin" || name == "allow-plaintext" || name == "read-only") {  // switches
      if (Status s = ApplyFlag(name, value.value_or("true"), &c); !s.ok()) return s;
      continue;
    }
    if (!value.has_value()) {
      if (i + 1 >= args.size()) return Bad(name, "needs a value");
      value = args[++i];
    }
    if (Status s = ApplyFlag(name, *value, &c); !s.ok()) return s;
  }

  if (c.command == Command::kTokenRevoke) {
    if (positional.size() != 1) return InvalidArgument("token revoke: expected one TOKEN_ID");
    c.token_id = positional[0];
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
  if (c.command == Command::kTokenCreate) {
    if (c.user_id == 0) return Bad("user", "is required");
    if (c.admin == !c.projects.empty()) {
      return InvalidArgument("token create: give exactly one of --projects or --admin");
    }
  }
  return c;
}

std::string HelpText() {
  return R"(keypaird — SSH keypair service (Gcore Cloud API "SSH Keys" compatible)

Usage:
  keypaird serve [--listen HOST:PORT] [--database URL] [--threads N] [--tls-cert F --tls-key F] ...
  keypaird token create --user ID (--projects 1,2 | --admin)   prints only the new token
  keypaird token list                                           id, user, scope, created, revoked
  keypaird token revoke TOKEN_ID
  keypaird migrate [--database URL]                             apply schema migrations
  keypaird --version | --help

Flags (each also read from the environment variable shown; a flag wins over it):
  --listen HOST:PORT   KEYPAIRD_LISTEN      address to serve HTTP on       [127.0.0.1:8080]
  --database URL       KEYPAIRD_DATABASE    sqlite:PATH or postgresql://USER@HOST:PORT/DB [sqlite:./data/keypaird.db]
  --threads N          KEYPAIRD_THREADS     request workers, 0 = max(64, 8 x cores); key
                                            generation uses at most one per core   [0]
  --io-threads N       KEYPAIRD_IO_THREADS  HTTP I/O threads, 0 = one per core [0]
  --db-pool N          KEYPAIRD_DB_POOL     database connections           [4]
  --max-connections N  KEYPAIRD_MAX_CONNECTIONS  open HTTP connections at most [1024]
  --read-timeout S     KEYPAIRD_READ_TIMEOUT     seconds to read one request; also closes
                                                 idle keep-alive connections  [15]
  --shutdown-timeout S KEYPAIRD_SHUTDOWN_TIMEOUT seconds in-flight requests get at stop [10]
  --rate-limit R       KEYPAIRD_RATE_LIMIT  requests per second per token, per node; 0 = off [0]
  --rate-burst N       KEYPAIRD_RATE_BURST  requests a token may make at once [2 x rate]
  --tls-cert FILE      KEYPAIRD_TLS_CERT    serve HTTPS (TLS 1.2+) with this PEM chain
  --tls-key FILE       KEYPAIRD_TLS_KEY     ... and this PEM key
  --allow-plaintext    KEYPAIRD_ALLOW_PLAINTEXT  plain HTTP on a non-loopback address (only
                                                 behind a TLS-terminating proxy)
  --log-level L        KEYPAIRD_LOG_LEVEL   debug, info, warn or error     [info]
  --regions LIST       KEYPAIRD_REGIONS     region ids that exist, e.g. 1,76; v1 keypairs
                                            paths with another region are 404 [any id]
  --user ID            KEYPAIRD_USER        token create: the user id (integer >= 1)
  --projects LIST      KEYPAIRD_PROJECTS    token create: projects the token may use
  --admin              KEYPAIRD_ADMIN       token create: an admin token (every project)

Unauthenticated endpoints: GET /healthz (process up), GET /readyz (database reachable),
GET /metrics (Prometheus text format). Logs: one JSON object per line on stderr.
API calls need the header "Authorization: APIKey <token>".
)";
}

}  // namespace keypaird::config
