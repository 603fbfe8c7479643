#include "sio/recorder/har_reader.hpp"

#include "sio/common/base64.hpp"
#include "sio/common/cookie.hpp"
#include "sio/common/json_stream.hpp"
#include "sio/common/url.hpp"
#include "traffic.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>

namespace sio::recorder {
namespace {

using detail::Classified;
using detail::Exchange;
using detail::find_header;
using detail::Header;
using Token = JsonReader::Token;

struct WsFrame {
  bool send = false;
  bool error = false;
  double time = 0;
  int opcode = 0;
  std::string data;
};

/// One HAR entry: the exchange plus what only a HAR has.
struct Entry : Exchange {
  std::size_t index = 0;
  std::uint64_t offset = 0;
  std::string started;
  std::string error;
  bool has_ws_messages = false;
  std::vector<WsFrame> frames;
};

/// A JSON path built only when an error needs it: each level lives on the parser's stack and
/// points at its parent ("$.log.entries[3].request.url").
struct Path {
  const Path* parent = nullptr;
  std::string_view key; ///< member name, or empty for an array index
  std::size_t index = 0;

  Path(const char* root) : key(root) {}
  Path(const Path& p, std::string_view k) : parent(&p), key(k) {}
  Path(const Path& p, std::size_t i) : parent(&p), index(i) {}

  [[nodiscard]] std::string str() const {
    if (parent == nullptr) return std::string(key);
    std::string s = parent->str();
    if (key.empty()) return s + "[" + std::to_string(index) + "]";
    return s + "." + std::string(key);
  }
};

Path sub_path(const Path& parent, std::string_view key) {
  return Path(parent, key);
}
Path index_path(const Path& parent, std::size_t i) {
  return Path(parent, i);
}

class HarParser {
public:
  HarParser(InputFile& file, SessionBuilder& builder, const HarOptions& options, HarStats& stats)
      : file_(file), bom_(file.data().substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0),
        reader_(file.data().substr(bom_)), builder_(builder), stats_(stats),
        traffic_(builder, file.path(), options.path,
                 [this](const Exchange& x, std::string_view rest) {
                   return where(static_cast<const Entry&>(x), rest);
                 }) {}

  Status run();

private:
  // ---- errors -------------------------------------------------------------------------------
  /// "file:line:col" for a byte offset (computed only when an error is reported).
  std::string place(std::uint64_t json_offset) const {
    const std::uint64_t offset = json_offset + bom_;
    const std::string_view d = file_.data();
    const std::size_t end = std::min<std::size_t>(offset, d.size());
    std::size_t line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < end; ++i)
      if (d[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    return file_.path() + ":" + std::to_string(line) + ":" + std::to_string(end - line_start + 1);
  }
  Failure json_error() const {
    const Error& e = reader_.error();
    return fail(Error{e.code, place(e.offset) + ": " + e.context, e.offset + bom_});
  }
  Failure har_error(const Path& path, const std::string& what) const {
    const auto off = reader_.token_offset();
    return fail(Error{errc::bad_har, place(off) + ": " + path.str() + ": " + what, off + bom_});
  }
  Failure type_error(const Path& path, std::string_view want, Token got) const {
    if (got == Token::error) return json_error();
    return har_error(path, "expected " + std::string(want) + ", got " +
                               std::string(JsonReader::describe(got)));
  }

  // ---- generic walkers ----------------------------------------------------------------------
  Status skip(Token t) {
    if (t == Token::error) return json_error();
    if ((t == Token::begin_object || t == Token::begin_array) && !reader_.skip())
      return json_error();
    return ok_status();
  }

  /// Calls f(key, first token of the value) for each member; f must consume the value.
  template <class F> Status members(Token t, const Path& path, F&& f) {
    if (t != Token::begin_object) return type_error(path, "an object", t);
    std::string key;
    for (;;) {
      const Token k = reader_.next();
      if (k == Token::end_object) return ok_status();
      if (k == Token::error) return json_error();
      key.assign(reader_.text());
      const Token v = reader_.next();
      if (v == Token::error) return json_error();
      Status s = f(std::string_view(key), v);
      if (!s) return s;
    }
  }

  /// Calls f(index, first token of the element) for each element; f must consume it.
  template <class F> Status elements(Token t, const Path& path, F&& f) {
    if (t != Token::begin_array) return type_error(path, "an array", t);
    for (std::size_t i = 0;; ++i) {
      const Token e = reader_.next();
      if (e == Token::end_array) return ok_status();
      if (e == Token::error) return json_error();
      Status s = f(i, e);
      if (!s) return s;
    }
  }

  /// A string field; null leaves `out` unchanged.
  Status string_field(Token t, const Path& path, std::string& out) {
    if (t == Token::null) return ok_status();
    if (t != Token::string) return type_error(path, "a string", t);
    out.assign(reader_.text());
    return ok_status();
  }

  /// A number field; null leaves `out` unchanged.
  Status number_field(Token t, const Path& path, double& out) {
    if (t == Token::null) return ok_status();
    if (t != Token::number) return type_error(path, "a number", t);
    const auto text = reader_.text();
    double v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || ptr != text.data() + text.size())
      return har_error(path, "number out of range: " + std::string(text));
    out = v;
    return ok_status();
  }

