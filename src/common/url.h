// The service URLs the agent commands are given (--url): http:// or https://, a host, an
// optional port and an optional path prefix (for a service behind a proxy under /keypaird).
//
// Plain http:// is allowed only to a loopback host (IsLoopbackHost): a token must never cross
// a network in clear text. Pure functions, safe from any thread.
#ifndef KEYPAIRD_COMMON_URL_H_
#define KEYPAIRD_COMMON_URL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace keypaird {

struct HttpUrl {
  bool tls = false;       // https
  std::string host;       // lowercased; an IPv6 literal without its brackets: "::1"
  uint16_t port = 0;      // as given, else 80 or 443
  std::string base_path;  // "" or "/prefix" (no trailing '/'), still percent-encoded
  bool operator==(const HttpUrl&) const = default;

  // host[:port] as the Host header and messages show it: brackets around an IPv6 literal,
  // the port only when it is not the scheme's default.
  std::string Authority() const;
  // "https://host[:port]" + base_path.
  std::string ToString() const;
};

// Parses an absolute http:// or https:// URL. kInvalidArgument, with a message saying what is
// wrong, for another scheme, user info ("user:pass@": tokens belong in --token-file), a query
// or fragment, a bad host or port, or a character a path may not hold.
StatusOr<HttpUrl> ParseHttpUrl(std::string_view text);

// True for "localhost" (any case), a dotted-quad IPv4 address in 127.0.0.0/8, and the IPv6
// loopback address ::1 in any spelling (also ::ffff:127.x.y.z). Host names other than
// localhost are not loopback, whatever they resolve to.
bool IsLoopbackHost(std::string_view host);

// `url` is usable by the agent commands: https://, or http:// to a loopback host.
// kInvalidArgument with the message an operator needs otherwise.
Status CheckAgentUrl(const HttpUrl& url);

// Percent-encodes every byte of `value` but the unreserved ones (RFC 3986: A-Z a-z 0-9 - . _ ~),
// for a query parameter's value: "login=alice,team!=db" -> "login%3Dalice%2Cteam%21%3Ddb".
std::string PercentEncodeQueryValue(std::string_view value);

}  // namespace keypaird

#endif  // KEYPAIRD_COMMON_URL_H_
