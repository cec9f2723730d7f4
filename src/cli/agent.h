// The agent commands: clients of a keypaird service that run on the SSH servers of a fleet.
//
//   keypaird authorized-keys  sshd's AuthorizedKeysCommand: prints the usable keys the token
//                             sees (GET /api/v1/projects/{id}/authorized_keys), one per line.
//   keypaird krl              a timer's job: writes the project's key revocation list
//                             (GET /api/v1/projects/{id}/ssh_ca/krl) for sshd's RevokedKeys.
//
// authorized-keys fails closed but rides out outages (docs/ssh-access.md, "When keypaird
// is down"): each good answer is kept in --cache-file (with its ETag, sent back as If-None-Match;
// a 304 confirms the cache and renews its time). When the service cannot be reached, times out
// or answers 5xx (or 408, 429, or something that is not an authorized_keys text), the cached copy
// is printed if it is at most --max-stale old, else nothing. A 401, 403 or 404 (and any other
// answer) denies at once: nothing printed, exit 1, the cache left as it is. So does a setup
// that is wrong rather than a service that is down: a token file that breaks its rules, a
// --ca-file that cannot be read, a loopback name resolving elsewhere.
//
// Both take their settings from a parsed config::Config, print only through AgentIo (tests
// capture it; main() sends messages to stderr and, for authorized-keys, syslog, because sshd
// throws away its command's stderr), and return the exit code: 0 when keys were printed or the
// KRL is in place, 1 otherwise. The token is read from --token-file (secure_files.h) and never
// printed or logged. Single-threaded; no state between calls.
#ifndef KEYPAIRD_CLI_AGENT_H_
#define KEYPAIRD_CLI_AGENT_H_

#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "client/http_client.h"
#include "common/clock.h"
#include "common/secret.h"
#include "common/status.h"
#include "config/config.h"

namespace keypaird::cli {

struct AgentIo {
  // Standard output: the keys for sshd. False when they could not be written.
  std::function<bool(std::string_view)> out;
  // One message for the operator, without a final newline or the command's name.
  std::function<void(std::string_view)> log;
  Clock now = SystemNowMicros;
};

int AuthorizedKeysCommand(const config::Config& c, const AgentIo& io);
int KrlCommand(const config::Config& c, const AgentIo& io);

// ---- Shared with the other clients of the service, `keypaird login` (cli/login.h) and the
// host commands (cli/host.h).

// Text from the service, safe for a log line: printable ASCII, at most `max` bytes.
std::string Printable(std::string_view text, size_t max = 300);
// "401 NotAuthenticated: Invalid token" from an error answer's JSON body, or just the status.
std::string DescribeAnswer(const client::HttpResponse& r);
// The HTTP client's options from --timeout and --ca-file.
client::HttpClientOptions ClientOptions(const config::Config& c);
// The JSON body of an answer (discarded when it is not JSON), the body wiped when it goes:
// it may hold a secret (a device code, a token).
nlohmann::json ParseSecretBody(client::HttpResponse* r);
// Takes the string `name` out of the parsed answer `j` ("" if it is not one), wiping it
// there, so that no unwiped copy of a secret outlives the answer.
SecretString TakeSecret(nlohmann::json* j, const char* name);
// The string `name` of the JSON object `j`, or "" when it has none.
std::string StringField(const nlohmann::json& j, const char* name);
// A certificate's time (seconds since the epoch) in RFC 3339 to the second,
// "2026-12-07T01:00:00Z": a certificate's times are whole seconds.
std::string CertificateTime(uint64_t seconds);

// ---- The authorized_keys cache file, exposed for its tests.
//
// A header, then the keys exactly as the service sent them:
//   keypaird authorized-keys cache 1
//   source https://keys.example.com/api/v1/projects/1/authorized_keys?label_selector=login%3Dbob
//   etag "3f2a..."
//   <empty line>
//   <the keys>
// `source` is the whole request URL: a cache written for another request (another selector,
// project or service) is never printed for this one. The file's modification time is the time the
// service last confirmed the keys (a 200 or a 304); its age is measured from it.
struct KeysCache {
  std::string source;
  std::string etag;  // "" when the service sent none
  std::string keys;
  int64_t stored_at_us = 0;  // the file's modification time
  bool operator==(const KeysCache&) const = default;
};

// kNotFound when there is no file. A file that is a symbolic link, not a regular file, not owned
// by the effective user, or writable by group or others (anyone who could change it could add a
// key) is refused with kPermissionDenied; one that is not a cache file with kInvalidArgument.
StatusOr<KeysCache> ReadKeysCache(const std::string& path);
// Writes the cache atomically with mode 0600 and `cache.stored_at_us` as its time.
Status WriteKeysCache(const std::string& path, const KeysCache& cache);
// Sets the cache's time to `now_us` (a 304: the keys are still current).
Status TouchKeysCache(const std::string& path, int64_t now_us);

}  // namespace keypaird::cli

#endif  // KEYPAIRD_CLI_AGENT_H_
