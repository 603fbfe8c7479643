#include "sio/wire/http_stream.hpp"

#include "sio/common/front_queue.hpp"
#include "sio/common/url.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

namespace sio::wire {
namespace {

using Bytes = std::span<const std::uint8_t>;
using ErrorKind = HttpConnection::ErrorKind;

bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view as_text(const std::uint8_t* p, std::size_t n) noexcept {
  return {reinterpret_cast<const char*>(p), n};
}

/// Calls f(element) for each non-empty element of a comma-separated header value, trimmed.
template <class F> void for_each_element(std::string_view list, F&& f) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view e = trim(list.substr(0, comma));
    if (!e.empty()) f(e);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

/// Transfer-Encoding: the message is chunked when chunked is the last coding applied.
bool last_coding_is_chunked(std::string_view te) {
  std::string_view last;
  for_each_element(te, [&](std::string_view e) { last = trim(e.substr(0, e.find(';'))); });
  return iequals(last, "chunked");
}

std::string_view strip_eol(std::string_view line) noexcept {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// ---- start lines -----------------------------------------------------------------------------

/// The methods a resynchronisation accepts as the start of a request. Anything rarer would only
/// raise the odds of taking body bytes for a request line.
constexpr std::array<std::string_view, 9> methods{"GET",     "POST",  "PUT",     "DELETE", "HEAD",
                                                  "OPTIONS", "PATCH", "CONNECT", "TRACE"};
constexpr std::string_view http2_preface = "PRI * HTTP/2.0";

bool is_http1(std::string_view v) noexcept {
  return v.size() == 8 && v.substr(0, 7) == "HTTP/1." && v[7] >= '0' && v[7] <= '9';
}

struct RequestLine {
  std::string_view method, target, version;
};
struct StatusLine {
  std::string_view version, reason;
  int status = 0;
};

bool parse_request_line(std::string_view line, RequestLine& out) {
  const std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  out.method = line.substr(0, sp1);
  if (std::find(methods.begin(), methods.end(), out.method) == methods.end()) return false;
  const std::string_view rest = line.substr(sp1 + 1);
  const std::size_t sp2 = rest.find(' ');
  if (sp2 == std::string_view::npos || sp2 == 0) return false;
  out.target = rest.substr(0, sp2);
  for (const char c : out.target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  out.version = rest.substr(sp2 + 1);
  return is_http1(out.version);
}

bool parse_status_line(std::string_view line, StatusLine& out) {
  if (line.size() < 12 || !is_http1(line.substr(0, 8)) || line[8] != ' ') return false;
  int status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return false;
    status = status * 10 + (line[i] - '0');
  }
  if (status < 100 || status > 599) return false;
  if (line.size() > 12 && line[12] != ' ') return false;
  out.version = line.substr(0, 8);
  out.status = status;
  out.reason = line.size() > 13 ? trim(line.substr(13)) : std::string_view{};
  return true;
}

/// Whether `prefix` (a line not complete yet) may still become a start line of `side`: tells a
/// connection that ended inside a start line from one that ended inside garbage.
bool could_start(std::string_view prefix, Side side) {
  const auto prefix_of = [&](std::string_view full) {
    const std::size_t k = std::min(prefix.size(), full.size());
    return prefix.substr(0, k) == full.substr(0, k);
  };
  if (side == Side::server) return prefix_of("HTTP/1.");
  if (prefix_of(http2_preface)) return true;
  for (const std::string_view m : methods) {
    if (prefix_of(m) && (prefix.size() <= m.size() || prefix[m.size()] == ' ')) return true;
  }
  return false;
}

enum class LineKind { empty, start, http2, other };

LineKind classify_line(std::string_view line, Side side) {
  line = strip_eol(line);
  if (line.empty()) return LineKind::empty;
  if (side == Side::server) {
    StatusLine s;
    return parse_status_line(line, s) ? LineKind::start : LineKind::other;
  }
  if (line == http2_preface) return LineKind::http2;
  RequestLine r;
  return parse_request_line(line, r) ? LineKind::start : LineKind::other;
}

/// Where a start line of `side` begins inside `line` (which ends with its '\n') when bytes are
/// glued before it, or npos. After a gap the body of a lost message runs straight into the next
/// start line ("okHTTP/1.1 200 OK"); only a strict match counts: the whole rest of the line must
/// be a start line, and for a request a known method must precede its target.
std::size_t glued_start(std::string_view line, Side side) {
  constexpr auto npos = std::string_view::npos;
  line = strip_eol(line);
  if (side == Side::server) {
    for (std::size_t k = line.find("HTTP/1."); k != npos; k = line.find("HTTP/1.", k + 1)) {
      StatusLine l;
      if (parse_status_line(line.substr(k), l)) return k;
    }
    return npos;
  }
  if (line.size() < 9 || line[line.size() - 9] != ' ' || !is_http1(line.substr(line.size() - 8)))
    return npos;
  const std::size_t sp2 = line.size() - 9;
  if (sp2 < 2) return npos;
  const std::size_t sp1 = line.rfind(' ', sp2 - 1);
  if (sp1 == npos || sp1 + 1 == sp2) return npos;
  for (const std::string_view m : methods) {
    if (sp1 < m.size() || line.substr(sp1 - m.size(), m.size()) != m) continue;
    RequestLine r;
    if (parse_request_line(line.substr(sp1 - m.size()), r)) return sp1 - m.size();
  }
  return npos;
}

/// Parses one "Name: value" line into `headers`; an obs-fold line continues the previous value.
/// Lines without a name are dropped: they carry nothing a reader of the capture could use.
void add_header_line(std::string_view line, std::vector<HttpHeader>& headers) {
  line = strip_eol(line);
  if (line.empty()) return;
  if (is_ows(line.front())) {
    const std::string_view more = trim(line);
    if (headers.empty() || more.empty()) return;
    std::string& v = headers.back().value;
    if (!v.empty()) v += ' ';
    v += more;
    return;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return;
  const std::string_view name = trim(line.substr(0, colon));
  if (name.empty()) return;
  headers.push_back({std::string(name), std::string(trim(line.substr(colon + 1)))});
}

/// Content-Length of a message: every Content-Length field (and every element of a list value)
/// must agree, as RFC 9110 asks, or the end of the message is unknown.
enum class Length { none, ok, bad };
Length content_length(const std::vector<HttpHeader>& headers, std::uint64_t& out) {
  bool seen = false, bad = false;
  for (const auto& h : headers) {
    if (!iequals(h.name, "Content-Length")) continue;
    if (trim(h.value).empty()) bad = true;
    for_each_element(h.value, [&](std::string_view e) {
      std::uint64_t v = 0;
      for (const char c : e) {
        if (c < '0' || c > '9' || v > (std::numeric_limits<std::uint64_t>::max() - 9) / 10) {
          bad = true;
          return;
        }
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
      }
      if (seen && v != out) bad = true;
      out = v;
      seen = true;
    });
  }
  if (bad) return Length::bad;
  return seen ? Length::ok : Length::none;
}

// ---- Content-Encoding ------------------------------------------------------------------------

enum class Inflated { ok, bad, limit };

/// Inflates a whole body with zlib (`window_bits` as inflateInit2 takes them), into `out`, never
/// producing more than `max_out` + 1 bytes (one more tells "over the limit" from "exactly at it").
/// gzip bodies may hold several members (RFC 1952); bytes after the end of the stream are
/// ignored, as browsers do.
Inflated inflate_body(std::string_view in, int window_bits, std::uint64_t max_out,
                      std::string& out) {
  z_stream z{};
  if (inflateInit2(&z, window_bits) != Z_OK) return Inflated::bad;
  const bool gzip = window_bits > 15;
  constexpr std::size_t step = std::size_t{1} << 30; // what one zlib call takes (uInt)
  const std::uint64_t cap64 = max_out >= std::numeric_limits<std::size_t>::max() - 1
                                  ? std::numeric_limits<std::size_t>::max() - 1
                                  : max_out + 1;
  const auto cap = static_cast<std::size_t>(cap64);
  const auto* data = reinterpret_cast<const Bytef*>(in.data());
  std::size_t in_pos = 0, produced = 0;
  out.assign(std::min(std::max(in.size() * 4, std::size_t{4096}), cap), '\0');
  Inflated result = Inflated::bad;
  for (;;) {
    if (z.avail_in == 0 && in_pos < in.size()) {
      const std::size_t n = std::min(in.size() - in_pos, step);
      z.next_in = const_cast<Bytef*>(data + in_pos);
      z.avail_in = static_cast<uInt>(n);
      in_pos += n;
    }
    if (produced == out.size()) {
      if (out.size() >= cap) {
        result = Inflated::limit;
        break;
      }
      out.resize(std::min(out.size() * 2, cap));
    }
    const std::size_t room = std::min(out.size() - produced, step);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z.avail_out = static_cast<uInt>(room);
    const int ret = inflate(&z, Z_NO_FLUSH);
    produced += room - z.avail_out;
    if (ret == Z_STREAM_END) {
      const std::size_t left = z.avail_in + (in.size() - in_pos);
      const Bytef* rest = data + (in.size() - left);
      if (gzip && left >= 2 && rest[0] == 0x1f && rest[1] == 0x8b && inflateReset(&z) == Z_OK)
        continue; // another gzip member
      result = produced > max_out ? Inflated::limit : Inflated::ok;
      break;
    }
    if (ret == Z_BUF_ERROR && z.avail_out == 0) continue; // needs room: grown above
    if (ret != Z_OK) break;                               // corrupt, or input ended early
    if (z.avail_in == 0 && in_pos == in.size() && z.avail_out != 0) break; // truncated
  }
  inflateEnd(&z);
  if (result != Inflated::ok) {
    out.clear();
    return result;
  }
  out.resize(produced);
  return Inflated::ok;
}

// ---- buffering -------------------------------------------------------------------------------

/// Which packet brought the bytes from stream offset `off` on (up to the next mark).
struct Mark {
  std::uint64_t off;
  std::int64_t ts;
  std::uint64_t packet;
};

/// One side's bytes not parsed yet, with the packets they came in. Consumed from the front by
/// moving `pos_`; the vector is compacted only when the consumed part is at least as large as the
/// rest, so that a connection of many small messages costs linear time, not quadratic.
class Buffer {
public:
  [[nodiscard]] std::size_t size() const noexcept { return data_.size() - pos_; }
  [[nodiscard]] bool empty() const noexcept { return pos_ == data_.size(); }
  [[nodiscard]] const std::uint8_t* data() const noexcept { return data_.data() + pos_; }
  /// Stream offset of data()[0].
  [[nodiscard]] std::uint64_t offset() const noexcept { return base_ + pos_; }
  [[nodiscard]] const FrontQueue<Mark>& marks() const noexcept { return marks_; }

  /// `bytes` must follow the buffered ones in the stream (a gap clears the buffer first).
  void append(Bytes bytes, std::uint64_t off, std::int64_t ts, std::uint64_t packet) {
    if (empty()) {
      data_.clear();
      pos_ = 0;
      base_ = off;
      marks_.clear();
    } else if (pos_ >= 4096 && pos_ >= data_.size() - pos_) {
      data_.erase(data_.begin(), data_.begin() + static_cast<std::ptrdiff_t>(pos_));
      base_ += pos_;
      pos_ = 0;
    }
    data_.insert(data_.end(), bytes.begin(), bytes.end());
    if (marks_.empty() || marks_.back().ts != ts || marks_.back().packet != packet)
      marks_.push_back({off, ts, packet});
  }

  void consume(std::size_t n) noexcept {
    pos_ += n;
    // Keep the mark of the last consumed byte: a message that ends there needs its packet.
    const std::uint64_t at = offset();
    while (marks_.size() >= 2 && marks_[1].off < at) marks_.pop_front();
  }

  /// The mark of the byte at `off` (a buffered byte or the last consumed one). Marks before the
  /// front are dropped as bytes are consumed, so the walk is short.
  [[nodiscard]] Mark mark(std::uint64_t off) const noexcept {
    if (marks_.empty()) return {off, 0, 0};
    std::size_t i = 0;
    while (i + 1 < marks_.size() && marks_[i + 1].off <= off) ++i;
    return marks_[i];
  }

  void clear() noexcept {
    data_.clear();
    pos_ = 0;
    marks_.clear();
  }

  /// Calls f(bytes, offset, ts, packet) for the unconsumed bytes, one call per packet.
  template <class F> void for_each_run(F&& f) const {
    const std::uint64_t start = offset(), end = base_ + data_.size();
    for (std::size_t i = 0; i < marks_.size(); ++i) {
      const std::uint64_t from = std::max(marks_[i].off, start);
      const std::uint64_t to = i + 1 < marks_.size() ? std::min(marks_[i + 1].off, end) : end;
      if (from >= to) continue;
      f(Bytes(data_.data() + (from - base_), static_cast<std::size_t>(to - from)), from,
        marks_[i].ts, marks_[i].packet);
    }
  }

private:
  std::vector<std::uint8_t> data_;
  std::size_t pos_ = 0;
  std::uint64_t base_ = 0;
  FrontQueue<Mark> marks_;
};

/// Client bytes (or a gap) that arrived after a request asking for an upgrade, held until the
/// response says whether they are HTTP or the new protocol.
struct Held {
  bool gap = false;
  std::uint64_t off = 0, length = 0; ///< length: of the gap
  std::int64_t ts = 0;
  std::uint64_t packet = 0;
  std::vector<std::uint8_t> bytes;
};

enum class State {
  start,        ///< at a message boundary, or looking for one (resynchronising)
  head,         ///< start line seen, waiting for the empty line that ends the head
  body,         ///< Content-Length body: `remaining` bytes to go
  chunk_size,   ///< chunked: a chunk-size line
  chunk_data,   ///< chunked: `remaining` bytes of chunk data
  chunk_end,    ///< chunked: the CRLF after chunk data
  trailers,     ///< chunked: trailer fields up to the empty line
  until_close,  ///< response body delimited by the end of the connection
  wait_upgrade, ///< client: after an Upgrade request, until its response (bytes are held)
};

/// Longest chunk-size line accepted (chunk extensions included).
constexpr std::size_t max_chunk_line = 4096;
/// Requests waiting for their response; more means the server side is missing from the capture,
/// and the oldest are dropped to bound memory.
constexpr std::size_t max_pending = 1024;

struct Pending {
  HttpRequest req;
  bool upgrade = false; ///< it asked for an upgrade: the client side holds its bytes
};

struct SideState {
  explicit SideState(Side s) : side(s) {}
  Side side;
  Buffer buf;
  State st = State::start;
  bool fed = false;
  std::uint64_t next = 0; ///< stream offset expected next

  // Looking for a message start.
  bool line_start = true;  ///< buf's front is at the start of a line
  bool skip_quiet = false; ///< the skipping follows an error already reported
  std::uint64_t skipped = 0, skip_off = 0;

  // The message in progress.
  std::uint64_t scan = 0;      ///< stream offset from which to look for the next line end
  std::uint64_t remaining = 0; ///< body or chunk bytes to go
  std::uint64_t trailer_bytes = 0;
  bool discard = false; ///< the message is lost (reported): its bytes are only counted off
  HttpRequest req;      ///< client side
  HttpResponse resp;    ///< server side
  std::optional<HttpRequest> paired; ///< server side: the request `resp` answers

  // Client side: bytes after an Upgrade request.
  std::vector<Held> held;
  std::uint64_t held_bytes = 0;

  // Server side: a gap was seen since the last response head.
  bool after_gap = false;

  HttpMessage& msg() noexcept {
    return side == Side::client ? static_cast<HttpMessage&>(req) : static_cast<HttpMessage&>(resp);
  }
  const char* noun() const noexcept { return side == Side::client ? "request" : "response"; }
};

} // namespace

const std::string* find_header(const std::vector<HttpHeader>& headers, std::string_view name) {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

struct HttpConnection::Impl {
  Impl(Handler& h, Limits l) : handler(h), limits(l) {}

  Handler& handler;
  Limits limits;
  SideState sides[2] = {SideState(Side::client), SideState(Side::server)};
  FrontQueue<Pending> pending;
  bool upgraded = false, dead = false, closed = false;

  SideState& client() noexcept { return sides[0]; }
  SideState& server() noexcept { return sides[1]; }
  SideState& of(Side s) noexcept { return sides[s == Side::client ? 0 : 1]; }

  void error(const SideState& s, ErrorKind kind, std::uint64_t off, std::string what) {
    handler.on_error(s.side, kind, off, std::move(what));
  }

  // ---- entry points -------------------------------------------------------------------------

  void feed(Side side, Bytes bytes, std::uint64_t off, std::int64_t ts, std::uint64_t packet) {
    if (dead || closed || bytes.empty()) return;
    SideState& s = of(side);
    if (s.fed && off != s.next) {
      if (off > s.next) {
        // Defensive: the caller skipped bytes without saying so; treat them as a gap.
        gap(side, s.next, off - s.next);
        if (dead) return drop_all();
      } else {
        const std::uint64_t dup = s.next - off; // already seen: the first copy wins
        if (dup >= bytes.size()) return;
        bytes = bytes.subspan(static_cast<std::size_t>(dup));
        off = s.next;
      }
    }
    s.fed = true;
    s.next = off + bytes.size();
    ingest(s, bytes, off, ts, packet);
    if (dead) drop_all();
  }

  void gap(Side side, std::uint64_t off, std::uint64_t length) {
    if (dead || closed) return;
    SideState& s = of(side);
    if (s.fed && off != s.next) {
      if (off > s.next) {
        length += off - s.next;
        off = s.next;
      } else {
        const std::uint64_t dup = s.next - off;
        if (dup >= length) return;
        length -= dup;
        off = s.next;
      }
    }
    if (length == 0) return;
    s.fed = true;
    s.next = off + length;
    gap_ingest(s, off, length);
    if (dead) drop_all();
  }

  void close() {
    if (closed) return;
    closed = true;
    if (dead || upgraded) return drop_all();
    // An Upgrade request never answered: what followed it is read as HTTP after all (and may
    // hold another Upgrade request, hence the loop; each round consumes a request).
    while (!dead && !upgraded && client().st == State::wait_upgrade) release_client();
    if (!dead && !upgraded) {
      for (SideState& s : sides) close_side(s);
    }
    drop_all();
  }

  void drop_all() {
    for (SideState& s : sides) {
      s.buf.clear();
      s.held.clear();
      s.held_bytes = 0;
      s.req = HttpRequest{};
      s.resp = HttpResponse{};
      s.paired.reset();
    }
    pending.clear();
  }

  /// Bytes in stream order, past the contiguity checks.
  void ingest(SideState& s, Bytes bytes, std::uint64_t off, std::int64_t ts, std::uint64_t packet) {
    if (upgraded) {
      handler.on_raw(s.side, bytes, off, ts, packet);
      return;
    }
    if (s.st == State::wait_upgrade) {
      hold(s, bytes, off, ts, packet);
      return;
    }
    s.buf.append(bytes, off, ts, packet);
    process(s);
  }

  void gap_ingest(SideState& s, std::uint64_t off, std::uint64_t length) {
    const std::string size = std::to_string(length) + " byte(s) missing";
    if (upgraded) {
      error(s, ErrorKind::gap, off, size + " after the protocol switch");
      return;
    }
    if (s.st == State::wait_upgrade) {
      Held h;
      h.gap = true;
      h.off = off;
      h.length = length;
      s.held.push_back(std::move(h));
      return;
    }
    end_skip(s);
    // A gap wholly inside counted body bytes loses that message only: the next one starts at a
    // known offset, so no resynchronisation is needed.
    if ((s.st == State::body || s.st == State::chunk_data) && s.buf.empty() &&
        length <= s.remaining) {
      error(s, ErrorKind::gap, off,
            size + " inside the body of a " + s.noun() + " (" + std::to_string(s.msg().offset) +
                "): the " + s.noun() + " is lost");
      s.discard = true;
      s.msg().body.clear();
      s.remaining -= length;
      if (s.remaining == 0) {
        if (s.st == State::body)
          finish(s);
        else
          s.st = State::chunk_end;
      }
      return;
    }
    if (s.st == State::until_close) {
      error(s, ErrorKind::gap, off,
            size + " inside the body of a response (" + std::to_string(s.msg().offset) +
                ") read up to the end of the connection: the response is lost");
      s.discard = true;
      s.msg().body.clear();
      return;
    }
    if (s.st == State::start) {
      error(s, ErrorKind::gap, off,
            size + " between " + s.noun() + "s; looking for the next " + s.noun());
    } else {
      error(s, ErrorKind::gap, off,
            size + " inside a " + s.noun() + " (" + std::to_string(s.msg().offset) + "): the " +
                s.noun() + " is lost");
      // A response already started answers the oldest request, even though it is lost.
      if (s.side == Side::server && s.st == State::head && !pending.empty()) pending.pop_front();
    }
    if (s.side == Side::server) s.after_gap = true;
    reset_message(s);
    s.buf.clear();
    enter_start(s, true); // the bytes right after the gap are the first candidate
    s.skip_quiet = true;
    if (s.side == Side::server) maybe_release_client();
  }

  // ---- parsing ------------------------------------------------------------------------------

  void process(SideState& s) {
    while (!dead && !upgraded) {
      bool more = false;
      switch (s.st) {
      case State::start:
        more = step_start(s);
        break;
      case State::head:
        more = step_head(s);
        break;
      case State::body:
      case State::chunk_data:
        more = step_counted(s);
        break;
      case State::chunk_size:
        more = step_chunk_size(s);
        break;
      case State::chunk_end:
        more = step_chunk_end(s);
        break;
      case State::trailers:
        more = step_trailers(s);
        break;
      case State::until_close:
        more = step_until_close(s);
        break;
      case State::wait_upgrade:
        // Anything still buffered belongs to the new protocol or to HTTP: the response decides.
        hold_buffer(s);
        break;
      }
      if (!more) break;
    }
    if (s.side == Side::server) maybe_release_client();
  }

  void reset_message(SideState& s) {
    s.req = HttpRequest{};
    s.resp = HttpResponse{};
    s.paired.reset();
    s.discard = false;
    s.remaining = 0;
    s.trailer_bytes = 0;
  }

  /// Stops a message: the error is reported and parsing looks for the next message start.
  void lose(SideState& s, ErrorKind kind, std::uint64_t off, std::string what) {
    error(s, kind, off, std::move(what));
    reset_message(s);
    enter_start(s, true);
    s.skip_quiet = true;
  }

  void note_skip(SideState& s, std::size_t n) {
    if (n == 0) return;
    if (s.skipped == 0) s.skip_off = s.buf.offset();
    s.skipped += n;
  }

  /// One report for a whole run of skipped bytes, unless an error already explained them.
  void end_skip(SideState& s) {
    if (s.skipped > 0 && !s.skip_quiet) {
      error(s, ErrorKind::protocol, s.skip_off,
            std::to_string(s.skipped) + " byte(s) that do not start an HTTP/1.x " + s.noun() +
                " skipped");
    }
    s.skipped = 0;
    s.skip_quiet = false;
  }

  /// Records the packet of the last byte consumed so far as the message's end.
  void touch_end(SideState& s) {
    const Mark m = s.buf.mark(s.buf.offset() - 1);
    s.msg().end_ns = m.ts;
    s.msg().last_packet = m.packet;
  }

  /// Back at a message boundary (or looking for one from `line_start`).
  void enter_start(SideState& s, bool line_start) {
    s.st = State::start;
    s.line_start = line_start;
    s.scan = s.buf.offset();
  }

  /// Finds the next message start. Works line by line: a line is either a start line, or it is
  /// skipped, except that a start line glued to the end of skipped bytes is found too.
  bool step_start(SideState& s) {
    for (;;) {
      if (s.buf.empty()) return false;
      std::size_t j = 0;
      if (!find_line_end(s, j)) {
        const std::size_t n = s.buf.size();
        if (n <= limits.max_head) return false; // a start line may still be coming
        // No line this long starts a message; only its tail could still hold a glued one.
        const std::size_t keep =
            static_cast<std::size_t>(std::min<std::uint64_t>(limits.max_head, 4096));
        note_skip(s, n - keep);
        s.buf.consume(n - keep);
        s.line_start = false;
        continue;
      }
      const std::size_t len = j + 1;
      const std::string_view line = as_text(s.buf.data(), len);
      std::size_t begin = std::string_view::npos;
      if (s.line_start) {
        switch (classify_line(line, s.side)) {
        case LineKind::empty:
          // Stray CRLFs between messages are allowed (RFC 9112 2.2).
          if (s.skipped > 0) note_skip(s, len);
          s.buf.consume(len);
          continue;
        case LineKind::http2:
          end_skip(s);
          error(s, ErrorKind::http2, s.buf.offset(),
                "HTTP/2 connection preface: the connection is not HTTP/1.x and is ignored");
          dead = true;
          return false;
        case LineKind::start:
          begin = 0;
          break;
        case LineKind::other:
          break;
        }
      }
      if (begin == std::string_view::npos) begin = glued_start(line, s.side);
      if (begin == std::string_view::npos) {
        note_skip(s, len);
        s.buf.consume(len);
        s.line_start = true;
        continue;
      }
      note_skip(s, begin);
      s.buf.consume(begin);
      end_skip(s);
      reset_message(s);
      HttpMessage& m = s.msg();
      m.offset = s.buf.offset();
      const Mark mk = s.buf.mark(m.offset);
      m.ts_ns = m.end_ns = mk.ts;
      m.first_packet = m.last_packet = mk.packet;
      s.scan = m.offset + (len - begin) - 1; // the head ends at this '\n' when no field follows
      s.st = State::head;
      return true;
    }
  }

  /// Finds the next '\n' at or after stream offset s.scan within the buffer (its index), or
  /// returns false after moving s.scan to the end, so that no byte is searched twice.
  bool find_line_end(SideState& s, std::size_t& at) {
    const std::uint8_t* p = s.buf.data();
    const std::size_t n = s.buf.size();
    const std::size_t from =
        s.scan > s.buf.offset() ? static_cast<std::size_t>(s.scan - s.buf.offset()) : 0;
    const void* nl = from < n ? std::memchr(p + from, '\n', n - from) : nullptr;
    if (!nl) {
      s.scan = s.buf.offset() + n;
      return false;
    }
    at = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nl) - p);
    return true;
  }

  bool step_head(SideState& s) {
    const std::uint8_t* p = s.buf.data();
    const std::size_t n = s.buf.size();
    std::size_t i = s.scan > s.buf.offset() ? static_cast<std::size_t>(s.scan - s.buf.offset()) : 0;
    std::size_t end = 0;
    // The head ends at a '\n' followed by an empty line ("\r\n" or a bare "\n").
    for (;;) {
      const void* nl = i < n ? std::memchr(p + i, '\n', n - i) : nullptr;
      if (!nl) {
        i = n;
        break;
      }
      const std::size_t j = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nl) - p);
      if (j + 1 >= n) {
        i = j; // look at this '\n' again when more bytes come
        break;
      }
      if (p[j + 1] == '\n') {
        end = j + 2;
        break;
      }
      if (p[j + 1] == '\r') {
        if (j + 2 >= n) {
          i = j;
          break;
        }
        if (p[j + 2] == '\n') {
          end = j + 3;
          break;
        }
      }
      i = j + 1;
    }
    if (end == 0) {
      s.scan = s.buf.offset() + i;
      if (n <= limits.max_head) return false;
    }
    if (end == 0 || end > limits.max_head) {
      const std::uint64_t at = s.msg().offset;
      // The head is counted from its start line: a resynchronisation must not find it again.
      if (s.side == Side::server && !pending.empty()) pending.pop_front();
      lose(s, ErrorKind::limit, at,
           std::string(s.noun()) + " head longer than " + std::to_string(limits.max_head) +
               " bytes: the " + s.noun() + " is lost");
      // Drop its start line, or the search for the next message would find it again.
      const void* nl = std::memchr(p, '\n', n);
      const std::size_t k =
          nl ? static_cast<std::size_t>(static_cast<const std::uint8_t*>(nl) - p) + 1 : n;
      s.buf.consume(k);
      s.line_start = nl != nullptr;
      return true;
    }
    parse_head(s, as_text(p, end));
    s.buf.consume(end);
    touch_end(s);
    return begin_body(s);
  }

