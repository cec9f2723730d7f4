#include "sshkey/certificate.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sshkey/wire.h"
#include "sshkey/openssl_util.h"
#include "sshkey/sshkey.h"

namespace keypaird::sshkey {
namespace {

constexpr std::string_view kEd25519 = "ssh-ed25519";
constexpr size_t kEd25519PublicSize = 32;
constexpr size_t kEd25519SignatureSize = 64;
constexpr size_t kNonceSize = 32;
constexpr std::string_view kForceCommand = "force-command";
constexpr std::string_view kSourceAddress = "source-address";

// A certificate type, the plain key type it certifies and how many wire strings follow
// the nonce for that key (PROTOCOL.certkeys; PROTOCOL.u2f for sk-*).
struct CertKind {
  std::string_view cert_type;
  std::string_view key_type;
  int key_fields;
};

constexpr std::array<CertKind, 7> kCertKinds = {{
    {"ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519", 1},
    {"ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp256", 2},
    {"ecdsa-sha2-nistp384-cert-v01@openssh.com", "ecdsa-sha2-nistp384", 2},
    {"ecdsa-sha2-nistp521-cert-v01@openssh.com", "ecdsa-sha2-nistp521", 2},
    {"ssh-rsa-cert-v01@openssh.com", "ssh-rsa", 2},  // mpint e, mpint n
    {"sk-ssh-ed25519-cert-v01@openssh.com", "sk-ssh-ed25519@openssh.com", 2},
    {"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", 3},
}};

const CertKind* KindByKeyType(std::string_view key_type) {
  for (const CertKind& k : kCertKinds) {
    if (k.key_type == key_type) return &k;
  }
  return nullptr;
}

const CertKind* KindByCertType(std::string_view cert_type) {
  for (const CertKind& k : kCertKinds) {
    if (k.cert_type == cert_type) return &k;
  }
  return nullptr;
}

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7f;
  });
}

bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

// Validates a plain key blob with ParsePublicKey (the one set of key rules) and returns
// its type. `what` names the key in messages.
StatusOr<std::string> ValidatePlainKey(std::string_view blob, std::string_view what) {
  WireReader r(blob);
  std::string_view type;
  if (!r.ReadString(&type) || type.empty() || HasControl(type) ||
      type.find(' ') != std::string_view::npos) {
    return InvalidArgument(std::string(what) + " is malformed: it does not start with a key type");
  }
  StatusOr<PublicKey> key = ParsePublicKey(std::string(type) + " " + Base64Encode(blob));
  if (!key.ok()) return InvalidArgument(std::string(what) + ": " + key.status().message());
  return std::string(type);
}

// source-address: "addr[/bits],..." with IPv4 or IPv6 addresses and no host bits set.
Status ValidateSourceAddress(std::string_view list) {
  constexpr char kMsg[] =
      "source_address must be a comma-separated list of IP addresses or CIDR blocks (such as "
      "192.0.2.0/24 or 2001:db8::/32) with no host bits set";
  if (list.empty()) return InvalidArgument(kMsg);
  while (true) {
    const size_t comma = list.find(',');
    std::string_view entry = list.substr(0, comma);
    const size_t slash = entry.find('/');
    const std::string addr(entry.substr(0, slash));
    std::array<unsigned char, 16> bytes{};
    size_t size = 0;
    if (inet_pton(AF_INET, addr.c_str(), bytes.data()) == 1) {
      size = 4;
    } else if (inet_pton(AF_INET6, addr.c_str(), bytes.data()) == 1) {
      size = 16;
    } else {
      return InvalidArgument(kMsg);
    }
    size_t bits = size * 8;
    if (slash != std::string_view::npos) {
      std::string_view digits = entry.substr(slash + 1);
      if (digits.empty() || digits.size() > 3 ||
          !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return InvalidArgument(kMsg);
      }
      bits = 0;
      for (char c : digits) bits = bits * 10 + static_cast<size_t>(c - '0');
      if (bits > size * 8) return InvalidArgument(kMsg);
    }
    for (size_t i = 0; i < size; ++i) {
      const size_t kept = bits >= (i + 1) * 8 ? 8 : (bits > i * 8 ? bits - i * 8 : 0);
      const unsigned mask = kept == 8 ? 0u : (0xffu >> kept);
      if ((bytes[i] & mask) != 0) return InvalidArgument(kMsg);
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return Status::Ok();
}

Status ValidateRequest(const UserCertificateRequest& req) {
  if (req.principals.empty()) {
    return InvalidArgument(
        "principals must not be empty: a certificate without principals is valid for every "
        "user");
  }
  if (req.principals.size() > kMaxCertificatePrincipals) {
    return InvalidArgument("at most 256 principals are allowed");
  }
  for (const std::string& p : req.principals) {
    if (p.empty() || HasControl(p)) {
      return InvalidArgument("each principal must be non-empty and free of control characters");
    }
  }
  if (HasControl(req.key_id)) {
    return InvalidArgument("key_id must be free of control characters");
  }
  if (req.valid_after >= req.valid_before) {
    return InvalidArgument("valid_before must be later than valid_after");
  }
  if (req.force_command && (req.force_command->empty() || HasNul(*req.force_command))) {
    return InvalidArgument("force_command must be non-empty and free of NUL bytes");
  }
  if (req.source_address) {
    if (Status s = ValidateSourceAddress(*req.source_address); !s.ok()) return s;
  }
  for (const std::string& e : req.extensions) {
    if (e.empty() || HasControl(e)) {
      return InvalidArgument(
          "each extension name must be non-empty and free of control characters");
    }
  }
  if (HasControl(req.comment)) {
    return InvalidArgument("the certificate comment must be free of control characters");
  }
  return Status::Ok();
}

// A critical option whose data is one string (force-command, source-address).
void PutStringOption(std::string* out, std::string_view name, std::string_view value) {
  std::string data;
  AppendString(&data, value);
  AppendString(out, name);
  AppendString(out, data);
}

Status VerifyEd25519(std::string_view public_key, std::string_view signature,
                     std::string_view data) {
  PkeyPtr pkey(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(public_key.data()),
      public_key.size()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!pkey || !ctx) return Internal("Ed25519 verification failed to start");
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
    return Internal("Ed25519 verification failed to start");
  }
  if (EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) != 1) {
    return InvalidArgument("the certificate signature does not verify with its CA key");
  }
  return Status::Ok();
}

