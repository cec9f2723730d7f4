// Status and StatusOr: the error currency below the HTTP layer.
//
// Every layer under http/ reports failure as a Status with a canonical code and a
// human-readable message meant for the API user (it must never contain secrets or
// internals such as SQL text). http/errors.cc is the one place that turns a
// code into an HTTP status and a Gcore error body. Value types, freely copyable,
// thread-compatible.
#ifndef KEYPAIRD_COMMON_STATUS_H_
#define KEYPAIRD_COMMON_STATUS_H_

#include <cassert>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace keypaird {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // 400 ValidationError
  kUnauthenticated,     // 401 NotAuthenticated
  kPermissionDenied,    // 403 ForbiddenError
  kNotFound,            // 404 NotFoundError
  kAlreadyExists,       // 409 ConflictError
  kFailedPrecondition,  // 412 PreconditionFailed (If-Match did not match)
  kResourceExhausted,   // 429 RateLimitError
  kUnavailable,         // 503 ServiceUnavailable (e.g. database unreachable)
  kInternal,            // 500 InternalServerError
};

// Field name -> messages, rendered as `invalid_fields` on 400 responses.
using FieldErrors = std::map<std::string, std::vector<std::string>>;

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Per-field details for kInvalidArgument; empty otherwise.
  const FieldErrors& field_errors() const { return field_errors_; }
  Status& WithField(const std::string& field, std::string message) & {
    field_errors_[field].push_back(std::move(message));
    return *this;
  }
  Status&& WithField(const std::string& field, std::string message) && {
    field_errors_[field].push_back(std::move(message));
    return std::move(*this);
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  FieldErrors field_errors_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status PermissionDenied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status Unauthenticated(std::string m) {
  return {StatusCode::kUnauthenticated, std::move(m)};
}
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  StatusOr(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace keypaird

#endif  // KEYPAIRD_COMMON_STATUS_H_
