// libFuzzer target for the certificate and KRL code of src/sshkey (certificate.h, krl.h).
//
// Every input is used three ways:
//   1. as raw bytes for ParseCertificate and ParseKrl, which must answer with a value or
//      kInvalidArgument, never crash; a KRL they accept must be normalised and re-encode
//      to bytes that read back as itself and encode again to the same bytes (whatever mix
//      of serial lists, ranges and bitmaps the input had), and a certificate they accept
//      must be self-consistent;
//   2. through FuzzedDataProvider, as the fields of a user certificate (key type, serial,
//      key id, principals, validity, options, extensions, comment) signed by a fixed CA:
//      signing either refuses with kInvalidArgument or gives a certificate that reads
//      back with exactly those fields, and that no longer verifies after one flipped bit;
//   3. the rest of the bytes, as the header, per-CA serial ranges and key digests of a
//      KRL: encoding either refuses with kInvalidArgument or reads back as the
//      normalised input, and encodes again to the same bytes.
// Any violation aborts, which libFuzzer reports as a crash.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sshkey/certificate.h"
#include "sshkey/certificate_test_keys.h"
#include "sshkey/krl.h"
#include "sshkey/sshkey.h"

namespace {

using keypaird::SecretString;
using keypaird::StatusCode;
using keypaird::StatusOr;
namespace sshkey = keypaird::sshkey;

[[noreturn]] void Fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz_cert_krl: invariant violated: %s\n", what);
  if (!detail.empty()) {
    std::fprintf(stderr, "  detail: %.*s\n", static_cast<int>(detail.size()), detail.data());
  }
  std::abort();
}

