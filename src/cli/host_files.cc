#include "cli/host_files.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>
#include <string_view>
#include <system_error>
#include <utility>

#include "cli/agent.h"
#include "cli/secure_files.h"
#include "common/base64.h"
#include "common/strings.h"
#include "sshkey/certificate.h"
#include "sshkey/krl.h"
#include "sshkey/sshkey.h"

namespace keypaird::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kHostKeyPrefix = "ssh_host_";
constexpr std::string_view kHostKeySuffix = "_key.pub";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// One word of an sshd_config line: printable ASCII without spaces, quotes, backslashes or
// '#', so that sshd reads it back as the one argument it was.
bool IsConfigWord(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c > ' ' && c < 0x7f && c != '"' && c != '\'' && c != '\\' && c != '#';
  });
}

Status CheckConfigWord(std::string_view value, std::string_view what) {
  if (IsConfigWord(value)) return Status::Ok();
  return InvalidArgument(std::string(what) + " \"" + Printable(value, 200) +
                         "\" cannot go into an sshd_config line: it must be printable ASCII "
                         "without spaces, quotes, backslashes or '#'");
}

Status CheckAbsolutePath(const std::string& path, std::string_view what) {
  if (Status s = CheckConfigWord(path, what); !s.ok()) return s;
  if (path.front() != '/') {
    return InvalidArgument(std::string(what) + " " + path + " is not absolute");
  }
  return Status::Ok();
}

// "TYPE BASE64[ COMMENT]" without a line break: the line of a .pub file.
std::string_view WithoutLineBreak(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  return text;
}

// Parses the certificate line "TYPE BASE64[ COMMENT]"; `who` starts every message.
StatusOr<sshkey::ParsedCertificate> ParseCertificateLine(std::string_view line,
                                                         const std::string& who) {
  if (std::any_of(line.begin(), line.end(), [](char c) { return c < ' ' || c == 0x7f; })) {
    return InvalidArgument(who + " is not one line (it holds control characters)");
  }
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) {
    return InvalidArgument(who + " is not \"TYPE BASE64[ COMMENT]\"");
  }
  const std::string_view type = line.substr(0, space);
  std::string_view b64 = line.substr(space + 1);
  b64 = b64.substr(0, b64.find(' '));
  std::string blob;
  if (const char* problem = Base64DecodeProblem(b64, &blob); problem != nullptr) {
    return InvalidArgument(who + " is not valid base64 (" + problem + ")");
  }
  StatusOr<sshkey::ParsedCertificate> parsed = sshkey::ParseCertificate(blob);
  if (!parsed.ok()) {
    return InvalidArgument(who + " is not a certificate: " + parsed.status().message());
  }
  if (parsed->type != type) {
    return InvalidArgument(who + " says it is " + Printable(type, 60) + " but holds " +
                           parsed->type);
  }
  return parsed;
}

// Checks `cert` as a host certificate of `key` naming every one of `hostnames`.
Status CheckCertificate(const HostCertificate& cert, const sshkey::PublicKey& key,
                        const std::vector<std::string>& hostnames) {
  const std::string who = "the certificate for " + cert.public_key_path;
  StatusOr<sshkey::ParsedCertificate> parsed = ParseCertificateLine(cert.line, who);
  if (!parsed.ok()) return parsed.status();
  if (parsed->cert_type != sshkey::kCertTypeHost) {
    return InvalidArgument(who + " is not a host certificate (sshd would not offer it)");
  }
  if (parsed->key_blob != key.blob) {
    return FailedPrecondition(who + " certifies another key (" +
                              sshkey::FingerprintSha256(parsed->key_blob) + ", the file holds " +
                              key.fingerprint_sha256 +
                              "): the host key changed since it was sent; enrol again");
  }
  for (const std::string& name : hostnames) {
    if (std::find(parsed->principals.begin(), parsed->principals.end(), name) ==
        parsed->principals.end()) {
      return InvalidArgument(who + " does not name the host " + name +
                             ": clients would refuse it under that name");
    }
  }
  return Status::Ok();
}

// The user CA keys, normalised, one per line; at least one.
StatusOr<std::string> UserCaKeysFile(std::string_view text) {
  std::string out;
  size_t n = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    const std::string_view line =
        WithoutLineBreak(text.substr(0, end == std::string_view::npos ? end : end + 1));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++n;
    if (line.empty()) continue;
    StatusOr<sshkey::PublicKey> key = sshkey::ParsePublicKey(line);
    if (!key.ok()) {
      return InvalidArgument("line " + std::to_string(n) +
                             " of the user CA keys is not a public key: " + key.status().message());
    }
    out += key->line + "\n";
  }
  if (out.empty()) return InvalidArgument("no user CA key: sshd would trust no user certificate");
  return out;
}

