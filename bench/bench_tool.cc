// keypaird_bench_tool: helpers for the load harness (bench/run_bench.py).
//
//   keys N OUT                 N distinct real Ed25519 public key lines ("ssh-ed25519 B64")
//                              for the import scenario, made on every core.
//   seed DB PROJECT USER N IDS [SAMPLE]
//                              appends N valid key rows (real Ed25519 keys, MD5 and SHA-256
//                              fingerprints, every column of the native key object, UUIDv4
//                              ids, unique names, the label tier=<i mod 100> so that a
//                              selector picks 1 % of them) to PROJECT in the SQLite
//                              database DB (schema created through the store, so it is the
//                              shipped one), and writes up to SAMPLE (default 10000) of their
//                              ids, spread over the whole range, to IDS.
//   label DB PROJECT NAME VALUE COUNT
//                              adds the label NAME=VALUE to COUNT keys of PROJECT, spread
//                              evenly over them in creation order (the authorized_keys
//                              scenarios: 50 keys of a project labelled login=deploy).
//   revoked DB PROJECT USER N  records 2N certificates of PROJECT's user CA (which must
//                              exist: POST …/ssh_ca), every other one revoked, so that its
//                              KRL lists N serials none of which are consecutive (a list of
//                              N, not one range); the CA's next serial follows them.
//   keygen-rate THREADS SECONDS [TYPE]
//                              raw key generation rate on THREADS threads: Ed25519 through
//                              sshkey::GenerateEd25519, or TYPE (rsa-3072, ...) through
//                              sshkey::GeneratePrivateKey as the service does; prints
//                              "keygen_per_s=<float>".
//
// Seeding writes with synchronous=OFF in big transactions: it builds a fixture, it does
// not serve anyone. Real keys are expensive to make, so rows reuse a pool of up to 20000
// distinct keys (the comment, which is the key's name, makes every line distinct).

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "sshkey/private_key.h"
#include "sshkey/sshkey.h"
#include "store/key_store.h"
#include "store/store_internal.h"

namespace keypaird {
namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: keypaird_bench_tool keys N OUT\n"
               "       keypaird_bench_tool seed DB PROJECT USER N IDS [SAMPLE]\n"
               "       keypaird_bench_tool label DB PROJECT NAME VALUE COUNT\n"
               "       keypaird_bench_tool revoked DB PROJECT USER N\n"
               "       keypaird_bench_tool keygen-rate THREADS SECONDS [TYPE]\n");
  return 2;
}

int Threads() { return std::max(1u, std::thread::hardware_concurrency()); }

// `n` real Ed25519 keys (type and base64 only), generated in parallel.
std::vector<sshkey::PublicKey> MakeKeys(int64_t n) {
  std::vector<sshkey::PublicKey> keys(static_cast<size_t>(n));
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < Threads(); ++t) {
    threads.emplace_back([&] {
      for (int64_t i; (i = next++) < n;) {
        auto key = sshkey::GenerateEd25519("");
        if (!key.ok()) {
          failed = true;
          return;
        }
        keys[static_cast<size_t>(i)] = std::move(key->public_key);
      }
    });
  }
  for (auto& t : threads) t.join();
  if (failed) {
    std::fprintf(stderr, "key generation failed\n");
    std::exit(1);
  }
  return keys;
}

std::string TypeAndBase64(const sshkey::PublicKey& key) {
  return key.type + " " + sshkey::Base64Encode(key.blob);
}

int Keys(int64_t n, const char* out_path) {
  const auto keys = MakeKeys(n);
  std::ofstream out(out_path);
  for (const auto& key : keys) out << TypeAndBase64(key) << '\n';
  return out.good() ? 0 : 1;
}

std::string Uuid4(std::mt19937_64& rng) {
  uint64_t hi = rng(), lo = rng();
  hi = (hi & ~0xf000ull) | 0x4000ull;                                  // version 4
  lo = (lo & ~(0xc000ull << 48)) | (0x8000ull << 48);                  // RFC 4122 variant
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08llx-%04llx-%04llx-%04llx-%012llx",
                static_cast<unsigned long long>(hi >> 32),
                static_cast<unsigned long long>((hi >> 16) & 0xffff),
                static_cast<unsigned long long>(hi & 0xffff),
                static_cast<unsigned long long>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffull));
  return buf;
}

bool Check(sqlite3* db, int rc, const char* what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return true;
  std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
  return false;
}

