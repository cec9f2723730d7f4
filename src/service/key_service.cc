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
#include "sshkey/sshkey.h"

namespace keypaird::service {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

Status ProjectDenied(int64_t project_id) {
  return PermissionDenied("You do not have access to project " + std::to_string(project_id) +
                          ".");
}

Status KeyNotFound(std::string_view ref) {
  return NotFound("The keypair " + std::string(ref) + " does not exist");
}

bool Visible(const auth::Principal& caller, const store::KeyRecord& key) {
  if (!caller.MayUseProject(key.project_id)) return false;
  return caller.admin || key.shared_in_project || key.user_id == caller.user_id;
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
                       int max_parallel_generations)
    : store_(store), now_(std::move(now)), metrics_(metrics) {
  if (max_parallel_generations <= 0) {
    max_parallel_generations = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  generation_slots_ = std::make_unique<std::counting_semaphore<>>(max_parallel_generations);
}

StatusOr<CreatedKey> KeyService::Prepare(const auth::Principal& caller,
                                         CreateKeyRequest request) const {
  if (!caller.MayUseProject(request.project_id)) return ProjectDenied(request.project_id);
  if (Status s = ValidateKeyName(request.name); !s.ok()) return s;

  CreatedKey created;
  if (request.public_key.has_value()) {
    StatusOr<sshkey::PublicKey> parsed = sshkey::ParsePublicKey(*request.public_key);
    if (!parsed.ok()) {
      return InvalidArgument("Invalid public key.").WithField("public_key",
                                                              parsed.status().message());
    }
    created.key.public_key = std::move(parsed->line);
    created.key.fingerprint = std::move(parsed->fingerprint);
  } else {
    generation_slots_->acquire();
    const auto started = std::chrono::steady_clock::now();
    StatusOr<sshkey::GeneratedKey> generated = sshkey::GenerateEd25519(request.name);
    generation_slots_->release();
    if (!generated.ok()) return generated.status();
    if (metrics_ != nullptr) {
      metrics_->ObserveKeyGeneration(
          "ed25519",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    created.key.public_key = std::move(generated->public_key.line);
    created.key.fingerprint = std::move(generated->public_key.fingerprint);
    created.private_key = std::move(generated->private_key);
  }
  created.key.id = NewUuid4();
  created.key.project_id = request.project_id;
  created.key.user_id = caller.user_id;
  created.key.name = std::move(request.name);
  created.key.shared_in_project = request.shared_in_project;
  created.key.created_at_us = now_();
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

}  // namespace

StatusOr<CreatedKey> KeyService::Create(const auth::Principal& caller,
                                        CreateKeyRequest request) const {
  StatusOr<CreatedKey> created = Prepare(caller, std::move(request));
  if (!created.ok()) return created;
  if (Status s = InsertOutcome(store_->InsertKey(created->key), created->key); !s.ok()) return s;
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
  store_->InsertKeyAsync(std::move(record),
                         [created, done = std::move(done)](Status s) mutable {
                           s = InsertOutcome(std::move(s), created->key);
                           if (!s.ok()) return done(std::move(s));
                           done(std::move(*created));
                         });
}

StatusOr<store::KeyRecord> KeyService::FindVisible(const auth::Principal& caller,
                                                   std::optional<int64_t> project_id,
                                                   KeyRef ref, store::KeyReader& reads) const {
  if (project_id.has_value() && !caller.MayUseProject(*project_id)) {
    return ProjectDenied(*project_id);
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
  if (key.ok() && !caller.admin && key->user_id != caller.user_id) {
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
  if (!request.project_id.has_value() && !caller.admin) {
    return InvalidArgument("project_id is required unless the token is an administrator's.")
        .WithField("project_id", "This field is required.");
  }
  if (request.project_id.has_value() && !caller.MayUseProject(*request.project_id)) {
    return ProjectDenied(*request.project_id);
  }
  store::ListQuery q;
  q.project_id = request.project_id;
  q.owner_id = request.owner_id;
  if (!caller.admin) q.visible_to_user = caller.user_id;
  q.name_contains = request.name_contains;
  q.order = request.order;
  q.offset = request.offset;
  q.limit = request.limit;
  return (reads != nullptr ? *reads : *store_).ListKeys(q);
}

Status KeyService::Delete(const auth::Principal& caller, std::optional<int64_t> project_id,
                          KeyRef ref) const {
  StatusOr<store::KeyRecord> key = FindOwned(caller, project_id, ref);
  if (!key.ok()) return key.status();
  Status s = store_->DeleteKey(key->id);
  // A concurrent delete got there first: to this caller the key no longer exists.
  if (s.code() == StatusCode::kNotFound) return KeyNotFound(ref.value);
  return s;
}

StatusOr<store::KeyRecord> KeyService::SetShared(const auth::Principal& caller,
                                                 std::optional<int64_t> project_id, KeyRef ref,
                                                 bool shared) const {
  StatusOr<store::KeyRecord> key = FindOwned(caller, project_id, ref);
  if (!key.ok()) return key.status();
  StatusOr<store::KeyRecord> updated = store_->SetShared(key->id, shared);
  if (!updated.ok() && updated.status().code() == StatusCode::kNotFound) {
    return KeyNotFound(ref.value);
  }
  return updated;
}

}  // namespace keypaird::service
