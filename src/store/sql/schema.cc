#include "store/sql/schema.h"

#include <iterator>
#include <string>

namespace keypaird::store::sql {
namespace {

// Text columns that are compared or sorted use bytewise order and equality on both
// backends (SQLite's default BINARY collation; COLLATE "C" on PostgreSQL, whatever locale
// the database has), and LIKE/ILIKE fold ASCII letters only, as the contract says.
constexpr MigrationStep kSteps[] = {
    // 1: keys. UNIQUE(project_id, name) enforces name uniqueness and serves name order
    // (names are unique in a project, so no id tie-break is needed there); the two
    // created_at indexes serve "created_at ASC, id ASC" and "created_at DESC, id ASC"
    // as index walks (one index walked backwards would give "DESC, id DESC").
    {R"sql(
      CREATE TABLE keys (
        id TEXT PRIMARY KEY NOT NULL,
        project_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        public_key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        shared_in_project INTEGER NOT NULL CHECK (shared_in_project IN (0, 1)),
        created_at_us INTEGER NOT NULL,
        UNIQUE (project_id, name)
      );
      CREATE INDEX keys_by_project_created ON keys (project_id, created_at_us, id);
      CREATE INDEX keys_by_project_created_desc ON keys (project_id, created_at_us DESC, id);
    )sql",
     R"sql(
      CREATE TABLE keys (
        id TEXT COLLATE "C" NOT NULL,
        project_id BIGINT NOT NULL,
        user_id BIGINT NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
        public_key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        shared_in_project BOOLEAN NOT NULL,
        created_at_us BIGINT NOT NULL,
        CONSTRAINT keys_pkey PRIMARY KEY (id),
        CONSTRAINT keys_by_project_name UNIQUE (project_id, name)
      );
      CREATE INDEX keys_by_project_created ON keys (project_id, created_at_us, id);
      CREATE INDEX keys_by_project_created_desc ON keys (project_id, created_at_us DESC, id);
    )sql"},
    // 2: API tokens. `projects` lists the token's projects ascending (SQLite: "1,2";
    // PostgreSQL: an array); empty for admin tokens.
    {R"sql(
      CREATE TABLE tokens (
        id TEXT PRIMARY KEY NOT NULL,
        user_id INTEGER NOT NULL,
        admin INTEGER NOT NULL CHECK (admin IN (0, 1)),
        projects TEXT NOT NULL,
        secret_hash BLOB NOT NULL,
        created_at_us INTEGER NOT NULL,
        revoked_at_us INTEGER
      );
      CREATE INDEX tokens_by_created ON tokens (created_at_us, id);
    )sql",
     R"sql(
      CREATE TABLE tokens (
        id TEXT COLLATE "C" NOT NULL,
        user_id BIGINT NOT NULL,
        admin BOOLEAN NOT NULL,
        projects BIGINT[] NOT NULL,
        secret_hash BYTEA NOT NULL,
        created_at_us BIGINT NOT NULL,
        revoked_at_us BIGINT,
        CONSTRAINT tokens_pkey PRIMARY KEY (id)
      );
      CREATE INDEX tokens_by_created ON tokens (created_at_us, id);
    )sql"},
    // 3: key counts per (project, owner, shared), kept by triggers, so that a list's
    // total is a sum over a project's few (owner, shared) groups instead of a walk over
    // every key of the project, whose cost grew with the project on every list request.
    // Rows whose count drops to 0 stay (they add nothing to a sum).
    //
    // PostgreSQL keeps counting the keys (an index-only count in the page query): there a
    // counter row would be a hot spot, since every create in a project would update it
    // and hold its row lock until commit, so the creates of a project, which commit
    // concurrently today, would commit one after another. The step exists there too so
    // that both backends have the same versions.
    {R"sql(
      CREATE TABLE key_counts (
        project_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        shared_in_project INTEGER NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (project_id, user_id, shared_in_project)
      ) WITHOUT ROWID;
      INSERT INTO key_counts (project_id, user_id, shared_in_project, n)
        SELECT project_id, user_id, shared_in_project, count(*) FROM keys GROUP BY 1, 2, 3;
      CREATE TRIGGER keys_counted_insert AFTER INSERT ON keys BEGIN
        INSERT INTO key_counts (project_id, user_id, shared_in_project, n)
          VALUES (NEW.project_id, NEW.user_id, NEW.shared_in_project, 1)
          ON CONFLICT (project_id, user_id, shared_in_project) DO UPDATE SET n = n + 1;
      END;
      CREATE TRIGGER keys_counted_delete AFTER DELETE ON keys BEGIN
        UPDATE key_counts SET n = n - 1
          WHERE project_id = OLD.project_id AND user_id = OLD.user_id
            AND shared_in_project = OLD.shared_in_project;
      END;
      CREATE TRIGGER keys_counted_update
        AFTER UPDATE OF project_id, user_id, shared_in_project ON keys BEGIN
        UPDATE key_counts SET n = n - 1
          WHERE project_id = OLD.project_id AND user_id = OLD.user_id
            AND shared_in_project = OLD.shared_in_project;
        INSERT INTO key_counts (project_id, user_id, shared_in_project, n)
          VALUES (NEW.project_id, NEW.user_id, NEW.shared_in_project, 1)
          ON CONFLICT (project_id, user_id, shared_in_project) DO UPDATE SET n = n + 1;
      END;
    )sql",
     "SELECT 1"},
    // 4: what keypaird's own API shows of a key (openapi/keypaird.yaml, NativeKey), its
    // labels and read-only tokens. type, bits, comment and fingerprint_sha256 of the keys
    // already stored are filled by the runner after this step (MigrationStep::describe).
    // key_labels holds each label once more, with the key's project and creation time,
    // so that a selector's equality term walks an index in creation order instead of
    // the project; the labels column is what reads return. Fingerprint lookups (across
    // projects too) use the two fingerprint indexes.
    {R"sql(
      ALTER TABLE keys ADD COLUMN type TEXT NOT NULL DEFAULT '';
      ALTER TABLE keys ADD COLUMN bits INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE keys ADD COLUMN comment TEXT NOT NULL DEFAULT '';
      ALTER TABLE keys ADD COLUMN fingerprint_sha256 TEXT NOT NULL DEFAULT '';
      ALTER TABLE keys ADD COLUMN labels TEXT NOT NULL DEFAULT '';
      ALTER TABLE keys ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
      ALTER TABLE keys ADD COLUMN expires_at_us INTEGER;
      ALTER TABLE keys ADD COLUMN updated_at_us INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE keys ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
      UPDATE keys SET updated_at_us = created_at_us;
      CREATE INDEX keys_by_fingerprint_sha256 ON keys (fingerprint_sha256);
      CREATE INDEX keys_by_fingerprint ON keys (fingerprint);
      CREATE TABLE key_labels (
        key_id TEXT NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
        project_id INTEGER NOT NULL,
        created_at_us INTEGER NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (key_id, name)
      ) WITHOUT ROWID;
      CREATE INDEX key_labels_by_value ON key_labels (project_id, name, value, created_at_us, key_id);
      CREATE INDEX key_labels_by_value_desc
        ON key_labels (project_id, name, value, created_at_us DESC, key_id);
      ALTER TABLE tokens ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0 CHECK (read_only IN (0, 1));
      ALTER TABLE tokens ADD COLUMN principals TEXT NOT NULL DEFAULT '';
    )sql",
     R"sql(
      ALTER TABLE keys ADD COLUMN type TEXT COLLATE "C" NOT NULL DEFAULT '',
        ADD COLUMN bits INTEGER NOT NULL DEFAULT 0,
        ADD COLUMN comment TEXT NOT NULL DEFAULT '',
        ADD COLUMN fingerprint_sha256 TEXT COLLATE "C" NOT NULL DEFAULT '',
        ADD COLUMN labels TEXT NOT NULL DEFAULT '',
        ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE,
        ADD COLUMN expires_at_us BIGINT,
        ADD COLUMN updated_at_us BIGINT NOT NULL DEFAULT 0,
        ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
      UPDATE keys SET updated_at_us = created_at_us;
      CREATE INDEX keys_by_fingerprint_sha256 ON keys (fingerprint_sha256);
      CREATE INDEX keys_by_fingerprint ON keys (fingerprint);
      CREATE TABLE key_labels (
        key_id TEXT COLLATE "C" NOT NULL REFERENCES keys (id) ON DELETE CASCADE,
        project_id BIGINT NOT NULL,
        created_at_us BIGINT NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
        value TEXT COLLATE "C" NOT NULL,
        CONSTRAINT key_labels_pkey PRIMARY KEY (key_id, name)
      );
      CREATE INDEX key_labels_by_value ON key_labels (project_id, name, value, created_at_us, key_id);
      CREATE INDEX key_labels_by_value_desc
        ON key_labels (project_id, name, value, created_at_us DESC, key_id);
      ALTER TABLE tokens ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT FALSE,
        ADD COLUMN principals TEXT NOT NULL DEFAULT '';
    )sql",
     /*describe_keys=*/true},
    // 5: the SSH certificate authority of each project (its seed sealed by the CA module)
    // and the certificates it issued. next_serial hands out serials: a signer takes one
    // with an atomic UPDATE ... RETURNING, which also serialises nodes on PostgreSQL.
    {R"sql(
      CREATE TABLE ssh_cas (
        project_id INTEGER PRIMARY KEY NOT NULL,
        public_key TEXT NOT NULL,
        sealed_seed BLOB NOT NULL,
        created_at_us INTEGER NOT NULL,
        next_serial INTEGER NOT NULL DEFAULT 1
      );
      CREATE TABLE certificates (
        project_id INTEGER NOT NULL,
        serial INTEGER NOT NULL,
        key_id TEXT NOT NULL,
        key_owner_id INTEGER NOT NULL,
        key_sha256 BLOB NOT NULL,
        principals TEXT NOT NULL,
        valid_after_s INTEGER NOT NULL,
        valid_before_s INTEGER NOT NULL,
        issued_at_us INTEGER NOT NULL,
        issued_by TEXT NOT NULL,
        revoked_at_us INTEGER,
        PRIMARY KEY (project_id, serial)
      );
      CREATE INDEX certificates_by_key ON certificates (key_id);
    )sql",
     R"sql(
      CREATE TABLE ssh_cas (
        project_id BIGINT NOT NULL,
        public_key TEXT NOT NULL,
        sealed_seed BYTEA NOT NULL,
        created_at_us BIGINT NOT NULL,
        next_serial BIGINT NOT NULL DEFAULT 1,
        CONSTRAINT ssh_cas_pkey PRIMARY KEY (project_id)
      );
      CREATE TABLE certificates (
        project_id BIGINT NOT NULL,
        serial BIGINT NOT NULL,
        key_id TEXT COLLATE "C" NOT NULL,
        key_owner_id BIGINT NOT NULL,
        key_sha256 BYTEA NOT NULL,
        principals TEXT NOT NULL,
        valid_after_s BIGINT NOT NULL,
        valid_before_s BIGINT NOT NULL,
        issued_at_us BIGINT NOT NULL,
        issued_by TEXT NOT NULL,
        revoked_at_us BIGINT,
        CONSTRAINT certificates_pkey PRIMARY KEY (project_id, serial)
      );
      CREATE INDEX certificates_by_key ON certificates (key_id);
    )sql"},
    // 6: fingerprint lookups in the lists' order. The indexes of step 4 found every key of a
    // fingerprint and sorted them: fine for a key imported once, O(matches) for one shared
    // by many projects (a CI key, a team key). With the order in the index a page walks only
    // as far as its limit.
    {R"sql(
      DROP INDEX keys_by_fingerprint_sha256;
      DROP INDEX keys_by_fingerprint;
      CREATE INDEX keys_by_fingerprint_sha256 ON keys (fingerprint_sha256, created_at_us DESC, id);
      CREATE INDEX keys_by_fingerprint ON keys (fingerprint, created_at_us DESC, id);
    )sql",
     R"sql(
      DROP INDEX keys_by_fingerprint_sha256;
      DROP INDEX keys_by_fingerprint;
      CREATE INDEX keys_by_fingerprint_sha256 ON keys (fingerprint_sha256, created_at_us DESC, id);
      CREATE INDEX keys_by_fingerprint ON keys (fingerprint, created_at_us DESC, id);
    )sql"},
    // 7: the audit trail (docs/audit.md): one row per change, written in the change's
    // transaction, so each B-tree it touches is paid by every write: three, two of them
    // appended to (ids are UUIDv7). The table is ordered by (time, id), the newest-first
    // walk over everything (SQLite: WITHOUT ROWID, the table is that B-tree); a project's
    // walk and a resource's history have an index each.
    {R"sql(
      CREATE TABLE events (
        id TEXT NOT NULL,
        time_us INTEGER NOT NULL,
        action TEXT NOT NULL,
        project_id INTEGER NOT NULL,
        actor_user_id INTEGER NOT NULL,
        actor_token_id TEXT NOT NULL,
        via TEXT NOT NULL,
        source_ip TEXT NOT NULL,
        user_agent TEXT NOT NULL,
        resource_type TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        resource_name TEXT NOT NULL,
        details TEXT NOT NULL,
        PRIMARY KEY (time_us, id)
      ) WITHOUT ROWID;
      CREATE INDEX events_by_project_time ON events (project_id, time_us, id);
      CREATE INDEX events_by_resource ON events (resource_id, time_us, id);
    )sql",
     R"sql(
      CREATE TABLE events (
        id TEXT COLLATE "C" NOT NULL,
        time_us BIGINT NOT NULL,
        action TEXT COLLATE "C" NOT NULL,
        project_id BIGINT NOT NULL,
        actor_user_id BIGINT NOT NULL,
        actor_token_id TEXT COLLATE "C" NOT NULL,
        via TEXT NOT NULL,
        source_ip TEXT NOT NULL,
        user_agent TEXT NOT NULL,
        resource_type TEXT NOT NULL,
        resource_id TEXT COLLATE "C" NOT NULL,
        resource_name TEXT NOT NULL,
        details TEXT NOT NULL,
        CONSTRAINT events_pkey PRIMARY KEY (time_us, id)
      );
      CREATE INDEX events_by_project_time ON events (project_id, time_us, id);
      CREATE INDEX events_by_resource ON events (resource_id, time_us, id);
    )sql"},
    // 8: users and grants (docs/people.md). People and token
    // users share one id space, so every user id already in tokens or keys becomes a token
    // user here (made when first seen), and a person made later takes max(id) + 1. A token
    // user has no identity: issuer and subject are NULL in the table ("" in a UserRecord),
    // which UNIQUE (issuer, subject) never finds equal on either backend, so it needs no
    // partial index (whose predicate PostgreSQL's generic plans could not prove for a
    // lookup by parameters). `groups` is EncodeGroups' text; a grant's projects and
    // principals are stored as a token's. Grants are few: sign-in reads them all.
    {R"sql(
      CREATE TABLE users (
        id INTEGER PRIMARY KEY NOT NULL,
        issuer TEXT,
        subject TEXT,
        email TEXT NOT NULL DEFAULT '',
        name TEXT NOT NULL DEFAULT '',
        groups TEXT NOT NULL DEFAULT '',
        disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
        created_at_us INTEGER NOT NULL,
        last_sign_in_at_us INTEGER,
        UNIQUE (issuer, subject),
        CHECK ((issuer IS NULL) = (subject IS NULL) AND issuer <> '' AND subject <> '')
      );
      INSERT INTO users (id, created_at_us)
        SELECT user_id, min(created_at_us) FROM (
          SELECT user_id, created_at_us FROM tokens
          UNION ALL SELECT user_id, created_at_us FROM keys) AS seen
        WHERE user_id >= 1 GROUP BY user_id;
      CREATE TABLE grants (
        id TEXT PRIMARY KEY NOT NULL,
        group_name TEXT NOT NULL,
        user_id INTEGER NOT NULL,
        user_email TEXT NOT NULL,
        projects TEXT NOT NULL,
        role TEXT NOT NULL,
        principals TEXT NOT NULL,
        created_at_us INTEGER NOT NULL
      );
      CREATE INDEX grants_by_created ON grants (created_at_us, id);
    )sql",
     R"sql(
      CREATE TABLE users (
        id BIGINT NOT NULL,
        issuer TEXT COLLATE "C",
        subject TEXT COLLATE "C",
        email TEXT NOT NULL DEFAULT '',
        name TEXT NOT NULL DEFAULT '',
        groups TEXT NOT NULL DEFAULT '',
        disabled BOOLEAN NOT NULL DEFAULT FALSE,
        created_at_us BIGINT NOT NULL,
        last_sign_in_at_us BIGINT,
        CONSTRAINT users_pkey PRIMARY KEY (id),
        CONSTRAINT users_by_identity UNIQUE (issuer, subject),
        CONSTRAINT users_identity
          CHECK ((issuer IS NULL) = (subject IS NULL) AND issuer <> '' AND subject <> '')
      );
      INSERT INTO users (id, created_at_us)
        SELECT user_id, min(created_at_us) FROM (
          SELECT user_id, created_at_us FROM tokens
          UNION ALL SELECT user_id, created_at_us FROM keys) AS seen
        WHERE user_id >= 1 GROUP BY user_id;
      CREATE TABLE grants (
        id TEXT COLLATE "C" NOT NULL,
        group_name TEXT COLLATE "C" NOT NULL,
        user_id BIGINT NOT NULL,
        user_email TEXT COLLATE "C" NOT NULL,
        projects BIGINT[] NOT NULL,
        role TEXT NOT NULL,
        principals TEXT NOT NULL,
        created_at_us BIGINT NOT NULL,
        CONSTRAINT grants_pkey PRIMARY KEY (id)
      );
      CREATE INDEX grants_by_created ON grants (created_at_us, id);
    )sql"},
    // 9: certificates of public keys the store does not hold (POST …/ssh_ca/sign, what
    // `keypaird login` asks for an in-memory key): their key_id is NULL. NULL rather than
    // '': a certificate without a key then never looks like one whose key was deleted, and
    // the KRL's query says so (kRevokedSerialsSql). SQLite cannot drop a NOT NULL in place,
    // so the table is copied into its new shape (certificates are few: one per signature,
    // and no other table refers to them).
    {R"sql(
      CREATE TABLE certificates_9 (
        project_id INTEGER NOT NULL,
        serial INTEGER NOT NULL,
        key_id TEXT,
        key_owner_id INTEGER NOT NULL,
        key_sha256 BLOB NOT NULL,
        principals TEXT NOT NULL,
        valid_after_s INTEGER NOT NULL,
        valid_before_s INTEGER NOT NULL,
        issued_at_us INTEGER NOT NULL,
        issued_by TEXT NOT NULL,
        revoked_at_us INTEGER,
        PRIMARY KEY (project_id, serial)
      );
      INSERT INTO certificates_9 (project_id, serial, key_id, key_owner_id, key_sha256,
                                  principals, valid_after_s, valid_before_s, issued_at_us,
                                  issued_by, revoked_at_us)
        SELECT project_id, serial, key_id, key_owner_id, key_sha256, principals, valid_after_s,
               valid_before_s, issued_at_us, issued_by, revoked_at_us FROM certificates;
      DROP TABLE certificates;
      ALTER TABLE certificates_9 RENAME TO certificates;
      CREATE INDEX certificates_by_key ON certificates (key_id);
    )sql",
     R"sql(
      ALTER TABLE certificates ALTER COLUMN key_id DROP NOT NULL;
    )sql"},
    // 10: sign-in (docs/people.md). A person's session is a token of kind 'session' that
    // ends at expires_at_us, with its rights per project in `roles` (EncodeRoles' text),
    // so a session is checked, revoked and stopped with its user exactly as a token is.
    // A sign-in under way is a login row, deleted when it is finished (or expired). A
    // device authorization (`keypaird login`) is a device_codes row until its token is
    // taken; the token it gives is of kind 'access', its parent_id the approving session's
    // (revoked with it). user_id 0 and session_id '' until someone decides.
    {R"sql(
      ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'token'
        CHECK (kind IN ('token', 'session', 'access'));
      ALTER TABLE tokens ADD COLUMN expires_at_us INTEGER;
      ALTER TABLE tokens ADD COLUMN roles TEXT NOT NULL DEFAULT '';
      ALTER TABLE tokens ADD COLUMN parent_id TEXT;
      CREATE INDEX tokens_by_parent ON tokens (parent_id) WHERE parent_id IS NOT NULL;
      CREATE TABLE logins (
        state_hash BLOB PRIMARY KEY NOT NULL,
        return_to TEXT NOT NULL,
        created_at_us INTEGER NOT NULL,
        expires_at_us INTEGER NOT NULL
      );
      CREATE INDEX logins_by_expiry ON logins (expires_at_us);
      CREATE TABLE device_codes (
        code_hash BLOB PRIMARY KEY NOT NULL,
        user_code TEXT NOT NULL UNIQUE,
        created_at_us INTEGER NOT NULL,
        expires_at_us INTEGER NOT NULL,
        interval_s INTEGER NOT NULL,
        last_poll_us INTEGER,
        state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'denied')),
        user_id INTEGER NOT NULL,
        session_id TEXT NOT NULL
      );
      CREATE INDEX device_codes_by_expiry ON device_codes (expires_at_us);
    )sql",
     R"sql(
      ALTER TABLE tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'token'
          CONSTRAINT tokens_kind CHECK (kind IN ('token', 'session', 'access')),
        ADD COLUMN expires_at_us BIGINT,
        ADD COLUMN roles TEXT NOT NULL DEFAULT '',
        ADD COLUMN parent_id TEXT COLLATE "C";
      CREATE INDEX tokens_by_parent ON tokens (parent_id) WHERE parent_id IS NOT NULL;
      CREATE TABLE logins (
        state_hash BYTEA NOT NULL,
        return_to TEXT NOT NULL,
        created_at_us BIGINT NOT NULL,
        expires_at_us BIGINT NOT NULL,
        CONSTRAINT logins_pkey PRIMARY KEY (state_hash)
      );
      CREATE INDEX logins_by_expiry ON logins (expires_at_us);
      CREATE TABLE device_codes (
        code_hash BYTEA NOT NULL,
        user_code TEXT COLLATE "C" NOT NULL,
        created_at_us BIGINT NOT NULL,
        expires_at_us BIGINT NOT NULL,
        interval_s BIGINT NOT NULL,
        last_poll_us BIGINT,
        state TEXT NOT NULL CONSTRAINT device_codes_state
          CHECK (state IN ('pending', 'approved', 'denied')),
        user_id BIGINT NOT NULL,
        session_id TEXT COLLATE "C" NOT NULL,
        CONSTRAINT device_codes_pkey PRIMARY KEY (code_hash),
        CONSTRAINT device_codes_by_user_code UNIQUE (user_code)
      );
      CREATE INDEX device_codes_by_expiry ON device_codes (expires_at_us);
    )sql"},
    // 11: host join tokens (docs/ssh-access.md "Hosts"): only the SHA-256 of the secret;
    // hostnames joined by commas (none holds one). A use is spent with one UPDATE ...
    // WHERE uses_left > 0, so concurrent enrolments on any node never overspend.
    {R"sql(
      CREATE TABLE host_join_tokens (
        id TEXT PRIMARY KEY NOT NULL,
        project_id INTEGER NOT NULL,
        secret_hash BLOB NOT NULL,
        hostnames TEXT NOT NULL,
        uses INTEGER NOT NULL,
        uses_left INTEGER NOT NULL CHECK (uses_left >= 0 AND uses_left <= uses),
        expires_at_us INTEGER NOT NULL,
        created_at_us INTEGER NOT NULL,
        created_by TEXT NOT NULL
      );
      CREATE INDEX host_join_tokens_by_project ON host_join_tokens (project_id, created_at_us);
    )sql",
     R"sql(
      CREATE TABLE host_join_tokens (
        id TEXT COLLATE "C" NOT NULL,
        project_id BIGINT NOT NULL,
        secret_hash BYTEA NOT NULL,
        hostnames TEXT NOT NULL,
        uses BIGINT NOT NULL,
        uses_left BIGINT NOT NULL,
        expires_at_us BIGINT NOT NULL,
        created_at_us BIGINT NOT NULL,
        created_by TEXT NOT NULL,
        CONSTRAINT host_join_tokens_pkey PRIMARY KEY (id),
        CONSTRAINT host_join_tokens_uses CHECK (uses_left >= 0 AND uses_left <= uses)
      );
      CREATE INDEX host_join_tokens_by_project ON host_join_tokens (project_id, created_at_us);
    )sql"},
    // 12: hosts (docs/ssh-access.md "Hosts"). Each project may have a second CA, for host
    // certificates: ssh_cas is keyed by (project, kind), each CA with its own serials
    // (SQLite cannot change a primary key in place: the few CA rows are copied). An enrolled
    // host keeps its names, its public keys (a renewal without new keys certifies them
    // again) and the SHA-256 of its host token's secret; its certificates are listed by
    // serial for the KRL, revoked when it is deleted.
    {R"sql(
      CREATE TABLE ssh_cas_12 (
        project_id INTEGER NOT NULL,
        kind TEXT NOT NULL DEFAULT 'user' CHECK (kind IN ('user', 'host')),
        public_key TEXT NOT NULL,
        sealed_seed BLOB NOT NULL,
        created_at_us INTEGER NOT NULL,
        next_serial INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (project_id, kind)
      );
      INSERT INTO ssh_cas_12 (project_id, kind, public_key, sealed_seed, created_at_us,
                              next_serial)
        SELECT project_id, 'user', public_key, sealed_seed, created_at_us, next_serial
        FROM ssh_cas;
      DROP TABLE ssh_cas;
      ALTER TABLE ssh_cas_12 RENAME TO ssh_cas;
      CREATE TABLE hosts (
        id TEXT PRIMARY KEY NOT NULL,
        project_id INTEGER NOT NULL,
        token_hash BLOB NOT NULL,
        hostnames TEXT NOT NULL,
        public_keys TEXT NOT NULL,
        enrolled_at_us INTEGER NOT NULL,
        renewed_at_us INTEGER NOT NULL,
        valid_before_s INTEGER NOT NULL,
        join_token_id TEXT NOT NULL
      );
      CREATE INDEX hosts_by_project ON hosts (project_id, enrolled_at_us);
      CREATE TABLE host_certificates (
        project_id INTEGER NOT NULL,
        serial INTEGER NOT NULL,
        host_id TEXT NOT NULL,
        key_sha256 BLOB NOT NULL,
        principals TEXT NOT NULL,
        valid_after_s INTEGER NOT NULL,
        valid_before_s INTEGER NOT NULL,
        issued_at_us INTEGER NOT NULL,
        revoked_at_us INTEGER,
        PRIMARY KEY (project_id, serial)
      );
      CREATE INDEX host_certificates_by_host ON host_certificates (host_id);
    )sql",
     R"sql(
      ALTER TABLE ssh_cas ADD COLUMN kind TEXT NOT NULL DEFAULT 'user'
        CONSTRAINT ssh_cas_kind CHECK (kind IN ('user', 'host'));
      ALTER TABLE ssh_cas DROP CONSTRAINT ssh_cas_pkey,
        ADD CONSTRAINT ssh_cas_pkey PRIMARY KEY (project_id, kind);
      CREATE TABLE hosts (
        id TEXT COLLATE "C" NOT NULL,
        project_id BIGINT NOT NULL,
        token_hash BYTEA NOT NULL,
        hostnames TEXT NOT NULL,
        public_keys TEXT NOT NULL,
        enrolled_at_us BIGINT NOT NULL,
        renewed_at_us BIGINT NOT NULL,
        valid_before_s BIGINT NOT NULL,
        join_token_id TEXT NOT NULL,
        CONSTRAINT hosts_pkey PRIMARY KEY (id)
      );
      CREATE INDEX hosts_by_project ON hosts (project_id, enrolled_at_us);
      CREATE TABLE host_certificates (
        project_id BIGINT NOT NULL,
        serial BIGINT NOT NULL,
        host_id TEXT COLLATE "C" NOT NULL,
        key_sha256 BYTEA NOT NULL,
        principals TEXT NOT NULL,
        valid_after_s BIGINT NOT NULL,
        valid_before_s BIGINT NOT NULL,
        issued_at_us BIGINT NOT NULL,
        revoked_at_us BIGINT,
        CONSTRAINT host_certificates_pkey PRIMARY KEY (project_id, serial)
      );
      CREATE INDEX host_certificates_by_host ON host_certificates (host_id);
    )sql"},
    // 13: CA rotation (docs/ssh-access.md "Rotating a CA"). ssh_cas keeps each CA's signing
    // key and its generation; a key rotated out keeps its public key only (its seed is
    // dropped: it never signs again) in ssh_ca_old_keys. Each certificate records the
    // generation that signed it; the index finds the latest expiry of one generation's
    // certificates (until when a key rotated out is trusted) without a scan.
    {R"sql(
      ALTER TABLE ssh_cas ADD COLUMN generation INTEGER NOT NULL DEFAULT 1;
      CREATE TABLE ssh_ca_old_keys (
        project_id INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('user', 'host')),
        generation INTEGER NOT NULL,
        public_key TEXT NOT NULL,
        created_at_us INTEGER NOT NULL,
        rotated_at_us INTEGER NOT NULL,
        deleted_at_us INTEGER,
        PRIMARY KEY (project_id, kind, generation)
      );
      ALTER TABLE certificates ADD COLUMN ca_generation INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE host_certificates ADD COLUMN ca_generation INTEGER NOT NULL DEFAULT 1;
      CREATE INDEX certificates_by_ca_key
        ON certificates (project_id, ca_generation, valid_before_s);
      CREATE INDEX host_certificates_by_ca_key
        ON host_certificates (project_id, ca_generation, valid_before_s);
    )sql",
     R"sql(
      ALTER TABLE ssh_cas ADD COLUMN generation BIGINT NOT NULL DEFAULT 1;
      CREATE TABLE ssh_ca_old_keys (
        project_id BIGINT NOT NULL,
        kind TEXT NOT NULL CONSTRAINT ssh_ca_old_keys_kind CHECK (kind IN ('user', 'host')),
        generation BIGINT NOT NULL,
        public_key TEXT NOT NULL,
        created_at_us BIGINT NOT NULL,
        rotated_at_us BIGINT NOT NULL,
        deleted_at_us BIGINT,
        CONSTRAINT ssh_ca_old_keys_pkey PRIMARY KEY (project_id, kind, generation)
      );
      ALTER TABLE certificates ADD COLUMN ca_generation BIGINT NOT NULL DEFAULT 1;
      ALTER TABLE host_certificates ADD COLUMN ca_generation BIGINT NOT NULL DEFAULT 1;
      CREATE INDEX certificates_by_ca_key
        ON certificates (project_id, ca_generation, valid_before_s);
      CREATE INDEX host_certificates_by_ca_key
        ON host_certificates (project_id, ca_generation, valid_before_s);
    )sql"},
    // 14: the credentials' generation (KeyReader::AuthGeneration; docs/BENCHMARKS.md "The
    // token cache"). One number that every change to what reading a token answers bumps in
    // the change's own transaction, by trigger, whoever makes it (this node, another node,
    // the command line): a token changed (revoked: a session with its access tokens) or
    // removed, a user made, removed, disabled or enabled. A node keeps the token records it
    // read with the generation they were read at, and uses one only in a snapshot of the same
    // generation. Row triggers, as SQLite has only those: a statement that changes no row
    // (a token revoked again, an ON CONFLICT DO NOTHING) moves nothing. A row lock per such
    // change on PostgreSQL: they are rare (a key's writes, a known person's sign-in, never
    // touch it).
    {R"sql(
      CREATE TABLE auth_generation (
        id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
        value INTEGER NOT NULL
      );
      INSERT INTO auth_generation (id, value) VALUES (1, 0);
      CREATE TRIGGER tokens_auth_update AFTER UPDATE ON tokens BEGIN
        UPDATE auth_generation SET value = value + 1 WHERE id = 1;
      END;
      CREATE TRIGGER tokens_auth_delete AFTER DELETE ON tokens BEGIN
        UPDATE auth_generation SET value = value + 1 WHERE id = 1;
      END;
      CREATE TRIGGER users_auth_insert AFTER INSERT ON users BEGIN
        UPDATE auth_generation SET value = value + 1 WHERE id = 1;
      END;
      CREATE TRIGGER users_auth_disabled AFTER UPDATE OF id, disabled ON users BEGIN
        UPDATE auth_generation SET value = value + 1 WHERE id = 1;
      END;
      CREATE TRIGGER users_auth_delete AFTER DELETE ON users BEGIN
        UPDATE auth_generation SET value = value + 1 WHERE id = 1;
      END;
    )sql",
     R"sql(
      CREATE TABLE auth_generation (
        id INTEGER NOT NULL CONSTRAINT auth_generation_one CHECK (id = 1),
        value BIGINT NOT NULL,
        CONSTRAINT auth_generation_pkey PRIMARY KEY (id)
      );
      INSERT INTO auth_generation (id, value) VALUES (1, 0);
      CREATE FUNCTION auth_generation_bump() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE auth_generation SET value = value + 1 WHERE id = 1;
        RETURN NULL;
      END $$;
      CREATE TRIGGER tokens_auth_change AFTER UPDATE OR DELETE ON tokens
        FOR EACH ROW EXECUTE FUNCTION auth_generation_bump();
      CREATE TRIGGER users_auth_change AFTER INSERT OR UPDATE OF id, disabled OR DELETE ON users
        FOR EACH ROW EXECUTE FUNCTION auth_generation_bump();
    )sql"},
    // 15: a project's generations (KeyReader::GenerationsOf; docs/BENCHMARKS.md "The login
    // path's caches"): numbers that triggers bump in the change's own transaction, whoever
    // makes it, so that a node may keep a project's KRL and authorized_keys answers and use
    // one only while the number it was built at is still the stored one. `revocations`
    // moves with what the KRL reads (RevocationsOf, CaKeysOf): a certificate revoked, or
    // recorded when it is listed already (its key gone or disabled, its owner disabled); a
    // certified key deleted or its disabled flag changed; a host certificate revoked; a CA
    // made or rotated, a key of it deleted; a user disabled, enabled or removed, which moves
    // row 0, added to every project's (no real project is 0). Issuing a certificate, the
    // service's most frequent write on this path, moves nothing. `keys` (SQLite only) moves
    // with every key made, changed or deleted in the project: SQLite writes one at a time
    // anyway, while on PostgreSQL it would make a project's concurrent creates wait for each
    // other's commit (the reason for migration 3's PostgreSQL step), so PostgreSQL keeps none
    // and answers authorized_keys from the store each time. Rows are made on first use.
    {R"sql(
      CREATE TABLE project_generations (
        project_id INTEGER PRIMARY KEY NOT NULL,
        revocations INTEGER NOT NULL DEFAULT 0,
        keys INTEGER NOT NULL DEFAULT 0
      );
      CREATE TRIGGER keys_generation_insert AFTER INSERT ON keys BEGIN
        INSERT INTO project_generations (project_id, keys) VALUES (NEW.project_id, 1)
          ON CONFLICT (project_id) DO UPDATE SET keys = keys + 1;
      END;
      CREATE TRIGGER keys_generation_update AFTER UPDATE ON keys BEGIN
        INSERT INTO project_generations (project_id, keys) VALUES (NEW.project_id, 1)
          ON CONFLICT (project_id) DO UPDATE SET keys = keys + 1;
      END;
      CREATE TRIGGER keys_generation_delete AFTER DELETE ON keys BEGIN
        INSERT INTO project_generations (project_id, keys) VALUES (OLD.project_id, 1)
          ON CONFLICT (project_id) DO UPDATE SET keys = keys + 1;
        INSERT INTO project_generations (project_id, revocations)
          SELECT DISTINCT project_id, 1 FROM certificates WHERE key_id = OLD.id
          ON CONFLICT (project_id) DO UPDATE SET revocations = revocations + 1;
      END;
      CREATE TRIGGER keys_revocations_disabled AFTER UPDATE OF disabled ON keys
        WHEN OLD.disabled IS NOT NEW.disabled BEGIN
        INSERT INTO project_generations (project_id, revocations)
          SELECT DISTINCT project_id, 1 FROM certificates WHERE key_id = NEW.id
          ON CONFLICT (project_id) DO UPDATE SET revocations = revocations + 1;
      END;
      CREATE TRIGGER certificates_revocations_insert AFTER INSERT ON certificates
        WHEN NEW.revoked_at_us IS NOT NULL
          OR EXISTS (SELECT 1 FROM users WHERE id = NEW.key_owner_id AND disabled = TRUE)
          OR (NEW.key_id IS NOT NULL AND
              NOT EXISTS (SELECT 1 FROM keys WHERE id = NEW.key_id AND disabled = FALSE)) BEGIN
        INSERT INTO project_generations (project_id, revocations) VALUES (NEW.project_id, 1)
          ON CONFLICT (project_id) DO UPDATE SET revocations = revocations + 1;
      END;
      CREATE TRIGGER certificates_revocations_update AFTER UPDATE ON certificates BEGIN
        INSERT INTO project_generations (project_id, revocations) VALUES (NEW.project_id, 1)
          ON CONFLICT (project_id) DO UPDATE SET revocations = revocations + 1;
      END;
      CREATE TRIGGER host_certificates_revocations_insert AFTER INSERT ON host_certificates
        WHEN NEW.revoked_at_us IS NOT NULL BEGIN
        INSERT INTO project_generations (project_id, revocations) VALUES (NEW.project_id, 1)
          ON CONFLICT (project_id) DO UPDATE SET revocations = revocations + 1;
      END;
      CREATE TRIGGER host_certificates_revocations_update AFTER UPDATE ON host_certificates BEGIN
        INSERT INTO project_generations (project_id, revocations) VALUES (NEW.project_id, 1)
          ON CONFLICT (project_id) DO UPDATE SET revocations = revocations + 1;
      END;
      CREATE TRIGGER ssh_cas_revocations_insert AFTER INSERT ON ssh_cas BEGIN
        INSERT INTO project_generations (project_id, revocations) VALUES (NEW.project_id, 1)
          ON CONFLICT (project_id) DO UPDATE SET revocations = revocations + 1;
      END;
      CREATE TRIGGER ssh_cas_revocations_update
        AFTER UPDATE OF project_id, public_key, created_at_us, generation ON ssh_cas BEGIN
        INSERT INTO project_generations (project_id, revocations) VALUES (NEW.project_id, 1)
          ON CONFLICT (project_id) DO UPDATE SET revocations = revocations + 1;
      END;
      CREATE TRIGGER ssh_ca_old_keys_revocations_insert AFTER INSERT ON ssh_ca_old_keys BEGIN
        INSERT INTO project_generations (project_id, revocations) VALUES (NEW.project_id, 1)
          ON CONFLICT (project_id) DO UPDATE SET revocations = revocations + 1;
      END;
      CREATE TRIGGER ssh_ca_old_keys_revocations_update AFTER UPDATE ON ssh_ca_old_keys BEGIN
        INSERT INTO project_generations (project_id, revocations) VALUES (NEW.project_id, 1)
          ON CONFLICT (project_id) DO UPDATE SET revocations = revocations + 1;
      END;
      CREATE TRIGGER ssh_ca_old_keys_revocations_delete AFTER DELETE ON ssh_ca_old_keys BEGIN
        INSERT INTO project_generations (project_id, revocations) VALUES (OLD.project_id, 1)
          ON CONFLICT (project_id) DO UPDATE SET revocations = revocations + 1;
      END;
      CREATE TRIGGER users_revocations_insert AFTER INSERT ON users WHEN NEW.disabled = TRUE BEGIN
        INSERT INTO project_generations (project_id, revocations) VALUES (0, 1)
          ON CONFLICT (project_id) DO UPDATE SET revocations = revocations + 1;
      END;
      CREATE TRIGGER users_revocations_update AFTER UPDATE OF id, disabled ON users BEGIN
        INSERT INTO project_generations (project_id, revocations) VALUES (0, 1)
          ON CONFLICT (project_id) DO UPDATE SET revocations = revocations + 1;
      END;
      CREATE TRIGGER users_revocations_delete AFTER DELETE ON users BEGIN
        INSERT INTO project_generations (project_id, revocations) VALUES (0, 1)
          ON CONFLICT (project_id) DO UPDATE SET revocations = revocations + 1;
      END;
    )sql",
     R"sql(
      CREATE TABLE project_generations (
        project_id BIGINT NOT NULL,
        revocations BIGINT NOT NULL DEFAULT 0,
        CONSTRAINT project_generations_pkey PRIMARY KEY (project_id)
      );
      CREATE FUNCTION revocations_bump(project BIGINT) RETURNS void LANGUAGE sql AS $$
        INSERT INTO project_generations AS g (project_id, revocations) VALUES (project, 1)
          ON CONFLICT (project_id) DO UPDATE SET revocations = g.revocations + 1
      $$;
      -- A certified key deleted, disabled or enabled: the projects of its certificates.
      CREATE FUNCTION keys_revocations() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        key_row keys%ROWTYPE;
      BEGIN
        IF TG_OP = 'DELETE' THEN key_row := OLD; ELSE key_row := NEW; END IF;
        IF TG_OP = 'UPDATE' AND OLD.disabled IS NOT DISTINCT FROM NEW.disabled THEN
          RETURN NULL;
        END IF;
        PERFORM revocations_bump(p) FROM (SELECT DISTINCT project_id AS p FROM certificates
                                          WHERE key_id = key_row.id) AS projects;
        RETURN NULL;
      END $$;
      CREATE TRIGGER keys_revocations AFTER UPDATE OF disabled OR DELETE ON keys
        FOR EACH ROW EXECUTE FUNCTION keys_revocations();
      CREATE FUNCTION certificates_revocations() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' OR NEW.revoked_at_us IS NOT NULL
           OR EXISTS (SELECT 1 FROM users WHERE id = NEW.key_owner_id AND disabled)
           OR (NEW.key_id IS NOT NULL AND
               NOT EXISTS (SELECT 1 FROM keys WHERE id = NEW.key_id AND NOT disabled)) THEN
          PERFORM revocations_bump(NEW.project_id);
        END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER certificates_revocations AFTER INSERT OR UPDATE ON certificates
        FOR EACH ROW EXECUTE FUNCTION certificates_revocations();
      CREATE FUNCTION host_certificates_revocations() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' OR NEW.revoked_at_us IS NOT NULL THEN
          PERFORM revocations_bump(NEW.project_id);
        END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER host_certificates_revocations AFTER INSERT OR UPDATE ON host_certificates
        FOR EACH ROW EXECUTE FUNCTION host_certificates_revocations();
      CREATE FUNCTION ca_keys_revocations() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          PERFORM revocations_bump(OLD.project_id);
        ELSE
          PERFORM revocations_bump(NEW.project_id);
        END IF;
        RETURN NULL;
      END $$;
      -- The columns are compared in the function, not named by the trigger: a trigger's
      -- columns would be dependencies that stop a later migration from reshaping the table.
      -- A serial taken (next_serial) moves nothing.
      CREATE FUNCTION ssh_cas_revocations() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' OR OLD.public_key IS DISTINCT FROM NEW.public_key
           OR OLD.created_at_us IS DISTINCT FROM NEW.created_at_us
           OR OLD.generation IS DISTINCT FROM NEW.generation THEN
          PERFORM revocations_bump(NEW.project_id);
        END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER ssh_cas_revocations AFTER INSERT OR UPDATE ON ssh_cas
        FOR EACH ROW EXECUTE FUNCTION ssh_cas_revocations();
      CREATE TRIGGER ssh_ca_old_keys_revocations AFTER INSERT OR UPDATE OR DELETE ON ssh_ca_old_keys
        FOR EACH ROW EXECUTE FUNCTION ca_keys_revocations();
      CREATE FUNCTION users_revocations() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP <> 'INSERT' OR NEW.disabled THEN PERFORM revocations_bump(0); END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER users_revocations AFTER INSERT OR UPDATE OF id, disabled OR DELETE ON users
        FOR EACH ROW EXECUTE FUNCTION users_revocations();
    )sql"},
};

