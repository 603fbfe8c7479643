#include "sio/wire/tcp_reassembly.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <map>
#include <unordered_map>
#include <vector>

namespace sio::wire {

const char* to_string(CloseReason r) noexcept {
  switch (r) {
  case CloseReason::fin:
    return "fin";
  case CloseReason::rst:
    return "rst";
  case CloseReason::idle:
    return "idle";
  case CloseReason::evicted:
    return "evicted";
  case CloseReason::end_of_capture:
    return "end_of_capture";
  }
  return "?";
}

namespace {

constexpr std::uint8_t tcp_flag_fin = 0x01, tcp_flag_syn = 0x02, tcp_flag_rst = 0x04,
                       tcp_flag_ack = 0x10;

/// A connection's 4-tuple with its two endpoints in a fixed order (the "lower" one first), so
/// that both directions find the same entry.
struct Key {
  std::uint64_t lo_a = 0, lo_b = 0, hi_a = 0, hi_b = 0; ///< the two 16-byte addresses
  std::uint32_t ports = 0;                              ///< lower port << 16 | higher port
  std::uint32_t v6 = 0;
  bool operator==(const Key&) const = default;
};

struct KeyHash {
  std::size_t operator()(const Key& k) const noexcept {
    // Multiply-xorshift over the words: a few cycles, and spreads the low-entropy words of
    // IPv4 addresses (the upper halves are zero) over all bits.
    constexpr std::uint64_t m = 0x9E3779B97F4A7C15ull;
    std::uint64_t h = (k.lo_a ^ (std::uint64_t{k.ports} << 32 | k.v6)) * m;
    h = (h ^ (h >> 29) ^ k.hi_a) * m;
    h = (h ^ (h >> 31) ^ k.lo_b) * m;
    h = (h ^ (h >> 29) ^ k.hi_b) * m;
    return static_cast<std::size_t>(h ^ (h >> 32));
  }
};

/// The key of `src -> dst`; `src_low` tells whether src is the key's lower endpoint. Any
/// fixed order will do, so the addresses are compared as native words, not as byte strings.
Key make_key(const Endpoint& src, const Endpoint& dst, bool& src_low) noexcept {
  std::uint64_t s[2], d[2];
  std::memcpy(s, src.addr.data(), 16);
  std::memcpy(d, dst.addr.data(), 16);
  src_low = s[0] != d[0] ? s[0] < d[0] : s[1] != d[1] ? s[1] < d[1] : src.port <= dst.port;
  Key k;
  k.lo_a = src_low ? s[0] : d[0];
  k.lo_b = src_low ? s[1] : d[1];
  k.hi_a = src_low ? d[0] : s[0];
  k.hi_b = src_low ? d[1] : s[1];
  k.ports =
      src_low ? std::uint32_t{src.port} << 16 | dst.port : std::uint32_t{dst.port} << 16 | src.port;
  k.v6 = src.v6 ? 1 : 0;
  return k;
}

/// Out-of-order bytes of one direction starting at a stream offset (the map key). `missing`
/// bytes follow `data`: the part of the segment the snap length cut off (reported as a gap when
/// reached).
struct Chunk {
  std::vector<std::uint8_t> data;
  std::uint64_t missing = 0;
  std::int64_t ts_ns = 0;
  std::uint64_t packet = 0;
};

struct Dir {
  bool started = false; ///< `base` is known
  bool fin = false;
  std::uint32_t base = 0;     ///< sequence number of stream offset 0
  std::uint64_t next = 0;     ///< offset of the next byte to deliver
  std::uint64_t fin_off = 0;  ///< offset of the FIN (the stream's end)
  std::uint64_t buffered = 0; ///< bytes held in `held`
  std::map<std::uint64_t, Chunk> held;
};

struct Conn {
  Key key;
  ConnInfo info;
  bool client_is_low = false; ///< the client is the key's lower endpoint
  bool ignored = false;       ///< the factory returned nullptr: flags are followed, data dropped
  bool closed = false;        ///< a tombstone: closed, kept a while to swallow stray segments
  std::unique_ptr<TcpHandler> handler;
  Dir dir[2];
  std::uint64_t buffered = 0;
  std::int64_t last_ns = 0; ///< last activity, or the close time of a tombstone
  Conn* prev = nullptr;     ///< neighbours in the open (LRU) list or the tombstone list
  Conn* next = nullptr;
  std::size_t holder = npos; ///< index in Impl::holders while it holds out-of-order bytes
  static constexpr std::size_t npos = ~std::size_t{0};
};

/// An intrusive doubly linked list: O(1) move-to-back on every segment without allocation.
struct List {
  Conn* head = nullptr;
  Conn* tail = nullptr;
  std::size_t size = 0;

