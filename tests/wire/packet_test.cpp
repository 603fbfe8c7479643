#include "sio/wire/packet.hpp"

#include "../support/paths.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <tuple>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace sio::wire;
using sio::errc;
using Bytes = std::vector<std::uint8_t>;

// ---- frame building ---------------------------------------------------------------------------

void put16(Bytes& b, std::uint32_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void put32(Bytes& b, std::uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xFFFF);
}
void put32le(Bytes& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
Bytes text(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

/// A TCP header (no checksum: the decoder does not look at it) with `opt_words` 4-byte option
/// words (NOPs), followed by the payload.
Bytes tcp(std::uint16_t sport, std::uint16_t dport, std::uint32_t seq, std::uint32_t ack,
          std::uint8_t flags, const Bytes& payload, unsigned opt_words = 0) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, seq);
  put32(b, ack);
  b.push_back(static_cast<std::uint8_t>((5 + opt_words) << 4));
  b.push_back(flags);
  put16(b, 65535); // window
  put16(b, 0);     // checksum
  put16(b, 0);     // urgent
  for (unsigned i = 0; i < opt_words * 4; ++i) b.push_back(1);
  return cat(b, payload);
}

Bytes udp(std::uint16_t sport, std::uint16_t dport, const Bytes& payload) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<std::uint32_t>(8 + payload.size()));
  put16(b, 0);
  return cat(b, payload);
}

struct V4 {
  std::uint8_t proto = 6;
  unsigned opt_words = 0;      ///< IPv4 options (4-byte words)
  std::uint16_t frag = 0x4000; ///< flags + fragment offset (DF by default)
  int total = -1;              ///< total length override
};

Bytes ipv4(const Bytes& l4, V4 o = {}, std::array<std::uint8_t, 4> src = {10, 0, 0, 1},
           std::array<std::uint8_t, 4> dst = {10, 0, 0, 2}) {
  Bytes b;
  const unsigned ihl = 5 + o.opt_words;
  b.push_back(static_cast<std::uint8_t>(0x40 | ihl));
  b.push_back(0);
  put16(b, o.total >= 0 ? static_cast<std::uint32_t>(o.total)
                        : static_cast<std::uint32_t>(ihl * 4 + l4.size()));
  put16(b, 0x1234);
  put16(b, o.frag);
  b.push_back(64);
  b.push_back(o.proto);
  put16(b, 0);
  b.insert(b.end(), src.begin(), src.end());
  b.insert(b.end(), dst.begin(), dst.end());
  for (unsigned i = 0; i < o.opt_words * 4; ++i) b.push_back(1); // NOP options
  return cat(b, l4);
}

std::array<std::uint8_t, 16> v6addr(std::uint8_t last) {
  std::array<std::uint8_t, 16> a{};
  a[0] = 0x20;
  a[1] = 0x01;
  a[2] = 0x0d;
  a[3] = 0xb8;
  a[15] = last;
  return a;
}

/// IPv6 with `ext` (already chained: ext's first next-header byte must lead to the transport)
/// between the fixed header and the transport.
Bytes ipv6(const Bytes& l4, std::uint8_t first_next = 6, const Bytes& ext = {}) {
  Bytes b = {0x60, 0, 0, 0};
  put16(b, static_cast<std::uint32_t>(ext.size() + l4.size()));
  b.push_back(first_next);
  b.push_back(64);
  const auto s = v6addr(1), d = v6addr(2);
  b.insert(b.end(), s.begin(), s.end());
  b.insert(b.end(), d.begin(), d.end());
  return cat(cat(b, ext), l4);
}

Bytes ether(std::uint16_t type, const Bytes& payload, const std::vector<std::uint16_t>& tags = {}) {
  Bytes b = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  if (tags.empty()) {
    put16(b, type);
  } else {
    for (std::size_t i = 0; i < tags.size(); ++i) {
      put16(b, tags[i]);
      put16(b, static_cast<std::uint32_t>(100 + i)); // VLAN id
    }
    put16(b, type);
  }
  return cat(b, payload);
}

Bytes sll(std::uint16_t proto, const Bytes& payload) {
  Bytes b = {0, 0, 3, 4, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0};
  put16(b, proto);
  return cat(b, payload);
}

Bytes sll2(std::uint16_t proto, const Bytes& payload) {
  Bytes b;
  put16(b, proto);
  put16(b, 0);    // reserved
  put32(b, 1);    // interface index
  put16(b, 772);  // ARPHRD_LOOPBACK
  b.push_back(0); // packet type
  b.push_back(6); // address length
  for (int i = 0; i < 8; ++i) b.push_back(0);
  return cat(b, payload);
}

/// Decodes a copy of `frame` that stays alive until the next call (the segment points into it).
DecodeStatus decode(int dlt, const Bytes& frame, TcpSegment& seg, std::uint32_t wire_len = 0) {
  static Bytes held;
  held = frame;
  held.shrink_to_fit();
  return decode_packet(dlt, held, wire_len ? wire_len : static_cast<std::uint32_t>(held.size()),
                       seg);
}

std::string str(std::span<const std::uint8_t> s) {
  return std::string(s.begin(), s.end());
}

const Bytes hello = text("hello, world");
const Bytes seg_v4 = ipv4(tcp(50000, 4080, 1000, 2000, tcp_ack | 0x08, hello));
const Bytes seg_v6 = ipv6(tcp(50000, 4080, 1000, 2000, tcp_ack | 0x08, hello));

