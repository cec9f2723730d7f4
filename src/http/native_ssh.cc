// keypaird's SSH access routes (openapi/keypaird.yaml, tag "SSH access"; docs/ssh-access.md): a project's authorized_keys text, its CA (public key, signing,
// revocation, KRL). The CA routes answer 404 with a message naming --ca-kek-file when the
// service runs without a CA.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "ca/authority.h"
#include "common/json_writer.h"
#include "common/rfc3339.h"
#include "common/strings.h"
#include "http/api.h"
#include "http/api_internal.h"
#include "http/body.h"
#include "http/decoding.h"
#include "http/native_codec.h"

namespace keypaird::http {
namespace {

constexpr size_t kMaxPrincipals = 256;

HttpResponse TextResponse(std::string body, const char* content_type,
                          const std::string& request_id) {
  HttpResponse r = MakeResponse(200, std::move(body), request_id);
  r.content_type = content_type;
  return r;
}

HttpResponse NotModified(const std::string& etag, const std::string& request_id) {
  HttpResponse r = NoContent(request_id);
  r.status = 304;
  r.headers.emplace_back("ETag", etag);
  return r;
}

// A text generated from the store (authorized_keys, the KRL), with its ETag (the first 128
// bits of its SHA-256): 304 when `if_none_match` holds it, else the text, to be revalidated
// before every use (no-cache).
HttpResponse RevalidatedText(const service::GeneratedText& text, const char* content_type,
                             const std::optional<std::string>& if_none_match,
                             const std::string& request_id) {
  if (IfNoneMatchHits(if_none_match, text.etag)) return NotModified(text.etag, request_id);
  HttpResponse r = MakeResponse(200, std::make_shared<ResponseBody>(text.body), request_id);
  r.content_type = content_type;
  r.headers.emplace_back("ETag", text.etag);
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

// A certificate request's principals (checked to be an array of strings).
StatusOr<std::vector<std::string>> DecodePrincipals(const nlohmann::json& principals) {
  if (principals.size() > kMaxPrincipals) {
    return FieldError("principals", "At most " + std::to_string(kMaxPrincipals) + " principals.");
  }
  return principals.get<std::vector<std::string>>();
}

// A certificate's validity when the request gives none: an hour, or less if the CA's
// maximum is shorter; anything above the maximum is refused by the CA with the range.
int64_t ValidFor(const nlohmann::json& body, int64_t max_validity_s) {
  return SecondsOr(body, "valid_for", std::min<int64_t>(3600, max_validity_s));
}

// The SignRequest of a certificates POST body.
StatusOr<ca::SignRequest> DecodeSign(const nlohmann::json& body, int64_t max_validity_s) {
  if (Status s = CheckBody(body, {{"principals", FieldType::kStringArray, true},
                                  {"valid_for", FieldType::kPositiveInt, false},
                                  {"extensions", FieldType::kStringArray, false},
                                  {"force_command", FieldType::kStringOrNull, false},
                                  {"source_address", FieldType::kStringOrNull, false}});
      !s.ok()) {
    return s;
  }
  ca::SignRequest req;
  StatusOr<std::vector<std::string>> principals = DecodePrincipals(body["principals"]);
  if (!principals.ok()) return principals.status();
  req.principals = std::move(*principals);
  req.valid_for_s = ValidFor(body, max_validity_s);
  if (auto it = body.find("extensions"); it != body.end()) {
    req.extensions = it->get<std::vector<std::string>>();
  }
  req.force_command = OptionalString(body, "force_command");
  req.source_address = OptionalString(body, "source_address");
  return req;
}

// The SignRequest of an ssh_ca/sign body, whose public key goes to `*public_key`: no
// extensions or options (ssh-keygen's default extensions), principals by default all the
// caller's (ca::DefaultPrincipals), valid_for also as a duration ("8h").
StatusOr<ca::SignRequest> DecodeSignPublicKey(const nlohmann::json& body,
                                              const auth::Principal& caller, int64_t project_id,
                                              int64_t max_validity_s, std::string* public_key) {
  if (Status s = CheckBody(body, {{"public_key", FieldType::kString, true},
                                  {"principals", FieldType::kStringArray, false},
                                  {"valid_for", FieldType::kSecondsOrDuration, false}});
      !s.ok()) {
    return s;
  }
  *public_key = body["public_key"].get<std::string>();
  ca::SignRequest req;
  StatusOr<std::vector<std::string>> principals = body.contains("principals")
                                                      ? DecodePrincipals(body["principals"])
                                                      : ca::DefaultPrincipals(caller, project_id);
  if (!principals.ok()) return principals.status();
  req.principals = std::move(*principals);
  req.valid_for_s = ValidFor(body, max_validity_s);
  return req;
}

// A 201 with an issued certificate: for a stored key, its certificate's key id; for a key
// not stored, the key's fingerprint (there is no key to name).
HttpResponse IssuedResponse(const ca::IssuedCertificate& cert, bool stored_key,
                            const std::string& request_id) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("certificate").String(cert.certificate);
  w.Key("serial").String(std::to_string(cert.serial));
  if (stored_key) {
    w.Key("key_id").String(cert.key_id);
  } else {
    w.Key("fingerprint_sha256").String(cert.fingerprint_sha256);
  }
  w.Key("principals").BeginArray();
  for (const std::string& p : cert.principals) w.String(p);
  w.EndArray();
  w.Key("valid_after").String(FormatRfc3339(cert.valid_after_s * 1000000));
  w.Key("valid_before").String(FormatRfc3339(cert.valid_before_s * 1000000));
  w.EndObject();
  HttpResponse r = MakeResponse(201, std::move(body), request_id);
  r.no_store = true;
  return r;
}

Status CaDisabled() {
  return NotFound("The SSH certificate authority is not enabled on this service (serve "
                  "--ca-kek-file)");
}

HttpResponse CaInfoResponse(int status, const ca::CaInfo& info, const std::string& request_id) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("public_key").String(info.public_key);
  w.Key("fingerprint_sha256").String(info.fingerprint_sha256);
  w.Key("created_at").String(FormatRfc3339(info.created_at_us));
  w.Key("keys").BeginArray();
  for (const ca::CaKeyInfo& k : info.keys) {
    w.BeginObject();
    w.Key("public_key").String(k.public_key);
    w.Key("fingerprint_sha256").String(k.fingerprint_sha256);
    w.Key("created_at").String(FormatRfc3339(k.created_at_us));
    w.Key("retires_at");
    if (k.retires_at_us) {
      w.String(FormatRfc3339(*k.retires_at_us));
    } else {
      w.Null();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return MakeResponse(status, std::move(body), request_id);
}

// The public key lines of every key to trust, signing key first.
std::vector<std::string> TrustedLines(const ca::CaInfo& info) {
  std::vector<std::string> lines;
  for (const ca::CaKeyInfo& k : info.keys) lines.push_back(k.public_key);
  return lines;
}

}  // namespace

Api::Reply Api::AuthorizedKeys(Call& call) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  Query q;
  if (Status s = ParseQuery(call.request.query, &q); !s.ok()) {
    return ErrorResponse(s, call.request_id);
  }
  service::AuthorizedKeysRequest req;
  req.project_id = *project;
  if (const std::string* v = QueryValue(q, "label_selector"); v != nullptr) {
    StatusOr<std::vector<store::LabelTerm>> labels = ParseLabelSelector(*v);
    if (!labels.ok()) return ErrorResponse(labels.status(), call.request_id);
    req.labels = std::move(*labels);
  }
  if (const std::string* v = QueryValue(q, "owner_id"); v != nullptr) {
    int64_t owner = 0;
    if (Status s = PathInt(*v, "owner_id", &owner); !s.ok()) {
      return ErrorResponse(s, call.request_id);
    }
    req.owner_id = owner;
  }
  if (call.quick_only) {
    std::optional<service::GeneratedText> kept =
        keys_->KeptAuthorizedKeys(call.caller, req, call.reads());
    if (!kept.has_value()) return Reply::NotQuick();
    return RevalidatedText(*kept, "text/plain; charset=utf-8", call.request.if_none_match,
                           call.request_id);
  }
  StatusOr<service::GeneratedText> text = keys_->AuthorizedKeys(call.caller, req, call.reads());
  if (!text.ok()) return ErrorResponse(text.status(), call.request_id);
  return RevalidatedText(*text, "text/plain; charset=utf-8", call.request.if_none_match,
                         call.request_id);
}

Api::Reply Api::CaInfo(Call& call) const { return CaInfoOf(call, store::CaKind::kUser); }

Api::Reply Api::CaCreate(Call& call) const { return CaCreateOf(call, store::CaKind::kUser); }

Api::Reply Api::CaInfoOf(Call& call, store::CaKind kind) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  if (extras_.ca == nullptr) return ErrorResponse(CaDisabled(), call.request_id);
  StatusOr<ca::CaInfo> info = extras_.ca->Info(call.caller, *project, kind);
  if (!info.ok()) return ErrorResponse(info.status(), call.request_id);
  return CaInfoResponse(200, *info, call.request_id);
}

