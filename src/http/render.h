// Rendering keys in the Gcore families' wire shapes (KeypairSerializer, SSHKeySerializer,
// CreatedSSHKeySerializer) and their lists.
#ifndef KEYPAIRD_HTTP_RENDER_H_
#define KEYPAIRD_HTTP_RENDER_H_

#include <string>

#include "http/errors.h"
#include "server/message.h"
#include "service/key_service.h"
#include "store/key_store.h"

namespace keypaird::http {

// One key: v1/v2 (KeypairSerializer) always carry "private_key": null; ssh_keys does not
// carry it at all.
HttpResponse KeyResponse(int status, const store::KeyRecord& key, Family family,
                         const std::string& request_id);

// The create response: the only place a private key ever appears (null when the key was
// imported). Written into one buffer reserved up front (no reallocation leaves stray
// copies) that is wiped once the network layer has sent it; `created.private_key` is
// wiped here.
HttpResponse CreatedResponse(int status, service::CreatedKey& created,
                             const std::string& request_id);

// {"count": total, "results": [...]}.
HttpResponse ListResponse(const store::KeyPage& page, Family family,
                          const std::string& request_id);

}  // namespace keypaird::http

#endif  // KEYPAIRD_HTTP_RENDER_H_