  /// [{name, value}, ...] (headers, cookies, queryString).
  Status name_values(Token t, const Path& path, std::vector<Header>& out) {
    return elements(t, path, [&](std::size_t i, Token e) {
      Header h;
      const Path ep = index_path(path, i);
      Status s = members(e, ep, [&](std::string_view key, Token v) -> Status {
        if (key == "name") return string_field(v, sub_path(ep, key), h.name);
        if (key == "value") return string_field(v, sub_path(ep, key), h.value);
        return skip(v);
      });
      if (!s) return s;
      out.push_back(std::move(h));
      return ok_status();
    });
  }

  // ---- HAR structure ------------------------------------------------------------------------
  Status parse_log(Token t);
  Status parse_entry(std::size_t index, Token t);
  Status parse_request(Token t, const Path& path, Entry& e);
  Status parse_response(Token t, const Path& path, Entry& e);
  Status parse_timings(Token t, const Path& path, Entry& e);
  Status parse_ws_messages(Token t, const Path& path, Entry& e);

  // ---- turning entries into traffic ---------------------------------------------------------
  Status process(Entry& e);
  void process_websocket(Entry& e, const Classified& c);
  std::string entry_path(const Entry& e) const {
    return "$.log.entries[" + std::to_string(e.index) + "]";
  }
  std::string where(const Entry& e, std::string_view rest = {}) const {
    return file_.path() + ": " + entry_path(e) + std::string(rest);
  }

