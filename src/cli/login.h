// keypaird login: a short-lived SSH certificate for a person, on a laptop or on a jump host
// with no browser of its own.
//
//   1. POST {url}/auth/device: the service hands out a device code (kept secret here) and a
//      user code; the person opens the verification page in any browser, on any device,
//      signs in with the organisation's OpenID provider and approves the code.
//   2. POST {url}/auth/device/token every `interval` seconds (RFC 8628 section 3.4/3.5:
//      authorization_pending, slow_down adds 5 s, expired_token and access_denied end it)
//      until the service answers with an access token of that person (≤ 1 h, Bearer).
//   3. A fresh Ed25519 key in memory, certified by POST {url}/api/v1/projects/{id}/ssh_ca/sign
//      for --ttl (and --principals, else all of the person's in that project).
//   4. The key and certificate go into the running ssh-agent (SSH_AUTH_SOCK) with a lifetime
//      equal to the certificate's remaining validity, and/or into --out FILE (OpenSSH private
//      key format, unencrypted) and FILE-cert.pub, both 0600.
//
// Messages go to the person through LoginIo::log (stderr in main()); nothing goes to stdout.
// The device code, the access token and the private key are never printed or logged. Transient
// failures while polling (no answer, 5xx, 408, 429) are retried a few times. Returns the exit
// code: 0 when the key is where it was asked to go, 1 otherwise.
#ifndef KEYPAIRD_CLI_LOGIN_H_
#define KEYPAIRD_CLI_LOGIN_H_

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "config/config.h"

namespace keypaird::cli {

// Consecutive transient failures of the token poll that end the login.
inline constexpr int kLoginMaxRetries = 3;
// The comment of the key (in ssh-agent and the private key file).
inline constexpr std::string_view kLoginKeyComment = "keypaird-login";

struct LoginIo {
  // One message for the person, without a final newline.
  std::function<void(std::string_view)> log;
  Clock now = SystemNowMicros;
  // Waits between polls; tests pass one that only advances their clock.
  std::function<void(std::chrono::milliseconds)> sleep;
  // The environment (SSH_AUTH_SOCK).
  config::EnvLookup env = config::ProcessEnv;
};

int LoginCommand(const config::Config& c, const LoginIo& io);

}  // namespace keypaird::cli

#endif  // KEYPAIRD_CLI_LOGIN_H_
