// The format, from OpenSSH's PROTOCOL.key and sshkey.c:
//
//   "-----BEGIN OPENSSH PRIVATE KEY-----\n", base64 in lines of 70, "-----END ...-----\n"
//   of:  "openssh-key-v1\0"
//        string ciphername   "none" | "aes256-ctr"
//        string kdfname      "none" | "bcrypt"
//        string kdfoptions   "" | string salt, uint32 rounds
//        uint32 number of keys (1)
//        string public key blob
//        string private section, encrypted when ciphername is not "none":
//            uint32 checkint, uint32 checkint (the same random number twice)
//            string key type, then the type's fields:
//              ssh-ed25519:  string public (32), string seed || public (64)
//              ecdsa-sha2-*: string curve, string Q, mpint d
//              ssh-rsa:      mpint n, e, d, iqmp, p, q
//            string comment
//            padding 1, 2, 3, ... to the cipher's block size (8 for "none")
//
// Encryption: bcrypt_pbkdf(passphrase, salt, rounds) gives 48 bytes, the AES-256 key and
// then the CTR initial counter block.
#include "sshkey/openssh_private_key.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sshkey/bcrypt_pbkdf.h"
#include "sshkey/openssl_util.h"
#include "sshkey/private_key_internal.h"
#include "sshkey/sshkey.h"
#include "sshkey/wire.h"

namespace keypaird::sshkey {
namespace {

constexpr std::string_view kMagic("openssh-key-v1\0", 15);
constexpr std::string_view kBeginLine = "-----BEGIN OPENSSH PRIVATE KEY-----";
constexpr std::string_view kEndLine = "-----END OPENSSH PRIVATE KEY-----";
constexpr size_t kColumns = 70;
constexpr std::string_view kCipher = "aes256-ctr";
constexpr std::string_view kKdf = "bcrypt";
constexpr size_t kSaltSize = 16;
constexpr size_t kAesKeySize = 32;
constexpr size_t kAesBlockSize = 16;
constexpr size_t kPlainBlockSize = 8;  // the block size OpenSSH pads to for cipher "none"
constexpr size_t kEd25519Size = 32;

constexpr char kMsgNotOpenSsh[] =
    "not an OpenSSH private key: it must start with \"-----BEGIN OPENSSH PRIVATE KEY-----\"";
constexpr char kMsgTooLarge[] = "the OpenSSH private key is too large";
constexpr char kMsgNoEnd[] =
    "the OpenSSH private key has no \"-----END OPENSSH PRIVATE KEY-----\" line at its end";
constexpr char kMsgBase64[] = "the OpenSSH private key is not valid base64";
constexpr char kMsgMalformed[] = "the OpenSSH private key is malformed";
constexpr char kMsgCipher[] =
    "the OpenSSH private key uses an unsupported cipher or KDF: supported are none and "
    "aes256-ctr with bcrypt";
constexpr char kMsgKeyCount[] = "the OpenSSH private key file must hold exactly one key";
constexpr char kMsgNeedPassphrase[] =
    "the OpenSSH private key is encrypted: a passphrase is needed";
constexpr char kMsgWrongPassphrase[] = "wrong passphrase, or the OpenSSH private key is corrupted";
constexpr char kMsgCorrupted[] = "the OpenSSH private key is corrupted (its check numbers differ)";
constexpr char kMsgKeyType[] =
    "unsupported key type in the OpenSSH private key: supported are ssh-ed25519, "
    "ecdsa-sha2-nistp256/384/521 and ssh-rsa of 2048, 3072 or 4096 bits";
constexpr char kMsgTypeMismatch[] =
    "the OpenSSH private key's private part is of a different type than its public key";
constexpr char kMsgMismatch[] = "the private key does not match its public key";
constexpr char kMsgPadding[] = "the OpenSSH private key has invalid padding";

// ---------------------------------------------------------------------------------------
// Writing.

// The RSA private fields in the format's order.
std::array<const BIGNUM*, 6> RsaFields(const KeyParts& parts) {
  return {parts.rsa_n.get(),    parts.rsa_e.get(), parts.rsa_d.get(),
          parts.rsa_iqmp.get(), parts.rsa_p.get(), parts.rsa_q.get()};
}

size_t PrivateFieldsSize(const KeyParts& parts) {
  size_t n = 4 + parts.info->ssh_type.size();
  if (parts.info->rsa_bits != 0) {
    for (const BIGNUM* bn : RsaFields(parts)) n += MpintSize(bn);
  } else if (parts.info->group != nullptr) {
    n += 4 + parts.info->curve.size() + 4 + parts.ec_point.size() +
         MpintSize(parts.ec_private.get());
  } else {
    n += 4 + kEd25519Size + 4 + 2 * kEd25519Size;
  }
  return n;
}

bool AppendPrivateFields(const KeyParts& parts, std::string* out) {
  AppendString(out, parts.info->ssh_type);
  if (parts.info->rsa_bits != 0) {
    for (const BIGNUM* bn : RsaFields(parts)) {
      if (!AppendMpint(out, bn)) return false;
    }
    return true;
  }
  if (parts.info->group != nullptr) {
    AppendString(out, parts.info->curve);
    AppendString(out, parts.ec_point);
    return AppendMpint(out, parts.ec_private.get());
  }
  AppendString(out, parts.ed25519_public.data(), parts.ed25519_public.size());
  AppendU32(out, 2 * kEd25519Size);
  out->append(reinterpret_cast<const char*>(parts.ed25519_seed.data()), kEd25519Size);
  out->append(reinterpret_cast<const char*>(parts.ed25519_public.data()), kEd25519Size);
  return true;
}

// AES-256-CTR over `data` in place, with the key and counter block bcrypt_pbkdf derives.
// The same operation encrypts and decrypts.
bool Aes256Ctr(std::string_view passphrase, std::string_view salt, uint32_t rounds,
               std::string* data) {
  std::array<uint8_t, kAesKeySize + kAesBlockSize> key_iv;
  ScopedCleanse wipe_key_iv(key_iv.data(), key_iv.size());
  if (!BcryptPbkdf(passphrase, salt, rounds, key_iv)) return false;
  return CipherInPlace(EVP_aes_256_ctr(), key_iv.data(), key_iv.data() + kAesKeySize,
                       /*encrypt=*/true, data);
}

// ---------------------------------------------------------------------------------------
// Reading.

// The base64 between the armour lines, joined. Fails on anything around them but
// whitespace.
Status Unarmour(std::string_view text, std::string* base64) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (!line.empty()) lines.push_back(line);
  }
  if (lines.empty() || lines.front() != kBeginLine) return InvalidArgument(kMsgNotOpenSsh);
  if (lines.size() < 2 || lines.back() != kEndLine) return InvalidArgument(kMsgNoEnd);
  size_t size = 0;
  for (size_t i = 1; i + 1 < lines.size(); ++i) size += lines[i].size();
  base64->reserve(size);
  for (size_t i = 1; i + 1 < lines.size(); ++i) base64->append(lines[i]);
  return Status::Ok();
}

