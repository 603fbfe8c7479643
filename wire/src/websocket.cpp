#include "sio/wire/websocket.hpp"

#include "sio/common/url.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <vector>

namespace sio::wire {
namespace {

char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// RFC 9110 tchar: what an extension or parameter name (or an unquoted value) is made of.
bool is_tchar(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

/// Reads a Sec-WebSocket-Extensions value (RFC 6455 9.1).
class Lexer {
public:
  explicit Lexer(std::string_view s) : s_(s) {}
  void skip_ows() noexcept {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  [[nodiscard]] bool at_end() const noexcept { return i_ >= s_.size(); }
  [[nodiscard]] char peek() const noexcept { return at_end() ? '\0' : s_[i_]; }
  void advance() noexcept { ++i_; }
  std::string_view token() noexcept {
    const std::size_t from = i_;
    while (i_ < s_.size() && is_tchar(s_[i_])) ++i_;
    return s_.substr(from, i_ - from);
  }
  /// A quoted-string at '"': its unescaped content, or false when it does not end.
  bool quoted(std::string& out) {
    out.clear();
    ++i_;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (c == '\\') {
        if (i_ >= s_.size()) return false;
        out += s_[i_++];
      } else {
        out += c;
      }
    }
    return false;
  }
  [[nodiscard]] std::string rest() const { return std::string(s_.substr(std::min(i_, s_.size()))); }

private:
  std::string_view s_;
  std::size_t i_ = 0;
};

/// "8" .. "15" (RFC 7692 7.1.2: 1*DIGIT without leading zeros, in 8..15).
bool window_bits(std::string_view v, int& out) {
  if (v.empty() || v.size() > 2 || v[0] == '0') return false;
  int n = 0;
  for (const char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  if (n < 8 || n > 15) return false;
  out = n;
  return true;
}

Failure bad(std::string what) {
  return fail(errc::unsupported, "Sec-WebSocket-Extensions: " + std::move(what));
}

/// Longest deflate window, in bytes (what a takeover dictionary can hold).
constexpr std::size_t max_window = std::size_t{1} << 15;
/// What one zlib call takes (avail_in / avail_out are uInt).
constexpr std::size_t zlib_step = std::size_t{1} << 30;

} // namespace

Result<WsDeflate> parse_ws_extensions(std::string_view header) {
  WsDeflate result;
  int accepted = 0;
  Lexer lx(header);
  for (;;) {
    lx.skip_ows();
    if (lx.at_end()) break;
    if (lx.peek() == ',') { // empty list elements are allowed (RFC 9110 5.6.1)
      lx.advance();
      continue;
    }
    const std::string_view name = lx.token();
    if (name.empty()) return bad("expected an extension name at \"" + lx.rest() + "\"");
    const bool deflate = iequals(name, "permessage-deflate");
    WsDeflate d;
    d.enabled = true;
    bool seen_snct = false, seen_cnct = false, seen_smwb = false, seen_cmwb = false;
    lx.skip_ows();
    while (lx.peek() == ';') {
      lx.advance();
      lx.skip_ows();
      const std::string_view param = lx.token();
      if (param.empty()) return bad("expected a parameter name at \"" + lx.rest() + "\"");
      lx.skip_ows();
      std::string value;
      bool has_value = false;
      if (lx.peek() == '=') {
        lx.advance();
        lx.skip_ows();
        if (lx.peek() == '"') {
          if (!lx.quoted(value)) return bad("unterminated quoted value of " + std::string(param));
        } else {
          value = lx.token();
        }
        if (value.empty()) return bad("parameter " + std::string(param) + " without a value");
        has_value = true;
        lx.skip_ows();
      }
      if (!deflate) continue; // reported below, by name
      const std::string p(param);
      const auto once = [&](bool& seen) -> bool {
        const bool first = !seen;
        seen = true;
        return first;
      };
      if (iequals(param, "server_no_context_takeover") ||
          iequals(param, "client_no_context_takeover")) {
        const bool server = lower(param[0]) == 's';
        if (has_value) return bad(p + " takes no value");
        if (!once(server ? seen_snct : seen_cnct)) return bad(p + " given twice");
        (server ? d.server_no_context_takeover : d.client_no_context_takeover) = true;
      } else if (iequals(param, "server_max_window_bits") ||
                 iequals(param, "client_max_window_bits")) {
        const bool server = lower(param[0]) == 's';
        if (!once(server ? seen_smwb : seen_cmwb)) return bad(p + " given twice");
        int bits = 15;
        // client_max_window_bits without a value is how an offer says "I could limit mine";
        // in a response it means no limit.
        if (server && !has_value) return bad(p + " needs a value");
        if (has_value && !window_bits(value, bits))
          return bad(p + "=" + value + ": not a window size in 8..15");
        (server ? d.server_max_window_bits : d.client_max_window_bits) = bits;
      } else {
        return bad("unknown permessage-deflate parameter " + p);
      }
    }
    if (!lx.at_end() && lx.peek() != ',')
      return bad("unexpected character at \"" + lx.rest() + "\"");
    if (!deflate)
      return bad("extension " + std::string(name) + " (only permessage-deflate is supported)");
    if (++accepted > 1) return bad("more than one permessage-deflate accepted");
    result = d;
  }
  return result;
}

struct WsStream::Impl {
  Impl(Side s, const WsDeflate& d, std::uint64_t max) : sender(s), deflate(d), max_message(max) {}
  ~Impl() {
    if (z_ready) inflateEnd(&z);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Side sender;
  WsDeflate deflate;
  std::uint64_t max_message;
  bool failed = false, closed = false;
  bool have_next = false;
  std::uint64_t next = 0; ///< stream offset expected next (unknown right after a gap)

  // The frame in progress.
  std::array<std::uint8_t, 14> hdr{};
  std::size_t hdr_len = 0, hdr_need = 2;
  bool in_payload = false;
  std::uint64_t frame_off = 0, payload_left = 0;
  std::uint8_t opcode = 0;
  bool fin = false, masked = false;
  std::array<std::uint8_t, 4> key{};
  std::size_t key_pos = 0;

  // The data message in progress (possibly fragmented); control frames go to `ctrl`.
  bool msg_open = false, msg_compressed = false;
  std::uint8_t msg_opcode = 0;
  std::uint64_t msg_off = 0;
  std::string msg_data, ctrl;

  // Resynchronising after a gap: the tail of the last bytes that may still start a header.
  bool seeking = false;
  std::vector<std::uint8_t> carry, scratch;
  std::uint64_t carry_off = 0;

  z_stream z{};
  bool z_ready = false;

  [[nodiscard]] bool no_takeover() const noexcept {
    return sender == Side::client ? deflate.client_no_context_takeover
                                  : deflate.server_no_context_takeover;
  }
  /// Whether compression state carries from one message to the next (so a gap breaks it).
  [[nodiscard]] bool takeover() const noexcept { return deflate.enabled && !no_takeover(); }
  [[nodiscard]] int window_bits() const noexcept {
    const int b =
        sender == Side::client ? deflate.client_max_window_bits : deflate.server_max_window_bits;
    // zlib's deflate turns 8 into 9 (a 256-byte window is not supported), so a peer using
    // zlib with 8 really uses 9; inflating with 8 would reject its distances.
    return std::clamp(b, 9, 15);
  }

  void drop_message() {
    in_payload = false;
    hdr_len = 0;
    hdr_need = 2;
    payload_left = 0;
    msg_open = false;
    msg_data = std::string();
    ctrl.clear();
  }

  void stop(Handler& h, std::uint64_t off, std::string what) {
    failed = true;
    drop_message();
    carry.clear(); // not scratch: seek() may be parsing out of it
    h.on_error(sender, off, std::move(what));
  }

  void feed(std::span<const std::uint8_t> bytes, std::uint64_t off, std::int64_t ts,
            std::uint64_t packet, Handler& h) {
    if (failed || closed || bytes.empty()) return;
    if (have_next && off != next) {
      if (off > next) {
        // Defensive: bytes skipped without a gap() call are a gap all the same.
        gap(next, off - next, h);
        if (failed) return;
      } else {
        const std::uint64_t dup = next - off; // already seen: the first copy wins
        if (dup >= bytes.size()) return;
        bytes = bytes.subspan(static_cast<std::size_t>(dup));
        off = next;
      }
    }
    have_next = true;
    next = off + bytes.size();
    if (seeking)
      seek(bytes.data(), bytes.size(), off, ts, packet, h);
    else
      parse(bytes.data(), bytes.size(), off, ts, packet, h);
  }

  void gap(std::uint64_t off, std::uint64_t length, Handler& h) {
    if (failed || closed) return;
    // The caller may not know the length (0): the next bytes' offset is taken as it comes.
    have_next = false;
    std::string what =
        (length ? std::to_string(length) + " byte(s)" : std::string("bytes")) + " missing";
    if (in_payload || hdr_len > 0) what += " inside a frame (" + std::to_string(frame_off) + ")";
    if (msg_open) what += ": the message (" + std::to_string(msg_off) + ") is lost";
    if (takeover()) {
      stop(h, off,
           what + "; the permessage-deflate context (" + std::string(to_string(sender)) +
               ") is lost with it: the rest of the stream cannot be inflated");
      return;
    }
    h.on_error(sender, off, what + "; looking for the next frame");
    drop_message();
    seeking = true;
    carry.clear();
  }

  void close(Handler& h) {
    if (closed) return;
    closed = true;
    if (failed) return;
    if (!seeking && (in_payload || hdr_len > 0 || msg_open)) {
      const bool in_frame = in_payload || hdr_len > 0;
      std::string what = in_frame ? "the connection ended inside a frame"
                                  : "the connection ended inside a fragmented message";
      if (in_payload) what += " (" + std::to_string(payload_left) + " payload byte(s) missing)";
      if (msg_open) what += ": the message (" + std::to_string(msg_off) + ") is lost";
      h.on_error(sender, in_frame ? frame_off : msg_off, what);
    }
    drop_message();
    carry.clear();
  }

  // ---- frames ---------------------------------------------------------------------------------

  void parse(const std::uint8_t* p, std::size_t n, std::uint64_t off, std::int64_t ts,
             std::uint64_t packet, Handler& h) {
    std::size_t i = 0;
    while (i < n && !failed) {
      if (!in_payload) {
        if (hdr_len == 0) frame_off = off + i;
        const std::size_t take = std::min(hdr_need - hdr_len, n - i);
        std::memcpy(hdr.data() + hdr_len, p + i, take);
        hdr_len += take;
        i += take;
        if (hdr_len < hdr_need) break;
        if (hdr_need == 2) {
          const unsigned len7 = hdr[1] & 0x7fu;
          const std::size_t need = 2 +
                                   (len7 == 126   ? 2u
                                    : len7 == 127 ? 8u
                                                  : 0u) +
                                   ((hdr[1] & 0x80u) != 0 ? 4u : 0u);
          if (need > 2) {
            hdr_need = need;
            continue;
          }
        }
        if (!start_frame(h)) return;
        if (payload_left == 0) end_frame(ts, packet, h);
        continue;
      }
      const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(payload_left, n - i));
      std::string& dst = (opcode & 8u) != 0 ? ctrl : msg_data;
      const std::size_t at = dst.size();
      dst.append(reinterpret_cast<const char*>(p + i), take);
      if (masked) {
        for (std::size_t k = 0; k < take; ++k)
          dst[at + k] =
              static_cast<char>(static_cast<std::uint8_t>(dst[at + k]) ^ key[(key_pos + k) & 3u]);
        key_pos = (key_pos + take) & 3u;
      }
      i += take;
      payload_left -= take;
      if (payload_left == 0) end_frame(ts, packet, h);
    }
  }

  /// A complete frame header in `hdr`: checks it against the stream's state. False: stopped.
  bool start_frame(Handler& h) {
    const std::uint8_t b0 = hdr[0], b1 = hdr[1];
    fin = (b0 & 0x80u) != 0;
    const bool rsv1 = (b0 & 0x40u) != 0;
    opcode = static_cast<std::uint8_t>(b0 & 0x0fu);
    masked = (b1 & 0x80u) != 0;
    std::uint64_t len = b1 & 0x7fu;
    std::size_t k = 2;
    if (len == 126) {
      len = std::uint64_t{hdr[2]} << 8 | hdr[3];
      k = 4;
    } else if (len == 127) {
      len = 0;
      for (std::size_t j = 2; j < 10; ++j) len = len << 8 | hdr[j];
      k = 10;
    }
    if (masked) std::memcpy(key.data(), hdr.data() + k, 4);
    key_pos = 0;
    hdr_len = 0;
    hdr_need = 2;
    const auto reject = [&](const std::string& what) {
      stop(h, frame_off, what + " (frame at " + std::to_string(frame_off) + ")");
      return false;
    };
    if ((b0 & 0x30u) != 0) return reject("RSV2/RSV3 set");
    if (len >> 63 != 0) return reject("64-bit length with its top bit set");
    const bool control = (opcode & 8u) != 0;
    if (control) {
      if (opcode > 10) return reject("reserved opcode " + std::to_string(opcode));
      if (!fin) return reject("fragmented control frame");
      if (len > 125) return reject("control frame over 125 bytes");
      if (rsv1) return reject("RSV1 on a control frame");
      ctrl.clear();
    } else if (opcode == 0) {
      if (!msg_open) return reject("continuation frame without a message to continue");
      if (rsv1) return reject("RSV1 on a continuation frame");
    } else if (opcode == 1 || opcode == 2) {
      if (msg_open) return reject("new data frame inside a fragmented message");
      if (rsv1 && !deflate.enabled)
        return reject("RSV1 set but permessage-deflate was not negotiated");
      msg_open = true;
      msg_opcode = opcode;
      msg_compressed = rsv1;
      msg_off = frame_off;
      msg_data.clear();
    } else {
      return reject("reserved opcode " + std::to_string(opcode));
    }
    if (!control && len > max_message - std::min<std::uint64_t>(max_message, msg_data.size()))
      return reject("message over the limit of " + std::to_string(max_message) + " bytes");
    payload_left = len;
    in_payload = true;
    return true;
  }

  void end_frame(std::int64_t ts, std::uint64_t packet, Handler& h) {
    in_payload = false;
    WsMessage m;
    m.ts_ns = ts;
    m.packet = packet;
    if ((opcode & 8u) != 0) {
      m.opcode = opcode;
      m.payload = std::move(ctrl);
      ctrl = std::string();
      m.offset = frame_off;
      h.on_message(sender, std::move(m));
      return;
    }
    if (!fin) return;
    msg_open = false;
    m.opcode = msg_opcode;
    m.compressed = msg_compressed;
    m.offset = msg_off;
    if (msg_compressed) {
      if (!inflate_message(m.payload, h)) return;
      msg_data.clear();
    } else {
      m.payload = std::move(msg_data);
      msg_data = std::string();
    }
    h.on_message(sender, std::move(m));
  }

  // ---- permessage-deflate -------------------------------------------------------------------

  /// After a final deflate block (RFC 7692 7.2.3.4 lets a sender end each message's stream with
  /// BFINAL), zlib wants a reset; with context takeover the window must survive it, so it is
  /// carried over as a dictionary.
  bool restart_inflater() {
    if (!takeover()) return inflateReset(&z) == Z_OK;
    std::vector<Bytef> dict(max_window);
    uInt len = 0;
    if (inflateGetDictionary(&z, dict.data(), &len) != Z_OK) return false;
    if (inflateReset(&z) != Z_OK) return false;
    return len == 0 || inflateSetDictionary(&z, dict.data(), len) == Z_OK;
  }

  /// Inflates msg_data (RFC 7692 7.2.2: the message's bytes + 00 00 ff ff) into `out`.
  bool inflate_message(std::string& out, Handler& h) {
    if (!z_ready) {
      if (inflateInit2(&z, -window_bits()) != Z_OK) {
        stop(h, msg_off, "zlib could not be initialised");
        return false;
      }
      z_ready = true;
    } else if (no_takeover() && inflateReset(&z) != Z_OK) {
      stop(h, msg_off, "zlib could not be reset");
      return false;
    }
    msg_data.append("\x00\x00\xff\xff", 4);
    const std::uint64_t cap64 =
        std::min<std::uint64_t>(max_message, std::numeric_limits<std::size_t>::max() - 1) + 1;
    const auto cap = static_cast<std::size_t>(cap64);
    out.assign(std::min(std::max(msg_data.size() * 4, std::size_t{4096}), cap), '\0');
    const auto* data = reinterpret_cast<const Bytef*>(msg_data.data());
    std::size_t in_pos = 0, produced = 0;
    z.avail_in = 0;
    for (;;) {
      if (z.avail_in == 0 && in_pos < msg_data.size()) {
        const std::size_t n = std::min(msg_data.size() - in_pos, zlib_step);
        z.next_in = const_cast<Bytef*>(data + in_pos);
        z.avail_in = static_cast<uInt>(n);
        in_pos += n;
      }
      if (produced == out.size()) {
        if (out.size() >= cap) break; // over the limit: reported below
        out.resize(std::min(out.size() * 2, cap));
      }
      const std::size_t room = std::min(out.size() - produced, zlib_step);
      z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
      z.avail_out = static_cast<uInt>(room);
      const int ret = inflate(&z, Z_SYNC_FLUSH);
      produced += room - z.avail_out;
      if (ret == Z_STREAM_END) {
        // The sender ended its deflate stream in this message: what is left of the input is
        // the 00 00 ff ff we appended (zlib may even have read part of it into its bit buffer),
        // so it is dropped; the next message starts a new stream.
        if (!restart_inflater()) {
          stop(h, msg_off, "zlib could not restart after a final deflate block");
          return false;
        }
        break;
      }
      if (ret != Z_OK && ret != Z_BUF_ERROR) {
        // Z_BUF_ERROR only says "no progress": more room or more input follows.
        stop(h, msg_off,
             std::string("compressed message does not inflate: ") + (z.msg ? z.msg : "zlib error") +
                 " (message at " + std::to_string(msg_off) + ")");
        return false;
      }
      if (z.avail_in == 0 && in_pos == msg_data.size() && z.avail_out != 0) break; // all out
    }
    if (produced > max_message) {
      stop(h, msg_off,
           "message over the limit of " + std::to_string(max_message) + " bytes once inflated" +
               " (message at " + std::to_string(msg_off) + ")");
      return false;
    }
    out.resize(produced);
    return true;
  }

  // ---- resynchronisation --------------------------------------------------------------------

  enum class Fit { no, yes, need_more };

  /// Whether a frame header of this stream may start at p (RFC 6455 5.2): a data or control
  /// opcode (not a continuation: after a gap no message is open), RSV bits only as negotiated,
  /// the mask bit of this sender, a minimal length encoding within the limits.
  Fit plausible(const std::uint8_t* p, std::size_t avail) const noexcept {
    const std::uint8_t b0 = p[0];
    const unsigned op = b0 & 0x0fu;
    const bool fin_bit = (b0 & 0x80u) != 0, rsv1 = (b0 & 0x40u) != 0;
    if ((b0 & 0x30u) != 0) return Fit::no;
    const bool control = op >= 8;
    if (op == 1 || op == 2) {
      if (rsv1 && !deflate.enabled) return Fit::no;
    } else if (op >= 8 && op <= 10) {
      if (!fin_bit || rsv1) return Fit::no;
    } else {
      return Fit::no;
    }
    if (avail < 2) return Fit::need_more;
    const std::uint8_t b1 = p[1];
    if (((b1 & 0x80u) != 0) != (sender == Side::client)) return Fit::no;
    std::uint64_t len = b1 & 0x7fu;
    if (control && len > 125) return Fit::no;
    if (len == 126) {
      if (avail < 4) return Fit::need_more;
      len = std::uint64_t{p[2]} << 8 | p[3];
      if (len < 126) return Fit::no;
    } else if (len == 127) {
      if (avail < 10) return Fit::need_more;
      if ((p[2] & 0x80u) != 0) return Fit::no;
      len = 0;
      for (std::size_t j = 2; j < 10; ++j) len = len << 8 | p[j];
      if (len < 65536) return Fit::no;
    }
    return len <= max_message ? Fit::yes : Fit::no;
  }

  void seek(const std::uint8_t* bytes, std::size_t size, std::uint64_t off, std::int64_t ts,
            std::uint64_t packet, Handler& h) {
    const std::uint8_t* p = bytes;
    std::size_t n = size;
    std::uint64_t base = off;
    if (!carry.empty()) {
      scratch.assign(carry.begin(), carry.end());
      scratch.insert(scratch.end(), bytes, bytes + size);
      p = scratch.data();
      n = scratch.size();
      base = carry_off;
    }
    std::size_t i = 0;
    for (; i < n; ++i) {
      const Fit f = plausible(p + i, n - i);
      if (f == Fit::no) continue;
      if (f == Fit::need_more) break;
      seeking = false;
      carry.clear();
      parse(p + i, n - i, base + i, ts, packet, h);
      return;
    }
    // Keep what may still become a header (at most 13 bytes: a header is at most 14).
    std::vector<std::uint8_t> tail(p + i, p + n);
    carry.swap(tail);
    carry_off = base + i;
  }
};

WsStream::WsStream(Side sender, const WsDeflate& deflate, std::uint64_t max_message)
    : impl_(std::make_unique<Impl>(sender, deflate, max_message)) {}

WsStream::~WsStream() = default;

void WsStream::feed(std::span<const std::uint8_t> bytes, std::uint64_t offset, std::int64_t ts_ns,
                    std::uint64_t packet, Handler& handler) {
  impl_->feed(bytes, offset, ts_ns, packet, handler);
}

void WsStream::gap(std::uint64_t offset, std::uint64_t length, Handler& handler) {
  impl_->gap(offset, length, handler);
}

void WsStream::close(Handler& handler) {
  impl_->close(handler);
}

bool WsStream::failed() const noexcept {
  return impl_->failed;
}

} // namespace sio::wire
