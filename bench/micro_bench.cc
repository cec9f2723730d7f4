// Micro-benchmarks of the per-request building blocks: public key parsing per type,
// Ed25519 generation, JSON decode/encode of a create request/response, a whole create
// through http::Api (in-memory store), and the SQLite store's insert/get/list on a temp
// file with the shipped settings (WAL, synchronous=FULL).
//
// Sample keys come from ssh-keygen at start-up (openssh-client); the sk- key, which
// ssh-keygen cannot make without a token, is assembled from an Ed25519 point.

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "auth/token_cache.h"
#include "auth/tokens.h"
#include "common/json_writer.h"
#include "common/uuid.h"
#include "http/api.h"
#include "service/key_service.h"
#include "sshkey/sshkey.h"
#include "store/key_store.h"

namespace keypaird {
namespace {

namespace fs = std::filesystem;

fs::path MakeTempDir(const char* prefix) {
  std::string tmpl = (fs::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  return tmpl;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// One public key line per benchmarked type, made once.
const std::map<std::string, std::string>& SampleKeys() {
  static const auto* keys = [] {
    auto* out = new std::map<std::string, std::string>;
    const fs::path dir = MakeTempDir("keypaird-bench-keys");
    struct Spec {
      const char* label;
      const char* args;
    };
    for (const Spec& s : {Spec{"ed25519", "-t ed25519"}, Spec{"ecdsa256", "-t ecdsa -b 256"},
                          Spec{"ecdsa384", "-t ecdsa -b 384"}, Spec{"ecdsa521", "-t ecdsa -b 521"},
                          Spec{"rsa2048", "-t rsa -b 2048"}, Spec{"rsa4096", "-t rsa -b 4096"}}) {
      const fs::path file = dir / s.label;
      const std::string cmd = std::string("ssh-keygen -q -N '' -C bench@host ") + s.args + " -f " +
                              file.string() + " </dev/null >/dev/null 2>&1";
      if (std::system(cmd.c_str()) != 0) {
        std::fprintf(stderr, "ssh-keygen failed for %s\n", s.label);
        std::abort();
      }
      (*out)[s.label] = ReadFile(file.string() + ".pub");
    }
    // sk-ssh-ed25519@openssh.com: string type, string point, string application.
    auto ed = sshkey::ParsePublicKey((*out)["ed25519"]);
    if (!ed.ok()) std::abort();
    auto put = [](std::string* blob, std::string_view field) {
      const uint32_t n = static_cast<uint32_t>(field.size());
      for (int shift = 24; shift >= 0; shift -= 8) blob->push_back(static_cast<char>(n >> shift));
      blob->append(field);
    };
    const std::string point = ed->blob.substr(ed->blob.size() - 32);
    std::string blob;
    put(&blob, "sk-ssh-ed25519@openssh.com");
    put(&blob, point);
    put(&blob, "ssh:");
    (*out)["sk-ed25519"] =
        "sk-ssh-ed25519@openssh.com " + sshkey::Base64Encode(blob) + " bench@host";
    fs::remove_all(dir);
    return out;
  }();
  return *keys;
}

// --- sshkey --------------------------------------------------------------------------

void BM_ParsePublicKey(benchmark::State& state, const char* type) {
  const std::string line = SampleKeys().at(type);
  for (auto _ : state) {
    auto key = sshkey::ParsePublicKey(line);
    if (!key.ok()) {
      state.SkipWithError(key.status().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(key->fingerprint.data());
  }
}
BENCHMARK_CAPTURE(BM_ParsePublicKey, ed25519, "ed25519");
BENCHMARK_CAPTURE(BM_ParsePublicKey, ecdsa256, "ecdsa256");
BENCHMARK_CAPTURE(BM_ParsePublicKey, ecdsa384, "ecdsa384");
BENCHMARK_CAPTURE(BM_ParsePublicKey, ecdsa521, "ecdsa521");
BENCHMARK_CAPTURE(BM_ParsePublicKey, rsa2048, "rsa2048");
BENCHMARK_CAPTURE(BM_ParsePublicKey, rsa4096, "rsa4096");
BENCHMARK_CAPTURE(BM_ParsePublicKey, sk_ed25519, "sk-ed25519");

void BM_GenerateEd25519(benchmark::State& state) {
  for (auto _ : state) {
    auto key = sshkey::GenerateEd25519("bench-key");
    if (!key.ok()) {
      state.SkipWithError("generation failed");
      break;
    }
    benchmark::DoNotOptimize(key->private_key.size());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GenerateEd25519)->Threads(1)->Threads(2)->UseRealTime();

// --- JSON ----------------------------------------------------------------------------

std::string CreateBody() {
  return nlohmann::json{{"sshkey_name", "bench-key-000123"},
                        {"public_key", SampleKeys().at("ed25519")},
                        {"shared_in_project", true}}
      .dump();
}

// Decoding as http/api.cc does: nlohmann, no exceptions, then field extraction.
void BM_JsonDecodeCreateRequest(benchmark::State& state) {
  const std::string body = CreateBody();
  for (auto _ : state) {
    auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    std::string name = json["sshkey_name"].get<std::string>();
    std::string key = json["public_key"].get<std::string>();
    benchmark::DoNotOptimize(name.data());
    benchmark::DoNotOptimize(key.data());
  }
}
BENCHMARK(BM_JsonDecodeCreateRequest);

// Encoding a create response the way http/api.cc renders it (JsonWriter, one buffer).
void BM_JsonEncodeCreateResponse(benchmark::State& state) {
  const std::string public_key = SampleKeys().at("ed25519");
  for (auto _ : state) {
    std::string body;
    body.reserve(1024);
    JsonWriter w(&body);
    w.BeginObject();
    w.Key("id").String("4b7e0f5c-3a43-4b9e-8a33-5a0f1f8f2c11");
    w.Key("name").String("bench-key-000123");
    w.Key("public_key").String(public_key);
    w.Key("fingerprint").String("3f:9a:11:0c:5e:7d:21:aa:b0:c4:19:8e:55:01:de:42");
    w.Key("private_key").Null();
    w.Key("project_id").Int(1);
    w.Key("shared_in_project").Bool(true);
    w.Key("state").String("ACTIVE");
    w.Key("created_at").String("2026-05-15T10:11:12.123456Z");
    w.EndObject();
    benchmark::DoNotOptimize(body.data());
  }
}
BENCHMARK(BM_JsonEncodeCreateResponse);

// A whole import through http::Api (routing, auth, JSON in/out, parse, uuid, store) on
// the in-memory store: the per-request CPU cost above the network and the disk.
void BM_ApiImportInMemory(benchmark::State& state) {
  auto store = store::NewMemoryStore();
  auth::Authenticator auth(store.get());
  service::KeyService keys(store.get());
  http::Api api(&keys, &auth);
  auto minted = auth::MintToken(1, false, {1}, 0);
  if (!minted.ok() || !store->InsertToken(minted->record, {}).ok()) std::abort();
  const std::string public_key = SampleKeys().at("ed25519");
  http::HttpRequest req;
  req.method = "POST";
  req.path = "/cloud/v1/keypairs/1/1";
  req.authorization = "APIKey " + std::string(minted->token.view());
  req.content_type = "application/json";
  int64_t n = 0;
  for (auto _ : state) {
    req.body =
        nlohmann::json{{"sshkey_name", "k-" + std::to_string(n++)}, {"public_key", public_key}}
            .dump();
    http::HttpResponse r = api.Handle(req);
    if (r.status != 200) {
      state.SkipWithError("import failed");
      break;
    }
    benchmark::DoNotOptimize(r.body->data());
  }
}
BENCHMARK(BM_ApiImportInMemory);

// --- SQLite store --------------------------------------------------------------------

// Ids are random UUIDv4, as the service made them before 2026-12-07 (it makes time-ordered
// ones now: BM_SqliteInsertWithEventUuid7), and every key has fingerprints of its own, as
// imported keys do: each insert lands on a random page of the id index and of both
// fingerprint indexes, which is what a durable commit has to write.
store::KeyRecord MakeKey(int64_t i, int64_t project) {
  store::KeyRecord k;
  k.id = NewUuid4();
  k.project_id = project;
  k.user_id = 1;
  k.name = "key-" + std::to_string(i);
  k.public_key = SampleKeys().at("ed25519");
  k.type = "ssh-ed25519";
  k.bits = 256;
  k.fingerprint = sshkey::FingerprintMd5(k.id);  // any distinct blob will do
  k.fingerprint_sha256 = sshkey::FingerprintSha256(k.id);
  k.created_at_us = 1700000000000000 + i;
  k.updated_at_us = k.created_at_us;
  return k;
}

class SqliteFixture {
 public:
  SqliteFixture() : dir_(MakeTempDir("keypaird-bench-db")) {
    auto store = store::OpenStore("sqlite:" + (dir_ / "keys.db").string());
    if (!store.ok()) std::abort();
    store_ = std::move(*store);
  }
  ~SqliteFixture() {
    store_.reset();
    fs::remove_all(dir_);
  }
  store::KeyStore& store() { return *store_; }

 private:
  fs::path dir_;
  std::unique_ptr<store::KeyStore> store_;
};

// A store holding N keys in project 2, for the read paths and as the starting point of
// the inserts (which go to project 1).
class SqliteReadFixture {
 public:
  explicit SqliteReadFixture(int64_t n) : ids_(static_cast<size_t>(n)) {
    (void)SampleKeys();  // made once with ssh-keygen: not inside a timed loop
    for (int64_t i = 0; i < n; i += 1000) {
      // Concurrent writers batch into shared transactions: seeding is fast.
      std::vector<std::thread> threads;
      for (int64_t t = 0; t < 64; ++t) {
        threads.emplace_back([&, t] {
          for (int64_t j = i + t; j < std::min(n, i + 1000); j += 64) {
            store::KeyRecord k = MakeKey(j, 2);
            ids_[static_cast<size_t>(j)] = k.id;  // ids are random: keep them for gets
            (void)db_.store().InsertKey(k, {});
          }
        });
      }
      for (auto& t : threads) t.join();
    }
  }
  store::KeyStore& store() { return db_.store(); }
  const std::string& id(int64_t i) const { return ids_[static_cast<size_t>(i)]; }

 private:
  SqliteFixture db_;
  std::vector<std::string> ids_;
};

// One store per N, made by the first caller (thread-safe: the others wait for the seed).
SqliteReadFixture& ReadFixture(int64_t n) {
  static std::mutex mu;
  static std::map<int64_t, std::unique_ptr<SqliteReadFixture>> fixtures;
  std::lock_guard lock(mu);
  auto& f = fixtures[n];
  if (!f) f = std::make_unique<SqliteReadFixture>(n);
  return *f;
}

// Durable inserts; with several threads they share commits (group commit). Arg: keys the
// store holds before (in another project), as the service's benchmark seeds 100k; each
// thread count adds its keys on top of the previous one's.
void BM_SqliteInsert(benchmark::State& state) {
  SqliteReadFixture& fixture = ReadFixture(state.range(0));
  static std::atomic<int64_t> next{0};
  for (auto _ : state) {
    if (!fixture.store().InsertKey(MakeKey(next++, 1), {}).ok()) {
      state.SkipWithError("insert failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SqliteInsert)
    ->Arg(0)
    ->Arg(100000)
    ->Threads(1)
    ->Threads(16)
    ->Threads(64)
    ->UseRealTime();

// The same with the audit trail's event in the same transaction, as the service writes every
// key (a second row, and a savepoint around the two): what the audit trail costs a durable
// import (docs/audit.md, docs/BENCHMARKS.md). Its own project, so that both benchmarks
// insert into the same kind of store.
void InsertWithEvent(benchmark::State& state, bool time_ordered_ids) {
  SqliteReadFixture& fixture = ReadFixture(state.range(0));
  static std::atomic<int64_t> next{0};
  for (auto _ : state) {
    store::KeyRecord key = MakeKey(next++, 3);
    if (time_ordered_ids) key.id = NewUuid7(SystemNowMicros() / 1000);
    store::EventRecord event;
    event.id = NewUuid7(key.created_at_us / 1000);  // as auth::NewEvent makes them
    event.time_us = key.created_at_us;
    event.action = "key.create";
    event.project_id = key.project_id;
    event.actor_user_id = key.user_id;
    event.actor_token_id = "0123456789abcdef";
    event.via = "token";
    event.source_ip = "192.0.2.10";
    event.user_agent = "terraform-provider-gcore/0.8";
    event.resource_type = "ssh_key";
    event.resource_id = key.id;
    event.resource_name = key.name;
    event.details = R"({"type":"ssh-ed25519","fingerprint_sha256":")" + key.fingerprint_sha256 +
                    R"(","shared_in_project":true,"generated":false})";
    if (!fixture.store().InsertKey(key, event).ok()) {
      state.SkipWithError("insert failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_SqliteInsertWithEvent(benchmark::State& state) { InsertWithEvent(state, false); }
BENCHMARK(BM_SqliteInsertWithEvent)->Arg(100000)->Threads(1)->Threads(64)->UseRealTime();
// The same with time-ordered key ids (UUIDv7, as events have): the key's id index and the
// event's resource index then grow at their end instead of at a random page (issue 22's
// decision 2: kept only if this is measurably faster).
void BM_SqliteInsertWithEventUuid7(benchmark::State& state) { InsertWithEvent(state, true); }
BENCHMARK(BM_SqliteInsertWithEventUuid7)->Arg(100000)->Threads(1)->Threads(64)->UseRealTime();

void BM_SqliteGet(benchmark::State& state) {
  const int64_t n = state.range(0);
  SqliteReadFixture& f = ReadFixture(n);
  int64_t i = 0;
  for (auto _ : state) {
    auto key = f.store().GetKey(f.id((i++ * 7919) % n));
    if (!key.ok()) {
      state.SkipWithError("get failed");
      break;
    }
    benchmark::DoNotOptimize(key->name.data());
  }
}
BENCHMARK(BM_SqliteGet)->Arg(1000)->Arg(100000);

// What a GET of one key reads, as the I/O thread answers it: the token and the key in one
// snapshot (KeyStore::Snapshot). Arg 1: with the token cache (auth/token_cache.h: the
// credentials' generation is read instead of the token, once the cache holds it), 0: without.
void BM_SqliteAuthenticatedGet(benchmark::State& state) {
  SqliteReadFixture& f = ReadFixture(100000);
  static const std::string header = [&f] {
    StatusOr<auth::MintedToken> m = auth::MintToken(1, false, {1, 2, 3}, 1000);
    if (!m.ok() || !f.store().InsertToken(m->record, {}).ok()) std::abort();
    return "APIKey " + std::string(m->token.view());
  }();
  auth::TokenCache cache;
  auth::Authenticator authn(&f.store(), SystemNowMicros, state.range(0) != 0 ? &cache : nullptr);
  int64_t i = 0;
  for (auto _ : state) {
    std::unique_ptr<store::KeyReader> snapshot = f.store().Snapshot();
    StatusOr<auth::Principal> caller = authn.Authenticate(header, snapshot.get());
    auto key = snapshot->GetKey(f.id((i++ * 7919) % 100000));
    if (!caller.ok() || !key.ok()) {
      state.SkipWithError("authenticated get failed");
      break;
    }
    benchmark::DoNotOptimize(key->name.data());
  }
}
BENCHMARK(BM_SqliteAuthenticatedGet)->Arg(0)->Arg(1);

// The ssh_keys list default: newest first, first page of 10, visible to a non-admin.
void BM_SqliteList10(benchmark::State& state) {
  const int64_t n = state.range(0);
  SqliteReadFixture& f = ReadFixture(n);
  store::ListQuery q;
  q.project_id = 2;
  q.visible_to_user = 1;
  q.order = store::OrderBy::kCreatedAtDesc;
  q.limit = 10;
  for (auto _ : state) {
    auto page = f.store().ListKeys(q);
    if (!page.ok() || page->total != n) {
      state.SkipWithError("list failed");
      break;
    }
    benchmark::DoNotOptimize(page->keys.data());
  }
}
BENCHMARK(BM_SqliteList10)->Arg(1000)->Arg(100000);

}  // namespace
}  // namespace keypaird

BENCHMARK_MAIN();
