// The token file's rules and atomic replacement (cli/secure_files.h).
#include "cli/secure_files.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "testing/openssh_harness.h"

namespace keypaird::cli {
namespace {

using testutil::ReadFile;
using testutil::TempDir;
using testutil::WriteFile;

constexpr char kToken[] = "kpd_0123456789abcdef_0123456789abcdefghijklmnopqrstuvwxyz";

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  return names;
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

ino_t InodeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

class TokenFileTest : public ::testing::Test {
 protected:
  // A token file with `content` and `mode`; its path.
  std::string Token(std::string_view content, mode_t mode = 0600) {
    const std::string path = dir_ / ("token" + std::to_string(++n_));
    EXPECT_TRUE(WriteFile(path, content, mode));
    return path;
  }
  TempDir dir_;
  int n_ = 0;
};

TEST_F(TokenFileTest, OwnerOnlyFilesAreReadWithoutTheFinalLineBreak) {
  for (const std::string& content :
       {std::string(kToken), std::string(kToken) + "\n", std::string(kToken) + "\r\n"}) {
    for (mode_t mode : {0600, 0400}) {
      StatusOr<SecretString> token = ReadTokenFile(Token(content, mode));
      ASSERT_TRUE(token.ok()) << token.status().message();
      EXPECT_EQ(token->view(), kToken);
    }
  }
}

TEST_F(TokenFileTest, AnyAccessForGroupOrOthersIsRefusedNamingTheFileAndItsMode) {
  for (mode_t mode : {0640, 0604, 0644, 0620, 0602, 0610, 0601, 0660, 0666}) {
    const std::string path = Token(kToken, mode);
    const Status s = ReadTokenFile(path).status();
    EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << std::oct << mode;
    char octal[8];
    std::snprintf(octal, sizeof(octal), "%04o", static_cast<unsigned>(mode));
    EXPECT_EQ(s.message(), "the token file " + path + " has mode " + octal +
                               ": others than its owner may read or change it, so the token is "
                               "no secret (chmod 600 " +
                               path + ")");
  }
}

TEST_F(TokenFileTest, ASymbolicLinkIsRefusedEvenToAGoodFile) {
  const std::string good = Token(kToken);
  const std::string link = dir_ / "link";
  ASSERT_EQ(symlink(good.c_str(), link.c_str()), 0);
  const Status s = ReadTokenFile(link).status();
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "the token file " + link + " is a symbolic link: name the file itself");
}

TEST_F(TokenFileTest, OnlyARegularFileWillDo) {
  const std::string sub = dir_ / "sub";
  ASSERT_EQ(mkdir(sub.c_str(), 0700), 0);
  EXPECT_EQ(ReadTokenFile(sub).status().message(),
            "the token file " + sub + " is not a regular file");
  const std::string fifo = dir_ / "fifo";  // opening it must not wait for a writer
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(ReadTokenFile(fifo).status().code(), StatusCode::kPermissionDenied);
  const Status missing = ReadTokenFile(dir_ / "missing").status();
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "the token file " + dir_ / "missing" + " does not exist");
}

TEST_F(TokenFileTest, AFileOfAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give a file to another user";
  const std::string path = Token(kToken);
  ASSERT_EQ(chown(path.c_str(), 65534, 65534), 0);
  const Status s = ReadTokenFile(path).status();
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "the token file " + path +
                             " belongs to uid 65534: it must belong to the user running this "
                             "command (uid 0) or root");
}

TEST_F(TokenFileTest, ContentOtherThanOneTokenIsRefusedWithoutShowingIt) {
  const std::string secret = "s3cr3t-part";
  for (const std::string& content :
       {std::string(""), std::string("\n"), secret + " " + secret, secret + "\n" + secret,
        "\n" + secret, secret + "\t", std::string(kMaxTokenFileBytes + 1, 'k')}) {
    const Status s = ReadTokenFile(Token(content)).status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << content.substr(0, 40);
    EXPECT_EQ(s.message().find(secret), std::string::npos) << s.message();
  }
  EXPECT_NE(ReadTokenFile(Token("")).status().message().find(" is empty"), std::string::npos);
}

TEST(WriteFileAtomicallyTest, WritesExactlyTheModeAskedWhateverTheUmask) {
  TempDir dir;
  const mode_t old_umask = umask(077);
  ASSERT_TRUE(WriteFileAtomically(dir / "krl", "bytes", 0644).ok());
  ASSERT_TRUE(WriteFileAtomically(dir / "cache", "bytes", 0600).ok());
  umask(old_umask);
  EXPECT_EQ(ModeOf(dir / "krl"), 0644u);
  EXPECT_EQ(ModeOf(dir / "cache"), 0600u);
  EXPECT_EQ(ReadFile(dir / "krl"), "bytes");
}

TEST(WriteFileAtomicallyTest, AReaderOfTheOldFileKeepsItWholeAndNoTemporaryFileRemains) {
  TempDir dir;
  const std::string path = dir / "authorized_keys.cache";
  ASSERT_TRUE(WriteFileAtomically(path, "old keys\n", 0600).ok());
  const ino_t old_inode = InodeOf(path);
  std::ifstream reader(path);  // opened before the replacement
  ASSERT_TRUE(WriteFileAtomically(path, "new keys\n", 0600).ok());
  std::string seen;
  std::getline(reader, seen);
  EXPECT_EQ(seen, "old keys");  // the old file, whole: it was replaced, not rewritten
  EXPECT_EQ(ReadFile(path), "new keys\n");
  EXPECT_NE(InodeOf(path), old_inode);
  EXPECT_EQ(Entries(dir.path()), std::vector<std::string>{"authorized_keys.cache"});
}

TEST(WriteFileAtomicallyTest, SetsTheModificationTimeWhenAsked) {
  TempDir dir;
  const int64_t when_us = int64_t{1700000000} * 1000000 + 123456;
  ASSERT_TRUE(WriteFileAtomically(dir / "f", "x", 0600, when_us).ok());
  struct stat st {};
  ASSERT_EQ(stat((dir / "f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1700000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456000);
}

TEST(WriteFileAtomicallyTest, AFailureLeavesThePathAsItWasAndCleansUp) {
  TempDir dir;
  // The target is a directory: the rename fails after the data was written.
  const std::string target = dir / "out";
  ASSERT_EQ(mkdir(target.c_str(), 0755), 0);
  const Status s = WriteFileAtomically(target, "krl", 0644);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(s.message().rfind("cannot write " + target + ": rename: ", 0), 0u) << s.message();
  EXPECT_EQ(Entries(dir.path()), std::vector<std::string>{"out"});
  // A directory that does not exist.
  const Status missing = WriteFileAtomically(dir / "no/such/krl", "krl", 0644);
  EXPECT_EQ(missing.code(), StatusCode::kInternal);
  EXPECT_EQ(missing.message().rfind("cannot write " + dir / "no/such/krl" +
                                        ": cannot create a file in " + dir / "no/such",
                                    0),
            0u)
      << missing.message();
}

}  // namespace
}  // namespace keypaird::cli
