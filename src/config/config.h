// Config: every setting of keypaird in one struct, read from the command line and
// KEYPAIRD_* environment variables in one place.
//
// Precedence: command-line flag > environment variable > default. A bad value stops
// start-up with a message naming the flag (ParseCommandLine returns kInvalidArgument).
// Each flag --foo-bar is also read from KEYPAIRD_FOO_BAR.
#ifndef KEYPAIRD_CONFIG_CONFIG_H_
#define KEYPAIRD_CONFIG_CONFIG_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace keypaird::config {

enum class Command { kHelp, kVersion, kServe, kMigrate, kTokenCreate, kTokenList, kTokenRevoke };

struct Config {
  Command command = Command::kHelp;

  // serve / migrate / token *
  std::string database = "sqlite:./data/keypaird.db";  // --database
  int db_pool = 4;                                     // --db-pool: store connections

  // serve
  std::string listen_address = "127.0.0.1";  // --listen HOST:PORT
  uint16_t listen_port = 8080;
  int threads = 0;                 // --threads: request workers; 0 = max(64, 8 x cores)
  int io_threads = 0;              // --io-threads: HTTP I/O threads, 0 = one per core
  int max_connections = 1024;      // --max-connections
  int read_timeout_s = 15;         // --read-timeout: seconds to read a request / idle keep-alive
  int shutdown_timeout_s = 10;     // --shutdown-timeout: seconds for in-flight requests at stop
  double rate_limit = 0;           // --rate-limit: requests/s per token, 0 = off
  int rate_burst = 0;              // --rate-burst: bucket size; 0 = max(1, 2 x rate)
  std::string tls_cert;            // --tls-cert PEM chain
  std::string tls_key;             // --tls-key PEM key
  bool allow_plaintext = false;    // --allow-plaintext: plain HTTP on a non-loopback address
  std::string log_level = "info";  // --log-level debug|info|warn|error
  // --regions 1,76: the region ids that exist (v1 keypairs paths name one; others are
  // 404). Empty: every region id 1..2147483647 exists. Keys are the same in all of them.
  std::vector<int64_t> regions;

  // token create
  int64_t user_id = 0;                  // --user
  bool admin = false;                   // --admin
  std::vector<int64_t> projects;        // --projects 1,2
  bool read_only = false;               // --read-only
  std::vector<std::string> principals;  // --principals a,b
  // token revoke
  std::string token_id;
};

// Looks up an environment variable; returns nullopt if unset. Injected for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> ProcessEnv(const std::string& name);

StatusOr<Config> ParseCommandLine(const std::vector<std::string>& args,
                                  const EnvLookup& env = ProcessEnv);

// The text of `keypaird --help`.
std::string HelpText();

}  // namespace keypaird::config

#endif  // KEYPAIRD_CONFIG_CONFIG_H_
