// What api.cc and the route families' files (gcore_*.cc) share and nobody else needs:
// the per-request context handed to handlers and the operations' argument types.
#ifndef KEYPAIRD_HTTP_API_INTERNAL_H_
#define KEYPAIRD_HTTP_API_INTERNAL_H_

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/json_writer.h"
#include "http/api.h"
#include "store/key_store.h"

namespace keypaird::http {

struct Api::Call {
  const HttpRequest& request;
  std::string request_id;
  std::vector<std::string> params;  // decoded path captures, in order
  auth::Principal caller;
  nlohmann::json body;  // parsed request body (POST/PATCH), else null
  // Routes with one_snapshot: the snapshot the token was read from, for the resource.
  std::unique_ptr<store::KeyReader> snapshot;
  // Answers the request (labelled with the route and token id). A handler that answers
  // later, from another thread, moves it out and returns Reply::Pending().
  Responder respond;
  // HandleQuick, on the I/O thread: answer only what is quick — kept in memory, or a short
  // page of one index walk (KeyService::IsShortPage) — else Reply::NotQuick().
  bool quick_only = false;

  store::KeyReader* reads() const { return snapshot.get(); }
};

// Family-specific wire shape of a create request.
struct Api::CreateShape {
  Family family;
  const char* name_field;  // "sshkey_name" (v1/v2) or "name" (ssh_keys)
  bool project_in_body;    // v2: project_id comes in the body
  int success_status;      // 200 (v1/v2) or 201 (ssh_keys)
};

// The key a route names, decoded from its path and query.
struct Api::KeyTarget {
  std::optional<int64_t> project_id;
  service::KeyRef ref;
};

// The value of cookie `name` in a Cookie header (quotes removed), if it is there.
std::optional<std::string_view> CookieValue(std::string_view header, std::string_view name);
// The session cookie's value, if the request has one.
std::optional<std::string_view> SessionCookie(const HttpRequest& request);

// "key": value, or null when the value is empty (an absent string) or 0 (an absent id).
inline void StringOrNull(JsonWriter& w, const char* key, const std::string& value) {
  w.Key(key);
  if (value.empty()) {
    w.Null();
  } else {
    w.String(value);
  }
}

inline void IntOrNull(JsonWriter& w, const char* key, int64_t value) {
  w.Key(key);
  if (value == 0) {
    w.Null();
  } else {
    w.Int(value);
  }
}

}  // namespace keypaird::http

#endif  // KEYPAIRD_HTTP_API_INTERNAL_H_
