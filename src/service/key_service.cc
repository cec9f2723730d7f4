#include "service/key_service.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "common/strings.h"
#include "common/uuid.h"
#include "common/json_writer.h"
#include "common/rfc3339.h"
#include "auth/audit.h"
#include "sshkey/sshkey.h"

namespace keypaird::service {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

Status KeyNotFound(std::string_view ref) {
  return NotFound("The keypair " + std::string(ref) + " does not exist");
}

Status KeyChanged(std::string_view ref) {
  return FailedPrecondition("The keypair " + std::string(ref) +
                            " has changed since its ETag was read: read it again, then retry.");
}

bool Visible(const auth::Principal& caller, const store::KeyRecord& key) {
  if (!caller.MayUseProject(key.project_id)) return false;
  return caller.Administers(key.project_id) || key.shared_in_project ||
         key.user_id == caller.user_id;
}

}  // namespace

Status ValidateKeyName(std::string_view name) {
  // ^[a-zA-Z0-9][a-zA-Z 0-9._\-]{1,61}[a-zA-Z0-9._]$
  auto bad = [](std::string message) {
    return InvalidArgument("Invalid key name.").WithField("name", std::move(message));
  };
  if (name.size() < 3 || name.size() > 63) {
    return bad("The name must be 3 to 63 characters long.");
  }
  if (!IsAlnum(name.front())) return bad("The name must start with a letter or a digit.");
  const char last = name.back();
  if (!IsAlnum(last) && last != '.' && last != '_') {
    return bad("The name must end with a letter, a digit, '.' or '_'.");
  }
  for (char c : name.substr(1, name.size() - 2)) {
    if (!IsAlnum(c) && c != ' ' && c != '.' && c != '_' && c != '-') {
      return bad("The name may contain only letters, digits, spaces, '.', '_' and '-'.");
    }
  }
  return Status::Ok();
}

KeyService::KeyService(store::KeyStore* store, Clock now, Metrics* metrics,
                       int max_parallel_generations, KeyPool* pool)
    : store_(store), now_(std::move(now)), metrics_(metrics), pool_(pool) {
  if (max_parallel_generations <= 0) {
    max_parallel_generations = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  generation_slots_ = std::make_unique<std::counting_semaphore<>>(max_parallel_generations);
  authorized_keys_ = std::make_unique<GeneratedCache>();
}

bool IsLabelKey(std::string_view key) {
  // ^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$
  auto end_char = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (key.empty() || key.size() > 63 || !end_char(key.front()) || !end_char(key.back())) {
    return false;
  }
  return std::all_of(key.begin(), key.end(), [&](char c) {
    return end_char(c) || c == '.' || c == '_' || c == '/' || c == '-';
  });
}

bool IsLabelValue(std::string_view value) {
  // ^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$ or empty
  if (value.empty()) return true;
  if (value.size() > 63 || !IsAlnum(value.front()) || !IsAlnum(value.back())) return false;
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return IsAlnum(c) || c == '.' || c == '_' || c == '-'; });
}

Status ValidateLabels(const std::map<std::string, std::string>& labels) {
  auto bad = [](std::string message) {
    return InvalidArgument("Invalid labels.").WithField("labels", std::move(message));
  };
  if (labels.size() > 32) return bad("At most 32 labels.");
  for (const auto& [key, value] : labels) {
    if (!IsLabelKey(key)) {
      return bad("The label key '" + key +
                 "' is not valid: 1 to 63 characters of a-z, 0-9, '.', '_', '/' and '-', "
                 "starting and ending with a letter or digit.");
    }
    if (!IsLabelValue(value)) {
      return bad("The value of label '" + key +
                 "' is not valid: empty, or 1 to 63 characters of A-Z, a-z, 0-9, '.', '_' and "
                 "'-', starting and ending with a letter or digit.");
    }
  }
  return Status::Ok();
}

