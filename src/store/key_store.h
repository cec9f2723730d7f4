// KeyStore: persistence of SSH keys, API tokens, users and grants, and the audit trail.
//
// A small abstract interface; backends are `final` classes in their own .cc files,
// reached only through the factories at the bottom (OpenStore for URLs, NewMemoryStore
// for the in-memory fake used by unit tests). Nothing above store/ knows about SQL.
//
// Threading: every method may be called concurrently from any thread; a backend does
// its own locking/pooling. Methods block on I/O (SQLite reads: on a local file, for
// microseconds; everything on PostgreSQL: on the network); which thread may afford that
// is decided by the caller (the HTTP route table), never by the store.
//
// Errors: each method documents the codes it returns. Every method may additionally
// return kUnavailable (database unreachable / busy past the timeout) or kInternal
// (anything else); their messages never contain SQL, paths or secrets.
//
// What is stored: public data only. Private keys are never passed to a store; tokens
// are stored as a hash of their secret.
#ifndef KEYPAIRD_STORE_KEY_STORE_H_
#define KEYPAIRD_STORE_KEY_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"

namespace keypaird::store {

struct KeyRecord {
  std::string id;  // UUIDv4, lowercase, globally unique
  int64_t project_id = 0;
  int64_t user_id = 0;      // owner: the user of the token that created it
  std::string name;         // unique within project_id (case-sensitive)
  std::string public_key;   // normalised one-line form
  std::string fingerprint;  // MD5, "aa:bb:..." as ssh-keygen -l -E md5
  bool shared_in_project = true;
  int64_t created_at_us = 0;  // microseconds since the Unix epoch, UTC

  // Details of the public key (derived from it; filled for older keys by migration 4).
  std::string type;                // wire type, e.g. "ssh-ed25519"
  int bits = 0;                    // RSA modulus bits; 256/384/521 for ECDSA; 256 otherwise
  std::string comment;             // the public key's comment, "" if none
  std::string fingerprint_sha256;  // "SHA256:" + unpadded base64, as ssh-keygen -l
  // Keypaird's own attributes (the Gcore routes do not show them).
  std::map<std::string, std::string> labels;  // keys [a-z0-9._/-], values [A-Za-z0-9._-]
  bool disabled = false;
  std::optional<int64_t> expires_at_us;
  int64_t updated_at_us = 0;
  int64_t revision = 1;  // 1 when created, +1 on every change (the HTTP ETag)

  bool operator==(const KeyRecord&) const = default;
};

// One term of a label selector (keys match when every term holds).
struct LabelTerm {
  enum class Op { kEquals, kNotEquals, kExists, kNotExists };
  Op op = Op::kEquals;
  std::string key;
  std::string value;  // for kEquals, kNotEquals; kNotEquals also matches keys without `key`

  bool operator==(const LabelTerm&) const = default;
};

// A position in a list: the last key of the previous page (keyset pagination). Only the
// fields of the list's order are used (created_at and id, or the name within a project).
struct KeyCursor {
  int64_t created_at_us = 0;
  std::string name;
  std::string id;

  bool operator==(const KeyCursor&) const = default;
};

// The changes of UpdateKey; unset fields stay as they are.
struct KeyUpdate {
  std::optional<std::string> name;
  std::optional<bool> shared_in_project;
  std::optional<std::map<std::string, std::string>> labels;  // replaces the whole map
  std::optional<std::optional<int64_t>> expires_at_us;       // set to a time, or cleared
  std::optional<bool> disabled;
  int64_t updated_at_us = 0;  // the time of the change
};

enum class OrderBy { kCreatedAtAsc, kCreatedAtDesc, kNameAsc, kNameDesc };

struct ListQuery {
  std::optional<int64_t> project_id;  // unset: every project
  std::optional<int64_t> owner_id;    // only keys owned by this user
  // Visibility: when set, only keys that are shared_in_project or owned by this user.
  std::optional<int64_t> visible_to_user;
  // Case-insensitive (ASCII letters only) literal substring of the name: '%', '_' and a
  // backslash match only themselves. "" = any.
  std::string name_contains;
  // Ties are always broken by id ascending, in the descending orders too: kCreatedAtDesc
  // is (created_at DESC, id ASC) and kNameDesc is (name DESC, id ASC). Every order is
  // total, so paging with offset += page size visits each key exactly once. Strings
  // compare bytewise (memcmp). Within one project these are index walks (names are
  // unique there); a query without project_id sorts.
  OrderBy order = OrderBy::kCreatedAtAsc;
  int64_t offset = 0;  // >= 0
  int64_t limit = -1;  // -1 = no limit; 0 = only the total