void expect_hello(const TcpSegment& s, bool v6) {
  EXPECT_EQ(s.src.port, 50000);
  EXPECT_EQ(s.dst.port, 4080);
  EXPECT_EQ(s.seq, 1000u);
  EXPECT_EQ(s.ack, 2000u);
  EXPECT_EQ(s.flags, tcp_ack | 0x08);
  EXPECT_EQ(str(s.payload), "hello, world");
  EXPECT_EQ(s.payload_missing, 0u);
  EXPECT_EQ(s.src.v6, v6);
  EXPECT_EQ(s.src.address(), v6 ? "2001:db8::1" : "10.0.0.1");
  EXPECT_EQ(s.dst.address(), v6 ? "2001:db8::2" : "10.0.0.2");
}

// ---- decode_packet ----------------------------------------------------------------------------

TEST(DecodePacket, EthernetIpv4AndIpv6) {
  TcpSegment s;
  ASSERT_EQ(decode(1, ether(0x0800, seg_v4), s), DecodeStatus::tcp);
  expect_hello(s, false);
  ASSERT_EQ(decode(1, ether(0x86DD, seg_v6), s), DecodeStatus::tcp);
  expect_hello(s, true);
}

TEST(DecodePacket, VlanTagsAtAnyDepth) {
  TcpSegment s;
  ASSERT_EQ(decode(1, ether(0x0800, seg_v4, {0x8100}), s), DecodeStatus::tcp);
  expect_hello(s, false);
  ASSERT_EQ(decode(1, ether(0x86DD, seg_v6, {0x88A8, 0x8100}), s), DecodeStatus::tcp);
  expect_hello(s, true);
  ASSERT_EQ(decode(1, ether(0x0800, seg_v4, {0x88A8, 0x8100, 0x8100, 0x9100}), s),
            DecodeStatus::tcp);
  expect_hello(s, false);
  // A tag that is cut short.
  Bytes cut = ether(0x0800, seg_v4, {0x8100, 0x8100});
  cut.resize(16);
  EXPECT_EQ(decode(1, cut, s), DecodeStatus::truncated);
}

TEST(DecodePacket, EthernetPaddingIsNotPayload) {
  // A bare ACK is 54 bytes; Ethernet pads it to 60. The IP total length says where it ends.
  Bytes frame = ether(0x0800, ipv4(tcp(1, 2, 3, 4, tcp_ack, {})));
  ASSERT_EQ(frame.size(), 54u);
  frame.resize(60, 0xEE);
  TcpSegment s;
  ASSERT_EQ(decode(1, frame, s), DecodeStatus::tcp);
  EXPECT_TRUE(s.payload.empty());
  EXPECT_EQ(s.payload_missing, 0u);
  // The same with two payload bytes: padding after them is dropped too.
  frame = ether(0x0800, ipv4(tcp(1, 2, 3, 4, tcp_ack, text("ab"))));
  frame.resize(60, 0xEE);
  ASSERT_EQ(decode(1, frame, s), DecodeStatus::tcp);
  EXPECT_EQ(str(s.payload), "ab");
}

TEST(DecodePacket, NotIpAndNotTcp) {
  TcpSegment s;
  EXPECT_EQ(decode(1, ether(0x0806, Bytes(28, 0)), s), DecodeStatus::not_ip); // ARP
  EXPECT_EQ(decode(1, ether(0x88CC, Bytes(30, 0)), s), DecodeStatus::not_ip); // LLDP
  EXPECT_EQ(decode(1, ether(40, Bytes(40, 0)), s), DecodeStatus::not_ip);     // 802.3 length
  V4 icmp;
  icmp.proto = 1;
  EXPECT_EQ(decode(1, ether(0x0800, ipv4(Bytes(8, 0), icmp)), s), DecodeStatus::not_tcp);
  EXPECT_EQ(decode(1, ether(0x86DD, ipv6(Bytes(8, 0), 58)), s), DecodeStatus::not_tcp);
}

TEST(DecodePacket, UdpGivesPorts) {
  V4 o;
  o.proto = 17;
  TcpSegment s;
  ASSERT_EQ(decode(1, ether(0x0800, ipv4(udp(51000, 443, Bytes(30, 1)), o)), s), DecodeStatus::udp);
  EXPECT_EQ(s.src.port, 51000);
  EXPECT_EQ(s.dst.port, 443);
  EXPECT_EQ(s.src.address(), "10.0.0.1");
  EXPECT_TRUE(s.payload.empty());
  ASSERT_EQ(decode(1, ether(0x86DD, ipv6(udp(443, 52000, Bytes(5, 1)), 17)), s), DecodeStatus::udp);
  EXPECT_EQ(s.src.port, 443);
  EXPECT_EQ(s.dst.port, 52000);
  EXPECT_TRUE(s.dst.v6);
}

TEST(DecodePacket, NullAndLoopFamiliesInEitherByteOrder) {
  TcpSegment s;
  for (const int dlt : {0, 108}) {
    for (const bool network_order : {false, true}) {
      auto hdr = [&](std::uint32_t family) {
        Bytes b;
        network_order ? put32(b, family) : put32le(b, family);
        return b;
      };
      SCOPED_TRACE("dlt " + std::to_string(dlt) + (network_order ? " BE" : " LE"));
      ASSERT_EQ(decode(dlt, cat(hdr(2), seg_v4), s), DecodeStatus::tcp);
      expect_hello(s, false);
      for (const std::uint32_t f6 : {10u, 24u, 28u, 30u}) {
        ASSERT_EQ(decode(dlt, cat(hdr(f6), seg_v6), s), DecodeStatus::tcp) << f6;
        expect_hello(s, true);
      }
      EXPECT_EQ(decode(dlt, cat(hdr(7), seg_v4), s), DecodeStatus::not_ip);
    }
  }
}

