// KeyPool: RSA keys generated ahead of time, so that a generate request for RSA answers
// in milliseconds instead of the hundreds of milliseconds a 3072-bit key takes.
//
// One pool per RSA size, each kept at its target depth by background threads that run
// at the lowest CPU priority (nice 19): they use cores nobody else wants and yield to
// requests at once. Keys live in memory only and are handed out once (Take moves them
// out); an empty pool makes Take generate on the calling thread. Ed25519 and ECDSA keys
// take microseconds and are not pooled.
//
// Threading: Take is thread-safe. The destructor stops the refill threads (a key being
// generated is abandoned at its next prime candidate) and wipes the pooled keys.
#ifndef KEYPAIRD_SERVICE_KEY_POOL_H_
#define KEYPAIRD_SERVICE_KEY_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"
#include "sshkey/private_key.h"

namespace keypaird::service {

struct KeyPoolOptions {
  // Target depth per pooled type; 0 for a type: not pooled. Only RSA types are pooled.
  std::map<sshkey::KeyType, int> depth = {{sshkey::KeyType::kRsa2048, 8},
                                          {sshkey::KeyType::kRsa3072, 8},
                                          {sshkey::KeyType::kRsa4096, 4}};
  int threads = 0;  // refill threads; 0 = one per core
};

class KeyPool {
 public:
  // `metrics` (optional, not owned): pool depth and keys generated, per type.
  explicit KeyPool(KeyPoolOptions options, Metrics* metrics = nullptr);
  ~KeyPool();
  KeyPool(const KeyPool&) = delete;
  KeyPool& operator=(const KeyPool&) = delete;

  // A fresh key of `type`: a pooled one when there is one, else generated now. *pooled
  // says which.
  StatusOr<sshkey::PrivateKey> Take(sshkey::KeyType type, bool* pooled = nullptr);

  // Keys waiting in the pool of `type`.
  int Depth(sshkey::KeyType type) const;

 private:
  void Refill();
  // The pooled type furthest below its target, or false if every pool is full.
  bool MostNeeded(sshkey::KeyType* type) const;  // mu_ held

  const KeyPoolOptions options_;
  Metrics* metrics_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<sshkey::KeyType, std::deque<sshkey::PrivateKey>> keys_;  // guarded by mu_
  std::map<sshkey::KeyType, int> in_progress_;                      // guarded by mu_
  bool stopping_ = false;                                           // guarded by mu_
  std::atomic<bool> cancel_{false};  // set at destruction: an RSA generation gives up
  std::vector<std::thread> threads_;
};

}  // namespace keypaird::service

#endif  // KEYPAIRD_SERVICE_KEY_POOL_H_
