#include "detail/vu.hpp"

#include "sio/common/base64.hpp"
#include "sio/common/cookie.hpp"
#include "sio/common/engineio.hpp"
#include "sio/common/session_json.hpp"
#include "sio/common/socketio.hpp"
#include "sio/common/url.hpp"
#include "sio/replayer/template.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <stdexcept>

namespace sio::replayer::detail {
namespace {

namespace net = boost::asio;
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

std::int64_t since_us(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
}

std::chrono::milliseconds ms_of(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0));
}

/// A one-shot wake-up with a deadline: the waiting coroutine sleeps on the timer, the reader
/// sets `done` and cancels the timer.
struct Waiter {
  explicit Waiter(const net::any_io_executor& ex) : timer(ex) {}
  net::steady_timer timer;
  bool done = false;
  Json args;         ///< ack / event arguments
  std::string error; ///< set when the wait ends in failure (namespace refused, transport died)
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

class User : public std::enable_shared_from_this<User> {
public:
  User(const UserEnv& env, const Scenario& sc, Json vars, const net::any_io_executor& ex)
      : env_(env), scenario_(sc), vars_(std::move(vars)), ex_(ex), get_stream_(ex),
        post_stream_(ex), upgrade_wake_(ex) {
    options_ = env.script->socketio;
    options_.merge_from(sc.socketio);
  }

  awaitable<void> run();
  awaitable<void> close();
  /// Fails every waiter and stops the readers (the transport is gone).
  void die(const std::string& cause, const std::string& what);

private:
  // transport
  awaitable<void> open();
  awaitable<void> open_websocket(bool upgrade);
  awaitable<http::response<http::string_body>> request(beast::tcp_stream& s, bool& connected,
                                                       http::verb verb, const std::string& target,
                                                       std::string body);
  awaitable<void> polling_reader();
  awaitable<void> ws_reader();
  awaitable<void> writer();
  awaitable<void> upgrade();
  void queue(eio::Packet p);
  void on_packet(eio::Packet p);
  void on_socketio(sock::Packet p);
  std::string query_string(bool websocket) const;
  void decorate(http::fields& f) const;
  void store_cookies(const http::fields& f);
  // socket.io
  awaitable<void> connect_namespace(const std::string& nsp);
  awaitable<void> exec(const std::vector<Step>& steps);
  awaitable<void> emit(const Step& step);
  awaitable<bool> wait(Waiter& w, std::chrono::milliseconds d);
  Json render_value(const Json& v) {
    TemplateContext ctx{&vars_, env_.rng};
    return render(v, ctx);
  }
  /// Renders a template that must give text (a namespace, a path, an event name).
  std::string render_text(const std::string& text) {
    const Json v = render_value(Json(text));
    return v.is_string() ? v.get<std::string>() : v.is_null() ? std::string() : dump_json(v);
  }
  void count(const std::string& name, std::uint64_t n = 1) { env_.metrics->count(name, n); }

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

  // Engine.IO state
  std::string sid_;
  std::int64_t ping_interval_ms_ = 25000;
  std::int64_t ping_timeout_ms_ = 20000;
  bool can_upgrade_ = false;
  bool on_websocket_ = false;
  bool closing_ = false;
  bool close_queued_ = false; ///< the Engine.IO close packet is queued: no new long-poll
  bool dead_ = false;
  std::string dead_cause_, dead_what_;
  beast::tcp_stream get_stream_;
  bool get_connected_ = false;
  beast::tcp_stream post_stream_;
  bool post_connected_ = false;
  std::unique_ptr<websocket::stream<beast::tcp_stream>> ws_;
  std::deque<eio::Packet> out_;
  bool writer_running_ = false;
  net::steady_timer upgrade_wake_; ///< wakes the upgrade when the polling reader has stopped
  bool polling_paused_ = false;    ///< upgrade in progress: the reader stops after this GET
  bool polling_stopped_ = false;

