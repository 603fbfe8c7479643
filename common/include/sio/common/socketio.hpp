#pragma once
/// Socket.IO protocol v4 (socket.io 2.x, over Engine.IO v3) and v5 (socket.io 3.x/4.x, over
/// Engine.IO v4) packets, and binary attachments (docs: ../shared/docs/protocols.md §2).
///
/// Binary values in decoded JSON are written as {"_binary_b64": "<standard base64>"}; encoding
/// turns them back into placeholders plus attachments.

#include "sio/common/result.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sio {
/// The project's JSON value: keeps object keys in the order they were written (as the app's
/// JSON.stringify wrote them), so recordings and replays keep the recorded key order.
using Json = nlohmann::ordered_json;

/// Nesting limit of JSON read from outside (recordings, Engine.IO handshakes, server responses):
/// nlohmann parses without recursion, but copying and dumping a value recurse once per level,
/// so a deeper value would overflow the stack.
constexpr std::size_t max_json_depth = 512;

/// Offset of the first '[' or '{' in JSON text that nests deeper than `max_depth` (brackets in
/// strings not counted), nullopt when none does. Runs before the parser, without recursion.
std::optional<std::size_t> find_json_too_deep(std::string_view text,
                                              std::size_t max_depth = max_json_depth) noexcept;

/// Json::parse(text, nullptr, false) (a discarded value on error, never throws) that also
/// refuses (discards) text nested deeper than `max_depth`.
Json parse_json_bounded(std::string_view text, std::size_t max_depth = max_json_depth);
} // namespace sio

namespace sio::sock {

/// Socket.IO packet types. In protocol v4, type 4 is named ERROR.
enum class PacketType : std::uint8_t {
  connect = 0,
  disconnect,
  event,
  ack,
  connect_error,
  binary_event,
  binary_ack
};

/// Wire name: "CONNECT", "EVENT", ...; type 4 is "CONNECT_ERROR" in v5 and "ERROR" in v4.
std::string_view to_string(PacketType t, int protocol = 5) noexcept;

/// Parses a wire name (accepts both "CONNECT_ERROR" and "ERROR").
std::optional<PacketType> packet_type_from_string(std::string_view name) noexcept;

/// Protocol revision spoken over a given Engine.IO version: 3 -> 4, 4 -> 5.
constexpr int protocol_for_eio(int eio_version) noexcept {
  return eio_version == 3 ? 4 : 5;
}

/// One Socket.IO packet.
struct Packet {
  PacketType type = PacketType::event;
  std::string nsp = "/";               ///< namespace; in v4 it may carry "?query"
  std::optional<std::uint64_t> ack_id; ///< present for events that want an ack, and acks
  std::size_t attachments = 0;         ///< binary types: number of attachments that follow
  std::optional<Json> data;            ///< the JSON payload, absent when the packet has none

  friend bool operator==(const Packet&, const Packet&) = default;
};

/// Limits checked while decoding.
struct Limits {
  std::size_t max_attachments = 1000;               ///< socket.io-parser itself stops at 10
  std::size_t max_json_depth = sio::max_json_depth; ///< deeper JSON is refused (stack safety)
};

/// Decodes a Socket.IO packet from the text of an Engine.IO message packet (without the
/// leading Engine.IO "4"). Checks the payload shape per type (§2.2 step 6). `protocol` is 4 or
/// 5. Errors carry the byte offset in `text`.
Result<Packet> decode(std::string_view text, int protocol = 5, const Limits& limits = {});

/// Encodes a packet to its wire text (without the Engine.IO "4"), JSON compact as
/// JSON.stringify writes it. `attachments` is written for binary types.
std::string encode(const Packet& p);

/// Replaces every {"_placeholder":true,"num":i} in `value` by {"_binary_b64": base64(buffers[i])}.
/// Fails when a num is out of range or a buffer is left unused.
Status reconstruct(Json& value, const std::vector<std::string>& buffers);

/// The reverse: replaces every {"_binary_b64": ...} by a placeholder, numbered depth-first, and
/// returns the decoded buffers in that order.
Result<std::vector<std::string>> deconstruct(Json& value);

/// Collects binary attachments that follow a BINARY_EVENT / BINARY_ACK on one direction of one
/// connection, and hands out the completed packet.
class AttachmentCollector {
public:
  /// True while a binary packet is waiting for attachments.
  [[nodiscard]] bool pending() const noexcept { return pending_.has_value(); }

  /// Starts collecting for `p` (p.attachments > 0). Fails if a packet is already pending.
  Status start(Packet p);

  /// Adds one attachment; when it was the last, returns the packet with placeholders replaced.
  Result<std::optional<Packet>> add(std::string bytes);

  /// Drops the pending packet (e.g. the connection ended) and returns it, if any.
  std::optional<Packet> abandon();

private:
  std::optional<Packet> pending_;
  std::vector<std::string> buffers_;
};

} // namespace sio::sock
