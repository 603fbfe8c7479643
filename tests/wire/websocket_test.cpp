#include "sio/wire/http_stream.hpp"
#include "sio/wire/websocket.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace sio::wire {
namespace {

// ---- helpers ---------------------------------------------------------------------------------

constexpr std::uint8_t FIN = 0x80, RSV1 = 0x40;
constexpr std::uint8_t TEXT = 1, BINARY = 2, CONT = 0, CLOSE = 8, PING = 9, PONG = 10;

/// One frame as RFC 6455 5.2 lays it out; `key` set = masked (what a client sends).
std::string frame(std::uint8_t first, const std::string& payload, bool masked = false,
                  std::uint32_t key = 0x37fa213d) {
  std::string f(1, static_cast<char>(first));
  const std::uint8_t mask_bit = masked ? 0x80 : 0;
  const std::uint64_t n = payload.size();
  if (n < 126) {
    f += static_cast<char>(mask_bit | n);
  } else if (n <= 0xffff) {
    f += static_cast<char>(mask_bit | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(mask_bit | 127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((n >> (8 * i)) & 0xff);
  }
  if (!masked) return f + payload;
  const char k[4] = {static_cast<char>(key >> 24), static_cast<char>(key >> 16),
                     static_cast<char>(key >> 8), static_cast<char>(key)};
  f.append(k, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ k[i % 4]);
  return f;
}

/// A permessage-deflate sender (RFC 7692 7.2.1): raw deflate, Z_SYNC_FLUSH per message, the
/// trailing 00 00 ff ff removed; `takeover` false resets the compressor for every message.
class Deflater {
public:
  explicit Deflater(int window_bits, bool takeover = true) : takeover_(takeover) {
    EXPECT_EQ(
        deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -window_bits, 8, Z_DEFAULT_STRATEGY),
        Z_OK);
  }
  ~Deflater() { deflateEnd(&z_); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  std::string compress(const std::string& msg, int flush = Z_SYNC_FLUSH) {
    if (!takeover_) deflateReset(&z_);
    std::string out(deflateBound(&z_, static_cast<uLong>(msg.size())) + 64, '\0');
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(msg.data()));
    z_.avail_in = static_cast<uInt>(msg.size());
    z_.next_out = reinterpret_cast<Bytef*>(out.data());
    z_.avail_out = static_cast<uInt>(out.size());
    const int ret = deflate(&z_, flush);
    EXPECT_TRUE(ret == Z_OK || ret == Z_STREAM_END);
    EXPECT_EQ(z_.avail_in, 0u);
    out.resize(out.size() - z_.avail_out);
    if (flush == Z_SYNC_FLUSH) {
      EXPECT_EQ(out.substr(out.size() - 4), std::string("\0\0\xff\xff", 4));
      out.resize(out.size() - 4);
    }
    return out;
  }
  z_stream& z() { return z_; }

private:
  z_stream z_{};
  bool takeover_;
};

struct Got {
  std::vector<WsMessage> messages;
  std::vector<std::pair<std::uint64_t, std::string>> errors;
};

class Collector : public WsStream::Handler {
public:
  Got got;
  void on_message(Side, WsMessage&& m) override { got.messages.push_back(std::move(m)); }
  void on_error(Side, std::uint64_t offset, std::string what) override {
    got.errors.emplace_back(offset, std::move(what));
  }
};

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

/// A packet of a direction, or a gap of `gap` bytes (`unknown_length`: reported with length 0,
/// as an HttpConnection's on_error passes it on).
struct Part {
  std::string bytes;
  std::uint64_t gap = 0;
  bool unknown_length = false;
};

/// Feeds parts as packets 1, 2, ... (time = packet * 1000), each cut into feeds of `piece` bytes
/// when piece > 0, then closes.
Got run(WsStream& ws, const std::vector<Part>& parts, std::size_t piece = 0, bool close = true) {
  Collector c;
  std::uint64_t off = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const Part& p = parts[i];
    if (p.gap > 0) {
      ws.gap(off, p.unknown_length ? 0 : p.gap, c);
      off += p.gap;
      continue;
    }
    const std::size_t step = piece == 0 ? p.bytes.size() : piece;
    for (std::size_t at = 0; at < p.bytes.size(); at += step)
      ws.feed(bytes_of(p.bytes.substr(at, step)), off + at, static_cast<std::int64_t>(i + 1) * 1000,
              i + 1, c);
    off += p.bytes.size();
  }
  if (close) ws.close(c);
  return c.got;
}

Got run_stream(Side sender, const WsDeflate& d, const std::vector<Part>& parts,
               std::size_t piece = 0, std::uint64_t max_message = 64ull << 20) {
  WsStream ws(sender, d, max_message);
  return run(ws, parts, piece);
}

std::string payloads(const Got& g) {
  std::string s;
  for (const auto& m : g.messages) s += std::to_string(m.opcode) + ":" + m.payload + "|";
  return s;
}

WsDeflate deflate_on(int bits = 15, bool no_takeover = false) {
  WsDeflate d;
  d.enabled = true;
  d.client_max_window_bits = d.server_max_window_bits = bits;
  d.client_no_context_takeover = d.server_no_context_takeover = no_takeover;
  return d;
}

// ---- parse_ws_extensions ---------------------------------------------------------------------

TEST(WsExtensions, EmptyMeansNone) {
  auto d = parse_ws_extensions("");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->enabled);
  d = parse_ws_extensions("  ,  ");
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->enabled);
}

