#include "sio/common/session_json.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace sio {
namespace {

Json pairs_to_object(const std::vector<std::pair<std::string, std::string>>& pairs) {
  Json o = Json::object();
  for (const auto& [k, v] : pairs) o[k] = v;
  return o;
}

Json pairs_to_array(const std::vector<std::pair<std::string, std::string>>& pairs) {
  Json a = Json::array();
  for (const auto& [k, v] : pairs) a.push_back(Json::array({k, v}));
  return a;
}

void append_message(std::string& out, const Message& m, int protocol) {
  char num[24];
  out += "{\"t_us\":";
  out.append(num, std::to_chars(num, num + sizeof num, m.t_us).ptr);
  out += ",\"dir\":\"";
  out += to_string(m.dir);
  out += "\",\"type\":\"";
  out += sock::to_string(m.type, protocol);
  out += "\",\"nsp\":";
  append_json_string(out, m.nsp);
  if (m.event) {
    out += ",\"event\":";
    append_json(out, *m.event);
  }
  if (m.args) {
    out += ",\"args\":";
    append_json(out, *m.args);
  }
  if (m.ack_id) {
    out += ",\"ackId\":";
    out.append(num, std::to_chars(num, num + sizeof num, *m.ack_id).ptr);
  }
  if (m.data) {
    out += ",\"data\":";
    append_json(out, *m.data);
  }
  if (m.attachments > 0) {
    out += ",\"attachments\":";
    out += std::to_string(m.attachments);
  }
  out += ",\"transport\":\"";
  out += to_string(m.transport);
  out += "\"}";
}

Json cookie_to_json(const CookieRecord& c) {
  Json o = Json::object();
  o["kind"] = c.kind == CookieRecord::Kind::sent ? "sent" : "set";
  o["name"] = c.name;
  o["value"] = c.value;
  if (c.kind == CookieRecord::Kind::set) o["attributes"] = c.attributes;
  o["method"] = c.method;
  o["url"] = c.url;
  if (c.kind == CookieRecord::Kind::set) o["status"] = c.status;
  o["t_us"] = c.t_us;
  o["engineio"] = c.engineio;
  o["count"] = c.count;
  return o;
}

Json http_to_json(const HttpExchange& h) {
  Json o = Json::object();
  o["method"] = h.method;
  o["url"] = h.url;
  o["status"] = h.status;
  o["t_us"] = h.t_us;
  o["duration_us"] = h.duration_us;
  if (!h.resource_type.empty()) o["resource_type"] = h.resource_type;
  if (!h.mime_type.empty()) o["mime_type"] = h.mime_type;
  if (!h.request_headers.empty()) o["request_headers"] = pairs_to_array(h.request_headers);
  if (h.request_body) o["request_body"] = *h.request_body;
  return o;
}

/// Field access with errors that name the field.
class Fields {
public:
  Fields(const Json& j, std::string where) : j_(j), where_(std::move(where)) {}

  Result<const Json*> get(const char* key, bool required, Json::value_t a,
                          Json::value_t b = Json::value_t::discarded) const {
    const auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) {
      if (required) return fail(errc::bad_recording, where_ + ": missing field \"" + key + "\"");
      return static_cast<const Json*>(nullptr);
    }
    const auto t = it->type();
    const bool number_ok =
        (a == Json::value_t::number_integer || b == Json::value_t::number_integer) &&
        (t == Json::value_t::number_unsigned || t == Json::value_t::number_integer);
    if (t != a && t != b && !number_ok)
      return fail(errc::bad_recording,
                  where_ + ": field \"" + key + "\" has the wrong type (" + it->type_name() + ")");
    return &*it;
  }
  const std::string& where() const { return where_; }

private:
  const Json& j_;
  std::string where_;
};

#define SIO_TRY_FIELD(var, expr)                                                                   \
  auto var##_r = (expr);                                                                           \
  if (!var##_r) return fail(std::move(var##_r).error());                                           \
  const Json* var = *var##_r

using VT = Json::value_t;

Result<std::vector<std::pair<std::string, std::string>>> read_pairs(const Json* j,
                                                                    const std::string& where) {
  std::vector<std::pair<std::string, std::string>> out;
  if (j == nullptr) return out;
  if (j->is_object()) {
    for (const auto& [k, v] : j->items()) {
      if (!v.is_string()) return fail(errc::bad_recording, where + "." + k + ": expected a string");
      out.emplace_back(k, v.get<std::string>());
    }
    return out;
  }
  for (const auto& e : *j) {
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_string())
      return fail(errc::bad_recording, where + ": expected [name, value] pairs of strings");
    out.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
  }
  return out;
}

