// The agent commands' HTTP client against a scripted server on loopback: framing (Content-Length,
// chunked, to the end of the connection), the caps, the whole-request deadline, servers that
// fail in every way we could think of, and TLS with a certificate made by openssl.
#include "client/http_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "testing/fake_http_server.h"
#include "testing/openssh_harness.h"

namespace keypaird::client {
namespace {

using testutil::FakeHttpServer;
using testutil::FakeReply;
using testutil::FakeRequest;
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)

constexpr std::string_view kToken = "kpd_0123456789abcdef_secretsecretsecret";

std::unique_ptr<FakeHttpServer> Serve(FakeHttpServer::Handler handler, const std::string& cert = "",
                                      const std::string& key = "", bool ipv6 = false) {
  std::string error;
  auto server = FakeHttpServer::Start(std::move(handler), &error, cert, key, ipv6);
  EXPECT_NE(server, nullptr) << error;
  return server;
}

FakeHttpServer::Handler Always(FakeReply reply) {
  return [reply](const FakeRequest&) { return reply; };
}

FakeReply Raw(std::string bytes) {
  FakeReply r;
  r.pieces.push_back(std::move(bytes));
  return r;
}

HttpRequest Get(const std::string& url, std::string target = "/x") {
  HttpRequest request;
  StatusOr<HttpUrl> parsed = ParseHttpUrl(url);
  EXPECT_TRUE(parsed.ok()) << url;
  if (parsed.ok()) request.url = *parsed;
  request.target = std::move(target);
  request.bearer_token = kToken;
  return request;
}

HttpClientOptions Options(std::chrono::milliseconds timeout = 2s) {
  HttpClientOptions o;
  o.timeout = timeout;
  return o;
}

// Fails (and returns the status) unless the call failed with `code`; the token never shows.
Status Failed(const StatusOr<HttpResponse>& r, StatusCode code) {
  EXPECT_FALSE(r.ok()) << "status " << (r.ok() ? r->status : 0);
  EXPECT_EQ(r.status().code(), code) << r.status().message();
  EXPECT_EQ(r.status().message().find(kToken), std::string::npos);
  return r.status();
}

void ExpectFailed(const StatusOr<HttpResponse>& r, StatusCode code) {
  const Status s = Failed(r, code);
  (void)s;
}

bool Contains(const Status& s, std::string_view text) {
  return s.message().find(text) != std::string::npos;
}

TEST(HttpClientTest, SendsAGetWithHostTokenAndHeadersAndReadsAContentLengthBody) {
  auto server = Serve(Always(FakeHttpServer::Reply(
      200, "ssh-ed25519 AAAA a\n", {{"ETag", "\"v1\""}, {"Content-Type", "text/plain"}})));
  HttpRequest request = Get(server->Url() + "/prefix/", "/api/v1/projects/1/authorized_keys?a=b");
  request.headers.emplace_back("If-None-Match", "\"v0\"");
  StatusOr<HttpResponse> r = HttpCall(request, Options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ssh-ed25519 AAAA a\n");
  ASSERT_NE(r->Header("etag"), nullptr);
  EXPECT_EQ(*r->Header("etag"), "\"v1\"");
  EXPECT_EQ(r->Header("X-Missing"), nullptr);

  ASSERT_EQ(server->Requests().size(), 1u);
  const FakeRequest got = server->Requests()[0];
  EXPECT_EQ(got.method, "GET");
  EXPECT_EQ(got.target, "/prefix/api/v1/projects/1/authorized_keys?a=b");
  EXPECT_EQ(got.Header("Host"), "127.0.0.1:" + std::to_string(server->port()));
  EXPECT_EQ(got.Header("Authorization"), "Bearer " + std::string(kToken));
  EXPECT_EQ(got.Header("If-None-Match"), "\"v0\"");
  EXPECT_EQ(got.Header("Connection"), "close");
  EXPECT_EQ(got.Header("User-Agent").rfind("keypaird/", 0), 0u);
}

TEST(HttpClientTest, ReadsChunkedBodiesSentInPiecesWithExtensionsAndTrailers) {
  FakeReply reply;
  reply.pieces = {
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
      // not really gzip: only the last coding frames the body
      "5;ext=1\r\nhello\r\n",
      "1", "\r\n \r\n", "A\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"};
  reply.pause = 20ms;
  auto server = Serve(Always(reply));
  StatusOr<HttpResponse> r = HttpCall(Get(server->Url()), Options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->body, "hello 0123456789");
}

// Every byte in a read of its own: each framing is parsed across reads (chunk sizes,
// extensions, the CRLF after a chunk's data, trailers, an interim answer before the answer).
FakeReply OneByteAtATime(std::string_view bytes) {
  FakeReply reply;
  for (char c : bytes) reply.pieces.emplace_back(1, c);
  reply.pause = 1ms;
  return reply;
}

TEST(HttpClientTest, EveryFramingIsReadByteByByte) {
  auto chunked = Serve(Always(OneByteAtATime(
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 200 OK\r\nX-A:  a b \r\nX-Empty:\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=\"x y\";e2\r\nhello\r\n1\r\n \r\na\r\n0123456789\r\n"
      "0\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n")));
  StatusOr<HttpResponse> r = HttpCall(Get(chunked->Url()), Options(5s));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello 0123456789");
  ASSERT_NE(r->Header("X-A"), nullptr);
  EXPECT_EQ(*r->Header("X-A"), "a b");
  ASSERT_NE(r->Header("X-Empty"), nullptr);
  EXPECT_EQ(*r->Header("X-Empty"), "");
  EXPECT_EQ(r->Header("X-Trailer"), nullptr);  // trailers are not headers
  EXPECT_EQ(r->headers.size(), 3u);

  auto by_length = Serve(Always(OneByteAtATime("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")));
  r = HttpCall(Get(by_length->Url()), Options(5s));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->body, "abc");

  auto to_close = Serve(Always(OneByteAtATime("HTTP/1.0 200 OK\r\n\r\nto the end")));
  r = HttpCall(Get(to_close->Url()), Options(5s));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->body, "to the end");
}