  // Socket.IO state
  struct Namespace {
    bool connected = false;
    std::uint64_t next_ack = 0;
  };
  std::map<std::string, Namespace> namespaces_;
  std::map<std::string, std::shared_ptr<Waiter>> connect_waiters_;
  std::map<std::pair<std::string, std::uint64_t>, std::shared_ptr<Waiter>> ack_waiters_;
  std::multimap<std::pair<std::string, std::string>, std::shared_ptr<Waiter>> event_waiters_;
  sock::AttachmentCollector collector_;
};

// ---- transport ------------------------------------------------------------------------------

std::string User::query_string(bool websocket) const {
  static constexpr char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string t;
  for (int i = 0; i < 8; ++i) t += alphabet[(*env_.rng)() % 36];
  std::string q = path_ + "?EIO=4&transport=" + (websocket ? "websocket" : "polling");
  if (!websocket) q += "&t=" + t;
  if (!sid_.empty()) q += "&sid=" + percent_encode(sid_);
  if (!query_.empty()) q += "&" + query_;
  return q;
}

void User::decorate(http::fields& f) const {
  f.set(http::field::host, env_.target.host + ":" + env_.target.port);
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
    const std::string live =
        jar_.header(env_.target.host, path_, env_.target.secure, now_epoch_s());
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

void User::store_cookies(const http::fields& f) {
  if (!env_.cookie_jar) return;
  for (auto it = f.find(http::field::set_cookie);
       it != f.end() && it->name() == http::field::set_cookie; ++it)
    jar_.set(std::string_view(it->value().data(), it->value().size()), env_.target.host, path_,
             now_epoch_s());
}

awaitable<http::response<http::string_body>> User::request(beast::tcp_stream& s, bool& connected,
                                                           http::verb verb,
                                                           const std::string& target,
                                                           std::string body) {
  http::request<http::string_body> req{verb, target, 11};
  decorate(req.base());
  req.keep_alive(true);
  if (verb == http::verb::post) {
    req.set(http::field::content_type, "text/plain;charset=UTF-8");
    req.body() = std::move(body);
    req.prepare_payload();
  }
  const auto deadline = verb == http::verb::get
                            ? std::chrono::milliseconds(ping_interval_ms_ + ping_timeout_ms_ + 5000)
                            : ms_of(env_.connect_timeout_s);
  for (int attempt = 0;; ++attempt) {
    try {
      if (!connected) {
        s.expires_after(ms_of(env_.connect_timeout_s));
        co_await s.async_connect(env_.target.endpoints, use_awaitable);
        connected = true;
      }
      s.expires_after(deadline);
      co_await http::async_write(s, req, use_awaitable);
      beast::flat_buffer buf;
      http::response<http::string_body> res;
      co_await http::async_read(s, buf, res, use_awaitable);
      if (!res.keep_alive()) {
        beast::error_code ignored;
        s.socket().shutdown(tcp::socket::shutdown_both, ignored);
        s.close();
        connected = false;
      }
      store_cookies(res.base());
      co_return res;
    } catch (const boost::system::system_error& e) {
      s.close();
      const bool was_connected = connected;
      connected = false;
      // A keep-alive connection the server closed while idle: one fresh try.
      if (closing_ || dead_) throw UserError("transport_closed", "transport closed");
      if (attempt == 0 && was_connected &&
          (e.code() == http::error::end_of_stream || e.code() == net::error::connection_reset ||
           e.code() == net::error::broken_pipe || e.code() == net::error::eof))
        continue;
      if (e.code() == beast::error::timeout) throw UserError("timeout", "HTTP request timed out");
      if (e.code() == net::error::connection_refused)
        throw UserError("ECONNREFUSED", "connect: connection refused");
      throw UserError("http_" + e.code().message(), e.code().message());
    }
  }
}

/// An HTTP error answer of Engine.IO: 400 {"code":1,"message":"Session ID unknown"} etc.
[[noreturn]] void throw_http_error(const http::response<http::string_body>& res) {
  const Json j = Json::parse(res.body(), nullptr, false);
  if (j.is_object() && j.contains("code") && j["code"] == 1)
    throw UserError("session_id_unknown",
                    "HTTP " + std::to_string(res.result_int()) + ": " + res.body());
  throw UserError("http_" + std::to_string(res.result_int()),
                  "HTTP " + std::to_string(res.result_int()) + ": " + res.body().substr(0, 200));
}

awaitable<void> User::open() {
  // Per-user options, rendered now that the user's variables exist.
  if (options_.path) path_ = render_text(*options_.path);
  if (path_.empty() || path_.front() != '/') path_ = "/" + path_;
  if (options_.query) {
    const Json q = render_value(*options_.query);
    if (q.is_string()) {
      query_ = q.get<std::string>();
    } else if (q.is_object()) {
      for (const auto& [k, v] : q.items())
        query_ += (query_.empty() ? "" : "&") + percent_encode(k) + "=" +
                  percent_encode(v.is_string() ? v.get<std::string>() : dump_json(v));
    }
  }
  if (options_.extra_headers) {
    const Json h = render_value(*options_.extra_headers);
    if (h.is_object())
      for (const auto& [k, v] : h.items())
        headers_.emplace_back(k, v.is_string() ? v.get<std::string>() : dump_json(v));
  }
  if (options_.auth) auth_ = render_value(*options_.auth);
  if (env_.target.secure)
    throw UserError("tls_unsupported", "https/wss targets are not supported yet");

  bool polling = true, websocket = true;
  if (options_.transports) {
    polling = websocket = false;
    for (const auto& t : *options_.transports) {
      polling |= t == "polling";
      websocket |= t == "websocket";
    }
  }
  const auto t0 = Clock::now();
  if (!polling) {
    co_await open_websocket(false);
  } else {
    auto res =
        co_await request(get_stream_, get_connected_, http::verb::get, query_string(false), {});
    if (res.result() != http::status::ok) throw_http_error(res);
    auto payload = eio::decode_payload_v4(res.body());
    if (payload.packets.empty() || payload.packets[0].type != eio::PacketType::open)
      throw UserError("eio_protocol", "the handshake answer is not an Engine.IO open packet");
    const Json h = Json::parse(payload.packets[0].data, nullptr, false);
    if (!h.is_object() || !h.contains("sid") || !h["sid"].is_string())
      throw UserError("eio_protocol", "the open packet has no sid");
    sid_ = h["sid"].get<std::string>();
    ping_interval_ms_ = h.value("pingInterval", 25000);
    ping_timeout_ms_ = h.value("pingTimeout", 20000);
    if (h.contains("upgrades") && h["upgrades"].is_array())
      for (const auto& u : h["upgrades"]) can_upgrade_ |= u == "websocket";
    can_upgrade_ = can_upgrade_ && websocket;
    env_.metrics->record("engineio.handshake_time", since_us(t0));
    for (std::size_t i = 1; i < payload.packets.size(); ++i)
      on_packet(std::move(payload.packets[i]));
    net::co_spawn(
        ex_, [self = shared_from_this()]() { return self->polling_reader(); }, net::detached);
  }
  co_await connect_namespace("/");
  if (polling && can_upgrade_) co_await upgrade();
}

awaitable<void> User::open_websocket(bool upgrading) {
  const auto t0 = Clock::now();
  ws_ = std::make_unique<websocket::stream<beast::tcp_stream>>(ex_);
  auto& lowest = beast::get_lowest_layer(*ws_);
  try {
    lowest.expires_after(ms_of(env_.connect_timeout_s));
    co_await lowest.async_connect(env_.target.endpoints, use_awaitable);
    lowest.expires_never();
    websocket::stream_base::timeout to{};
    to.handshake_timeout = ms_of(env_.connect_timeout_s);
    to.idle_timeout = websocket::stream_base::none();
    to.keep_alive_pings = false;
    ws_->set_option(to);
    ws_->set_option(websocket::stream_base::decorator(
        // `this`, not a shared_ptr: the stream is our member, so a shared_ptr here would be a
        // cycle (User -> ws_ -> decorator -> User) and leak every user.
        [this](websocket::request_type& req) { decorate(req.base()); }));
    websocket::response_type res;
    co_await ws_->async_handshake(res, env_.target.host + ":" + env_.target.port,
                                  query_string(true), use_awaitable);
    store_cookies(res.base());
  } catch (const boost::system::system_error& e) {
    if (e.code() == websocket::error::upgrade_declined)
      throw UserError("ws_upgrade_declined", "the server declined the websocket upgrade");
    if (e.code() == net::error::connection_refused)
      throw UserError("ECONNREFUSED", "connect: connection refused");
    throw UserError("ws_" + e.code().message(), "websocket: " + e.code().message());
  }
  ws_->text(true);
  if (!upgrading) {
    // Websocket only: the server's first frame is the open packet.
    beast::flat_buffer buf;
    lowest.expires_after(ms_of(env_.connect_timeout_s));
    co_await ws_->async_read(buf, use_awaitable);
    const std::string text = beast::buffers_to_string(buf.data());
    auto p = eio::decode_text_packet(text);
    if (!p || p->type != eio::PacketType::open)
      throw UserError("eio_protocol", "the first websocket frame is not an Engine.IO open packet");
    const Json h = Json::parse(p->data, nullptr, false);
    if (!h.is_object() || !h.contains("sid") || !h["sid"].is_string())
      throw UserError("eio_protocol", "the open packet has no sid");
    sid_ = h["sid"].get<std::string>();
    ping_interval_ms_ = h.value("pingInterval", 25000);
    ping_timeout_ms_ = h.value("pingTimeout", 20000);
    on_websocket_ = true;
    env_.metrics->record("engineio.handshake_time", since_us(t0));
    net::co_spawn(
        ex_, [self = shared_from_this()]() { return self->ws_reader(); }, net::detached);
  }
}

awaitable<void> User::upgrade() {
  const auto t0 = Clock::now();
  co_await open_websocket(true);
  auto& lowest = beast::get_lowest_layer(*ws_);
  lowest.expires_after(ms_of(env_.connect_timeout_s));
  co_await ws_->async_write(net::buffer(std::string("2probe")), use_awaitable);
  beast::flat_buffer buf;
  co_await ws_->async_read(buf, use_awaitable);
  if (beast::buffers_to_string(buf.data()) != "3probe")
    throw UserError("eio_protocol", "no 3probe answer to the upgrade probe");
  // Pause polling: the server releases the pending GET with a noop; wait for the reader to stop
  // and for queued POSTs to be flushed, then send "5" and move everything to the websocket.
  polling_paused_ = true;
  while (!polling_stopped_ || writer_running_) {
    upgrade_wake_.expires_after(ms_of(env_.connect_timeout_s));
    boost::system::error_code ec;
    co_await upgrade_wake_.async_wait(net::redirect_error(use_awaitable, ec));
    if (!ec) throw UserError("upgrade_timeout", "polling was not released during the upgrade");
    if (dead_) throw UserError(dead_cause_, dead_what_);
  }
  co_await ws_->async_write(net::buffer(std::string("5")), use_awaitable);
  lowest.expires_never();
  on_websocket_ = true;
  env_.metrics->record("engineio.upgrade_time", since_us(t0));
  count("engineio.upgrades");
  net::co_spawn(
      ex_, [self = shared_from_this()]() { return self->ws_reader(); }, net::detached);
  if (!out_.empty() && !writer_running_) {
    writer_running_ = true;
    net::co_spawn(
        ex_, [self = shared_from_this()]() { return self->writer(); }, net::detached);
  }
}

awaitable<void> User::polling_reader() {
  try {
    while (!closing_ && !dead_ && !close_queued_) {
      auto res =
          co_await request(get_stream_, get_connected_, http::verb::get, query_string(false), {});
      if (res.result() != http::status::ok) throw_http_error(res);
      auto payload = eio::decode_payload_v4(res.body());
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
  upgrade_wake_.cancel();
}

awaitable<void> User::ws_reader() {
  try {
    auto& lowest = beast::get_lowest_layer(*ws_);
    beast::flat_buffer buf;
    while (!closing_ && !dead_) {
      // The server pings every pingInterval: silence past interval + timeout is a dead link.
      lowest.expires_after(std::chrono::milliseconds(ping_interval_ms_ + ping_timeout_ms_ + 2000));
      buf.clear();
      co_await ws_->async_read(buf, use_awaitable);
      const std::string data = beast::buffers_to_string(buf.data());
      if (ws_->got_text()) {
        auto p = eio::decode_text_packet(data);
        if (!p) throw UserError("eio_protocol", p.error().message());
        on_packet(std::move(*p));
      } else {
        auto p = eio::decode_binary_packet(data, 4);
        if (!p) throw UserError("eio_protocol", p.error().message());
        on_packet(std::move(*p));
      }
    }
  } catch (const UserError& e) {
    if (!closing_) die(e.cause, e.what());
  } catch (const boost::system::system_error& e) {
    if (!closing_)
      die(e.code() == beast::error::timeout ? "ping_timeout" : "ws_closed",
          "websocket: " + e.code().message());
  }
}

void User::queue(eio::Packet p) {
  out_.push_back(std::move(p));
  if (!writer_running_ && (on_websocket_ || !polling_paused_)) {
    writer_running_ = true;
    net::co_spawn(
        ex_, [self = shared_from_this()]() { return self->writer(); }, net::detached);
  }
}

awaitable<void> User::writer() {
  try {
    while (!out_.empty() && !dead_) {
      if (on_websocket_) {
        eio::Packet p = std::move(out_.front());
        out_.pop_front();
        bool binary = false;
        const std::string frame = eio::encode_ws_packet(p, 4, &binary);
        ws_->binary(binary);
        beast::get_lowest_layer(*ws_).expires_after(ms_of(env_.connect_timeout_s));
        co_await ws_->async_write(net::buffer(frame), use_awaitable);
        beast::get_lowest_layer(*ws_).expires_never();
      } else {
        std::vector<eio::Packet> batch(std::make_move_iterator(out_.begin()),
                                       std::make_move_iterator(out_.end()));
        out_.clear();
        auto res = co_await request(post_stream_, post_connected_, http::verb::post,
                                    query_string(false), eio::encode_payload_v4(batch));
        if (res.result() != http::status::ok) throw_http_error(res);
      }
    }
  } catch (const UserError& e) {
    if (!closing_) die(e.cause, e.what());
  } catch (const boost::system::system_error& e) {
    if (!closing_) die("transport_closed", e.code().message());
  }
  writer_running_ = false;
  upgrade_wake_.cancel();
}

void User::die(const std::string& cause, const std::string& what) {
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
  fail_all(ack_waiters_);
  fail_all(event_waiters_);
  upgrade_wake_.cancel();
}

void User::on_packet(eio::Packet p) {
  switch (p.type) {
  case eio::PacketType::ping:
    queue({eio::PacketType::pong, false, p.data});
    return; // v4: server pings
  case eio::PacketType::close:
    die("server_closed", "the server closed the Engine.IO session");
    return;
  case eio::PacketType::message:
    break;
  default:
    return; // pong, noop, upgrade, open
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
  auto sp = sock::decode(p.data, 5);
  if (!sp) {
    die("sio_protocol", sp.error().message());
    return;
  }
  if (sp->attachments > 0) {
    auto st = collector_.start(std::move(*sp));
    if (!st) die("sio_protocol", st.error().message());
    return;
  }
  on_socketio(std::move(*sp));
}

void User::on_socketio(sock::Packet p) {
  switch (p.type) {
  case sock::PacketType::connect: {
    namespaces_[p.nsp].connected = true;
    if (auto it = connect_waiters_.find(p.nsp); it != connect_waiters_.end()) it->second->notify();
    return;
  }
  case sock::PacketType::connect_error: {
    if (auto it = connect_waiters_.find(p.nsp); it != connect_waiters_.end()) {
      it->second->error = p.data && p.data->is_object() && p.data->contains("message")
                              ? (*p.data)["message"].dump()
                              : std::string("refused");
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
    if (auto it = ack_waiters_.find({p.nsp, *p.ack_id}); it != ack_waiters_.end()) {
      it->second->args = p.data ? std::move(*p.data) : Json::array();
      it->second->notify();
      ack_waiters_.erase(it);
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
    auto [lo, hi] = event_waiters_.equal_range({p.nsp, event});
    for (auto it = lo; it != hi; ++it) {
      Json args = Json::array();
      for (std::size_t i = 1; i < all.size(); ++i) args.push_back(all[i]);
      it->second->args = std::move(args);
      it->second->notify();
    }
    event_waiters_.erase(lo, hi);
    return;
  }
  }
}

// ---- socket.io ------------------------------------------------------------------------------

awaitable<bool> User::wait(Waiter& w, std::chrono::milliseconds d) {
  if (!w.done) {
    w.timer.expires_after(d);
    boost::system::error_code ec;
    co_await w.timer.async_wait(net::redirect_error(use_awaitable, ec));
  }
  co_return w.done;
}

awaitable<void> User::connect_namespace(const std::string& nsp) {
  if (namespaces_[nsp].connected) co_return;
  if (dead_) throw UserError(dead_cause_, dead_what_);
  const auto t0 = Clock::now();
  auto w = std::make_shared<Waiter>(ex_);
  connect_waiters_[nsp] = w;
  sock::Packet p;
  p.type = sock::PacketType::connect;
  p.nsp = nsp;
  if (auth_) p.data = *auth_;
  queue({eio::PacketType::message, false, sock::encode(p)});
  const bool done = co_await wait(*w, ms_of(env_.connect_timeout_s));
  connect_waiters_.erase(nsp);
  if (!done) throw UserError("connect_timeout", "namespace " + nsp + ": no CONNECT answer");
  if (!w->error.empty()) {
    if (dead_) throw UserError(dead_cause_, dead_what_);
    throw UserError("namespace_refused", "namespace " + nsp + " refused: " + w->error);
  }
  env_.metrics->record("socketio.connect_time", since_us(t0));
}

awaitable<void> User::emit(const Step& step) {
  std::string nsp = step.nsp.empty() ? "/" : render_text(step.nsp);
  if (nsp.empty() || nsp.front() != '/') nsp = "/" + nsp;
  co_await connect_namespace(nsp);
  Json channel = render_value(step.channel);
  Json data = Json::array();
  data.push_back(channel);
  for (const auto& a : step.args) data.push_back(render_value(a));
  sock::Packet p;
  p.nsp = nsp;
  auto buffers = sock::deconstruct(data);
  if (!buffers) throw UserError("bad_binary", buffers.error().message());
  p.type = buffers->empty() ? sock::PacketType::event : sock::PacketType::binary_event;
  p.attachments = buffers->size();
  std::shared_ptr<Waiter> ack, response;
  if (step.acknowledge) {
    p.ack_id = namespaces_[nsp].next_ack++;
    ack = std::make_shared<Waiter>(ex_);
    ack_waiters_[{nsp, *p.ack_id}] = ack;
  }
  if (step.response) {
    response = std::make_shared<Waiter>(ex_);
    const std::string on =
        step.response->channel ? render_text(*step.response->channel) : std::string();
    event_waiters_.emplace(std::make_pair(nsp, on), response);
  }
  p.data = std::move(data);
  const auto t0 = Clock::now();
  queue({eio::PacketType::message, false, sock::encode(p)});
  for (auto& b : *buffers) queue({eio::PacketType::message, true, std::move(b)});
  count("socketio.emit");
  const auto timeout = ms_of(env_.script->timeout_s);
  const auto check = [&](Waiter& w, const Expect& e, const char* what) {
    if (!w.error.empty()) throw UserError(w.error, std::string(what) + ": " + w.error);
    if (e.data && !matches(w.args, render_value(*e.data)))
      throw UserError("data_not_valid", std::string(what) + ": received " + dump_json(w.args));
  };
  if (ack) {
    if (!co_await wait(*ack, timeout))
      throw UserError("ack_timeout", "no ack within config.timeout");
    check(*ack, *step.acknowledge, "ack");
    env_.metrics->record("socketio.ack_time", since_us(t0));
    env_.metrics->record("socketio.response_time", since_us(t0));
  }
  if (response) {
    if (!co_await wait(*response, timeout))
      throw UserError("response_timeout", "no matching server event within config.timeout");
    check(*response, *step.response, "response");
    env_.metrics->record("socketio.response_time", since_us(t0));
  }
}

awaitable<void> User::exec(const std::vector<Step>& steps) {
  for (const Step& s : steps) {
    if (dead_) throw UserError(dead_cause_, dead_what_);
    switch (s.kind) {
    case Step::Kind::emit:
      co_await emit(s);
      break;
    case Step::Kind::think: {
      double ms = static_cast<double>(s.think_ms);
      if (s.jitter_pct > 0) {
        std::uniform_real_distribution<double> d(-s.jitter_pct / 100.0, s.jitter_pct / 100.0);
        ms *= 1.0 + d(*env_.rng);
      }
      net::steady_timer t(ex_, std::chrono::microseconds(static_cast<std::int64_t>(ms * 1000.0)));
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
      break;
    case Step::Kind::unsupported:
      break;
    }
  }
}

awaitable<void> User::run() {
  co_await open();
  co_await exec(scenario_.flow);
  if (dead_) throw UserError(dead_cause_, dead_what_);
}

awaitable<void> User::close() {
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
      if (!st.connected) continue;
      sock::Packet p;
      p.type = sock::PacketType::disconnect;
      p.nsp = nsp;
      queue({eio::PacketType::message, false, sock::encode(p)});
    }
    close_queued_ = true;
    queue({eio::PacketType::close, false, {}});
    for (int i = 0; i < 100 && (writer_running_ || !out_.empty()) && !dead_; ++i) {
      net::steady_timer t(ex_, 10ms);
      co_await t.async_wait(use_awaitable);
    }
  }
  closing_ = true;
  if (ws_ && on_websocket_ && !dead_) {
    try {
      beast::get_lowest_layer(*ws_).expires_after(1s);
      co_await ws_->async_close(websocket::close_code::normal, use_awaitable);
    } catch (const std::exception&) {}
  }
  if (ws_) beast::get_lowest_layer(*ws_).close();
  get_stream_.close();
  post_stream_.close();
  upgrade_wake_.cancel();
  dead_ = true;
}

} // namespace

awaitable<void> run_user(const UserEnv& env, const Scenario& scenario, Json vars,
                         std::int64_t scheduled_ms) {
  auto ex = co_await net::this_coro::executor;
  env.metrics->count("vusers.created");
  env.metrics->count("vusers.completed", 0); // present in every report, even when 0
  env.metrics->count("vusers.failed", 0);
  env.metrics->count("vusers.created_by_name." + scenario.name);
  ++*env.active;
  const auto start = Clock::now();
  auto user = std::make_shared<User>(env, scenario, std::move(vars), ex);
  std::string cause;
  try {
    co_await user->run();
  } catch (const UserError& e) {
    cause = e.cause;
  } catch (const std::exception& e) {
    cause = std::string("internal: ") + e.what();
  }
  co_await user->close();
  if (cause.empty()) {
    env.metrics->count("vusers.completed");
    env.metrics->record("vusers.session_length", since_us(start));
  } else {
    env.metrics->count("vusers.failed");
    env.metrics->count("errors." + cause);
  }
  (void)scheduled_ms;
  --*env.active;
}

} // namespace sio::replayer::detail
