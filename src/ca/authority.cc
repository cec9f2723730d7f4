#include "ca/authority.h"

#include <algorithm>
#include <chrono>

#include "auth/audit.h"
#include "common/json_writer.h"
#include "common/log.h"
#include "common/rfc3339.h"
#include "sshkey/certificate.h"
#include "sshkey/krl.h"
#include "sshkey/sshkey.h"

namespace keypaird::ca {
namespace {

constexpr int64_t kMinValidity = 60;
constexpr int64_t kBackdate = 300;  // valid_after: 5 minutes before now (clock skew)

Status Field(const std::string& field, std::string message) {
  return InvalidArgument("Invalid value for " + field + ": " + message).WithField(field, message);
}

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : ",") + w;
  return out;
}

// What the audit trail says of a certificate: its key (the stored key's id, or the
// fingerprint of a key not stored), principals and validity.
std::string CertificateDetails(const store::CertificateRecord& c) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("serial").Int(c.serial);
  if (c.key_id.empty()) {
    w.Key("fingerprint_sha256").String(sshkey::FingerprintOfSha256(c.key_sha256));
  } else {
    w.Key("key_id").String(c.key_id);
  }
  w.Key("principals").BeginArray();
  for (const std::string& p : c.principals) w.String(p);
  w.EndArray()
      .Key("valid_after").String(FormatRfc3339(c.valid_after_s * 1000000))
      .Key("valid_before").String(FormatRfc3339(c.valid_before_s * 1000000))
      .EndObject();
  return out;
}

