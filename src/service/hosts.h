// Hosts: servers that enrol themselves into a project and carry host certificates
// (docs/ssh-access.md "Hosts").
//
// A project's administrator makes join tokens: each names the hostnames a server may enrol
// as (a name, or "*.name" for exactly one more label), how many servers may use it and
// until when; its secret is shown once and only its SHA-256 is stored.
//
// A server enrols with a join token (Enroll): it names itself (names the token allows) and
// gives its public host keys; it gets one host certificate per key from the project's host
// CA (principals: its names), the project's user CA keys for TrustedUserCAKeys, the host CA
// keys for clients' known_hosts, and a host token — shown once — with which it renews its
// certificates (Renew) and reads its project's user CA keys, KRL and authorized_keys. The
// join token's use is spent in the enrolment's own transaction. Administrators list and
// delete hosts; a deleted host's token stops at once and its certificates enter the KRL.
// Every change is an event.
#ifndef KEYPAIRD_SERVICE_HOSTS_H_
#define KEYPAIRD_SERVICE_HOSTS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/tokens.h"
#include "common/clock.h"
#include "common/secret.h"
#include "common/status.h"
#include "store/key_store.h"

namespace keypaird::service {

inline constexpr int64_t kMaxJoinTokenUses = 1000;
inline constexpr int64_t kMinJoinTokenTtlS = 60;
inline constexpr int64_t kMaxJoinTokenTtlS = 30 * 24 * 3600;

struct JoinTokenRequest {
  std::vector<std::string> hostnames;
  int64_t uses = 1;
  int64_t expires_in_s = 3600;
};

struct MadeJoinToken {
  store::JoinTokenRecord record;
  SecretString token;  // "kpj_<id>_<secret>", shown once
};

// OK if `hostname` is a host name a join token may name: DNS labels of letters, digits and
// '-' (1..63 each, no '-' first or last), 253 bytes at most, optionally "*." first; else
// kInvalidArgument saying why. Names are compared in lower case: `*lowered` gets it.
Status CheckHostnamePattern(std::string_view hostname, std::string* lowered);

// Whether `hostname` (a plain name) matches `pattern` (a name, or "*.rest": exactly one
// label before rest), both in lower case.
bool HostnameMatches(std::string_view pattern, std::string_view hostname);

inline constexpr size_t kMaxHostKeys = 16;
inline constexpr int64_t kDefaultHostCertValidityS = 30 * 24 * 3600;

// A host certificate as the host CA signed it, and what the store keeps of it.
struct SignedHostCertificate {
  std::string certificate;  // the KEY-cert.pub line
  store::HostCertificateRecord record;
};

// What signs for hosts: the project's CAs (ca::CertificateAuthority). Each call makes the
// CA it needs if the project has none yet (`actor` is then its creator in the audit trail).
class HostSigner {
 public:
  virtual ~HostSigner() = default;
  // One host certificate per key blob (in order), for `host_id`, principals `hostnames`,
  // valid from a little before `now_us` for `validity_s`; serials from the project's host
  // CA. Nothing is recorded: the caller stores the records with the host.
  virtual StatusOr<std::vector<SignedHostCertificate>> SignHostKeys(
      const auth::Principal& actor, int64_t project_id, std::string_view host_id,
      const std::vector<std::string>& hostnames, const std::vector<std::string>& key_blobs,
      int64_t now_us, int64_t validity_s) const = 0;
  // The public key lines of the project's CA of `kind` that servers or clients trust,
  // the signing key first.
  virtual StatusOr<std::vector<std::string>> TrustedCaKeys(const auth::Principal& actor,
                                                           int64_t project_id,
                                                           store::CaKind kind) const = 0;
};

struct EnrollRequest {
  int64_t project_id = 0;
  std::vector<std::string> hostnames;
  std::vector<std::string> public_keys;  // as a key import takes them
};

// What an enrolment or a renewal answers.
struct HostAnswer {
  store::HostRecord host;
  SecretString host_token;  // "kph_<id>_<secret>": at enrolment only, shown once
  std::vector<SignedHostCertificate> certificates;  // one per host key, in order
  std::vector<std::string> user_ca_public_keys;     // for TrustedUserCAKeys
  std::vector<std::string> host_ca_public_keys;     // for clients' @cert-authority lines
};

class Hosts {
 public:
  // Not owned: `store`; `signer` may be null (then enrolment and renewal answer 404, as
  // without a CA).
  Hosts(store::KeyStore* store, Clock now, const HostSigner* signer = nullptr,
        int64_t cert_validity_s = kDefaultHostCertValidityS)
      : store_(store), now_(std::move(now)), signer_(signer), cert_validity_s_(cert_validity_s) {}

