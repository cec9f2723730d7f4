// CertificateAuthority: a per-project SSH certificate authority over the stored keys
// (openapi/keypaird.yaml, tag "SSH access"; docs/ssh-access.md "Certificates").
//
// Each project gets an Ed25519 CA key when it is first asked for by a write: Create (POST
// …/ssh_ca) or the first certificate. Reads never make one: before it exists, Info is
// kNotFound and the KRL is empty (nothing can be revoked yet). Its seed is kept only sealed
// under the KEK (ca/kek.h), the same for every node on one database, and opened only for the
// moment of a signature. Signing follows the keys' rules: only the key's owner or an admin,
// only a usable key (not disabled, not expired), only principals the token may be issued (an
// admin any), a validity from 60 s to `max_validity_s`. SignPublicKey certifies a public key
// that is not stored (`keypaird login`'s in-memory key) by the same rules, for the caller.
// Serials come from the store, unique per CA also across nodes. Every issued certificate is
// recorded (for revocation, the KRL and the audit trail), writes an audit line to the log
// (token, key, principals, serial, validity) and counts in the metrics.
//
// Each project may also have a host CA (docs/ssh-access.md "Hosts"): another Ed25519 key,
// sealed the same way but bound to its kind, with serials of its own; it signs host
// certificates for service::Hosts (the HostSigner it is), made by the first enrolment or by
// POST …/ssh_host_ca. The project's KRL covers both CAs.
//
// Rotation (docs/ssh-access.md "Rotating a CA") gives a CA a new signing key; the old one
// is trusted (listed after the new one) until the last certificate it signed expires, or
// until it is deleted early, which revokes its certificates; its seed is dropped at the
// rotation. Every signature reads the CA's current row, so a rotation on any node is used
// by every node from its next signature on; each certificate records which key signed it,
// and the KRL names each key's revoked serials under that key.
//
// Threading: thread-safe (no state of its own); methods block on the store.
#ifndef KEYPAIRD_CA_AUTHORITY_H_
#define KEYPAIRD_CA_AUTHORITY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/tokens.h"
#include "ca/kek.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/status.h"
#include "service/generated_cache.h"
#include "service/hosts.h"
#include "service/key_service.h"
#include "sshkey/certificate.h"
#include "store/key_store.h"

namespace keypaird::ca {

// One key of a CA (docs/ssh-access.md "Rotating a CA").
struct CaKeyInfo {
  std::string public_key;  // one line
  std::string fingerprint_sha256;
  int64_t created_at_us = 0;
  // Until when a key rotated out is trusted: the expiry of the last certificate it signed
  // (its rotation, if later). nullopt for the signing key, which does not retire.
  std::optional<int64_t> retires_at_us;
};

struct CaInfo {
  // The signing key.
  std::string public_key;  // one line, for TrustedUserCAKeys
  std::string fingerprint_sha256;
  int64_t created_at_us = 0;
  // Every key to trust now: the signing key first, then those rotated out and not retired
  // or deleted yet, newest first.
  std::vector<CaKeyInfo> keys;
};

struct SignRequest {
  std::vector<std::string> principals;  // at least one
  int64_t valid_for_s = 3600;
  std::optional<std::vector<std::string>> extensions;  // unset: ssh-keygen's defaults
  std::optional<std::string> force_command;
  std::optional<std::string> source_address;
};

struct IssuedCertificate {
  std::string certificate;  // the KEY-cert.pub line
  int64_t serial = 0;
  std::string key_id;  // the certificate's key id (what sshd logs), not the stored key's id
  std::string fingerprint_sha256;  // of the certified public key
  std::vector<std::string> principals;
  int64_t valid_after_s = 0;
  int64_t valid_before_s = 0;
};

// The principals a certificate gets when its request names none: all those the caller may
// be issued in the project. kPermissionDenied for a token that may be issued none (token create
// --principals); kInvalidArgument on `principals` for an administrator's token without
// principals of its own: it may ask for any, so it must name them.
StatusOr<std::vector<std::string>> DefaultPrincipals(const auth::Principal& caller,
                                                     int64_t project_id);

class CertificateAuthority final : public service::HostSigner {
 public:
  // Not owned: `store`, `keys`, `metrics` (may be null).
  CertificateAuthority(store::KeyStore* store, service::KeyService* keys, Kek kek,
                       int64_t max_validity_s, Clock now = SystemNowMicros,
                       Metrics* metrics = nullptr);