TEST(WsExtensions, PermessageDeflateWithParameters) {
  auto d = parse_ws_extensions("permessage-deflate");
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_TRUE(d->enabled);
  EXPECT_FALSE(d->client_no_context_takeover);
  EXPECT_FALSE(d->server_no_context_takeover);
  EXPECT_EQ(d->client_max_window_bits, 15);
  EXPECT_EQ(d->server_max_window_bits, 15);

  d = parse_ws_extensions(
      "permessage-deflate; client_max_window_bits=10; server_no_context_takeover");
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->client_max_window_bits, 10);
  EXPECT_EQ(d->server_max_window_bits, 15);
  EXPECT_TRUE(d->server_no_context_takeover);
  EXPECT_FALSE(d->client_no_context_takeover);

  d = parse_ws_extensions("Permessage-Deflate;server_max_window_bits=\"8\" ;"
                          "client_no_context_takeover\t; client_max_window_bits , ");
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_EQ(d->server_max_window_bits, 8);
  EXPECT_EQ(d->client_max_window_bits, 15);
  EXPECT_TRUE(d->client_no_context_takeover);
}

TEST(WsExtensions, Errors) {
  for (const char* bad :
       {"x-webkit-deflate-frame", "permessage-deflate, x-custom; a=1",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=08",
        "permessage-deflate; client_max_window_bits=abc",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_max_window_bits=9; client_max_window_bits=9",
        "permessage-deflate; mystery", "permessage-deflate; client_max_window_bits=\"10",
        "permessage-deflate; client_max_window_bits=", "permessage-deflate;",
        "permessage-deflate x", "permessage-deflate, permessage-deflate", "; a", "=",
        "permessage-deflate; =1"}) {
    auto d = parse_ws_extensions(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_TRUE(d.error().is(errc::unsupported)) << bad;
    EXPECT_FALSE(d.error().context.empty());
  }
  auto d = parse_ws_extensions("x-webkit-deflate-frame");
  EXPECT_NE(d.error().message().find("x-webkit-deflate-frame"), std::string::npos);
}

// ---- frames ----------------------------------------------------------------------------------

TEST(WsStream, UnmaskedAndMaskedFrames) {
  const std::string s =
      frame(FIN | TEXT, "42[\"hello\"]") + frame(FIN | BINARY, std::string("\0\1\2", 3));
  Got g = run_stream(Side::server, {}, {{s}});
  ASSERT_EQ(g.messages.size(), 2u);
  EXPECT_EQ(g.messages[0].opcode, TEXT);
  EXPECT_EQ(g.messages[0].payload, "42[\"hello\"]");
  EXPECT_FALSE(g.messages[0].compressed);
  EXPECT_EQ(g.messages[0].offset, 0u);
  EXPECT_EQ(g.messages[1].opcode, BINARY);
  EXPECT_EQ(g.messages[1].payload, std::string("\0\1\2", 3));
  EXPECT_EQ(g.messages[1].offset, 13u);
  EXPECT_TRUE(g.errors.empty());

  const std::string c =
      frame(FIN | TEXT, "2probe", true, 0x01020304) + frame(FIN | TEXT, "5", true, 0xdeadbeef);
  g = run_stream(Side::client, {}, {{c}});
  ASSERT_EQ(g.messages.size(), 2u);
  EXPECT_EQ(g.messages[0].payload, "2probe");
  EXPECT_EQ(g.messages[1].payload, "5");
  EXPECT_EQ(g.messages[1].offset, 12u);
}

TEST(WsStream, AllLengthEncodings) {
  for (const std::size_t n : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u, 70000u}) {
    SCOPED_TRACE(n);
    std::string payload(n, '\0');
    for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<char>('a' + i % 26);
    const std::string f = frame(FIN | BINARY, payload, true);
    const std::size_t header = n < 126 ? 6 : n <= 65535 ? 8 : 14;
    ASSERT_EQ(f.size(), header + n);
    Got g = run_stream(Side::client, {}, {{f}, {frame(FIN | TEXT, "next", true)}});
    ASSERT_EQ(g.messages.size(), 2u);
    EXPECT_EQ(g.messages[0].payload, payload);
    EXPECT_EQ(g.messages[1].payload, "next");
    EXPECT_EQ(g.messages[1].offset, f.size());
    EXPECT_TRUE(g.errors.empty());
  }
  // A longer encoding than needed is accepted (RFC 6455 asks for the minimal one, peers may not).
  Got g = run_stream(Side::server, {},
                     {{std::string("\x81\x7e\x00\x03"
                                   "abc",
                                   7)}});
  ASSERT_EQ(g.messages.size(), 1u);
  EXPECT_EQ(g.messages[0].payload, "abc");
}