Status CheckToken(const SecretString& token) {
  const std::string_view t = token.view();
  if (t.empty() || !std::all_of(t.begin(), t.end(), [](char c) { return c > ' ' && c < 0x7f; })) {
    return InvalidArgument(
        "the host token is not one token (empty, white space or control characters)");
  }
  return Status::Ok();
}

// Creates `dir` (and its missing parents, 0755) with `mode`; with `enforce`, an existing one
// gets `mode` too.
Status MakeDirectory(const std::string& dir, mode_t mode, bool enforce) {
  std::error_code ec;
  const fs::path path(dir);
  if (path.has_parent_path() && path.parent_path() != path) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) return Internal("cannot create " + path.parent_path().string() + ": " + ec.message());
  }
  if (mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
    return Internal("cannot create " + dir + ": " + ErrnoText(errno));
  }
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0) return Internal("cannot stat " + dir + ": " + ErrnoText(errno));
  if (!S_ISDIR(st.st_mode)) return FailedPrecondition(dir + " is not a directory");
  if (enforce && (st.st_mode & 07777) != mode && chmod(dir.c_str(), mode) != 0) {
    return Internal("cannot chmod " + dir + ": " + ErrnoText(errno));
  }
  return Status::Ok();
}

// The AuthorizedKeysCommandUser's uid and gid: it must exist and not be root (it would run
// sshd's command with every right, and read the root-only files).
Status CommandUserOf(const std::string& user, uid_t* uid, gid_t* gid) {
  const struct passwd* pw = getpwnam(user.c_str());
  if (pw == nullptr) {
    return FailedPrecondition("the AuthorizedKeysCommandUser " + user +
                              " does not exist: create it (useradd --system --no-create-home "
                              "--shell /usr/sbin/nologin " + user +
                              ") or name another (--authorized-keys-user)");
  }
  if (pw->pw_uid == 0) {
    return InvalidArgument("the AuthorizedKeysCommandUser must not be root: " + user);
  }
  *uid = pw->pw_uid;
  *gid = pw->pw_gid;
  return Status::Ok();
}

// Gives `path` (never followed if a symbolic link) to uid:gid.
Status GiveTo(const std::string& path, uid_t uid, gid_t gid) {
  if (fchownat(AT_FDCWD, path.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return Internal("cannot chown " + path + ": " + ErrnoText(errno));
  }
  return Status::Ok();
}

}  // namespace

std::string AgentTokenPath(const HostPaths& paths) {
  fs::path state = fs::path(paths.state_dir).lexically_normal();
  if (!state.has_filename()) state = state.parent_path();  // a trailing '/'
  return (state.parent_path() / (state.filename().string() + "-agent.token")).string();
}

std::string HostCertificatePath(const std::string& public_key_path) {
  return public_key_path.substr(0, public_key_path.size() - 4) + "-cert.pub";
}

Status WriteFileIfChanged(const std::string& path, std::string_view data, mode_t mode,
                          HostFilesWritten& written) {
  // Never through a symbolic link (the rename then replaces the link); a longer file differs.
  StatusOr<FileContent> current =
      ReadCheckedFile(path, path, data.size(), [](const struct stat&) { return Status::Ok(); });
  const bool same = current.ok() && current->bytes == data && (current->st.st_mode & 07777) == mode;
  if (current.ok()) WipeString(current->bytes);  // the token's file holds a secret
  if (same) {
    written.unchanged.push_back(path);
    return Status::Ok();
  }
  if (Status s = WriteFileAtomically(path, data, mode); !s.ok()) return s;
  written.changed.push_back(path);
  return Status::Ok();
}

std::vector<InstalledHostCertificate> ReadInstalledHostCertificates(
    const std::vector<HostPublicKey>& keys) {
  std::vector<InstalledHostCertificate> installed;
  for (const HostPublicKey& key : keys) {
    StatusOr<sshkey::PublicKey> public_key = sshkey::ParsePublicKey(key.line);
    if (!public_key.ok()) continue;
    const std::string path = HostCertificatePath(key.path);
    StatusOr<FileContent> file = ReadCheckedFile(path, path, sshkey::kMaxPublicKeyInput,
                                                 [](const struct stat&) { return Status::Ok(); });
    if (!file.ok()) continue;
    const std::string line(WithoutLineBreak(file->bytes));
    StatusOr<sshkey::ParsedCertificate> parsed = ParseCertificateLine(line, path);
    if (!parsed.ok() || parsed->cert_type != sshkey::kCertTypeHost ||
        parsed->key_blob != public_key->blob) {
      continue;
    }
    installed.push_back({.certificate = {.public_key_path = key.path, .line = line},
                         .principals = std::move(parsed->principals),
                         .valid_after = parsed->valid_after,
                         .valid_before = parsed->valid_before});
  }
  return installed;
}

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

