// The in-memory KeyStore fake: one mutex around a few maps. It mirrors the SQLite
// backend's observable behaviour exactly (orders, tie-breaks, substring matching,
// uniqueness), which store_contract_test.cc checks for both.

#include <algorithm>
#include <cstddef>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "common/strings.h"
#include "store/key_store.h"
#include "store/store_internal.h"

namespace keypaird::store {
namespace {

// Strict weak order matching the SQL ORDER BY clauses of the SQLite backend. std::string
// compares like memcmp (char_traits<char> compares as unsigned char), as does SQLite's
// BINARY collation.
bool KeyBefore(OrderBy order, const KeyRecord& a, const KeyRecord& b) {
  switch (order) {
    case OrderBy::kCreatedAtAsc:
      return std::tie(a.created_at_us, a.id) < std::tie(b.created_at_us, b.id);
    case OrderBy::kCreatedAtDesc:
      if (a.created_at_us != b.created_at_us) return a.created_at_us > b.created_at_us;
      return a.id < b.id;
    case OrderBy::kNameAsc:
      return std::tie(a.name, a.id) < std::tie(b.name, b.id);
    case OrderBy::kNameDesc:
      if (a.name != b.name) return a.name > b.name;
      return a.id < b.id;
  }
  return false;
}

// True if `key` comes after the cursor in `order` (the same comparison as KeyBefore).
bool AfterCursor(OrderBy order, const KeyRecord& key, const KeyCursor& c) {
  KeyRecord at;
  at.created_at_us = c.created_at_us;
  at.name = c.name;
  at.id = c.id;
  return KeyBefore(order, at, key);
}

bool LabelsMatch(const std::vector<LabelTerm>& terms, const KeyRecord& key) {
  for (const LabelTerm& t : terms) {
    auto it = key.labels.find(t.key);
    const bool has = it != key.labels.end();
    switch (t.op) {
      case LabelTerm::Op::kEquals:
        if (!has || it->second != t.value) return false;
        break;
      case LabelTerm::Op::kNotEquals:
        if (has && it->second == t.value) return false;
        break;
      case LabelTerm::Op::kExists:
        if (!has) return false;
        break;
      case LabelTerm::Op::kNotExists:
        if (has) return false;
        break;
    }
  }
  return true;
}

bool Matches(const ListQuery& q, const KeyRecord& key) {
  if (q.project_id && key.project_id != *q.project_id) return false;
  if (!q.project_id && !q.project_ids.empty() &&
      std::find(q.project_ids.begin(), q.project_ids.end(), key.project_id) ==
          q.project_ids.end()) {
    return false;
  }
  if (q.owner_id && key.user_id != *q.owner_id) return false;
  if (q.visible_to_user && !key.shared_in_project && key.user_id != *q.visible_to_user) {
    return false;
  }
  // Case-insensitive for ASCII only, like SQLite's LIKE.
  if (!ContainsIgnoreAsciiCase(key.name, q.name_contains)) return false;
  if (!q.fingerprint.empty() && key.fingerprint != q.fingerprint) return false;
  if (!q.fingerprint_sha256.empty() && key.fingerprint_sha256 != q.fingerprint_sha256) {
    return false;
  }
  if (!q.type.empty() && key.type != q.type) return false;
  if (!LabelsMatch(q.labels, key)) return false;
  if (q.usable) {
    const bool usable =
        !key.disabled && (!key.expires_at_us.has_value() || *key.expires_at_us > q.now_us);
    if (usable != *q.usable) return false;
  }
  return true;
}

// The SQL backends' event order: (time, id), descending unless `ascending`.
bool EventBefore(bool ascending, const EventRecord& a, const EventRecord& b) {
  return ascending ? std::tie(a.time_us, a.id) < std::tie(b.time_us, b.id)
                   : std::tie(a.time_us, a.id) > std::tie(b.time_us, b.id);
}

template <typename T>
bool AnyOf(const std::vector<T>& wanted, const T& value) {
  return wanted.empty() || std::find(wanted.begin(), wanted.end(), value) != wanted.end();
}

bool EventMatches(const EventQuery& q, const EventRecord& e) {
  if (q.project_ids && std::find(q.project_ids->begin(), q.project_ids->end(), e.project_id) ==
                           q.project_ids->end()) {
    return false;
  }
  if (q.actor_user_id && e.actor_user_id != *q.actor_user_id) return false;
  if (!AnyOf(q.actions, e.action) || !AnyOf(q.resource_ids, e.resource_id) ||
      !AnyOf(q.resource_types, e.resource_type) || !AnyOf(q.source_ips, e.source_ip) ||
      !AnyOf(q.user_agents, e.user_agent)) {
    return false;
  }
  if (!q.resource_name.empty() && e.resource_name != q.resource_name) return false;
  if (q.since_us && e.time_us < *q.since_us) return false;
  if (q.until_us && e.time_us >= *q.until_us) return false;
  if (q.after) {
    EventRecord at;
    at.time_us = q.after->time_us;
    at.id = q.after->id;
    if (!EventBefore(q.ascending, at, e)) return false;
  }
  return true;
}

class MemoryStore final : public KeyStore {
 public:
  Status InsertKey(const KeyRecord& key, const EventRecord& event) override {
    std::lock_guard lock(mu_);
    if (keys_.contains(key.id)) return AlreadyExists(std::string(kKeyIdTaken));
    auto [it, inserted] = names_.try_emplace(NameKey(key.project_id, key.name), key.id);
    if (!inserted) return AlreadyExists(std::string(kKeyNameTaken));
    keys_.emplace(key.id, key);
    Record(event);
    return Status::Ok();
  }