int Seed(const std::string& db_path, int64_t project, int64_t user, int64_t n,
         const char* ids_path, int64_t sample) {
  {
    // Creates the file and applies the migrations exactly as `serve` would.
    auto store = store::OpenStore("sqlite:" + db_path);
    if (!store.ok()) {
      std::fprintf(stderr, "open: %s\n", store.status().message().c_str());
      return 1;
    }
  }
  const auto pool = MakeKeys(std::min<int64_t>(n, 20000));
  std::vector<std::string> pool_lines;
  for (const auto& key : pool) pool_lines.push_back(TypeAndBase64(key));

  sqlite3* db = nullptr;
  if (sqlite3_open(db_path.c_str(), &db) != SQLITE_OK) return 1;
  sqlite3_exec(db, "PRAGMA synchronous=OFF", nullptr, nullptr, nullptr);
  sqlite3_exec(db, "PRAGMA busy_timeout=5000", nullptr, nullptr, nullptr);
  sqlite3_stmt* stmt = nullptr;
  if (!Check(db,
             sqlite3_prepare_v2(db,
                                "INSERT INTO keys (id, project_id, user_id, name, public_key, "
                                "fingerprint, shared_in_project, created_at_us, type, bits, "
                                "comment, fingerprint_sha256, labels, updated_at_us) "
                                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9, ?4, ?10, ?11, ?7)",
                                -1, &stmt, nullptr),
             "prepare")) {
    return 1;
  }
  sqlite3_stmt* label = nullptr;
  if (!Check(db,
             sqlite3_prepare_v2(db,
                                "INSERT INTO key_labels (key_id, project_id, created_at_us, name, "
                                "value) VALUES (?1, ?2, ?3, 'tier', ?4)",
                                -1, &label, nullptr),
             "prepare")) {
    return 1;
  }
  std::mt19937_64 rng(std::random_device{}());
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const int64_t stride = std::max<int64_t>(1, n / std::max<int64_t>(1, sample));
  std::ofstream ids(ids_path);
  const std::string prefix = "seed-" + std::to_string(now_us % 1000000000) + "-";
  bool ok = Check(db, sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), "begin");
  for (int64_t i = 0; ok && i < n; ++i) {
    const size_t k = static_cast<size_t>(i) % pool.size();
    const std::string id = Uuid4(rng);
    const std::string name = prefix + std::to_string(i);
    const std::string line = pool_lines[k] + " " + name;
    sqlite3_bind_text(stmt, 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 2, project);
    sqlite3_bind_int64(stmt, 3, user);
    sqlite3_bind_text(stmt, 4, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 5, line.data(), static_cast<int>(line.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 6, pool[k].fingerprint.data(),
                      static_cast<int>(pool[k].fingerprint.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 7, now_us - n + i);
    sqlite3_bind_text(stmt, 8, pool[k].type.data(), static_cast<int>(pool[k].type.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 9, pool[k].bits);
    sqlite3_bind_text(stmt, 10, pool[k].fingerprint_sha256.data(),
                      static_cast<int>(pool[k].fingerprint_sha256.size()), SQLITE_TRANSIENT);
    const std::string tier = std::to_string(i % 100);
    const std::string labels = "tier=" + tier;
    sqlite3_bind_text(stmt, 11, labels.data(), static_cast<int>(labels.size()), SQLITE_TRANSIENT);
    ok = Check(db, sqlite3_step(stmt), "insert");
    sqlite3_reset(stmt);
    sqlite3_bind_text(label, 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(label, 2, project);
    sqlite3_bind_int64(label, 3, now_us - n + i);
    sqlite3_bind_text(label, 4, tier.data(), static_cast<int>(tier.size()), SQLITE_TRANSIENT);
    ok = ok && Check(db, sqlite3_step(label), "insert label");
    sqlite3_reset(label);
    if (i % stride == 0 && i / stride < sample) ids << id << '\n';
    if (ok && i % 50000 == 49999) {
      ok = Check(db, sqlite3_exec(db, "COMMIT; BEGIN", nullptr, nullptr, nullptr), "commit");
    }
  }
  if (ok) ok = Check(db, sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), "commit");
  sqlite3_finalize(stmt);
  sqlite3_finalize(label);
  if (ok) sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  return ok && ids.good() ? 0 : 1;
}

// The database of a fixture step: written without syncs (nobody is served from it yet,
// or a server reads it while the step runs; a crash only spoils the fixture).
sqlite3* OpenFixture(const std::string& db_path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "open %s: %s\n", db_path.c_str(), sqlite3_errmsg(db));
    sqlite3_close(db);
    return nullptr;
  }
  sqlite3_exec(db, "PRAGMA synchronous=OFF", nullptr, nullptr, nullptr);
  sqlite3_exec(db, "PRAGMA busy_timeout=5000", nullptr, nullptr, nullptr);
  return db;
}

