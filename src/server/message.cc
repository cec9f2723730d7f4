#include "server/message.h"

#include "common/secret.h"

namespace keypaird::server {

ResponseBody::~ResponseBody() {
  if (secret_) WipeString(bytes_);
}

HttpRequest::~HttpRequest() {
  WipeString(body);
  if (authorization.has_value()) WipeString(*authorization);
  if (cookie.has_value()) WipeString(*cookie);
}

std::string_view HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

}  // namespace keypaird::server