  StatusOr<KeyRecord> GetKey(std::string_view id) override {
    std::lock_guard lock(mu_);
    auto it = keys_.find(id);
    if (it == keys_.end()) return NotFound(std::string(kKeyNotFound));
    return it->second;
  }

  StatusOr<KeyRecord> GetKeyByName(int64_t project_id, std::string_view name) override {
    std::lock_guard lock(mu_);
    auto it = names_.find(NameKey(project_id, std::string(name)));
    if (it == names_.end()) return NotFound(std::string(kKeyNotFound));
    return keys_.at(it->second);
  }

  StatusOr<KeyPage> ListKeys(const ListQuery& query) override {
    if (Status s = ValidateListQuery(query); !s.ok()) return s;
    std::vector<KeyRecord> matches;
    {
      std::lock_guard lock(mu_);
      for (const auto& [id, key] : keys_) {
        if (!Matches(query, key)) continue;
        if (query.owner_enabled) {
          auto owner = users_.find(key.user_id);
          if (owner != users_.end() && owner->second.disabled) continue;
        }
        if (query.after && !AfterCursor(query.order, key, *query.after)) continue;
        matches.push_back(key);
      }
    }
    std::sort(matches.begin(), matches.end(), [order = query.order](const auto& a, const auto& b) {
      return KeyBefore(order, a, b);
    });
    KeyPage page;
    page.total = query.with_total ? static_cast<int64_t>(matches.size()) : 0;
    const size_t begin = std::min(static_cast<size_t>(query.offset), matches.size());
    size_t end = matches.size();
    if (query.limit >= 0) end = std::min(end, begin + static_cast<size_t>(query.limit));
    page.keys.assign(std::make_move_iterator(matches.begin() + static_cast<ptrdiff_t>(begin)),
                     std::make_move_iterator(matches.begin() + static_cast<ptrdiff_t>(end)));
    return page;
  }

  Status DeleteKey(std::string_view id, std::optional<int64_t> expected_revision,
                   const EventRecord& event) override {
    std::lock_guard lock(mu_);
    auto it = keys_.find(id);
    if (it == keys_.end()) return NotFound(std::string(kKeyNotFound));
    if (expected_revision && it->second.revision != *expected_revision) {
      return FailedPrecondition(std::string(kKeyChanged));
    }
    names_.erase(NameKey(it->second.project_id, it->second.name));
    keys_.erase(it);
    Record(event);
    return Status::Ok();
  }

