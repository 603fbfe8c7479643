#include "traffic.hpp"

#include "sio/common/base64.hpp"
#include "sio/common/cookie.hpp"

#include <algorithm>
#include <cmath>

namespace sio::recorder::detail {
namespace {

/// Request headers a replay should carry: everything but what browsers and HTTP add by themselves.
bool header_matters(std::string_view name) {
  static constexpr std::string_view skip[] = {"host",
                                              "connection",
                                              "accept",
                                              "accept-encoding",
                                              "accept-language",
                                              "cache-control",
                                              "pragma",
                                              "referer",
                                              "user-agent",
                                              "origin",
                                              "cookie",
                                              "content-length",
                                              "content-type",
                                              "upgrade",
                                              "dnt",
                                              "priority",
                                              "te",
                                              "if-none-match",
                                              "if-modified-since",
                                              "keep-alive",
                                              "transfer-encoding",
                                              "x-requested-with"};
  if (name.empty() || name[0] == ':') return false;
  std::string lower(name);
  for (auto& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (lower.rfind("sec-", 0) == 0) return false;
  for (const auto s : skip)
    if (lower == s) return false;
  return true;
}

} // namespace

const std::string* find_header(const std::vector<Header>& hs, std::string_view name) {
  for (const auto& h : hs)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

Classified Traffic::classify(const Exchange& e, bool websocket_hint) {
  Classified c;
  auto url = parse_url(e.url);
  const bool is_eio = url && url->has_param("EIO") && url->has_param("transport") &&
                      (path_.empty() || url->path == path_);
  if (!is_eio) return c;
  c.url = std::move(*url);
  ++stats_.engineio;
  const std::string_view ver = c.url.param("EIO");
  if (ver != "3" && ver != "4") {
    builder_.diagnose("unsupported_eio", where(e, ".request.url"),
                      "Engine.IO version EIO=" + std::string(ver) +
                          " is not supported (3 or 4); entry skipped");
    c.kind = Classified::Kind::skipped;
    return c;
  }
  c.eio = ver == "3" ? 3 : 4;
  const std::string_view transport = c.url.param("transport");
  c.sid = std::string(c.url.param("sid"));
  if (transport == "websocket" || e.resource_type == "websocket" || websocket_hint) {
    c.kind = Classified::Kind::websocket;
  } else if (transport == "polling") {
    c.kind = Classified::Kind::polling;
  } else {
    builder_.diagnose("unsupported_transport", where(e, ".request.url"),
                      "transport \"" + std::string(transport) +
                          "\" is not supported; entry skipped");
    c.kind = Classified::Kind::skipped;
  }
  return c;
}

std::vector<CookieRecord> Traffic::set_cookies_of(const Exchange& e, bool engineio) const {
  const std::int64_t started_us = e.started_us;
  std::vector<CookieRecord> out;
  const auto add = [&](std::string_view header) {
    // Chrome joins repeated Set-Cookie headers with '\n' in one HAR header.
    while (!header.empty()) {
      const auto nl = header.find('\n');
      SetCookie sc;
      if (parse_set_cookie(header.substr(0, nl), sc)) {
        CookieRecord c;
        c.kind = CookieRecord::Kind::set;
        c.name = std::move(sc.name);
        c.value = std::move(sc.value);
        c.attributes = std::move(sc.attributes);
        c.method = e.method;
        c.url = e.url;
        c.status = e.status;
        c.t_us = started_us;
        c.engineio = engineio;
        out.push_back(std::move(c));
      }
      if (nl == std::string_view::npos) break;
      header.remove_prefix(nl + 1);
    }
  };
  for (const auto& h : e.resp_headers)
    if (iequals(h.name, "set-cookie")) add(h.value);
  if (out.empty()) { // headers stripped (or HTTP/2 without them): the cookies array
    for (const auto& c : e.resp_cookies) {
      CookieRecord r;
      r.kind = CookieRecord::Kind::set;
      r.name = c.name;
      r.value = c.value;
      r.method = e.method;
      r.url = e.url;
      r.status = e.status;
      r.t_us = started_us;
      r.engineio = engineio;
      out.push_back(std::move(r));
    }
  }
  return out;
}

void Traffic::record_cookies(SessionDraft& d, const Exchange& e) {
  const std::int64_t started_us = e.started_us;
  std::vector<std::pair<std::string, std::string>> sent;
  if (const auto* h = find_header(e.req_headers, "cookie")) sent = parse_cookie_header(*h);
  if (sent.empty())
    for (const auto& c : e.req_cookies) sent.emplace_back(c.name, c.value);
  for (auto& [name, value] : sent) {
    CookieRecord c;
    c.kind = CookieRecord::Kind::sent;
    c.name = std::move(name);
    c.value = std::move(value);
    c.method = e.method;
    c.url = e.url;
    c.t_us = started_us;
    c.engineio = true;
    SessionBuilder::add_cookie(d, std::move(c));
  }
  for (auto& c : set_cookies_of(e, true)) SessionBuilder::add_cookie(d, std::move(c));
}

void Traffic::fill_meta(SessionDraft& d, const Exchange& e, const Url& url, int eio) {
  Session& m = d.meta;
  if (m.url.empty()) {
    m.eio = eio;
    const std::string scheme = url.scheme == "wss"  ? "https"
                               : url.scheme == "ws" ? "http"
                                                    : url.scheme;
    Url http = url;
    http.scheme = scheme;
    m.url = http.origin() + url.path;
    m.path = url.path;
    for (const auto& [k, v] : url.query)
      if (k != "EIO" && k != "transport" && k != "t" && k != "sid" && k != "j")
        m.query.emplace_back(k, v);
    m.source = source_;
    d.pageref = e.pageref;
    if (!e.server_ip.empty()) {
      const bool v6 = e.server_ip.find(':') != std::string::npos && e.server_ip.front() != '[';
      m.server = (v6 ? "[" + e.server_ip + "]" : e.server_ip) + ":" + std::to_string(url.port);
    }
  } else if (m.eio != eio) {
    builder_.diagnose("mixed_eio", where(e, ".request.url"),
                      "EIO=" + std::to_string(eio) +
                          " on a session first seen with EIO=" + std::to_string(m.eio),
                      m.sid);
  }
  if (m.server.empty() && !e.server_ip.empty()) {
    const bool v6 = e.server_ip.find(':') != std::string::npos && e.server_ip.front() != '[';
    m.server = (v6 ? "[" + e.server_ip + "]" : e.server_ip) + ":" + std::to_string(url.port);
  }
  // A capture knows the TCP endpoints: behind a proxy the URL's host is the proxy's, while the
  // connection may go to a replica.
  if (!e.server_addr.empty()) m.server = e.server_addr;
  if (m.client.empty()) m.client = e.client_addr;
  if (m.user_agent.empty())
    if (const auto* ua = find_header(e.req_headers, "user-agent")) m.user_agent = *ua;
  if (m.origin.empty()) {
    if (const auto* o = find_header(e.req_headers, "origin")) {
      m.origin = *o;
    } else if (const auto* ref = find_header(e.req_headers, "referer")) {
      if (auto r = parse_url(*ref)) m.origin = r->origin();
    }
  }
  for (const auto& h : e.req_headers) {
    if (!header_matters(h.name)) continue;
    bool known = false;
    for (const auto& [n, v] : m.headers) known = known || iequals(n, h.name);
    if (!known) m.headers.emplace_back(h.name, h.value);
  }
}

void Traffic::page(Exchange& e) {
  const std::int64_t started_us = e.started_us;
  ++stats_.pages;
  PageExchange x;
  x.exchange.method = e.method;
  x.exchange.url = e.url;
  x.exchange.status = e.status;
  x.exchange.t_us = started_us;
  x.exchange.duration_us = e.time_ms >= 0 ? std::llround(e.time_ms * 1000.0) : -1;
  x.exchange.resource_type = e.resource_type;
  x.exchange.mime_type = e.content_mime;
  for (const auto& h : e.req_headers)
    if (header_matters(h.name) || iequals(h.name, "content-type"))
      x.exchange.request_headers.emplace_back(h.name, h.value);
  if (e.has_post && e.post_text.size() <= 64 * 1024) x.exchange.request_body = e.post_text;
  x.pageref = e.pageref;
  x.set_cookies = set_cookies_of(e, false);
  builder_.add_page_exchange(std::move(x));
}

std::string Traffic::sid_of_open_message(std::string_view text) {
  if (text.empty() || text[0] != '0') return {};
  const Json h = parse_json_bounded(text.substr(1));
  if (h.is_object() && h.contains("sid") && h["sid"].is_string())
    return h["sid"].get<std::string>();
  return {};
}

SessionDraft& Traffic::open_websocket(const Exchange& e, const Classified& c,
                                      const std::string& sid) {
  ++stats_.websocket;
  SessionDraft& d = builder_.session(sid, leg_);
  fill_meta(d, e, c.url, c.eio);
  if (std::find(d.meta.transports.begin(), d.meta.transports.end(), Transport::polling) !=
      d.meta.transports.end())
    d.meta.upgraded = true;
  SessionBuilder::saw_transport(d, Transport::websocket);
  SessionBuilder::touch(d, e.started_us);
  record_cookies(d, e);
  if (e.status != 101 && e.status != 0)
    builder_.diagnose(
        "http_error", where(e, ".response.status"),
        "websocket handshake answered " + std::to_string(e.status) + " instead of 101", sid);
  return d;
}

void Traffic::ws_message(SessionDraft& d, int eio, Direction dir, int opcode, std::string_view data,
                         std::int64_t t_us, std::uint32_t origin, std::uint32_t item) {
  ++stats_.frames;
  WirePacket w;
  w.t_us = t_us;
  w.dir = dir;
  w.transport = Transport::websocket;
  w.origin = origin;
  w.item = item;
  auto p = opcode == 1 ? eio::decode_text_packet(data) : eio::decode_binary_packet(data, eio);
  if (!p) {
    builder_.diagnose("bad_eio_packet", builder_.where(origin, item), p.error().message(),
                      d.meta.sid);
    return;
  }
  w.packet = std::move(*p);
  builder_.add(d, std::move(w));
}

void Traffic::polling(Exchange& e, const Classified& c) {
  const Url& url = c.url;
  const int eio = c.eio;
  std::string sid = c.sid;
  const std::int64_t started_us = e.started_us;
  const bool is_post = iequals(e.method, "POST");
  // Client data leaves at the start of the request; server data arrives after the wait.
  std::int64_t response_us = started_us;
  if (e.response_us >= 0) {
    response_us = e.response_us;
  } else if (e.has_timings) {
    double ms = 0;
    for (const double v : {e.blocked, e.dns, e.connect, e.send, e.wait})
      if (v > 0) ms += v;
    response_us += std::llround(ms * 1000.0);
  } else if (e.time_ms > 0) {
    response_us += std::llround(e.time_ms * 1000.0);
  }
  const std::int64_t end_us = started_us + (e.time_ms > 0 ? std::llround(e.time_ms * 1000.0) : 0);

  std::string body;
  std::string body_path;
  bool octet = false;
  bool have_body = false;
  if (is_post) {
    if (e.has_post) {
      body = std::move(e.post_text);
      body_path = ".request.postData.text";
      octet = e.post_mime.find("octet-stream") != std::string::npos;
      have_body = true;
      if (e.post_encoding == "base64") {
        auto b = base64_decode(body);
        if (!b) {
          builder_.diagnose("bad_base64", where(e, body_path), b.error().message(), sid);
          have_body = false;
        } else {
          body = std::move(*b);
        }
      }
    }
  } else if (e.has_content_text) {
    body = std::move(e.content_text);
    body_path = ".response.content.text";
    octet = e.content_mime.find("octet-stream") != std::string::npos;
    have_body = true;
    if (e.content_encoding == "base64") {
      auto b = base64_decode(body);
      if (!b) {
        builder_.diagnose("bad_base64", where(e, body_path), b.error().message(), sid);
        have_body = false;
      } else {
        body = std::move(*b);
      }
    }
  }

  const bool failed_status = !is_post && e.status != 200 && e.status != 0;
  if (is_post && e.status != 200 && e.status != 0) {
    builder_.diagnose(
        "http_error", where(e, ".response.status"),
        "polling POST answered " + std::to_string(e.status) +
            (e.has_content_text ? ": " + e.content_text.substr(0, 200) : std::string()),
        sid);
  }
  if (failed_status) {
    builder_.diagnose("http_error", where(e, ".response.status"),
                      "polling GET answered " + std::to_string(e.status) +
                          (have_body ? ": " + body.substr(0, 200) : std::string()),
                      sid);
    have_body = false; // an error body is JSON, not an Engine.IO payload
  }

  eio::PayloadResult payload;
  if (have_body && !(is_post && body.empty())) payload = eio::decode_payload(body, eio, octet);

  if (sid.empty()) {
    if (is_post) {
      builder_.diagnose(
          "no_sid", where(e, ".request.url"),
          "polling POST without a sid (Engine.IO answers \"Bad handshake method\"); skipped");
      return;
    }
    // The handshake: the open packet in the response names the session.
    for (const auto& p : payload.packets) {
      if (p.type != eio::PacketType::open) continue;
      const Json h = parse_json_bounded(p.data);
      if (h.is_object() && h.contains("sid") && h["sid"].is_string())
        sid = h["sid"].get<std::string>();
      break;
    }
    if (sid.empty()) {
      if (!failed_status)
        builder_.diagnose(have_body ? "no_sid" : "missing_body", where(e, ".response.content"),
                          have_body
                              ? "Engine.IO handshake response without an open packet"
                              : "Engine.IO handshake response has no body in this HAR "
                                "(status " +
                                    std::to_string(e.status) + "); its session cannot be named");
      return;
    }
  }
  SessionDraft& d = builder_.session(sid, leg_);
  fill_meta(d, e, url, eio);
  SessionBuilder::saw_transport(d, Transport::polling);
  SessionBuilder::touch(d, started_us);
  if (e.status != 0) SessionBuilder::touch(d, end_us);
  record_cookies(d, e);
  if (!have_body) {
    if (!is_post && e.status == 200)
      builder_.diagnose("missing_body", where(e, ".response.content"),
                        "polling response body is not in this HAR (evicted or not captured); its "
                        "server->client packets are missing",
                        sid);
    else if (is_post && !e.has_post)
      builder_.diagnose("missing_body", where(e, ".request.postData"),
                        "polling POST without postData; its client->server packets are missing",
                        sid);
    return;
  }
  const std::uint32_t origin = builder_.add_origin(where(e, body_path), /*indexed=*/false);
  for (std::size_t i = 0; i < payload.packets.size(); ++i) {
    WirePacket w;
    w.t_us = is_post ? started_us : response_us;
    w.dir = is_post ? Direction::client_to_server : Direction::server_to_client;
    w.transport = Transport::polling;
    w.origin = origin;
    w.item = static_cast<std::uint32_t>(i);
    w.packet = std::move(payload.packets[i]);
    builder_.add(d, std::move(w));
  }
  if (payload.error)
    builder_.diagnose("bad_eio_payload", where(e, body_path), payload.error->message(), sid);
}

} // namespace sio::recorder::detail
