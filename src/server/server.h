// Server: keypaird's HTTP/1.1 server, on epoll, until SIGINT or SIGTERM.
//
// I/O threads (one epoll loop each; connections are spread over them as they are
// accepted) read requests with http_parser, optionally through TLS (OpenSSL), and write
// responses. Each request is matched once (Api::MatchRoute) and runs where its route's
// Placement says: right there on the I/O thread, on the request workers, or on the
// key-generation pool. Its answer, from whichever thread produces it (a worker, or the
// store's writer after a commit), is handed back to the connection's I/O thread, which
// counts it in the metrics, writes it and logs one JSON access-log line (queued to the
// background log writer).
//
// Limits hold under hostile clients: the request line and header fields (8 KiB target,
// 1 KiB names, 16 KiB values, 100 fields: 414/431), the body (Api::kMaxBodyBytes: 413,
// whatever size the client announces or sends), a read timeout for a whole request and
// for idle keep-alive connections (slowloris), a write timeout, and a cap on open
// connections (past it, new connections wait in the listen backlog). A connection
// answered with an error it cannot recover from is closed after the answer, lingering
// to read what the client is still sending so that the answer is not lost to a reset.
//
// On a stop signal the listener closes, requests already received are answered (up to
// shutdown_timeout) with "Connection: close", and RunServer returns so that the caller
// closes the store.
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
  std::chrono::seconds write_timeout{30};
  std::chrono::seconds shutdown_timeout{10};
  // TLS: both set, or neither (plain HTTP).
  std::string tls_cert_file;  // PEM certificate chain
  std::string tls_key_file;   // PEM private key
  Metrics* metrics = nullptr;  // optional, not owned
};

// Where a route declared to run at `declared` runs on a server with these options.
Placement RunsOn(Placement declared, bool local_store);

// Blocks SIGINT and SIGTERM in the calling thread and in every thread it starts from
// then on, so that they reach RunServer (through a signalfd) instead of ending the
// process. Call it first, before anything starts a thread (the store's writer, pools).
void BlockStopSignals();

// Blocks until a stop signal. kUnavailable if the address cannot be bound;
// kInvalidArgument if the TLS files cannot be used.
Status RunServer(const ServerOptions& options, const Api& api);

}  // namespace keypaird::http

#endif  // KEYPAIRD_HTTP_SERVER_H_
