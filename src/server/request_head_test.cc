#include "server/request_head.h"

#include <gtest/gtest.h>

#include <string>

namespace keypaird::server {
namespace {

using Verdict = RequestHeadCheck::Verdict;

Verdict Whole(const std::string& head) {
  RequestHeadCheck check;
  return check.Scan(head);
}

// Fed a byte at a time, as a slow client sends it, with the parser taking every byte.
Verdict ByteByByte(const std::string& head) {
  RequestHeadCheck check;
  std::string buffer;
  Verdict v = Verdict::kMore;
  for (char c : head) {
    buffer.push_back(c);
    v = check.Scan(buffer);
    if (v != Verdict::kMore) return v;
    check.Consumed(buffer.size());
    buffer.clear();
  }
  return v;
}

TEST(RequestHeadCheckTest, WellFramedHeadsPass) {
  for (const std::string head : {
           "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
           "GET /a?b=c HTTP/1.0\r\n\r\n",
           "\r\n\r\nPOST /x HTTP/1.1\r\nContent-Length: 2\r\nX-Empty:\r\nX-Tab:\tv \r\n\r\n",
           "DELETE /x HTTP/1.1\r\nAuthorization: APIKey a b c\r\n\r\n",
       }) {
    EXPECT_EQ(Whole(head), Verdict::kDone) << head;
    EXPECT_EQ(ByteByByte(head), Verdict::kDone) << head;
  }
  EXPECT_EQ(Whole("GET / HTTP/1.1\r\nHost: x\r\n"), Verdict::kMore);
  EXPECT_EQ(Whole("GET / HTTP/1.1\r\nHost: x\r\n\r"), Verdict::kMore);
}

TEST(RequestHeadCheckTest, WhatRfc9112ForbidsIsBad) {
  for (const std::string head : {
           "GET / HTTP/1.1\nHost: x\r\n\r\n",                      // bare LF ends the request line
           "GET / HTTP/1.1\r\nHost: x\n\r\n",                      // ... a field line
           "GET / HTTP/1.1\r\nHost: x\r\n\n",                      // ... the head
           "\nGET / HTTP/1.1\r\n\r\n",                             // ... an empty line before it
           "GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n",              // CR without LF
           "GET / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n",  // space before the colon
           "GET / HTTP/1.1\r\nX-A\t: b\r\n\r\n",                   // tab before the colon
           "GET / HTTP/1.1\r\nX A: b\r\n\r\n",                     // space in the name
           "GET / HTTP/1.1\r\nAuthorization: APIKey\r\n abc\r\n\r\n",  // obs-fold
           "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n",                // obs-fold with a tab
           "GET / HTTP/1.1\r\n: no name\r\n\r\n",
           "GET / HTTP/1.1\r\nno colon\r\n\r\n",
           "GET /\r\n\r\n",                                        // HTTP/0.9
           "GET / HTTP/2.0\r\n\r\n",                               // not HTTP/1 in cleartext
           "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
           "GET / HTTP/1.10\r\n\r\n",
           "GET / HTTP/1\r\n\r\n",
           "GET / http/1.1\r\n\r\n",
           "GET  / HTTP/1.1\r\n\r\n",                              // three spaces
           "GET / HTTP/1.1 \r\n\r\n",
       }) {
    EXPECT_EQ(Whole(head), Verdict::kBad) << head;
    EXPECT_EQ(ByteByByte(head), Verdict::kBad) << head;
  }
}

TEST(RequestHeadCheckTest, TheBodyIsNotLookedAtAndResetStartsTheNextRequest) {
  RequestHeadCheck check;
  const std::string first = "POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n";
  std::string buffer = first + "a\nb\n" + "GET / HTTP/1.1\r\n\r\n";
  EXPECT_EQ(check.Scan(buffer), Verdict::kDone);
  EXPECT_EQ(check.Scan(buffer), Verdict::kDone);  // stays done until Reset
  check.Consumed(first.size() + 4);  // the parser took the first request, body included
  buffer.erase(0, first.size() + 4);
  check.Reset();
  EXPECT_EQ(check.Scan(buffer), Verdict::kDone);
  check.Reset();
  EXPECT_EQ(check.Scan("GET / HTTP/1.1\r\nX: a\n"), Verdict::kBad);
}

}  // namespace
}  // namespace keypaird::server
