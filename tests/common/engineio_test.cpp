#include "sio/common/engineio.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace std::string_literals;
using sio::errc;
using sio::eio::Limits;
using sio::eio::Packet;
using sio::eio::PacketType;

Packet text(PacketType t, std::string data = {}) {
  return Packet{t, false, std::move(data)};
}
Packet bin(PacketType t, std::string data) {
  return Packet{t, true, std::move(data)};
}

const std::string bytes_1234 = "\x01\x02\x03\x04"s;

/// The v3 handshake of §1.3, 96 UTF-16 units long.
const std::string v3_open = R"(0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],)"
                            R"("pingInterval":25000,"pingTimeout":5000})";
const std::string v4_open = R"(0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],)"
                            R"("pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000})";
/// §2.4/§2.5 example 14.
const std::string bin_event = R"(451-["upload",{"_placeholder":true,"num":0}])";

// ---------------------------------------------------------------------------------------------
// WebSocket messages (§1.3, §1.4, §1.6): one packet per message.

struct WsCase {
  const char* name;
  int eio;
  bool binary_frame;
  std::string frame;
  Packet packet;
};

void PrintTo(const WsCase& c, std::ostream* os) {
  *os << c.name;
}

class WsPacket : public testing::TestWithParam<WsCase> {};

TEST_P(WsPacket, Decodes) {
  const WsCase& c = GetParam();
  auto p = c.binary_frame ? sio::eio::decode_binary_packet(c.frame, c.eio)
                          : sio::eio::decode_text_packet(c.frame);
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(*p, c.packet);
}

TEST_P(WsPacket, EncodesToTheSameFrame) {
  const WsCase& c = GetParam();
  bool is_binary = !c.binary_frame;
  EXPECT_EQ(sio::eio::encode_ws_packet(c.packet, c.eio, &is_binary), c.frame);
  EXPECT_EQ(is_binary, c.binary_frame);
  EXPECT_EQ(sio::eio::encode_ws_packet(c.packet, c.eio), c.frame); // null out-param is fine
}

INSTANTIATE_TEST_SUITE_P(
    ProtocolDoc, WsPacket,
    testing::Values(
        WsCase{"text_4hello", 4, false, "4hello", text(PacketType::message, "hello")},
        WsCase{"text_4hello_v3", 3, false, "4hello", text(PacketType::message, "hello")},
        WsCase{"v4_binary_raw", 4, true, bytes_1234, bin(PacketType::message, bytes_1234)},
        WsCase{"v3_binary_type_byte", 3, true, "\x04"s + bytes_1234,
               bin(PacketType::message, bytes_1234)},
        WsCase{"v4_binary_empty", 4, true, "", bin(PacketType::message, "")},
        WsCase{"v4_open", 4, false, v4_open, text(PacketType::open, v4_open.substr(1))},
        WsCase{"v3_open", 3, false, v3_open, text(PacketType::open, v3_open.substr(1))},
        WsCase{"close", 4, false, "1", text(PacketType::close)},
        WsCase{"ping", 4, false, "2", text(PacketType::ping)},
        WsCase{"pong", 4, false, "3", text(PacketType::pong)},
        WsCase{"probe", 4, false, "2probe", text(PacketType::ping, "probe")},
        WsCase{"probe_reply", 4, false, "3probe", text(PacketType::pong, "probe")},
        WsCase{"upgrade", 4, false, "5", text(PacketType::upgrade)},
        WsCase{"noop", 4, false, "6", text(PacketType::noop)},
        WsCase{"sio_event", 4, false, R"(42["chat","hi"])",
               text(PacketType::message, R"(2["chat","hi"])")},
        WsCase{"utf8_text", 4, false, "4€", text(PacketType::message, "€")}),
    [](const testing::TestParamInfo<WsCase>& i) { return std::string(i.param.name); });

