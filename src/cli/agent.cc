#include "cli/agent.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "cli/secure_files.h"
#include "client/http_client.h"
#include "common/digest.h"
#include "common/duration.h"
#include "common/rfc3339.h"
#include "common/secret.h"
#include "common/strings.h"
#include "common/url.h"
#include "sshkey/krl.h"

namespace keypaird::cli {
namespace {

constexpr std::string_view kCacheMagic = "keypaird authorized-keys cache 1\n";
// A cache holds at most one answer, which the client caps at this size.
constexpr size_t kMaxAnswerBytes = size_t{64} << 20;
// A cache file written a little in the future (the clock stepped back since) still counts as
// fresh; one further ahead is not trusted.
constexpr int64_t kClockSkewUs = int64_t{60} * 1000000;

std::string Age(int64_t us) { return FormatDurationMs(std::max<int64_t>(us, 0) / 1000000 * 1000); }

bool IsTransient(int status) { return status >= 500 || status == 408 || status == 429; }

// The service's URL (already checked when the flags were parsed) and the token.
struct Connection {
  HttpUrl url;
  SecretString token;
};

StatusOr<Connection> Connect(const config::Config& c) {
  StatusOr<HttpUrl> url = ParseHttpUrl(c.url);
  if (!url.ok()) return InvalidArgument("--url: " + url.status().message());
  if (Status s = CheckAgentUrl(*url); !s.ok()) return InvalidArgument("--url: " + s.message());
  StatusOr<SecretString> token = ReadTokenFile(c.token_file);
  if (!token.ok()) return token.status();
  return Connection{std::move(*url), std::move(*token)};
}

// What authorized-keys prints must be what sshd can read: text lines, each ending in "\n".
bool IsAuthorizedKeysAnswer(const client::HttpResponse& r) {
  const std::string* type = r.Header("Content-Type");
  if (type == nullptr || !AsciiLowered(*type).starts_with("text/plain")) return false;
  if (r.body.find('\0') != std::string::npos) return false;
  return r.body.empty() || r.body.back() == '\n';
}

class AuthorizedKeys {
 public:
  AuthorizedKeys(const config::Config& c, const AgentIo& io) : c_(c), io_(io) {}

  int Run() {
    StatusOr<Connection> conn = Connect(c_);
    if (!conn.ok()) return Deny(conn.status().message());
    std::string target = "/api/v1/projects/" + std::to_string(c_.project) + "/authorized_keys";
    std::string query;
    if (!c_.label_selector.empty()) {
      query += "label_selector=" + PercentEncodeQueryValue(c_.label_selector);
    }
    if (c_.owner_id != 0) {
      query += (query.empty() ? "" : "&") + std::string("owner_id=") + std::to_string(c_.owner_id);
    }
    if (!query.empty()) target += "?" + query;
    source_ = conn->url.ToString() + target;
    LoadCache();

    client::HttpRequest request;
    request.url = conn->url;
    request.target = target;
    request.bearer_token = conn->token.view();
    request.headers.emplace_back("Accept", "text/plain");
    const bool conditional = cache_.has_value() && !cache_->etag.empty();
    if (conditional) request.headers.emplace_back("If-None-Match", cache_->etag);
    StatusOr<client::HttpResponse> answer = client::HttpCall(request, ClientOptions(c_));
    if (!answer.ok()) {
      // A request that may not be made (plain http:// resolving off loopback, a bad --ca-file)
      // is a configuration error, not an outage.
      if (answer.status().code() == StatusCode::kInvalidArgument) {
        return Deny(answer.status().message());
      }
      return FallBack(answer.status().message());
    }
    const client::HttpResponse& r = *answer;
    const std::string answered = source_ + " answered " + DescribeAnswer(r);
    if (r.status == 200) {
      if (!IsAuthorizedKeysAnswer(r)) {
        return FallBack(source_ + " answered 200 with something other than authorized_keys text");
      }
      if (!c_.cache_file.empty()) {
        const std::string* etag = r.Header("ETag");
        KeysCache fresh{source_, etag != nullptr ? Printable(*etag, 200) : "", r.body, io_.now()};
        if (Status s = WriteKeysCache(c_.cache_file, fresh); !s.ok()) {
          io_.log(s.message() + " (the keys are printed all the same)");
        }
      }
      return Print(r.body);
    }
    if (r.status == 304) {
      if (!conditional) return FallBack(source_ + " answered 304 to a request without an ETag");
      if (Status s = TouchKeysCache(c_.cache_file, io_.now()); !s.ok()) io_.log(s.message());
      return Print(cache_->keys);
    }
    if (IsTransient(r.status)) return FallBack(answered);
    // 401, 403, 404 and everything else: the service has spoken, and it did not say yes.
    return Deny(answered);
  }

