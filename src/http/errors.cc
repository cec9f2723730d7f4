#include "http/errors.h"

#include <memory>

#include "common/json_writer.h"
#include "common/log.h"
#include "common/strings.h"

namespace keypaird::http {
namespace {

struct ErrorKind {
  int status;
  const char* exception_class;
};

ErrorKind KindOf(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
      return {400, "ValidationError"};
    case StatusCode::kUnauthenticated:
      return {401, "NotAuthenticated"};
    case StatusCode::kPermissionDenied:
      return {403, "ForbiddenError"};
    case StatusCode::kNotFound:
      return {404, "NotFoundError"};
    case StatusCode::kAlreadyExists:
      return {409, "ConflictError"};
    case StatusCode::kFailedPrecondition:
      return {412, "PreconditionFailed"};
    case StatusCode::kResourceExhausted:
      return {429, "RateLimitError"};
    case StatusCode::kUnavailable:
      return {503, "ServiceUnavailable"};
    case StatusCode::kOk:
    case StatusCode::kInternal:
      break;
  }
  return {500, "InternalServerError"};
}

std::string WireField(const std::string& field, Family family) {
  if (family == Family::kKeypairs && field == "name") return "sshkey_name";
  return field;
}

}  // namespace

HttpResponse MakeResponse(int status, std::string body, const std::string& request_id,
                          bool secret) {
  return MakeResponse(status, std::make_shared<ResponseBody>(std::move(body), secret), request_id);
}

HttpResponse MakeResponse(int status, std::shared_ptr<ResponseBody> body,
                          const std::string& request_id) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("X-Request-ID", request_id);
  r.body = std::move(body);
  return r;
}

HttpResponse NoContent(const std::string& request_id) {
  HttpResponse r;
  r.status = 204;
  r.headers.emplace_back("X-Request-ID", request_id);
  return r;
}

// Messages and field names can quote client text (a key id or name decoded from the
// path, a query parameter name), which may be any bytes; JsonWriter needs valid UTF-8.
int HttpStatusOf(StatusCode code) { return KindOf(code).status; }

HttpResponse ErrorResponse(const Status& status, const std::string& request_id, Family family) {
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

}  // namespace keypaird::http