TEST(DecodePacket, LinuxCookedV1AndV2) {
  TcpSegment s;
  ASSERT_EQ(decode(113, sll(0x0800, seg_v4), s), DecodeStatus::tcp);
  expect_hello(s, false);
  ASSERT_EQ(decode(113, sll(0x86DD, seg_v6), s), DecodeStatus::tcp);
  expect_hello(s, true);
  ASSERT_EQ(decode(276, sll2(0x0800, seg_v4), s), DecodeStatus::tcp);
  expect_hello(s, false);
  ASSERT_EQ(decode(276, sll2(0x86DD, seg_v6), s), DecodeStatus::tcp);
  expect_hello(s, true);
  EXPECT_EQ(decode(113, sll(0x0806, Bytes(28, 0)), s), DecodeStatus::not_ip);
  EXPECT_EQ(decode(276, sll2(0x0806, Bytes(28, 0)), s), DecodeStatus::not_ip);
}

TEST(DecodePacket, RawLinkTypesDecideByVersion) {
  TcpSegment s;
  for (const int dlt : {12, 14, 101, 228, 229}) {
    SCOPED_TRACE(dlt);
    ASSERT_EQ(decode(dlt, seg_v4, s), DecodeStatus::tcp);
    expect_hello(s, false);
    ASSERT_EQ(decode(dlt, seg_v6, s), DecodeStatus::tcp);
    expect_hello(s, true);
    Bytes bad = seg_v4;
    bad[0] = 0x55;
    EXPECT_EQ(decode(dlt, bad, s), DecodeStatus::bad_header);
  }
}

TEST(DecodePacket, UnsupportedLink) {
  TcpSegment s;
  EXPECT_EQ(decode(147, seg_v4, s), DecodeStatus::unsupported_link);
  EXPECT_EQ(decode(105, seg_v4, s), DecodeStatus::unsupported_link); // 802.11
  EXPECT_FALSE(link_type_supported(147));
  for (const int dlt : {0, 1, 12, 14, 101, 108, 113, 228, 229, 276})
    EXPECT_TRUE(link_type_supported(dlt)) << dlt;
  EXPECT_EQ(link_type_name(1), "EN10MB");
  EXPECT_EQ(link_type_name(276), "LINUX_SLL2");
  EXPECT_EQ(link_type_name(113), "LINUX_SLL");
  EXPECT_EQ(link_type_name(99999), "DLT 99999");
}

TEST(DecodePacket, Ipv4OptionsAndTcpOptions) {
  V4 o;
  o.opt_words = 10; // the maximum: IHL 15
  TcpSegment s;
  ASSERT_EQ(
      decode(1, ether(0x0800, ipv4(tcp(50000, 4080, 1000, 2000, tcp_ack | 0x08, hello, 10), o)), s),
      DecodeStatus::tcp);
  expect_hello(s, false);
  // IHL below 5 or a TCP data offset below 5 make no sense.
  Bytes bad = ether(0x0800, seg_v4);
  bad[14] = 0x44;
  EXPECT_EQ(decode(1, bad, s), DecodeStatus::bad_header);
  bad = ether(0x0800, seg_v4);
  bad[14 + 20 + 12] = 0x30;
  EXPECT_EQ(decode(1, bad, s), DecodeStatus::bad_header);
  // An IP version that is not 4 behind an IPv4 ethertype.
  bad = ether(0x0800, seg_v4);
  bad[14] = 0x65;
  EXPECT_EQ(decode(1, bad, s), DecodeStatus::bad_header);
  // A total length shorter than the header.
  V4 short_total;
  short_total.total = 12;
  EXPECT_EQ(decode(1, ether(0x0800, ipv4(tcp(1, 2, 3, 4, 0, {}), short_total)), s),
            DecodeStatus::bad_header);
  // A TCP header longer than the IP datagram.
  V4 tiny;
  tiny.total = 30;
  EXPECT_EQ(decode(1, ether(0x0800, ipv4(tcp(1, 2, 3, 4, 0, {}), tiny)), s),
            DecodeStatus::bad_header);
}

TEST(DecodePacket, Ipv4Fragments) {
  TcpSegment s;
  V4 first;
  first.frag = 0x2000; // MF, offset 0
  EXPECT_EQ(decode(1, ether(0x0800, ipv4(tcp(1, 2, 3, 4, 0, hello), first)), s),
            DecodeStatus::ip_fragment);
  V4 later;
  later.frag = 0x0010; // offset 16 * 8, last fragment
  EXPECT_EQ(decode(1, ether(0x0800, ipv4(hello, later)), s), DecodeStatus::ip_fragment);
  V4 df;
  df.frag = 0x4000; // don't-fragment alone is a whole datagram
  EXPECT_EQ(decode(1, ether(0x0800, ipv4(tcp(1, 2, 3, 4, 0, hello), df)), s), DecodeStatus::tcp);
}

