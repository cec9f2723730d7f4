// keypaird's own API (openapi/keypaird.yaml): /api/v1/projects/{project_id}/keys[/{key}],
// /api/v1/keys and /api/v1/me. The same KeyService as the Gcore families; its own
// decoding and rendering (the key object, pages with next_cursor, ETags).
#include <algorithm>
#include <iterator>
#include <string_view>
#include <utility>

#include "common/json_writer.h"
#include "common/rfc3339.h"
#include "common/secret.h"
#include "http/api.h"
#include "http/api_internal.h"
#include "http/body.h"
#include "http/decoding.h"
#include "http/native_codec.h"

namespace keypaird::http {
namespace {

using nlohmann::json;

// ---- rendering

void RenderNativeKey(JsonWriter& w, const store::KeyRecord& k,
                     const service::CreatedKey* created = nullptr) {
  w.BeginObject();
  w.Key("id").String(k.id);
  w.Key("name").String(k.name);
  w.Key("project_id").Int(k.project_id);
  w.Key("owner_id").Int(k.user_id);
  w.Key("shared_in_project").Bool(k.shared_in_project);
  w.Key("state").String("ACTIVE");
  w.Key("type").String(k.type);
  w.Key("bits").Int(k.bits);
  w.Key("comment").String(k.comment);
  w.Key("public_key").String(k.public_key);
  w.Key("fingerprint_md5").String(k.fingerprint);
  w.Key("fingerprint_sha256").String(k.fingerprint_sha256);
  w.Key("labels").BeginObject();
  for (const auto& [name, value] : k.labels) w.Key(name).String(value);
  w.EndObject();
  w.Key("disabled").Bool(k.disabled);
  if (k.expires_at_us) {
    w.Key("expires_at").String(FormatRfc3339(*k.expires_at_us));
  } else {
    w.Key("expires_at").Null();
  }
  w.Key("created_at").String(FormatRfc3339(k.created_at_us));
  w.Key("updated_at").String(FormatRfc3339(k.updated_at_us));
  if (created != nullptr && !created->private_key.empty()) {
    w.Key("private_key").String(created->private_key.view());
    w.Key("private_key_format").String(created->private_key_format);
  }
  w.EndObject();
}

HttpResponse NativeKeyResponse(int status, const store::KeyRecord& k,
                               const std::string& request_id) {
  std::string body;
  JsonWriter w(&body);
  RenderNativeKey(w, k);
  HttpResponse r = MakeResponse(status, std::move(body), request_id);
  r.headers.emplace_back("ETag", ETagOf(k));
  return r;
}

// The only answer that ever carries a private key: one buffer reserved up front, wiped
// once sent (as the Gcore create's).
HttpResponse NativeCreatedResponse(service::CreatedKey& created, const std::string& request_id) {
  std::string body;
  body.reserve(1024 + 2 * (created.key.public_key.size() + created.private_key.size()));
  JsonWriter w(&body);
  RenderNativeKey(w, created.key, &created);
  created.private_key.Wipe();
  HttpResponse r = MakeResponse(201, std::move(body), request_id, /*secret=*/true);
  r.headers.emplace_back("ETag", ETagOf(created.key));
  return r;
}

HttpResponse NativePageResponse(const store::KeyPage& page, size_t limit, store::OrderBy order,
                                const std::string& request_id) {
  std::string body;
  body.reserve(64 + page.keys.size() * 768);
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("results").BeginArray();
  const size_t shown = std::min(limit, page.keys.size());
  for (size_t i = 0; i < shown; ++i) RenderNativeKey(w, page.keys[i]);
  w.EndArray();
  // One key more than the page was asked for: there is a next page.
  if (page.keys.size() > limit && shown > 0) {
    w.Key("next_cursor").String(EncodeCursor(order, page.keys[shown - 1]));
  } else {
    w.Key("next_cursor").Null();
  }
  w.EndObject();
  return MakeResponse(200, std::move(body), request_id);
}

// ---- decoding

StatusOr<std::optional<int64_t>> TimeField(const json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::optional<int64_t>();
  int64_t us = 0;
  if (!it->is_string() || !ParseRfc3339(it->get<std::string>(), &us)) {
    return FieldError(field, "Must be an RFC 3339 time, e.g. 2030-01-31T12:00:00Z, or null.");
  }
  return std::optional<int64_t>(us);
}

std::map<std::string, std::string> LabelsField(const json& body) {
  std::map<std::string, std::string> labels;
  auto it = body.find("labels");
  if (it == body.end()) return labels;
  for (const auto& [k, v] : it->items()) labels.emplace(k, v.get<std::string>());
  return labels;
}

// "generate": {"type", "format", "passphrase"}; the passphrase moves into `spec` and is
// wiped from the parsed body.
Status DecodeGenerate(json& body, service::GenerateSpec* spec) {
  auto it = body.find("generate");
  if (it == body.end() || it->is_null()) return Status::Ok();
  json& g = *it;
  if (Status s = CheckBody(g, {{"type", FieldType::kStringOrNull, false},
                               {"format", FieldType::kStringOrNull, false},
                               {"passphrase", FieldType::kStringOrNull, false}});
      !s.ok()) {
    Status renamed = InvalidArgument("The generate object is not valid.");
    for (const auto& [field, messages] : s.field_errors()) {
      for (const auto& m : messages) renamed.WithField("generate." + field, m);
    }
    return renamed;
  }
  if (auto t = g.find("type"); t != g.end() && !t->is_null()) {
    std::optional<sshkey::KeyType> type = sshkey::ParseKeyType(t->get<std::string>());
    if (!type) {
      return FieldError("generate.type",
                        "Must be one of ed25519, ecdsa-p256, ecdsa-p384, ecdsa-p521, rsa-2048, "
                        "rsa-3072, rsa-4096.");
    }
    spec->type = *type;
  }
  if (auto f = g.find("format"); f != g.end() && !f->is_null()) {
    std::optional<sshkey::PrivateKeyFormat> format =
        sshkey::ParsePrivateKeyFormat(f->get<std::string>());
    if (!format) return FieldError("generate.format", "Must be one of openssh, pkcs8, ppk.");
    spec->format = *format;
  }
  if (auto p = g.find("passphrase"); p != g.end() && !p->is_null()) {
    std::string& phrase = p->get_ref<std::string&>();
    const size_t length = phrase.size();
    spec->passphrase = SecretString(std::string(phrase));
    WipeString(phrase);
    if (length < 8 || length > 1024) {
      return FieldError("generate.passphrase", "Must be 8 to 1024 characters long.");
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<store::LabelTerm>> SelectorParam(const Query& q) {
  const std::string* v = QueryValue(q, "label_selector");
  if (v == nullptr) return std::vector<store::LabelTerm>();
  return ParseLabelSelector(*v);
}

// The filters and paging of both native list routes.
StatusOr<service::ListKeysRequest> NativeListRequest(const std::string& raw_query) {
  Query q;
  if (Status s = ParseQuery(raw_query, &q); !s.ok()) return s;
  service::ListKeysRequest req;
  req.limit = 100;
  req.order = store::OrderBy::kCreatedAtDesc;
  req.with_total = false;
  if (const std::string* v = QueryValue(q, "limit");
      v != nullptr && !ParseInt(*v, 1, 1000, &req.limit)) {
    return FieldError("limit", "Must be an integer between 1 and 1000.");
  }
  if (const std::string* v = QueryValue(q, "order_by"); v != nullptr) {
    StatusOr<store::OrderBy> order = ParseOrderBy(*v);
    if (!order.ok()) return order.status();
    req.order = *order;
  }
  if (const std::string* v = QueryValue(q, "cursor"); v != nullptr) {
    StatusOr<store::KeyCursor> cursor = DecodeCursor(*v, req.order);
    if (!cursor.ok()) return cursor.status();
    req.after = std::move(*cursor);
  }
  if (const std::string* v = QueryValue(q, "name"); v != nullptr) {
    if (v->size() > 255) return FieldError("name", "Must be at most 255 characters.");
    req.name_contains = *v;
  }
  if (const std::string* v = QueryValue(q, "fingerprint"); v != nullptr) {
    const bool md5 = v->size() == 47 && std::count(v->begin(), v->end(), ':') == 15;
    const bool sha256 = v->starts_with("SHA256:") && v->size() == 50;
    if (!md5 && !sha256) {
      return FieldError("fingerprint",
                        "Must be an MD5 fingerprint (aa:bb:...) or SHA256:<43 base64 characters>.");
    }
    req.fingerprint = *v;
  }
  if (const std::string* v = QueryValue(q, "type"); v != nullptr) {
    static constexpr std::string_view kTypes[] = {"ssh-ed25519",
                                                  "ecdsa-sha2-nistp256",
                                                  "ecdsa-sha2-nistp384",
                                                  "ecdsa-sha2-nistp521",
                                                  "ssh-rsa",
                                                  "sk-ssh-ed25519@openssh.com",
                                                  "sk-ecdsa-sha2-nistp256@openssh.com"};
    if (std::find(std::begin(kTypes), std::end(kTypes), *v) == std::end(kTypes)) {
      return FieldError("type", "Must be a key type such as ssh-ed25519 or ssh-rsa.");
    }
    req.type = *v;
  }
  if (const std::string* v = QueryValue(q, "owner_id"); v != nullptr) {
    int64_t owner = 0;
    if (Status s = PathInt(*v, "owner_id", &owner); !s.ok()) return s;
    req.owner_id = owner;
  }
  StatusOr<std::vector<store::LabelTerm>> labels = SelectorParam(q);
  if (!labels.ok()) return labels.status();
  req.labels = std::move(*labels);
  if (const std::string* v = QueryValue(q, "usable"); v != nullptr) {
    if (*v != "true" && *v != "false") return FieldError("usable", "Must be true or false.");
    req.usable = *v == "true";
  }
  return req;
}

}  // namespace

// The revision the request's If-Match asks for (none without the header). The ETag names
// the key by id: the reference (id or name) is resolved first.
StatusOr<std::optional<int64_t>> Api::ExpectedRevision(const Call& call, int64_t project_id,
                                                       service::KeyRef ref) const {
  if (!call.request.if_match.has_value()) return std::optional<int64_t>();
  StatusOr<store::KeyRecord> current = keys_->Get(call.caller, project_id, ref);
  if (!current.ok()) return current.status();
  return IfMatchRevision(call.request.if_match, current->id);
}

Api::Reply Api::NativeCreate(Call& call) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  if (Status s = CheckBody(call.body, {{"name", FieldType::kString, true},
                                       {"shared_in_project", FieldType::kBool, false},
                                       {"labels", FieldType::kStringMap, false},
                                       {"expires_at", FieldType::kStringOrNull, false},
                                       {"disabled", FieldType::kBool, false},
                                       {"public_key", FieldType::kStringOrNull, false},
                                       {"generate", FieldType::kObjectOrNull, false}});
      !s.ok()) {
    return ErrorResponse(s, call.request_id);
  }
  service::CreateKeyRequest req;
  req.project_id = *project;
  req.name = call.body["name"].get<std::string>();
  req.public_key = OptionalString(call.body, "public_key");
  req.shared_in_project = BoolOr(call.body, "shared_in_project", true);
  req.disabled = BoolOr(call.body, "disabled", false);
  req.labels = LabelsField(call.body);
  StatusOr<std::optional<int64_t>> expires = TimeField(call.body, "expires_at");
  if (!expires.ok()) return ErrorResponse(expires.status(), call.request_id);
  req.expires_at_us = *expires;
  if (Status s = DecodeGenerate(call.body, &req.generate); !s.ok()) {
    return ErrorResponse(s, call.request_id);
  }
  if (req.public_key.has_value() && call.body.contains("generate") &&
      !call.body["generate"].is_null()) {
    return ErrorResponse(
        InvalidArgument("Give public_key to import or generate to generate, not both.")
            .WithField("generate", "Not allowed together with public_key."),
        call.request_id);
  }
  keys_->CreateAsync(call.caller, std::move(req),
                     [respond = std::move(call.respond),
                      request_id = call.request_id](StatusOr<service::CreatedKey> created) {
                       if (!created.ok())
                         return respond(ErrorResponse(created.status(), request_id));
                       respond(NativeCreatedResponse(created.value(), request_id));
                     });
  return Reply::Pending();
}

Api::Reply Api::NativeList(Call& call) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  StatusOr<service::ListKeysRequest> req = NativeListRequest(call.request.query);
  if (!req.ok()) return ErrorResponse(req.status(), call.request_id);
  req->project_id = *project;
  const size_t limit = static_cast<size_t>(req->limit);
  const store::OrderBy order = req->order;
  req->limit += 1;  // one more: is there a next page?
  std::optional<StatusOr<store::KeyPage>> page = ListPage(call, *std::move(req));
  if (!page.has_value()) return Reply::NotQuick();
  if (!page->ok()) return ErrorResponse(page->status(), call.request_id);
  return NativePageResponse(**page, limit, order, call.request_id);
}

Api::Reply Api::NativeFind(Call& call) const {
  StatusOr<service::ListKeysRequest> req = NativeListRequest(call.request.query);
  if (!req.ok()) return ErrorResponse(req.status(), call.request_id);
  if (req->fingerprint.empty()) {
    return ErrorResponse(FieldError("fingerprint", "This parameter is required."), call.request_id);
  }
  req->every_project = true;
  const size_t limit = static_cast<size_t>(req->limit);
  req->limit += 1;
  StatusOr<store::KeyPage> page = keys_->List(call.caller, *req, call.reads());
  if (!page.ok()) return ErrorResponse(page.status(), call.request_id);
  return NativePageResponse(*page, limit, req->order, call.request_id);
}

Api::Reply Api::NativeGet(Call& call) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  StatusOr<store::KeyRecord> key =
      keys_->Get(call.caller, *project, {call.params[1], /*allow_name=*/true}, call.reads());
  if (!key.ok()) return ErrorResponse(key.status(), call.request_id);
  if (IfNoneMatchHits(call.request.if_none_match, ETagOf(*key))) {
    HttpResponse r = NoContent(call.request_id);
    r.status = 304;
    r.headers.emplace_back("ETag", ETagOf(*key));
    return r;
  }
  return NativeKeyResponse(200, *key, call.request_id);
}

Api::Reply Api::NativeUpdate(Call& call) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  if (Status s = CheckBody(call.body, {{"name", FieldType::kString, false},
                                       {"shared_in_project", FieldType::kBool, false},
                                       {"labels", FieldType::kStringMap, false},
                                       {"expires_at", FieldType::kStringOrNull, false},
                                       {"disabled", FieldType::kBool, false}});
      !s.ok()) {
    return ErrorResponse(s, call.request_id);
  }
  const service::KeyRef ref{call.params[1], /*allow_name=*/true};
  service::UpdateKeyRequest req;
  if (call.body.contains("name")) req.name = call.body["name"].get<std::string>();
  if (call.body.contains("shared_in_project")) {
    req.shared_in_project = call.body["shared_in_project"].get<bool>();
  }
  if (call.body.contains("labels")) req.labels = LabelsField(call.body);
  if (call.body.contains("expires_at")) {
    StatusOr<std::optional<int64_t>> expires = TimeField(call.body, "expires_at");
    if (!expires.ok()) return ErrorResponse(expires.status(), call.request_id);
    req.expires_at_us = *expires;
  }
  if (call.body.contains("disabled")) req.disabled = call.body["disabled"].get<bool>();
  StatusOr<std::optional<int64_t>> revision = ExpectedRevision(call, *project, ref);
  if (!revision.ok()) return ErrorResponse(revision.status(), call.request_id);
  req.expected_revision = *revision;
  StatusOr<store::KeyRecord> key = keys_->Update(call.caller, *project, ref, std::move(req));
  if (!key.ok()) return ErrorResponse(key.status(), call.request_id);
  return NativeKeyResponse(200, *key, call.request_id);
}

