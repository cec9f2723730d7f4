#include "http/api.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "common/hex.h"
#include "common/json_writer.h"
#include "common/log.h"
#include "common/rfc3339.h"
#include "common/secret.h"

namespace keypaird::http {
namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------
// Errors: the one mapping from Status codes to HTTP statuses and Gcore error bodies.

struct ErrorKind {
  int status;
  const char* exception_class;
};

ErrorKind KindOf(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument: return {400, "ValidationError"};
    case StatusCode::kUnauthenticated: return {401, "NotAuthenticated"};
    case StatusCode::kPermissionDenied: return {403, "ForbiddenError"};
    case StatusCode::kNotFound: return {404, "NotFoundError"};
    case StatusCode::kAlreadyExists: return {409, "ConflictError"};
    case StatusCode::kResourceExhausted: return {429, "RateLimitError"};
    case StatusCode::kUnavailable: return {503, "ServiceUnavailable"};
    case StatusCode::kOk:
    case StatusCode::kInternal: break;
  }
  return {500, "InternalServerError"};
}

std::string WireField(const std::string& field, Family family) {
  if (family == Family::kKeypairs && field == "name") return "sshkey_name";
  return field;
}

// Error messages and field names can quote client text (a key id or name decoded from the
// path, a query parameter name), which may be any bytes; JsonWriter needs valid UTF-8, so
// every byte that does not start a well-formed sequence becomes U+FFFD.
std::string ValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80                ? 1
                       : c >= 0xc2 && c <= 0xdf ? 2
                       : c >= 0xe0 && c <= 0xef ? 3
                       : c >= 0xf0 && c <= 0xf4 ? 4
                                                : 0;
    bool ok = len != 0 && len <= s.size() - i;
    for (size_t j = 1; ok && j < len; ++j) {
      ok = (static_cast<unsigned char>(s[i + j]) & 0xc0) == 0x80;
    }
    if (ok && len > 2) {  // no overlong forms, surrogates or code points above U+10FFFF
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0) && !(c == 0xf0 && c1 < 0x90) &&
           !(c == 0xf4 && c1 >= 0x90);
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

HttpResponse MakeResponse(int status, std::string body, const std::string& request_id,
                          bool secret = false) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("X-Request-ID", request_id);
  r.body = std::make_shared<ResponseBody>(std::move(body), secret);
  return r;
}

HttpResponse ErrorResponse(const Status& status, const std::string& request_id,
                           Family family = Family::kNone) {
  const ErrorKind kind = KindOf(status.code());
  std::string message = status.message();
  if (kind.status >= 500) {
    // Never hand internals to clients; operators find them in the log.
    LogLine(LogLevel::kWarn, "request failed")
        .Str("request_id", request_id)
        .Int("status", kind.status)
        .Str("detail", status.message());
    message = kind.status == 503 ? "The service is temporarily unavailable; try again later."
                                 : "An internal error occurred.";
  }
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("exception_class").String(kind.exception_class);
  w.Key("message").String(ValidUtf8(message));
  w.Key("request_id").String(request_id);
  if (kind.status == 400) {
    w.Key("invalid_fields").BeginObject();
    for (const auto& [field, messages] : status.field_errors()) {
      w.Key(ValidUtf8(WireField(field, family))).BeginArray();
      for (const auto& m : messages) w.String(ValidUtf8(m));
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndObject();
  HttpResponse r = MakeResponse(kind.status, std::move(body), request_id);
  if (kind.status == 400 || kind.status == 409) r.headers.emplace_back("x-should-retry", "false");
  return r;
}

// An error whose class is not one of the Status codes' (405, 413, 415).
HttpResponse PlainError(int status, const char* exception_class, const std::string& message,
                        const std::string& request_id) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("exception_class").String(exception_class);
  w.Key("message").String(ValidUtf8(message));
  w.Key("request_id").String(request_id);
  w.EndObject();
  return MakeResponse(status, std::move(body), request_id);
}

Status FieldError(const std::string& field, std::string message) {
  return InvalidArgument("Invalid value for " + field + ": " + message).WithField(field, message);
}

// ---------------------------------------------------------------------------------
// Paths and queries.

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes; '+' becomes a space only in queries. False on a bad escape.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (plus_is_space && in[i] == '+') {
      out->push_back(' ');
    } else {
      out->push_back(in[i]);
    }
  }
  return true;
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);  // tolerate one trailing '/'
  size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    parts.push_back(path.substr(pos, end - pos));
    pos = end;
  }
  return parts;
}

