// Server: keypaird's HTTP/1.1 server, on epoll, in front of a Handler (handler.h) that
// knows nothing of sockets. It knows nothing of routes: this library builds and is
// tested without the API.
//
// I/O threads (one epoll loop each; connections are spread over them as they are
// accepted) read requests with http_parser, optionally through TLS (OpenSSL), and write
// responses. The raw head of each request is checked first (request_head.h: RFC 9112's
// framing rules that the lenient parser lets through). Each request is routed once
// (Handler::JobFor) and runs where its Job's Placement says: right there on the I/O
// thread, on the request workers, or on the key-generation pool. Its answer, from
// whichever thread produces it (a worker, or the store's writer after a commit), is
// handed back to the connection's I/O thread, which counts it in the metrics, writes it
// and logs one JSON access-log line (queued to the background log writer).
//
// Limits hold under hostile clients: the request line and header fields (8 KiB target,
// 1 KiB names, 16 KiB values, 100 fields: 414/431), the body (max_body_bytes: 413,
// whatever size the client announces or sends), a read timeout for a whole request and
// for idle keep-alive connections (slowloris), a write timeout, and a cap on open
// connections (past it, new connections wait in the listen backlog). A connection
// answered with an error it cannot recover from is closed after the answer, lingering
// to read what the client is still sending so that the answer is not lost to a reset.
//
// HEAD requests get the headers of the answer, Content-Length included, never its body.
//
// On a stop (SIGINT or SIGTERM, or HttpServer::Stop) the listener closes, requests
// already received are answered (up to shutdown_timeout) with "Connection: close", and
// RunServer (HttpServer::Wait) returns so that the caller closes the store.
#ifndef KEYPAIRD_SERVER_SERVER_H_
#define KEYPAIRD_SERVER_SERVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/metrics.h"
#include "common/status.h"
#include "server/handler.h"

namespace keypaird::server {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (HttpServer::port says which)
  int io_threads = 1;
  int workers = 2;         // request workers (Placement::kWorker)
  int keygen_threads = 1;  // the key-generation pool (Placement::kKeygen)
  // The handler's reads are local (SQLite): jobs placed on the I/O threads or the key pool
  // run there. False (PostgreSQL): every job runs on a worker.
  bool local_store = true;
  size_t max_connections = 1024;
  // Requests received but not yet picked up by a worker; past it: 503 with Retry-After.
  size_t max_queued_requests = 4096;
  size_t max_body_bytes = 64 * 1024;   // past it: 413
  size_t max_target_bytes = 8 * 1024;  // past it: 414
  std::chrono::seconds read_timeout{15};  // to read a whole request, incl. idle keep-alive
  std::chrono::seconds write_timeout{30};
  // After an answer that ends the connection: how long to read and discard what the client
  // still sends (closing at once could reset the connection and destroy the answer).
  std::chrono::seconds linger_time{2};
  std::chrono::seconds shutdown_timeout{10};
  // TLS: both set, or neither (plain HTTP).
  std::string tls_cert_file;  // PEM certificate chain
  std::string tls_key_file;   // PEM private key
  Metrics* metrics = nullptr;  // optional, not owned
};

// Where a job declared to run at `declared` runs on a server with these options.
Placement RunsOn(Placement declared, bool local_store);

// Blocks SIGINT and SIGTERM in the calling thread and in every thread it starts from
// then on, so that they reach RunServer (through a signalfd) instead of ending the
// process. Call it first, before anything starts a thread (the store's writer, pools).
void BlockStopSignals();

class ServerImpl;

// A server that its owner starts and stops (tests, tools); RunServer is the one the
// service runs. Not owned: the handler, which must outlive the server.
class HttpServer {
 public:
  HttpServer(ServerOptions options, const Handler& handler);
  ~HttpServer();  // stops it if it runs
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the threads. kUnavailable if the address cannot be bound;
  // kInvalidArgument if the TLS files cannot be used.
  Status Start();
  // The port it listens on (the one bound when ServerOptions::port was 0).
  uint16_t port() const;
  // As a stop signal does: stop accepting, answer what was received, then Wait returns.
  // Thread-safe; idempotent.
  void Stop();
  // Until stopped.
  void Wait();

 private:
  std::unique_ptr<ServerImpl> impl_;
};

// Serves until SIGINT or SIGTERM (call BlockStopSignals first), with the access log
// written by a background thread. kUnavailable if the address cannot be bound;
// kInvalidArgument if the TLS files cannot be used.
Status RunServer(const ServerOptions& options, const Handler& handler);

}  // namespace keypaird::server

#endif  // KEYPAIRD_SERVER_SERVER_H_
