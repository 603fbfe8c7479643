/// make_pcap: writes a large classic pcap (Ethernet) of many concurrent Socket.IO sessions for
/// benchmarks by tiling real sample captures in time.
///
///   make_pcap [--size-mb MB] [--concurrency N] [--nanosecond] -o OUT.pcap SAMPLE.pcap...
///
/// Every SAMPLE.pcap is a classic pcap (microsecond or nanosecond, either byte order) with
/// Ethernet link type and a truth.json beside it that names its Engine.IO sids
/// (clients[].engine.sid and clients[].engine.sessions[].sid). Copy k of a sample (samples are
/// taken in turn: copy k is sample k % count) gets:
///   - its own client address 127.x.y.z = 127.0.0.0 + k + 2 (the side that sent the SYN; the
///     servers keep theirs), so every copy's TCP connections have their own 4-tuples;
///   - its own sids: the last 4 characters of every sid, wherever it appears in clear in a TCP
///     payload (URLs, cookies, polling bodies, server websocket frames; also across two
///     segments), become k in base64url. Same length, so every TCP sequence number and every
///     HTTP/websocket length stays right. A sid that is not in clear (masked client frames,
///     permessage-deflate server frames) is left alone: copies of such a sample share it, and
///     make_pcap says so;
///   - a per-copy constant added to every TCP sequence number, acknowledgement number and SACK
///     edge (both directions, so they stay consistent);
///   - its timestamps shifted to start at k * stagger, with stagger chosen so that about N
///     sessions are open at once: stagger = (mean session-seconds of one copy, from the
///     sessions' t_open/t_close in truth.json) / N.
/// Nothing else is recomputed: IPv4 and TCP checksums are left as they were, so they are wrong
/// for rewritten packets (sioreplay does not check them, nor do tshark and tcpdump by default).
/// The copies are merged in timestamp order (a k-way merge over the copies that are running) and
/// streamed to the output: only the samples are held in memory.

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <queue>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace {

constexpr std::uint32_t kMagicMicro = 0xa1b2c3d4u;
constexpr std::uint32_t kMagicNano = 0xa1b23c4du;
constexpr std::uint32_t kLinkEthernet = 1;
constexpr std::size_t kSidKeep = 16; ///< characters of a sid kept; the rest (4) encode the copy
constexpr std::size_t kSidCopyChars = 4;
constexpr std::uint64_t kMaxCopies = 1u << 24; // 64^4 sids and 127.0.0.0/8 client addresses

std::uint32_t bswap32(std::uint32_t v) {
  return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

std::uint32_t load_be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

void store_be32(unsigned char* p, std::uint32_t v) {
  p[0] = static_cast<unsigned char>(v >> 24);
  p[1] = static_cast<unsigned char>(v >> 16);
  p[2] = static_cast<unsigned char>(v >> 8);
  p[3] = static_cast<unsigned char>(v);
}

std::uint16_t load_be16(const unsigned char* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

/// The 4 base64url characters that stand for copy k in its sids.
std::array<char, kSidCopyChars> sid_suffix(std::uint64_t k) {
  static constexpr char digits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::array<char, kSidCopyChars> s{};
  for (std::size_t i = kSidCopyChars; i-- > 0; k /= 64) s[i] = digits[k % 64];
  return s;
}

struct SidPatch {
  std::uint32_t offset; ///< in the packet
  std::uint8_t digit;   ///< which of the copy's 4 suffix characters goes there
};

struct Packet {
  std::int64_t t_ns = 0; ///< from the sample's first packet
  std::size_t data = 0;  ///< offset of the packet bytes in Sample::bytes
  std::uint32_t caplen = 0;
  std::uint32_t origlen = 0;
  std::int32_t client_ip = -1;   ///< offset of the client's IPv4 address, -1: none
  std::uint32_t seq_begin = 0;   ///< range in Sample::seq_fields
  std::uint32_t seq_end = 0;     ///<
  std::uint32_t patch_begin = 0; ///< range in Sample::patches
  std::uint32_t patch_end = 0;   ///<
};

struct Session {
  std::int64_t open_ns;  ///< from the sample's first packet
  std::int64_t close_ns; ///<
};

struct Sample {
  std::string name;
  std::vector<unsigned char> bytes;
  std::vector<Packet> packets;
  std::vector<std::uint32_t> seq_fields; ///< offsets of 32-bit sequence-space fields
  std::vector<SidPatch> patches;
  std::vector<std::string> sids;
  std::vector<Session> sessions;
  std::uint64_t record_bytes = 0; ///< its packets' share of an output file (headers included)
  std::uint32_t snaplen = 0;
  double session_seconds = 0;
  std::uint64_t messages = 0; ///< Socket.IO packets per truth.json (counts.total_events)
};

struct Endpoint {
  std::uint32_t ip;
  std::uint16_t port;
  auto operator<=>(const Endpoint&) const = default;
};

std::vector<unsigned char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Where the IPv4 and TCP headers of an Ethernet frame are (offsets; tcp = 0: not TCP/IPv4).
struct Layers {
  std::size_t ip = 0;
  std::size_t tcp = 0;
  std::size_t payload = 0;
  std::size_t payload_end = 0;
};

Layers find_layers(const unsigned char* p, std::size_t len) {
  Layers l;
  std::size_t at = 12;
  if (len < at + 2) return l;
  std::uint16_t type = load_be16(p + at);
  while ((type == 0x8100 || type == 0x88a8) && len >= at + 6) { // VLAN tags
    at += 4;
    type = load_be16(p + at);
  }
  at += 2;
  if (type != 0x0800 || len < at + 20 || (p[at] >> 4) != 4) return l;
  const std::size_t ihl = std::size_t{p[at] & 0x0fu} * 4;
  const bool fragment = (load_be16(p + at + 6) & 0x3fff) != 0;
  if (ihl < 20 || p[at + 9] != 6 || fragment || len < at + ihl + 20) return l;
  l.ip = at;
  l.tcp = at + ihl;
  const std::size_t doff = std::size_t{p[l.tcp + 12]} / 16 * 4;
  const std::size_t total = load_be16(p + at + 2);
  l.payload_end = total == 0 ? len : std::min(len, at + total); // 0: segmentation offload
  l.payload = std::min(l.tcp + doff, l.payload_end);
  return l;
}

std::vector<std::string> sids_of(const std::filesystem::path& truth_path,
                                 std::vector<std::pair<std::int64_t, std::int64_t>>& sessions_ms,
                                 std::uint64_t& messages) {
  std::ifstream in(truth_path);
  if (!in) throw std::runtime_error("cannot open " + truth_path.string() + " (the sample's sids)");
  const nlohmann::json truth = nlohmann::json::parse(in, nullptr, false);
  if (truth.is_discarded()) throw std::runtime_error("not JSON: " + truth_path.string());
  std::set<std::string> sids;
  if (truth.contains("counts") && truth["counts"].contains("total_events") &&
      truth["counts"]["total_events"].is_number_unsigned())
    messages = truth["counts"]["total_events"].get<std::uint64_t>();
  for (const auto& client : truth.value("clients", nlohmann::json::array())) {
    const auto& engine = client.value("engine", nlohmann::json::object());
    if (engine.contains("sid") && engine["sid"].is_string())
      sids.insert(engine["sid"].get<std::string>());
    for (const auto& s : engine.value("sessions", nlohmann::json::array())) {
      if (!s.contains("sid") || !s["sid"].is_string()) continue;
      sids.insert(s["sid"].get<std::string>());
      if (s.contains("t_open") && s["t_open"].is_number() && s.contains("t_close") &&
          s["t_close"].is_number())
        sessions_ms.emplace_back(s["t_open"].get<std::int64_t>(), s["t_close"].get<std::int64_t>());
    }
  }
  return {sids.begin(), sids.end()};
}

/// Carry of the end of one direction of a TCP connection, to find sids split across segments.
struct Carry {
  std::uint32_t next_seq = 0;
  std::string tail;                                        ///< last bytes of the stream
  std::vector<std::pair<std::uint32_t, std::uint32_t>> at; ///< (packet, offset) of each
};

Sample load_sample(const std::string& path) {
  Sample s;
  s.name = std::filesystem::path(path).filename().string();
  const std::vector<unsigned char> file = read_file(path);
  if (file.size() < 24) throw std::runtime_error(path + ": too short for a pcap");
  std::uint32_t magic;
  std::memcpy(&magic, file.data(), 4);
  const bool swapped = magic == bswap32(kMagicMicro) || magic == bswap32(kMagicNano);
  if (swapped) magic = bswap32(magic);
  if (magic != kMagicMicro && magic != kMagicNano)
    throw std::runtime_error(path + ": not a classic pcap (pcapng is not read here)");
  const std::int64_t frac_ns = magic == kMagicNano ? 1 : 1000;
  auto u32 = [&](std::size_t at) {
    std::uint32_t v;
    std::memcpy(&v, file.data() + at, 4);
    return swapped ? bswap32(v) : v;
  };
  s.snaplen = u32(16);
  if ((u32(20) & 0x0fffffffu) != kLinkEthernet)
    throw std::runtime_error(path + ": link type " + std::to_string(u32(20)) + ", not Ethernet");

  // Packets, with timestamps as absolute nanoseconds for now.
  std::vector<std::int64_t> abs_ns;
  std::size_t at = 24;
  while (at + 16 <= file.size()) {
    Packet p;
    p.caplen = u32(at + 8);
    p.origlen = u32(at + 12);
    if (at + 16 + p.caplen > file.size()) {
      std::cerr << "make_pcap: " << path << ": last packet cut short, dropped\n";
      break;
    }
    abs_ns.push_back(std::int64_t{u32(at)} * 1000000000 + std::int64_t{u32(at + 4)} * frac_ns);
    p.data = s.bytes.size();
    s.bytes.insert(s.bytes.end(), file.begin() + static_cast<std::ptrdiff_t>(at + 16),
                   file.begin() + static_cast<std::ptrdiff_t>(at + 16 + p.caplen));
    s.packets.push_back(p);
    at += 16 + p.caplen;
  }
  if (s.packets.empty()) throw std::runtime_error(path + ": no packets");
  // Copies are merged by time: keep each sample in time order (captures nearly always are).
  std::vector<std::size_t> order(s.packets.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return abs_ns[a] < abs_ns[b]; });
  const std::int64_t first_ns = abs_ns[order.front()];
  {
    std::vector<Packet> sorted;
    sorted.reserve(order.size());
    for (std::size_t i : order) {
      sorted.push_back(s.packets[i]);
      sorted.back().t_ns = abs_ns[i] - first_ns;
    }
    s.packets = std::move(sorted);
  }

  // Servers: whoever answered a SYN (or was sent one).
  std::set<Endpoint> servers;
  for (const Packet& p : s.packets) {
    const unsigned char* d = s.bytes.data() + p.data;
    const Layers l = find_layers(d, p.caplen);
    if (l.tcp == 0) continue;
    const std::uint8_t flags = d[l.tcp + 13];
    if ((flags & 0x02) == 0) continue; // SYN
    if (flags & 0x10)                  // SYN+ACK: the sender is the server
      servers.insert({load_be32(d + l.ip + 12), load_be16(d + l.tcp)});
    else
      servers.insert({load_be32(d + l.ip + 16), load_be16(d + l.tcp + 2)});
  }

  std::vector<std::pair<std::int64_t, std::int64_t>> sessions_ms;
  s.sids =
      sids_of(std::filesystem::path(path).parent_path() / "truth.json", sessions_ms, s.messages);
  for (const auto& sid : s.sids)
    if (sid.size() <= kSidKeep) throw std::runtime_error(path + ": sid too short: " + sid);
  for (std::size_t i = 0; i < s.sids.size(); ++i)
    for (std::size_t j = i + 1; j < s.sids.size(); ++j)
      if (s.sids[i].compare(0, s.sids[i].size() - kSidCopyChars, s.sids[j], 0,
                            s.sids[j].size() - kSidCopyChars) == 0)
        throw std::runtime_error(path + ": sids " + s.sids[i] + " and " + s.sids[j] +
                                 " differ only in their last characters");
  std::size_t longest = 0;
  for (const auto& sid : s.sids) longest = std::max(longest, sid.size());
  for (const auto& [open_ms, close_ms] : sessions_ms) {
    const Session ses{open_ms * 1000000 - first_ns, close_ms * 1000000 - first_ns};
    s.sessions.push_back(ses);
    s.session_seconds += static_cast<double>(ses.close_ns - ses.open_ns) / 1e9;
  }
  if (s.sessions.empty()) { // no times in truth.json: one session per sid, the whole capture
    const std::int64_t end = s.packets.back().t_ns;
    for (std::size_t i = 0; i < std::max<std::size_t>(1, s.sids.size()); ++i) {
      s.sessions.push_back({0, end});
      s.session_seconds += static_cast<double>(end) / 1e9;
    }
  }

  std::map<std::tuple<Endpoint, Endpoint>, Carry> carries;
  std::vector<std::size_t> found(s.sids.size(), 0);
  std::size_t split = 0;
  std::vector<std::pair<std::uint32_t, SidPatch>> patches; // (packet, patch)
  for (std::uint32_t i = 0; i < s.packets.size(); ++i) {
    Packet& p = s.packets[i];
    s.record_bytes += 16 + p.caplen;
    const unsigned char* d = s.bytes.data() + p.data;
    const Layers l = find_layers(d, p.caplen);
    p.seq_begin = static_cast<std::uint32_t>(s.seq_fields.size());
    p.seq_end = p.seq_begin;
    if (l.tcp == 0) continue;
    const Endpoint src{load_be32(d + l.ip + 12), load_be16(d + l.tcp)};
    const Endpoint dst{load_be32(d + l.ip + 16), load_be16(d + l.tcp + 2)};
    bool client_is_src;
    if (servers.count(dst))
      client_is_src = true;
    else if (servers.count(src))
      client_is_src = false;
    else
      client_is_src = src.port > dst.port; // no handshake seen: guess the ephemeral port
    p.client_ip = static_cast<std::int32_t>(l.ip + (client_is_src ? 12 : 16));

    // Sequence-space fields: seq, ack (when ACK is set), SACK edges.
    const std::uint8_t flags = d[l.tcp + 13];
    s.seq_fields.push_back(static_cast<std::uint32_t>(l.tcp + 4));
    if (flags & 0x10) s.seq_fields.push_back(static_cast<std::uint32_t>(l.tcp + 8));
    for (std::size_t o = l.tcp + 20; o < l.payload;) {
      const unsigned char kind = d[o];
      if (kind == 0) break;
      if (kind == 1) {
        ++o;
        continue;
      }
      if (o + 1 >= l.payload || d[o + 1] < 2 || o + d[o + 1] > l.payload) break;
      if (kind == 5)
        for (std::size_t e = o + 2; e + 4 <= o + d[o + 1]; e += 4)
          s.seq_fields.push_back(static_cast<std::uint32_t>(e));
      o += d[o + 1];
    }
    p.seq_end = static_cast<std::uint32_t>(s.seq_fields.size());

    // Sids in the payload, also split across this segment and the previous one.
    if (l.payload >= l.payload_end || s.sids.empty()) continue;
    const std::uint32_t seq = load_be32(d + l.tcp + 4);
    const auto len = static_cast<std::uint32_t>(l.payload_end - l.payload);
    Carry& c = carries[{src, dst}];
    const auto ahead = static_cast<std::int32_t>(seq - c.next_seq);
    const bool contiguous = !c.tail.empty() && ahead == 0;
    const bool retransmit = !c.tail.empty() && ahead < 0;
    std::string text = contiguous ? c.tail : std::string();
    std::vector<std::pair<std::uint32_t, std::uint32_t>> where =
        contiguous ? c.at : decltype(c.at){};
    const std::size_t carried = text.size();
    for (std::size_t o = l.payload; o < l.payload_end; ++o) {
      text.push_back(static_cast<char>(d[o]));
      where.emplace_back(i, static_cast<std::uint32_t>(o));
    }
    for (std::size_t k = 0; k < s.sids.size(); ++k) {
      const std::string& sid = s.sids[k];
      for (auto hit = text.find(sid); hit != std::string::npos; hit = text.find(sid, hit + 1)) {
        if (hit + sid.size() <= carried) continue; // seen with the previous segment
        ++found[k];
        if (hit < carried) ++split;
        for (std::size_t j = 0; j < kSidCopyChars; ++j) {
          const auto [pkt, off] = where[hit + sid.size() - kSidCopyChars + j];
          patches.push_back({pkt, {off, static_cast<std::uint8_t>(j)}});
        }
      }
    }
    if (!retransmit) {
      const std::size_t keep = std::min(text.size(), longest - 1);
      c.tail = text.substr(text.size() - keep);
      c.at.assign(where.end() - static_cast<std::ptrdiff_t>(keep), where.end());
      c.next_seq = seq + len;
    }
  }
  std::stable_sort(patches.begin(), patches.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::size_t next = 0;
  for (std::uint32_t i = 0; i < s.packets.size(); ++i) {
    s.packets[i].patch_begin = static_cast<std::uint32_t>(s.patches.size());
    for (; next < patches.size() && patches[next].first == i; ++next)
      s.patches.push_back(patches[next].second);
    s.packets[i].patch_end = static_cast<std::uint32_t>(s.patches.size());
  }

  std::cout << "  " << s.name << ": " << s.packets.size() << " packets, " << s.bytes.size()
            << " bytes, " << s.sessions.size() << " session(s) over "
            << static_cast<double>(s.packets.back().t_ns) / 1e9 << " s; sids in clear:";
  for (std::size_t k = 0; k < s.sids.size(); ++k) std::cout << " " << found[k];
  if (split) std::cout << " (" << split << " split across segments)";
  std::cout << "\n";
  for (std::size_t k = 0; k < s.sids.size(); ++k)
    if (found[k] == 0)
      std::cerr << "make_pcap: warning: " << s.name << ": sid " << s.sids[k]
                << " never appears in clear (permessage-deflate? masked frames?): all copies of "
                   "this sample share it\n";
  return s;
}

/// Buffered writer for the output file.
class Output {
public:
  explicit Output(const std::string& path) : file_(std::fopen(path.c_str(), "wb")) {
    if (!file_) throw std::runtime_error("cannot create " + path);
    buf_.resize(8 << 20);
  }
  ~Output() {
    if (file_) std::fclose(file_);
  }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  /// Room for n bytes at the end of the buffer; commit(n) afterwards.
  unsigned char* reserve(std::size_t n) {
    if (used_ + n > buf_.size()) flush();
    if (n > buf_.size()) buf_.resize(n);
    return buf_.data() + used_;
  }
  void commit(std::size_t n) {
    used_ += n;
    written_ += n;
  }
  void flush() {
    if (used_ && std::fwrite(buf_.data(), 1, used_, file_) != used_)
      throw std::runtime_error("write failed");
    used_ = 0;
  }
  void close() {
    flush();
    const bool ok = std::fclose(file_) == 0;
    file_ = nullptr;
    if (!ok) throw std::runtime_error("write failed");
  }
  std::uint64_t written() const { return written_; }

private:
  std::FILE* file_;
  std::vector<unsigned char> buf_;
  std::size_t used_ = 0;
  std::uint64_t written_ = 0;
};

void put32(unsigned char* p, std::uint32_t v) {
  std::memcpy(p, &v, 4);
} // host order, as pcap

int usage() {
  std::cerr << "usage: make_pcap [--size-mb MB] [--concurrency N] [--nanosecond] -o OUT.pcap "
               "SAMPLE.pcap...\n"
               "  --size-mb MB       target output size in MB (1e6 bytes), default 1000\n"
               "  --concurrency N    about N sessions open at once, default 500\n"
               "  --nanosecond       write a nanosecond pcap (default microsecond)\n"
               "  every SAMPLE.pcap needs its truth.json (the sids) in the same directory\n";
  return 2;
}

int run(int argc, char** argv) {
  double size_mb = 1000;
  double concurrency = 500;
  bool nano = false;
  std::string out_path;
  std::vector<std::string> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--size-mb")
      size_mb = std::stod(value());
    else if (arg == "--concurrency")
      concurrency = std::stod(value());
    else if (arg == "--nanosecond")
      nano = true;
    else if (arg == "-o" || arg == "--output")
      out_path = value();
    else if (arg == "-h" || arg == "--help")
      return usage();
    else if (arg.starts_with("-"))
      throw std::runtime_error("unknown option " + std::string(arg));
    else
      inputs.emplace_back(arg);
  }
  if (out_path.empty() || inputs.empty() || size_mb <= 0 || concurrency <= 0) return usage();

  const auto t0 = std::chrono::steady_clock::now();
  std::cout << "make_pcap: samples\n";
  std::vector<Sample> samples;
  for (const auto& in : inputs) samples.push_back(load_sample(in));
  const std::int64_t base_ns = [&] {
    // Real-looking times: the first sample's capture time (its first packet is t = 0).
    const std::vector<unsigned char> head = read_file(inputs.front());
    std::uint32_t magic, sec, frac;
    std::memcpy(&magic, head.data(), 4);
    std::memcpy(&sec, head.data() + 24, 4);
    std::memcpy(&frac, head.data() + 28, 4);
    if (magic == bswap32(kMagicMicro) || magic == bswap32(kMagicNano)) {
      sec = bswap32(sec);
      frac = bswap32(frac);
    }
    const bool ns = magic == kMagicNano || magic == bswap32(kMagicNano);
    return std::int64_t{sec} * 1000000000 + std::int64_t{frac} * (ns ? 1 : 1000);
  }();

  // How many copies, and how far apart.
  const auto target = static_cast<std::uint64_t>(size_mb * 1e6);
  std::uint64_t copies = 0;
  std::uint64_t planned = 24;
  while (planned < target) planned += samples[copies++ % samples.size()].record_bytes;
  if (copies >= kMaxCopies - 2) throw std::runtime_error("too many copies (at most 16M)");
  double session_seconds = 0; // per copy, on average
  for (const auto& s : samples) session_seconds += s.session_seconds;
  session_seconds /= static_cast<double>(samples.size());
  const auto stagger_ns =
      std::max<std::int64_t>(1, static_cast<std::int64_t>(session_seconds / concurrency * 1e9));

  // Sessions open at once over the whole file (sweep of every copy's session opens/closes).
  std::uint64_t sessions = 0, messages = 0;
  std::vector<std::pair<std::int64_t, int>> edges;
  for (std::uint64_t k = 0; k < copies; ++k) {
    const Sample& s = samples[k % samples.size()];
    const auto start = static_cast<std::int64_t>(k) * stagger_ns;
    for (const auto& ses : s.sessions) {
      edges.emplace_back(start + ses.open_ns, 1);
      edges.emplace_back(start + ses.close_ns, -1);
    }
    sessions += s.sessions.size();
    messages += s.messages;
  }
  std::sort(edges.begin(), edges.end());
  long open = 0, peak = 0;
  double open_area = 0; // session-ns, to average over the middle half of the file
  const std::int64_t span = edges.empty() ? 0 : edges.back().first - edges.front().first;
  const std::int64_t mid_from = edges.empty() ? 0 : edges.front().first + span / 4;
  const std::int64_t mid_to = mid_from + span / 2;
  for (std::size_t i = 0; i < edges.size(); ++i) {
    open += edges[i].second;
    peak = std::max(peak, open);
    if (i + 1 < edges.size()) {
      const std::int64_t a = std::max(edges[i].first, mid_from);
      const std::int64_t b = std::min(edges[i + 1].first, mid_to);
      if (b > a) open_area += static_cast<double>(open) * static_cast<double>(b - a);
    }
  }
  const double steady = span / 2 > 0 ? open_area / static_cast<double>(span / 2) : 0;

  // The merge: one cursor per running copy, started in order of their start times.
  Output out(out_path);
  std::uint32_t snaplen = 0;
  for (const auto& s : samples) snaplen = std::max(snaplen, s.snaplen);
  {
    unsigned char* h = out.reserve(24);
    put32(h, nano ? kMagicNano : kMagicMicro);
    const std::uint16_t major = 2, minor = 4;
    std::memcpy(h + 4, &major, 2);
    std::memcpy(h + 6, &minor, 2);
    put32(h + 8, 0);
    put32(h + 12, 0);
    put32(h + 16, snaplen);
    put32(h + 20, kLinkEthernet);
    out.commit(24);
  }
  struct Cursor {
    std::int64_t t_ns;
    std::uint64_t copy;
    std::uint32_t index;
    bool operator>(const Cursor& o) const {
      return std::tie(t_ns, copy) > std::tie(o.t_ns, o.copy);
    }
  };
  std::priority_queue<Cursor, std::vector<Cursor>, std::greater<>> running;
  std::uint64_t next_copy = 0, packets = 0;
  std::size_t most_running = 0;
  for (;;) {
    const std::int64_t next_start = static_cast<std::int64_t>(next_copy) * stagger_ns;
    if (next_copy < copies && (running.empty() || next_start <= running.top().t_ns)) {
      running.push(
          {next_start + samples[next_copy % samples.size()].packets[0].t_ns, next_copy, 0});
      ++next_copy;
      most_running = std::max(most_running, running.size());
      continue;
    }
    if (running.empty()) break;
    const Cursor c = running.top();
    running.pop();
    const Sample& s = samples[c.copy % samples.size()];
    const Packet& p = s.packets[c.index];
    const std::int64_t t = base_ns + c.t_ns;
    unsigned char* r = out.reserve(16 + p.caplen);
    put32(r, static_cast<std::uint32_t>(t / 1000000000));
    put32(r + 4, static_cast<std::uint32_t>(nano ? t % 1000000000 : t % 1000000000 / 1000));
    put32(r + 8, p.caplen);
    put32(r + 12, p.origlen);
    unsigned char* d = r + 16;
    std::memcpy(d, s.bytes.data() + p.data, p.caplen);
    if (p.client_ip >= 0)
      store_be32(d + p.client_ip, 0x7f000000u + static_cast<std::uint32_t>(c.copy + 2));
    const auto seq_delta = static_cast<std::uint32_t>((c.copy + 1) * 0x9e3779b9u);
    for (std::uint32_t f = p.seq_begin; f < p.seq_end; ++f) {
      unsigned char* field = d + s.seq_fields[f];
      store_be32(field, load_be32(field) + seq_delta);
    }
    if (p.patch_begin < p.patch_end) {
      const auto suffix = sid_suffix(c.copy);
      for (std::uint32_t q = p.patch_begin; q < p.patch_end; ++q)
        d[s.patches[q].offset] = static_cast<unsigned char>(suffix[s.patches[q].digit]);
    }
    out.commit(16 + p.caplen);
    ++packets;
    if (c.index + 1 < s.packets.size())
      running.push({static_cast<std::int64_t>(c.copy) * stagger_ns + s.packets[c.index + 1].t_ns,
                    c.copy, c.index + 1});
  }
  out.close();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::cout.setf(std::ios::fixed);
  std::cout.precision(1);
  std::cout << "make_pcap: wrote " << out_path << ": " << out.written() << " bytes ("
            << static_cast<double>(out.written()) / 1e6 << " MB), " << packets << " packets, "
            << copies << " copies of " << samples.size() << " sample(s), " << sessions
            << " Engine.IO sessions, " << messages << " Socket.IO messages (per truth.json)\n";
  std::cout << "make_pcap: copies start " << static_cast<double>(stagger_ns) / 1e6
            << " ms apart over " << static_cast<double>(span) / 1e9
            << " s; sessions open at once: " << steady << " on average over the middle half, "
            << peak << " at most (target " << concurrency << "); at most " << most_running
            << " copies running\n";
  std::cout << "make_pcap: " << (nano ? "nanosecond" : "microsecond") << " pcap, Ethernet; " << secs
            << " s, " << static_cast<double>(out.written()) / 1e6 / secs << " MB/s\n";
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "make_pcap: " << e.what() << "\n";
    return 1;
  }
}
