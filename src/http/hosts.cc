// Hosts on the wire (openapi/keypaird.yaml, tag "Hosts"; docs/ssh-access.md "Hosts"): a
// project's join tokens (GET/POST /api/v1/projects/{project_id}/host_join_tokens, DELETE
// …/host_join_tokens/{token_id}) and hosts (GET …/hosts, DELETE …/hosts/{host_id}), for its
// administrators (service::Hosts decides); a server's enrolment (POST /api/v1/hosts/enroll,
// with a join token) and renewal (POST /api/v1/hosts/{host_id}/renew, with its host token).
// A join token's or host token's secret is in its 201 answer and nowhere else.
#include "service/hosts.h"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json_writer.h"
#include "common/rfc3339.h"
#include "http/api.h"
#include "http/api_internal.h"
#include "http/body.h"
#include "http/native_codec.h"
#include "sshkey/sshkey.h"

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

void RenderHost(JsonWriter& w, const store::HostRecord& h) {
  w.BeginObject();
  w.Key("id").String(h.id);
  w.Key("project_id").Int(h.project_id);
  w.Key("hostnames").BeginArray();
  for (const std::string& name : h.hostnames) w.String(name);
  w.EndArray();
  w.Key("key_fingerprints").BeginArray();
  for (const std::string& key : h.public_keys) {
    StatusOr<sshkey::PublicKey> parsed = sshkey::ParsePublicKey(key);
    w.String(parsed.ok() ? parsed->fingerprint_sha256 : "");
  }
  w.EndArray();
  w.Key("valid_before").String(FormatRfc3339(h.valid_before_s * 1000000));
  w.Key("enrolled_at").String(FormatRfc3339(h.enrolled_at_us));
  w.Key("renewed_at").String(FormatRfc3339(h.renewed_at_us));
  w.Key("join_token_id").String(h.join_token_id);
  w.EndObject();
}

// The 201 of an enrolment (with its host token) or of a renewal (without).
HttpResponse HostAnswerResponse(service::HostAnswer& answer, const std::string& request_id) {
  const bool enrolled = !answer.host_token.empty();
  size_t size = 4096;
  for (const service::SignedHostCertificate& c : answer.certificates) {
    size += c.certificate.size() + 128;
  }
  for (const std::string& h : answer.host.hostnames) size += 2 * h.size() + 8;
  std::string body;
  body.reserve(size);  // no reallocation leaves an unwiped copy of the host token behind
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("host_id").String(answer.host.id);
  if (enrolled) w.Key("host_token").String(answer.host_token.view());
  w.Key("project_id").Int(answer.host.project_id);
  w.Key("hostnames").BeginArray();
  for (const std::string& h : answer.host.hostnames) w.String(h);
  w.EndArray();
  w.Key("certificates").BeginArray();
  for (const service::SignedHostCertificate& c : answer.certificates) {
    w.BeginObject();
    w.Key("certificate").String(c.certificate);
    w.Key("serial").String(std::to_string(c.record.serial));
    w.Key("valid_after").String(FormatRfc3339(c.record.valid_after_s * 1000000));
    w.Key("valid_before").String(FormatRfc3339(c.record.valid_before_s * 1000000));
    w.EndObject();
  }
  w.EndArray();
  w.Key("user_ca_public_keys").BeginArray();
  for (const std::string& k : answer.user_ca_public_keys) w.String(k);
  w.EndArray();
  std::string patterns;
  for (const std::string& h : answer.host.hostnames) patterns += (patterns.empty() ? "" : ",") + h;
  w.Key("known_hosts").String(KnownHostsText(patterns, answer.host_ca_public_keys));
  w.EndObject();
  answer.host_token.Wipe();
  return MakeResponse(201, std::move(body), request_id, /*secret=*/enrolled);
}

