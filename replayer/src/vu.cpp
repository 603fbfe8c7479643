#include "detail/vu.hpp"
#include "detail/ws_client.hpp"

#include "sio/common/cookie.hpp"
#include "sio/common/engineio.hpp"
#include "sio/common/front_queue.hpp"
#include "sio/common/json_fast.hpp"
#include "sio/common/session_json.hpp"
#include "sio/common/socketio.hpp"
#include "sio/common/url.hpp"
#include "sio/replayer/capture.hpp"
#include "sio/replayer/template.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/error.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <charconv>
#include <chrono>
#include <map>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/resource.h>

namespace sio::replayer::detail {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using net::awaitable;
using net::use_awaitable;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// Ends the user; `cause` becomes the counter errors.<cause>.
struct UserError : std::runtime_error {
  std::string cause;
  UserError(std::string c, const std::string& what)
      : std::runtime_error(what), cause(std::move(c)) {}
};

/// A header value made by a template (a variable, a payload CSV field): one with a line break
/// would inject a header, so the user fails instead of sending it.
std::string checked_header(const std::string& name, std::string value) {
  if (const auto fault = header_fault(value, false))
    throw UserError("bad_header", "header " + name + ": the rendered value " + *fault);
  return value;
}

std::int64_t us_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::microseconds>(to - from).count();
}
std::int64_t since_us(Clock::time_point t0) {
  return us_between(t0, Clock::now());
}

std::chrono::milliseconds ms_of(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0));
}

/// The cause counted for a transport error: what a user can act on.
UserError transport_error(const boost::system::error_code& ec, const char* step) {
  const std::string what = std::string(step) + ": " + ec.message();
  if (ec == beast::error::timeout || ec == websocket::error::closed)
    return {ec == beast::error::timeout ? std::string("timeout.") + step : "ws_closed", what};
  if (ec == net::error::connection_refused) return {"connect_refused", what};
  if (ec == net::error::connection_reset || ec == net::error::broken_pipe)
    return {"connection_reset", what};
  if (ec == net::error::eof || ec == http::error::end_of_stream ||
      ec == ssl::error::stream_truncated)
    return {"connection_closed", what};
  if (ec == net::error::host_unreachable || ec == net::error::network_unreachable)
    return {"unreachable", what};
  // Limits of this machine, named so that the user knows which one stopped the run.
  if (ec == net::error::no_descriptors) {
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    return {"limit.open_files",
            what + " (the open files limit, RLIMIT_NOFILE = " + std::to_string(rl.rlim_cur) +
                ", is reached: split the load over more processes with --processes N)"};
  }
  if (ec == boost::system::errc::address_not_available || ec == net::error::address_in_use)
    return {"limit.local_ports",
            what + " (no local port left towards the target: spread the connections over more "
                   "source addresses with --source-addresses, e.g. 127.0.0.1-127.0.0.8)"};
  if (ec == net::error::no_buffer_space || ec == net::error::no_memory)
    return {"limit.memory", what};
  if (ec.category() == net::error::get_ssl_category()) return {"tls", what};
  // A websocket message or polling answer past the replayer's limit (WsStream::max_message,
  // the polling body limit): the server sent more than any Socket.IO client should buffer.
  if (ec == websocket::error::message_too_big || ec == http::error::body_limit)
    return {"message_too_big",
            what + " (the limit is " + std::to_string(max_message_bytes >> 20) + " MiB a message)"};
  if (ec == websocket::error::upgrade_declined) return {"ws_upgrade_declined", what};
  if (ec.category() == make_error_code(http::error::bad_version).category() ||
      ec.category() == make_error_code(websocket::error::closed).category())
    return {"protocol", what};
  return {"io_error", what};
}

/// A one-shot wake-up with a deadline: the waiting coroutine sleeps on the timer, the reader
/// sets `done` and cancels the timer.
struct Waiter {
  explicit Waiter(const net::any_io_executor& ex) : timer(ex) {}
  net::steady_timer timer;
  bool done = false;
  Json args;                  ///< ack / event arguments
  std::optional<Json> expect; ///< events: keep waiting until args match this (`data`)
  std::optional<Json> seen;   ///< events: the last arguments that did not match
  std::string error;          ///< set when the wait ends in failure (refused, transport died)
  bool wants_args = true;     ///< an ack whose expectation reads its arguments
  void notify() {
    done = true;
    timer.cancel();
  }
};

/// Artillery's check of received args against `data`: an array compares with all args, a
/// string must be contained in the last arg's text, anything else equals the last arg.
bool matches(const Json& args, const Json& expected) {
  if (expected.is_array()) return args == expected;
  if (args.empty()) return false;
  const Json& last = args.back();
  if (expected.is_string()) {
    const std::string text = last.is_string() ? last.get<std::string>() : dump_json(last);
    return text.find(expected.get<std::string>()) != std::string::npos;
  }
  return last == expected;
}

/// A value as header or query text: strings as they are, anything else as JSON.
std::string text_of(const Json& v) {
  return v.is_string() ? v.get<std::string>() : dump_json(v);
}

template <bool Tls> struct Streams {
  using Http = beast::tcp_stream;
  using Ws = WsClient<beast::tcp_stream>;
};
template <> struct Streams<true> {
  using Http = beast::ssl_stream<beast::tcp_stream>;
  using Ws = WsClient<beast::ssl_stream<beast::tcp_stream>>;
};

/// SNI and certificate checks for one TLS connection.
void prepare_tls(SSL* ssl, const Target& t, bool verify) {
  if (!t.ip_literal) // SSL_set_tlsext_host_name, without its C cast
    SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(t.host.c_str()));
  if (verify) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (t.ip_literal)
      X509_VERIFY_PARAM_set1_ip_asc(param, t.host.c_str());
    else
      X509_VERIFY_PARAM_set1_host(param, t.host.c_str(), 0);
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_set_verify(ssl, SSL_VERIFY_NONE, nullptr);
  }
}

/// Why a certificate was refused, in OpenSSL's words ("certificate has expired", ...).
std::string verify_failure(SSL* ssl) {
  const long r = SSL_get_verify_result(ssl);
  if (r == X509_V_OK) return {};
  return X509_verify_cert_error_string(r);
}

/// The recent server events a `waitFor` step may claim (bounded).
constexpr std::size_t inbox_limit = 64;

