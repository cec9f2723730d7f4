#include "http/server.h"

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <exception>
#include <memory>
#include <restinio/all.hpp>
#include <restinio/tls.hpp>
#include <thread>
#include <vector>

#include "common/log.h"
#include "common/worker_pool.h"

namespace keypaird::http {
namespace {

// Counts open connections for /metrics.
class ConnectionCounter {
 public:
  explicit ConnectionCounter(Metrics* metrics) : metrics_(metrics) {}

  void state_changed(const restinio::connection_state::notice_t& notice) noexcept {
    if (metrics_ == nullptr) return;
    try {
      Count(notice);
    } catch (...) {  // a listener must not throw into RESTinio; a missed count is harmless
    }
  }

 private:
  void Count(const restinio::connection_state::notice_t& notice) {
    restinio::visit(
        [this](const auto& cause) {
          using T = std::decay_t<decltype(cause)>;
          if constexpr (std::is_same_v<T, restinio::connection_state::accepted_t>) {
            metrics_->ConnectionOpened();
          } else if constexpr (std::is_same_v<T, restinio::connection_state::closed_t>) {
            metrics_->ConnectionClosed();
          }
        },
        notice.cause());
  }

  Metrics* metrics_;
};

template <typename Base>
struct Traits : public Base {
  static constexpr bool use_connection_count_limiter = true;
  using connection_state_listener_t = ConnectionCounter;
};
using PlainTraits = Traits<restinio::default_traits_t>;
using TlsTraits = Traits<restinio::default_tls_traits_t>;

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
  }
}

std::optional<std::string> Header(const restinio::request_handle_t& req, const char* name) {
  auto v = req->header().opt_value_of(name);
  if (!v) return std::nullopt;
  return std::string(v->data(), v->size());
}

HttpRequest ToHttpRequest(const restinio::request_handle_t& req) {
  HttpRequest r;
  r.method = req->header().method().c_str();
  const std::string_view target = req->header().request_target();
  const size_t q = target.find('?');
  r.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));
  r.authorization = Header(req, "Authorization");
  r.content_type = Header(req, "Content-Type");
  r.request_id = Header(req, "X-Request-ID");
  r.if_match = Header(req, "If-Match");
  r.if_none_match = Header(req, "If-None-Match");
  r.body = req->body();
  return r;
}

// Writes the response; takes only its body (which may be a secret, wiped once sent).
void Send(const restinio::request_handle_t& req, HttpResponse& response) {
  auto builder = req->create_response(restinio::http_status_line_t{
      restinio::http_status_code_t{static_cast<std::uint16_t>(response.status)},
      ReasonPhrase(response.status)});
  for (const auto& [name, value] : response.headers) builder.append_header(name, value);
  if (response.body) {
    builder.append_header(restinio::http_field::content_type, response.content_type);
    builder.set_body(std::move(response.body));  // shared: wiped when RESTinio lets go
  }
  builder.done();
}

// The request's metrics, before its response goes out (so that a client that has its
// answer also sees it counted), and then its access-log line, after (a write to stderr
// need not delay the client).
struct Recorder {
  Metrics* metrics;
  const HttpRequest& request;
  std::chrono::steady_clock::time_point started;
  const char* route = "unmatched";
  double seconds = 0;

  void Count(const HttpResponse& response) {
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (response.route[0] != '\0') route = response.route;
    if (metrics != nullptr) metrics->ObserveRequest(route, request.method, response.status, seconds);
  }

  void Log(const HttpResponse& response) const {
    LogLine(LogLevel::kInfo, "request")
        .Str("request_id", response.Header("X-Request-ID"))
        .Str("method", request.method)
        .Str("route", route)
        .Int("status", response.status)
        .Num("duration_ms", seconds * 1000)
        .Str("token_id", response.token_id);
  }
};

// Answers one request: metrics, response, access log.
void Answer(const restinio::request_handle_t& req, const HttpRequest& request,
            HttpResponse response, Metrics* metrics,
            std::chrono::steady_clock::time_point started) {
  Recorder recorder{metrics, request, started};
  recorder.Count(response);
  Send(req, response);
  recorder.Log(response);
}

Status MakeTlsContext(const ServerOptions& options, asio::ssl::context* ctx) {
  try {
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    // TLS 1.2: forward-secret AEAD suites only; TLS 1.3 suites are all modern.
    SSL_CTX_set_cipher_list(ctx->native_handle(),
                            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                            "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                            "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
    ctx->use_certificate_chain_file(options.tls_cert_file);
    ctx->use_private_key_file(options.tls_key_file, asio::ssl::context::pem);
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("cannot use the TLS certificate or key: ") + e.what());
  }
  return Status::Ok();
}

// Where a route runs (Placement) mapped to threads: with a store whose reads leave the
// machine, nothing that touches the store may run on an I/O thread or the key pool.
Placement Effective(Placement p, bool local_store) {
  return local_store ? p : Placement::kWorker;
}