/// The string member `key` of `j`, or "" when absent or not a string (never throws).
std::string string_or_empty(const Json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

} // namespace

/// True when `s` can be written between quotes as it is: printable ASCII without '"' or '\\'.
static bool plain_json_string(std::string_view s) {
  // Eight bytes at a time: a byte needs escaping (or is not ASCII) when it is < 0x20, >= 0x7F,
  // '"' or '\\'. Long strings (binary attachments in base64) made the byte loop a hot spot.
  constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  const auto has_zero = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    const std::uint64_t special = (w - ones * 0x20) |          // < 0x20 (borrow sets bit 7)
                                  (w + ones * 0x01) |          // >= 0x7F (bit 7 after +1)
                                  has_zero(w ^ (ones * '"')) | // '"'
                                  has_zero(w ^ (ones * '\\')); // '\\'
    if ((special | w) & highs) break; // something to look at byte by byte (w & highs: >= 0x80)
  }
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') return false;
  }
  return true;
}

/// Appends `s` as a JSON string, as nlohmann's serializer writes it.
void append_json_string(std::string& out, std::string_view s) {
  if (plain_json_string(s)) {
    out += '"';
    out += s;
    out += '"';
  } else {
    out += Json(std::string(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
  }
}

/// Appends `j` to `out` as compact JSON, byte for byte what `j.dump()` (with invalid UTF-8
/// replaced) writes. Written in place: dump() returns a new string per value, and recordings
/// are mostly short strings and integers, so the common cases are done here and the rest
/// (escapes, non-ASCII, floating point) is left to nlohmann's serializer.
void append_json(std::string& out, const Json& j) {
  switch (j.type()) {
  case Json::value_t::null:
    out += "null";
    return;
  case Json::value_t::boolean:
    out += j.get_ref<const bool&>() ? "true" : "false";
    return;
  case Json::value_t::number_integer:
  case Json::value_t::number_unsigned: {
    char buf[24];
    const auto r = j.is_number_unsigned()
                       ? std::to_chars(buf, buf + sizeof buf, j.get_ref<const std::uint64_t&>())
                       : std::to_chars(buf, buf + sizeof buf, j.get_ref<const std::int64_t&>());
    out.append(buf, r.ptr);
    return;
  }
  case Json::value_t::string:
    append_json_string(out, j.get_ref<const std::string&>());
    return;
  case Json::value_t::array: {
    out += '[';
    bool first = true;
    for (const auto& e : j) {
      if (!first) out += ',';
      first = false;
      append_json(out, e);
    }
    out += ']';
    return;
  }
  case Json::value_t::object: {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : j.items()) {
      if (!first) out += ',';
      first = false;
      append_json_string(out, k);
      out += ':';
      append_json(out, v);
    }
    out += '}';
    return;
  }
  default:
    break;
  }
  out += j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string dump_json(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string recording_header_line(const std::vector<std::string>& sources, std::uint64_t sessions,
                                  std::uint64_t messages) {
  Json h = Json::object();
  h["format"] = "sioreplay-recording";
  h["version"] = recording_version;
  h["tool"] = std::string("sioreplay ") + SIO_VERSION;
  h["source"] = sources;
  h["sessions"] = sessions;
  h["messages"] = messages;
  return dump_json(h);
}

std::string recording_header_line(const Recording& rec) {
  std::uint64_t messages = 0;
  for (const auto& s : rec.sessions) messages += s.messages.size();
  return recording_header_line(rec.sources, rec.sessions.size(), messages);
}

void append_session_line(std::string& out, const Session& s) {
  Json o = Json::object();
  o["kind"] = "session";
  o["id"] = s.id;
  o["sid"] = s.sid;
  o["eio"] = s.eio;
  o["url"] = s.url;
  o["path"] = s.path;
  o["query"] = pairs_to_object(s.query);
  Json tr = Json::array();
  for (const auto t : s.transports) tr.push_back(to_string(t));
  o["transports"] = tr;
  o["upgraded"] = s.upgraded;
  o["started_us"] = s.started_us;
  o["duration_us"] = s.duration_us;
  o["client"] = s.client;
  o["server"] = s.server;
  if (!s.upstream.empty()) o["upstream"] = s.upstream;
  if (!s.leg.empty()) o["leg"] = s.leg;
  o["user_agent"] = s.user_agent;
  o["origin"] = s.origin;
  o["headers"] = pairs_to_array(s.headers);
  o["handshake"] = s.handshake ? *s.handshake : Json();
  Json cookies = Json::array();
  for (const auto& c : s.cookies) cookies.push_back(cookie_to_json(c));
  o["cookies"] = std::move(cookies);
  Json http = Json::array();
  for (const auto& h : s.http) http.push_back(http_to_json(h));
  o["http"] = std::move(http);
  o["engine"] =
      Json{{"open", s.engine.open},  {"close", s.engine.close}, {"ping", s.engine.ping},
           {"pong", s.engine.pong},  {"noop", s.engine.noop},   {"upgrade", s.engine.upgrade},
           {"probe", s.engine.probe}};
  o["source"] = s.source;
  // Everything but the messages as one object, then the messages appended as its last member.
  append_json(out, o);
  out.pop_back(); // the closing '}'
  out += ",\"messages\":[";
  const int protocol = sock::protocol_for_eio(s.eio);
  for (std::size_t i = 0; i < s.messages.size(); ++i) {
    if (i > 0) out += ',';
    append_message(out, s.messages[i], protocol);
  }
  out += "]}";
}

Json session_to_json(const Session& s) {
  std::string line;
  append_session_line(line, s);
  return Json::parse(line);
}

std::string recording_diagnostics_line(const Recording& rec) {
  Json d = Json::object();
  d["kind"] = "diagnostics";
  d["count"] = rec.diagnostics.size();
  Json by_kind = Json::object();
  for (const auto& x : rec.diagnostics) {
    auto& n = by_kind[x.kind];
    n = n.is_null() ? 1 : n.get<std::uint64_t>() + 1;
  }
  d["by_kind"] = std::move(by_kind);
  Json items = Json::array();
  for (const auto& x : rec.diagnostics) {
    Json i = Json::object();
    i["kind"] = x.kind;
    i["where"] = x.where;
    i["what"] = x.what;
    if (!x.sid.empty()) i["sid"] = x.sid;
    items.push_back(std::move(i));
  }
  d["items"] = std::move(items);
  return dump_json(d);
}

void write_recording(const Recording& rec, AtomicOutput& out) {
  std::string line = recording_header_line(rec);
  line += '\n';
  out.write(line);
  for (const auto& s : rec.sessions) {
    line.clear();
    append_session_line(line, s);
    line += '\n';
    out.write(line);
  }
  line = recording_diagnostics_line(rec);
  line += '\n';
  out.write(line);
}

std::string recording_text(const Recording& rec) {
  std::string text = recording_header_line(rec);
  text += '\n';
  for (const auto& s : rec.sessions) {
    append_session_line(text, s);
    text += '\n';
  }
  text += recording_diagnostics_line(rec);
  text += '\n';
  return text;
}

Result<Session> session_from_json(const Json& j) {
  if (!j.is_object()) return fail(errc::bad_recording, "a session line must be a JSON object");
  Session s;
  const Fields f(j, "session");
  SIO_TRY_FIELD(id, f.get("id", true, VT::number_integer));
  SIO_TRY_FIELD(sid, f.get("sid", true, VT::string));
  SIO_TRY_FIELD(eio, f.get("eio", true, VT::number_integer));
  SIO_TRY_FIELD(url, f.get("url", true, VT::string));
  SIO_TRY_FIELD(path, f.get("path", false, VT::string));
  SIO_TRY_FIELD(query, f.get("query", false, VT::object, VT::array));
  SIO_TRY_FIELD(transports, f.get("transports", false, VT::array));
  SIO_TRY_FIELD(upgraded, f.get("upgraded", false, VT::boolean));
  SIO_TRY_FIELD(started, f.get("started_us", true, VT::number_integer));
  SIO_TRY_FIELD(duration, f.get("duration_us", false, VT::number_integer));
  SIO_TRY_FIELD(client, f.get("client", false, VT::string));
  SIO_TRY_FIELD(server, f.get("server", false, VT::string));
  SIO_TRY_FIELD(upstream, f.get("upstream", false, VT::string));
  SIO_TRY_FIELD(leg, f.get("leg", false, VT::string));
  SIO_TRY_FIELD(ua, f.get("user_agent", false, VT::string));
  SIO_TRY_FIELD(origin, f.get("origin", false, VT::string));
  SIO_TRY_FIELD(headers, f.get("headers", false, VT::array, VT::object));
  SIO_TRY_FIELD(cookies, f.get("cookies", false, VT::array));
  SIO_TRY_FIELD(http, f.get("http", false, VT::array));
  SIO_TRY_FIELD(engine, f.get("engine", false, VT::object));
  SIO_TRY_FIELD(messages, f.get("messages", true, VT::array));
  SIO_TRY_FIELD(source, f.get("source", false, VT::string));

  s.id = id->get<std::uint64_t>();
  s.sid = sid->get<std::string>();
  s.eio = eio->get<int>();
  if (s.eio != 3 && s.eio != 4)
    return fail(errc::bad_recording,
                "session: \"eio\" must be 3 or 4, got " + std::to_string(s.eio));
  s.url = url->get<std::string>();
  if (path) s.path = path->get<std::string>();
  auto q = read_pairs(query, "session.query");
  if (!q) return fail(std::move(q).error());
  s.query = std::move(*q);
  if (transports) {
    for (const auto& t : *transports) {
      if (t == "polling")
        s.transports.push_back(Transport::polling);
      else if (t == "websocket")
        s.transports.push_back(Transport::websocket);
      else
        return fail(errc::bad_recording, "session.transports: unknown transport " + t.dump());
    }
  }
  if (upgraded) s.upgraded = upgraded->get<bool>();
  s.started_us = started->get<std::int64_t>();
  if (duration) s.duration_us = duration->get<std::int64_t>();
  if (client) s.client = client->get<std::string>();
  if (server) s.server = server->get<std::string>();
  if (upstream) s.upstream = upstream->get<std::string>();
  if (leg) s.leg = leg->get<std::string>();
  if (ua) s.user_agent = ua->get<std::string>();
  if (origin) s.origin = origin->get<std::string>();
  auto h = read_pairs(headers, "session.headers");
  if (!h) return fail(std::move(h).error());
  s.headers = std::move(*h);
  if (const auto it = j.find("handshake"); it != j.end() && !it->is_null()) s.handshake = *it;
  if (source) s.source = source->get<std::string>();
  if (engine) {
    const auto count = [&](const char* k) -> std::uint64_t {
      const auto it = engine->find(k);
      return it != engine->end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
    };
    s.engine = {count("open"), count("close"),   count("ping"), count("pong"),
                count("noop"), count("upgrade"), count("probe")};
  }
  if (cookies) {
    std::size_t i = 0;
    for (const auto& cj : *cookies) {
      const std::string where = "session.cookies[" + std::to_string(i++) + "]";
      if (!cj.is_object()) return fail(errc::bad_recording, where + ": expected an object");
      const Fields cf(cj, where);
      SIO_TRY_FIELD(kind, cf.get("kind", true, VT::string));
      SIO_TRY_FIELD(name, cf.get("name", true, VT::string));
      SIO_TRY_FIELD(value, cf.get("value", true, VT::string));
      SIO_TRY_FIELD(attrs, cf.get("attributes", false, VT::string));
      SIO_TRY_FIELD(method, cf.get("method", false, VT::string));
      SIO_TRY_FIELD(curl, cf.get("url", false, VT::string));
      SIO_TRY_FIELD(status, cf.get("status", false, VT::number_integer));
      SIO_TRY_FIELD(t, cf.get("t_us", false, VT::number_integer));
      SIO_TRY_FIELD(eng, cf.get("engineio", false, VT::boolean));
      SIO_TRY_FIELD(cnt, cf.get("count", false, VT::number_integer));
      CookieRecord c;
      if (*kind == "sent")
        c.kind = CookieRecord::Kind::sent;
      else if (*kind == "set")
        c.kind = CookieRecord::Kind::set;
      else
        return fail(errc::bad_recording, where + ".kind: expected \"sent\" or \"set\"");
      c.name = name->get<std::string>();
      c.value = value->get<std::string>();
      if (attrs) c.attributes = attrs->get<std::string>();
      if (method) c.method = method->get<std::string>();
      if (curl) c.url = curl->get<std::string>();
      if (status) c.status = status->get<int>();
      if (t) c.t_us = t->get<std::int64_t>();
      if (eng) c.engineio = eng->get<bool>();
      if (cnt) c.count = cnt->get<std::uint64_t>();
      s.cookies.push_back(std::move(c));
    }
  }
  if (http) {
    std::size_t i = 0;
    for (const auto& hj : *http) {
      const std::string where = "session.http[" + std::to_string(i++) + "]";
      if (!hj.is_object()) return fail(errc::bad_recording, where + ": expected an object");
      const Fields hf(hj, where);
      SIO_TRY_FIELD(method, hf.get("method", true, VT::string));
      SIO_TRY_FIELD(hurl, hf.get("url", true, VT::string));
      SIO_TRY_FIELD(status, hf.get("status", false, VT::number_integer));
      SIO_TRY_FIELD(t, hf.get("t_us", false, VT::number_integer));
      SIO_TRY_FIELD(dur, hf.get("duration_us", false, VT::number_integer));
      SIO_TRY_FIELD(rt, hf.get("resource_type", false, VT::string));
      SIO_TRY_FIELD(mt, hf.get("mime_type", false, VT::string));
      SIO_TRY_FIELD(rh, hf.get("request_headers", false, VT::array, VT::object));
      SIO_TRY_FIELD(body, hf.get("request_body", false, VT::string));
      HttpExchange x;
      x.method = method->get<std::string>();
      x.url = hurl->get<std::string>();
      if (status) x.status = status->get<int>();
      if (t) x.t_us = t->get<std::int64_t>();
      if (dur) x.duration_us = dur->get<std::int64_t>();
      if (rt) x.resource_type = rt->get<std::string>();
      if (mt) x.mime_type = mt->get<std::string>();
      auto p = read_pairs(rh, where + ".request_headers");
      if (!p) return fail(std::move(p).error());
      x.request_headers = std::move(*p);
      if (body) x.request_body = body->get<std::string>();
      s.http.push_back(std::move(x));
    }
  }
  std::size_t i = 0;
  for (const auto& mj : *messages) {
    const std::string where = "session.messages[" + std::to_string(i++) + "]";
    if (!mj.is_object()) return fail(errc::bad_recording, where + ": expected an object");
    const Fields mf(mj, where);
    SIO_TRY_FIELD(t, mf.get("t_us", true, VT::number_integer));
    SIO_TRY_FIELD(dir, mf.get("dir", true, VT::string));
    SIO_TRY_FIELD(type, mf.get("type", true, VT::string));
    SIO_TRY_FIELD(nsp, mf.get("nsp", false, VT::string));
    SIO_TRY_FIELD(ack, mf.get("ackId", false, VT::number_integer));
    SIO_TRY_FIELD(att, mf.get("attachments", false, VT::number_integer));
    SIO_TRY_FIELD(tr, mf.get("transport", false, VT::string));
    Message m;
    m.t_us = t->get<std::int64_t>();
    if (*dir == "client->server")
      m.dir = Direction::client_to_server;
    else if (*dir == "server->client")
      m.dir = Direction::server_to_client;
    else
      return fail(errc::bad_recording,
                  where + ".dir: expected \"client->server\" or \"server->client\"");
    const auto pt = sock::packet_type_from_string(type->get<std::string>());
    if (!pt) return fail(errc::bad_recording, where + ".type: unknown packet type " + type->dump());
    m.type = *pt;
    if (nsp) m.nsp = nsp->get<std::string>();
    if (ack) m.ack_id = ack->get<std::uint64_t>();
    if (att) m.attachments = att->get<std::size_t>();
    if (tr) m.transport = *tr == "websocket" ? Transport::websocket : Transport::polling;
    if (const auto it = mj.find("event"); it != mj.end()) {
      if (!it->is_string() && !it->is_number())
        return fail(errc::bad_recording, where + ".event: expected a string or a number");
      m.event = *it;
    }
    if (const auto it = mj.find("args"); it != mj.end()) {
      if (!it->is_array()) return fail(errc::bad_recording, where + ".args: expected an array");
      m.args = *it;
    }
    if (const auto it = mj.find("data"); it != mj.end()) m.data = *it;
    s.messages.push_back(std::move(m));
  }
  return s;
}

std::string json_parse_error_text(const Json::exception& e) {
  std::string_view what = e.what();
  if (const auto close = what.find("] ");
      what.starts_with("[json.exception.") && close != std::string_view::npos)
    what.remove_prefix(close + 2);
  if (const auto colon = what.find(": ");
      what.starts_with("parse error") && colon != std::string_view::npos)
    what.remove_prefix(colon + 2);
  static constexpr char hex[] = "0123456789abcdef";
  std::string text;
  for (const char c : what) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      text += c;
    } else {
      text += "\\x";
      text += hex[u >> 4];
      text += hex[u & 0xf];
    }
  }
  return text;
}

std::size_t json_parse_error_offset(const Json::exception& e, std::string_view text) {
  if (const auto* pe = dynamic_cast<const Json::parse_error*>(&e))
    return pe->byte > 0 ? std::min<std::size_t>(pe->byte - 1, text.size()) : 0;
  // out_of_range.406: "number overflow parsing '1e999'"
  const std::string_view what = e.what();
  const auto open = what.find("parsing '");
  if (open == std::string_view::npos || !what.ends_with('\'')) return 0;
  const std::string_view number =
      what.substr(open + 9, what.size() - (open + 9) - 1); // between the quotes
  const auto at = number.empty() ? std::string_view::npos : text.find(number);
  return at == std::string_view::npos ? 0 : at;
}

Result<Recording> read_recording(std::string_view text, const std::string& name) {
  Recording rec;
  std::size_t line_no = 0;
  bool header_seen = false;
  bool trailer_seen = false;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::string at = name + ": line " + std::to_string(line_no);
    if (const auto deep = find_json_too_deep(line))
      return fail(errc::bad_recording, at + ": column " + std::to_string(*deep + 1) +
                                           ": JSON nested deeper than " +
                                           std::to_string(max_json_depth) + " levels");
    Json j;
    try {
      j = Json::parse(line);
    } catch (const Json::exception& e) { // parse_error, and out_of_range for "1e999"
      return fail(errc::bad_recording, at + ": column " +
                                           std::to_string(json_parse_error_offset(e, line) + 1) +
                                           ": not valid JSON (" + json_parse_error_text(e) + ")");
    }
    if (!j.is_object()) return fail(errc::bad_recording, at + ": expected a JSON object");
    if (!header_seen) {
      if (string_or_empty(j, "format") != "sioreplay-recording")
        return fail(errc::bad_recording, at + ": not a sioreplay recording (the first line must "
                                              "have \"format\":\"sioreplay-recording\")");
      const auto v = j.find("version");
      if (v == j.end() || !v->is_number_integer() || v->get<int>() != recording_version)
        return fail(errc::bad_recording, at + ": recording version " +
                                             (v == j.end() ? std::string("(missing)") : v->dump()) +
                                             " is not supported (this build reads version " +
                                             std::to_string(recording_version) + ")");
      if (const auto src = j.find("source"); src != j.end() && src->is_array())
        for (const auto& s : *src)
          if (s.is_string()) rec.sources.push_back(s.get<std::string>());
      header_seen = true;
      continue;
    }
    if (trailer_seen) return fail(errc::bad_recording, at + ": text after the diagnostics line");
    const std::string kind = string_or_empty(j, "kind");
    if (kind == "diagnostics") {
      trailer_seen = true;
      if (const auto items = j.find("items"); items != j.end() && items->is_array())
        for (const auto& it : *items)
          if (it.is_object())
            rec.diagnostics.push_back({string_or_empty(it, "kind"), string_or_empty(it, "where"),
                                       string_or_empty(it, "what"), string_or_empty(it, "sid")});
      continue;
    }
    if (kind != "session")
      return fail(errc::bad_recording, at + ": unknown line kind \"" + kind + "\"");
    auto s = session_from_json(j);
    if (!s) return fail(std::move(s).error().within(at));
    rec.sessions.push_back(std::move(*s));
  }
  if (!header_seen) return fail(errc::empty_input, name + ": the recording is empty");
  return rec;
}

} // namespace sio
