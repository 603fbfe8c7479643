#include "sio/common/engineio.hpp"

#include "sio/common/base64.hpp"
#include "sio/common/utf8.hpp"

#include <algorithm>
#include <cstdint>

namespace sio::eio {
namespace {

constexpr char separator = '\x1e'; ///< v4 payload record separator
constexpr int packet_type_count = 7;

/// Maps a type digit ('0'..'6') to its type.
std::optional<PacketType> type_from_digit(char c) noexcept {
  if (c < '0' || c >= '0' + packet_type_count) return std::nullopt;
  return static_cast<PacketType>(c - '0');
}

char type_digit(PacketType t) noexcept {
  return static_cast<char>('0' + static_cast<int>(t));
}

/// Moves an error's offset from "inside a sub-view" to "inside the whole input".
Error shifted(Error e, std::size_t base) {
  if (e.offset != Error::npos) e.offset += base;
  return e;
}

/// Decodes `b64` (starting at byte `base` of the input) into a binary packet of type `t`,
/// checking the decoded size against the limit before decoding.
Result<Packet> decode_base64_packet(PacketType t, std::string_view b64, std::size_t base,
                                    const Limits& limits) {
  // Every full group of 4 characters decodes to 3 bytes, less at most 2 bytes of padding, so
  // this rejects only input that must decode to more than the limit.
  if (b64.size() / 4 > limits.max_packet_bytes / 3 + 1)
    return fail(errc::limit_exceeded, "base64 packet larger than max_packet_bytes", base);
  auto bytes = base64_decode(b64);
  if (!bytes) return fail(shifted(std::move(bytes).error(), base));
  if (bytes->size() > limits.max_packet_bytes)
    return fail(errc::limit_exceeded, "base64 packet larger than max_packet_bytes", base);
  return Packet{t, true, std::move(*bytes)};
}

/// Appends decimal digit `d` to `v`; false when the result would exceed `max`.
bool push_digit(std::size_t& v, unsigned d, std::size_t max) noexcept {
  if (d > max || v > (max - d) / 10) return false;
  v = v * 10 + d;
  return true;
}

/// Appends `p` in its text form "<digit><data>" (only for non-binary packets).
void append_text(std::string& out, const Packet& p) {
  out += type_digit(p.type);
  out += p.data;
}

} // namespace

std::string_view to_string(PacketType t) noexcept {
  switch (t) {
  case PacketType::open:
    return "open";
  case PacketType::close:
    return "close";
  case PacketType::ping:
    return "ping";
  case PacketType::pong:
    return "pong";
  case PacketType::message:
    return "message";
  case PacketType::upgrade:
    return "upgrade";
  case PacketType::noop:
    return "noop";
  }
  return "unknown";
}

Result<Packet> decode_text_packet(std::string_view text) {
  if (text.empty())
    return fail(errc::eio_bad_packet, "expected a packet type digit, got nothing", 0);
  const auto type = type_from_digit(text[0]);
  if (!type) return fail(errc::eio_bad_packet, "expected a packet type digit 0-6", 0);
  return Packet{*type, false, std::string(text.substr(1))};
}

Result<Packet> decode_binary_packet(std::string_view bytes, int eio_version) {
  if (eio_version != 3) return Packet{PacketType::message, true, std::string(bytes)};
  if (bytes.empty())
    return fail(errc::eio_bad_packet, "expected a packet type byte, got nothing", 0);
  const auto b = static_cast<unsigned char>(bytes[0]);
  if (b >= packet_type_count)
    return fail(errc::eio_bad_packet, "expected a packet type byte 0-6", 0);
  return Packet{static_cast<PacketType>(b), true, std::string(bytes.substr(1))};
}

PayloadResult decode_payload_v4(std::string_view body, const Limits& limits) {
  PayloadResult r;
  if (body.empty()) return r; // nothing was sent: no packets
  std::size_t pos = 0;
  while (true) {
    const std::size_t end = std::min(body.find(separator, pos), body.size());
    const std::string_view seg = body.substr(pos, end - pos);
    if (r.packets.size() >= limits.max_packets) {
      r.error = Error{errc::limit_exceeded, "more packets than max_packets", pos};
      return r;
    }
    if (!seg.empty() && seg[0] == 'b') {
      auto p = decode_base64_packet(PacketType::message, seg.substr(1), pos + 1, limits);
      if (!p) {
        r.error = std::move(p).error();
        return r;
      }
      r.packets.push_back(std::move(*p));
    } else {
      if (seg.size() > limits.max_packet_bytes) {
        r.error = Error{errc::limit_exceeded, "packet larger than max_packet_bytes", pos};
        return r;
      }
      auto p = decode_text_packet(seg);
      if (!p) {
        r.error = shifted(std::move(p).error(), pos);
        return r;
      }
      r.packets.push_back(std::move(*p));
    }
    if (end == body.size()) break;
    pos = end + 1;
  }
  return r;
}

PayloadResult decode_payload_v3_text(std::string_view body, const Limits& limits) {
  PayloadResult r;
  std::size_t pos = 0;
  while (pos < body.size()) {
    // Length in UTF-16 code units, then ':'. Units never exceed bytes, so the byte limit also
    // bounds the unit count (and keeps the accumulator from overflowing).
    const std::size_t len_at = pos;
    std::size_t units = 0;
    while (pos < body.size() && body[pos] >= '0' && body[pos] <= '9') {
      if (!push_digit(units, static_cast<unsigned>(body[pos] - '0'), limits.max_packet_bytes)) {
        r.error = Error{errc::limit_exceeded, "packet length over max_packet_bytes", len_at};
        return r;
      }
      ++pos;
    }
    if (pos == len_at) {
      r.error = Error{errc::eio_bad_packet, "expected a decimal packet length", pos};
      return r;
    }
    if (pos >= body.size() || body[pos] != ':') {
      r.error = Error{errc::eio_bad_packet, "expected ':' after the packet length", pos};
      return r;
    }
    ++pos;
    const auto bytes = utf8_prefix_for_utf16_units(body.substr(pos), units);
    if (!bytes) {
      r.error = Error{errc::eio_bad_packet,
                      "expected " + std::to_string(units) + " UTF-16 code units of packet", pos};
      return r;
    }
    const std::string_view pkt = body.substr(pos, *bytes);
    if (!pkt.empty()) { // "0:" is the empty payload
      if (r.packets.size() >= limits.max_packets) {
        r.error = Error{errc::limit_exceeded, "more packets than max_packets", len_at};
        return r;
      }
      if (pkt[0] == 'b') {
        // "b<type digit><base64>"
        const auto type = pkt.size() > 1 ? type_from_digit(pkt[1]) : std::nullopt;
        if (!type) {
          r.error = Error{errc::eio_bad_packet, "expected a packet type digit after 'b'", pos + 1};
          return r;
        }
        auto p = decode_base64_packet(*type, pkt.substr(2), pos + 2, limits);
        if (!p) {
          r.error = std::move(p).error();
          return r;
        }
        r.packets.push_back(std::move(*p));
      } else {
        if (pkt.size() > limits.max_packet_bytes) {
          r.error = Error{errc::limit_exceeded, "packet larger than max_packet_bytes", pos};
          return r;
        }
        auto p = decode_text_packet(pkt);
        if (!p) {
          r.error = shifted(std::move(p).error(), pos);
          return r;
        }
        r.packets.push_back(std::move(*p));
      }
    }
    pos += *bytes;
  }
  return r;
}

PayloadResult decode_payload_v3_binary(std::string_view body, const Limits& limits) {
  PayloadResult r;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t start = pos;
    const auto kind = static_cast<unsigned char>(body[pos]);
    if (kind > 1) {
      r.error = Error{errc::eio_bad_packet, "expected 0 (string) or 1 (binary) packet marker", pos};
      return r;
    }
    ++pos;
    // The length: one byte per decimal digit (values 0..9), ended by 0xFF.
    const std::size_t digits_at = pos;
    std::size_t len = 0;
    while (pos < body.size() && static_cast<unsigned char>(body[pos]) <= 9) {
      if (!push_digit(len, static_cast<unsigned char>(body[pos]), limits.max_packet_bytes)) {
        r.error = Error{errc::limit_exceeded, "packet length over max_packet_bytes", digits_at};
        return r;
      }
      ++pos;
    }
    if (pos == digits_at) {
      r.error = Error{errc::eio_bad_packet, "expected length digit bytes (0-9)", pos};
      return r;
    }
    if (pos >= body.size() || static_cast<unsigned char>(body[pos]) != 0xFF) {
      r.error = Error{errc::eio_bad_packet, "expected 0xFF after the length digits", pos};
      return r;
    }
    ++pos;
    if (len > body.size() - pos) {
      r.error = Error{errc::eio_bad_packet,
                      "expected " + std::to_string(len) + " packet bytes, input ends first", pos};
      return r;
    }
    if (r.packets.size() >= limits.max_packets) {
      r.error = Error{errc::limit_exceeded, "more packets than max_packets", start};
      return r;
    }
    const std::string_view pkt = body.substr(pos, len);
    auto p = kind == 0 ? decode_text_packet(pkt) : decode_binary_packet(pkt, 3);
    if (!p) {
      r.error = shifted(std::move(p).error(), pos);
      return r;
    }
    r.packets.push_back(std::move(*p));
    pos += len;
  }
  return r;
}