  // Without project_id: only keys of these projects (empty: every project).
  std::vector<int64_t> project_ids;
  std::string fingerprint;         // MD5 colon-hex, exact; "" = any
  std::string fingerprint_sha256;  // "SHA256:...", exact; "" = any
  std::string type;                // wire type, exact; "" = any
  std::vector<LabelTerm> labels;   // every term must hold
  // Usable = not disabled and not expired at `now_us`; unset = either.
  std::optional<bool> usable;
  int64_t now_us = 0;
  // Only keys whose owner is not a disabled user (authorized_keys: a person disabled logs in
  // with none of their keys; a token user, who has no users row of their own, is enabled).
  bool owner_enabled = false;
  // Keyset pagination: only keys after this one in `order` (use with offset 0).
  std::optional<KeyCursor> after;
  // False: `total` is not computed (a keyset walk needs none), which saves a count.
  bool with_total = true;
  // The most work each statement of the read may take (the count, the page), in SQLite
  // virtual-machine instructions (about; sqlite3_progress_handler): a read that would take
  // more stops and fails with kResourceExhausted, having returned nothing. 0: no bound. For
  // a page read where a long one must not run (an I/O thread), to be read again elsewhere
  // without it. Only the SQLite store bounds the work; the others ignore it.
  int64_t work_budget = 0;
};

// The work_budget of a page read where it must stay short (the API's short pages, answered
// on an I/O thread): a page of 100 keys, each one read, takes about 12 000 instructions and
// every key walked past about 20, so this stops a walk past about 2 000 keys it does not
// return (a caller who sees few of a project's keys) — a few hundred microseconds.
inline constexpr int64_t kShortPageWork = 40000;

struct KeyPage {
  int64_t total = 0;  // number of keys matching the filters, ignoring offset/limit
  std::vector<KeyRecord> keys;
};

// A role in one project, with the SSH principals it may be issued there.
struct TokenRole {
  int64_t project_id = 0;
  std::string role;  // "viewer", "editor" or "admin"
  std::vector<std::string> principals;

  bool operator==(const TokenRole&) const = default;
};

struct TokenRecord {
  std::string id;  // public token id (16 lowercase hex characters)
  int64_t user_id = 0;
  bool admin = false;
  std::vector<int64_t> projects;  // ascending; empty for admin tokens
  std::string secret_hash;        // SHA-256 of the secret, 32 raw bytes
  int64_t created_at_us = 0;
  std::optional<int64_t> revoked_at_us;
  bool read_only = false;               // only GET requests
  std::vector<std::string> principals;  // SSH certificate principals it may be issued
  // What it is: "token" (minted on the command line, for machines), "session" (a
  // person's sign-in: its secret lives in a browser's cookie and nowhere else), "access"
  // (a person's bearer token from the device flow, `keypaird login`).
  std::string kind = "token";
  // An access token's session: revoking the session revokes it too. "" otherwise.
  std::string parent_id;
  // A session ends here (a token minted on the command line never does).
  std::optional<int64_t> expires_at_us;
  // A session's rights per project, from its user's grants at sign-in (docs/people.md);
  // empty for a token, whose rights are admin, projects, read_only and principals.
  std::vector<TokenRole> roles;
  // Read, never written: the token's user is disabled (SetUserDisabled). Read with the
  // token in one statement, so a disabled user's tokens stop at the next request on every
  // node without a second read.
  bool user_disabled = false;

  bool operator==(const TokenRecord&) const = default;
};

// Which of a project's two SSH certificate authorities: the one that certifies users'
// keys (TrustedUserCAKeys on servers) or the one that certifies hosts' keys
// (@cert-authority in clients' known_hosts). Each has its own key and its own serials.
enum class CaKind { kUser, kHost };
const char* CaKindName(CaKind kind);  // "user", "host": the database's words

// A project's SSH certificate authority: its public key and its private seed, sealed
// (AES-256-GCM under the key-encryption key, bound to the project and kind) by the CA
// module; the store never sees the seed in the clear.
//
// The record is the CA's signing key. A rotation (RotateCa) gives the CA a new one, of the
// next generation, and keeps the old one's public key only (CaKeyRecord): it is trusted
// until the last certificate it signed expires, and the KRL names it.
struct CaRecord {
  int64_t project_id = 0;
  CaKind kind = CaKind::kUser;
  std::string public_key;   // OpenSSH line of the CA's Ed25519 key
  std::string sealed_seed;  // bytes, as the CA module sealed them
  int64_t created_at_us = 0;
  int64_t generation = 1;  // 1 for the first key, one more at each rotation

  bool operator==(const CaRecord&) const = default;
};

// One key of a project's CA, the signing one or one rotated out (CaKeysOf).
struct CaKeyRecord {
  int64_t project_id = 0;
  CaKind kind = CaKind::kUser;
  int64_t generation = 1;
  std::string public_key;  // OpenSSH line
  int64_t created_at_us = 0;
  int64_t rotated_at_us = 0;  // when it stopped signing; 0 for the signing key
  // The latest valid_before of the certificates it signed (0: none): a key rotated out is
  // trusted until then.
  int64_t signed_until_s = 0;
  std::optional<int64_t> deleted_at_us;  // deleted early (DeleteCaKey)

