#pragma once
/// pcap/pcapng files and live interfaces to Engine.IO traffic: packets -> TCP reassembly ->
/// (TLS decryption with a key log) -> HTTP/1.1 -> polling bodies and WebSocket messages ->
/// the same Traffic/SessionBuilder path as the HAR reader, so both give the same recording.

#include "sio/recorder/session_builder.hpp"
#include "sio/wire/packet.hpp"
#include "sio/wire/tcp_reassembly.hpp"
#include "sio/wire/tls.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sio::recorder {

struct PcapOptions {
  std::string path;                   ///< Engine.IO path filter ("/socket.io/"); empty: any
  std::vector<std::uint16_t> ports;   ///< server ports to decode; empty: every TCP connection
  const wire::KeyLog* keys = nullptr; ///< TLS key log (may be null or empty)
  SessionBuilder::LegChoice leg = SessionBuilder::LegChoice::client;
  /// TCP reassembly limits. Connections silent for 60 s of capture time are closed: a
  /// websocket pings every 25 s (socket.io's default), and an idle keep-alive connection that
  /// carries a request again later is picked up again at that request. Holding idle connections
  /// longer would make memory grow with the capture instead of with the traffic at one time.
  wire::TcpReassembler::Limits limits = [] {
    wire::TcpReassembler::Limits l;
    l.idle_timeout_ns = 60'000'000'000;
    return l;
  }();
  /// Called about every 250 ms of wall time while reading (progress display); may be empty.
  std::function<void(const wire::PacketSource&, std::uint64_t packets, std::uint64_t flows,
                     std::uint64_t sessions)>
      progress;
  /// Set from a signal handler or another thread to stop reading (live capture); optional.
  const std::atomic<bool>* stop = nullptr;
  /// Live: stop after this many seconds (0 = no limit).
  double duration_s = 0;
  /// Streaming: sessions go here as they end (see SessionBuilder::flush_ended); null: they stay
  /// in the builder until its finish().
  SessionBuilder::Sink* sink = nullptr;
  /// With a sink: a session silent this long (capture time) has ended.
  std::int64_t session_idle_us = 120'000'000;
  /// With a sink: stop reading once it returns true (--max-sessions).
  std::function<bool()> enough;
};

/// Counts for the summary.
struct PcapStats {
  std::string link_type;
  std::uint64_t packets = 0, bytes = 0;
  std::uint64_t tcp_segments = 0, other_packets = 0, ip_fragments = 0, bad_packets = 0;
  std::uint64_t connections = 0; ///< TCP connections
  std::uint64_t http_connections = 0, websocket_connections = 0;
  std::uint64_t tls_connections = 0, tls_decrypted = 0;
  std::uint64_t http_exchanges = 0;
  std::uint64_t gaps = 0, gap_bytes = 0;
  std::uint64_t quic_flows = 0, http2_connections = 0;
  std::uint64_t proxied_sessions = 0; ///< sids seen on two legs of a proxy
  std::vector<std::string> encrypted; ///< TLS flows not decrypted: "flow 3 a -> b (SNI x): why"
  std::string damage;                 ///< the read error that ended a damaged file, if any
  std::optional<wire::PacketSource::Stats> live; ///< kernel counters of a live capture
};

/// Reads every packet of `source` into `builder`. A damaged file (truncated record) ends the
/// read with PcapStats::damage set and a diagnostic; what was read is kept. Errors: only what
/// makes the input unusable.
Status read_packets(wire::PacketSource& source, SessionBuilder& builder, const PcapOptions& options,
                    PcapStats& stats);

} // namespace sio::recorder