template <bool Tls> class User : public std::enable_shared_from_this<User<Tls>> {
  using HttpStream = typename Streams<Tls>::Http;
  using WsStream = typename Streams<Tls>::Ws;

  /// One keep-alive HTTP connection (long-poll GETs, POSTs, HTTP steps each have their own).
  struct Conn {
    std::unique_ptr<HttpStream> s;
    bool connected = false;
    const Target* to = nullptr; ///< a host allowed by --allow-host; null: the scenario's target
    void close() {
      if (s) beast::get_lowest_layer(*s).close();
      connected = false;
    }
  };

public:
  User(const UserEnv& env, const Scenario& sc, Json vars, const net::any_io_executor& ex,
       Clock::time_point scheduled)
      : env_(env), scenario_(sc), vars_(std::move(vars)), ex_(ex), due_(scheduled) {
    if (!env.source_addresses.empty()) source_ = (*env.next_source)++ % env.source_addresses.size();
    options_ = env.script->socketio;
    options_.merge_from(sc.socketio);
    eio_ = options_.eio.value_or(4);
  }

  awaitable<void> run() {
    co_await open();
    co_await exec(scenario_.flow);
    if (dead_) throw UserError(dead_cause_, dead_what_);
  }
  awaitable<void> close();
  /// Server events received, by push_key (only when env.pushes is set).
  const std::map<std::string, std::uint64_t>& received() const { return received_; }

private:
  // ---- helpers ------------------------------------------------------------------------------
  auto self() { return this->shared_from_this(); }
  net::steady_timer& timer(std::unique_ptr<net::steady_timer>& t) {
    if (!t) t = std::make_unique<net::steady_timer>(ex_);
    return *t;
  }
  static void cancel(const std::unique_ptr<net::steady_timer>& t) {
    if (t) t->cancel();
  }
  Json render_value(const Json& v) {
    TemplateContext ctx{&vars_, env_.rng};
    return render(v, ctx);
  }
  /// Renders a template that must give text (a namespace, a path, an event name).
  std::string render_text(const std::string& text) {
    const Json v = render_value(Json(text));
    return v.is_string() ? v.get<std::string>() : v.is_null() ? std::string() : dump_json(v);
  }
  void count(std::string_view name, std::uint64_t n = 1) { env_.metrics->count(name, n); }
  void record(std::string_view name, std::int64_t us) { env_.metrics->record(name, us); }
  [[noreturn]] void rethrow_dead() { throw UserError(dead_cause_, dead_what_); }
  int protocol() const { return sock::protocol_for_eio(eio_); }
  std::chrono::milliseconds step_timeout(const Step& s) const {
    return ms_of(s.timeout_s.value_or(env_.script->timeout_s));
  }

  std::unique_ptr<HttpStream> make_http() {
    if constexpr (Tls)
      return std::make_unique<HttpStream>(ex_, *env_.tls);
    else
      return std::make_unique<HttpStream>(ex_);
  }

  /// TCP connect (+ TLS handshake with SNI and verification) to the target or `to`.
  template <class Stream> awaitable<void> connect_stream(Stream& s, const Target* to = nullptr) {
    const Target& t = to != nullptr ? *to : env_.target;
    auto& lowest = beast::get_lowest_layer(s);
    lowest.expires_after(ms_of(env_.connect_timeout_s));
    if (env_.source_addresses.empty()) {
      try {
        co_await lowest.async_connect(t.endpoints, use_awaitable);
      } catch (const boost::system::system_error& e) {
        throw transport_error(e.code(), "tcp_connect");
      }
    } else {
      co_await connect_from_source(lowest, t);
    }
    // Small frames go out at once (Nagle + delayed ACK would add ~40 ms to acks).
    boost::system::error_code ignored;
    lowest.socket().set_option(tcp::no_delay(true), ignored);
    if constexpr (Tls) {
      auto& tls = [&]() -> beast::ssl_stream<beast::tcp_stream>& {
        if constexpr (std::is_same_v<Stream, WsStream>)
          return s.next_layer();
        else
          return s;
      }();
      prepare_tls(tls.native_handle(), t, env_.tls_verify);
      try {
        co_await tls.async_handshake(ssl::stream_base::client, use_awaitable);
      } catch (const boost::system::system_error& e) {
        const std::string why = verify_failure(tls.native_handle());
        if (e.code() == beast::error::timeout) throw transport_error(e.code(), "tls");
        throw UserError("tls", "TLS handshake with " + t.host + ": " +
                                   (why.empty() ? e.code().message() : why));
      }
    }
  }

  /// Connects from this user's --source-addresses entry (users take them in turn; all of a
  /// user's connections come from one address, as a browser's do): each source address has its
  /// own ~28k local ports towards one target. The port is chosen at connect time
  /// (IP_BIND_ADDRESS_NO_PORT), so it is shared between targets.
  awaitable<void> connect_from_source(beast::tcp_stream& lowest, const Target& t) {
    const auto& src = env_.source_addresses[source_];
    boost::system::error_code last = net::error::address_family_not_supported;
    for (const auto& entry : t.endpoints) {
      const tcp::endpoint ep = entry.endpoint();
      if (ep.address().is_v4() != src.is_v4()) continue;
      auto& sock = lowest.socket();
      boost::system::error_code ec;
      if (sock.is_open()) sock.close(ec);
      sock.open(ep.protocol(), ec);
      if (ec) throw transport_error(ec, "tcp_connect");
#ifdef IP_BIND_ADDRESS_NO_PORT
      const int one = 1;
      ::setsockopt(sock.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
      sock.bind(tcp::endpoint(src, 0), ec);
      if (ec) throw transport_error(ec, "bind");
      try {
        co_await lowest.async_connect(ep, use_awaitable);
        co_return;
      } catch (const boost::system::system_error& e) {
        last = e.code();
        if (last == beast::error::timeout) break;
      }
    }
    throw transport_error(last, "tcp_connect");
  }

  // ---- HTTP -----------------------------------------------------------------------------------
  std::string query_string(bool websocket) const;
  /// Host, User-Agent, the scenario's headers and the cookies for `path` on the target (or
  /// on `to`, a host allowed by --allow-host).
  void decorate(http::fields& f, const std::string& path, const Target* to = nullptr) const;
  void store_cookies(const http::fields& f, const std::string& path, const Target* to = nullptr);
  /// An HTTP step's absolute URL on another host than the target: the host it may go to
  /// (--allow-host), resolved once per user; throws host_not_allowed otherwise.
  awaitable<void> other_host(const Url& u);
  awaitable<http::response<http::string_body>> request(Conn& c,
                                                       http::request<http::string_body>& req,
                                                       std::chrono::milliseconds deadline,
                                                       const char* step);
  /// `body` is only read before the first suspension (the caller's value outlives the call).
  awaitable<http::response<http::string_body>> eio_request(Conn& c, http::verb verb,
                                                           const std::string& body = {});
  [[noreturn]] void throw_http_error(const http::response<http::string_body>& res) const;

  // ---- Engine.IO ----------------------------------------------------------------------------
  awaitable<void> open();
  void handshake(const std::string& open_data);
  awaitable<void> open_websocket(bool upgrade);
  awaitable<void> upgrade();
  awaitable<void> polling_reader();
  awaitable<void> ws_reader();
  awaitable<void> writer();
  awaitable<void> pinger();
  void spawn(awaitable<void> (User::*fn)()) {
    net::co_spawn(
        ex_, [s = self(), fn]() { return ((*s).*fn)(); }, net::detached);
  }
  /// Queues a packet for the writer. An emit passes the time it was due: replayer.send_lag is
  /// recorded when its bytes are handed to the socket, not when it was queued.
  void queue(eio::Packet p, Clock::time_point due = Clock::time_point::min());
  void on_packet(eio::Packet p);
  void on_socketio(sock::Packet p);
  void die(const std::string& cause, const std::string& what);

  // ---- Socket.IO and the flow ---------------------------------------------------------------
  std::string namespace_of(const Step& s) {
    std::string nsp = s.nsp.empty() ? "/" : render_text(s.nsp);
    if (nsp.empty() || nsp.front() != '/') nsp = "/" + nsp;
    return nsp;
  }
  awaitable<void> connect_namespace(const std::string& nsp);
  awaitable<void> exec(const std::vector<Step>& steps);
  awaitable<void> emit(const Step& step);
  awaitable<void> wait_for(const Step& step);
  awaitable<void> http_step(const Step& step);
  awaitable<bool> wait(Waiter& w, std::chrono::milliseconds d);
  void expect_done(const Waiter& w, const Expect& e, const char* what, const Json& args);

  const UserEnv& env_;
  const Scenario& scenario_;
  Json vars_;
  net::any_io_executor ex_;
  SocketIoOptions options_;
  CookieJar jar_;
  std::string path_ = "/socket.io/";
  std::string query_;                                        ///< rendered socketio.query
  std::vector<std::pair<std::string, std::string>> headers_; ///< rendered extraHeaders
  std::optional<Json> auth_;
  /// When the next step is due: the scheduled arrival, then each step's end plus think times
  /// (timers wait for absolute due times, and latencies start there).
  Clock::time_point due_;
  std::size_t source_ = 0; ///< index into env_.source_addresses

  // Engine.IO state
  int eio_ = 4;
  std::string sid_;
  std::int64_t ping_interval_ms_ = 25000;
  std::int64_t ping_timeout_ms_ = 20000;
  bool can_upgrade_ = false;
  bool on_websocket_ = false;
  bool closing_ = false;
  bool close_queued_ = false; ///< the Engine.IO close packet is queued: no new long-poll
  bool dead_ = false;
  std::string dead_cause_, dead_what_;
  Conn get_, post_, api_;
  Conn elsewhere_;                ///< HTTP steps to a host allowed by --allow-host
  std::unique_ptr<Target> other_; ///< that host, resolved
  std::unique_ptr<WsStream> ws_;
  struct Outgoing {
    eio::Packet packet;
    Clock::time_point due = Clock::time_point::min(); ///< min(): not timed
  };
  FrontQueue<Outgoing> out_; ///< polling (and packets queued before the upgrade)
  /// On the websocket: complete masked frames waiting for the writer, built as packets are
  /// queued, and the due times of the emits among them. Both keep their capacity, so a
  /// connected user sends without allocating; the writer swaps ws_out_ with the client's own
  /// buffer when it writes.
  std::string ws_out_;
  std::vector<Clock::time_point> ws_out_dues_;
  bool writer_running_ = false;
  /// Wakes the upgrade when the polling reader has stopped. Timers are made when first needed:
  /// a websocket-only user never needs these two (about 200 bytes per user).
  std::unique_ptr<net::steady_timer> upgrade_wake_;
  bool polling_paused_ = false; ///< upgrade in progress: the reader stops after this GET
  bool polling_stopped_ = false;
  std::unique_ptr<net::steady_timer> ping_timer_; ///< v3: the client pings
  bool pong_pending_ = false;

  // Socket.IO state
  struct Namespace {
    bool connected = false;
    std::uint64_t next_ack = 0;
  };
  std::map<std::string, Namespace> namespaces_;
  std::map<std::string, std::shared_ptr<Waiter>> connect_waiters_;
  /// Acks awaited: the waiters live in the emitting coroutine's frame (no allocation per emit).
  struct AckSlot {
    std::string nsp;
    std::uint64_t id = 0;
    Waiter* waiter = nullptr;
  };
  std::vector<AckSlot> ack_waiters_;
  /// Spelled with `typename`: clang 14 does not implement C++20's optional typename (P0634).
  using AckIterator = typename std::vector<AckSlot>::iterator;
  AckIterator find_ack(std::string_view nsp, std::uint64_t id) {
    return std::find_if(ack_waiters_.begin(), ack_waiters_.end(),
                        [&](const AckSlot& a) { return a.id == id && a.nsp == nsp; });
  }
  void erase_ack(AckIterator it) {
    if (it == ack_waiters_.end()) return;
    if (it != ack_waiters_.end() - 1) *it = std::move(ack_waiters_.back());
    ack_waiters_.pop_back();
  }
  /// The text of an EVENT packet with `step`'s arguments (pre-encoded or cut at templates) into
  /// `payload`; false when it needs the general path (a template gave an object or array).
  bool build_event_payload(const Step& step, const std::string& nsp, const std::uint64_t* ack_id,
                           std::string& payload);
  /// Appends the EVENT's frame to ws_out_ when the user is on the websocket with nothing
  /// queued before it and the step's arguments allow it; false: use the general path.
  bool append_event_frame(const Step& step, const std::string& nsp, const std::uint64_t* ack_id,
                          Clock::time_point due);
  /// Inbound fast paths (no JSON tree): an ack nobody needs the arguments of, and an event only
  /// counted. False: decode the packet fully.
  bool fast_ack(std::string_view sio);
  bool fast_event(std::string_view sio);
  /// Appends the packet's frame to ws_out_ (and its due time, if an emit).
  void append_frame(const eio::Packet& p, Clock::time_point due);
  /// Starts writing ws_out_ (co_await the result; requires !ws_->writing()), recording the
  /// replayer.send_lag of the emits among its frames. Not a coroutine: no frame to allocate.
  /// The write has no deadline of its own: it shares the reader's (pingInterval + pingTimeout).
  auto start_ws_write() {
    const auto now = Clock::now();
    for (const auto due : ws_out_dues_) record("replayer.send_lag", us_between(due, now));
    ws_out_dues_.clear();
    return ws_->write_frames(ws_out_);
  }
  /// Ends a write started by start_ws_write, also when it throws.
  struct FramesWritten {
    WsStream& ws;
    ~FramesWritten() { ws.frames_written(); }
  };
  std::multimap<std::pair<std::string, std::string>, std::shared_ptr<Waiter>> event_waiters_;
  struct Push {
    std::string nsp, event;
    Json args;
  };
  FrontQueue<Push> inbox_; ///< unclaimed pushes, for `waitFor` (only when the flow has one)
  std::map<std::string, std::uint64_t> received_; ///< by push_key, when env_.pushes is set
  sock::AttachmentCollector collector_;
};

// ---- HTTP -------------------------------------------------------------------------------------

template <bool Tls> std::string User<Tls>::query_string(bool websocket) const {
  static constexpr char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string q = path_ + (eio_ == 3 ? "?EIO=3" : "?EIO=4");
  q += websocket ? "&transport=websocket" : "&transport=polling";
  if (!websocket) {
    q += "&t=";
    for (int i = 0; i < 8; ++i) q += alphabet[(*env_.rng)() % 36];
    if (eio_ == 3) q += "&b64=1"; // binary packets as base64 in text payloads
  }
  if (!sid_.empty()) q += "&sid=" + percent_encode(sid_);
  if (!query_.empty()) q += "&" + query_;
  return q;
}

template <bool Tls>
void User<Tls>::decorate(http::fields& f, const std::string& path, const Target* to) const {
  const Target& t = to != nullptr ? *to : env_.target;
  f.set(http::field::host, t.host + ":" + t.port);
  f.set(http::field::user_agent, "sioreplay/" SIO_VERSION);
  // Cookies: the scenario's Cookie header first, then the jar; a live cookie replaces a
  // scripted one of the same name (the route-variable workaround loses to the balancer).
  std::vector<std::pair<std::string, std::string>> cookies;
  for (const auto& [name, value] : headers_) {
    if (!iequals(name, "cookie")) {
      f.set(name, value);
      continue;
    }
    for (auto& c : parse_cookie_header(value)) cookies.push_back(std::move(c));
  }
  if (env_.cookie_jar) {
    const std::string live = jar_.header(t.host, path, Tls, now_epoch_s());
    for (auto& c : parse_cookie_header(live)) {
      std::erase_if(cookies, [&](const auto& old) { return old.first == c.first; });
      cookies.push_back(std::move(c));
    }
  }
  if (!cookies.empty()) {
    std::string h;
    for (const auto& [n, v] : cookies) h += (h.empty() ? "" : "; ") + n + "=" + v;
    f.set(http::field::cookie, h);
  }
}

template <bool Tls>
void User<Tls>::store_cookies(const http::fields& f, const std::string& path, const Target* to) {
  if (!env_.cookie_jar) return;
  const Target& t = to != nullptr ? *to : env_.target;
  for (auto it = f.find(http::field::set_cookie);
       it != f.end() && it->name() == http::field::set_cookie; ++it)
    jar_.set(std::string_view(it->value().data(), it->value().size()), t.host, path, now_epoch_s());
}

template <bool Tls>
awaitable<http::response<http::string_body>>
User<Tls>::request(Conn& c, http::request<http::string_body>& req,
                   std::chrono::milliseconds deadline, const char* step) {
  const std::string path(req.target().substr(0, req.target().find('?')));
  for (int attempt = 0;; ++attempt) {
    const bool was_connected = c.connected;
    try {
      if (!c.connected) {
        c.s = make_http();
        co_await connect_stream(*c.s, c.to);
        c.connected = true;
      }
      auto& lowest = beast::get_lowest_layer(*c.s);
      lowest.expires_after(deadline);
      co_await http::async_write(*c.s, req, use_awaitable);
      beast::flat_buffer buf;
      http::response_parser<http::string_body> parser;
      parser.body_limit(max_message_bytes);
      co_await http::async_read(*c.s, buf, parser, use_awaitable);
      auto res = parser.release();
      if (!res.keep_alive()) c.close();
      store_cookies(res.base(), path, c.to);
      co_return res;
    } catch (const UserError&) {
      c.close();
      throw;
    } catch (const boost::system::system_error& e) {
      c.close();
      if (closing_ || dead_) throw UserError("transport_closed", "transport closed");
      // A keep-alive connection the server closed while idle: one fresh try.
      if (attempt == 0 && was_connected &&
          (e.code() == http::error::end_of_stream || e.code() == net::error::connection_reset ||
           e.code() == net::error::broken_pipe || e.code() == net::error::eof ||
           e.code() == ssl::error::stream_truncated))
        continue;
      throw transport_error(e.code(), step);
    }
  }
}

template <bool Tls>
awaitable<http::response<http::string_body>> User<Tls>::eio_request(Conn& c, http::verb verb,
                                                                    const std::string& body) {
  http::request<http::string_body> req{verb, query_string(false), 11};
  decorate(req.base(), path_);
  req.keep_alive(true);
  if (verb == http::verb::post) {
    req.set(http::field::content_type, "text/plain;charset=UTF-8");
    req.body() = body;
    req.prepare_payload();
  }
  // A long-poll GET is held by the server up to a ping interval; the handshake GET (no sid
  // yet) and POSTs are answered at once, so they have the connect deadline.
  const bool long_poll = verb == http::verb::get && !sid_.empty();
  const auto deadline = long_poll
                            ? std::chrono::milliseconds(ping_interval_ms_ + ping_timeout_ms_ + 5000)
                            : ms_of(env_.connect_timeout_s);
  const char* step = long_poll ? "poll" : verb == http::verb::get ? "handshake" : "post";
  // Not `co_return co_await ...`: g++ 12 destroys that temporary twice.
  auto res = co_await request(c, req, deadline, step);
  co_return res;
}

/// An HTTP error answer of Engine.IO: 400 {"code":1,"message":"Session ID unknown"} etc.
template <bool Tls>
void User<Tls>::throw_http_error(const http::response<http::string_body>& res) const {
  const Json j = parse_json_bounded(res.body());
  if (j.is_object() && j.contains("code") && j["code"] == 1)
    throw UserError("session_id_unknown",
                    "HTTP " + std::to_string(res.result_int()) + ": " + res.body());
  throw UserError("http_" + std::to_string(res.result_int()),
                  "HTTP " + std::to_string(res.result_int()) + ": " + res.body().substr(0, 200));
}

// ---- Engine.IO --------------------------------------------------------------------------------

template <bool Tls> void User<Tls>::handshake(const std::string& open_data) {
  const Json h = parse_json_bounded(open_data);
  if (!h.is_object() || !h.contains("sid") || !h["sid"].is_string())
    throw UserError("eio_protocol", "the open packet has no sid");
  sid_ = h["sid"].get<std::string>();
  const auto ms = [&](const char* k, std::int64_t d) {
    return h.contains(k) && h[k].is_number_integer() ? h[k].get<std::int64_t>() : d;
  };
  ping_interval_ms_ = std::clamp<std::int64_t>(ms("pingInterval", 25000), 100, 3'600'000);
  ping_timeout_ms_ = std::clamp<std::int64_t>(ms("pingTimeout", 20000), 100, 3'600'000);
  if (h.contains("upgrades") && h["upgrades"].is_array())
    for (const auto& u : h["upgrades"]) can_upgrade_ |= u == "websocket";
  record("engineio.handshake_time", since_us(due_));
  if (eio_ == 3) spawn(&User::pinger);
}

template <bool Tls> awaitable<void> User<Tls>::open() {
  // Per-user options, rendered now that the user's variables exist.
  if (options_.path) path_ = render_text(*options_.path);
  if (path_.empty() || path_.front() != '/') path_ = "/" + path_;
  if (options_.query) {
    const Json q = render_value(*options_.query);
    if (q.is_string()) {
      query_ = q.get<std::string>();
    } else if (q.is_object()) {
      for (const auto& [k, v] : q.items())
        query_ +=
            (query_.empty() ? "" : "&") + percent_encode(k) + "=" + percent_encode(text_of(v));
    }
  }
  if (options_.extra_headers) {
    const Json h = render_value(*options_.extra_headers);
    if (h.is_object())
      for (const auto& [k, v] : h.items()) headers_.emplace_back(k, checked_header(k, text_of(v)));
  }
  if (options_.auth) auth_ = render_value(*options_.auth);

  bool polling = true, websocket = true;
  if (options_.transports) {
    polling = websocket = false;
    for (const auto& t : *options_.transports) {
      polling |= t == "polling";
      websocket |= t == "websocket";
    }
  }
  if (!polling) {
    co_await open_websocket(false);
  } else {
    auto res = co_await eio_request(get_, http::verb::get);
    if (res.result() != http::status::ok) throw_http_error(res);
    const std::string& body = res.body();
    // An Engine.IO 3 server (Socket.IO 2.x) answers in the v3 payload format ("<len>:0{...")
    // whatever EIO= says: switch to v3 unless the script fixed the version.
    if (eio_ == 4 && !options_.eio && !body.empty() &&
        (body.front() == '\0' || body.front() == '\x01' ||
         (body.front() >= '1' && body.front() <= '9' && body.find(':') < body.find('{'))))
      eio_ = 3;
    const bool octet = res[http::field::content_type].starts_with("application/octet-stream");
    auto payload = eio::decode_payload(body, eio_, octet);
    if (payload.packets.empty() || payload.packets[0].type != eio::PacketType::open)
      throw UserError("eio_protocol", "the handshake answer is not an Engine.IO open packet");
    handshake(payload.packets[0].data);
    can_upgrade_ = can_upgrade_ && websocket;
    for (std::size_t i = 1; i < payload.packets.size(); ++i)
      on_packet(std::move(payload.packets[i]));
    spawn(&User::polling_reader);
  }
  co_await connect_namespace("/");
  if (polling && can_upgrade_) co_await upgrade();
  due_ = Clock::now();
}

template <bool Tls> awaitable<void> User<Tls>::open_websocket(bool upgrading) {
  if constexpr (Tls)
    ws_ = std::make_unique<WsStream>(ex_, *env_.tls);
  else
    ws_ = std::make_unique<WsStream>(ex_);
  auto& lowest = ws_->lowest();
  co_await connect_stream(ws_->next_layer());
  try {
    lowest.expires_after(ms_of(env_.connect_timeout_s));
    http::response<http::string_body> res;
    co_await ws_->handshake(
        env_.target.host + ":" + env_.target.port, query_string(true),
        [this](http::request<http::empty_body>& req) { decorate(req.base(), path_); }, res,
        *env_.rng);
    lowest.expires_never();
    store_cookies(res.base(), path_);
  } catch (const boost::system::system_error& e) {
    throw transport_error(e.code(), "ws_handshake");
  }
  if (!upgrading) {
    // Websocket only: the server's first frame is the open packet.
    lowest.expires_after(ms_of(env_.connect_timeout_s));
    std::string_view text;
    try {
      const auto m = co_await ws_->read();
      text = m.data;
    } catch (const boost::system::system_error& e) {
      throw transport_error(e.code(), "handshake");
    }
    auto p = eio::decode_text_packet(text);
    if (!p || p->type != eio::PacketType::open)
      throw UserError("eio_protocol", "the first websocket frame is not an Engine.IO open packet");
    handshake(p->data);
    on_websocket_ = true;
    spawn(&User::ws_reader);
  }
}

template <bool Tls> awaitable<void> User<Tls>::upgrade() {
  const auto t0 = Clock::now();
  co_await open_websocket(true);
  auto& lowest = ws_->lowest();
  try {
    lowest.expires_after(ms_of(env_.connect_timeout_s));
    co_await ws_->write("2probe", false, *env_.rng);
    const auto probe = co_await ws_->read();
    if (probe.data != "3probe")
      throw UserError("eio_protocol", "no 3probe answer to the upgrade probe");
    // Pause polling: the server releases the pending GET with a noop; wait for the reader to
    // stop and for queued POSTs to be flushed, then send "5" and move everything to the
    // websocket.
    polling_paused_ = true;
    while (!polling_stopped_ || writer_running_) {
      timer(upgrade_wake_).expires_after(ms_of(env_.connect_timeout_s));
      boost::system::error_code ec;
      co_await upgrade_wake_->async_wait(net::redirect_error(use_awaitable, ec));
      if (!ec) throw UserError("timeout.upgrade", "polling was not released during the upgrade");
      if (dead_) rethrow_dead();
    }
    co_await ws_->write("5", false, *env_.rng);
    lowest.expires_never();
  } catch (const boost::system::system_error& e) {
    throw transport_error(e.code(), "upgrade");
  }
  on_websocket_ = true;
  record("engineio.upgrade_time", since_us(t0));
  count("engineio.upgrades");
  spawn(&User::ws_reader);
  if (!out_.empty() && !writer_running_) {
    writer_running_ = true;
    spawn(&User::writer);
  }
}

template <bool Tls> awaitable<void> User<Tls>::polling_reader() {
  try {
    while (!closing_ && !dead_ && !close_queued_) {
      auto res = co_await eio_request(get_, http::verb::get);
      if (res.result() != http::status::ok) throw_http_error(res);
      const bool octet = res[http::field::content_type].starts_with("application/octet-stream");
      auto payload = eio::decode_payload(res.body(), eio_, octet);
      for (auto& p : payload.packets) on_packet(std::move(p));
      if (payload.error) throw UserError("eio_protocol", payload.error->message());
      if (polling_paused_) break;
    }
  } catch (const UserError& e) {
    if (!closing_ && !close_queued_) die(e.cause, e.what());
  } catch (const std::exception& e) {
    if (!closing_ && !close_queued_) die("transport_closed", e.what());
  }
  polling_stopped_ = true;
  cancel(upgrade_wake_);
}

template <bool Tls> awaitable<void> User<Tls>::ws_reader() {
  try {
    auto& lowest = ws_->lowest();
    while (!closing_ && !dead_) {
      // v4: the server pings every pingInterval, silence past interval + timeout is a dead
      // link. v3: we ping, and the pinger watches the pongs; this is only a backstop.
      lowest.expires_after(std::chrono::milliseconds(ping_interval_ms_ + ping_timeout_ms_ + 2000));
      const auto m = co_await ws_->read();
      if (m.text && m.data.size() > 2 && m.data[0] == '4' &&
          ((m.data[1] == '3' && fast_ack(m.data.substr(2))) ||
           (m.data[1] == '2' && fast_event(m.data.substr(2)))))
        continue;
      auto p = m.text ? eio::decode_text_packet(m.data) : eio::decode_binary_packet(m.data, eio_);
      if (!p) throw UserError("eio_protocol", p.error().message());
      on_packet(std::move(*p));
    }
  } catch (const UserError& e) {
    if (!closing_) die(e.cause, e.what());
  } catch (const boost::system::system_error& e) {
    if (!closing_) {
      if (e.code() == beast::error::timeout)
        die("ping_timeout", "websocket: no packet within pingInterval + pingTimeout");
      else {
        const UserError te = transport_error(e.code(), "websocket");
        die(te.cause, te.what());
      }
    }
  }
}

template <bool Tls> awaitable<void> User<Tls>::pinger() {
  // Engine.IO 3: the client pings every pingInterval; no pong within pingTimeout = dead link.
  while (!closing_ && !dead_ && !close_queued_) {
    timer(ping_timer_).expires_after(std::chrono::milliseconds(ping_interval_ms_));
    boost::system::error_code ec;
    co_await ping_timer_->async_wait(net::redirect_error(use_awaitable, ec));
    if (closing_ || dead_ || close_queued_) break;
    pong_pending_ = true;
    queue({eio::PacketType::ping, false, {}});
    ping_timer_->expires_after(std::chrono::milliseconds(ping_timeout_ms_));
    co_await ping_timer_->async_wait(net::redirect_error(use_awaitable, ec));
    if (pong_pending_ && !closing_ && !dead_ && !close_queued_) {
      die("ping_timeout", "no pong within pingTimeout");
      break;
    }
  }
}

template <bool Tls> void User<Tls>::append_frame(const eio::Packet& p, Clock::time_point due) {
  thread_local std::string payload; // built and framed at once: one buffer per worker thread
  payload.clear();
  eio::append_ws_packet(payload, p, eio_);
  WsStream::append_frame(p.binary, payload, (*env_.rng)(), ws_out_);
  if (payload.capacity() > 65536) std::string().swap(payload);
  if (due != Clock::time_point::min()) ws_out_dues_.push_back(due);
}

template <bool Tls> void User<Tls>::queue(eio::Packet p, Clock::time_point due) {
  if (on_websocket_ && out_.empty())
    append_frame(p, due);
  else
    out_.push_back({std::move(p), due});
  if (!writer_running_ && (on_websocket_ || !polling_paused_)) {
    writer_running_ = true;
    spawn(&User::writer);
  }
}

template <bool Tls> awaitable<void> User<Tls>::writer() {
  try {
    while ((!out_.empty() || !ws_out_.empty()) && !dead_) {
      if (on_websocket_) {
        // Packets queued before the upgrade go first, then everything queued as frames.
        if (!out_.empty()) {
          std::string later;
          later.swap(ws_out_);
          std::vector<Clock::time_point> later_dues;
          later_dues.swap(ws_out_dues_);
          for (const auto& o : out_) append_frame(o.packet, o.due);
          out_ = {};
          ws_out_ += later;
          ws_out_dues_.insert(ws_out_dues_.end(), later_dues.begin(), later_dues.end());
        }
        if (ws_->writing()) co_await ws_->wait_writable();
        const FramesWritten done{*ws_};
        co_await start_ws_write();
      } else {
        std::vector<eio::Packet> batch;
        batch.reserve(out_.size());
        for (auto& o : out_) {
          if (o.due != Clock::time_point::min()) record("replayer.send_lag", since_us(o.due));
          batch.push_back(std::move(o.packet));
        }
        out_.clear();
        // Named, not a ?: temporary handed to a by-value coroutine parameter: g++ 12 copies
        // such a temporary bytewise (its small-string buffer then points into this frame).
        std::string body =
            eio_ == 3 ? eio::encode_payload_v3_text(batch) : eio::encode_payload_v4(batch);
        auto res = co_await eio_request(post_, http::verb::post, body);
        if (res.result() != http::status::ok) throw_http_error(res);
      }
    }
  } catch (const UserError& e) {
    if (!closing_) die(e.cause, e.what());
  } catch (const boost::system::system_error& e) {
    if (!closing_) die(transport_error(e.code(), "send").cause, e.code().message());
  }
  writer_running_ = false;
  cancel(upgrade_wake_);
}

template <bool Tls> void User<Tls>::die(const std::string& cause, const std::string& what) {
  if (dead_) return;
  dead_ = true;
  dead_cause_ = cause;
  dead_what_ = what;
  const auto fail_all = [&](auto& waiters) {
    for (auto& w : waiters) {
      w.second->error = cause;
      w.second->notify();
    }
  };
  fail_all(connect_waiters_);
  for (auto& a : ack_waiters_) {
    a.waiter->error = cause;
    a.waiter->notify();
  }
  fail_all(event_waiters_);
  cancel(upgrade_wake_);
  cancel(ping_timer_);
}

template <bool Tls> void User<Tls>::on_packet(eio::Packet p) {
  switch (p.type) {
  case eio::PacketType::ping:
    queue({eio::PacketType::pong, false, p.data}); // v4: the server pings
    return;
  case eio::PacketType::pong:
    if (p.data != "probe") pong_pending_ = false; // v3: the answer to our ping
    return;
  case eio::PacketType::close:
    die("server_closed", "the server closed the Engine.IO session");
    return;
  case eio::PacketType::message:
    break;
  default:
    return; // noop, upgrade, open
  }
  if (p.binary) {
    if (!collector_.pending()) return;
    auto r = collector_.add(std::move(p.data));
    if (!r) {
      die("sio_protocol", r.error().message());
      return;
    }
    if (r->has_value()) on_socketio(std::move(**r));
    return;
  }
  auto sp = sock::decode(p.data, protocol());
  if (!sp) {
    // A Socket.IO 2 server connects "/" by itself with a bare "0", which is not valid in
    // protocol 5: say what to do (polling detects it; a websocket-only handshake cannot).
    if (eio_ == 4 && !options_.eio && p.data == "0")
      die("sio_protocol", "the server speaks Socket.IO 2 (Engine.IO 3): set `socketio: {eio: 3}`");
    else
      die("sio_protocol", sp.error().message());
    return;
  }
  if (sp->attachments > 0) {
    auto st = collector_.start(std::move(*sp));
    if (!st) die("sio_protocol", st.error().context);
    return;
  }
  on_socketio(std::move(*sp));
}

template <bool Tls> bool User<Tls>::fast_ack(std::string_view s) {
  std::string_view nsp = "/";
  if (!s.empty() && s[0] == '/') {
    const auto comma = s.find(',');
    if (comma == std::string_view::npos) return false;
    nsp = s.substr(0, comma);
    s.remove_prefix(comma + 1);
  }
  std::uint64_t id = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec != std::errc{} || end == s.data() + s.size() || *end != '[') return false;
  const auto it = find_ack(nsp, id);
  if (it == ack_waiters_.end() || it->waiter->wants_args) return false;
  // Unread arguments must still be JSON: broken ones take the full path, which fails the user.
  if (!json_surely_valid(s.substr(static_cast<std::size_t>(end - s.data())), max_json_depth))
    return false;
  it->waiter->notify();
  erase_ack(it);
  return true;
}