  bool operator==(const CaKeyRecord&) const = default;
};

// A certificate the CA issued (the certificate itself is not kept: only what revoking it
// and the KRL need, and the audit trail).
struct CertificateRecord {
  int64_t project_id = 0;
  int64_t serial = 0;  // unique per project's CA, from 1 (OpenSSH's uint64; we stay below 2^63)
  // The certified stored key; "" for a public key the store does not hold (certified by
  // POST …/ssh_ca/sign; NULL in the database), which no deletion or disabling revokes.
  std::string key_id;
  int64_t key_owner_id = 0;  // a key not stored: the user it was certified for
  std::string key_sha256;    // SHA-256 of the certified key's blob, 32 bytes
  std::vector<std::string> principals;
  int64_t valid_after_s = 0;
  int64_t valid_before_s = 0;
  int64_t issued_at_us = 0;
  std::string issued_by;  // token id
  std::optional<int64_t> revoked_at_us;
  int64_t ca_generation = 1;  // the CA key that signed it

  bool operator==(const CertificateRecord&) const = default;
};

// What a project's KRL lists: certificates by serial, never a bare public key (anyone
// may import anyone's public key, so a key's hash in the KRL would let one user revoke
// another's key everywhere).
struct Revocations {
  // Ascending: every certificate not yet expired that was revoked, whose stored key has been
  // deleted or is disabled now, or whose owner is a disabled user (a certificate of a key
  // not stored: only if revoked or its owner disabled).
  std::vector<int64_t> serials;
  // Ascending: the host CA's certificates not yet expired that were revoked (their host
  // was deleted).
  std::vector<int64_t> host_serials;
  // The generation of the CA key that signed each, in the same order.
  std::vector<int64_t> serial_generations;
  std::vector<int64_t> host_serial_generations;
  // The earliest valid_before_s of those listed (both lists), 0 if none: the first time at
  // which the list shrinks by itself, with nothing stored changing.
  int64_t first_expiry_s = 0;
};

// What a project's generated texts (its KRL, its authorized_keys) were read at (migration
// 15): numbers that grow in the same transaction as every change to what the reads behind
// those texts answer for the project, whoever makes it (this process, another node, the
// command line). A text built after reading generation g is what the same reads answer in
// any later snapshot of generation g (until the clock retires what it lists): the rule of
// the caches that keep them (GeneratedCache).
struct ProjectGenerations {
  // Grows with every change to what RevocationsOf and CaKeysOf answer for the project: a
  // certificate revoked, or recorded already listed; a certified key deleted, disabled or
  // enabled; a user disabled, enabled or removed (that moves every project's); a CA made,
  // rotated, or one of its keys deleted; a host certificate revoked.
  int64_t revocations = 0;
  // Grows with every key made, changed or deleted in the project, and with every user
  // disabled, enabled or removed (what ListKeys answers for it, owner_enabled included).
  // nullopt where the store does not keep it: on PostgreSQL a counter that every key
  // made in a project updates would hold its row lock until commit, so the project's creates,
  // which commit concurrently, would commit one after another (see migration 3).
  std::optional<int64_t> keys;

  bool operator==(const ProjectGenerations&) const = default;
};

// A user: a person who signs in with OpenID Connect (found again by (issuer, subject),
// never by email), or a token user, whose numeric id was chosen on the command line
// (`token create --user N`; issuer and subject ""). Both kinds share one id space: a person
// never gets an id a token user has.
struct UserRecord {
  int64_t id = 0;
  std::string issuer;   // the provider's issuer URL; "" for a token user
  std::string subject;  // the provider's `sub`; "" for a token user
  std::string email;    // as the provider last said; never an identity
  std::string name;
  std::vector<std::string> groups;  // as the provider last said, in its order
  bool disabled = false;
  int64_t created_at_us = 0;
  std::optional<int64_t> last_sign_in_at_us;

  bool operator==(const UserRecord&) const = default;
};

// A host join token (docs/ssh-access.md "Hosts"): lets a server enrol itself into a project
// for hostnames that match `hostnames`, `uses_left` more times, until `expires_at_us`. Only
// the SHA-256 of its secret is stored.
struct JoinTokenRecord {
  std::string id;  // the token's public part (16 lowercase hex digits)
  int64_t project_id = 0;
  std::string secret_hash;             // SHA-256 of the secret, 32 bytes
  std::vector<std::string> hostnames;  // names or "*.name" patterns, each without a comma
  int64_t uses = 0;                    // as made
  int64_t uses_left = 0;
  int64_t expires_at_us = 0;
  int64_t created_at_us = 0;
  std::string created_by;  // the token id of who made it