TEST(EioTextPacket, RejectsEmptyAndUnknownTypes) {
  auto empty = sio::eio::decode_text_packet("");
  ASSERT_FALSE(empty.ok());
  EXPECT_TRUE(empty.error().is(errc::eio_bad_packet));
  EXPECT_EQ(empty.error().offset, 0u);
  for (const char* bad : {"7", "9hello", "bAQID", "x", "/", ":"}) {
    auto p = sio::eio::decode_text_packet(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_TRUE(p.error().is(errc::eio_bad_packet)) << bad;
    EXPECT_EQ(p.error().offset, 0u) << bad;
  }
}

TEST(EioBinaryPacket, V3NeedsAKnownTypeByte) {
  auto empty = sio::eio::decode_binary_packet("", 3);
  ASSERT_FALSE(empty.ok());
  EXPECT_TRUE(empty.error().is(errc::eio_bad_packet));
  auto bad = sio::eio::decode_binary_packet("\x07\x01"s, 3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().offset, 0u);
  auto ascii_digit = sio::eio::decode_binary_packet("4abc", 3); // '4' is 0x34, not 0x04
  EXPECT_FALSE(ascii_digit.ok());
  auto ping = sio::eio::decode_binary_packet("\x02"s, 3);
  ASSERT_TRUE(ping.ok());
  EXPECT_EQ(*ping, bin(PacketType::ping, ""));
}

TEST(EioBinaryPacket, V4KeepsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  auto p = sio::eio::decode_binary_packet(all, 4);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, bin(PacketType::message, all));
}

TEST(EioPacketType, Names) {
  EXPECT_EQ(sio::eio::to_string(PacketType::open), "open");
  EXPECT_EQ(sio::eio::to_string(PacketType::close), "close");
  EXPECT_EQ(sio::eio::to_string(PacketType::ping), "ping");
  EXPECT_EQ(sio::eio::to_string(PacketType::pong), "pong");
  EXPECT_EQ(sio::eio::to_string(PacketType::message), "message");
  EXPECT_EQ(sio::eio::to_string(PacketType::upgrade), "upgrade");
  EXPECT_EQ(sio::eio::to_string(PacketType::noop), "noop");
}

// ---------------------------------------------------------------------------------------------
// Polling payloads (§1.3, §1.4, §1.5, §2.4, §2.5).

enum class Format { v4, v3_text, v3_binary };

struct PayloadCase {
  const char* name;
  Format format;
  std::string body;
  std::vector<Packet> packets;
};

void PrintTo(const PayloadCase& c, std::ostream* os) {
  *os << c.name;
}

class Payload : public testing::TestWithParam<PayloadCase> {};

sio::eio::PayloadResult decode_as(Format f, std::string_view body, const Limits& limits = {}) {
  switch (f) {
  case Format::v4:
    return sio::eio::decode_payload_v4(body, limits);
  case Format::v3_text:
    return sio::eio::decode_payload_v3_text(body, limits);
  case Format::v3_binary:
    return sio::eio::decode_payload_v3_binary(body, limits);
  }
  return {};
}

std::string encode_as(Format f, const std::vector<Packet>& packets) {
  switch (f) {
  case Format::v4:
    return sio::eio::encode_payload_v4(packets);
  case Format::v3_text:
    return sio::eio::encode_payload_v3_text(packets);
  case Format::v3_binary:
    return sio::eio::encode_payload_v3_binary(packets);
  }
  return {};
}

TEST_P(Payload, Decodes) {
  const PayloadCase& c = GetParam();
  const auto r = decode_as(c.format, c.body);
  EXPECT_FALSE(r.error.has_value()) << r.error->message();
  EXPECT_EQ(r.packets, c.packets);
}

TEST_P(Payload, DecodePayloadPicksTheFormat) {
  const PayloadCase& c = GetParam();
  const int eio = c.format == Format::v4 ? 4 : 3;
  const auto r = sio::eio::decode_payload(c.body, eio, c.format == Format::v3_binary);
  EXPECT_FALSE(r.error.has_value()) << r.error->message();
  EXPECT_EQ(r.packets, c.packets);
  if (c.format == Format::v3_binary) {
    // The leading 0x00/0x01 byte alone selects the binary format.
    const auto sniffed = sio::eio::decode_payload(c.body, 3, false);
    EXPECT_FALSE(sniffed.error.has_value());
    EXPECT_EQ(sniffed.packets, c.packets);
  }
}

