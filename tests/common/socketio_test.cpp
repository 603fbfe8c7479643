#include "sio/common/engineio.hpp"
#include "sio/common/socketio.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace std::string_literals;
using json = sio::Json;
using sio::errc;
using sio::sock::AttachmentCollector;
using sio::sock::Limits;
using sio::sock::Packet;
using sio::sock::PacketType;

/// Takes the Engine.IO "4" off a doc frame, checking it really is a message packet.
std::string sio_text(const std::string& frame) {
  auto eio = sio::eio::decode_text_packet(frame);
  EXPECT_TRUE(eio.ok());
  if (!eio.ok()) return {};
  EXPECT_EQ(eio->type, sio::eio::PacketType::message);
  return eio->data;
}

// ---------------------------------------------------------------------------------------------
// Wire examples of §2.3, §2.4 and §2.5, as full Engine.IO text frames.

struct WireCase {
  const char* name;
  int protocol;
  std::string frame; ///< exactly as in the doc, with the Engine.IO "4"
  PacketType type;
  std::string nsp;
  std::optional<std::uint64_t> ack_id;
  std::size_t attachments;
  std::optional<std::string> data; ///< JSON text
  std::string reencoded = {};      ///< encode() output when it differs from `frame`

  Packet packet() const {
    Packet p;
    p.type = type;
    p.nsp = nsp;
    p.ack_id = ack_id;
    p.attachments = attachments;
    if (data) p.data = json::parse(*data);
    return p;
  }
};

void PrintTo(const WireCase& c, std::ostream* os) {
  *os << c.name;
}

class Wire : public testing::TestWithParam<WireCase> {};

TEST_P(Wire, Decodes) {
  const WireCase& c = GetParam();
  auto p = sio::sock::decode(sio_text(c.frame), c.protocol);
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(*p, c.packet());
}

TEST_P(Wire, EncodesToTheWireText) {
  const WireCase& c = GetParam();
  const std::string expected = c.reencoded.empty() ? c.frame : c.reencoded;
  EXPECT_EQ("4" + sio::sock::encode(c.packet()), expected);
}

TEST_P(Wire, RoundTrips) {
  const WireCase& c = GetParam();
  auto once = sio::sock::decode(sio_text(c.frame), c.protocol);
  ASSERT_TRUE(once.ok());
  const std::string text = sio::sock::encode(*once);
  auto twice = sio::sock::decode(text, c.protocol);
  ASSERT_TRUE(twice.ok()) << text << ": " << twice.error().message();
  EXPECT_EQ(*twice, *once);
  EXPECT_EQ(sio::sock::encode(*twice), text);
}

const std::string ph0 = R"({"_placeholder":true,"num":0})";
const std::string ph1 = R"({"_placeholder":true,"num":1})";