TEST(DecodePacket, Ipv6ExtensionHeaders) {
  const Bytes l4 = tcp(50000, 4080, 1000, 2000, tcp_ack | 0x08, hello);
  // hop-by-hop (8 bytes) -> routing (16 bytes) -> destination options (8) -> AH (16) -> TCP
  Bytes ext;
  ext.insert(ext.end(), {43, 0, 1, 4, 0, 0, 0, 0}); // hop-by-hop, next routing
  ext.insert(ext.end(), {60, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}); // routing, len 1
  ext.insert(ext.end(), {51, 0, 1, 4, 0, 0, 0, 0});                         // dest opts, next AH
  ext.insert(ext.end(), {6, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});  // AH: (2+2)*4 = 16
  TcpSegment s;
  ASSERT_EQ(decode(1, ether(0x86DD, ipv6(l4, 0, ext)), s), DecodeStatus::tcp);
  expect_hello(s, true);

  // An atomic fragment (offset 0, no more fragments) holds the whole segment.
  const Bytes atomic = {6, 0, 0, 0, 0, 0, 0, 42};
  ASSERT_EQ(decode(1, ether(0x86DD, ipv6(l4, 44, atomic)), s), DecodeStatus::tcp);
  expect_hello(s, true);
  const Bytes more = {6, 0, 0, 1, 0, 0, 0, 42};
  EXPECT_EQ(decode(1, ether(0x86DD, ipv6(l4, 44, more)), s), DecodeStatus::ip_fragment);
  const Bytes offset = {6, 0, 0, 8, 0, 0, 0, 42};
  EXPECT_EQ(decode(1, ether(0x86DD, ipv6(hello, 44, offset)), s), DecodeStatus::ip_fragment);
  // An extension header claiming more bytes than the datagram has.
  const Bytes too_long = {6, 200, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(decode(1, ether(0x86DD, ipv6(l4, 0, too_long)), s), DecodeStatus::bad_header);
}

TEST(DecodePacket, ZeroIpLengthTakesTheCapturedLength) {
  // Linux writes total length 0 for TSO/GSO super-packets captured on the way out.
  V4 o;
  o.total = 0;
  TcpSegment s;
  ASSERT_EQ(
      decode(1, ether(0x0800, ipv4(tcp(50000, 4080, 1000, 2000, tcp_ack | 0x08, hello), o)), s),
      DecodeStatus::tcp);
  expect_hello(s, false);
}

TEST(DecodePacket, SnapLengthCutGivesPayloadMissing) {
  const Bytes full = ether(0x0800, ipv4(tcp(1, 2, 3, 4, tcp_ack, Bytes(1000, 'x'))));
  Bytes cut(full.begin(), full.begin() + 96);
  TcpSegment s;
  ASSERT_EQ(decode_packet(1, cut, static_cast<std::uint32_t>(full.size()), s), DecodeStatus::tcp);
  EXPECT_EQ(s.payload.size(), 96u - 54u);
  EXPECT_EQ(s.payload_missing, 1000u - 42u);
  // The IP length claims more than even the wire had: damaged, not cut.
  EXPECT_EQ(decode_packet(1, cut, 96, s), DecodeStatus::truncated);
}

struct LinkCase {
  int dlt;
  Bytes frame;
  std::size_t headers; ///< bytes before the TCP payload
};

std::vector<LinkCase> link_cases() {
  const Bytes l4 = tcp(50000, 4080, 1000, 2000, tcp_ack | 0x08, hello, 3);
  const Bytes v4 = ipv4(l4);
  const Bytes v6 = ipv6(l4, 0, {6, 0, 1, 4, 0, 0, 0, 0});
  Bytes null_hdr, loop_hdr;
  put32le(null_hdr, 2);
  put32(loop_hdr, 30);
  const std::size_t tcp_len = 32, v4_len = 20 + tcp_len, v6_len = 48 + tcp_len;
  return {
      {1, ether(0x0800, v4), 14 + v4_len},
      {1, ether(0x86DD, v6, {0x88A8, 0x8100}), 22 + v6_len},
      {0, cat(null_hdr, v4), 4 + v4_len},
      {108, cat(loop_hdr, v6), 4 + v6_len},
      {113, sll(0x0800, v4), 16 + v4_len},
      {276, sll2(0x86DD, v6), 20 + v6_len},
      {101, v4, v4_len},
      {12, v6, v6_len},
      {228, v4, v4_len},
      {229, v6, v6_len},
  };
}

TEST(DecodePacket, EveryPrefixOfEveryLinkType) {
  for (const auto& c : link_cases()) {
    SCOPED_TRACE("dlt " + std::to_string(c.dlt));
    {
      TcpSegment s;
      ASSERT_EQ(decode(c.dlt, c.frame, s), DecodeStatus::tcp);
      EXPECT_EQ(str(s.payload), "hello, world");
    }
    for (std::size_t len = 0; len <= c.frame.size(); ++len) {
      // An exact-size heap copy, so that AddressSanitizer sees any read past the end.
      const Bytes prefix(c.frame.begin(), c.frame.begin() + static_cast<std::ptrdiff_t>(len));
      TcpSegment s;
      const auto st = decode_packet(c.dlt, prefix, static_cast<std::uint32_t>(c.frame.size()), s);
      if (len < c.headers) {
        EXPECT_EQ(st, DecodeStatus::truncated) << "length " << len;
      } else {
        ASSERT_EQ(st, DecodeStatus::tcp) << "length " << len;
        EXPECT_EQ(s.payload.size(), len - c.headers);
        EXPECT_EQ(s.payload_missing, c.frame.size() - len);
        EXPECT_EQ(s.seq, 1000u);
      }
    }
  }
}

TEST(DecodePacket, RandomAndMutatedInputsStayInBounds) {
  std::mt19937 rng(20240601);
  const auto cases = link_cases();
  const int dlts[] = {0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147};
  for (int i = 0; i < 40000; ++i) {
    Bytes in;
    int dlt = 0;
    if (i % 2 == 0) {
      const auto& c = cases[static_cast<std::size_t>(i / 2) % cases.size()];
      dlt = c.dlt;
      in = c.frame;
      const int flips = 1 + static_cast<int>(rng() % 6);
      for (int f = 0; f < flips; ++f) in[rng() % in.size()] = static_cast<std::uint8_t>(rng());
      in.resize(rng() % (in.size() + 1));
    } else {
      dlt = dlts[rng() % std::size(dlts)];
      in.resize(rng() % 120);
      for (auto& b : in) b = static_cast<std::uint8_t>(rng() % 4 == 0 ? rng() : rng() % 0x90);
    }
    const Bytes exact(in); // exact capacity
    const auto wire = static_cast<std::uint32_t>(exact.size() + rng() % 3000);
    TcpSegment s;
    const auto st = decode_packet(dlt, exact, wire, s);
    if (st == DecodeStatus::tcp && !s.payload.empty()) {
      ASSERT_GE(s.payload.data(), exact.data());
      ASSERT_LE(s.payload.data() + s.payload.size(), exact.data() + exact.size());
      ASSERT_LE(s.payload_missing, wire - exact.size());
    }
  }
}

// ---- capture files ----------------------------------------------------------------------------

/// An independent reading of a classic pcap file, to check PacketSource against.
struct PcapRecord {
  std::int64_t ts_ns;
  std::uint32_t caplen, len;
  std::uint64_t offset; ///< where the record header starts
};

std::vector<PcapRecord> parse_pcap(const std::string& path, std::uint64_t* cut_at = nullptr) {
  std::ifstream f(path, std::ios::binary);
  const std::string d((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto u32 = [&](std::size_t at, bool swap) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
      v |= std::uint32_t{static_cast<std::uint8_t>(d[at + static_cast<std::size_t>(i)])}
           << (8 * (swap ? 3 - i : i));
    return v;
  };
  std::vector<PcapRecord> out;
  const std::uint32_t magic = u32(0, false);
  const bool swap = magic == 0xD4C3B2A1u || magic == 0x4D3CB2A1u;
  const bool nano = magic == 0xA1B23C4Du || magic == 0x4D3CB2A1u;
  std::size_t off = 24;
  while (off + 16 <= d.size()) {
    const std::uint32_t caplen = u32(off + 8, swap);
    if (off + 16 + caplen > d.size()) break;
    out.push_back({std::int64_t{u32(off, swap)} * 1'000'000'000 +
                       std::int64_t{u32(off + 4, swap)} * (nano ? 1 : 1000),
                   caplen, u32(off + 12, swap), off});
    off += 16 + caplen;
  }
  if (cut_at) *cut_at = off;
  return out;
}

std::unique_ptr<PacketSource> open_ok(const std::string& path) {
  auto r = PacketSource::open_file(path);
  if (!r) ADD_FAILURE() << r.error().message();
  return r ? std::move(r.value()) : nullptr;
}

struct Read {
  std::vector<RawPacket> packets; ///< data spans cleared (they do not outlive next())
  std::vector<Bytes> data;
  PacketSource::Next last{};
  sio::Error err;
};

Read read_all(PacketSource& src) {
  Read r;
  RawPacket p;
  for (;;) {
    r.last = src.next(p, r.err);
    if (r.last != PacketSource::Next::packet) break;
    r.data.emplace_back(p.data.begin(), p.data.end());
    p.data = {};
    r.packets.push_back(p);
  }
  return r;
}

TEST(PacketSource, ClassicPcapMatchesAnIndependentReading) {
  for (const char* rel : {"pcap/b1/b1.pcap", "pcap/b4/b4.pcap", "pcap/b8/b8.pcap"}) {
    SCOPED_TRACE(rel);
    const std::string path = sio::test::sample(rel);
    const auto want = parse_pcap(path);
    auto src = open_ok(path);
    ASSERT_TRUE(src);
    EXPECT_EQ(src->linktype(), 1);
    EXPECT_EQ(src->name(), path);
    EXPECT_EQ(src->size(), fs::file_size(path));
    EXPECT_EQ(src->bytes_read(), 24u);
    EXPECT_FALSE(src->stats().has_value());
    const Read got = read_all(*src);
    EXPECT_EQ(got.last, PacketSource::Next::end);
    ASSERT_EQ(got.packets.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got.packets[i].number, i + 1);
      EXPECT_EQ(got.packets[i].ts_ns, want[i].ts_ns);
      EXPECT_EQ(got.packets[i].caplen, want[i].caplen);
      EXPECT_EQ(got.packets[i].len, want[i].len);
      EXPECT_EQ(got.data[i].size(), want[i].caplen);
    }
    EXPECT_EQ(src->bytes_read(), src->size());
    // After the end, it stays at the end.
    RawPacket p;
    sio::Error e;
    EXPECT_EQ(src->next(p, e), PacketSource::Next::end);
  }
}

TEST(PacketSource, NanosecondPcapKeepsNanoseconds) {
  const std::string path = sio::test::sample("pcap/b4/b4.pcap");
  auto src = open_ok(path);
  ASSERT_TRUE(src);
  const Read got = read_all(*src);
  ASSERT_FALSE(got.packets.empty());
  bool sub_micro = false;
  for (const auto& p : got.packets) sub_micro |= p.ts_ns % 1000 != 0;
  EXPECT_TRUE(sub_micro) << "nanosecond timestamps rounded to microseconds";
}

/// All TCP segments of a capture, reduced to what two captures of the same traffic share.
std::vector<std::tuple<std::string, std::string, std::uint32_t, std::uint32_t, std::string>>
segments_of(const std::string& path, int* linktype = nullptr) {
  auto src = open_ok(path);
  std::vector<std::tuple<std::string, std::string, std::uint32_t, std::uint32_t, std::string>> out;
  if (!src) return out;
  if (linktype) *linktype = src->linktype();
  RawPacket p;
  sio::Error e;
  TcpSegment s;
  while (src->next(p, e) == PacketSource::Next::packet) {
    const auto st = decode_packet(src->linktype(), p.data, p.len, s);
    EXPECT_EQ(st, DecodeStatus::tcp) << path << " packet " << p.number;
    if (st == DecodeStatus::tcp)
      out.emplace_back(s.src.to_string(), s.dst.to_string(), s.seq, s.flags, str(s.payload));
  }
  return out;
}

TEST(PacketSource, LinuxCookedCapturesOfTheSameTraffic) {
  int sll1 = 0, sll2_type = 0;
  const auto a = segments_of(sio::test::sample("pcap/b7/b7-sll1.pcap"), &sll1);
  const auto b = segments_of(sio::test::sample("pcap/b7/b7.pcap"), &sll2_type);
  EXPECT_EQ(sll1, 113);
  EXPECT_EQ(sll2_type, 276);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  std::size_t with_payload = 0;
  for (const auto& t : a) with_payload += !std::get<4>(t).empty();
  EXPECT_GT(with_payload, 10u);
}

TEST(PacketSource, Pcapng) {
  const std::string path = sio::test::sample("pcap/b6/b6.pcapng");
  auto src = open_ok(path);
  ASSERT_TRUE(src);
  EXPECT_TRUE(link_type_supported(src->linktype()));
  const auto start = src->bytes_read();
  EXPECT_GT(start, 0u);
  const Read got = read_all(*src);
  EXPECT_EQ(got.last, PacketSource::Next::end);
  ASSERT_GT(got.packets.size(), 10u);
  EXPECT_EQ(src->bytes_read(), src->size());
  std::size_t tcp_count = 0;
  for (std::size_t i = 0; i < got.packets.size(); ++i) {
    EXPECT_EQ(got.packets[i].number, i + 1);
    if (i > 0) {
      EXPECT_GE(got.packets[i].ts_ns, got.packets[i - 1].ts_ns);
    }
    TcpSegment s;
    tcp_count +=
        decode_packet(src->linktype(), got.data[i], got.packets[i].len, s) == DecodeStatus::tcp;
  }
  EXPECT_EQ(tcp_count, got.packets.size());
}

TEST(PacketSource, TruncatedFileReportsThePacketAndByte) {
  const std::string path = sio::test::sample("pcap/b10/b1-truncated.pcap");
  std::uint64_t cut = 0;
  const auto whole = parse_pcap(path, &cut);
  auto src = open_ok(path);
  ASSERT_TRUE(src);
  const Read got = read_all(*src);
  ASSERT_EQ(got.last, PacketSource::Next::error);
  EXPECT_EQ(got.packets.size(), whole.size());
  EXPECT_EQ(got.packets.size(), 119u); // samples/pcap/b10/README.md
  EXPECT_TRUE(got.err.is(errc::truncated_input)) << got.err.message();
  const std::string msg = got.err.message();
  EXPECT_NE(msg.find(path + ": packet " + std::to_string(whole.size() + 1) + " (byte " +
                     std::to_string(cut) + "): the file ends in the middle of a packet record"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("truncated dump file"), std::string::npos) << msg;
  RawPacket p;
  sio::Error e;
  EXPECT_EQ(src->next(p, e), PacketSource::Next::end);
}

TEST(PacketSource, SnapLengthCutIsPayloadMissing) {
  // b1-snap96.pcap is b1.pcap cut at 96 bytes per packet: per packet, captured + missing
  // payload must be the original payload.
  auto full = open_ok(sio::test::sample("pcap/b1/b1.pcap"));
  auto cut = open_ok(sio::test::sample("pcap/b10/b1-snap96.pcap"));
  ASSERT_TRUE(full && cut);
  const Read a = read_all(*full), b = read_all(*cut);
  ASSERT_EQ(a.packets.size(), b.packets.size());
  std::uint64_t missing = 0;
  for (std::size_t i = 0; i < a.packets.size(); ++i) {
    TcpSegment sa, sb;
    ASSERT_EQ(decode_packet(1, a.data[i], a.packets[i].len, sa), DecodeStatus::tcp);
    ASSERT_EQ(decode_packet(1, b.data[i], b.packets[i].len, sb), DecodeStatus::tcp);
    EXPECT_LE(b.packets[i].caplen, 96u);
    EXPECT_EQ(sb.payload.size() + sb.payload_missing, sa.payload.size()) << "packet " << i + 1;
    EXPECT_EQ(str(sb.payload), str(sa.payload).substr(0, sb.payload.size()));
    EXPECT_EQ(sb.seq, sa.seq);
    missing += sb.payload_missing;
  }
  EXPECT_GT(missing, 0u);
}

TEST(PacketSource, Filter) {
  const std::string path = sio::test::sample("pcap/b1/b1.pcap");
  auto all = open_ok(path);
  ASSERT_TRUE(all);
  const auto n = read_all(*all).packets.size();
  auto src = open_ok(path);
  ASSERT_TRUE(src);
  ASSERT_TRUE(src->set_filter("tcp port 4011").ok());
  EXPECT_EQ(read_all(*src).packets.size(), n);
  auto none = open_ok(path);
  ASSERT_TRUE(none->set_filter("udp").ok());
  const Read r = read_all(*none);
  EXPECT_TRUE(r.packets.empty());
  EXPECT_EQ(r.last, PacketSource::Next::end);
  auto bad = open_ok(path);
  const auto st = bad->set_filter("tcp port and and");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("'tcp port and and'"), std::string::npos)
      << st.error().message();
}

TEST(PacketSource, BreakLoopEndsTheRead) {
  auto src = open_ok(sio::test::sample("pcap/b1/b1.pcap"));
  ASSERT_TRUE(src);
  RawPacket p;
  sio::Error e;
  ASSERT_EQ(src->next(p, e), PacketSource::Next::packet);
  src->break_loop();
  EXPECT_EQ(src->next(p, e), PacketSource::Next::end);
  EXPECT_EQ(src->next(p, e), PacketSource::Next::end);
}

/// A scratch directory per test.
class CaptureFiles : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sio_packet_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const Bytes& bytes) {
    const std::string p = (dir_ / name).string();
    std::ofstream f(p, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
    return p;
  }
  fs::path dir_;
};