TEST(WsStream, FragmentsWithAnInterleavedPing) {
  const std::string a = frame(TEXT, "Hel", true), p = frame(FIN | PING, "are you there", true);
  const std::string b = frame(CONT, "lo ", true), c = frame(FIN | CONT, "world", true);
  Got g = run_stream(Side::client, {}, {{a}, {p + b}, {c}, {frame(FIN | PONG, "", true)}});
  ASSERT_EQ(g.messages.size(), 3u);
  EXPECT_EQ(g.messages[0].opcode, PING);
  EXPECT_EQ(g.messages[0].payload, "are you there");
  EXPECT_EQ(g.messages[0].offset, a.size());
  EXPECT_EQ(g.messages[0].packet, 2u);
  EXPECT_EQ(g.messages[1].opcode, TEXT);
  EXPECT_EQ(g.messages[1].payload, "Hello world");
  EXPECT_EQ(g.messages[1].offset, 0u);
  EXPECT_EQ(g.messages[1].packet, 3u); // the packet that completed its last frame
  EXPECT_EQ(g.messages[1].ts_ns, 3000);
  EXPECT_EQ(g.messages[2].opcode, PONG);
  EXPECT_EQ(g.messages[2].payload, "");
  EXPECT_TRUE(g.errors.empty());
}

TEST(WsStream, CloseFrameIsDelivered) {
  Got g = run_stream(Side::server, {},
                     {{frame(FIN | CLOSE, std::string("\x03\xe8"
                                                      "bye",
                                                      5))}});
  ASSERT_EQ(g.messages.size(), 1u);
  EXPECT_EQ(g.messages[0].opcode, CLOSE);
  EXPECT_EQ(g.messages[0].payload, std::string("\x03\xe8"
                                               "bye",
                                               5));
}

// ---- permessage-deflate ----------------------------------------------------------------------

std::vector<std::string> socketio_messages() {
  std::vector<std::string> m;
  for (int i = 0; i < 12; ++i)
    m.push_back("42[\"tick\",{\"n\":" + std::to_string(i) + ",\"text\":\"" +
                std::string(static_cast<std::size_t>(40 + i * 50), static_cast<char>('a' + i)) +
                "\",\"same\":\"the same words again and again\"}]");
  m.push_back("2");
  m.push_back(std::string(3000, 'z'));
  return m;
}

