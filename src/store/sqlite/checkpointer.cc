#include "store/sqlite/checkpointer.h"

#include <utility>

#include "common/worker_pool.h"

namespace keypaird::store::sqlite {

Checkpointer::Checkpointer(std::unique_ptr<Connection> conn) : conn_(std::move(conn)) {
  thread_ = std::thread([this] {
    SetThreadName("kpd-checkpoint");
    Loop();
  });
}

Checkpointer::~Checkpointer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

int Checkpointer::OnCommit(void* self, sqlite3*, const char*, int frames) {
  if (frames >= kFramesPerCheckpoint) {
    auto* c = static_cast<Checkpointer*>(self);
    {
      std::lock_guard lock(c->mu_);
      c->due_ = true;
    }
    c->cv_.notify_one();
  }
  return SQLITE_OK;
}

void Checkpointer::Loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || due_; });
      if (stopping_) return;
      due_ = false;
    }
    // Busy (another checkpoint, the CLI) or failed: the next commit asks again.
    (void)sqlite3_wal_checkpoint_v2(conn_->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                    nullptr);
  }
}

}  // namespace keypaird::store::sqlite
