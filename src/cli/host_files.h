// The files `keypaird host enroll` and `keypaird host renew` will keep on an SSH server
// (docs/ssh-access.md "Hosts"): the host's public keys it reads, and what it writes from the
// service's answer — a certificate beside each host key, the trusted user CA keys, the KRL,
// the host token and one sshd drop-in.
//
// Independent of HTTP: the caller turns the answer into a HostFiles. Plain functions over
// paths; thread-compatible. Private host keys are never opened, the host key files never
// written. Messages name files and say what to do, never a secret's content.
// The commands themselves are in cli/host.h.
#ifndef KEYPAIRD_CLI_HOST_FILES_H_
#define KEYPAIRD_CLI_HOST_FILES_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret.h"
#include "common/status.h"

namespace keypaird::cli {

inline constexpr char kDefaultSshDir[] = "/etc/ssh";
inline constexpr char kDefaultSshConfigDir[] = "/etc/ssh/sshd_config.d";
inline constexpr char kDefaultHostStateDir[] = "/etc/keypaird/host";
// The one sshd drop-in, in HostPaths::config_dir.
inline constexpr char kHostDropInName[] = "50-keypaird.conf";
// Their names in HostPaths::state_dir.
inline constexpr char kHostTokenName[] = "token";
inline constexpr char kHostUserCaKeysName[] = "user_ca_keys.pub";
inline constexpr char kHostKrlName[] = "revoked.krl";

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

// A certificate the service signed for one host key.
struct HostCertificate {
  std::string public_key_path;  // HostPublicKey::path of the key it certifies
  std::string line;             // "TYPE-cert-v01@openssh.com BASE64[ COMMENT]"
};

// Which host key each certificate of an answer certifies (the answer lists certificates, not
// key files): matched by the certified key, in the order of `keys`; a key without a
// certificate is left out. kInvalidArgument for a line that is not a certificate or a second
// one for a key; kFailedPrecondition for a certificate of none of `keys`.
StatusOr<std::vector<HostCertificate>> MatchHostCertificates(
    const std::vector<HostPublicKey>& keys, const std::vector<std::string>& certificate_lines);

// `ssh_host_X_key.pub` -> `ssh_host_X_key-cert.pub`, beside it: where sshd finds the
// certificate of a host key (HostCertificate line for `HostCertificate::public_key_path`).
std::string HostCertificatePath(const std::string& public_key_path);

// A certificate installed beside a host key, as `host renew` finds it.
struct InstalledHostCertificate {
  HostCertificate certificate;
  std::vector<std::string> principals;
  uint64_t valid_after = 0;   // seconds since the epoch, inclusive
  uint64_t valid_before = 0;  // seconds since the epoch, exclusive
};

// The host certificates installed beside `keys` (HostCertificatePath), in the order of `keys`.
// A key whose certificate file is missing, unreadable or holds anything but a host certificate
// of that very key (the key was replaced since) is left out: it needs a new certificate.
std::vector<InstalledHostCertificate> ReadInstalledHostCertificates(
    const std::vector<HostPublicKey>& keys);

// What enrolment (or renewal) returned, plus what the command line said.
struct HostFiles {
  std::vector<HostCertificate> certificates;
  std::string user_ca_public_keys;  // one public key per line
  std::string krl;                  // the project's KRL, as GET …/ssh_ca/krl answers it
  SecretString host_token;
  std::vector<std::string> hostnames;  // each must be a principal of every certificate
  // For the AuthorizedKeysCommand lines (with authorized_keys_selector only): the service and
  // project `keypaird authorized-keys` asks. It runs as AuthorizedKeysCommandUser, who cannot
  // read the root-owned token in the 0700 state directory: it gets a copy of the host token
  // of its own (AgentTokenPath, 0600) and its cache directory (0700).
  std::string url;
  int64_t project_id = 0;
  std::optional<std::string> authorized_keys_selector;  // --label-selector, e.g. "login=%u"
};

struct HostPaths {
  std::string ssh_dir = kDefaultSshDir;
  std::string config_dir = kDefaultSshConfigDir;
  std::string state_dir = kDefaultHostStateDir;  // created 0700
  // Of the AuthorizedKeysCommand lines (docs/ssh-access.md). The user must exist and not be
  // root; the binary's path and its directories must be root's and written by nobody else
  // (sshd checks).
  std::string keypaird_binary = "/usr/bin/keypaird";
  std::string authorized_keys_command_user = "keypaird-agent";
  std::string authorized_keys_cache_dir = "/var/cache/keypaird-agent";
};

// The AuthorizedKeysCommandUser's copy of the host token: "host-agent.token" beside the
// state directory (/etc/keypaird/host -> /etc/keypaird/host-agent.token).
std::string AgentTokenPath(const HostPaths& paths);

struct HostFilesWritten {
  std::vector<std::string> changed;    // paths written, in the order written
  std::vector<std::string> unchanged;  // paths already current, left as they were
};

// Writes `data` to `path` atomically with `mode` unless the file already holds exactly that
// with that mode (never through a symbolic link), and records which in `written`. For the
// other files the host commands keep (their state, ssh-config's known_hosts). kInternal when
// the write fails.
Status WriteFileIfChanged(const std::string& path, std::string_view data, mode_t mode,
                          HostFilesWritten& written);

// The sshd drop-in WriteHostFiles writes for `files` (for tests and --dry-run).
StatusOr<std::string> HostDropIn(const HostFiles& files, const HostPaths& paths);

// Checks `files` (every certificate a host certificate of the key in its public key file as
// it is now, naming every hostname; the CA keys public keys; the KRL one; the token one line),
// then writes each file that is not already current, atomically (a temporary file beside it,
// fsync, rename): `ssh_host_X_key-cert.pub` beside each `ssh_host_X_key.pub` (0644), in
// state_dir (0700) the token (0600), the user CA keys and the KRL (0644), and
// `config_dir/50-keypaird.conf` (0644). A file with the same content and mode is not rewritten.
// Nothing is written when a check fails (kInvalidArgument, kFailedPrecondition when a host key
// changed since it was read, kNotFound for a missing ssh_dir or key file); a write failure
// (kInternal) may leave the files written before it.
StatusOr<HostFilesWritten> WriteHostFiles(const HostFiles& files, const HostPaths& paths);

}  // namespace keypaird::cli

#endif  // KEYPAIRD_CLI_HOST_FILES_H_
