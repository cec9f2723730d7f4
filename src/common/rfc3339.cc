#include "common/rfc3339.h"

#include <algorithm>
#include <chrono>

namespace keypaird {
namespace {

// Writes `value` as exactly `width` decimal digits at p (value >= 0), returns the end.
char* Digits(char* p, int64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return p + width;
}

}  // namespace

// By hand rather than gmtime_r + snprintf: this runs for every response body and log
// line, and those two took a lock and a format parse each time.
std::string FormatRfc3339(int64_t us) {
  using std::chrono::days;
  using std::chrono::microseconds;
  using std::chrono::sys_days;
  using std::chrono::sys_time;
  using std::chrono::year_month_day;
  const sys_time<microseconds> t{microseconds(us)};
  const sys_days day = std::chrono::floor<days>(t);
  const year_month_day ymd{day};
  int64_t in_day = (t - day).count();  // microseconds since midnight, UTC
  const int64_t micros = in_day % 1000000;
  in_day /= 1000000;
  char buf[32];
  char* p = Digits(buf, static_cast<int>(ymd.year()), 4);
  *p++ = '-';
  p = Digits(p, static_cast<unsigned>(ymd.month()), 2);
  *p++ = '-';
  p = Digits(p, static_cast<unsigned>(ymd.day()), 2);
  *p++ = 'T';
  p = Digits(p, in_day / 3600, 2);
  *p++ = ':';
  p = Digits(p, in_day / 60 % 60, 2);
  *p++ = ':';
  p = Digits(p, in_day % 60, 2);
  *p++ = '.';
  p = Digits(p, micros, 6);
  *p++ = 'Z';
  return std::string(buf, p);
}

namespace {

// `n` decimal digits at text[*pos], advancing; false if they are not all digits.
bool ReadDigits(std::string_view text, size_t* pos, int n, int64_t* out) {
  if (*pos + static_cast<size_t>(n) > text.size()) return false;
  int64_t v = 0;
  for (int i = 0; i < n; ++i) {
    const char c = text[*pos + static_cast<size_t>(i)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += static_cast<size_t>(n);
  *out = v;
  return true;
}

// `c` at text[*pos] (a letter in either case), advancing.
bool Expect(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size()) return false;
  const char got = text[*pos];
  const bool letter_match = c >= 'A' && c <= 'Z' && got == static_cast<char>(c - 'A' + 'a');
  if (got != c && !letter_match) return false;
  ++*pos;
  return true;
}

}  // namespace

bool ParseRfc3339(std::string_view text, int64_t* us) {
  using std::chrono::day;
  using std::chrono::month;
  using std::chrono::sys_days;
  using std::chrono::year;
  using std::chrono::year_month_day;
  size_t pos = 0;
  int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;  // set (GCC -O3 cannot tell)
  if (!ReadDigits(text, &pos, 4, &y) || !Expect(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &mo) || !Expect(text, &pos, '-') ||
      !ReadDigits(text, &pos, 2, &d) || !Expect(text, &pos, 'T') ||
      !ReadDigits(text, &pos, 2, &h) || !Expect(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &mi) || !Expect(text, &pos, ':') ||
      !ReadDigits(text, &pos, 2, &s)) {
    return false;
  }
  int64_t micros = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 6) micros = micros * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) return false;
    for (int i = digits; i < 6; ++i) micros *= 10;
  }
  int64_t offset_s = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '+' ? 1 : -1;
    ++pos;
    int64_t oh = 0, om = 0;
    if (!ReadDigits(text, &pos, 2, &oh) || !Expect(text, &pos, ':') ||
        !ReadDigits(text, &pos, 2, &om) || oh > 23 || om > 59) {
      return false;
    }
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return false;
  }
  if (pos != text.size() || y < 1970 || h > 23 || mi > 59 || s > 60) return false;
  const year_month_day ymd{year(static_cast<int>(y)), month(static_cast<unsigned>(mo)),
                           day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return false;
  const int64_t days_since_epoch = sys_days(ymd).time_since_epoch().count();
  const int64_t seconds =
      days_since_epoch * 86400 + h * 3600 + mi * 60 + std::min<int64_t>(s, 59) - offset_s;
  if (seconds < 0) return false;
  *us = seconds * 1000000 + micros;
  return true;
}

}  // namespace keypaird
