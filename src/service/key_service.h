// KeyService: the rules of the SSH Keys API, independent of HTTP and SQL.
//
// It validates names and keys, generates keypairs, assigns ids and creation times,
// and enforces projects, ownership and visibility (README.md "The whole family",
// docs/api-decisions.md) on top of a KeyStore. Every method takes the verified caller and
// returns a Status whose code http/ maps to a status line and error body; messages are
// written for API users. Field errors use the service's field names ("name",
// "public_key"); http/ renames them to each family's wire names.
//
// Threading: stateless apart from the store pointer; safe to call concurrently. Methods
// block on the store (briefly on SQLite, on the network on PostgreSQL) and Create may
// spend CPU on key generation; which thread may afford that is the caller's decision (the
// HTTP route table). Reads can share one snapshot: Snapshot() hands one out, and Get and
// List read through it when given it.
#ifndef KEYPAIRD_SERVICE_KEY_SERVICE_H_
#define KEYPAIRD_SERVICE_KEY_SERVICE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <semaphore>
#include <string>
#include <string_view>
#include <vector>

#include "auth/tokens.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "common/secret.h"
#include "common/status.h"
#include "service/generated_cache.h"
#include "service/key_pool.h"
#include "sshkey/private_key.h"
#include "sshkey/sshkey.h"
#include "store/key_store.h"

namespace keypaird::service {

// How to generate a key (keypaird's own API; the Gcore routes always generate Ed25519 in
// the OpenSSH format, unencrypted).
struct GenerateSpec {
  sshkey::KeyType type = sshkey::KeyType::kEd25519;
  sshkey::PrivateKeyFormat format = sshkey::PrivateKeyFormat::kOpenSsh;
  SecretString passphrase;  // empty: unencrypted; else 8..1024 characters
};

struct CreateKeyRequest {
  int64_t project_id = 0;
  std::string name;
  std::optional<std::string> public_key;  // absent: generate (`generate`, or the defaults)
  bool shared_in_project = true;
  // keypaird's own API only:
  std::map<std::string, std::string> labels;
  bool disabled = false;
  std::optional<int64_t> expires_at_us;  // must be in the future
  GenerateSpec generate;
};

struct CreatedKey {
  store::KeyRecord key;
  SecretString private_key;        // empty unless the key was generated
  std::string private_key_format;  // "openssh", "pkcs8", "ppk"; "" unless generated
};

// The changes of a PATCH (keypaird's own API); unset fields stay as they are.
struct UpdateKeyRequest {
  std::optional<std::string> name;
  std::optional<bool> shared_in_project;
  std::optional<std::map<std::string, std::string>> labels;
  std::optional<std::optional<int64_t>> expires_at_us;  // a future time, or cleared
  std::optional<bool> disabled;
  std::optional<int64_t> expected_revision;  // If-Match
};

// How a request names a key: v1/v2 keypair ids also accept the key's name.
struct KeyRef {
  std::string_view value;
  bool allow_name = false;
};

struct ListKeysRequest {
  std::optional<int64_t> project_id;  // required unless the caller is an admin
  std::optional<int64_t> owner_id;
  std::string name_contains;
  store::OrderBy order = store::OrderBy::kCreatedAtAsc;
  int64_t offset = 0;
  int64_t limit = -1;
  // keypaird's own API only:
  bool every_project = false;  // no project_id: every project the caller may use
  std::string fingerprint;     // MD5 colon-hex or "SHA256:...", exact
  std::string type;
  std::vector<store::LabelTerm> labels;
  std::optional<bool> usable;
  bool owner_enabled = false;  // store::ListQuery::owner_enabled
  std::optional<store::KeyCursor> after;
  bool with_total = true;
  int64_t work_budget = 0;  // store::ListQuery::work_budget
};

// What a project's authorized_keys answer lists: the usable keys the caller sees in the
// project (oldest first) whose owner is not a disabled user, those matching `labels` and
// `owner_id` when given.
struct AuthorizedKeysRequest {
  int64_t project_id = 0;
  std::vector<store::LabelTerm> labels;
  std::optional<int64_t> owner_id;
};

// Label rules (openapi/keypaird.yaml, Labels): at most 32; keys
// ^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$, values ^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$
// or empty. kInvalidArgument with a field error on "labels".
Status ValidateLabels(const std::map<std::string, std::string>& labels);
bool IsLabelKey(std::string_view key);
bool IsLabelValue(std::string_view value);

// StoreOptions::describe_key: type, bits, comment and SHA-256 fingerprint from the key's
// public_key (for keys stored before those columns existed).
Status DescribeKey(store::KeyRecord* key);

// OK or kInvalidArgument with a field error on "name".
Status ValidateKeyName(std::string_view name);

class KeyService {
 public:
  // `metrics` (optional, not owned) receives key generation counts and durations.
  // At most `max_parallel_generations` keys (default: one per core) are generated at
  // once, however many request workers call Create: generation is CPU work, while the
  // workers are sized for blocking store calls.
  // `pool` (optional, not owned) supplies RSA keys generated ahead of time.
  explicit KeyService(store::KeyStore* store, Clock now = SystemNowMicros,
                      Metrics* metrics = nullptr, int max_parallel_generations = 0,
                      KeyPool* pool = nullptr);

  // Called once with the outcome of CreateAsync, on whichever thread finished it.
  using CreateDone = std::function<void(StatusOr<CreatedKey>)>;