  // OK if the KEK is the one this database's CAs are sealed with: the first CA with a KEK
  // seals a check value (kept as project 0's row), later starts open it. kInvalidArgument
  // when it does not open: `serve` refuses to start rather than fail every signature.
  Status VerifyKek() const;

  // The project's CA of `kind`. kNotFound (with a message saying how to make it) if it has
  // none yet; kPermissionDenied for a project the caller may not use.
  StatusOr<CaInfo> Info(const auth::Principal& caller, int64_t project_id,
                        store::CaKind kind = store::CaKind::kUser) const;

  // The project's CA of `kind`, made now if it has none (`*created` says which). Concurrent
  // calls, on any node, all get the same CA. kPermissionDenied unless the caller may change
  // things in the project.
  StatusOr<CaInfo> Create(const auth::Principal& caller, int64_t project_id, bool* created,
                          store::CaKind kind = store::CaKind::kUser) const;

  // Rotates the project's CA of `kind`: a new key signs from now on. The project's
  // administrators only (kPermissionDenied); kNotFound if it has no such CA yet.
  StatusOr<CaInfo> Rotate(const auth::Principal& caller, int64_t project_id,
                          store::CaKind kind) const;

  // Deletes a key rotated out before it retires by itself, revoking every certificate it
  // signed. `fingerprint` is its SHA256 fingerprint, with or without "SHA256:". The
  // project's administrators only; kNotFound (no such key, or deleted already),
  // kAlreadyExists (409) for the signing key (rotate first).
  Status DeleteKey(const auth::Principal& caller, int64_t project_id, store::CaKind kind,
                   std::string_view fingerprint) const;

  // service::HostSigner.
  StatusOr<std::vector<service::SignedHostCertificate>> SignHostKeys(
      const auth::Principal& actor, int64_t project_id, std::string_view host_id,
      const std::vector<std::string>& hostnames, const std::vector<std::string>& key_blobs,
      int64_t now_us, int64_t validity_s) const override;
  StatusOr<std::vector<std::string>> TrustedCaKeys(const auth::Principal& actor,
                                                   int64_t project_id,
                                                   store::CaKind kind) const override;

  // kInvalidArgument (bad principals, validity, extensions or options; a key that is not
  // usable: disabled or expired), kPermissionDenied (project, not the owner, a principal
  // the token may not be issued), kNotFound (key).
  StatusOr<IssuedCertificate> Sign(const auth::Principal& caller, int64_t project_id,
                                   service::KeyRef key, SignRequest request) const;

  // Certifies `public_key`, which the store does not hold and does not keep: any form and
  // type a key import accepts (sshkey::ParsePublicKey), else kInvalidArgument on
  // `public_key`. The request follows Sign's rules. The certificate is recorded with no key
  // (CertificateRecord::key_id empty), as the caller's: they (or an admin) may revoke it,
  // and only revoking puts it in the KRL, since no key of it can be deleted or disabled.
  // kInvalidArgument, kPermissionDenied as Sign.
  StatusOr<IssuedCertificate> SignPublicKey(const auth::Principal& caller, int64_t project_id,
                                            std::string_view public_key, SignRequest request) const;

  // By the certified key's owner or an admin. kNotFound (no such serial), kPermissionDenied.
  Status Revoke(const auth::Principal& caller, int64_t project_id, int64_t serial) const;