  bool operator==(const JoinTokenRecord&) const = default;
};

// An enrolled host (docs/ssh-access.md "Hosts"): its names, its public keys and the
// SHA-256 of its host token's secret. The host token ("kph_<id>_<secret>") renews the
// host's certificates and reads what sshd needs; deleting the host stops it.
struct HostRecord {
  std::string id;  // 16 lowercase hex digits: also the public part of its host token
  int64_t project_id = 0;
  std::string token_hash;                // SHA-256 of the host token's secret, 32 bytes
  std::vector<std::string> hostnames;    // its certificates' principals, each without a comma
  std::vector<std::string> public_keys;  // "TYPE BASE64" of each host key, without a newline
  int64_t enrolled_at_us = 0;
  int64_t renewed_at_us = 0;   // enrolled_at_us until the first renewal
  int64_t valid_before_s = 0;  // when its newest certificates expire
  std::string join_token_id;   // the join token it enrolled with

  bool operator==(const HostRecord&) const = default;
};

// A certificate the host CA issued to a host (one per host key and issue).
struct HostCertificateRecord {
  int64_t project_id = 0;
  int64_t serial = 0;  // from the project's host CA (NextSerial(project, kHost))
  std::string host_id;
  std::string key_sha256;  // SHA-256 of the certified key's blob, 32 bytes
  std::vector<std::string> principals;
  int64_t valid_after_s = 0;
  int64_t valid_before_s = 0;
  int64_t issued_at_us = 0;
  std::optional<int64_t> revoked_at_us;
  int64_t ca_generation = 1;  // the host CA key that signed it

  bool operator==(const HostCertificateRecord&) const = default;
};

// A grant: a role in projects, with SSH principals, for a group or one user (exactly one of
// group, user_id and user_email is set): docs/people.md, "Grants".
struct GrantRecord {
  std::string id;                 // UUIDv7 text, made by the caller
  std::string group;              // a group name as the provider sends it; "" if not a group's
  int64_t user_id = 0;            // 0 if not a user's
  std::string user_email;         // "" if not a user's by email
  std::vector<int64_t> projects;  // ascending, not empty
  std::string role;               // "viewer", "editor" or "admin"
  std::vector<std::string> principals;  // each non-empty, without a comma
  int64_t created_at_us = 0;

  bool operator==(const GrantRecord&) const = default;
};

// A sign-in under way (GET /auth/login to /auth/callback): found by the SHA-256 of its
// `state`, used once. Nothing in it is secret: the PKCE verifier and the nonce are derived
// from the state and the server's secret, so neither is ever stored.
struct LoginRecord {
  std::string state_hash;  // SHA-256 of the state, 32 raw bytes
  std::string return_to;   // a path on this origin
  int64_t created_at_us = 0;
  int64_t expires_at_us = 0;

  bool operator==(const LoginRecord&) const = default;
};

// A device authorization under way (RFC 8628; `keypaird login`): found by the SHA-256 of
// its device code (the client's secret) or by its user code (what the person types).
struct DeviceRecord {
  std::string code_hash;  // SHA-256 of the device code, 32 raw bytes
  std::string user_code;  // "BCDF-GHJK"
  int64_t created_at_us = 0;
  int64_t expires_at_us = 0;
  int64_t interval_s = 5;
  std::optional<int64_t> last_poll_us;
  std::string state = "pending";  // "pending", "approved" or "denied"
  int64_t user_id = 0;            // who decided; 0 while pending
  std::string session_id;         // the session that decided; "" while pending

  bool operator==(const DeviceRecord&) const = default;
};

// One change as the audit trail records it (docs/audit.md): written by the store in the
// same transaction as the change it describes, so that a change never lands without its
// event and a change that fails leaves none. Public facts only: names, ids, fingerprints,
// principals; never a private key, a token's secret or its hash.
struct EventRecord {
  std::string id;            // UUID, globally unique
  int64_t time_us = 0;       // when the change was made
  std::string action;        // e.g. "key.create" (docs/audit.md lists them); "" = no event
  int64_t project_id = 0;    // 0: not a project's (tokens)
  int64_t actor_user_id = 0;     // 0: nobody known (the command line)
  std::string actor_token_id;    // the token the request came with; "" for the CLI
  std::string via;               // "token" or "cli"
  std::string source_ip;         // "" when not known
  std::string user_agent;        // "" when not sent
  std::string resource_type;     // "ssh_key", "certificate", "token", "ssh_ca", "user", "grant"
  std::string resource_id;
  std::string resource_name;
  std::string details = "{}";    // a JSON object's text