INSTANTIATE_TEST_SUITE_P(
    ProtocolDoc, Wire,
    testing::Values(
        // §2.5
        WireCase{"ex01_connect", 5, "40", PacketType::connect, "/", {}, 0, {}},
        WireCase{"ex02_connect_auth",
                 5,
                 R"(40{"token":"abc"})",
                 PacketType::connect,
                 "/",
                 {},
                 0,
                 R"({"token":"abc"})"},
        WireCase{"ex03_granted",
                 5,
                 R"(40{"sid":"wZX3oN0bSVIhsaknAAAI"})",
                 PacketType::connect,
                 "/",
                 {},
                 0,
                 R"({"sid":"wZX3oN0bSVIhsaknAAAI"})"},
        WireCase{"ex04_connect_admin_auth",
                 5,
                 R"(40/admin,{"token":"x"})",
                 PacketType::connect,
                 "/admin",
                 {},
                 0,
                 R"({"token":"x"})"},
        WireCase{"ex05_admin_granted",
                 5,
                 R"(40/admin,{"sid":"oSO0OpakMV_3jnilAAAA"})",
                 PacketType::connect,
                 "/admin",
                 {},
                 0,
                 R"({"sid":"oSO0OpakMV_3jnilAAAA"})"},
        WireCase{"ex06_connect_error",
                 5,
                 R"(44{"message":"Not authorized","data":{"code":42}})",
                 PacketType::connect_error,
                 "/",
                 {},
                 0,
                 R"({"message":"Not authorized","data":{"code":42}})"},
        WireCase{"ex07_event",
                 5,
                 R"(42["chat","hi"])",
                 PacketType::event,
                 "/",
                 {},
                 0,
                 R"(["chat","hi"])"},
        WireCase{"ex08_event_ack", 5, R"(421["ack-me",{"a":1}])", PacketType::event, "/", 1, 0,
                 R"(["ack-me",{"a":1}])"},
        WireCase{"ex09_ack", 5, R"(431["ok"])", PacketType::ack, "/", 1, 0, R"(["ok"])"},
        WireCase{"ex10_empty_ack", 5, "430[]", PacketType::ack, "/", 0, 0, "[]"},
        WireCase{"ex11_admin_event",
                 5,
                 R"(42/admin,["bar"])",
                 PacketType::event,
                 "/admin",
                 {},
                 0,
                 R"(["bar"])"},
        WireCase{"ex12_admin_event_ack", 5, R"(42/admin,17["tellme"])", PacketType::event, "/admin",
                 17, 0, R"(["tellme"])"},
        WireCase{"ex13_admin_ack", 5, R"(43/admin,17["bar"])", PacketType::ack, "/admin", 17, 0,
                 R"(["bar"])"},
        WireCase{"ex14_binary_event",
                 5,
                 "451-[\"upload\"," + ph0 + "]",
                 PacketType::binary_event,
                 "/",
                 {},
                 1,
                 "[\"upload\"," + ph0 + "]"},
        WireCase{"ex15_binary_ack", 5, "461-/admin,1[" + ph0 + "]", PacketType::binary_ack,
                 "/admin", 1, 1, "[" + ph0 + "]"},
        WireCase{"ex16_two_attachments",
                 5,
                 "452-[\"two\"," + ph0 + "," + ph1 + "]",
                 PacketType::binary_event,
                 "/",
                 {},
                 2,
                 "[\"two\"," + ph0 + "," + ph1 + "]"},
        WireCase{"ex17_leave_admin", 5, "41/admin,", PacketType::disconnect, "/admin", {}, 0, {}},
        WireCase{"ex17_leave_root", 5, "41", PacketType::disconnect, "/", {}, 0, {}},
        WireCase{"ex18_v4_connect_query",
                 4,
                 "40/admin?token=1,",
                 PacketType::connect,
                 "/admin?token=1",
                 {},
                 0,
                 {}},
        WireCase{"ex19_v4_grant", 4, "40/admin,", PacketType::connect, "/admin", {}, 0, {}},
        WireCase{"ex20_v4_error",
                 4,
                 R"(44/admin,"Not authorized")",
                 PacketType::connect_error,
                 "/admin",
                 {},
                 0,
                 R"("Not authorized")"},
        WireCase{"ex21_numeric_event_name",
                 5,
                 R"(42[1,"x"])",
                 PacketType::event,
                 "/",
                 {},
                 0,
                 R"([1,"x"])"},
        // §2.3
        WireCase{"v5_granted_with_pid",
                 5,
                 R"(40{"sid":"wZX3oN0bSVIhsaknAAAI","pid":"p1"})",
                 PacketType::connect,
                 "/",
                 {},
                 0,
                 R"({"sid":"wZX3oN0bSVIhsaknAAAI","pid":"p1"})"},
        WireCase{"v5_recovery_auth",
                 5,
                 R"(40{"pid":"p1","offset":"o7"})",
                 PacketType::connect,
                 "/",
                 {},
                 0,
                 R"({"pid":"p1","offset":"o7"})"},
        WireCase{"v5_refusal",
                 5,
                 R"(44{"message":"Not authorized"})",
                 PacketType::connect_error,
                 "/",
                 {},
                 0,
                 R"({"message":"Not authorized"})"},
        WireCase{"v5_invalid_namespace",
                 5,
                 R"(44/foo,{"message":"Invalid namespace"})",
                 PacketType::connect_error,
                 "/foo",
                 {},
                 0,
                 R"({"message":"Invalid namespace"})"},
        WireCase{"v4_server_connect", 4, "40", PacketType::connect, "/", {}, 0, {}},
        WireCase{
            "v4_client_connect_admin", 4, "40/admin,", PacketType::connect, "/admin", {}, 0, {}},
        // §2.5 polling bodies' packets
        WireCase{"poll_hello", 5, R"(42["hello"])", PacketType::event, "/", {}, 0, R"(["hello"])"},
        WireCase{"poll_hey_jude",
                 4,
                 R"(42["hey","Jude"])",
                 PacketType::event,
                 "/",
                 {},
                 0,
                 R"(["hey","Jude"])"},
        // Not in the doc: the namespace runs to the end when no ',' follows.
        WireCase{"nsp_without_comma",
                 5,
                 "40/admin",
                 PacketType::connect,
                 "/admin",
                 {},
                 0,
                 {},
                 "40/admin,"},
        WireCase{
            "non_ascii_kept", 5, R"(42["é","😀"])", PacketType::event, "/", {}, 0, R"(["é","😀"])"}),
    [](const testing::TestParamInfo<WireCase>& i) { return std::string(i.param.name); });