#define FUZZ_CHECK(cond, ...)                            \
  do {                                                   \
    if (!(cond)) Fail(#cond __VA_OPT__(, ) __VA_ARGS__); \
  } while (0)

// The fixed CA and subject keys, built once.
struct Fixture {
  sshkey::CaKey ca;
  std::vector<std::string> key_blobs;  // one per type of kTestKeys
};

const Fixture& GetFixture() {
  static const Fixture* fixture = [] {
    StatusOr<sshkey::CaKey> ca = sshkey::CaKey::FromSeed(SecretString(std::string(32, '\x42')));
    if (!ca.ok()) Fail("CaKey::FromSeed", ca.status().message());
    auto* f = new Fixture{std::move(*ca), {}};
    for (const auto& key : sshkey::testkeys::kTestKeys) {
      f->key_blobs.push_back(sshkey::testkeys::BlobOf(key.line));
      if (f->key_blobs.back().empty()) Fail("test key does not parse", key.line);
    }
    return f;
  }();
  return *fixture;
}

void CheckRefusal(const keypaird::Status& s) {
  FUZZ_CHECK(s.code() == StatusCode::kInvalidArgument, s.message());
  FUZZ_CHECK(!s.message().empty());
}

// A certificate the reader accepted is consistent with itself.
void CheckParsedCertificate(const sshkey::ParsedCertificate& c) {
  StatusOr<sshkey::PublicKey> key =
      sshkey::ParsePublicKey(c.key_type + " " + sshkey::Base64Encode(c.key_blob));
  FUZZ_CHECK(key.ok(), "certified key does not parse");
  FUZZ_CHECK(key->type == c.key_type);
  FUZZ_CHECK(c.type.ends_with("-cert-v01@openssh.com"), c.type);
  FUZZ_CHECK(c.cert_type == sshkey::kCertTypeUser || c.cert_type == sshkey::kCertTypeHost);
  for (const auto* options : {&c.critical_options, &c.extensions}) {
    for (size_t i = 1; i < options->size(); ++i) {
      FUZZ_CHECK((*options)[i - 1].name < (*options)[i].name, "options not strictly sorted");
    }
  }
  FUZZ_CHECK(c.ca_key_blob.size() == 4 + 11 + 4 + 32, "CA key is not an Ed25519 blob");
}

void CheckRawInput(std::string_view input) {
  StatusOr<sshkey::ParsedCertificate> cert = sshkey::ParseCertificate(input);
  if (cert.ok()) {
    CheckParsedCertificate(*cert);
  } else {
    CheckRefusal(cert.status());
  }

  StatusOr<sshkey::Krl> krl = sshkey::ParseKrl(input);
  if (!krl.ok()) {
    CheckRefusal(krl.status());
    return;
  }
  FUZZ_CHECK(sshkey::NormalizeKrl(*krl) == *krl, "ParseKrl result is not normalised");
  StatusOr<std::string> encoded = sshkey::EncodeKrl(*krl);
  FUZZ_CHECK(encoded.ok(), encoded.status().message());
  StatusOr<sshkey::Krl> again = sshkey::ParseKrl(*encoded);
  FUZZ_CHECK(again.ok(), again.status().message());
  FUZZ_CHECK(*again == *krl, "a parsed KRL does not survive encode and parse");
  StatusOr<std::string> reencoded = sshkey::EncodeKrl(*again);
  FUZZ_CHECK(reencoded.ok() && *reencoded == *encoded, "a parsed KRL's encoding is not stable");
}

std::string PickString(FuzzedDataProvider* fdp, const std::vector<std::string_view>& usual) {
  if (fdp->ConsumeBool()) {
    return std::string(usual[fdp->ConsumeIntegralInRange<size_t>(0, usual.size() - 1)]);
  }
  return fdp->ConsumeRandomLengthString(64);
}

void CheckCertificateRoundTrip(FuzzedDataProvider* fdp) {
  const Fixture& f = GetFixture();
  sshkey::UserCertificateRequest req;
  req.key_blob = f.key_blobs[fdp->ConsumeIntegralInRange<size_t>(0, f.key_blobs.size() - 1)];
  if (fdp->ConsumeIntegralInRange(0, 15) == 0) req.key_blob = fdp->ConsumeRandomLengthString(128);
  req.serial = fdp->ConsumeIntegral<uint64_t>();
  req.key_id = fdp->ConsumeRandomLengthString(64);
  const int principals = fdp->ConsumeIntegralInRange(0, 4);
  for (int i = 0; i < principals; ++i) req.principals.push_back(PickString(fdp, {"root", "alice"}));
  req.valid_after = fdp->ConsumeIntegral<uint64_t>();
  req.valid_before = fdp->ConsumeBool() ? req.valid_after + fdp->ConsumeIntegral<uint16_t>()
                                        : fdp->ConsumeIntegral<uint64_t>();
  if (fdp->ConsumeBool()) req.force_command = PickString(fdp, {"true", "echo hi"});
  if (fdp->ConsumeBool()) {
    req.source_address =
        PickString(fdp, {"127.0.0.1", "10.0.0.0/8,::1", "2001:db8::/32", "10.0.0.1/8"});
  }
  const int extensions = fdp->ConsumeIntegralInRange(0, 6);
  for (int i = 0; i < extensions; ++i) {
    req.extensions.push_back(PickString(
        fdp, {"permit-pty", "permit-X11-forwarding", "permit-user-rc", "permit-port-forwarding"}));
  }
  req.comment = fdp->ConsumeRandomLengthString(32);

  StatusOr<sshkey::Certificate> cert = sshkey::SignUserCertificate(f.ca, req);
  if (!cert.ok()) {
    CheckRefusal(cert.status());
    return;
  }
  FUZZ_CHECK(cert->line.starts_with(cert->type + " " + sshkey::Base64Encode(cert->blob)));
  StatusOr<sshkey::ParsedCertificate> parsed = sshkey::ParseCertificate(cert->blob);
  FUZZ_CHECK(parsed.ok(), parsed.status().message());
  CheckParsedCertificate(*parsed);
  FUZZ_CHECK(parsed->type == cert->type);
  FUZZ_CHECK(parsed->key_blob == req.key_blob);
  FUZZ_CHECK(parsed->serial == req.serial);
  FUZZ_CHECK(parsed->cert_type == sshkey::kCertTypeUser);
  FUZZ_CHECK(parsed->key_id == req.key_id);
  FUZZ_CHECK(parsed->principals == req.principals);
  FUZZ_CHECK(parsed->valid_after == req.valid_after && parsed->valid_before == req.valid_before);
  FUZZ_CHECK(parsed->force_command == req.force_command);
  FUZZ_CHECK(parsed->source_address == req.source_address);
  FUZZ_CHECK(parsed->critical_options.size() ==
             static_cast<size_t>(req.force_command.has_value() + req.source_address.has_value()));
  std::vector<std::string> names = req.extensions;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  FUZZ_CHECK(parsed->extensions.size() == names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    FUZZ_CHECK(parsed->extensions[i].name == names[i] && parsed->extensions[i].data.empty());
  }
  FUZZ_CHECK(parsed->ca_key_blob == f.ca.public_blob());

  std::string tampered = cert->blob;
  const size_t at = fdp->ConsumeIntegralInRange<size_t>(0, tampered.size() - 1);
  tampered[at] = static_cast<char>(tampered[at] ^ (1 << fdp->ConsumeIntegralInRange(0, 7)));
  StatusOr<sshkey::ParsedCertificate> bad = sshkey::ParseCertificate(tampered);
  FUZZ_CHECK(!bad.ok(), "a certificate with a flipped bit was accepted");
  CheckRefusal(bad.status());
}

void CheckKrlRoundTrip(FuzzedDataProvider* fdp) {
  const Fixture& f = GetFixture();
  const std::vector<std::string> cas = {std::string(f.ca.public_blob()), f.key_blobs[1], ""};
  sshkey::Krl krl;
  krl.krl_version = fdp->ConsumeIntegral<uint64_t>();
  krl.generated_date = fdp->ConsumeIntegral<uint64_t>();
  krl.comment = fdp->ConsumeRandomLengthString(32);
  const int sections = fdp->ConsumeIntegralInRange(0, 4);
  for (int i = 0; i < sections; ++i) {
    sshkey::KrlCaSerials ca;
    ca.ca_key_blob = cas[fdp->ConsumeIntegralInRange<size_t>(0, cas.size() - 1)];
    if (fdp->ConsumeIntegralInRange(0, 31) == 0)
      ca.ca_key_blob = fdp->ConsumeRandomLengthString(64);
    if (fdp->ConsumeIntegralInRange(0, 7) == 0) {
      // A dense cluster, every step-th serial, so that bitmaps happen, and (past
      // kKrlMaxBitmapSerials) are split.
      const uint64_t start = fdp->ConsumeIntegral<uint64_t>();
      const uint64_t step = fdp->ConsumeIntegralInRange<uint64_t>(2, 20);
      const uint64_t count = fdp->ConsumeIntegralInRange<uint64_t>(1, 3000);
      for (uint64_t k = 0; k < count && start <= UINT64_MAX - k * step; ++k) {
        ca.serials.push_back({start + k * step, start + k * step});
      }
    }
    const int ranges = fdp->ConsumeIntegralInRange(0, 40);
    for (int r = 0; r < ranges; ++r) {
      // Mostly small serials, so that runs, overlaps and neighbours happen.
      const bool small = fdp->ConsumeBool();
      sshkey::SerialRange range;
      range.first =
          small ? fdp->ConsumeIntegralInRange<uint64_t>(0, 64) : fdp->ConsumeIntegral<uint64_t>();
      range.last = fdp->ConsumeBool() ? range.first + fdp->ConsumeIntegralInRange<uint64_t>(0, 4)
                                      : fdp->ConsumeIntegral<uint64_t>();
      ca.serials.push_back(range);
    }
    krl.certificates.push_back(std::move(ca));
  }
  const int hashes = fdp->ConsumeIntegralInRange(0, 8);
  for (int i = 0; i < hashes; ++i) {
    krl.revoked_key_sha256.push_back(fdp->ConsumeIntegralInRange(0, 15) == 0
                                         ? fdp->ConsumeRandomLengthString(40)
                                         : sshkey::KeySha256(fdp->ConsumeBytesAsString(2)));
  }

  StatusOr<std::string> encoded = sshkey::EncodeKrl(krl);
  if (!encoded.ok()) {
    CheckRefusal(encoded.status());
    return;
  }
  StatusOr<sshkey::Krl> parsed = sshkey::ParseKrl(*encoded);
  FUZZ_CHECK(parsed.ok(), parsed.status().message());
  FUZZ_CHECK(*parsed == sshkey::NormalizeKrl(krl), "KRL does not read back as written");
  StatusOr<std::string> again = sshkey::EncodeKrl(*parsed);
  FUZZ_CHECK(again.ok() && *again == *encoded, "KRL encoding is not canonical");
  for (const sshkey::KrlCaSerials& ca : krl.certificates) {
    for (const sshkey::SerialRange& r : ca.serials) {
      FUZZ_CHECK(sshkey::KrlRevokesCertificate(*parsed, ca.ca_key_blob, r.first));
      FUZZ_CHECK(sshkey::KrlRevokesCertificate(*parsed, ca.ca_key_blob, r.last));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckRawInput(std::string_view(reinterpret_cast<const char*>(data), size));
  FuzzedDataProvider fdp(data, size);
  CheckCertificateRoundTrip(&fdp);
  CheckKrlRoundTrip(&fdp);
  return 0;
}
