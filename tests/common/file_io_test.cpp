#include "sio/common/file_io.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
using sio::AtomicOutput;
using sio::errc;
using sio::InputFile;

/// A fresh directory under /tmp per test, removed afterwards.
class FileIoTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = "/tmp/sio_file_io_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  [[nodiscard]] std::string path(const std::string& name) const { return dir_ + "/" + name; }

  static void write_plain(const std::string& p, const std::string& bytes) {
    std::ofstream f(p, std::ios::binary);
    f << bytes;
  }

  static std::string read_plain(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
  }

  /// Names of the entries in the test directory, sorted.
  [[nodiscard]] std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string dir_;
};

using Names = std::vector<std::string>;

// --- InputFile --------------------------------------------------------------------------------

TEST_F(FileIoTest, InputFileMapsARegularFile) {
  const std::string bytes = std::string("line 1\nline 2\n") + '\0' + "\xff binary";
  write_plain(path("in.txt"), bytes);
  auto f = InputFile::open(path("in.txt"));
  ASSERT_TRUE(f.ok()) << f.error().message();
  EXPECT_EQ(f->data(), bytes);
  EXPECT_EQ(f->path(), path("in.txt"));
}

TEST_F(FileIoTest, InputFileRejectsAnEmptyFile) {
  write_plain(path("empty"), "");
  auto f = InputFile::open(path("empty"));
  ASSERT_FALSE(f.ok());
  EXPECT_TRUE(f.error().is(errc::empty_input)) << f.error().message();
  EXPECT_NE(f.error().context.find(path("empty")), std::string::npos) << f.error().context;
}

TEST_F(FileIoTest, InputFileRejectsADirectory) {
  auto f = InputFile::open(dir_);
  ASSERT_FALSE(f.ok());
  EXPECT_TRUE(f.error().is(errc::is_directory)) << f.error().message();
  EXPECT_NE(f.error().context.find(dir_), std::string::npos) << f.error().context;
}

TEST_F(FileIoTest, InputFileReportsAMissingFileWithItsPath) {
  const std::string missing = path("no-such-file.har");
  auto f = InputFile::open(missing);
  ASSERT_FALSE(f.ok());
  EXPECT_TRUE(f.error().is(errc::io_error)) << f.error().message();
  EXPECT_NE(f.error().context.find(missing), std::string::npos) << f.error().context;
}

TEST_F(FileIoTest, InputFileReadsAnEmptyDeviceAsEmptyInput) {
  // Our own null device: the test must not depend on the state of the system's /dev/null.
  const std::string dev = path("null");
  if (::mknod(dev.c_str(), S_IFCHR | 0666, ::makedev(1, 3)) != 0)
    GTEST_SKIP() << "cannot create a device node here";
  auto f = InputFile::open(dev);
  ASSERT_FALSE(f.ok());
  EXPECT_TRUE(f.error().is(errc::empty_input)) << f.error().message();
}