TEST_P(Payload, EncodesToTheSameBody) {
  const PayloadCase& c = GetParam();
  EXPECT_EQ(encode_as(c.format, c.packets), c.body);
}

TEST_P(Payload, RoundTrips) {
  const PayloadCase& c = GetParam();
  const auto r = decode_as(c.format, encode_as(c.format, c.packets));
  EXPECT_FALSE(r.error.has_value());
  EXPECT_EQ(r.packets, c.packets);
}

INSTANTIATE_TEST_SUITE_P(
    ProtocolDoc, Payload,
    testing::Values(
        // §1.4 polling v4
        PayloadCase{"v4_hello_ping_world",
                    Format::v4,
                    "4hello\x1e"
                    "2\x1e"
                    "4world",
                    {text(PacketType::message, "hello"), text(PacketType::ping),
                     text(PacketType::message, "world")}},
        PayloadCase{"v4_hello_binary",
                    Format::v4,
                    "4hello\x1e"
                    "bAQIDBA==",
                    {text(PacketType::message, "hello"), bin(PacketType::message, bytes_1234)}},
        PayloadCase{"v4_empty", Format::v4, "", {}},
        // §1.3 handshake, §1.6 upgrade steps
        PayloadCase{"v4_open", Format::v4, v4_open, {text(PacketType::open, v4_open.substr(1))}},
        PayloadCase{"v4_noop", Format::v4, "6", {text(PacketType::noop)}},
        // §2.4 binary attachments over polling v4
        PayloadCase{
            "v4_binary_event",
            Format::v4,
            bin_event + "\x1e" + "bAQIDBA==",
            {text(PacketType::message, bin_event.substr(1)), bin(PacketType::message, bytes_1234)}},
        // §2.5 polling bodies
        PayloadCase{"v4_two_events",
                    Format::v4,
                    "42[\"hello\"]\x1e"
                    "42[\"world\"]",
                    {text(PacketType::message, R"(2["hello"])"),
                     text(PacketType::message, R"(2["world"])")}},
        // §1.4 polling v3 text
        PayloadCase{"v3_hello_world",
                    Format::v3_text,
                    "6:4hello6:4world",
                    {text(PacketType::message, "hello"), text(PacketType::message, "world")}},
        PayloadCase{"v3_euro", Format::v3_text, "2:4€", {text(PacketType::message, "€")}},
        PayloadCase{
            "v3_emoji", Format::v3_text, "8:42[\"😀\"]", {text(PacketType::message, "2[\"😀\"]")}},
        PayloadCase{"v3_euro_then_base64",
                    Format::v3_text,
                    "2:4€10:b4AQIDBA==",
                    {text(PacketType::message, "€"), bin(PacketType::message, bytes_1234)}},
        PayloadCase{"v3_empty", Format::v3_text, "0:", {}},
        // §1.3 socket.io 2.x handshake with the default-namespace connect
        PayloadCase{"v3_open_and_connect",
                    Format::v3_text,
                    "96:" + v3_open + "2:40",
                    {text(PacketType::open, v3_open.substr(1)), text(PacketType::message, "0")}},
        // §1.5 v3 heartbeat over polling
        PayloadCase{"v3_ping", Format::v3_text, "1:2", {text(PacketType::ping)}},
        PayloadCase{"v3_pong", Format::v3_text, "1:3", {text(PacketType::pong)}},
        // §2.4 binary attachments over polling v3
        PayloadCase{
            "v3_binary_event",
            Format::v3_text,
            "44:" + bin_event + "10:b4AQIDBA==",
            {text(PacketType::message, bin_event.substr(1)), bin(PacketType::message, bytes_1234)}},
        // §2.5 polling bodies
        PayloadCase{"v3_two_events",
                    Format::v3_text,
                    R"(11:42["hello"]11:42["world"])",
                    {text(PacketType::message, R"(2["hello"])"),
                     text(PacketType::message, R"(2["world"])")}},
        PayloadCase{"v3_hey_jude",
                    Format::v3_text,
                    R"(16:42["hey","Jude"])",
                    {text(PacketType::message, R"(2["hey","Jude"])")}},
        // §1.4 polling v3 binary
        PayloadCase{"v3_binary_euro_and_bytes",
                    Format::v3_binary,
                    "\x00\x04\xff\x34\xe2\x82\xac"
                    "\x01\x05\xff\x04\x01\x02\x03\x04"s,
                    {text(PacketType::message, "€"), bin(PacketType::message, bytes_1234)}},
        PayloadCase{"v3_binary_long_length",
                    Format::v3_binary,
                    "\x00\x01\x02\xff"s + "4" + std::string(11, 'x'),
                    {text(PacketType::message, std::string(11, 'x'))}}),
    [](const testing::TestParamInfo<PayloadCase>& i) { return std::string(i.param.name); });