Bytes pcap_header(std::uint32_t linktype) {
  Bytes b;
  put32le(b, 0xA1B2C3D4);
  b.insert(b.end(), {2, 0, 4, 0});
  put32le(b, 0);
  put32le(b, 0);
  put32le(b, 65535);
  put32le(b, linktype);
  return b;
}

TEST_F(CaptureFiles, ErrorsNameTheFile) {
  const std::string empty = write("empty.pcap", {});
  auto r = PacketSource::open_file(empty);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::empty_input));
  EXPECT_NE(r.error().message().find(empty), std::string::npos) << r.error().message();

  const std::string txt = write("notes.txt", text("these are not packets\nat all\n"));
  r = PacketSource::open_file(txt);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::unsupported)) << r.error().message();
  EXPECT_NE(r.error().message().find(txt + ": not a pcap or pcapng capture file"),
            std::string::npos)
      << r.error().message();

  const std::string har = write("capture.har", text("{\"log\":{}}"));
  r = PacketSource::open_file(har);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("HAR"), std::string::npos) << r.error().message();

  const std::string missing = (dir_ / "nope.pcap").string();
  r = PacketSource::open_file(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::io_error));
  EXPECT_NE(r.error().message().find(missing + ": cannot open"), std::string::npos);

  r = PacketSource::open_file(dir_.string());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::is_directory));

  Bytes header_only = pcap_header(1);
  header_only.resize(10);
  const std::string short_header = write("short.pcap", header_only);
  r = PacketSource::open_file(short_header);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::truncated_input)) << r.error().message();
  EXPECT_NE(r.error().message().find(short_header), std::string::npos);
}