TEST(HttpClientTest, ChunkedWinsOverContentLengthAndBytesAfterTheAnswerAreIgnored) {
  auto server = Serve(
      Always(Raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "3\r\nabc\r\n0\r\n\r\nHTTP/1.1 500 Oops\r\n\r\n")));
  StatusOr<HttpResponse> r = HttpCall(Get(server->Url()), Options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "abc");
  // Codings in two fields: the last one is the one that frames.
  auto two_fields = Serve(
      Always(Raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "2\r\nxy\r\n0\r\n\r\n")));
  r = HttpCall(Get(two_fields->Url()), Options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->body, "xy");
}

TEST(HttpClientTest, ABodyWithoutFramingRunsToTheEndOfTheConnection) {
  auto server = Serve(Always(Raw("HTTP/1.0 200 OK\r\n\r\nall of it")));
  StatusOr<HttpResponse> r = HttpCall(Get(server->Url()), Options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->body, "all of it");
}

TEST(HttpClientTest, NotModifiedHasNoBodyAndInterimAnswersAreSkipped) {
  // A 304 may carry the Content-Length of the full answer; it still has no body, so this
  // answer is complete without the 7 bytes (and the server holds the connection open).
  FakeReply not_modified =
      Raw("HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\nETag: \"e\"\r\n\r\n");
  not_modified.hang = true;
  auto server = Serve(Always(not_modified));
  StatusOr<HttpResponse> r = HttpCall(Get(server->Url()), Options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 304);
  EXPECT_EQ(r->body, "");

  auto interim =
      Serve(Always(Raw("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
                       "Link: </a>\r\n\r\n" +
                       FakeHttpServer::Answer(401, "{}"))));
  r = HttpCall(Get(interim->Url()), Options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->body, "{}");
}

