// Cat: builds a string from pieces (literals, std::string, std::string_view) by appending
// them in turn. The documents of help.cc and the messages of config.cc are built with it
// rather than with `"literal" + std::string(...)`: GCC 12 at -O3 reports that operator+ as
// a false -Wrestrict (an insert at the front of the temporary it cannot bound).
#ifndef KEYPAIRD_CONFIG_TEXT_H_
#define KEYPAIRD_CONFIG_TEXT_H_

#include <string>
#include <string_view>

namespace keypaird::config {

template <typename... Pieces>
std::string Cat(const Pieces&... pieces) {
  std::string out;
  (out.append(std::string_view(pieces)), ...);
  return out;
}

}  // namespace keypaird::config

#endif  // KEYPAIRD_CONFIG_TEXT_H_