TEST(WsStream, DeflateWithContextTakeoverAllWindowSizes) {
  const auto msgs = socketio_messages();
  for (int bits = 8; bits <= 15; ++bits) {
    SCOPED_TRACE(bits);
    // zlib cannot compress with an 8-bit window and uses 9: what real zlib-based peers do.
    Deflater client(std::max(bits, 9)), server(std::max(bits, 9));
    std::vector<Part> cparts, sparts;
    for (const auto& m : msgs) {
      cparts.push_back({frame(FIN | RSV1 | TEXT, client.compress(m), true)});
      sparts.push_back({frame(FIN | RSV1 | TEXT, server.compress(m))});
    }
    const WsDeflate d = deflate_on(bits);
    for (Side side : {Side::client, Side::server}) {
      Got g = run_stream(side, d, side == Side::client ? cparts : sparts);
      ASSERT_EQ(g.messages.size(), msgs.size());
      for (std::size_t i = 0; i < msgs.size(); ++i) {
        EXPECT_EQ(g.messages[i].payload, msgs[i]) << i;
        EXPECT_TRUE(g.messages[i].compressed);
      }
      EXPECT_TRUE(g.errors.empty()) << g.errors[0].second;
    }
  }
}

TEST(WsStream, DeflateWithoutContextTakeover) {
  const auto msgs = socketio_messages();
  for (int bits : {9, 12, 15}) {
    Deflater server(bits, /*takeover=*/false);
    std::vector<Part> parts;
    for (const auto& m : msgs) parts.push_back({frame(FIN | RSV1 | TEXT, server.compress(m))});
    WsDeflate d = deflate_on(bits);
    d.server_no_context_takeover = true;
    Got g = run_stream(Side::server, d, parts);
    ASSERT_EQ(g.messages.size(), msgs.size()) << bits;
    for (std::size_t i = 0; i < msgs.size(); ++i) EXPECT_EQ(g.messages[i].payload, msgs[i]);
  }
}

TEST(WsStream, ContextTakeoverReallyCarriesTheWindow) {
  const std::string m(500, 'q');
  Deflater server(15);
  const std::string first = server.compress(m), second = server.compress(m);
  EXPECT_LT(second.size(), 20u); // only a back-reference into the previous message
  const std::vector<Part> parts = {{frame(FIN | RSV1 | TEXT, first)},
                                   {frame(FIN | RSV1 | TEXT, second)}};
  Got g = run_stream(Side::server, deflate_on(), parts);
  ASSERT_EQ(g.messages.size(), 2u);
  EXPECT_EQ(g.messages[1].payload, m);
  // A receiver told there is no takeover resets its window and cannot follow.
  WsDeflate d = deflate_on();
  d.server_no_context_takeover = true;
  WsStream ws(Side::server, d);
  g = run(ws, parts);
  ASSERT_EQ(g.messages.size(), 1u);
  ASSERT_EQ(g.errors.size(), 1u);
  EXPECT_NE(g.errors[0].second.find("does not inflate"), std::string::npos) << g.errors[0].second;
  EXPECT_TRUE(ws.failed());
}

TEST(WsStream, FinalDeflateBlockKeepsTheWindow) {
  // A sender may end a message's deflate stream with a final block (BFINAL); with context
  // takeover the next message may still refer to the previous one's bytes.
  const std::string m1 = "the quick brown fox jumps over the lazy dog, twice: the quick brown fox";
  const std::string m2 = "the lazy dog, twice: the quick brown fox jumps over";
  Deflater first(15);
  const std::string c1 = first.compress(m1, Z_FINISH);
  Deflater second(15);
  ASSERT_EQ(deflateSetDictionary(&second.z(), reinterpret_cast<const Bytef*>(m1.data()),
                                 static_cast<uInt>(m1.size())),
            Z_OK);
  const std::string c2 = second.compress(m2);
  Got g = run_stream(Side::server, deflate_on(),
                     {{frame(FIN | RSV1 | TEXT, c1)}, {frame(FIN | RSV1 | TEXT, c2)}});
  ASSERT_EQ(g.messages.size(), 2u) << (g.errors.empty() ? "" : g.errors[0].second);
  EXPECT_EQ(g.messages[0].payload, m1);
  EXPECT_EQ(g.messages[1].payload, m2);
}