  // The project's KRL (PROTOCOL.krl): by serial, every unexpired certificate that was
  // revoked or whose key is deleted or disabled, and every unexpired host certificate of a
  // deleted host; never a bare key. Empty (and no CA made) for a project without a CA.
  // The same stored state always gives the same bytes: no field is the time of the request
  // (krl_version is the sum of the listed serials, generated_date the last change of a CA
  // key it names), so the route can answer with an ETag of the body.
  StatusOr<std::string> Krl(const auth::Principal& caller, int64_t project_id) const;
  // The same with its ETag, shared: kept for the project's revocations generation
  // (store::ProjectGenerations) until the first serial it lists expires, so that a KRL read
  // while nothing it lists changed is sent without reading the certificates again.
  StatusOr<service::GeneratedText> KrlText(const auth::Principal& caller, int64_t project_id) const;
  // The KRL KrlText keeps for the project's current generation, if there is one (and the
  // caller may read the project); nullopt otherwise. Reads the generation only, through
  // `reads` when given.
  std::optional<service::GeneratedText> KeptKrl(const auth::Principal& caller, int64_t project_id,
                                                store::KeyReader* reads = nullptr) const;

  int64_t max_validity_s() const { return max_validity_s_; }

 private:
  // A project's CA as read now: its signing key.
  struct Ca {
    store::CaRecord record;
    std::string blob;                // the public key, wire form
    std::string fingerprint_sha256;  // SHA256:...
  };

  // The project's CA of `kind`; made by `creator` (the audit trail's actor) if it has none
  // and a creator is given (`*created` set when this call made it), else kNotFound.
  StatusOr<Ca> CaOf(int64_t project_id, store::CaKind kind, const auth::Principal* creator,
                    bool* created = nullptr) const;
  // A fresh key for the project's CA of `kind`, its seed sealed, made at `now_us`.
  StatusOr<store::CaRecord> NewCaKey(int64_t project_id, store::CaKind kind, int64_t now_us) const;
  // The CA's private key, opened for one signature.
  StatusOr<sshkey::CaKey> OpenKey(const Ca& ca) const;
  // The CA's keys to trust at `now_us` (CaInfo::keys); kNotFound if it has none.
  StatusOr<std::vector<CaKeyInfo>> TrustedKeys(int64_t project_id, store::CaKind kind,
                                               int64_t now_us) const;
  StatusOr<CaInfo> InfoOf(int64_t project_id, store::CaKind kind) const;
  // The project's revocations generation, read now, and the KRL kept for it (a hit counted
  // on the metrics).
  StatusOr<service::GeneratedLookup> LookUpKrl(int64_t project_id, store::KeyReader& reads) const;
  // The project's KRL built from the store at `now_s`; `*first_expiry_s` the earliest
  // valid_before of the serials it lists (0: none).
  StatusOr<std::string> BuildKrl(int64_t project_id, int64_t now_s, int64_t* first_expiry_s) const;

  // What a certificate is issued for.
  struct Subject {
    std::string blob;  // the public key, wire form
    std::string fingerprint_sha256;
    std::string key_id;  // the stored key's id; "" for a key the store does not hold
    int64_t owner_id = 0;
    std::string name;     // the audit trail's resource name
    std::string comment;  // the certificate line's
  };

  // Checks `request` by the rules every certificate follows, its principals listed once
  // each; the extensions the certificate gets. kInvalidArgument.
  StatusOr<std::vector<std::string>> CheckRequest(SignRequest* request) const;
  // Signs a checked request with the project's CA (made now if it has none) and records
  // the certificate with its event. `now_us` is the validity's now.
  StatusOr<IssuedCertificate> Issue(const auth::Principal& caller, int64_t project_id,
                                    const Subject& subject, const SignRequest& request,
                                    std::vector<std::string> extensions, int64_t now_us) const;

  store::KeyStore* store_;
  service::KeyService* keys_;
  Kek kek_;
  int64_t max_validity_s_;
  Clock now_;
  Metrics* metrics_;
  std::unique_ptr<service::GeneratedCache> krls_;  // by project id
};

}  // namespace keypaird::ca

#endif  // KEYPAIRD_CA_AUTHORITY_H_
