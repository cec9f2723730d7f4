// The keypaird command line: serve, migrate, token create|list|revoke, the agent commands
// authorized-keys and krl (cli/agent.h), --version, --help and help man|env|bash-completion
// (the documents the package is built with).
// Returns the process exit code: 0 success, 1 runtime failure, 2 usage error.
#ifndef KEYPAIRD_CLI_CLI_H_
#define KEYPAIRD_CLI_CLI_H_

#include <string>
#include <vector>

namespace keypaird::cli {

int Main(const std::vector<std::string>& args);

}  // namespace keypaird::cli

#endif  // KEYPAIRD_CLI_CLI_H_