// Options of a certificate: (name, data) pairs, names strictly increasing.
Status ParseOptions(std::string_view section, std::string_view what,
                    std::vector<CertificateOption>* out) {
  WireReader r(section);
  std::string_view previous;
  bool first = true;
  while (!r.empty()) {
    std::string_view name, data;
    if (!r.ReadString(&name) || !r.ReadString(&data)) {
      return InvalidArgument("the certificate's " + std::string(what) + " are truncated");
    }
    if (name.empty() || HasNul(name)) {
      return InvalidArgument("the certificate has an empty or invalid " + std::string(what) +
                             " name");
    }
    if (!first && name <= previous) {
      return InvalidArgument("the certificate's " + std::string(what) +
                             " are not sorted by name or repeat a name");
    }
    out->push_back({std::string(name), std::string(data)});
    previous = name;
    first = false;
  }
  return Status::Ok();
}

// The value of a critical option whose data must be exactly one string without NUL.
StatusOr<std::string> StringOptionValue(std::string_view name, std::string_view data) {
  WireReader r(data);
  std::string_view value;
  if (!r.ReadString(&value) || !r.empty() || HasNul(value)) {
    return InvalidArgument("the certificate's " + std::string(name) +
                           " option does not hold exactly one string");
  }
  return std::string(value);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// CaKey.

struct CaKey::Impl {
  // The key with its public blob, for a key OpenSSL made or loaded (null: it failed).
  static StatusOr<CaKey> Wrap(PkeyPtr pkey, const char* failure);

  PkeyPtr pkey;
  std::string public_blob;
};

CaKey::CaKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CaKey::CaKey(CaKey&& other) noexcept = default;
CaKey& CaKey::operator=(CaKey&& other) noexcept = default;
CaKey::~CaKey() = default;  // EVP_PKEY_free clears the private key it holds

StatusOr<CaKey> CaKey::Impl::Wrap(PkeyPtr pkey, const char* failure) {
  if (!pkey) return Internal(failure);
  std::array<unsigned char, kEd25519PublicSize> pub{};
  size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(pkey.get(), pub.data(), &len) != 1 || len != pub.size()) {
    return Internal("cannot read the Ed25519 public key");
  }
  auto impl = std::make_unique<Impl>();
  impl->pkey = std::move(pkey);
  AppendString(&impl->public_blob, kEd25519);
  AppendString(&impl->public_blob,
                  std::string_view(reinterpret_cast<const char*>(pub.data()), len));
  return CaKey(std::move(impl));
}

StatusOr<CaKey> CaKey::Generate() {
  return Impl::Wrap(PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")),
                    "Ed25519 key generation failed");
}

StatusOr<CaKey> CaKey::FromSeed(const SecretString& seed) {
  if (seed.size() != kCaSeedSize) {
    return InvalidArgument("the CA key seed must be exactly 32 bytes");
  }
  return Impl::Wrap(PkeyPtr(EVP_PKEY_new_raw_private_key(
                        EVP_PKEY_ED25519, nullptr,
                        reinterpret_cast<const unsigned char*>(seed.view().data()), seed.size())),
                    "cannot load the Ed25519 CA key");
}

