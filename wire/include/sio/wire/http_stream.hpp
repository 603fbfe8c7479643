#pragma once
/// HTTP/1.1 on a reassembled TCP connection: requests and responses with their bodies
/// (Content-Length, chunked, read-until-close; gzip/deflate Content-Encoding decoded with zlib),
/// pipelining and keep-alive (responses matched to requests in order), `101 Switching Protocols`
/// after which the connection's bytes are handed on raw (WebSocket).
///
/// Robust to what captures hold: a connection whose capture starts mid-message resynchronises at
/// the next line that starts a request ("GET /x HTTP/1.1") or a response ("HTTP/1.1 200"); a gap
/// loses the message it falls in (reported) and parsing resumes the same way. An HTTP/2 preface
/// is reported as ErrorKind::http2 and the connection is then ignored.

#include "sio/wire/endpoint.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sio::wire {

struct HttpHeader {
  std::string name, value; ///< as sent (name case kept; value trimmed)
};

/// First header named `name` (case-insensitive), or nullptr.
const std::string* find_header(const std::vector<HttpHeader>& headers, std::string_view name);

/// What requests and responses share.
struct HttpMessage {
  std::string version; ///< "HTTP/1.1"
  std::vector<HttpHeader> headers;
  std::string body;          ///< de-chunked and, for gzip/deflate, decompressed
  bool body_decoded = false; ///< a Content-Encoding was undone
  std::int64_t ts_ns = 0;    ///< time of the packet holding the first byte of the message
  std::int64_t end_ns = 0;   ///< time of the packet holding the last byte
  std::uint64_t first_packet = 0, last_packet = 0; ///< packet numbers of those
  std::uint64_t offset = 0;                        ///< stream offset of the first byte
};

struct HttpRequest : HttpMessage {
  std::string method, target; ///< "GET", "/socket.io/?EIO=4&transport=polling"
};

struct HttpResponse : HttpMessage {
  int status = 0;
  std::string reason;
};

class HttpConnection {
public:
  struct Limits {
    std::uint64_t max_head = 64 * 1024;   ///< request line + headers
    std::uint64_t max_body = 64ull << 20; ///< after de-chunking and decompression
  };

  enum class ErrorKind {
    protocol,   ///< not HTTP/1.x where a message should start, bad chunk size, ...
    gap,        ///< a gap fell inside a message: the message is lost
    incomplete, ///< the connection ended inside a message (it is lost)
    limit,      ///< a head or body over Limits (the message is lost)
    encoding,   ///< a gzip/deflate body that does not inflate (kept as sent, body_decoded false)
    http2,      ///< HTTP/2 preface: the connection is not HTTP/1.x and is ignored from here
  };

  class Handler {
  public:
    virtual ~Handler() = default;
    /// A complete request (body included).
    virtual void on_request(const HttpRequest& req) = 0;
    /// A complete response; `req` is the request it answers (nullptr when the request was not
    /// seen, e.g. lost in a gap or before the capture started). Interim 1xx responses other than
    /// 101 are skipped. Both are dropped after the call: the handler may move from them.
    virtual void on_response(HttpRequest* req, HttpResponse& resp) = 0;
    /// `101 Switching Protocols`: every later byte of the connection goes to on_raw().
    virtual void on_upgrade(const HttpRequest* req, const HttpResponse& resp) = 0;
    /// Bytes after the upgrade, in stream order per side (`offset` = stream offset).
    virtual void on_raw(Side side, std::span<const std::uint8_t> bytes, std::uint64_t offset,
                        std::int64_t ts_ns, std::uint64_t packet) = 0;
    /// A problem at stream offset `offset` of `side`; parsing goes on where it can.
    virtual void on_error(Side side, ErrorKind kind, std::uint64_t offset, std::string what) = 0;
  };

  HttpConnection(Handler& handler, Limits limits);
  explicit HttpConnection(Handler& handler) : HttpConnection(handler, Limits{}) {}
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  /// Next bytes of `side` (as TcpHandler::on_data gives them).
  void feed(Side side, std::span<const std::uint8_t> bytes, std::uint64_t offset,
            std::int64_t ts_ns, std::uint64_t packet);
  /// `length` bytes missing at `offset` on `side`. After an upgrade the gap is passed on as an
  /// on_error(side, ErrorKind::gap, ...) and raw delivery continues after it.
  void gap(Side side, std::uint64_t offset, std::uint64_t length, std::int64_t ts_ns);
  /// The connection ended: a response delimited by the close completes; a message in progress
  /// is reported as ErrorKind::incomplete.
  void close(std::int64_t ts_ns);

  [[nodiscard]] bool upgraded() const noexcept;

private:
  struct Impl;
  Impl* impl_;
};

} // namespace sio::wire