/// §2.5: the full text frame for 42["chat","hi"] is 15 bytes.
TEST(SioWire, ChatFrameIs15Bytes) {
  Packet p;
  p.data = json::array({"chat", "hi"});
  EXPECT_EQ(("4" + sio::sock::encode(p)).size(), 15u);
}

// ---------------------------------------------------------------------------------------------
// Decode errors.

struct ErrorCase {
  const char* name;
  int protocol;
  std::string text; ///< without the Engine.IO "4"
  errc code;
  std::uint64_t offset;
  Limits limits = {};
};

void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.name;
}

class DecodeError : public testing::TestWithParam<ErrorCase> {};

TEST_P(DecodeError, Fails) {
  const ErrorCase& c = GetParam();
  auto p = sio::sock::decode(c.text, c.protocol, c.limits);
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(p.error().is(c.code)) << p.error().message();
  EXPECT_EQ(p.error().offset, c.offset) << p.error().message();
}

Limits attachments_limit(std::size_t n) {
  Limits l;
  l.max_attachments = n;
  return l;
}
Limits depth_limit(std::size_t n) {
  Limits l;
  l.max_json_depth = n;
  return l;
}

INSTANTIATE_TEST_SUITE_P(
    Errors, DecodeError,
    testing::Values(
        ErrorCase{"empty", 5, "", errc::sio_bad_packet, 0},
        ErrorCase{"unknown_type", 5, "7[]", errc::sio_bad_packet, 0},
        ErrorCase{"not_a_digit", 5, "x", errc::sio_bad_packet, 0},
        ErrorCase{"event_without_payload", 5, "2", errc::sio_bad_packet, 1},
        ErrorCase{"event_empty_array", 5, "2[]", errc::sio_bad_packet, 1},
        ErrorCase{"event_object", 5, "2{}", errc::sio_bad_packet, 1},
        ErrorCase{"event_bad_name_type", 5, "2[{}]", errc::sio_bad_packet, 1},
        ErrorCase{"event_null_name", 5, "2[null]", errc::sio_bad_packet, 1},
        ErrorCase{"event_reserved_connect", 5, R"(2["connect"])", errc::sio_bad_packet, 1},
        ErrorCase{"event_reserved_connect_error", 5, R"(2["connect_error"])", errc::sio_bad_packet,
                  1},
        ErrorCase{"event_reserved_disconnect", 5, R"(2/a,["disconnect"])", errc::sio_bad_packet, 4},
        ErrorCase{"event_reserved_disconnecting", 5, R"(2["disconnecting"])", errc::sio_bad_packet,
                  1},
        ErrorCase{"event_reserved_newListener", 5, R"(21["newListener"])", errc::sio_bad_packet, 2},
        ErrorCase{"event_reserved_removeListener", 4, R"(2["removeListener"])",
                  errc::sio_bad_packet, 1},
        ErrorCase{"binary_event_reserved", 5, R"(50-["connect"])", errc::sio_bad_packet, 3},
        ErrorCase{"disconnect_with_payload", 5, "1[]", errc::sio_bad_packet, 1},
        ErrorCase{"connect_array", 5, "0[]", errc::sio_bad_packet, 1},
        ErrorCase{"connect_string_v4", 4, R"(0"x")", errc::sio_bad_packet, 1},
        ErrorCase{"connect_error_string_v5", 5, R"(4"Not authorized")", errc::sio_bad_packet, 1},
        ErrorCase{"connect_error_missing_v5", 5, "4", errc::sio_bad_packet, 1},
        ErrorCase{"ack_without_payload", 5, "31", errc::sio_bad_packet, 2},
        ErrorCase{"ack_object", 5, "31{}", errc::sio_bad_packet, 2},
        ErrorCase{"binary_no_count", 5, R"(5["a"])", errc::sio_bad_packet, 1},
        ErrorCase{"binary_no_dash", 5, R"(51["a"])", errc::sio_bad_packet, 2},
        ErrorCase{"binary_count_at_end", 5, "61", errc::sio_bad_packet, 2},
        ErrorCase{"binary_too_many", 5, R"(51001-["a"])", errc::limit_exceeded, 1},
        ErrorCase{"binary_huge_count", 5, "5" + std::string(30, '9') + R"(-["a"])",
                  errc::limit_exceeded, 1},
        ErrorCase{"binary_over_custom_limit", 5, R"(511-["a"])", errc::limit_exceeded, 1,
                  attachments_limit(10)},
        ErrorCase{"ack_id_20_digits", 5, R"(212345678901234567890["a"])", errc::sio_bad_packet, 1},
        ErrorCase{"bad_json", 5, R"(2["a"]x)", errc::sio_bad_packet, 6},
        ErrorCase{"truncated_json", 5, R"(2["a")", errc::sio_bad_packet, 5},
        ErrorCase{"garbage_after_nsp", 5, "2/a,x", errc::sio_bad_packet, 4},
        ErrorCase{"number_overflow", 5, "2[1e400]", errc::sio_bad_packet, 1},
        ErrorCase{"invalid_utf8_in_string", 5, "2[\"\xff\"]", errc::sio_bad_packet, 3},
        ErrorCase{"too_deep", 5, "2" + std::string(600, '[') + std::string(600, ']'),
                  errc::limit_exceeded, 513},
        ErrorCase{"too_deep_objects", 5, R"(2["a",{"b":{"c":[]}}])", errc::limit_exceeded, 16,
                  depth_limit(3)}),
    [](const testing::TestParamInfo<ErrorCase>& i) { return std::string(i.param.name); });

