#include "sio/recorder/pcap_reader.hpp"

#include "sio/wire/http_stream.hpp"
#include "sio/wire/websocket.hpp"
#include "traffic.hpp"

#include <algorithm>
#include <chrono>
#include <set>
#include <vector>

namespace sio::recorder {
namespace {

using namespace sio::wire;
using detail::Classified;

class Conn;

/// An exchange with the place it came from.
struct PcapExchange : detail::Exchange {
  const Conn* conn = nullptr; ///< its connection (for diagnostics: Conn::flow())
  std::uint64_t req_packet = 0, resp_packet = 0;
};

std::string where_in_pcap(const detail::Exchange& x, std::string_view rest);

const char* http_error_kind(HttpConnection::ErrorKind k) {
  switch (k) {
  case HttpConnection::ErrorKind::protocol:
    return "http_protocol";
  case HttpConnection::ErrorKind::gap:
    return "http_gap";
  case HttpConnection::ErrorKind::incomplete:
    return "http_incomplete";
  case HttpConnection::ErrorKind::limit:
    return "http_limit";
  case HttpConnection::ErrorKind::encoding:
    return "http_encoding";
  case HttpConnection::ErrorKind::http2:
    return "http2_not_supported";
  }
  return "http";
}

class Reader;

/// One TCP connection: TLS (when it is) -> HTTP/1.1 -> WebSocket -> Traffic.
class Conn final : public TcpHandler,
                   public HttpConnection::Handler,
                   public TlsConnection::Handler,
                   public WsStream::Handler {
public:
  Conn(Reader& r, const ConnInfo& info);
  ~Conn() override;

  /// "b1.pcap: flow 3 (127.0.0.1:50000 -> 127.0.0.1:4080)": names the connection in
  /// diagnostics. Most connections never need it, so it is formatted on first use.
  const std::string& flow() const;

  // TcpHandler
  void on_data(Side side, std::span<const std::uint8_t> bytes, std::uint64_t offset,
               std::int64_t ts_ns, std::uint64_t packet) override;
  void on_gap(Side side, std::uint64_t offset, std::uint64_t length, std::int64_t ts_ns) override;
  void on_close(CloseReason reason, std::int64_t ts_ns) override;
  // HttpConnection::Handler
  void on_request(const HttpRequest& req) override;
  void on_response(HttpRequest* req, HttpResponse& resp) override;
  void on_upgrade(const HttpRequest* req, const HttpResponse& resp) override;
  void on_raw(Side side, std::span<const std::uint8_t> bytes, std::uint64_t offset,
              std::int64_t ts_ns, std::uint64_t packet) override;
  void on_error(Side side, HttpConnection::ErrorKind kind, std::uint64_t offset,
                std::string what) override;
  // TlsConnection::Handler
  void on_plaintext(Side side, std::span<const std::uint8_t> bytes, std::uint64_t offset,
                    std::int64_t ts_ns, std::uint64_t packet) override;
  void on_error(Side side, std::string what) override;
  // WsStream::Handler
  void on_message(Side sender, WsMessage&& m) override;
  void on_error(Side sender, std::uint64_t offset, std::string what) override;

private:
  enum class Mode { undecided, http, tls, ignored };

  /// The exchange of `req` and `resp`, their headers and bodies moved into it.
  PcapExchange exchange(HttpRequest& req, HttpResponse& resp) const;
  void bind(SessionDraft& d);
  void saw_http_message();
  void deliver(SessionDraft& d, Side sender, const WsMessage& m);
  void diagnose(std::string kind, std::string where, std::string what);
  std::string place(Side side, std::uint64_t offset) const;

  Reader& r_;
  ConnInfo info_;
  std::string client_, server_; ///< "ip:port" of each end, formatted once
  mutable std::string flow_;    ///< flow()'s text, made on first use
  Mode mode_ = Mode::undecided;
  std::unique_ptr<TlsConnection> tls_;
  HttpConnection http_;
  std::uint64_t http_messages_ = 0;
  std::vector<Diagnostic> held_errors_; ///< until the connection is known to speak HTTP
  // websocket
  std::unique_ptr<WsStream> ws_[2];
  bool ws_ignored_ = false;
  int eio_ = 4;
  SessionDraft* draft_ = nullptr;
  std::optional<PcapExchange> ws_exchange_;
  Classified ws_class_;
  std::vector<WsMessage> pending_; ///< client messages before the sid is known
  std::uint32_t origin_ = 0;
};

class Reader {
public:
  Reader(PacketSource& src, SessionBuilder& builder, const PcapOptions& options, PcapStats& stats)
      : src_(src), builder_(builder), options_(options), stats_(stats),
        traffic_(builder, src.name(), options.path, where_in_pcap),
        tcp_(options.limits, [this](const ConnInfo& info) { return make_conn(info); }) {}

