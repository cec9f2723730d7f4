#include "ca/kek.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace keypaird::ca {
namespace {

namespace fs = std::filesystem;

class KekFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kek-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& bytes, mode_t mode) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    chmod(path.c_str(), mode);
    return path;
  }
  fs::path dir_;
};

TEST(KekTest, SealedSeedsOpenOnlyWithTheirKeyAndProject) {
  StatusOr<Kek> kek = Kek::FromBytes(std::string(32, 'k'));
  StatusOr<Kek> other = Kek::FromBytes(std::string(32, 'o'));
  ASSERT_TRUE(kek.ok() && other.ok());
  const std::string seed(32, 's');
  StatusOr<std::string> sealed = kek->Seal(seed, 7);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), 1 + 12 + 32 + 16u);
  EXPECT_EQ(sealed->find(seed), std::string::npos);  // not in the clear
  StatusOr<SecretString> opened = kek->Open(*sealed, 7);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(opened->view(), seed);
  EXPECT_NE(*kek->Seal(seed, 7), *sealed);  // a fresh nonce each time
  EXPECT_EQ(kek->Open(*sealed, 8).status().code(), StatusCode::kInvalidArgument);  // project
  EXPECT_EQ(other->Open(*sealed, 7).status().code(), StatusCode::kInvalidArgument);
  for (size_t i = 0; i < sealed->size(); ++i) {
    std::string tampered = *sealed;
    tampered[i] ^= 1;
    EXPECT_FALSE(kek->Open(tampered, 7).ok()) << i;
  }
  EXPECT_FALSE(kek->Open("", 7).ok());
}

TEST(KekTest, AHostCasSeedAndAUserCasDoNotOpenAsEachOther) {
  StatusOr<Kek> kek = Kek::FromBytes(std::string(32, 'k'));
  ASSERT_TRUE(kek.ok());
  const std::string seed(32, 's');
  StatusOr<std::string> host = kek->Seal(seed, 7, /*host=*/true);
  StatusOr<std::string> user = kek->Seal(seed, 7);
  ASSERT_TRUE(host.ok() && user.ok());
  EXPECT_EQ(kek->Open(*host, 7, /*host=*/true)->view(), seed);
  EXPECT_EQ(kek->Open(*host, 7).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(kek->Open(*user, 7, /*host=*/true).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(KekFileTest, NewKeysAreWrittenOnceWithMode0600AndLoad) {
  const std::string path = (dir_ / "kek").string();
  ASSERT_TRUE(Kek::WriteNew(path).ok());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_size, 65);  // 64 hex digits and a newline
  EXPECT_EQ(Kek::WriteNew(path).code(), StatusCode::kAlreadyExists);  // never overwritten
  StatusOr<Kek> kek = Kek::Load(path);
  ASSERT_TRUE(kek.ok()) << kek.status().message();
  StatusOr<Kek> again = Kek::Load(path);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->Open(*kek->Seal("x", 1), 1).ok());  // the same key
}

TEST_F(KekFileTest, RawBytesLoadToo) {
  const std::string path = Write("raw", std::string(32, '\x01'), 0600);
  StatusOr<Kek> raw = Kek::Load(path);
  ASSERT_TRUE(raw.ok()) << raw.status().message();
  StatusOr<Kek> same = Kek::FromBytes(std::string(32, '\x01'));
  EXPECT_TRUE(same->Open(*raw->Seal("x", 1), 1).ok());
}

TEST_F(KekFileTest, OpenFilesAndMalformedKeysAreRefused) {
  const std::string hex(64, 'a');
  for (mode_t mode : {0640, 0604, 0660, 0644, 0606}) {
    const std::string path = Write("open", hex, mode);
    StatusOr<Kek> kek = Kek::Load(path);
    ASSERT_FALSE(kek.ok()) << mode;
    EXPECT_NE(kek.status().message().find("chmod 600"), std::string::npos);
    EXPECT_EQ(kek.status().message().find(hex), std::string::npos);  // never echoed
  }
  for (const std::string& bad : {std::string(63, 'a'), std::string(64, 'g'), std::string(31, 'a'),
                                 std::string()}) {
    EXPECT_FALSE(Kek::Load(Write("bad", bad, 0600)).ok()) << bad;
  }
  EXPECT_FALSE(Kek::Load((dir_ / "missing").string()).ok());
  fs::create_symlink(Write("target", hex, 0600), dir_ / "link");
  EXPECT_FALSE(Kek::Load((dir_ / "link").string()).ok());  // no symlinks
}

}  // namespace
}  // namespace keypaird::ca