TEST(WsStream, CompressedMessageInFragmentsAndUncompressedBetween) {
  Deflater client(15);
  const std::string big(5000, 'x');
  const std::string c = client.compress("42[\"big\",\"" + big + "\"]");
  ASSERT_GT(c.size(), 6u);
  const std::string f1 = frame(RSV1 | TEXT, c.substr(0, 3), true);
  const std::string ping = frame(FIN | PING, "", true);
  const std::string f2 = frame(CONT, c.substr(3, 2), true);
  const std::string f3 = frame(FIN | CONT, c.substr(5), true);
  const std::string plain = frame(FIN | TEXT, "3", true); // RSV1 clear: not compressed
  const std::string after = frame(FIN | RSV1 | TEXT, client.compress("4x"), true);
  Got g = run_stream(Side::client, deflate_on(), {{f1 + ping + f2}, {f3 + plain}, {after}});
  ASSERT_EQ(g.messages.size(), 4u);
  EXPECT_EQ(g.messages[0].opcode, PING);
  EXPECT_EQ(g.messages[1].payload, "42[\"big\",\"" + big + "\"]");
  EXPECT_TRUE(g.messages[1].compressed);
  EXPECT_EQ(g.messages[2].payload, "3");
  EXPECT_FALSE(g.messages[2].compressed);
  EXPECT_EQ(g.messages[3].payload, "4x");
}

TEST(WsStream, ByteAtATimeGivesTheSameMessages) {
  Deflater server(12);
  std::string all;
  for (const auto& m : socketio_messages()) all += frame(FIN | RSV1 | TEXT, server.compress(m));
  all += frame(BINARY, "frag") + frame(FIN | PING, "p") + frame(FIN | CONT, std::string(300, 'f'));
  all += frame(FIN | TEXT, std::string(70000, 'L'));
  const WsDeflate d = deflate_on(12);
  const Got whole = run_stream(Side::server, d, {{all}});
  ASSERT_EQ(whole.messages.size(), socketio_messages().size() + 3);
  EXPECT_TRUE(whole.errors.empty());
  for (const std::size_t piece : {1u, 2u, 13u, 1000u}) {
    const Got g = run_stream(Side::server, d, {{all}}, piece);
    EXPECT_EQ(payloads(g), payloads(whole)) << piece;
    ASSERT_EQ(g.messages.size(), whole.messages.size());
    for (std::size_t i = 0; i < g.messages.size(); ++i)
      EXPECT_EQ(g.messages[i].offset, whole.messages[i].offset);
  }
}

// ---- gaps ------------------------------------------------------------------------------------

TEST(WsStream, GapThenResyncAtTheNextFrame) {
  // A packet holding one whole frame was dropped: the frames after it still come out.
  const std::string a = frame(FIN | TEXT, "42[\"a\"]"), b = frame(FIN | TEXT, "42[\"b\"]");
  const std::string c = frame(FIN | TEXT, "42[\"c\"]"), d = frame(FIN | TEXT, "3");
  for (const bool unknown : {false, true}) {
    for (const std::size_t piece : {0u, 1u}) {
      WsStream ws(Side::server, {});
      Got g = run(ws, {{a}, {"", b.size(), unknown}, {c}, {d}}, piece);
      EXPECT_EQ(payloads(g), "1:42[\"a\"]|1:42[\"c\"]|1:3|");
      ASSERT_EQ(g.errors.size(), 1u);
      EXPECT_EQ(g.errors[0].first, a.size());
      EXPECT_FALSE(ws.failed());
      ASSERT_EQ(g.messages.size(), 3u);
      EXPECT_EQ(g.messages[1].offset, a.size() + b.size());
    }
  }
}

TEST(WsStream, GapInsideAFrameScansForTheNextHeader) {
  const std::string a = frame(FIN | TEXT, "42[\"first\",{\"k\":\"some text payload\"}]");
  const std::string b = frame(FIN | TEXT, "42[\"second\",{\"k\":\"more text, with, commas\"}]");
  const std::string c = frame(FIN | TEXT, "42[\"third\"]");
  // The gap cuts b in two; its tail is text, which no header byte pattern matches.
  for (const std::size_t piece : {0u, 1u, 3u}) {
    Got g =
        run_stream(Side::server, {}, {{a + b.substr(0, 10)}, {"", 5}, {b.substr(15) + c}}, piece);
    EXPECT_EQ(payloads(g), "1:" + a.substr(2) + "|1:42[\"third\"]|") << piece;
    EXPECT_EQ(g.errors.size(), 1u);
  }
}

TEST(WsStream, GapOnTheMaskedClientSide) {
  const std::string a = frame(FIN | TEXT, "42[\"x\"]", true), b = frame(FIN | TEXT, "3", true);
  const std::string c = frame(FIN | TEXT, "42[\"y\"]", true, 0x11223344);
  Got g = run_stream(Side::client, {}, {{a}, {"", b.size()}, {c}});
  EXPECT_EQ(payloads(g), "1:42[\"x\"]|1:42[\"y\"]|");
  // An unmasked header is not plausible for a client: skipped until the masked one.
  g = run_stream(Side::client, {}, {{a}, {"", 3}, {frame(FIN | TEXT, "no") + c}});
  EXPECT_EQ(payloads(g), "1:42[\"x\"]|1:42[\"y\"]|");
}

