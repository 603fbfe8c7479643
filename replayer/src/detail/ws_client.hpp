#pragma once
/// A lean client-side WebSocket (RFC 6455) over a Beast stream (TCP, or TLS over TCP), for the
/// replayer's virtual users. Beast's websocket::stream costs about 12 KB per idle connection (a
/// 4 KB masking buffer, its buffers, and the state its composed operations keep while a read is
/// pending); this keeps one small read buffer and a write buffer the size of the last message,
/// and a pending read is a plain `async_read_some`. No extensions are offered (Engine.IO servers
/// do not compress by default), so frames carry no RSV bits.
///
/// One reader and one writer at a time, on one strand (the user's io_context thread). A server
/// ping is answered at once when no write is in flight (otherwise the next ping is).

#include "sio/common/base64.hpp"

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>; g++ gets it through
// other headers, clang with libstdc++ does not.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/error.hpp>

#include <openssl/evp.h>

#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>

namespace sio::replayer::detail {

/// The Sec-WebSocket-Accept value for a Sec-WebSocket-Key (RFC 6455 section 4.2.2).
inline std::string websocket_accept(std::string_view key) {
  static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string text(key);
  text += guid;
  // Fetched once: with EVP_sha1() OpenSSL 3 fetches the implementation again on every digest,
  // which cost more than the rest of a user's handshake (about 50,000 instructions a user).
  static EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (sha1 == nullptr || EVP_Digest(text.data(), text.size(), digest, &len, sha1, nullptr) != 1)
    return {};
  return base64_encode(std::string_view(reinterpret_cast<const char*>(digest), len));
}

/// The largest message the replayer takes from a server, on the websocket (after reassembling
/// its frames) and as a polling answer; past it the user fails with errors.message_too_big.
inline constexpr std::size_t max_message_bytes = 64u << 20;

template <class Stream> class WsClient {
public:
  /// A received message: valid until the next read().
  struct Message {
    bool text = true;
    std::string_view data;
  };

  template <class... Args>
  explicit WsClient(Args&&... args) : stream_(std::forward<Args>(args)...) {}

  Stream& next_layer() { return stream_; }
  auto& lowest() { return boost::beast::get_lowest_layer(stream_); }

  /// Sends the upgrade request (`decorate` adds headers to it) and reads the 101 answer into
  /// `res`. Throws system_error: websocket::error::upgrade_declined when the server says
  /// anything else or the accept key is wrong.
  template <class Decorate>
  boost::asio::awaitable<void>
  handshake(const std::string& host, const std::string& target, Decorate&& decorate,
            boost::beast::http::response<boost::beast::http::string_body>& res,
            std::mt19937_64& rng) {
    namespace http = boost::beast::http;
    std::array<char, 16> nonce{};
    for (auto& c : nonce) c = static_cast<char>(rng() & 0xFF);
    const std::string key = base64_encode(std::string_view(nonce.data(), nonce.size()));
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, host);
    req.set(http::field::upgrade, "websocket");
    req.set(http::field::connection, "Upgrade");
    req.set(http::field::sec_websocket_key, key);
    req.set(http::field::sec_websocket_version, "13");
    decorate(req);
    co_await http::async_write(stream_, req, boost::asio::use_awaitable);
    boost::beast::flat_buffer hb;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024);
    co_await http::async_read_header(stream_, hb, parser, boost::asio::use_awaitable);
    res = parser.release();
    if (res.result() != http::status::switching_protocols ||
        res[http::field::sec_websocket_accept] != websocket_accept(key))
      throw boost::system::system_error(boost::beast::websocket::error::upgrade_declined);
    // Bytes after the 101 (the server may send its first frame in the same segment) are ours.
    const auto rest = hb.data();
    if (rest.size() > 0) {
      reserve(rest.size());
      std::memcpy(buf_.get() + end_, rest.data(), rest.size());
      end_ += rest.size();
    }
  }

  /// What next() found in the bytes received so far.
  enum class Next {
    message,   ///< a complete data message (text or binary)
    ping,      ///< a ping: its payload is in Message::data, to answer with a pong
    need_more, ///< read more (prepare_read(), then received())
    error,     ///< `ec` says why: websocket::error::closed on a close frame, protocol errors
  };

  /// Takes the next message (or ping) out of the bytes already received, without reading or
  /// allocating (a fragmented message is joined in a string of this client's). The message is
  /// valid until the next call.
  Next next(Message& m, boost::system::error_code& ec) {
    namespace ws = boost::beast::websocket;
    for (;;) {
      need_ = 2;
      const std::size_t avail = end_ - begin_;
      if (avail < 2) return Next::need_more;
      const auto* p = reinterpret_cast<const unsigned char*>(buf_.get() + begin_);
      const bool fin = (p[0] & 0x80) != 0;
      const unsigned opcode = p[0] & 0x0F;
      const bool masked = (p[1] & 0x80) != 0;
      std::uint64_t len = p[1] & 0x7F;
      std::size_t hdr = 2;
      if (len == 126) hdr += 2;
      if (len == 127) hdr += 8;
      if (masked) hdr += 4;
      need_ = hdr;
      if (avail < hdr) return Next::need_more;
      if (len == 126) len = std::uint64_t{p[2]} << 8 | p[3];
      if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; ++i) len = len << 8 | p[2 + i];
      }
      if ((p[0] & 0x70) != 0) return fail(ec, ws::error::bad_reserved_bits);
      if (len > max_message) return fail(ec, ws::error::message_too_big);
      need_ = hdr + static_cast<std::size_t>(len);
      if (avail < need_) return Next::need_more;
      char* payload = buf_.get() + begin_ + hdr;
      const auto n = static_cast<std::size_t>(len);
      if (masked) {
        const unsigned char* key = p + hdr - 4;
        for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<char>(payload[i] ^ key[i % 4]);
      }
      begin_ += need_;
      if (opcode >= 8) { // control frames: FIN, at most 125 bytes
        if (!fin || n > 125) return fail(ec, ws::error::bad_control_fragment);
        if (opcode == 8) return fail(ec, ws::error::closed);
        if (opcode != 9) continue; // an unsolicited pong
        m = Message{false, std::string_view(payload, n)};
        return Next::ping;
      }
      if (opcode != 0 && opcode != 1 && opcode != 2) return fail(ec, ws::error::bad_opcode);
      if (opcode != 0) {
        if (in_message_) return fail(ec, ws::error::bad_data_frame);
        text_ = opcode == 1;
        if (fin) {
          m = Message{text_, std::string_view(payload, n)};
          return Next::message;
        }
        in_message_ = true;
        message_.assign(payload, n);
        continue;
      }
      if (!in_message_) return fail(ec, ws::error::bad_continuation);
      if (message_.size() + n > max_message) return fail(ec, ws::error::message_too_big);
      message_.append(payload, n);
      if (!fin) continue;
      in_message_ = false;
      m = Message{text_, message_};
      return Next::message;
    }
  }

  /// Room for the bytes next() needs (what is buffered is kept; a large buffer whose message is
  /// done is given back first). Read into it, then call received().
  boost::asio::mutable_buffer prepare_read() {
    if (begin_ == end_) {
      begin_ = end_ = 0;
      if (cap_ > keep_bytes) release(); // a big message is done: give its buffer back
      if (!in_message_ && message_.capacity() > keep_bytes) std::string().swap(message_);
    } else if (begin_ > 0) {
      std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    reserve(std::max<std::size_t>(need_ - (end_ - begin_), 1));
    return boost::asio::buffer(buf_.get() + end_, cap_ - end_);
  }
  void received(std::size_t n) noexcept { end_ += n; }

  /// Reads the next data message (text or binary), answering pings on the way. Throws
  /// system_error: websocket::error::closed on a close frame, and protocol errors. (The
  /// replayer's steady state reads with next() and its own completion handlers instead.)
  boost::asio::awaitable<Message> read() {
    for (;;) {
      Message m;
      boost::system::error_code ec;
      switch (next(m, ec)) {
      case Next::message:
        co_return m;
      case Next::ping:
        if (!writing_) co_await send_control(0xA, m.data);
        continue;
      case Next::error:
        throw boost::system::system_error(ec);
      case Next::need_more:
        break;
      }
      const std::size_t n =
          co_await stream_.async_read_some(prepare_read(), boost::asio::use_awaitable);
      received(n);
    }
  }

  /// Writes one message as a single masked frame.
  boost::asio::awaitable<void> write(std::string_view payload, bool binary, std::mt19937_64& rng) {
    while (writing_) co_await pause(); // a pong in flight (rare)
    frame(binary ? 0x2 : 0x1, payload, rng(), wbuf_);
    co_await send(wbuf_);
    // Keep the buffer of a small message for the next one; give a large one back.
    if (wbuf_.capacity() > keep_bytes)
      std::string().swap(wbuf_);
    else
      wbuf_.clear();
  }

  /// Appends one masked frame holding `payload` to `out` (frames queued by the caller and sent
  /// together with async_write_frames).
  static void append_frame(bool binary, std::string_view payload, std::uint64_t mask_seed,
                           std::string& out) {
    frame(binary ? 0x2 : 0x1, payload, mask_seed, out, true);
  }

  /// Appends one masked control frame (a pong answering a ping: opcode 0xA) to `out`.
  static void append_control(unsigned opcode, std::string_view payload, std::uint64_t mask_seed,
                             std::string& out) {
    frame(opcode, payload, mask_seed, out, true);
  }

  /// True while a frame is being written (async_write_frames must wait: write() or close() may
  /// have one in flight).
  [[nodiscard]] bool writing() const noexcept { return writing_; }

  /// Starts writing the frames built with append_frame in `frames`; `handler` is called with
  /// (error_code, bytes), then call frames_written() (also after an error). `frames` is swapped
  /// with this client's empty buffer first, so the caller can go on filling it during the write
  /// and both buffers keep their capacity: no allocation (the operation's memory comes from the
  /// handler's allocator). Requires !writing().
  template <class Handler>
  decltype(auto) async_write_frames(std::string& frames, Handler&& handler) {
    wbuf_.swap(frames);
    writing_ = true;
    return boost::asio::async_write(stream_, boost::asio::buffer(wbuf_),
                                    std::forward<Handler>(handler));
  }
  /// Plain TCP only: writes what the socket takes of `frames` now, without waiting and without
  /// an operation (no completion to dispatch, no reactor round). True when all of it went out
  /// (`frames` is then empty); false when the rest (left in `frames`) must go by
  /// async_write_frames, or on an error (`ec`). Requires !writing() and the socket in
  /// non-blocking mode (set_non_blocking()).
  bool try_write_frames(std::string& frames, boost::system::error_code& ec) {
    const std::size_t n = lowest().socket().write_some(boost::asio::buffer(frames), ec);
    if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) ec = {};
    if (ec) return false;
    if (n == frames.size()) {
      frames.clear();
      return true;
    }
    frames.erase(0, n);
    return false;
  }
  /// Makes the socket's synchronous operations fail with would_block instead of waiting (for
  /// try_write_frames; asynchronous operations are the same either way).
  void set_non_blocking(boost::system::error_code& ec) { lowest().socket().non_blocking(true, ec); }

  /// Starts reading into prepare_read()'s room; `handler` gets (error_code, bytes): call
  /// received(bytes) on success.
  template <class Handler> decltype(auto) async_read_some(Handler&& handler) {
    return stream_.async_read_some(prepare_read(), std::forward<Handler>(handler));
  }
  void frames_written() noexcept {
    writing_ = false;
    if (wbuf_.capacity() > keep_bytes)
      std::string().swap(wbuf_);
    else
      wbuf_.clear();
  }

  /// Sends a close frame (1000, normal) when no write is in flight; errors are ignored. The
  /// caller closes the socket.
  boost::asio::awaitable<void> close() {
    if (writing_) co_return;
    try {
      co_await send_control(0x8, std::string_view("\x03\xE8", 2));
    } catch (const std::exception&) {}
  }