  StatusOr<KeyRecord> UpdateKey(std::string_view id, const KeyUpdate& update,
                                std::optional<int64_t> expected_revision,
                                const EventRecord& event) override {
    std::lock_guard lock(mu_);
    auto it = keys_.find(id);
    if (it == keys_.end()) return NotFound(std::string(kKeyNotFound));
    KeyRecord& key = it->second;
    if (expected_revision && key.revision != *expected_revision) {
      return FailedPrecondition(std::string(kKeyChanged));
    }
    if (update.name && *update.name != key.name) {
      auto [slot, inserted] = names_.try_emplace(NameKey(key.project_id, *update.name), key.id);
      if (!inserted) return AlreadyExists(std::string(kKeyNameTaken));
      names_.erase(NameKey(key.project_id, key.name));
    }
    ApplyUpdate(update, &key);
    key.updated_at_us = update.updated_at_us;
    ++key.revision;
    Record(event);
    return key;
  }

  Status InsertToken(const TokenRecord& token, const EventRecord& event) override {
    std::lock_guard lock(mu_);
    if (!tokens_.try_emplace(token.id, token).second) {
      return AlreadyExists(std::string(kTokenIdTaken));
    }
    if (token.user_id >= 1) MakeTokenUser(token.user_id, token.created_at_us);
    Record(event);
    return Status::Ok();
  }

  StatusOr<TokenRecord> GetToken(std::string_view id) override {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(id);
    if (it == tokens_.end()) return NotFound(std::string(kTokenNotFound));
    return WithUserState(it->second);
  }

  StatusOr<std::vector<TokenRecord>> ListTokens() override {
    StatusOr<std::vector<TokenRecord>> tokens = ByCreation(tokens_);
    std::lock_guard lock(mu_);
    if (tokens.ok()) {
      for (TokenRecord& t : *tokens) t = WithUserState(std::move(t));
    }
    return tokens;
  }

  Status RevokeToken(std::string_view id, int64_t at_us, const EventRecord& event) override {
    std::lock_guard lock(mu_);
    auto it = tokens_.find(id);
    if (it == tokens_.end()) return NotFound(std::string(kTokenNotFound));
    if (!it->second.revoked_at_us) {
      it->second.revoked_at_us = at_us;
      Record(event);
      ++auth_generation_;
    }
    for (auto& [child_id, child] : tokens_) {  // a session's access tokens go with it
      if (child.parent_id == id && !child.revoked_at_us) {
        child.revoked_at_us = at_us;
        ++auth_generation_;
      }
    }
    return Status::Ok();
  }

  Status StartLogin(const LoginRecord& login) override {
    std::lock_guard lock(mu_);
    std::erase_if(logins_, [&](const auto& l) { return l.second.expires_at_us < login.created_at_us; });
    if (!logins_.try_emplace(login.state_hash, login).second) {
      return AlreadyExists(std::string(kLoginTaken));
    }
    return Status::Ok();
  }

  StatusOr<LoginRecord> FinishLogin(std::string_view state_hash, int64_t now_us) override {
    std::lock_guard lock(mu_);
    auto it = logins_.find(state_hash);
    if (it == logins_.end()) return NotFound(std::string(kLoginNotFound));
    LoginRecord login = std::move(it->second);
    logins_.erase(it);
    if (login.expires_at_us < now_us) return NotFound(std::string(kLoginNotFound));
    return login;
  }

  Status StartDevice(const DeviceRecord& device) override {
    std::lock_guard lock(mu_);
    std::erase_if(devices_,
                  [&](const auto& d) { return d.second.expires_at_us < device.created_at_us; });
    for (const auto& [hash, d] : devices_) {
      if (hash == device.code_hash || d.user_code == device.user_code) {
        return AlreadyExists(std::string(kDeviceTaken));
      }
    }
    devices_.emplace(device.code_hash, device);
    return Status::Ok();
  }

  Status DecideDevice(std::string_view user_code, bool approved, int64_t user_id,
                      std::string_view session_id, int64_t now_us) override {
    std::lock_guard lock(mu_);
    for (auto& [hash, d] : devices_) {
      if (d.user_code == user_code && d.state == "pending" && d.expires_at_us > now_us) {
        d.state = approved ? "approved" : "denied";
        d.user_id = user_id;
        d.session_id = std::string(session_id);
        return Status::Ok();
      }
    }
    return NotFound(std::string(kDeviceNotFound));
  }

