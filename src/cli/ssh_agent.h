// A client of the running ssh-agent (the UNIX socket named by SSH_AUTH_SOCK), for
// `keypaird login`: it adds an Ed25519 key with its OpenSSH certificate, to be forgotten by
// the agent when the certificate expires, so the private key lives only in the agent's
// memory and never on disk (the ssh-agent protocol: draft-miller-ssh-agent, OpenSSH's
// PROTOCOL.agent and PROTOCOL.certkeys).
//
// One request per connection; blocking, with a deadline. The message holding the private key
// is wiped however the call ends. Thread-safe (no state).
#ifndef KEYPAIRD_CLI_SSH_AGENT_H_
#define KEYPAIRD_CLI_SSH_AGENT_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/secret.h"
#include "common/status.h"
#include "sshkey/private_key.h"

namespace keypaird::cli {

// Message numbers and the constraint of the protocol that this client uses.
inline constexpr uint8_t kSshAgentFailure = 5;             // SSH_AGENT_FAILURE
inline constexpr uint8_t kSshAgentSuccess = 6;             // SSH_AGENT_SUCCESS
inline constexpr uint8_t kSshAgentcAddIdConstrained = 25;  // SSH2_AGENTC_ADD_ID_CONSTRAINED
inline constexpr uint8_t kSshAgentConstrainLifetime = 1;   // SSH_AGENT_CONSTRAIN_LIFETIME

// The SSH2_AGENTC_ADD_ID_CONSTRAINED message (without its length prefix) that adds `key`
// (Ed25519) with `certificate_blob` (an ssh-ed25519-cert-v01@openssh.com certificate of that
// key, in wire format) and `comment`, forgotten after `lifetime_s` seconds (> 0).
// kInvalidArgument for a key that is not Ed25519 or a lifetime of 0.
StatusOr<SecretString> AddCertificateMessage(const sshkey::PrivateKey& key,
                                             std::string_view certificate_blob,
                                             std::string_view comment, uint32_t lifetime_s);

// Sends that message to the agent listening at `socket_path` and reads its answer.
// kUnavailable when the agent cannot be reached or answers nothing whole within `timeout`;
// kFailedPrecondition when it answers SSH_AGENT_FAILURE (it refused the key: a locked
// agent, or one that does not take certificates or constraints); kInvalidArgument for what
// AddCertificateMessage refuses. Messages name the socket, never the key.
Status AddCertificateToAgent(const std::string& socket_path, const sshkey::PrivateKey& key,
                             std::string_view certificate_blob, std::string_view comment,
                             uint32_t lifetime_s,
                             std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace keypaird::cli

#endif  // KEYPAIRD_CLI_SSH_AGENT_H_
