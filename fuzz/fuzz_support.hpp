#pragma once
/// What the fuzz targets share: the input as a file (for entry points that take a path) and a
/// reader that turns fuzz bytes into the choices a scripted target makes (sides, lengths, ...).

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

namespace sio::fuzz {

/// Stops the fuzzer with a message: a broken invariant is a finding like a crash.
[[noreturn]] inline void violated(const char* what) {
  std::fprintf(stderr, "fuzz invariant violated: %s\n", what);
  std::abort();
}
#define SIO_FUZZ_CHECK(cond)                                                                       \
  do {                                                                                             \
    if (!(cond)) ::sio::fuzz::violated(#cond " (" __FILE__ ")");                                   \
  } while (false)

/// The fuzz input as a file with a path: an anonymous in-memory file (memfd), reused for every
/// input, reached through /proc/self/fd/N. Nothing touches the disk.
class MemFile {
public:
  MemFile() : fd_(memfd_create("sio-fuzz", 0)) {
    if (fd_ < 0) violated("memfd_create failed");
  }
  ~MemFile() { close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;

  /// Replaces the contents and returns the path.
  const std::string& write(std::string_view bytes) {
    if (ftruncate(fd_, 0) != 0) violated("ftruncate failed");
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n =
          pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
      if (n <= 0) violated("pwrite failed");
      done += static_cast<std::size_t>(n);
    }
    return path_;
  }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
  int fd_;
  std::string path_ = "/proc/self/fd/" + std::to_string(fd_);
};

/// Reads choices from the front of the fuzz input; once it runs out, every read gives 0 / empty.
class Input {
public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  [[nodiscard]] bool empty() const noexcept { return pos_ >= size_; }
  [[nodiscard]] std::size_t remaining() const noexcept { return size_ - pos_; }

  std::uint8_t u8() noexcept { return empty() ? 0 : data_[pos_++]; }
  std::uint16_t u16() noexcept { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
  std::uint32_t u32() noexcept {
    return static_cast<std::uint32_t>(u16()) | (static_cast<std::uint32_t>(u16()) << 16);
  }
  bool flag() noexcept { return (u8() & 1) != 0; }

  /// Up to `n` bytes (fewer at the end).
  std::span<const std::uint8_t> bytes(std::size_t n) noexcept {
    n = std::min(n, remaining());
    std::span<const std::uint8_t> out{data_ + pos_, n};
    pos_ += n;
    return out;
  }
  /// Everything that is left.
  std::span<const std::uint8_t> rest() noexcept { return bytes(remaining()); }
  /// The bytes up to `sep` (not included; `sep` is consumed), or the rest when there is none.
  std::string_view until(std::string_view sep) noexcept {
    const std::string_view all = text(rest());
    const std::size_t at = all.find(sep);
    if (at == std::string_view::npos) return all;
    pos_ -= all.size() - at - sep.size();
    return all.substr(0, at);
  }

  static std::string_view text(std::span<const std::uint8_t> b) noexcept {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }

private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

} // namespace sio::fuzz
