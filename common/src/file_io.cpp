#include "sio/common/file_io.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sio {
namespace {

constexpr std::size_t output_buffer_size = std::size_t{1} << 20;

std::string errno_text(int e) {
  return std::strerror(e);
}

} // namespace

Result<InputFile> InputFile::open(const std::string& path) {
  InputFile f;
  f.path_ = path;
  if (path == "-") {
    char buf[1 << 16];
    for (;;) {
      const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(errc::io_error, "standard input: " + errno_text(errno));
      }
      if (n == 0) break;
      f.buffer_.append(buf, static_cast<std::size_t>(n));
    }
    if (f.buffer_.empty()) return fail(errc::empty_input, "standard input");
    f.data_ = f.buffer_.data();
    f.size_ = f.buffer_.size();
    return f;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errc::io_error, path + ": cannot open: " + errno_text(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return fail(errc::io_error, path + ": " + errno_text(e));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return fail(errc::is_directory, path + ": expected a file, got a directory");
  }
  if (S_ISREG(st.st_mode)) {
    if (st.st_size == 0) {
      ::close(fd);
      return fail(errc::empty_input, path + ": the file is empty");
    }
    const auto size = static_cast<std::size_t>(st.st_size);
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) return fail(errc::io_error, path + ": cannot map: " + errno_text(errno));
    ::madvise(p, size, MADV_SEQUENTIAL);
    f.data_ = static_cast<const char*>(p);
    f.size_ = size;
    f.mapped_ = true;
    return f;
  }
  // A pipe, FIFO or device: read it all.
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return fail(errc::io_error, path + ": " + errno_text(e));
    }
    if (n == 0) break;
    f.buffer_.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (f.buffer_.empty()) return fail(errc::empty_input, path + ": the file is empty");
  f.data_ = f.buffer_.data();
  f.size_ = f.buffer_.size();
  return f;
}

InputFile::InputFile(InputFile&& o) noexcept {
  *this = std::move(o);
}

InputFile& InputFile::operator=(InputFile&& o) noexcept {
  if (this == &o) return *this;
  if (mapped_) ::munmap(const_cast<char*>(data_), size_);
  path_ = std::move(o.path_);
  mapped_ = o.mapped_;
  released_ = o.released_;
  size_ = o.size_;
  buffer_ = std::move(o.buffer_);
  data_ = mapped_ ? o.data_ : buffer_.data();
  o.mapped_ = false;
  o.data_ = nullptr;
  o.size_ = 0;
  return *this;
}

InputFile::~InputFile() {
  if (mapped_) ::munmap(const_cast<char*>(data_), size_);
}

void InputFile::release_before(std::size_t offset) noexcept {
  if (!mapped_) return;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t end = offset / page * page;
  if (end <= released_ + (8u << 20)) return; // hand back in 8 MB steps
  ::madvise(const_cast<char*>(data_) + released_, end - released_, MADV_DONTNEED);
  released_ = end;
}

Result<AtomicOutput> AtomicOutput::create(const std::string& path) {
  AtomicOutput out;
  out.path_ = path;
  if (path == "-") {
    out.to_stdout_ = true;
    out.file_ = stdout;
    return out;
  }
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty()) return fail(errc::io_error, path + ": the output path names a folder");
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode))
    return fail(errc::is_directory, path + ": the output path is a directory");
  if (exists && !S_ISREG(st.st_mode)) {
    // A device or FIFO (e.g. /dev/null) is written in place: renaming a temporary onto it would
    // replace the device with a regular file. temp_path_ stays empty; commit() just closes it.
    const int dfd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (dfd < 0)
      return fail(errc::io_error, path + ": cannot open the output: " + errno_text(errno));
    out.file_ = ::fdopen(dfd, "wb");
    if (out.file_ == nullptr) {
      const int e = errno;
      ::close(dfd);
      return fail(errc::io_error, path + ": " + errno_text(e));
    }
    return out;
  }
  std::string temp =
      (slash == std::string::npos ? std::string() : dir) + "." + base + ".tmp.XXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0)
    return fail(errc::io_error, path + ": cannot create the output file: " + errno_text(errno));
  // mkstemp creates 0600; give the file the permissions a plain open() would (0666 & ~umask).
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  out.file_ = ::fdopen(fd, "wb");
  if (out.file_ == nullptr) {
    const int e = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return fail(errc::io_error, path + ": " + errno_text(e));
  }
  out.temp_path_ = std::move(temp);
  // A recording is written in many small pieces: a 1 MiB buffer instead of stdio's 4 KiB turns
  // thousands of write(2) calls into a few.
  out.buffer_ = std::make_unique<char[]>(output_buffer_size);
  std::setvbuf(out.file_, out.buffer_.get(), _IOFBF, output_buffer_size);
  return out;
}

AtomicOutput::AtomicOutput(AtomicOutput&& o) noexcept {
  *this = std::move(o);
}

AtomicOutput& AtomicOutput::operator=(AtomicOutput&& o) noexcept {
  if (this == &o) return *this;
  discard();
  path_ = std::move(o.path_);
  temp_path_ = std::move(o.temp_path_);
  file_ = o.file_;
  buffer_ = std::move(o.buffer_);
  to_stdout_ = o.to_stdout_;
  write_failed_ = o.write_failed_;
  o.file_ = nullptr;
  o.temp_path_.clear();
  return *this;
}

AtomicOutput::~AtomicOutput() {
  discard();
}

void AtomicOutput::discard() noexcept {
  if (file_ != nullptr && !to_stdout_) std::fclose(file_);
  file_ = nullptr;
  if (!temp_path_.empty()) ::unlink(temp_path_.c_str());
  temp_path_.clear();
}

void AtomicOutput::write(std::string_view bytes) {
  if (file_ == nullptr || write_failed_ || bytes.empty()) return;
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) write_failed_ = true;
}

Status AtomicOutput::commit() {
  if (file_ == nullptr) return fail(errc::io_error, path_ + ": output already closed");
  if (to_stdout_) {
    const bool bad = std::fflush(file_) != 0 || write_failed_;
    file_ = nullptr;
    if (bad) return fail(errc::io_error, "standard output: write failed: " + errno_text(errno));
    return ok_status();
  }
  if (temp_path_.empty()) { // a device or FIFO written in place
    const bool bad = write_failed_ || std::fflush(file_) != 0;
    const int e = errno;
    const bool close_bad = std::fclose(file_) != 0;
    file_ = nullptr;
    if (bad || close_bad) return fail(errc::io_error, path_ + ": write failed: " + errno_text(e));
    return ok_status();
  }
  bool bad = write_failed_ || std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0;
  const int e = errno;
  bad = std::fclose(file_) != 0 || bad;
  file_ = nullptr;
  if (bad) {
    discard();
    return fail(errc::io_error, path_ + ": write failed: " + errno_text(e));
  }
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const int re = errno;
    discard();
    return fail(errc::io_error, path_ + ": cannot replace the output file: " + errno_text(re));
  }
  temp_path_.clear();
  return ok_status();
}

Status write_file_atomically(const std::string& path, std::string_view bytes) {
  auto out = AtomicOutput::create(path);
  if (!out) return fail(out.error());
  out->write(bytes);
  return out->commit();
}

} // namespace sio
