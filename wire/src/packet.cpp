#include "sio/wire/packet.hpp"

#include <pcap/pcap.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <poll.h>
#include <stdio_ext.h>
#include <string_view>
#include <sys/stat.h>

namespace sio::wire {
namespace {

// ---- byte access ------------------------------------------------------------------------------
// Every read below is preceded by a length check against the captured bytes; these helpers do
// not check themselves so that the checks stay visible next to the protocol logic.

std::uint16_t be16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t be32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}
std::uint32_t le32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[3]} << 24) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[1]} << 8) |
         std::uint32_t{p[0]};
}

// Link types by number. DLT_RAW is 12 on most systems and 14 on OpenBSD; libpcap maps the file
// value 101 (LINKTYPE_RAW) to the local DLT_RAW, but a file written elsewhere may carry any of
// them.
constexpr int dlt_null = 0, dlt_en10mb = 1, dlt_raw_a = 12, dlt_raw_b = 14, dlt_raw = 101,
              dlt_loop = 108, dlt_linux_sll = 113, dlt_ipv4 = 228, dlt_ipv6 = 229,
              dlt_linux_sll2 = 276;

enum class Net { v4, v6, other };

constexpr std::uint16_t eth_ipv4 = 0x0800, eth_ipv6 = 0x86DD;

bool is_vlan_tag(std::uint16_t ethertype) noexcept {
  // 802.1Q, 802.1ad, and the pre-standard QinQ values some switches still emit.
  return ethertype == 0x8100 || ethertype == 0x88A8 || ethertype == 0x9100 || ethertype == 0x9200;
}

Net from_ethertype(std::uint16_t et) noexcept {
  return et == eth_ipv4 ? Net::v4 : et == eth_ipv6 ? Net::v6 : Net::other;
}

/// BSD loopback address families: AF_INET is 2 everywhere, AF_INET6 differs per OS (Linux 10,
/// NetBSD/OpenBSD 24, FreeBSD 28, macOS 30).
Net from_family(std::uint32_t f) noexcept {
  if (f == 2) return Net::v4;
  if (f == 10 || f == 24 || f == 28 || f == 30) return Net::v6;
  return Net::other;
}

void set_addr(Endpoint& e, const std::uint8_t* p, bool v6) noexcept {
  e.v6 = v6;
  std::memcpy(e.addr.data(), p, v6 ? 16 : 4);
}

/// The transport layer of an IP packet, once the IP headers are understood.
struct Transport {
  const std::uint8_t* l4 = nullptr; ///< first byte of the TCP/UDP header
  std::size_t captured = 0; ///< bytes from l4 to the end of the IP payload that were captured
  std::size_t declared = 0; ///< bytes from l4 to the end of the IP payload (IP lengths)
  std::uint8_t proto = 0;
};

/// Where the IP payload ends. `declared` is the IP datagram length from its header (0 = unknown,
/// as Linux writes for TSO/GSO packets), `avail` the captured bytes from the IP header on,
/// `wire_missing` what the snap length cut off. Returns false when the length cannot be right.
bool ip_extent(std::size_t declared, std::size_t avail, std::size_t wire_missing,
               std::size_t& total, std::size_t& captured) noexcept {
  if (declared == 0) declared = avail + wire_missing;
  total = declared;
  if (declared <= avail) { // anything after it is link padding (Ethernet pads to 60 bytes)
    captured = declared;
    return true;
  }
  // Longer than what was captured: fine when the snap length explains it, damaged otherwise.
  captured = avail;
  return declared - avail <= wire_missing;
}

DecodeStatus decode_ipv4(const std::uint8_t* ip, std::size_t avail, std::size_t wire_missing,
                         TcpSegment& out, Transport& t) noexcept {
  if (avail < 20) return DecodeStatus::truncated;
  if ((ip[0] >> 4) != 4) return DecodeStatus::bad_header;
  const std::size_t ihl = std::size_t{ip[0] & 0x0Fu} * 4;
  if (ihl < 20) return DecodeStatus::bad_header;
  std::size_t total = 0, captured = 0;
  const std::size_t declared = be16(ip + 2);
  if (declared != 0 && declared < ihl) return DecodeStatus::bad_header;
  if (!ip_extent(declared, avail, wire_missing, total, captured)) return DecodeStatus::truncated;
  if (ihl > captured) return DecodeStatus::truncated;
  set_addr(out.src, ip + 12, false);
  set_addr(out.dst, ip + 16, false);
  // More-fragments set or a non-zero offset: one piece of a datagram we do not reassemble.
  if ((be16(ip + 6) & 0x3FFFu) != 0) return DecodeStatus::ip_fragment;
  t.l4 = ip + ihl;
  t.captured = captured - ihl;
  t.declared = total - ihl;
  t.proto = ip[9];
  return DecodeStatus::tcp;
}