  bool operator==(const EventRecord&) const = default;
};

// A position in the events: the last event of the previous page.
struct EventCursor {
  int64_t time_us = 0;
  std::string id;

  bool operator==(const EventCursor&) const = default;
};

// Which events, in which order. Every filter that is set must hold.
struct EventQuery {
  // Only events of these projects; events of no project (0) are included only when 0 is
  // listed. Unset: every event.
  std::optional<std::vector<int64_t>> project_ids;
  std::optional<int64_t> actor_user_id;
  std::vector<std::string> actions;       // any of them; empty = any
  std::vector<std::string> resource_ids;  // any of them; empty = any
  std::vector<std::string> resource_types;  // any of them; empty = any
  std::string resource_name;                // exact; "" = any
  std::vector<std::string> source_ips;      // any of them; empty = any
  std::vector<std::string> user_agents;     // any of them, exact; empty = any
  std::optional<int64_t> since_us;        // time >= since
  std::optional<int64_t> until_us;        // time < until
  // Newest first (time DESC, id DESC), or oldest first with `ascending`.
  bool ascending = false;
  std::optional<EventCursor> after;  // keyset paging: only events after this one
  int64_t offset = 0;                // >= 0
  int64_t limit = 100;               // >= 0
  bool with_total = false;           // count the matches (ignoring offset and limit)
};

struct EventPage {
  std::vector<EventRecord> events;
  int64_t total = 0;  // when asked for
};

// Reads of keys and tokens. Each call of a KeyStore reads its own snapshot of the
// database; a reader from KeyStore::Snapshot answers every call from one snapshot.
class KeyReader {
 public:
  virtual ~KeyReader() = default;

  // OK; kNotFound if no key has this id.
  virtual StatusOr<KeyRecord> GetKey(std::string_view id) = 0;

  // OK; kNotFound if the project has no key of this name.
  virtual StatusOr<KeyRecord> GetKeyByName(int64_t project_id, std::string_view name) = 0;

  // OK (possibly empty page); kInvalidArgument if offset < 0 or limit < -1. Uses
  // indexes: a page costs O(offset + limit), not a scan of the project, for a query with
  // project_id and without name_contains (`total` still counts the project's matches).
  // The page and its total come from one consistent snapshot.
  virtual StatusOr<KeyPage> ListKeys(const ListQuery& query) = 0;

  // OK (revoked tokens too: the caller decides); kNotFound.
  virtual StatusOr<TokenRecord> GetToken(std::string_view id) = 0;

  // OK (possibly empty); kInvalidArgument if offset or limit < 0.
  virtual StatusOr<EventPage> ListEvents(const EventQuery& query) = 0;

  // OK (disabled users too: the caller decides); kNotFound.
  virtual StatusOr<UserRecord> GetUser(int64_t id) = 0;

  // The credentials' generation (migration 14): a number that grows in the same transaction
  // as every change to what GetToken or GetHost answers for an id that exists — a token
  // revoked (with a session's access tokens), a user disabled, enabled, made or removed, a
  // host deleted — whoever makes it (this process, another node, the command line), and
  // with nothing else (a key's writes never move it). So a record GetToken read in a
  // snapshot of generation g is what GetToken answers in any snapshot of generation g: the
  // token cache's rule (auth::TokenCache). One read of a one-row table.
  virtual StatusOr<int64_t> AuthGeneration() = 0;

  // The project's generations (ProjectGenerations). The in-memory fake moves both with every
  // write. One read of a small table.
  virtual StatusOr<ProjectGenerations> GenerationsOf(int64_t project_id) = 0;
};

class KeyStore : public KeyReader {
 public:
  // Called once with the outcome of an asynchronous write, on whichever thread finished
  // it (possibly the caller's, before the call returns). It must be quick: on SQLite it
  // runs on the writer thread, between commits.
  using WriteDone = std::function<void(Status)>;

  // A reader whose calls all see one snapshot of the database, taken at its first read
  // and kept until it is destroyed: a request that reads a token and then a key pays
  // for one read transaction instead of two (SQLite). Writes made meanwhile, through
  // this store or elsewhere, are not seen by it. SQLite: while the database has not
  // changed since they were last read, the generations come from a memo without a
  // transaction (sqlite/unchanged.h); a later read the memo cannot answer begins the
  // transaction, which then sees the database as it is — newer than those answers if a
  // commit came between, never older. Hold it briefly, on one thread at a
  // time: it may pin a pooled connection. Default (PostgreSQL, the fake): each call reads
  // on its own, as the store does. Never fails: a reader that cannot get a connection
  // fails its reads with kUnavailable.
  virtual std::unique_ptr<KeyReader> Snapshot();

  // Every write below records `event` with the change, in the same transaction (unless
  // event.action is empty: then none), and only if the change is made.