  StatusOr<DeviceRecord> PollDevice(std::string_view code_hash, int64_t now_us) override {
    std::lock_guard lock(mu_);
    auto it = devices_.find(code_hash);
    if (it == devices_.end()) return NotFound(std::string(kDeviceNotFound));
    DeviceRecord before = it->second;
    if (before.state != "pending") {
      devices_.erase(it);
    } else {
      it->second.last_poll_us = now_us;
    }
    return before;
  }

  Status RecordEvent(const EventRecord& event) override {
    if (event.action.empty()) return InvalidArgument(std::string(kNoEventAction));
    std::lock_guard lock(mu_);
    Record(event);
    return Status::Ok();
  }

  StatusOr<CaRecord> GetOrCreateCa(const CaRecord& candidate, const EventRecord& event) override {
    std::lock_guard lock(mu_);
    auto [it, inserted] =
        cas_.try_emplace({candidate.project_id, candidate.kind}, candidate, 1);
    if (inserted) Record(event);
    return it->second.first;
  }

  StatusOr<CaRecord> GetCa(int64_t project_id, CaKind kind) override {
    std::lock_guard lock(mu_);
    auto it = cas_.find({project_id, kind});
    if (it == cas_.end()) return NotFound("no CA for the project");
    return it->second.first;
  }

  StatusOr<int64_t> NextSerial(int64_t project_id, CaKind kind) override {
    std::lock_guard lock(mu_);
    auto it = cas_.find({project_id, kind});
    if (it == cas_.end()) return NotFound("no CA for the project");
    return it->second.second++;
  }

  StatusOr<CaRecord> RotateCa(const CaRecord& next, const EventRecord& event) override {
    std::lock_guard lock(mu_);
    auto it = cas_.find({next.project_id, next.kind});
    if (it == cas_.end()) return NotFound("no CA for the project");
    CaRecord& ca = it->second.first;
    old_ca_keys_[{ca.project_id, ca.kind}].push_back(
        CaKeyRecord{.project_id = ca.project_id,
                    .kind = ca.kind,
                    .generation = ca.generation,
                    .public_key = ca.public_key,
                    .created_at_us = ca.created_at_us,
                    .rotated_at_us = next.created_at_us,
                    .signed_until_s = 0,
                    .deleted_at_us = std::nullopt});
    ca.public_key = next.public_key;
    ca.sealed_seed = next.sealed_seed;
    ca.created_at_us = next.created_at_us;
    ++ca.generation;
    Record(event);
    return ca;
  }

  StatusOr<std::vector<CaKeyRecord>> CaKeysOf(int64_t project_id, CaKind kind) override {
    std::lock_guard lock(mu_);
    std::vector<CaKeyRecord> out;
    auto it = cas_.find({project_id, kind});
    if (it == cas_.end()) return out;
    const CaRecord& ca = it->second.first;
    out.push_back(CaKeyRecord{.project_id = project_id,
                              .kind = kind,
                              .generation = ca.generation,
                              .public_key = ca.public_key,
                              .created_at_us = ca.created_at_us,
                              .rotated_at_us = 0,
                              .signed_until_s = 0,
                              .deleted_at_us = std::nullopt});
    const std::vector<CaKeyRecord>& old = old_ca_keys_[{project_id, kind}];
    for (auto k = old.rbegin(); k != old.rend(); ++k) {
      CaKeyRecord key = *k;
      const auto signed_until = [&](const auto& certificates) {
        for (const auto& [at, c] : certificates) {
          if (c.project_id == project_id && c.ca_generation == key.generation) {
            key.signed_until_s = std::max(key.signed_until_s, c.valid_before_s);
          }
        }
      };
      if (kind == CaKind::kHost) {
        signed_until(host_certificates_);
      } else {
        signed_until(certificates_);
      }
      out.push_back(std::move(key));
    }
    return out;
  }

