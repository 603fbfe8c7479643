#include "sio/wire/tcp_reassembly.hpp"

#include "../support/paths.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace sio::wire;
using Bytes = std::vector<std::uint8_t>;

/// What one connection's handler saw.
struct ConnLog {
  ConnInfo info;
  std::string stream[2];      ///< delivered bytes; '#' for each byte reported missing
  std::uint64_t next[2] = {}; ///< where the next call must start
  std::uint64_t delivered[2] = {}, missing[2] = {};
  struct Gap {
    Side side;
    std::uint64_t offset, length;
  };
  std::vector<Gap> gaps;
  std::vector<std::uint64_t> packets[2];     ///< the `packet` of each on_data
  std::vector<const std::uint8_t*> spans[2]; ///< where each on_data's bytes lived
  bool closed = false;
  CloseReason reason{};
  std::int64_t close_ts = 0;
  bool keep_bytes = true; ///< false for big captures: count only
};

class Recorder final : public TcpHandler {
public:
  explicit Recorder(ConnLog& log) : log_(log) {}
  void on_data(Side side, std::span<const std::uint8_t> bytes, std::uint64_t offset, std::int64_t,
               std::uint64_t packet) override {
    const int s = static_cast<int>(side);
    EXPECT_FALSE(log_.closed) << "on_data after on_close";
    EXPECT_FALSE(bytes.empty());
    EXPECT_EQ(offset, log_.next[s]) << "flow " << log_.info.id << " " << to_string(side);
    log_.next[s] = offset + bytes.size();
    log_.delivered[s] += bytes.size();
    if (log_.keep_bytes) log_.stream[s].append(bytes.begin(), bytes.end());
    log_.packets[s].push_back(packet);
    log_.spans[s].push_back(bytes.data());
  }
  void on_gap(Side side, std::uint64_t offset, std::uint64_t length, std::int64_t) override {
    const int s = static_cast<int>(side);
    EXPECT_FALSE(log_.closed) << "on_gap after on_close";
    EXPECT_GT(length, 0u);
    EXPECT_EQ(offset, log_.next[s]) << "flow " << log_.info.id << " " << to_string(side);
    log_.next[s] = offset + length;
    log_.missing[s] += length;
    if (log_.keep_bytes && length < 4096) log_.stream[s].append(length, '#');
    log_.gaps.push_back({side, offset, length});
  }
  void on_close(CloseReason reason, std::int64_t ts_ns) override {
    EXPECT_FALSE(log_.closed) << "closed twice";
    log_.closed = true;
    log_.reason = reason;
    log_.close_ts = ts_ns;
  }

private:
  ConnLog& log_;
};

Endpoint ep(std::uint8_t last, std::uint16_t port, bool v6 = false) {
  Endpoint e;
  e.v6 = v6;
  if (v6) {
    e.addr[0] = 0xfd;
    e.addr[15] = last;
  } else {
    e.addr = {10, 0, 0, last};
  }
  e.port = port;
  return e;
}

constexpr std::uint8_t psh_ack = tcp_ack | 0x08;

/// Drives a TcpReassembler with scripted segments between one client and one server (or more).
class Reassembly : public ::testing::Test {
protected:
  void make(TcpReassembler::Limits limits = {}) {
    tcp_ = std::make_unique<TcpReassembler>(
        limits, [this](const ConnInfo& info) -> std::unique_ptr<TcpHandler> {
          logs_.push_back(std::make_unique<ConnLog>());
          logs_.back()->info = info;
          logs_.back()->keep_bytes = keep_bytes_;
          if (ignore_ports_ &&
              (info.server.port == ignore_ports_ || info.client.port == ignore_ports_))
            return nullptr;
          return std::make_unique<Recorder>(*logs_.back());
        });
  }
  void SetUp() override { make(); }