  void push_back(Conn* c) noexcept {
    c->prev = tail;
    c->next = nullptr;
    (tail ? tail->next : head) = c;
    tail = c;
    ++size;
  }
  void remove(Conn* c) noexcept {
    (c->prev ? c->prev->next : head) = c->next;
    (c->next ? c->next->prev : tail) = c->prev;
    c->prev = c->next = nullptr;
    --size;
  }
  void move_to_back(Conn* c) noexcept {
    if (tail == c) return;
    remove(c);
    push_back(c);
  }
};

/// The position of a 32-bit relative sequence number in a 64-bit stream, taken as the one
/// nearest to `ref` (the next expected offset): sequence numbers wrap every 4 GiB, but segments
/// never stray 2 GiB from where the stream is.
std::int64_t unwrap(std::uint32_t rel, std::uint64_t ref) noexcept {
  const auto diff = static_cast<std::int32_t>(rel - static_cast<std::uint32_t>(ref));
  return static_cast<std::int64_t>(ref) + diff;
}

} // namespace

struct TcpReassembler::Impl {
  Limits limits;
  Factory factory;
  Stats stats;
  std::unordered_map<Key, std::unique_ptr<Conn>, KeyHash> conns;
  List open;                  ///< open connections, least recently active first
  List tombs;                 ///< closed connections, oldest first
  std::vector<Conn*> holders; ///< connections holding out-of-order bytes (for total_buffer)
  Conn* last = nullptr;       ///< the previous segment's connection: consecutive packets
  Key last_key;               ///< usually share one, so the hash lookup is skipped
  std::uint64_t next_id = 1;
  std::int64_t tomb_life_ns;
  std::size_t max_tombs;