  // Inserts a new key. OK; kAlreadyExists if the (project_id, name) pair or the id is
  // already taken. The uniqueness is enforced atomically by the backend (a unique
  // constraint), never by a check-then-insert race.
  virtual Status InsertKey(const KeyRecord& key, const EventRecord& event) = 0;

  // InsertKey without waiting: `done` gets its status once the key is durably stored
  // (or not). SQLite queues it for the group-committing writer, which calls `done` after
  // the commit, so no thread waits for the disk; the default runs InsertKey and then
  // `done` on the calling thread.
  virtual void InsertKeyAsync(KeyRecord key, EventRecord event, WriteDone done);

  // Deletes the key, if its revision is `expected_revision` when given. OK; kNotFound if
  // no key has this id; kFailedPrecondition if the revision differs.
  virtual Status DeleteKey(std::string_view id, std::optional<int64_t> expected_revision,
                           const EventRecord& event) = 0;

  // Applies `update` (and bumps revision and updated_at), if the key's revision is
  // `expected_revision` when given, and returns the updated key. OK; kNotFound;
  // kAlreadyExists if the new name is taken in the project; kFailedPrecondition if the
  // revision differs. Atomic: all of it or nothing.
  virtual StatusOr<KeyRecord> UpdateKey(std::string_view id, const KeyUpdate& update,
                                        std::optional<int64_t> expected_revision,
                                        const EventRecord& event) = 0;

  // OK; kAlreadyExists if the id is taken. Makes the token's user (user_id >= 1) a token
  // user, created at the token's time, if it is no user yet (as EnsureUser, in the same
  // transaction, without an event of its own): a token's user id is never free for a
  // person, whoever wrote the token.
  virtual Status InsertToken(const TokenRecord& token, const EventRecord& event) = 0;
  // OK; ordered by created_at, then id.
  virtual StatusOr<std::vector<TokenRecord>> ListTokens() = 0;
  // Marks the token revoked at `at_us`, and the access tokens whose parent (session) it
  // is. OK (also if it was revoked already: idempotent,
  // the first revocation time is kept, and only the first revocation is an event);
  // kNotFound.
  virtual Status RevokeToken(std::string_view id, int64_t at_us, const EventRecord& event) = 0;

  // --- Users and grants (docs/people.md).

  // A person's sign-in: finds the user by (claims.issuer, claims.subject) or makes one
  // with the next free id (one more than the highest id in use, token users' included;
  // concurrent sign-ins, on any node, never get the same id, and concurrent first
  // sign-ins of one person make one user). Stores claims.email, name and groups and
  // last_sign_in_at = `now_us` (and created_at, when made), and returns the stored user.
  // A disabled user's sign-in changes nothing and records no event: the user is returned
  // with disabled = true and the caller refuses it. The store fills event.resource_id
  // with the user's id in decimal (the caller cannot know it before a first sign-in) and
  // adds "created": true|false to the details object. Group names that are "" are not
  // kept (they name no group). OK; kInvalidArgument if issuer or subject is "".
  virtual StatusOr<UserRecord> SignIn(const UserRecord& claims, int64_t now_us,
                                      const EventRecord& event) = 0;
  // A token user's row (issuer and subject ""), made at `now_us` if there is no user with
  // this id (the event only then). OK, also if the id is a user already (a person too:
  // the token is then that person's); kInvalidArgument if id < 1.
  virtual Status EnsureUser(int64_t id, int64_t now_us, const EventRecord& event) = 0;
  // OK; ordered by id.
  virtual StatusOr<std::vector<UserRecord>> ListUsers() = 0;
  // Disables or enables the user (its sessions end on every node: the caller checks the
  // flag). Idempotent: no change, no event. `now_us` is the time of the request (the
  // event carries it; the record has no field for it). OK; kNotFound.
  virtual Status SetUserDisabled(int64_t id, bool disabled, int64_t now_us,
                                 const EventRecord& event) = 0;

  // OK; kAlreadyExists if the id is taken; kInvalidArgument unless exactly one of group,
  // user_id and user_email is set, projects is ascending and not empty, role is "viewer",
  // "editor" or "admin", and each principal is non-empty without a comma; kNotFound if
  // user_id names no user (a grant must not wait for a person to be given that id).
  virtual Status InsertGrant(const GrantRecord& grant, const EventRecord& event) = 0;
  // OK; ordered by created_at, then id.
  virtual StatusOr<std::vector<GrantRecord>> ListGrants() = 0;
  // OK; kNotFound.
  virtual Status DeleteGrant(std::string_view id, const EventRecord& event) = 0;

  // --- Hosts (docs/ssh-access.md "Hosts").