  Status DeleteCaKey(int64_t project_id, CaKind kind, int64_t generation, int64_t at_us,
                     const EventRecord& event) override {
    std::lock_guard lock(mu_);
    auto ca = cas_.find({project_id, kind});
    if (ca != cas_.end() && ca->second.first.generation == generation) {
      return FailedPrecondition("the CA's signing key");
    }
    std::vector<CaKeyRecord>& old = old_ca_keys_[{project_id, kind}];
    auto key = std::find_if(old.begin(), old.end(), [&](const CaKeyRecord& k) {
      return k.generation == generation && !k.deleted_at_us;
    });
    if (key == old.end()) return NotFound("no such CA key");
    key->deleted_at_us = at_us;
    const auto revoke = [&](auto& certificates) {
      for (auto& [at, c] : certificates) {
        if (c.project_id == project_id && c.ca_generation == generation && !c.revoked_at_us) {
          c.revoked_at_us = at_us;
        }
      }
    };
    if (kind == CaKind::kHost) {
      revoke(host_certificates_);
    } else {
      revoke(certificates_);
    }
    Record(event);
    return Status::Ok();
  }

  Status RecordCertificate(const CertificateRecord& c, const EventRecord& event) override {
    std::lock_guard lock(mu_);
    if (!certificates_.try_emplace({c.project_id, c.serial}, c).second) {
      return AlreadyExists("the serial is recorded already");
    }
    Record(event);
    return Status::Ok();
  }

  StatusOr<CertificateRecord> GetCertificate(int64_t project_id, int64_t serial) override {
    std::lock_guard lock(mu_);
    auto it = certificates_.find({project_id, serial});
    if (it == certificates_.end()) return NotFound("no such certificate");
    return it->second;
  }

  Status RevokeCertificate(int64_t project_id, int64_t serial, int64_t at_us,
                           const EventRecord& event) override {
    std::lock_guard lock(mu_);
    auto it = certificates_.find({project_id, serial});
    if (it == certificates_.end()) return NotFound("no such certificate");
    if (!it->second.revoked_at_us) {
      it->second.revoked_at_us = at_us;
      Record(event);
    }
    return Status::Ok();
  }

  StatusOr<Revocations> RevocationsOf(int64_t project_id, int64_t now_s) override {
    std::lock_guard lock(mu_);
    Revocations out;
    for (const auto& [at, c] : certificates_) {  // ordered by (project, serial)
      if (c.project_id != project_id || c.valid_before_s <= now_s) continue;
      bool retired = false;  // its stored key deleted or disabled, or its owner disabled
      if (!c.key_id.empty()) {
        auto key = keys_.find(c.key_id);
        retired = key == keys_.end() || key->second.disabled;
      }
      auto owner = users_.find(c.key_owner_id);
      retired = retired || (owner != users_.end() && owner->second.disabled);
      if (c.revoked_at_us || retired) {
        out.serials.push_back(c.serial);
        out.serial_generations.push_back(c.ca_generation);
        NoteExpiry(&out, c.valid_before_s);
      }
    }
    for (const auto& [at, c] : host_certificates_) {
      if (c.project_id == project_id && c.valid_before_s > now_s && c.revoked_at_us) {
        out.host_serials.push_back(c.serial);
        out.host_serial_generations.push_back(c.ca_generation);
        NoteExpiry(&out, c.valid_before_s);
      }
    }
    return out;
  }

  StatusOr<EventPage> ListEvents(const EventQuery& query) override {
    if (Status s = ValidateEventQuery(query); !s.ok()) return s;
    std::vector<EventRecord> matches;
    {
      std::lock_guard lock(mu_);
      for (const EventRecord& e : events_) {
        if (EventMatches(query, e)) matches.push_back(e);
      }
    }
    std::sort(matches.begin(), matches.end(), [&](const EventRecord& a, const EventRecord& b) {
      return EventBefore(query.ascending, a, b);
    });
    EventPage page;
    if (query.with_total) page.total = static_cast<int64_t>(matches.size());
    const size_t begin = std::min(static_cast<size_t>(query.offset), matches.size());
    const size_t end = std::min(matches.size(), begin + static_cast<size_t>(query.limit));
    page.events.assign(matches.begin() + static_cast<ptrdiff_t>(begin),
                       matches.begin() + static_cast<ptrdiff_t>(end));
    return page;
  }