template <bool Tls> bool User<Tls>::fast_event(std::string_view s) {
  // Only counted: nobody waits for events, keeps them, or tallies them per session.
  if (!event_waiters_.empty() || scenario_.waits_for_pushes || env_.pushes != nullptr) return false;
  if (!s.empty() && s[0] == '/') {
    const auto comma = s.find(',');
    if (comma == std::string_view::npos) return false;
    s.remove_prefix(comma + 1);
  }
  // ["name", ...] with a plain name (no escapes); an ack id (the server wants an answer) or
  // anything else takes the full path.
  if (s.size() < 4 || s[0] != '[' || s[1] != '"') return false;
  const auto close = s.find('"', 2);
  if (close == std::string_view::npos || close + 1 >= s.size() ||
      (s[close + 1] != ',' && s[close + 1] != ']'))
    return false;
  const std::string_view name = s.substr(2, close - 2);
  if (name.find('\\') != std::string_view::npos) return false;
  // Counted without a tree, but checked: broken JSON takes the full path, which fails the user.
  if (!json_surely_valid(s, max_json_depth)) return false;
  count("socketio.push");
  thread_local std::string key;
  key.assign("socketio.push.");
  key += name;
  count(key);
  return true;
}

template <bool Tls> void User<Tls>::on_socketio(sock::Packet p) {
  switch (p.type) {
  case sock::PacketType::connect: {
    namespaces_[p.nsp].connected = true;
    if (auto it = connect_waiters_.find(p.nsp); it != connect_waiters_.end()) it->second->notify();
    return;
  }
  case sock::PacketType::connect_error: {
    // v5: CONNECT_ERROR {message, data}; v4 (Socket.IO 2): ERROR "message".
    std::string why = "refused";
    if (p.data && p.data->is_object() && p.data->contains("message"))
      why = (*p.data)["message"].is_string() ? (*p.data)["message"].get<std::string>()
                                             : (*p.data)["message"].dump();
    else if (p.data && p.data->is_string())
      why = p.data->get<std::string>();
    if (auto it = connect_waiters_.find(p.nsp); it != connect_waiters_.end()) {
      it->second->error = why;
      it->second->notify();
    }
    return;
  }
  case sock::PacketType::disconnect:
    namespaces_[p.nsp].connected = false;
    return;
  case sock::PacketType::ack:
  case sock::PacketType::binary_ack: {
    if (!p.ack_id) return;
    if (auto it = find_ack(p.nsp, *p.ack_id); it != ack_waiters_.end()) {
      it->waiter->args = p.data ? std::move(*p.data) : Json::array();
      it->waiter->notify();
      erase_ack(it);
    }
    return;
  }
  case sock::PacketType::event:
  case sock::PacketType::binary_event: {
    if (!p.data || !p.data->is_array() || p.data->empty()) return;
    Json& all = *p.data;
    const std::string event = all[0].is_string() ? all[0].get<std::string>() : all[0].dump();
    count("socketio.push");
    count("socketio.push." + event);
    if (env_.pushes != nullptr) ++received_[push_key(p.nsp, event)];
    Json args = Json::array();
    for (std::size_t i = 1; i < all.size(); ++i) args.push_back(std::move(all[i]));
    bool claimed = false;
    auto [lo, hi] = event_waiters_.equal_range({p.nsp, event});
    for (auto it = lo; it != hi;) {
      Waiter& w = *it->second;
      if (w.expect && !matches(args, *w.expect)) {
        w.seen = args; // not this one: keep waiting
        ++it;
        continue;
      }
      w.args = args;
      w.notify();
      claimed = true;
      it = event_waiters_.erase(it);
    }
    if (!claimed && scenario_.waits_for_pushes) {
      inbox_.push_back({p.nsp, event, std::move(args)});
      if (inbox_.size() > inbox_limit) inbox_.pop_front();
    }
    return;
  }
  }
}

