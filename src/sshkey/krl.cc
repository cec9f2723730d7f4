#include "sshkey/krl.h"

#include <algorithm>
#include <bit>
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
// The largest mpint magnitude OpenSSH reads (SSHBUF_MAX_BIGNUM): 16384 bits of bitmap.
constexpr size_t kOpenSshMaxBitmapBytes = 2048;
static_assert(kKrlMaxBitmapSerials / 8 <= kOpenSshMaxBitmapBytes / 2);

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

// Appends the serials of a bitmap subsection to *serials as ranges. Refuses what OpenSSH
// refuses (a negative bitmap, one over kOpenSshMaxBitmapBytes, a serial past 2^64 - 1 or
// serial 0) and a bitmap not in canonical mpint form (a needless leading zero byte).
Status ParseBitmap(std::string_view data, std::vector<SerialRange>* serials) {
  WireReader s(data);
  uint64_t offset = 0;
  std::string_view mpint;
  if (!s.ReadU64(&offset) || !s.ReadString(&mpint) || !s.empty()) {
    return InvalidArgument("the KRL is malformed: a serial bitmap is not a serial and a bitmap");
  }
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(mpint[i]); };
  if (!mpint.empty() && (byte(0) & 0x80) != 0) {
    return InvalidArgument("the KRL has a serial bitmap that is a negative number");
  }
  if (!mpint.empty() && byte(0) == 0) {
    if (mpint.size() == 1 || (byte(1) & 0x80) == 0) {
      return InvalidArgument("the KRL has a serial bitmap with a needless leading zero byte");
    }
    mpint.remove_prefix(1);
  }
  if (mpint.size() > kOpenSshMaxBitmapBytes) {
    return InvalidArgument("the KRL has a serial bitmap of more than " +
                           std::to_string(kOpenSshMaxBitmapBytes) + " bytes");
  }
  if (mpint.empty()) return Status::Ok();  // revokes nothing
  const uint64_t top_bit = (mpint.size() - 1) * 8 + (std::bit_width(byte(0)) - 1);
  if (top_bit > std::numeric_limits<uint64_t>::max() - offset) {
    return InvalidArgument("the KRL has a serial bitmap that runs past the largest serial");
  }
  if (offset == 0 && (byte(mpint.size() - 1) & 1) != 0) {
    return InvalidArgument("the KRL revokes serial 0, which is not a serial");
  }
  // Runs of set bits, from the least significant; at most 4 ranges per byte of input.
  bool in_run = false;
  for (uint64_t bit = 0; bit <= top_bit; ++bit) {
    const bool set = (byte(mpint.size() - 1 - bit / 8) >> (bit % 8)) & 1;
    if (set && !in_run) serials->push_back({offset + bit, offset + bit});
    if (set) serials->back().last = offset + bit;
    in_run = set;
  }
  return Status::Ok();
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
    } else if (type == kCertSerialBitmap) {
      if (Status st = ParseBitmap(sub, &ca.serials); !st.ok()) return st;
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

// Sizes in bytes of the certificate subsections (type byte, string length, data).
constexpr uint64_t kSubsectionHeader = 1 + 4;
constexpr uint64_t kListEntrySize = 8;
constexpr uint64_t kRangeSize = kSubsectionHeader + 16;
// A bitmap subsection of `bits` bits whose top bit is set: the offset, then an mpint of
// bits / 8 + 1 bytes after its length (ceil(bits / 8) bytes of magnitude, plus a zero
// byte when the top bit is the top bit of a byte).
constexpr uint64_t kBitmapFixedSize = kSubsectionHeader + 8 + 4 + 1;

// One subsection of the chosen encoding: ranges[begin, end) as list entries, one range
// subsection (end == begin + 1) or one bitmap.
enum class Piece : uint8_t { kList, kRange, kBitmap };
struct Step {
  Piece piece = Piece::kRange;
  uint8_t from_layer = 0;  // the layer (below) the encoding of ranges[0, begin) is in
  size_t begin = 0;
};

// The cheapest split of `ranges` (sorted, disjoint, not touching) into list entries, range
// subsections and bitmaps of at most kKrlMaxBitmapSerials bits, by dynamic programming over
// the ranges in order. Costs are in bits so that a bitmap costs exactly 8 * its fixed size
// plus one per serial it spans: an upper bound of its true size (whole bytes, rounded
// down), exact for lists and ranges. So the split found is never larger than the one
// without bitmaps (lists below kKrlMinRangeRun serials, ranges otherwise), which is among
// the candidates. Two layers: 0 while no serial is listed, 1 once the list subsection's
// header has been paid. The bitmaps ending at range j start at some range i whose first
// serial is within kKrlMaxBitmapSerials of ranges[j].last; the best i is kept by a
// monotone deque, so the whole is O(ranges).
std::vector<Step> ChooseEncoding(const std::vector<SerialRange>& ranges) {
  constexpr uint64_t kUnreachable = std::numeric_limits<uint64_t>::max();
  const size_t n = ranges.size();
  // cost[layer][j]: the cheapest encoding of ranges[0, j); step[layer][j] its last step.
  std::vector<uint64_t> cost[2] = {std::vector<uint64_t>(n + 1, kUnreachable),
                                   std::vector<uint64_t>(n + 1, kUnreachable)};
  std::vector<Step> step[2] = {std::vector<Step>(n + 1), std::vector<Step>(n + 1)};
  cost[0][0] = 0;
  // Candidate bitmap starts i per layer, by increasing first serial and increasing
  // cost[layer][i] - ranges[i].first (compared without forming the difference).
  std::vector<size_t> starts[2];
  size_t front[2] = {0, 0};
  const auto better_start = [&](int layer, size_t a, size_t b) {  // a < b; is b no worse?
    const uint64_t gap = ranges[b].first - ranges[a].first;
    const uint64_t a_cost =
        cost[layer][a] > kUnreachable - gap ? kUnreachable : cost[layer][a] + gap;
    return cost[layer][b] <= a_cost;
  };
  for (size_t j = 0; j < n; ++j) {
    const SerialRange& r = ranges[j];
    for (int layer = 0; layer < 2; ++layer) {
      if (cost[layer][j] == kUnreachable) continue;
      std::vector<size_t>& q = starts[layer];
      while (q.size() > front[layer] && better_start(layer, q.back(), j)) q.pop_back();
      q.push_back(j);
    }
    const uint64_t serials = r.last - r.first;  // one less than the count, which may be 2^64
    for (int layer = 0; layer < 2; ++layer) {
      uint64_t& best = cost[layer][j + 1];
      const auto offer = [&](uint64_t c, Step s) {
        if (c < best) {
          best = c;
          step[layer][j + 1] = s;
        }
      };
      if (cost[layer][j] != kUnreachable) {
        offer(cost[layer][j] + 8 * kRangeSize, {Piece::kRange, static_cast<uint8_t>(layer), j});
      }
      if (layer == 1 && serials < kKrlMinRangeRun - 1) {
        const uint64_t entries = 8 * kListEntrySize * (serials + 1);
        if (cost[0][j] != kUnreachable) {
          offer(cost[0][j] + 8 * kSubsectionHeader + entries, {Piece::kList, 0, j});
        }
        if (cost[1][j] != kUnreachable) offer(cost[1][j] + entries, {Piece::kList, 1, j});
      }
      std::vector<size_t>& q = starts[layer];
      while (q.size() > front[layer] &&
             r.last - ranges[q[front[layer]]].first >= kKrlMaxBitmapSerials) {
        ++front[layer];
      }
      if (q.size() > front[layer]) {
        const size_t i = q[front[layer]];
        offer(cost[layer][i] + 8 * kBitmapFixedSize + (r.last - ranges[i].first + 1),
              {Piece::kBitmap, static_cast<uint8_t>(layer), i});
      }
    }
  }
  std::vector<Step> steps;
  int layer = cost[1][n] < cost[0][n] ? 1 : 0;
  for (size_t j = n; j > 0;) {
    const Step& s = step[layer][j];
    steps.push_back(s);
    layer = s.from_layer;
    j = s.begin;
  }
  std::reverse(steps.begin(), steps.end());
  return steps;
}

// The bitmap subsection data of ranges[begin, end): the first serial, then as an mpint the
// bits of each serial's distance from it.
std::string BitmapData(const std::vector<SerialRange>& ranges, size_t begin, size_t end) {
  const uint64_t base = ranges[begin].first;
  const uint64_t bits = ranges[end - 1].last - base + 1;  // at most kKrlMaxBitmapSerials
  const size_t size = static_cast<size_t>(bits / 8 + 1);  // a zero byte first if bits % 8 == 0
  std::string mpint(size, '\0');
  for (size_t k = begin; k < end; ++k) {
    for (uint64_t bit = ranges[k].first - base;; ++bit) {
      mpint[size - 1 - bit / 8] = static_cast<char>(mpint[size - 1 - bit / 8] | (1 << (bit % 8)));
      if (bit == ranges[k].last - base) break;
    }
  }
  std::string data;
  AppendU64(&data, base);
  AppendString(&data, mpint);
  return data;
}

// The section of one CA: its list subsection first (if it lists any serial), then the
// range and bitmap subsections by increasing serial.
void PutCertificatesSection(std::string* out, const KrlCaSerials& ca) {
  const std::vector<SerialRange>& ranges = ca.serials;
  std::string list;
  std::string others;
  const std::vector<Step> steps = ChooseEncoding(ranges);
  for (size_t k = 0; k < steps.size(); ++k) {
    const size_t begin = steps[k].begin;
    const size_t end = k + 1 < steps.size() ? steps[k + 1].begin : ranges.size();
    switch (steps[k].piece) {
      case Piece::kList:
        for (uint64_t s = ranges[begin].first;; ++s) {
          AppendU64(&list, s);
          if (s == ranges[begin].last) break;
        }
        break;
      case Piece::kRange: {
        std::string data;
        AppendU64(&data, ranges[begin].first);
        AppendU64(&data, ranges[begin].last);
        AppendU8(&others, kCertSerialRange);
        AppendString(&others, data);
        break;
      }
      case Piece::kBitmap:
        AppendU8(&others, kCertSerialBitmap);
        AppendString(&others, BitmapData(ranges, begin, end));
        break;
    }
  }
  std::string section;
  AppendString(&section, ca.ca_key_blob);
  AppendString(&section, "");  // reserved
  if (!list.empty()) {
    AppendU8(&section, kCertSerialList);
    AppendString(&section, list);
  }
  section += others;
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
