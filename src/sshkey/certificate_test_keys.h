// Test-only: one public key of every type keypaird accepts (the seeds of
// fuzz/corpus/fuzz_public_key, made by ssh-keygen; the sk-* ones reuse the Ed25519 and
// P-256 points with application "ssh:"), and small helpers. Public keys only; nothing
// here is secret. Used by the certificate and KRL tests and by fuzz/fuzz_cert_krl.cc.
#ifndef KEYPAIRD_SSHKEY_CERTIFICATE_TEST_KEYS_H_
#define KEYPAIRD_SSHKEY_CERTIFICATE_TEST_KEYS_H_

#include <array>
#include <string>
#include <string_view>

#include "common/strings.h"
#include "sshkey/sshkey.h"

namespace keypaird::sshkey::testkeys {

struct TestKey {
  std::string_view name;       // for test names: letters and digits only
  std::string_view cert_type;  // the certificate type of this key type
  std::string_view line;       // "TYPE BASE64"
};

inline constexpr std::array<TestKey, 7> kTestKeys = {{
    {"Ed25519", "ssh-ed25519-cert-v01@openssh.com",
     "ssh-ed25519 "
     "AAAAC3NzaC1lZDI1NTE5AAAAIJUhMYh4koH5fDAM8M1mMoSKTmxTwrhaoEymElAk3ijU"},
    {"Ecdsa256", "ecdsa-sha2-nistp256-cert-v01@openssh.com",
     "ecdsa-sha2-nistp256 "
     "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBDVzEgL/WuFJeo9XS/6gRcIHkiEk8/+G7iXE"
     "3QHy1zB3w/wiMmYfsIG/kGc+qFju+vOSILr5A9GH+ymG7xQos1w="},
    {"Ecdsa384", "ecdsa-sha2-nistp384-cert-v01@openssh.com",
     "ecdsa-sha2-nistp384 "
     "AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBErFhk557O5+rtFSdnQXNGizewN96HCFO4a9"
     "WtT6x7DvAy1zpd71ZjSE/N3820vZ2nwKdgpkFxbQn7/RinNXz9OjuRF16cMu2VIobla1U+Xt6NdhrqPwZTI+1C+S"
     "3JrccA=="},
    {"Ecdsa521", "ecdsa-sha2-nistp521-cert-v01@openssh.com",
     "ecdsa-sha2-nistp521 "
     "AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAC/spq8GgrdBHi2qh/6Pi8KSu0zyZMm/aec"
     "rN8RDhWGITcHtdfd+owJb73kze+iNqSdqH8dROb4qW7eElI650ctigDWbg27ghXNx5tPUG7I0ueZubLhYfTD4bip"
     "Xc9GmrZWzddRuf2FfpxgNSCYf3bso3MOc6+cw8arFzb7ivNw5ThnpA=="},
    {"Rsa2048", "ssh-rsa-cert-v01@openssh.com",
     "ssh-rsa "
     "AAAAB3NzaC1yc2EAAAADAQABAAABAQCyTmva3gfVG91uGOBz9vwAe7DjTmSWP661wCwSTz+1D7e7QxbZPBQjf1LS"
     "wrMVUm7dwVjX1vBbnL+KnKYnr/4k3tb2u9J/NhgJpSpEAX0aYStFPH7WE1a4RY9MGG/Kj4TG/85DTBz/8l00xqkw"
     "5Th1y6XLuFKnNCHPa1Tjq2/gCxpSE11QWMLR1p54kb96+ZQ4kmrWctd935mWInlc1/mEHj1tar6Fjse8JH0SuQV1"
     "b0CDvXVxZBrGaDpXBgqwGUz89Ia4muhov+FA4Xarnog8BzYCIu+Kzppd3gpwLTGg9vzbVcVlip6+Bpv2XMK28QK4"
     "xvu2LMJR57M3iNt7tvjV"},
    {"SkEd25519", "sk-ssh-ed25519-cert-v01@openssh.com",
     "sk-ssh-ed25519@openssh.com "
     "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIJUhMYh4koH5fDAM8M1mMoSKTmxTwrhaoEymElAk3ijU"
     "AAAABHNzaDo="},
    {"SkEcdsa256", "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
     "sk-ecdsa-sha2-nistp256@openssh.com "
     "AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAAAIbmlzdHAyNTYAAABBBDVzEgL/WuFJeo9X"
     "S/6gRcIHkiEk8/+G7iXE3QHy1zB3w/wiMmYfsIG/kGc+qFju+vOSILr5A9GH+ymG7xQos1wAAAAEc3NoOg=="},
}};

// The wire-format blob of a public key line; empty if the line does not parse.
inline std::string BlobOf(std::string_view line) {
  StatusOr<PublicKey> key = ParsePublicKey(line);
  return key.ok() ? key->blob : "";
}

// Lowercase hex of bytes, for readable comparisons.
inline std::string Hex(std::string_view bytes) {
  std::string out;
  AppendHex(&out, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return out;
}

}  // namespace keypaird::sshkey::testkeys

#endif  // KEYPAIRD_SSHKEY_CERTIFICATE_TEST_KEYS_H_
