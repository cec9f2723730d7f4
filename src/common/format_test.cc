// The small formatters every response and log line goes through: JSON strings, RFC 3339
// times, hex, request-id randomness and the log's number format.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/random.h"
#include "common/strings.h"
#include "common/json_writer.h"
#include "common/log.h"
#include "common/rfc3339.h"

namespace keypaird {
namespace {

std::string Json(std::string_view s) {
  std::string out = "prefix:";
  AppendJsonString(&out, s);
  return out;
}

TEST(JsonStringTest, PlainTextGoesThroughInOnePiece) {
  EXPECT_EQ(Json(""), "prefix:\"\"");
  EXPECT_EQ(Json("ssh-ed25519 AAAA+/= key@host"), "prefix:\"ssh-ed25519 AAAA+/= key@host\"");
  EXPECT_EQ(Json("\xc3\xa9t\xc3\xa9 \xe2\x9c\x93"), "prefix:\"\xc3\xa9t\xc3\xa9 \xe2\x9c\x93\"");
}

TEST(JsonStringTest, EscapesQuotesBackslashesAndControlCharactersAnywhereInARun) {
  EXPECT_EQ(Json("\""), "prefix:\"\\\"\"");
  EXPECT_EQ(Json("a\"b\\c"), "prefix:\"a\\\"b\\\\c\"");
  EXPECT_EQ(Json("\n\r\t"), "prefix:\"\\n\\r\\t\"");
  EXPECT_EQ(Json(std::string_view("x\0y", 3)), "prefix:\"x\\u0000y\"");
  EXPECT_EQ(Json("\x01\x1f\x7f end"), "prefix:\"\\u0001\\u001f\\u007f end\"");
  EXPECT_EQ(Json("tail\\"), "prefix:\"tail\\\\\"");
  EXPECT_EQ(Json(" \x20"), "prefix:\"  \"");  // 0x20 is the first plain byte
}

TEST(JsonStringTest, EveryByteRoundTripsThroughTheEscapes) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  std::string out;
  AppendJsonString(&out, all);
  // Undo the escapes and compare: nothing lost, nothing added.
  std::string back;
  for (size_t i = 1; i + 1 < out.size(); ++i) {
    if (out[i] != '\\') {
      back.push_back(out[i]);
      continue;
    }
    const char e = out[++i];
    if (e == 'u') {
      back.push_back(static_cast<char>(std::stoi(out.substr(i + 1, 4), nullptr, 16)));
      i += 4;
    } else {
      back.push_back(e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e);
    }
  }
  EXPECT_EQ(back, all);
}

TEST(Rfc3339Test, UtcWithMicrosecondsAndZ) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339(1'700'000'000'123'456), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(FormatRfc3339(951'782'400'000'000), "2000-02-29T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339(1'709'251'199'999'999), "2024-02-29T23:59:59.999999Z");
  EXPECT_EQ(FormatRfc3339(1'735'689'599'000'001), "2024-12-31T23:59:59.000001Z");
  EXPECT_EQ(FormatRfc3339(4'102'444'800'000'000), "2100-01-01T00:00:00.000000Z");
}

TEST(HexTest, LowercaseTwoDigitsPerByteAppended) {
  const unsigned char bytes[] = {0x00, 0x0f, 0xa5, 0xff};
  std::string out = "id:";
  AppendHex(&out, bytes, sizeof(bytes));
  EXPECT_EQ(out, "id:000fa5ff");
  AppendHex(&out, bytes, 0);
  EXPECT_EQ(out, "id:000fa5ff");
}

TEST(HexTest, NonSecretRandomDiffersBetweenCallsAndThreads) {
  std::set<std::string> seen;
  auto draw = [] {
    unsigned char raw[16];
    NonSecretRandom16(raw);
    std::string hex;
    AppendHex(&hex, raw, sizeof(raw));
    return hex;
  };
  for (int i = 0; i < 1000; ++i) seen.insert(draw());
  std::string a, b;
  std::thread ta([&] { a = draw(); });
  std::thread tb([&] { b = draw(); });
  ta.join();
  tb.join();
  seen.insert(a);
  seen.insert(b);
  EXPECT_EQ(seen.size(), 1002u);  // each thread seeds its own generator from the CSPRNG
}

TEST(LogLineTest, NumbersHaveThreeDecimalsAndNonFiniteIsNull) {
  testing::internal::CaptureStderr();
  LogLine(LogLevel::kError, "n")
      .Num("a", 1.23456)
      .Num("b", 0.0005)
      .Num("c", -2.5)
      .Num("d", 12345.0)
      .Num("e", 0.0)
      .Num("f", std::numeric_limits<double>::quiet_NaN())
      .Num("g", std::numeric_limits<double>::infinity());
  const std::string line = testing::internal::GetCapturedStderr();
  EXPECT_NE(
      line.find(R"("a":1.235,"b":0.001,"c":-2.500,"d":12345.000,"e":0.000,"f":null,"g":null})"),
      std::string::npos)
      << line;
}

TEST(LogLineTest, BackgroundWriterWritesEveryLineWholeAndDrainsWhenDestroyed) {
  testing::internal::CaptureStderr();
  {
    BackgroundLogWriter writer;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([t] {
        for (int i = 0; i < 500; ++i) LogLine(LogLevel::kError, "bg").Int("t", t).Int("i", i);
      });
    }
    for (auto& th : threads) th.join();
  }                                       // drains
  LogMessage(LogLevel::kError, "after");  // direct again
  const std::string out = testing::internal::GetCapturedStderr();
  std::set<std::string> seen;
  size_t lines = 0;
  for (size_t at = 0, end; (end = out.find('\n', at)) != std::string::npos; at = end + 1) {
    const std::string line = out.substr(at, end - at);
    ++lines;
    ASSERT_EQ(line.front(), '{') << line;
    ASSERT_EQ(line.back(), '}') << line;
    const size_t t = line.find("\"t\":");
    if (t != std::string::npos) seen.insert(line.substr(t));
  }
  EXPECT_EQ(seen.size(), 2000u);
  EXPECT_EQ(lines, 2001u);
  EXPECT_NE(out.rfind("\"msg\":\"after\"}"), std::string::npos);
}

}  // namespace
}  // namespace keypaird