private:
  static constexpr std::size_t max_message = max_message_bytes;
  static constexpr std::size_t first_bytes = 256; ///< read buffer of an idle connection
  static constexpr std::size_t keep_bytes = 4096; ///< larger buffers are freed when empty

  /// Header, mask key and masked payload of one frame, into `out` (after what it holds when
  /// `append`).
  static void frame(unsigned opcode, std::string_view payload, std::uint64_t mask_seed,
                    std::string& out, bool append = false) {
    const std::size_t n = payload.size();
    if (!append) out.clear();
    out.reserve(out.size() + n + 14);
    out += static_cast<char>(0x80 | opcode);
    if (n < 126) {
      out += static_cast<char>(0x80 | n);
    } else if (n <= 0xFFFF) {
      out += static_cast<char>(0x80 | 126);
      out += static_cast<char>(n >> 8);
      out += static_cast<char>(n & 0xFF);
    } else {
      out += static_cast<char>(0x80 | 127);
      for (int i = 7; i >= 0; --i)
        out += static_cast<char>((static_cast<std::uint64_t>(n) >> (8 * i)) & 0xFF);
    }
    char key[4];
    for (int i = 0; i < 4; ++i) key[i] = static_cast<char>((mask_seed >> (8 * i)) & 0xFF);
    out.append(key, 4);
    const std::size_t at = out.size();
    out.append(payload);
    for (std::size_t i = 0; i < n; ++i) out[at + i] = static_cast<char>(out[at + i] ^ key[i % 4]);
  }

  boost::asio::awaitable<void> send_control(unsigned opcode, std::string_view payload) {
    std::string f;
    frame(opcode, payload, control_mask_++ * 0x9E3779B97F4A7C15ull, f);
    co_await send(f);
  }

  /// Writes a built frame; `writing_` tells the other side (reader or writer) one is in flight.
  boost::asio::awaitable<void> send(const std::string& f) {
    writing_ = true;
    try {
      co_await boost::asio::async_write(stream_, boost::asio::buffer(f),
                                        boost::asio::use_awaitable);
    } catch (...) {
      writing_ = false;
      throw;
    }
    writing_ = false;
  }

  boost::asio::awaitable<void> pause() {
    boost::asio::steady_timer t(stream_.get_executor(), std::chrono::milliseconds(1));
    co_await t.async_wait(boost::asio::use_awaitable);
  }

  /// Room for at least `more` bytes after end_.
  void reserve(std::size_t more) {
    if (cap_ - end_ >= more) return;
    const std::size_t want = std::max({first_bytes, end_ + more, cap_ * 2});
    auto bigger = std::make_unique_for_overwrite<char[]>(want);
    if (end_ > begin_) std::memcpy(bigger.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    buf_ = std::move(bigger);
    cap_ = want;
  }
  void release() {
    buf_.reset();
    cap_ = 0;
  }
  static Next fail(boost::system::error_code& ec, boost::beast::websocket::error e) {
    ec = e;
    return Next::error;
  }

  Stream stream_;
  std::unique_ptr<char[]> buf_; ///< received bytes in [begin_, end_)
  std::size_t cap_ = 0, begin_ = 0, end_ = 0;
  std::size_t need_ = 2; ///< the bytes from begin_ next() needs to go on
  std::string message_;  ///< a fragmented message being joined
  bool in_message_ = false;
  bool text_ = true;
  std::string wbuf_; ///< the frame being written
  bool writing_ = false;
  std::uint64_t control_mask_ = 1;
};

} // namespace sio::replayer::detail