// ---- Socket.IO and the flow ---------------------------------------------------------------------

template <bool Tls> awaitable<bool> User<Tls>::wait(Waiter& w, std::chrono::milliseconds d) {
  if (!w.done) {
    w.timer.expires_after(d);
    boost::system::error_code ec;
    co_await w.timer.async_wait(net::redirect_error(use_awaitable, ec));
  }
  co_return w.done;
}

template <bool Tls> awaitable<void> User<Tls>::connect_namespace(const std::string& nsp) {
  if (namespaces_[nsp].connected) co_return;
  if (dead_) rethrow_dead();
  const auto t0 = nsp == "/" ? due_ : Clock::now();
  auto w = std::make_shared<Waiter>(ex_);
  connect_waiters_[nsp] = w;
  // Socket.IO 2 servers connect "/" by themselves; other namespaces carry the query (there is
  // no auth payload before Socket.IO 3, so `auth` fields travel in the query too).
  if (eio_ == 4 || nsp != "/") {
    sock::Packet p;
    p.type = sock::PacketType::connect;
    p.nsp = nsp;
    if (eio_ == 4) {
      if (auth_) p.data = *auth_;
    } else {
      std::string q = query_;
      if (auth_ && auth_->is_object())
        for (const auto& [k, v] : auth_->items())
          q += (q.empty() ? "" : "&") + percent_encode(k) + "=" + percent_encode(text_of(v));
      if (!q.empty()) p.nsp += "?" + q;
    }
    queue({eio::PacketType::message, false, sock::encode(p)});
  }
  const bool done = co_await wait(*w, ms_of(env_.connect_timeout_s));
  connect_waiters_.erase(nsp);
  if (!done) throw UserError("timeout.connect", "namespace " + nsp + ": no CONNECT answer");
  if (!w->error.empty()) {
    if (dead_) rethrow_dead();
    throw UserError("namespace_refused", "namespace " + nsp + " refused: " + w->error);
  }
  record("socketio.connect_time", since_us(t0));
}