StatusOr<std::vector<HostCertificate>> MatchHostCertificates(
    const std::vector<HostPublicKey>& keys, const std::vector<std::string>& certificate_lines) {
  std::vector<std::string> blobs;
  for (const HostPublicKey& key : keys) {
    StatusOr<sshkey::PublicKey> parsed = sshkey::ParsePublicKey(key.line);
    if (!parsed.ok()) {
      return InvalidArgument("the host public key " + key.path +
                             " is not a public key: " + parsed.status().message());
    }
    blobs.push_back(std::move(parsed->blob));
  }
  std::vector<std::optional<std::string>> lines(keys.size());
  for (size_t i = 0; i < certificate_lines.size(); ++i) {
    const std::string who = "certificate " + std::to_string(i + 1) + " of the answer";
    const std::string line(WithoutLineBreak(certificate_lines[i]));
    StatusOr<sshkey::ParsedCertificate> parsed = ParseCertificateLine(line, who);
    if (!parsed.ok()) return parsed.status();
    const auto key = std::find(blobs.begin(), blobs.end(), parsed->key_blob);
    if (key == blobs.end()) {
      return FailedPrecondition(who + " certifies " + sshkey::FingerprintSha256(parsed->key_blob) +
                                ", none of the host keys: they changed since they were sent; "
                                "enrol again");
    }
    std::optional<std::string>& slot = lines[static_cast<size_t>(key - blobs.begin())];
    if (slot.has_value()) {
      return InvalidArgument(who + " is a second certificate for " +
                             keys[static_cast<size_t>(key - blobs.begin())].path);
    }
    slot = line;
  }
  std::vector<HostCertificate> certificates;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (lines[i].has_value()) {
      certificates.push_back({.public_key_path = keys[i].path, .line = *lines[i]});
    }
  }
  return certificates;
}

StatusOr<std::string> HostDropIn(const HostFiles& files, const HostPaths& paths) {
  for (const auto& [value, what] : {std::pair{&paths.ssh_dir, "the SSH directory"},
                                    std::pair{&paths.config_dir, "the sshd drop-in directory"},
                                    std::pair{&paths.state_dir, "the host state directory"}}) {
    if (Status s = CheckAbsolutePath(*value, what); !s.ok()) return s;
  }
  if (files.hostnames.empty()) {
    return InvalidArgument("no hostname: a host certificate names at least one");
  }
  for (const std::string& name : files.hostnames) {
    if (Status s = CheckConfigWord(name, "the hostname"); !s.ok()) return s;
  }
  if (files.certificates.empty()) return InvalidArgument("no host certificate to install");
  std::string text = "# Written by keypaird host enroll for";
  for (const std::string& name : files.hostnames) text += " " + name;
  text += ": `keypaird host renew` keeps it and the files it names current.\n";
  std::vector<std::string> certs;
  for (const HostCertificate& cert : files.certificates) {
    if (Status s = CheckAbsolutePath(cert.public_key_path, "the host public key file"); !s.ok()) {
      return s;
    }
    certs.push_back(HostCertificatePath(cert.public_key_path));
  }
  std::sort(certs.begin(), certs.end());
  for (const std::string& cert : certs) text += "HostCertificate " + cert + "\n";
  const fs::path state(paths.state_dir);
  text += "TrustedUserCAKeys " + (state / kHostUserCaKeysName).string() + "\n";
  text += "RevokedKeys " + (state / kHostKrlName).string() + "\n";
  if (files.authorized_keys_selector.has_value()) {
    // As docs/ssh-access.md has it, with the host token.
    if (Status s = CheckConfigWord(*files.authorized_keys_selector, "the label selector");
        !s.ok()) {
      return s;
    }
    if (Status s = CheckConfigWord(files.url, "the service URL"); !s.ok()) return s;
    if (Status s = CheckAbsolutePath(paths.keypaird_binary, "the keypaird binary"); !s.ok()) {
      return s;
    }
    if (Status s = CheckAbsolutePath(paths.authorized_keys_cache_dir, "the cache directory");
        !s.ok()) {
      return s;
    }
    if (Status s = CheckConfigWord(paths.authorized_keys_command_user, "the command's user");
        !s.ok()) {
      return s;
    }
    if (files.project_id <= 0) return InvalidArgument("no project for the AuthorizedKeysCommand");
    text += "AuthorizedKeysCommand " + paths.keypaird_binary + " authorized-keys --url " +
            files.url + " --token-file " + AgentTokenPath(paths) + " --project " +
            std::to_string(files.project_id) + " --label-selector " +
            *files.authorized_keys_selector + " --cache-file " +
            (fs::path(paths.authorized_keys_cache_dir) / "%u.keys").string() + " --max-stale 1h\n";
    text += "AuthorizedKeysCommandUser " + paths.authorized_keys_command_user + "\n";
  }
  return text;
}