bool Matches(const std::vector<std::string_view>& pat, const std::vector<std::string_view>& parts,
             std::vector<std::string>* params) {
  if (pat.size() != parts.size()) return false;
  params->clear();
  for (size_t i = 0; i < pat.size(); ++i) {
    if (pat[i].front() == '{') {
      std::string decoded;
      if (!PercentDecode(parts[i], false, &decoded)) return false;
      params->push_back(std::move(decoded));
    } else if (pat[i] != parts[i]) {
      return false;
    }
  }
  return true;
}

using Query = std::vector<std::pair<std::string, std::string>>;

Status ParseQuery(std::string_view raw, Query* out) {
  out->clear();
  size_t pos = 0;
  while (pos <= raw.size() && !raw.empty()) {
    size_t end = raw.find('&', pos);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view item = raw.substr(pos, end - pos);
    if (!item.empty()) {
      const size_t eq = item.find('=');
      std::string key;
      std::string value;
      if (!PercentDecode(item.substr(0, eq), true, &key) ||
          (eq != std::string_view::npos && !PercentDecode(item.substr(eq + 1), true, &value))) {
        return InvalidArgument("The query string is not correctly percent-encoded.");
      }
      for (const auto& [k, v] : *out) {
        if (k == key) return FieldError(key, "The parameter is given more than once.");
      }
      out->emplace_back(std::move(key), std::move(value));
    }
    pos = end + 1;
  }
  return Status::Ok();
}

const std::string* QueryValue(const Query& q, std::string_view key) {
  for (const auto& [k, v] : q) {
    if (k == key) return &v;
  }
  return nullptr;
}

// A decimal integer in [min, max], nothing else (no sign '+', no spaces, no fraction).
bool ParseInt(std::string_view s, int64_t min, int64_t max, int64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < min || v > max) return false;
  *out = v;
  return true;
}

constexpr int64_t kMaxId = 2147483647;  // ids are 32-bit positive integers on the wire

Status PathInt(const std::string& value, const char* field, int64_t* out) {
  if (!ParseInt(value, 1, kMaxId, out)) {
    return FieldError(field, "Must be an integer between 1 and 2147483647.");
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------
// Bodies.

enum class FieldType { kString, kStringOrNull, kBool, kBoolOrNull, kProjectId };

struct FieldSpec {
  const char* name;
  FieldType type;
  bool required;
};

// Checks that `body` is an object with only the listed fields, each of the right type.
Status CheckBody(const json& body, std::initializer_list<FieldSpec> fields) {
  if (!body.is_object()) return InvalidArgument("The request body must be a JSON object.");
  Status error = InvalidArgument("The request body is not valid.");
  bool bad = false;
  for (const auto& [key, value] : body.items()) {
    bool known = false;
    for (const FieldSpec& f : fields) known = known || key == f.name;
    if (!known) {
      error.WithField(key, "Unknown field.");
      bad = true;
    }
  }
  for (const FieldSpec& f : fields) {
    auto it = body.find(f.name);
    if (it == body.end()) {
      if (f.required) {
        error.WithField(f.name, "This field is required.");
        bad = true;
      }
      continue;
    }
    const json& v = *it;
    const char* problem = nullptr;
    switch (f.type) {
      case FieldType::kString:
        if (!v.is_string()) problem = "Must be a string.";
        break;
      case FieldType::kStringOrNull:
        if (!v.is_string() && !v.is_null()) problem = "Must be a string or null.";
        break;
      case FieldType::kBool:
        if (!v.is_boolean()) problem = "Must be a boolean.";
        break;
      case FieldType::kBoolOrNull:
        if (!v.is_boolean() && !v.is_null()) problem = "Must be a boolean or null.";
        break;
      case FieldType::kProjectId:
        if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > kMaxId ||
            (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(kMaxId))) {
          problem = "Must be an integer between 1 and 2147483647.";
        }
        break;
    }
    if (problem != nullptr) {
      error.WithField(f.name, problem);
      bad = true;
    }
  }
  if (!bad) return Status::Ok();
  return error;
}

std::optional<std::string> OptionalString(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  return it->get<std::string>();
}

bool BoolOr(const json& body, const char* key, bool fallback) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  return it->get<bool>();
}

