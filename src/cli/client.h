// The lean `keypaird`: the commands that run on SSH servers and laptops — authorized-keys
// and krl (cli/agent.h), login (cli/login.h), host enroll, host renew and ssh-config
// (cli/host.h), help and --version — run in a binary that links only
// OpenSSL, http_parser and the flag table, because sshd execs `keypaird authorized-keys` on every
// login and dynamic linking dominated its time (docs/BENCHMARKS.md, "The agent per
// login"). Every other command (serve, migrate, token, ca) belongs to the service: the
// lean binary execs keypaird-server with the same arguments, so `keypaird serve` and the
// packaged units work as they always did.
//
// keypaird-server is looked for next to the running binary (the build tree), then at
// ../libexec/keypaird/ from it (an installed or unpacked tree, whatever its prefix), then
// at the path it was configured for.
// Returns the process exit code: 0 success, 1 runtime failure, 2 usage error, 127 when
// keypaird-server is needed and not there.
#ifndef KEYPAIRD_CLI_CLIENT_H_
#define KEYPAIRD_CLI_CLIENT_H_

#include "config/config.h"

namespace keypaird::cli {

// The lean binary's main.
int ClientMain(int argc, char** argv);

// Whether the lean binary runs `command` itself.
bool IsClientCommand(config::Command command);

// Runs a command IsClientCommand accepts (the server binary's main too).
int RunClientCommand(const config::Config& c);

// help and --version (kHelp, kVersion).
int RunInfo(const config::Config& c);

// authorized-keys and krl, speaking to sshd on stdout and to the operator on stderr (and,
// for authorized-keys, syslog).
int RunAgent(const config::Config& c);

// login, speaking to the person on stderr.
int RunLogin(const config::Config& c);

// host enroll, host renew and ssh-config: a summary (or the known_hosts lines) on stdout,
// messages on stderr.
int RunHost(const config::Config& c);

}  // namespace keypaird::cli

#endif  // KEYPAIRD_CLI_CLIENT_H_