int Label(const std::string& db_path, int64_t project, const std::string& name,
          const std::string& value, int64_t count) {
  sqlite3* db = OpenFixture(db_path);
  if (db == nullptr) return 1;
  struct Key {
    std::string id;
    std::string labels;
    int64_t created_at_us;
  };
  std::vector<Key> keys;
  sqlite3_stmt* select = nullptr;
  bool ok = Check(db,
                  sqlite3_prepare_v2(db,
                                     "SELECT id, labels, created_at_us FROM keys WHERE "
                                     "project_id = ?1 ORDER BY created_at_us, id",
                                     -1, &select, nullptr),
                  "prepare");
  if (ok) sqlite3_bind_int64(select, 1, project);
  while (ok && sqlite3_step(select) == SQLITE_ROW) {
    keys.push_back({reinterpret_cast<const char*>(sqlite3_column_text(select, 0)),
                    reinterpret_cast<const char*>(sqlite3_column_text(select, 1)),
                    sqlite3_column_int64(select, 2)});
  }
  sqlite3_finalize(select);
  if (ok && static_cast<int64_t>(keys.size()) < count) {
    std::fprintf(stderr, "project %lld has %zu keys, fewer than %lld\n",
                 static_cast<long long>(project), keys.size(), static_cast<long long>(count));
    ok = false;
  }
  sqlite3_stmt* update = nullptr;
  sqlite3_stmt* insert = nullptr;
  ok = ok &&
       Check(db,
             sqlite3_prepare_v2(db, "UPDATE keys SET labels = ?2 WHERE id = ?1", -1, &update,
                                nullptr),
             "prepare") &&
       Check(db,
             sqlite3_prepare_v2(db,
                                "INSERT INTO key_labels (key_id, project_id, created_at_us, "
                                "name, value) VALUES (?1, ?2, ?3, ?4, ?5)",
                                -1, &insert, nullptr),
             "prepare") &&
       Check(db, sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), "begin");
  const size_t stride = count > 0 ? keys.size() / static_cast<size_t>(count) : 1;
  for (int64_t i = 0; ok && i < count; ++i) {
    const Key& key = keys[static_cast<size_t>(i) * stride];
    StatusOr<std::map<std::string, std::string>> labels = store::DecodeLabels(key.labels);
    if (!labels.ok()) {
      std::fprintf(stderr, "key %s: %s\n", key.id.c_str(), labels.status().message().c_str());
      ok = false;
      break;
    }
    (*labels)[name] = value;
    const std::string encoded = store::EncodeLabels(*labels);
    sqlite3_bind_text(update, 1, key.id.data(), static_cast<int>(key.id.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(update, 2, encoded.data(), static_cast<int>(encoded.size()),
                      SQLITE_TRANSIENT);
    ok = Check(db, sqlite3_step(update), "update");
    sqlite3_reset(update);
    sqlite3_bind_text(insert, 1, key.id.data(), static_cast<int>(key.id.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert, 2, project);
    sqlite3_bind_int64(insert, 3, key.created_at_us);
    sqlite3_bind_text(insert, 4, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 5, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
    ok = ok && Check(db, sqlite3_step(insert), "insert label");
    sqlite3_reset(insert);
  }
  if (ok) ok = Check(db, sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), "commit");
  sqlite3_finalize(update);
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return ok ? 0 : 1;
}

// One statement whose parameters ?1, ?2, ... are `params`; the first column of its first
// row goes to `*first` when asked (nullopt if it has no row). False after saying why.
bool RunInts(sqlite3* db, const char* sql, std::initializer_list<int64_t> params,
             std::optional<int64_t>* first = nullptr) {
  sqlite3_stmt* stmt = nullptr;
  if (!Check(db, sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), "prepare")) return false;
  int i = 0;
  for (const int64_t p : params) sqlite3_bind_int64(stmt, ++i, p);
  const int rc = sqlite3_step(stmt);
  if (first != nullptr) {
    *first = rc == SQLITE_ROW ? std::optional<int64_t>(sqlite3_column_int64(stmt, 0))
                              : std::nullopt;
  }
  sqlite3_finalize(stmt);
  return Check(db, rc, sql);
}

int Revoked(const std::string& db_path, int64_t project, int64_t user, int64_t n) {
  sqlite3* db = OpenFixture(db_path);
  if (db == nullptr) return 1;
  sqlite3_stmt* insert = nullptr;
  bool ok =
      Check(db, sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), "begin") &&
      Check(db,
            sqlite3_prepare_v2(db,
                               "INSERT INTO certificates (project_id, serial, key_id, "
                               "key_owner_id, key_sha256, principals, valid_after_s, "
                               "valid_before_s, issued_at_us, issued_by, revoked_at_us, "
                               "ca_generation) VALUES (?1, ?2, NULL, ?3, zeroblob(32), "
                               "'deploy', ?4, ?5, ?6, 'bench', ?7, 1)",
                               -1, &insert, nullptr),
            "prepare");
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const int64_t now_s = now_us / 1000000;
  // After any serial the CA has handed out already.
  std::optional<int64_t> next;
  ok = ok && RunInts(db, "SELECT next_serial FROM ssh_cas WHERE project_id = ?1 AND kind = 'user'",
                     {project}, &next);
  if (ok && !next) {
    std::fprintf(stderr, "project %lld has no user CA\n", static_cast<long long>(project));
    ok = false;
  }
  int64_t serial = next.value_or(0);
  for (int64_t i = 0; ok && i < 2 * n; ++i, ++serial) {
    sqlite3_bind_int64(insert, 1, project);
    sqlite3_bind_int64(insert, 2, serial);
    sqlite3_bind_int64(insert, 3, user);
    // Valid for a year: none expires during a run, so the KRL lists all of them.
    sqlite3_bind_int64(insert, 4, now_s - 300);
    sqlite3_bind_int64(insert, 5, now_s + 365 * 86400);
    sqlite3_bind_int64(insert, 6, now_us);
    if (i % 2 == 0) {
      sqlite3_bind_int64(insert, 7, now_us);
    } else {
      sqlite3_bind_null(insert, 7);
    }
    ok = Check(db, sqlite3_step(insert), "insert certificate");
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  ok = ok && RunInts(db, "UPDATE ssh_cas SET next_serial = ?2 WHERE project_id = ?1 AND "
                         "kind = 'user'",
                     {project, serial});
  ok = ok && Check(db, sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), "commit");
  sqlite3_close(db);
  return ok ? 0 : 1;
}

