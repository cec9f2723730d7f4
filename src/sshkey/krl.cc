#include "sshkey/krl.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/digest.h"
#include "sshkey/wire.h"
#include "sshkey/sshkey.h"

namespace keypaird::sshkey {
namespace {

// PROTOCOL.krl constants.
constexpr std::string_view kMagic("SSHKRL\n\0", 8);
constexpr uint32_t kFormatVersion = 1;
constexpr uint8_t kSectionCertificates = 1;
constexpr uint8_t kSectionExplicitKey = 2;
constexpr uint8_t kSectionFingerprintSha1 = 3;
constexpr uint8_t kSectionSignature = 4;
constexpr uint8_t kSectionFingerprintSha256 = 5;
constexpr uint8_t kSectionExtension = 255;
constexpr uint8_t kCertSerialList = 0x20;
constexpr uint8_t kCertSerialRange = 0x21;
constexpr uint8_t kCertSerialBitmap = 0x22;
constexpr uint8_t kCertKeyId = 0x23;
constexpr uint8_t kCertExtension = 0x39;
constexpr size_t kSha256Size = 32;

// Whether `blob` is a plain public key ParsePublicKey accepts (the one set of key rules).
bool IsValidPlainKey(std::string_view blob) {
  WireReader r(blob);
  std::string_view type;
  return r.ReadString(&type) && ParsePublicKey(std::string(type) + " " + Base64Encode(blob)).ok();
}

// Sorts and joins ranges that overlap or touch.
std::vector<SerialRange> MergeRanges(std::vector<SerialRange> ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const SerialRange& a, const SerialRange& b) {
    return a.first != b.first ? a.first < b.first : a.last < b.last;
  });
  std::vector<SerialRange> out;
  for (const SerialRange& r : ranges) {
    if (!out.empty() && (out.back().last == std::numeric_limits<uint64_t>::max() ||
                         r.first <= out.back().last + 1)) {
      out.back().last = std::max(out.back().last, r.last);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

std::string DescribeSection(uint8_t type) {
  switch (type) {
    case kSectionExplicitKey:
      return "explicit key sections";
    case kSectionFingerprintSha1:
      return "SHA-1 fingerprint sections";
    case kSectionSignature:
      return "signed KRLs";
    case kSectionExtension:
      return "KRL extension sections";
    default:
      return "KRL section type " + std::to_string(type);
  }
}

std::string DescribeCertSubsection(uint8_t type) {
  switch (type) {
    case kCertSerialBitmap:
      return "certificate serial bitmaps";
    case kCertKeyId:
      return "revocation by key id";
    case kCertExtension:
      return "certificate section extensions";
    default:
      return "certificate subsection type " + std::to_string(type);
  }
}

Status ParseCertificatesSection(std::string_view data, Krl* krl) {
  constexpr char kTruncated[] = "the KRL is malformed: a certificate section is truncated";
  WireReader r(data);
  std::string_view ca_key, reserved;
  if (!r.ReadString(&ca_key) || !r.ReadString(&reserved)) return InvalidArgument(kTruncated);
  if (!ca_key.empty() && !IsValidPlainKey(ca_key)) {
    return InvalidArgument("the KRL names a CA key that is not a valid public key");
  }
  KrlCaSerials ca;
  ca.ca_key_blob = std::string(ca_key);
  if (r.empty()) return InvalidArgument("the KRL has a certificate section with nothing in it");
  while (!r.empty()) {
    uint8_t type = 0;
    std::string_view sub;
    if (!r.ReadU8(&type) || !r.ReadString(&sub)) return InvalidArgument(kTruncated);
    WireReader s(sub);
    if (type == kCertSerialList) {
      if (sub.size() % 8 != 0) return InvalidArgument(kTruncated);
      uint64_t serial = 0;
      while (s.ReadU64(&serial)) {
        if (serial == 0) return InvalidArgument("the KRL revokes serial 0, which is not a serial");
        ca.serials.push_back({serial, serial});
      }
    } else if (type == kCertSerialRange) {
      SerialRange range;
      if (!s.ReadU64(&range.first) || !s.ReadU64(&range.last) || !s.empty()) {
        return InvalidArgument("the KRL is malformed: a serial range is not two serials");
      }
      if (range.first == 0 || range.first > range.last) {
        return InvalidArgument("the KRL has an empty serial range or one that includes serial 0");
      }
      ca.serials.push_back(range);
    } else {
      return InvalidArgument(DescribeCertSubsection(type) + " are not supported");
    }
  }
  krl->certificates.push_back(std::move(ca));
  return Status::Ok();
}

Status ParseSha256Section(std::string_view data, Krl* krl) {
  WireReader r(data);
  if (r.empty()) return InvalidArgument("the KRL has a SHA-256 section with no hash in it");
  std::string_view previous;
  while (!r.empty()) {
    std::string_view hash;
    if (!r.ReadString(&hash) || hash.size() != kSha256Size) {
      return InvalidArgument("the KRL is malformed: a SHA-256 hash is not 32 bytes");
    }
    if (!previous.empty() && hash <= previous) {
      return InvalidArgument("the KRL's SHA-256 hashes are not in ascending order without repeats");
    }
    krl->revoked_key_sha256.emplace_back(hash);
    previous = hash;
  }
  return Status::Ok();
}

void PutCertificatesSection(std::string* out, const KrlCaSerials& ca) {
  std::string list;
  std::string ranges;
  for (const SerialRange& range : ca.serials) {
    if (range.last - range.first >= kKrlMinRangeRun - 1) {
      std::string data;
      AppendU64(&data, range.first);
      AppendU64(&data, range.last);
      AppendU8(&ranges, kCertSerialRange);
      AppendString(&ranges, data);
      continue;
    }
    for (uint64_t s = range.first;; ++s) {
      AppendU64(&list, s);
      if (s == range.last) break;
    }
  }
  std::string section;
  AppendString(&section, ca.ca_key_blob);
  AppendString(&section, "");  // reserved
  if (!list.empty()) {
    AppendU8(&section, kCertSerialList);
    AppendString(&section, list);
  }
  section += ranges;
  AppendU8(out, kSectionCertificates);
  AppendString(out, section);
}

}  // namespace

std::vector<SerialRange> SerialRangesOf(std::vector<uint64_t> serials) {
  std::vector<SerialRange> ranges;
  ranges.reserve(serials.size());
  for (uint64_t s : serials) ranges.push_back({s, s});
  return MergeRanges(std::move(ranges));
}

std::string KeySha256(std::string_view key_blob) {
  static const Digest kSha256("SHA256");
  return kSha256.Of(key_blob);
}

Krl NormalizeKrl(Krl krl) {
  std::map<std::string, std::vector<SerialRange>> by_ca;
  for (KrlCaSerials& ca : krl.certificates) {
    std::vector<SerialRange>& ranges = by_ca[ca.ca_key_blob];
    ranges.insert(ranges.end(), ca.serials.begin(), ca.serials.end());
  }
  krl.certificates.clear();
  for (auto& [blob, ranges] : by_ca) {
    if (ranges.empty()) continue;
    krl.certificates.push_back({blob, MergeRanges(std::move(ranges))});
  }
  std::vector<std::string>& hashes = krl.revoked_key_sha256;
  std::sort(hashes.begin(), hashes.end());  // bytes as unsigned: big-endian integer order
  hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
  return krl;
}

StatusOr<std::string> EncodeKrl(const Krl& krl) {
  if (krl.comment.find('\0') != std::string::npos) {
    return InvalidArgument("the KRL comment must not contain NUL bytes");
  }
  for (const KrlCaSerials& ca : krl.certificates) {
    if (!ca.ca_key_blob.empty() && !IsValidPlainKey(ca.ca_key_blob)) {
      return InvalidArgument("a KRL CA key is not a valid public key blob");
    }
    for (const SerialRange& range : ca.serials) {
      if (range.first == 0 || range.first > range.last) {
        return InvalidArgument(
            "a revoked serial range is empty or includes serial 0 (certificates without a serial "
            "cannot be revoked by serial)");
      }
    }
  }
  for (const std::string& hash : krl.revoked_key_sha256) {
    if (hash.size() != kSha256Size) {
      return InvalidArgument("a revoked key hash is not a 32-byte SHA-256 digest");
    }
  }

  const Krl canonical = NormalizeKrl(krl);
  std::string out(kMagic);
  AppendU32(&out, kFormatVersion);
  AppendU64(&out, canonical.krl_version);
  AppendU64(&out, canonical.generated_date);
  AppendU64(&out, 0);      // flags: none are defined
  AppendString(&out, "");  // reserved
  AppendString(&out, canonical.comment);
  for (const KrlCaSerials& ca : canonical.certificates) PutCertificatesSection(&out, ca);
  if (!canonical.revoked_key_sha256.empty()) {
    std::string section;
    for (const std::string& hash : canonical.revoked_key_sha256) AppendString(&section, hash);
    AppendU8(&out, kSectionFingerprintSha256);
    AppendString(&out, section);
  }
  return out;
}

StatusOr<Krl> ParseKrl(std::string_view data) {
  constexpr char kTruncated[] = "the KRL is malformed: its header is truncated";
  if (!data.starts_with(kMagic)) return InvalidArgument("not an OpenSSH KRL: the magic is missing");
  WireReader r(data.substr(kMagic.size()));
  Krl krl;
  uint32_t version = 0;
  uint64_t flags = 0;
  std::string_view reserved, comment;
  if (!r.ReadU32(&version)) return InvalidArgument(kTruncated);
  if (version != kFormatVersion) {
    return InvalidArgument("unsupported KRL format version " + std::to_string(version));
  }
  if (!r.ReadU64(&krl.krl_version) || !r.ReadU64(&krl.generated_date) || !r.ReadU64(&flags) ||
      !r.ReadString(&reserved) || !r.ReadString(&comment)) {
    return InvalidArgument(kTruncated);
  }
  if (flags != 0) return InvalidArgument("the KRL sets flags, none of which are defined");
  if (comment.find('\0') != std::string_view::npos) {
    return InvalidArgument("the KRL comment contains a NUL byte");
  }
  krl.comment = std::string(comment);

  while (!r.empty()) {
    uint8_t type = 0;
    std::string_view section;
    if (!r.ReadU8(&type) || !r.ReadString(&section)) {
      return InvalidArgument("the KRL is malformed: a section is truncated");
    }
    if (type == kSectionCertificates) {
      if (Status s = ParseCertificatesSection(section, &krl); !s.ok()) return s;
    } else if (type == kSectionFingerprintSha256) {
      if (Status s = ParseSha256Section(section, &krl); !s.ok()) return s;
    } else {
      return InvalidArgument(DescribeSection(type) + " are not supported");
    }
  }
  return NormalizeKrl(std::move(krl));
}

bool KrlRevokesCertificate(const Krl& krl, std::string_view ca_key_blob, uint64_t serial) {
  if (serial == 0) return false;  // unnumbered certificates are never revoked by serial
  for (const KrlCaSerials& ca : krl.certificates) {
    if (!ca.ca_key_blob.empty() && ca.ca_key_blob != ca_key_blob) continue;
    for (const SerialRange& range : ca.serials) {
      if (range.first <= serial && serial <= range.last) return true;
    }
  }
  return false;
}

bool KrlRevokesKey(const Krl& krl, std::string_view key_blob) {
  const std::string hash = KeySha256(key_blob);
  return !hash.empty() && std::find(krl.revoked_key_sha256.begin(), krl.revoked_key_sha256.end(),
                                    hash) != krl.revoked_key_sha256.end();
}

}  // namespace keypaird::sshkey
