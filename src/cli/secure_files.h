// Files the agent commands trust: the token file they read, and the files they write for sshd
// (the authorized_keys cache, the KRL), replaced atomically.
//
// Plain functions over paths; thread-compatible (two writers of one path each end with a whole
// file, the later rename wins). Messages name the file and say what to do, never its content.
#ifndef KEYPAIRD_CLI_SECURE_FILES_H_
#define KEYPAIRD_CLI_SECURE_FILES_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/secret.h"
#include "common/status.h"

namespace keypaird::cli {

// The largest token file read; a token is about 60 bytes.
inline constexpr size_t kMaxTokenFileBytes = 4096;

// Reads an API token from `path`, which must be a regular file reached without a symbolic link
// at its last component, owned by the caller's effective user or root, with no permission at all
// for group or others (0600 or 0400), holding one token (printable ASCII, no spaces) and at
// most a final line break. kPermissionDenied for a file that breaks the rules on who may read or
// change it, kInvalidArgument for its content, kNotFound when it is missing, kInternal for
// other errors: each message names the file (and its mode), never what it holds.
StatusOr<SecretString> ReadTokenFile(const std::string& path);
// The same rules for another one-line secret (serve --oidc-client-secret-file): `what`
// ("client secret") names it in the messages.
StatusOr<SecretString> ReadSecretFile(const std::string& path, std::string_view what);

// A regular file's metadata and content.
struct FileContent {
  struct stat st {};
  std::string bytes;
};

// Reads the regular file at `path` whole, never through a symbolic link at its last component
// and never waiting on a FIFO, once `check` has accepted its metadata. `name` ("the token file
// /etc/x") starts every message. kNotFound when it is missing; kPermissionDenied for a link or
// anything but a regular file (or what `check` returns); kInvalidArgument when it is larger
// than `max_bytes`; kInternal for other errors. What was read is wiped on every failure.
StatusOr<FileContent> ReadCheckedFile(const std::string& path, std::string_view name,
                                      size_t max_bytes,
                                      const std::function<Status(const struct stat&)>& check);

// Replaces `path` with a file holding `data`, with exactly `mode` (whatever the umask):
// written to a temporary file beside it, flushed to disk, then renamed over it, so a reader sees
// the old file or the new one, never a part. With `mtime_us` (microseconds since the epoch),
// the new file's modification time. On failure `path` is untouched and the temporary file
// removed; kInternal with a message naming `path` and the reason.
Status WriteFileAtomically(const std::string& path, std::string_view data, mode_t mode,
                           std::optional<int64_t> mtime_us = std::nullopt);

}  // namespace keypaird::cli

#endif  // KEYPAIRD_CLI_SECURE_FILES_H_
