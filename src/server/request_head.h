// RequestHeadCheck: the framing rules of RFC 9112 that Debian's http_parser (built
// lenient) lets through, checked on the raw bytes of a request's head before the parser
// reads them. A request that breaks one is answered 400 and its connection closed:
//   - a bare LF as a line end (every line ends with CRLF);
//   - a request line that is not `method SP target SP HTTP/1.x` (HTTP/0.9's
//     `GET /`, `HTTP/2.0` on a cleartext HTTP/1 connection, a missing version);
//   - whitespace between a header field's name and its colon, or inside the name
//     (`Transfer-Encoding : chunked`), or a line without a colon;
//   - obs-fold: a header line that starts with a space or a tab (a value continued on
//     the next line).
// Empty lines (CRLF) before a request line are skipped, as RFC 9112 §2.2 allows.
//
// Incremental: the head may arrive in pieces. Scan() is given the connection's buffer of
// unparsed bytes each time (it starts at the request's first byte); Consumed() says how
// many of them the parser took off its front; Reset() starts over at the next request.
// Bytes after the head (the body) are never looked at. Single-threaded, no allocation.
#ifndef KEYPAIRD_SERVER_REQUEST_HEAD_H_
#define KEYPAIRD_SERVER_REQUEST_HEAD_H_

#include <cstddef>
#include <string_view>

namespace keypaird::server {

class RequestHeadCheck {
 public:
  enum class Verdict {
    kMore,  // no fault so far; the head has not ended yet
    kDone,  // the whole head is well framed
    kBad,   // it breaks one of the rules above
  };

  // Scans what `buffer` holds beyond the bytes already scanned.
  Verdict Scan(std::string_view buffer);
  // The parser took `n` bytes off the front of the buffer.
  void Consumed(std::size_t n) { pos_ = n >= pos_ ? 0 : pos_ - n; }
  // The next request starts at the front of the buffer.
  void Reset() { *this = RequestHeadCheck(); }

 private:
  enum class State {
    kLeading,         // before the request line: empty lines may come
    kLeadingCr,       // CR of an empty line before the request line
    kRequestLine,
    kRequestLineCr,
    kLineStart,       // first byte of a header line, or of the empty line that ends the head
    kName,
    kValue,
    kValueCr,
    kEndCr,           // CR of the empty line that ends the head
    kDone,
    kBad,
  };
  Verdict Bad() {
    state_ = State::kBad;
    return Verdict::kBad;
  }
  bool VersionOk() const;

  State state_ = State::kLeading;
  std::size_t pos_ = 0;     // offset in the buffer of the next byte to scan
  int spaces_ = 0;          // SPs in the request line
  char version_[9] = {};    // the request line's bytes after its second SP (at most 9)
  std::size_t version_len_ = 0;
  bool version_long_ = false;
};

}  // namespace keypaird::server

#endif  // KEYPAIRD_SERVER_REQUEST_HEAD_H_