Api::Reply Api::CaCreateOf(Call& call, store::CaKind kind) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  if (!call.body.is_null()) {  // no body, or an empty object
    if (Status s = CheckBody(call.body, {}); !s.ok()) return ErrorResponse(s, call.request_id);
  }
  if (extras_.ca == nullptr) return ErrorResponse(CaDisabled(), call.request_id);
  bool created = false;
  StatusOr<ca::CaInfo> info = extras_.ca->Create(call.caller, *project, &created, kind);
  if (!info.ok()) return ErrorResponse(info.status(), call.request_id);
  return CaInfoResponse(created ? 201 : 200, *info, call.request_id);
}

Api::Reply Api::CaPublicKey(Call& call) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  if (extras_.ca == nullptr) return ErrorResponse(CaDisabled(), call.request_id);
  StatusOr<ca::CaInfo> info = extras_.ca->Info(call.caller, *project);
  if (!info.ok()) return ErrorResponse(info.status(), call.request_id);
  std::string text;
  for (const std::string& line : TrustedLines(*info)) text += line + "\n";
  return TextResponse(std::move(text), "text/plain; charset=utf-8", call.request_id);
}

Api::Reply Api::CaRotate(Call& call) const { return CaRotateOf(call, store::CaKind::kUser); }

Api::Reply Api::HostCaRotate(Call& call) const { return CaRotateOf(call, store::CaKind::kHost); }