TEST(WsStream, GapWithoutContextTakeoverResyncsWithDeflate) {
  Deflater server(15, /*takeover=*/false);
  const std::string a = frame(FIN | RSV1 | TEXT, server.compress("42[\"a\"]"));
  const std::string b = frame(FIN | RSV1 | TEXT, server.compress("42[\"b\"]"));
  const std::string c = frame(FIN | RSV1 | TEXT, server.compress("42[\"c\"]"));
  WsDeflate d = deflate_on();
  d.server_no_context_takeover = true;
  WsStream ws(Side::server, d);
  Got g = run(ws, {{a}, {"", b.size()}, {c}});
  EXPECT_EQ(payloads(g), "1:42[\"a\"]|1:42[\"c\"]|");
  EXPECT_EQ(g.errors.size(), 1u);
  EXPECT_FALSE(ws.failed());
}

TEST(WsStream, GapWithContextTakeoverStops) {
  Deflater server(15);
  const std::string a = frame(FIN | RSV1 | TEXT, server.compress("42[\"a\"]"));
  const std::string b = frame(FIN | RSV1 | TEXT, server.compress("42[\"b\"]"));
  const std::string c = frame(FIN | RSV1 | TEXT, server.compress("42[\"c\"]"));
  WsStream ws(Side::server, deflate_on());
  Got g = run(ws, {{a}, {"", b.size()}, {c}});
  EXPECT_EQ(payloads(g), "1:42[\"a\"]|");
  ASSERT_EQ(g.errors.size(), 1u);
  EXPECT_EQ(g.errors[0].first, a.size());
  EXPECT_TRUE(ws.failed());
  // The client's direction negotiated no takeover: it goes on.
  Deflater client(15, false);
  WsDeflate d = deflate_on();
  d.client_no_context_takeover = true;
  WsStream cws(Side::client, d);
  g = run(cws, {{frame(FIN | RSV1 | TEXT, client.compress("1"), true)},
                {"", 9},
                {frame(FIN | RSV1 | TEXT, client.compress("2"), true)}});
  EXPECT_EQ(payloads(g), "1:1|1:2|");
  EXPECT_FALSE(cws.failed());
}

TEST(WsStream, GapInsideAFragmentedMessageLosesIt) {
  // (Payload bytes chosen so that no byte after f3's first one looks like a header: a length
  // byte of 1 or 2 would pass for a text or binary frame.)
  const std::string f1 = frame(TEXT, "par"), f2 = frame(CONT, "tial"),
                    f3 = frame(FIN | CONT, "!!!");
  const std::string next = frame(FIN | TEXT, "whole");
  Got g = run_stream(Side::server, {}, {{f1}, {"", f2.size()}, {f3 + next}});
  // f3 is a continuation: after a gap no message is open, so it is not where parsing resumes.
  EXPECT_EQ(payloads(g), "1:whole|");
  ASSERT_EQ(g.errors.size(), 1u);
  EXPECT_NE(g.errors[0].second.find("lost"), std::string::npos);
}

// ---- errors, limits, close -------------------------------------------------------------------

TEST(WsStream, ProtocolErrorsStopTheStream) {
  struct Case {
    std::string bytes;
    const char* what;
    std::uint64_t at = 4; // where the bad frame starts
  };
  const std::vector<Case> cases = {
      {frame(FIN | 3, "x"), "reserved opcode 3"},
      {frame(FIN | 0x0b, "x"), "reserved opcode 11"},
      {frame(FIN | RSV1 | TEXT, "x"), "RSV1"},
      {frame(FIN | 0x20 | TEXT, "x"), "RSV2/RSV3"},
      {frame(FIN | CONT, "x"), "continuation frame without"},
      {frame(PING, "x"), "fragmented control frame"},
      {frame(FIN | PING, std::string(126, 'p')), "control frame over 125"},
      {frame(TEXT, "a") + frame(FIN | TEXT, "b"), "new data frame inside", 7},
      {std::string("\x82\x7f\x80\0\0\0\0\0\0\0", 10), "top bit"},
  };
  for (const auto& c : cases) {
    WsStream ws(Side::server, {});
    Got g = run(ws, {{frame(FIN | TEXT, "ok") + c.bytes}, {frame(FIN | TEXT, "ignored")}});
    EXPECT_EQ(payloads(g), "1:ok|") << c.what;
    ASSERT_EQ(g.errors.size(), 1u) << c.what;
    EXPECT_NE(g.errors[0].second.find(c.what), std::string::npos) << g.errors[0].second;
    EXPECT_EQ(g.errors[0].first, c.at);
    EXPECT_TRUE(ws.failed());
  }
}