template <bool Tls>
void User<Tls>::expect_done(const Waiter& w, const Expect& e, const char* what, const Json& args) {
  if (!w.error.empty()) {
    if (dead_) rethrow_dead();
    throw UserError(w.error, std::string(what) + ": " + w.error);
  }
  if (e.data && !matches(args, render_value(*e.data)))
    throw UserError("data_not_valid", std::string(what) + ": received " + dump_json(args));
  const ExtractSource src{&args, {}, nullptr};
  if (!e.matches.empty()) {
    std::vector<ExtractSpec> rendered = e.matches;
    for (auto& m : rendered)
      if (m.value) m.value = render_value(*m.value);
    if (auto st = check_matches(rendered, src, &vars_); !st)
      throw UserError("match_failed", std::string(what) + ": " + st.error().context);
  }
  if (!e.captures.empty())
    if (auto st = apply_captures(e.captures, src, vars_); !st)
      throw UserError("capture_failed", std::string(what) + ": " + st.error().context);
}

// Not in a coroutine: g++ 12 at -O3 mishandles a thread_local declared in a coroutine body (the
// buffer then only grows).
template <bool Tls>
bool User<Tls>::append_event_frame(const Step& step, const std::string& nsp,
                                   const std::uint64_t* ack_id, Clock::time_point due) {
  if (!on_websocket_ || !out_.empty() || (step.constant_args.empty() && step.arg_pieces.empty()))
    return false;
  thread_local std::string payload; // one per worker thread, built and framed at once
  if (!build_event_payload(step, nsp, ack_id, payload)) return false;
  WsStream::append_frame(false, payload, (*env_.rng)(), ws_out_);
  if (payload.capacity() > 65536) std::string().swap(payload); // one big message: give it back
  ws_out_dues_.push_back(due);
  return true;
}