  void parse_head(SideState& s, std::string_view head) {
    const std::size_t eol = head.find('\n');
    const std::string_view first = strip_eol(head.substr(0, eol + 1));
    if (s.side == Side::client) {
      RequestLine r;
      parse_request_line(first, r); // validated by step_start
      s.req.method = r.method;
      s.req.target = r.target;
      s.req.version = r.version;
    } else {
      StatusLine l;
      parse_status_line(first, l);
      s.resp.version = l.version;
      s.resp.status = l.status;
      s.resp.reason = l.reason;
    }
    std::vector<HttpHeader>& headers = s.msg().headers;
    std::size_t pos = eol + 1;
    while (pos < head.size()) {
      std::size_t e = head.find('\n', pos);
      if (e == std::string_view::npos) e = head.size() - 1;
      add_header_line(head.substr(pos, e + 1 - pos), headers);
      pos = e + 1;
    }
  }

  /// Sets up the reading of the body after a head; returns true (the loop goes on).
  bool begin_body(SideState& s) {
    HttpMessage& m = s.msg();
    bool head_request = false;
    if (s.side == Side::server) {
      const int status = s.resp.status;
      if (status >= 100 && status < 200 && status != 101) {
        // Interim (100 Continue, 103 Early Hints): the final response still answers the request.
        reset_message(s);
        enter_start(s, true);
        return true;
      }
      if (s.after_gap && pending.size() > 1) {
        // Whole responses were lost in a gap. Browsers do not pipeline, so the newest request
        // is the one this response answers; the older ones were answered inside the gap.
        pending.keep_last();
      }
      s.after_gap = false;
      bool answers_upgrade = false;
      if (!pending.empty()) {
        s.paired = std::move(pending.front().req);
        answers_upgrade = pending.front().upgrade;
        pending.pop_front();
        head_request = s.paired->method == "HEAD";
      }
      if (status == 101) {
        upgrade(s);
        return false;
      }
      // Refused: what the client sent after its Upgrade request is HTTP, and must be parsed
      // before this side's next response looks for its request.
      if (answers_upgrade) maybe_release_client();
      if (head_request || status == 204 || status == 304) {
        finish(s);
        return true;
      }
      if (s.paired && s.paired->method == "CONNECT" && status >= 200 && status < 300) {
        // A tunnel (through a proxy, usually TLS): nothing after this is HTTP/1.x to us.
        finish(s);
        dead = true;
        return false;
      }
    }
    const std::string* te = find_header(m.headers, "Transfer-Encoding");
    if (te) {
      if (last_coding_is_chunked(*te)) {
        s.st = State::chunk_size;
        s.scan = s.buf.offset();
        return true;
      }
      if (s.side == Side::client) {
        lose(s, ErrorKind::protocol, m.offset,
             "request with Transfer-Encoding \"" + *te +
                 "\" that does not end in chunked: its length is unknown");
        return true;
      }
      s.st = State::until_close;
      return true;
    }
    std::uint64_t length = 0;
    switch (content_length(m.headers, length)) {
    case Length::bad:
      lose(s, ErrorKind::protocol, m.offset,
           std::string(s.noun()) + " with an invalid Content-Length: its length is unknown");
      return true;
    case Length::ok:
      if (length == 0) {
        finish(s);
        return true;
      }
      if (length > limits.max_body) {
        error(s, ErrorKind::limit, m.offset,
              std::string(s.noun()) + " body of " + std::to_string(length) +
                  " bytes, over the limit of " + std::to_string(limits.max_body) + ": the " +
                  s.noun() + " is lost");
        s.discard = true;
      }
      s.st = State::body;
      s.remaining = length;
      return true;
    case Length::none:
      break;
    }
    if (s.side == Side::client) {
      finish(s); // a request without a length has no body
      return true;
    }
    s.st = State::until_close;
    return true;
  }

