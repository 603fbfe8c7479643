#pragma once
/// Engine.IO traffic from HTTP exchanges, whatever the capture: the HAR reader and the pcap
/// reader both describe each request/response as an Exchange and hand it here. Polling bodies
/// become Engine.IO packets of the session named by the URL's sid (or the handshake's open
/// packet), websocket handshakes open the session's websocket, frames become packets, other
/// requests become page exchanges; cookies, session metadata and diagnostics are recorded the
/// same way for both sources.

#include "sio/common/url.hpp"
#include "sio/recorder/session_builder.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sio::recorder::detail {

struct Header {
  std::string name;
  std::string value;
};

/// First header named `name` (case-insensitive), or nullptr.
const std::string* find_header(const std::vector<Header>& hs, std::string_view name);

/// One HTTP request and its response, as a capture shows them.
struct Exchange {
  std::int64_t started_us = 0;   ///< request sent (epoch µs)
  std::int64_t response_us = -1; ///< response's first byte; -1: from the HAR timings
  double time_ms = -1;           ///< whole exchange, -1 when unknown
  double blocked = -1, dns = -1, connect = -1, send = -1, wait = -1; ///< HAR timings
  bool has_timings = false;
  std::string resource_type, pageref, server_ip;
  std::string client_addr, server_addr; ///< TCP endpoints "ip:port" (captures; empty for HARs)
  std::string method, url;              ///< absolute URL
  std::vector<Header> req_headers;
  std::vector<Header> req_cookies; ///< HAR request.cookies (used when no Cookie header)
  bool has_post = false;           ///< the request has a body
  std::string post_text, post_mime, post_encoding; ///< encoding "base64" or empty
  int status = 0;                                  ///< 0 = no response
  std::vector<Header> resp_headers;
  std::vector<Header> resp_cookies; ///< HAR response.cookies (used when no Set-Cookie header)
  bool has_content_text = false;    ///< the response body is known
  std::string content_text, content_mime, content_encoding;
};

/// What an Exchange is to the recorder.
struct Classified {
  enum class Kind { page, polling, websocket, skipped } kind = Kind::page;
  Url url;
  int eio = 4;
  std::string sid; ///< from the URL; empty for handshakes and websocket-only sessions
};

/// Counts for summaries.
struct TrafficStats {
  std::uint64_t engineio = 0;  ///< polling requests and websocket handshakes
  std::uint64_t websocket = 0; ///< websocket handshakes
  std::uint64_t frames = 0;    ///< text and binary websocket messages
  std::uint64_t pages = 0;     ///< other HTTP exchanges
};

class Traffic {
public:
  /// `where(x, rest)` names a place for diagnostics: `rest` is a HAR-style suffix
  /// (".request.url", ".response.content.text", "._webSocketMessages", ...) that a source maps
  /// to its own terms.
  using WhereFn = std::function<std::string(const Exchange&, std::string_view rest)>;

  Traffic(SessionBuilder& builder, std::string source, std::string path_filter, WhereFn where)
      : builder_(builder), source_(std::move(source)), path_(std::move(path_filter)),
        where_(std::move(where)) {}

  /// Tells page, polling and websocket exchanges apart (an unsupported EIO version or
  /// transport is diagnosed and skipped). `websocket_hint`: the source knows it is a websocket.
  Classified classify(const Exchange& x, bool websocket_hint);
  /// A page exchange.
  void page(Exchange& x);
  /// A polling request and its response.
  void polling(Exchange& x, const Classified& c);
  /// A websocket handshake of session `sid`: metadata, cookies, transports; nullptr never.
  SessionDraft& open_websocket(const Exchange& x, const Classified& c, const std::string& sid);
  /// One websocket message (opcode 1 text, 2 binary with raw bytes) of a session's websocket.
  void ws_message(SessionDraft& d, int eio, Direction dir, int opcode, std::string_view data,
                  std::int64_t t_us, std::uint32_t origin, std::uint32_t item);
  /// The sid in a websocket's first server text message ("0{"sid":...}"), or empty.
  static std::string sid_of_open_message(std::string_view text);

  /// Sessions named from now on belong to this leg (see SessionBuilder::session).
  void set_leg(const std::string& leg) { leg_ = leg; }

  [[nodiscard]] const TrafficStats& stats() const noexcept { return stats_; }
  SessionBuilder& builder() noexcept { return builder_; }
  [[nodiscard]] std::string where(const Exchange& x, std::string_view rest = {}) const {
    return where_(x, rest);
  }

private:
  void fill_meta(SessionDraft& d, const Exchange& x, const Url& url, int eio);
  void record_cookies(SessionDraft& d, const Exchange& x);
  std::vector<CookieRecord> set_cookies_of(const Exchange& x, bool engineio) const;

  SessionBuilder& builder_;
  std::string source_;
  std::string path_;
  WhereFn where_;
  std::string leg_;
  TrafficStats stats_;
};

} // namespace sio::recorder::detail
