#include "cli/host_files.h"

#include <algorithm>
#include <filesystem>
#include <string_view>
#include <system_error>

#include "cli/secure_files.h"
#include "sshkey/sshkey.h"

namespace keypaird::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kHostKeyPrefix = "ssh_host_";
constexpr std::string_view kHostKeySuffix = "_key.pub";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "TYPE BASE64[ COMMENT]" without a line break: the line of a .pub file.
std::string_view WithoutLineBreak(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return text;
}
}  // namespace

StatusOr<std::vector<HostPublicKey>> ReadHostPublicKeys(const std::string& ssh_dir) {
  std::error_code ec;
  fs::directory_iterator it(ssh_dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) {
      return NotFound("the SSH directory " + ssh_dir + " does not exist");
    }
    return Internal("cannot list " + ssh_dir + ": " + ec.message());
  }
  std::vector<std::string> names;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // `ssh_host_X_key.pub` only: never a private key, never a `*_key-cert.pub`.
    if (name.size() > kHostKeyPrefix.size() + kHostKeySuffix.size() &&
        name.compare(0, kHostKeyPrefix.size(), kHostKeyPrefix) == 0 &&
        EndsWith(name, kHostKeySuffix)) {
      names.push_back(name);
    }
  }
  if (ec) return Internal("cannot list " + ssh_dir + ": " + ec.message());
  if (names.empty()) {
    return NotFound(ssh_dir +
                    " holds no host public key (ssh_host_*_key.pub): generate the host "
                    "keys first (ssh-keygen -A)");
  }
  std::sort(names.begin(), names.end());
  std::vector<HostPublicKey> keys;
  for (const std::string& name : names) {
    const std::string path = (fs::path(ssh_dir) / name).string();
    const std::string who = "the host public key " + path;
    StatusOr<FileContent> file = ReadCheckedFile(path, who, sshkey::kMaxPublicKeyInput,
                                                 [](const struct stat&) { return Status::Ok(); });
    if (!file.ok()) return file.status();
    std::string line(WithoutLineBreak(file->bytes));
    WipeString(file->bytes);  // were it a private key by mistake, no copy is left behind
    Status problem = Status::Ok();
    if (line.find('\n') != std::string::npos) {
      problem = InvalidArgument(who + " holds more than one line: it must be one public key");
    } else if (StatusOr<sshkey::PublicKey> key = sshkey::ParsePublicKey(line); !key.ok()) {
      problem = InvalidArgument(who + " is not a public key: " + key.status().message());
    }
    if (!problem.ok()) {
      WipeString(line);
      return problem;
    }
    keys.push_back({.path = path, .line = line});
  }
  return keys;
}

}  // namespace keypaird::cli