// ---------------------------------------------------------------------------------
// Rendering.

enum class PrivateKeyField { kOmit, kNull, kValue };

// One key object. v1/v2 (KeypairSerializer) always carry private_key; ssh_keys carries
// it only in the create response (CreatedSSHKeySerializer), not in SSHKeySerializer.
void RenderKey(JsonWriter& w, const store::KeyRecord& k, PrivateKeyField pk_field,
               std::string_view private_key = {}) {
  w.BeginObject();
  w.Key("id").String(k.id);
  w.Key("name").String(k.name);
  w.Key("public_key").String(k.public_key);
  w.Key("fingerprint").String(k.fingerprint);
  if (pk_field == PrivateKeyField::kValue) {
    w.Key("private_key").String(private_key);
  } else if (pk_field == PrivateKeyField::kNull) {
    w.Key("private_key").Null();
  }
  w.Key("project_id").Int(k.project_id);
  w.Key("shared_in_project").Bool(k.shared_in_project);
  w.Key("state").String("ACTIVE");
  w.Key("created_at").String(FormatRfc3339(k.created_at_us));
  w.EndObject();
}

HttpResponse KeyResponse(int status, const store::KeyRecord& k, Family family,
                         const std::string& request_id) {
  std::string body;
  JsonWriter w(&body);
  RenderKey(w, k, family == Family::kKeypairs ? PrivateKeyField::kNull : PrivateKeyField::kOmit);
  return MakeResponse(status, std::move(body), request_id);
}

// The create response: the only place a private key ever appears. It is written into
// one buffer reserved up front (no reallocation leaves stray copies) that is wiped once
// the network layer has sent it.
HttpResponse CreatedResponse(int status, service::CreatedKey& created, const std::string& request_id) {
  const store::KeyRecord& k = created.key;
  std::string body;
  body.reserve(512 + 2 * (k.public_key.size() + k.name.size() + created.private_key.size()));
  JsonWriter w(&body);
  if (created.private_key.empty()) {
    RenderKey(w, k, PrivateKeyField::kNull);
  } else {
    RenderKey(w, k, PrivateKeyField::kValue, created.private_key.view());
  }
  created.private_key.Wipe();
  return MakeResponse(status, std::move(body), request_id, /*secret=*/true);
}

HttpResponse ListResponse(const store::KeyPage& page, Family family,
                          const std::string& request_id) {
  std::string body;
  body.reserve(128 + page.keys.size() * 512);
  JsonWriter w(&body);
  w.BeginObject();
  w.Key("count").Int(page.total);
  w.Key("results").BeginArray();
  for (const auto& k : page.keys) {
    RenderKey(w, k, family == Family::kKeypairs ? PrivateKeyField::kNull : PrivateKeyField::kOmit);
  }
  w.EndArray();
  w.EndObject();
  return MakeResponse(200, std::move(body), request_id);
}

HttpResponse NoContent(const std::string& request_id) {
  HttpResponse r;
  r.status = 204;
  r.headers.emplace_back("X-Request-ID", request_id);
  return r;
}

