#include "sshkey/private_key.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "sshkey/openssl_util.h"
#include "sshkey/private_key_internal.h"
#include "sshkey/wire.h"

namespace keypaird::sshkey {
namespace {

constexpr std::array<KeyTypeInfo, 7> kKeyTypes = {{
    {KeyType::kEd25519, "ed25519", "ssh-ed25519", "", nullptr, 0, 0},
    {KeyType::kEcdsaP256, "ecdsa-p256", "ecdsa-sha2-nistp256", "nistp256", "P-256", 32, 0},
    {KeyType::kEcdsaP384, "ecdsa-p384", "ecdsa-sha2-nistp384", "nistp384", "P-384", 48, 0},
    {KeyType::kEcdsaP521, "ecdsa-p521", "ecdsa-sha2-nistp521", "nistp521", "P-521", 66, 0},
    {KeyType::kRsa2048, "rsa-2048", "ssh-rsa", "", nullptr, 0, 2048},
    {KeyType::kRsa3072, "rsa-3072", "ssh-rsa", "", nullptr, 0, 3072},
    {KeyType::kRsa4096, "rsa-4096", "ssh-rsa", "", nullptr, 0, 4096},
}};

constexpr std::array<std::pair<PrivateKeyFormat, std::string_view>, 3> kFormats = {{
    {PrivateKeyFormat::kOpenSsh, "openssh"},
    {PrivateKeyFormat::kPkcs8, "pkcs8"},
    {PrivateKeyFormat::kPpk, "ppk"},
}};

using ParamBldPtr =
    std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, OpenSslDeleter<OSSL_PARAM, OSSL_PARAM_free>>;

constexpr char kMsgMismatch[] = "the private key does not match its public key";

// A private BIGNUM parameter of `pkey`, wiped when freed.
SecretBnPtr SecretParam(const EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return nullptr;
  return SecretBnPtr(bn);
}

BnPtr PublicParam(const EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return nullptr;
  return BnPtr(bn);
}

Status ExtractEd25519(const EVP_PKEY* pkey, KeyParts* parts) {
  size_t pub_len = parts->ed25519_public.size();
  size_t seed_len = parts->ed25519_seed.size();
  if (EVP_PKEY_get_raw_public_key(pkey, parts->ed25519_public.data(), &pub_len) != 1 ||
      pub_len != parts->ed25519_public.size() ||
      EVP_PKEY_get_raw_private_key(pkey, parts->ed25519_seed.data(), &seed_len) != 1 ||
      seed_len != parts->ed25519_seed.size()) {
    return Internal("reading the Ed25519 key failed");
  }
  AppendString(&parts->public_blob, parts->info->ssh_type);
  AppendString(&parts->public_blob, parts->ed25519_public.data(), parts->ed25519_public.size());
  return Status::Ok();
}

Status ExtractEcdsa(const EVP_PKEY* pkey, KeyParts* parts) {
  std::array<unsigned char, 1 + 2 * 66> point;
  size_t point_len = 0;
  if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size(),
                                      &point_len) != 1 ||
      point_len != 1 + 2 * parts->info->field_bytes || point[0] != 0x04) {
    return Internal("reading the ECDSA public key failed");
  }
  parts->ec_point.assign(reinterpret_cast<const char*>(point.data()), point_len);
  parts->ec_private = SecretParam(pkey, OSSL_PKEY_PARAM_PRIV_KEY);
  if (!parts->ec_private) return Internal("reading the ECDSA private key failed");
  AppendString(&parts->public_blob, parts->info->ssh_type);
  AppendString(&parts->public_blob, parts->info->curve);
  AppendString(&parts->public_blob, parts->ec_point);
  return Status::Ok();
}

Status ExtractRsa(const EVP_PKEY* pkey, KeyParts* parts) {
  parts->rsa_n = PublicParam(pkey, OSSL_PKEY_PARAM_RSA_N);
  parts->rsa_e = PublicParam(pkey, OSSL_PKEY_PARAM_RSA_E);
  parts->rsa_d = SecretParam(pkey, OSSL_PKEY_PARAM_RSA_D);
  parts->rsa_p = SecretParam(pkey, OSSL_PKEY_PARAM_RSA_FACTOR1);
  parts->rsa_q = SecretParam(pkey, OSSL_PKEY_PARAM_RSA_FACTOR2);
  parts->rsa_iqmp = SecretParam(pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1);
  if (!parts->rsa_n || !parts->rsa_e || !parts->rsa_d || !parts->rsa_p || !parts->rsa_q ||
      !parts->rsa_iqmp) {
    return Internal("reading the RSA key failed");
  }
  AppendString(&parts->public_blob, parts->info->ssh_type);
  if (!AppendMpint(&parts->public_blob, parts->rsa_e.get()) ||
      !AppendMpint(&parts->public_blob, parts->rsa_n.get())) {
    return Internal("reading the RSA key failed");
  }
  return Status::Ok();
}