PayloadResult decode_payload(std::string_view body, int eio_version, bool octet_stream,
                             const Limits& limits) {
  if (eio_version != 3) return decode_payload_v4(body, limits);
  const bool binary_format =
      octet_stream || (!body.empty() && static_cast<unsigned char>(body[0]) <= 1);
  return binary_format ? decode_payload_v3_binary(body, limits)
                       : decode_payload_v3_text(body, limits);
}

void append_ws_packet(std::string& out, const Packet& p, int eio_version) {
  if (!p.binary) {
    append_text(out, p);
  } else if (eio_version == 3) {
    out += static_cast<char>(p.type);
    out += p.data;
  } else {
    out += p.data; // v4: the type is implied (message)
  }
}

std::string encode_ws_packet(const Packet& p, int eio_version, bool* is_binary_frame) {
  if (is_binary_frame) *is_binary_frame = p.binary;
  std::string out;
  out.reserve(p.data.size() + 1);
  append_ws_packet(out, p, eio_version);
  return out;
}

std::string encode_payload_v4(std::span<const Packet> packets) {
  std::string out;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    if (i > 0) out += separator;
    const Packet& p = packets[i];
    if (p.binary) {
      out += 'b';
      out += base64_encode(p.data);
    } else {
      append_text(out, p);
    }
  }
  return out;
}

std::string encode_payload_v3_text(std::span<const Packet> packets) {
  if (packets.empty()) return "0:";
  std::string out;
  std::string one;
  for (const Packet& p : packets) {
    one.clear();
    if (p.binary) {
      one += 'b';
      one += type_digit(p.type);
      one += base64_encode(p.data);
    } else {
      append_text(one, p);
    }
    out += std::to_string(utf16_length(one));
    out += ':';
    out += one;
  }
  return out;
}

std::string encode_payload_v3_binary(std::span<const Packet> packets) {
  std::string out;
  for (const Packet& p : packets) {
    out += static_cast<char>(p.binary ? 1 : 0);
    // Both forms are one type byte/digit plus the data.
    for (const char d : std::to_string(p.data.size() + 1)) out += static_cast<char>(d - '0');
    out += '\xff';
    if (p.binary)
      out += static_cast<char>(p.type);
    else
      out += type_digit(p.type);
    out += p.data;
  }
  return out;
}

} // namespace sio::eio