// A non-negative mpint in minimal form, into secure memory.
bool ReadSecretMpint(WireReader* r, SecretBnPtr* out) {
  std::string_view m;
  if (!r->ReadString(&m)) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(m.data());
  if (!m.empty() && ((p[0] & 0x80) != 0 || (p[0] == 0 && (m.size() == 1 || (p[1] & 0x80) == 0)))) {
    return false;
  }
  out->reset(BN_secure_new());
  return *out != nullptr && BN_bin2bn(p, static_cast<int>(m.size()), out->get()) != nullptr;
}

bool ReadPublicMpint(WireReader* r, BnPtr* out) {
  SecretBnPtr bn;
  if (!ReadSecretMpint(r, &bn)) return false;
  out->reset(BN_dup(bn.get()));
  return *out != nullptr;
}

// The fields after the key type in the private section, into `parts`.
bool ReadPrivateFields(WireReader* r, KeyParts* parts) {
  if (parts->info->rsa_bits != 0) {
    return ReadPublicMpint(r, &parts->rsa_n) && ReadPublicMpint(r, &parts->rsa_e) &&
           ReadSecretMpint(r, &parts->rsa_d) && ReadSecretMpint(r, &parts->rsa_iqmp) &&
           ReadSecretMpint(r, &parts->rsa_p) && ReadSecretMpint(r, &parts->rsa_q);
  }
  std::string_view a, b;
  if (parts->info->group != nullptr) {
    if (!r->ReadString(&a) || a != parts->info->curve || !r->ReadString(&b)) return false;
    parts->ec_point.assign(b);
    return ReadSecretMpint(r, &parts->ec_private);
  }
  if (!r->ReadString(&a) || a.size() != kEd25519Size || !r->ReadString(&b) ||
      b.size() != 2 * kEd25519Size || b.substr(kEd25519Size) != a) {
    return false;
  }
  std::copy(a.begin(), a.end(), parts->ed25519_public.begin());
  std::copy(b.begin(), b.begin() + kEd25519Size, parts->ed25519_seed.begin());
  return true;
}

