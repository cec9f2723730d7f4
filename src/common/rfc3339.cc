#include "common/rfc3339.h"

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

}  // namespace keypaird
