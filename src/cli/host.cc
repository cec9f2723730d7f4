#include "cli/host.h"

#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cli/agent.h"
#include "cli/host_files.h"
#include "cli/secure_files.h"
#include "client/http_client.h"
#include "common/duration.h"
#include "common/secret.h"
#include "common/strings.h"
#include "common/url.h"

extern char** environ;

namespace keypaird::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t kMaxStateBytes = 64 * 1024;
constexpr size_t kMaxKnownHostsBytes = size_t{16} << 20;

// What `host enroll` keeps for `host renew` (kHostStateName).
struct HostState {
  std::string url;
  int64_t project = 0;
  std::string host_id;
  std::vector<std::string> hostnames;
  std::string ssh_dir;
  std::string config_dir;
  std::optional<std::string> authorized_keys;  // the label selector, when sshd asks keypaird
  std::string authorized_keys_user;            // and who runs it
  std::string authorized_keys_cache;           // and where it caches
  std::string ca_file;
};

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    const size_t end = std::min(text.find('\n'), text.size());
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.emplace_back(line);
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return lines;
}

bool HasControlCharacters(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) { return ch < ' ' || ch == 0x7f; });
}

std::string StatePath(const std::string& state_dir) {
  return (fs::path(state_dir) / kHostStateName).string();
}

StatusOr<std::string> StateText(const HostState& s) {
  std::string text =
      "# Written by keypaird host enroll: what keypaird host renew needs. The host token is in "
      "the file \"token\" beside it.\n";
  bool one_line = true;
  auto line = [&](std::string_view key, const std::string& value) {
    one_line = one_line && !HasControlCharacters(value);  // else it reads back as another key
    text.append(key).append("=").append(value).append("\n");
  };
  line("url", s.url);
  line("project", std::to_string(s.project));
  line("host_id", s.host_id);
  line("hostnames", Join(s.hostnames, ","));
  line("ssh_dir", s.ssh_dir);
  line("config_dir", s.config_dir);
  if (s.authorized_keys.has_value()) {
    line("authorized_keys", *s.authorized_keys);
    line("authorized_keys_user", s.authorized_keys_user);
    line("authorized_keys_cache", s.authorized_keys_cache);
  }
  if (!s.ca_file.empty()) line("ca_file", s.ca_file);
  if (!one_line)
    return InvalidArgument("a setting of this host holds a control character: not saved");
  return text;
}

StatusOr<HostState> ReadState(const std::string& path) {
  const std::string name = "the host's settings " + path;
  // They name the service the host token goes to: only root or this user may have written them.
  StatusOr<FileContent> file =
      ReadCheckedFile(path, name, kMaxStateBytes, [&](const struct stat& st) {
        if (st.st_uid != geteuid() && st.st_uid != 0) {
          return PermissionDenied(name + " belongs to uid " + std::to_string(st.st_uid) +
                                  ", neither root nor the user running this command");
        }
        if ((st.st_mode & 022) != 0) {
          return PermissionDenied(name + " may be changed by group or others");
        }
        return Status::Ok();
      });
  if (!file.ok()) return file.status();
  HostState s;
  const Status bad = InvalidArgument("the host's settings " + path +
                                     " are not what keypaird host enroll writes: enrol again");
  for (const std::string& line : SplitLines(file->bytes)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) return bad;
    const std::string key = line.substr(0, eq);
    std::string value = line.substr(eq + 1);
    if (key == "url") {
      s.url = std::move(value);
    } else if (key == "project") {
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), s.project);
      if (ec != std::errc() || end != value.data() + value.size()) return bad;
    } else if (key == "host_id") {
      s.host_id = std::move(value);
    } else if (key == "hostnames") {
      for (size_t pos = 0; pos <= value.size();) {
        const size_t comma = std::min(value.find(',', pos), value.size());
        if (comma > pos) s.hostnames.push_back(value.substr(pos, comma - pos));
        pos = comma + 1;
      }
    } else if (key == "ssh_dir") {
      s.ssh_dir = std::move(value);
    } else if (key == "config_dir") {
      s.config_dir = std::move(value);
    } else if (key == "authorized_keys") {
      s.authorized_keys = std::move(value);
    } else if (key == "authorized_keys_user") {
      s.authorized_keys_user = std::move(value);
    } else if (key == "authorized_keys_cache") {
      s.authorized_keys_cache = std::move(value);
    } else if (key == "ca_file") {
      s.ca_file = std::move(value);
    }  // a key of a later version is left to it
  }
  if (s.url.empty() || s.project <= 0 || s.host_id.empty() || s.hostnames.empty() ||
      s.ssh_dir.empty() || s.config_dir.empty()) {
    return bad;
  }
  return s;
}