int KeygenRate(int threads, double seconds, const std::string& type_name) {
  std::optional<sshkey::KeyType> type;
  if (type_name != "ed25519-public") {
    type = sshkey::ParseKeyType(type_name);
    if (!type) return Usage();
  }
  std::atomic<bool> stop{false};
  std::atomic<int64_t> count{0};
  std::vector<std::thread> workers;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      int64_t mine = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        if (type ? sshkey::GeneratePrivateKey(*type, &stop).ok()
                 : sshkey::GenerateEd25519("bench-key").ok()) {
          ++mine;
        }
      }
      count += mine;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& w : workers) w.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("keygen_per_s=%.1f\n", static_cast<double>(count.load()) / elapsed);
  return 0;
}

}  // namespace
}  // namespace keypaird

int main(int argc, char** argv) {
  using namespace keypaird;
  if (argc < 2) return Usage();
  const std::string cmd = argv[1];
  if (cmd == "keys" && argc == 4) return Keys(std::atoll(argv[2]), argv[3]);
  if (cmd == "seed" && (argc == 7 || argc == 8)) {
    return Seed(argv[2], std::atoll(argv[3]), std::atoll(argv[4]), std::atoll(argv[5]), argv[6],
                argc == 8 ? std::atoll(argv[7]) : 10000);
  }
  if (cmd == "label" && argc == 7) {
    return Label(argv[2], std::atoll(argv[3]), argv[4], argv[5], std::atoll(argv[6]));
  }
  if (cmd == "revoked" && argc == 6) {
    return Revoked(argv[2], std::atoll(argv[3]), std::atoll(argv[4]), std::atoll(argv[5]));
  }
  if (cmd == "keygen-rate" && (argc == 4 || argc == 5)) {
    return KeygenRate(std::atoi(argv[2]), std::atof(argv[3]),
                      argc == 5 ? argv[4] : "ed25519-public");
  }
  return Usage();
}