Status DescribeKey(store::KeyRecord* key) {
  StatusOr<sshkey::PublicKey> parsed = sshkey::ParsePublicKey(key->public_key);
  if (!parsed.ok()) {
    return Internal("a stored public key does not parse: " + parsed.status().message());
  }
  key->type = parsed->type;
  key->bits = parsed->bits;
  key->comment = parsed->comment;
  key->fingerprint_sha256 = parsed->fingerprint_sha256;
  return Status::Ok();
}

namespace {

Status CheckExpiry(std::optional<int64_t> expires_at_us, int64_t now_us) {
  if (expires_at_us.has_value() && *expires_at_us <= now_us) {
    return InvalidArgument("The expiry time is not in the future.")
        .WithField("expires_at", "Must be in the future.");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<sshkey::GeneratedKey> KeyService::Generate(const CreateKeyRequest& request) const {
  const GenerateSpec& spec = request.generate;
  generation_slots_->acquire();
  const auto started = std::chrono::steady_clock::now();
  StatusOr<sshkey::GeneratedKey> generated = [&]() -> StatusOr<sshkey::GeneratedKey> {
    if (spec.type == sshkey::KeyType::kEd25519 &&
        spec.format == sshkey::PrivateKeyFormat::kOpenSsh && spec.passphrase.empty()) {
      return sshkey::GenerateEd25519(request.name);
    }
    StatusOr<sshkey::PrivateKey> key =
        pool_ != nullptr ? pool_->Take(spec.type) : sshkey::GeneratePrivateKey(spec.type);
    if (!key.ok()) return key.status();
    return sshkey::ExportPrivateKey(*key, request.name, spec.format, spec.passphrase.view());
  }();
  generation_slots_->release();
  if (generated.ok() && metrics_ != nullptr) {
    metrics_->ObserveKeyGeneration(
        sshkey::KeyTypeName(spec.type),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  return generated;
}

StatusOr<CreatedKey> KeyService::Prepare(const auth::Principal& caller,
                                         CreateKeyRequest request) const {
  if (!caller.MayChange(request.project_id)) return auth::ChangeDenied(caller, request.project_id);
  if (Status s = ValidateKeyName(request.name); !s.ok()) return s;
  if (Status s = ValidateLabels(request.labels); !s.ok()) return s;
  const int64_t now = now_();
  if (Status s = CheckExpiry(request.expires_at_us, now); !s.ok()) return s;

  CreatedKey created;
  sshkey::PublicKey public_key;
  if (request.public_key.has_value()) {
    StatusOr<sshkey::PublicKey> parsed = sshkey::ParsePublicKey(*request.public_key);
    if (!parsed.ok()) {
      return InvalidArgument("Invalid public key.")
          .WithField("public_key", parsed.status().message());
    }
    public_key = std::move(*parsed);
  } else {
    StatusOr<sshkey::GeneratedKey> generated = Generate(request);
    if (!generated.ok()) return generated.status();
    public_key = std::move(generated->public_key);
    created.private_key = std::move(generated->private_key);
    created.private_key_format = sshkey::PrivateKeyFormatName(request.generate.format);
  }
  request.generate.passphrase.Wipe();
  store::KeyRecord& key = created.key;
  key.public_key = std::move(public_key.line);
  key.fingerprint = std::move(public_key.fingerprint);
  key.fingerprint_sha256 = std::move(public_key.fingerprint_sha256);
  key.type = std::move(public_key.type);
  key.bits = public_key.bits;
  key.comment = std::move(public_key.comment);
  // Time-ordered (UUIDv7, of its creation's millisecond): the id index and the audit
  // trail's resource index grow at their end instead of at a random page, which took the
  // store's durable inserts at 64 writers from 5.0-5.7k/s to 7.5-7.8k/s
  // (docs/BENCHMARKS.md "Time-ordered key ids"). Still a UUID; created_at tells the same.
  key.id = NewUuid7(now / 1000);
  key.project_id = request.project_id;
  key.user_id = caller.user_id;
  key.name = std::move(request.name);
  key.shared_in_project = request.shared_in_project;
  key.labels = std::move(request.labels);
  key.disabled = request.disabled;
  key.expires_at_us = request.expires_at_us;
  key.created_at_us = now;
  key.updated_at_us = now;
  key.revision = 1;
  return created;
}

namespace {

// The store's answer to an insert, in the API's words.
Status InsertOutcome(Status s, const store::KeyRecord& key) {
  if (s.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists("A keypair named '" + key.name + "' already exists in project " +
                         std::to_string(key.project_id) + ".")
        .WithField("name", "This name is already used in the project.");
  }
  return s;
}

// The event of a key's change: the fields it changes, with their new values.
store::EventRecord UpdateEvent(const auth::Principal& caller, const store::KeyRecord& key,
                               const store::KeyUpdate& update) {
  store::EventRecord event = auth::NewEvent(caller, auth::kKeyUpdate, update.updated_at_us);
  auth::AboutKey(key, &event);
  std::string details_text;
  JsonWriter details(&details_text);
  details.BeginObject().Key("changes").BeginObject();
  if (update.name) details.Key("name").String(*update.name);
  if (update.shared_in_project) details.Key("shared_in_project").Bool(*update.shared_in_project);
  if (update.labels) {
    details.Key("labels").BeginObject();
    for (const auto& [k, v] : *update.labels) details.Key(k).String(v);
    details.EndObject();
  }
  if (update.expires_at_us) {
    details.Key("expires_at");
    if (*update.expires_at_us) {
      details.String(FormatRfc3339(**update.expires_at_us));
    } else {
      details.Null();
    }
  }
  if (update.disabled) details.Key("disabled").Bool(*update.disabled);
  details.EndObject().EndObject();
  event.details = std::move(details_text);
  return event;
}

// The event of a key's creation: its public facts (never the private key).
store::EventRecord CreateEvent(const auth::Principal& caller, const CreatedKey& created) {
  const store::KeyRecord& key = created.key;
  store::EventRecord event = auth::NewEvent(caller, auth::kKeyCreate, key.created_at_us);
  auth::AboutKey(key, &event);
  std::string details_text;
  JsonWriter details(&details_text);
  details.BeginObject()
      .Key("type").String(key.type)
      .Key("fingerprint_sha256").String(key.fingerprint_sha256)
      .Key("shared_in_project").Bool(key.shared_in_project)
      .Key("generated").Bool(!created.private_key_format.empty())
      .EndObject();
  event.details = std::move(details_text);
  return event;
}

}  // namespace

StatusOr<CreatedKey> KeyService::Create(const auth::Principal& caller,
                                        CreateKeyRequest request) const {
  StatusOr<CreatedKey> created = Prepare(caller, std::move(request));
  if (!created.ok()) return created;
  if (Status s = InsertOutcome(store_->InsertKey(created->key, CreateEvent(caller, *created)),
                               created->key);
      !s.ok()) {
    return s;
  }
  return created;
}

void KeyService::CreateAsync(const auth::Principal& caller, CreateKeyRequest request,
                             CreateDone done) const {
  StatusOr<CreatedKey> prepared = Prepare(caller, std::move(request));
  if (!prepared.ok()) return done(prepared.status());
  // The record goes to the store; the private key waits here, in memory only, until
  // the record is stored (std::function needs copyable captures: hence the shared_ptr).
  auto created = std::make_shared<CreatedKey>(std::move(*prepared));
  store::KeyRecord record = created->key;
  store::EventRecord event = CreateEvent(caller, *created);
  store_->InsertKeyAsync(std::move(record), std::move(event),
                         [created, done = std::move(done)](Status s) mutable {
    s = InsertOutcome(std::move(s), created->key);
    if (!s.ok()) return done(std::move(s));
    done(std::move(*created));
  });
}

StatusOr<store::KeyRecord> KeyService::FindVisible(const auth::Principal& caller,
                                                   std::optional<int64_t> project_id, KeyRef ref,
                                                   store::KeyReader& reads) const {
  if (project_id.has_value() && !caller.MayUseProject(*project_id)) {
    return auth::ProjectDenied(*project_id);
  }
  StatusOr<store::KeyRecord> key = NotFound("");
  if (IsUuid(ref.value)) key = reads.GetKey(AsciiLowered(ref.value));
  if (!key.ok() && key.status().code() == StatusCode::kNotFound && ref.allow_name &&
      project_id.has_value()) {
    key = reads.GetKeyByName(*project_id, ref.value);
  }
  if (!key.ok()) {
    return key.status().code() == StatusCode::kNotFound ? KeyNotFound(ref.value) : key.status();
  }
  if ((project_id.has_value() && key->project_id != *project_id) || !Visible(caller, *key)) {
    return KeyNotFound(ref.value);
  }
  return key;
}

StatusOr<store::KeyRecord> KeyService::FindOwned(const auth::Principal& caller,
                                                 std::optional<int64_t> project_id,
                                                 KeyRef ref) const {
  StatusOr<store::KeyRecord> key = FindVisible(caller, project_id, ref, *store_);
  if (key.ok() && !caller.MayChange(key->project_id)) {
    return auth::ChangeDenied(caller, key->project_id);
  }
  if (key.ok() && !caller.Administers(key->project_id) && key->user_id != caller.user_id) {
    return PermissionDenied("Only the owner of keypair " + std::string(ref.value) +
                            " or an administrator may change or delete it.");
  }
  return key;
}

StatusOr<store::KeyRecord> KeyService::Get(const auth::Principal& caller,
                                           std::optional<int64_t> project_id, KeyRef ref,
                                           store::KeyReader* reads) const {
  return FindVisible(caller, project_id, ref, reads != nullptr ? *reads : *store_);
}

StatusOr<store::KeyPage> KeyService::List(const auth::Principal& caller,
                                          const ListKeysRequest& request,
                                          store::KeyReader* reads) const {
  if (!request.project_id.has_value() && !caller.admin && !request.every_project) {
    return InvalidArgument("project_id is required unless the token is an administrator's.")
        .WithField("project_id", "This field is required.");
  }
  if (request.project_id.has_value() && !caller.MayUseProject(*request.project_id)) {
    return auth::ProjectDenied(*request.project_id);
  }
  store::ListQuery q;
  q.project_id = request.project_id;
  if (!request.project_id.has_value() && !caller.admin) q.project_ids = caller.projects;
  q.owner_id = request.owner_id;
  // An administrator of the one project listed sees every key in it.
  if (!caller.admin && !(request.project_id && caller.Administers(*request.project_id))) {
    q.visible_to_user = caller.user_id;
  }
  q.name_contains = request.name_contains;
  q.order = request.order;
  q.offset = request.offset;
  q.limit = request.limit;
  if (request.fingerprint.starts_with("SHA256:")) {
    q.fingerprint_sha256 = request.fingerprint;
  } else {
    q.fingerprint = request.fingerprint;
  }
  q.type = request.type;
  q.labels = request.labels;
  q.usable = request.usable;
  q.owner_enabled = request.owner_enabled;
  q.now_us = now_();
  q.after = request.after;
  q.with_total = request.with_total;
  q.work_budget = request.work_budget;
  return (reads != nullptr ? *reads : *store_).ListKeys(q);
}

bool KeyService::IsShortPage(const ListKeysRequest& request) {
  return request.project_id.has_value() && !request.every_project &&
         !request.owner_id.has_value() && request.name_contains.empty() &&
         request.fingerprint.empty() && request.type.empty() && request.labels.empty() &&
         !request.usable.has_value() && !request.owner_enabled &&
         (request.order == store::OrderBy::kCreatedAtAsc ||
          request.order == store::OrderBy::kCreatedAtDesc) &&
         request.limit >= 0 && request.offset >= 0 &&
         request.offset + request.limit <= kShortPageRows;
}

namespace {

// What names an authorized_keys answer in the cache: the project, whose keys the caller sees
// (as KeyService::List decides) and the query. Label keys and values hold no '\n' or '\0'.
std::string AuthorizedKeysName(const auth::Principal& caller,
                               const AuthorizedKeysRequest& request) {
  std::string key = std::to_string(request.project_id);
  key += caller.admin || caller.Administers(request.project_id)
             ? std::string("\n*")
             : "\n" + std::to_string(caller.user_id);
  key += "\n" + (request.owner_id ? std::to_string(*request.owner_id) : std::string("*"));
  for (const store::LabelTerm& t : request.labels) {
    key += '\n';
    key += static_cast<char>('0' + static_cast<int>(t.op));
    key += t.key;
    key += '\0';
    key += t.value;
  }
  return key;
}

}  // namespace

StatusOr<GeneratedLookup> KeyService::LookUpAuthorizedKeys(std::string_view name,
                                                           int64_t project_id,
                                                           store::KeyReader* reads) const {
  StatusOr<store::ProjectGenerations> generations =
      (reads != nullptr ? *reads : *store_).GenerationsOf(project_id);
  if (!generations.ok()) return generations.status();
  GeneratedLookup found = authorized_keys_->LookUp(name, generations->keys, now_());
  if (found.kept.has_value() && metrics_ != nullptr) {
    metrics_->CountGeneratedCache(Metrics::GeneratedText::kAuthorizedKeys, true);
  }
  return found;
}

std::optional<GeneratedText> KeyService::KeptAuthorizedKeys(const auth::Principal& caller,
                                                            const AuthorizedKeysRequest& request,
                                                            store::KeyReader* reads) const {
  if (!caller.MayUseProject(request.project_id)) return std::nullopt;
  StatusOr<GeneratedLookup> found =
      LookUpAuthorizedKeys(AuthorizedKeysName(caller, request), request.project_id, reads);
  if (!found.ok()) return std::nullopt;
  return std::move(found->kept);
}

StatusOr<GeneratedText> KeyService::AuthorizedKeys(const auth::Principal& caller,
                                                   const AuthorizedKeysRequest& request,
                                                   store::KeyReader* reads) const {
  constexpr int64_t kPage = 1000;  // keys read per store call while building
  if (!caller.MayUseProject(request.project_id)) return auth::ProjectDenied(request.project_id);
  // The generation is read before the keys: what is built holds every change up to it.
  std::string name = AuthorizedKeysName(caller, request);
  StatusOr<GeneratedLookup> found = LookUpAuthorizedKeys(name, request.project_id, reads);
  if (!found.ok()) return found.status();
  if (found->kept.has_value()) return *std::move(found->kept);
  if (metrics_ != nullptr) {
    metrics_->CountGeneratedCache(Metrics::GeneratedText::kAuthorizedKeys, false);
  }
  ListKeysRequest req;
  req.project_id = request.project_id;
  req.order = store::OrderBy::kCreatedAtAsc;
  req.usable = true;
  req.owner_enabled = true;  // a disabled person logs in with none of their keys
  req.with_total = false;
  req.limit = kPage;
  req.labels = request.labels;
  req.owner_id = request.owner_id;
  // Every matching key, a page at a time (keyset: each page costs the same). The answer
  // changes by itself when the first listed key expires.
  std::string body;
  int64_t valid_until_us = GeneratedCache::kForever;
  for (;;) {
    StatusOr<store::KeyPage> page = List(caller, req, reads);
    if (!page.ok()) return page.status();
    for (const store::KeyRecord& k : page->keys) {
      body += k.public_key;
      body += '\n';
      if (k.expires_at_us) valid_until_us = std::min(valid_until_us, *k.expires_at_us);
    }
    if (static_cast<int64_t>(page->keys.size()) < req.limit) break;
    const store::KeyRecord& last = page->keys.back();
    req.after = store::KeyCursor{last.created_at_us, last.name, last.id};
  }
  GeneratedText text = MakeGeneratedText(std::move(body));
  if (found->generation.has_value()) {
    authorized_keys_->Keep(std::move(name), *found->generation, valid_until_us, text);
  }
  return text;
}

Status KeyService::Delete(const auth::Principal& caller, std::optional<int64_t> project_id,
                          KeyRef ref, std::optional<int64_t> expected_revision) const {
  StatusOr<store::KeyRecord> key = FindOwned(caller, project_id, ref);
  if (!key.ok()) return key.status();
  store::EventRecord event = auth::NewEvent(caller, auth::kKeyDelete, now_());
  auth::AboutKey(*key, &event);
  std::string details_text;
  JsonWriter details(&details_text);
  details.BeginObject().Key("fingerprint_sha256").String(key->fingerprint_sha256).EndObject();
  event.details = std::move(details_text);
  Status s = store_->DeleteKey(key->id, expected_revision, event);
  if (s.code() == StatusCode::kFailedPrecondition) return KeyChanged(ref.value);
  // A concurrent delete got there first: to this caller the key no longer exists.
  if (s.code() == StatusCode::kNotFound) return KeyNotFound(ref.value);
  return s;
}

StatusOr<store::KeyRecord> KeyService::Update(const auth::Principal& caller,
                                              std::optional<int64_t> project_id, KeyRef ref,
                                              UpdateKeyRequest request) const {
  if (request.name) {
    if (Status s = ValidateKeyName(*request.name); !s.ok()) return s;
  }
  if (request.labels) {
    if (Status s = ValidateLabels(*request.labels); !s.ok()) return s;
  }
  const int64_t now = now_();
  if (request.expires_at_us) {
    if (Status s = CheckExpiry(*request.expires_at_us, now); !s.ok()) return s;
  }
  StatusOr<store::KeyRecord> key = FindOwned(caller, project_id, ref);
  if (!key.ok()) return key.status();
  store::KeyUpdate update;
  update.name = std::move(request.name);
  update.shared_in_project = request.shared_in_project;
  update.labels = std::move(request.labels);
  update.expires_at_us = request.expires_at_us;
  update.disabled = request.disabled;
  update.updated_at_us = now;
  StatusOr<store::KeyRecord> updated =
      store_->UpdateKey(key->id, update, request.expected_revision, UpdateEvent(caller, *key, update));
  if (!updated.ok()) {
    switch (updated.status().code()) {
      case StatusCode::kNotFound:
        return KeyNotFound(ref.value);
      case StatusCode::kFailedPrecondition:
        return KeyChanged(ref.value);
      case StatusCode::kAlreadyExists: {
        store::KeyRecord renamed = *key;
        renamed.name = *update.name;
        return InsertOutcome(updated.status(), renamed);
      }
      default:
        return updated.status();
    }
  }
  return updated;
}

StatusOr<store::KeyRecord> KeyService::SetShared(const auth::Principal& caller,
                                                 std::optional<int64_t> project_id, KeyRef ref,
                                                 bool shared) const {
  StatusOr<store::KeyRecord> key = FindOwned(caller, project_id, ref);
  if (!key.ok()) return key.status();
  store::KeyUpdate update;
  update.shared_in_project = shared;
  update.updated_at_us = now_();
  StatusOr<store::KeyRecord> updated =
      store_->UpdateKey(key->id, update, std::nullopt, UpdateEvent(caller, *key, update));
  if (!updated.ok() && updated.status().code() == StatusCode::kNotFound) {
    return KeyNotFound(ref.value);
  }
  return updated;
}

}  // namespace keypaird::service