TEST(WsStream, CorruptDeflateDataStops) {
  WsStream ws(Side::server, deflate_on());
  Got g = run(ws, {{frame(FIN | RSV1 | TEXT, std::string("\xff\xff\xff\xff\xff", 5))},
                   {frame(FIN | TEXT, "later")}});
  EXPECT_TRUE(g.messages.empty());
  ASSERT_EQ(g.errors.size(), 1u);
  EXPECT_TRUE(ws.failed());
}

TEST(WsStream, MaxMessage) {
  // One frame over the limit, fragments adding up over it, and an inflated message over it.
  Got g = run_stream(Side::server, {}, {{frame(FIN | TEXT, std::string(100, 'a'))}}, 0, 100);
  EXPECT_EQ(g.messages.size(), 1u);
  g = run_stream(Side::server, {}, {{frame(FIN | TEXT, std::string(101, 'a'))}}, 0, 100);
  EXPECT_TRUE(g.messages.empty());
  ASSERT_EQ(g.errors.size(), 1u);
  EXPECT_NE(g.errors[0].second.find("limit"), std::string::npos);
  g = run_stream(Side::server, {},
                 {{frame(TEXT, std::string(60, 'a')) + frame(FIN | CONT, std::string(41, 'b'))}}, 0,
                 100);
  EXPECT_TRUE(g.messages.empty());
  EXPECT_EQ(g.errors.size(), 1u);
  Deflater server(15);
  const std::string fits = server.compress(std::string(100, 'z'));
  const std::string bomb = server.compress(std::string(100000, 'z'));
  ASSERT_LT(bomb.size(), 200u);
  g = run_stream(Side::server, deflate_on(),
                 {{frame(FIN | RSV1 | TEXT, fits)}, {frame(FIN | RSV1 | TEXT, bomb)}}, 0, 1000);
  ASSERT_EQ(g.messages.size(), 1u);
  EXPECT_EQ(g.messages[0].payload, std::string(100, 'z'));
  ASSERT_EQ(g.errors.size(), 1u);
  EXPECT_NE(g.errors[0].second.find("once inflated"), std::string::npos);
}

TEST(WsStream, CloseInsideAFrame) {
  const std::string f = frame(FIN | TEXT, "complete message");
  Got g = run_stream(Side::server, {}, {{frame(FIN | TEXT, "a") + f.substr(0, 6)}});
  EXPECT_EQ(payloads(g), "1:a|");
  ASSERT_EQ(g.errors.size(), 1u);
  EXPECT_EQ(g.errors[0].first, 3u);
  EXPECT_NE(g.errors[0].second.find("the connection ended inside a frame"), std::string::npos);
  // Inside a header, and between the fragments of a message.
  g = run_stream(Side::server, {}, {{std::string("\x81\x7e\x01", 3)}});
  EXPECT_EQ(g.errors.size(), 1u);
  g = run_stream(Side::server, {}, {{frame(TEXT, "part")}});
  ASSERT_EQ(g.errors.size(), 1u);
  EXPECT_EQ(g.errors[0].first, 0u);
  // A clean end says nothing.
  g = run_stream(Side::server, {}, {{f}});
  EXPECT_TRUE(g.errors.empty());
}

TEST(WsStream, RandomBytesNeverCrash) {
  std::mt19937 rng(7);
  Deflater server(10);
  std::string base;
  for (const auto& m : socketio_messages()) base += frame(FIN | RSV1 | TEXT, server.compress(m));
  base += frame(TEXT, "ab", true) + frame(FIN | PING, "", true) + frame(FIN | CONT, "c", true);
  for (int iter = 0; iter < 2000; ++iter) {
    std::string s = base;
    const int edits = static_cast<int>(rng() % 5);
    for (int e = 0; e < edits; ++e) s[rng() % s.size()] = static_cast<char>(rng());
    std::vector<Part> parts;
    for (std::size_t at = 0; at < s.size();) {
      const std::size_t n = 1 + rng() % 200;
      parts.push_back({s.substr(at, n)});
      if (rng() % 10 == 0) parts.push_back({"", rng() % 20, rng() % 2 == 0});
      at += n;
    }
    WsDeflate d = deflate_on(static_cast<int>(8 + rng() % 8), rng() % 2 == 0);
    d.enabled = rng() % 4 != 0;
    run_stream(rng() % 2 ? Side::client : Side::server, d, parts, rng() % 3, 1 + rng() % 5000);
  }
}

