#include "ca/kek.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include "common/openssl_ptr.h"
#include "common/strings.h"

namespace keypaird::ca {
namespace {

constexpr size_t kKeySize = 32;
constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;
constexpr unsigned char kVersion = 1;

using CipherCtxPtr = OpenSslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;

// A user CA's seed keeps the words it was first sealed with; a host CA's names its kind, so
// that neither opens as the other.
std::string AssociatedData(int64_t project_id, bool host) {
  return std::string(host ? "keypaird ssh host ca seed v1, project "
                          : "keypaird ssh ca seed v1, project ") +
         std::to_string(project_id);
}

Status Bad(const std::string& path, const std::string& why) {
  return InvalidArgument("the CA key-encryption key " + path + " " + why);
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

StatusOr<Kek> Kek::FromBytes(std::string_view bytes) {
  if (bytes.size() != kKeySize) return InvalidArgument("a key-encryption key is 32 bytes");
  return Kek(SecretString(std::string(bytes)));
}

StatusOr<Kek> Kek::Load(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Bad(path, std::string("cannot be opened: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Bad(path, "is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", st.st_mode & 07777);
    return Bad(path, std::string("may be read or written by its group or others (mode ") + mode +
                         "): chmod 600 it");
  }
  std::string text(128, '\0');
  const ssize_t n = ::read(fd, text.data(), text.size());
  ::close(fd);
  if (n < 0) {
    WipeString(text);
    return Bad(path, "cannot be read");
  }
  text.resize(static_cast<size_t>(n));
  SecretString raw;
  if (text.size() == kKeySize) {
    raw = SecretString(std::move(text));
  } else {
    std::string_view hex = text;
    if (hex.ends_with('\n')) hex.remove_suffix(1);
    std::string bytes;
    bytes.reserve(kKeySize);
    bool ok = hex.size() == 2 * kKeySize;
    for (size_t i = 0; ok && i < hex.size(); i += 2) {
      const int hi = HexDigitValue(hex[i]);
      const int lo = HexDigitValue(hex[i + 1]);
      ok = hi >= 0 && lo >= 0;
      if (ok) bytes.push_back(static_cast<char>(hi * 16 + lo));
    }
    WipeString(text);
    if (!ok) {
      WipeString(bytes);
      return Bad(path, "must hold 32 bytes, raw or as 64 hex digits (keypaird ca new-kek)");
    }
    raw = SecretString(std::move(bytes));
  }
  return Kek(std::move(raw));
}

Status Kek::WriteNew(const std::string& path) {
  std::array<unsigned char, kKeySize> key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    return Internal("the random number generator failed");
  }
  std::string hex;
  hex.reserve(2 * kKeySize + 1);
  AppendHex(&hex, key.data(), key.size());
  hex.push_back('\n');
  OPENSSL_cleanse(key.data(), key.size());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    WipeString(hex);
    if (errno == EEXIST) {
      return AlreadyExists(path + " exists already: a key-encryption key is never overwritten");
    }
    return InvalidArgument("cannot create " + path + ": " + std::strerror(errno));
  }
  const bool written = ::fchmod(fd, 0600) == 0 &&
                       ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  WipeString(hex);
  if (!written) return Internal("cannot write " + path);
  return Status::Ok();
}

StatusOr<std::string> Kek::Seal(std::string_view plaintext, int64_t project_id,
                                bool host) const {
  std::string out(1 + kNonceSize + plaintext.size() + kTagSize, '\0');
  out[0] = static_cast<char>(kVersion);
  auto* nonce = reinterpret_cast<unsigned char*>(out.data() + 1);
  auto* body = nonce + kNonceSize;
  if (RAND_bytes(nonce, static_cast<int>(kNonceSize)) != 1) {
    return Internal("the random number generator failed");
  }
  const std::string aad = AssociatedData(project_id, host);
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(key_.view()), nonce) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), body, &len, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), body + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, body + plaintext.size()) !=
          1) {
    return Internal("sealing failed");
  }
  return out;
}

StatusOr<SecretString> Kek::Open(std::string_view sealed, int64_t project_id,
                                 bool host) const {
  if (sealed.size() < 1 + kNonceSize + kTagSize || static_cast<unsigned char>(sealed[0]) != kVersion) {
    return InvalidArgument("not a sealed CA seed");
  }
  const auto* nonce = Bytes(sealed.substr(1));
  const std::string_view body = sealed.substr(1 + kNonceSize, sealed.size() - 1 - kNonceSize - kTagSize);
  std::string tag(sealed.substr(sealed.size() - kTagSize));
  std::string plain(body.size(), '\0');
  const std::string aad = AssociatedData(project_id, host);
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  const bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(key_.view()), nonce) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()), &len,
                        Bytes(body), static_cast<int>(body.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(plain.data()) + len, &len) ==
          1;
  if (!ok) {
    WipeString(plain);
    return InvalidArgument(
        "the CA seed does not open with this key-encryption key (another key, or another "
        "project's seed)");
  }
  return SecretString(std::move(plain));
}

}  // namespace keypaird::ca
