#pragma once
/// Reading inputs without copying them, and writing outputs atomically.

#include "sio/common/result.hpp"

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

namespace sio {

/// A whole input file in memory: memory-mapped when it is a regular file (pages already read
/// can be handed back with release_before, so a 1 GB input does not cost 1 GB of RAM), read
/// into a buffer otherwise ("-" is standard input). Never opened for writing.
class InputFile {
public:
  /// Opens `path`. Errors: missing or unreadable file, a directory, an empty file.
  static Result<InputFile> open(const std::string& path);

  InputFile(InputFile&&) noexcept;
  InputFile& operator=(InputFile&&) noexcept;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();

  /// The bytes of the file.
  [[nodiscard]] std::string_view data() const noexcept { return {data_, size_}; }
  /// The path as given ("-" for standard input).
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  /// Tells the kernel the bytes before `offset` will not be read again (mapped files only).
  void release_before(std::size_t offset) noexcept;

private:
  InputFile() = default;
  std::string path_;
  const char* data_ = nullptr;
  std::size_t size_ = 0;
  bool mapped_ = false;
  std::size_t released_ = 0; ///< bytes already handed back, page aligned
  std::string buffer_;       ///< holds the bytes when not mapped
};

/// An output written atomically: bytes go to a temporary file in the target's folder, which
/// replaces the target only on commit(). Destroyed without commit, it removes the temporary, so
/// a failed run leaves no half-written file. "-" writes to standard output directly.
class AtomicOutput {
public:
  /// Creates the temporary file. Errors name the path (missing folder, no permission).
  static Result<AtomicOutput> create(const std::string& path);

  AtomicOutput(AtomicOutput&&) noexcept;
  AtomicOutput& operator=(AtomicOutput&&) noexcept;
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;
  ~AtomicOutput();

  /// Appends bytes (buffered). Errors surface at commit().
  void write(std::string_view bytes);
  /// Flushes, syncs and renames the temporary onto the target.
  Status commit();
  /// The target path.
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  /// The temporary file until commit() ("" for standard output or a device): for a signal
  /// handler that must remove it before exiting at once (no destructor runs then).
  [[nodiscard]] const std::string& temp_path() const noexcept { return temp_path_; }

private:
  AtomicOutput() = default;
  void discard() noexcept;
  std::string path_;
  std::string temp_path_;
  std::FILE* file_ = nullptr;
  std::unique_ptr<char[]> buffer_; ///< stdio buffer of a file output (outlives file_)
  bool to_stdout_ = false;
  bool write_failed_ = false;
};

/// Writes `bytes` to `path` atomically.
Status write_file_atomically(const std::string& path, std::string_view bytes);

} // namespace sio
