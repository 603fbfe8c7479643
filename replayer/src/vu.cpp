#include "detail/vu.hpp"
#include "detail/handler_memory.hpp"
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
#include <exception>
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
      : env_(env), scenario_(sc), vars_(std::move(vars)), ex_(ex), due_(scheduled),
        flow_timer_(ex) {
    if (!env.source_addresses.empty()) source_ = (*env.next_source)++ % env.source_addresses.size();
    options_ = env.script->socketio;
    options_.merge_from(sc.socketio);
    eio_ = options_.eio.value_or(4);
  }

  awaitable<void> run() {
    co_await open();
    flow_.push_back(FlowFrame{&scenario_.flow, 0, nullptr, 0, 0, Json()});
    advance();
    if (!flow_done_) { // finish() wakes this wait
      timer(flow_end_).expires_at(Clock::time_point::max());
      boost::system::error_code ec;
      co_await flow_end_->async_wait(net::redirect_error(use_awaitable, ec));
    }
    if (flow_error_) std::rethrow_exception(flow_error_);
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
  awaitable<void> writer(); ///< polling: POSTs what out_ holds
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
  std::multimap<std::pair<std::string, std::string>, std::shared_ptr<Waiter>> event_waiters_;
  struct Push {
    std::string nsp, event;
    Json args;
  };
  FrontQueue<Push> inbox_; ///< unclaimed pushes, for `waitFor` (only when the flow has one)
  std::map<std::string, std::uint64_t> received_; ///< by push_key, when env_.pushes is set
  sock::AttachmentCollector collector_;

  // ---- The websocket's steady state, without coroutines -----------------------------------
  // Once a user is on the websocket, reading, writing, thinks and acked emits run as completion
  // handlers whose operations take their memory from the user's HandlerMemory blocks (one per
  // kind of operation outstanding at a time): no heap allocation per message. Steps that are
  // not on this path (HTTP, waitFor, emits with `response`, binary or structured arguments, a
  // namespace not yet connected, polling) run as coroutines, and the flow goes on when they end.

  /// A completion handler of this user: keeps it alive (as spawn() does), calls `Fn` on it and
  /// gives Asio `Memory` for its operation.
  template <auto Fn, class Memory> struct Bound {
    std::shared_ptr<User> user;
    Memory* memory;
    using allocator_type = HandlerAllocator<void, Memory>;
    allocator_type get_allocator() const noexcept { return allocator_type(*memory); }
    template <class... Args> void operator()(Args&&... args) {
      ((*user).*Fn)(std::forward<Args>(args)...);
    }
  };
  template <auto Fn, class Memory> Bound<Fn, Memory> bound(Memory& m) {
    return {self(), &m};
  }

  // Reading: the frames in WsClient's buffer are handled as they complete; then one
  // async_read_some. The deadline (pingInterval + pingTimeout + 2 s after the last message) is
  // one timer that re-arms itself from the time of the last message.
  void start_ws_reader();
  void read_frames();
  void on_ws_read(const boost::system::error_code& ec, std::size_t n);
  void on_ws_message(const typename WsStream::Message& m);
  void fail_ws(const boost::system::error_code& ec);
  std::chrono::milliseconds read_window() const {
    return std::chrono::milliseconds(ping_interval_ms_ + ping_timeout_ms_ + 2000);
  }
  void arm_read_deadline();
  void on_read_deadline(const boost::system::error_code& ec);
  // Writing: frames are appended to ws_out_; kick_write() swaps it with the client's buffer and
  // writes, and the completion writes again while more was queued.
  void kick_write();
  void on_ws_written(const boost::system::error_code& ec, std::size_t n);
  // The flow: steps run here while they do not wait; a think, an ack or a coroutine step
  // suspends it, and their completion calls advance() again.
  void advance();
  enum class EmitNow { slow, done, waiting };
  EmitNow emit_now(const Step& step);
  void think(const Step& step);
  void enter_loop(const Step& step);
  void on_think(const boost::system::error_code& ec);
  void on_ack_wait(const boost::system::error_code& ec);
  /// The end of an acked emit, either path: no ack by now is timeout.ack; then the ack's data
  /// is checked and its latencies recorded from when the emit was due.
  void finish_ack(const Waiter& w, const Step& step, Clock::time_point due);
  void run_slow(const Step& step);
  awaitable<void> slow_step(const Step& step);
  void finish(std::exception_ptr error);
  /// The flow continues while the output buffer holds less than this; past it, it waits until
  /// everything is written (an emit without think must not grow the buffer without bound).
  static constexpr std::size_t max_queued_bytes = 64 * 1024;

  /// One list of steps being run: the scenario's flow, or a loop's body.
  struct FlowFrame {
    const std::vector<Step>* steps = nullptr;
    std::size_t next = 0;       ///< the index of the next step
    const Step* loop = nullptr; ///< the loop this is the body of (null: the flow)
    std::int64_t iteration = 0; ///< from 0
    std::int64_t iterations = 0;
    Json over; ///< `over`: the list looped over
  };
  std::vector<FlowFrame> flow_; ///< innermost last; keeps its capacity
  bool flow_done_ = false;
  std::exception_ptr flow_error_;               ///< why the flow ended early
  std::unique_ptr<net::steady_timer> flow_end_; ///< run() waits on it until finish()
  net::steady_timer flow_timer_;                ///< thinks
  std::unique_ptr<Waiter> fast_ack_;            ///< the ack of an emit made by emit_now (made once)
  const Step* fast_ack_step_ = nullptr;
  Clock::time_point fast_ack_due_;
  bool drain_wait_ = false;  ///< the flow waits for the writes to end
  bool ws_writing_ = false;  ///< kick_write's write is in flight
  bool sync_writes_ = false; ///< plain TCP in non-blocking mode: kick_write writes at once
  std::unique_ptr<net::steady_timer> read_deadline_; ///< websocket: no message for too long
  Clock::time_point last_message_;                   ///< websocket: the last message received
  // Sized for g++ 12 / Boost 1.74 on x86-64 (the allocation test fails when one is too small):
  // a write (async_write over Beast's tcp_stream) takes 392 bytes.
  HandlerMemory<384> read_memory_;
  HandlerMemory<416> write_memory_;
  HandlerMemory<192> flow_memory_;     ///< a think's or an ack's timer
  HandlerMemory<192> deadline_memory_; ///< read_deadline_
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
    start_ws_reader();
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
  start_ws_reader();
  // Packets queued during the upgrade go first (ws_out_ is empty: nothing is framed before
  // on_websocket_).
  for (const auto& o : out_) append_frame(o.packet, o.due);
  out_ = {};
  kick_write();
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

template <bool Tls> void User<Tls>::start_ws_reader() {
  // v4: the server pings every pingInterval, silence past interval + timeout is a dead link.
  // v3: we ping, and the pinger watches the pongs; this is only a backstop.
  ws_->lowest().expires_never();
  if constexpr (!Tls) {
    boost::system::error_code ec;
    ws_->set_non_blocking(ec);
    sync_writes_ = !ec; // otherwise every write is an asynchronous operation, as for TLS
  }
  last_message_ = Clock::now();
  arm_read_deadline();
  read_frames();
}

template <bool Tls> void User<Tls>::read_frames() {
  while (!closing_ && !dead_) {
    typename WsStream::Message m;
    boost::system::error_code ec;
    switch (ws_->next(m, ec)) {
    case WsStream::Next::need_more:
      ws_->async_read_some(bound<&User::on_ws_read>(read_memory_));
      return;
    case WsStream::Next::ping: // answered after what is queued
      WsStream::append_control(0xA, m.data, (*env_.rng)(), ws_out_);
      kick_write();
      continue;
    case WsStream::Next::error:
      fail_ws(ec);
      return;
    case WsStream::Next::message:
      last_message_ = Clock::now();
      try {
        on_ws_message(m);
      } catch (const UserError& e) {
        if (!closing_) die(e.cause, e.what());
        return;
      }
      continue;
    }
  }
}

template <bool Tls> void User<Tls>::on_ws_read(const boost::system::error_code& ec, std::size_t n) {
  if (ec) {
    fail_ws(ec);
    return;
  }
  ws_->received(n);
  read_frames();
}

template <bool Tls> void User<Tls>::on_ws_message(const typename WsStream::Message& m) {
  if (m.text && m.data.size() > 2 && m.data[0] == '4' &&
      ((m.data[1] == '3' && fast_ack(m.data.substr(2))) ||
       (m.data[1] == '2' && fast_event(m.data.substr(2)))))
    return;
  auto p = m.text ? eio::decode_text_packet(m.data) : eio::decode_binary_packet(m.data, eio_);
  if (!p) throw UserError("eio_protocol", p.error().message());
  on_packet(std::move(*p));
}

template <bool Tls> void User<Tls>::fail_ws(const boost::system::error_code& ec) {
  if (closing_) return;
  if (ec == beast::error::timeout) {
    die("ping_timeout", "websocket: no packet within pingInterval + pingTimeout");
  } else {
    const UserError te = transport_error(ec, "websocket");
    die(te.cause, te.what());
  }
}

template <bool Tls> void User<Tls>::arm_read_deadline() {
  timer(read_deadline_).expires_at(last_message_ + read_window());
  read_deadline_->async_wait(bound<&User::on_read_deadline>(deadline_memory_));
}

template <bool Tls> void User<Tls>::on_read_deadline(const boost::system::error_code& ec) {
  if (ec == net::error::operation_aborted || closing_ || dead_) return;
  if (Clock::now() < last_message_ + read_window()) { // a message came meanwhile
    arm_read_deadline();
    return;
  }
  die("ping_timeout", "websocket: no packet within pingInterval + pingTimeout");
  boost::system::error_code ignored;
  ws_->lowest().socket().cancel(ignored); // the pending read (and write) end
}

template <bool Tls> void User<Tls>::kick_write() {
  if (ws_writing_ || ws_out_.empty() || dead_ || !on_websocket_ || ws_->writing()) return;
  ws_writing_ = true;
  // replayer.send_lag: from when each emit was due to when its bytes go to the socket.
  const auto now = Clock::now();
  for (const auto due : ws_out_dues_) record("replayer.send_lag", us_between(due, now));
  ws_out_dues_.clear();
  if constexpr (!Tls) {
    // Plain TCP: most frames fit the socket's send buffer, so write them now; only what is
    // left (a full buffer) becomes an asynchronous write.
    // An error is left to the asynchronous write, which meets it again and reports it from
    // its completion as before (not from inside the caller's step).
    boost::system::error_code ec;
    if (sync_writes_ && ws_->try_write_frames(ws_out_, ec)) {
      ws_writing_ = false;
      return;
    }
  }
  // The write has no deadline of its own: the read deadline cancels it too.
  ws_->async_write_frames(ws_out_, bound<&User::on_ws_written>(write_memory_));
}

template <bool Tls>
void User<Tls>::on_ws_written(const boost::system::error_code& ec, std::size_t /*n*/) {
  ws_->frames_written();
  ws_writing_ = false;
  if (ec) {
    if (!closing_) die(transport_error(ec, "send").cause, ec.message());
  } else {
    kick_write(); // what was queued meanwhile
  }
  if (drain_wait_ && !ws_writing_) {
    drain_wait_ = false;
    advance();
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
  if (on_websocket_) { // out_ is empty here: the upgrade moved it to ws_out_
    append_frame(p, due);
    kick_write();
    return;
  }
  out_.push_back({std::move(p), due});
  if (!writer_running_ && !polling_paused_) {
    writer_running_ = true;
    spawn(&User::writer);
  }
}

template <bool Tls> awaitable<void> User<Tls>::writer() {
  // Polling only: the upgrade waits for this to end, and on the websocket queue() writes.
  try {
    while (!out_.empty() && !dead_) {
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
    kick_write();
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
    co_await wait(*ack, timeout);
    finish_ack(*ack, step, due);
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

template <bool Tls> void User<Tls>::advance() {
  try {
    while (!flow_.empty()) {
      FlowFrame& f = flow_.back();
      if (f.next == f.steps->size()) { // the end of a list: the loop's next turn, or up
        if (f.loop == nullptr || ++f.iteration >= f.iterations) {
          flow_.pop_back();
          continue;
        }
        f.next = 0;
        vars_["$loopCount"] = f.iteration + 1;
        if (f.over.is_array())
          vars_["$loopElement"] = f.over[static_cast<std::size_t>(f.iteration)];
        continue;
      }
      const Step& s = (*f.steps)[f.next++];
      if (dead_) rethrow_dead();
      switch (s.kind) {
      case Step::Kind::emit:
        switch (emit_now(s)) {
        case EmitNow::done:
          break;
        case EmitNow::waiting:
          return;
        case EmitNow::slow:
          run_slow(s);
          return;
        }
        break;
      case Step::Kind::wait_for:
      case Step::Kind::http:
        run_slow(s);
        return;
      case Step::Kind::think:
        think(s);
        return;
      case Step::Kind::loop:
        enter_loop(s); // `f` is not used after this (flow_ may have grown)
        break;
      case Step::Kind::log:
      case Step::Kind::unsupported:
        break;
      }
    }
  } catch (...) {
    finish(std::current_exception());
    return;
  }
  finish(nullptr);
}

template <bool Tls> void User<Tls>::enter_loop(const Step& s) {
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
  if (n <= 0) return;
  vars_["$loopCount"] = 1;
  if (over.is_array()) vars_["$loopElement"] = over[0];
  flow_.push_back(FlowFrame{&s.steps, 0, &s, 0, n, std::move(over)});
}

template <bool Tls> void User<Tls>::think(const Step& s) {
  double ms = static_cast<double>(s.think_ms);
  if (s.jitter_pct > 0) {
    std::uniform_real_distribution<double> d(-s.jitter_pct / 100.0, s.jitter_pct / 100.0);
    ms *= 1.0 + d(*env_.rng);
  }
  // Absolute due times: a late wake-up does not push the rest of the flow later.
  due_ += std::chrono::microseconds(static_cast<std::int64_t>(ms * 1000.0));
  flow_timer_.expires_at(due_);
  flow_timer_.async_wait(bound<&User::on_think>(flow_memory_));
}

template <bool Tls> void User<Tls>::on_think(const boost::system::error_code& /*ec*/) {
  advance();
}

template <bool Tls> typename User<Tls>::EmitNow User<Tls>::emit_now(const Step& step) {
  // On the websocket, to a connected namespace, constant or simply templated arguments, no
  // `response`: everything else is emit()'s.
  if (!on_websocket_ || step.response || (step.constant_args.empty() && step.arg_pieces.empty()))
    return EmitNow::slow;
  const std::string nsp = namespace_of(step);
  const auto ns = namespaces_.find(nsp);
  if (ns == namespaces_.end() || !ns->second.connected) return EmitNow::slow;
  std::uint64_t ack_id = ns->second.next_ack; // taken only if the frame is built here
  const auto due = std::min(due_, Clock::now());
  if (!append_event_frame(step, nsp, step.acknowledge ? &ack_id : nullptr, due))
    return EmitNow::slow;
  kick_write();
  count("socketio.emit");
  if (!step.acknowledge) {
    if (ws_out_.size() < max_queued_bytes || !ws_writing_) return EmitNow::done;
    drain_wait_ = true; // on_ws_written goes on
    return EmitNow::waiting;
  }
  ns->second.next_ack = ack_id + 1;
  if (!fast_ack_) fast_ack_ = std::make_unique<Waiter>(ex_);
  Waiter& w = *fast_ack_;
  w.done = false;
  w.error.clear();
  const Expect& e = *step.acknowledge;
  w.wants_args = e.data || !e.matches.empty() || !e.captures.empty();
  ack_waiters_.push_back({nsp, ack_id, &w});
  fast_ack_step_ = &step;
  fast_ack_due_ = due;
  // The ack (its notify() cancels the timer), a failure (die() too) or the timeout go on.
  w.timer.expires_after(step_timeout(step));
  w.timer.async_wait(bound<&User::on_ack_wait>(flow_memory_));
  return EmitNow::waiting;
}

template <bool Tls>
void User<Tls>::finish_ack(const Waiter& w, const Step& step, Clock::time_point due) {
  if (!w.done)
    throw UserError("timeout.ack",
                    "no ack within " + std::to_string(step_timeout(step).count()) + " ms");
  expect_done(w, *step.acknowledge, "ack", w.args);
  record("socketio.ack_time", since_us(due));
  record("socketio.response_time", since_us(due));
}

template <bool Tls> void User<Tls>::on_ack_wait(const boost::system::error_code& /*ec*/) {
  Waiter& w = *fast_ack_;
  erase_ack(std::find_if(ack_waiters_.begin(), ack_waiters_.end(),
                         [&](const AckSlot& a) { return a.waiter == &w; }));
  try {
    finish_ack(w, *fast_ack_step_, fast_ack_due_);
    due_ = Clock::now();
  } catch (...) {
    finish(std::current_exception());
    return;
  }
  advance();
}

template <bool Tls> void User<Tls>::run_slow(const Step& step) {
  net::co_spawn(
      ex_, [u = self(), s = &step]() { return u->slow_step(*s); },
      [u = self()](std::exception_ptr e) {
        if (e)
          u->finish(std::move(e));
        else
          u->advance();
      });
}

template <bool Tls> awaitable<void> User<Tls>::slow_step(const Step& step) {
  switch (step.kind) {
  case Step::Kind::emit:
    co_await emit(step);
    break;
  case Step::Kind::wait_for:
    co_await wait_for(step);
    break;
  default:
    co_await http_step(step);
    break;
  }
}

template <bool Tls> void User<Tls>::finish(std::exception_ptr error) {
  flow_done_ = true;
  flow_error_ = std::move(error);
  flow_.clear();
  cancel(flow_end_);
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
    for (int i = 0;
         i < 100 && (writer_running_ || ws_writing_ || !out_.empty() || !ws_out_.empty()) && !dead_;
         ++i) {
      net::steady_timer t(ex_, 10ms);
      co_await t.async_wait(use_awaitable);
    }
  }
  closing_ = true;
  cancel(ping_timer_);
  cancel(read_deadline_);
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
