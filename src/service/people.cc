#include "service/people.h"

#include <algorithm>
#include <string>
#include <utility>

#include "auth/audit.h"
#include "common/strings.h"
#include "common/uuid.h"

namespace keypaird::service {
namespace {

constexpr size_t kMaxGroupBytes = 255;
constexpr size_t kMaxEmailBytes = 254;  // RFC 5321's path limit, less the brackets
constexpr size_t kMaxProjects = 1000;
constexpr size_t kMaxPrincipals = 64;

Status Invalid(const char* field, const std::string& message) {
  return InvalidArgument(std::string("Invalid value for ") + field + ": " + message)
      .WithField(field, message);
}

// Printable UTF-8: no control characters (a group name ends up in logs and the console).
bool PrintableUtf8(std::string_view s) {
  return IsValidUtf8(s) && std::none_of(s.begin(), s.end(), [](char c) {
           const auto u = static_cast<unsigned char>(c);
           return u < 0x20 || u == 0x7f;
         });
}

// name@domain, one '@', no white space or control characters: what a provider's `email`
// claim holds. Not a full RFC 5322 parser: the address is compared, never mailed.
bool PlausibleEmail(std::string_view s) {
  const size_t at = s.find('@');
  return !s.empty() && s.size() <= kMaxEmailBytes && at != std::string_view::npos && at > 0 &&
         at + 1 < s.size() && s.find('@', at + 1) == std::string_view::npos && PrintableUtf8(s) &&
         s.find(' ') == std::string_view::npos;
}

Status AdminOnly(const auth::Principal* caller) {
  if (caller != nullptr && !caller->admin) {
    return PermissionDenied("Only an administrator's token may manage users.");
  }
  return Status::Ok();
}

// Whether the caller administers any of `projects` (the grant concerns them: they may see it).
bool AdministersAny(const auth::Principal& caller, const std::vector<int64_t>& projects) {
  return std::any_of(projects.begin(), projects.end(),
                     [&](int64_t p) { return caller.Administers(p); });
}

// A grant is made or deleted by an administrator's token, or by the administrator of every
// project it names: nobody gives or takes rights in a project they do not administer.
Status MayManageGrant(const auth::Principal* caller, const std::vector<int64_t>& projects) {
  if (caller == nullptr || caller->admin) return Status::Ok();
  for (int64_t p : projects) {
    if (!caller->Administers(p)) {
      return PermissionDenied("Only an administrator of project " + std::to_string(p) +
                              " may give or take rights in it.");
    }
  }
  return Status::Ok();
}

// Only administrators (of a project at least) may read or change grants.
Status AdministersSomething(const auth::Principal* caller) {
  if (caller != nullptr && !caller->AdministersAnyProject()) {
    return PermissionDenied(
        "Only an administrator's token or the administrator of a project may manage grants.");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<store::GrantRecord> NewGrant(const GrantRequest& request, int64_t now_us) {
  const int subjects = static_cast<int>(!request.group.empty()) +
                       static_cast<int>(request.user_id != 0) +
                       static_cast<int>(!request.user_email.empty());
  if (subjects != 1) {
    return InvalidArgument("A grant is for exactly one of a group, a user or an e-mail address.");
  }
  if (!request.group.empty() &&
      (request.group.size() > kMaxGroupBytes || !PrintableUtf8(request.group))) {
    return Invalid("group", "Must be 1 to 255 bytes of printable UTF-8.");
  }
  if (request.user_id < 0) return Invalid("user_id", "Must be a user id (>= 1).");
  if (!request.user_email.empty() && !PlausibleEmail(request.user_email)) {
    return Invalid("user_email", "Must be an e-mail address.");
  }
  store::GrantRecord grant;
  grant.group = request.group;
  grant.user_id = request.user_id;
  grant.user_email = request.user_email;
  grant.projects = request.projects;
  std::sort(grant.projects.begin(), grant.projects.end());
  grant.projects.erase(std::unique(grant.projects.begin(), grant.projects.end()),
                       grant.projects.end());
  if (grant.projects.empty() || grant.projects.size() > kMaxProjects ||
      grant.projects.front() < 1) {
    return Invalid("projects", "Must be 1 to 1000 project ids (>= 1).");
  }
  if (std::find(std::begin(kRoles), std::end(kRoles), request.role) == std::end(kRoles)) {
    return Invalid("role", "Must be viewer, editor or admin.");
  }
  grant.role = request.role;
  if (request.principals.size() > kMaxPrincipals) {
    return Invalid("principals", "At most 64 principals.");
  }
  for (const std::string& p : request.principals) {
    if (Status s = auth::ValidatePrincipal(p); !s.ok()) return Invalid("principals", s.message());
  }
  grant.principals = request.principals;
  grant.id = NewUuid7(now_us / 1000);
  grant.created_at_us = now_us;
  return grant;
}

store::EventRecord People::NewEvent(const auth::Principal* caller, std::string_view action) const {
  return caller != nullptr ? auth::NewEvent(*caller, action, now_())
                           : auth::NewCliEvent(action, now_());
}

StatusOr<store::GrantRecord> People::CreateGrant(const auth::Principal* caller,
                                                 const GrantRequest& request) const {
  if (Status s = AdministersSomething(caller); !s.ok()) return s;
  StatusOr<store::GrantRecord> grant = NewGrant(request, now_());
  if (!grant.ok()) return grant.status();
  if (Status s = MayManageGrant(caller, grant->projects); !s.ok()) return s;
  store::EventRecord event = NewEvent(caller, auth::kGrantCreate);
  auth::AboutGrant(*grant, &event);
  if (Status s = store_->InsertGrant(*grant, event); !s.ok()) {
    if (s.code() == StatusCode::kNotFound) return Invalid("user_id", "No user has this id.");
    return s;
  }
  return grant;
}

StatusOr<std::vector<store::GrantRecord>> People::ListGrants(const auth::Principal* caller) const {
  if (Status s = AdministersSomething(caller); !s.ok()) return s;
  StatusOr<std::vector<store::GrantRecord>> grants = store_->ListGrants();
  if (!grants.ok() || caller == nullptr || caller->admin) return grants;
  std::erase_if(*grants, [&](const store::GrantRecord& g) {
    return !AdministersAny(*caller, g.projects);
  });
  return grants;
}

Status People::DeleteGrant(const auth::Principal* caller, std::string_view id) const {
  if (Status s = AdministersSomething(caller); !s.ok()) return s;
  // Grants are never changed, only made and deleted: what is read here is what is deleted
  // (and what its event says was taken).
  StatusOr<std::vector<store::GrantRecord>> grants = store_->ListGrants();
  if (!grants.ok()) return grants.status();
  auto it = std::find_if(grants->begin(), grants->end(),
                         [&](const store::GrantRecord& g) { return g.id == id; });
  // A grant of other projects only is not the caller's to know of.
  if (it == grants->end() ||
      (caller != nullptr && !caller->admin && !AdministersAny(*caller, it->projects))) {
    return NotFound("No grant has this id.");
  }
  if (Status s = MayManageGrant(caller, it->projects); !s.ok()) return s;
  store::EventRecord event = NewEvent(caller, auth::kGrantDelete);
  auth::AboutGrant(*it, &event);
  Status s = store_->DeleteGrant(id, event);
  if (s.code() == StatusCode::kNotFound) return NotFound("No grant has this id.");
  return s;
}

StatusOr<std::vector<store::UserRecord>> People::ListUsers(const auth::Principal* caller) const {
  if (Status s = AdminOnly(caller); !s.ok()) return s;
  return store_->ListUsers();
}

StatusOr<store::UserRecord> People::SetDisabled(const auth::Principal* caller, int64_t id,
                                                bool disabled) const {
  if (Status s = AdminOnly(caller); !s.ok()) return s;
  store::EventRecord event = NewEvent(caller, disabled ? auth::kUserDisable : auth::kUserEnable);
  auth::AboutUser(id, &event);
  if (Status s = store_->SetUserDisabled(id, disabled, now_(), event); !s.ok()) {
    if (s.code() == StatusCode::kNotFound) return NotFound("No user has this id.");
    return s;
  }
  return store_->GetUser(id);
}

}  // namespace keypaird::service