TEST(HttpClientTest, AnyStatusIsAnAnswerAndRedirectsAreNotFollowed) {
  for (int status : {301, 400, 404, 500, 503}) {
    auto server =
        Serve(Always(FakeHttpServer::Reply(status, "b", {{"Location", "http://127.0.0.1:1/"}})));
    StatusOr<HttpResponse> r = HttpCall(Get(server->Url()), Options());
    ASSERT_TRUE(r.ok()) << status << ": " << r.status().message();
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(server->Requests().size(), 1u);
  }
}

TEST(HttpClientTest, AServerThatAcceptsAndNeverAnswersTimesOutOnTime) {
  FakeReply silent;
  silent.hang = true;
  auto server = Serve(Always(silent));
  const auto start = std::chrono::steady_clock::now();
  const Status s = Failed(HttpCall(Get(server->Url()), Options(300ms)), StatusCode::kUnavailable);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(s.message(), "no complete answer from 127.0.0.1:" + std::to_string(server->port()) +
                             " within 300ms");
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 1500ms);
}

TEST(HttpClientTest, TheDeadlineCoversTheWholeAnswerNotEachRead) {
  // Every piece comes well within the timeout of the one before; together they take 1.2 s.
  FakeReply drip;
  drip.pieces = {"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n", "a", "b", "c", "d", "e", "f"};
  drip.pause = 200ms;
  auto server = Serve(Always(drip));
  const auto start = std::chrono::steady_clock::now();
  ExpectFailed(HttpCall(Get(server->Url()), Options(500ms)), StatusCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1100ms);
}

TEST(HttpClientTest, AClosedPortIsUnavailable) {
  const int port = testutil::FreeLoopbackPort();
  const Status s = Failed(HttpCall(Get("http://127.0.0.1:" + std::to_string(port)), Options()),
                          StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "cannot connect to 127.0.0.1:" + std::to_string(port) +
                             " (127.0.0.1: Connection refused)");
}