Api::Reply Api::NativeDelete(Call& call) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  const service::KeyRef ref{call.params[1], /*allow_name=*/true};
  StatusOr<std::optional<int64_t>> revision = ExpectedRevision(call, *project, ref);
  if (!revision.ok()) return ErrorResponse(revision.status(), call.request_id);
  if (Status s = keys_->Delete(call.caller, *project, ref, *revision); !s.ok()) {
    return ErrorResponse(s, call.request_id);
  }
  return NoContent(call.request_id);
}

Api::Reply Api::Me(Call& call) const {
  const auth::Principal& me = call.caller;
  // Who the user is (a person's identity; a token user has none).
  StatusOr<store::UserRecord> user = keys_->UserOf(me);
  if (!user.ok() && user.status().code() != StatusCode::kNotFound) {
    return ErrorResponse(user.status(), call.request_id);
  }
  const store::UserRecord none;
  const store::UserRecord& who = user.ok() ? *user : none;
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("user_id").Int(me.user_id);
  w.Key("token_id").String(me.token_id);
  w.Key("admin").Bool(me.admin);
  w.Key("read_only").Bool(me.read_only);
  w.Key("projects").BeginArray();
  for (int64_t p : me.projects) w.Int(p);
  w.EndArray();
  w.Key("principals").BeginArray();
  for (const std::string& p : me.principals) w.String(p);
  w.EndArray();
  w.Key("via").String(me.session ? "session" : "token");
  StringOrNull(w, "issuer", who.issuer);
  StringOrNull(w, "email", who.email);
  StringOrNull(w, "name", who.name);
  w.Key("groups").BeginArray();
  for (const std::string& g : who.groups) w.String(g);
  w.EndArray();
  // The role in each project the caller may use (an administrator's token: every project).
  w.Key("roles").BeginArray();
  for (int64_t p : me.projects) {
    w.BeginObject().Key("project_id").Int(p).Key("role").String(auth::RoleName(me.RoleIn(p)));
    w.Key("principals").BeginArray();
    for (const std::string& principal : me.PrincipalsIn(p)) w.String(principal);
    w.EndArray().EndObject();
  }
  w.EndArray();
  if (me.session && extras_.sign_in != nullptr) {
    w.Key("csrf_token").String(extras_.sign_in->CsrfToken(me.token_id));
  } else {
    w.Key("csrf_token").Null();
  }
  w.EndObject();
  return MakeResponse(200, std::move(body), call.request_id);
}

}  // namespace keypaird::http