 private:
  void LoadCache() {
    if (c_.cache_file.empty()) return;
    StatusOr<KeysCache> cache = ReadKeysCache(c_.cache_file);
    if (!cache.ok()) {
      cache_problem_ = cache.status().message();
      if (cache.status().code() != StatusCode::kNotFound) io_.log(cache_problem_ + "; not used");
      return;
    }
    if (cache->source != source_) {
      cache_problem_ = "the cache file " + c_.cache_file + " holds the answer to another request";
      io_.log(cache_problem_ + " (" + Printable(cache->source) +
              "): not used; give each --label-selector its own --cache-file, such as "
              "/var/cache/keypaird/%u.keys");
      return;
    }
    cache_ = std::move(*cache);
  }

  int Print(std::string_view keys) {
    if (!io_.out(keys)) {
      io_.log("cannot write the keys to standard output");
      return 1;
    }
    return 0;
  }

  int Deny(const std::string& why) {
    io_.log(why + "; no keys printed");
    return 1;
  }

  int FallBack(const std::string& why) {
    if (c_.cache_file.empty()) return Deny(why + ", and there is no --cache-file");
    if (!cache_.has_value()) return Deny(why + ", and there is no usable cached copy");
    const int64_t age = io_.now() - cache_->stored_at_us;
    if (age < -kClockSkewUs) {
      return Deny(why + ", and the cached copy's time is in the future (was the clock changed?)");
    }
    if (age > c_.max_stale_ms * 1000) {
      return Deny(why + ", and the cached copy is " + Age(age) + " old, more than --max-stale " +
                  FormatDurationMs(c_.max_stale_ms));
    }
    io_.log(why + "; printing the cached copy from " + Age(age) + " ago (--max-stale " +
            FormatDurationMs(c_.max_stale_ms) + ")");
    return Print(cache_->keys);
  }

  const config::Config& c_;
  const AgentIo& io_;
  std::string source_;
  std::optional<KeysCache> cache_;
  std::string cache_problem_;
};

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string Printable(std::string_view text, size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) out += (c >= ' ' && c < 0x7f) ? c : '?';
  if (text.size() > max) out += "...";
  return out;
}

std::string DescribeAnswer(const client::HttpResponse& r) {
  std::string out = std::to_string(r.status);
  const nlohmann::json body = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object()) {
    if (auto it = body.find("exception_class"); it != body.end() && it->is_string()) {
      out += " " + Printable(it->get<std::string>(), 60);
    }
    if (auto it = body.find("message"); it != body.end() && it->is_string()) {
      out += ": " + Printable(it->get<std::string>());
    }
  }
  return out;
}

client::HttpClientOptions ClientOptions(const config::Config& c) {
  client::HttpClientOptions options;
  options.timeout = std::chrono::milliseconds(c.timeout_ms);
  options.ca_file = c.ca_file;
  options.max_body_bytes = kMaxAnswerBytes;
  return options;
}

nlohmann::json ParseSecretBody(client::HttpResponse* r) {
  const SecretString body(std::move(r->body));
  return nlohmann::json::parse(body.view(), nullptr, /*allow_exceptions=*/false);
}

SecretString TakeSecret(nlohmann::json* j, const char* name) {
  auto it = j->find(name);
  if (it == j->end() || !it->is_string()) return SecretString();
  std::string& value = it->get_ref<std::string&>();
  std::string copy;
  copy.reserve(value.size());
  copy.append(value);
  OPENSSL_cleanse(value.data(), value.size());
  value.clear();
  return SecretString(std::move(copy));
}

