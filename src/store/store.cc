// OpenStore: picks a KeyStore backend by URL scheme.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/key_store.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store_internal.h"

namespace keypaird::store {
namespace {

// KeyStore::Snapshot's default: every read goes to the store, on its own snapshot.
class ForwardingReader final : public KeyReader {
 public:
  explicit ForwardingReader(KeyReader* store) : store_(store) {}
  StatusOr<KeyRecord> GetKey(std::string_view id) override { return store_->GetKey(id); }
  StatusOr<KeyRecord> GetKeyByName(int64_t project_id, std::string_view name) override {
    return store_->GetKeyByName(project_id, name);
  }
  StatusOr<KeyPage> ListKeys(const ListQuery& query) override { return store_->ListKeys(query); }
  StatusOr<TokenRecord> GetToken(std::string_view id) override { return store_->GetToken(id); }
  StatusOr<EventPage> ListEvents(const EventQuery& query) override {
    return store_->ListEvents(query);
  }
  StatusOr<UserRecord> GetUser(int64_t id) override { return store_->GetUser(id); }
  StatusOr<int64_t> AuthGeneration() override { return store_->AuthGeneration(); }
  StatusOr<ProjectGenerations> GenerationsOf(int64_t project_id) override {
    return store_->GenerationsOf(project_id);
  }

 private:
  KeyReader* store_;
};

}  // namespace

const char* CaKindName(CaKind kind) { return kind == CaKind::kHost ? "host" : "user"; }

std::unique_ptr<KeyReader> KeyStore::Snapshot() { return std::make_unique<ForwardingReader>(this); }

void KeyStore::InsertKeyAsync(KeyRecord key, EventRecord event, WriteDone done) {
  done(InsertKey(key, event));
}

std::string EncodeLabels(const std::map<std::string, std::string>& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ',';
    out.append(k).append("=").append(v);
  }
  return out;
}

StatusOr<std::map<std::string, std::string>> DecodeLabels(std::string_view text) {
  std::map<std::string, std::string> labels;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Internal("corrupt key labels in the database");
    }
    labels.emplace(item.substr(0, eq), item.substr(eq + 1));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return labels;
}

Status ValidateClaims(const UserRecord& claims) {
  if (claims.issuer.empty() || claims.subject.empty()) {
    return InvalidArgument("a sign-in needs the issuer and the subject");
  }
  return Status::Ok();
}

Status ValidateUserId(int64_t id) {
  if (id < 1) return InvalidArgument("a user id must be at least 1");
  return Status::Ok();
}

Status ValidateGrant(const GrantRecord& grant) {
  const int subjects = static_cast<int>(!grant.group.empty()) +
                       static_cast<int>(grant.user_id != 0) +
                       static_cast<int>(!grant.user_email.empty());
  if (subjects != 1) {
    return InvalidArgument("a grant is for exactly one of a group, a user id or a user email");
  }
  if (grant.user_id < 0) return InvalidArgument("a user id must be at least 1");
  if (grant.projects.empty()) return InvalidArgument("a grant needs at least one project");
  for (size_t i = 1; i < grant.projects.size(); ++i) {
    if (grant.projects[i - 1] >= grant.projects[i]) {
      return InvalidArgument("a grant's projects must be ascending, each once");
    }
  }
  if (grant.role != "viewer" && grant.role != "editor" && grant.role != "admin") {
    return InvalidArgument("a grant's role is viewer, editor or admin");
  }
  for (const std::string& p : grant.principals) {
    // The column joins them with commas (as a token's).
    if (p.empty() || p.find(',') != std::string::npos) {
      return InvalidArgument("a principal is not empty and holds no comma");
    }
  }
  return Status::Ok();
}

Status ValidateHost(const HostRecord& host) {
  if (host.id.empty()) return InvalidArgument("a host needs an id");
  if (host.project_id < 1) return InvalidArgument("a host's project must be at least 1");
  if (host.token_hash.size() != 32) {
    return InvalidArgument("a host's token hash is 32 bytes (SHA-256)");
  }
  if (host.hostnames.empty() || host.hostnames.size() > 64) {
    return InvalidArgument("a host has 1 to 64 hostnames");
  }
  if (host.public_keys.empty() || host.public_keys.size() > 16) {
    return InvalidArgument("a host has 1 to 16 public keys");
  }
  // Both columns join their items with commas.
  for (const auto* list : {&host.hostnames, &host.public_keys}) {
    for (const std::string& item : *list) {
      if (item.empty() || item.find(',') != std::string::npos) {
        return InvalidArgument("a host's names and keys are not empty and hold no comma");
      }
    }
  }
  return Status::Ok();
}