TEST_F(CaptureFiles, UnsupportedLinkType) {
  Bytes f = pcap_header(147);
  put32le(f, 1);
  put32le(f, 0);
  put32le(f, 4);
  put32le(f, 4);
  f.insert(f.end(), {1, 2, 3, 4});
  const std::string path = write("user0.pcap", f);
  auto r = PacketSource::open_file(path);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::unsupported));
  EXPECT_NE(r.error().message().find(path + ": link type DLT 147 (USER0) is not supported; "
                                            "supported: EN10MB"),
            std::string::npos)
      << r.error().message();
}

TEST_F(CaptureFiles, ReadsFromAPipe) {
  // tcpdump -w - | sioreplay record /dev/stdin: no size, no rewinding.
  const std::string sample = sio::test::sample("pcap/b1/b1.pcap");
  const std::string fifo = (dir_ / "capture.fifo").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::thread writer([&] {
    std::ifstream in(sample, std::ios::binary);
    std::ofstream out(fifo, std::ios::binary);
    out << in.rdbuf();
  });
  auto src = open_ok(fifo);
  Read r;
  if (src) {
    r = read_all(*src);
  } else {
    std::ifstream unblock(fifo, std::ios::binary); // let the writer finish
    std::string rest((std::istreambuf_iterator<char>(unblock)), std::istreambuf_iterator<char>());
  }
  writer.join();
  ASSERT_TRUE(src);
  EXPECT_EQ(src->size(), 0u);
  EXPECT_EQ(r.last, PacketSource::Next::end);
  EXPECT_EQ(r.packets.size(), parse_pcap(sample).size());
  EXPECT_EQ(src->bytes_read(), fs::file_size(sample));
}

