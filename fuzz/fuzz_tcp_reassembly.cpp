// TCP reassembly fed scripted segments. Each segment of the script: a control byte (side,
// which of 4 connections, SYN/FIN/RST, a time step), the 32-bit sequence number, a 12-bit length
// (2 bytes) and the payload. Small limits make the buffer caps, eviction and idle timeouts happen.
// Every connection's handler checks the promises of tcp_reassembly.hpp: per side the data and
// gaps are contiguous from offset 0 (or the first byte seen), never empty, nothing after close,
// one close per connection.
#include "fuzz_support.hpp"

#include "sio/wire/tcp_reassembly.hpp"

#include <memory>

using namespace sio;
using namespace sio::wire;

namespace {

struct Totals {
  std::uint64_t opened = 0, closed = 0;
};

class Checker final : public TcpHandler {
public:
  explicit Checker(Totals& totals) : totals_(totals) { ++totals_.opened; }
  ~Checker() override { SIO_FUZZ_CHECK(closed_); }
  void on_data(Side side, std::span<const std::uint8_t> bytes, std::uint64_t offset, std::int64_t,
               std::uint64_t) override {
    const auto s = static_cast<int>(side);
    SIO_FUZZ_CHECK(!closed_);
    SIO_FUZZ_CHECK(!bytes.empty());
    SIO_FUZZ_CHECK(offset == next_[s]);
    next_[s] = offset + bytes.size();
    for (const std::uint8_t b : bytes) sum_ += b; // touches every byte (ASan checks the span)
  }
  void on_gap(Side side, std::uint64_t offset, std::uint64_t length, std::int64_t) override {
    const auto s = static_cast<int>(side);
    SIO_FUZZ_CHECK(!closed_);
    SIO_FUZZ_CHECK(length > 0);
    SIO_FUZZ_CHECK(offset == next_[s]);
    next_[s] = offset + length;
  }
  void on_close(CloseReason, std::int64_t) override {
    SIO_FUZZ_CHECK(!closed_);
    closed_ = true;
    ++totals_.closed;
  }

private:
  Totals& totals_;
  std::uint64_t next_[2] = {};
  std::uint64_t sum_ = 0;
  bool closed_ = false;
};

Endpoint endpoint(std::uint8_t host, std::uint16_t port) {
  Endpoint e;
  e.addr = {10, 0, 0, host};
  e.port = port;
  return e;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  Totals totals;
  TcpReassembler::Limits limits;
  limits.per_flow_buffer = 4096;
  limits.total_buffer = 8192;
  limits.idle_timeout_ns = 10'000'000'000;
  limits.max_connections = 3;
  {
    // Connection 3 is ignored (the factory returns no handler): its segments must be dropped.
    TcpReassembler reassembler(limits, [&](const ConnInfo& info) -> std::unique_ptr<TcpHandler> {
      if (info.client.port == 40003 || info.server.port == 40003) return nullptr;
      return std::make_unique<Checker>(totals);
    });
    std::int64_t ts = 1'000'000'000'000;
    std::uint64_t packet = 0;
    while (!in.empty()) {
      const std::uint8_t ctl = in.u8();
      const bool from_server = (ctl & 0x01) != 0;
      const auto conn = static_cast<std::uint8_t>((ctl >> 1) & 0x03);
      TcpSegment seg;
      const Endpoint client = endpoint(1, static_cast<std::uint16_t>(40000 + conn));
      const Endpoint server = endpoint(2, 80);
      seg.src = from_server ? server : client;
      seg.dst = from_server ? client : server;
      seg.flags = tcp_ack;
      if ((ctl & 0x08) != 0) seg.flags |= tcp_syn;
      if ((ctl & 0x10) != 0) seg.flags |= tcp_fin;
      if ((ctl & 0xe0) == 0xe0) seg.flags |= tcp_rst;
      // Bits 5-6 (when not a RST): time steps of 1 ms, 1 s or 20 s (past the idle timeout).
      switch ((ctl >> 5) & 0x03) {
      case 1:
        ts += 1'000'000;
        break;
      case 2:
        ts += 1'000'000'000;
        break;
      case 3:
        ts += 20'000'000'000;
        break;
      default:
        break;
      }
      seg.seq = in.u32();
      const std::size_t length = in.u16() & 0x0fffu; // up to 4095 bytes
      seg.payload = in.bytes(length);
      if ((ctl & 0x80) != 0 && (ctl & 0x60) != 0x60) seg.payload_missing = 100; // snap length cut
      reassembler.add(seg, ts, ++packet);
      if (packet % 16 == 0) reassembler.expire(ts);
      const auto& st = reassembler.stats();
      SIO_FUZZ_CHECK(st.buffered_bytes <= limits.total_buffer + 4095);
      SIO_FUZZ_CHECK(st.open <= limits.max_connections);
    }
    reassembler.flush_all(ts);
    SIO_FUZZ_CHECK(reassembler.stats().open == 0);
  }
  SIO_FUZZ_CHECK(totals.opened == totals.closed);
  return 0;
}