TEST(HttpClientTest, AServerThatResetsTheConnectionIsAnErrorNotASignal) {
  // Accepts, then resets at once (SO_LINGER 0): the client's write or read fails; SIGPIPE
  // must not end the test process.
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::atomic<bool> stop = false;
  std::thread resetter([&] {
    while (!stop) {
      const int c = accept(fd, nullptr, nullptr);
      if (c < 0) return;
      linger l{1, 0};
      setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
      close(c);
    }
  });
  HttpRequest request = Get("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)));
  request.headers.emplace_back("X-Big", std::string(1 << 20, 'x'));  // still writing at reset
  for (int i = 0; i < 5; ++i) ExpectFailed(HttpCall(request, Options()), StatusCode::kUnavailable);
  stop = true;
  shutdown(fd, SHUT_RDWR);
  resetter.join();
  close(fd);
}

TEST(HttpClientTest, AnAnswerCutShortIsNotTakenForAWholeOne) {
  auto server = Serve(Always(Raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")));
  const Status s = Failed(HttpCall(Get(server->Url()), Options()), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(s, "closed the connection before a complete answer")) << s.message();

  auto chunk_cut =
      Serve(Always(Raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5\r\nhello\r\n")));
  ExpectFailed(HttpCall(Get(chunk_cut->Url()), Options()), StatusCode::kUnavailable);

  // Cut inside a chunk's data, inside its CRLF, before the last chunk, inside the trailers,
  // inside a head, after an interim answer.
  for (const char* cut : {"5\r\nhel", "5\r\nhello\r", "5\r\nhello\r\n", "0\r\nX-T: t\r\n"}) {
    auto server_cut = Serve(
        Always(Raw(std::string("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") + cut)));
    const Status c = Failed(HttpCall(Get(server_cut->Url()), Options()), StatusCode::kUnavailable);
    EXPECT_TRUE(Contains(c, "closed the connection before a complete answer")) << c.message();
  }
  for (const char* cut : {"HTTP/1.1 200 OK\r\nContent-Le", "HTTP/1.1 100 Continue\r\n\r\n"}) {
    auto head_cut = Serve(Always(Raw(cut)));
    const Status c = Failed(HttpCall(Get(head_cut->Url()), Options()), StatusCode::kUnavailable);
    EXPECT_TRUE(Contains(c, "closed the connection before a complete answer")) << c.message();
  }

  auto nothing = Serve(Always(FakeReply{}));  // reads the request, closes without a word
  ExpectFailed(HttpCall(Get(nothing->Url()), Options()), StatusCode::kUnavailable);
}

TEST(HttpClientTest, BodiesAboveTheCapAreRefusedHoweverTheyAreFramed) {
  HttpClientOptions small = Options();
  small.max_body_bytes = 10;
  const std::string eleven(11, 'k');
  auto by_length = Serve(Always(FakeHttpServer::Reply(200, eleven)));
  Status s = Failed(HttpCall(Get(by_length->Url()), small), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(s, "is larger than 10 bytes")) << s.message();
  auto chunked =
      Serve(Always(Raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "6\r\nkkkkkk\r\n5\r\nkkkkk\r\n0\r\n\r\n")));
  s = Failed(HttpCall(Get(chunked->Url()), small), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(s, "is larger than 10 bytes")) << s.message();
  auto to_close = Serve(Always(Raw("HTTP/1.1 200 OK\r\n\r\n" + eleven)));
  s = Failed(HttpCall(Get(to_close->Url()), small), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(s, "is larger than 10 bytes")) << s.message();
  // Exactly at the cap is fine.
  auto ten = Serve(Always(FakeHttpServer::Reply(200, std::string(10, 'k'))));
  EXPECT_TRUE(HttpCall(Get(ten->Url()), small).ok());

  HttpClientOptions small_head = Options();
  small_head.max_header_bytes = 100;
  auto big_head = Serve(Always(FakeHttpServer::Reply(200, "", {{"X-Pad", std::string(200, 'p')}})));
  s = Failed(HttpCall(Get(big_head->Url()), small_head), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(s, "header is too large")) << s.message();
  // A head that never ends, in pieces, is refused once past the cap, without waiting for more.
  FakeReply endless;
  endless.pieces = {"HTTP/1.1 200 OK\r\n", std::string(60, 'h'), std::string(60, 'h')};
  endless.pause = 20ms;
  endless.hang = true;
  auto endless_head = Serve(Always(endless));
  s = Failed(HttpCall(Get(endless_head->Url()), small_head), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(s, "header is too large")) << s.message();
  // A head at the cap is fine; the status line counts, the CRLFs that end the head do not.
  const std::string at_cap = "HTTP/1.1 200 OK\r\nX-Pad: ";
  auto full_head = Serve(Always(Raw(at_cap + std::string(100 - at_cap.size(), 'p') + "\r\n\r\n")));
  EXPECT_TRUE(HttpCall(Get(full_head->Url()), small_head).ok());
  auto over_head = Serve(Always(Raw(at_cap + std::string(101 - at_cap.size(), 'p') + "\r\n\r\n")));
  ExpectFailed(HttpCall(Get(over_head->Url()), small_head), StatusCode::kUnavailable);
  // The cap is for each head: interim answers do not add up.
  auto interims = Serve(Always(Raw("HTTP/1.1 100 Continue\r\nX-Pad: " + std::string(40, 'p') +
                                   "\r\n\r\nHTTP/1.1 200 OK\r\nX-Pad: " + std::string(40, 'p') +
                                   "\r\nContent-Length: 0\r\n\r\n")));
  EXPECT_TRUE(HttpCall(Get(interims->Url()), small_head).ok());
}

TEST(HttpClientTest, MalformedAnswersAreRefusedWithTheReason) {
  const std::pair<std::string, std::string> cases[] = {
      {"SSH-2.0-OpenSSH_9.2\r\n\r\n", "its status line is not HTTP/1.x"},
      {"HTTP/1.1 2x0 OK\r\n\r\n", "its status is not a number"},
      {"HTTP/1.1 200 OK\r\nX: a\r\n  folded\r\n\r\n", "it folds a header line"},
      {"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "it has a malformed header line"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
       "it has two different Content-Lengths"},
      {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "its Content-Length is not a number"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
       "it uses a transfer coding other than chunked: gzip"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "a chunk size is not hex"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
       "a chunk does not end in CRLF"},
      {"HTTP/1.1 101 Switching Protocols\r\n\r\n",
       "switched protocols (101), which a GET never asks"},
      // What the lenient http_parser lets through, refused all the same.
      {"HXXX/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "its status line is not HTTP/1.x"},
      {"\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "its status line is not HTTP/1.x"},
      {"HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n", "its status line is not HTTP/1.x"},
      {"HTTP/1.1 0200 OK\r\nContent-Length: 0\r\n\r\n", "its status line is not HTTP/1.x"},
      {"HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n", "its status is below 100"},
      {"HTTP/1.1 200 OK\nContent-Length: 0\n\n", "a line does not end in CRLF"},
      {"HTTP/1.1 200 OK\rX-A: b\r\nContent-Length: 0\r\n\r\n", "a line does not end in CRLF"},
      {"HTTP/1.1 200 OK\r\nX-A:\r\n folded\r\nContent-Length: 0\r\n\r\n", "it folds a header line"},
      {"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n", "it has a malformed header line"},
      {"HTTP/1.1 200 OK\r\nX\t: a\r\nContent-Length: 0\r\n\r\n", "it has a malformed header line"},
      {"HTTP/1.1 200 OK\r\n: a\r\nContent-Length: 0\r\n\r\n", "it has a malformed header line"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY0\r\n\r\n",
       "a chunk does not end in CRLF"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nX: a\r\n b\r\n\r\n",
       "it folds a header line"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
       "it uses a transfer coding other than chunked: chunked, gzip"},
      {"HTTP/1.1 100 Continue\r\nX : y\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
       "it has a malformed header line"},
      {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
       "a line does not end in CRLF"},
  };
  for (const auto& [answer, reason] : cases) {
    auto server = Serve(Always(Raw(answer)));
    const Status s = Failed(HttpCall(Get(server->Url()), Options()), StatusCode::kUnavailable);
    EXPECT_EQ(s.message(),
              "bad answer from 127.0.0.1:" + std::to_string(server->port()) + ": " + reason);
  }
}

TEST(HttpClientTest, PlainHttpIsRefusedOffLoopbackBeforeAnyConnection) {
  for (const char* url : {"http://10.1.2.3:8080", "http://192.0.2.1", "http://keys.example.com",
                          "http://[2001:db8::1]"}) {
    const auto start = std::chrono::steady_clock::now();
    const Status s = Failed(HttpCall(Get(url), Options(5s)), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(s, "plain http:// is allowed only to a loopback address")) << url;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 100ms) << url;  // nothing was tried
  }
}

TEST(HttpClientTest, LoopbackByNameAndOverIpv6) {
  auto v4 = Serve(Always(FakeHttpServer::Reply(200, "four")));
  StatusOr<HttpResponse> r =
      HttpCall(Get("http://localhost:" + std::to_string(v4->port())), Options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->body, "four");
  EXPECT_EQ(v4->Requests().at(0).Header("Host"), "localhost:" + std::to_string(v4->port()));

  auto v6 = Serve(Always(FakeHttpServer::Reply(200, "six")), "", "", /*ipv6=*/true);
  r = HttpCall(Get(v6->Url()), Options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->body, "six");
  EXPECT_EQ(v6->Requests().at(0).Header("Host"), "[::1]:" + std::to_string(v6->port()));
}

TEST(HttpClientTest, PostsAFormWithBasicCredentials) {
  auto server = Serve(Always(FakeHttpServer::Reply(200, "{}")));
  HttpRequest request = Get(server->Url(), "/token");
  request.bearer_token = "";
  const std::string form = "grant_type=authorization_code&code=c%2F1&code_verifier=v";
  request.form_body = form;
  request.basic_credentials = "a2V5cGFpcmQ6c2VjcmV0";
  StatusOr<HttpResponse> r = HttpCall(request, Options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(server->Requests().size(), 1u);
  const FakeRequest got = server->Requests()[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.target, "/token");
  EXPECT_EQ(got.Header("Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(got.Header("Content-Length"), std::to_string(form.size()));
  EXPECT_EQ(got.Header("Authorization"), "Basic a2V5cGFpcmQ6c2VjcmV0");
  EXPECT_EQ(got.body, form);
}

TEST(HttpClientTest, PostsJsonWithABearerToken) {
  auto server = Serve(Always(FakeHttpServer::Reply(201, "{}")));
  HttpRequest request = Get(server->Url(), "/api/v1/projects/1/ssh_ca/sign");
  const std::string json = R"({"public_key":"ssh-ed25519 AAAA","valid_for":60})";
  request.json_body = json;
  StatusOr<HttpResponse> r = HttpCall(request, Options());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 201);
  ASSERT_EQ(server->Requests().size(), 1u);
  const FakeRequest got = server->Requests()[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.Header("Content-Type"), "application/json");
  EXPECT_EQ(got.Header("Content-Length"), std::to_string(json.size()));
  EXPECT_EQ(got.Header("Authorization").rfind("Bearer ", 0), 0u);
  EXPECT_EQ(got.body, json);
  // Never two bodies in one request.
  request.form_body = "a=b";
  ExpectFailed(HttpCall(request, Options()), StatusCode::kInvalidArgument);
  EXPECT_EQ(server->Requests().size(), 1u);
}

TEST(HttpClientTest, BearerAndBasicTogetherOrABodyWithALineBreakAreNeverSent) {
  auto server = Serve(Always(FakeHttpServer::Reply(200, "")));
  HttpRequest both = Get(server->Url());
  both.basic_credentials = "a2V5cGFpcmQ6c2VjcmV0";
  ExpectFailed(HttpCall(both, Options()), StatusCode::kInvalidArgument);
  HttpRequest bad_basic = Get(server->Url());
  bad_basic.bearer_token = "";
  bad_basic.basic_credentials = "abc\r\nX-Injected: 1";
  ExpectFailed(HttpCall(bad_basic, Options()), StatusCode::kInvalidArgument);
  HttpRequest bad_body = Get(server->Url());
  bad_body.form_body = "a=b\r\n\r\nGET / HTTP/1.1";
  ExpectFailed(HttpCall(bad_body, Options()), StatusCode::kInvalidArgument);
  EXPECT_TRUE(server->Requests().empty());
}

TEST(HttpClientTest, HeadersWithLineBreaksAreNeverSent) {
  auto server = Serve(Always(FakeHttpServer::Reply(200, "")));
  HttpRequest request = Get(server->Url());
  request.headers.emplace_back("X-A", "a\r\nX-Injected: 1");
  ExpectFailed(HttpCall(request, Options()), StatusCode::kInvalidArgument);
  HttpRequest bad_token = Get(server->Url());
  bad_token.bearer_token = "abc\r\nX-Injected: 1";
  ExpectFailed(HttpCall(bad_token, Options()), StatusCode::kInvalidArgument);
  HttpRequest bad_target = Get(server->Url(), "/a b");
  ExpectFailed(HttpCall(bad_target, Options()), StatusCode::kInvalidArgument);
  EXPECT_TRUE(server->Requests().empty());
}

// ---- TLS, with a self-signed certificate for localhost and 127.0.0.1 made by openssl.

class HttpClientTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(dir_.ok());
    std::string error;
    ASSERT_TRUE(
        testutil::MakeSelfSignedCertificate(cert_, key_, "DNS:localhost,IP:127.0.0.1", &error))
        << error;
  }
  HttpClientOptions Trusting() {
    HttpClientOptions o = Options();
    o.ca_file = cert_;
    return o;
  }
  testutil::TempDir dir_;
  std::string cert_ = dir_ / "cert.pem";
  std::string key_ = dir_ / "key.pem";
};

TEST_F(HttpClientTlsTest, ACertificateTrustedThroughCaFileIsAccepted) {
  auto server = Serve(Always(FakeHttpServer::Reply(200, "over tls")), cert_, key_);
  StatusOr<HttpResponse> r = HttpCall(Get(server->Url()), Trusting());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->body, "over tls");
  EXPECT_EQ(server->Requests().at(0).Header("Authorization"), "Bearer " + std::string(kToken));
  // By name: SNI and the DNS name in the certificate.
  r = HttpCall(Get("https://localhost:" + std::to_string(server->port())), Trusting());
  ASSERT_TRUE(r.ok()) << r.status().message();
}

// Sets an environment variable for one test (unset when `value` is null); restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// The system's trust store is its hashed directory, read when a chain asks for a subject
// (not the whole bundle up front); $SSL_CERT_FILE, when set, still counts.
TEST_F(HttpClientTlsTest, TheSystemTrustStoreIsItsHashedDirectoryOrSslCertFile) {
  auto server = Serve(Always(FakeHttpServer::Reply(200, "trusted by the system")), cert_, key_);
  const std::filesystem::path store = std::filesystem::path(dir_ / "certs");
  std::filesystem::create_directory(store);
  {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(cert_.c_str(), "r"), &std::fclose);
    ASSERT_NE(f, nullptr);
    std::unique_ptr<X509, void (*)(X509*)> x(PEM_read_X509(f.get(), nullptr, nullptr, nullptr),
                                             &X509_free);
    ASSERT_NE(x, nullptr);
    char name[16];
    std::snprintf(name, sizeof(name), "%08lx.0", X509_subject_name_hash(x.get()));
    std::filesystem::copy_file(cert_, store / name);
  }
  ScopedEnv no_file("SSL_CERT_FILE", nullptr);
  {
    ScopedEnv dir("SSL_CERT_DIR", store.c_str());
    StatusOr<HttpResponse> r = HttpCall(Get(server->Url()), Options());
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->body, "trusted by the system");
  }
  ScopedEnv empty_dir("SSL_CERT_DIR", (dir_ / "nowhere").c_str());
  const Status untrusted =
      Failed(HttpCall(Get(server->Url()), Options()), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(untrusted, "is not trusted")) << untrusted.message();
  ScopedEnv file("SSL_CERT_FILE", cert_.c_str());
  EXPECT_TRUE(HttpCall(Get(server->Url()), Options()).ok());
}

TEST_F(HttpClientTlsTest, AnUntrustedCertificateIsRefusedAndNoRequestIsSent) {
  auto server = Serve(Always(FakeHttpServer::Reply(200, "x")), cert_, key_);
  const Status s = Failed(HttpCall(Get(server->Url()), Options()), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "the TLS certificate of 127.0.0.1:" + std::to_string(server->port()) +
                             " is not trusted: self-signed certificate");
  EXPECT_TRUE(server->Requests().empty());
}

TEST_F(HttpClientTlsTest, ACertificateForAnotherNameIsRefused) {
  const std::string other_cert = dir_ / "other.pem";
  const std::string other_key = dir_ / "other.key";
  std::string error;
  ASSERT_TRUE(testutil::MakeSelfSignedCertificate(other_cert, other_key,
                                                  "DNS:keys.example.com,IP:192.0.2.1", &error))
      << error;
  auto server = Serve(Always(FakeHttpServer::Reply(200, "x")), other_cert, other_key);
  HttpClientOptions o = Options();
  o.ca_file = other_cert;
  Status s = Failed(HttpCall(Get(server->Url()), o), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(s, "is not trusted: IP address mismatch")) << s.message();
  s = Failed(HttpCall(Get("https://localhost:" + std::to_string(server->port())), o),
             StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(s, "is not trusted: hostname mismatch")) << s.message();
  EXPECT_TRUE(server->Requests().empty());
}

TEST_F(HttpClientTlsTest, ChunkedOverTlsAndACutStreamWithoutCloseNotify) {
  auto chunked = Serve(Always(Raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "3\r\nabc\r\n0\r\n\r\n")),
                       cert_, key_);
  StatusOr<HttpResponse> r = HttpCall(Get(chunked->Url()), Trusting());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->body, "abc");

  // A body framed by the end of the stream must end with close_notify: else an attacker who
  // can cut the TCP connection could shorten it.
  FakeReply cut = Raw("HTTP/1.1 200 OK\r\n\r\npart");
  cut.tls_close_notify = false;
  auto truncating = Serve(Always(cut), cert_, key_);
  const Status s = Failed(HttpCall(Get(truncating->Url()), Trusting()), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(s, "over TLS")) << s.message();

  FakeReply clean = Raw("HTTP/1.1 200 OK\r\n\r\nwhole");
  auto closing = Serve(Always(clean), cert_, key_);
  r = HttpCall(Get(closing->Url()), Trusting());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->body, "whole");
}