TEST_F(FileIoTest, InputFileReadsAFifoIntoABuffer) {
  const std::string fifo = path("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::thread writer([&] { write_plain(fifo, "through a pipe"); });
  auto f = InputFile::open(fifo); // blocks until the writer opens its end
  writer.join();
  ASSERT_TRUE(f.ok()) << f.error().message();
  EXPECT_EQ(f->data(), "through a pipe");

  // Moving a buffered (short, possibly SSO) input keeps data() pointing at its own bytes.
  InputFile moved = std::move(*f);
  EXPECT_EQ(moved.data(), "through a pipe");
  EXPECT_EQ(moved.path(), fifo);
}

TEST_F(FileIoTest, InputFileMovesKeepTheMapping) {
  write_plain(path("a"), "first file");
  write_plain(path("b"), "second file");
  auto a = InputFile::open(path("a"));
  auto b = InputFile::open(path("b"));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  InputFile x = std::move(*a);
  EXPECT_EQ(x.data(), "first file");
  EXPECT_EQ(x.path(), path("a"));
  x = std::move(*b); // unmaps the first mapping, takes the second
  EXPECT_EQ(x.data(), "second file");
  EXPECT_EQ(x.path(), path("b"));
}

TEST_F(FileIoTest, ReleaseBeforeKeepsLaterBytesReadable) {
  // 20 MB so that release_before really hands pages back (it works in 8 MB steps).
  const std::size_t size = 20u << 20;
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>('a' + i % 26);
  write_plain(path("big"), bytes);
  auto f = InputFile::open(path("big"));
  ASSERT_TRUE(f.ok()) << f.error().message();
  ASSERT_EQ(f->data().size(), size);

  for (const std::size_t at :
       {std::size_t{1} << 20, std::size_t{9} << 20, std::size_t{17} << 20, size - 1, size}) {
    f->release_before(at);
    const std::string_view later = f->data().substr(at);
    EXPECT_EQ(later, std::string_view(bytes).substr(at)) << "after release_before(" << at << ")";
  }
  EXPECT_EQ(f->data().size(), size);
  EXPECT_EQ(f->data().back(), bytes.back());
}

TEST_F(FileIoTest, ReleaseBeforeOnABufferedInputIsHarmless) {
  const std::string fifo = path("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::thread writer([&] { write_plain(fifo, "abc"); });
  auto f = InputFile::open(fifo);
  writer.join();
  ASSERT_TRUE(f.ok());
  f->release_before(3);
  EXPECT_EQ(f->data(), "abc");
}

// --- AtomicOutput -----------------------------------------------------------------------------

TEST_F(FileIoTest, CommitCreatesTheFileWithTheContent) {
  auto out = AtomicOutput::create(path("out.jsonl"));
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->path(), path("out.jsonl"));
  out->write("hello ");
  out->write("");
  out->write("world\n");
  ASSERT_TRUE(out->commit().ok());
  EXPECT_EQ(read_plain(path("out.jsonl")), "hello world\n");
  EXPECT_EQ(entries(), Names{"out.jsonl"}); // no temporary left behind
}

TEST_F(FileIoTest, TemporaryFileLivesInTheTargetFolderUntilCommit) {
  auto out = AtomicOutput::create(path("out.jsonl"));
  ASSERT_TRUE(out.ok());
  out->write("data");
  const auto before = entries();
  ASSERT_EQ(before.size(), 1u);
  EXPECT_NE(before[0], "out.jsonl");
  EXPECT_FALSE(fs::exists(path("out.jsonl")));
  ASSERT_TRUE(out->commit().ok());
  EXPECT_EQ(entries(), Names{"out.jsonl"});
}

TEST_F(FileIoTest, CommitOfNothingCreatesAnEmptyFile) {
  auto out = AtomicOutput::create(path("empty.out"));
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(out->commit().ok());
  EXPECT_TRUE(fs::exists(path("empty.out")));
  EXPECT_EQ(fs::file_size(path("empty.out")), 0u);
}

TEST_F(FileIoTest, DestroyingWithoutCommitLeavesNothing) {
  {
    auto out = AtomicOutput::create(path("out.jsonl"));
    ASSERT_TRUE(out.ok());
    out->write("half written");
    EXPECT_EQ(entries().size(), 1u); // the temporary
  }
  EXPECT_EQ(entries(), Names{});
}

TEST_F(FileIoTest, UncommittedOutputLeavesAnExistingTargetUntouched) {
  write_plain(path("keep.txt"), "original");
  {
    auto out = AtomicOutput::create(path("keep.txt"));
    ASSERT_TRUE(out.ok());
    out->write("replacement");
    EXPECT_EQ(read_plain(path("keep.txt")), "original");
  }
  EXPECT_EQ(read_plain(path("keep.txt")), "original");
  EXPECT_EQ(entries(), Names{"keep.txt"});
}

TEST_F(FileIoTest, CommitReplacesAnExistingTarget) {
  write_plain(path("target.txt"), "original content that is longer");
  auto out = AtomicOutput::create(path("target.txt"));
  ASSERT_TRUE(out.ok());
  out->write("new");
  EXPECT_EQ(read_plain(path("target.txt")), "original content that is longer");
  ASSERT_TRUE(out->commit().ok());
  EXPECT_EQ(read_plain(path("target.txt")), "new");
  EXPECT_EQ(entries(), Names{"target.txt"});
}

TEST_F(FileIoTest, OutputIntoAMissingFolderNamesThePath) {
  const std::string target = path("no/such/folder/out.jsonl");
  auto out = AtomicOutput::create(target);
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(out.error().is(errc::io_error)) << out.error().message();
  EXPECT_NE(out.error().context.find(target), std::string::npos) << out.error().context;
  EXPECT_EQ(entries(), Names{});
}

TEST_F(FileIoTest, OutputOntoADirectoryIsRefused) {
  fs::create_directory(path("sub"));
  auto out = AtomicOutput::create(path("sub"));
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(out.error().is(errc::is_directory)) << out.error().message();
  EXPECT_NE(out.error().context.find(path("sub")), std::string::npos);

  auto slash = AtomicOutput::create(path("sub") + "/");
  ASSERT_FALSE(slash.ok());
  EXPECT_NE(slash.error().context.find(path("sub")), std::string::npos);
  EXPECT_EQ(entries(), Names{"sub"});
  EXPECT_TRUE(fs::is_empty(path("sub")));
}

/// Closes a file descriptor at the end of a scope.
struct Fd {
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  int fd;
};

TEST_F(FileIoTest, OutputOntoAFifoWritesInPlace) {
  const std::string fifo = path("out.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const Fd reader{::open(fifo.c_str(), O_RDONLY | O_NONBLOCK)}; // so the writer does not block
  ASSERT_GE(reader.fd, 0);
  {
    auto out = AtomicOutput::create(fifo);
    ASSERT_TRUE(out.ok()) << out.error().message();
    out->write("through the fifo");
    const auto st = out->commit();
    ASSERT_TRUE(st.ok()) << st.error().message();
  }
  char buf[64];
  const ssize_t n = ::read(reader.fd, buf, sizeof buf);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)), "through the fifo");
  struct stat st {};
  ASSERT_EQ(::stat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode)) << "the FIFO was replaced by a regular file";
  EXPECT_EQ(entries(), Names{"out.fifo"});
}

