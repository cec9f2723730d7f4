#include "common/digest.h"

#include <algorithm>
#include <memory>

#include "common/strings.h"

namespace keypaird {

Digest::Digest(const char* name) : md_(EVP_MD_fetch(nullptr, name, nullptr)) {}

Digest::~Digest() { EVP_MD_free(md_); }

std::string Digest::Of(std::string_view data) const {
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(
      EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (md_ == nullptr || ctx == nullptr) return "";
  std::string out(static_cast<size_t>(EVP_MD_get_size(md_)), '\0');
  unsigned int len = 0;
  if (EVP_DigestInit_ex2(ctx.get(), md_, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
      len != out.size()) {
    return "";
  }
  return out;
}

std::string BodyETag(std::string_view body) {
  static const Digest kSha256("SHA256");
  const std::string digest = kSha256.Of(body);
  std::string etag = "\"";
  AppendHex(&etag, reinterpret_cast<const unsigned char*>(digest.data()),
            std::min<size_t>(16, digest.size()));
  etag += '"';
  return etag;
}

}  // namespace keypaird