  InputFile& file_;
  std::size_t bom_; ///< bytes of a UTF-8 byte order mark before the JSON (0 or 3)
  JsonReader reader_;
  SessionBuilder& builder_;
  HarStats& stats_;
  bool saw_entries_ = false;
  detail::Traffic traffic_;
};

Status HarParser::run() {
  const Token t = reader_.next();
  if (t == Token::error) return json_error();
  if (t != Token::begin_object)
    return har_error("$", "expected a JSON object (a HAR file starts with '{'), got " +
                              std::string(JsonReader::describe(t)));
  bool saw_log = false;
  Status s = members(t, "$", [&](std::string_view key, Token v) -> Status {
    if (key == "log") {
      saw_log = true;
      return parse_log(v);
    }
    return skip(v);
  });
  if (!s) return s;
  const Token end = reader_.next();
  if (end == Token::error) return json_error();
  if (!saw_log) return har_error("$.log", "missing: this JSON is not a HAR file");
  if (!saw_entries_) return har_error("$.log.entries", "missing: this HAR has no entries array");
  return ok_status();
}

Status HarParser::parse_log(Token t) {
  return members(t, "$.log", [&](std::string_view key, Token v) -> Status {
    if (key == "creator") {
      std::string name, version;
      Status s = members(v, "$.log.creator", [&](std::string_view k, Token cv) -> Status {
        if (k == "name") return string_field(cv, "$.log.creator.name", name);
        if (k == "version") return string_field(cv, "$.log.creator.version", version);
        return skip(cv);
      });
      if (!s) return s;
      stats_.creator = version.empty() ? name : name + " " + version;
      return ok_status();
    }
    if (key == "entries") {
      saw_entries_ = true;
      return elements(v, "$.log.entries",
                      [&](std::size_t i, Token e) { return parse_entry(i, e); });
    }
    return skip(v);
  });
}

Status HarParser::parse_entry(std::size_t index, Token t) {
  Entry e;
  e.index = index;
  e.offset = reader_.token_offset();
  static const Path root("$"), log(root, "log"), entries(log, "entries");
  const Path path = index_path(entries, index);
  bool saw_request = false;
  bool saw_started = false;
  Status s = members(t, path, [&](std::string_view key, Token v) -> Status {
    if (key == "startedDateTime") {
      saw_started = true;
      return string_field(v, sub_path(path, key), e.started);
    }
    if (key == "time") return number_field(v, sub_path(path, key), e.time_ms);
    if (key == "request") {
      saw_request = true;
      return parse_request(v, sub_path(path, key), e);
    }
    if (key == "response") return parse_response(v, sub_path(path, key), e);
    if (key == "timings") return parse_timings(v, sub_path(path, key), e);
    if (key == "_resourceType") return string_field(v, sub_path(path, key), e.resource_type);
    if (key == "pageref") return string_field(v, sub_path(path, key), e.pageref);
    if (key == "serverIPAddress") return string_field(v, sub_path(path, key), e.server_ip);
    if (key == "_webSocketMessages") {
      e.has_ws_messages = true;
      return parse_ws_messages(v, sub_path(path, key), e);
    }
    return skip(v);
  });
  if (!s) return s;
  if (!saw_request) return har_error(Path(path, "request"), "missing");
  if (!saw_started) return har_error(Path(path, "startedDateTime"), "missing");
  ++stats_.entries;
  s = process(e);
  file_.release_before(reader_.offset() + bom_);
  return s;
}

Status HarParser::parse_request(Token t, const Path& path, Entry& e) {
  bool saw_url = false;
  Status s = members(t, path, [&](std::string_view key, Token v) -> Status {
    if (key == "method") return string_field(v, sub_path(path, key), e.method);
    if (key == "url") {
      saw_url = true;
      return string_field(v, sub_path(path, key), e.url);
    }
    if (key == "headers") return name_values(v, sub_path(path, key), e.req_headers);
    if (key == "cookies") return name_values(v, sub_path(path, key), e.req_cookies);
    if (key == "postData") {
      if (v == Token::null) return ok_status();
      e.has_post = true;
      const Path pp = sub_path(path, key);
      return members(v, pp, [&](std::string_view k, Token pv) -> Status {
        if (k == "text") return string_field(pv, sub_path(pp, k), e.post_text);
        if (k == "mimeType") return string_field(pv, sub_path(pp, k), e.post_mime);
        if (k == "encoding") return string_field(pv, sub_path(pp, k), e.post_encoding);
        return skip(pv);
      });
    }
    return skip(v);
  });
  if (!s) return s;
  if (!saw_url) return har_error(Path(path, "url"), "missing");
  return ok_status();
}

Status HarParser::parse_response(Token t, const Path& path, Entry& e) {
  return members(t, path, [&](std::string_view key, Token v) -> Status {
    if (key == "status") {
      double st = 0;
      Status s = number_field(v, sub_path(path, key), st);
      if (!s) return s;
      if (st < 0 || st > 999 || std::floor(st) != st)
        return har_error(sub_path(path, key), "not an HTTP status: " + std::string(reader_.text()));
      e.status = static_cast<int>(st);
      return ok_status();
    }
    if (key == "headers") return name_values(v, sub_path(path, key), e.resp_headers);
    if (key == "cookies") return name_values(v, sub_path(path, key), e.resp_cookies);
    if (key == "_error")
      return v == Token::string ? string_field(v, sub_path(path, key), e.error) : skip(v);
    if (key == "content") {
      const Path cp = sub_path(path, key);
      return members(v, cp, [&](std::string_view k, Token cv) -> Status {
        if (k == "text") {
          if (cv == Token::string) e.has_content_text = true;
          return string_field(cv, sub_path(cp, k), e.content_text);
        }
        if (k == "mimeType") return string_field(cv, sub_path(cp, k), e.content_mime);
        if (k == "encoding") return string_field(cv, sub_path(cp, k), e.content_encoding);
        return skip(cv);
      });
    }
    return skip(v);
  });
}

Status HarParser::parse_timings(Token t, const Path& path, Entry& e) {
  e.has_timings = true;
  return members(t, path, [&](std::string_view key, Token v) -> Status {
    if (key == "blocked") return number_field(v, sub_path(path, key), e.blocked);
    if (key == "dns") return number_field(v, sub_path(path, key), e.dns);
    if (key == "connect") return number_field(v, sub_path(path, key), e.connect);
    if (key == "send") return number_field(v, sub_path(path, key), e.send);
    if (key == "wait") return number_field(v, sub_path(path, key), e.wait);
    return skip(v);
  });
}

Status HarParser::parse_ws_messages(Token t, const Path& path, Entry& e) {
  return elements(t, path, [&](std::size_t i, Token m) -> Status {
    WsFrame f;
    const Path mp = index_path(path, i);
    bool saw_type = false, saw_time = false, saw_opcode = false, saw_data = false;
    Status s = members(m, mp, [&](std::string_view key, Token v) -> Status {
      if (key == "type") {
        saw_type = true;
        std::string type;
        Status ts = string_field(v, sub_path(mp, key), type);
        if (!ts) return ts;
        if (type == "send")
          f.send = true;
        else if (type == "receive")
          f.send = false;
        else if (type == "error")
          f.error = true;
        else
          return har_error(sub_path(mp, key),
                           "expected \"send\", \"receive\" or \"error\", got \"" + type + "\"");
        return ok_status();
      }
      if (key == "time") {
        saw_time = true;
        return number_field(v, sub_path(mp, key), f.time);
      }
      if (key == "opcode") {
        saw_opcode = true;
        double op = 0;
        Status os = number_field(v, sub_path(mp, key), op);
        if (!os) return os;
        f.opcode = static_cast<int>(op);
        return ok_status();
      }
      if (key == "data") {
        saw_data = true;
        return string_field(v, sub_path(mp, key), f.data);
      }
      return skip(v);
    });
    if (!s) return s;
    if (f.error || f.opcode == -1) {
      f.error = true;
    } else if (!saw_type || !saw_time || !saw_opcode || !saw_data) {
      return har_error(mp, std::string("missing field \"") +
                               (!saw_type     ? "type"
                                : !saw_time   ? "time"
                                : !saw_opcode ? "opcode"
                                              : "data") +
                               "\"");
    }
    e.frames.push_back(std::move(f));
    return ok_status();
  });
}

// ---- entries to traffic ---------------------------------------------------------------------

Status HarParser::process(Entry& e) {
  const auto started = parse_iso8601_us(e.started);
  if (!started)
    return fail(Error{errc::bad_har,
                      place(e.offset) + ": " + entry_path(e) +
                          ".startedDateTime: " + started.error().context,
                      e.offset + bom_});
  e.started_us = *started;
  const Classified c = traffic_.classify(e, e.has_ws_messages);
  switch (c.kind) {
  case Classified::Kind::page:
    traffic_.page(e);
    break;
  case Classified::Kind::polling:
    traffic_.polling(e, c);
    break;
  case Classified::Kind::websocket:
    process_websocket(e, c);
    break;
  case Classified::Kind::skipped:
    break;
  }
  const auto& t = traffic_.stats();
  stats_.engineio_entries = t.engineio;
  stats_.websocket_entries = t.websocket;
  stats_.websocket_frames = t.frames;
  stats_.page_entries = t.pages;
  return ok_status();
}

void HarParser::process_websocket(Entry& e, const Classified& c) {
  std::string sid = c.sid;
  if (sid.empty()) {
    // A websocket-only session: the server's first text frame is the open packet.
    for (const auto& f : e.frames) {
      if (f.error || f.send || f.opcode != 1 || f.data.empty() || f.data[0] != '0') continue;
      sid = detail::Traffic::sid_of_open_message(f.data);
      break;
    }
    if (sid.empty()) {
      builder_.diagnose(
          "no_sid", where(e),
          "websocket entry with no sid in its URL and no Engine.IO open packet in its "
          "frames: " +
              std::to_string(e.frames.size()) + " frame(s) skipped");
      return;
    }
  }
  SessionDraft& d = traffic_.open_websocket(e, c, sid);
  if (!e.has_ws_messages) {
    builder_.diagnose("missing_ws_frames", where(e),
                      "websocket entry without _webSocketMessages: this HAR producer (" +
                          (stats_.creator.empty() ? std::string("unknown") : stats_.creator) +
                          ") does not export websocket frames, so the messages sent over this "
                          "websocket are missing from the recording",
                      sid);
    return;
  }
  const auto to_us = [](double t) {
    // DevTools writes epoch seconds; Playwright writes epoch milliseconds.
    return t > 1e11 ? std::llround(t * 1000.0) : std::llround(t * 1e6);
  };
  const std::uint32_t origin =
      builder_.add_origin(where(e, "._webSocketMessages"), /*indexed=*/true);
  for (std::size_t i = 0; i < e.frames.size(); ++i) {
    WsFrame& f = e.frames[i];
    const auto item = static_cast<std::uint32_t>(i);
    if (f.error) {
      builder_.diagnose("ws_frame_error", builder_.where(origin, item),
                        "the browser reported a websocket error: " + f.data.substr(0, 200), sid);
      continue;
    }
    if (f.opcode != 1 && f.opcode != 2) continue; // control frames carry no Engine.IO data
    const Direction dir = f.send ? Direction::client_to_server : Direction::server_to_client;
    if (f.opcode == 1) {
      traffic_.ws_message(d, c.eio, dir, 1, f.data, to_us(f.time), origin, item);
    } else {
      auto bytes = base64_decode(f.data);
      if (!bytes) {
        builder_.diagnose("bad_base64", builder_.where(origin, item) + ".data",
                          bytes.error().message(), sid);
        continue;
      }
      traffic_.ws_message(d, c.eio, dir, 2, *bytes, to_us(f.time), origin, item);
    }
    f.data.clear();
    f.data.shrink_to_fit();
  }
}

} // namespace

Result<std::int64_t> parse_iso8601_us(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)
  const auto bad = [&] {
    return fail(errc::bad_har, "not an ISO-8601 date-time: \"" + std::string(s) + "\"");
  };
  const auto num = [&](std::size_t at, std::size_t len, int& out) {
    if (at + len > s.size()) return false;
    int v = 0;
    for (std::size_t i = at; i < at + len; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    out = v;
    return true;
  };
  int y, mo, d, h, mi, sec;
  if (!num(0, 4, y) || s.size() < 19 || s[4] != '-' || !num(5, 2, mo) || s[7] != '-' ||
      !num(8, 2, d) || (s[10] != 'T' && s[10] != ' ') || !num(11, 2, h) || s[13] != ':' ||
      !num(14, 2, mi) || s[16] != ':' || !num(17, 2, sec))
    return bad();
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return bad();
  std::size_t i = 19;
  std::int64_t frac_us = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::int64_t scale = 100000;
    const std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      frac_us += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return bad();
  }
  std::int64_t offset_s = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    const bool colon = i + 3 < s.size() && s[i + 3] == ':';
    if (!num(i + 1, 2, oh) || !num(i + (colon ? 4 : 3), 2, om)) return bad();
    offset_s = (oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
    i += colon ? 6 : 5;
  } else if (i != s.size()) {
    return bad();
  }
  if (i != s.size()) return bad();
  // Days from the civil date (proleptic Gregorian), after H. Hinnant's well-known algorithm.
  const int yy = y - (mo <= 2 ? 1 : 0);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const int yoe = yy - era * 400;
  const int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
  const std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  return secs * 1000000 + frac_us;
}

Status read_har(InputFile& file, SessionBuilder& builder, const HarOptions& options,
                HarStats& stats) {
  HarParser parser(file, builder, options, stats);
  return parser.run();
}

} // namespace sio::recorder
