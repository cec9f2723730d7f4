#include "auth/audit.h"

#include <string>

#include "common/json_writer.h"
#include "common/rfc3339.h"
#include "common/uuid.h"

namespace keypaird::auth {

store::EventRecord NewCliEvent(std::string_view action, int64_t now_us) {
  store::EventRecord e;
  // Time-ordered: the events' id index grows at its end (docs/audit.md, the write cost).
  e.id = NewUuid7(now_us / 1000);
  e.time_us = now_us;
  e.action = std::string(action);
  e.via = "cli";
  return e;
}

store::EventRecord NewEvent(const Principal& caller, std::string_view action, int64_t now_us) {
  store::EventRecord e = NewCliEvent(action, now_us);
  e.via = !caller.host_id.empty() ? "host" : caller.session ? "session" : "token";
  e.actor_user_id = caller.user_id;
  e.actor_token_id = caller.token_id;
  e.source_ip = caller.source_ip;
  e.user_agent = caller.user_agent;
  return e;
}

void AboutToken(std::string_view id, const store::TokenRecord* token,
                store::EventRecord* event) {
  event->resource_type = "token";
  event->resource_id = std::string(id);
  if (token == nullptr) return;
  std::string details;
  JsonWriter w(&details);
  w.BeginObject().Key("user_id").Int(token->user_id).Key("admin").Bool(token->admin);
  w.Key("projects").BeginArray();
  for (int64_t p : token->projects) w.Int(p);
  w.EndArray().Key("read_only").Bool(token->read_only).Key("principals").BeginArray();
  for (const std::string& p : token->principals) w.String(p);
  w.EndArray().EndObject();
  event->details = std::move(details);
}

void AboutUser(int64_t id, store::EventRecord* event) {
  event->resource_type = "user";
  event->resource_id = std::to_string(id);
}

void AboutGrant(const store::GrantRecord& grant, store::EventRecord* event) {
  event->resource_type = "grant";
  event->resource_id = grant.id;
  // An event has one project: the grant's first, so that its administrators read it.
  if (!grant.projects.empty()) event->project_id = grant.projects.front();
  std::string details;
  JsonWriter w(&details);
  w.BeginObject();
  if (!grant.group.empty()) w.Key("group").String(grant.group);
  if (grant.user_id != 0) w.Key("user_id").Int(grant.user_id);
  if (!grant.user_email.empty()) w.Key("user_email").String(grant.user_email);
  w.Key("projects").BeginArray();
  for (int64_t p : grant.projects) w.Int(p);
  w.EndArray().Key("role").String(grant.role).Key("principals").BeginArray();
  for (const std::string& p : grant.principals) w.String(p);
  w.EndArray().EndObject();
  event->details = std::move(details);
}

void AboutJoinToken(const store::JoinTokenRecord& token, store::EventRecord* event) {
  event->project_id = token.project_id;
  event->resource_type = "host_join_token";
  event->resource_id = token.id;
  std::string details;
  JsonWriter w(&details);
  w.BeginObject().Key("hostnames").BeginArray();
  for (const std::string& h : token.hostnames) w.String(h);
  w.EndArray();
  w.Key("uses").Int(token.uses).Key("uses_left").Int(token.uses_left);
  w.Key("expires_at").String(FormatRfc3339(token.expires_at_us));
  w.EndObject();
  event->details = std::move(details);
}

void AboutHost(const store::HostRecord& host,
               const std::vector<store::HostCertificateRecord>& certificates,
               store::EventRecord* event) {
  event->project_id = host.project_id;
  event->resource_type = "host";
  event->resource_id = host.id;
  event->resource_name = host.hostnames.empty() ? "" : host.hostnames.front();
  std::string details;
  JsonWriter w(&details);
  w.BeginObject().Key("hostnames").BeginArray();
  for (const std::string& h : host.hostnames) w.String(h);
  w.EndArray();
  if (!certificates.empty()) {
    w.Key("serials").BeginArray();
    for (const store::HostCertificateRecord& c : certificates) w.Int(c.serial);
    w.EndArray();
    w.Key("valid_before").String(FormatRfc3339(certificates.front().valid_before_s * 1000000));
  }
  w.EndObject();
  event->details = std::move(details);
}

void AboutKey(const store::KeyRecord& key, store::EventRecord* event) {
  event->project_id = key.project_id;
  event->resource_type = "ssh_key";
  event->resource_id = key.id;
  event->resource_name = key.name;
}

}  // namespace keypaird::auth