StatusOr<SecretString> CaKey::Seed() const {
  if (!impl_) return Internal("the CA key was moved away");
  // Sized once: the bytes are written in place and never reallocated, so no copy is
  // left behind unwiped.
  std::string seed(kCaSeedSize, '\0');
  size_t len = seed.size();
  if (EVP_PKEY_get_raw_private_key(impl_->pkey.get(), reinterpret_cast<unsigned char*>(seed.data()),
                                   &len) != 1 ||
      len != kCaSeedSize) {
    WipeString(seed);
    return Internal("cannot read the Ed25519 CA seed");
  }
  return SecretString(std::move(seed));
}

std::string_view CaKey::public_blob() const {
  return impl_ ? std::string_view(impl_->public_blob) : std::string_view();
}

std::string CaKey::PublicKeyLine(std::string_view comment) const {
  if (!impl_) return "";
  std::string line = std::string(kEd25519) + " " + Base64Encode(impl_->public_blob);
  if (!comment.empty() && !HasControl(comment)) {
    line += " ";
    line += comment;
  }
  return line;
}

StatusOr<std::string> CaKey::Sign(std::string_view data) const {
  if (!impl_) return Internal("the CA key was moved away");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->pkey.get()) != 1) {
    return Internal("Ed25519 signing failed to start");
  }
  std::array<unsigned char, kEd25519SignatureSize> sig{};
  size_t sig_len = sig.size();
  if (EVP_DigestSign(ctx.get(), sig.data(), &sig_len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      sig_len != sig.size()) {
    return Internal("Ed25519 signing failed");
  }
  std::string out;
  AppendString(&out, kEd25519);
  AppendString(&out, std::string_view(reinterpret_cast<const char*>(sig.data()), sig_len));
  return out;
}

// ---------------------------------------------------------------------------------------
// Certificates.

namespace {

StatusOr<Certificate> SignCertificate(const CaKey& ca, const UserCertificateRequest& request,
                                      uint32_t cert_type) {
  if (ca.public_blob().empty()) return Internal("the CA key was moved away");
  StatusOr<std::string> key_type = ValidatePlainKey(request.key_blob, "the key to certify");
  if (!key_type.ok()) return key_type.status();
  const CertKind* kind = KindByKeyType(*key_type);
  if (kind == nullptr) return InvalidArgument("this key type cannot be certified");
  if (Status s = ValidateRequest(request); !s.ok()) return s;

  std::array<unsigned char, kNonceSize> nonce{};
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) {
    return Internal("no random bytes for the certificate nonce");
  }

  std::string principals;
  for (const std::string& p : request.principals) AppendString(&principals, p);

  // Critical options and extensions are sorted by name; force-command < source-address.
  std::string critical;
  if (request.force_command) PutStringOption(&critical, kForceCommand, *request.force_command);
  if (request.source_address) {
    PutStringOption(&critical, kSourceAddress, *request.source_address);
  }
  std::vector<std::string> names = request.extensions;
  std::sort(names.begin(), names.end());  // std::string compares bytes as unsigned
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string extensions;
  for (const std::string& name : names) {
    AppendString(&extensions, name);
    AppendString(&extensions, "");
  }

  Certificate cert;
  cert.type = std::string(kind->cert_type);
  std::string& out = cert.blob;
  AppendString(&out, kind->cert_type);
  AppendString(&out,
                  std::string_view(reinterpret_cast<const char*>(nonce.data()), nonce.size()));
  // The key's fields are the plain blob after its type string.
  out.append(std::string_view(request.key_blob).substr(4 + key_type->size()));
  AppendU64(&out, request.serial);
  AppendU32(&out, cert_type);
  AppendString(&out, request.key_id);
  AppendString(&out, principals);
  AppendU64(&out, request.valid_after);
  AppendU64(&out, request.valid_before);
  AppendString(&out, critical);
  AppendString(&out, extensions);
  AppendString(&out, "");  // reserved
  AppendString(&out, ca.public_blob());
  StatusOr<std::string> signature = ca.Sign(out);  // over everything up to the CA key
  if (!signature.ok()) return signature.status();
  AppendString(&out, *signature);

  cert.line = cert.type + " " + Base64Encode(cert.blob);
  if (!request.comment.empty()) cert.line += " " + request.comment;
  return cert;
}

}  // namespace

StatusOr<Certificate> SignUserCertificate(const CaKey& ca, const UserCertificateRequest& request) {
  return SignCertificate(ca, request, kCertTypeUser);
}