// A PrivateKey made by EVP_PKEY_fromdata from the parameters in `bld`.
StatusOr<PrivateKey> FromData(const KeyTypeInfo& info, const char* algorithm, OSSL_PARAM_BLD* bld) {
  // Private BIGNUMs pushed here are BN_secure_new ones, so OpenSSL puts them in the
  // secure part of the array, which OSSL_PARAM_free wipes.
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, algorithm, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) != 1) {
    return InvalidArgument(kMsgMismatch);
  }
  auto impl = std::make_unique<PrivateKey::Impl>();
  impl->type = info.type;
  impl->pkey.reset(raw);
  return PrivateKey(std::move(impl));
}

StatusOr<PrivateKey> Ed25519FromParts(const KeyParts& parts) {
  PkeyPtr pkey(EVP_PKEY_new_raw_private_key_ex(
      nullptr, "ED25519", nullptr, parts.ed25519_seed.data(), parts.ed25519_seed.size()));
  std::array<unsigned char, 32> derived;
  size_t len = derived.size();
  if (!pkey || EVP_PKEY_get_raw_public_key(pkey.get(), derived.data(), &len) != 1 ||
      len != derived.size()) {
    return Internal("building the Ed25519 key failed");
  }
  if (CRYPTO_memcmp(derived.data(), parts.ed25519_public.data(), derived.size()) != 0) {
    return InvalidArgument(kMsgMismatch);
  }
  auto impl = std::make_unique<PrivateKey::Impl>();
  impl->type = KeyType::kEd25519;
  impl->pkey = std::move(pkey);
  return PrivateKey(std::move(impl));
}

StatusOr<PrivateKey> EcdsaFromParts(const KeyParts& parts) {
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, parts.info->group,
                                      0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, parts.ec_point.data(),
                                       parts.ec_point.size()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, parts.ec_private.get()) != 1) {
    return Internal("building the ECDSA key failed");
  }
  StatusOr<PrivateKey> key = FromData(*parts.info, "EC", bld.get());
  if (!key.ok()) return key;
  // d in [1, n-1] and d·G = Q.
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key->impl().pkey.get(), nullptr));
  if (!check || EVP_PKEY_pairwise_check(check.get()) != 1) return InvalidArgument(kMsgMismatch);
  return key;
}

// n = p·q, e·d = 1 mod p-1 and mod q-1, iqmp·q = 1 mod p: what signing needs. Primality
// is not tested (it would cost more than the rest of reading a key).
bool RsaPartsFit(const KeyParts& parts, BIGNUM* dmp1, BIGNUM* dmq1) {
  BnCtxPtr ctx(BN_CTX_secure_new());
  if (!ctx) return false;
  BN_CTX_start(ctx.get());
  BIGNUM* t = BN_CTX_get(ctx.get());
  BIGNUM* p1 = BN_CTX_get(ctx.get());
  BIGNUM* q1 = BN_CTX_get(ctx.get());
  const BIGNUM* p = parts.rsa_p.get();
  const BIGNUM* q = parts.rsa_q.get();
  bool ok = t != nullptr && BN_cmp(p, BN_value_one()) > 0 && BN_cmp(q, BN_value_one()) > 0 &&
            BN_mul(t, p, q, ctx.get()) == 1 && BN_cmp(t, parts.rsa_n.get()) == 0 &&
            BN_sub(p1, p, BN_value_one()) == 1 && BN_sub(q1, q, BN_value_one()) == 1 &&
            BN_mod(dmp1, parts.rsa_d.get(), p1, ctx.get()) == 1 &&
            BN_mod(dmq1, parts.rsa_d.get(), q1, ctx.get()) == 1 &&
            BN_mod_mul(t, parts.rsa_e.get(), dmp1, p1, ctx.get()) == 1 && BN_is_one(t) &&
            BN_mod_mul(t, parts.rsa_e.get(), dmq1, q1, ctx.get()) == 1 && BN_is_one(t) &&
            BN_mod_mul(t, parts.rsa_iqmp.get(), q, p, ctx.get()) == 1 && BN_is_one(t);
  BN_CTX_end(ctx.get());
  return ok;
}