bool IsJsonMediaType(std::string_view ct) {
  const size_t semi = ct.find(';');
  std::string_view type = ct.substr(0, semi);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  while (!type.empty() && type.front() == ' ') type.remove_prefix(1);
  std::string lower(type);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "application/json";
}

// Labels a response with its route template and the caller's token id (for the access
// log and metrics).
template <typename R>
HttpResponse Routed(HttpResponse response, const R& route, std::string token_id) {
  response.route = route.pattern;
  response.token_id = std::move(token_id);
  return response;
}

}  // namespace

// ---------------------------------------------------------------------------------

struct Api::Call {
  const HttpRequest& request;
  std::string request_id;
  std::vector<std::string> params;  // decoded path captures, in order
  auth::Principal caller;
  json body;  // parsed request body (POST/PATCH), else null
};

ResponseBody::~ResponseBody() {
  if (secret_) WipeString(bytes_);
}

std::string_view HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

const std::vector<Api::Route>& Api::Routes() {
  // Every route of the service, in one place.
  static const std::vector<Route> kRoutes = [] {
    std::vector<Route> routes = {
        {"GET", "/healthz", false, &Api::Healthz},
        {"GET", "/readyz", false, &Api::Readyz},
        {"GET", "/metrics", false, &Api::MetricsText},
        {"POST", "/cloud/v1/keypairs/{project_id}/{region_id}", true, &Api::V1Create},
        {"GET", "/cloud/v1/keypairs/{project_id}/{region_id}", true, &Api::V1List},
        {"GET", "/cloud/v1/keypairs/{project_id}/{region_id}/{keypair_id}", true, &Api::V1Get},
        {"DELETE", "/cloud/v1/keypairs/{project_id}/{region_id}/{keypair_id}", true,
         &Api::V1Delete},
        {"PATCH", "/cloud/v1/keypairs/{project_id}/{region_id}/{keypair_id}/share", true,
         &Api::V1Share},
        {"POST", "/cloud/v2/keypairs", true, &Api::V2Create},
        {"GET", "/cloud/v2/keypairs", true, &Api::V2List},
        {"GET", "/cloud/v2/keypairs/{keypair_id}", true, &Api::V2Get},
        {"DELETE", "/cloud/v2/keypairs/{keypair_id}", true, &Api::V2Delete},
        {"POST", "/cloud/v1/ssh_keys/{project_id}", true, &Api::SshCreate},
        {"GET", "/cloud/v1/ssh_keys/{project_id}", true, &Api::SshList},
        {"GET", "/cloud/v1/ssh_keys/{project_id}/{ssh_key_id}", true, &Api::SshGet},
        {"PATCH", "/cloud/v1/ssh_keys/{project_id}/{ssh_key_id}", true, &Api::SshShare},
        {"DELETE", "/cloud/v1/ssh_keys/{project_id}/{ssh_key_id}", true, &Api::SshDelete},
    };
    for (Route& r : routes) r.segments = SplitPath(r.pattern);
    return routes;
  }();
  return kRoutes;
}

