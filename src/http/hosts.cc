// Hosts on the wire (openapi/keypaird.yaml, tag "Hosts"; docs/ssh-access.md "Hosts"): a
// project's join tokens, GET/POST /api/v1/projects/{project_id}/host_join_tokens and
// DELETE …/host_join_tokens/{token_id}. A project's administrators only (service::Hosts
// decides); the token's secret is in the 201 answer and nowhere else.
#include "service/hosts.h"

#include <string>
#include <utility>

#include "common/json_writer.h"
#include "common/rfc3339.h"
#include "http/api.h"
#include "http/api_internal.h"
#include "http/body.h"
#include "http/native_codec.h"

namespace keypaird::http {
namespace {

// A join token as listed; with `secret`, also the token itself (its 201 answer only).
void RenderJoinToken(JsonWriter& w, const store::JoinTokenRecord& t,
                     const SecretString* secret = nullptr) {
  w.BeginObject();
  w.Key("id").String(t.id);
  if (secret != nullptr) w.Key("token").String(secret->view());
  w.Key("project_id").Int(t.project_id);
  w.Key("hostnames").BeginArray();
  for (const std::string& h : t.hostnames) w.String(h);
  w.EndArray();
  w.Key("uses").Int(t.uses);
  w.Key("uses_left").Int(t.uses_left);
  w.Key("expires_at").String(FormatRfc3339(t.expires_at_us));
  w.Key("created_at").String(FormatRfc3339(t.created_at_us));
  w.EndObject();
}

}  // namespace

Status Api::HostsOff() { return NotFound("Hosts are not enabled on this server."); }

Api::Reply Api::JoinTokenList(Call& call) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  if (extras_.hosts == nullptr) return ErrorResponse(HostsOff(), call.request_id);
  auto tokens = extras_.hosts->ListJoinTokens(call.caller, *project);
  if (!tokens.ok()) return ErrorResponse(tokens.status(), call.request_id);
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("results").BeginArray();
  for (const store::JoinTokenRecord& t : *tokens) RenderJoinToken(w, t);
  w.EndArray().EndObject();
  return MakeResponse(200, std::move(body), call.request_id);
}

Api::Reply Api::JoinTokenCreate(Call& call) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  if (Status s = CheckBody(call.body, {{"hostnames", FieldType::kStringArray, true},
                                       {"uses", FieldType::kPositiveInt, false},
                                       {"expires_in", FieldType::kSecondsOrDuration, false}});
      !s.ok()) {
    return ErrorResponse(s, call.request_id);
  }
  if (extras_.hosts == nullptr) return ErrorResponse(HostsOff(), call.request_id);
  service::JoinTokenRequest request;
  request.hostnames = call.body["hostnames"].get<std::vector<std::string>>();
  request.uses = SecondsOr(call.body, "uses", 1);  // a checked positive integer
  request.expires_in_s = SecondsOr(call.body, "expires_in", 3600);
  StatusOr<service::MadeJoinToken> made =
      extras_.hosts->CreateJoinToken(call.caller, *project, request);
  if (!made.ok()) return ErrorResponse(made.status(), call.request_id);
  // The only answer that carries the token: a secret body, wiped once sent, never cached.
  // Reserved up front so that no reallocation leaves an unwiped copy of the token behind.
  size_t size = 1024;
  for (const std::string& h : made->record.hostnames) size += 2 * h.size() + 8;
  std::string body;
  body.reserve(size);
  JsonWriter w(&body);
  RenderJoinToken(w, made->record, &made->token);
  made->token.Wipe();
  return MakeResponse(201, std::move(body), call.request_id, /*secret=*/true);
}

Api::Reply Api::JoinTokenDelete(Call& call) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  if (extras_.hosts == nullptr) return ErrorResponse(HostsOff(), call.request_id);
  if (Status s = extras_.hosts->DeleteJoinToken(call.caller, *project, call.params[1]); !s.ok()) {
    return ErrorResponse(s, call.request_id);
  }
  return NoContent(call.request_id);
}

}  // namespace keypaird::http