std::string StringField(const nlohmann::json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string CertificateTime(uint64_t seconds) {
  std::string text = FormatRfc3339(static_cast<int64_t>(seconds) * 1000000);
  if (const size_t dot = text.find('.'); dot != std::string::npos) {
    text.erase(dot, text.size() - dot - 1);
  }
  return text;
}

StatusOr<KeysCache> ReadKeysCache(const std::string& path) {
  const std::string name = "the cache file " + path;
  StatusOr<FileContent> file =
      ReadCheckedFile(path, name, kMaxAnswerBytes + 4096, [&](const struct stat& st) {
        if (st.st_uid != geteuid()) {
          return PermissionDenied(name + " belongs to uid " + std::to_string(st.st_uid) +
                                  ", not to the user running this command");
        }
        if ((st.st_mode & 022) != 0) {
          return PermissionDenied(name + " may be changed by group or others");
        }
        return Status::Ok();
      });
  if (!file.ok()) return file.status();
  const std::string& bytes = file->bytes;
  const struct stat& st = file->st;
  const Status not_a_cache = InvalidArgument(name + " is not a keypaird authorized-keys cache");
  if (!std::string_view(bytes).starts_with(kCacheMagic)) return not_a_cache;
  size_t pos = kCacheMagic.size();
  auto field = [&](std::string_view key, std::string* value) {
    const size_t end = bytes.find('\n', pos);
    if (end == std::string::npos || bytes.compare(pos, key.size(), key) != 0 ||
        bytes[pos + key.size()] != ' ') {
      return false;
    }
    *value = bytes.substr(pos + key.size() + 1, end - pos - key.size() - 1);
    pos = end + 1;
    return true;
  };
  KeysCache cache;
  if (!field("source", &cache.source) || !field("etag", &cache.etag) || pos >= bytes.size() ||
      bytes[pos] != '\n') {
    return not_a_cache;
  }
  cache.keys = bytes.substr(pos + 1);
  cache.stored_at_us = int64_t{st.st_mtim.tv_sec} * 1000000 + st.st_mtim.tv_nsec / 1000;
  return cache;
}

Status WriteKeysCache(const std::string& path, const KeysCache& cache) {
  if (cache.source.find('\n') != std::string::npos || cache.etag.find('\n') != std::string::npos) {
    return InvalidArgument("a cache's source and ETag are one line each");
  }
  std::string bytes(kCacheMagic);
  bytes += "source " + cache.source + "\netag " + cache.etag + "\n\n";
  bytes += cache.keys;
  return WriteFileAtomically(path, bytes, 0600, cache.stored_at_us);
}

Status TouchKeysCache(const std::string& path, int64_t now_us) {
  const timespec t{static_cast<time_t>(now_us / 1000000),
                   static_cast<long>((now_us % 1000000) * 1000)};
  const timespec times[2] = {t, t};
  if (utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return Internal("cannot renew the time of the cache file " + path + ": " +
                    std::strerror(errno));
  }
  return Status::Ok();
}

int AuthorizedKeysCommand(const config::Config& c, const AgentIo& io) {
  return AuthorizedKeys(c, io).Run();
}

int KrlCommand(const config::Config& c, const AgentIo& io) {
  const std::string left = "; " + c.out + " is left as it is";
  StatusOr<Connection> conn = Connect(c);
  if (!conn.ok()) {
    io.log(conn.status().message() + left);
    return 1;
  }
  client::HttpRequest request;
  request.url = conn->url;
  request.target = "/api/v1/projects/" + std::to_string(c.project) + "/ssh_ca/krl";
  request.bearer_token = conn->token.view();
  request.headers.emplace_back("Accept", "application/octet-stream");
  // The KRL's ETag is the digest of its bytes (BodyETag): the file in place names itself, and
  // while the list is unchanged the service answers 304 without sending it again.
  const std::string current = ReadWholeFile(c.out);
  if (!current.empty()) request.headers.emplace_back("If-None-Match", BodyETag(current));
  const std::string source = conn->url.ToString() + request.target;
  StatusOr<client::HttpResponse> answer = client::HttpCall(request, ClientOptions(c));
  if (!answer.ok()) {
    io.log(answer.status().message() + left);
    return 1;
  }
  if (answer->status == 304 && !current.empty()) return 0;  // already current
  if (answer->status != 200) {
    io.log(source + " answered " + DescribeAnswer(*answer) + left);
    return 1;
  }
  // sshd refuses every key while its RevokedKeys file is unreadable: only a KRL that parses
  // replaces the one in place.
  StatusOr<sshkey::Krl> krl = sshkey::ParseKrl(answer->body);
  if (!krl.ok()) {
    io.log(source + " answered with something that is not a KRL (" + krl.status().message() + ")" +
           left);
    return 1;
  }
  if (current == answer->body) return 0;  // already current (a service that sent it anyway)
  if (Status s = WriteFileAtomically(c.out, answer->body, 0644); !s.ok()) {
    io.log(s.message());
    return 1;
  }
  uint64_t serials = 0;
  for (const sshkey::KrlCaSerials& ca : krl->certificates) {
    for (const sshkey::SerialRange& range : ca.serials) serials += range.last - range.first + 1;
  }
  io.log("wrote the KRL of project " + std::to_string(c.project) + " to " + c.out + " (" +
         std::to_string(answer->body.size()) + " bytes: " + std::to_string(serials) +
         " revoked certificate serials, " + std::to_string(krl->revoked_key_sha256.size()) +
         " revoked keys)");
  return 0;
}

}  // namespace keypaird::cli