struct Header {
  std::string_view cipher;
  std::string_view kdf;
  std::string_view salt;
  uint32_t rounds = 0;
  std::string_view public_blob;
  std::string_view private_section;
};

Status ReadHeader(std::string_view file, Header* h) {
  if (!file.starts_with(kMagic)) return InvalidArgument(kMsgMalformed);
  WireReader r(file.substr(kMagic.size()));
  std::string_view kdf_options;
  uint32_t keys = 0;
  if (!r.ReadString(&h->cipher) || !r.ReadString(&h->kdf) || !r.ReadString(&kdf_options) ||
      !r.ReadU32(&keys)) {
    return InvalidArgument(kMsgMalformed);
  }
  if (keys != 1) return InvalidArgument(kMsgKeyCount);
  if (!r.ReadString(&h->public_blob) || !r.ReadString(&h->private_section) || !r.empty()) {
    return InvalidArgument(kMsgMalformed);
  }
  if (h->cipher == "none" && h->kdf == "none" && kdf_options.empty()) return Status::Ok();
  if (h->cipher != kCipher || h->kdf != kKdf) return InvalidArgument(kMsgCipher);
  WireReader options(kdf_options);
  if (!options.ReadString(&h->salt) || !options.ReadU32(&h->rounds) || !options.empty() ||
      h->salt.empty() || h->rounds == 0) {
    return InvalidArgument(kMsgMalformed);
  }
  return Status::Ok();
}

// The key type of a public blob: its entry, if keypaird generates that type and size.
StatusOr<const KeyTypeInfo*> PublicBlobType(std::string_view blob) {
  WireReader r(blob);
  std::string_view type;
  if (!r.ReadString(&type)) return InvalidArgument(kMsgMalformed);
  StatusOr<PublicKey> public_key = ParsePublicKey(std::string(type) + " " + Base64Encode(blob));
  if (!public_key.ok()) return InvalidArgument(kMsgKeyType);
  const KeyTypeInfo* info = InfoOfSshType(public_key->type, public_key->bits);
  if (info == nullptr) return InvalidArgument(kMsgKeyType);
  return info;
}

StatusOr<OpenSshPrivateKey> ReadPrivateSection(std::string_view plain, const Header& header,
                                               const KeyTypeInfo& info) {
  const bool encrypted = header.cipher != "none";
  const size_t block = encrypted ? kAesBlockSize : kPlainBlockSize;
  WireReader r(plain);
  uint32_t check1 = 0;
  uint32_t check2 = 0;
  if (!r.ReadU32(&check1) || !r.ReadU32(&check2)) return InvalidArgument(kMsgMalformed);
  if (check1 != check2) return InvalidArgument(encrypted ? kMsgWrongPassphrase : kMsgCorrupted);
  std::string_view type;
  if (!r.ReadString(&type)) return InvalidArgument(kMsgMalformed);
  if (type != info.ssh_type) return InvalidArgument(kMsgTypeMismatch);
  KeyParts parts;
  parts.info = &info;
  std::string_view comment;
  if (!ReadPrivateFields(&r, &parts) || !r.ReadString(&comment)) {
    return InvalidArgument(kMsgMalformed);
  }
  std::string_view padding = r.rest();
  if (plain.size() % block != 0 || padding.size() >= block) return InvalidArgument(kMsgPadding);
  for (size_t i = 0; i < padding.size(); ++i) {
    if (static_cast<unsigned char>(padding[i]) != i + 1) return InvalidArgument(kMsgPadding);
  }

  StatusOr<PrivateKey> key = PrivateKeyFromParts(parts);
  if (!key.ok()) return key.status();
  KeyParts rebuilt;
  if (Status s = ExtractParts(*key, &rebuilt); !s.ok()) return s;
  if (rebuilt.public_blob != header.public_blob) return InvalidArgument(kMsgMismatch);
  return OpenSshPrivateKey{std::move(*key), std::string(comment)};
}

}  // namespace