TEST_F(CaptureFiles, HeaderOnlyPcapHasNoPackets) {
  const std::string path = write("none.pcap", pcap_header(1));
  auto src = open_ok(path);
  ASSERT_TRUE(src);
  const Read r = read_all(*src);
  EXPECT_EQ(r.last, PacketSource::Next::end);
  EXPECT_TRUE(r.packets.empty());
}

TEST_F(CaptureFiles, CutInsideARecordHeader) {
  Bytes f = pcap_header(1);
  const Bytes frame = ether(0x0800, seg_v4);
  for (std::uint32_t i = 0; i < 3; ++i) {
    put32le(f, 100 + i);
    put32le(f, 0);
    put32le(f, static_cast<std::uint32_t>(frame.size()));
    put32le(f, static_cast<std::uint32_t>(frame.size()));
    f.insert(f.end(), frame.begin(), frame.end());
  }
  const std::size_t third = 24 + 2 * (16 + frame.size());
  f.resize(third + 7);
  const std::string path = write("cut.pcap", f);
  auto src = open_ok(path);
  ASSERT_TRUE(src);
  const Read r = read_all(*src);
  ASSERT_EQ(r.packets.size(), 2u);
  ASSERT_EQ(r.last, PacketSource::Next::error);
  EXPECT_TRUE(r.err.is(errc::truncated_input));
  EXPECT_NE(r.err.message().find("cut.pcap: packet 3 (byte " + std::to_string(third) + ")"),
            std::string::npos)
      << r.err.message();
}

// ---- pcapng TLS secrets -----------------------------------------------------------------------

