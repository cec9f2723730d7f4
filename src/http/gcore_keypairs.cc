// v1 keypairs (/cloud/v1/keypairs/{project_id}/{region_id}[/{keypair_id}[/share]]) and
// v2 keypairs (/cloud/v2/keypairs[/{keypair_id}]): their paths and queries.
#include <algorithm>
#include <string_view>

#include "http/api.h"
#include "http/api_internal.h"
#include "http/decoding.h"

namespace keypaird::http {
namespace {

constexpr Api::CreateShape kV1Create{Family::kKeypairs, "sshkey_name", false, 200};
constexpr Api::CreateShape kV2Create{Family::kKeypairs, "sshkey_name", true, 200};

StatusOr<service::ListKeysRequest> V1ListRequest(StatusOr<int64_t> project_id) {
  if (!project_id.ok()) return project_id.status();
  service::ListKeysRequest req;  // every visible key, oldest first
  req.project_id = *project_id;
  return req;
}

// A v2 key: by id in any project the caller may use, or by name within ?project_id= (or
// within the only project of a scoped token).
StatusOr<Api::KeyTarget> V2Target(const std::vector<std::string>& params,
                                  const std::string& query, const auth::Principal& caller) {
  Query q;
  if (Status s = ParseQuery(query, &q); !s.ok()) return s;
  Api::KeyTarget t{std::nullopt, {params[0], /*allow_name=*/true}};
  if (const std::string* v = QueryValue(q, "project_id"); v != nullptr) {
    int64_t p = 0;
    if (Status s = PathInt(*v, "project_id", &p); !s.ok()) return s;
    t.project_id = p;
  } else if (!caller.admin && caller.projects.size() == 1) {
    t.project_id = caller.projects.front();
  }
  return t;
}

StatusOr<service::ListKeysRequest> V2ListRequest(const std::string& query) {
  Query q;
  if (Status s = ParseQuery(query, &q); !s.ok()) return s;
  service::ListKeysRequest req;
  for (const char* field : {"project_id", "user_id"}) {
    if (const std::string* v = QueryValue(q, field); v != nullptr) {
      int64_t n = 0;
      if (Status s = PathInt(*v, field, &n); !s.ok()) return s;
      (std::string_view(field) == "project_id" ? req.project_id : req.owner_id) = n;
    }
  }
  return req;
}

}  // namespace

// Keys are not regional: every region of a project shows the same keys.
StatusOr<int64_t> Api::V1Project(const std::vector<std::string>& params) const {
  int64_t project_id = 0;
  int64_t region_id = 0;
  if (Status s = PathInt(params[0], "project_id", &project_id); !s.ok()) return s;
  if (Status s = PathInt(params[1], "region_id", &region_id); !s.ok()) return s;
  const std::vector<int64_t>& regions = extras_.regions;
  if (!regions.empty() && !std::binary_search(regions.begin(), regions.end(), region_id)) {
    return NotFound("The region " + std::to_string(region_id) + " does not exist");
  }
  return project_id;
}

StatusOr<Api::KeyTarget> Api::V1Target(const std::vector<std::string>& params) const {
  StatusOr<int64_t> project_id = V1Project(params);
  if (!project_id.ok()) return project_id.status();
  return KeyTarget{*project_id, {params[2], /*allow_name=*/true}};
}

Api::Reply Api::V1Create(Call& call) const {
  return CreateKey(call, kV1Create, V1Project(call.params));
}
Api::Reply Api::V1List(Call& call) const {
  return ListKeys(call, Family::kKeypairs, V1ListRequest(V1Project(call.params)));
}
Api::Reply Api::V1Get(Call& call) const {
  return GetKey(call, Family::kKeypairs, V1Target(call.params));
}
Api::Reply Api::V1Delete(Call& call) const {
  return DeleteKey(call, Family::kKeypairs, V1Target(call.params));
}
Api::Reply Api::V1Share(Call& call) const {
  return ShareKey(call, Family::kKeypairs, V1Target(call.params));
}

Api::Reply Api::V2Create(Call& call) const { return CreateKey(call, kV2Create, int64_t{0}); }
Api::Reply Api::V2List(Call& call) const {
  return ListKeys(call, Family::kKeypairs, V2ListRequest(call.request.query));
}
Api::Reply Api::V2Get(Call& call) const {
  return GetKey(call, Family::kKeypairs, V2Target(call.params, call.request.query, call.caller));
}
Api::Reply Api::V2Delete(Call& call) const {
  return DeleteKey(call, Family::kKeypairs,
                   V2Target(call.params, call.request.query, call.caller));
}

}  // namespace keypaird::http