template <typename T>
Status Run(const ServerOptions& options, const Api& api, restinio::server_settings_t<T> settings) {
  BackgroundLogWriter log_writer;  // first in, last out: drains every line at return
  WorkerPool workers(options.workers, options.max_queued_requests);
  WorkerPool keygen(options.keygen_threads, options.max_queued_requests);
  asio::io_context ioctx;
  Metrics* metrics = options.metrics;
  // Requests received and not yet answered: a stop waits for them (their answer may come
  // from a worker, the key pool or the store's writer).
  std::atomic<int64_t> in_flight{0};
  auto answer = [metrics, &in_flight](const restinio::request_handle_t& req,
                                      const HttpRequest& request, HttpResponse r,
                                      std::chrono::steady_clock::time_point started) {
    Answer(req, request, std::move(r), metrics, started);
    in_flight.fetch_sub(1, std::memory_order_acq_rel);
  };

  // Runs `match` for `request` on `pool`; answers 503 at once if the pool is saturated.
  auto dispatch = [&api, metrics, answer](WorkerPool& pool, const char* pool_name,
                                  restinio::request_handle_t req,
                                  std::shared_ptr<const HttpRequest> request, Api::Match match,
                                  std::chrono::steady_clock::time_point started) {
    const bool queued = pool.Submit([&api, metrics, answer, pool_name, req, request, started,
                                     match = std::move(match)]() mutable {
      if (metrics != nullptr) {
        metrics->ObserveQueueWait(
            pool_name,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      }
      api.Handle(*request, std::move(match), [answer, req, request, started](HttpResponse r) {
        answer(req, *request, std::move(r), started);
      });
    });
    if (!queued) answer(req, *request, Api::Overloaded(*request), started);
  };

  settings.address(options.address)
      .port(options.port)
      // RESTinio drops connections past these; Api answers 413 for bodies over 64 KiB
      // that are still under the transport cap.
      .incoming_http_msg_limits(restinio::incoming_http_msg_limits_t{}
                                    .max_url_size(8 * 1024)
                                    .max_field_name_size(1024)
                                    .max_field_value_size(16 * 1024)
                                    .max_field_count(100)
                                    .max_body_size(1024 * 1024))
      .max_parallel_connections(options.max_connections)
      .read_next_http_message_timelimit(options.read_timeout)
      .write_http_response_timelimit(std::chrono::seconds(30))
      .handle_request_timeout(std::chrono::seconds(60))
      .connection_state_listener(std::make_shared<ConnectionCounter>(metrics))
      .request_handler([&api, &workers, &keygen, &options, &dispatch, &in_flight,
                        answer](restinio::request_handle_t req) {
        const auto started = std::chrono::steady_clock::now();
        in_flight.fetch_add(1, std::memory_order_acq_rel);
        auto request = std::make_shared<const HttpRequest>(ToHttpRequest(req));
        Api::Match match = api.MatchRoute(*request);
        switch (Effective(match.placement(), options.local_store)) {
          case Placement::kIoThread:
            api.Handle(*request, std::move(match), [answer, req, request, started](HttpResponse r) {
              answer(req, *request, std::move(r), started);
            });
            break;
          case Placement::kWorker:
            dispatch(workers, "workers", req, request, std::move(match), started);
            break;
          case Placement::kKeygen:
            dispatch(keygen, "keygen", req, request, std::move(match), started);
            break;
        }
        return restinio::request_accepted();
      });

  restinio::http_server_t<T> server{restinio::external_io_context(ioctx), std::move(settings)};

  std::exception_ptr open_error;
  server.open_async(
      [&options] {
        LogLine(LogLevel::kInfo, "listening")
            .Str("address", options.address)
            .Int("port", options.port)
            .Str("scheme", options.tls_cert_file.empty() ? "http" : "https");
      },
      [&](std::exception_ptr ex) {
        open_error = ex;
        ioctx.stop();
      });

  // Stop: close the listener, let requests already handed to workers finish and their
  // responses go out (bounded by shutdown_timeout), then stop the I/O threads.
  std::thread stopper;
  asio::signal_set signals(ioctx, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& ec, int signal_number) {
    if (ec) return;
    LogLine(LogLevel::kInfo, "stopping").Int("signal", signal_number);
    server.close_async([] {}, [](std::exception_ptr) {});
    stopper = std::thread([&] {
      const auto deadline = std::chrono::steady_clock::now() + options.shutdown_timeout;
      while (in_flight.load(std::memory_order_acquire) > 0 &&
             std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      if (in_flight.load(std::memory_order_acquire) > 0) {
        LogMessage(LogLevel::kWarn, "shutdown timeout: in-flight requests abandoned");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let writes flush
      ioctx.stop();
    });
  });

  std::vector<std::thread> io_threads;
  for (int i = 1; i < options.io_threads; ++i) io_threads.emplace_back([&] { ioctx.run(); });
  ioctx.run();
  for (auto& t : io_threads) t.join();
  if (stopper.joinable()) stopper.join();
  keygen.Shutdown();
  workers.Shutdown();

  if (open_error) {
    std::string what = "cannot listen on " + options.address + ":" + std::to_string(options.port);
    try {
      std::rethrow_exception(open_error);
    } catch (const std::exception& e) {
      what += std::string(": ") + e.what();
    }
    return Unavailable(what);
  }
  LogMessage(LogLevel::kInfo, "stopped");
  return Status::Ok();
}

}  // namespace

Status RunServer(const ServerOptions& options, const Api& api) {
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return InvalidArgument("TLS needs both a certificate and a key");
  }
  if (options.tls_cert_file.empty()) {
    return Run<PlainTraits>(options, api, restinio::server_settings_t<PlainTraits>{});
  }
  asio::ssl::context ctx{asio::ssl::context::tls_server};
  if (Status s = MakeTlsContext(options, &ctx); !s.ok()) return s;
  restinio::server_settings_t<TlsTraits> settings;
  settings.tls_context(std::move(ctx));
  return Run<TlsTraits>(options, api, std::move(settings));
}

}  // namespace keypaird::http
