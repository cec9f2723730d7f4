#include "service/hosts.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

#include "auth/audit.h"
#include "common/base64.h"
#include "common/log.h"
#include "common/rfc3339.h"
#include "sshkey/sshkey.h"

namespace keypaird::service {
namespace {

constexpr size_t kMaxHostnames = 64;
constexpr size_t kMaxHostnameBytes = 253;
constexpr size_t kMaxLabelBytes = 63;

Status Invalid(const char* field, const std::string& message) {
  return InvalidArgument(std::string("Invalid value for ") + field + ": " + message)
      .WithField(field, message);
}

Status AdministerOnly(const auth::Principal& caller, int64_t project_id) {
  if (caller.Administers(project_id)) return Status::Ok();
  if (!caller.MayUseProject(project_id)) return auth::ProjectDenied(project_id);
  return PermissionDenied("Only an administrator of project " + std::to_string(project_id) +
                          " manages its hosts.");
}

bool ValidLabel(std::string_view label) {
  return !label.empty() && label.size() <= kMaxLabelBytes && label.front() != '-' &&
         label.back() != '-' && std::all_of(label.begin(), label.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-';
         });
}

constexpr char kJoinRefused[] =
    "The join token is not valid here: unknown, used up, expired, or another project's.";

std::string JoinWords(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : ",") + w;
  return out;
}

}  // namespace

StatusOr<std::vector<std::string>> Hosts::CheckHostnames(const std::vector<std::string>& names,
                                                         bool patterns) {
  if (names.empty() || names.size() > kMaxHostnames) {
    return Invalid("hostnames", "Must name 1 to 64 host names.");
  }
  std::vector<std::string> hostnames;
  for (const std::string& h : names) {
    std::string lowered;
    if (Status s = CheckHostnamePattern(h, &lowered); !s.ok()) {
      return Invalid("hostnames", s.message());
    }
    if (!patterns && lowered.starts_with("*.")) {
      return Invalid("hostnames", "A host names itself: '" + lowered +
                                      "' is a pattern, which only a join token may hold.");
    }
    if (std::find(hostnames.begin(), hostnames.end(), lowered) == hostnames.end()) {
      hostnames.push_back(std::move(lowered));
    }
  }
  return hostnames;
}