  Status run();
  void flush_ended(std::int64_t now_ns);

  std::unique_ptr<TcpHandler> make_conn(const ConnInfo& info) {
    if (!options_.ports.empty()) {
      bool wanted = false;
      for (const auto p : options_.ports) wanted |= info.server.port == p || info.client.port == p;
      if (!wanted) return nullptr;
    }
    return std::make_unique<Conn>(*this, info);
  }

  PacketSource& src_;
  SessionBuilder& builder_;
  const PcapOptions& options_;
  PcapStats& stats_;
  detail::Traffic traffic_;
  TcpReassembler tcp_;
  std::set<std::pair<Endpoint, Endpoint>> quic_; ///< UDP 443 flows reported, lower end first
};

// ---- Conn ---------------------------------------------------------------------------------

Conn::Conn(Reader& r, const ConnInfo& info)
    : r_(r), info_(info), client_(info.client.to_string()), server_(info.server.to_string()),
      http_(*this) {}

std::string where_in_pcap(const detail::Exchange& x, std::string_view rest) {
  const auto& e = static_cast<const PcapExchange&>(x);
  const bool response = rest.rfind(".response", 0) == 0;
  return e.conn->flow() + (response ? " response" : " request") + " at packet " +
         std::to_string(response ? e.resp_packet : e.req_packet);
}

const std::string& Conn::flow() const {
  if (flow_.empty())
    flow_ = r_.src_.name() + ": flow " + std::to_string(info_.id) + " (" + client_ + " -> " +
            server_ + ")";
  return flow_;
}

Conn::~Conn() = default;

std::string Conn::place(Side side, std::uint64_t offset) const {
  return flow() + " " + to_string(side) + " byte " + std::to_string(offset);
}

void Conn::diagnose(std::string kind, std::string where, std::string what) {
  if (http_messages_ == 0 && mode_ != Mode::tls) {
    // Not known to be HTTP yet: another protocol's bytes would only make noise.
    // Held (a few) until a first HTTP message shows the connection is HTTP after all.
    if (held_errors_.size() < 8)
      held_errors_.push_back({std::move(kind), std::move(where), std::move(what), {}});
    return;
  }
  r_.builder_.diagnose(std::move(kind), std::move(where), std::move(what),
                       draft_ ? draft_->meta.sid : std::string());
}

void Conn::on_data(Side side, std::span<const std::uint8_t> bytes, std::uint64_t offset,
                   std::int64_t ts_ns, std::uint64_t packet) {
  if (mode_ == Mode::undecided) {
    const bool tls_like =
        bytes.size() >= 2 && (bytes[0] == 0x16 || bytes[0] == 0x17) && bytes[1] == 0x03;
    const bool hello = side == Side::client && looks_like_tls(bytes);
    if (hello || (tls_like && offset == 0 && side == Side::client) ||
        (tls_like && side == Side::server)) {
      mode_ = Mode::tls;
      ++r_.stats_.tls_connections;
      static const KeyLog no_keys;
      tls_ = std::make_unique<TlsConnection>(r_.options_.keys ? *r_.options_.keys : no_keys);
    } else {
      mode_ = Mode::http;
    }
  }
  if (mode_ == Mode::ignored) return;
  if (mode_ == Mode::tls) {
    tls_->feed(side, bytes, ts_ns, packet, *this);
    return;
  }
  http_.feed(side, bytes, offset, ts_ns, packet);
}

void Conn::on_gap(Side side, std::uint64_t offset, std::uint64_t length, std::int64_t ts_ns) {
  ++r_.stats_.gaps;
  r_.stats_.gap_bytes += length;
  r_.builder_.diagnose("tcp_gap", flow(),
                       std::to_string(length) + " byte(s) of the " + to_string(side) +
                           " stream missing at offset " + std::to_string(offset) +
                           " (packets lost or cut by the snap length)");
  if (mode_ == Mode::tls && tls_)
    tls_->gap(side, *this);
  else if (mode_ == Mode::http)
    http_.gap(side, offset, length, ts_ns);
}

void Conn::on_close(CloseReason, std::int64_t ts_ns) {
  if (mode_ == Mode::http ||
      (mode_ == Mode::tls && tls_ && tls_->state() == TlsConnection::State::decrypting))
    http_.close(ts_ns);
  for (auto& ws : ws_)
    if (ws) ws->close(*this);
  if (!draft_ && ws_exchange_ && !ws_ignored_)
    r_.builder_.diagnose("no_sid", flow() + " websocket",
                         "websocket with no sid in its URL and no Engine.IO open packet from the "
                         "server: " +
                             std::to_string(pending_.size()) + " client message(s) skipped");
  if (mode_ == Mode::tls && tls_) {
    const auto st = tls_->state();
    if (st == TlsConnection::State::decrypting) {
      ++r_.stats_.tls_decrypted;
    } else {
      std::string what = "TLS";
      if (!tls_->version().empty()) what += " (" + tls_->version() + ")";
      what += tls_->sni().empty() ? std::string(" without SNI") : " to " + tls_->sni();
      what += st == TlsConnection::State::no_keys ? ": encrypted, no key for this session in the "
                                                    "key log (--keylog)"
              : st == TlsConnection::State::unsupported ? ": not decrypted: " + tls_->detail()
              : st == TlsConnection::State::failed      ? ": decryption failed: " + tls_->detail()
                                                        : ": handshake not complete in the capture";
      r_.stats_.encrypted.push_back(flow().substr(r_.src_.name().size() + 2) + " " + what);
      r_.builder_.diagnose("tls_encrypted", flow(), what);
    }
    if (tls_->alpn() == "h2") {
      ++r_.stats_.http2_connections;
      r_.builder_.diagnose(
          "http2_not_supported", flow(),
          "HTTP/2 (ALPN h2): not decoded (Socket.IO over HTTP/2 is not supported)");
    }
  }
  if (draft_) {
    --draft_->refs; // this websocket delivers nothing more: the session may end
    draft_ = nullptr;
  }
}

void Conn::saw_http_message() {
  if (http_messages_++ > 0) return;
  for (auto& d : held_errors_) // the connection is HTTP: what went wrong before it counts
    r_.builder_.diagnose(std::move(d.kind), std::move(d.where), std::move(d.what));
  held_errors_.clear();
}

void Conn::on_request(const HttpRequest&) {
  saw_http_message();
}

PcapExchange Conn::exchange(HttpRequest& req, HttpResponse& resp) const {
  PcapExchange x;
  x.conn = this;
  x.req_packet = req.first_packet;
  x.resp_packet = resp.first_packet;
  x.started_us = req.ts_ns / 1000;
  x.response_us = resp.ts_ns / 1000;
  x.time_ms = static_cast<double>(resp.end_ns - req.ts_ns) / 1e6;
  x.server_ip = info_.server.address();
  x.server_addr = server_;
  x.client_addr = client_;
  x.method = req.method;
  const std::string* host = find_header(req.headers, "host");
  const std::string scheme = mode_ == Mode::tls ? "https" : "http";
  if (req.target.rfind("http://", 0) == 0 || req.target.rfind("https://", 0) == 0)
    x.url = req.target; // absolute form (a request to a proxy)
  else
    x.url = scheme + "://" + (host ? *host : server_) + req.target;
  x.has_post = !req.body.empty() || req.method == "POST";
  x.post_text = std::move(req.body);
  if (const auto* ct = find_header(req.headers, "content-type")) x.post_mime = *ct;
  x.req_headers.reserve(req.headers.size());
  for (auto& h : req.headers) x.req_headers.push_back({std::move(h.name), std::move(h.value)});
  x.status = resp.status;
  x.has_content_text = true;
  x.content_text = std::move(resp.body);
  if (const auto* ct = find_header(resp.headers, "content-type")) x.content_mime = *ct;
  x.resp_headers.reserve(resp.headers.size());
  for (auto& h : resp.headers) x.resp_headers.push_back({std::move(h.name), std::move(h.value)});
  return x;
}

void Conn::on_response(HttpRequest* req, HttpResponse& resp) {
  saw_http_message();
  ++r_.stats_.http_exchanges;
  if (http_messages_ == 2) ++r_.stats_.http_connections;
  if (!req) {
    r_.builder_.diagnose("http_lost_request", place(Side::server, resp.offset),
                         "HTTP " + std::to_string(resp.status) +
                             " response whose request is not in the capture; skipped");
    return;
  }
  PcapExchange x = exchange(*req, resp);
  r_.traffic_.set_leg(server_);
  const Classified c = r_.traffic_.classify(x, false);
  switch (c.kind) {
  case Classified::Kind::page:
    r_.traffic_.page(x);
    break;
  case Classified::Kind::polling:
    r_.traffic_.polling(x, c);
    break;
  case Classified::Kind::websocket:
    // A websocket request that was refused (400 ...): say so on its session when it has one.
    if (!c.sid.empty())
      r_.traffic_.open_websocket(x, c, c.sid);
    else
      r_.builder_.diagnose("http_error", where_in_pcap(x, ".response"),
                           "websocket handshake answered " + std::to_string(x.status) +
                               " instead of 101");
    break;
  case Classified::Kind::skipped:
    break;
  }
}

void Conn::on_upgrade(const HttpRequest* req, const HttpResponse& resp) {
  saw_http_message();
  ++r_.stats_.http_exchanges;
  ++r_.stats_.websocket_connections;
  if (!req) {
    ws_ignored_ = true;
    r_.builder_.diagnose("http_lost_request", place(Side::server, resp.offset),
                         "101 Switching Protocols whose request is not in the capture; the "
                         "websocket is skipped");
    return;
  }
  HttpRequest req_copy = *req; // once per websocket: the copies keep resp for below
  HttpResponse resp_copy = resp;
  PcapExchange x = exchange(req_copy, resp_copy);
  r_.traffic_.set_leg(server_);
  const Classified c = r_.traffic_.classify(x, true);
  if (c.kind != Classified::Kind::websocket) {
    ws_ignored_ = true; // a websocket that is not Engine.IO's
    if (c.kind == Classified::Kind::page) r_.traffic_.page(x);
    return;
  }
  const std::string* ext = find_header(resp.headers, "sec-websocket-extensions");
  auto deflate = parse_ws_extensions(ext ? *ext : std::string());
  if (!deflate) {
    ws_ignored_ = true;
    r_.builder_.diagnose("ws_unsupported_extension", where_in_pcap(x, ".response"),
                         deflate.error().message() + "; the websocket's messages are skipped",
                         c.sid);
    return;
  }
  eio_ = c.eio;
  ws_[0] = std::make_unique<WsStream>(Side::client, *deflate);
  ws_[1] = std::make_unique<WsStream>(Side::server, *deflate);
  origin_ = r_.builder_.add_origin(flow() + " websocket", /*indexed=*/false);
  ws_class_ = c;
  ws_exchange_ = std::move(x);
  if (!c.sid.empty()) bind(r_.traffic_.open_websocket(*ws_exchange_, c, c.sid));
}

void Conn::on_raw(Side side, std::span<const std::uint8_t> bytes, std::uint64_t offset,
                  std::int64_t ts_ns, std::uint64_t packet) {
  if (ws_ignored_) return;
  auto& ws = ws_[side == Side::client ? 0 : 1];
  if (ws) ws->feed(bytes, offset, ts_ns, packet, *this);
}

void Conn::on_error(Side side, HttpConnection::ErrorKind kind, std::uint64_t offset,
                    std::string what) {
  if (kind == HttpConnection::ErrorKind::http2) {
    ++r_.stats_.http2_connections;
    r_.builder_.diagnose("http2_not_supported", flow(),
                         "HTTP/2 connection: not decoded (Socket.IO over HTTP/2 is not supported)");
    return;
  }
  if (http_.upgraded()) {
    // A gap after the upgrade: the websocket of that side loses its framing.
    auto& ws = ws_[side == Side::client ? 0 : 1];
    if (ws && !ws->failed() && kind == HttpConnection::ErrorKind::gap) {
      ws->gap(offset, 0, *this);
      return;
    }
  }
  // A body over a limit comes after a start line and head that parsed: the connection speaks
  // HTTP, so the error is news before any message completes (a first request declaring a
  // Content-Length of 10^15 would otherwise be held forever: the capture's one flow silently
  // empty, and "no request with EIO=" the only hint).
  if (kind == HttpConnection::ErrorKind::limit && what.find(" body ") != std::string::npos)
    saw_http_message();
  diagnose(http_error_kind(kind), place(side, offset), std::move(what));
}

void Conn::on_plaintext(Side side, std::span<const std::uint8_t> bytes, std::uint64_t offset,
                        std::int64_t ts_ns, std::uint64_t packet) {
  http_.feed(side, bytes, offset, ts_ns, packet);
}

void Conn::on_error(Side side, std::string what) {
  r_.builder_.diagnose("tls_error", flow() + " " + to_string(side), std::move(what),
                       draft_ ? draft_->meta.sid : std::string());
}

void Conn::deliver(SessionDraft& d, Side sender, const WsMessage& m) {
  r_.traffic_.ws_message(
      d, eio_, sender == Side::client ? Direction::client_to_server : Direction::server_to_client,
      m.opcode, m.payload, m.ts_ns / 1000, origin_, static_cast<std::uint32_t>(m.packet));
}

void Conn::bind(SessionDraft& d) {
  draft_ = &d;
  ++d.refs; // the session cannot end while this websocket may still deliver to it
}

void Conn::on_message(Side sender, WsMessage&& m) {
  if (m.opcode == 8 && draft_) draft_->closed = true;
  if (m.opcode != 1 && m.opcode != 2) return; // close, ping, pong: no Engine.IO data
  if (!draft_) {
    if (sender == Side::server && m.opcode == 1) {
      const std::string sid = detail::Traffic::sid_of_open_message(m.payload);
      if (!sid.empty()) {
        r_.traffic_.set_leg(server_);
        bind(r_.traffic_.open_websocket(*ws_exchange_, ws_class_, sid));
        deliver(*draft_, sender, m);
        for (const auto& p : pending_) deliver(*draft_, Side::client, p);
        pending_.clear();
        return;
      }
    }
    if (pending_.size() < 4096) pending_.push_back(std::move(m));
    return;
  }
  deliver(*draft_, sender, m);
}

void Conn::on_error(Side sender, std::uint64_t offset, std::string what) {
  r_.builder_.diagnose("ws_error", place(sender, offset), std::move(what),
                       draft_ ? draft_->meta.sid : std::string());
}

// ---- Reader -------------------------------------------------------------------------------

Status Reader::run() {
  stats_.link_type = link_type_name(src_.linktype());
  RawPacket p;
  Error err;
  TcpSegment seg;
  std::int64_t last_ts = 0, last_expire = 0;
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  auto next_progress = started + std::chrono::milliseconds(250);
  std::uint64_t bad_reported = 0, bad_times = 0;
  for (;;) {
    if (options_.stop && options_.stop->load(std::memory_order_relaxed)) break;
    const auto n = src_.next(p, err);
    if (n == PacketSource::Next::end) break;
    if (n == PacketSource::Next::error) {
      stats_.damage = err.message();
      builder_.diagnose("capture_damaged", src_.name(),
                        err.message() + "; the packets before it are kept");
      break;
    }
    if (n == PacketSource::Next::packet) {
      ++stats_.packets;
      stats_.bytes += p.caplen;
      if (!p.ts_valid && ++bad_times <= 10)
        builder_.diagnose("bad_timestamp", src_.name() + ": packet " + std::to_string(p.number),
                          "the capture time is before 1970 or past 2262; the previous packet's "
                          "time is used");
      last_ts = p.ts_ns;
      switch (decode_packet(src_.linktype(), p.data, p.len, seg)) {
      case DecodeStatus::tcp:
        ++stats_.tcp_segments;
        tcp_.add(seg, p.ts_ns, p.number);
        break;
      case DecodeStatus::udp:
        if (seg.src.port == 443 || seg.dst.port == 443) {
          if (quic_.insert(std::minmax(seg.src, seg.dst)).second) {
            ++stats_.quic_flows;
            builder_.diagnose("quic_not_supported",
                              src_.name() + ": packet " + std::to_string(p.number),
                              "UDP " + seg.src.to_string() + " -> " + seg.dst.to_string() +
                                  " (QUIC / HTTP/3?): not supported, not decoded");
          }
        } else {
          ++stats_.other_packets;
        }
        break;
      case DecodeStatus::ip_fragment:
        ++stats_.ip_fragments;
        break;
      case DecodeStatus::truncated:
      case DecodeStatus::bad_header:
        ++stats_.bad_packets;
        if (++bad_reported <= 10)
          builder_.diagnose("bad_packet", src_.name() + ": packet " + std::to_string(p.number),
                            "headers cut short or damaged; packet skipped");
        break;
      default:
        ++stats_.other_packets;
        break;
      }
      if (p.ts_ns - last_expire > 1'000'000'000) {
        tcp_.expire(p.ts_ns);
        last_expire = p.ts_ns;
        flush_ended(p.ts_ns);
        if (options_.enough && options_.enough()) break;
      }
    } else if (n == PacketSource::Next::timeout && options_.sink) {
      // Live and quiet: sessions still end on the wall clock.
      const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
      if (now_ns - last_expire > 1'000'000'000) {
        tcp_.expire(now_ns);
        last_expire = now_ns;
        flush_ended(now_ns);
        if (options_.enough && options_.enough()) break;
      }
    }
    if (options_.progress || options_.duration_s > 0) {
      if ((stats_.packets & 1023) == 0 || n == PacketSource::Next::timeout) {
        const auto now = clock::now();
        if (options_.progress && now >= next_progress) {
          options_.progress(src_, stats_.packets, tcp_.stats().connections,
                            builder_.sessions_seen());
          next_progress = now + std::chrono::milliseconds(250);
        }
        if (options_.duration_s > 0 &&
            std::chrono::duration<double>(now - started).count() >= options_.duration_s)
          break;
      }
    }
  }
  tcp_.flush_all(last_ts);
  const auto& t = tcp_.stats();
  stats_.connections = t.connections;
  stats_.live = src_.stats();
  if (options_.sink)
    stats_.proxied_sessions += builder_.finish_into(options_.leg, *options_.sink);
  else
    stats_.proxied_sessions = builder_.resolve_legs(options_.leg);
  return ok_status();
}

void Reader::flush_ended(std::int64_t now_ns) {
  if (!options_.sink) return;
  constexpr std::int64_t grace_us = 10'000'000; // responses still in flight after a close
  stats_.proxied_sessions += builder_.flush_ended(now_ns / 1000, grace_us, options_.session_idle_us,
                                                  options_.leg, *options_.sink);
}

} // namespace

Status read_packets(PacketSource& source, SessionBuilder& builder, const PcapOptions& options,
                    PcapStats& stats) {
  Reader r(source, builder, options, stats);
  return r.run();
}

} // namespace sio::recorder