Status CheckNotNewer(const std::set<int64_t>& applied) {
  const int latest = LatestSchemaVersion();
  for (int64_t v : applied) {
    if (v < 1 || v > latest) {
      return Unavailable("the database schema was written by a newer keypaird (it has migration " +
                         std::to_string(v) + "; this build knows up to " + std::to_string(latest) +
                         "): upgrade keypaird");
    }
  }
  return Status::Ok();
}

Status ApplyMissing(MigrationSession& session, Dialect dialect,
                    const std::function<Status(KeyRecord*)>& describe_key) {
  if (Status s = session.Begin(); !s.ok()) return s;
  StatusOr<std::set<int64_t>> applied = session.AppliedVersions();
  if (!applied.ok()) return applied.status();
  if (Status s = CheckNotNewer(*applied); !s.ok()) return s;
  const std::span<const MigrationStep> steps = MigrationSteps();
  for (size_t i = 0; i < steps.size(); ++i) {
    const int version = static_cast<int>(i) + 1;
    if (applied->contains(version)) continue;
    if (Status s = session.Apply(version, steps[i].For(dialect)); !s.ok()) return s;
    if (steps[i].describe_keys) {
      if (Status s = session.DescribeKeys(describe_key); !s.ok()) return s;
    }
  }
  return session.Commit();
}

}  // namespace

std::span<const MigrationStep> MigrationSteps() { return kSteps; }

int LatestSchemaVersion() { return static_cast<int>(std::size(kSteps)); }

Status Migrate(MigrationSession& session, Dialect dialect, bool apply,
               const std::function<Status(KeyRecord*)>& describe_key) {
  StatusOr<std::set<int64_t>> applied = session.AppliedVersions();
  if (!applied.ok()) return applied.status();
  if (Status s = CheckNotNewer(*applied); !s.ok()) return s;
  if (static_cast<int>(applied->size()) == LatestSchemaVersion()) return Status::Ok();
  if (!apply) {
    return Unavailable("the database schema is not current (" + std::to_string(applied->size()) +
                       " of " + std::to_string(LatestSchemaVersion()) +
                       " migrations applied): run `keypaird migrate`");
  }
  Status s = ApplyMissing(session, dialect, describe_key);
  if (!s.ok()) session.Rollback();
  return s;
}

}  // namespace keypaird::store::sql
