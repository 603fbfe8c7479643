#pragma once
/// One error vocabulary for the whole project: our codes live in an std::error_category so they
/// mix with Asio's and the system's in one std::error_code.

#include <cstdint>
#include <string>
#include <system_error>

namespace sio {

/// What went wrong, independent of where. The place goes into Error::context.
enum class errc {
  ok = 0,
  io_error = 1,        ///< a file could not be opened, read or written
  is_directory,        ///< an input path names a directory
  empty_input,         ///< the input holds no bytes at all
  truncated_input,     ///< the input ends in the middle of a value or record
  bad_json,            ///< the input is not well-formed JSON
  bad_har,             ///< valid JSON, but not a HAR (missing or mistyped field)
  no_socketio_traffic, ///< the input holds no Engine.IO / Socket.IO traffic
  eio_bad_packet,      ///< an Engine.IO packet or payload does not follow the protocol
  sio_bad_packet,      ///< a Socket.IO packet does not follow the protocol
  bad_base64,          ///< base64 text with characters outside the alphabet or bad padding
  limit_exceeded,      ///< a declared length or count is over the configured limit
  bad_recording,       ///< a recording (JSONL) line is malformed or of another version
  unsupported,         ///< a feature of the input this build does not handle
  usage,               ///< bad command-line usage
};

/// The category of sio::errc ("sioreplay").
const std::error_category& error_category() noexcept;

/// Makes an std::error_code of our category (found by ADL).
std::error_code make_error_code(errc e) noexcept;

/// An error with its place: `context` reads like "capture.har: $.log.entries[3].request.url".
struct Error {
  std::error_code code;        ///< what went wrong
  std::string context;         ///< where, and any detail worth a reader's time
  std::uint64_t offset = npos; ///< byte offset in the decoded input, npos when not known
  static constexpr std::uint64_t npos = ~std::uint64_t{0};

  Error() = default;
  Error(errc e, std::string ctx, std::uint64_t off = npos)
      : code(make_error_code(e)), context(std::move(ctx)), offset(off) {}
  Error(std::error_code c, std::string ctx, std::uint64_t off = npos)
      : code(c), context(std::move(ctx)), offset(off) {}

  /// True when `code` is our `e`.
  [[nodiscard]] bool is(errc e) const noexcept { return code == make_error_code(e); }
  /// "context: what (byte N)" — one line for a human.
  [[nodiscard]] std::string message() const;
  /// Returns a copy whose context is prefixed with `where` and ": ".
  [[nodiscard]] Error within(const std::string& where) const;
};

} // namespace sio

template <> struct std::is_error_code_enum<sio::errc> : std::true_type {};
