// The agent commands' service URLs and the plain-HTTP loopback rule (common/url.h).
#include "common/url.h"

#include <gtest/gtest.h>

namespace keypaird {
namespace {

HttpUrl Parsed(std::string_view text) {
  StatusOr<HttpUrl> url = ParseHttpUrl(text);
  EXPECT_TRUE(url.ok()) << text << ": " << url.status().message();
  return url.ok() ? *url : HttpUrl{};
}

TEST(UrlTest, SchemeHostPortAndPathPrefix) {
  EXPECT_EQ(Parsed("https://Keys.Example.COM"), (HttpUrl{true, "keys.example.com", 443, ""}));
  EXPECT_EQ(Parsed("http://127.0.0.1:8080/"), (HttpUrl{false, "127.0.0.1", 8080, ""}));
  EXPECT_EQ(Parsed("HTTPS://keys:8443/keypaird//"), (HttpUrl{true, "keys", 8443, "/keypaird"}));
  EXPECT_EQ(Parsed("http://[::1]:9000"), (HttpUrl{false, "::1", 9000, ""}));
  EXPECT_EQ(Parsed("https://[2001:DB8::1]/p"), (HttpUrl{true, "2001:db8::1", 443, "/p"}));
  EXPECT_EQ(Parsed("http://localhost"), (HttpUrl{false, "localhost", 80, ""}));
}

TEST(UrlTest, AuthorityShowsThePortOnlyWhenItIsNotTheDefault) {
  EXPECT_EQ(Parsed("https://keys:443").Authority(), "keys");
  EXPECT_EQ(Parsed("https://keys:80").Authority(), "keys:80");
  EXPECT_EQ(Parsed("http://[::1]:8080").Authority(), "[::1]:8080");
  EXPECT_EQ(Parsed("http://[::1]").Authority(), "[::1]");
  EXPECT_EQ(Parsed("https://keys:8443/a/").ToString(), "https://keys:8443/a");
}

TEST(UrlTest, RefusesWhatItCannotUseWithAReason) {
  auto why = [](std::string_view text) { return ParseHttpUrl(text).status().message(); };
  EXPECT_EQ(why("ftp://keys"), "must start with https:// (or http:// to a loopback address)");
  EXPECT_EQ(why("keys.example.com"), "must start with https:// (or http:// to a loopback address)");
  EXPECT_EQ(why("https://user:secret@keys"),
            "must not hold a user name or password (the token goes in --token-file)");
  EXPECT_EQ(why("https://keys/?a=b"), "must not have a query or fragment (only a path prefix)");
  EXPECT_EQ(why("https://keys#x"), "must not have a query or fragment (only a path prefix)");
  EXPECT_EQ(why("https://keys:0"), "has a port that is not 1..65535");
  EXPECT_EQ(why("https://keys:65536"), "has a port that is not 1..65535");
  EXPECT_EQ(why("https://keys:"), "has a port that is not 1..65535");
  EXPECT_EQ(why("https://keys:8x"), "has a port that is not 1..65535");
  EXPECT_EQ(why("https://"), "has no host");
  EXPECT_EQ(why("https://:443"), "has no host");
  EXPECT_EQ(why("https://ke ys"), "has a character a host name may not hold: ' '");
  EXPECT_EQ(why("https://[::1"), "has an unclosed '[' in its host");
  EXPECT_EQ(why("https://[::g]"), "has a bad IPv6 address [::g]");
  EXPECT_EQ(why("https://[::1]x"), "has something other than :PORT after its IPv6 address");
  EXPECT_EQ(why("https://keys/a b"), "has a character a path may not hold (percent-encode it)");
}

TEST(UrlTest, LoopbackIsLocalhostThe127NetworkAndColonColonOne) {
  for (const char* host : {"localhost", "LocalHost", "127.0.0.1", "127.1.2.3", "127.255.255.255",
                           "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(IsLoopbackHost(host)) << host;
  }
  for (const char* host :
       {"10.0.0.1", "128.0.0.1", "0.0.0.0", "::", "::2", "::ffff:10.0.0.1", "localhost.example.com",
        "127.0.0.1.nip.io", "127.1", "2130706433", "keys.example.com", ""}) {
    EXPECT_FALSE(IsLoopbackHost(host)) << host;
  }
}

TEST(UrlTest, PlainHttpOnlyToLoopback) {
  EXPECT_TRUE(CheckAgentUrl(Parsed("http://127.0.0.1:8080")).ok());
  EXPECT_TRUE(CheckAgentUrl(Parsed("http://[::1]:8080")).ok());
  EXPECT_TRUE(CheckAgentUrl(Parsed("http://localhost:8080")).ok());
  EXPECT_TRUE(CheckAgentUrl(Parsed("https://10.1.2.3")).ok());
  const Status refused = CheckAgentUrl(Parsed("http://10.1.2.3:8080"));
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.message(),
            "plain http:// is allowed only to a loopback address (127.0.0.0/8, ::1, localhost), "
            "not to 10.1.2.3: use https:// so that the token is not sent in clear text");
  EXPECT_FALSE(CheckAgentUrl(Parsed("http://keys.example.com")).ok());
}

TEST(UrlTest, QueryValuesKeepOnlyUnreservedBytes) {
  EXPECT_EQ(PercentEncodeQueryValue("login=alice"), "login%3Dalice");
  EXPECT_EQ(PercentEncodeQueryValue("team!=db,!gone,login=a.b_c-d~"),
            "team%21%3Ddb%2C%21gone%2Clogin%3Da.b_c-d~");
  EXPECT_EQ(PercentEncodeQueryValue("a b&c+d/e?f#g%"), "a%20b%26c%2Bd%2Fe%3Ff%23g%25");
  EXPECT_EQ(PercentEncodeQueryValue("\xc3\xa9"), "%C3%A9");
  EXPECT_EQ(PercentEncodeQueryValue(""), "");
}

}  // namespace
}  // namespace keypaird
