// Config: every setting of keypaird in one struct, read from the command line and
// KEYPAIRD_* environment variables in one place.
//
// Precedence: command-line flag > environment variable > default. A bad value stops
// start-up with a message naming the flag (ParseCommandLine returns kInvalidArgument).
// Each flag --foo-bar is also read from KEYPAIRD_FOO_BAR.
//
// Flags() is the one table of flags: parsing, `keypaird --help`, the man page, the
// commented env file of the package and the bash completion are all made from it (and the
// commands from Subcommands()), so none of them can drift. A new flag is one row in
// config.cc's table plus its field here.
#ifndef KEYPAIRD_CONFIG_CONFIG_H_
#define KEYPAIRD_CONFIG_CONFIG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace keypaird::config {

enum class Command {
  kHelp,
  kVersion,
  kServe,
  kMigrate,
  kTokenCreate,
  kTokenList,
  kTokenRevoke,
  kGrantCreate,
  kGrantList,
  kGrantDelete,
  kUserList,
  kUserDisable,
  kUserEnable,
  kCaNewKek,
  kAuthorizedKeys,
  kKrl,
  kLogin,
  kHostEnroll,
  kHostRenew,
  kSshConfig,
};

// What kHelp prints: `keypaird --help` / `help` (kText), or `keypaird help man|env|
// bash-completion`, which CMake runs to make the packaged man page, env file and completion.
enum class HelpFormat { kText, kMan, kEnv, kBashCompletion };

struct Config {
  Command command = Command::kHelp;
  HelpFormat help_format = HelpFormat::kText;
  // `keypaird help env --database URL ...`: values to show instead of a flag's default
  // (the packaged file shows the unit's database path). Flag name -> value.
  std::map<std::string, std::string> help_defaults;

  // serve / migrate / token *
  std::string database = "sqlite:./data/keypaird.db";  // --database
  int db_pool = 4;                                     // --db-pool: store connections

  // serve
  std::string listen_address = "127.0.0.1";  // --listen HOST:PORT
  uint16_t listen_port = 8080;
  int threads = 0;                 // --threads: request workers; 0 = max(64, 8 x cores)
  int io_threads = 0;              // --io-threads: HTTP I/O threads, 0 = one per core
  int max_connections = 1024;      // --max-connections
  // --rsa-pool-2048/3072/4096: RSA keys of each size kept generated ahead (0 = none), and
  // --rsa-pool-threads: the background threads refilling them (0 = one per core).
  int rsa_pool_2048 = 8;
  int rsa_pool_3072 = 8;
  int rsa_pool_4096 = 4;
  int rsa_pool_threads = 0;
  int read_timeout_s = 15;         // --read-timeout: seconds to read a request / idle keep-alive
  int shutdown_timeout_s = 10;     // --shutdown-timeout: seconds for in-flight requests at stop
  double rate_limit = 0;           // --rate-limit: requests/s per token, 0 = off
  int rate_burst = 0;              // --rate-burst: bucket size; 0 = max(1, 2 x rate)
  std::string tls_cert;            // --tls-cert PEM chain
  std::string tls_key;             // --tls-key PEM key
  bool allow_plaintext = false;    // --allow-plaintext: plain HTTP on a non-loopback address
  bool no_token_cache = false;     // --no-token-cache: read every request's token from the store
  std::string log_level = "info";  // --log-level debug|info|warn|error
  // --regions 1,76: the region ids that exist (v1 keypairs paths name one; others are
  // 404). Empty: every region id 1..2147483647 exists. Keys are the same in all of them.
  std::vector<int64_t> regions;
  // --trusted-proxies 10.0.0.5,::1: peers whose X-Forwarded-For (its first address) names
  // the client in the audit trail; from anyone else the peer address counts.
  std::vector<std::string> trusted_proxies;
  int64_t events_retention_ms = int64_t{400} * 86400000;  // --events-retention
  std::string ca_kek_file;                // --ca-kek-file: "" = no SSH certificate authority
  int64_t ca_max_validity_ms = 86400000;  // --ca-max-validity
  int64_t host_cert_validity_ms = int64_t{30} * 86400000;  // --host-cert-validity
  // Sign-in with an OpenID provider (docs/people.md): off unless --oidc-issuer is given.
  std::string public_url;               // --public-url
  std::string oidc_issuer;              // --oidc-issuer
  std::string oidc_client_id;           // --oidc-client-id
  std::string oidc_client_secret_file;  // --oidc-client-secret-file
  std::string oidc_groups_claim = "groups";                   // --oidc-groups-claim
  std::string oidc_scopes = "openid email profile groups";  // --oidc-scopes
  int64_t session_ttl_ms = int64_t{12} * 3600 * 1000;         // --session-ttl

  // token create, grant create
  int64_t user_id = 0;                  // --user
  bool admin = false;                   // --admin
  std::vector<int64_t> projects;        // --projects 1,2
  bool read_only = false;               // --read-only
  std::vector<std::string> principals;  // --principals a,b (also login's, asked for)
  // grant create (with --user, --projects, --principals)
  std::string group;       // --group
  std::string user_email;  // --user-email
  std::string role;        // --role
  // token revoke TOKEN_ID, grant delete GRANT_ID
  std::string token_id;
  std::string grant_id;
  // user disable|enable ID
  int64_t target_user_id = 0;
  // ca new-kek FILE
  std::string kek_out;

