// Handler: what keypaird's HTTP/1.1 server (server.h) asks of whatever answers its
// requests. The server knows bytes, connections, threads and limits; a Handler knows
// routes and what they mean (keypaird's is http::Api). The server hands each request it
// has read to JobFor once, runs the Job it gets where the Job says, and writes the answer
// the Job gives its Responder; requests it cannot read or cannot run it answers with the
// Handler's Refusal.
#ifndef KEYPAIRD_SERVER_HANDLER_H_
#define KEYPAIRD_SERVER_HANDLER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "server/message.h"

namespace keypaird::server {

// Where a request's work runs. The server maps each to a set of threads; with
// ServerOptions::local_store false it runs kIoThread and kKeygen jobs on the workers
// instead, since there even a single read of the store may block on the network.
enum class Placement {
  // Cheap and never waits long: answered on the I/O thread that read the request.
  kIoThread,
  // May block (on a store): the request workers.
  kWorker,
  // CPU work, one thread per core: the key-generation pool.
  kKeygen,
};

// Called exactly once with the response, on any thread.
using Responder = std::function<void(HttpResponse)>;

class Handler {
 public:
  virtual ~Handler() = default;

  // A routed request: where it runs, and the work that answers it through the Responder,
  // exactly once, on that thread or later on any other.
  struct Job {
    Placement placement = Placement::kIoThread;
    std::function<void(Responder)> run;
    // Optional: tried first, on the I/O thread that read the request, where the store is
    // local (ServerOptions::local_store), for a route whose answer is usually kept in
    // memory but must otherwise be built where `placement` says. Returns true if it
    // answered through the Responder (nothing else runs), false to run `run` as usual.
    // Cheap and never waits long, as kIoThread work.
    std::function<bool(const Responder&)> first;
  };

  // Routes a request once, cheaply (on the I/O thread that read it; no blocking).
  virtual Job JobFor(std::shared_ptr<const HttpRequest> request) const = 0;

  // The answer to a request the server could not read — 400 (malformed), 413 (body over
  // ServerOptions::max_body_bytes), 414 (target over max_target_bytes), 431 (header
  // fields too large) — or could not run because it is saturated or stopping (503).
  virtual HttpResponse Refusal(int status, const std::optional<std::string>& request_id) const = 0;
};

}  // namespace keypaird::server

#endif  // KEYPAIRD_SERVER_HANDLER_H_