Status CheckHostnamePattern(std::string_view hostname, std::string* lowered) {
  std::string name(hostname);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  std::string_view rest = name;
  if (rest.starts_with("*.")) rest.remove_prefix(2);
  if (rest.empty() || name.size() > kMaxHostnameBytes) {
    return InvalidArgument("a host name is 1 to 253 bytes");
  }
  for (size_t start = 0;;) {
    const size_t dot = rest.find('.', start);
    if (!ValidLabel(rest.substr(start, dot - start))) {
      return InvalidArgument("'" + name +
                             "' is not a host name: labels of letters, digits and '-' (1 to "
                             "63 each, no '-' first or last), separated by dots, optionally "
                             "after '*.'");
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  *lowered = std::move(name);
  return Status::Ok();
}

bool HostnameMatches(std::string_view pattern, std::string_view hostname) {
  if (!pattern.starts_with("*.")) return pattern == hostname;
  const std::string_view rest = pattern.substr(1);  // ".rest"
  if (hostname.size() <= rest.size() || !hostname.ends_with(rest)) return false;
  const std::string_view label = hostname.substr(0, hostname.size() - rest.size());
  return label.find('.') == std::string_view::npos;  // exactly one more label
}

StatusOr<MadeJoinToken> Hosts::CreateJoinToken(const auth::Principal& caller, int64_t project_id,
                                               const JoinTokenRequest& request) const {
  if (Status s = AdministerOnly(caller, project_id); !s.ok()) return s;
  StatusOr<std::vector<std::string>> hostnames =
      CheckHostnames(request.hostnames, /*patterns=*/true);
  if (!hostnames.ok()) return hostnames.status();
  if (request.uses < 1 || request.uses > kMaxJoinTokenUses) {
    return Invalid("uses", "Must be an integer from 1 to 1000.");
  }
  if (request.expires_in_s < kMinJoinTokenTtlS || request.expires_in_s > kMaxJoinTokenTtlS) {
    return Invalid("expires_in", "Must be from 60 seconds to 30 days (2592000 seconds).");
  }
  StatusOr<auth::JoinSecret> secret = auth::NewJoinSecret();
  if (!secret.ok()) return secret.status();
  const int64_t now_us = now_();
  MadeJoinToken made;
  made.record.id = secret->id;
  made.record.project_id = project_id;
  made.record.secret_hash = secret->secret_hash;
  made.record.hostnames = std::move(*hostnames);
  made.record.uses = request.uses;
  made.record.uses_left = request.uses;
  made.record.expires_at_us = now_us + request.expires_in_s * 1'000'000;
  made.record.created_at_us = now_us;
  made.record.created_by = caller.token_id;
  store::EventRecord event = auth::NewEvent(caller, auth::kJoinTokenCreate, now_us);
  auth::AboutJoinToken(made.record, &event);
  if (Status s = store_->InsertJoinToken(made.record, event); !s.ok()) return s;
  made.token = std::move(secret->token);
  return made;
}

StatusOr<std::vector<store::JoinTokenRecord>> Hosts::ListJoinTokens(
    const auth::Principal& caller, int64_t project_id) const {
  if (Status s = AdministerOnly(caller, project_id); !s.ok()) return s;
  return store_->ListJoinTokens(project_id);
}

Status Hosts::DeleteJoinToken(const auth::Principal& caller, int64_t project_id,
                              std::string_view id) const {
  if (Status s = AdministerOnly(caller, project_id); !s.ok()) return s;
  StatusOr<store::JoinTokenRecord> token = store_->GetJoinToken(id);
  if (!token.ok() && token.status().code() != StatusCode::kNotFound) return token.status();
  if (!token.ok() || token->project_id != project_id) {
    return NotFound("No join token of this project has this id.");
  }
  store::EventRecord event = auth::NewEvent(caller, auth::kJoinTokenDelete, now_());
  auth::AboutJoinToken(*token, &event);
  Status s = store_->DeleteJoinToken(project_id, id, event);
  if (s.code() == StatusCode::kNotFound) {
    return NotFound("No join token of this project has this id.");
  }
  return s;
}

StatusOr<std::vector<std::string>> Hosts::CheckHostKeys(const std::vector<std::string>& keys,
                                                        std::vector<std::string>* blobs) {
  if (keys.empty() || keys.size() > kMaxHostKeys) {
    return Invalid("public_keys", "Must hold 1 to 16 public host keys.");
  }
  std::vector<std::string> lines;
  for (const std::string& key : keys) {
    StatusOr<sshkey::PublicKey> parsed = sshkey::ParsePublicKey(key);
    if (!parsed.ok()) return Invalid("public_keys", parsed.status().message());
    if (parsed->type.starts_with("sk-")) {
      return Invalid("public_keys", "A security key (" + parsed->type + ") is not a host key.");
    }
    if (std::find(blobs->begin(), blobs->end(), parsed->blob) != blobs->end()) continue;
    lines.push_back(parsed->type + " " + Base64Encode(parsed->blob));
    blobs->push_back(std::move(parsed->blob));
  }
  return lines;
}

StatusOr<HostAnswer> Hosts::Certify(const auth::Principal& actor, const store::HostRecord& host,
                                    const std::vector<std::string>& blobs, int64_t now_us) const {
  if (signer_ == nullptr) {
    return NotFound(
        "Hosts are not certified on this server: it has no SSH certificate authority "
        "(serve --ca-kek-file).");
  }
  HostAnswer answer;
  answer.host = host;
  StatusOr<std::vector<SignedHostCertificate>> certificates = signer_->SignHostKeys(
      actor, host.project_id, host.id, host.hostnames, blobs, now_us, cert_validity_s_);
  if (!certificates.ok()) return certificates.status();
  answer.certificates = std::move(*certificates);
  if (!answer.certificates.empty()) {
    answer.host.valid_before_s = answer.certificates.front().record.valid_before_s;
  }
  StatusOr<std::vector<std::string>> user_cas =
      signer_->TrustedCaKeys(actor, host.project_id, store::CaKind::kUser);
  if (!user_cas.ok()) return user_cas.status();
  answer.user_ca_public_keys = std::move(*user_cas);
  StatusOr<std::vector<std::string>> host_cas =
      signer_->TrustedCaKeys(actor, host.project_id, store::CaKind::kHost);
  if (!host_cas.ok()) return host_cas.status();
  answer.host_ca_public_keys = std::move(*host_cas);
  return answer;
}

namespace {

std::vector<store::HostCertificateRecord> RecordsOf(const HostAnswer& answer) {
  std::vector<store::HostCertificateRecord> records;
  for (const SignedHostCertificate& c : answer.certificates) records.push_back(c.record);
  return records;
}

}  // namespace

StatusOr<HostAnswer> Hosts::Enroll(std::string_view join_token, const EnrollRequest& request,
                                   const auth::Principal& from) const {
  std::string_view token_id;
  std::string_view secret;
  if (!auth::SplitJoinToken(join_token, &token_id, &secret)) return Unauthenticated(kJoinRefused);
  if (request.project_id < 1) return Invalid("project_id", "Must be a project id (1 or more).");
  StatusOr<std::vector<std::string>> hostnames =
      CheckHostnames(request.hostnames, /*patterns=*/false);
  if (!hostnames.ok()) return hostnames.status();
  std::vector<std::string> blobs;
  StatusOr<std::vector<std::string>> keys = CheckHostKeys(request.public_keys, &blobs);
  if (!keys.ok()) return keys.status();

  // The token is checked before anything is signed; its use is spent with the enrolment.
  const int64_t now_us = now_();
  StatusOr<store::JoinTokenRecord> token = store_->GetJoinToken(token_id);
  if (!token.ok() && token.status().code() != StatusCode::kNotFound) return token.status();
  if (!token.ok() || token->project_id != request.project_id ||
      !auth::SecretMatches(token->secret_hash, secret) || token->uses_left < 1 ||
      token->expires_at_us <= now_us) {
    return Unauthenticated(kJoinRefused);
  }
  for (const std::string& h : *hostnames) {
    if (std::none_of(token->hostnames.begin(), token->hostnames.end(),
                     [&](const std::string& p) { return HostnameMatches(p, h); })) {
      return PermissionDenied("The join token does not allow the host name '" + h +
                              "': it allows " + JoinWords(token->hostnames) + ".");
    }
  }
  StatusOr<auth::JoinSecret> host_secret = auth::NewHostSecret();
  if (!host_secret.ok()) return host_secret.status();
  store::HostRecord host;
  host.id = host_secret->id;
  host.project_id = request.project_id;
  host.token_hash = host_secret->secret_hash;
  host.hostnames = std::move(*hostnames);
  host.public_keys = std::move(*keys);
  host.enrolled_at_us = now_us;
  host.renewed_at_us = now_us;
  host.join_token_id = token->id;
  // The host acts (via "host"), with its join token: the audit trail names that token, and
  // where the request came from.
  auth::Principal actor;
  actor.token_id = token->id;
  actor.host_id = host.id;
  actor.projects = {request.project_id};
  actor.source_ip = from.source_ip;
  actor.user_agent = from.user_agent;
  StatusOr<HostAnswer> answer = Certify(actor, host, blobs, now_us);
  if (!answer.ok()) return answer.status();
  const std::vector<store::HostCertificateRecord> records = RecordsOf(*answer);
  store::EventRecord event = auth::NewEvent(actor, auth::kHostEnroll, now_());
  auth::AboutHost(answer->host, records, &event);
  Status stored =
      store_->EnrollHost(token->id, token->secret_hash, now_us, answer->host, records, event);
  if (stored.code() == StatusCode::kNotFound) return Unauthenticated(kJoinRefused);
  if (!stored.ok()) return stored;
  answer->host_token = std::move(host_secret->token);
  LogLine(LogLevel::kInfo, "host enrolled")
      .Str("host_id", answer->host.id)
      .Int("project_id", answer->host.project_id)
      .Str("join_token_id", token->id)
      .Str("hostnames", JoinWords(answer->host.hostnames))
      .Str("valid_before", FormatRfc3339(answer->host.valid_before_s * 1000000));
  return answer;
}

StatusOr<HostAnswer> Hosts::Renew(const auth::Principal& caller, std::string_view host_id,
                                  const std::vector<std::string>& public_keys) const {
  if (caller.host_id.empty() || caller.host_id != host_id) {
    return PermissionDenied("Only the host's own host token renews its certificates.");
  }
  StatusOr<store::HostRecord> host = store_->GetHost(host_id);
  if (!host.ok()) {
    return host.status().code() == StatusCode::kNotFound ? NotFound("The host was deleted.")
                                                         : host.status();
  }
  std::vector<std::string> blobs;
  StatusOr<std::vector<std::string>> keys =
      CheckHostKeys(public_keys.empty() ? host->public_keys : public_keys, &blobs);
  if (!keys.ok()) return keys.status();
  const int64_t now_us = now_();
  host->public_keys = std::move(*keys);
  host->renewed_at_us = now_us;
  StatusOr<HostAnswer> answer = Certify(caller, *host, blobs, now_us);
  if (!answer.ok()) return answer.status();
  const std::vector<store::HostCertificateRecord> records = RecordsOf(*answer);
  store::EventRecord event = auth::NewEvent(caller, auth::kHostRenew, now_());
  auth::AboutHost(answer->host, records, &event);
  Status stored = store_->RenewHost(answer->host, records, event);
  if (stored.code() == StatusCode::kNotFound) return NotFound("The host was deleted.");
  if (!stored.ok()) return stored;
  LogLine(LogLevel::kInfo, "host renewed")
      .Str("host_id", answer->host.id)
      .Int("project_id", answer->host.project_id)
      .Str("valid_before", FormatRfc3339(answer->host.valid_before_s * 1000000));
  return answer;
}

StatusOr<std::vector<store::HostRecord>> Hosts::ListHosts(const auth::Principal& caller,
                                                          int64_t project_id) const {
  if (Status s = AdministerOnly(caller, project_id); !s.ok()) return s;
  return store_->ListHosts(project_id);
}

Status Hosts::DeleteHost(const auth::Principal& caller, int64_t project_id,
                         std::string_view id) const {
  if (Status s = AdministerOnly(caller, project_id); !s.ok()) return s;
  const Status none = NotFound("No host of this project has this id.");
  StatusOr<store::HostRecord> host = store_->GetHost(id);
  if (!host.ok()) return host.status().code() == StatusCode::kNotFound ? none : host.status();
  if (host->project_id != project_id) return none;
  const int64_t now_us = now_();
  store::EventRecord event = auth::NewEvent(caller, auth::kHostDelete, now_us);
  auth::AboutHost(*host, {}, &event);
  Status s = store_->DeleteHost(project_id, id, now_us, event);
  if (s.code() == StatusCode::kNotFound) return none;
  if (s.ok()) {
    LogLine(LogLevel::kInfo, "host deleted")
        .Str("token_id", caller.token_id)
        .Str("host_id", host->id)
        .Int("project_id", project_id);
  }
  return s;
}

}  // namespace keypaird::service