// OK if the caller may be issued every one of `principals` in the project. Only an
// administrator's token may have any; everyone else (a project's admin too) those their
// token or grants give them there.
Status MayBeIssued(const auth::Principal& caller, int64_t project_id,
                   const std::vector<std::string>& principals) {
  if (caller.admin) return Status::Ok();
  const std::vector<std::string>& mine = caller.PrincipalsIn(project_id);
  for (const std::string& p : principals) {
    if (std::find(mine.begin(), mine.end(), p) == mine.end()) {
      return PermissionDenied(
          caller.granted ? "Your grants do not give you principal '" + p + "' in project " +
                               std::to_string(project_id) + "."
                         : "This token may not be issued certificates for principal '" + p +
                               "' (token create --principals).");
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<std::string>> DefaultPrincipals(const auth::Principal& caller,
                                                     int64_t project_id) {
  const std::vector<std::string>& mine = caller.PrincipalsIn(project_id);
  if (!mine.empty()) return mine;
  if (caller.admin) {
    return Field("principals",
                 "This administrator's token has no principals of its own: name the ones the "
                 "certificate is for.");
  }
  if (caller.granted) {
    return PermissionDenied("Your grants give you no principals in project " +
                            std::to_string(project_id) + ".");
  }
  return PermissionDenied(
      "This token may not be issued certificates: it has no principals "
      "(token create --principals).");
}

CertificateAuthority::CertificateAuthority(store::KeyStore* store, service::KeyService* keys,
                                           Kek kek, int64_t max_validity_s, Clock now,
                                           Metrics* metrics)
    : store_(store),
      keys_(keys),
      kek_(std::move(kek)),
      max_validity_s_(max_validity_s),
      now_(std::move(now)),
      metrics_(metrics),
      krls_(std::make_unique<service::GeneratedCache>()) {}

namespace {

// What a CA key is called in messages.
std::string CaName(int64_t project_id, store::CaKind kind) {
  return "Project " + std::to_string(project_id) + "'s SSH " +
         (kind == store::CaKind::kHost ? "host " : "") + "certificate authority";
}

std::string CaPath(int64_t project_id, store::CaKind kind) {
  return "/api/v1/projects/" + std::to_string(project_id) +
         (kind == store::CaKind::kHost ? "/ssh_host_ca" : "/ssh_ca");
}

// kNotFound for a project without a CA of that kind, saying how to make one.
Status NoCaYet(int64_t project_id, store::CaKind kind) {
  const bool host = kind == store::CaKind::kHost;
  return NotFound("Project " + std::to_string(project_id) + " has no SSH " +
                  (host ? "host " : "") + "certificate authority yet: POST " +
                  CaPath(project_id, kind) + " makes it (so does its first " +
                  (host ? "host enrolment)" : "certificate request)"));
}

// The event of a change to a project's CA, with the fingerprint of the key it is about.
store::EventRecord CaEvent(const auth::Principal& actor, std::string_view action,
                           int64_t project_id, store::CaKind kind, int64_t now_us,
                           std::string_view fingerprint) {
  store::EventRecord event = auth::NewEvent(actor, action, now_us);
  event.project_id = project_id;
  event.resource_type = kind == store::CaKind::kHost ? "ssh_host_ca" : "ssh_ca";
  event.resource_id = std::to_string(project_id);
  std::string details;
  JsonWriter(&details).BeginObject().Key("fingerprint_sha256").String(fingerprint).EndObject();
  event.details = std::move(details);
  return event;
}

}  // namespace

StatusOr<store::CaRecord> CertificateAuthority::NewCaKey(int64_t project_id, store::CaKind kind,
                                                         int64_t now_us) const {
  const bool host = kind == store::CaKind::kHost;
  StatusOr<sshkey::CaKey> key = sshkey::CaKey::Generate();
  if (!key.ok()) return key.status();
  StatusOr<SecretString> seed = key->Seed();
  if (!seed.ok()) return seed.status();
  StatusOr<std::string> sealed = kek_.Seal(seed->view(), project_id, host);
  if (!sealed.ok()) return sealed.status();
  return store::CaRecord{.project_id = project_id,
                         .kind = kind,
                         .public_key = key->PublicKeyLine("keypaird project " +
                                                          std::to_string(project_id) +
                                                          (host ? " host CA" : " CA")),
                         .sealed_seed = std::move(*sealed),
                         .created_at_us = now_us,
                         .generation = 1};
}

StatusOr<CertificateAuthority::Ca> CertificateAuthority::CaOf(int64_t project_id,
                                                              store::CaKind kind,
                                                              const auth::Principal* creator,
                                                              bool* created) const {
  const bool host = kind == store::CaKind::kHost;
  StatusOr<store::CaRecord> record = store_->GetCa(project_id, kind);
  if (!record.ok() && record.status().code() == StatusCode::kNotFound && creator != nullptr) {
    // None yet: offer a fresh one; the store keeps the first one of any node and every
    // caller gets that one.
    StatusOr<store::CaRecord> candidate = NewCaKey(project_id, kind, now_());
    if (!candidate.ok()) return candidate.status();
    const std::string line = candidate->public_key;
    StatusOr<sshkey::PublicKey> parsed = sshkey::ParsePublicKey(line);
    if (!parsed.ok()) return Internal("a new CA public key does not parse");
    record = store_->GetOrCreateCa(
        *candidate, CaEvent(*creator, host ? auth::kHostCaCreate : auth::kCaCreate, project_id,
                            kind, candidate->created_at_us, parsed->fingerprint_sha256));
    const bool made = record.ok() && record->public_key == line;
    if (created != nullptr) *created = made;
    if (made) {
      LogLine(LogLevel::kInfo, host ? "host certificate authority created"
                                    : "certificate authority created")
          .Str("token_id", creator->token_id)
          .Int("project_id", project_id);
    }
  }
  if (!record.ok()) {
    if (record.status().code() != StatusCode::kNotFound) return record.status();
    return NoCaYet(project_id, kind);
  }
  StatusOr<sshkey::PublicKey> parsed = sshkey::ParsePublicKey(record->public_key);
  if (!parsed.ok()) return Internal("the stored CA public key does not parse");
  return Ca{std::move(*record), std::move(parsed->blob), std::move(parsed->fingerprint_sha256)};
}

StatusOr<std::vector<CaKeyInfo>> CertificateAuthority::TrustedKeys(int64_t project_id,
                                                                   store::CaKind kind,
                                                                   int64_t now_us) const {
  StatusOr<std::vector<store::CaKeyRecord>> keys = store_->CaKeysOf(project_id, kind);
  if (!keys.ok()) return keys.status();
  if (keys->empty()) return NoCaYet(project_id, kind);
  std::vector<CaKeyInfo> out;
  for (const store::CaKeyRecord& k : *keys) {
    CaKeyInfo info;
    info.public_key = k.public_key;
    info.created_at_us = k.created_at_us;
    if (k.rotated_at_us != 0) {
      if (k.deleted_at_us) continue;
      info.retires_at_us = std::max(k.rotated_at_us, k.signed_until_s * 1000000);
      if (*info.retires_at_us <= now_us) continue;  // retired
    }
    StatusOr<sshkey::PublicKey> parsed = sshkey::ParsePublicKey(k.public_key);
    if (!parsed.ok()) return Internal("a stored CA public key does not parse");
    info.fingerprint_sha256 = std::move(parsed->fingerprint_sha256);
    out.push_back(std::move(info));
  }
  return out;
}

StatusOr<CaInfo> CertificateAuthority::InfoOf(int64_t project_id, store::CaKind kind) const {
  StatusOr<std::vector<CaKeyInfo>> keys = TrustedKeys(project_id, kind, now_());
  if (!keys.ok()) return keys.status();
  const CaKeyInfo& signing = keys->front();
  return CaInfo{.public_key = signing.public_key,
                .fingerprint_sha256 = signing.fingerprint_sha256,
                .created_at_us = signing.created_at_us,
                .keys = std::move(*keys)};
}

StatusOr<CaInfo> CertificateAuthority::Rotate(const auth::Principal& caller, int64_t project_id,
                                              store::CaKind kind) const {
  if (!caller.Administers(project_id)) {
    return PermissionDenied("Only an administrator of project " + std::to_string(project_id) +
                            " may rotate its certificate authorities.");
  }
  if (Status s = CaOf(project_id, kind, /*creator=*/nullptr).status(); !s.ok()) return s;
  const int64_t now_us = now_();
  StatusOr<store::CaRecord> next = NewCaKey(project_id, kind, now_us);
  if (!next.ok()) return next.status();
  StatusOr<sshkey::PublicKey> parsed = sshkey::ParsePublicKey(next->public_key);
  if (!parsed.ok()) return Internal("a new CA public key does not parse");
  const bool host = kind == store::CaKind::kHost;
  StatusOr<store::CaRecord> rotated = store_->RotateCa(
      *next, CaEvent(caller, host ? auth::kHostCaRotate : auth::kCaRotate, project_id, kind,
                     now_us, parsed->fingerprint_sha256));
  if (!rotated.ok()) {
    return rotated.status().code() == StatusCode::kNotFound ? NoCaYet(project_id, kind)
                                                            : rotated.status();
  }
  LogLine(LogLevel::kInfo, host ? "host certificate authority rotated"
                                : "certificate authority rotated")
      .Str("token_id", caller.token_id)
      .Int("project_id", project_id)
      .Int("generation", rotated->generation)
      .Str("fingerprint_sha256", parsed->fingerprint_sha256);
  return InfoOf(project_id, kind);
}

Status CertificateAuthority::DeleteKey(const auth::Principal& caller, int64_t project_id,
                                       store::CaKind kind, std::string_view fingerprint) const {
  if (!caller.Administers(project_id)) {
    return PermissionDenied("Only an administrator of project " + std::to_string(project_id) +
                            " may delete its certificate authorities' keys.");
  }
  const std::string wanted =
      fingerprint.starts_with("SHA256:") ? std::string(fingerprint) : "SHA256:" + std::string(fingerprint);
  StatusOr<std::vector<store::CaKeyRecord>> keys = store_->CaKeysOf(project_id, kind);
  if (!keys.ok()) return keys.status();
  const store::CaKeyRecord* found = nullptr;
  for (const store::CaKeyRecord& k : *keys) {
    StatusOr<sshkey::PublicKey> parsed = sshkey::ParsePublicKey(k.public_key);
    if (parsed.ok() && parsed->fingerprint_sha256 == wanted && !k.deleted_at_us) found = &k;
  }
  const std::string not_found = CaName(project_id, kind) + " has no key " + wanted + ".";
  if (found == nullptr) return NotFound(not_found);
  if (found->rotated_at_us == 0) {
    // 409: the request conflicts with the CA's state (as a name taken does).
    return AlreadyExists("The key " + wanted + " is the one " + CaName(project_id, kind) +
                              " signs with: rotate it (POST " + CaPath(project_id, kind) +
                              "/rotate) before deleting this key.");
  }
  const int64_t now_us = now_();
  const bool host = kind == store::CaKind::kHost;
  Status s = store_->DeleteCaKey(
      project_id, kind, found->generation, now_us,
      CaEvent(caller, host ? auth::kHostCaKeyDelete : auth::kCaKeyDelete, project_id, kind,
              now_us, wanted));
  if (s.code() == StatusCode::kNotFound) return NotFound(not_found);
  if (!s.ok()) return s;
  LogLine(LogLevel::kInfo, host ? "host certificate authority key deleted"
                                : "certificate authority key deleted")
      .Str("token_id", caller.token_id)
      .Int("project_id", project_id)
      .Str("fingerprint_sha256", wanted);
  return Status::Ok();
}

StatusOr<sshkey::CaKey> CertificateAuthority::OpenKey(const Ca& ca) const {
  StatusOr<SecretString> seed = kek_.Open(ca.record.sealed_seed, ca.record.project_id,
                                          ca.record.kind == store::CaKind::kHost);
  if (!seed.ok()) return Internal("the project's CA key does not open with this KEK");
  return sshkey::CaKey::FromSeed(*seed);
}

Status CertificateAuthority::VerifyKek() const {
  constexpr int64_t kCheckProject = 0;  // no real project: ids start at 1
  constexpr std::string_view kCheck = "keypaird key-encryption key check";
  StatusOr<std::string> sealed = kek_.Seal(kCheck, kCheckProject);
  if (!sealed.ok()) return sealed.status();
  StatusOr<store::CaRecord> check =
      store_->GetOrCreateCa(store::CaRecord{.project_id = kCheckProject,
                                            .kind = store::CaKind::kUser,
                                            .public_key = "",
                                            .sealed_seed = std::move(*sealed),
                                            .created_at_us = now_()},
                            store::EventRecord{});  // not a CA: no event
  if (!check.ok()) return check.status();
  StatusOr<SecretString> opened = kek_.Open(check->sealed_seed, kCheckProject);
  if (!opened.ok() || opened->view() != kCheck) {
    return InvalidArgument(
        "--ca-kek-file: this is not the key-encryption key the database's SSH certificate "
        "authorities are sealed with (the one given when the first CA was made)");
  }
  return Status::Ok();
}

StatusOr<CaInfo> CertificateAuthority::Info(const auth::Principal& caller, int64_t project_id,
                                            store::CaKind kind) const {
  if (!caller.MayUseProject(project_id)) return auth::ProjectDenied(project_id);
  return InfoOf(project_id, kind);
}

StatusOr<CaInfo> CertificateAuthority::Create(const auth::Principal& caller, int64_t project_id,
                                              bool* created, store::CaKind kind) const {
  if (!caller.MayChange(project_id)) return auth::ChangeDenied(caller, project_id);
  *created = false;
  StatusOr<Ca> ca = CaOf(project_id, kind, &caller, created);
  if (!ca.ok()) return ca.status();
  return InfoOf(project_id, kind);
}

StatusOr<std::vector<std::string>> CertificateAuthority::TrustedCaKeys(
    const auth::Principal& actor, int64_t project_id, store::CaKind kind) const {
  StatusOr<Ca> ca = CaOf(project_id, kind, &actor);
  if (!ca.ok()) return ca.status();
  StatusOr<std::vector<CaKeyInfo>> keys = TrustedKeys(project_id, kind, now_());
  if (!keys.ok()) return keys.status();
  std::vector<std::string> lines;
  for (const CaKeyInfo& k : *keys) lines.push_back(k.public_key);
  return lines;
}

StatusOr<std::vector<service::SignedHostCertificate>> CertificateAuthority::SignHostKeys(
    const auth::Principal& actor, int64_t project_id, std::string_view host_id,
    const std::vector<std::string>& hostnames, const std::vector<std::string>& key_blobs,
    int64_t now_us, int64_t validity_s) const {
  StatusOr<Ca> ca = CaOf(project_id, store::CaKind::kHost, &actor);
  if (!ca.ok()) return ca.status();
  StatusOr<sshkey::CaKey> key = OpenKey(*ca);
  if (!key.ok()) return key.status();
  const int64_t now_s = now_us / 1000000;
  std::vector<service::SignedHostCertificate> out;
  for (const std::string& blob : key_blobs) {
    StatusOr<int64_t> serial = store_->NextSerial(project_id, store::CaKind::kHost);
    if (!serial.ok()) return serial.status();
    service::SignedHostCertificate signed_cert;
    store::HostCertificateRecord& r = signed_cert.record;
    r.project_id = project_id;
    r.serial = *serial;
    r.host_id = std::string(host_id);
    r.key_sha256 = sshkey::KeySha256(blob);
    r.principals = hostnames;
    r.valid_after_s = now_s - kBackdate;
    r.valid_before_s = now_s + validity_s;
    r.issued_at_us = now_us;
    r.ca_generation = ca->record.generation;
    sshkey::UserCertificateRequest request;
    request.key_blob = blob;
    request.serial = static_cast<uint64_t>(r.serial);
    request.key_id = "keypaird:project=" + std::to_string(project_id) + ":host=" +
                     std::string(host_id) + ":serial=" + std::to_string(r.serial);
    request.principals = hostnames;
    request.valid_after = static_cast<uint64_t>(r.valid_after_s);
    request.valid_before = static_cast<uint64_t>(r.valid_before_s);
    request.comment = hostnames.front();
    StatusOr<sshkey::Certificate> cert = sshkey::SignHostCertificate(*key, request);
    if (!cert.ok()) return cert.status();
    signed_cert.certificate = std::move(cert->line);
    out.push_back(std::move(signed_cert));
    if (metrics_ != nullptr) metrics_->CountCertificate("issued");
  }
  return out;
}

StatusOr<std::vector<std::string>> CertificateAuthority::CheckRequest(SignRequest* request) const {
  if (request->principals.empty()) {
    return Field("principals",
                 "At least one principal: an empty list would be valid for every login.");
  }
  for (const std::string& p : request->principals) {
    if (Status s = auth::ValidatePrincipal(p); !s.ok()) return Field("principals", s.message());
  }
  // A principal named twice is one principal: the certificate lists it once.
  {
    std::vector<std::string> unique;
    for (std::string& p : request->principals) {
      if (std::find(unique.begin(), unique.end(), p) == unique.end()) unique.push_back(std::move(p));
    }
    request->principals = std::move(unique);
  }
  if (request->valid_for_s < kMinValidity || request->valid_for_s > max_validity_s_) {
    return Field("valid_for", "Must be from 60 to " + std::to_string(max_validity_s_) +
                                  " seconds (serve --ca-max-validity).");
  }
  std::vector<std::string> extensions(sshkey::kSshKeygenDefaultExtensions.begin(),
                                      sshkey::kSshKeygenDefaultExtensions.end());
  if (request->extensions) {
    for (const std::string& e : *request->extensions) {
      if (std::find(extensions.begin(), extensions.end(), e) == extensions.end()) {
        return Field("extensions", "Unknown extension '" + e + "': known are permit-X11-forwarding, "
                                   "permit-agent-forwarding, permit-port-forwarding, "
                                   "permit-pty, permit-user-rc.");
      }
    }
    extensions = *request->extensions;
  }
  if (request->force_command && request->force_command->empty()) {
    return Field("force_command", "Must not be empty (use null for none).");
  }
  if (request->force_command && request->force_command->find('\0') != std::string::npos) {
    return Field("force_command", "Must not contain a NUL byte.");
  }
  return extensions;
}

StatusOr<IssuedCertificate> CertificateAuthority::Sign(const auth::Principal& caller,
                                                       int64_t project_id, service::KeyRef ref,
                                                       SignRequest request) const {
  if (!caller.MayChange(project_id)) return auth::ChangeDenied(caller, project_id);
  // The request first: a bad one is 400 whatever the key.
  StatusOr<std::vector<std::string>> extensions = CheckRequest(&request);
  if (!extensions.ok()) return extensions.status();
  StatusOr<store::KeyRecord> key = keys_->Get(caller, project_id, ref);
  if (!key.ok()) return key.status();
  if (!caller.Administers(project_id) && key->user_id != caller.user_id) {
    return PermissionDenied("Only the owner of keypair " + std::string(ref.value) +
                            " or an administrator may have it certified.");
  }
  if (Status s = MayBeIssued(caller, project_id, request.principals); !s.ok()) return s;
  const int64_t now_us = now_();
  if (key->disabled || (key->expires_at_us && *key->expires_at_us <= now_us)) {
    return Field("key", key->disabled ? "The key is disabled: only a usable key can be certified."
                                      : "The key has expired: only a usable key can be certified.");
  }
  StatusOr<sshkey::PublicKey> parsed = sshkey::ParsePublicKey(key->public_key);
  if (!parsed.ok()) return Internal("a stored public key does not parse");
  const Subject subject{.blob = std::move(parsed->blob),
                        .fingerprint_sha256 = std::move(parsed->fingerprint_sha256),
                        .key_id = key->id,
                        .owner_id = key->user_id,
                        .name = key->name,
                        .comment = key->name};
  return Issue(caller, project_id, subject, request, std::move(*extensions), now_us);
}

StatusOr<IssuedCertificate> CertificateAuthority::SignPublicKey(const auth::Principal& caller,
                                                                int64_t project_id,
                                                                std::string_view public_key,
                                                                SignRequest request) const {
  if (!caller.MayChange(project_id)) return auth::ChangeDenied(caller, project_id);
  StatusOr<std::vector<std::string>> extensions = CheckRequest(&request);
  if (!extensions.ok()) return extensions.status();
  // The rules and messages of a key import: the same keys are certified either way.
  StatusOr<sshkey::PublicKey> parsed = sshkey::ParsePublicKey(public_key);
  if (!parsed.ok()) {
    return InvalidArgument("Invalid public key.")
        .WithField("public_key", parsed.status().message());
  }
  if (Status s = MayBeIssued(caller, project_id, request.principals); !s.ok()) return s;
  // Named by its fingerprint: it has no name, and its comment is whatever the client wrote.
  const Subject subject{.blob = std::move(parsed->blob),
                        .fingerprint_sha256 = parsed->fingerprint_sha256,
                        .key_id = "",  // not stored
                        .owner_id = caller.user_id,
                        .name = parsed->fingerprint_sha256,
                        .comment = std::move(parsed->comment)};
  return Issue(caller, project_id, subject, request, std::move(*extensions), now_());
}

StatusOr<IssuedCertificate> CertificateAuthority::Issue(const auth::Principal& caller,
                                                        int64_t project_id, const Subject& subject,
                                                        const SignRequest& request,
                                                        std::vector<std::string> extensions,
                                                        int64_t now_us) const {
  StatusOr<Ca> ca = CaOf(project_id, store::CaKind::kUser, &caller);
  if (!ca.ok()) return ca.status();
  StatusOr<int64_t> serial = store_->NextSerial(project_id, store::CaKind::kUser);
  if (!serial.ok()) return serial.status();
  const int64_t now_s = now_us / 1000000;
  IssuedCertificate issued;
  issued.serial = *serial;
  // What sshd logs: the stored key, or for a key not stored, whose certificate it is.
  issued.key_id = "keypaird:project=" + std::to_string(project_id) +
                  (subject.key_id.empty() ? ":user=" + std::to_string(subject.owner_id)
                                          : ":key=" + subject.key_id) +
                  ":serial=" + std::to_string(*serial);
  issued.fingerprint_sha256 = subject.fingerprint_sha256;
  issued.principals = request.principals;
  issued.valid_after_s = now_s - kBackdate;
  issued.valid_before_s = now_s + request.valid_for_s;

  sshkey::UserCertificateRequest cert;
  cert.key_blob = subject.blob;
  cert.serial = static_cast<uint64_t>(issued.serial);
  cert.key_id = issued.key_id;
  cert.principals = request.principals;
  cert.valid_after = static_cast<uint64_t>(issued.valid_after_s);
  cert.valid_before = static_cast<uint64_t>(issued.valid_before_s);
  cert.force_command = request.force_command;
  cert.source_address = request.source_address;
  cert.extensions = std::move(extensions);
  cert.comment = subject.comment;
  StatusOr<sshkey::Certificate> signed_cert = [&]() -> StatusOr<sshkey::Certificate> {
    StatusOr<sshkey::CaKey> ca_key = OpenKey(*ca);
    if (!ca_key.ok()) return ca_key.status();
    return sshkey::SignUserCertificate(*ca_key, cert);  // the key is wiped as it goes
  }();
  if (!signed_cert.ok()) {
    if (signed_cert.status().code() == StatusCode::kInvalidArgument) {
      return Field(request.source_address ? "source_address" : "principals",
                   signed_cert.status().message());
    }
    return signed_cert.status();
  }
  issued.certificate = signed_cert->line;

  store::CertificateRecord record;
  record.project_id = project_id;
  record.serial = issued.serial;
  record.key_id = subject.key_id;
  record.key_owner_id = subject.owner_id;
  record.key_sha256 = sshkey::KeySha256(subject.blob);
  record.principals = request.principals;
  record.valid_after_s = issued.valid_after_s;
  record.valid_before_s = issued.valid_before_s;
  record.issued_at_us = now_us;
  record.issued_by = caller.token_id;
  record.ca_generation = ca->record.generation;
  // Now, not the validity's now_us: a CA made by this request was made (and recorded)
  // since.
  store::EventRecord event = auth::NewEvent(caller, auth::kCertificateIssue, now_());
  event.project_id = project_id;
  event.resource_type = "certificate";
  event.resource_id = std::to_string(issued.serial);
  event.resource_name = subject.name;
  event.details = CertificateDetails(record);
  if (Status s = store_->RecordCertificate(record, event); !s.ok()) return s;
  LogLine line(LogLevel::kInfo, "certificate issued");
  line.Str("token_id", caller.token_id)
      .Int("user_id", caller.user_id)
      .Int("project_id", project_id);
  if (!subject.key_id.empty()) line.Str("key_id", subject.key_id);
  line.Str("fingerprint_sha256", subject.fingerprint_sha256)
      .Str("principals", Join(request.principals))
      .Int("serial", issued.serial)
      .Str("valid_after", FormatRfc3339(issued.valid_after_s * 1000000))
      .Str("valid_before", FormatRfc3339(issued.valid_before_s * 1000000));
  if (metrics_ != nullptr) metrics_->CountCertificate("issued");
  return issued;
}

Status CertificateAuthority::Revoke(const auth::Principal& caller, int64_t project_id,
                                    int64_t serial) const {
  if (!caller.MayChange(project_id)) return auth::ChangeDenied(caller, project_id);
  StatusOr<store::CertificateRecord> cert = store_->GetCertificate(project_id, serial);
  if (!cert.ok()) {
    return cert.status().code() == StatusCode::kNotFound
               ? NotFound("The certificate " + std::to_string(serial) + " does not exist")
               : cert.status();
  }
  if (!caller.Administers(project_id) && cert->key_owner_id != caller.user_id) {
    return PermissionDenied("Only the owner of the certified key or an administrator may revoke "
                            "certificate " + std::to_string(serial) + ".");
  }
  const int64_t now_us = now_();
  store::EventRecord event = auth::NewEvent(caller, auth::kCertificateRevoke, now_us);
  event.project_id = project_id;
  event.resource_type = "certificate";
  event.resource_id = std::to_string(serial);
  event.details = CertificateDetails(*cert);
  if (Status s = store_->RevokeCertificate(project_id, serial, now_us, event); !s.ok()) {
    return s;
  }
  LogLine(LogLevel::kInfo, "certificate revoked")
      .Str("token_id", caller.token_id)
      .Int("project_id", project_id)
      .Int("serial", serial);
  if (metrics_ != nullptr) metrics_->CountCertificate("revoked");
  return Status::Ok();
}

StatusOr<std::string> CertificateAuthority::Krl(const auth::Principal& caller,
                                                int64_t project_id) const {
  StatusOr<service::GeneratedText> text = KrlText(caller, project_id);
  if (!text.ok()) return text.status();
  return *text->body;
}

StatusOr<service::GeneratedLookup> CertificateAuthority::LookUpKrl(int64_t project_id,
                                                                   store::KeyReader& reads) const {
  StatusOr<store::ProjectGenerations> generations = reads.GenerationsOf(project_id);
  if (!generations.ok()) return generations.status();
  service::GeneratedLookup found =
      krls_->LookUp(std::to_string(project_id), generations->revocations, now_());
  if (found.kept.has_value() && metrics_ != nullptr) {
    metrics_->CountGeneratedCache(Metrics::GeneratedText::kKrl, true);
  }
  return found;
}

std::optional<service::GeneratedText> CertificateAuthority::KeptKrl(const auth::Principal& caller,
                                                                    int64_t project_id,
                                                                    store::KeyReader* reads) const {
  if (!caller.MayUseProject(project_id)) return std::nullopt;
  StatusOr<service::GeneratedLookup> found =
      LookUpKrl(project_id, reads != nullptr ? *reads : *store_);
  if (!found.ok()) return std::nullopt;
  return std::move(found->kept);
}

StatusOr<service::GeneratedText> CertificateAuthority::KrlText(const auth::Principal& caller,
                                                               int64_t project_id) const {
  if (!caller.MayUseProject(project_id)) return auth::ProjectDenied(project_id);
  // The generation is read before the KRL is built: what is built holds every change up
  // to it (service::GeneratedCache).
  StatusOr<service::GeneratedLookup> found = LookUpKrl(project_id, *store_);
  if (!found.ok()) return found.status();
  if (found->kept.has_value()) return *std::move(found->kept);
  if (metrics_ != nullptr) metrics_->CountGeneratedCache(Metrics::GeneratedText::kKrl, false);
  const int64_t now_us = now_();
  int64_t first_expiry_s = 0;
  StatusOr<std::string> bytes = BuildKrl(project_id, now_us / 1000000, &first_expiry_s);
  if (!bytes.ok()) return bytes.status();
  service::GeneratedText text = service::MakeGeneratedText(*std::move(bytes));
  // A serial leaves the list when the clock reaches its valid_before.
  krls_->Keep(std::to_string(project_id), *found->generation,
              first_expiry_s == 0 ? service::GeneratedCache::kForever : first_expiry_s * 1000000,
              text);
  return text;
}

StatusOr<std::string> CertificateAuthority::BuildKrl(int64_t project_id, int64_t now_s,
                                                     int64_t* first_expiry_s) const {
  // The body depends only on what is stored (never on the clock but through which
  // certificates are still valid), so that two requests, on any node, get the same bytes
  // and a client can revalidate by its ETag (docs/ssh-access.md "The KRL"). The version is
  // the sum of the listed serials: every serial added to the list adds at least 1, so a
  // revocation never makes it go backwards. The date is when a CA key named by the KRL
  // last changed (made, rotated out, deleted), or when the project's CA was made if the
  // KRL names none: the store keeps no time for a key's deletion or disabling, and an
  // event's time would go with the audit trail's pruning.
  sshkey::Krl krl;
  krl.comment = "keypaird project " + std::to_string(project_id);
  int64_t changed_at_us = 0;
  auto note_keys = [&changed_at_us](const std::vector<store::CaKeyRecord>& keys) {
    for (const store::CaKeyRecord& key : keys) {
      changed_at_us = std::max({changed_at_us, key.created_at_us, key.rotated_at_us,
                                key.deleted_at_us.value_or(0)});
    }
  };
  // A CA's keys are read only for a part of the list that is not empty: a serial revoked
  // means its CA exists. Each serial goes under the key that signed it (deleted and
  // retired keys too: servers that have not refreshed their CA keys yet may still trust them).
  StatusOr<store::Revocations> revoked = store_->RevocationsOf(project_id, now_s);
  if (!revoked.ok()) return revoked.status();
  *first_expiry_s = revoked->first_expiry_s;
  struct Part {
    store::CaKind kind;
    const std::vector<int64_t>* serials;
    const std::vector<int64_t>* generations;
  };
  for (const Part& part : {Part{store::CaKind::kUser, &revoked->serials, &revoked->serial_generations},
                           Part{store::CaKind::kHost, &revoked->host_serials,
                                &revoked->host_serial_generations}}) {
    if (part.serials->empty()) continue;
    if (part.generations->size() != part.serials->size()) {
      return Internal("the store's revocations do not say which CA key signed each serial");
    }
    StatusOr<std::vector<store::CaKeyRecord>> keys = store_->CaKeysOf(project_id, part.kind);
    if (!keys.ok()) return keys.status();
    note_keys(*keys);
    for (const int64_t serial : *part.serials) krl.krl_version += static_cast<uint64_t>(serial);
    for (const store::CaKeyRecord& key : *keys) {
      std::vector<uint64_t> serials;
      for (size_t i = 0; i < part.serials->size(); ++i) {
        if ((*part.generations)[i] == key.generation) serials.push_back((*part.serials)[i]);
      }
      if (serials.empty()) continue;
      StatusOr<sshkey::PublicKey> parsed = sshkey::ParsePublicKey(key.public_key);
      if (!parsed.ok()) return Internal("a stored CA public key does not parse");
      krl.certificates.push_back({parsed->blob, sshkey::SerialRangesOf(std::move(serials))});
    }
  }
  if (krl.certificates.empty()) {
    // Nothing listed: one more read, for the date (none for a project without a CA).
    StatusOr<std::vector<store::CaKeyRecord>> keys =
        store_->CaKeysOf(project_id, store::CaKind::kUser);
    if (!keys.ok()) return keys.status();
    note_keys(*keys);
  }
  krl.generated_date = static_cast<uint64_t>(changed_at_us / 1000000);
  return sshkey::EncodeKrl(krl);
}

}  // namespace keypaird::ca
