// /auth/login, /auth/callback and /auth/logout: a person's sign-in with the organisation's
// OpenID provider (service/sign_in.h; docs/people.md), and the session cookie it leaves.
//
// Two cookies, both HttpOnly and SameSite=Lax, Secure when --public-url is https://:
// "keypaird_login" (Path=/auth/callback, ten minutes) holds the state of the sign-in this
// browser started, so a callback brought by another browser's request is refused;
// "keypaird_session" (Path=/) holds the session's token until --session-ttl. The login and
// callback answers are pages for a person (text/html), not JSON.
#include <string>
#include <string_view>

#include "common/log.h"
#include "common/strings.h"
#include "http/api_internal.h"
#include "http/body.h"
#include "http/decoding.h"

namespace keypaird::http {
namespace {

constexpr std::string_view kLoginCookie = "keypaird_login";
constexpr std::string_view kSessionCookie = "keypaird_session";

std::string HtmlEscaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Cookie(std::string_view name, std::string_view value, std::string_view path,
                   int64_t max_age_s, bool secure) {
  std::string c(name);
  c.append("=").append(value).append("; Path=").append(path);
  c += "; Max-Age=" + std::to_string(max_age_s) + "; HttpOnly; SameSite=Lax";
  if (secure) c += "; Secure";
  return c;
}

// A page for the person signing in: what went wrong and a way to start again.
HttpResponse SignInPage(int status, std::string_view message, const std::string& request_id) {
  std::string body =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>keypaird: sign-in</title></head><body><main><h1>Sign-in did not work</h1><p>" +
      HtmlEscaped(message) +
      "</p><p><a href=\"/auth/login\">Sign in again</a> or go to the <a href=\"/console/\">"
      "console</a>.</p><p><small>Request " +
      request_id + "</small></p></main></body></html>\n";
  HttpResponse r = MakeResponse(status, std::move(body), request_id);
  r.content_type = "text/html; charset=utf-8";
  r.no_store = true;
  r.headers.emplace_back("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

}  // namespace

std::optional<std::string_view> CookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t end = header.find(';');
    std::string_view pair = TrimBlanks(header.substr(0, end));
    const size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      std::string_view value = pair.substr(eq + 1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return value;
    }
    if (end == std::string_view::npos) break;
    header.remove_prefix(end + 1);
  }
  return std::nullopt;
}

std::optional<std::string_view> SessionCookie(const HttpRequest& request) {
  if (!request.cookie.has_value()) return std::nullopt;
  return CookieValue(*request.cookie, kSessionCookie);
}

Api::Reply Api::AuthLogin(Call& call) const {
  if (extras_.sign_in == nullptr) return ErrorResponse(SignInOff(), call.request_id);
  Query query;
  if (Status s = ParseQuery(call.request.query, &query); !s.ok()) {
    return SignInPage(400, s.message(), call.request_id);
  }
  const std::string* return_to = QueryValue(query, "return_to");
  StatusOr<service::LoginStarted> started =
      extras_.sign_in->Start(return_to != nullptr ? *return_to : "");
  if (!started.ok()) {
    return SignInPage(HttpStatusOf(started.status().code()), started.status().message(),
                      call.request_id);
  }
  HttpResponse r = NoContent(call.request_id);
  r.status = 302;
  r.no_store = true;
  r.headers.emplace_back("Location", started->redirect_url);
  r.headers.emplace_back("Set-Cookie", Cookie(kLoginCookie, started->state, "/auth/callback", 600,
                                              extras_.sign_in->secure_cookies()));
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

Api::Reply Api::AuthCallback(Call& call) const {
  if (extras_.sign_in == nullptr) return ErrorResponse(SignInOff(), call.request_id);
  service::SignIn& sign_in = *extras_.sign_in;
  const service::RequestOrigin from{call.caller.source_ip, call.caller.user_agent};
  // Whatever the outcome, this browser's sign-in is over.
  const std::string forget_login =
      Cookie(kLoginCookie, "", "/auth/callback", 0, sign_in.secure_cookies());
  auto page = [&](int status, std::string_view message) {
    HttpResponse r = SignInPage(status, message, call.request_id);
    r.headers.emplace_back("Set-Cookie", forget_login);
    return r;
  };
  Query query;
  if (Status s = ParseQuery(call.request.query, &query); !s.ok()) return page(400, s.message());
  const std::string* code = QueryValue(query, "code");
  const std::string* state = QueryValue(query, "state");
  const std::optional<std::string_view> browser_state =
      call.request.cookie ? CookieValue(*call.request.cookie, kLoginCookie) : std::nullopt;
  if (const std::string* error = QueryValue(query, "error"); error != nullptr) {
    // The provider said no (the person declined, or the provider refused keypaird).
    const std::string name = ValidUtf8(error->substr(0, 64));
    if (browser_state.has_value()) sign_in.Refused("provider: " + name, from);
    return page(401, "The identity provider did not sign you in (" + name + ").");
  }
  StatusOr<service::SessionStarted> session =
      sign_in.Finish(code != nullptr ? *code : "", state != nullptr ? *state : "",
                     browser_state.value_or(""), from);
  if (!session.ok()) {
    const int status = HttpStatusOf(session.status().code());
    if (status == 500) {
      LogLine(LogLevel::kError, "sign-in failed").Str("error", session.status().message());
      return page(500, "Something went wrong on the server; try again.");
    }
    return page(status, session.status().message());
  }
  HttpResponse r = NoContent(call.request_id);
  r.status = 302;
  r.no_store = true;
  r.headers.emplace_back("Location", session->return_to);
  r.headers.emplace_back("Set-Cookie", forget_login);
  r.headers.emplace_back("Set-Cookie",
                         Cookie(kSessionCookie, session->cookie_value.view(), "/",
                                sign_in.options().session_ttl_s, sign_in.secure_cookies()));
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

Api::Reply Api::AuthLogout(Call& call) const {
  if (extras_.sign_in == nullptr) return ErrorResponse(SignInOff(), call.request_id);
  if (Status s = extras_.sign_in->SignOut(call.caller); !s.ok()) {
    return ErrorResponse(s, call.request_id);
  }
  HttpResponse r = NoContent(call.request_id);
  r.headers.emplace_back("Set-Cookie", Cookie(kSessionCookie, "", "/", 0,
                                              extras_.sign_in->secure_cookies()));
  return r;
}

Api::Reply Api::AuthInfo(Call& call) const {
  std::string body;
  JsonWriter w(&body);
  // Whether the request's cookie is a live session: the console asks here rather than
  // with a request that would fail (and log a 401) for everyone not signed in.
  bool signed_in = false;
  if (extras_.sign_in != nullptr) {
    if (std::optional<std::string_view> cookie = SessionCookie(call.request)) {
      signed_in = auth_->AuthenticateSession(*cookie).ok();
    }
  }
  w.BeginObject().Key("sign_in").Bool(extras_.sign_in != nullptr);
  if (extras_.sign_in != nullptr) {
    w.Key("issuer").String(extras_.sign_in->options().issuer);
  } else {
    w.Key("issuer").Null();
  }
  w.Key("signed_in").Bool(signed_in).EndObject();
  return MakeResponse(200, std::move(body), call.request_id);
}

Api::Reply Api::DeviceStart(Call& call) const {
  if (extras_.sign_in == nullptr) return ErrorResponse(SignInOff(), call.request_id);
  if (!call.body.is_null()) {
    if (Status s = CheckBody(call.body, {}); !s.ok()) return ErrorResponse(s, call.request_id);
  }
  StatusOr<service::DeviceStarted> started = extras_.sign_in->StartDevice();
  if (!started.ok()) return ErrorResponse(started.status(), call.request_id);
  std::string body;
  JsonWriter w(&body);
  w.BeginObject()
      .Key("device_code").String(started->device_code.view())
      .Key("user_code").String(started->user_code)
      .Key("verification_uri").String(started->verification_uri)
      .Key("verification_uri_complete").String(started->verification_uri_complete)
      .Key("expires_in").Int(started->expires_in_s)
      .Key("interval").Int(started->interval_s)
      .EndObject();
  return MakeResponse(200, std::move(body), call.request_id, /*secret=*/true);
}

Api::Reply Api::DeviceToken(Call& call) const {
  if (extras_.sign_in == nullptr) return ErrorResponse(SignInOff(), call.request_id);
  if (Status s = CheckBody(call.body, {{"device_code", FieldType::kString, true}}); !s.ok()) {
    return ErrorResponse(s, call.request_id);
  }
  const std::string code = call.body["device_code"].get<std::string>();
  StatusOr<service::DevicePolled> polled = extras_.sign_in->PollDevice(
      code, {call.caller.source_ip, call.caller.user_agent});
  if (!polled.ok()) return ErrorResponse(polled.status(), call.request_id);
  std::string body;
  JsonWriter w(&body);
  if (!polled->error.empty()) {  // RFC 8628 3.5 (RFC 6749 5.2's shape)
    w.BeginObject()
        .Key("error").String(polled->error)
        .Key("error_description").String(polled->error_description)
        .EndObject();
    HttpResponse r = MakeResponse(400, std::move(body), call.request_id);
    r.no_store = true;
    return r;
  }
  w.BeginObject()
      .Key("access_token").String(polled->access_token.view())
      .Key("token_type").String("Bearer")
      .Key("expires_in").Int(polled->expires_in_s)
      .EndObject();
  return MakeResponse(200, std::move(body), call.request_id, /*secret=*/true);
}

Api::Reply Api::DeviceDecide(Call& call) const {
  if (extras_.sign_in == nullptr) return ErrorResponse(SignInOff(), call.request_id);
  if (Status s = CheckBody(call.body, {{"user_code", FieldType::kString, true},
                                       {"approve", FieldType::kBool, true}});
      !s.ok()) {
    return ErrorResponse(s, call.request_id);
  }
  if (Status s = extras_.sign_in->DecideDevice(
          call.caller, call.body["user_code"].get<std::string>(), call.body["approve"].get<bool>());
      !s.ok()) {
    return ErrorResponse(s, call.request_id);
  }
  return NoContent(call.request_id);
}

Status Api::SignInOff() {
  return NotFound("Sign-in with an identity provider is not enabled on this server (serve "
                  "--oidc-issuer).");
}

}  // namespace keypaird::http
