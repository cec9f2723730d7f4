// Users and grants on the wire (openapi/keypaird.yaml, tag "People"; docs/people.md):
// GET/POST /api/v1/grants, DELETE /api/v1/grants/{grant_id}, GET /api/v1/users and
// PATCH /api/v1/users/{user_id}. Administrators only (service::People decides).
#include "service/people.h"

#include <string>
#include <utility>
#include <vector>

#include "common/json_writer.h"
#include "common/rfc3339.h"
#include "http/api.h"
#include "http/api_internal.h"
#include "http/body.h"
#include "http/decoding.h"

namespace keypaird::http {
namespace {

void RenderGrant(JsonWriter& w, const store::GrantRecord& g) {
  w.BeginObject();
  w.Key("id").String(g.id);
  StringOrNull(w, "group", g.group);
  IntOrNull(w, "user_id", g.user_id);
  StringOrNull(w, "user_email", g.user_email);
  w.Key("projects").BeginArray();
  for (int64_t p : g.projects) w.Int(p);
  w.EndArray();
  w.Key("role").String(g.role);
  w.Key("principals").BeginArray();
  for (const std::string& p : g.principals) w.String(p);
  w.EndArray();
  w.Key("created_at").String(FormatRfc3339(g.created_at_us));
  w.EndObject();
}

void RenderUser(JsonWriter& w, const store::UserRecord& u) {
  w.BeginObject();
  w.Key("id").Int(u.id);
  StringOrNull(w, "issuer", u.issuer);
  StringOrNull(w, "subject", u.subject);
  StringOrNull(w, "email", u.email);
  StringOrNull(w, "name", u.name);
  w.Key("groups").BeginArray();
  for (const std::string& g : u.groups) w.String(g);
  w.EndArray();
  w.Key("disabled").Bool(u.disabled);
  w.Key("created_at").String(FormatRfc3339(u.created_at_us));
  w.Key("last_sign_in_at");
  if (u.last_sign_in_at_us) {
    w.String(FormatRfc3339(*u.last_sign_in_at_us));
  } else {
    w.Null();
  }
  w.EndObject();
}

template <typename T, typename Render>
HttpResponse ListResponse(const std::vector<T>& items, Render render,
                          const std::string& request_id) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("results").BeginArray();
  for (const T& item : items) render(w, item);
  w.EndArray();
  w.EndObject();
  return MakeResponse(200, std::move(body), request_id);
}

template <typename T, typename Render>
HttpResponse OneResponse(int status, const T& item, Render render, const std::string& request_id) {
  std::string body;
  JsonWriter w(&body);
  render(w, item);
  return MakeResponse(status, std::move(body), request_id);
}

StatusOr<service::GrantRequest> DecodeGrant(const nlohmann::json& body) {
  if (Status s = CheckBody(body, {{"group", FieldType::kStringOrNull, false},
                                  {"user_id", FieldType::kPositiveInt, false},
                                  {"user_email", FieldType::kStringOrNull, false},
                                  {"projects", FieldType::kProjectIdArray, true},
                                  {"role", FieldType::kString, true},
                                  {"principals", FieldType::kStringArray, false}});
      !s.ok()) {
    return s;
  }
  service::GrantRequest request;
  request.group = OptionalString(body, "group").value_or("");
  if (auto it = body.find("user_id"); it != body.end()) {
    request.user_id = it->get<int64_t>();  // checked: 1 .. INT64_MAX
    if (request.user_id > kMaxId) {
      return FieldError("user_id", "Must be an integer between 1 and 2147483647.");
    }
  }
  request.user_email = OptionalString(body, "user_email").value_or("");
  request.projects = body["projects"].get<std::vector<int64_t>>();
  request.role = body["role"].get<std::string>();
  if (auto it = body.find("principals"); it != body.end()) {
    request.principals = it->get<std::vector<std::string>>();
  }
  return request;
}

}  // namespace

Status Api::PeopleOff() { return NotFound("Users and grants are not enabled on this server."); }

Api::Reply Api::GrantList(Call& call) const {
  if (extras_.people == nullptr) return ErrorResponse(PeopleOff(), call.request_id);
  auto grants = extras_.people->ListGrants(&call.caller);
  if (!grants.ok()) return ErrorResponse(grants.status(), call.request_id);
  return ListResponse(*grants, RenderGrant, call.request_id);
}

Api::Reply Api::GrantCreate(Call& call) const {
  StatusOr<service::GrantRequest> request = DecodeGrant(call.body);
  if (!request.ok()) return ErrorResponse(request.status(), call.request_id);
  if (extras_.people == nullptr) return ErrorResponse(PeopleOff(), call.request_id);
  StatusOr<store::GrantRecord> grant = extras_.people->CreateGrant(&call.caller, *request);
  if (!grant.ok()) return ErrorResponse(grant.status(), call.request_id);
  return OneResponse(201, *grant, RenderGrant, call.request_id);
}

Api::Reply Api::GrantDelete(Call& call) const {
  if (extras_.people == nullptr) return ErrorResponse(PeopleOff(), call.request_id);
  if (Status s = extras_.people->DeleteGrant(&call.caller, call.params[0]); !s.ok()) {
    return ErrorResponse(s, call.request_id);
  }
  return NoContent(call.request_id);
}

Api::Reply Api::UserList(Call& call) const {
  if (extras_.people == nullptr) return ErrorResponse(PeopleOff(), call.request_id);
  auto users = extras_.people->ListUsers(&call.caller);
  if (!users.ok()) return ErrorResponse(users.status(), call.request_id);
  return ListResponse(*users, RenderUser, call.request_id);
}

Api::Reply Api::UserUpdate(Call& call) const {
  int64_t id = 0;
  if (!ParseInt(call.params[0], 1, kMaxId, &id)) {
    return ErrorResponse(FieldError("user_id", "Must be a user id: an integer >= 1."),
                         call.request_id);
  }
  if (Status s = CheckBody(call.body, {{"disabled", FieldType::kBool, true}}); !s.ok()) {
    return ErrorResponse(s, call.request_id);
  }
  if (extras_.people == nullptr) return ErrorResponse(PeopleOff(), call.request_id);
  StatusOr<store::UserRecord> user =
      extras_.people->SetDisabled(&call.caller, id, call.body["disabled"].get<bool>());
  if (!user.ok()) return ErrorResponse(user.status(), call.request_id);
  return OneResponse(200, *user, RenderUser, call.request_id);
}

}  // namespace keypaird::http
