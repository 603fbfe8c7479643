#pragma once
/// TCP reassembly: segments in, each connection's two byte streams out, in order, with the holes
/// reported instead of hidden.
///
/// - Connections are keyed by their 4-tuple; a SYN on a tuple whose connection is closing (or
///   closed) starts a new connection with a new id.
/// - Per direction: out-of-order segments are held until the hole before them fills;
///   retransmissions and overlaps are trimmed (the first copy of a byte wins); sequence numbers
///   wrap around (32-bit, compared modulo 2^32).
/// - A capture that starts mid-connection: the first segment seen in a direction sets its start;
///   the client is then guessed (see ConnInfo::saw_syn).
/// - Gaps: when a direction holds more than Limits::per_flow_buffer bytes of out-of-order data, or
///   at the end (flush_all / idle / FIN / RST with data still waiting behind a hole), the hole is
///   skipped and reported to the handler (on_gap), then the data after it is delivered. Bytes the
///   snap length cut off are a gap too.
/// - FIN from both sides, or RST: the connection closes (after delivering what can be).
///   Idle for Limits::idle_timeout_ns (capture time): closes with CloseReason::idle.
/// - Memory: out-of-order bytes are bounded per direction (per_flow_buffer) and in all
///   (total_buffer: the connection holding the most is forced to skip its hole first); at most
///   max_connections open connections (the least recently active one is closed, reason evicted).

#include "sio/wire/endpoint.hpp"
#include "sio/wire/packet.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <span>

namespace sio::wire {

/// Why a connection ended.
enum class CloseReason { fin, rst, idle, evicted, end_of_capture };
const char* to_string(CloseReason r) noexcept;

/// What is known about a connection when it starts.
struct ConnInfo {
  std::uint64_t id = 0; ///< 1, 2, ... in order of first packet ("flow 7" in messages)
  Endpoint client, server;
  bool saw_syn = false; ///< false: the capture started mid-connection and `client` is a guess
                        ///< (the side with the higher port; the lower port is the server)
  std::int64_t start_ns = 0;
  std::uint64_t first_packet = 0; ///< packet number of its first segment
};

/// Receives one connection's streams. Calls come in capture order.
class TcpHandler {
public:
  virtual ~TcpHandler() = default;
  /// Next contiguous bytes of `side`'s stream; `packet` is the number of the packet that
  /// completed them (for messages); `offset` is the stream offset of bytes[0] (0 = first byte
  /// after the SYN, or the first byte seen when the SYN was not captured).
  virtual void on_data(Side side, std::span<const std::uint8_t> bytes, std::uint64_t offset,
                       std::int64_t ts_ns, std::uint64_t packet) = 0;
  /// `length` bytes of `side`'s stream at `offset` are missing (never captured).
  virtual void on_gap(Side side, std::uint64_t offset, std::uint64_t length,
                      std::int64_t ts_ns) = 0;
  /// The connection ended; no more calls follow.
  virtual void on_close(CloseReason reason, std::int64_t ts_ns) = 0;
};

class TcpReassembler {
public:
  struct Limits {
    std::uint64_t per_flow_buffer = 8ull << 20;     ///< out-of-order bytes held per direction
    std::uint64_t total_buffer = 512ull << 20;      ///< out-of-order bytes held in all
    std::int64_t idle_timeout_ns = 300'000'000'000; ///< capture-time idle limit (5 min)
    std::uint64_t max_connections = 1'000'000;      ///< open connections
  };

  struct Stats {
    std::uint64_t segments = 0;            ///< TCP segments given to add()
    std::uint64_t connections = 0;         ///< connections created
    std::uint64_t open = 0;                ///< connections open now
    std::uint64_t payload_bytes = 0;       ///< bytes delivered through on_data
    std::uint64_t retransmitted_bytes = 0; ///< duplicate bytes dropped
    std::uint64_t out_of_order = 0;        ///< segments that arrived ahead of a hole
    std::uint64_t gaps = 0, gap_bytes = 0; ///< holes reported with on_gap
    std::uint64_t buffered_bytes = 0;      ///< out-of-order bytes held now
    std::uint64_t peak_buffered_bytes = 0;
    std::uint64_t evicted = 0, idle_closed = 0;
  };

  /// Makes the handler of a new connection; may return nullptr to ignore the connection (its
  /// segments are then dropped cheaply, and its 4-tuple stays known until it closes).
  using Factory = std::function<std::unique_ptr<TcpHandler>(const ConnInfo&)>;

  TcpReassembler(Limits limits, Factory factory);
  ~TcpReassembler();
  TcpReassembler(const TcpReassembler&) = delete;
  TcpReassembler& operator=(const TcpReassembler&) = delete;

  /// One segment, in capture order. `ts_ns` and `packet` as in RawPacket.
  void add(const TcpSegment& seg, std::int64_t ts_ns, std::uint64_t packet);
  /// Closes connections idle for longer than idle_timeout_ns at capture time `now_ns`. Cheap to
  /// call often (the driver calls it about once per capture second).
  void expire(std::int64_t now_ns);
  /// End of the capture: every open connection delivers what it holds (skipping holes, reported)
  /// and closes with CloseReason::end_of_capture.
  void flush_all(std::int64_t now_ns);

  [[nodiscard]] const Stats& stats() const noexcept;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace sio::wire
