// GET /console/ and /console/{file}: the web console's embedded files (console_assets.h).
// No token: the files hold no data; the console asks the native API for everything, with
// the token the user signs in with. The page may run no inline script or style and load
// nothing from another origin, and no other site may frame it.
#include <string>

#include "http/api_internal.h"
#include "http/console_assets.h"

namespace keypaird::http {

namespace {

// Everything the console loads comes from this origin; only the native API is called.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

void AddConsoleHeaders(HttpResponse* r, const ConsoleAsset& asset) {
  r->headers.emplace_back("ETag", asset.etag);
  // Names are not versioned, so the browser revalidates each time (304 when unchanged).
  r->headers.emplace_back("Cache-Control", "no-cache");
  r->headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
  r->headers.emplace_back("X-Content-Type-Options", "nosniff");
  r->headers.emplace_back("Referrer-Policy", "no-referrer");
  r->headers.emplace_back("X-Frame-Options", "DENY");
  r->headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  r->headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
}

}  // namespace

Api::Reply Api::ConsoleFile(Call& call) const {
  const ConsoleAsset* asset = FindConsoleAsset(call.params.empty() ? "" : call.params.front());
  if (asset == nullptr) {
    return ErrorResponse(NotFound("The requested resource was not found."), call.request_id);
  }
  const std::optional<std::string>& if_none_match = call.request.if_none_match;
  if (if_none_match.has_value() &&
      (*if_none_match == "*" || if_none_match->find(asset->etag) != std::string::npos)) {
    HttpResponse r = NoContent(call.request_id);
    r.status = 304;
    AddConsoleHeaders(&r, *asset);
    return r;
  }
  HttpResponse r = MakeResponse(200, std::string(asset->bytes), call.request_id);
  r.content_type = asset->content_type;
  AddConsoleHeaders(&r, *asset);
  return r;
}

}  // namespace keypaird::http