// Runs `command` by /bin/sh -c, its output where ours goes; its exit code, or -1 when it could
// not run or was killed.
int RunShell(const std::string& command) {
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
    return -1;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// One call to the service: a GET, or a POST of `json_body`.
StatusOr<client::HttpResponse> Call(const HttpUrl& url, std::string target, std::string_view bearer,
                                    std::string_view json_body, const char* accept,
                                    const config::Config& c) {
  client::HttpRequest request;
  request.url = url;
  request.target = std::move(target);
  request.bearer_token = bearer;
  request.json_body = json_body;
  request.headers.emplace_back("Accept", accept);
  return client::HttpCall(request, ClientOptions(c));
}

StatusOr<HttpUrl> ServiceUrl(const std::string& text) {
  StatusOr<HttpUrl> url = ParseHttpUrl(text);
  if (!url.ok()) return InvalidArgument("--url: " + url.status().message());
  if (Status s = CheckAgentUrl(*url); !s.ok()) return InvalidArgument("--url: " + s.message());
  return url;
}

// How often `host enroll` asks while the service answers 429, and the longest wait between.
constexpr int kEnrollAttempts = 8;
constexpr std::chrono::seconds kMaxRetryAfter{60};

// A 429's Retry-After in seconds (1 to kMaxRetryAfter; 1 when absent or not a number).
std::chrono::seconds RetryAfter(const client::HttpResponse& r) {
  const std::string* value = r.Header("Retry-After");
  int64_t s = 0;
  if (value == nullptr ||
      std::from_chars(value->data(), value->data() + value->size(), s).ec != std::errc() || s < 1) {
    return std::chrono::seconds(1);
  }
  return std::min(std::chrono::seconds(s), kMaxRetryAfter);
}

// enroll and renew: one host, its state and its files.
class Host {
 public:
  Host(const config::Config& c, const HostIo& io) : c_(c), io_(io) {
    paths_.state_dir = c.host_state_dir;
  }

  int Enroll() {
    const std::string state_path = StatePath(paths_.state_dir);
    StatusOr<HostState> saved = ReadState(state_path);
    if (saved.ok() && saved->url == c_.url && saved->project == c_.project) {
      StatusOr<SecretString> token = ReadTokenFile(TokenPath());
      if (token.ok()) {
        const int code = RenewInsteadOfEnrolling(std::move(*saved), std::move(*token));
        // A host deleted from the project enrols again, as the message asks: else the only
        // way out would be to remove the state by hand.
        if (!deleted_) return code;
        io_.log("enrolling again with the join token");
      } else {
        io_.log("the host token of the enrolment in " + state_path + " cannot be used (" +
                token.status().message() + "): enrolling again");
      }
    } else if (!saved.ok() && saved.status().code() != StatusCode::kNotFound) {
      io_.log(saved.status().message() + ": enrolling afresh");
    } else if (saved.ok()) {
      io_.log(state_path + " is an enrolment in project " + std::to_string(saved->project) +
              " of " + saved->url + ": enrolling afresh in project " + std::to_string(c_.project) +
              " of " + c_.url);
    }
    state_.url = c_.url;
    state_.project = c_.project;
    state_.hostnames = c_.hostnames;
    TakeSettingsFromFlags();
    if (Status s = Connect(); !s.ok()) return Fail(s.message());

    StatusOr<SecretString> join = ReadSecretFile(c_.join_token_file, "join token");
    if (!join.ok()) return Fail(join.status().message());
    // An API token or a host token by mistake would only be refused by the service.
    if (!join->view().starts_with("kpj_")) {
      return Fail("the join token file " + c_.join_token_file +
                  " does not hold a join token (kpj_...): a project administrator makes one "
                  "with POST /api/v1/projects/{id}/host_join_tokens");
    }
    StatusOr<std::vector<HostPublicKey>> keys = ReadHostPublicKeys(paths_.ssh_dir);
    if (!keys.ok()) return Fail(keys.status().message());
    const json request = {
        {"project_id", c_.project}, {"hostnames", c_.hostnames}, {"public_keys", KeyLines(*keys)}};
    const std::string target = "/api/v1/hosts/enroll";
    // A wave of hosts enrolling from one address shares its rate (--rate-limit counts this
    // route per client address): a 429 is waited out, as its Retry-After says, a few times.
    // A request refused so spends nothing of the join token.
    const std::string body = request.dump();
    auto enrol = [&] {
      return Call(url_, target, join->view(), body, "application/json", client_);
    };
    StatusOr<client::HttpResponse> r = enrol();
    for (int attempt = 1; r.ok() && r->status == 429 && attempt < kEnrollAttempts; ++attempt) {
      const std::chrono::seconds wait = RetryAfter(*r);
      io_.log(url_.ToString() + target + " answered 429 (too many enrolments from here): " +
              "trying again in " + std::to_string(wait.count()) + " s");
      io_.sleep(wait);
      r = enrol();
    }
    if (!r.ok()) return Fail("cannot enrol: " + r.status().message());
    if (r->status != 201 && r->status != 200) {
      return Fail("the enrolment was refused: " + url_.ToString() + target + " answered " +
                  DescribeAnswer(*r));
    }
    json answer = ParseSecretBody(&*r);
    token_ = TakeSecret(&answer, "host_token");
    state_.host_id = StringField(answer, "host_id");
    // It goes into a path and the state file: letters and digits only.
    if (token_.empty() || state_.host_id.empty() || state_.host_id.size() > 64 ||
        !std::all_of(state_.host_id.begin(), state_.host_id.end(),
                     [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) != 0; })) {
      return Fail("the service accepted the enrolment but sent no host id and host token");
    }
    action_ = "enrolled";
    return Install(answer, *keys);
  }

  int Renew() {
    StatusOr<HostState> saved = ReadState(StatePath(paths_.state_dir));
    if (!saved.ok()) {
      if (saved.status().code() == StatusCode::kNotFound) {
        return Fail("this host is not enrolled: " + StatePath(paths_.state_dir) +
                    " does not exist; run keypaird host enroll first");
      }
      return Fail(saved.status().message());
    }
    StatusOr<SecretString> token = ReadTokenFile(TokenPath());
    if (!token.ok()) return Fail(token.status().message());
    state_ = std::move(*saved);
    token_ = std::move(*token);
    paths_.ssh_dir = state_.ssh_dir;
    paths_.config_dir = state_.config_dir;
    TakeAuthorizedKeysPaths();
    client_.ca_file = state_.ca_file;
    if (Status s = Connect(); !s.ok()) return Fail(s.message());
    return RenewIfDue(c_.force);
  }

 private:
  int Fail(const std::string& why) {
    io_.log(why);
    return 1;
  }

  std::string TokenPath() const { return (fs::path(paths_.state_dir) / kHostTokenName).string(); }

  // What the command line says of where the files go and how to reach the service.
  void TakeSettingsFromFlags() {
    paths_.ssh_dir = c_.ssh_dir;
    paths_.config_dir = c_.ssh_config_dir;
    state_.ssh_dir = c_.ssh_dir;
    state_.config_dir = c_.ssh_config_dir;
    state_.authorized_keys = c_.authorized_keys_selector;
    state_.authorized_keys_user = c_.authorized_keys_user;
    state_.authorized_keys_cache = c_.authorized_keys_cache;
    TakeAuthorizedKeysPaths();
    state_.ca_file = c_.ca_file;
    client_.ca_file = c_.ca_file;
  }

  // The AuthorizedKeysCommand's: its user and cache (as enrolled; a state file of before
  // they were saved has the defaults) and this very binary, which sshd is to run.
  void TakeAuthorizedKeysPaths() {
    const HostPaths defaults;
    paths_.authorized_keys_command_user = state_.authorized_keys_user.empty()
                                              ? defaults.authorized_keys_command_user
                                              : state_.authorized_keys_user;
    paths_.authorized_keys_cache_dir = state_.authorized_keys_cache.empty()
                                           ? defaults.authorized_keys_cache_dir
                                           : state_.authorized_keys_cache;
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec && self.is_absolute()) paths_.keypaird_binary = self.string();
  }

  Status Connect() {
    client_.timeout_ms = c_.timeout_ms;
    StatusOr<HttpUrl> url = ServiceUrl(state_.url);
    if (!url.ok()) return url.status();
    url_ = std::move(*url);
    return Status::Ok();
  }

  // `host enroll` on a host already enrolled in that project: the join token stays unspent.
  int RenewInsteadOfEnrolling(HostState saved, SecretString token) {
    const std::set<std::string> wanted(c_.hostnames.begin(), c_.hostnames.end());
    const std::set<std::string> enrolled(saved.hostnames.begin(), saved.hostnames.end());
    if (wanted != enrolled) {
      return Fail("this host is enrolled in project " + std::to_string(saved.project) +
                  " as host " + saved.host_id + " with the names " + Join(saved.hostnames, ", ") +
                  ", not " + Join(c_.hostnames, ", ") +
                  ": to change its names, delete the host in the project and enrol it again");
    }
    io_.log("this host is already enrolled in project " + std::to_string(saved.project) +
            " as host " + saved.host_id + ": renewing it instead (the join token is not used)");
    state_ = std::move(saved);
    token_ = std::move(token);
    TakeSettingsFromFlags();
    if (Status s = Connect(); !s.ok()) return Fail(s.message());
    return RenewIfDue(/*force=*/false);
  }

  static std::vector<std::string> KeyLines(const std::vector<HostPublicKey>& keys) {
    std::vector<std::string> lines;
    for (const HostPublicKey& key : keys) lines.push_back(key.line);
    return lines;
  }

  // Why the certificates need renewing now, or nullopt while they are good.
  std::optional<std::string> WhyRenew(const std::vector<HostPublicKey>& keys,
                                      const std::vector<InstalledHostCertificate>& installed,
                                      bool force) const {
    if (force) return "--force";
    const uint64_t now_s = static_cast<uint64_t>(std::max<int64_t>(io_.now(), 0) / 1000000);
    for (const HostPublicKey& key : keys) {
      const auto cert =
          std::find_if(installed.begin(), installed.end(), [&](const InstalledHostCertificate& i) {
            return i.certificate.public_key_path == key.path;
          });
      if (cert == installed.end()) return key.path + " has no certificate of it";
      for (const std::string& name : state_.hostnames) {
        if (std::find(cert->principals.begin(), cert->principals.end(), name) ==
            cert->principals.end()) {
          return "the certificate of " + key.path + " does not name " + name;
        }
      }
      const uint64_t third =
          (cert->valid_before - std::min(cert->valid_after, cert->valid_before)) / 3;
      if (now_s + third >= cert->valid_before) {
        return "less than a third of the validity of the certificate of " + key.path +
               " is left (it expires at " + CertificateTime(cert->valid_before) + ")";
      }
    }
    return std::nullopt;
  }

  // A refusal of a call made with the host token.
  int Refused(const std::string& target, const client::HttpResponse& r) {
    if (r.status == 401) {
      deleted_ = true;
      return Fail("this host was deleted from project " + std::to_string(state_.project) +
                  ": enrol it again (" + url_.ToString() + target + " answered " +
                  DescribeAnswer(r) + ")");
    }
    return Fail(url_.ToString() + target + " answered " + DescribeAnswer(r));
  }

  int RenewIfDue(bool force) {
    StatusOr<std::vector<HostPublicKey>> keys = ReadHostPublicKeys(paths_.ssh_dir);
    if (!keys.ok()) return Fail(keys.status().message());
    const std::vector<InstalledHostCertificate> installed = ReadInstalledHostCertificates(*keys);
    if (std::optional<std::string> why = WhyRenew(*keys, installed, force); why.has_value()) {
      io_.log("renewing the host certificates: " + *why);
      const std::string target =
          "/api/v1/hosts/" + PercentEncodeQueryValue(state_.host_id) + "/renew";
      const json request = {{"public_keys", KeyLines(*keys)}};
      StatusOr<client::HttpResponse> r =
          Call(url_, target, token_.view(), request.dump(), "application/json", client_);
      if (!r.ok()) return Fail("cannot renew: " + r.status().message());
      if (r->status != 200 && r->status != 201) return Refused(target, *r);
      action_ = "renewed";
      return Install(ParseSecretBody(&*r), *keys);
    }
    // Current: the certificates stay, the CA keys and the KRL are refreshed.
    const std::string target =
        "/api/v1/projects/" + std::to_string(state_.project) + "/ssh_ca/public_key";
    StatusOr<client::HttpResponse> r = Call(url_, target, token_.view(), {}, "text/plain", client_);
    if (!r.ok()) return Fail("cannot fetch the user CA keys: " + r.status().message());
    if (r->status != 200) return Refused(target, *r);
    HostFiles files;
    for (const InstalledHostCertificate& cert : installed) {
      files.certificates.push_back(cert.certificate);
    }
    files.user_ca_public_keys = std::move(r->body);
    action_ = "current";
    return Finish(std::move(files));
  }

  // The certificates and user CA keys of an enrolment or renewal answer.
  int Install(const json& answer, const std::vector<HostPublicKey>& keys) {
    std::vector<std::string> lines;
    std::vector<std::string> ca_keys;
    if (auto it = answer.find("certificates"); it != answer.end() && it->is_array()) {
      for (const json& cert : *it) lines.push_back(StringField(cert, "certificate"));
    }
    if (auto it = answer.find("user_ca_public_keys"); it != answer.end() && it->is_array()) {
      for (const json& key : *it) {
        if (key.is_string()) ca_keys.push_back(key.get<std::string>());
      }
    }
    if (auto it = answer.find("hostnames"); it != answer.end() && it->is_array() && !it->empty()) {
      std::vector<std::string> names;
      for (const json& name : *it) names.push_back(name.is_string() ? name.get<std::string>() : "");
      state_.hostnames = std::move(names);  // as the service has them; checked by WriteHostFiles
    }
    if (lines.empty()) return Fail("the service answered without a host certificate");
    StatusOr<std::vector<HostCertificate>> certs = MatchHostCertificates(keys, lines);
    if (!certs.ok()) return Fail(certs.status().message());
    HostFiles files;
    files.certificates = std::move(*certs);
    files.user_ca_public_keys = Join(ca_keys, "\n");
    return Finish(std::move(files));
  }

  // The KRL, then every file, the state, the reload and the summary.
  int Finish(HostFiles files) {
    const std::string target = "/api/v1/projects/" + std::to_string(state_.project) + "/ssh_ca/krl";
    StatusOr<client::HttpResponse> r =
        Call(url_, target, token_.view(), {}, "application/octet-stream", client_);
    if (!r.ok()) return Fail("cannot fetch the KRL: " + r.status().message());
    if (r->status != 200) return Refused(target, *r);
    files.krl = std::move(r->body);
    files.host_token = std::move(token_);
    files.hostnames = state_.hostnames;
    files.url = state_.url;
    files.project_id = state_.project;
    files.authorized_keys_selector = state_.authorized_keys;
    StatusOr<HostFilesWritten> written = WriteHostFiles(files, paths_);
    if (!written.ok()) return Fail(written.status().message());
    // The state is written last: the files it describes are in place.
    StatusOr<std::string> state = StateText(state_);
    if (!state.ok()) return Fail(state.status().message());
    HostFilesWritten state_written;
    if (Status s = WriteFileIfChanged(StatePath(paths_.state_dir), *state, 0600, state_written);
        !s.ok()) {
      return Fail(s.message());
    }
    Summarize(*written, state_written);
    if (!written->changed.empty() && !c_.reload_command.empty()) {
      const int code = RunShell(c_.reload_command);
      if (code != 0) {
        return Fail(
            "the files are in place, but --reload-command failed (" +
            (code < 0 ? std::string("it did not run to its end") : "exit " + std::to_string(code)) +
            "): sshd may still use the old ones");
      }
      io_.out("ran the reload command\n");
    }
    return 0;
  }

  void Summarize(const HostFilesWritten& files, const HostFilesWritten& state) {
    std::string text = "host " + state_.host_id + " (" + Join(state_.hostnames, ", ") +
                       ") in project " + std::to_string(state_.project) + ": " + action_ + "\n";
    std::vector<std::string> changed = files.changed;
    std::vector<std::string> current = files.unchanged;
    changed.insert(changed.end(), state.changed.begin(), state.changed.end());
    current.insert(current.end(), state.unchanged.begin(), state.unchanged.end());
    if (!changed.empty()) text += "written: " + Join(changed, ", ") + "\n";
    if (!current.empty()) text += "already current: " + Join(current, ", ") + "\n";
    StatusOr<std::vector<HostPublicKey>> keys = ReadHostPublicKeys(paths_.ssh_dir);
    if (keys.ok()) {
      for (const InstalledHostCertificate& cert : ReadInstalledHostCertificates(*keys)) {
        const uint64_t renew_from =
            cert.valid_before -
            (cert.valid_before - std::min(cert.valid_after, cert.valid_before)) / 3;
        text += HostCertificatePath(cert.certificate.public_key_path) + " expires at " +
                CertificateTime(cert.valid_before) + " (renewed from " +
                CertificateTime(renew_from) + ")\n";
      }
    }
    io_.out(text);
  }

  const config::Config& c_;
  const HostIo& io_;
  config::Config client_;  // the HTTP client's --ca-file and --timeout
  HttpUrl url_;
  HostState state_;
  HostPaths paths_;
  SecretString token_;
  std::string action_;
  bool deleted_ = false;  // the service answered the host token with 401
};

