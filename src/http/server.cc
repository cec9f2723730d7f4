#include "http/server.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <restinio/all.hpp>
#include <thread>
#include <vector>

#include "common/worker_pool.h"

namespace keypaird::http {
namespace {

using Traits = restinio::traits_t<restinio::asio_timer_manager_t, restinio::null_logger_t>;

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
  r.body = req->body();
  return r;
}

void Send(const restinio::request_handle_t& req, HttpResponse response) {
  auto builder = req->create_response(restinio::http_status_line_t{
      restinio::http_status_code_t{static_cast<std::uint16_t>(response.status)},
      ReasonPhrase(response.status)});
  for (auto& [name, value] : response.headers) builder.append_header(name, std::move(value));
  if (response.body) {
    builder.append_header(restinio::http_field::content_type, "application/json");
    builder.set_body(std::move(response.body));  // shared: wiped when RESTinio lets go
  }
  builder.done();
}

}  // namespace

Status RunServer(const ServerOptions& options, const Api& api) {
  WorkerPool workers(options.workers);
  asio::io_context ioctx;

  restinio::server_settings_t<Traits> settings;
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
      .read_next_http_message_timelimit(std::chrono::seconds(60))
      .write_http_response_timelimit(std::chrono::seconds(30))
      .handle_request_timeout(std::chrono::seconds(30))
      .request_handler([&api, &workers](restinio::request_handle_t req) {
        HttpRequest request = ToHttpRequest(req);
        const bool queued = workers.Submit(
            [&api, req, request = std::move(request)] { Send(req, api.Handle(request)); });
        return queued ? restinio::request_accepted() : restinio::request_rejected();
      });

  restinio::http_server_t<Traits> server{restinio::external_io_context(ioctx),
                                         std::move(settings)};

  std::exception_ptr open_error;
  server.open_async(
      [&options] {
        std::fprintf(stderr, "keypaird: listening on http://%s:%u\n", options.address.c_str(),
                     static_cast<unsigned>(options.port));
      },
      [&](std::exception_ptr ex) {
        open_error = ex;
        ioctx.stop();
      });

  // Stop: close the listener, let queued requests finish and their responses go out,
  // then stop the I/O threads.
  std::thread stopper;
  asio::signal_set signals(ioctx, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& ec, int) {
    if (ec) return;
    std::fprintf(stderr, "keypaird: stopping\n");
    server.close_async([] {}, [](std::exception_ptr) {});
    stopper = std::thread([&] {
      workers.Shutdown();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let writes flush
      ioctx.stop();
    });
  });

  std::vector<std::thread> io_threads;
  for (int i = 1; i < options.io_threads; ++i) io_threads.emplace_back([&] { ioctx.run(); });
  ioctx.run();
  for (auto& t : io_threads) t.join();
  if (stopper.joinable()) stopper.join();
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
  return Status::Ok();
}

}  // namespace keypaird::http