  Impl(Limits l, Factory f) : limits(l), factory(std::move(f)) {
    // Stray segments after a close (the last ACK, retransmitted FINs, data in flight behind an
    // RST) come within seconds; a minute covers TIME_WAIT and bounds the memory kept.
    tomb_life_ns = std::min<std::int64_t>(limits.idle_timeout_ns, 60'000'000'000);
    max_tombs =
        static_cast<std::size_t>(std::clamp<std::uint64_t>(limits.max_connections, 1, 65536));
    if (limits.max_connections == 0) limits.max_connections = 1;
  }

  // ---- delivery ----

  void deliver(Conn& c, Side side, std::span<const std::uint8_t> bytes, std::uint64_t offset,
               std::int64_t ts, std::uint64_t packet) {
    if (bytes.empty()) return;
    stats.payload_bytes += bytes.size();
    c.handler->on_data(side, bytes, offset, ts, packet);
  }

  void gap(Conn& c, Side side, std::uint64_t offset, std::uint64_t length, std::int64_t ts) {
    if (length == 0) return;
    ++stats.gaps;
    stats.gap_bytes += length;
    c.handler->on_gap(side, offset, length, ts);
  }

  void release(Conn& c, Dir& d, std::uint64_t n) {
    d.buffered -= n;
    c.buffered -= n;
    stats.buffered_bytes -= n;
    if (c.buffered == 0 && c.holder != Conn::npos) {
      holders[c.holder] = holders.back();
      holders[c.holder]->holder = c.holder;
      holders.pop_back();
      c.holder = Conn::npos;
    }
  }

  /// Delivers the held chunks that continue the stream at `next`. In-order arrival passes the
  /// completing packet (`current`); hole skipping passes none and each chunk keeps its own.
  void drain(Conn& c, Side side, bool current, std::int64_t ts, std::uint64_t packet) {
    Dir& d = c.dir[static_cast<int>(side)];
    while (!d.held.empty()) {
      auto it = d.held.begin();
      const std::uint64_t start = it->first;
      if (start > d.next) break;
      Chunk& ch = it->second;
      const std::uint64_t size = ch.data.size();
      const std::uint64_t data_end = start + size, end = data_end + ch.missing;
      const std::int64_t t = current ? ts : ch.ts_ns;
      const std::uint64_t pk = current ? packet : ch.packet;
      if (data_end > d.next) {
        const std::uint64_t skip = d.next - start;
        stats.retransmitted_bytes += skip;
        deliver(c, side, std::span<const std::uint8_t>(ch.data).subspan(skip), d.next, t, pk);
        d.next = data_end;
      } else {
        stats.retransmitted_bytes += size;
      }
      if (end > d.next) {
        gap(c, side, d.next, end - d.next, t);
        d.next = end;
      }
      release(c, d, size);
      d.held.erase(it);
    }
  }

  /// Gives up on the hole before the first held chunk: reports it, then delivers what follows.
  void skip_hole(Conn& c, Side side) {
    Dir& d = c.dir[static_cast<int>(side)];
    if (d.held.empty()) return;
    const auto& [start, ch] = *d.held.begin();
    if (start > d.next) {
      gap(c, side, d.next, start - d.next, ch.ts_ns);
      d.next = start;
    }
    drain(c, side, false, 0, 0);
  }

  /// Moves `next` up to `target` across bytes known to be lost (cut by the snap length),
  /// delivering held bytes inside that range rather than reporting them as missing.
  void skip_to(Conn& c, Side side, std::uint64_t target, std::int64_t ts, std::uint64_t packet) {
    Dir& d = c.dir[static_cast<int>(side)];
    while (d.next < target) {
      if (!d.held.empty() && d.held.begin()->first <= d.next) {
        drain(c, side, true, ts, packet);
        continue;
      }
      const std::uint64_t hole_end =
          d.held.empty() ? target : std::min(target, d.held.begin()->first);
      gap(c, side, d.next, hole_end - d.next, ts);
      d.next = hole_end;
    }
    drain(c, side, true, ts, packet);
  }

  /// Stores an out-of-order segment, keeping only the bytes no held chunk already covers (the
  /// first copy of a byte wins).
  void hold(Conn& c, Side side, std::uint64_t off, std::span<const std::uint8_t> payload,
            std::uint64_t missing, std::int64_t ts, std::uint64_t packet) {
    Dir& d = c.dir[static_cast<int>(side)];
    const std::uint64_t data_end = off + payload.size(), end = data_end + missing;
    auto extent_end = [](const auto& entry) {
      return entry.first + entry.second.data.size() + entry.second.missing;
    };
    std::uint64_t cur = off, kept = 0;
    auto it = d.held.upper_bound(off);
    if (it != d.held.begin()) cur = std::max(cur, extent_end(*std::prev(it)));
    while (cur < end) {
      const std::uint64_t stop = it != d.held.end() ? std::min(end, it->first) : end;
      if (stop > cur) {
        // The piece [cur, stop): its captured part first, then its cut-off part.
        const std::uint64_t piece_data_end = std::clamp(data_end, cur, stop);
        Chunk ch;
        if (piece_data_end > cur)
          ch.data.assign(payload.begin() + static_cast<std::ptrdiff_t>(cur - off),
                         payload.begin() + static_cast<std::ptrdiff_t>(piece_data_end - off));
        ch.missing = stop - piece_data_end;
        ch.ts_ns = ts;
        ch.packet = packet;
        kept += ch.data.size();
        d.held.emplace_hint(it, cur, std::move(ch));
      }
      if (it == d.held.end() || it->first >= end) break;
      cur = std::max(cur, extent_end(*it));
      ++it;
    }
    stats.retransmitted_bytes += payload.size() - kept;
    if (kept == 0) return;
    if (c.buffered == 0) {
      c.holder = holders.size();
      holders.push_back(&c);
    }
    d.buffered += kept;
    c.buffered += kept;
    stats.buffered_bytes += kept;
    stats.peak_buffered_bytes = std::max(stats.peak_buffered_bytes, stats.buffered_bytes);
  }

  /// A segment's payload at stream offset `off` (not before the stream start).
  void on_payload(Conn& c, Side side, std::uint64_t off, std::span<const std::uint8_t> payload,
                  std::uint64_t missing, std::int64_t ts, std::uint64_t packet) {
    Dir& d = c.dir[static_cast<int>(side)];
    const std::uint64_t data_end = off + payload.size(), end = data_end + missing;
    if (end <= d.next) { // all seen before
      stats.retransmitted_bytes += payload.size();
      return;
    }
    if (off > d.next) { // ahead of a hole
      ++stats.out_of_order;
      hold(c, side, off, payload, missing, ts, packet);
      while (d.buffered > limits.per_flow_buffer) skip_hole(c, side);
      return;
    }
    // In order (possibly overlapping what came before). The common case, with nothing held,
    // is one on_data() with a span of the packet itself.
    std::uint64_t cur = d.next;
    if (cur > off) stats.retransmitted_bytes += std::min(cur, data_end) - off;
    while (cur < data_end) {
      std::uint64_t limit = data_end;
      if (!d.held.empty() && d.held.begin()->first < limit)
        limit = std::max(cur, d.held.begin()->first); // held bytes came first: they win
      if (limit > cur) {
        deliver(c, side, payload.subspan(cur - off, limit - cur), cur, ts, packet);
        d.next = cur = limit;
      }
      drain(c, side, true, ts, packet);
      if (d.next > cur) {
        const std::uint64_t upto = std::min(d.next, data_end);
        stats.retransmitted_bytes += upto - cur;
        cur = upto;
      }
    }
    if (end > d.next) skip_to(c, side, end, ts, packet); // the snap length cut the rest
  }

  // ---- connection life ----

  void erase_tomb(Conn* c) {
    tombs.remove(c);
    if (last == c) last = nullptr;
    conns.erase(c->key);
  }

  /// Ends a connection: each direction delivers what it holds (holes reported, and the bytes
  /// before a FIN that never came), then on_close(). The entry stays as a tombstone.
  void close(Conn* c, CloseReason reason, std::int64_t ts) {
    if (!c->ignored) {
      for (const Side side : {Side::client, Side::server}) {
        Dir& d = c->dir[static_cast<int>(side)];
        while (!d.held.empty()) skip_hole(*c, side);
        if (d.fin && d.fin_off > d.next) {
          gap(*c, side, d.next, d.fin_off - d.next, ts);
          d.next = d.fin_off;
        }
      }
      auto handler = std::move(c->handler);
      handler->on_close(reason, ts);
    }
    c->handler.reset();
    open.remove(c);
    --stats.open;
    c->closed = true;
    c->last_ns = ts;
    tombs.push_back(c);
    while (tombs.size > max_tombs) erase_tomb(tombs.head);
  }

  void close_if_finished(Conn* c, std::int64_t ts) {
    const Dir& a = c->dir[0];
    const Dir& b = c->dir[1];
    if (a.fin && b.fin && a.next >= a.fin_off && b.next >= b.fin_off)
      close(c, CloseReason::fin, ts);
  }

  /// A new connection for `seg`'s tuple (replacing a tombstone when there is one).
  Conn* create(const Key& k, const TcpSegment& seg, bool src_low, std::int64_t ts,
               std::uint64_t packet) {
    while (open.size >= limits.max_connections && open.head) {
      ++stats.evicted;
      close(open.head, CloseReason::evicted, ts);
    }
    auto c = std::make_unique<Conn>();
    c->key = k;
    const bool syn = (seg.flags & tcp_flag_syn) != 0, ack = (seg.flags & tcp_flag_ack) != 0;
    // Who is the client: the SYN's sender; the SYN-ACK's receiver; else a guess, the higher
    // port (servers listen on the low, well-known ports; clients get ephemeral high ones).
    bool src_is_client = true;
    if (syn)
      src_is_client = !ack;
    else if (seg.src.port != seg.dst.port)
      src_is_client = seg.src.port > seg.dst.port;
    c->client_is_low = src_is_client == src_low;
    ConnInfo& info = c->info;
    info.id = next_id++;
    info.client = src_is_client ? seg.src : seg.dst;
    info.server = src_is_client ? seg.dst : seg.src;
    info.saw_syn = syn; // a SYN-ACK tells the roles as surely as a SYN does
    info.start_ns = ts;
    info.first_packet = packet;
    c->handler = factory(info);
    c->ignored = c->handler == nullptr;
    c->last_ns = ts;
    ++stats.connections;
    ++stats.open;
    Conn* raw = c.get();
    open.push_back(raw);
    auto [it, inserted] = conns.try_emplace(k);
    if (!inserted) { // a tombstone
      tombs.remove(it->second.get());
      if (last == it->second.get()) last = nullptr;
    }
    it->second = std::move(c);
    return raw;
  }

  void enforce_total() {
    while (stats.buffered_bytes > limits.total_buffer && !holders.empty()) {
      Conn* worst =
          *std::max_element(holders.begin(), holders.end(),
                            [](const Conn* a, const Conn* b) { return a->buffered < b->buffered; });
      const Side side =
          worst->dir[0].buffered >= worst->dir[1].buffered ? Side::client : Side::server;
      skip_hole(*worst, side);
    }
  }

  void add(const TcpSegment& seg, std::int64_t ts, std::uint64_t packet) {
    ++stats.segments;
    bool src_low = false;
    const Key k = make_key(seg.src, seg.dst, src_low);
    Conn* c = nullptr;
    if (last && last_key == k) {
      c = last;
    } else {
      const auto it = conns.find(k);
      if (it != conns.end()) c = it->second.get();
    }
    const std::uint8_t flags = seg.flags;
    const bool syn = (flags & tcp_flag_syn) != 0, ack = (flags & tcp_flag_ack) != 0;

    if (c && c->closed) {
      if (!syn) return; // a straggler of the closed connection
      c = create(k, seg, src_low, ts, packet);
    } else if (c && syn && !ack && (c->dir[0].fin || c->dir[1].fin) &&
               !(src_low == c->client_is_low && c->dir[0].started &&
                 seg.seq + 1 == c->dir[0].base)) {
      // A new SYN (not a retransmission of this connection's own) on a closing connection:
      // the port pair has been reused.
      close(c, CloseReason::fin, ts);
      c = create(k, seg, src_low, ts, packet);
    } else if (!c) {
      // A lone ACK, FIN or RST of a connection we never saw starts nothing: no bytes follow
      // from it and it would only leave an empty flow behind.
      if ((flags & tcp_flag_rst) != 0 || (!syn && seg.payload.empty() && seg.payload_missing == 0))
        return;
      c = create(k, seg, src_low, ts, packet);
    }
    last = c;
    last_key = k;

    const Side side = src_low == c->client_is_low ? Side::client : Side::server;
    c->last_ns = ts;
    open.move_to_back(c);

    Dir& d = c->dir[static_cast<int>(side)];
    if (c->ignored) { // follow the flags only, to know when the tuple is free again
      if ((flags & tcp_flag_rst) != 0)
        close(c, CloseReason::rst, ts);
      else if ((flags & tcp_flag_fin) != 0 && !d.fin) {
        d.fin = true;
        close_if_finished(c, ts);
      }
      return;
    }

    Dir& o = c->dir[static_cast<int>(other(side))];
    const std::uint32_t syn_len = syn ? 1 : 0; // the SYN takes one sequence number
    std::span<const std::uint8_t> payload = seg.payload;
    std::uint64_t missing = seg.payload_missing;
    if (!d.started) {
      // A bare ACK does not set the start: a keep-alive probe carries seq = next - 1, which
      // would leave a one-byte hole before everything that follows.
      if (!syn && payload.empty() && missing == 0 && (flags & (tcp_flag_fin | tcp_flag_rst)) == 0)
        return;
      d.started = true;
      d.base = seg.seq + syn_len;
    }
    if (syn && ack && !o.started) { // the SYN-ACK acknowledges the peer's first byte
      o.started = true;
      o.base = seg.ack;
    }
    if ((flags & tcp_flag_rst) != 0) {
      close(c, CloseReason::rst, ts);
      return;
    }

    const std::int64_t at = unwrap(seg.seq + syn_len - d.base, d.next);
    const std::int64_t seg_end =
        at + static_cast<std::int64_t>(payload.size()) + static_cast<std::int64_t>(missing);
    std::uint64_t off = 0;
    if (at >= 0) {
      off = static_cast<std::uint64_t>(at);
    } else {
      // Bytes from before the stream's start (a capture that began mid-connection sees an
      // older segment late): they can never be delivered in order, so they are dropped.
      const auto cut = static_cast<std::uint64_t>(-at);
      const std::uint64_t cut_data = std::min<std::uint64_t>(cut, payload.size());
      stats.retransmitted_bytes += cut_data;
      payload = payload.subspan(cut_data);
      missing -= std::min(missing, cut - cut_data);
    }
    if (!payload.empty() || missing > 0) on_payload(*c, side, off, payload, missing, ts, packet);

    if ((flags & tcp_flag_fin) != 0 && !d.fin) {
      d.fin = true;
      d.fin_off = seg_end > 0 ? static_cast<std::uint64_t>(seg_end) : 0;
    }
    if (d.fin || o.fin) close_if_finished(c, ts);
    if (stats.buffered_bytes > limits.total_buffer) enforce_total();
  }
};

TcpReassembler::TcpReassembler(Limits limits, Factory factory)
    : impl_(std::make_unique<Impl>(limits, std::move(factory))) {}

TcpReassembler::~TcpReassembler() = default;

void TcpReassembler::add(const TcpSegment& seg, std::int64_t ts_ns, std::uint64_t packet) {
  impl_->add(seg, ts_ns, packet);
}

void TcpReassembler::expire(std::int64_t now_ns) {
  Impl& m = *impl_;
  // Both lists are in activity order, so only their heads need a look when nothing is due.
  while (m.open.head && now_ns - m.open.head->last_ns > m.limits.idle_timeout_ns) {
    ++m.stats.idle_closed;
    m.close(m.open.head, CloseReason::idle, now_ns);
  }
  while (m.tombs.head && now_ns - m.tombs.head->last_ns > m.tomb_life_ns)
    m.erase_tomb(m.tombs.head);
}

void TcpReassembler::flush_all(std::int64_t now_ns) {
  Impl& m = *impl_;
  std::vector<Conn*> all;
  all.reserve(m.open.size);
  for (Conn* c = m.open.head; c; c = c->next) all.push_back(c);
  // In order of first packet, so that what follows from the closes does not depend on activity.
  std::sort(all.begin(), all.end(),
            [](const Conn* a, const Conn* b) { return a->info.id < b->info.id; });
  for (Conn* c : all) m.close(c, CloseReason::end_of_capture, now_ns);
}

const TcpReassembler::Stats& TcpReassembler::stats() const noexcept {
  return impl_->stats;
}

} // namespace sio::wire
