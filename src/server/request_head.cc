#include "server/request_head.h"

namespace keypaird::server {

bool RequestHeadCheck::VersionOk() const {
  constexpr std::string_view kPrefix = "HTTP/1.";
  if (spaces_ != 2 || version_long_ || version_len_ != kPrefix.size() + 1) return false;
  const std::string_view v(version_, version_len_);
  return v.substr(0, kPrefix.size()) == kPrefix && v.back() >= '0' && v.back() <= '9';
}

RequestHeadCheck::Verdict RequestHeadCheck::Scan(std::string_view buffer) {
  for (; pos_ < buffer.size(); ++pos_) {
    const char c = buffer[pos_];
    switch (state_) {
      case State::kDone:
        return Verdict::kDone;
      case State::kBad:
        return Verdict::kBad;
      case State::kLeading:
        if (c == '\r') {
          state_ = State::kLeadingCr;
        } else if (c == '\n') {
          return Bad();
        } else {
          state_ = State::kRequestLine;  // the method's first byte
        }
        break;
      case State::kLeadingCr:
        if (c != '\n') return Bad();
        state_ = State::kLeading;
        break;
      case State::kRequestLine:
        if (c == '\r') {
          if (!VersionOk()) return Bad();
          state_ = State::kRequestLineCr;
        } else if (c == '\n') {
          return Bad();
        } else if (c == ' ') {
          if (++spaces_ > 2) return Bad();
        } else if (spaces_ == 2) {
          if (version_len_ == sizeof(version_)) {
            version_long_ = true;
          } else {
            version_[version_len_++] = c;
          }
        }
        break;
      case State::kRequestLineCr:
      case State::kValueCr:
        if (c != '\n') return Bad();
        state_ = State::kLineStart;
        break;
      case State::kLineStart:
        if (c == '\r') {
          state_ = State::kEndCr;
        } else if (c == ' ' || c == '\t' || c == ':' || c == '\n') {
          return Bad();  // obs-fold, an empty name, a bare LF
        } else {
          state_ = State::kName;
        }
        break;
      case State::kName:
        if (c == ':') {
          state_ = State::kValue;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
          return Bad();  // whitespace before the colon, or a line without one
        }
        break;
      case State::kValue:
        if (c == '\r') {
          state_ = State::kValueCr;
        } else if (c == '\n') {
          return Bad();
        }
        break;
      case State::kEndCr:
        if (c != '\n') return Bad();
        state_ = State::kDone;
        ++pos_;
        return Verdict::kDone;
    }
  }
  if (state_ == State::kDone) return Verdict::kDone;
  if (state_ == State::kBad) return Verdict::kBad;
  return Verdict::kMore;
}

}  // namespace keypaird::server
