// certificate: an Ed25519 SSH certificate authority key, and OpenSSH user and host
// certificates signed by it (PROTOCOL.certkeys, PROTOCOL.u2f for the sk-* types).
//
// CaKey holds the CA's private key in memory only. It is created fresh or from its
// 32-byte Ed25519 seed (which the caller stores encrypted and hands back); the seed is
// wiped from every buffer this module fills, and CaKey is move-only so the key has one
// owner. A CaKey is immutable after creation: const methods may be called from any
// number of threads at once.
//
// SignUserCertificate, SignHostCertificate and ParseCertificate are pure functions over bytes (no I/O, no
// state beyond OpenSSL's and its random generator), safe from any thread. Failures are
// StatusCode::kInvalidArgument with a message saying what is wrong (never quoting key
// material), or kInternal when libcrypto fails. OpenSSL types never appear here.
#ifndef KEYPAIRD_SSHKEY_CERTIFICATE_H_
#define KEYPAIRD_SSHKEY_CERTIFICATE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret.h"
#include "common/status.h"

namespace keypaird::sshkey {

// The extensions `ssh-keygen -s` puts into a user certificate when given no -O option,
// in the order they are encoded (byte-wise sorted, as PROTOCOL.certkeys requires).
inline constexpr std::array<std::string_view, 5> kSshKeygenDefaultExtensions = {
    "permit-X11-forwarding", "permit-agent-forwarding", "permit-port-forwarding", "permit-pty",
    "permit-user-rc"};

// Size of an Ed25519 seed (the whole private key), in bytes.
inline constexpr size_t kCaSeedSize = 32;

// Most principals a certificate may list (OpenSSH refuses to load more).
inline constexpr size_t kMaxCertificatePrincipals = 256;

// An Ed25519 CA private key. Move-only; a moved-from CaKey may only be destroyed or
// assigned to (its accessors then return empty values and Sign fails with kInternal).
class CaKey {
 public:
  // A fresh key from the OS CSPRNG.
  static StatusOr<CaKey> Generate();
  // The key whose Ed25519 seed is `seed` (exactly kCaSeedSize bytes, else
  // kInvalidArgument).
  static StatusOr<CaKey> FromSeed(const SecretString& seed);

  CaKey(CaKey&& other) noexcept;
  CaKey& operator=(CaKey&& other) noexcept;
  ~CaKey();

  // The 32-byte seed, for the caller to store encrypted.
  StatusOr<SecretString> Seed() const;
  // The SSH wire-format public key blob ("ssh-ed25519", 32-byte key).
  std::string_view public_blob() const;
  // "ssh-ed25519 BASE64[ COMMENT]", the line `TrustedUserCAKeys` takes. `comment` must
  // be free of control characters (else it is left out).
  std::string PublicKeyLine(std::string_view comment = {}) const;
  // An SSH signature blob (string "ssh-ed25519", string signature[64]) over `data`.
  StatusOr<std::string> Sign(std::string_view data) const;

 private:
  struct Impl;
  explicit CaKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// What to certify. Checked by SignUserCertificate; every rule below is a
// kInvalidArgument when broken.
struct UserCertificateRequest {
  // The plain public key blob to certify: one of the types ParsePublicKey accepts
  // (PublicKey::blob), valid by the same rules.
  std::string key_blob;
  uint64_t serial = 0;  // 0 means "not numbered" in OpenSSH, and cannot be revoked by a KRL
  std::string key_id;   // free text for logs; no control characters
  // Login names, 1..kMaxCertificatePrincipals of them, each non-empty without control
  // characters. An empty list would be valid for every user, so it is refused.
  std::vector<std::string> principals;
  uint64_t valid_after = 0;   // seconds since the epoch, inclusive
  uint64_t valid_before = 0;  // seconds since the epoch, exclusive; > valid_after
  // Critical options. force-command: non-empty, no NUL. source-address: a comma-separated
  // list of IPv4/IPv6 addresses or CIDR blocks with no host bits set.
  std::optional<std::string> force_command;
  std::optional<std::string> source_address;
  // Extension names (e.g. kSshKeygenDefaultExtensions), each with empty data; sorted and
  // deduplicated here. Non-empty, no control characters.
  std::vector<std::string> extensions;
  // The comment of the one-line form; no control characters. May be empty.
  std::string comment;
};

struct Certificate {
  std::string type;  // e.g. "ssh-ed25519-cert-v01@openssh.com"
  std::string blob;  // the certificate in SSH wire format
  std::string line;  // "TYPE BASE64[ COMMENT]", the contents of a KEY-cert.pub file
};

// Signs an OpenSSH user certificate of `request.key_blob` with `ca` (signature algorithm
// ssh-ed25519) and a fresh 32-byte random nonce.
StatusOr<Certificate> SignUserCertificate(const CaKey& ca, const UserCertificateRequest& request);

// Signs an OpenSSH host certificate the same way: its principals are the host's names.
// A host certificate carries no critical options and no extensions (OpenSSH defines none
// for hosts), so a request with any is kInvalidArgument.
StatusOr<Certificate> SignHostCertificate(const CaKey& ca, const UserCertificateRequest& request);

// One critical option or extension as it stands in a certificate.
struct CertificateOption {
  std::string name;
  std::string data;  // the raw data field (for force-command: a wire string holding the value)
};

inline constexpr uint32_t kCertTypeUser = 1;  // SSH_CERT_TYPE_USER
inline constexpr uint32_t kCertTypeHost = 2;  // SSH_CERT_TYPE_HOST

struct ParsedCertificate {
  std::string type;      // e.g. "ssh-ed25519-cert-v01@openssh.com"
  std::string key_type;  // e.g. "ssh-ed25519"
  std::string key_blob;  // the certified key as a plain public key blob
  std::string nonce;
  uint64_t serial = 0;
  uint32_t cert_type = 0;  // kCertTypeUser or kCertTypeHost
  std::string key_id;
  std::vector<std::string> principals;
  uint64_t valid_after = 0;
  uint64_t valid_before = 0;
  std::vector<CertificateOption> critical_options;  // in their (sorted) order
  std::vector<CertificateOption> extensions;        // in their (sorted) order
  std::optional<std::string> force_command;         // decoded from critical_options
  std::optional<std::string> source_address;        // decoded from critical_options
  std::string ca_key_blob;                          // the signature key
};

// Parses a certificate blob and verifies its signature with the CA key it embeds.
// Accepts the seven certificate types of the key types keypaird accepts, user or host;
// the certified key and the CA key must pass ParsePublicKey's checks, option names must
// be strictly sorted, and force-command / source-address must hold one string. Only
// ssh-ed25519 CA signatures are verified (others are kInvalidArgument). Nothing is
// checked against the clock. Bounded work for any input; never reads out of bounds.
StatusOr<ParsedCertificate> ParseCertificate(std::string_view blob);

}  // namespace keypaird::sshkey

#endif  // KEYPAIRD_SSHKEY_CERTIFICATE_H_