  StatusOr<int64_t> PruneEvents(int64_t before_us, int64_t max_rows) override {
    if (max_rows < 1) return InvalidArgument("max_rows must be at least 1");
    std::lock_guard lock(mu_);
    std::vector<EventRecord> old;
    std::vector<EventRecord> kept;
    for (EventRecord& e : events_) (e.time_us < before_us ? old : kept).push_back(std::move(e));
    std::sort(old.begin(), old.end(),
              [](const EventRecord& a, const EventRecord& b) { return EventBefore(true, a, b); });
    const auto pruned = std::min<int64_t>(max_rows, static_cast<int64_t>(old.size()));
    kept.insert(kept.end(), std::make_move_iterator(old.begin() + pruned),
                std::make_move_iterator(old.end()));
    events_ = std::move(kept);
    return pruned;
  }

  StatusOr<UserRecord> SignIn(const UserRecord& claims, int64_t now_us,
                              const EventRecord& event) override {
    if (Status s = ValidateClaims(claims); !s.ok()) return s;
    std::lock_guard lock(mu_);
    auto [at, made] = identities_.try_emplace({claims.issuer, claims.subject}, 0);
    if (made) {
      // The next id after every user's, token users' included.
      at->second = users_.empty() ? 1 : users_.rbegin()->first + 1;
      UserRecord user;
      user.id = at->second;
      user.issuer = claims.issuer;
      user.subject = claims.subject;
      user.created_at_us = now_us;
      users_.emplace(user.id, std::move(user));
      ++auth_generation_;
    }
    UserRecord& user = users_.at(at->second);
    if (user.disabled) return user;
    user.email = claims.email;
    user.name = claims.name;
    user.groups = KeptGroups(claims.groups);
    user.last_sign_in_at_us = now_us;
    Record(SignInEvent(event, user.id, made));
    return user;
  }

  Status EnsureUser(int64_t id, int64_t now_us, const EventRecord& event) override {
    if (Status s = ValidateUserId(id); !s.ok()) return s;
    std::lock_guard lock(mu_);
    if (MakeTokenUser(id, now_us)) Record(event);
    return Status::Ok();
  }

  StatusOr<UserRecord> GetUser(int64_t id) override {
    std::lock_guard lock(mu_);
    auto it = users_.find(id);
    if (it == users_.end()) return NotFound(std::string(kUserNotFound));
    return it->second;
  }

  StatusOr<std::vector<UserRecord>> ListUsers() override {
    std::lock_guard lock(mu_);
    std::vector<UserRecord> users;
    for (const auto& [id, user] : users_) users.push_back(user);  // ordered by id
    return users;
  }

  Status SetUserDisabled(int64_t id, bool disabled, int64_t /*now_us*/,
                         const EventRecord& event) override {
    std::lock_guard lock(mu_);
    auto it = users_.find(id);
    if (it == users_.end()) return NotFound(std::string(kUserNotFound));
    if (it->second.disabled != disabled) {
      it->second.disabled = disabled;
      Record(event);
      ++auth_generation_;
    }
    return Status::Ok();
  }

  Status InsertGrant(const GrantRecord& grant, const EventRecord& event) override {
    if (Status s = ValidateGrant(grant); !s.ok()) return s;
    std::lock_guard lock(mu_);
    if (grant.user_id != 0 && !users_.contains(grant.user_id)) {
      return NotFound(std::string(kUserNotFound));
    }
    if (!grants_.try_emplace(grant.id, grant).second) {
      return AlreadyExists(std::string(kGrantIdTaken));
    }
    Record(event);
    return Status::Ok();
  }

  StatusOr<std::vector<GrantRecord>> ListGrants() override { return ByCreation(grants_); }

  Status DeleteGrant(std::string_view id, const EventRecord& event) override {
    std::lock_guard lock(mu_);
    auto it = grants_.find(id);
    if (it == grants_.end()) return NotFound(std::string(kGrantNotFound));
    grants_.erase(it);
    Record(event);
    return Status::Ok();
  }

