// krl: OpenSSH Key Revocation Lists (PROTOCOL.krl), the file `sshd -o RevokedKeys` and
// `ssh-keygen -Q` read.
//
// EncodeKrl writes an unsigned KRL of format version 1 with
//   - one KRL_SECTION_CERTIFICATES section per CA key, revoking certificate serials. Each
//     CA's serials, as sorted ranges, are split into the smallest mix, give or take a byte
//     per bitmap (by dynamic programming over the ranges, O(ranges)), of
//       * KRL_SECTION_CERT_SERIAL_LIST: one subsection, first, 5 bytes + 8 per serial, for
//         runs shorter than kKrlMinRangeRun;
//       * KRL_SECTION_CERT_SERIAL_RANGE: 21 bytes per run;
//       * KRL_SECTION_CERT_SERIAL_BITMAP: 18 bytes + one bit per serial from its first
//         revoked serial (bit 0 of the mpint) to its last, at most kKrlMaxBitmapSerials;
//     the range and bitmap subsections follow the list by increasing serial. The split is
//     never larger than lists and ranges alone: serials far apart cost 8 bytes each, long
//     runs 21 bytes, and dense ones (every other serial, say) about a bit each;
//   - one KRL_SECTION_FINGERPRINT_SHA256 section with the SHA-256 of every revoked plain
//     key blob (36 bytes each), in ascending order (OpenSSH >= 7.9 reads it).
// ParseKrl reads exactly those sections (serial lists, ranges and bitmaps however they are
// split) and refuses everything else with kInvalidArgument: signature, key-id, explicit
// key, SHA-1 and extension sections, and bitmaps OpenSSH refuses (negative, over 2048
// bytes, reaching past 2^64 - 1 or revoking serial 0) or that are not canonical mpints.
//
// Pure functions over bytes and value types: no I/O, no state; safe from any thread.
// Errors are kInvalidArgument with a message that says what is wrong.
#ifndef KEYPAIRD_SSHKEY_KRL_H_
#define KEYPAIRD_SSHKEY_KRL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace keypaird::sshkey {

// Consecutive revoked serials from this many on are never listed one by one (a range or a
// bitmap is smaller).
inline constexpr size_t kKrlMinRangeRun = 3;

// The most serials one bitmap subsection spans: 1 KiB of bitmap, half of the 2048 bytes
// OpenSSH reads at most (ssh-keygen -k of OpenSSH 9.2 writes larger ones, which it then
// cannot read back).
inline constexpr uint64_t kKrlMaxBitmapSerials = 8192;

// Serials first..last, both included; 1 <= first <= last.
struct SerialRange {
  uint64_t first = 0;
  uint64_t last = 0;
  bool operator==(const SerialRange&) const = default;
};

// The certificates of one CA revoked by serial.
struct KrlCaSerials {
  // The CA's plain public key blob (CaKey::public_blob()), one ParsePublicKey accepts;
  // empty means "any CA" (PROTOCOL.krl; OpenSSH 9.2 applies such serials to every CA).
  std::string ca_key_blob;
  std::vector<SerialRange> serials;
  bool operator==(const KrlCaSerials&) const = default;
};

// Every member has an initializer, so designated initializers may name any subset.
struct Krl {
  // PROTOCOL.krl: meant to grow with changes; sshd ignores it. keypaird writes the sum of
  // the listed serials (ca::CertificateAuthority::Krl), which grows when one is added.
  uint64_t krl_version = 0;
  uint64_t generated_date = 0;  // seconds since the epoch
  std::string comment{};        // no NUL bytes
  std::vector<KrlCaSerials> certificates{};
  // SHA-256 digests (32 raw bytes each, KeySha256) of revoked plain key blobs.
  std::vector<std::string> revoked_key_sha256{};
  bool operator==(const Krl&) const = default;
};

// The serials as ranges: sorted, duplicates removed, consecutive ones joined.
std::vector<SerialRange> SerialRangesOf(std::vector<uint64_t> serials);

// SHA-256 of a key blob (32 raw bytes), the form a KRL lists revoked keys in. Empty only
// if libcrypto fails.
std::string KeySha256(std::string_view key_blob);

// `krl` in canonical form: CAs sorted by key blob and merged, each one's ranges sorted and
// joined where they overlap or touch, CAs left without serials dropped; digests sorted
// and deduplicated. Encoding depends only on this form, and ParseKrl returns it.
Krl NormalizeKrl(Krl krl);

// Encodes NormalizeKrl(krl). kInvalidArgument when a serial range is empty or includes
// serial 0, a CA key blob is not a valid plain key, a digest is not 32 bytes, or the
// comment holds a NUL byte.
StatusOr<std::string> EncodeKrl(const Krl& krl);

// Parses a KRL written by EncodeKrl (or any unsigned KRL made only of certificate
// serial-list/range/bitmap sections and SHA-256 sections) and returns it normalised. Bounded
// work for any input; never reads out of bounds.
StatusOr<Krl> ParseKrl(std::string_view data);

// Whether `krl` revokes the certificate numbered `serial` from the CA `ca_key_blob`.
bool KrlRevokesCertificate(const Krl& krl, std::string_view ca_key_blob, uint64_t serial);
// Whether `krl` revokes the plain key `key_blob` (by its SHA-256).
bool KrlRevokesKey(const Krl& krl, std::string_view key_blob);

}  // namespace keypaird::sshkey

#endif  // KEYPAIRD_SSHKEY_KRL_H_
