// v1 ssh_keys (/cloud/v1/ssh_keys/{project_id}[/{ssh_key_id}]): paths, paging and
// ordering parameters.
#include <algorithm>
#include <iterator>
#include <string_view>
#include <utility>

#include "common/uuid.h"
#include "http/api.h"
#include "http/api_internal.h"
#include "http/decoding.h"

namespace keypaird::http {
namespace {

constexpr Api::CreateShape kSshCreate{Family::kSshKeys, "name", false, 201};

StatusOr<int64_t> SshProject(const std::vector<std::string>& params) {
  int64_t project_id = 0;
  if (Status s = PathInt(params[0], "project_id", &project_id); !s.ok()) return s;
  return project_id;
}

StatusOr<Api::KeyTarget> SshTarget(const std::vector<std::string>& params) {
  StatusOr<int64_t> project_id = SshProject(params);
  if (!project_id.ok()) return project_id.status();
  if (!IsUuid(params[1])) return FieldError("ssh_key_id", "Must be a UUID.");
  return Api::KeyTarget{*project_id, {params[1], /*allow_name=*/false}};
}

StatusOr<service::ListKeysRequest> SshListRequest(const std::vector<std::string>& params,
                                                  const std::string& query) {
  StatusOr<int64_t> project_id = SshProject(params);
  if (!project_id.ok()) return project_id.status();
  Query q;
  if (Status s = ParseQuery(query, &q); !s.ok()) return s;
  service::ListKeysRequest req;
  req.project_id = *project_id;
  req.limit = 10;
  req.offset = 0;
  req.order = store::OrderBy::kCreatedAtDesc;
  if (const std::string* v = QueryValue(q, "limit");
      v != nullptr && !ParseInt(*v, 1, 1000, &req.limit)) {
    return FieldError("limit", "Must be an integer between 1 and 1000.");
  }
  if (const std::string* v = QueryValue(q, "offset");
      v != nullptr && !ParseInt(*v, 0, INT64_MAX, &req.offset)) {
    return FieldError("offset", "Must be an integer >= 0.");
  }
  if (const std::string* v = QueryValue(q, "name"); v != nullptr) {
    if (v->size() > 255) return FieldError("name", "Must be at most 255 characters.");
    req.name_contains = *v;
  }
  if (const std::string* v = QueryValue(q, "order_by"); v != nullptr) {
    StatusOr<store::OrderBy> order = ParseOrderBy(*v);
    if (!order.ok()) return order.status();
    req.order = *order;
  }
  return req;
}

}  // namespace

Api::Reply Api::SshCreate(Call& call) const {
  return CreateKey(call, kSshCreate, SshProject(call.params));
}
Api::Reply Api::SshList(Call& call) const {
  return ListKeys(call, Family::kSshKeys, SshListRequest(call.params, call.request.query));
}
Api::Reply Api::SshGet(Call& call) const {
  return GetKey(call, Family::kSshKeys, SshTarget(call.params));
}
Api::Reply Api::SshShare(Call& call) const {
  return ShareKey(call, Family::kSshKeys, SshTarget(call.params));
}
Api::Reply Api::SshDelete(Call& call) const {
  return DeleteKey(call, Family::kSshKeys, SshTarget(call.params));
}

}  // namespace keypaird::http