template <bool Tls>
bool User<Tls>::build_event_payload(const Step& step, const std::string& nsp,
                                    const std::uint64_t* ack_id, std::string& payload) {
  payload.assign("42");
  if (nsp != "/") {
    payload += nsp;
    payload += ',';
  }
  if (ack_id != nullptr) {
    char digits[24];
    const auto r = std::to_chars(digits, digits + sizeof digits, *ack_id);
    payload.append(digits, r.ptr);
  }
  if (!step.constant_args.empty()) {
    payload += step.constant_args;
    return true;
  }
  const TemplateContext ctx{&vars_, env_.rng};
  for (const auto& piece : step.arg_pieces) {
    payload += piece.literal;
    if (piece.hole.empty()) continue;
    const Json v = render_string(piece.hole, ctx);
    if (v.is_structured()) return false; // may hold binary: the general path
    append_json(payload, v);
  }
  return true;
}

template <bool Tls> awaitable<void> User<Tls>::emit(const Step& step) {
  const std::string nsp = namespace_of(step);
  if (!namespaces_[nsp].connected) co_await connect_namespace(nsp);
  // The ack's waiter lives in this frame; the table points to it until the wait ends.
  std::optional<Waiter> ack;
  std::uint64_t ack_id = 0;
  if (step.acknowledge) {
    ack.emplace(ex_);
    const Expect& e = *step.acknowledge;
    ack->wants_args = e.data || !e.matches.empty() || !e.captures.empty();
    ack_id = namespaces_[nsp].next_ack++;
    ack_waiters_.push_back({nsp, ack_id, &*ack});
  }
  struct Unlist {
    User* u;
    Waiter* w;
    ~Unlist() {
      if (w)
        u->erase_ack(std::find_if(u->ack_waiters_.begin(), u->ack_waiters_.end(),
                                  [&](const AckSlot& a) { return a.waiter == w; }));
    }
  } unlist{this, ack ? &*ack : nullptr};
  std::shared_ptr<Waiter> response;
  if (step.response) {
    response = std::make_shared<Waiter>(ex_);
    if (step.response->data) response->expect = render_value(*step.response->data);
    const std::string on =
        step.response->channel ? render_text(*step.response->channel) : std::string();
    event_waiters_.emplace(std::make_pair(nsp, on), response);
  }
  // Latencies start when the emit was due, not when it went out.
  const auto due = std::min(due_, Clock::now());
  // On the websocket, constant or simply templated arguments: the frame is built straight
  // into the user's output buffer.
  if (append_event_frame(step, nsp, ack ? &ack_id : nullptr, due)) {
    if (!writer_running_ && !dead_) {
      // Written from here (no writer coroutine to start): until nothing is left, as the writer
      // would; frames other coroutines add meanwhile go in the same loop.
      writer_running_ = true;
      try {
        while (!ws_out_.empty() && !dead_) {
          if (ws_->writing()) co_await ws_->wait_writable();
          const FramesWritten done{*ws_};
          co_await start_ws_write();
        }
      } catch (const boost::system::system_error& e) {
        writer_running_ = false;
        if (!closing_) die(transport_error(e.code(), "send").cause, e.code().message());
        rethrow_dead();
      }
      writer_running_ = false;
    }
  } else {
    Json data = Json::array();
    data.push_back(render_value(step.channel));
    for (const auto& a : step.args) data.push_back(render_value(a));
    sock::Packet p;
    p.nsp = nsp;
    auto buffers = sock::deconstruct(data);
    if (!buffers) throw UserError("bad_binary", buffers.error().message());
    p.type = buffers->empty() ? sock::PacketType::event : sock::PacketType::binary_event;
    p.attachments = buffers->size();
    if (ack) p.ack_id = ack_id;
    p.data = std::move(data);
    queue({eio::PacketType::message, false, sock::encode(p)}, due);
    for (auto& b : *buffers) queue({eio::PacketType::message, true, std::move(b)});
  }
  count("socketio.emit");
  const auto timeout = step_timeout(step);
  if (ack) {
    if (!co_await wait(*ack, timeout))
      throw UserError("timeout.ack", "no ack within " + std::to_string(timeout.count()) + " ms");
    expect_done(*ack, *step.acknowledge, "ack", ack->args);
    record("socketio.ack_time", since_us(due));
    record("socketio.response_time", since_us(due));
  }
  if (response) {
    if (!co_await wait(*response, timeout)) {
      std::erase_if(event_waiters_, [&](const auto& kv) { return kv.second == response; });
      if (response->seen)
        throw UserError("data_not_valid",
                        "response: received " + dump_json(*response->seen) + ", not the data");
      throw UserError("timeout.response",
                      "no matching server event within " + std::to_string(timeout.count()) + " ms");
    }
    expect_done(*response, *step.response, "response", response->args);
    record("socketio.response_time", since_us(due));
  }
  if (ack || response) due_ = Clock::now();
}

