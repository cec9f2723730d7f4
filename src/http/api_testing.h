// For the API's tests: a request as the server hands it to http::Api, and what the quick
// step (Api::HandleQuick, on the I/O thread) answers for it.
#ifndef KEYPAIRD_HTTP_API_TESTING_H_
#define KEYPAIRD_HTTP_API_TESTING_H_

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "http/api.h"

namespace keypaird::http::testing {

// `target` is the path with its query ("/cloud/v1/ssh_keys/1?limit=10").
inline HttpRequest Request(std::string method, std::string_view target,
                           std::optional<std::string> authorization) {
  HttpRequest r;
  r.method = std::move(method);
  const size_t q = target.find('?');
  r.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));
  r.authorization = std::move(authorization);
  return r;
}

// The quick step's answer, or nothing when it leaves the request to the full handling; it
// must say it answered exactly when it did.
inline std::optional<HttpResponse> QuickAnswer(const Api& api, const HttpRequest& request) {
  std::optional<HttpResponse> out;
  const bool answered = api.HandleQuick(request, api.MatchRoute(request),
                                        [&out](HttpResponse a) { out = std::move(a); });
  EXPECT_EQ(answered, out.has_value()) << request.path << "?" << request.query;
  return out;
}

}  // namespace keypaird::http::testing

#endif  // KEYPAIRD_HTTP_API_TESTING_H_
