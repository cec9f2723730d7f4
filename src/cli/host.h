// The commands of an SSH server in a project's fleet, and of the laptops that log in to it
// (docs/ssh-access.md "Hosts"):
//
//   keypaird host enroll  spends one use of a join token (POST /api/v1/hosts/enroll) to have
//                         the host keys certified by the project's host CA, then installs the
//                         certificates, the trusted user CA keys, the KRL, the host token and
//                         an sshd drop-in (cli/host_files.h), and keeps in --state-dir what
//                         renew needs (kHostStateName). Run again on an enrolled host (same
//                         service and project), it renews instead: a join token is spent once.
//   keypaird host renew   a timer's job, with no flags needed: renews the certificates (POST
//                         /api/v1/hosts/{id}/renew, with the host token) once less than a
//                         third of their validity is left, a key has none, or --force; always
//                         refreshes the user CA keys and the KRL.
//   keypaird ssh-config   prints the known_hosts lines that trust the project's host CA for
//                         --hosts, or replaces keypaird's lines for them in a --write file.
//
// Settings come from a parsed config::Config; output goes through HostIo (tests capture it):
// the summary or the known_hosts lines to `out`, messages to `log`. Each returns the exit code:
// 0 when the files are in place (or the lines printed), 1 otherwise (a refusal of the service is
// logged with its message). The join token and the host token are never printed or logged.
// --reload-command runs (by /bin/sh -c) when a file sshd reads changed; its failure is exit 1.
// Single-threaded; no state between calls.
#ifndef KEYPAIRD_CLI_HOST_H_
#define KEYPAIRD_CLI_HOST_H_

#include <chrono>
#include <functional>
#include <string_view>
#include <thread>

#include "common/clock.h"
#include "config/config.h"

namespace keypaird::cli {

// In --state-dir, beside the token: what `host renew` needs, as "key=value" lines (url,
// project, host_id, hostnames, ssh_dir, config_dir, authorized_keys, ca_file), mode 0600.
// Never the token.
inline constexpr char kHostStateName[] = "host.conf";

struct HostIo {
  // Standard output: a summary, or the known_hosts lines.
  std::function<void(std::string_view)> out;
  // One message for the operator, without a final newline.
  std::function<void(std::string_view)> log;
  Clock now = SystemNowMicros;
  // Waits out a 429 (the service's rate limit).
  std::function<void(std::chrono::seconds)> sleep = [](std::chrono::seconds d) {
    std::this_thread::sleep_for(d);
  };
};

int HostEnrollCommand(const config::Config& c, const HostIo& io);
int HostRenewCommand(const config::Config& c, const HostIo& io);
int SshConfigCommand(const config::Config& c, const HostIo& io);

}  // namespace keypaird::cli

#endif  // KEYPAIRD_CLI_HOST_H_