Api::Reply Api::CaKeyDelete(Call& call) const { return CaKeyDeleteOf(call, store::CaKind::kUser); }

Api::Reply Api::HostCaKeyDelete(Call& call) const {
  return CaKeyDeleteOf(call, store::CaKind::kHost);
}

Api::Reply Api::CaRotateOf(Call& call, store::CaKind kind) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  if (!call.body.is_null()) {  // no body, or an empty object
    if (Status s = CheckBody(call.body, {}); !s.ok()) return ErrorResponse(s, call.request_id);
  }
  if (extras_.ca == nullptr) return ErrorResponse(CaDisabled(), call.request_id);
  StatusOr<ca::CaInfo> info = extras_.ca->Rotate(call.caller, *project, kind);
  if (!info.ok()) return ErrorResponse(info.status(), call.request_id);
  return CaInfoResponse(200, *info, call.request_id);
}

Api::Reply Api::CaKeyDeleteOf(Call& call, store::CaKind kind) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  if (extras_.ca == nullptr) return ErrorResponse(CaDisabled(), call.request_id);
  if (Status s = extras_.ca->DeleteKey(call.caller, *project, kind, call.params[1]); !s.ok()) {
    return ErrorResponse(s, call.request_id);
  }
  return NoContent(call.request_id);
}

Api::Reply Api::CaSign(Call& call) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  if (extras_.ca == nullptr) return ErrorResponse(CaDisabled(), call.request_id);
  StatusOr<ca::SignRequest> req = DecodeSign(call.body, extras_.ca->max_validity_s());
  if (!req.ok()) return ErrorResponse(req.status(), call.request_id);
  StatusOr<ca::IssuedCertificate> cert = extras_.ca->Sign(
      call.caller, *project, {call.params[1], /*allow_name=*/true}, std::move(*req));
  if (!cert.ok()) return ErrorResponse(cert.status(), call.request_id);
  return IssuedResponse(*cert, /*stored_key=*/true, call.request_id);
}

