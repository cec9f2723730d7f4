#include "sshkey/sshkey.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/digest.h"
#include "common/strings.h"
#include "sshkey/ed25519_point.h"
#include "sshkey/openssl_util.h"
#include "sshkey/wire.h"

namespace keypaird::sshkey {
namespace {

// ---------------------------------------------------------------------------------------
// Messages. They describe the problem and never quote the input (it may be a private key).

constexpr char kMsgEmpty[] = "public key is empty";
constexpr char kMsgTooLarge[] = "public key is too large: at most 16384 bytes are accepted";
constexpr char kMsgPrivateKey[] =
    "this is a private key: send the public key (the contents of the .pub file) instead, and "
    "keep the private key secret";
constexpr char kMsgDss[] = "ssh-dss (DSA) keys are not accepted";
constexpr char kMsgCertificate[] =
    "SSH certificates (*-cert-v01@openssh.com) are not accepted: send the plain public key";
constexpr char kMsgUnknownType[] =
    "unsupported key type: accepted are ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, "
    "ecdsa-sha2-nistp521, ssh-rsa, sk-ssh-ed25519@openssh.com and "
    "sk-ecdsa-sha2-nistp256@openssh.com";
constexpr char kMsgMultipleKeys[] = "more than one key: send exactly one public key";
constexpr char kMsgMultiLine[] =
    "the public key must be a single line: a line break inside it could inject lines into "
    "authorized_keys";
constexpr char kMsgOptions[] =
    "authorized_keys options (such as command=\"...\" or no-pty) are not allowed: send only "
    "\"TYPE BASE64 [COMMENT]\"";
constexpr char kMsgMissingData[] = "the base64 key data after the key type is missing";
constexpr char kMsgTypeMismatch[] =
    "the key data is of a different key type than the type declared before it";
constexpr char kMsgTrailingBytes[] = "the key data has trailing bytes after the key fields";
constexpr char kMsgTruncated[] = "the key data is malformed: a field is truncated";
constexpr char kMsgEd25519Size[] = "the Ed25519 public key is not exactly 32 bytes";
constexpr char kMsgEd25519Point[] = "the Ed25519 public key is not a valid curve point";
constexpr char kMsgCurveMismatch[] = "the ECDSA curve name does not match the key type";
constexpr char kMsgEcNotUncompressed[] =
    "the ECDSA public key is not an uncompressed curve point of the right size";
constexpr char kMsgEcNotOnCurve[] = "the ECDSA public key point is not on the curve";
constexpr char kMsgRsaExponent[] = "the RSA public exponent is invalid: it must be odd and >= 3";
constexpr char kMsgRsaModulusEven[] = "the RSA modulus is invalid: it must be odd";
constexpr char kMsgMpintNegative[] = "the RSA key is malformed: an integer field is negative";
constexpr char kMsgMpintLeadingZero[] =
    "the RSA key is malformed: an integer field has an unnecessary leading zero byte";
constexpr char kMsgSkApplication[] = "the security key (sk-*) public key has no application string";
constexpr char kMsgCommentControl[] =
    "the comment contains control characters (such as tab, newline or DEL), which could inject "
    "lines into authorized_keys";
constexpr char kMsgCommentUtf8[] = "the comment is not valid UTF-8";
constexpr char kMsgRfc4716NoEnd[] =
    "the RFC 4716 block has no \"---- END SSH2 PUBLIC KEY ----\" line";
constexpr char kMsgRfc4716NoData[] = "the RFC 4716 block contains no key data";
constexpr char kMsgRfc4716Continuation[] =
    "the RFC 4716 block has a header continuation line ('\\') with no following line";
constexpr char kMsgPemNoEnd[] = "the PEM block has no \"-----END PUBLIC KEY-----\" line";
constexpr char kMsgPemInvalid[] = "the PEM public key is not a valid SubjectPublicKeyInfo";
constexpr char kMsgPemAlgorithm[] =
    "the PEM public key has an unsupported algorithm: accepted are RSA, EC (P-256, P-384, "
    "P-521) and Ed25519";
constexpr char kMsgPemCurve[] =
    "the PEM public key uses an unsupported elliptic curve: accepted are P-256, P-384 and P-521";
constexpr char kMsgUnsupportedBlock[] =
    "unsupported block: accepted are an OpenSSH public key line, an RFC 4716 \"---- BEGIN SSH2 "
    "PUBLIC KEY ----\" block and a PEM \"-----BEGIN PUBLIC KEY-----\" block";
constexpr char kMsgTrailingText[] = "unexpected text after the end of the key block";

constexpr std::string_view kRfc4716Begin = "---- BEGIN SSH2 PUBLIC KEY ----";
constexpr std::string_view kRfc4716End = "---- END SSH2 PUBLIC KEY ----";
constexpr std::string_view kPemBegin = "-----BEGIN PUBLIC KEY-----";
constexpr std::string_view kPemEnd = "-----END PUBLIC KEY-----";
constexpr std::string_view kCertSuffix = "-cert-v01@openssh.com";

// ---------------------------------------------------------------------------------------
// Key types.

enum class Kind { kEd25519, kEcdsa, kRsa, kSkEd25519, kSkEcdsa };

struct KeyType {
  std::string_view name;
  Kind kind;
  std::string_view curve;  // ECDSA curve name in the blob; empty otherwise
  int nid;                 // OpenSSL curve NID for ECDSA; 0 otherwise
  int bits;                // reported size; 0 for RSA (taken from the modulus)
};

constexpr std::array<KeyType, 7> kKeyTypes = {{
    {"ssh-ed25519", Kind::kEd25519, "", 0, 256},
    {"ecdsa-sha2-nistp256", Kind::kEcdsa, "nistp256", NID_X9_62_prime256v1, 256},
    {"ecdsa-sha2-nistp384", Kind::kEcdsa, "nistp384", NID_secp384r1, 384},
    {"ecdsa-sha2-nistp521", Kind::kEcdsa, "nistp521", NID_secp521r1, 521},
    {"ssh-rsa", Kind::kRsa, "", 0, 0},
    {"sk-ssh-ed25519@openssh.com", Kind::kSkEd25519, "", 0, 256},
    {"sk-ecdsa-sha2-nistp256@openssh.com", Kind::kSkEcdsa, "nistp256", NID_X9_62_prime256v1, 256},
}};

const KeyType* FindKeyType(std::string_view name) {
  for (const KeyType& t : kKeyTypes) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

bool IsCertificateType(std::string_view name) {
  return name.size() > kCertSuffix.size() && name.ends_with(kCertSuffix);
}

// A name that is a key type, accepted or not (used to spot options prefixes and second keys).
bool IsKnownTypeName(std::string_view name) {
  return FindKeyType(name) != nullptr || name == "ssh-dss" || IsCertificateType(name);
}

// The error for a type name that FindKeyType does not accept.
Status RejectType(std::string_view name) {
  if (name == "ssh-dss") return InvalidArgument(kMsgDss);
  if (IsCertificateType(name)) return InvalidArgument(kMsgCertificate);
  return InvalidArgument(kMsgUnknownType);
}

// ---------------------------------------------------------------------------------------
// Text helpers.

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Splits on '\n' and drops one trailing '\r' from each line.
std::vector<std::string_view> SplitLines(std::string_view s) {
  std::vector<std::string_view> lines;
  while (true) {
    size_t nl = s.find('\n');
    std::string_view line = s.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    s.remove_prefix(nl + 1);
  }
  return lines;
}

// Removes leading blanks from *s, then takes and returns the run of non-blanks.
std::string_view TakeToken(std::string_view* s) {
  size_t i = 0;
  while (i < s->size() && IsBlank((*s)[i])) ++i;
  size_t j = i;
  while (j < s->size() && !IsBlank((*s)[j])) ++j;
  std::string_view token = s->substr(i, j - i);
  s->remove_prefix(j);
  return token;
}

bool LooksLikePrivateKey(std::string_view input) {
  for (std::string_view line : SplitLines(input)) {
    line = TrimSpace(line);
    if (line.starts_with("-----BEGIN ") && line.find("PRIVATE KEY") != std::string_view::npos) {
      return true;  // OPENSSH, RSA, EC, DSA, ENCRYPTED and plain PKCS#8 PRIVATE KEY
    }
    if (line.starts_with("---- BEGIN SSH2 ENCRYPTED PRIVATE KEY")) return true;
    if (line.starts_with("PuTTY-User-Key-File-")) return true;
    // The base64 of "openssh-key-v1\0" without its armour lines.
    if (line.find("b3BlbnNzaC1rZXktdjE") != std::string_view::npos) return true;
  }
  return false;
}

// The control characters of Unicode: C0, DEL and C1. Also checks that `s` is UTF-8
// (shortest form, no surrogates, at most U+10FFFF).
Status ValidateComment(std::string_view s) {
  uint32_t cp = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t len = Utf8SequenceAt(s, i, &cp);
    if (len == 0) return InvalidArgument(kMsgCommentUtf8);
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return InvalidArgument(kMsgCommentControl);
    i += len;
  }
  return Status::Ok();
}

Status DecodeKeyBase64(std::string_view in, std::string* out) {
  const char* reason = Base64DecodeProblem(in, out);
  if (reason == nullptr) return Status::Ok();
  return InvalidArgument(std::string("the key data is not valid base64: ") + reason);
}

// Parses a canonical non-negative mpint (RFC 4251 section 5).
Status ParseMpint(std::string_view m, BnPtr* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(m.data());
  if (!m.empty() && (p[0] & 0x80) != 0) return InvalidArgument(kMsgMpintNegative);
  if (!m.empty() && p[0] == 0 && (m.size() == 1 || (p[1] & 0x80) == 0)) {
    return InvalidArgument(kMsgMpintLeadingZero);
  }
  out->reset(BN_bin2bn(p, static_cast<int>(m.size()), nullptr));
  if (*out == nullptr) return Internal("out of memory");
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// Key material checks.

Status CheckEd25519(std::string_view pk) {
  if (pk.size() != 32) return InvalidArgument(kMsgEd25519Size);
  std::array<uint8_t, 32> encoding;
  std::copy(pk.begin(), pk.end(), encoding.begin());
  if (!IsEd25519Point(encoding)) return InvalidArgument(kMsgEd25519Point);
  return Status::Ok();
}

// The group of a NIST curve, built once per curve (building one per parse cost more than
// the point check itself) and shared read-only by all threads, as OpenSSL allows.
const EC_GROUP* GroupOf(int nid) {
  static const auto* groups = [] {
    auto* built = new std::vector<std::pair<int, EC_GROUP*>>();  // lives as long as the process
    for (int n : {NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1}) {
      built->emplace_back(n, EC_GROUP_new_by_curve_name(n));
    }
    return built;
  }();
  for (const auto& [n, group] : *groups) {
    if (n == nid) return group;
  }
  return nullptr;
}

Status CheckEcPoint(const KeyType& type, std::string_view curve, std::string_view q) {
  if (curve != type.curve) return InvalidArgument(kMsgCurveMismatch);
  const EC_GROUP* group = GroupOf(type.nid);
  BnCtxPtr ctx(BN_CTX_new());
  if (group == nullptr || !ctx) return Internal("out of memory");
  size_t field_bytes = (static_cast<size_t>(EC_GROUP_get_degree(group)) + 7) / 8;
  if (q.size() != 1 + 2 * field_bytes || q[0] != 0x04) {
    return InvalidArgument(kMsgEcNotUncompressed);
  }
  EcPointPtr point(EC_POINT_new(group));
  if (!point) return Internal("out of memory");
  if (EC_POINT_oct2point(group, point.get(), reinterpret_cast<const unsigned char*>(q.data()),
                         q.size(), ctx.get()) != 1 ||
      EC_POINT_is_on_curve(group, point.get(), ctx.get()) != 1 ||
      EC_POINT_is_at_infinity(group, point.get())) {
    return InvalidArgument(kMsgEcNotOnCurve);
  }
  return Status::Ok();
}

// Checks the RSA fields and returns the modulus size in bits.
StatusOr<int> CheckRsa(std::string_view e_bytes, std::string_view n_bytes) {
  BnPtr e, n;
  if (Status s = ParseMpint(e_bytes, &e); !s.ok()) return s;
  if (Status s = ParseMpint(n_bytes, &n); !s.ok()) return s;
  if (!BN_is_odd(e.get()) || BN_num_bits(e.get()) < 2) return InvalidArgument(kMsgRsaExponent);
  int bits = BN_num_bits(n.get());
  if (bits < 2048) {
    return InvalidArgument("the RSA key has " + std::to_string(bits) +
                           " bits: at least 2048 bits are required");
  }
  if (bits > 16384) {
    return InvalidArgument("the RSA key has " + std::to_string(bits) +
                           " bits: at most 16384 bits are accepted");
  }
  if (!BN_is_odd(n.get())) return InvalidArgument(kMsgRsaModulusEven);
  return bits;
}

struct BlobInfo {
  const KeyType* type = nullptr;
  int bits = 0;
};

// Validates a key blob. `declared` is the type written before the base64 of an OpenSSH
// line, or empty when the blob's own type string is the only one (RFC 4716, PEM).
StatusOr<BlobInfo> ValidateBlob(std::string_view blob, std::string_view declared) {
  WireReader r(blob);
  std::string_view inner;
  if (!r.ReadString(&inner)) return InvalidArgument(kMsgTruncated);
  if (!declared.empty() && inner != declared) return InvalidArgument(kMsgTypeMismatch);
  BlobInfo info;
  info.type = FindKeyType(inner);
  if (info.type == nullptr) return RejectType(inner);
  info.bits = info.type->bits;

  std::string_view a, b, application;
  switch (info.type->kind) {
    case Kind::kEd25519:
    case Kind::kSkEd25519: {
      if (!r.ReadString(&a)) return InvalidArgument(kMsgTruncated);
      if (info.type->kind == Kind::kSkEd25519 && !r.ReadString(&application)) {
        return InvalidArgument(kMsgSkApplication);
      }
      if (!r.empty()) return InvalidArgument(kMsgTrailingBytes);
      if (Status s = CheckEd25519(a); !s.ok()) return s;
      break;
    }
    case Kind::kEcdsa:
    case Kind::kSkEcdsa: {
      if (!r.ReadString(&a) || !r.ReadString(&b)) return InvalidArgument(kMsgTruncated);
      if (info.type->kind == Kind::kSkEcdsa && !r.ReadString(&application)) {
        return InvalidArgument(kMsgSkApplication);
      }
      if (!r.empty()) return InvalidArgument(kMsgTrailingBytes);
      if (Status s = CheckEcPoint(*info.type, a, b); !s.ok()) return s;
      break;
    }
    case Kind::kRsa: {
      if (!r.ReadString(&a) || !r.ReadString(&b)) return InvalidArgument(kMsgTruncated);
      if (!r.empty()) return InvalidArgument(kMsgTrailingBytes);
      StatusOr<int> bits = CheckRsa(a, b);
      if (!bits.ok()) return bits.status();
      info.bits = *bits;
      break;
    }
  }
  if ((info.type->kind == Kind::kSkEd25519 || info.type->kind == Kind::kSkEcdsa) &&
      application.empty()) {
    return InvalidArgument(kMsgSkApplication);
  }
  return info;
}

StatusOr<PublicKey> MakePublicKey(const BlobInfo& info, std::string blob, std::string comment) {
  PublicKey key;
  key.type = std::string(info.type->name);
  key.fingerprint = FingerprintMd5(blob);
  if (key.fingerprint.empty()) return Internal("MD5 is not available");
  key.fingerprint_sha256 = FingerprintSha256(blob);
  key.line = key.type + " " + Base64Encode(blob);
  if (!comment.empty()) key.line += " " + comment;
  key.blob = std::move(blob);
  key.comment = std::move(comment);
  key.bits = info.bits;
  return key;
}

// Whether a word of a comment is the base64 of another key blob.
bool IsAnotherKey(std::string_view word) {
  std::string blob;
  if (word.size() < 16 || !Base64DecodeStrict(word, &blob)) return false;
  WireReader r(blob);
  std::string_view type;
  return r.ReadString(&type) && IsKnownTypeName(type);
}

// ---------------------------------------------------------------------------------------
// Input formats.

// authorized_keys options: a comma-separated list of `name` or `name="value"` before the
// key type (sshd(8) "AUTHORIZED_KEYS FILE FORMAT").
bool HasOptionsPrefix(std::string_view line) {
  static constexpr std::string_view kOptions[] = {
      "agent-forwarding",
      "cert-authority",
      "command",
      "environment",
      "expiry-time",
      "from",
      "no-agent-forwarding",
      "no-port-forwarding",
      "no-pty",
      "no-user-rc",
      "no-x11-forwarding",
      "no-touch-required",
      "permitlisten",
      "permitopen",
      "port-forwarding",
      "principals",
      "pty",
      "restrict",
      "tunnel",
      "user-rc",
      "verify-required",
      "x11-forwarding",
  };
  // The first field, where blanks inside double quotes do not end it.
  bool quoted = false;
  size_t end = 0;
  std::vector<std::string_view> names;
  size_t name_start = 0;
  bool in_name = true;
  for (; end < line.size(); ++end) {
    char c = line[end];
    if (quoted) {
      if (c == '\\' && end + 1 < line.size()) {
        ++end;
      } else if (c == '"') {
        quoted = false;
      }
      continue;
    }
    if (IsBlank(c)) break;
    if (c == '"') {
      quoted = true;
    } else if (c == '=' && in_name) {
      names.push_back(line.substr(name_start, end - name_start));
      in_name = false;
    } else if (c == ',') {
      if (in_name) names.push_back(line.substr(name_start, end - name_start));
      name_start = end + 1;
      in_name = true;
    }
  }
  if (in_name) names.push_back(line.substr(name_start, end - name_start));
  for (std::string_view name : names) {
    for (std::string_view option : kOptions) {
      if (EqualsIgnoreAsciiCase(name, option)) return true;
    }
  }
  std::string_view rest = line.substr(end);
  return IsKnownTypeName(TakeToken(&rest));
}

StatusOr<PublicKey> ParseOpenSshLine(std::string_view text) {
  std::vector<std::string_view> lines;
  for (std::string_view l : SplitLines(text)) {
    if (!TrimSpace(l).empty()) lines.push_back(TrimSpace(l));
  }
  if (lines.size() > 1) {
    for (size_t i = 1; i < lines.size(); ++i) {
      std::string_view rest = lines[i];
      std::string_view first = TakeToken(&rest);
      if (IsKnownTypeName(first) || IsAnotherKey(first) || HasOptionsPrefix(lines[i])) {
        return InvalidArgument(kMsgMultipleKeys);
      }
    }
    return InvalidArgument(kMsgMultiLine);
  }
  std::string_view line = lines.front();

  std::string_view rest = line;
  std::string_view type = TakeToken(&rest);
  if (FindKeyType(type) == nullptr) {
    if (IsKnownTypeName(type)) return RejectType(type);
    if (HasOptionsPrefix(line)) return InvalidArgument(kMsgOptions);
    return InvalidArgument(kMsgUnknownType);
  }
  std::string_view b64 = TakeToken(&rest);
  if (b64.empty()) return InvalidArgument(kMsgMissingData);
  std::string_view comment = TrimBlanks(rest);

  std::string blob;
  if (Status s = DecodeKeyBase64(b64, &blob); !s.ok()) return s;
  std::string_view words = comment;
  for (std::string_view w = TakeToken(&words); !w.empty(); w = TakeToken(&words)) {
    if (IsAnotherKey(w)) return InvalidArgument(kMsgMultipleKeys);
  }
  if (Status s = ValidateComment(comment); !s.ok()) return s;
  StatusOr<BlobInfo> info = ValidateBlob(blob, type);
  if (!info.ok()) return info.status();
  return MakePublicKey(*info, std::move(blob), std::string(comment));
}

// What may follow the END line of a block: nothing but blank lines.
Status CheckAfterBlock(const std::vector<std::string_view>& lines, size_t next) {
  for (size_t i = next; i < lines.size(); ++i) {
    std::string_view l = TrimSpace(lines[i]);
    if (l.empty()) continue;
    std::string_view first = l;
    if (l.starts_with("---- BEGIN ") || l.starts_with("-----BEGIN ") ||
        IsKnownTypeName(TakeToken(&first))) {
      return InvalidArgument(kMsgMultipleKeys);
    }
    return InvalidArgument(kMsgTrailingText);
  }
  return Status::Ok();
}

StatusOr<PublicKey> ParseRfc4716(std::string_view text) {
  std::vector<std::string_view> lines = SplitLines(text);
  std::string comment;
  std::string body;
  bool in_headers = true;
  size_t i = 1;  // lines[0] is the BEGIN line
  for (; i < lines.size(); ++i) {
    std::string_view line = TrimBlanks(lines[i]);
    if (line == kRfc4716End) break;
    if (in_headers && line.find(':') != std::string_view::npos) {
      std::string header(line);
      while (!header.empty() && header.back() == '\\') {
        header.pop_back();
        ++i;
        if (i >= lines.size() || TrimBlanks(lines[i]) == kRfc4716End) {
          return InvalidArgument(kMsgRfc4716Continuation);
        }
        header.append(TrimBlanks(lines[i]));
      }
      size_t colon = header.find(':');
      std::string_view tag = TrimBlanks(std::string_view(header).substr(0, colon));
      std::string_view value = TrimBlanks(std::string_view(header).substr(colon + 1));
      if (EqualsIgnoreAsciiCase(tag, "Comment")) {
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
          value = value.substr(1, value.size() - 2);
        }
        comment = std::string(TrimBlanks(value));
      }
      continue;
    }
    if (line.empty()) continue;
    in_headers = false;
    body.append(line);
  }
  if (i >= lines.size()) return InvalidArgument(kMsgRfc4716NoEnd);
  if (Status s = CheckAfterBlock(lines, i + 1); !s.ok()) return s;
  if (body.empty()) return InvalidArgument(kMsgRfc4716NoData);
  std::string blob;
  if (Status s = DecodeKeyBase64(body, &blob); !s.ok()) return s;
  if (Status s = ValidateComment(comment); !s.ok()) return s;
  StatusOr<BlobInfo> info = ValidateBlob(blob, "");
  if (!info.ok()) return info.status();
  return MakePublicKey(*info, std::move(blob), std::move(comment));
}

// Converts a SubjectPublicKeyInfo to an SSH key blob.
StatusOr<std::string> SpkiToBlob(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  PkeyPtr pkey(
      d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));  // NOLINT(google-runtime-int)
  if (!pkey || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return InvalidArgument(kMsgPemInvalid);
  }
  std::string blob;
  if (EVP_PKEY_is_a(pkey.get(), "RSA")) {
    BIGNUM* raw_n = nullptr;
    BIGNUM* raw_e = nullptr;
    int got_n = EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_N, &raw_n);
    int got_e = EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_E, &raw_e);
    BnPtr n(raw_n), e(raw_e);
    if (!got_n || !got_e) return InvalidArgument(kMsgPemInvalid);
    AppendString(&blob, "ssh-rsa");
    if (!AppendMpint(&blob, e.get()) || !AppendMpint(&blob, n.get())) {
      return Internal("RSA conversion failed");
    }
    return blob;
  }
  if (EVP_PKEY_is_a(pkey.get(), "EC")) {
    char group_name[64];
    size_t name_len = 0;
    if (!EVP_PKEY_get_utf8_string_param(pkey.get(), OSSL_PKEY_PARAM_GROUP_NAME, group_name,
                                        sizeof(group_name), &name_len)) {
      return InvalidArgument(kMsgPemCurve);  // e.g. explicit curve parameters
    }
    std::string_view group(group_name, name_len);
    const KeyType* type = nullptr;
    if (group == "prime256v1") type = FindKeyType("ecdsa-sha2-nistp256");
    if (group == "secp384r1") type = FindKeyType("ecdsa-sha2-nistp384");
    if (group == "secp521r1") type = FindKeyType("ecdsa-sha2-nistp521");
    if (type == nullptr) return InvalidArgument(kMsgPemCurve);
    unsigned char octets[256];
    size_t octets_len = 0;
    if (!EVP_PKEY_get_octet_string_param(pkey.get(), OSSL_PKEY_PARAM_PUB_KEY, octets,
                                         sizeof(octets), &octets_len)) {
      return InvalidArgument(kMsgPemInvalid);
    }
    // SPKI may carry a compressed point; SSH wants it uncompressed.
    const EC_GROUP* ec_group = GroupOf(type->nid);
    BnCtxPtr ctx(BN_CTX_new());
    if (ec_group == nullptr || !ctx) return Internal("out of memory");
    EcPointPtr point(EC_POINT_new(ec_group));
    if (!point) return Internal("out of memory");
    if (EC_POINT_oct2point(ec_group, point.get(), octets, octets_len, ctx.get()) != 1) {
      return InvalidArgument(kMsgEcNotOnCurve);
    }
    octets_len = EC_POINT_point2oct(ec_group, point.get(), POINT_CONVERSION_UNCOMPRESSED, octets,
                                    sizeof(octets), ctx.get());
    if (octets_len == 0) return InvalidArgument(kMsgEcNotOnCurve);
    AppendString(&blob, type->name);
    AppendString(&blob, type->curve);
    AppendString(&blob, octets, octets_len);
    return blob;
  }
  if (EVP_PKEY_is_a(pkey.get(), "ED25519")) {
    unsigned char raw[32];
    size_t raw_len = sizeof(raw);
    if (!EVP_PKEY_get_raw_public_key(pkey.get(), raw, &raw_len) || raw_len != sizeof(raw)) {
      return InvalidArgument(kMsgEd25519Size);
    }
    AppendString(&blob, "ssh-ed25519");
    AppendString(&blob, raw, raw_len);
    return blob;
  }
  if (EVP_PKEY_is_a(pkey.get(), "DSA")) return InvalidArgument(kMsgDss);
  return InvalidArgument(kMsgPemAlgorithm);
}