  /// Content-Length body bytes or chunk data.
  bool step_counted(SideState& s) {
    const std::size_t n = s.buf.size();
    if (n == 0) return false;
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(s.remaining, n));
    if (!s.discard) s.msg().body.append(reinterpret_cast<const char*>(s.buf.data()), take);
    s.buf.consume(take);
    touch_end(s);
    s.remaining -= take;
    if (s.remaining > 0) return false;
    if (s.st == State::body) {
      finish(s);
    } else {
      s.st = State::chunk_end;
    }
    return true;
  }

  bool step_chunk_size(SideState& s) {
    std::size_t j = 0;
    if (!find_line_end(s, j)) {
      if (s.buf.size() > max_chunk_line)
        lose(s, ErrorKind::protocol, s.buf.offset(), "chunk-size line too long");
      return false;
    }
    const std::uint64_t at = s.buf.offset();
    const std::string_view line = strip_eol(as_text(s.buf.data(), j + 1));
    std::uint64_t size = 0;
    std::size_t i = 0;
    for (; i < line.size(); ++i) {
      const char c = line[i];
      int d = -1;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      if (d < 0) break;
      if (size > (std::numeric_limits<std::uint64_t>::max() >> 4)) {
        lose(s, ErrorKind::protocol, at, "chunk size overflows");
        return true;
      }
      size = size << 4 | static_cast<std::uint64_t>(d);
    }
    const std::string_view rest = trim(line.substr(i));
    if (i == 0 || j + 1 > max_chunk_line || (!rest.empty() && rest.front() != ';')) {
      lose(s, ErrorKind::protocol, at,
           "bad chunk-size line in a " + std::string(s.noun()) + " (" +
               std::to_string(s.msg().offset) + "): the " + s.noun() + " is lost");
      return true;
    }
    s.buf.consume(j + 1);
    touch_end(s);
    if (size == 0) {
      s.st = State::trailers;
      s.scan = s.buf.offset();
      s.trailer_bytes = 0;
      return true;
    }
    if (!s.discard && size > limits.max_body - std::min(limits.max_body, s.msg().body.size())) {
      error(s, ErrorKind::limit, s.msg().offset,
            std::string(s.noun()) + " body over the limit of " + std::to_string(limits.max_body) +
                " bytes: the " + s.noun() + " is lost");
      s.discard = true;
      s.msg().body.clear();
    }
    s.st = State::chunk_data;
    s.remaining = size;
    return true;
  }

  bool step_chunk_end(SideState& s) {
    const std::uint8_t* p = s.buf.data();
    const std::size_t n = s.buf.size();
    if (n == 0) return false;
    std::size_t k = 0;
    if (p[0] == '\n') {
      k = 1;
    } else if (p[0] == '\r') {
      if (n < 2) return false;
      if (p[1] == '\n') k = 2;
    }
    if (k == 0) {
      lose(s, ErrorKind::protocol, s.buf.offset(),
           "chunk data not followed by CRLF in a " + std::string(s.noun()) + " (" +
               std::to_string(s.msg().offset) + "): the " + s.noun() + " is lost");
      return true;
    }
    s.buf.consume(k);
    touch_end(s);
    s.st = State::chunk_size;
    s.scan = s.buf.offset();
    return true;
  }

  bool step_trailers(SideState& s) {
    std::size_t j = 0;
    if (!find_line_end(s, j)) {
      if (s.trailer_bytes + s.buf.size() > limits.max_head)
        lose(s, ErrorKind::limit, s.msg().offset,
             std::string(s.noun()) + " trailers over " + std::to_string(limits.max_head) +
                 " bytes: the " + s.noun() + " is lost");
      return false;
    }
    s.trailer_bytes += j + 1;
    if (s.trailer_bytes > limits.max_head) {
      lose(s, ErrorKind::limit, s.msg().offset,
           std::string(s.noun()) + " trailers over " + std::to_string(limits.max_head) +
               " bytes: the " + s.noun() + " is lost");
      return true;
    }
    const std::string_view line = as_text(s.buf.data(), j + 1);
    const bool last = strip_eol(line).empty();
    // Trailer fields join the header fields: the message has no other place for them.
    if (!last && !s.discard) add_header_line(line, s.msg().headers);
    s.buf.consume(j + 1);
    touch_end(s);
    s.scan = s.buf.offset();
    if (last) finish(s);
    return true;
  }

  bool step_until_close(SideState& s) {
    const std::size_t n = s.buf.size();
    if (n == 0) return false;
    std::string& body = s.msg().body;
    if (!s.discard && n > limits.max_body - std::min<std::uint64_t>(limits.max_body, body.size())) {
      error(s, ErrorKind::limit, s.msg().offset,
            "response body over the limit of " + std::to_string(limits.max_body) +
                " bytes: the response is lost");
      s.discard = true;
      body.clear();
    }
    if (!s.discard) body.append(reinterpret_cast<const char*>(s.buf.data()), n);
    s.buf.consume(n);
    touch_end(s);
    return false;
  }

  /// Undoes Content-Encoding. Returns false when the message is lost (over the body limit).
  bool decode(SideState& s) {
    HttpMessage& m = s.msg();
    const std::string* ce = find_header(m.headers, "Content-Encoding");
    if (!ce || m.body.empty()) return true;
    std::vector<std::string_view> codings;
    for_each_element(*ce, [&](std::string_view e) {
      if (!iequals(e, "identity")) codings.push_back(e);
    });
    if (codings.empty()) return true;
    std::string cur, out;
    const std::string* in = &m.body;
    // Codings are listed in the order they were applied: undo them from the last.
    for (auto it = codings.rbegin(); it != codings.rend(); ++it) {
      Inflated r = Inflated::bad;
      if (iequals(*it, "gzip") || iequals(*it, "x-gzip")) {
        r = inflate_body(*in, 16 + 15, limits.max_body, out);
      } else if (iequals(*it, "deflate")) {
        // "deflate" means zlib-wrapped (RFC 9110), but some servers send raw deflate.
        r = inflate_body(*in, 15, limits.max_body, out);
        if (r == Inflated::bad) r = inflate_body(*in, -15, limits.max_body, out);
      } else {
        error(s, ErrorKind::encoding, m.offset,
              std::string(s.noun()) + " Content-Encoding \"" + std::string(*it) +
                  "\" is not supported: the body is kept as sent");
        return true;
      }
      if (r == Inflated::limit) {
        error(s, ErrorKind::limit, m.offset,
              std::string(s.noun()) + " body over the limit of " + std::to_string(limits.max_body) +
                  " bytes once decoded: the " + s.noun() + " is lost");
        return false;
      }
      if (r == Inflated::bad) {
        error(s, ErrorKind::encoding, m.offset,
              std::string(s.noun()) + " body does not decode as " + std::string(*it) +
                  ": it is kept as sent");
        return true;
      }
      cur.swap(out);
      in = &cur;
    }
    m.body = std::move(cur);
    m.body_decoded = true;
    return true;
  }

  /// A message is complete: deliver it (unless it was lost) and go back to the start state.
  void finish(SideState& s) {
    enter_start(s, true);
    if (s.discard || !decode(s)) {
      reset_message(s);
      return;
    }
    if (s.side == Side::client) {
      const bool up = find_header(s.req.headers, "Upgrade") != nullptr;
      handler.on_request(s.req);
      if (pending.size() >= max_pending) pending.pop_front();
      pending.push_back({std::move(s.req), up});
      reset_message(s);
      if (up) {
        // What follows may be the new protocol already (a client need not wait for the 101).
        s.st = State::wait_upgrade;
      }
      return;
    }
    handler.on_response(s.paired ? &*s.paired : nullptr, s.resp);
    reset_message(s);
  }

  /// `101 Switching Protocols` (its head just parsed, s.paired set when known).
  void upgrade(SideState& s) {
    const std::string* proto = find_header(s.resp.headers, "Upgrade");
    if (proto && iequals(trim(*proto), "h2c")) {
      error(s, ErrorKind::http2, s.resp.offset,
            "upgrade to HTTP/2 (h2c): the connection is not HTTP/1.x from here and is ignored");
      dead = true;
      return;
    }
    upgraded = true;
    handler.on_upgrade(s.paired ? &*s.paired : nullptr, s.resp);
    reset_message(s);
    SideState& c = client();
    end_skip(c);
    if (c.st != State::start && c.st != State::wait_upgrade && !c.discard) {
      error(c, ErrorKind::incomplete, c.msg().offset,
            "request in progress when the connection switched protocols: it is lost");
    }
    reset_message(c);
    // The client's bytes came before this response in capture order: they go first.
    c.buf.for_each_run([&](Bytes b, std::uint64_t off, std::int64_t ts, std::uint64_t pk) {
      handler.on_raw(Side::client, b, off, ts, pk);
    });
    c.buf.clear();
    std::vector<Held> held = std::move(c.held);
    c.held.clear();
    c.held_bytes = 0;
    for (const Held& h : held) {
      if (h.gap)
        error(c, ErrorKind::gap, h.off,
              std::to_string(h.length) + " byte(s) missing after the protocol switch");
      else
        handler.on_raw(Side::client, h.bytes, h.off, h.ts, h.packet);
    }
    s.buf.for_each_run([&](Bytes b, std::uint64_t off, std::int64_t ts, std::uint64_t pk) {
      handler.on_raw(Side::server, b, off, ts, pk);
    });
    s.buf.clear();
    pending.clear();
  }

  // ---- holding client bytes after an Upgrade request ----------------------------------------

  void hold(SideState& s, Bytes bytes, std::uint64_t off, std::int64_t ts, std::uint64_t packet) {
    if (!s.held.empty()) {
      Held& last = s.held.back();
      if (!last.gap && last.ts == ts && last.packet == packet &&
          last.off + last.bytes.size() == off) {
        last.bytes.insert(last.bytes.end(), bytes.begin(), bytes.end());
        s.held_bytes += bytes.size();
        check_held(s);
        return;
      }
    }
    Held h;
    h.off = off;
    h.ts = ts;
    h.packet = packet;
    h.bytes.assign(bytes.begin(), bytes.end());
    s.held.push_back(std::move(h));
    s.held_bytes += bytes.size();
    check_held(s);
  }

  void hold_buffer(SideState& s) {
    if (s.buf.empty()) return;
    std::vector<Held> runs;
    s.buf.for_each_run([&](Bytes b, std::uint64_t off, std::int64_t ts, std::uint64_t pk) {
      Held h;
      h.off = off;
      h.ts = ts;
      h.packet = pk;
      h.bytes.assign(b.begin(), b.end());
      s.held_bytes += b.size();
      runs.push_back(std::move(h));
    });
    s.buf.clear();
    // Buffered bytes precede anything held later; hold_buffer runs before any hold().
    s.held.insert(s.held.begin(), std::make_move_iterator(runs.begin()),
                  std::make_move_iterator(runs.end()));
    check_held(s);
  }

  void check_held(SideState& s) {
    if (s.held_bytes <= limits.max_body) return;
    error(s, ErrorKind::limit, s.held.front().off,
          "over " + std::to_string(limits.max_body) +
              " bytes after an Upgrade request still without response: read as HTTP");
    release_client();
  }

  /// The server side no longer owes a response to the Upgrade request (answered without
  /// switching, or lost): the held client bytes are HTTP after all.
  void maybe_release_client() {
    if (dead || upgraded || client().st != State::wait_upgrade) return;
    if (!pending.empty() && pending.back().upgrade) return;
    release_client();
  }

  void release_client() {
    SideState& c = client();
    enter_start(c, true);
    std::vector<Held> held = std::move(c.held);
    c.held.clear();
    c.held_bytes = 0;
    for (const Held& h : held) {
      if (dead) return;
      if (h.gap)
        gap_ingest(c, h.off, h.length);
      else
        ingest(c, h.bytes, h.off, h.ts, h.packet);
    }
  }

  // ---- the end ------------------------------------------------------------------------------

  void close_side(SideState& s) {
    if (s.st == State::wait_upgrade) return; // only when close() stopped on a dead connection
    if (s.st == State::start) {
      if (!s.buf.empty()) {
        if (s.line_start && s.skipped == 0 &&
            could_start(as_text(s.buf.data(), s.buf.size()), s.side)) {
          error(s, ErrorKind::incomplete, s.buf.offset(),
                std::string("the connection ended inside the start line of a ") + s.noun());
        } else {
          note_skip(s, s.buf.size());
        }
      }
      end_skip(s);
      return;
    }
    if (s.st == State::until_close) {
      finish(s);
      return;
    }
    if (s.discard) return; // already reported as lost
    std::string what = std::string("the connection ended inside a ") + s.noun() + " (";
    switch (s.st) {
    case State::head:
      what += "head";
      break;
    case State::body:
    case State::chunk_data:
      what += std::to_string(s.remaining) + " body byte(s) missing";
      break;
    default:
      what += "chunked body";
      break;
    }
    error(s, ErrorKind::incomplete, s.msg().offset, what + "): it is lost");
  }
};

HttpConnection::HttpConnection(Handler& handler, Limits limits)
    : impl_(new Impl(handler, limits)) {}

HttpConnection::~HttpConnection() {
  delete impl_;
}

void HttpConnection::feed(Side side, std::span<const std::uint8_t> bytes, std::uint64_t offset,
                          std::int64_t ts_ns, std::uint64_t packet) {
  impl_->feed(side, bytes, offset, ts_ns, packet);
}

void HttpConnection::gap(Side side, std::uint64_t offset, std::uint64_t length,
                         std::int64_t /*ts_ns*/) {
  impl_->gap(side, offset, length);
}

void HttpConnection::close(std::int64_t /*ts_ns*/) {
  impl_->close();
}

bool HttpConnection::upgraded() const noexcept {
  return impl_->upgraded;
}

} // namespace sio::wire