  // Each: kPermissionDenied unless the caller administers the project.

  // kInvalidArgument naming the field: hostnames 1..64 valid patterns (repeats dropped),
  // uses 1..1000, expires_in 60 s .. 30 days.
  StatusOr<MadeJoinToken> CreateJoinToken(const auth::Principal& caller, int64_t project_id,
                                          const JoinTokenRequest& request) const;
  StatusOr<std::vector<store::JoinTokenRecord>> ListJoinTokens(const auth::Principal& caller,
                                                               int64_t project_id) const;
  // OK; kNotFound.
  Status DeleteJoinToken(const auth::Principal& caller, int64_t project_id,
                         std::string_view id) const;

  // Enrols a server with `join_token` (the whole "kpj_…" string). kUnauthenticated for a
  // join token that is malformed, unknown, another project's, used up or expired (one
  // message for all); kInvalidArgument naming the field (hostnames: 1..64 plain names;
  // public_keys: 1..16 distinct host keys, no sk-* type); kPermissionDenied for a name
  // the token does not allow; kNotFound if hosts cannot be signed for (no CA).
  StatusOr<HostAnswer> Enroll(std::string_view join_token, const EnrollRequest& request,
                              const auth::Principal& from) const;
  // Renews the caller's own certificates (`public_keys`: the host's keys now, as Enroll
  // takes them; empty: those it has). kPermissionDenied unless the caller is that host's
  // token; kNotFound if it was deleted meanwhile.
  StatusOr<HostAnswer> Renew(const auth::Principal& caller, std::string_view host_id,
                             const std::vector<std::string>& public_keys) const;
  // The project's hosts (administrators).
  StatusOr<std::vector<store::HostRecord>> ListHosts(const auth::Principal& caller,
                                                     int64_t project_id) const;
  // Deletes a host (administrators): its token stops, its certificates enter the KRL.
  // OK; kNotFound.
  Status DeleteHost(const auth::Principal& caller, int64_t project_id, std::string_view id) const;

  int64_t cert_validity_s() const { return cert_validity_s_; }

 private:
  // 1..64 names (or with `patterns`, "*.name" patterns too), in lower case, each once;
  // kInvalidArgument on "hostnames".
  static StatusOr<std::vector<std::string>> CheckHostnames(const std::vector<std::string>& names,
                                                           bool patterns);
  // Checks and normalises the keys ("TYPE BASE64"); their blobs into `blobs`.
  static StatusOr<std::vector<std::string>> CheckHostKeys(const std::vector<std::string>& keys,
                                                          std::vector<std::string>* blobs);
  // Signs `host`'s keys and fills what the answer needs but the token.
  StatusOr<HostAnswer> Certify(const auth::Principal& actor, const store::HostRecord& host,
                               const std::vector<std::string>& blobs, int64_t now_us) const;

  store::KeyStore* store_;  // not owned
  Clock now_;
  const HostSigner* signer_;  // not owned; may be null
  int64_t cert_validity_s_;
};

}  // namespace keypaird::service

#endif  // KEYPAIRD_SERVICE_HOSTS_H_