  // OK; kAlreadyExists if the id is taken; kInvalidArgument unless the project is >= 1,
  // the secret hash 32 bytes, hostnames 1..64 without commas, 1 <= uses_left <= uses.
  virtual Status InsertJoinToken(const JoinTokenRecord& token, const EventRecord& event) = 0;
  // The project's join tokens, used up and expired ones too, oldest first. OK.
  virtual StatusOr<std::vector<JoinTokenRecord>> ListJoinTokens(int64_t project_id) = 0;
  // One join token, any project's (the caller checks), by its id. OK; kNotFound.
  virtual StatusOr<JoinTokenRecord> GetJoinToken(std::string_view id) = 0;
  // OK; kNotFound (also for another project's token).
  virtual Status DeleteJoinToken(int64_t project_id, std::string_view id,
                                 const EventRecord& event) = 0;

  // Enrols `host` with one use of the join token `join_token_id`, in one transaction: the
  // use is spent only if `join_secret_hash` is its secret's, a use is left, it has not
  // expired at `now_us` and it is the host's project's — atomically, so concurrent
  // enrolments on any node never spend more uses than it had — and then the host, its
  // `certificates` and `event` are stored; a failure stores nothing and spends nothing.
  // OK; kNotFound (kJoinTokenNotUsable's words, not saying which condition failed);
  // kAlreadyExists if the host id is taken; kInvalidArgument for a record breaking
  // HostRecord's rules (project >= 1, 32-byte hash, 1..64 hostnames, 1..16 keys).
  virtual Status EnrollHost(std::string_view join_token_id, std::string_view join_secret_hash,
                            int64_t now_us, const HostRecord& host,
                            const std::vector<HostCertificateRecord>& certificates,
                            const EventRecord& event) = 0;
  // OK (any project's: the caller checks); kNotFound.
  virtual StatusOr<HostRecord> GetHost(std::string_view id) = 0;
  // The project's hosts, oldest enrolment first. OK.
  virtual StatusOr<std::vector<HostRecord>> ListHosts(int64_t project_id) = 0;
  // A renewal: the host's public_keys, renewed_at_us and valid_before_s become `host`'s
  // (its other fields are kept) and `certificates` are stored, with `event`. OK;
  // kNotFound if the host is gone (deleted meanwhile: nothing is stored).
  virtual Status RenewHost(const HostRecord& host,
                           const std::vector<HostCertificateRecord>& certificates,
                           const EventRecord& event) = 0;
  // Deletes the host (its token stops at once) and revokes at `at_us` each of its
  // certificates not revoked yet, so that they enter the project's KRL. OK; kNotFound (also
  // for another project's host).
  virtual Status DeleteHost(int64_t project_id, std::string_view id, int64_t at_us,
                            const EventRecord& event) = 0;

  // --- Sign-in (docs/people.md).

  // Stores a sign-in under way, and deletes the expired ones (at `created_at_us`). OK;
  // kAlreadyExists if the state hash is taken.
  virtual Status StartLogin(const LoginRecord& login) = 0;
  // Takes the sign-in with this state hash out of the store: it can be finished once,
  // whoever asks first, on any node. kNotFound if there is none, or it expired before
  // `now_us` (it is gone either way).
  virtual StatusOr<LoginRecord> FinishLogin(std::string_view state_hash, int64_t now_us) = 0;
  // Stores a device authorization, and deletes the expired ones (at `created_at_us`). OK;
  // kAlreadyExists if its code hash or user code is taken (the caller draws again).
  virtual Status StartDevice(const DeviceRecord& device) = 0;
  // A person's decision on the pending, unexpired authorization `user_code`: state
  // "approved" or "denied", by `user_id` in `session_id`. OK; kNotFound.
  virtual Status DecideDevice(std::string_view user_code, bool approved, int64_t user_id,
                              std::string_view session_id, int64_t now_us) = 0;
  // A client's poll: the authorization as it was before this poll. In the same transaction
  // the poll is recorded (last_poll_us = now_us) or, when it was decided, the row is
  // deleted: a decision is taken once. kNotFound (also once taken).
  virtual StatusOr<DeviceRecord> PollDevice(std::string_view code_hash, int64_t now_us) = 0;
  // An event that changes nothing else: a refused sign-in, a sign-out. OK; kInvalidArgument
  // if its action is "".
  virtual Status RecordEvent(const EventRecord& event) = 0;

  // The audit trail's retention: deletes up to `max_rows` of the oldest events from before
  // `before_us` and says how many it deleted (fewer than max_rows: none older is left). A
  // small batch is one short write, so pruning never holds the writer long. OK;
  // kInvalidArgument if max_rows < 1.
  virtual StatusOr<int64_t> PruneEvents(int64_t before_us, int64_t max_rows) = 0;

  // --- The SSH certificate authority (docs/ssh-access.md "Certificates").