DecodeStatus decode_ipv6(const std::uint8_t* ip, std::size_t avail, std::size_t wire_missing,
                         TcpSegment& out, Transport& t) noexcept {
  if (avail < 40) return DecodeStatus::truncated;
  if ((ip[0] >> 4) != 6) return DecodeStatus::bad_header;
  const std::size_t plen = be16(ip + 4);
  std::size_t total = 0, captured = 0;
  // Payload length 0: a jumbogram or a GSO packet; take what the capture says.
  if (!ip_extent(plen == 0 ? 0 : plen + 40, avail, wire_missing, total, captured))
    return DecodeStatus::truncated;
  set_addr(out.src, ip + 8, true);
  set_addr(out.dst, ip + 24, true);
  std::uint8_t next = ip[6];
  std::size_t pos = 40;
  // Each extension header is at least 8 bytes long, so the walk ends within the datagram; the
  // count bound only guards against surprises.
  for (int hops = 0; hops < 64; ++hops) {
    std::size_t len = 0;
    switch (next) {
    case 0:   // hop-by-hop options
    case 43:  // routing
    case 60:  // destination options
    case 135: // mobility
    case 139: // HIP
    case 140: // shim6
      if (pos + 2 > captured) return DecodeStatus::truncated;
      len = (std::size_t{ip[pos + 1]} + 1) * 8;
      break;
    case 51: // authentication header counts in 4-byte units, minus 2
      if (pos + 2 > captured) return DecodeStatus::truncated;
      len = (std::size_t{ip[pos + 1]} + 2) * 4;
      break;
    case 44: { // fragment: only an "atomic" fragment (offset 0, no more) carries a whole segment
      if (pos + 8 > captured) return DecodeStatus::truncated;
      const std::uint16_t off_m = be16(ip + pos + 2);
      if ((off_m & 0xFFF8u) != 0 || (off_m & 1u) != 0) return DecodeStatus::ip_fragment;
      len = 8;
      break;
    }
    default:
      if (pos > total) return DecodeStatus::bad_header;
      t.l4 = ip + pos;
      t.captured = captured - pos;
      t.declared = total - pos;
      t.proto = next;
      return DecodeStatus::tcp;
    }
    if (pos + len > total) return DecodeStatus::bad_header;
    if (pos + len > captured) return DecodeStatus::truncated;
    next = ip[pos];
    pos += len;
  }
  return DecodeStatus::bad_header;
}

} // namespace

bool link_type_supported(int linktype) noexcept {
  switch (linktype) {
  case dlt_null:
  case dlt_en10mb:
  case dlt_raw_a:
  case dlt_raw_b:
  case dlt_raw:
  case dlt_loop:
  case dlt_linux_sll:
  case dlt_ipv4:
  case dlt_ipv6:
  case dlt_linux_sll2:
    return true;
  default:
    return false;
  }
}

std::string link_type_name(int linktype) {
  if (const char* n = pcap_datalink_val_to_name(linktype)) return n;
  return "DLT " + std::to_string(linktype);
}