  /// Sends a segment; `payload` stays alive in `keep_` so that spans can be checked.
  void send(const Endpoint& from, const Endpoint& to, std::uint32_t seq, std::uint8_t flags,
            const std::string& payload = {}, std::uint32_t ack = 0, std::uint32_t missing = 0) {
    keep_.push_back(std::make_unique<Bytes>(payload.begin(), payload.end()));
    TcpSegment s;
    s.src = from;
    s.dst = to;
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.payload = *keep_.back();
    s.payload_missing = missing;
    last_payload_ = keep_.back()->data();
    tcp_->add(s, now_, ++packet_);
    now_ += 1'000'000; // 1 ms per packet
  }
  // The client's and the server's segments of the default pair; sequence numbers relative to
  // the ISNs (c_isn_, s_isn_) so that tests read as stream offsets.
  void c(std::uint64_t off, const std::string& data, std::uint8_t flags = psh_ack,
         std::uint32_t missing = 0) {
    send(client_, server_, static_cast<std::uint32_t>(c_isn_ + 1 + off), flags, data, s_isn_ + 1,
         missing);
  }
  void s(std::uint64_t off, const std::string& data, std::uint8_t flags = psh_ack,
         std::uint32_t missing = 0) {
    send(server_, client_, static_cast<std::uint32_t>(s_isn_ + 1 + off), flags, data, c_isn_ + 1,
         missing);
  }
  void handshake() {
    send(client_, server_, c_isn_, tcp_syn);
    send(server_, client_, s_isn_, tcp_syn | tcp_ack, {}, c_isn_ + 1);
    send(client_, server_, c_isn_ + 1, tcp_ack, {}, s_isn_ + 1);
  }

  ConnLog& log(std::size_t i = 0) {
    EXPECT_GT(logs_.size(), i);
    return *logs_.at(i);
  }
  const TcpReassembler::Stats& stats() const { return tcp_->stats(); }

  Endpoint client_ = ep(1, 50000), server_ = ep(2, 80);
  std::uint32_t c_isn_ = 1000, s_isn_ = 90000;
  std::int64_t now_ = 1'700'000'000'000'000'000;
  std::uint64_t packet_ = 0;
  bool keep_bytes_ = true;
  std::uint16_t ignore_ports_ = 0;
  const std::uint8_t* last_payload_ = nullptr;
  std::vector<std::unique_ptr<ConnLog>> logs_;
  std::vector<std::unique_ptr<Bytes>> keep_;
  std::unique_ptr<TcpReassembler> tcp_;
};

constexpr int C = 0, S = 1;