  // The project's CA of `candidate.kind`, made from `candidate` if the project has none of
  // that kind yet: the first of concurrent callers (on any node) wins and every caller gets
  // the winner's (`event` is recorded only by the winner). OK.
  // Project 0 (no real project) holds the CA module's check of the key-encryption key.
  virtual StatusOr<CaRecord> GetOrCreateCa(const CaRecord& candidate,
                                           const EventRecord& event) = 0;
  // The project's CA of that kind (its signing key), read only. OK; kNotFound if the
  // project has none.
  virtual StatusOr<CaRecord> GetCa(int64_t project_id, CaKind kind) = 0;
  // Rotation: `next` (its project, kind, public key, sealed seed and created_at_us) becomes
  // the CA's signing key, of the generation after the current one, which is kept as a key
  // rotated out at next.created_at_us, without its seed. Concurrent rotations on any node
  // take turns. Returns the new record. OK; kNotFound if the project has no such CA.
  virtual StatusOr<CaRecord> RotateCa(const CaRecord& next, const EventRecord& event) = 0;
  // Every key of the project's CA of that kind: the signing key first, then those rotated
  // out, newest first, deleted ones included. OK (empty if the project has no such CA).
  virtual StatusOr<std::vector<CaKeyRecord>> CaKeysOf(int64_t project_id, CaKind kind) = 0;
  // Deletes a key rotated out, early: marks it deleted at `at_us` and revokes (at `at_us`)
  // every certificate it signed that is not revoked yet. OK; kNotFound if there is no such
  // key, or it is deleted already; kFailedPrecondition for the signing key.
  virtual Status DeleteCaKey(int64_t project_id, CaKind kind, int64_t generation,
                             int64_t at_us, const EventRecord& event) = 0;
  // A fresh serial for the project's CA of that kind, never handed out before by it (also
  // across nodes and concurrent callers). OK; kNotFound if the project has no such CA.
  virtual StatusOr<int64_t> NextSerial(int64_t project_id, CaKind kind) = 0;
  // OK; kAlreadyExists if the serial is recorded already.
  virtual Status RecordCertificate(const CertificateRecord& certificate,
                                   const EventRecord& event) = 0;
  // OK; kNotFound.
  virtual StatusOr<CertificateRecord> GetCertificate(int64_t project_id, int64_t serial) = 0;
  // Marks it revoked at `at_us` (idempotent: the first time is kept, and only the first
  // revocation is an event). OK; kNotFound.
  virtual Status RevokeCertificate(int64_t project_id, int64_t serial, int64_t at_us,
                                   const EventRecord& event) = 0;
  // What the project's KRL must list at `now_s`: every certificate still valid then that
  // was revoked, whose stored key is deleted or disabled, or whose owner (key_owner_id) is a
  // disabled user (enabling the key or the user again takes its certificates out). A
  // certificate without a stored key (key_id "") only when revoked or its owner disabled.
  // And the host CA's certificates still valid then that were revoked (host_serials).
  virtual StatusOr<Revocations> RevocationsOf(int64_t project_id, int64_t now_s) = 0;

  // OK if the database answers now; kUnavailable otherwise. Cheap.
  virtual Status Ping() = 0;
};

struct StoreOptions {
  // Apply pending schema migrations when opening (serve does; tests do). When false and
  // the schema is not current, OpenStore fails with a message that says to run
  // `keypaird migrate`.
  bool apply_migrations = true;
  // Connections kept open (SQLite: readers; the backend serialises writers).
  int pool_size = 4;
  // Optional, not owned: where the SQLite writer reports its queue wait, batch sizes and
  // commit latency (keypaird_store_write_* on /metrics).
  Metrics* metrics = nullptr;
  // Fills a key's type, bits, comment and fingerprint_sha256 from its public_key: the
  // migration that adds those columns (4) runs it over the keys already stored. The
  // store does not parse keys itself (sshkey/ is above it). Needed only when such keys
  // exist; without it that migration fails with kInternal.
  std::function<Status(KeyRecord* key)> describe_key;
};

// Opens a store by URL: "sqlite:PATH" (PATH's parent directory is created; the file is
// created on first open), "sqlite::memory:" for a private in-memory database, or
// "postgresql://USER@HOST:PORT/DB" (also "postgres://"; passed to libpq as is).
// kInvalidArgument for an unknown scheme, bad URL or pool_size < 1 (the message never
// echoes the URL: it may hold a password); kUnavailable if it cannot open, if the schema
// is behind and apply_migrations is false ("run `keypaird migrate`"), or if the database
// was migrated by a newer keypaird (unknown migration versions).
StatusOr<std::unique_ptr<KeyStore>> OpenStore(const std::string& url,
                                              const StoreOptions& options = {});

// The in-memory fake: same contract, no persistence. For unit tests.
std::unique_ptr<KeyStore> NewMemoryStore();

}  // namespace keypaird::store

#endif  // KEYPAIRD_STORE_KEY_STORE_H_
