#include "store/sqlite/unchanged.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace keypaird::store::sqlite {
namespace {

constexpr size_t kHeaderBytes = std::tuple_size_v<WalHeaderWatch::Header>;
constexpr size_t kIsInit = 12;  // the byte that says the header has been written
constexpr size_t kMapBytes = 4096;

}  // namespace

std::unique_ptr<WalHeaderWatch> WalHeaderWatch::Open(const std::string& shm_path) {
  const int fd = ::open(shm_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return nullptr;
  struct stat st {};
  void* map = MAP_FAILED;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= static_cast<off_t>(kMapBytes)) {
    map = ::mmap(nullptr, kMapBytes, PROT_READ, MAP_SHARED, fd, 0);
  }
  ::close(fd);  // the mapping stays
  if (map == MAP_FAILED) return nullptr;
  return std::unique_ptr<WalHeaderWatch>(
      new WalHeaderWatch(static_cast<const volatile unsigned char*>(map), kMapBytes));
}

WalHeaderWatch::~WalHeaderWatch() { ::munmap(const_cast<unsigned char*>(map_), size_); }

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