template <bool Tls> awaitable<void> User<Tls>::wait_for(const Step& step) {
  const std::string nsp = namespace_of(step);
  co_await connect_namespace(nsp);
  const Expect& e = *step.response;
  const std::string on = e.channel ? render_text(*e.channel) : std::string();
  auto w = std::make_shared<Waiter>(ex_);
  if (e.data) w->expect = render_value(*e.data);
  const auto due = std::min(due_, Clock::now());
  // A push that came before this step (and no earlier waitFor claimed) counts.
  for (auto it = inbox_.begin(); it != inbox_.end(); ++it) {
    if (it->nsp != nsp || it->event != on) continue;
    if (w->expect && !matches(it->args, *w->expect)) {
      w->seen = it->args;
      continue;
    }
    w->args = std::move(it->args);
    w->done = true;
    inbox_.erase(it);
    break;
  }
  if (!w->done) {
    event_waiters_.emplace(std::make_pair(nsp, on), w);
    const auto timeout = step_timeout(step);
    if (!co_await wait(*w, timeout)) {
      std::erase_if(event_waiters_, [&](const auto& kv) { return kv.second == w; });
      if (w->seen)
        throw UserError("data_not_valid",
                        "waitFor " + on + ": received " + dump_json(*w->seen) + ", not the data");
      throw UserError("timeout.wait_for",
                      "no " + on + " event within " + std::to_string(timeout.count()) + " ms");
    }
  }
  expect_done(*w, e, "waitFor", w->args);
  record("socketio.wait_time", since_us(due));
  due_ = Clock::now();
}

template <bool Tls> awaitable<void> User<Tls>::http_step(const Step& step) {
  const HttpStep& h = *step.http;
  std::string url = render_text(h.url);
  std::string target;
  const Target* to = nullptr; // another host (--allow-host)
  if (url.find("://") != std::string::npos) {
    // Absolute: the scenario's own host, or one allowed by --allow-host.
    auto u = parse_url(url);
    if (!u) throw UserError("bad_url", "HTTP step: " + url + ": " + u.error().message());
    const bool secure = u->scheme == "https" || u->scheme == "wss";
    if (!iequals(u->host, env_.target.host) || std::to_string(u->port) != env_.target.port ||
        secure != Tls) {
      co_await other_host(*u);
      to = other_.get();
    }
    const auto slash = url.find('/', url.find("://") + 3);
    target = slash == std::string::npos ? "/" : url.substr(slash);
  } else {
    target = env_.target.base_path + (url.empty() || url.front() != '/' ? "/" : "") + url;
  }
  http::verb verb = http::string_to_verb(h.method);
  if (verb == http::verb::unknown) throw UserError("bad_method", "HTTP method " + h.method);
  http::request<http::string_body> req{verb, target, 11};
  decorate(req.base(), target.substr(0, target.find('?')), to);
  req.keep_alive(true);
  if (h.headers) {
    const Json hs = render_value(*h.headers);
    if (hs.is_object())
      for (const auto& [k, v] : hs.items()) req.set(k, checked_header(k, text_of(v)));
  }
  if (h.json) {
    req.set(http::field::content_type, "application/json");
    req.body() = dump_json(render_value(*h.json));
  } else if (h.body) {
    const Json b = render_value(*h.body);
    req.body() = b.is_string() ? b.get<std::string>() : dump_json(b);
  }
  if (h.json || h.body) req.prepare_payload();
  const auto due = std::min(due_, Clock::now());
  count("http.requests");
  auto res = co_await request(to != nullptr ? elsewhere_ : api_, req, step_timeout(step), "http");
  count("http.responses");
  count("http.codes." + std::to_string(res.result_int()));
  count("http.downloaded_bytes", res.body().size());
  record("http.response_time", since_us(due));
  due_ = Clock::now();
  if (h.captures.empty() && h.matches.empty()) co_return;
  const Json body = parse_json_bounded(res.body());
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& f : res.base())
    headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  const ExtractSource src{body.is_discarded() ? nullptr : &body, res.body(), &headers};
  if (!h.matches.empty()) {
    std::vector<ExtractSpec> rendered = h.matches;
    for (auto& m : rendered)
      if (m.value) m.value = render_value(*m.value);
    if (auto st = check_matches(rendered, src, &vars_); !st)
      throw UserError("match_failed", h.method + " " + target + ": " + st.error().context);
  }
  if (auto st = apply_captures(h.captures, src, vars_); !st)
    throw UserError("capture_failed", h.method + " " + target + ": " + st.error().context);
}

