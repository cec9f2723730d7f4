// The OpenAPI 3.1 description of every route (openapi/keypaird.yaml), embedded in the
// binary at build time and served at GET /api/v1/openapi.yaml.
#ifndef KEYPAIRD_HTTP_OPENAPI_DOCUMENT_H_
#define KEYPAIRD_HTTP_OPENAPI_DOCUMENT_H_

#include <string_view>

namespace keypaird::http {

std::string_view OpenApiDocument();

}  // namespace keypaird::http

#endif  // KEYPAIRD_HTTP_OPENAPI_DOCUMENT_H_