TEST_F(FileIoTest, OutputOntoADeviceKeepsTheDevice) {
  // Our own null device, so that a regression cannot replace the system's /dev/null.
  const std::string dev = path("null");
  if (::mknod(dev.c_str(), S_IFCHR | 0666, ::makedev(1, 3)) != 0)
    GTEST_SKIP() << "cannot create a device node here";
  for (const bool commit : {true, false}) {
    auto out = AtomicOutput::create(dev);
    ASSERT_TRUE(out.ok()) << out.error().message();
    out->write("discarded bytes");
    if (commit) {
      const auto st = out->commit();
      EXPECT_TRUE(st.ok()) << st.error().message();
    }
  }
  struct stat st {};
  ASSERT_EQ(::stat(dev.c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "the device was replaced by a regular file";
  EXPECT_EQ(entries(), Names{"null"});
  EXPECT_TRUE(sio::write_file_atomically(dev, "x").ok());
  ASSERT_EQ(::stat(dev.c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(FileIoTest, CommitTwiceFails) {
  auto out = AtomicOutput::create(path("once"));
  ASSERT_TRUE(out.ok());
  out->write("x");
  ASSERT_TRUE(out->commit().ok());
  const auto again = out->commit();
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.error().is(errc::io_error));
  EXPECT_EQ(read_plain(path("once")), "x");
}

TEST_F(FileIoTest, MovedOutputCommitsOnceAndTheSourceCleansNothingUp) {
  auto out = AtomicOutput::create(path("moved"));
  ASSERT_TRUE(out.ok());
  out->write("abc");
  {
    AtomicOutput taken = std::move(*out);
    taken.write("def");
    EXPECT_EQ(taken.path(), path("moved"));
    ASSERT_TRUE(taken.commit().ok());
  }
  EXPECT_EQ(read_plain(path("moved")), "abcdef");
  EXPECT_EQ(entries(), Names{"moved"});
}

TEST_F(FileIoTest, MoveAssignmentDiscardsTheOverwrittenOutput) {
  auto first = AtomicOutput::create(path("first"));
  auto second = AtomicOutput::create(path("second"));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  first->write("1");
  second->write("2");
  EXPECT_EQ(entries().size(), 2u);
  *first = std::move(*second); // drops first's temporary
  EXPECT_EQ(entries().size(), 1u);
  ASSERT_TRUE(first->commit().ok());
  EXPECT_EQ(entries(), Names{"second"});
  EXPECT_EQ(read_plain(path("second")), "2");
}

TEST_F(FileIoTest, CommittedFileHasTheUsualPermissions) {
  const mode_t old = ::umask(022);
  auto out = AtomicOutput::create(path("perm"));
  ::umask(old);
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(out->commit().ok());
  struct stat st {};
  ASSERT_EQ(::stat(path("perm").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(FileIoTest, WriteFileAtomicallyWritesAndReplaces) {
  ASSERT_TRUE(sio::write_file_atomically(path("w.txt"), "one").ok());
  EXPECT_EQ(read_plain(path("w.txt")), "one");
  ASSERT_TRUE(sio::write_file_atomically(path("w.txt"), std::string(100000, 'z')).ok());
  EXPECT_EQ(read_plain(path("w.txt")), std::string(100000, 'z'));
  EXPECT_EQ(entries(), Names{"w.txt"});
}

TEST_F(FileIoTest, WriteFileAtomicallyIntoAMissingFolderFails) {
  const std::string target = path("missing/w.txt");
  const auto st = sio::write_file_atomically(target, "x");
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().is(errc::io_error));
  EXPECT_NE(st.error().context.find(target), std::string::npos) << st.error().context;
}

TEST_F(FileIoTest, WrittenFileReadsBackThroughInputFile) {
  const std::string bytes = std::string("a\0b\r\n", 5) + std::string(70000, 'q');
  ASSERT_TRUE(sio::write_file_atomically(path("rt"), bytes).ok());
  auto f = InputFile::open(path("rt"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->data(), bytes);
}

} // namespace