std::string Api::RequestIdFor(const std::optional<std::string>& client_id) {
  if (client_id.has_value()) {
    std::string hex;
    for (char c : *client_id) {
      if (c == '-') continue;
      if (HexValue(c) < 0) {
        hex.clear();
        break;
      }
      hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    const bool uuid_shape = client_id->size() == 36 && service::IsUuid(*client_id);
    if (hex.size() == 32 && (client_id->size() == 32 || uuid_shape)) return hex;
  }
  unsigned char raw[16];
  NonSecretRandom16(raw);
  std::string id;
  AppendHex(&id, raw, sizeof(raw));
  return id;
}

bool Api::QuickOnIoThread(const HttpRequest& request) const {
  if (request.method != "GET" || !store_->LocalReads()) return false;
  const std::vector<std::string_view> parts = SplitPath(request.path);
  std::vector<std::string> params;
  for (const Route& r : Routes()) {
    if (std::string_view(r.method) != "GET" || !Matches(r.segments, parts, &params)) continue;
    return r.handler != &Api::V1List && r.handler != &Api::V2List && r.handler != &Api::SshList;
  }
  return true;  // 404 or 405: answered at once
}

HttpResponse Api::HandleQuick(const HttpRequest& request) const {
  HttpResponse response;
  store_->InOneSnapshot([&] { response = Handle(request); });
  return response;
}

HttpResponse Api::Handle(const HttpRequest& request) const {
  Call call{request, RequestIdFor(request.request_id), {}, {}, nullptr};

  // Route: 404 for an unknown path, 405 (with Allow) for a known path and wrong method.
  const std::vector<std::string_view> parts = SplitPath(request.path);
  const Route* route = nullptr;
  std::string allow;
  std::vector<std::string> params;
  for (const Route& r : Routes()) {
    if (!Matches(r.segments, parts, &params)) continue;
    if (request.method == r.method) {
      route = &r;
      call.params = std::move(params);
      break;
    }
    if (!allow.empty()) allow += ", ";
    allow += r.method;
  }
  if (route == nullptr) {
    if (allow.empty()) {
      return ErrorResponse(NotFound("The requested resource was not found."), call.request_id);
    }
    HttpResponse r = PlainError(
        405, "HTTPError",
        "Method " + request.method + " is not allowed here; allowed: " + allow + ".",
        call.request_id);
    r.headers.emplace_back("Allow", allow);
    return r;
  }

  if (request.body.size() > kMaxBodyBytes) {
    return Routed(PlainError(413, "PayloadTooLarge",
                             "The request body is larger than 65536 bytes.", call.request_id),
                  *route, "");
  }

  if (route->authenticated) {
    StatusOr<auth::Principal> caller = auth_->Authenticate(request.authorization.value_or(""));
    if (!caller.ok()) return Routed(ErrorResponse(caller.status(), call.request_id), *route, "");
    call.caller = std::move(caller).value();
    if (extras_.rate_limiter != nullptr) {
      if (int wait = extras_.rate_limiter->Acquire(call.caller.token_id); wait > 0) {
        HttpResponse r = ErrorResponse(
            Status(StatusCode::kResourceExhausted,
                   "Too many requests for this token; retry after " + std::to_string(wait) +
                       " s."),
            call.request_id);
        r.headers.emplace_back("Retry-After", std::to_string(wait));
        return Routed(std::move(r), *route, call.caller.token_id);
      }
    }
  }

  if (request.method == "POST" || request.method == "PATCH") {
    if (!request.content_type.has_value() || !IsJsonMediaType(*request.content_type)) {
      return Routed(PlainError(415, "UnsupportedMediaType",
                               "The request body must be JSON (Content-Type: application/json).",
                               call.request_id),
                    *route, call.caller.token_id);
    }
    call.body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
    if (call.body.is_discarded()) {
      return Routed(
          ErrorResponse(InvalidArgument("The request body is not valid JSON."), call.request_id),
          *route, call.caller.token_id);
    }
  }
  return Routed((this->*route->handler)(call), *route, call.caller.token_id);
}

HttpResponse Api::Overloaded(const HttpRequest& request) {
  HttpResponse r = PlainError(503, "ServiceUnavailable",
                              "The server is busy; try again shortly.",
                              RequestIdFor(request.request_id));
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

HttpResponse Api::Healthz(const Call& call) const {
  return MakeResponse(200, R"({"status":"ok"})", call.request_id);
}

HttpResponse Api::MetricsText(const Call& call) const {
  HttpResponse r = MakeResponse(200, extras_.metrics ? extras_.metrics->Render() : "",
                                call.request_id);
  r.content_type = "text/plain; version=0.0.4";
  return r;
}

HttpResponse Api::Readyz(const Call& call) const {
  if (Status s = store_->Ping(); !s.ok()) {
    return ErrorResponse(Unavailable("The database is not reachable."), call.request_id);
  }
  return MakeResponse(200, R"({"status":"ready"})", call.request_id);
}

// ----- The operations, shared by the three families.

HttpResponse Api::CreateKey(const Call& call, const CreateShape& shape,
                            StatusOr<int64_t> path_project) const {
  service::CreateKeyRequest req;
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
  req.project_id =
      shape.project_in_body ? call.body["project_id"].get<int64_t>() : path_project.value();
  req.name = call.body[shape.name_field].get<std::string>();
  req.public_key = OptionalString(call.body, "public_key");
  req.shared_in_project = BoolOr(call.body, "shared_in_project", true);
  StatusOr<service::CreatedKey> created = keys_->Create(call.caller, std::move(req));
  if (!created.ok()) return ErrorResponse(created.status(), call.request_id, shape.family);
  return CreatedResponse(shape.success_status, created.value(), call.request_id);
}

HttpResponse Api::ListKeys(const Call& call, Family family,
                           const StatusOr<service::ListKeysRequest>& req) const {
  if (!req.ok()) return ErrorResponse(req.status(), call.request_id, family);
  StatusOr<store::KeyPage> page = keys_->List(call.caller, *req);
  if (!page.ok()) return ErrorResponse(page.status(), call.request_id, family);
  return ListResponse(*page, family, call.request_id);
}

HttpResponse Api::GetKey(const Call& call, Family family, const StatusOr<KeyTarget>& t) const {
  if (!t.ok()) return ErrorResponse(t.status(), call.request_id, family);
  StatusOr<store::KeyRecord> key = keys_->Get(call.caller, t->project_id, t->ref);
  if (!key.ok()) return ErrorResponse(key.status(), call.request_id, family);
  return KeyResponse(200, *key, family, call.request_id);
}

HttpResponse Api::DeleteKey(const Call& call, Family family, const StatusOr<KeyTarget>& t) const {
  Status s = t.status();
  if (s.ok()) s = keys_->Delete(call.caller, t->project_id, t->ref);
  if (!s.ok()) return ErrorResponse(s, call.request_id, family);
  return NoContent(call.request_id);
}

HttpResponse Api::ShareKey(const Call& call, Family family, const StatusOr<KeyTarget>& t) const {
  Status s = t.status();
  if (s.ok()) s = CheckBody(call.body, {{"shared_in_project", FieldType::kBool, true}});
  if (!s.ok()) return ErrorResponse(s, call.request_id, family);
  StatusOr<store::KeyRecord> key = keys_->SetShared(call.caller, t->project_id, t->ref,
                                                    call.body["shared_in_project"].get<bool>());
  if (!key.ok()) return ErrorResponse(key.status(), call.request_id, family);
  return KeyResponse(200, *key, family, call.request_id);
}

// ----- v1 keypairs: /cloud/v1/keypairs/{project_id}/{region_id}[/{keypair_id}[/share]]

namespace {

constexpr CreateShape kV1Create{Family::kKeypairs, "sshkey_name", false, 200};
constexpr CreateShape kV2Create{Family::kKeypairs, "sshkey_name", true, 200};
constexpr CreateShape kSshCreate{Family::kSshKeys, "name", false, 201};

StatusOr<service::ListKeysRequest> V1ListRequest(StatusOr<int64_t> project_id) {
  if (!project_id.ok()) return project_id.status();
  service::ListKeysRequest req;  // every visible key, oldest first
  req.project_id = *project_id;
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

StatusOr<KeyTarget> Api::V1Target(const std::vector<std::string>& params) const {
  StatusOr<int64_t> project_id = V1Project(params);
  if (!project_id.ok()) return project_id.status();
  return KeyTarget{*project_id, {params[2], /*allow_name=*/true}};
}

HttpResponse Api::V1Create(const Call& call) const {
  return CreateKey(call, kV1Create, V1Project(call.params));
}
HttpResponse Api::V1List(const Call& call) const {
  return ListKeys(call, Family::kKeypairs, V1ListRequest(V1Project(call.params)));
}
HttpResponse Api::V1Get(const Call& call) const {
  return GetKey(call, Family::kKeypairs, V1Target(call.params));
}
HttpResponse Api::V1Delete(const Call& call) const {
  return DeleteKey(call, Family::kKeypairs, V1Target(call.params));
}
HttpResponse Api::V1Share(const Call& call) const {
  return ShareKey(call, Family::kKeypairs, V1Target(call.params));
}

// ----- v2 keypairs: /cloud/v2/keypairs[/{keypair_id}]

namespace {

// A v2 key: by id in any project the caller may use, or by name within ?project_id= (or
// within the only project of a scoped token).
StatusOr<KeyTarget> V2Target(const std::vector<std::string>& params, const std::string& query,
                             const auth::Principal& caller) {
  Query q;
  if (Status s = ParseQuery(query, &q); !s.ok()) return s;
  KeyTarget t{std::nullopt, {params[0], /*allow_name=*/true}};
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

HttpResponse Api::V2Create(const Call& call) const {
  return CreateKey(call, kV2Create, int64_t{0});
}
HttpResponse Api::V2List(const Call& call) const {
  return ListKeys(call, Family::kKeypairs, V2ListRequest(call.request.query));
}
HttpResponse Api::V2Get(const Call& call) const {
  return GetKey(call, Family::kKeypairs, V2Target(call.params, call.request.query, call.caller));
}
HttpResponse Api::V2Delete(const Call& call) const {
  return DeleteKey(call, Family::kKeypairs,
                   V2Target(call.params, call.request.query, call.caller));
}

// ----- v1 ssh_keys: /cloud/v1/ssh_keys/{project_id}[/{ssh_key_id}]

namespace {

StatusOr<int64_t> SshProject(const std::vector<std::string>& params) {
  int64_t project_id = 0;
  if (Status s = PathInt(params[0], "project_id", &project_id); !s.ok()) return s;
  return project_id;
}

StatusOr<KeyTarget> SshTarget(const std::vector<std::string>& params) {
  StatusOr<int64_t> project_id = SshProject(params);
  if (!project_id.ok()) return project_id.status();
  if (!service::IsUuid(params[1])) return FieldError("ssh_key_id", "Must be a UUID.");
  return KeyTarget{*project_id, {params[1], /*allow_name=*/false}};
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
    static const std::pair<std::string_view, store::OrderBy> kOrders[] = {
        {"created_at.asc", store::OrderBy::kCreatedAtAsc},
        {"created_at.desc", store::OrderBy::kCreatedAtDesc},
        {"name.asc", store::OrderBy::kNameAsc},
        {"name.desc", store::OrderBy::kNameDesc}};
    auto it = std::find_if(std::begin(kOrders), std::end(kOrders),
                           [v](const auto& o) { return o.first == *v; });
    if (it == std::end(kOrders)) {
      return FieldError("order_by",
                        "Must be one of created_at.asc, created_at.desc, name.asc, name.desc.");
    }
    req.order = it->second;
  }
  return req;
}

}  // namespace

HttpResponse Api::SshCreate(const Call& call) const {
  return CreateKey(call, kSshCreate, SshProject(call.params));
}
HttpResponse Api::SshList(const Call& call) const {
  return ListKeys(call, Family::kSshKeys, SshListRequest(call.params, call.request.query));
}
HttpResponse Api::SshGet(const Call& call) const {
  return GetKey(call, Family::kSshKeys, SshTarget(call.params));
}
HttpResponse Api::SshShare(const Call& call) const {
  return ShareKey(call, Family::kSshKeys, SshTarget(call.params));
}
HttpResponse Api::SshDelete(const Call& call) const {
  return DeleteKey(call, Family::kSshKeys, SshTarget(call.params));
}

}  // namespace keypaird::http