StatusOr<SecretString> WriteOpenSshPrivateKey(const PrivateKey& key, std::string_view comment,
                                              std::string_view passphrase, uint32_t bcrypt_rounds) {
  KeyParts parts;
  if (Status s = ExtractParts(key, &parts); !s.ok()) return s;
  const bool encrypt = !passphrase.empty();
  const size_t block = encrypt ? kAesBlockSize : kPlainBlockSize;

  // Every buffer below holds private material (the private section, then the file with
  // it, then its base64): each is sized up front, so that no append reallocates and leaves
  // an unwiped copy behind, and wiped on the way out.
  const size_t unpadded = 8 + PrivateFieldsSize(parts) + 4 + comment.size();
  const size_t padded = (unpadded + block - 1) / block * block;
  std::string plain;
  ScopedWipeString wipe_plain(&plain);
  plain.reserve(padded);
  uint32_t check = 0;
  ScopedCleanse wipe_check(&check, sizeof(check));
  if (!RandomBytes(&check, sizeof(check))) return Internal("the random generator failed");
  AppendU32(&plain, check);
  AppendU32(&plain, check);
  if (!AppendPrivateFields(parts, &plain)) return Internal("writing the private key failed");
  AppendString(&plain, comment);
  for (char pad = 1; plain.size() < padded; ++pad) plain.push_back(pad);

  std::string kdf_options;
  if (encrypt) {
    std::array<unsigned char, kSaltSize> salt;
    if (!RandomBytes(salt.data(), salt.size())) return Internal("the random generator failed");
    AppendString(&kdf_options, salt.data(), salt.size());
    AppendU32(&kdf_options, bcrypt_rounds);
    std::string_view salt_view(reinterpret_cast<const char*>(salt.data()), salt.size());
    if (!Aes256Ctr(passphrase, salt_view, bcrypt_rounds, &plain)) {
      return Internal("encrypting the private key failed");
    }
  }

  const std::string_view cipher = encrypt ? kCipher : "none";
  const std::string_view kdf = encrypt ? kKdf : "none";
  std::string file;
  ScopedWipeString wipe_file(&file);
  file.reserve(kMagic.size() + 4 + cipher.size() + 4 + kdf.size() + 4 + kdf_options.size() + 4 + 4 +
               parts.public_blob.size() + 4 + plain.size());
  file.append(kMagic);
  AppendString(&file, cipher);
  AppendString(&file, kdf);
  AppendString(&file, kdf_options);
  AppendU32(&file, 1);  // number of keys
  AppendString(&file, parts.public_blob);
  AppendString(&file, plain);

  std::string b64 = Base64Encode(file);
  ScopedWipeString wipe_b64(&b64);
  std::string pem;
  pem.reserve(kBeginLine.size() + 1 + WrappedSize(b64.size(), kColumns) + kEndLine.size() + 1);
  pem.append(kBeginLine).push_back('\n');
  AppendWrapped(&pem, b64, kColumns);
  pem.append(kEndLine).push_back('\n');
  return SecretString(std::move(pem));
}

StatusOr<OpenSshPrivateKey> ReadOpenSshPrivateKey(std::string_view text,
                                                  std::string_view passphrase,
                                                  uint32_t max_bcrypt_rounds) {
  if (text.size() > kMaxOpenSshPrivateKeyInput) return InvalidArgument(kMsgTooLarge);
  std::string b64;
  ScopedWipeString wipe_b64(&b64);
  if (Status s = Unarmour(text, &b64); !s.ok()) return s;
  std::string file;
  ScopedWipeString wipe_file(&file);
  if (!Base64DecodeStrict(b64, &file)) return InvalidArgument(kMsgBase64);

  Header header;
  if (Status s = ReadHeader(file, &header); !s.ok()) return s;
  StatusOr<const KeyTypeInfo*> info = PublicBlobType(header.public_blob);
  if (!info.ok()) return info.status();

  std::string plain;
  ScopedWipeString wipe_plain(&plain);
  plain.reserve(header.private_section.size());
  plain.assign(header.private_section);
  if (header.cipher != "none") {
    if (passphrase.empty()) return InvalidArgument(kMsgNeedPassphrase);
    if (header.rounds > max_bcrypt_rounds) {
      return InvalidArgument("the OpenSSH private key asks for " + std::to_string(header.rounds) +
                             " bcrypt rounds: at most " + std::to_string(max_bcrypt_rounds) +
                             " are accepted");
    }
    if (plain.size() % kAesBlockSize != 0) return InvalidArgument(kMsgPadding);
    if (!Aes256Ctr(passphrase, header.salt, header.rounds, &plain)) {
      return Internal("decrypting the private key failed");
    }
  }
  return ReadPrivateSection(plain, header, **info);
}

}  // namespace keypaird::sshkey