TEST(SioDecode, AckIdOf19DigitsFits) {
  auto p = sio::sock::decode(R"(29999999999999999999["a"])");
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->ack_id, std::uint64_t{9999999999999999999u});
}

TEST(SioDecode, AttachmentCountAtTheLimitIsAccepted) {
  auto p = sio::sock::decode(R"(51000-["a"])");
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->attachments, 1000u);
  auto zero = sio::sock::decode(R"(50-["a"])"); // socket.io-parser accepts 0 as well
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero->attachments, 0u);
}

TEST(SioDecode, DepthCountsOnlyBracketsOutsideStrings) {
  auto p = sio::sock::decode(R"(2["[[[{{{\"[[[","x\\"])", 5, depth_limit(1));
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ((*p->data)[0], "[[[{{{\"[[[");
  EXPECT_EQ((*p->data)[1], "x\\");
  auto at_limit = sio::sock::decode(R"(2["a",[[]]])", 5, depth_limit(3));
  EXPECT_TRUE(at_limit.ok());
}

TEST(SioDecode, V4ErrorAcceptsAnyJson) {
  for (const char* text : {R"(4"x")", "4{}", "4[1]", "4null", "4", "4/a,42"}) {
    EXPECT_TRUE(sio::sock::decode(text, 4).ok()) << text;
  }
}

TEST(SioDecode, ReservedNamesAreFineAsArguments) {
  EXPECT_TRUE(sio::sock::decode(R"(2["x","connect"])").ok());
  EXPECT_TRUE(sio::sock::decode(R"(2["Connect"])").ok());
  EXPECT_TRUE(sio::sock::decode(R"(3["connect"])").ok());
}

/// Random and mutated input must never throw or crash (the sanitizer build checks the rest).
TEST(SioFuzz, DecodeNeverThrows) {
  std::mt19937 rng(4242);
  const std::vector<std::string> seeds{
      R"(461-/admin,1[{"_placeholder":true,"num":0}])", R"(2/admin?x=1,17["a",{"b":[1,2.5e3]}])",
      R"(0{"token":"abc"})", R"(4"Not authorized")", std::string(40, '[')};
  Limits tight;
  tight.max_attachments = 3;
  tight.max_json_depth = 2;
  for (int iter = 0; iter < 4000; ++iter) {
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
    for (int protocol : {4, 5}) {
      for (const Limits& l : {Limits{}, tight}) {
        EXPECT_NO_THROW({
          auto p = sio::sock::decode(s, protocol, l);
          if (p.ok()) (void)sio::sock::encode(*p);
        });
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Names and encoding details.

TEST(SioPacketType, Names) {
  const std::vector<std::pair<PacketType, std::string_view>> names{
      {PacketType::connect, "CONNECT"},
      {PacketType::disconnect, "DISCONNECT"},
      {PacketType::event, "EVENT"},
      {PacketType::ack, "ACK"},
      {PacketType::connect_error, "CONNECT_ERROR"},
      {PacketType::binary_event, "BINARY_EVENT"},
      {PacketType::binary_ack, "BINARY_ACK"}};
  for (const auto& [type, name] : names) {
    EXPECT_EQ(sio::sock::to_string(type), name);
    EXPECT_EQ(sio::sock::packet_type_from_string(name), type);
    if (type != PacketType::connect_error) {
      EXPECT_EQ(sio::sock::to_string(type, 4), name);
    }
  }
  EXPECT_EQ(sio::sock::to_string(PacketType::connect_error, 4), "ERROR");
  EXPECT_EQ(sio::sock::to_string(PacketType::connect_error, 5), "CONNECT_ERROR");
  EXPECT_EQ(sio::sock::packet_type_from_string("ERROR"), PacketType::connect_error);
  EXPECT_EQ(sio::sock::packet_type_from_string("event"), std::nullopt);
  EXPECT_EQ(sio::sock::packet_type_from_string(""), std::nullopt);
}

TEST(SioPacketType, ProtocolForEio) {
  EXPECT_EQ(sio::sock::protocol_for_eio(3), 4);
  EXPECT_EQ(sio::sock::protocol_for_eio(4), 5);
}

TEST(SioEncode, EmptyNamespaceIsNotWritten) {
  Packet p;
  p.type = PacketType::connect;
  p.nsp = "";
  EXPECT_EQ(sio::sock::encode(p), "0");
}

TEST(SioEncode, BinaryTypesWriteTheCountEvenWhenZero) {
  Packet p;
  p.type = PacketType::binary_ack;
  p.ack_id = 3;
  p.data = json::array();
  EXPECT_EQ(sio::sock::encode(p), "60-3[]");
}

TEST(SioEncode, InvalidUtf8IsReplacedNotThrown) {
  Packet p;
  p.data = json::array({"bad\xff"});
  std::string out;
  EXPECT_NO_THROW(out = sio::sock::encode(p));
  EXPECT_EQ(out, "2[\"bad\xEF\xBF\xBD\"]");
}

TEST(SioEncode, CompactJsonLikeJsonStringify) {
  Packet p;
  p.data = json::parse(R"([ "a" , { "k" : [ 1 , true , null ] } , "\u00e9\n" ])");
  EXPECT_EQ(sio::sock::encode(p), "2[\"a\",{\"k\":[1,true,null]},\"é\\n\"]");
}

// ---------------------------------------------------------------------------------------------
// Attachments (§2.4).

TEST(SioReconstruct, ReplacesNestedPlaceholders) {
  json v = json::parse(
      R"(["x",{"a":{"_placeholder":true,"num":1},"b":[{"_placeholder":true,"num":0}]}])");
  ASSERT_TRUE(sio::sock::reconstruct(v, {"\x01\x02"s, "hi"}).ok());
  EXPECT_EQ(v, json::parse(R"(["x",{"a":{"_binary_b64":"aGk="},"b":[{"_binary_b64":"AQI="}]}])"));
}

TEST(SioReconstruct, BufferMayBeUsedTwice) {
  json v = json::parse("[" + ph0 + "," + ph0 + "]");
  ASSERT_TRUE(sio::sock::reconstruct(v, {"a"}).ok());
  EXPECT_EQ(v, json::parse(R"([{"_binary_b64":"YQ=="},{"_binary_b64":"YQ=="}])"));
}

TEST(SioReconstruct, Errors) {
  const std::vector<std::string> two{"a", "b"};
  for (const std::string bad : {
           R"([{"_placeholder":true,"num":2},{"_placeholder":true,"num":0}])", // out of range
           R"([{"_placeholder":true,"num":-1}])",                              // negative
           R"([{"_placeholder":true,"num":0.0},1])",                           // not an integer
           R"([{"_placeholder":true,"num":"0"}])",                             // not a number
           R"([{"_placeholder":true}])",                                       // no num
           R"([{"_placeholder":true,"num":0}])",                               // buffer 1 unused
       }) {
    json v = json::parse(bad);
    const json before = v;
    auto st = sio::sock::reconstruct(v, two);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_TRUE(st.error().is(errc::sio_bad_packet)) << bad;
    EXPECT_EQ(v, before) << "left untouched on failure: " << bad;
  }
}

TEST(SioReconstruct, IgnoresLookalikes) {
  json v = json::parse(R"([{"_placeholder":false,"num":0},{"_placeholder":"true","num":0}])");
  const json before = v;
  ASSERT_TRUE(sio::sock::reconstruct(v, {}).ok());
  EXPECT_EQ(v, before);
}

TEST(SioDeconstruct, NumbersDepthFirstInDocumentOrder) {
  json v = json::parse(R"(["up",{"x":{"_binary_b64":"AQ=="},"y":[{"_binary_b64":"Ag=="},)"
                       R"({"z":{"_binary_b64":""}}]},{"_binary_b64":"AwQ="}])");
  auto buffers = sio::sock::deconstruct(v);
  ASSERT_TRUE(buffers.ok()) << buffers.error().message();
  EXPECT_EQ(*buffers, (std::vector<std::string>{"\x01"s, "\x02"s, ""s, "\x03\x04"s}));
  EXPECT_EQ(v, json::parse(R"(["up",{"x":{"_placeholder":true,"num":0},"y":[{"_placeholder":true,)"
                           R"("num":1},{"z":{"_placeholder":true,"num":2}}]},)"
                           R"({"_placeholder":true,"num":3}])"));
  // and back
  ASSERT_TRUE(sio::sock::reconstruct(v, *buffers).ok());
  EXPECT_EQ(v, json::parse(R"(["up",{"x":{"_binary_b64":"AQ=="},"y":[{"_binary_b64":"Ag=="},)"
                           R"({"z":{"_binary_b64":""}}]},{"_binary_b64":"AwQ="}])"));
}

TEST(SioDeconstruct, FollowsKeysInWrittenOrder) {
  // Keys are numbered in the order they were written (like JS), not sorted.
  json v = json::parse(R"({"zz":{"_binary_b64":"AQ=="},"aa":{"_binary_b64":"Ag=="}})");
  auto buffers = sio::sock::deconstruct(v);
  ASSERT_TRUE(buffers.ok());
  EXPECT_EQ(*buffers, (std::vector<std::string>{"\x01"s, "\x02"s}));
  EXPECT_EQ(v.dump(), R"({"zz":{"_placeholder":true,"num":0},"aa":{"_placeholder":true,"num":1}})");
}

TEST(SioDeconstruct, NoBinaryMeansNoBuffers) {
  json v = json::parse(R"(["a",{"_binary_b64":"AQ==","other":1}])");
  const json before = v;
  auto buffers = sio::sock::deconstruct(v);
  ASSERT_TRUE(buffers.ok());
  EXPECT_TRUE(buffers->empty());
  EXPECT_EQ(v, before);
}

TEST(SioDeconstruct, BadBase64FailsAndLeavesTheValue) {
  for (const char* bad :
       {R"([{"_binary_b64":"AQ=="},{"_binary_b64":"A*=="}])", R"([{"_binary_b64":12}])"}) {
    json v = json::parse(bad);
    const json before = v;
    auto buffers = sio::sock::deconstruct(v);
    ASSERT_FALSE(buffers.ok()) << bad;
    EXPECT_TRUE(buffers.error().is(errc::bad_base64)) << bad;
    EXPECT_EQ(v, before);
  }
}

TEST(SioDeconstruct, EncodesBackToTheWireExample) {
  // §2.5 example 16, from the decoded form back to the wire text and attachments.
  Packet p;
  p.type = PacketType::binary_event;
  p.data = json::parse(R"(["two",{"_binary_b64":"AQIDBA=="},{"_binary_b64":"BQ=="}])");
  auto buffers = sio::sock::deconstruct(*p.data);
  ASSERT_TRUE(buffers.ok());
  p.attachments = buffers->size();
  EXPECT_EQ("4" + sio::sock::encode(p), "452-[\"two\"," + ph0 + "," + ph1 + "]");
  EXPECT_EQ(*buffers, (std::vector<std::string>{"\x01\x02\x03\x04"s, "\x05"s}));
}

TEST(SioAttachments, CollectsTwoFrames) {
  // §2.5 example 16: the text frame, then two binary frames.
  auto p = sio::sock::decode(sio_text("452-[\"two\"," + ph0 + "," + ph1 + "]"));
  ASSERT_TRUE(p.ok());
  AttachmentCollector c;
  EXPECT_FALSE(c.pending());
  ASSERT_TRUE(c.start(*p).ok());
  EXPECT_TRUE(c.pending());
  auto first = c.add("\x01\x02\x03\x04"s);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->has_value());
  EXPECT_TRUE(c.pending());
  auto second = c.add("\x05"s);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(second->has_value());
  EXPECT_FALSE(c.pending());
  const Packet& done = **second;
  EXPECT_EQ(done.type, PacketType::binary_event);
  EXPECT_EQ(done.attachments, 2u);
  EXPECT_EQ(*done.data,
            json::parse(R"(["two",{"_binary_b64":"AQIDBA=="},{"_binary_b64":"BQ=="}])"));
  EXPECT_FALSE(c.abandon().has_value());
}

TEST(SioAttachments, StartRules) {
  AttachmentCollector c;
  auto plain = sio::sock::decode(R"(2["a"])");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(c.start(*plain).ok()); // no attachments
  auto zero = sio::sock::decode(R"(50-["a"])");
  ASSERT_TRUE(zero.ok());
  EXPECT_FALSE(c.start(*zero).ok());
  auto one = sio::sock::decode("61-/admin,1[" + ph0 + "]");
  ASSERT_TRUE(one.ok());
  ASSERT_TRUE(c.start(*one).ok());
  auto again = c.start(*one);
  ASSERT_FALSE(again.ok()); // already pending
  EXPECT_TRUE(again.error().is(errc::sio_bad_packet));
  auto dropped = c.abandon();
  ASSERT_TRUE(dropped.has_value());
  EXPECT_EQ(*dropped, *one);
  EXPECT_FALSE(c.pending());
  EXPECT_FALSE(c.abandon().has_value());
}

TEST(SioAttachments, AddWithoutPendingFails) {
  AttachmentCollector c;
  auto r = c.add("x");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::sio_bad_packet));
}

TEST(SioAttachments, BadPlaceholderFailsAndClears) {
  AttachmentCollector c;
  auto p = sio::sock::decode(R"(51-["a",{"_placeholder":true,"num":5}])");
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(c.start(*p).ok());
  auto r = c.add("x");
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(c.pending());
}

/// §2.4 end to end: the text packet and its attachment arrive in one polling body or as ws
/// frames, in each Engine.IO version.
TEST(SioAttachments, EndToEndOverEveryTransport) {
  const std::string text = "451-[\"upload\"," + ph0 + "]";
  const json expected = json::parse(R"(["upload",{"_binary_b64":"AQIDBA=="}])");
  struct Transport {
    const char* name;
    std::vector<sio::eio::Packet> packets;
  };
  const auto v4_poll = sio::eio::decode_payload(text + "\x1e" + "bAQIDBA==", 4, false);
  const auto v3_poll = sio::eio::decode_payload("44:" + text + "10:b4AQIDBA==", 3, false);
  const auto v3_bin = sio::eio::decode_payload(
      "\x00\x04\x04\xff"s + text + "\x01\x05\xff\x04\x01\x02\x03\x04"s, 3, true);
  ASSERT_FALSE(v4_poll.error || v3_poll.error || v3_bin.error);
  std::vector<Transport> transports{{"polling v4", v4_poll.packets},
                                    {"polling v3 text", v3_poll.packets},
                                    {"polling v3 binary", v3_bin.packets}};
  auto ws4 = sio::eio::decode_binary_packet("\x01\x02\x03\x04"s, 4);
  auto ws3 = sio::eio::decode_binary_packet("\x04\x01\x02\x03\x04"s, 3);
  auto ws_text = sio::eio::decode_text_packet(text);
  ASSERT_TRUE(ws4.ok() && ws3.ok() && ws_text.ok());
  transports.push_back({"ws v5", {*ws_text, *ws4}});
  transports.push_back({"ws v4", {*ws_text, *ws3}});
  for (const auto& t : transports) {
    ASSERT_EQ(t.packets.size(), 2u) << t.name;
    ASSERT_FALSE(t.packets[0].binary) << t.name;
    ASSERT_TRUE(t.packets[1].binary) << t.name;
    auto p = sio::sock::decode(t.packets[0].data);
    ASSERT_TRUE(p.ok()) << t.name;
    AttachmentCollector c;
    ASSERT_TRUE(c.start(*p).ok()) << t.name;
    auto done = c.add(t.packets[1].data);
    ASSERT_TRUE(done.ok() && done->has_value()) << t.name;
    EXPECT_EQ(*(*done)->data, expected) << t.name;
  }
}

} // namespace