TEST(EioPayload, V3EmptyBodiesMeanNoPackets) {
  EXPECT_EQ(sio::eio::encode_payload_v3_text({}), "0:");
  EXPECT_EQ(sio::eio::encode_payload_v3_binary({}), "");
  EXPECT_EQ(sio::eio::encode_payload_v4({}), "");
  for (Format f : {Format::v3_text, Format::v3_binary}) {
    const auto r = decode_as(f, "");
    EXPECT_FALSE(r.error.has_value());
    EXPECT_TRUE(r.packets.empty());
  }
}

TEST(EioPayload, V3TextCountsUtf16UnitsWhenEncoding) {
  const std::vector<Packet> packets{text(PacketType::message, "😀€a")};
  EXPECT_EQ(sio::eio::encode_payload_v3_text(packets), "5:4😀€a");
  EXPECT_EQ(sio::eio::encode_payload_v3_binary(packets),
            "\x00\x09\xff"s + "4😀€a"); // 1 + 4 + 3 + 1 UTF-8 bytes
}

TEST(EioPayload, V3BinaryPacketsOfOtherTypes) {
  const std::vector<Packet> packets{bin(PacketType::ping, "probe"), text(PacketType::noop)};
  EXPECT_EQ(sio::eio::encode_payload_v3_text(packets), "10:b2cHJvYmU=1:6");
  const auto body = sio::eio::encode_payload_v3_binary(packets);
  EXPECT_EQ(body, "\x01\x06\xff\x02probe\x00\x01\xff"
                  "6"s);
  EXPECT_EQ(sio::eio::decode_payload_v3_binary(body).packets, packets);
  EXPECT_EQ(sio::eio::decode_payload_v3_text("10:b2cHJvYmU=1:6").packets, packets);
}

// ---------------------------------------------------------------------------------------------
// Payload errors: packets before the error are kept; the offset points into the body.

struct PayloadErrorCase {
  const char* name;
  Format format;
  std::string body;
  errc code;
  std::uint64_t offset;
  std::size_t packets_before;
  Limits limits = {};
};

void PrintTo(const PayloadErrorCase& c, std::ostream* os) {
  *os << c.name;
}

class PayloadError : public testing::TestWithParam<PayloadErrorCase> {};

TEST_P(PayloadError, StopsAtTheError) {
  const PayloadErrorCase& c = GetParam();
  const auto r = decode_as(c.format, c.body, c.limits);
  ASSERT_TRUE(r.error.has_value());
  EXPECT_TRUE(r.error->is(c.code)) << r.error->message();
  EXPECT_EQ(r.error->offset, c.offset) << r.error->message();
  EXPECT_EQ(r.packets.size(), c.packets_before);
}

Limits small_packets(std::size_t bytes) {
  Limits l;
  l.max_packet_bytes = bytes;
  return l;
}
Limits few_packets(std::size_t n) {
  Limits l;
  l.max_packets = n;
  return l;
}

