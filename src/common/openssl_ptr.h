// unique_ptr for OpenSSL objects: OpenSslPtr<SSL, SSL_free> frees with the library's own
// function. The one deleter every layer uses (the server's TLS, the KEK's cipher, the
// sshkey code's keys and numbers, the agents' client).
#ifndef KEYPAIRD_COMMON_OPENSSL_PTR_H_
#define KEYPAIRD_COMMON_OPENSSL_PTR_H_

#include <memory>

namespace keypaird {

template <typename T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};

template <typename T, void (*Free)(T*)>
using OpenSslPtr = std::unique_ptr<T, OpenSslDeleter<T, Free>>;

}  // namespace keypaird

#endif  // KEYPAIRD_COMMON_OPENSSL_PTR_H_