  // Imports or generates a key owned by the caller. kInvalidArgument (bad name or key),
  // kPermissionDenied (project), kAlreadyExists (name taken in the project).
  StatusOr<CreatedKey> Create(const auth::Principal& caller, CreateKeyRequest request) const;
  // The same without waiting for the store: validation and generation run on the
  // calling thread, then `done` runs once the key is durably stored (on SQLite: on the
  // writer thread, right after the commit) or has failed.
  void CreateAsync(const auth::Principal& caller, CreateKeyRequest request, CreateDone done) const;

  // Reads that share one snapshot of the store (KeyStore::Snapshot), for the caller to
  // pass to Authenticate, Get and List; they hold a pooled connection while it lives.
  std::unique_ptr<store::KeyReader> Snapshot() const { return store_->Snapshot(); }

  // `project_id` unset: any project the caller may use (v2). kPermissionDenied if the
  // caller may not use `project_id`; kNotFound if the key does not exist for the caller.
  // Reads through `reads` when given, else through the store.
  StatusOr<store::KeyRecord> Get(const auth::Principal& caller, std::optional<int64_t> project_id,
                                 KeyRef ref, store::KeyReader* reads = nullptr) const;

  // Keys visible to the caller. kInvalidArgument if a non-admin gives no project;
  // kPermissionDenied for a project the caller may not use.
  StatusOr<store::KeyPage> List(const auth::Principal& caller, const ListKeysRequest& request,
                                store::KeyReader* reads = nullptr) const;

  // Whether `request` asks for a page of at most kShortPageRows keys (offset and limit
  // included) of one walk of a project's index by creation time, with no filter: what a
  // caller who sees every key of the project gets by reading no more than that. Such a page
  // is tried on the I/O thread that read the request (Api: Route::quick_first) under
  // store::kShortPageWork, which also stops the walk of a caller who sees few of the keys;
  // any other page may scan a whole project, and goes to the workers.
  static constexpr int64_t kShortPageRows = 100;
  static bool IsShortPage(const ListKeysRequest& request);

  // The authorized_keys text: one public key line per key List finds for the request (so
  // kPermissionDenied as List), with its ETag. Kept per (request, caller's view) for the
  // project's keys generation where the store keeps one (SQLite), until the first listed
  // key expires: an answer read in the same generation is sent without reading the keys.
  StatusOr<GeneratedText> AuthorizedKeys(const auth::Principal& caller,
                                         const AuthorizedKeysRequest& request,
                                         store::KeyReader* reads = nullptr) const;
  // The answer AuthorizedKeys keeps for the project's current keys generation, if there is
  // one (and the caller may read the project); nullopt otherwise. Reads the generation only.
  std::optional<GeneratedText> KeptAuthorizedKeys(const auth::Principal& caller,
                                                  const AuthorizedKeysRequest& request,
                                                  store::KeyReader* reads = nullptr) const;

  // OK if the database answers now; kUnavailable otherwise.
  Status Ping() const { return store_->Ping(); }
  // The caller's user (GET /api/v1/me: a person's identity). kNotFound for a token whose
  // user has no row (a store from before users).
  StatusOr<store::UserRecord> UserOf(const auth::Principal& caller) const {
    return store_->GetUser(caller.user_id);
  }

  // Like Get, and then kPermissionDenied unless the caller owns the key or is an admin;
  // kFailedPrecondition if `expected_revision` is given and the key has another.
  Status Delete(const auth::Principal& caller, std::optional<int64_t> project_id, KeyRef ref,
                std::optional<int64_t> expected_revision = std::nullopt) const;
  // PATCH: the same rules as Delete; kInvalidArgument for a bad name, labels or expiry;
  // kAlreadyExists for a name taken in the project.
  StatusOr<store::KeyRecord> Update(const auth::Principal& caller,
                                    std::optional<int64_t> project_id, KeyRef ref,
                                    UpdateKeyRequest request) const;
  StatusOr<store::KeyRecord> SetShared(const auth::Principal& caller,
                                       std::optional<int64_t> project_id, KeyRef ref,
                                       bool shared) const;

 private:
  // Validates the request and makes the record (and the private key, if generating);
  // everything of Create before the store.
  StatusOr<CreatedKey> Prepare(const auth::Principal& caller, CreateKeyRequest request) const;
  StatusOr<store::KeyRecord> FindVisible(const auth::Principal& caller,
                                         std::optional<int64_t> project_id, KeyRef ref,
                                         store::KeyReader& reads) const;
  StatusOr<store::KeyRecord> FindOwned(const auth::Principal& caller,
                                       std::optional<int64_t> project_id, KeyRef ref) const;

  StatusOr<sshkey::GeneratedKey> Generate(const CreateKeyRequest& request) const;
  // The project's keys generation, read now, and the authorized_keys answer kept under
  // `name` for it (a hit counted on the metrics).
  StatusOr<GeneratedLookup> LookUpAuthorizedKeys(std::string_view name, int64_t project_id,
                                                 store::KeyReader* reads) const;

  store::KeyStore* store_;  // not owned
  Clock now_;
  Metrics* metrics_;  // not owned, may be null
  KeyPool* pool_;     // not owned, may be null
  std::unique_ptr<std::counting_semaphore<>> generation_slots_;
  std::unique_ptr<GeneratedCache> authorized_keys_;
};

}  // namespace keypaird::service

#endif  // KEYPAIRD_SERVICE_KEY_SERVICE_H_