DecodeStatus decode_packet(int linktype, std::span<const std::uint8_t> data, std::uint32_t wire_len,
                           TcpSegment& out) noexcept {
  out = TcpSegment{};
  const std::uint8_t* p = data.data();
  const std::size_t n = data.size();
  std::size_t off = 0;
  Net net = Net::other;
  bool ethertype_follows = false; // `et` below is an Ethernet type (VLAN tags may follow)
  std::uint16_t et = 0;

  switch (linktype) {
  case dlt_en10mb:
    if (n < 14) return DecodeStatus::truncated;
    et = be16(p + 12); // values <= 1500 are 802.3 lengths: LLC frames, not IP
    off = 14;
    ethertype_follows = true;
    break;
  case dlt_null:
  case dlt_loop: {
    // NULL stores the family in the writer's byte order, LOOP in network order; the families
    // are small numbers, so whichever reading gives a known one is the right one.
    if (n < 4) return DecodeStatus::truncated;
    net = from_family(le32(p));
    if (net == Net::other) net = from_family(be32(p));
    if (net == Net::other) return DecodeStatus::not_ip;
    off = 4;
    break;
  }
  case dlt_linux_sll:
    if (n < 16) return DecodeStatus::truncated;
    et = be16(p + 14);
    off = 16;
    ethertype_follows = true;
    break;
  case dlt_linux_sll2:
    if (n < 20) return DecodeStatus::truncated;
    et = be16(p);
    off = 20;
    ethertype_follows = true;
    break;
  case dlt_raw_a:
  case dlt_raw_b:
  case dlt_raw:
  case dlt_ipv4:
  case dlt_ipv6:
    if (n < 1) return DecodeStatus::truncated;
    net = (p[0] >> 4) == 4 ? Net::v4 : (p[0] >> 4) == 6 ? Net::v6 : Net::other;
    if (net == Net::other) return DecodeStatus::bad_header;
    break;
  default:
    return DecodeStatus::unsupported_link;
  }

  if (ethertype_follows) {
    while (is_vlan_tag(et)) { // tag: 2 bytes TCI, then the next type
      if (off + 4 > n) return DecodeStatus::truncated;
      et = be16(p + off + 2);
      off += 4;
    }
    net = from_ethertype(et);
    if (net == Net::other) return DecodeStatus::not_ip;
  }

  const std::size_t wire_missing = wire_len > n ? wire_len - n : 0;
  Transport t;
  const DecodeStatus ip_status = net == Net::v4
                                     ? decode_ipv4(p + off, n - off, wire_missing, out, t)
                                     : decode_ipv6(p + off, n - off, wire_missing, out, t);
  if (ip_status != DecodeStatus::tcp) return ip_status;

  if (t.proto == 17) { // UDP: the ports are all the caller wants (QUIC detection)
    if (t.declared < 8) return DecodeStatus::bad_header;
    if (t.captured < 4) return DecodeStatus::truncated;
    out.src.port = be16(t.l4);
    out.dst.port = be16(t.l4 + 2);
    return DecodeStatus::udp;
  }
  if (t.proto != 6) return DecodeStatus::not_tcp;

  if (t.declared < 20) return DecodeStatus::bad_header;
  if (t.captured < 20) return DecodeStatus::truncated;
  const std::size_t doff = std::size_t{static_cast<std::uint8_t>(t.l4[12] >> 4)} * 4;
  if (doff < 20 || doff > t.declared) return DecodeStatus::bad_header;
  if (doff > t.captured) return DecodeStatus::truncated;
  out.src.port = be16(t.l4);
  out.dst.port = be16(t.l4 + 2);
  out.seq = be32(t.l4 + 4);
  out.ack = be32(t.l4 + 8);
  out.flags = t.l4[13];
  out.payload = std::span<const std::uint8_t>(t.l4 + doff, t.captured - doff);
  out.payload_missing = static_cast<std::uint32_t>(t.declared - t.captured);
  return DecodeStatus::tcp;
}

// ---- PacketSource over libpcap ----------------------------------------------------------------

namespace {

bool contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

std::string supported_list() {
  return "EN10MB, RAW, NULL, LOOP, LINUX_SLL, LINUX_SLL2, IPV4, IPV6";
}

/// "DLT 147 (USER0)": the number always, and a name when there is one (libpcap has none for
/// the private-use range 147-162, which is what odd tools write).
std::string link_type_label(int linktype) {
  std::string s = "DLT " + std::to_string(linktype);
  if (const char* n = pcap_datalink_val_to_name(linktype))
    s += std::string(" (") + n + ")";
  else if (linktype >= 147 && linktype <= 162)
    s += " (USER" + std::to_string(linktype - 147) + ")";
  return s;
}

class PcapSource final : public PacketSource {
public:
  PcapSource(pcap_t* p, std::string name, bool live, bool pcapng, std::uint64_t size,
             std::int64_t ts_scale, int poll_fd = -1)
      : p_(p), name_(std::move(name)), live_(live), pcapng_(pcapng), size_(size),
        ts_scale_(ts_scale), linktype_(pcap_datalink(p)), poll_fd_(poll_fd) {
    if (!live_) offset_ = pcapng_ ? tell() : 24; // the pcap file header
  }
  ~PcapSource() override { pcap_close(p_); }
  PcapSource(const PcapSource&) = delete;
  PcapSource& operator=(const PcapSource&) = delete;

