// SQLite: knowing that the database has not changed without a read transaction.
//
// A read transaction costs system calls on every request that opens one — a read lock on
// the WAL index and its release (fcntl), the file's size (fstat) — and on a 2-core machine
// they are a good part of what answering from a cache costs. Every commit, and every WAL
// restart, rewrites the WAL-index header at the start of the database's -shm file (two
// 48-byte copies: the change counter iChange, mxFrame, the salts, the checksums; SQLite's
// file format, https://www.sqlite.org/walformat.html). WalHeaderWatch maps that page
// read-only and reads the header the way SQLite's own readers do (the first copy, a
// barrier, the second; unequal copies or an uninitialised header mean "unknown"). Two
// equal readings mean no commit happened between them — by this process, another node or
// the command line alike.
//
// GenerationMemo keeps what the snapshots read last — the credentials generation and
// projects' generations — with the header they were read under. A snapshot whose header
// equals the memo's takes them from the memo instead of opening a transaction for them;
// a value is kept only when the header read just before its transaction began equals the
// one read just after the value (no commit in between: the value is the database's at that
// header). So a revocation still stops its token at the first request after it committed,
// on every node: what the read in the transaction promised (docs/BENCHMARKS.md "The token
// cache").
//
// The watch reads SQLite's own mapping of the -shm file, through a connection of its own
// (the VFS's xShmMap): opening the file itself and closing that descriptor would drop every
// POSIX lock the process holds on it (fcntl locks belong to the process and the file, not
// to a descriptor), SQLite's "someone has this database open" lock among them, and the next
// process to open the database would then rebuild the WAL index under the running store.
// Thread-safe.
#ifndef KEYPAIRD_STORE_SQLITE_UNCHANGED_H_
#define KEYPAIRD_STORE_SQLITE_UNCHANGED_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "store/key_store.h"
#include "store/sqlite/driver.h"

namespace keypaird::store::sqlite {

class WalHeaderWatch {
 public:
  using Header = std::array<unsigned char, 48>;

  // The watch of the WAL index of `conn`'s database (a connection of its own, kept open
  // while the watch lives), or null when SQLite has none mapped (not in WAL mode, a VFS
  // without shared memory): the caller then reads as before.
  static std::unique_ptr<WalHeaderWatch> Open(std::unique_ptr<Connection> conn);
  WalHeaderWatch(const WalHeaderWatch&) = delete;
  WalHeaderWatch& operator=(const WalHeaderWatch&) = delete;

  // The header now; nullopt while a writer rewrites it (the copies differ) or before it
  // is initialised.
  std::optional<Header> Read() const;

 private:
  WalHeaderWatch(std::unique_ptr<Connection> conn, const volatile unsigned char* map)
      : conn_(std::move(conn)), map_(map) {}

  std::unique_ptr<Connection> conn_;  // its mapping is map_
  const volatile unsigned char* map_;
};

class GenerationMemo {
 public:
  using Header = WalHeaderWatch::Header;

  // What was read under `header`, if that is what the memo holds.
  std::optional<int64_t> Auth(const Header& header) const;
  std::optional<ProjectGenerations> Project(const Header& header, int64_t project_id) const;

  // Keeps a value read under `header`; a different header than the memo's starts it anew.
  void KeepAuth(const Header& header, int64_t generation);
  void KeepProject(const Header& header, int64_t project_id, const ProjectGenerations& g);

  // Values answered from the memo since the store opened (tests, diagnostics).
  int64_t hits() const { return hits_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kMaxProjects = 4096;  // then it starts anew
  void Rebase(const Header& header);            // mu_ held

  mutable std::mutex mu_;
  bool valid_ = false;
  Header header_{};
  std::optional<int64_t> auth_;
  std::unordered_map<int64_t, ProjectGenerations> projects_;
  mutable std::atomic<int64_t> hits_{0};
};

// What a snapshot needs to answer from the memo: both, or neither (":memory:", or no
// WAL index mapped).
struct Unchanged {
  std::unique_ptr<WalHeaderWatch> watch;
  GenerationMemo memo;
};

}  // namespace keypaird::store::sqlite

#endif  // KEYPAIRD_STORE_SQLITE_UNCHANGED_H_
