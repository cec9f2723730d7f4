// Server: runs Api behind RESTinio until SIGINT or SIGTERM.
//
// I/O threads (RESTinio on one asio io_context) parse requests and write responses.
// Each request is matched once (Api::MatchRoute) and runs where its route's Placement
// says: on the I/O thread, on the request workers, or on the key-generation pool; its
// answer (from whichever thread produces it) is written back, then metrics and one JSON
// access-log line
// (queued to the background log writer). Limits hold
// under hostile clients: header sizes and counts, body size, a read timeout for every
// message (slowloris) and idle keep-alive connections, and a cap on open connections.
// On a stop signal the listener closes, in-flight requests finish (up to
// shutdown_timeout), and RunServer returns so that the caller closes the store.
#ifndef KEYPAIRD_HTTP_SERVER_H_
#define KEYPAIRD_HTTP_SERVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/metrics.h"
#include "common/status.h"
#include "http/api.h"

namespace keypaird::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;
  int io_threads = 1;
  int workers = 2;         // request workers (Placement::kWorker)
  int keygen_threads = 1;  // the key-generation pool (Placement::kKeygen)
  // The store's reads are local (SQLite): routes placed on the I/O threads or the key pool
  // run there. False (PostgreSQL): every route that may touch the store runs on a worker.
  bool local_store = true;
  size_t max_connections = 1024;
  // Requests received but not yet picked up by a worker; past it: 503 with Retry-After.
  size_t max_queued_requests = 4096;
  std::chrono::seconds read_timeout{15};  // to read a whole request, incl. idle keep-alive
  std::chrono::seconds shutdown_timeout{10};
  // TLS: both set, or neither (plain HTTP).
  std::string tls_cert_file;  // PEM certificate chain
  std::string tls_key_file;   // PEM private key
  Metrics* metrics = nullptr;  // optional, not owned
};

// Blocks until a stop signal. kUnavailable if the address cannot be bound;
// kInvalidArgument if the TLS files cannot be used.
Status RunServer(const ServerOptions& options, const Api& api);

}  // namespace keypaird::http

#endif  // KEYPAIRD_HTTP_SERVER_H_