  // authorized-keys, krl and login: clients of a keypaird service (the first two run on the
  // SSH servers, login on laptops and jump hosts).
  std::string url;                 // --url https://HOST[:PORT][/PREFIX] (checked when parsed)
  std::string token_file;          // --token-file
  int64_t project = 0;             // --project
  std::string ca_file;             // --ca-file: extra PEM trust anchors for https://
  int64_t timeout_ms = 2000;       // --timeout: the whole request
  std::string label_selector;      // --label-selector (authorized-keys); "" = every key
  int64_t owner_id = 0;            // --owner-id (authorized-keys); 0 = any owner
  std::string cache_file;          // --cache-file (authorized-keys); "" = no cache
  int64_t max_stale_ms = 3600000;  // --max-stale (authorized-keys)
  std::string out;                 // --out (krl; login: the key file, beside FILE-cert.pub)

  // login (with --url, --project, --ca-file, --timeout, --principals, --out)
  int64_t ttl_ms = int64_t{8} * 3600 * 1000;  // --ttl: the certificate's validity asked for
  bool no_agent = false;                      // --no-agent: only --out, not ssh-agent

  // host enroll (with --url, --project, --ca-file, --timeout) and host renew: an SSH server's
  // certificates, trusted user CA keys and KRL (cli/host.h). The directories' defaults are
  // cli/host_files.h's.
  std::string join_token_file;                            // --join-token-file
  std::vector<std::string> hostnames;                     // --hostname, once per name
  std::string ssh_dir = "/etc/ssh";                       // --ssh-dir
  std::string ssh_config_dir = "/etc/ssh/sshd_config.d";  // --config-dir
  std::string host_state_dir = "/etc/keypaird/host";      // --state-dir
  std::optional<std::string> authorized_keys_selector;    // --authorized-keys LABELS
  std::string authorized_keys_user = "keypaird-agent";    // --authorized-keys-user
  std::string authorized_keys_cache = "/var/cache/keypaird-agent";  // --authorized-keys-cache
  std::string reload_command;                             // --reload-command: run by /bin/sh -c
  bool force = false;                                     // --force (host renew)

  // ssh-config (with --url, --project, --token-file, --ca-file, --timeout)
  std::vector<std::string> known_hosts_patterns;  // --hosts a,*.b
  std::string write_file;                         // --write: a known_hosts file to update

  bool operator==(const Config&) const = default;
};

// A set of commands, one bit per Command (see CommandBit).
using CommandSet = uint32_t;
constexpr CommandSet CommandBit(Command c) { return CommandSet{1} << static_cast<int>(c); }

// One command of the command line, as help, the man page and completion show it.
struct Subcommand {
  Command command;
  std::string_view words;     // "token create"
  std::string_view operands;  // what follows the words besides flags: "TOKEN_ID"; often ""
  std::string_view help;      // one line
};
const std::vector<Subcommand>& Subcommands();
// The second words of the commands under a group word: "token" -> create, list, revoke.
std::vector<std::string_view> CommandsUnder(std::string_view group);

// One flag --name (and its variable KEYPAIRD_NAME).
// A row of the flag table, written with designated initializers (value, default_value and
// choices may be left out: "").
struct Flag {
  std::string_view name;   // without the dashes: "db-pool"
  CommandSet commands;     // the commands that take it
  std::string_view value = {};  // placeholder shown in help: "N", "FILE"; "" = a switch (no
                                // value on the command line; true/false/1/0 in its variable)
  std::string_view default_value = {};  // a valid value, as help and the env file show it;
                                        // "" = unset
  std::string_view help;                // one line, no final period
  std::string_view choices = {};  // space-separated allowed values ("" = any); checked first
  // Stores a value in the config; returns why the value is bad ("" when it is fine). The
  // caller prefixes the flag ("--db-pool: ") or names the variable.
  std::string (*apply)(const std::string& value, Config* c);
};
const std::vector<Flag>& Flags();

// "db-pool" -> "KEYPAIRD_DB_POOL".
std::string EnvName(std::string_view flag);

// Looks up an environment variable; returns nullopt if unset. Injected for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> ProcessEnv(const std::string& name);

StatusOr<Config> ParseCommandLine(const std::vector<std::string>& args,
                                  const EnvLookup& env = ProcessEnv);

// The text of `keypaird --help`.
std::string HelpText();
// keypaird(1) in roff (`keypaird help man`).
std::string ManPage();
// The commented env file (`keypaird help env`): every variable `serve` reads, commented out
// with its default; `defaults` (flag name -> value) replaces shown defaults.
std::string EnvFile(const std::map<std::string, std::string>& defaults = {});
// A bash completion script for keypaird (`keypaird help bash-completion`).
std::string BashCompletion();
// The document a kHelp config asks for.
std::string HelpDocument(const Config& c);

}  // namespace keypaird::config

#endif  // KEYPAIRD_CONFIG_CONFIG_H_