TEST_F(Reassembly, InOrderHandshakeDataAndFin) {
  handshake();
  c(0, "GET / HTTP/1.1\r\n\r\n");
  const auto* get_bytes = last_payload_;
  s(0, "HTTP/1.1 200 OK\r\n");
  s(17, "\r\n");
  c(18, "", tcp_fin | tcp_ack);
  EXPECT_FALSE(log().closed);
  s(19, "", tcp_fin | tcp_ack); // both FINs, every byte before them in: closed
  EXPECT_TRUE(log().closed);
  c(19, "", tcp_ack);
  ASSERT_EQ(logs_.size(), 1u);
  const ConnLog& l = log();
  EXPECT_EQ(l.info.id, 1u);
  EXPECT_TRUE(l.info.saw_syn);
  EXPECT_EQ(l.info.client, client_);
  EXPECT_EQ(l.info.server, server_);
  EXPECT_EQ(l.info.first_packet, 1u);
  EXPECT_EQ(l.stream[C], "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(l.stream[S], "HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_TRUE(l.closed);
  EXPECT_EQ(l.reason, CloseReason::fin);
  EXPECT_TRUE(l.gaps.empty());
  // In-order bytes are handed over in place, not copied.
  ASSERT_FALSE(l.spans[C].empty());
  EXPECT_EQ(l.spans[C][0], get_bytes);
  EXPECT_EQ(l.packets[C][0], 4u);
  EXPECT_EQ(stats().segments, 9u);
  EXPECT_EQ(stats().connections, 1u);
  EXPECT_EQ(stats().open, 0u);
  EXPECT_EQ(stats().payload_bytes, 18u + 19u);
  EXPECT_EQ(stats().retransmitted_bytes, 0u);
}

TEST_F(Reassembly, ClosesWhenBothFinsAreIn) {
  handshake();
  c(0, "a");
  c(1, "", tcp_fin | tcp_ack);
  EXPECT_FALSE(log().closed);
  s(0, "b", tcp_fin | psh_ack);
  EXPECT_TRUE(log().closed);
  EXPECT_EQ(log().reason, CloseReason::fin);
  EXPECT_EQ(log().stream[S], "b");
  EXPECT_EQ(stats().open, 0u);
  // The last ACK is a straggler of the closed connection: no new flow.
  c(2, "", tcp_ack);
  EXPECT_EQ(logs_.size(), 1u);
  EXPECT_EQ(stats().connections, 1u);
}

TEST_F(Reassembly, OutOfOrder) {
  handshake();
  c(10, "klmnopqrst");
  c(20, "uvwxyz");
  EXPECT_EQ(log().stream[C], "");
  EXPECT_EQ(stats().buffered_bytes, 16u);
  EXPECT_EQ(stats().out_of_order, 2u);
  c(0, "abcdefghij");
  EXPECT_EQ(log().stream[C], "abcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(stats().buffered_bytes, 0u);
  EXPECT_EQ(stats().peak_buffered_bytes, 16u);
  // Everything was completed by the packet that filled the hole.
  for (const auto p : log().packets[C]) EXPECT_EQ(p, packet_);
  EXPECT_TRUE(log().gaps.empty());
}

TEST_F(Reassembly, Retransmission) {
  handshake();
  c(0, "hello");
  c(0, "hello");
  c(5, " world");
  c(3, "lo wo"); // overlaps what was delivered
  c(11, "!");
  EXPECT_EQ(log().stream[C], "hello world!");
  EXPECT_EQ(stats().retransmitted_bytes, 5u + 5u);
  EXPECT_EQ(stats().payload_bytes, 12u);
}

TEST_F(Reassembly, OverlapsBothWaysFirstCopyWins) {
  handshake();
  c(10, std::string(10, 'a')); // held [10, 20)
  c(5, std::string(20, 'b'));  // held around it: [5, 10) and [20, 25) kept
  EXPECT_EQ(stats().buffered_bytes, 20u);
  EXPECT_EQ(stats().retransmitted_bytes, 10u);
  c(22, std::string(6, 'd')); // overlaps the held tail: [25, 28) kept
  c(0, std::string(8, 'c'));  // in order, but [5, 8) was held first
  EXPECT_EQ(log().stream[C], "cccccbbbbbaaaaaaaaaabbbbbddd");
  EXPECT_EQ(stats().retransmitted_bytes, 10u + 3u + 3u);
  EXPECT_EQ(stats().buffered_bytes, 0u);
  EXPECT_TRUE(log().gaps.empty());
  // A held chunk that a later segment covers entirely.
  c(40, "xyz");
  c(30, std::string(20, 'e'));
  c(28, "ff");
  EXPECT_EQ(log().stream[C].substr(28), "ff" + std::string(10, 'e') + "xyz" + std::string(7, 'e'));
}

TEST_F(Reassembly, SequenceWrapAround) {
  c_isn_ = 0xFFFFFFF0u;
  handshake();
  c(0, "0123456789");  // seq 0xFFFFFFF1..0xFFFFFFFA
  c(20, "KLMNOPQRST"); // past 2^32, ahead of a hole
  c(10, "ABCDEFGHIJ"); // crosses 2^32
  c(30, "xyz");
  EXPECT_EQ(log().stream[C], "0123456789ABCDEFGHIJKLMNOPQRSTxyz");
  EXPECT_TRUE(log().gaps.empty());
}

TEST_F(Reassembly, StreamsLongerThanFourGiB) {
  // Offsets are 64-bit: skip 5 GiB of bytes the snap length cut (no memory needed), then data.
  handshake();
  std::uint64_t off = 0;
  for (int i = 0; i < 5; ++i) {
    c(off, "x", psh_ack, (1u << 30) - 1);
    off += 1u << 30;
  }
  c(off + 3, "late");
  c(off, "now");
  EXPECT_EQ(log().next[C], off + 7);
  EXPECT_EQ(log().delivered[C], 5u + 7u);
  EXPECT_EQ(log().missing[C], 5 * ((1ull << 30) - 1));
  EXPECT_EQ(log().gaps.size(), 5u);
  EXPECT_EQ(log().gaps.back().offset, 4 * (1ull << 30) + 1);
}

TEST_F(Reassembly, MidStreamStart) {
  // No handshake: the server speaks first; the client is guessed by its higher port.
  s(500, "response bytes");
  c(300, "request");
  ASSERT_EQ(logs_.size(), 1u);
  EXPECT_FALSE(log().info.saw_syn);
  EXPECT_EQ(log().info.client, client_);
  EXPECT_EQ(log().info.server, server_);
  EXPECT_EQ(log().stream[S], "response bytes");
  EXPECT_EQ(log().stream[C], "request");
  EXPECT_EQ(log().spans[S].size(), 1u);
  // A segment from before the first one seen is dropped (it can never be in order).
  s(490, "0123456789");
  s(495, "56789response bytes!!");
  EXPECT_EQ(log().stream[S], "response bytes!!");
  EXPECT_TRUE(log().gaps.empty());
}

TEST_F(Reassembly, MidStreamKeepAliveDoesNotSetTheStart) {
  // A zero-length keep-alive probe carries seq = next - 1; the first bytes come after it.
  c(0, "request");
  s(99, "", tcp_ack);
  s(100, "reply");
  EXPECT_EQ(log().stream[S], "reply");
  tcp_->flush_all(now_);
  EXPECT_TRUE(log().gaps.empty());
}

TEST_F(Reassembly, MidStreamLoneAckStartsNothing) {
  s(500, "", tcp_ack);
  c(300, "", tcp_fin | tcp_ack);
  EXPECT_TRUE(logs_.empty());
  EXPECT_EQ(stats().connections, 0u);
  EXPECT_EQ(stats().segments, 2u);
}

TEST_F(Reassembly, SynAckSeenFirst) {
  // The client's SYN was not captured: the SYN-ACK's sender is the server, and its ACK number
  // tells where the client's stream starts.
  send(server_, client_, s_isn_, tcp_syn | tcp_ack, {}, c_isn_ + 1);
  c(5, "world"); // ahead of the first client byte: held, not taken as the start
  c(0, "hello");
  s(0, "hi");
  ASSERT_EQ(logs_.size(), 1u);
  EXPECT_TRUE(log().info.saw_syn);
  EXPECT_EQ(log().info.client, client_);
  EXPECT_EQ(log().stream[C], "helloworld");
  EXPECT_EQ(log().stream[S], "hi");
}

TEST_F(Reassembly, ServerDataBeforeAnyServerHandshake) {
  // The SYN was seen, the SYN-ACK was not: the server's first segment sets its start.
  send(client_, server_, c_isn_, tcp_syn);
  c(0, "ping");
  s(7, "pong");
  s(11, "!");
  EXPECT_EQ(log().info.client, client_);
  EXPECT_EQ(log().stream[C], "ping");
  EXPECT_EQ(log().stream[S], "pong!");
}

TEST_F(Reassembly, GapAtFlush) {
  handshake();
  c(0, "0123456789");
  c(20, "KLMNO");
  c(30, "UV");
  s(0, "reply");
  EXPECT_EQ(stats().buffered_bytes, 7u);
  tcp_->flush_all(now_);
  const ConnLog& l = log();
  EXPECT_EQ(l.stream[C],
            "0123456789" + std::string(10, '#') + "KLMNO" + std::string(5, '#') + "UV");
  ASSERT_EQ(l.gaps.size(), 2u);
  EXPECT_EQ(l.gaps[0].offset, 10u);
  EXPECT_EQ(l.gaps[0].length, 10u);
  EXPECT_EQ(l.gaps[1].offset, 25u);
  EXPECT_TRUE(l.closed);
  EXPECT_EQ(l.reason, CloseReason::end_of_capture);
  EXPECT_EQ(stats().gaps, 2u);
  EXPECT_EQ(stats().gap_bytes, 15u);
  EXPECT_EQ(stats().buffered_bytes, 0u);
  EXPECT_EQ(stats().open, 0u);
  // Held bytes keep the packet that brought them when a hole is skipped.
  EXPECT_EQ(l.packets[C].back(), 6u);
}

TEST_F(Reassembly, PerFlowOverflowSkipsTheHole) {
  TcpReassembler::Limits lim;
  lim.per_flow_buffer = 100;
  make(lim);
  handshake();
  c(0, "abc");
  c(10, std::string(60, 'x'));
  EXPECT_TRUE(log().gaps.empty());
  c(70, std::string(60, 'y')); // 120 held > 100: give up on [3, 10)
  ASSERT_EQ(log().gaps.size(), 1u);
  EXPECT_EQ(log().gaps[0].offset, 3u);
  EXPECT_EQ(log().gaps[0].length, 7u);
  EXPECT_EQ(log().stream[C], "abc#######" + std::string(60, 'x') + std::string(60, 'y'));
  EXPECT_EQ(stats().buffered_bytes, 0u);
  EXPECT_EQ(stats().peak_buffered_bytes, 120u);
  // The late bytes of the skipped hole are old news now.
  c(3, "1234567");
  EXPECT_EQ(log().delivered[C], 123u);
  EXPECT_EQ(stats().retransmitted_bytes, 7u);
  c(130, "z");
  EXPECT_EQ(log().stream[C].back(), 'z');
}

TEST_F(Reassembly, TotalCapSkipsTheBiggestHolder) {
  TcpReassembler::Limits lim;
  lim.per_flow_buffer = 1000;
  lim.total_buffer = 150;
  make(lim);
  const Endpoint a = ep(1, 40001), b = ep(1, 40002);
  send(a, server_, 100, tcp_syn);
  send(b, server_, 500, tcp_syn);
  send(a, server_, 101 + 10, psh_ack, std::string(100, 'a')); // 100 held behind [0, 10)
  send(b, server_, 501 + 10, psh_ack, std::string(40, 'b'));  // 140 held
  EXPECT_EQ(stats().buffered_bytes, 140u);
  send(b, server_, 501 + 60, psh_ack, std::string(20, 'B')); // 160 > 150: a holds the most
  ASSERT_EQ(logs_.size(), 2u);
  ASSERT_EQ(log(0).gaps.size(), 1u);
  EXPECT_EQ(log(0).gaps[0].length, 10u);
  EXPECT_EQ(log(0).delivered[C], 100u);
  EXPECT_TRUE(log(1).gaps.empty());
  EXPECT_EQ(stats().buffered_bytes, 60u);
}

TEST_F(Reassembly, RstClosesAfterDeliveringWhatIsHeld) {
  handshake();
  c(0, "abc");
  c(5, "fgh");
  send(server_, client_, s_isn_ + 1, tcp_rst);
  EXPECT_TRUE(log().closed);
  EXPECT_EQ(log().reason, CloseReason::rst);
  EXPECT_EQ(log().stream[C], "abc##fgh");
  // Data in flight after the RST does not start a flow of its own.
  c(8, "ijk");
  EXPECT_EQ(logs_.size(), 1u);
  EXPECT_EQ(stats().open, 0u);
}

TEST_F(Reassembly, FinWithAHoleBeforeItWaitsThenReportsIt) {
  handshake();
  c(0, "abc");
  c(6, "gh", tcp_fin | psh_ack); // [3, 6) missing
  s(0, "", tcp_fin | tcp_ack);
  EXPECT_FALSE(log().closed) << "bytes before the client's FIN are still expected";
  c(3, "def");
  EXPECT_TRUE(log().closed);
  EXPECT_EQ(log().stream[C], "abcdefgh");
  EXPECT_TRUE(log().gaps.empty());
}

TEST_F(Reassembly, FinWithAHoleIsReportedAtTheEnd) {
  handshake();
  c(0, "abc");
  c(6, "", tcp_fin | tcp_ack); // bytes [3, 6) never come
  s(0, "", tcp_fin | tcp_ack);
  tcp_->flush_all(now_);
  EXPECT_EQ(log().stream[C], "abc###");
  EXPECT_EQ(log().reason, CloseReason::end_of_capture);
}

TEST_F(Reassembly, IdleExpiry) {
  TcpReassembler::Limits lim;
  lim.idle_timeout_ns = 10'000'000'000; // 10 s
  make(lim);
  handshake();
  c(0, "abc");
  c(10, "held");
  const std::int64_t last = now_ - 1'000'000;
  tcp_->expire(last + lim.idle_timeout_ns);
  EXPECT_FALSE(log().closed);
  tcp_->expire(last + lim.idle_timeout_ns + 1);
  EXPECT_TRUE(log().closed);
  EXPECT_EQ(log().reason, CloseReason::idle);
  EXPECT_EQ(log().stream[C], "abc#######held");
  EXPECT_EQ(stats().idle_closed, 1u);
  EXPECT_EQ(stats().open, 0u);
}

TEST_F(Reassembly, IdleExpiryKeepsActiveConnections) {
  TcpReassembler::Limits lim;
  lim.idle_timeout_ns = 10'000'000'000;
  make(lim);
  const Endpoint a = ep(1, 40001), b = ep(1, 40002);
  send(a, server_, 1, tcp_syn);
  send(b, server_, 1, tcp_syn);
  now_ += 8'000'000'000;
  send(a, server_, 2, psh_ack, "still here");
  now_ += 5'000'000'000;
  tcp_->expire(now_); // b idle 13 s, a 5 s
  EXPECT_FALSE(log(0).closed);
  EXPECT_TRUE(log(1).closed);
  EXPECT_EQ(stats().idle_closed, 1u);
}

TEST_F(Reassembly, EvictionClosesTheLeastRecentlyActive) {
  TcpReassembler::Limits lim;
  lim.max_connections = 2;
  make(lim);
  const Endpoint a = ep(1, 40001), b = ep(1, 40002), d = ep(1, 40003);
  send(a, server_, 1, tcp_syn);
  send(b, server_, 1, tcp_syn);
  send(a, server_, 2, psh_ack, "a is active");
  send(d, server_, 1, tcp_syn); // the third: b goes
  ASSERT_EQ(logs_.size(), 3u);
  EXPECT_FALSE(log(0).closed);
  EXPECT_TRUE(log(1).closed);
  EXPECT_EQ(log(1).reason, CloseReason::evicted);
  EXPECT_FALSE(log(2).closed);
  EXPECT_EQ(stats().evicted, 1u);
  EXPECT_EQ(stats().open, 2u);
  EXPECT_EQ(stats().connections, 3u);
}

TEST_F(Reassembly, NewSynOnAClosedTupleIsANewConnection) {
  handshake();
  c(0, "one");
  c(3, "", tcp_fin | tcp_ack);
  s(0, "", tcp_fin | tcp_ack);
  ASSERT_TRUE(log(0).closed);
  c_isn_ = 777777;
  s_isn_ = 5555;
  handshake();
  c(0, "two");
  ASSERT_EQ(logs_.size(), 2u);
  EXPECT_EQ(log(1).info.id, 2u);
  EXPECT_TRUE(log(1).info.saw_syn);
  EXPECT_EQ(log(1).stream[C], "two");
  EXPECT_EQ(log(0).stream[C], "one");
}

TEST_F(Reassembly, NewSynOnAClosingTupleClosesTheOldOne) {
  handshake();
  c(0, "one");
  c(3, "", tcp_fin | tcp_ack);             // only one FIN seen
  send(client_, server_, c_isn_, tcp_syn); // a retransmitted SYN of this connection: ignored
  EXPECT_EQ(logs_.size(), 1u);
  c_isn_ = 424242;
  handshake();
  ASSERT_EQ(logs_.size(), 2u);
  EXPECT_TRUE(log(0).closed);
  EXPECT_EQ(log(0).reason, CloseReason::fin);
  c(0, "two");
  EXPECT_EQ(log(1).stream[C], "two");
  EXPECT_FALSE(log(1).closed);
}

TEST_F(Reassembly, SnapLengthCutIsAGap) {
  handshake();
  c(0, "abc", psh_ack, 7); // 10 bytes on the wire, 3 captured
  c(10, "klm");
  EXPECT_EQ(log().stream[C], "abc#######klm");
  ASSERT_EQ(log().gaps.size(), 1u);
  EXPECT_EQ(log().gaps[0].offset, 3u);
  EXPECT_EQ(log().gaps[0].length, 7u);
  // Out of order with a cut: the cut part is reported when the stream reaches it.
  c(20, "uv", psh_ack, 3);
  c(13, "nopqrst");
  c(25, "z");
  EXPECT_EQ(log().stream[C], "abc#######klmnopqrstuv###z");
  // A cut segment whose missing part is partly held already: held bytes are not "missing".
  c(30, "34");
  c(26, "", psh_ack, 6); // [26, 32): nothing captured, but [30, 32) is held
  EXPECT_EQ(log().stream[C].substr(26), "####34");
}

TEST_F(Reassembly, IgnoredConnectionsAreFollowedNotDelivered) {
  ignore_ports_ = 80;
  make();
  handshake();
  c(0, "secret");
  s(0, "stuff");
  c(6, "", tcp_fin | tcp_ack);
  s(5, "", tcp_fin | tcp_ack);
  ASSERT_EQ(logs_.size(), 1u);
  EXPECT_EQ(stats().payload_bytes, 0u);
  EXPECT_EQ(stats().open, 0u) << "both FINs close an ignored connection too";
  // The tuple is free again: a new SYN asks the factory again.
  c_isn_ = 5;
  handshake();
  EXPECT_EQ(logs_.size(), 2u);
  EXPECT_EQ(stats().connections, 2u);
}

TEST_F(Reassembly, Ipv6AndSeveralConnections) {
  client_ = ep(1, 50001, true);
  server_ = ep(2, 443, true);
  handshake();
  c(0, "v6 data");
  const Endpoint other_client = ep(3, 50002, true);
  send(other_client, server_, 1, tcp_syn);
  send(other_client, server_, 2, psh_ack, "other");
  ASSERT_EQ(logs_.size(), 2u);
  EXPECT_EQ(log(0).stream[C], "v6 data");
  EXPECT_EQ(log(1).stream[C], "other");
  EXPECT_EQ(log(1).info.id, 2u);
  tcp_->flush_all(now_);
  EXPECT_TRUE(log(0).closed && log(1).closed);
}

TEST_F(Reassembly, RandomOrderDuplicatesAndOverlapsRebuildTheStream) {
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    TcpReassembler::Limits lim;
    const bool tight = round % 3 == 0; // small buffer: holes get skipped, bytes still line up
    if (tight) lim.per_flow_buffer = 300;
    logs_.clear();
    make(lim);
    c_isn_ = round % 2 ? 0xFFFFFFFFu - static_cast<std::uint32_t>(rng() % 3000)
                       : static_cast<std::uint32_t>(rng());
    std::string data(1000 + rng() % 4000, ' ');
    for (auto& ch : data) ch = static_cast<char>('a' + rng() % 26);
    // Segments covering the stream, plus copies of random ranges (retransmissions, overlaps).
    std::vector<std::pair<std::size_t, std::size_t>> segs;
    for (std::size_t at = 0; at < data.size();) {
      const std::size_t len = std::min<std::size_t>(1 + rng() % 200, data.size() - at);
      segs.emplace_back(at, len);
      at += len;
    }
    const std::size_t copies = rng() % 30;
    for (std::size_t i = 0; i < copies; ++i) {
      const std::size_t at = rng() % data.size();
      segs.emplace_back(at, std::min<std::size_t>(1 + rng() % 300, data.size() - at));
    }
    // Local reordering: each segment moves a few places.
    for (std::size_t i = 0; i + 1 < segs.size(); ++i)
      if (rng() % 3 == 0) std::swap(segs[i], segs[std::min(segs.size() - 1, i + 1 + rng() % 8)]);
    handshake();
    std::uint64_t sent = 0;
    for (const auto& [at, len] : segs) {
      c(at, data.substr(at, len));
      sent += len;
    }
    tcp_->flush_all(now_);
    const ConnLog& l = log();
    EXPECT_TRUE(l.closed);
    EXPECT_EQ(stats().buffered_bytes, 0u);
    EXPECT_EQ(stats().payload_bytes + stats().retransmitted_bytes, sent);
    EXPECT_EQ(l.delivered[C] + l.missing[C], data.size());
    ASSERT_EQ(l.stream[C].size(), data.size());
    if (!tight) {
      EXPECT_EQ(l.stream[C], data);
      EXPECT_TRUE(l.gaps.empty());
    } else {
      for (std::size_t i = 0; i < data.size(); ++i) {
        if (l.stream[C][i] != '#') {
          ASSERT_EQ(l.stream[C][i], data[i]) << "offset " << i;
        }
      }
    }
  }
}

// ---- a real capture ---------------------------------------------------------------------------

struct CaptureRun {
  std::map<std::string, std::uint64_t> payload;   ///< "src -> dst": captured payload bytes
  std::map<std::string, std::uint64_t> span;      ///< "src -> dst": highest - lowest seq offset
  std::map<std::string, std::uint64_t> delivered; ///< "src -> dst": bytes through on_data
  std::uint64_t missing = 0;                      ///< payload_missing summed
  std::uint64_t total_payload = 0;
  TcpReassembler::Stats stats;
  std::vector<std::unique_ptr<ConnLog>> logs;
};

CaptureRun run_capture(const std::string& path) {
  CaptureRun r;
  auto opened = PacketSource::open_file(path);
  EXPECT_TRUE(opened.ok());
  if (!opened) return r;
  auto& src = *opened.value();
  TcpReassembler tcp({}, [&](const ConnInfo& info) -> std::unique_ptr<TcpHandler> {
    r.logs.push_back(std::make_unique<ConnLog>());
    r.logs.back()->info = info;
    r.logs.back()->keep_bytes = false;
    return std::make_unique<Recorder>(*r.logs.back());
  });
  std::map<std::string, std::pair<std::uint32_t, std::uint64_t>> first_and_max; // seq base, end
  RawPacket p;
  sio::Error err;
  TcpSegment seg;
  while (src.next(p, err) == PacketSource::Next::packet) {
    if (decode_packet(src.linktype(), p.data, p.len, seg) != DecodeStatus::tcp) continue;
    const std::string dir = seg.src.to_string() + " -> " + seg.dst.to_string();
    r.payload[dir] += seg.payload.size();
    r.total_payload += seg.payload.size();
    r.missing += seg.payload_missing;
    const std::uint32_t syn = (seg.flags & tcp_syn) ? 1 : 0;
    const auto it = first_and_max.try_emplace(dir, seg.seq + syn, 0).first;
    const std::uint64_t end = static_cast<std::uint32_t>(seg.seq + syn - it->second.first) +
                              seg.payload.size() + seg.payload_missing;
    if (seg.payload.size() + seg.payload_missing > 0)
      it->second.second = std::max(it->second.second, end);
    tcp.add(seg, p.ts_ns, p.number);
  }
  tcp.flush_all(p.ts_ns);
  for (const auto& [dir, fm] : first_and_max) r.span[dir] = fm.second;
  for (const auto& l : r.logs) {
    r.delivered[l->info.client.to_string() + " -> " + l->info.server.to_string()] +=
        l->delivered[C];
    r.delivered[l->info.server.to_string() + " -> " + l->info.client.to_string()] +=
        l->delivered[S];
    EXPECT_TRUE(l->closed);
  }
  r.stats = tcp.stats();
  return r;
}

TEST(ReassemblyCapture, B1DeliversEveryByteOnce) {
  const auto r = run_capture(sio::test::sample("pcap/b1/b1.pcap"));
  ASSERT_FALSE(r.logs.empty());
  EXPECT_EQ(r.stats.gaps, 0u);
  EXPECT_EQ(r.stats.connections, r.logs.size());
  EXPECT_EQ(r.stats.open, 0u);
  EXPECT_EQ(r.stats.buffered_bytes, 0u);
  // Every payload byte is either delivered once or dropped as a copy.
  EXPECT_EQ(r.stats.payload_bytes + r.stats.retransmitted_bytes, r.total_payload);
  // Per direction, the delivered bytes are exactly the sequence space the payload covered.
  for (const auto& [dir, bytes] : r.payload) {
    SCOPED_TRACE(dir);
    EXPECT_EQ(r.delivered.at(dir), r.span.at(dir));
    EXPECT_LE(r.delivered.at(dir), bytes);
  }
  for (const auto& l : r.logs) {
    EXPECT_TRUE(l->info.saw_syn);
    EXPECT_EQ(l->info.server.port, 4011);
    EXPECT_TRUE(l->reason == CloseReason::fin || l->reason == CloseReason::end_of_capture ||
                l->reason == CloseReason::rst);
  }
}

TEST(ReassemblyCapture, DroppedPacketsBecomeGaps) {
  // b1-dropped.pcap lacks 4 data packets of b1.pcap (no retransmission covers them).
  const auto whole = run_capture(sio::test::sample("pcap/b1/b1.pcap"));
  const auto r = run_capture(sio::test::sample("pcap/b10/b1-dropped.pcap"));
  EXPECT_EQ(r.stats.gaps, 4u);
  EXPECT_EQ(r.stats.payload_bytes + r.stats.gap_bytes, whole.stats.payload_bytes);
  EXPECT_EQ(r.stats.payload_bytes + r.stats.retransmitted_bytes, r.total_payload);
}

TEST(ReassemblyCapture, SnapLengthBytesBecomeGaps) {
  const auto whole = run_capture(sio::test::sample("pcap/b1/b1.pcap"));
  const auto r = run_capture(sio::test::sample("pcap/b10/b1-snap96.pcap"));
  EXPECT_GT(r.stats.gaps, 0u);
  EXPECT_EQ(r.stats.payload_bytes + r.stats.gap_bytes, whole.stats.payload_bytes);
  EXPECT_EQ(r.stats.connections, whole.stats.connections);
}

} // namespace