// ---- through HttpConnection ------------------------------------------------------------------

/// HTTP up to the 101, then each direction's raw bytes into its WsStream: the recorder's wiring.
class Pipeline : public HttpConnection::Handler, public WsStream::Handler {
public:
  std::vector<std::pair<Side, WsMessage>> messages;
  std::vector<std::string> errors;
  std::unique_ptr<WsStream> ws[2];
  HttpConnection http{*this};

  void on_request(const HttpRequest&) override {}
  void on_response(HttpRequest*, HttpResponse&) override {}
  void on_upgrade(const HttpRequest*, const HttpResponse& resp) override {
    const std::string* ext = find_header(resp.headers, "Sec-WebSocket-Extensions");
    auto d = parse_ws_extensions(ext ? *ext : "");
    ASSERT_TRUE(d.ok());
    ws[0] = std::make_unique<WsStream>(Side::client, *d);
    ws[1] = std::make_unique<WsStream>(Side::server, *d);
  }
  void on_raw(Side side, std::span<const std::uint8_t> bytes, std::uint64_t offset, std::int64_t ts,
              std::uint64_t packet) override {
    ws[side == Side::client ? 0 : 1]->feed(bytes, offset, ts, packet, *this);
  }
  void on_error(Side side, HttpConnection::ErrorKind kind, std::uint64_t offset,
                std::string what) override {
    if (http.upgraded() && kind == HttpConnection::ErrorKind::gap)
      ws[side == Side::client ? 0 : 1]->gap(offset, 0, *this);
    else
      errors.push_back(what);
  }
  void on_message(Side sender, WsMessage&& m) override { messages.emplace_back(sender, m); }
  void on_error(Side, std::uint64_t, std::string what) override { errors.push_back(what); }
};

TEST(WsStream, EngineIoWebsocketBehindAnUpgrade) {
  Deflater client(15, false), server(15);
  const std::string req =
      "GET /socket.io/?EIO=4&transport=websocket&sid=XYZ HTTP/1.1\r\nHost: h\r\n"
      "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: a\r\n"
      "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
  const std::string resp =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n\r\n";
  Pipeline p;
  const auto feed = [&](Side side, const std::string& b, std::uint64_t off, std::uint64_t pk) {
    p.http.feed(side, bytes_of(b), off, static_cast<std::int64_t>(pk) * 1000, pk);
  };
  // The client sends its probe right behind the request, before the 101 is seen.
  const std::string probe = frame(FIN | TEXT, "2probe", true);
  const std::string s1 = frame(FIN | RSV1 | TEXT, server.compress("3probe"));
  const std::string c2 = frame(FIN | RSV1 | TEXT, client.compress("5"), true);
  const std::string s2 = frame(FIN | RSV1 | TEXT, server.compress("42[\"hello\",\"world\"]"));
  feed(Side::client, req + probe, 0, 1);
  feed(Side::server, resp + s1, 0, 2);
  feed(Side::client, c2, req.size() + probe.size(), 3);
  feed(Side::server, s2, resp.size() + s1.size(), 4);
  p.http.close(5000);
  for (auto& w : p.ws) w->close(p);
  ASSERT_EQ(p.messages.size(), 4u);
  EXPECT_EQ(p.messages[0].second.payload, "2probe");
  EXPECT_EQ(p.messages[0].second.offset, req.size());
  EXPECT_EQ(p.messages[1].second.payload, "3probe");
  EXPECT_EQ(p.messages[2].second.payload, "5");
  EXPECT_EQ(p.messages[3].second.payload, "42[\"hello\",\"world\"]");
  EXPECT_EQ(p.messages[3].second.packet, 4u);
  EXPECT_TRUE(p.errors.empty()) << p.errors[0];
}

} // namespace
} // namespace sio::wire