StatusOr<std::vector<std::string>> PublicKeysOf(const nlohmann::json& body) {
  if (!body.contains("public_keys")) return std::vector<std::string>{};
  const nlohmann::json& keys = body["public_keys"];
  if (keys.size() > service::kMaxHostKeys) {
    return FieldError("public_keys", "Must hold 1 to 16 public host keys.");
  }
  return keys.get<std::vector<std::string>>();
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
  request.uses = IntOr(call.body, "uses", 1);
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

Api::Reply Api::HostEnroll(Call& call) const {
  if (Status s = CheckBody(call.body, {{"project_id", FieldType::kProjectId, true},
                                       {"hostnames", FieldType::kStringArray, true},
                                       {"public_keys", FieldType::kStringArray, true}});
      !s.ok()) {
    return ErrorResponse(s, call.request_id);
  }
  if (extras_.hosts == nullptr) return ErrorResponse(HostsOff(), call.request_id);
  const std::string authorization = call.request.authorization.value_or("");
  const std::optional<std::string_view> token = auth::TokenOfHeader(authorization);
  if (!token.has_value()) {
    return ErrorResponse(
        Unauthenticated("Enrolment needs a join token: 'Authorization: Bearer kpj_…'."),
        call.request_id);
  }
  service::EnrollRequest request;
  request.project_id = call.body["project_id"].get<int64_t>();
  request.hostnames = call.body["hostnames"].get<std::vector<std::string>>();
  if (request.hostnames.size() > 64) {
    return ErrorResponse(FieldError("hostnames", "Must name 1 to 64 host names."),
                         call.request_id);
  }
  StatusOr<std::vector<std::string>> keys = PublicKeysOf(call.body);
  if (!keys.ok()) return ErrorResponse(keys.status(), call.request_id);
  request.public_keys = std::move(*keys);
  StatusOr<service::HostAnswer> answer = extras_.hosts->Enroll(*token, request, call.caller);
  if (!answer.ok()) return ErrorResponse(answer.status(), call.request_id);
  return HostAnswerResponse(*answer, call.request_id);
}

Api::Reply Api::HostRenew(Call& call) const {
  if (!call.body.is_null()) {  // no body, an empty object, or the host's keys now
    if (Status s = CheckBody(call.body, {{"public_keys", FieldType::kStringArray, false}});
        !s.ok()) {
      return ErrorResponse(s, call.request_id);
    }
  }
  if (extras_.hosts == nullptr) return ErrorResponse(HostsOff(), call.request_id);
  StatusOr<std::vector<std::string>> keys =
      call.body.is_null() ? std::vector<std::string>{} : PublicKeysOf(call.body);
  if (!keys.ok()) return ErrorResponse(keys.status(), call.request_id);
  if (call.body.is_object() && call.body.contains("public_keys") && keys->empty()) {
    return ErrorResponse(FieldError("public_keys", "Must hold 1 to 16 public host keys."),
                         call.request_id);
  }
  StatusOr<service::HostAnswer> answer =
      extras_.hosts->Renew(call.caller, call.params[0], *keys);
  if (!answer.ok()) return ErrorResponse(answer.status(), call.request_id);
  return HostAnswerResponse(*answer, call.request_id);
}

Api::Reply Api::HostList(Call& call) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  if (extras_.hosts == nullptr) return ErrorResponse(HostsOff(), call.request_id);
  auto hosts = extras_.hosts->ListHosts(call.caller, *project);
  if (!hosts.ok()) return ErrorResponse(hosts.status(), call.request_id);
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("results").BeginArray();
  for (const store::HostRecord& h : *hosts) RenderHost(w, h);
  w.EndArray().EndObject();
  return MakeResponse(200, std::move(body), call.request_id);
}

Api::Reply Api::HostDelete(Call& call) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  if (extras_.hosts == nullptr) return ErrorResponse(HostsOff(), call.request_id);
  if (Status s = extras_.hosts->DeleteHost(call.caller, *project, call.params[1]); !s.ok()) {
    return ErrorResponse(s, call.request_id);
  }
  return NoContent(call.request_id);
}

}  // namespace keypaird::http