template <bool Tls> awaitable<void> User<Tls>::other_host(const Url& u) {
  const std::string port = std::to_string(u.port);
  // Named without path or query (they may hold a token).
  const std::string where = u.scheme + "://" + u.authority();
  const bool allowed =
      std::any_of(env_.allow_hosts.begin(), env_.allow_hosts.end(), [&](const AllowedHost& a) {
        return iequals(a.host, u.host) && (a.port.empty() || a.port == port);
      });
  if (!allowed)
    throw UserError("host_not_allowed",
                    "HTTP step to " + where + ": host " + u.authority() + " is not the target " +
                        env_.target.host + ":" + env_.target.port +
                        "; the replayer connects only to the target unless --allow-host " +
                        (u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host) +
                        " is given");
  const bool secure = u.scheme == "https" || u.scheme == "wss";
  if (secure != Tls)
    throw UserError("host_not_allowed", "HTTP step to " + where + ": the users of an " +
                                            (Tls ? "https" : "http") + " target make " +
                                            (Tls ? "https" : "http") + " requests only");
  if (other_ && iequals(other_->host, u.host) && other_->port == port) co_return;
  elsewhere_.close();
  auto t = std::make_unique<Target>();
  t->host = u.host;
  t->port = port;
  t->secure = secure;
  boost::system::error_code ec;
  (void)net::ip::make_address(u.host, ec);
  t->ip_literal = !ec;
  tcp::resolver resolver(ex_);
  try {
    t->endpoints = co_await resolver.async_resolve(u.host, port, use_awaitable);
  } catch (const boost::system::system_error& e) {
    throw UserError("dns", "HTTP step to " + where + ": cannot resolve: " + e.code().message());
  }
  other_ = std::move(t);
  elsewhere_.to = other_.get();
}

template <bool Tls> awaitable<void> User<Tls>::exec(const std::vector<Step>& steps) {
  for (const Step& s : steps) {
    if (dead_) rethrow_dead();
    switch (s.kind) {
    case Step::Kind::emit:
      co_await emit(s);
      break;
    case Step::Kind::wait_for:
      co_await wait_for(s);
      break;
    case Step::Kind::http:
      co_await http_step(s);
      break;
    case Step::Kind::think: {
      double ms = static_cast<double>(s.think_ms);
      if (s.jitter_pct > 0) {
        std::uniform_real_distribution<double> d(-s.jitter_pct / 100.0, s.jitter_pct / 100.0);
        ms *= 1.0 + d(*env_.rng);
      }
      // Absolute due times: a late wake-up does not push the rest of the flow later.
      due_ += std::chrono::microseconds(static_cast<std::int64_t>(ms * 1000.0));
      net::steady_timer t(ex_, due_);
      co_await t.async_wait(use_awaitable);
      break;
    }
    case Step::Kind::loop: {
      Json over;
      if (s.over) {
        // `over: name` names a variable holding the list; a list is used as it is.
        if (s.over->is_string()) {
          const Json* v = lookup(vars_, s.over->get<std::string>());
          over = v != nullptr ? *v : render_value(*s.over);
        } else {
          over = render_value(*s.over);
        }
      }
      const std::int64_t n = over.is_array() ? static_cast<std::int64_t>(over.size()) : s.count;
      for (std::int64_t i = 0; i < n; ++i) {
        vars_["$loopCount"] = i + 1;
        if (over.is_array()) vars_["$loopElement"] = over[static_cast<std::size_t>(i)];
        co_await exec(s.steps);
      }
      break;
    }
    case Step::Kind::log:
    case Step::Kind::unsupported:
      break;
    }
  }
}

template <bool Tls> awaitable<void> User<Tls>::close() {
  if (!dead_ && !sid_.empty()) {
    if (!on_websocket_) {
      // A long-poll GET may have just been sent: let it reach the server before the close
      // packet, or the server closes the session first and answers it "Session ID unknown".
      close_queued_ = true;
      net::steady_timer t(ex_, 20ms);
      co_await t.async_wait(use_awaitable);
    }
    // Leave every namespace, then close the Engine.IO session, as socket.io-client does.
    for (const auto& [nsp, st] : namespaces_) {
      if (!st.connected || (eio_ == 3 && nsp == "/")) continue;
      sock::Packet p;
      p.type = sock::PacketType::disconnect;
      p.nsp = nsp;
      queue({eio::PacketType::message, false, sock::encode(p)});
    }
    close_queued_ = true;
    queue({eio::PacketType::close, false, {}});
    for (int i = 0; i < 100 && (writer_running_ || !out_.empty() || !ws_out_.empty()) && !dead_;
         ++i) {
      net::steady_timer t(ex_, 10ms);
      co_await t.async_wait(use_awaitable);
    }
  }
  closing_ = true;
  cancel(ping_timer_);
  if (ws_ && on_websocket_ && !dead_) {
    ws_->lowest().expires_after(1s);
    co_await ws_->close();
  }
  if (ws_) ws_->lowest().close();
  get_.close();
  post_.close();
  api_.close();
  elsewhere_.close();
  cancel(upgrade_wake_);
  dead_ = true;
}

template <bool Tls>
awaitable<void> run_as(const UserEnv& env, const Scenario& scenario, Json vars,
                       Clock::time_point scheduled) {
  auto ex = co_await net::this_coro::executor;
  env.metrics->count("vusers.created");
  env.metrics->count("vusers.completed", 0); // present in every report, even when 0
  env.metrics->count("vusers.failed", 0);
  env.metrics->count("vusers.created_by_name." + scenario.name);
  ++*env.active;
  auto user = std::make_shared<User<Tls>>(env, scenario, std::move(vars), ex, scheduled);
  std::string cause;
  try {
    co_await user->run();
  } catch (const UserError& e) {
    cause = e.cause;
    env.metrics->example(cause, e.what());
  } catch (const std::exception& e) {
    cause = "internal";
    env.metrics->example(cause, e.what());
  }
  co_await user->close();
  if (env.pushes != nullptr) {
    PushTally& t = (*env.pushes)[scenario.name];
    ++t.users;
    if (!cause.empty()) ++t.failed;
    for (const auto& [k, n] : user->received()) t.events[k] += n;
  }
  if (cause.empty()) {
    env.metrics->count("vusers.completed");
    env.metrics->count("vusers.completed_by_name." + scenario.name);
    env.metrics->record("vusers.session_length", since_us(scheduled));
  } else {
    env.metrics->count("vusers.failed");
    env.metrics->count("vusers.failed_by_name." + scenario.name);
    env.metrics->count("errors." + cause);
  }
  --*env.active;
}

} // namespace

awaitable<void> run_user(const UserEnv& env, const Scenario& scenario, Json vars,
                         Clock::time_point scheduled) {
  if (env.target.secure)
    co_await run_as<true>(env, scenario, std::move(vars), scheduled);
  else
    co_await run_as<false>(env, scenario, std::move(vars), scheduled);
}

} // namespace sio::replayer::detail