Status ValidateJoinToken(const JoinTokenRecord& token) {
  if (token.id.empty()) return InvalidArgument("a join token needs an id");
  if (token.project_id < 1) return InvalidArgument("a join token's project must be at least 1");
  if (token.secret_hash.size() != 32) {
    return InvalidArgument("a join token's secret hash is 32 bytes (SHA-256)");
  }
  if (token.hostnames.empty() || token.hostnames.size() > 64) {
    return InvalidArgument("a join token names 1 to 64 hostnames");
  }
  for (const std::string& h : token.hostnames) {
    // The column joins them with commas, as a token's principals.
    if (h.empty() || h.find(',') != std::string::npos) {
      return InvalidArgument("a hostname is not empty and holds no comma");
    }
  }
  if (token.uses_left < 1 || token.uses_left > token.uses) {
    return InvalidArgument("a join token's uses left are between 1 and its uses");
  }
  return Status::Ok();
}

std::vector<std::string> KeptGroups(const std::vector<std::string>& groups) {
  std::vector<std::string> kept;
  for (const std::string& g : groups) {
    if (!g.empty()) kept.push_back(g);
  }
  return kept;
}

std::string EncodeGroups(const std::vector<std::string>& groups) {
  std::string out;
  for (const std::string& g : groups) {
    if (!out.empty()) out += ',';
    for (char c : g) {
      if (c == ',' || c == '\\') out += '\\';
      out += c;
    }
  }
  return out;
}

StatusOr<std::vector<std::string>> DecodeGroups(std::string_view text) {
  std::vector<std::string> groups;
  if (text.empty()) return groups;
  std::string current;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') {
      if (++i == text.size()) return Internal("corrupt user groups in the database");
      current += text[i];
    } else if (text[i] == ',') {
      groups.push_back(std::exchange(current, {}));
    } else {
      current += text[i];
    }
  }
  groups.push_back(std::move(current));
  return groups;
}

EventRecord SignInEvent(const EventRecord& event, int64_t user_id, bool created) {
  EventRecord out = event;
  out.resource_id = std::to_string(user_id);
  // details is a JSON object's text: the member goes first, before the caller's.
  const std::string member = std::string("\"created\":") + (created ? "true" : "false");
  const size_t open = out.details.find('{');
  if (open == std::string::npos) {
    out.details = "{" + member + "}";
    return out;
  }
  const size_t next = out.details.find_first_not_of(" \t\r\n", open + 1);
  const bool empty = next == std::string::npos || out.details[next] == '}';
  out.details.insert(open + 1, empty ? member : member + ",");
  return out;
}

void ApplyUpdate(const KeyUpdate& update, KeyRecord* key) {
  if (update.name) key->name = *update.name;
  if (update.shared_in_project) key->shared_in_project = *update.shared_in_project;
  if (update.labels) key->labels = *update.labels;
  if (update.expires_at_us) key->expires_at_us = *update.expires_at_us;
  if (update.disabled) key->disabled = *update.disabled;
}

StatusOr<std::unique_ptr<KeyStore>> OpenStore(const std::string& url, const StoreOptions& options) {
  constexpr std::string_view kSqliteScheme = "sqlite:";
  if (options.pool_size < 1) return InvalidArgument("the connection pool size must be >= 1");
  if (url.starts_with(kSqliteScheme)) {
    std::string_view path = url;
    path.remove_prefix(kSqliteScheme.size());
    return OpenSqliteStore(path, options);
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return OpenPostgresStore(url, options);
  }
  // The URL itself is not echoed: it may carry a password.
  return InvalidArgument(
      "unsupported database URL: expected sqlite:PATH, sqlite::memory: or "
      "postgresql://USER@HOST:PORT/DB");
}

}  // namespace keypaird::store