/// pcapng blocks in either byte order.
struct Ng {
  bool big = false;
  Bytes out;
  void u32(std::uint32_t v) { big ? put32(out, v) : put32le(out, v); }
  void u16(std::uint16_t v) {
    if (big) {
      put16(out, v);
    } else {
      out.push_back(static_cast<std::uint8_t>(v));
      out.push_back(static_cast<std::uint8_t>(v >> 8));
    }
  }
  void block(std::uint32_t type, const Bytes& body) {
    const auto total = static_cast<std::uint32_t>(12 + body.size());
    u32(type);
    u32(total);
    out.insert(out.end(), body.begin(), body.end());
    u32(total);
  }
  Bytes padded(Bytes b) {
    while (b.size() % 4) b.push_back(0);
    return b;
  }
  void shb() {
    Ng b{big, {}};
    b.u32(0x1A2B3C4D);
    b.u16(1);
    b.u16(0);
    b.u32(0xFFFFFFFF);
    b.u32(0xFFFFFFFF);
    block(0x0A0D0D0A, b.out);
  }
  void idb(std::uint16_t linktype) {
    Ng b{big, {}};
    b.u16(linktype);
    b.u16(0);
    b.u32(0);
    block(1, b.out);
  }
  void dsb(std::uint32_t type, const std::string& secrets) {
    Ng b{big, {}};
    b.u32(type);
    b.u32(static_cast<std::uint32_t>(secrets.size()));
    b.out = cat(b.out, padded(text(secrets)));
    block(0x0A, b.out);
  }
  void epb(const Bytes& frame) {
    Ng b{big, {}};
    b.u32(0);
    b.u32(0);
    b.u32(1000);
    b.u32(static_cast<std::uint32_t>(frame.size()));
    b.u32(static_cast<std::uint32_t>(frame.size()));
    b.out = cat(b.out, padded(frame));
    block(6, b.out);
  }
};

constexpr std::uint32_t tlsk = 0x544C534B;

TEST_F(CaptureFiles, PcapngTlsSecrets) {
  for (const bool big : {false, true}) {
    SCOPED_TRACE(big ? "big-endian" : "little-endian");
    Ng ng{big, {}};
    ng.shb();
    ng.idb(1);
    ng.dsb(tlsk, "CLIENT_RANDOM 0011 aabb\n");
    ng.epb(ether(0x0800, seg_v4));
    ng.dsb(0x57474B4C, "wireguard keys are not TLS keys"); // another secrets type
    ng.dsb(tlsk, "CLIENT_TRAFFIC_SECRET_0 22 cc");         // no newline, length not a multiple of 4
    ng.dsb(tlsk, "SERVER_TRAFFIC_SECRET_0 22 dd\n");
    const std::string path = write(big ? "be.pcapng" : "le.pcapng", ng.out);
    const auto secrets = read_pcapng_tls_secrets(path);
    ASSERT_TRUE(secrets.ok()) << secrets.error().message();
    EXPECT_EQ(*secrets, "CLIENT_RANDOM 0011 aabb\nCLIENT_TRAFFIC_SECRET_0 22 cc\n"
                        "SERVER_TRAFFIC_SECRET_0 22 dd\n");
    // libpcap reads the packet past the DSBs.
    auto src = open_ok(path);
    ASSERT_TRUE(src);
    const Read r = read_all(*src);
    ASSERT_EQ(r.packets.size(), 1u);
    TcpSegment s;
    ASSERT_EQ(decode_packet(src->linktype(), r.data[0], r.packets[0].len, s), DecodeStatus::tcp);
    expect_hello(s, false);
  }
}

TEST_F(CaptureFiles, PcapngTlsSecretsDamagedAndAbsent) {
  Ng ng;
  ng.shb();
  ng.idb(1);
  ng.dsb(tlsk, "CLIENT_RANDOM 01 02\n");
  ng.dsb(tlsk, "CLIENT_RANDOM 03 04\n");
  Bytes cut = ng.out;
  cut.resize(cut.size() - 10); // the last DSB is cut short: the walk stops before it
  auto r = read_pcapng_tls_secrets(write("cut.pcapng", cut));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "CLIENT_RANDOM 01 02\n");

  r = read_pcapng_tls_secrets(sio::test::sample("pcap/b1/b1.pcap"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "");
  r = read_pcapng_tls_secrets(sio::test::sample("pcap/b6/b6.pcapng"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "");
  r = read_pcapng_tls_secrets(write("empty.pcapng", {}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "");
  const std::string missing = (dir_ / "missing.pcapng").string();
  r = read_pcapng_tls_secrets(missing);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find(missing), std::string::npos);
}

// ---- live capture -----------------------------------------------------------------------------

TEST(PacketSourceLive, UnknownInterfaceSaysSo) {
  auto r = PacketSource::open_live("sio-no-such-if0");
  ASSERT_FALSE(r.ok());
  const std::string msg = r.error().message();
  EXPECT_NE(msg.find("interface sio-no-such-if0"), std::string::npos) << msg;
  // Without the rights to capture, libpcap cannot tell a missing interface from a forbidden one.
  EXPECT_TRUE(msg.find("no such interface") != std::string::npos ||
              msg.find("CAP_NET_RAW") != std::string::npos)
      << msg;
}

TEST(PacketSourceLive, Loopback) {
  auto r = PacketSource::open_live("lo");
  if (!r.ok()) {
    EXPECT_NE(r.error().message().find("CAP_NET_RAW"), std::string::npos) << r.error().message();
    GTEST_SKIP() << "no capture rights here: " << r.error().message();
  }
  auto& src = *r.value();
  EXPECT_EQ(src.name(), "interface lo");
  EXPECT_TRUE(link_type_supported(src.linktype()));
  EXPECT_EQ(src.bytes_read(), 0u);
  ASSERT_TRUE(src.set_filter("tcp port 1 and host 127.0.0.254").ok()); // nothing will match
  RawPacket p;
  sio::Error e;
  EXPECT_EQ(src.next(p, e), PacketSource::Next::timeout);
  EXPECT_TRUE(src.stats().has_value());
  src.break_loop();
  EXPECT_EQ(src.next(p, e), PacketSource::Next::end);
}

} // namespace
