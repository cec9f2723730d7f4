// The audit trail in Gcore's shape: GET /cloud/v1/user_actions, what Gcore's SDK reads as
// client.cloud.audit_logs.list (docs/audit.md). The same events as GET /api/v1/events, the
// SSH keys' only (api_group "ssh_key"), in offset pages {"count", "results"}.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json_writer.h"
#include "common/rfc3339.h"
#include "common/strings.h"
#include "http/api.h"
#include "http/api_internal.h"
#include "http/decoding.h"

namespace keypaird::http {
namespace {

// The key actions and their Gcore action_type.
constexpr std::pair<std::string_view, std::string_view> kActionTypes[] = {
    {"key.create", "create"}, {"key.update", "update"}, {"key.delete", "delete"}};

std::string_view ActionTypeOf(std::string_view action) {
  for (const auto& [ours, theirs] : kActionTypes) {
    if (ours == action) return theirs;
  }
  return "";
}

void RenderUserAction(JsonWriter& w, const store::EventRecord& e) {
  w.BeginObject();
  w.Key("id").String(e.id);
  w.Key("acknowledged").Bool(false);
  w.Key("action_data").Raw(e.details.empty() ? "{}" : e.details);
  w.Key("action_type").String(ActionTypeOf(e.action));
  w.Key("api_group").String("ssh_key");
  w.Key("client_id").Null();
  w.Key("email").Null();
  w.Key("is_complete").Bool(true);
  w.Key("issued_by_user_id").Null();
  IntOrNull(w, "project_id", e.project_id);
  w.Key("region_id").Null();  // keys are the same in every region
  w.Key("resources").BeginArray().BeginObject();
  w.Key("resource_id").String(e.resource_id);
  w.Key("resource_type").String("ssh_key");
  w.Key("resource_body").Null();
  w.Key("search_field").String(e.resource_name);
  w.EndObject().EndArray();
  StringOrNull(w, "source_user_ip", e.source_ip);
  w.Key("task_id").Null();
  w.Key("timestamp").String(FormatRfc3339(e.time_us));
  w.Key("token_id").Null();  // Gcore's are integers; keypaird's (hex) are in /api/v1/events
  w.Key("total_price").Null();
  StringOrNull(w, "user_agent", e.user_agent);
  w.Key("user_id").Int(e.actor_user_id);
  w.EndObject();
}

Status IdsParam(const Query& q, const char* name, std::vector<int64_t>* out) {
  for (const std::string& v : QueryValues(q, name)) {
    int64_t id = 0;
    if (Status s = PathInt(v, name, &id); !s.ok()) return s;
    out->push_back(id);
  }
  return Status::Ok();
}

// The query as the store reads it; `*none` when it can match no key event (another
// api_group, an action_type keys do not have, a region that does not exist).
StatusOr<store::EventQuery> UserActionQueryOf(const std::string& raw_query,
                                              const std::vector<int64_t>& regions, bool* none) {
  Query q;
  if (Status s = ParseQuery(raw_query, &q,
                            {"action_type", "api_group", "project_id", "region_id",
                             "resource_id", "source_user_ips", "user_agents"});
      !s.ok()) {
    return s;
  }
  store::EventQuery query;
  query.limit = 100;
  query.with_total = true;
  query.resource_types = {"ssh_key"};
  if (const std::string* v = QueryValue(q, "limit");
      v != nullptr && !ParseInt(*v, 1, 1000, &query.limit)) {
    return FieldError("limit", "Must be an integer between 1 and 1000.");
  }
  if (const std::string* v = QueryValue(q, "offset");
      v != nullptr && !ParseInt(*v, 0, 1000000000, &query.offset)) {
    return FieldError("offset", "Must be an integer >= 0.");
  }
  if (const std::string* v = QueryValue(q, "order_by"); v != nullptr) {
    if (*v != "asc" && *v != "desc") return FieldError("order_by", "Must be asc or desc.");
    query.ascending = *v == "asc";
  }
  // Action types keys do not have (Gcore has many: power_on, ...) match nothing.
  const std::vector<std::string> action_types = QueryValues(q, "action_type");
  for (const std::string& v : action_types) {
    for (const auto& [ours, theirs] : kActionTypes) {
      if (theirs == v) query.actions.emplace_back(ours);
    }
  }
  if (!action_types.empty() && query.actions.empty()) *none = true;
  const std::vector<std::string> groups = QueryValues(q, "api_group");
  if (!groups.empty() && std::find(groups.begin(), groups.end(), "ssh_key") == groups.end()) {
    *none = true;
  }
  std::vector<int64_t> projects;
  if (Status s = IdsParam(q, "project_id", &projects); !s.ok()) return s;
  if (!projects.empty()) query.project_ids = std::move(projects);
  std::vector<int64_t> region_ids;
  if (Status s = IdsParam(q, "region_id", &region_ids); !s.ok()) return s;
  // Keys are in every region that exists: a region filter only rules out unknown ones.
  if (!region_ids.empty() && !regions.empty() &&
      std::none_of(region_ids.begin(), region_ids.end(), [&](int64_t r) {
        return std::find(regions.begin(), regions.end(), r) != regions.end();
      })) {
    *none = true;
  }
  for (const std::string& v : QueryValues(q, "resource_id")) {
    if (v.empty() || v.size() > 255) return FieldError("resource_id", "Must be 1 to 255 characters.");
    query.resource_ids.push_back(v);
  }
  for (const std::string& v : QueryValues(q, "source_user_ips")) {
    std::string ip = CanonicalIp(v);
    if (ip.empty()) return FieldError("source_user_ips", "Must be IP addresses.");
    query.source_ips.push_back(std::move(ip));
  }
  query.user_agents = QueryValues(q, "user_agents");
  if (const std::string* v = QueryValue(q, "search_field"); v != nullptr) {
    if (v->empty() || v->size() > 255) {
      return FieldError("search_field", "Must be 1 to 255 characters.");
    }
    query.resource_name = *v;
  }
  if (Status s = QueryTime(q, "from_timestamp", &query.since_us); !s.ok()) return s;
  std::optional<int64_t> to;
  if (Status s = QueryTime(q, "to_timestamp", &to); !s.ok()) return s;
  if (to) query.until_us = *to + 1;  // Gcore's to_timestamp includes that instant
  return query;
}

}  // namespace

Api::Reply Api::UserActions(Call& call) const {
  bool none = false;
  StatusOr<store::EventQuery> query =
      UserActionQueryOf(call.request.query, extras_.regions, &none);
  if (!query.ok()) return ErrorResponse(query.status(), call.request_id);
  store::EventPage page;
  if (none) {  // the caller's right to read is still checked; nothing is read
    query->limit = 0;
    query->with_total = false;
  }
  StatusOr<store::EventPage> got = ReadEvents(call, *query);
  if (!got.ok()) return ErrorResponse(got.status(), call.request_id);
  if (!none) page = std::move(*got);
  std::string body;
  body.reserve(64 + page.events.size() * 640);
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("count").Int(page.total);
  w.Key("results").BeginArray();
  for (const store::EventRecord& e : page.events) RenderUserAction(w, e);
  w.EndArray();
  w.EndObject();
  return MakeResponse(200, std::move(body), call.request_id);
}

}  // namespace keypaird::http
