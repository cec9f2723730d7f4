#include "service/hosts.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

#include "auth/audit.h"

namespace keypaird::service {
namespace {

constexpr size_t kMaxHostnames = 64;
constexpr size_t kMaxHostnameBytes = 253;
constexpr size_t kMaxLabelBytes = 63;

Status Invalid(const char* field, const std::string& message) {
  return InvalidArgument(std::string("Invalid value for ") + field + ": " + message)
      .WithField(field, message);
}

Status AdministerOnly(const auth::Principal& caller, int64_t project_id) {
  if (caller.Administers(project_id)) return Status::Ok();
  if (!caller.MayUseProject(project_id)) return auth::ProjectDenied(project_id);
  return PermissionDenied("Only an administrator of project " + std::to_string(project_id) +
                          " manages its hosts.");
}

bool ValidLabel(std::string_view label) {
  return !label.empty() && label.size() <= kMaxLabelBytes && label.front() != '-' &&
         label.back() != '-' && std::all_of(label.begin(), label.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-';
         });
}

}  // namespace

Status CheckHostnamePattern(std::string_view hostname, std::string* lowered) {
  std::string name(hostname);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  std::string_view rest = name;
  if (rest.starts_with("*.")) rest.remove_prefix(2);
  if (rest.empty() || name.size() > kMaxHostnameBytes) {
    return InvalidArgument("a host name is 1 to 253 bytes");
  }
  for (size_t start = 0;;) {
    const size_t dot = rest.find('.', start);
    if (!ValidLabel(rest.substr(start, dot - start))) {
      return InvalidArgument("'" + name +
                             "' is not a host name: labels of letters, digits and '-' (1 to "
                             "63 each, no '-' first or last), separated by dots, optionally "
                             "after '*.'");
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  *lowered = std::move(name);
  return Status::Ok();
}

bool HostnameMatches(std::string_view pattern, std::string_view hostname) {
  if (!pattern.starts_with("*.")) return pattern == hostname;
  const std::string_view rest = pattern.substr(1);  // ".rest"
  if (hostname.size() <= rest.size() || !hostname.ends_with(rest)) return false;
  const std::string_view label = hostname.substr(0, hostname.size() - rest.size());
  return label.find('.') == std::string_view::npos;  // exactly one more label
}

StatusOr<MadeJoinToken> Hosts::CreateJoinToken(const auth::Principal& caller, int64_t project_id,
                                               const JoinTokenRequest& request) const {
  if (Status s = AdministerOnly(caller, project_id); !s.ok()) return s;
  if (request.hostnames.empty() || request.hostnames.size() > kMaxHostnames) {
    return Invalid("hostnames", "Must name 1 to 64 host names.");
  }
  std::vector<std::string> hostnames;
  for (const std::string& h : request.hostnames) {
    std::string lowered;
    if (Status s = CheckHostnamePattern(h, &lowered); !s.ok()) {
      return Invalid("hostnames", s.message());
    }
    if (std::find(hostnames.begin(), hostnames.end(), lowered) == hostnames.end()) {
      hostnames.push_back(std::move(lowered));
    }
  }
  if (request.uses < 1 || request.uses > kMaxJoinTokenUses) {
    return Invalid("uses", "Must be an integer from 1 to 1000.");
  }
  if (request.expires_in_s < kMinJoinTokenTtlS || request.expires_in_s > kMaxJoinTokenTtlS) {
    return Invalid("expires_in", "Must be from 60 seconds to 30 days (2592000 seconds).");
  }
  StatusOr<auth::JoinSecret> secret = auth::NewJoinSecret();
  if (!secret.ok()) return secret.status();
  const int64_t now_us = now_();
  MadeJoinToken made;
  made.record.id = secret->id;
  made.record.project_id = project_id;
  made.record.secret_hash = secret->secret_hash;
  made.record.hostnames = std::move(hostnames);
  made.record.uses = request.uses;
  made.record.uses_left = request.uses;
  made.record.expires_at_us = now_us + request.expires_in_s * 1'000'000;
  made.record.created_at_us = now_us;
  made.record.created_by = caller.token_id;
  store::EventRecord event = auth::NewEvent(caller, auth::kJoinTokenCreate, now_us);
  auth::AboutJoinToken(made.record, &event);
  if (Status s = store_->InsertJoinToken(made.record, event); !s.ok()) return s;
  made.token = std::move(secret->token);
  return made;
}

StatusOr<std::vector<store::JoinTokenRecord>> Hosts::ListJoinTokens(
    const auth::Principal& caller, int64_t project_id) const {
  if (Status s = AdministerOnly(caller, project_id); !s.ok()) return s;
  return store_->ListJoinTokens(project_id);
}

Status Hosts::DeleteJoinToken(const auth::Principal& caller, int64_t project_id,
                              std::string_view id) const {
  if (Status s = AdministerOnly(caller, project_id); !s.ok()) return s;
  StatusOr<std::vector<store::JoinTokenRecord>> tokens = store_->ListJoinTokens(project_id);
  if (!tokens.ok()) return tokens.status();
  auto it = std::find_if(tokens->begin(), tokens->end(),
                         [&](const store::JoinTokenRecord& t) { return t.id == id; });
  if (it == tokens->end()) return NotFound("No join token of this project has this id.");
  store::EventRecord event = auth::NewEvent(caller, auth::kJoinTokenDelete, now_());
  auth::AboutJoinToken(*it, &event);
  Status s = store_->DeleteJoinToken(project_id, id, event);
  if (s.code() == StatusCode::kNotFound) {
    return NotFound("No join token of this project has this id.");
  }
  return s;
}

}  // namespace keypaird::service
