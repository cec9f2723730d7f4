// The one mapping from Status codes to HTTP statuses and error bodies, and the small
// constructors of responses every handler uses. Gcore's error body (docs/api-decisions.md):
// {"exception_class", "message", "request_id"} plus "invalid_fields" on 400; the same
// body on keypaird's own routes.
#ifndef KEYPAIRD_HTTP_ERRORS_H_
#define KEYPAIRD_HTTP_ERRORS_H_

#include <memory>
#include <string>

#include "common/status.h"
#include "server/message.h"

namespace keypaird::http {

// The server's messages (src/server/message.h), as the API names them.
using server::HttpRequest;
using server::HttpResponse;
using server::ResponseBody;

// Which family a route belongs to: the wire shapes differ (v1/v2 keypairs call the
// name "sshkey_name" and always carry private_key; ssh_keys calls it "name").
enum class Family { kNone, kKeypairs, kSshKeys };

// A response with the X-Request-ID header and a JSON body; `secret` bodies are wiped
// once sent.
HttpResponse MakeResponse(int status, std::string body, const std::string& request_id,
                          bool secret = false);
// The same with a body made elsewhere (a shared one: ResponseBody's second constructor).
HttpResponse MakeResponse(int status, std::shared_ptr<ResponseBody> body,
                          const std::string& request_id);
HttpResponse NoContent(const std::string& request_id);

// The error response for a non-OK `status`. 5xx messages are replaced by generic text
// (the detail goes to the log); field names are renamed to the family's wire names.
HttpResponse ErrorResponse(const Status& status, const std::string& request_id,
                           Family family = Family::kNone);

// The HTTP status ErrorResponse answers a non-OK `code` with (400, 401, ..., 500).
int HttpStatusOf(StatusCode code);

// An error whose class is not one of the Status codes' (405, 413, 415, 431, ...).
HttpResponse PlainError(int status, const char* exception_class, const std::string& message,
                        const std::string& request_id);

// kInvalidArgument "Invalid value for FIELD: MESSAGE" with MESSAGE under FIELD.
Status FieldError(const std::string& field, std::string message);

}  // namespace keypaird::http

#endif  // KEYPAIRD_HTTP_ERRORS_H_