StatusOr<PublicKey> ParsePem(std::string_view text) {
  std::vector<std::string_view> lines = SplitLines(text);
  std::string body;
  size_t i = 1;  // lines[0] is the BEGIN line
  for (; i < lines.size(); ++i) {
    std::string_view line = TrimBlanks(lines[i]);
    if (line == kPemEnd) break;
    body.append(line);
  }
  if (i >= lines.size()) return InvalidArgument(kMsgPemNoEnd);
  if (Status s = CheckAfterBlock(lines, i + 1); !s.ok()) return s;
  std::string der;
  if (const char* reason = Base64DecodeProblem(body, &der); reason != nullptr) {
    return InvalidArgument(std::string("the PEM body is not valid base64: ") + reason);
  }
  StatusOr<std::string> blob = SpkiToBlob(der);
  if (!blob.ok()) return blob.status();
  StatusOr<BlobInfo> info = ValidateBlob(*blob, "");
  if (!info.ok()) return info.status();
  return MakePublicKey(*info, std::move(*blob), "");
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Public API.


std::string FingerprintSha256(std::string_view blob) {
  static const Digest kSha256("SHA256");
  return FingerprintOfSha256(kSha256.Of(blob));
}

std::string FingerprintOfSha256(std::string_view digest) {
  std::string b64 = Base64Encode(digest);
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return "SHA256:" + b64;
}

std::string FingerprintMd5(std::string_view blob) {
  static const Digest kMd5("MD5");
  const std::string md = kMd5.Of(blob);
  if (md.empty()) return "";
  std::string out;
  out.reserve(md.size() * 3);
  for (size_t i = 0; i < md.size(); ++i) {
    if (i > 0) out.push_back(':');
    AppendHex(&out, reinterpret_cast<const unsigned char*>(md.data()) + i, 1);
  }
  return out;
}

StatusOr<PublicKey> ParsePublicKey(std::string_view input) {
  if (input.size() > kMaxPublicKeyInput) return InvalidArgument(kMsgTooLarge);
  if (LooksLikePrivateKey(input)) return InvalidArgument(kMsgPrivateKey);
  std::string_view text = TrimSpace(input);
  if (text.empty()) return InvalidArgument(kMsgEmpty);
  std::string_view first_line = TrimSpace(text.substr(0, text.find('\n')));
  if (first_line == kRfc4716Begin) return ParseRfc4716(text);
  if (first_line == kPemBegin) return ParsePem(text);
  if (first_line.starts_with("---- BEGIN ") || first_line.starts_with("-----BEGIN ")) {
    return InvalidArgument(kMsgUnsupportedBlock);
  }
  return ParseOpenSshLine(text);
}

Status CheckComment(std::string_view comment) { return ValidateComment(comment); }

}  // namespace keypaird::sshkey