  Status InsertJoinToken(const JoinTokenRecord& token, const EventRecord& event) override {
    if (Status s = ValidateJoinToken(token); !s.ok()) return s;
    std::lock_guard lock(mu_);
    if (!join_tokens_.try_emplace(token.id, token).second) {
      return AlreadyExists(std::string(kJoinTokenIdTaken));
    }
    Record(event);
    return Status::Ok();
  }

  StatusOr<std::vector<JoinTokenRecord>> ListJoinTokens(int64_t project_id) override {
    std::vector<JoinTokenRecord> all = ByCreation(join_tokens_);
    std::erase_if(all, [&](const JoinTokenRecord& t) { return t.project_id != project_id; });
    return all;
  }

  StatusOr<JoinTokenRecord> GetJoinToken(std::string_view id) override {
    std::lock_guard lock(mu_);
    auto it = join_tokens_.find(id);
    if (it == join_tokens_.end()) return NotFound(std::string(kJoinTokenNotFound));
    return it->second;
  }

  Status DeleteJoinToken(int64_t project_id, std::string_view id,
                         const EventRecord& event) override {
    std::lock_guard lock(mu_);
    auto it = join_tokens_.find(id);
    if (it == join_tokens_.end() || it->second.project_id != project_id) {
      return NotFound(std::string(kJoinTokenNotFound));
    }
    join_tokens_.erase(it);
    Record(event);
    return Status::Ok();
  }

  Status EnrollHost(std::string_view join_token_id, std::string_view join_secret_hash,
                    int64_t now_us, const HostRecord& host,
                    const std::vector<HostCertificateRecord>& certificates,
                    const EventRecord& event) override {
    if (Status s = ValidateHost(host); !s.ok()) return s;
    std::lock_guard lock(mu_);
    auto it = join_tokens_.find(join_token_id);
    if (it == join_tokens_.end() || it->second.secret_hash != join_secret_hash ||
        it->second.uses_left < 1 || it->second.expires_at_us <= now_us ||
        it->second.project_id != host.project_id) {
      return NotFound(std::string(kJoinTokenNotUsable));
    }
    if (hosts_.contains(host.id)) return AlreadyExists(std::string(kHostIdTaken));
    for (const HostCertificateRecord& c : certificates) {
      if (host_certificates_.contains({c.project_id, c.serial})) {
        return AlreadyExists("the serial is recorded already");
      }
    }
    --it->second.uses_left;
    hosts_.emplace(host.id, host);
    for (const HostCertificateRecord& c : certificates) {
      host_certificates_.emplace(std::make_pair(c.project_id, c.serial), c);
    }
    Record(event);
    return Status::Ok();
  }

  StatusOr<HostRecord> GetHost(std::string_view id) override {
    std::lock_guard lock(mu_);
    auto it = hosts_.find(id);
    if (it == hosts_.end()) return NotFound(std::string(kHostNotFound));
    return it->second;
  }

  StatusOr<std::vector<HostRecord>> ListHosts(int64_t project_id) override {
    std::vector<HostRecord> all;
    {
      std::lock_guard lock(mu_);
      for (const auto& [id, h] : hosts_) {
        if (h.project_id == project_id) all.push_back(h);
      }
    }
    std::sort(all.begin(), all.end(), [](const HostRecord& a, const HostRecord& b) {
      return std::tie(a.enrolled_at_us, a.id) < std::tie(b.enrolled_at_us, b.id);
    });
    return all;
  }

  Status RenewHost(const HostRecord& host, const std::vector<HostCertificateRecord>& certificates,
                   const EventRecord& event) override {
    if (Status s = ValidateHost(host); !s.ok()) return s;
    std::lock_guard lock(mu_);
    auto it = hosts_.find(host.id);
    if (it == hosts_.end()) return NotFound(std::string(kHostNotFound));
    for (const HostCertificateRecord& c : certificates) {
      if (host_certificates_.contains({c.project_id, c.serial})) {
        return AlreadyExists("the serial is recorded already");
      }
    }
    it->second.public_keys = host.public_keys;
    it->second.renewed_at_us = host.renewed_at_us;
    it->second.valid_before_s = host.valid_before_s;
    for (const HostCertificateRecord& c : certificates) {
      host_certificates_.emplace(std::make_pair(c.project_id, c.serial), c);
    }
    Record(event);
    return Status::Ok();
  }