INSTANTIATE_TEST_SUITE_P(
    Errors, PayloadError,
    testing::Values(
        PayloadErrorCase{"v4_unknown_type", Format::v4,
                         "4hello\x1e"
                         "9x",
                         errc::eio_bad_packet, 7, 1},
        PayloadErrorCase{"v4_empty_segment", Format::v4,
                         "4a\x1e\x1e"
                         "4b",
                         errc::eio_bad_packet, 3, 1},
        PayloadErrorCase{"v4_trailing_separator", Format::v4, "4a\x1e", errc::eio_bad_packet, 3, 1},
        PayloadErrorCase{"v4_bad_base64", Format::v4,
                         "2\x1e"
                         "bAQ!D",
                         errc::bad_base64, 5, 1},
        PayloadErrorCase{"v4_too_many_packets", Format::v4,
                         "2\x1e"
                         "3\x1e"
                         "4",
                         errc::limit_exceeded, 2, 1, few_packets(1)},
        PayloadErrorCase{"v4_packet_too_large", Format::v4, "4hello", errc::limit_exceeded, 0, 0,
                         small_packets(5)},
        PayloadErrorCase{"v4_base64_too_large", Format::v4, "bAAAAAAAAAAAA", errc::limit_exceeded,
                         1, 0, small_packets(5)},
        PayloadErrorCase{"v3_short_packet", Format::v3_text, "6:4hell", errc::eio_bad_packet, 2, 0},
        PayloadErrorCase{"v3_no_length", Format::v3_text, "x:4", errc::eio_bad_packet, 0, 0},
        PayloadErrorCase{"v3_empty_length", Format::v3_text, ":4", errc::eio_bad_packet, 0, 0},
        PayloadErrorCase{"v3_garbage_after_packet", Format::v3_text, "1:4abc", errc::eio_bad_packet,
                         3, 1},
        PayloadErrorCase{"v3_no_colon", Format::v3_text, "6", errc::eio_bad_packet, 1, 0},
        PayloadErrorCase{"v3_split_surrogate_pair", Format::v3_text, "1:😀", errc::eio_bad_packet, 2,
                         0},
        PayloadErrorCase{"v3_length_in_bytes_not_units", Format::v3_text, "4:4€",
                         errc::eio_bad_packet, 2, 0},
        PayloadErrorCase{"v3_bad_base64_type", Format::v3_text, "2:b9", errc::eio_bad_packet, 3, 0},
        PayloadErrorCase{"v3_base64_no_type", Format::v3_text, "1:b", errc::eio_bad_packet, 3, 0},
        PayloadErrorCase{"v3_bad_base64", Format::v3_text, "1:28:b4AQ*DBA", errc::bad_base64, 9, 1},
        PayloadErrorCase{"v3_unknown_type", Format::v3_text, "1:22:9x", errc::eio_bad_packet, 5, 1},
        PayloadErrorCase{"v3_huge_length", Format::v3_text, "99999999999999999999999999:4",
                         errc::limit_exceeded, 0, 0},
        PayloadErrorCase{"v3_length_over_limit", Format::v3_text, "6:4hello", errc::limit_exceeded,
                         0, 0, small_packets(5)},
        PayloadErrorCase{"v3_too_many_packets", Format::v3_text, "1:21:3", errc::limit_exceeded, 3,
                         1, few_packets(1)},
        PayloadErrorCase{"v3bin_bad_marker", Format::v3_binary,
                         "\x02\x01\xff"
                         "4"s,
                         errc::eio_bad_packet, 0, 0},
        PayloadErrorCase{"v3bin_ascii_digits", Format::v3_binary,
                         "\x00"
                         "1\xff"
                         "4"s,
                         errc::eio_bad_packet, 1, 0},
        PayloadErrorCase{"v3bin_no_digits", Format::v3_binary,
                         "\x00\xff"
                         "4"s,
                         errc::eio_bad_packet, 1, 0},
        PayloadErrorCase{"v3bin_no_ff", Format::v3_binary, "\x00\x01"s, errc::eio_bad_packet, 2, 0},
        PayloadErrorCase{"v3bin_truncated", Format::v3_binary,
                         "\x00\x01\xff"
                         "4\x00\x05\xff"
                         "4ab"s,
                         errc::eio_bad_packet, 7, 1},
        PayloadErrorCase{"v3bin_empty_string_packet", Format::v3_binary, "\x00\x00\xff"s,
                         errc::eio_bad_packet, 3, 0},
        PayloadErrorCase{"v3bin_bad_type_byte", Format::v3_binary, "\x01\x02\xff\x09\x01"s,
                         errc::eio_bad_packet, 3, 0},
        PayloadErrorCase{"v3bin_bad_type_digit", Format::v3_binary,
                         "\x00\x01\xff"
                         "9"s,
                         errc::eio_bad_packet, 3, 0},
        PayloadErrorCase{"v3bin_huge_length", Format::v3_binary,
                         "\x01"s + std::string(40, '\x09') + "\xff", errc::limit_exceeded, 1, 0},
        PayloadErrorCase{"v3bin_too_many_packets", Format::v3_binary,
                         "\x00\x01\xff"
                         "2\x00\x01\xff"
                         "3"s,
                         errc::limit_exceeded, 4, 1, few_packets(1)}),
    [](const testing::TestParamInfo<PayloadErrorCase>& i) { return std::string(i.param.name); });