Api::Reply Api::CaSignPublicKey(Call& call) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  if (extras_.ca == nullptr) return ErrorResponse(CaDisabled(), call.request_id);
  std::string public_key;
  StatusOr<ca::SignRequest> req =
      DecodeSignPublicKey(call.body, call.caller, *project, extras_.ca->max_validity_s(),
                          &public_key);
  if (!req.ok()) return ErrorResponse(req.status(), call.request_id);
  StatusOr<ca::IssuedCertificate> cert =
      extras_.ca->SignPublicKey(call.caller, *project, public_key, std::move(*req));
  if (!cert.ok()) return ErrorResponse(cert.status(), call.request_id);
  return IssuedResponse(*cert, /*stored_key=*/false, call.request_id);
}

Api::Reply Api::CaRevoke(Call& call) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  int64_t serial = 0;
  if (!ParseInt(call.params[1], 1, INT64_MAX, &serial)) {
    return ErrorResponse(FieldError("serial", "Must be a certificate serial: a positive integer."),
                         call.request_id);
  }
  // No body, or an empty object.
  if (!call.body.is_null()) {
    if (Status s = CheckBody(call.body, {}); !s.ok()) return ErrorResponse(s, call.request_id);
  }
  if (extras_.ca == nullptr) return ErrorResponse(CaDisabled(), call.request_id);
  if (Status s = extras_.ca->Revoke(call.caller, *project, serial); !s.ok()) {
    return ErrorResponse(s, call.request_id);
  }
  return NoContent(call.request_id);
}

Api::Reply Api::HostCaInfo(Call& call) const { return CaInfoOf(call, store::CaKind::kHost); }

Api::Reply Api::HostCaCreate(Call& call) const { return CaCreateOf(call, store::CaKind::kHost); }

Api::Reply Api::HostCaKnownHosts(Call& call) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  Query q;
  if (Status s = ParseQuery(call.request.query, &q); !s.ok()) {
    return ErrorResponse(s, call.request_id);
  }
  const std::string* hosts = QueryValue(q, "hosts");
  StatusOr<std::string> patterns =
      KnownHostsPatterns(hosts == nullptr ? std::nullopt : std::optional<std::string>(*hosts));
  if (!patterns.ok()) return ErrorResponse(patterns.status(), call.request_id);
  if (extras_.ca == nullptr) return ErrorResponse(CaDisabled(), call.request_id);
  StatusOr<ca::CaInfo> info = extras_.ca->Info(call.caller, *project, store::CaKind::kHost);
  if (!info.ok()) return ErrorResponse(info.status(), call.request_id);
  return TextResponse(KnownHostsText(*patterns, TrustedLines(*info)), "text/plain; charset=utf-8",
                      call.request_id);
}

Api::Reply Api::CaKrl(Call& call) const {
  StatusOr<int64_t> project = ProjectOf(call.params);
  if (!project.ok()) return ErrorResponse(project.status(), call.request_id);
  if (extras_.ca == nullptr) return ErrorResponse(CaDisabled(), call.request_id);
  if (call.quick_only) {
    std::optional<service::GeneratedText> kept =
        extras_.ca->KeptKrl(call.caller, *project, call.reads());
    if (!kept.has_value()) return Reply::NotQuick();
    return RevalidatedText(*kept, "application/octet-stream", call.request.if_none_match,
                           call.request_id);
  }
  // Building reads through the store's own connections: the token's snapshot goes first, so
  // that a build never holds one pooled connection while it waits for another.
  call.snapshot.reset();
  StatusOr<service::GeneratedText> krl = extras_.ca->KrlText(call.caller, *project);
  if (!krl.ok()) return ErrorResponse(krl.status(), call.request_id);
  return RevalidatedText(*krl, "application/octet-stream", call.request.if_none_match,
                         call.request_id);
}

}  // namespace keypaird::http
