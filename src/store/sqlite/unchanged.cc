#include "store/sqlite/unchanged.h"

#include <utility>

namespace keypaird::store::sqlite {
namespace {

constexpr size_t kHeaderBytes = std::tuple_size_v<WalHeaderWatch::Header>;
constexpr size_t kIsInit = 12;           // the byte that says the header has been written
constexpr int kRegionBytes = 32 * 1024;  // SQLite's WAL-index regions (walformat.html)

}  // namespace

std::unique_ptr<WalHeaderWatch> WalHeaderWatch::Open(std::unique_ptr<Connection> conn) {
  // SQLite maps the WAL index at a connection's first read in WAL mode; this one ends with
  // the statement (no transaction stays open to hold back checkpoints).
  if (!conn->Exec("SELECT 1 FROM sqlite_schema LIMIT 1").ok() || conn->InTransaction()) {
    return nullptr;
  }
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(conn->db(), "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK ||
      file == nullptr || file->pMethods == nullptr || file->pMethods->iVersion < 2 ||
      file->pMethods->xShmMap == nullptr) {
    return nullptr;
  }
  // Region 0, which the connection has mapped already (no extension): the same pages
  // SQLite reads, valid until the connection closes.
  void volatile* region = nullptr;
  if (file->pMethods->xShmMap(file, 0, kRegionBytes, 0, &region) != SQLITE_OK ||
      region == nullptr) {
    return nullptr;
  }
  return std::unique_ptr<WalHeaderWatch>(
      new WalHeaderWatch(std::move(conn), static_cast<const volatile unsigned char*>(region)));
}

std::optional<WalHeaderWatch::Header> WalHeaderWatch::Read() const {
  // A writer writes the second copy, then (after a barrier) the first; reading the first,
  // then the second, and finding them equal means neither was half-written.
  Header first;
  Header second;
  for (size_t i = 0; i < kHeaderBytes; ++i) first[i] = map_[i];
  std::atomic_thread_fence(std::memory_order_acquire);
  for (size_t i = 0; i < kHeaderBytes; ++i) second[i] = map_[kHeaderBytes + i];
  if (first != second || first[kIsInit] != 1) return std::nullopt;
  return first;
}

std::optional<int64_t> GenerationMemo::Auth(const Header& header) const {
  std::lock_guard lock(mu_);
  if (!valid_ || header_ != header || !auth_) return std::nullopt;
  hits_.fetch_add(1, std::memory_order_relaxed);
  return auth_;
}

std::optional<ProjectGenerations> GenerationMemo::Project(const Header& header,
                                                          int64_t project_id) const {
  std::lock_guard lock(mu_);
  if (!valid_ || header_ != header) return std::nullopt;
  const auto it = projects_.find(project_id);
  if (it == projects_.end()) return std::nullopt;
  hits_.fetch_add(1, std::memory_order_relaxed);
  return it->second;
}

void GenerationMemo::KeepAuth(const Header& header, int64_t generation) {
  std::lock_guard lock(mu_);
  Rebase(header);
  auth_ = generation;
}

void GenerationMemo::KeepProject(const Header& header, int64_t project_id,
                                 const ProjectGenerations& g) {
  std::lock_guard lock(mu_);
  Rebase(header);
  if (projects_.size() >= kMaxProjects) projects_.clear();
  projects_[project_id] = g;
}

void GenerationMemo::Rebase(const Header& header) {
  if (valid_ && header_ == header) return;
  valid_ = true;
  header_ = header;
  auth_.reset();
  projects_.clear();
}

}  // namespace keypaird::store::sqlite
