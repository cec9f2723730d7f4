#include "cli/secure_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/strings.h"

namespace keypaird::cli {
namespace {

std::string Octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// Removes a temporary file unless Release() was called (after it was renamed into place).
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string path) : path_(std::move(path)) {}
  ~TempFileGuard() {
    if (fd_ >= 0) close(fd_);
    if (!path_.empty()) unlink(path_.c_str());
  }
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  void set_fd(int fd) { fd_ = fd; }
  int fd() const { return fd_; }
  // Closes the file; false (errno set) if closing reports an error.
  bool Close() {
    const int fd = fd_;
    fd_ = -1;
    return close(fd) == 0;
  }
  void Release() { path_.clear(); }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace

StatusOr<FileContent> ReadCheckedFile(const std::string& path, std::string_view name,
                                      size_t max_bytes,
                                      const std::function<Status(const struct stat&)>& check) {
  const std::string who(name);
  const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    const int e = errno;
    if (e == ELOOP) return PermissionDenied(who + " is a symbolic link: name the file itself");
    if (e == ENOENT) return NotFound(who + " does not exist");
    return Internal("cannot open " + who + ": " + ErrnoText(e));
  }
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  FileContent file;
  if (fstat(fd, &file.st) != 0) return Internal("cannot stat " + who + ": " + ErrnoText(errno));
  if (!S_ISREG(file.st.st_mode)) return PermissionDenied(who + " is not a regular file");
  if (Status s = check(file.st); !s.ok()) return s;
  if (file.st.st_size < 0 || static_cast<uint64_t>(file.st.st_size) > max_bytes) {
    return InvalidArgument(who + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  // One byte more than the size, to see a file that grew meanwhile.
  file.bytes.resize(static_cast<size_t>(file.st.st_size) + 1);
  size_t got = 0;
  while (got < file.bytes.size()) {
    const ssize_t n = read(fd, file.bytes.data() + got, file.bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      WipeString(file.bytes);
      return Internal("cannot read " + who + ": " + ErrnoText(e));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got > max_bytes) {
    WipeString(file.bytes);
    return InvalidArgument(who + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  file.bytes.resize(got);
  return file;
}

StatusOr<SecretString> ReadTokenFile(const std::string& path) {
  return ReadSecretFile(path, "token");
}

StatusOr<SecretString> ReadSecretFile(const std::string& path, std::string_view what) {
  const std::string name = "the " + std::string(what) + " file " + path;
  StatusOr<FileContent> file =
      ReadCheckedFile(path, name, kMaxTokenFileBytes, [&](const struct stat& st) {
        if ((st.st_mode & 077) != 0) {
          return PermissionDenied(name + " has mode " + Octal(st.st_mode) +
                                  ": others than its owner may read or change it, so the " +
                                  std::string(what) + " is no secret (chmod 600 " +
                                  path + ")");
        }
        if (st.st_uid != geteuid() && st.st_uid != 0) {
          return PermissionDenied(name + " belongs to uid " + std::to_string(st.st_uid) +
                                  ": it must belong to the user running this command (uid " +
                                  std::to_string(geteuid()) + ") or root");
        }
        return Status::Ok();
      });
  if (!file.ok()) return file.status();
  std::string& bytes = file->bytes;
  size_t end = bytes.size();
  if (end > 0 && bytes[end - 1] == '\n') --end;
  if (end > 0 && bytes[end - 1] == '\r') --end;
  bool printable = end > 0;
  for (size_t i = 0; printable && i < end; ++i) {
    printable = bytes[i] > ' ' && bytes[i] < 0x7f;
  }
  if (!printable) {
    WipeString(bytes);
    return InvalidArgument(name + (end == 0
                                       ? " is empty"
                                       : " holds more than one " + std::string(what) +
                                             " on one line (white space, control characters "
                                             "or a second line)"));
  }
  bytes.resize(end);  // shrinks in place: no copy of the token is left behind
  return SecretString(std::move(bytes));
}

Status WriteFileAtomically(const std::string& path, std::string_view data, mode_t mode,
                           std::optional<int64_t> mtime_us) {
  const std::filesystem::path target(path);
  if (target.filename().empty()) return Internal("cannot write " + path + ": it names a directory");
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  // Beside the target, so that the rename stays on one file system; hidden, so that a glob in
  // the directory does not pick it up half-written.
  std::string temp = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  const int fd = mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) {
    return Internal("cannot write " + path + ": cannot create a file in " + dir.string() + ": " +
                    ErrnoText(errno));
  }
  TempFileGuard guard(temp);
  guard.set_fd(fd);
  auto fail = [&](std::string_view doing) {
    return Internal("cannot write " + path + ": " + std::string(doing) + ": " + ErrnoText(errno));
  };
  if (fchmod(fd, mode) != 0) return fail("chmod");
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("write");
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (fsync(fd) != 0) return fail("fsync");
  if (mtime_us.has_value()) {
    const timespec t{static_cast<time_t>(*mtime_us / 1000000),
                     static_cast<long>((*mtime_us % 1000000) * 1000)};
    const timespec times[2] = {t, t};
    if (futimens(fd, times) != 0) return fail("set its time");
  }
  if (!guard.Close()) return fail("close");
  if (rename(temp.c_str(), path.c_str()) != 0) return fail("rename");
  guard.Release();
  // The rename itself survives a crash once the directory is flushed too (best effort: a
  // failure here leaves a correct file that may not survive a power cut).
  if (const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    (void)fsync(dfd);
    close(dfd);
  }
  return Status::Ok();
}

}  // namespace keypaird::cli
