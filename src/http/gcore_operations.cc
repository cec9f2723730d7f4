// The operations behind the Gcore routes, shared by the three families (v1 keypairs, v2
// keypairs, v1 ssh_keys): each family decodes its own paths and bodies and hands over.
#include <utility>

#include "http/api.h"
#include "http/api_internal.h"
#include "http/body.h"
#include "http/render.h"

namespace keypaird::http {

Api::Reply Api::CreateKey(Call& call, const CreateShape& shape,
                          StatusOr<int64_t> path_project) const {
  Status s = path_project.status();
  if (s.ok()) {
    s = shape.project_in_body
            ? CheckBody(call.body, {{shape.name_field, FieldType::kString, true},
                                    {"project_id", FieldType::kProjectId, true},
                                    {"public_key", FieldType::kStringOrNull, false},
                                    {"shared_in_project", FieldType::kBoolOrNull, false}})
            : CheckBody(call.body, {{shape.name_field, FieldType::kString, true},
                                    {"public_key", FieldType::kStringOrNull, false},
                                    {"shared_in_project", FieldType::kBoolOrNull, false}});
  }
  if (!s.ok()) return ErrorResponse(s, call.request_id, shape.family);
  service::CreateKeyRequest req;
  req.project_id =
      shape.project_in_body ? call.body["project_id"].get<int64_t>() : path_project.value();
  req.name = call.body[shape.name_field].get<std::string>();
  req.public_key = OptionalString(call.body, "public_key");
  req.shared_in_project = BoolOr(call.body, "shared_in_project", true);
  // Answered when the key is stored: on SQLite by the writer, right after its commit.
  keys_->CreateAsync(call.caller, std::move(req),
                     [respond = std::move(call.respond), family = shape.family,
                      status = shape.success_status,
                      request_id = call.request_id](StatusOr<service::CreatedKey> created) {
                       if (!created.ok()) {
                         return respond(ErrorResponse(created.status(), request_id, family));
                       }
                       respond(CreatedResponse(status, created.value(), request_id));
                     });
  return Reply::Pending();
}

Api::Reply Api::ListKeys(Call& call, Family family,
                         const StatusOr<service::ListKeysRequest>& req) const {
  if (!req.ok()) return ErrorResponse(req.status(), call.request_id, family);
  std::optional<StatusOr<store::KeyPage>> page = ListPage(call, *req);
  if (!page.has_value()) return Reply::NotQuick();
  if (!page->ok()) return ErrorResponse(page->status(), call.request_id, family);
  return ListResponse(**page, family, call.request_id);
}

std::optional<StatusOr<store::KeyPage>> Api::ListPage(const Call& call,
                                                      service::ListKeysRequest req) const {
  if (call.quick_only) {
    if (!service::KeyService::IsShortPage(req)) return std::nullopt;
    req.work_budget = store::kShortPageWork;
  }
  StatusOr<store::KeyPage> page = keys_->List(call.caller, req, call.reads());
  if (call.quick_only && page.status().code() == StatusCode::kResourceExhausted) {
    return std::nullopt;
  }
  return page;
}

Api::Reply Api::GetKey(Call& call, Family family, const StatusOr<KeyTarget>& t) const {
  if (!t.ok()) return ErrorResponse(t.status(), call.request_id, family);
  StatusOr<store::KeyRecord> key = keys_->Get(call.caller, t->project_id, t->ref, call.reads());
  if (!key.ok()) return ErrorResponse(key.status(), call.request_id, family);
  return KeyResponse(200, *key, family, call.request_id);
}

Api::Reply Api::DeleteKey(Call& call, Family family, const StatusOr<KeyTarget>& t) const {
  Status s = t.status();
  if (s.ok()) s = keys_->Delete(call.caller, t->project_id, t->ref);
  if (!s.ok()) return ErrorResponse(s, call.request_id, family);
  return NoContent(call.request_id);
}

Api::Reply Api::ShareKey(Call& call, Family family, const StatusOr<KeyTarget>& t) const {
  Status s = t.status();
  if (s.ok()) s = CheckBody(call.body, {{"shared_in_project", FieldType::kBool, true}});
  if (!s.ok()) return ErrorResponse(s, call.request_id, family);
  StatusOr<store::KeyRecord> key = keys_->SetShared(call.caller, t->project_id, t->ref,
                                                    call.body["shared_in_project"].get<bool>());
  if (!key.ok()) return ErrorResponse(key.status(), call.request_id, family);
  return KeyResponse(200, *key, family, call.request_id);
}

}  // namespace keypaird::http