  Status DeleteHost(int64_t project_id, std::string_view id, int64_t at_us,
                    const EventRecord& event) override {
    std::lock_guard lock(mu_);
    auto it = hosts_.find(id);
    if (it == hosts_.end() || it->second.project_id != project_id) {
      return NotFound(std::string(kHostNotFound));
    }
    for (auto& [at, c] : host_certificates_) {
      if (c.host_id == id && !c.revoked_at_us) c.revoked_at_us = at_us;
    }
    hosts_.erase(it);
    Record(event);
    return Status::Ok();
  }

  Status Ping() override { return Status::Ok(); }

  StatusOr<int64_t> AuthGeneration() override {
    std::lock_guard lock(mu_);
    return auth_generation_;
  }

  StatusOr<ProjectGenerations> GenerationsOf(int64_t /*project_id*/) override {
    std::lock_guard lock(mu_);
    return ProjectGenerations{.revocations = writes_, .keys = writes_};
  }

 private:
  // The records of `by_id` ordered by (created_at, id), as the SQL backends list them.
  template <typename T>
  std::vector<T> ByCreation(const std::map<std::string, T, std::less<>>& by_id) {
    std::vector<T> records;
    {
      std::lock_guard lock(mu_);
      for (const auto& [id, record] : by_id) records.push_back(record);
    }
    std::sort(records.begin(), records.end(), [](const T& a, const T& b) {
      return std::tie(a.created_at_us, a.id) < std::tie(b.created_at_us, b.id);
    });
    return records;
  }

  // `token` with user_disabled read from its user, as the SQL stores read it. Needs mu_.
  TokenRecord WithUserState(TokenRecord token) const {
    auto user = users_.find(token.user_id);
    token.user_disabled = user != users_.end() && user->second.disabled;
    return token;
  }

  // A token user `id`, unless the id is a user's; true if made. Needs mu_.
  bool MakeTokenUser(int64_t id, int64_t now_us) {
    UserRecord user;
    user.id = id;
    user.created_at_us = now_us;
    if (!users_.try_emplace(id, std::move(user)).second) return false;
    ++auth_generation_;
    return true;
  }

  // Every write records its event (or an empty one): ProjectGenerations moves with it.
  void Record(const EventRecord& event) {
    ++writes_;
    if (!event.action.empty()) events_.push_back(event);
  }

  using NameKey = std::pair<int64_t, std::string>;

  std::mutex mu_;
  int64_t auth_generation_ = 0;                         // as the SQL stores' migration 14
  int64_t writes_ = 0;  // both ProjectGenerations of every project (coarser than migration 15)
  std::map<std::string, KeyRecord, std::less<>> keys_;  // by id
  std::map<NameKey, std::string> names_;                // (project_id, name) -> id
  std::map<std::string, TokenRecord, std::less<>> tokens_;
  // (project, kind) -> (CA, next serial)
  std::map<std::pair<int64_t, CaKind>, std::pair<CaRecord, int64_t>> cas_;
  // (project, kind) -> its keys rotated out, oldest first
  std::map<std::pair<int64_t, CaKind>, std::vector<CaKeyRecord>> old_ca_keys_;
  std::map<std::pair<int64_t, int64_t>, CertificateRecord> certificates_;  // (project, serial)
  std::map<std::string, HostRecord, std::less<>> hosts_;
  std::map<std::pair<int64_t, int64_t>, HostCertificateRecord> host_certificates_;
  std::vector<EventRecord> events_;
  std::map<int64_t, UserRecord> users_;                                // by id
  std::map<std::pair<std::string, std::string>, int64_t> identities_;  // (issuer, subject) -> id
  std::map<std::string, GrantRecord, std::less<>> grants_;
  std::map<std::string, JoinTokenRecord, std::less<>> join_tokens_;
  std::map<std::string, LoginRecord, std::less<>> logins_;
  std::map<std::string, DeviceRecord, std::less<>> devices_;
};

}  // namespace

std::unique_ptr<KeyStore> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace keypaird::store