TEST_F(HttpClientTlsTest, AHandshakeThatNeverCompletesTimesOut) {
  // A plain server that reads the ClientHello and says nothing.
  FakeReply silent;
  silent.hang = true;
  auto server = Serve(Always(silent));
  const auto start = std::chrono::steady_clock::now();
  ExpectFailed(HttpCall(Get("https://127.0.0.1:" + std::to_string(server->port())), Options(300ms)),
               StatusCode::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
}

TEST_F(HttpClientTlsTest, AnUnreadableCaFileIsAConfigurationError) {
  HttpClientOptions o = Options();
  o.ca_file = dir_ / "missing.pem";
  const Status s = Failed(HttpCall(Get("https://127.0.0.1:1"), o), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s, "cannot load the trust anchors of --ca-file " + o.ca_file))
      << s.message();
  EXPECT_TRUE(Contains(s, "No such file or directory")) << s.message();
}

// A --ca-file that holds no certificate at all (empty, a key, text) is refused before
// connecting, whether or not the service answers; one whose certificate is damaged is found
// when the service is reached (the anchors are parsed only then), never trusted.
TEST_F(HttpClientTlsTest, ACaFileWithoutACertificateIsAConfigurationErrorBeforeConnecting) {
  auto server = Serve(Always(FakeHttpServer::Reply(200, "x")), cert_, key_);
  HttpClientOptions o = Options();
  for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
           {"empty.pem", ""},
           {"key.pem", testutil::ReadFile(key_)},
           {"notes.pem", "-----BEGIN NOTES-----\nnot a certificate\n-----END NOTES-----\n"}}) {
    o.ca_file = dir_ / name;
    ASSERT_TRUE(testutil::WriteFile(o.ca_file, text, 0644));
    for (const std::string& url : {server->Url(), std::string("https://127.0.0.1:1")}) {
      const Status s = Failed(HttpCall(Get(url), o), StatusCode::kInvalidArgument);
      EXPECT_TRUE(Contains(s, "--ca-file " + o.ca_file + ": no PEM certificate in it"))
          << url << ": " << s.message();
    }
  }
  o.ca_file = dir_ / "damaged.pem";
  std::string damaged = testutil::ReadFile(cert_);
  damaged.replace(damaged.find('\n') + 1, 8, "!!!!!!!!");
  ASSERT_TRUE(testutil::WriteFile(o.ca_file, damaged, 0644));
  Status s = Failed(HttpCall(Get(server->Url()), o), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s, "cannot load the trust anchors of --ca-file " + o.ca_file))
      << s.message();
  // The service down: an outage (an agent falls back to its cache), not a trust.
  ExpectFailed(HttpCall(Get("https://127.0.0.1:1"), o), StatusCode::kUnavailable);
  EXPECT_TRUE(server->Requests().empty());
}

}  // namespace
}  // namespace keypaird::client
