// The SQLite checkpointer: WAL checkpoints off the commit path. Internal to
// store/sqlite/.
//
// SQLite's automatic checkpoint runs inside a COMMIT
// once the WAL passes 1000 pages: it copies them into the database file and fsyncs it,
// stalling the writer (and every request waiting for its commit) for milliseconds. Here
// the writer connection only reports the WAL's size after each commit (a WAL hook, which
// replaces the automatic checkpoint), and a thread of its own, on a connection of its
// own, runs a PASSIVE checkpoint, which never waits for the writer or the readers.
//
// Threading: one thread of its own ("kpd-checkpoint") and a connection of its own. The
// WAL hook runs on the writer's thread and only signals it; the destructor stops it.
#ifndef KEYPAIRD_STORE_SQLITE_CHECKPOINTER_H_
#define KEYPAIRD_STORE_SQLITE_CHECKPOINTER_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "store/sqlite/driver.h"

namespace keypaird::store::sqlite {

class Checkpointer {
 public:
  // 32 MiB of WAL (SQLite's own default is 1000 pages): pages dirtied again and again
  // between two checkpoints (index roots, key_counts) are copied once.
  static constexpr int kFramesPerCheckpoint = 8192;

  explicit Checkpointer(std::unique_ptr<Connection> conn);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Installs the hook on the writer connection.
  void Watch(Connection& writer) { sqlite3_wal_hook(writer.db(), &Checkpointer::OnCommit, this); }

 private:
  static int OnCommit(void* self, sqlite3*, const char*, int frames);
  void Loop();

  std::unique_ptr<Connection> conn_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool due_ = false;       // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace keypaird::store::sqlite

#endif  // KEYPAIRD_STORE_SQLITE_CHECKPOINTER_H_