// ssh-config: keypaird's lines in a known_hosts file are those for exactly these patterns that
// end as the service ends them.
class KnownHostsLines {
 public:
  KnownHostsLines(const std::string& patterns, int64_t project)
      : prefix_("@cert-authority " + patterns + " "),
        suffix_("keypaird project " + std::to_string(project) + " host CA") {}

  bool IsOurs(std::string_view line) const {
    return line.size() >= prefix_.size() + suffix_.size() && line.starts_with(prefix_) &&
           line.ends_with(suffix_);
  }
  const std::string& prefix() const { return prefix_; }
  const std::string& suffix() const { return suffix_; }

 private:
  std::string prefix_;
  std::string suffix_;
};

// `existing` with its lines for `ours` replaced by `fresh`, in the place of the first of them
// (at the end when there is none); every other line kept as it was.
std::string ReplaceLines(const std::string& existing, const KnownHostsLines& ours,
                         const std::vector<std::string>& fresh) {
  std::string out;
  bool placed = false;
  auto place = [&] {
    for (const std::string& line : fresh) out += line + "\n";
    placed = true;
  };
  for (const std::string& line : SplitLines(existing)) {
    if (ours.IsOurs(line)) {
      if (!placed) place();
      continue;
    }
    out += line + "\n";
  }
  if (!placed) place();
  return out;
}

}  // namespace

