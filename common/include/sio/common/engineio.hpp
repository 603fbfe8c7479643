#pragma once
/// Engine.IO v3 and v4 packets and polling payloads (docs: ../shared/docs/protocols.md §1).
///
/// Decoders never throw: they return what they decoded and, where the input breaks the
/// protocol, an Error whose `offset` is the byte offset in the given input.

#include "sio/common/result.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sio::eio {

/// Engine.IO packet types (the same numbers in v3 and v4).
enum class PacketType : std::uint8_t { open = 0, close, ping, pong, message, upgrade, noop };

/// Name of a packet type ("open", "message", ...).
std::string_view to_string(PacketType t) noexcept;

/// One Engine.IO packet.
struct Packet {
  PacketType type = PacketType::message;
  bool binary = false; ///< data is raw bytes (a binary attachment), not UTF-8 text
  std::string data;    ///< text after the type digit, or the raw bytes when binary

  friend bool operator==(const Packet&, const Packet&) = default;
};

/// Limits checked before anything is allocated.
struct Limits {
  std::size_t max_packet_bytes = 256u << 20; ///< largest single packet accepted
  std::size_t max_packets = 1u << 20;        ///< most packets in one payload
};

/// What a payload decoder returns: the packets up to the first error, and that error if any.
struct PayloadResult {
  std::vector<Packet> packets;
  std::optional<Error> error;
};

/// Decodes one packet carried by a WebSocket text message: "<type digit><data>".
Result<Packet> decode_text_packet(std::string_view text);

/// Decodes one packet carried by a WebSocket binary message. v4: the bytes are a message
/// packet's data. v3: byte 0 is the packet type (normally 4), the rest is the data.
Result<Packet> decode_binary_packet(std::string_view bytes, int eio_version);

/// v4 polling payload: packets joined with \x1e, binary as "b<base64>".
PayloadResult decode_payload_v4(std::string_view body, const Limits& limits = {});

/// v3 polling text payload: "<len>:<packet>" repeated, len in UTF-16 code units; binary as
/// "b<type digit><base64>". An empty payload is "0:" (or nothing).
PayloadResult decode_payload_v3_text(std::string_view body, const Limits& limits = {});

/// v3 polling binary payload (application/octet-stream): per packet, 0 (string) or 1 (binary),
/// the length as one byte per decimal digit, 0xFF, then the packet.
PayloadResult decode_payload_v3_binary(std::string_view body, const Limits& limits = {});

/// Chooses the decoder: v4, or v3 binary when `octet_stream` or the body starts with a 0x00/0x01
/// byte, else v3 text.
PayloadResult decode_payload(std::string_view body, int eio_version, bool octet_stream,
                             const Limits& limits = {});

/// Encodes a packet for a WebSocket message. Text packets: "<digit><data>". Binary: v4 the raw
/// data, v3 a type byte then the data. `is_binary_frame` says which frame type to send.
std::string encode_ws_packet(const Packet& p, int eio_version, bool* is_binary_frame = nullptr);
/// The same, appended to `out` (whose capacity a caller can keep from one packet to the next);
/// the frame is binary when p.binary.
void append_ws_packet(std::string& out, const Packet& p, int eio_version);

/// Encodes a v4 polling payload.
std::string encode_payload_v4(std::span<const Packet> packets);

/// Encodes a v3 polling text payload (binary packets as "b<digit><base64>").
std::string encode_payload_v3_text(std::span<const Packet> packets);

/// Encodes a v3 polling binary payload.
std::string encode_payload_v3_binary(std::span<const Packet> packets);

} // namespace sio::eio
