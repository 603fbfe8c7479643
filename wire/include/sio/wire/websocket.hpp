#pragma once
/// WebSocket (RFC 6455) frames from one direction of an upgraded connection, to messages:
/// masking undone, fragmented messages joined, control frames (close, ping, pong) delivered as
/// they come (also between fragments), permessage-deflate (RFC 7692) inflated with zlib, with and
/// without context takeover and with the negotiated window sizes.

#include "sio/common/result.hpp"
#include "sio/wire/endpoint.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace sio::wire {

/// What the 101 response agreed on.
struct WsDeflate {
  bool enabled = false;
  bool client_no_context_takeover = false, server_no_context_takeover = false;
  int client_max_window_bits = 15, server_max_window_bits = 15; ///< 8..15
};

/// Parses the `Sec-WebSocket-Extensions` value of a 101 response (empty = no extension).
/// Fails (errc::unsupported) on an extension other than permessage-deflate or a bad parameter.
Result<WsDeflate> parse_ws_extensions(std::string_view response_header);

struct WsMessage {
  std::uint8_t opcode = 0;  ///< 1 text, 2 binary, 8 close, 9 ping, 10 pong
  std::string payload;      ///< unmasked and inflated
  bool compressed = false;  ///< RSV1 was set on its first frame
  std::int64_t ts_ns = 0;   ///< time of the packet that completed its last frame
  std::uint64_t packet = 0; ///< number of that packet
  std::uint64_t offset = 0; ///< stream offset of its first frame
};

/// One direction's frames.
class WsStream {
public:
  class Handler {
  public:
    virtual ~Handler() = default;
    virtual void on_message(Side sender, WsMessage&& m) = 0;
    /// A protocol error (bad opcode, continuation without a start, inflate error, message over
    /// the limit): the stream stops and later bytes are ignored (failed() is true). Or a gap: the
    /// message it falls in is lost and the stream resynchronises (see gap()).
    virtual void on_error(Side sender, std::uint64_t offset, std::string what) = 0;
  };

  /// `sender`: Side::client frames carry masks (not enforced).
  WsStream(Side sender, const WsDeflate& deflate, std::uint64_t max_message = 64ull << 20);
  ~WsStream();
  WsStream(const WsStream&) = delete;
  WsStream& operator=(const WsStream&) = delete;

  void feed(std::span<const std::uint8_t> bytes, std::uint64_t offset, std::int64_t ts_ns,
            std::uint64_t packet, Handler& handler);
  /// Bytes missing: reported through on_error; the frame and the (fragmented) message it falls
  /// in are lost. When no compression state carries over from one message to the next
  /// (permessage-deflate off, or the sender's no_context_takeover), parsing resumes at the first
  /// plausible frame header after the gap (a frame header whose opcode, RSV bits, mask bit and
  /// length fit this stream, checked on the first bytes delivered after the gap and then byte by
  /// byte); with context takeover the inflater's window is lost and the stream stops.
  void gap(std::uint64_t offset, std::uint64_t length, Handler& handler);
  /// The connection ended: a frame or fragmented message in progress is reported through
  /// on_error ("the connection ended inside a frame").
  void close(Handler& handler);

  [[nodiscard]] bool failed() const noexcept;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace sio::wire