StatusOr<HostFilesWritten> WriteHostFiles(const HostFiles& files, const HostPaths& paths) {
  // Every check before the first write.
  StatusOr<std::string> drop_in = HostDropIn(files, paths);
  if (!drop_in.ok()) return drop_in.status();
  StatusOr<std::vector<HostPublicKey>> keys = ReadHostPublicKeys(paths.ssh_dir);
  if (!keys.ok()) return keys.status();
  std::map<std::string, std::string> key_lines;
  for (HostPublicKey& key : *keys) key_lines.emplace(std::move(key.path), std::move(key.line));
  std::map<std::string, std::string> cert_files;  // path -> content
  for (const HostCertificate& cert : files.certificates) {
    const auto key_line = key_lines.find(cert.public_key_path);
    if (key_line == key_lines.end()) {
      return NotFound("the certificate for " + cert.public_key_path +
                      " is for no host public key in " + paths.ssh_dir + " (ssh_host_*_key.pub)");
    }
    StatusOr<sshkey::PublicKey> key = sshkey::ParsePublicKey(key_line->second);
    if (!key.ok()) return key.status();
    if (Status s = CheckCertificate(cert, *key, files.hostnames); !s.ok()) return s;
    if (!cert_files.emplace(HostCertificatePath(cert.public_key_path), cert.line + "\n").second) {
      return InvalidArgument("two certificates for " + cert.public_key_path);
    }
  }
  StatusOr<std::string> ca_keys = UserCaKeysFile(files.user_ca_public_keys);
  if (!ca_keys.ok()) return ca_keys.status();
  if (StatusOr<sshkey::Krl> krl = sshkey::ParseKrl(files.krl); !krl.ok()) {
    return InvalidArgument("the KRL is not one (" + krl.status().message() +
                           "): sshd would refuse every key while RevokedKeys is unreadable");
  }
  if (Status s = CheckToken(files.host_token); !s.ok()) return s;
  uid_t agent_uid = 0;
  gid_t agent_gid = 0;
  if (files.authorized_keys_selector.has_value()) {
    if (Status s = CommandUserOf(paths.authorized_keys_command_user, &agent_uid, &agent_gid);
        !s.ok()) {
      return s;
    }
  }

  HostFilesWritten written;
  for (const auto& [path, line] : cert_files) {
    if (Status s = WriteFileIfChanged(path, line, 0644, written); !s.ok()) return s;
  }
  if (Status s = MakeDirectory(paths.state_dir, 0700, /*enforce=*/true); !s.ok()) return s;
  const fs::path state(paths.state_dir);
  if (Status s =
          WriteFileIfChanged((state / kHostUserCaKeysName).string(), *ca_keys, 0644, written);
      !s.ok()) {
    return s;
  }
  if (Status s = WriteFileIfChanged((state / kHostKrlName).string(), files.krl, 0644, written);
      !s.ok()) {
    return s;
  }
  std::string token(files.host_token.view());
  token += "\n";
  Status s = WriteFileIfChanged((state / kHostTokenName).string(), token, 0600, written);
  if (s.ok() && files.authorized_keys_selector.has_value()) {
    // keypaird authorized-keys' own copy and cache, its user's (given again each time: an
    // unchanged file keeps whatever owner it was given by hand otherwise).
    const std::string agent_token = AgentTokenPath(paths);
    s = WriteFileIfChanged(agent_token, token, 0600, written);
    if (s.ok()) s = GiveTo(agent_token, agent_uid, agent_gid);
    if (s.ok()) s = MakeDirectory(paths.authorized_keys_cache_dir, 0700, /*enforce=*/true);
    if (s.ok()) s = GiveTo(paths.authorized_keys_cache_dir, agent_uid, agent_gid);
  }
  WipeString(token);
  if (!s.ok()) return s;
  // Last: sshd reads the drop-in only once every file it names is in place.
  if (s = MakeDirectory(paths.config_dir, 0755, /*enforce=*/false); !s.ok()) return s;
  if (s = WriteFileIfChanged((fs::path(paths.config_dir) / kHostDropInName).string(), *drop_in,
                             0644, written);
      !s.ok()) {
    return s;
  }
  return written;
}

}  // namespace keypaird::cli
