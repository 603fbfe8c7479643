#pragma once
/// Packets in: capture files (pcap, pcapng, nanosecond pcap) and live interfaces through libpcap,
/// and the link/IP/TCP decoding of one packet.
///
/// Supported link types: EN10MB (1), RAW (101, and 12/14 on some systems), NULL (0) and LOOP (108),
/// LINUX_SLL (113), LINUX_SLL2 (276), IPV4 (228), IPV6 (229). IPv4 and IPv6 (extension headers
/// skipped), 802.1Q/802.1ad VLAN tags (any depth).

#include "sio/common/result.hpp"
#include "sio/wire/endpoint.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace sio::wire {

/// One captured packet. `data` stays valid until the next call to PacketSource::next().
struct RawPacket {
  std::uint64_t number = 0; ///< 1-based packet number in the capture (as Wireshark counts)
  std::int64_t ts_ns = 0;   ///< capture time, epoch nanoseconds
  /// False when the record's time is before 1970 or past 2262 (does not fit in ts_ns): ts_ns
  /// then repeats the previous packet's time (0 for the first).
  bool ts_valid = true;
  std::uint32_t caplen = 0; ///< bytes captured (data.size())
  std::uint32_t len = 0;    ///< bytes on the wire (> caplen when the snap length cut it)
  std::span<const std::uint8_t> data;
};

/// What decode_packet() found.
enum class DecodeStatus {
  tcp,              ///< a TCP segment: `out` is filled
  not_ip,           ///< ARP, LLDP, ... (ignored)
  not_tcp,          ///< UDP, ICMP, ... (ignored; UDP port 443 is counted as QUIC by the caller)
  udp,              ///< UDP: `out` holds the ports (payload empty), for QUIC detection
  ip_fragment,      ///< a fragment of an IP datagram (not reassembled; counted)
  truncated,        ///< the headers themselves are cut by the snap length or damaged lengths
  bad_header,       ///< an IP version/header length that makes no sense
  unsupported_link, ///< the link type is not one of the supported ones
};

/// One TCP segment (or, with DecodeStatus::udp, one UDP datagram's ports).
struct TcpSegment {
  Endpoint src, dst;
  std::uint32_t seq = 0, ack = 0;
  std::uint8_t flags = 0; ///< TCP flags: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10
  std::span<const std::uint8_t> payload; ///< the captured part of the TCP payload
  std::uint32_t payload_missing = 0;     ///< payload bytes the snap length cut off (not captured)
};

constexpr std::uint8_t tcp_fin = 0x01, tcp_syn = 0x02, tcp_rst = 0x04, tcp_ack = 0x10;

/// Decodes link, IP and TCP headers. `wire_len` is RawPacket::len (to tell the bytes the snap
/// length cut off). Never reads outside `data`.
DecodeStatus decode_packet(int linktype, std::span<const std::uint8_t> data, std::uint32_t wire_len,
                           TcpSegment& out) noexcept;

/// True for the link types decode_packet() knows.
bool link_type_supported(int linktype) noexcept;
/// "EN10MB", "LINUX_SLL2", ... (libpcap's name), or "DLT <n>".
std::string link_type_name(int linktype);

/// A source of packets: a capture file or a live interface.
class PacketSource {
public:
  /// Opens a pcap or pcapng file (nanosecond precision kept). Errors name the file: missing,
  /// unreadable, not a capture, unsupported link type ("file.pcap: link type DLT 147 (USER0) is
  /// not supported; supported: ...").
  static Result<std::unique_ptr<PacketSource>> open_file(const std::string& path);

  /// Opens a live capture on `interface` (promiscuous off, snap length 262144, immediate mode,
  /// buffer 64 MB). Without permission: an error saying that root or CAP_NET_RAW+CAP_NET_ADMIN is
  /// needed (e.g. `setcap cap_net_raw,cap_net_admin=eip sioreplay`).
  static Result<std::unique_ptr<PacketSource>> open_live(const std::string& interface);

  virtual ~PacketSource() = default;

  /// Applies a BPF filter (compiled with libpcap; a syntax error says so with the filter text).
  virtual Status set_filter(const std::string& bpf) = 0;

  enum class Next {
    packet,  ///< `p` holds a packet
    end,     ///< end of file (or break_loop() was called)
    timeout, ///< live only: no packet within the read timeout (about 100 ms); call again
    error,   ///< `err` says what: a truncated file ("file.pcap: packet 123 (byte 45678): the
             ///< file ends in the middle of a packet record: ..."), a read error
  };
  /// The next packet.
  virtual Next next(RawPacket& p, Error& err) = 0;

  /// Makes a blocked or later next() return Next::end. Async-signal-safe.
  virtual void break_loop() noexcept = 0;

  [[nodiscard]] virtual int linktype() const noexcept = 0;
  /// What it reads: the file path or "interface lo".
  [[nodiscard]] virtual const std::string& name() const noexcept = 0;
  /// File: bytes consumed so far and the file size (for progress); live: 0 and 0.
  [[nodiscard]] virtual std::uint64_t bytes_read() const noexcept = 0;
  [[nodiscard]] virtual std::uint64_t size() const noexcept = 0;

  /// Live only: libpcap's counters (pcap_stats).
  struct Stats {
    std::uint64_t received = 0, dropped = 0, if_dropped = 0;
  };
  [[nodiscard]] virtual std::optional<Stats> stats() = 0;
};

/// The TLS key log text held in the Decryption Secrets Blocks (type 0x0000000A, secrets type
/// 0x544c534b "TLSK") of a pcapng file, concatenated; empty when there are none or the file is
/// not pcapng. libpcap skips these blocks, so this walks the file's blocks itself. A damaged
/// block structure ends the walk quietly (the packet reader reports the damage).
Result<std::string> read_pcapng_tls_secrets(const std::string& path);

} // namespace sio::wire
