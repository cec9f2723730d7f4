#include "common/url.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "common/strings.h"

namespace keypaird {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// RFC 3986 pchar and '/', without "%XX" checks beyond the shape.
bool IsPathChar(char c) { return IsAlnum(c) || std::strchr("-._~!$&'()*+,;=:@/%", c) != nullptr; }

}  // namespace

std::string HttpUrl::Authority() const {
  // Appends rather than "[" + host + "]", which GCC 12 -O3 wrongly flags (-Wrestrict).
  const bool ipv6 = host.find(':') != std::string::npos;
  std::string out;
  if (ipv6) out += '[';
  out += host;
  if (ipv6) out += ']';
  if (port != (tls ? 443 : 80)) {
    out += ':';
    out += std::to_string(port);
  }
  return out;
}

std::string HttpUrl::ToString() const {
  return (tls ? "https://" : "http://") + Authority() + base_path;
}

StatusOr<HttpUrl> ParseHttpUrl(std::string_view text) {
  HttpUrl url;
  const std::string lowered = AsciiLowered(text.substr(0, 8));
  if (lowered.starts_with("https://")) {
    url.tls = true;
    text.remove_prefix(8);
  } else if (lowered.starts_with("http://")) {
    text.remove_prefix(7);
  } else {
    return InvalidArgument("must start with https:// (or http:// to a loopback address)");
  }
  const size_t authority_end = text.find_first_of("/?#");
  const std::string_view authority = text.substr(0, authority_end);
  std::string_view path =
      authority_end == std::string_view::npos ? std::string_view() : text.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return InvalidArgument(
        "must not hold a user name or password (the token goes in --token-file)");
  }
  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (host.starts_with("[")) {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return InvalidArgument("has an unclosed '[' in its host");
    const std::string literal(host.substr(1, close - 1));
    in6_addr addr{};
    if (inet_pton(AF_INET6, literal.c_str(), &addr) != 1) {
      return InvalidArgument("has a bad IPv6 address [" + literal + "]");
    }
    std::string_view after = host.substr(close + 1);
    if (!after.empty() && !after.starts_with(":")) {
      return InvalidArgument("has something other than :PORT after its IPv6 address");
    }
    has_port = !after.empty();
    if (has_port) port = after.substr(1);
    host = host.substr(1, close - 1);
  } else {
    if (const size_t colon = host.rfind(':'); colon != std::string_view::npos) {
      has_port = true;
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
    }
    if (host.empty()) return InvalidArgument("has no host");
    for (char c : host) {
      if (!IsAlnum(c) && c != '-' && c != '.' && c != '_') {
        return InvalidArgument("has a character a host name may not hold: '" + std::string(1, c) +
                               "'");
      }
    }
  }
  url.host = AsciiLowered(host);
  url.port = url.tls ? 443 : 80;
  if (has_port) {
    int value = 0;
    for (char c : port) {
      if (!IsDigit(c) || value > 65535) return InvalidArgument("has a port that is not 1..65535");
      value = value * 10 + (c - '0');
    }
    if (port.empty() || value < 1 || value > 65535) {
      return InvalidArgument("has a port that is not 1..65535");
    }
    url.port = static_cast<uint16_t>(value);
  }
  if (path.find_first_of("?#") != std::string_view::npos) {
    return InvalidArgument("must not have a query or fragment (only a path prefix)");
  }
  for (char c : path) {
    if (!IsPathChar(c)) {
      return InvalidArgument("has a character a path may not hold (percent-encode it)");
    }
  }
  while (path.ends_with("/")) path.remove_suffix(1);
  url.base_path = std::string(path);
  return url;
}

bool IsLoopbackHost(std::string_view host) {
  if (EqualsIgnoreAsciiCase(host, "localhost")) return true;
  const std::string h(host);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

Status CheckAgentUrl(const HttpUrl& url) {
  if (url.tls || IsLoopbackHost(url.host)) return Status::Ok();
  return InvalidArgument(
      "plain http:// is allowed only to a loopback address (127.0.0.0/8, ::1, "
      "localhost), not to " +
      url.host + ": use https:// so that the token is not sent in clear text");
}

std::string PercentEncodeQueryValue(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    }
  }
  return out;
}

}  // namespace keypaird