int HostEnrollCommand(const config::Config& c, const HostIo& io) { return Host(c, io).Enroll(); }

int HostRenewCommand(const config::Config& c, const HostIo& io) { return Host(c, io).Renew(); }

int SshConfigCommand(const config::Config& c, const HostIo& io) {
  auto fail = [&](const std::string& why) {
    io.log(why);
    return 1;
  };
  StatusOr<HttpUrl> url = ServiceUrl(c.url);
  if (!url.ok()) return fail(url.status().message());
  SecretString token;
  if (!c.token_file.empty()) {
    StatusOr<SecretString> read = ReadTokenFile(c.token_file);
    if (!read.ok()) return fail(read.status().message());
    token = std::move(*read);
  }
  const std::string patterns = Join(c.known_hosts_patterns, ",");
  const std::string target = "/api/v1/projects/" + std::to_string(c.project) +
                             "/ssh_host_ca/known_hosts?hosts=" + PercentEncodeQueryValue(patterns);
  StatusOr<client::HttpResponse> r = Call(*url, target, token.view(), {}, "text/plain", c);
  if (!r.ok()) return fail(r.status().message());
  if (r->status != 200) return fail(url->ToString() + target + " answered " + DescribeAnswer(*r));
  std::vector<std::string> lines;
  for (std::string& line : SplitLines(r->body)) {
    if (line.empty()) continue;
    if (HasControlCharacters(line)) {
      return fail(url->ToString() + target + " answered something that is not known_hosts lines");
    }
    lines.push_back(std::move(line));
  }
  if (c.write_file.empty()) {
    io.out(Join(lines, "\n") + (lines.empty() ? "" : "\n"));
    return 0;
  }
  // Only lines that a later run recognises as its own are written: so a second run replaces
  // them rather than adding more.
  const KnownHostsLines ours(patterns, c.project);
  if (lines.empty()) {
    return fail(url->ToString() + target + " answered no @cert-authority line (has project " +
                std::to_string(c.project) + " a host CA?); " + c.write_file + " is left as it is");
  }
  for (const std::string& line : lines) {
    if (!ours.IsOurs(line)) {
      return fail(url->ToString() + target + " answered a line that does not start with \"" +
                  ours.prefix() + "\" and end with \"" + ours.suffix() +
                  "\": " + Printable(line, 120) + "; " + c.write_file + " is left as it is");
    }
  }
  std::string existing;
  mode_t mode = 0644;
  StatusOr<FileContent> file =
      ReadCheckedFile(c.write_file, "the known_hosts file " + c.write_file, kMaxKnownHostsBytes,
                      [](const struct stat&) { return Status::Ok(); });
  if (file.ok()) {
    existing = std::move(file->bytes);
    // The owner's permissions kept where they are tighter; never more than 0644.
    mode = (file->st.st_mode & 0644) | 0600;
  } else if (file.status().code() != StatusCode::kNotFound) {
    return fail(file.status().message());
  }
  HostFilesWritten written;
  if (Status s =
          WriteFileIfChanged(c.write_file, ReplaceLines(existing, ours, lines), mode, written);
      !s.ok()) {
    return fail(s.message());
  }
  io.out(c.write_file + (written.changed.empty() ? ": already current (" : ": written (") +
         std::to_string(lines.size()) + " @cert-authority line" + (lines.size() == 1 ? "" : "s") +
         " for " + patterns + ")\n");
  return 0;
}

}  // namespace keypaird::cli
