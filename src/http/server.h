// Server: runs Api behind RESTinio until SIGINT or SIGTERM.
//
// I/O threads (RESTinio on one asio io_context) only parse requests and write
// responses; each request is handed to a WorkerPool that calls Api::Handle and posts
// the response back. On a stop signal the listener closes, queued requests finish,
// and RunServer returns.
#ifndef KEYPAIRD_HTTP_SERVER_H_
#define KEYPAIRD_HTTP_SERVER_H_

#include <cstdint>
#include <string>

#include "common/status.h"
#include "http/api.h"

namespace keypaird::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;
  int io_threads = 1;
  int workers = 2;
};

// Blocks until a stop signal. kUnavailable if the address cannot be bound.
Status RunServer(const ServerOptions& options, const Api& api);

}  // namespace keypaird::http

#endif  // KEYPAIRD_HTTP_SERVER_H_