StatusOr<PrivateKey> RsaFromParts(const KeyParts& parts) {
  SecretBnPtr dmp1(BN_secure_new());
  SecretBnPtr dmq1(BN_secure_new());
  if (!dmp1 || !dmq1) return Internal("out of memory");
  if (!RsaPartsFit(parts, dmp1.get(), dmq1.get())) return InvalidArgument(kMsgMismatch);
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, parts.rsa_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, parts.rsa_e.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_D, parts.rsa_d.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR1, parts.rsa_p.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR2, parts.rsa_q.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT1, dmp1.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT2, dmq1.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1, parts.rsa_iqmp.get()) !=
          1) {
    return Internal("building the RSA key failed");
  }
  return FromData(*parts.info, "RSA", bld.get());
}

}  // namespace

const KeyTypeInfo& InfoOf(KeyType type) {
  for (const KeyTypeInfo& info : kKeyTypes) {
    if (info.type == type) return info;
  }
  return kKeyTypes[0];  // unreachable for a valid enum value
}

const KeyTypeInfo* InfoOfSshType(std::string_view ssh_type, int bits) {
  for (const KeyTypeInfo& info : kKeyTypes) {
    if (info.ssh_type == ssh_type &&
        (info.rsa_bits == 0 || static_cast<int>(info.rsa_bits) == bits)) {
      return &info;
    }
  }
  return nullptr;
}

std::optional<KeyType> ParseKeyType(std::string_view name) {
  for (const KeyTypeInfo& info : kKeyTypes) {
    if (info.name == name) return info.type;
  }
  return std::nullopt;
}

std::string_view KeyTypeName(KeyType type) { return InfoOf(type).name; }

std::optional<PrivateKeyFormat> ParsePrivateKeyFormat(std::string_view name) {
  for (const auto& [format, format_name] : kFormats) {
    if (format_name == name) return format;
  }
  return std::nullopt;
}

std::string_view PrivateKeyFormatName(PrivateKeyFormat format) {
  for (const auto& [f, name] : kFormats) {
    if (f == format) return name;
  }
  return "";
}

PrivateKey::PrivateKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PrivateKey::PrivateKey(PrivateKey&& other) noexcept = default;
PrivateKey& PrivateKey::operator=(PrivateKey&& other) noexcept = default;
PrivateKey::~PrivateKey() = default;

KeyType PrivateKey::type() const { return impl_->type; }

bool PrivateKey::SameKeyAs(const PrivateKey& other) const {
  KeyParts a;
  KeyParts b;
  if (type() != other.type() || !ExtractParts(*this, &a).ok() || !ExtractParts(other, &b).ok() ||
      a.public_blob != b.public_blob) {
    return false;
  }
  switch (InfoOf(type()).type) {
    case KeyType::kEd25519:
      return CRYPTO_memcmp(a.ed25519_seed.data(), b.ed25519_seed.data(), a.ed25519_seed.size()) ==
             0;
    case KeyType::kEcdsaP256:
    case KeyType::kEcdsaP384:
    case KeyType::kEcdsaP521:
      return BN_cmp(a.ec_private.get(), b.ec_private.get()) == 0;
    case KeyType::kRsa2048:
    case KeyType::kRsa3072:
    case KeyType::kRsa4096:
      return BN_cmp(a.rsa_d.get(), b.rsa_d.get()) == 0 &&
             BN_cmp(a.rsa_p.get(), b.rsa_p.get()) == 0 &&
             BN_cmp(a.rsa_q.get(), b.rsa_q.get()) == 0 &&
             BN_cmp(a.rsa_iqmp.get(), b.rsa_iqmp.get()) == 0;
  }
  return false;
}

Status ExtractParts(const PrivateKey& key, KeyParts* parts) {
  parts->info = &InfoOf(key.type());
  const EVP_PKEY* pkey = key.impl().pkey.get();
  if (parts->info->rsa_bits != 0) return ExtractRsa(pkey, parts);
  if (parts->info->group != nullptr) return ExtractEcdsa(pkey, parts);
  return ExtractEd25519(pkey, parts);
}

StatusOr<PrivateKey> PrivateKeyFromParts(const KeyParts& parts) {
  if (parts.info->rsa_bits != 0) return RsaFromParts(parts);
  if (parts.info->group != nullptr) return EcdsaFromParts(parts);
  return Ed25519FromParts(parts);
}