StatusOr<Certificate> SignHostCertificate(const CaKey& ca, const UserCertificateRequest& request) {
  if (request.force_command || request.source_address || !request.extensions.empty()) {
    return InvalidArgument("a host certificate carries no critical options and no extensions");
  }
  return SignCertificate(ca, request, kCertTypeHost);
}

StatusOr<ParsedCertificate> ParseCertificate(std::string_view blob) {
  constexpr char kTruncated[] = "the certificate is malformed: a field is truncated";
  WireReader r(blob);
  ParsedCertificate cert;
  std::string_view type, nonce;
  if (!r.ReadString(&type)) return InvalidArgument(kTruncated);
  const CertKind* kind = KindByCertType(type);
  if (kind == nullptr) {
    return InvalidArgument(
        "not a certificate of an accepted type: accepted are the -cert-v01@openssh.com types "
        "of ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa, sk-ssh-ed25519@openssh.com and "
        "sk-ecdsa-sha2-nistp256@openssh.com");
  }
  cert.type = std::string(type);
  cert.key_type = std::string(kind->key_type);
  if (!r.ReadString(&nonce)) return InvalidArgument(kTruncated);
  cert.nonce = std::string(nonce);

  AppendString(&cert.key_blob, kind->key_type);
  for (int i = 0; i < kind->key_fields; ++i) {
    std::string_view field;
    if (!r.ReadString(&field)) return InvalidArgument(kTruncated);
    AppendString(&cert.key_blob, field);
  }
  if (StatusOr<std::string> t = ValidatePlainKey(cert.key_blob, "the certified key"); !t.ok()) {
    return t.status();
  }

  std::string_view key_id, principals, critical, extensions, reserved, ca_key, signature;
  if (!r.ReadU64(&cert.serial) || !r.ReadU32(&cert.cert_type) || !r.ReadString(&key_id) ||
      !r.ReadString(&principals) || !r.ReadU64(&cert.valid_after) || !r.ReadU64(&cert.valid_before) ||
      !r.ReadString(&critical) || !r.ReadString(&extensions) || !r.ReadString(&reserved) ||
      !r.ReadString(&ca_key)) {
    return InvalidArgument(kTruncated);
  }
  const std::string_view signed_part = blob.substr(0, blob.size() - r.size());
  if (!r.ReadString(&signature)) return InvalidArgument(kTruncated);
  if (!r.empty()) return InvalidArgument("the certificate has trailing bytes after its signature");

  if (cert.cert_type != kCertTypeUser && cert.cert_type != kCertTypeHost) {
    return InvalidArgument("the certificate is neither a user nor a host certificate");
  }
  if (HasNul(key_id)) return InvalidArgument("the certificate's key id contains a NUL byte");
  cert.key_id = std::string(key_id);
  for (WireReader p(principals); !p.empty();) {
    std::string_view principal;
    if (!p.ReadString(&principal)) return InvalidArgument("the certificate's principals are truncated");
    if (HasNul(principal)) return InvalidArgument("a certificate principal contains a NUL byte");
    cert.principals.emplace_back(principal);
  }
  if (Status s = ParseOptions(critical, "critical options", &cert.critical_options); !s.ok()) {
    return s;
  }
  for (const CertificateOption& o : cert.critical_options) {
    if (o.name != kForceCommand && o.name != kSourceAddress) continue;
    StatusOr<std::string> value = StringOptionValue(o.name, o.data);
    if (!value.ok()) return value.status();
    (o.name == kForceCommand ? cert.force_command : cert.source_address) = std::move(*value);
  }
  if (Status s = ParseOptions(extensions, "extensions", &cert.extensions); !s.ok()) return s;

  StatusOr<std::string> ca_type = ValidatePlainKey(ca_key, "the certificate's CA key");
  if (!ca_type.ok()) return ca_type.status();
  if (*ca_type != kEd25519) {
    return InvalidArgument("only certificates signed by an ssh-ed25519 CA key can be verified");
  }
  cert.ca_key_blob = std::string(ca_key);

  WireReader ca(ca_key), sig(signature);
  std::string_view ca_pub, sig_type, sig_bytes;
  if (!ca.ReadString(&ca_pub) || !ca.ReadString(&ca_pub) || !sig.ReadString(&sig_type) ||
      !sig.ReadString(&sig_bytes) || !sig.empty() || sig_type != kEd25519 ||
      sig_bytes.size() != kEd25519SignatureSize) {
    return InvalidArgument("the certificate signature is not an ssh-ed25519 signature");
  }
  if (Status s = VerifyEd25519(ca_pub, sig_bytes, signed_part); !s.ok()) return s;
  return cert;
}

}  // namespace keypaird::sshkey
