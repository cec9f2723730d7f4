// The files `keypaird host enroll` and `keypaird host renew` keep on an SSH server
// (docs: /work/shared/API-ACCESS.md, "Hosts: enrolment and host certificates"): the host's
// public keys it reads, and what it writes from the service's answer — a certificate beside
// each host key, the trusted user CA keys, the KRL, the host token and one sshd drop-in.
//
// Independent of HTTP: the caller turns the answer into a HostFiles. Plain functions over
// paths; thread-compatible. Private host keys are never opened, the host key files never
// written. Messages name files and say what to do, never a secret's content.
#ifndef KEYPAIRD_CLI_HOST_FILES_H_
#define KEYPAIRD_CLI_HOST_FILES_H_

#include <string>
#include <vector>

#include "common/status.h"

namespace keypaird::cli {

inline constexpr char kDefaultSshDir[] = "/etc/ssh";

// One host public key file, `ssh_host_*_key.pub`.
struct HostPublicKey {
  std::string path;  // e.g. "/etc/ssh/ssh_host_ed25519_key.pub"
  std::string line;  // "TYPE BASE64[ COMMENT]" as the file holds it, without the line break
};

// The host public keys `ssh_dir/ssh_host_*_key.pub` (certificates `*-cert.pub` skipped), sorted
// by file name, each checked to be one public key. kNotFound when `ssh_dir` is missing or
// holds none; kInvalidArgument for a file that is not one public key; kPermissionDenied for
// a symbolic link or something other than a regular file.
StatusOr<std::vector<HostPublicKey>> ReadHostPublicKeys(
    const std::string& ssh_dir = kDefaultSshDir);

}  // namespace keypaird::cli

#endif  // KEYPAIRD_CLI_HOST_FILES_H_