TEST(EioPayload, DecodePayloadDispatch) {
  // eio 4 never looks at the first byte; a v3 body starting with a digit is text.
  EXPECT_TRUE(sio::eio::decode_payload("\x00\x01\xff"
                                       "4"s,
                                       4, false)
                  .error.has_value());
  EXPECT_EQ(sio::eio::decode_payload("1:2", 3, false).packets,
            std::vector<Packet>{text(PacketType::ping)});
  // octet_stream forces the binary format even for a body that looks like text.
  EXPECT_TRUE(sio::eio::decode_payload("1:2", 3, true).error.has_value());
}

TEST(EioPayload, LimitBoundariesAreInclusive) {
  EXPECT_FALSE(decode_as(Format::v4, "4hello", small_packets(6)).error.has_value());
  EXPECT_FALSE(decode_as(Format::v4, "bAQIDBA==", small_packets(4)).error.has_value());
  EXPECT_TRUE(decode_as(Format::v4, "bAQIDBA==", small_packets(3)).error.has_value());
  EXPECT_FALSE(decode_as(Format::v3_text, "6:4hello", small_packets(6)).error.has_value());
  EXPECT_FALSE(decode_as(Format::v4,
                         "2\x1e"
                         "3",
                         few_packets(2))
                   .error.has_value());
  Limits zero;
  zero.max_packet_bytes = 0;
  EXPECT_TRUE(decode_as(Format::v3_binary, "\x00\x05\xff"s, zero).error->is(errc::limit_exceeded));
}

/// Random and mutated input must never throw or crash (the sanitizer build checks the rest).
TEST(EioFuzz, DecodersNeverThrow) {
  std::mt19937 rng(12345);
  const std::vector<std::string> seeds{
      "4hello\x1e"
      "2\x1e"
      "bAQIDBA==",
      "2:4€10:b4AQIDBA==", "\x00\x04\xff\x34\xe2\x82\xac\x01\x05\xff\x04\x01\x02\x03\x04"s,
      "96:" + v3_open};
  Limits tight;
  tight.max_packet_bytes = 8;
  tight.max_packets = 2;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string s = seeds[static_cast<std::size_t>(iter) % seeds.size()];
    const int edits = static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !s.empty(); ++e) {
      const std::size_t at = rng() % s.size();
      switch (rng() % 3) {
      case 0:
        s[at] = static_cast<char>(rng() & 0xFF);
        break;
      case 1:
        s.erase(at, 1);
        break;
      default:
        s.insert(at, 1, static_cast<char>(rng() & 0xFF));
        break;
      }
    }
    for (const Limits& l : {Limits{}, tight}) {
      EXPECT_NO_THROW({
        (void)sio::eio::decode_payload_v4(s, l);
        (void)sio::eio::decode_payload_v3_text(s, l);
        (void)sio::eio::decode_payload_v3_binary(s, l);
        (void)sio::eio::decode_text_packet(s);
        (void)sio::eio::decode_binary_packet(s, 3);
      });
    }
  }
}

} // namespace
