// ObservedStore: a KeyStore decorator that counts failed store calls in Metrics.
//
// Calls are forwarded unchanged; a result of kUnavailable or kInternal (the database
// misbehaving, as opposed to kNotFound/kAlreadyExists which are answers) increments
// keypaird_store_errors_total{operation=...}. Thread-safe if the wrapped store is.
#ifndef KEYPAIRD_SERVICE_OBSERVED_STORE_H_
#define KEYPAIRD_SERVICE_OBSERVED_STORE_H_

#include <memory>

#include "common/metrics.h"
#include "store/key_store.h"

namespace keypaird::service {

// Neither pointer is owned; both must outlive the returned store.
std::unique_ptr<store::KeyStore> NewObservedStore(store::KeyStore* inner, Metrics* metrics);

}  // namespace keypaird::service

#endif  // KEYPAIRD_SERVICE_OBSERVED_STORE_H_
