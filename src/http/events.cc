// The audit trail on the wire: GET /api/v1/events (openapi/keypaird.yaml; docs/audit.md),
// newest first, keyset pages as the key lists'.
#include <string>
#include <utility>

#include "common/json_writer.h"
#include "common/rfc3339.h"
#include "http/api.h"
#include "http/api_internal.h"
#include "http/decoding.h"
#include "http/native_codec.h"

namespace keypaird::http {
namespace {

void RenderEvent(JsonWriter& w, const store::EventRecord& e) {
  w.BeginObject();
  w.Key("id").String(e.id);
  w.Key("time").String(FormatRfc3339(e.time_us));
  w.Key("action").String(e.action);
  IntOrNull(w, "project_id", e.project_id);
  w.Key("actor").BeginObject();
  IntOrNull(w, "user_id", e.actor_user_id);
  w.Key("email").Null();  // people (OIDC sign-in) are not here yet
  StringOrNull(w, "token_id", e.actor_token_id);
  w.Key("via").String(e.via);
  w.EndObject();
  StringOrNull(w, "source_ip", e.source_ip);
  StringOrNull(w, "user_agent", e.user_agent);
  w.Key("resource").BeginObject();
  w.Key("type").String(e.resource_type);
  w.Key("id").String(e.resource_id);
  StringOrNull(w, "name", e.resource_name);
  w.EndObject();
  w.Key("details").Raw(e.details.empty() ? "{}" : e.details);
  w.EndObject();
}

Status TextParam(const Query& q, const char* name, std::vector<std::string>* out) {
  const std::string* v = QueryValue(q, name);
  if (v == nullptr) return Status::Ok();
  if (v->empty() || v->size() > 255) return FieldError(name, "Must be 1 to 255 characters.");
  out->push_back(*v);
  return Status::Ok();
}

StatusOr<store::EventQuery> EventQueryOf(const std::string& raw_query) {
  Query q;
  if (Status s = ParseQuery(raw_query, &q); !s.ok()) return s;
  store::EventQuery query;
  query.limit = 100;
  if (const std::string* v = QueryValue(q, "limit");
      v != nullptr && !ParseInt(*v, 1, 1000, &query.limit)) {
    return FieldError("limit", "Must be an integer between 1 and 1000.");
  }
  if (const std::string* v = QueryValue(q, "cursor"); v != nullptr) {
    StatusOr<store::EventCursor> cursor = DecodeEventCursor(*v);
    if (!cursor.ok()) return cursor.status();
    query.after = std::move(*cursor);
  }
  if (const std::string* v = QueryValue(q, "project_id"); v != nullptr) {
    int64_t project = 0;
    if (Status s = PathInt(*v, "project_id", &project); !s.ok()) return s;
    query.project_ids = std::vector<int64_t>{project};
  }
  if (const std::string* v = QueryValue(q, "actor"); v != nullptr) {
    int64_t user = 0;
    if (Status s = PathInt(*v, "actor", &user); !s.ok()) return s;
    query.actor_user_id = user;
  }
  if (Status s = TextParam(q, "action", &query.actions); !s.ok()) return s;
  if (Status s = TextParam(q, "resource_id", &query.resource_ids); !s.ok()) return s;
  if (Status s = QueryTime(q, "since", &query.since_us); !s.ok()) return s;
  if (Status s = QueryTime(q, "until", &query.until_us); !s.ok()) return s;
  return query;
}

}  // namespace

StatusOr<store::EventPage> Api::ReadEvents(const Call& call, const store::EventQuery& query) const {
  if (extras_.audit == nullptr) return NotFound("The audit trail is not enabled on this server.");
  return extras_.audit->List(call.caller, query);
}

Api::Reply Api::Events(Call& call) const {
  StatusOr<store::EventQuery> query = EventQueryOf(call.request.query);
  if (!query.ok()) return ErrorResponse(query.status(), call.request_id);
  const auto limit = static_cast<size_t>(query->limit);
  query->limit += 1;  // one more: is there a next page?
  StatusOr<store::EventPage> page = ReadEvents(call, *query);
  if (!page.ok()) return ErrorResponse(page.status(), call.request_id);
  std::string body;
  body.reserve(64 + page->events.size() * 512);
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("results").BeginArray();
  const size_t shown = std::min(limit, page->events.size());
  for (size_t i = 0; i < shown; ++i) RenderEvent(w, page->events[i]);
  w.EndArray();
  if (page->events.size() > limit && shown > 0) {
    w.Key("next_cursor").String(EncodeEventCursor(page->events[shown - 1]));
  } else {
    w.Key("next_cursor").Null();
  }
  w.EndObject();
  return MakeResponse(200, std::move(body), call.request_id);
}

}  // namespace keypaird::http