  Status set_filter(const std::string& bpf) override {
    bpf_program prog{};
    if (pcap_compile(p_, &prog, bpf.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
      return fail(errc::usage,
                  name_ + ": capture filter '" + bpf + "' is not valid: " + pcap_geterr(p_));
    const int rc = pcap_setfilter(p_, &prog);
    pcap_freecode(&prog);
    if (rc != 0)
      return fail(errc::io_error,
                  name_ + ": cannot apply capture filter '" + bpf + "': " + pcap_geterr(p_));
    return ok_status();
  }

  Next next(RawPacket& p, Error& err) override {
    if (done_ || stop_.load(std::memory_order_relaxed)) return Next::end;
    pcap_pkthdr* h = nullptr;
    const u_char* d = nullptr;
    int rc = pcap_next_ex(p_, &h, &d);
    if (rc == 0 && poll_fd_ >= 0) {
      // libpcap's read timeout only bounds how long a packet waits in the buffer: with no
      // traffic at all a blocking read may never return. So live captures are non-blocking and
      // the wait happens here, where a signal (break_loop) also ends it.
      pollfd pfd{poll_fd_, POLLIN, 0};
      ::poll(&pfd, 1, 100);
      if (stop_.load(std::memory_order_relaxed)) return Next::end;
      rc = pcap_next_ex(p_, &h, &d);
    }
    if (rc == 1) {
      p.number = ++count_;
      // A pcapng timestamp is 64 bits of any unit: one past 2262 does not fit in nanoseconds.
      std::int64_t ns = 0;
      const auto sec = static_cast<std::int64_t>(h->ts.tv_sec);
      const auto frac = static_cast<std::int64_t>(h->ts.tv_usec) * ts_scale_;
      p.ts_valid = sec >= 0 && frac >= 0 && frac < 1'000'000'000 &&
                   !__builtin_mul_overflow(sec, std::int64_t{1'000'000'000}, &ns) &&
                   !__builtin_add_overflow(ns, frac, &ns);
      if (p.ts_valid) last_ts_ = ns;
      p.ts_ns = last_ts_;
      p.caplen = h->caplen;
      p.len = h->len;
      p.data = std::span<const std::uint8_t>(d, h->caplen);
      if (!live_) offset_ = pcapng_ ? tell() : offset_ + 16 + h->caplen;
      return Next::packet;
    }
    if (rc == 0) return Next::timeout; // live read timeout; files never return it
    done_ = true;
    if (rc == PCAP_ERROR_BREAK) { // end of file, or pcap_breakloop()
      // Blocks after the last packet (pcapng statistics) are never read: the file is done.
      if (!live_ && size_ > 0 && !stop_.load(std::memory_order_relaxed)) offset_ = size_;
      return Next::end;
    }
    err = read_error(pcap_geterr(p_));
    return Next::error;
  }

  void break_loop() noexcept override {
    // Only an atomic store and pcap_breakloop(): both fine inside a signal handler.
    stop_.store(true, std::memory_order_relaxed);
    pcap_breakloop(p_);
  }

  [[nodiscard]] int linktype() const noexcept override { return linktype_; }
  [[nodiscard]] const std::string& name() const noexcept override { return name_; }
  [[nodiscard]] std::uint64_t bytes_read() const noexcept override { return offset_; }
  [[nodiscard]] std::uint64_t size() const noexcept override { return size_; }

  [[nodiscard]] std::optional<Stats> stats() override {
    if (!live_) return std::nullopt;
    pcap_stat s{};
    if (pcap_stats(p_, &s) != 0) return std::nullopt;
    return Stats{s.ps_recv, s.ps_drop, s.ps_ifdrop};
  }

  void own_buffer(std::unique_ptr<char[]> b) noexcept { buffer_ = std::move(b); }

private:
  /// Where the stdio stream under a file capture is. Only pcapng needs it: its blocks carry
  /// options and non-packet blocks whose sizes the packet header does not tell.
  std::uint64_t tell() const noexcept {
    FILE* f = pcap_file(p_);
    if (!f) return offset_;
    const off_t pos = ftello(f);
    return pos < 0 ? offset_ : static_cast<std::uint64_t>(pos);
  }

  Error read_error(const std::string& text) const {
    if (live_) return Error(errc::io_error, name_ + ": capture failed: " + text);
    // The place: the number the unreadable packet would have had and where its record starts
    // (pcap: exact; pcapng: where the reader stood after the last good packet).
    const std::string where = name_ + ": packet " + std::to_string(count_ + 1) + " (byte " +
                              std::to_string(offset_) + "): ";
    if (contains(text, "truncated"))
      return Error(errc::truncated_input,
                   where + "the file ends in the middle of a packet record (libpcap: " + text +
                       ")");
    return Error(errc::io_error, where + "cannot read the packet record (libpcap: " + text + ")");
  }

  std::unique_ptr<char[]> buffer_; ///< a file capture's stdio buffer; freed after the
                                   ///< destructor's pcap_close() has closed the stream
  pcap_t* p_;
  std::string name_;
  bool live_, pcapng_;
  std::uint64_t size_;
  std::int64_t ts_scale_; ///< 1 when libpcap gives nanoseconds, 1000 for microseconds
  int linktype_;
  int poll_fd_; ///< live, non-blocking: the descriptor to wait on; -1 otherwise
  std::uint64_t offset_ = 0, count_ = 0;
  std::int64_t last_ts_ = 0; ///< the last valid packet time (for one that is out of range)
  bool done_ = false;
  std::atomic<bool> stop_{false};
  static_assert(std::atomic<bool>::is_always_lock_free, "break_loop() must be signal-safe");
};

/// A hint for a file that is not a capture, from its first bytes.
std::string format_hint(const unsigned char* b, std::size_t n) {
  if (n >= 1 && (b[0] == '{' || b[0] == '[')) return " (it looks like JSON: a HAR file?)";
  if (n >= 2 && b[0] == 0x1F && b[1] == 0x8B) return " (it is gzip-compressed: gunzip it first)";
  if (n >= 4 && std::memcmp(b, "\x0A\x0D\x0D\x0A", 4) == 0) return "";
  return "; pcap files start with d4 c3 b2 a1 (or a1 b2 c3 d4, 4d 3c b2 a1), pcapng with 0a 0d 0d "
         "0a";
}

/// Where libpcap failed to open a pcapng file: it reads the Section Header Block and the
/// blocks after it up to the first Interface Description Block. A section header of a sane
/// length (28 bytes to 16 MiB) is taken as read, so the fault is in the blocks after it.
std::string pcapng_open_place(const unsigned char* b, std::size_t n) {
  if (n < 12) return "byte 0 (section header block)";
  std::uint32_t order = 0, length = 0;
  std::memcpy(&order, b + 8, 4);
  std::memcpy(&length, b + 4, 4);
  if (order == 0x4D3C2B1Au)
    length = __builtin_bswap32(length); // a big-endian section
  else if (order != 0x1A2B3C4Du)
    return "byte 0 (section header block)";
  if (length < 28 || length > (16u << 20)) return "byte 0 (section header block)";
  return "byte " + std::to_string(length) + " (the blocks after the section header)";
}

std::string perm_message(const std::string& iface, const std::string& text) {
  return "interface " + iface +
         ": capturing needs root, or the CAP_NET_RAW and CAP_NET_ADMIN capabilities (e.g. "
         "`sudo setcap cap_net_raw,cap_net_admin=eip sioreplay`) (libpcap: " +
         text + ")";
}

std::string interface_list() {
  pcap_if_t* all = nullptr;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  if (pcap_findalldevs(&all, errbuf) != 0 || !all) return "";
  std::string names;
  for (pcap_if_t* d = all; d; d = d->next)
    names += (names.empty() ? "" : ", ") + std::string(d->name);
  pcap_freealldevs(all);
  return names;
}

} // namespace

Result<std::unique_ptr<PacketSource>> PacketSource::open_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fail(errc::io_error, path + ": cannot open: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode))
    return fail(errc::is_directory, path + ": is a directory, not a capture file");
  // Pipes and devices (tcpdump -w - | ... /dev/stdin) have no size and cannot be rewound.
  const bool regular = S_ISREG(st.st_mode);
  if (regular && st.st_size == 0)
    return fail(errc::empty_input, path + ": the file is empty (0 bytes)");

  // We open the stream for libpcap (pcap_fopen_offline is pcap_open_offline on a FILE of our
  // own) to give it a large buffer: libpcap makes two fread() calls per packet, and with
  // stdio's default 4 KiB buffer the read() system calls alone would cap the speed well below
  // what the recorder needs.
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return fail(errc::io_error, path + ": cannot open: " + std::strerror(errno));
  // A small file needs no more than its size (+1, so that stdio sees the end in one read).
  constexpr std::size_t max_buffer = 256 * 1024;
  const std::size_t buffer_size =
      regular ? std::min(max_buffer, static_cast<std::size_t>(st.st_size) + 1) : max_buffer;
  auto buffer = std::make_unique_for_overwrite<char[]>(buffer_size);
  std::setvbuf(f, buffer.get(), _IOFBF, buffer_size);
  __fsetlocking(f, FSETLOCKING_BYCALLER); // one reader thread: skip stdio's lock per fread()
  // Our own look at the first bytes: libpcap's "unknown file format" helps nobody, and the
  // format decides how bytes_read() is kept.
  unsigned char head[12] = {};
  std::size_t head_n = 0;
  if (regular) {
    head_n = std::fread(head, 1, sizeof head, f);
    std::rewind(f);
  }
  const bool pcapng = head_n >= 4 && std::memcmp(head, "\x0A\x0D\x0D\x0A", 4) == 0;

  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (!p) {
    std::fclose(f); // on failure the stream is still ours
    const std::string text = errbuf;
    if (contains(text, "truncated") || (regular && head_n < 4))
      return fail(errc::truncated_input, path + ": the file ends inside the capture file header (" +
                                             std::to_string(st.st_size) +
                                             " bytes; libpcap: " + text + ")");
    if (contains(text, "unknown file format"))
      return fail(errc::unsupported, path + ": not a pcap or pcapng capture file" +
                                         format_hint(head, head_n) + " (libpcap: " + text + ")");
    return fail(errc::io_error,
                path + ": " + (pcapng ? pcapng_open_place(head, head_n) : std::string("byte 0")) +
                    ": cannot read the capture: " + text);
  }
  const int dlt = pcap_datalink(p);
  if (!link_type_supported(dlt)) {
    pcap_close(p);
    return fail(errc::unsupported, path + ": link type " + link_type_label(dlt) +
                                       " is not supported; supported: " + supported_list());
  }
  auto src = std::make_unique<PcapSource>(p, path, false, pcapng,
                                          regular ? static_cast<std::uint64_t>(st.st_size) : 0, 1);
  src->own_buffer(std::move(buffer)); // it must outlive the stream, which pcap_close() closes
  return std::unique_ptr<PacketSource>(std::move(src));
}

Result<std::unique_ptr<PacketSource>> PacketSource::open_live(const std::string& interface) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_create(interface.c_str(), errbuf);
  if (!p) return fail(errc::io_error, "interface " + interface + ": cannot open: " + errbuf);
  pcap_set_snaplen(p, 262144);
  pcap_set_promisc(p, 0);
  pcap_set_immediate_mode(p, 1); // packets as they come: the recorder shows live progress
  pcap_set_buffer_size(p, 64 << 20);
  pcap_set_timeout(p, 100);
  std::int64_t ts_scale = 1;
  if (pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) != 0) ts_scale = 1000;

  const int rc = pcap_activate(p);
  if (rc < 0) {
    const std::string text = pcap_geterr(p)[0] ? pcap_geterr(p) : pcap_statustostr(rc);
    pcap_close(p);
    if (rc == PCAP_ERROR_PERM_DENIED || rc == PCAP_ERROR_PROMISC_PERM_DENIED ||
        contains(text, "Operation not permitted") || contains(text, "ermission denied") ||
        contains(text, "EPERM"))
      return fail(errc::io_error, perm_message(interface, text));
    if (rc == PCAP_ERROR_NO_SUCH_DEVICE) {
      const std::string known = interface_list();
      return fail(errc::io_error, "interface " + interface + ": no such interface" +
                                      (known.empty() ? "" : " (available: " + known + ")") +
                                      " (libpcap: " + text + ")");
    }
    return fail(errc::io_error, "interface " + interface + ": cannot start the capture: " + text);
  }

  if (!link_type_supported(pcap_datalink(p))) {
    // Some interfaces offer several link types; take the first one we can decode.
    int* dlts = nullptr;
    const int count = pcap_list_datalinks(p, &dlts);
    bool chosen = false;
    for (int i = 0; i < count && !chosen; ++i)
      chosen = link_type_supported(dlts[i]) && pcap_set_datalink(p, dlts[i]) == 0;
    if (dlts) pcap_free_datalinks(dlts);
    if (!chosen) {
      const int dlt = pcap_datalink(p);
      pcap_close(p);
      return fail(errc::unsupported, "interface " + interface + ": link type " +
                                         link_type_label(dlt) +
                                         " is not supported; supported: " + supported_list());
    }
  }
  int fd = -1;
  if (pcap_setnonblock(p, 1, errbuf) == 0) fd = pcap_get_selectable_fd(p);
  if (fd < 0) pcap_setnonblock(p, 0, errbuf); // no descriptor to wait on: let libpcap block
  return std::unique_ptr<PacketSource>(
      std::make_unique<PcapSource>(p, "interface " + interface, true, false, 0, ts_scale, fd));
}

// ---- TLS secrets in pcapng --------------------------------------------------------------------

Result<std::string> read_pcapng_tls_secrets(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fail(errc::io_error, path + ": cannot open: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return fail(errc::is_directory, path + ": is a directory");
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return fail(errc::io_error, path + ": cannot open: " + std::strerror(errno));
  struct Closer {
    FILE* f;
    ~Closer() { std::fclose(f); }
  } closer{f};

  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  constexpr std::uint32_t shb_type = 0x0A0D0D0A, dsb_type = 0x0000000A, tlsk = 0x544C534B;
  std::string out;
  std::uint64_t pos = 0;
  bool little = true; // byte order of the current section
  bool first = true;
  std::string body;
  for (;;) {
    if (pos + 12 > file_size) break;
    if (fseeko(f, static_cast<off_t>(pos), SEEK_SET) != 0) break;
    std::uint8_t h[12];
    if (std::fread(h, 1, sizeof h, f) != sizeof h) break;
    // The SHB type reads the same in both byte orders; its byte-order magic sets the order of
    // everything up to the next SHB.
    const bool shb = be32(h) == shb_type;
    if (first && !shb) return std::string(); // not pcapng
    first = false;
    if (shb) {
      if (le32(h + 8) == 0x1A2B3C4D)
        little = true;
      else if (be32(h + 8) == 0x1A2B3C4D)
        little = false;
      else
        break;
    }
    const std::uint32_t type = little ? le32(h) : be32(h);
    const std::uint64_t total = little ? le32(h + 4) : be32(h + 4);
    if (total < 12 || total % 4 != 0 || pos + total > file_size) break; // damaged: stop quietly
    if (type == dsb_type && total >= 20) {
      const std::uint32_t secrets_type = little ? le32(h + 8) : be32(h + 8);
      std::uint8_t lenb[4];
      if (std::fread(lenb, 1, 4, f) != 4) break;
      const std::uint64_t len = little ? le32(lenb) : be32(lenb);
      // Header 8, secrets type 4, length 4, data, trailing total length 4.
      if (16 + len + 4 > total) break;
      if (secrets_type == tlsk && len > 0) {
        body.resize(static_cast<std::size_t>(len));
        if (std::fread(body.data(), 1, body.size(), f) != body.size()) break;
        if (!out.empty() && out.back() != '\n') out += '\n';
        out += body;
      }
    }
    pos += total;
  }
  if (std::ferror(f)) return fail(errc::io_error, path + ": read error: " + std::strerror(errno));
  return out;
}

} // namespace sio::wire