bool CipherInPlace(const EVP_CIPHER* cipher, const unsigned char* key, const unsigned char* iv,
                   bool encrypt, std::string* data) {
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  auto* bytes = reinterpret_cast<unsigned char*>(data->data());
  int len = 0;
  int final_len = 0;
  return ctx && EVP_CipherInit_ex(ctx.get(), cipher, nullptr, key, iv, encrypt ? 1 : 0) == 1 &&
         EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1 &&
         EVP_CipherUpdate(ctx.get(), bytes, &len, bytes, static_cast<int>(data->size())) == 1 &&
         EVP_CipherFinal_ex(ctx.get(), bytes + len, &final_len) == 1 &&
         static_cast<size_t>(len) + static_cast<size_t>(final_len) == data->size();
}

bool RandomBytes(void* out, size_t n) {
  return RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(n)) == 1;
}

size_t WrappedSize(size_t base64_size, size_t columns) {
  return base64_size + (base64_size + columns - 1) / columns;
}

void AppendWrapped(std::string* out, std::string_view base64, size_t columns) {
  for (size_t i = 0; i < base64.size(); i += columns) {
    out->append(base64.substr(i, columns));
    out->push_back('\n');
  }
}

namespace {

// OpenSSL's progress callback during RSA generation: 0 stops it.
int KeepGenerating(EVP_PKEY_CTX* ctx) {
  const auto* cancel = static_cast<const std::atomic<bool>*>(EVP_PKEY_CTX_get_app_data(ctx));
  return cancel->load(std::memory_order_relaxed) ? 0 : 1;
}

// RSA with a cancel flag (EVP_PKEY_Q_keygen takes no callback); null with *cancelled set
// when it gave up.
EVP_PKEY* CancellableRsa(int bits, const std::atomic<bool>* cancel, bool* cancelled) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) != 1) {
    return nullptr;
  }
  EVP_PKEY_CTX_set_app_data(ctx.get(), const_cast<std::atomic<bool>*>(cancel));
  EVP_PKEY_CTX_set_cb(ctx.get(), KeepGenerating);
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw) != 1) {
    *cancelled = cancel->load(std::memory_order_relaxed);
    return nullptr;
  }
  return raw;
}

}  // namespace

StatusOr<PrivateKey> GeneratePrivateKey(KeyType type, const std::atomic<bool>* cancel) {
  const KeyTypeInfo& info = InfoOf(type);
  EVP_PKEY* raw = nullptr;
  if (info.rsa_bits != 0 && cancel != nullptr) {
    bool cancelled = false;
    raw = CancellableRsa(info.rsa_bits, cancel, &cancelled);
    if (cancelled) return Unavailable("key generation cancelled");
  } else if (info.rsa_bits != 0) {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(info.rsa_bits));
  } else if (info.group != nullptr) {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", info.group);
  } else {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  }
  if (raw == nullptr) return Internal("key generation failed");
  auto impl = std::make_unique<PrivateKey::Impl>();
  impl->type = type;
  impl->pkey.reset(raw);
  return PrivateKey(std::move(impl));
}

StatusOr<PublicKey> PublicKeyOf(const PrivateKey& key, std::string_view comment) {
  // The comment's own checks first, so that a line break gets their message rather than
  // ParsePublicKey's "more than one line".
  if (Status s = CheckComment(comment); !s.ok()) return s;
  KeyParts parts;
  if (Status s = ExtractParts(key, &parts); !s.ok()) return s;
  std::string line = std::string(parts.info->ssh_type) + " " + Base64Encode(parts.public_blob);
  if (!comment.empty()) line.append(" ").append(comment);
  StatusOr<PublicKey> public_key = ParsePublicKey(line);
  if (!public_key.ok()) return public_key.status();
  if (public_key->comment != comment) {
    return InvalidArgument("the comment must not begin or end with blanks");
  }
  return public_key;
}

StatusOr<SecretString> Ed25519KeyPair(const PrivateKey& key) {
  if (key.type() != KeyType::kEd25519) return InvalidArgument("not an Ed25519 key");
  KeyParts parts;
  if (Status s = ExtractParts(key, &parts); !s.ok()) return s;
  std::string both;
  both.reserve(parts.ed25519_seed.size() + parts.ed25519_public.size());
  both.append(reinterpret_cast<const char*>(parts.ed25519_seed.data()), parts.ed25519_seed.size());
  both.append(reinterpret_cast<const char*>(parts.ed25519_public.data()),
              parts.ed25519_public.size());
  return SecretString(std::move(both));
}

}  // namespace keypaird::sshkey
