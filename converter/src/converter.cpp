#include "sio/converter/converter.hpp"

#include "sio/common/secrets.hpp"
#include "sio/common/session_json.hpp"
#include "sio/common/url.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace sio::converter {
namespace {

// ---- the scenario model ---------------------------------------------------------------------

/// One flow step of an Artillery socketio scenario.
struct Step {
  enum class Kind : std::uint8_t { emit, think, loop, http };
  Kind kind = Kind::emit;
  // emit
  std::string nsp = "/";
  std::string channel;
  Json args = Json::array();              ///< arguments after the event name
  bool ack = false;                       ///< wants an acknowledgement
  std::optional<Json> ack_args;           ///< --match-acks: the recorded ack payload
  std::optional<std::string> response_on; ///< --responses: the push the client waited for
  std::optional<Json> response_args;
  // think
  std::int64_t think_ms = 0;
  // loop
  std::size_t count = 0;
  std::vector<Step> body;
  // http
  std::string method;
  std::string url;
  std::optional<std::string> http_body;
};

struct Scenario {
  std::string name;
  std::size_t weight = 1;
  std::vector<Step> steps;
  std::string key; ///< rendered flow, to merge identical sessions
};

/// Variables that carry per-session values through the payload CSV.
struct Payload {
  std::vector<std::string> fields;                      ///< in first-seen order
  std::vector<std::map<std::string, std::string>> rows; ///< one per session
  std::map<std::string, std::string> why;               ///< field -> where it came from

  void set(std::size_t row, const std::string& field, const std::string& value,
           const std::string& reason) {
    if (std::find(fields.begin(), fields.end(), field) == fields.end()) {
      fields.push_back(field);
      why[field] = reason;
    }
    rows.at(row)[field] = value;
  }
};

// ---- helpers --------------------------------------------------------------------------------

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return out;
}

/// A variable name Artillery's templates accept: [A-Za-z0-9_], not starting with a digit.
std::string var_name(std::string_view prefix, std::string_view name) {
  std::string out(prefix);
  for (const char c : name) out += (std::isalnum(static_cast<unsigned char>(c)) != 0) ? c : '_';
  return out;
}

/// A scalar as text for the CSV / Cookie header.
std::string scalar_text(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  return dump_json(v);
}

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos &&
      (v.empty() || (v.front() != ' ' && v.back() != ' ')))
    return v;
  std::string out = "\"";
  for (const char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string format_number(const Json& v) {
  if (v.is_number_integer()) return v.dump();
  const double d = v.get<double>();
  if (!std::isfinite(d)) return "null";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, d);
  std::string s(buf, r.ptr);
  // YAML needs a '.' or an exponent to read a float; "5" would come back as an integer.
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

bool plain_key(std::string_view k) {
  if (k.empty() || !(std::isalpha(static_cast<unsigned char>(k[0])) != 0 || k[0] == '_'))
    return false;
  for (const char c : k)
    if (!(std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.'))
      return false;
  const std::string l = lower(k);
  return l != "true" && l != "false" && l != "null" && l != "yes" && l != "no" && l != "on" &&
         l != "off" && l != "y" && l != "n" && l != "~";
}

void emit_key(YAML::Emitter& out, std::string_view k) {
  out << YAML::Key;
  if (plain_key(k))
    out << std::string(k);
  else
    out << YAML::DoubleQuoted << std::string(k);
}

/// Writes a JSON value as YAML: strings always double-quoted (never re-typed by a YAML reader),
/// numbers in their shortest exact form, short scalar arrays in flow style.
void emit_json(YAML::Emitter& out, const Json& v) {
  switch (v.type()) {
  case Json::value_t::null:
    out << YAML::Null;
    break;
  case Json::value_t::boolean:
    out << (v.get<bool>() ? "true" : "false");
    break;
  case Json::value_t::number_integer:
  case Json::value_t::number_unsigned:
  case Json::value_t::number_float:
    out << format_number(v);
    break;
  case Json::value_t::string:
    out << YAML::DoubleQuoted << v.get<std::string>();
    break;
  case Json::value_t::array: {
    bool scalars = v.size() <= 8;
    for (const auto& e : v) scalars = scalars && !e.is_structured();
    if (scalars) out << YAML::Flow;
    out << YAML::BeginSeq;
    for (const auto& e : v) emit_json(out, e);
    out << YAML::EndSeq;
    break;
  }
  case Json::value_t::object:
    if (v.empty()) {
      out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
      break;
    }
    out << YAML::BeginMap;
    for (const auto& [k, e] : v.items()) {
      emit_key(out, k);
      out << YAML::Value;
      emit_json(out, e);
    }
    out << YAML::EndMap;
    break;
  default:
    out << YAML::Null;
    break;
  }
}

void emit_str(YAML::Emitter& out, std::string_view key, const std::string& value) {
  emit_key(out, key);
  out << YAML::Value << YAML::DoubleQuoted << value;
}

/// True when Artillery's array form can carry these arguments: its validation accepts
/// non-empty strings only.
bool array_form_ok(const Json& args) {
  for (const auto& a : args)
    if (!a.is_string() || a.get_ref<const std::string&>().empty()) return false;
  return true;
}

/// Renders the steps of a flow (also used as the key that merges identical sessions).
void emit_steps(YAML::Emitter& out, const std::vector<Step>& steps) {
  out << YAML::BeginSeq;
  for (const Step& s : steps) {
    out << YAML::BeginMap;
    switch (s.kind) {
    case Step::Kind::think: {
      const ThinkValue t = format_think(s.think_ms);
      emit_key(out, "think");
      out << YAML::Value;
      if (t.is_integer)
        out << t.text;
      else
        out << YAML::DoubleQuoted << t.text;
      break;
    }
    case Step::Kind::loop:
      emit_key(out, "loop");
      out << YAML::Value;
      emit_steps(out, s.body);
      emit_key(out, "count");
      out << YAML::Value << std::to_string(s.count);
      break;
    case Step::Kind::http:
      emit_key(out, lower(s.method));
      out << YAML::Value << YAML::BeginMap;
      emit_str(out, "url", s.url);
      if (s.http_body) emit_str(out, "body", *s.http_body);
      out << YAML::EndMap;
      break;
    case Step::Kind::emit: {
      emit_key(out, "emit");
      out << YAML::Value;
      if (array_form_ok(s.args)) {
        // The array form: ["event", "arg1", ...] (Artillery allows non-empty strings only).
        out << YAML::Flow << YAML::BeginSeq << YAML::DoubleQuoted << s.channel;
        for (const auto& a : s.args) out << YAML::DoubleQuoted << a.get<std::string>();
        out << YAML::EndSeq;
      } else {
        // One non-string argument: {channel, data}.
        out << YAML::BeginMap;
        emit_str(out, "channel", s.channel);
        emit_key(out, "data");
        out << YAML::Value;
        emit_json(out, s.args.at(0));
        out << YAML::EndMap;
      }
      if (s.nsp != "/") emit_str(out, "namespace", s.nsp);
      if (s.ack) {
        emit_key(out, "acknowledge");
        out << YAML::Value;
        if (s.ack_args) {
          out << YAML::BeginMap;
          emit_key(out, "args");
          out << YAML::Value;
          emit_json(out, *s.ack_args);
          out << YAML::EndMap;
        } else {
          out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        }
      }
      if (s.response_on) {
        emit_key(out, "response");
        out << YAML::Value << YAML::BeginMap;
        emit_str(out, "on", *s.response_on);
        if (s.response_args) {
          emit_key(out, "args");
          out << YAML::Value;
          emit_json(out, *s.response_args);
        }
        out << YAML::EndMap;
      }
      break;
    }
    }
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

std::string render_steps(const std::vector<Step>& steps) {
  YAML::Emitter out;
  emit_steps(out, steps);
  return out.c_str();
}

/// Collapses runs of identical consecutive blocks (1 to 4 steps long) into loops.
std::vector<Step> collapse_loops(std::vector<Step> steps) {
  for (std::size_t len = 1; len <= 4; ++len) {
    std::vector<Step> out;
    std::size_t i = 0;
    while (i < steps.size()) {
      if (i + 2 * len <= steps.size()) {
        const std::string block =
            render_steps({steps.begin() + static_cast<std::ptrdiff_t>(i),
                          steps.begin() + static_cast<std::ptrdiff_t>(i + len)});
        std::size_t reps = 1;
        while (i + (reps + 1) * len <= steps.size() &&
               render_steps({steps.begin() + static_cast<std::ptrdiff_t>(i + reps * len),
                             steps.begin() + static_cast<std::ptrdiff_t>(i + (reps + 1) * len)}) ==
                   block)
          ++reps;
        // Worth a loop only when it repeats and holds an emit.
        bool has_emit = false;
        for (std::size_t k = i; k < i + len; ++k) has_emit |= steps[k].kind != Step::Kind::think;
        if (reps >= 2 && has_emit) {
          Step loop;
          loop.kind = Step::Kind::loop;
          loop.count = reps;
          loop.body.assign(steps.begin() + static_cast<std::ptrdiff_t>(i),
                           steps.begin() + static_cast<std::ptrdiff_t>(i + len));
          out.push_back(std::move(loop));
          i += reps * len;
          continue;
        }
      }
      out.push_back(std::move(steps[i]));
      ++i;
    }
    steps = std::move(out);
  }
  return steps;
}

std::size_t count_steps(const std::vector<Step>& steps) {
  std::size_t n = 0;
  for (const auto& s : steps) n += 1 + count_steps(s.body);
  return n;
}

std::string plural(std::size_t n, const std::string& word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

} // namespace

Result<Conversion> convert(const Recording& rec, const ConvertOptions& opt) {
  if (rec.sessions.empty())
    return fail(errc::no_socketio_traffic, "the recording holds no session to convert");
  Conversion result;
  std::vector<std::string> notes; // what was substituted or left out, for the header

  // ---- sticky cookies: known names, or named by the user, seen set or sent -------------------
  std::vector<std::string> sticky;
  std::map<std::string, std::vector<std::string>> sticky_values;
  if (!opt.no_sticky) {
    const auto add = [&](const std::string& name) {
      if (std::find(sticky.begin(), sticky.end(), name) == sticky.end()) sticky.push_back(name);
    };
    for (const auto& n : opt.sticky_cookies) add(n);
    for (const auto& s : rec.sessions)
      for (const auto& c : s.cookies)
        if (is_known_sticky_cookie(c.name)) add(c.name);
    for (const auto& name : sticky)
      for (const auto& s : rec.sessions)
        for (const auto& c : s.cookies) {
          auto& vals = sticky_values[name];
          if (c.name == name && std::find(vals.begin(), vals.end(), c.value) == vals.end())
            vals.push_back(c.value);
        }
    for (const auto& name : opt.sticky_cookies)
      if (sticky_values[name].empty())
        result.warnings.push_back("--sticky-cookie " + name + ": no such cookie in the recording");
  }
  result.sticky = sticky;

  // ---- per-session secrets into the payload --------------------------------------------------
  Payload payload;
  payload.rows.resize(rec.sessions.size());
  std::vector<std::pair<std::string, std::string>> header_templates; // scenario-level extraHeaders
  Json auth_template;                                                // scenario-level auth
  Json query_inline = Json::object();
  Json query_template = Json::object();
  std::vector<std::string> cookie_vars; // "name={{ var }}" parts after the sticky ones
  std::set<std::string> auth_mismatch;

  for (std::size_t i = 0; i < rec.sessions.size(); ++i) {
    const Session& s = rec.sessions[i];
    // CONNECT auth: the default namespace's, else the first one's.
    const Message* connect = nullptr;
    for (const auto& m : s.messages)
      if (m.dir == Direction::client_to_server && m.type == sock::PacketType::connect && m.data &&
          m.data->is_object() && (connect == nullptr || m.nsp == "/"))
        if (connect == nullptr || connect->nsp != "/") connect = &m;
    if (connect != nullptr) {
      std::set<std::string> refused;
      for (const auto& m : s.messages)
        if (m.dir == Direction::server_to_client && m.type == sock::PacketType::connect_error)
          refused.insert(m.nsp);
      for (const auto& m : s.messages)
        if (m.dir == Direction::client_to_server && m.type == sock::PacketType::connect && m.data &&
            *m.data != *connect->data && refused.count(m.nsp) == 0)
          auth_mismatch.insert(m.nsp);
      if (i == 0 || auth_template.is_null()) auth_template = Json::object();
      for (const auto& [k, v] : connect->data->items()) {
        const std::string var = var_name("auth_", k);
        payload.set(i, var, scalar_text(v), "CONNECT auth \"" + k + "\"");
        auth_template[k] = "{{ " + var + " }}";
      }
    }
    // Request headers that carry credentials.
    for (const auto& [name, value] : s.headers) {
      if (!looks_secret(name) && lower(name) != "authorization") {
        if (i == 0) header_templates.emplace_back(name, value);
        continue;
      }
      const std::string var = var_name("header_", lower(name));
      payload.set(i, var, value, "request header " + name);
      if (i == 0) header_templates.emplace_back(name, "{{ " + var + " }}");
    }
    // Cookies the browser sent that no Engine.IO response of this session set (those are
    // learned live), other than the sticky ones and Engine.IO's own "io".
    std::set<std::string> live;
    for (const auto& c : s.cookies)
      if (c.kind == CookieRecord::Kind::set && c.engineio) live.insert(c.name);
    for (const auto& c : s.cookies) {
      if (c.kind != CookieRecord::Kind::sent || !c.engineio || live.count(c.name) != 0 ||
          c.name == "io" || std::find(sticky.begin(), sticky.end(), c.name) != sticky.end())
        continue;
      const std::string var = var_name("cookie_", c.name);
      const bool first =
          std::find(payload.fields.begin(), payload.fields.end(), var) == payload.fields.end();
      payload.set(i, var, c.value, "cookie " + c.name);
      if (first) cookie_vars.push_back(c.name + "={{ " + var + " }}");
    }
    // Query parameters: token-like ones are secrets.
    for (const auto& [k, v] : s.query) {
      if (looks_secret(k)) {
        const std::string var = var_name("query_", k);
        payload.set(i, var, v, "query parameter " + k);
        query_template[k] = "{{ " + var + " }}";
      } else if (i == 0) {
        query_inline[k] = v;
      }
    }
  }
  if (!auth_mismatch.empty()) {
    std::string list;
    for (const auto& n : auth_mismatch) list += (list.empty() ? "" : ", ") + n;
    result.warnings.push_back("namespaces " + list +
                              " connected with another auth payload than the default namespace; "
                              "Artillery sends one auth for all namespaces of a user");
  }

  // ---- flows ----------------------------------------------------------------------------------
  std::size_t left_disconnect = 0, left_client_ack = 0, left_refused = 0, binary_args = 0,
              numeric_events = 0;
  std::set<std::string> refused_all;
  std::map<std::string, std::string> arg_vars;          // argument JSON -> variable name
  std::vector<std::pair<std::string, Json>> arg_values; // variable name -> value, in order
  std::vector<Scenario> scenarios;
  std::map<std::string, std::size_t> by_key;
  for (std::size_t si = 0; si < rec.sessions.size(); ++si) {
    const Session& s = rec.sessions[si];
    std::set<std::string> refused;
    for (const auto& m : s.messages)
      if (m.dir == Direction::server_to_client && m.type == sock::PacketType::connect_error)
        refused.insert(m.nsp);
    refused_all.insert(refused.begin(), refused.end());
    std::vector<Step> steps;
    if (opt.http) {
      for (const auto& h : s.http) {
        const std::string method = lower(h.method);
        if (method != "get" && method != "post" && method != "put" && method != "patch" &&
            method != "delete" && method != "head" && method != "options")
          continue;
        Step st;
        st.kind = Step::Kind::http;
        st.method = method;
        st.url = h.url;
        if (h.request_body && method != "get") st.http_body = *h.request_body;
        steps.push_back(std::move(st));
      }
    }
    std::optional<std::int64_t> last_t;
    const auto& ms = s.messages;
    for (std::size_t k = 0; k < ms.size(); ++k) {
      const Message& m = ms[k];
      if (m.dir != Direction::client_to_server) continue;
      switch (m.type) {
      case sock::PacketType::connect:
        if (!last_t) last_t = m.t_us;
        continue;
      case sock::PacketType::disconnect:
        ++left_disconnect;
        continue;
      case sock::PacketType::ack:
      case sock::PacketType::binary_ack:
        ++left_client_ack;
        continue;
      case sock::PacketType::connect_error:
        continue;
      case sock::PacketType::event:
      case sock::PacketType::binary_event:
        break;
      }
      if (refused.count(m.nsp) != 0) {
        ++left_refused;
        continue;
      }
      if (last_t) {
        const std::int64_t think = opt.think.apply((m.t_us - *last_t) / 1000);
        if (think > 0) {
          Step t;
          t.kind = Step::Kind::think;
          t.think_ms = think;
          steps.push_back(t);
        }
      }
      last_t = m.t_us;
      Step e;
      e.kind = Step::Kind::emit;
      e.nsp = m.nsp;
      if (m.event && m.event->is_string()) {
        e.channel = m.event->get<std::string>();
      } else {
        e.channel = m.event ? m.event->dump() : std::string();
        ++numeric_events;
      }
      e.args = m.args ? *m.args : Json::array();
      if (m.type == sock::PacketType::binary_event) ++binary_args;
      // Artillery's emit takes one `data` value, or an array of strings: several arguments
      // that are not all strings cannot be written as they were.
      if (!array_form_ok(e.args) && e.args.size() > 1) {
        // The array form holds non-empty strings only; a string that is exactly "{{ v }}" is
        // replaced by v's value with its type, so each other argument goes through a variable.
        for (auto& a : e.args) {
          if (a.is_string() && !a.get_ref<const std::string&>().empty()) continue;
          const std::string text = dump_json(a);
          auto it = arg_vars.find(text);
          if (it == arg_vars.end()) {
            it = arg_vars.emplace(text, "arg_" + std::to_string(arg_vars.size() + 1)).first;
            arg_values.emplace_back(it->second, a);
          }
          a = "{{ " + it->second + " }}";
        }
      }
      if (m.ack_id) {
        e.ack = true;
        if (opt.match_acks)
          for (std::size_t j = k + 1; j < ms.size(); ++j)
            if (ms[j].dir == Direction::server_to_client &&
                (ms[j].type == sock::PacketType::ack ||
                 ms[j].type == sock::PacketType::binary_ack) &&
                ms[j].nsp == m.nsp && ms[j].ack_id == m.ack_id) {
              e.ack_args = ms[j].args ? *ms[j].args : Json::array();
              break;
            }
      }
      if (opt.responses && !e.ack) {
        for (std::size_t j = k + 1; j < ms.size() && ms[j].dir == Direction::server_to_client; ++j)
          if ((ms[j].type == sock::PacketType::event ||
               ms[j].type == sock::PacketType::binary_event) &&
              ms[j].nsp == m.nsp && ms[j].event && ms[j].event->is_string()) {
            e.response_on = ms[j].event->get<std::string>();
            e.response_args = ms[j].args ? *ms[j].args : Json::array();
            break;
          }
      }
      steps.push_back(std::move(e));
    }
    if (opt.per_session) {
      const std::int64_t tail = opt.think.apply((s.duration_us - last_t.value_or(0)) / 1000);
      if (tail > 0) {
        Step t;
        t.kind = Step::Kind::think;
        t.think_ms = tail;
        steps.push_back(t);
      }
    }
    steps = collapse_loops(std::move(steps));
    if (opt.per_session) {
      Scenario sc;
      sc.name = "session-" + std::to_string(s.id);
      sc.steps = std::move(steps);
      scenarios.push_back(std::move(sc));
      continue;
    }
    if (steps.empty()) {
      result.warnings.push_back("session " + std::to_string(s.id) + " (sid " + s.sid +
                                ") has no client event to replay; left out");
      continue;
    }
    const std::string key = render_steps(steps);
    if (const auto it = by_key.find(key); it != by_key.end()) {
      ++scenarios[it->second].weight;
      continue;
    }
    by_key.emplace(key, scenarios.size());
    Scenario sc;
    sc.name = "session-" + std::to_string(s.id);
    sc.steps = std::move(steps);
    sc.key = key;
    scenarios.push_back(std::move(sc));
  }
  if (scenarios.empty())
    return fail(errc::no_socketio_traffic,
                "no session of the recording has a client event to replay");
  if (left_disconnect > 0)
    notes.push_back(plural(left_disconnect, "client DISCONNECT") +
                    " (Artillery disconnects every namespace at the end of a flow)");
  if (left_client_ack > 0)
    notes.push_back(plural(left_client_ack, "client ACK") +
                    " to server requests (Artillery cannot answer a server's ack request)");
  if (left_refused > 0) {
    std::string list;
    for (const auto& n : refused_all) list += (list.empty() ? "" : ", ") + n;
    notes.push_back(plural(left_refused, "emit") + " in refused namespace(s) " + list +
                    " (CONNECT_ERROR in the recording)");
  } else if (!refused_all.empty()) {
    std::string list;
    for (const auto& n : refused_all) list += (list.empty() ? "" : ", ") + n;
    notes.push_back("the refused namespace connect(s) " + list +
                    " (CONNECT_ERROR in the recording; Artillery would fail the user)");
  }
  if (binary_args > 0)
    result.warnings.push_back(
        plural(binary_args, "binary event") +
        ": Artillery cannot send binary from YAML, so binary values stay {\"_binary_b64\": ...} "
        "objects (sent as JSON by Artillery; sent as real binary attachments by sioreplay replay)");
  if (numeric_events > 0)
    result.warnings.push_back(plural(numeric_events, "event") +
                              " with a numeric name: Artillery sends the name as a string");

  // ---- config ---------------------------------------------------------------------------------
  const Session& first = rec.sessions.front();
  auto first_url = parse_url(first.url);
  std::string target = opt.target;
  if (target.empty()) target = first_url ? first_url->origin() : first.url;
  std::set<std::string> targets;
  for (const auto& s : rec.sessions)
    if (auto u = parse_url(s.url)) targets.insert(u->origin());
  if (opt.target.empty() && targets.size() > 1)
    result.warnings.push_back("sessions went to " + std::to_string(targets.size()) +
                              " targets; using the first, " + target + " (override with --target)");

  std::int64_t first_start = rec.sessions.front().started_us, last_start = first_start;
  for (const auto& s : rec.sessions) {
    first_start = std::min(first_start, s.started_us);
    last_start = std::max(last_start, s.started_us);
  }
  const double span_s = static_cast<double>(last_start - first_start) / 1e6;
  const double duration = opt.duration_s ? *opt.duration_s : std::max(1.0, std::ceil(span_s));

  if (first.eio == 3)
    result.warnings.push_back(
        "the recording is Engine.IO 3 (a Socket.IO 2.x server): the YAML says socketio.eio: 3 for "
        "sioreplay replay; Artillery's socket.io-client 4 cannot talk to Socket.IO 2 servers");

  // Transports as recorded.
  std::optional<std::vector<std::string>> transports;
  if (first.transports.size() == 1)
    transports = std::vector<std::string>{std::string(to_string(first.transports[0]))};

  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap;
  emit_key(out, "config");
  out << YAML::Value << YAML::BeginMap;
  emit_str(out, "target", target);
  emit_key(out, "phases");
  out << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  emit_str(out, "name", "recorded");
  emit_key(out, "duration");
  if (std::floor(duration) == duration)
    out << YAML::Value << std::to_string(static_cast<std::int64_t>(duration));
  else
    out << YAML::Value << format_number(Json(duration));
  if (opt.arrival_rate) {
    emit_key(out, "arrivalRate");
    out << YAML::Value << format_number(Json(*opt.arrival_rate * opt.scale));
  } else {
    emit_key(out, "arrivalCount");
    const auto count = static_cast<std::int64_t>(
        std::llround(static_cast<double>(rec.sessions.size()) * opt.scale));
    out << YAML::Value << std::to_string(std::max<std::int64_t>(1, count));
  }
  out << YAML::EndMap << YAML::EndSeq;
  if (opt.responses) {
    emit_key(out, "timeout");
    out << YAML::Value << "10";
  }
  // Sticky cookie values: each virtual user picks one and keeps it. Emit arguments that are
  // not strings: a one-element list each, so that Artillery's "pick one per user" hands out the
  // value itself (even when it is an array).
  if (!sticky.empty() || !arg_values.empty()) {
    emit_key(out, "variables");
    out << YAML::Value << YAML::BeginMap;
    for (const auto& name : sticky) {
      emit_key(out, var_name("", name));
      out << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (const auto& v : sticky_values[name]) out << YAML::DoubleQuoted << v;
      out << YAML::EndSeq;
    }
    for (const auto& [name, value] : arg_values) {
      emit_key(out, name);
      out << YAML::Value;
      emit_json(out, Json::array({value}));
    }
    out << YAML::EndMap;
  }
  const bool use_csv = !opt.inline_secrets && !payload.fields.empty();
  if (use_csv) {
    emit_key(out, "payload");
    out << YAML::Value << YAML::BeginMap;
    emit_str(out, "path", opt.payload_file);
    emit_key(out, "fields");
    out << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& f : payload.fields) out << YAML::DoubleQuoted << f;
    out << YAML::EndSeq;
    emit_str(out, "order", "sequence");
    emit_key(out, "skipHeader");
    out << YAML::Value << "true";
    out << YAML::EndMap;
  }
  emit_key(out, "socketio");
  out << YAML::Value << YAML::BeginMap;
  emit_str(out, "path", first.path.empty() ? "/socket.io/" : first.path);
  if (transports) {
    emit_key(out, "transports");
    out << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& t : *transports) out << YAML::DoubleQuoted << t;
    out << YAML::EndSeq;
  }
  if (first.eio == 3) {
    emit_key(out, "eio");
    out << YAML::Value << "3";
  }
  if (!query_inline.empty()) {
    emit_key(out, "query");
    out << YAML::Value;
    emit_json(out, query_inline);
  }
  out << YAML::EndMap;
  out << YAML::EndMap; // config

  // Per-user values go to the scenario-level socketio block: the config-level one is
  // templated before a user's variables exist and would send "undefined".
  std::string cookie_header;
  for (const auto& name : sticky)
    cookie_header +=
        (cookie_header.empty() ? "" : "; ") + name + "={{ " + var_name("", name) + " }}";
  for (const auto& c : cookie_vars) cookie_header += (cookie_header.empty() ? "" : "; ") + c;

  // Secrets inline when asked: substitute the first session's values.
  const auto resolve = [&](const std::string& text) {
    if (use_csv || payload.rows.empty()) return text;
    std::string out_text = text;
    for (const auto& [field, value] : payload.rows.front()) {
      const std::string pat = "{{ " + field + " }}";
      for (auto at = out_text.find(pat); at != std::string::npos;
           at = out_text.find(pat, at + value.size()))
        out_text.replace(at, pat.size(), value);
    }
    return out_text;
  };

  emit_key(out, "scenarios");
  out << YAML::Value << YAML::BeginSeq;
  for (const Scenario& sc : scenarios) {
    out << YAML::BeginMap;
    emit_str(out, "name", sc.name);
    emit_str(out, "engine", "socketio");
    emit_key(out, "weight");
    out << YAML::Value << std::to_string(sc.weight);
    const bool has_block = !cookie_header.empty() || !header_templates.empty() ||
                           !auth_template.is_null() || !query_template.empty();
    if (has_block) {
      emit_key(out, "socketio");
      out << YAML::Value << YAML::BeginMap;
      if (!cookie_header.empty() || !header_templates.empty()) {
        emit_key(out, "extraHeaders");
        out << YAML::Value << YAML::BeginMap;
        if (!cookie_header.empty()) emit_str(out, "Cookie", resolve(cookie_header));
        for (const auto& [n, v] : header_templates) emit_str(out, n, resolve(v));
        out << YAML::EndMap;
      }
      if (!auth_template.is_null()) {
        emit_key(out, "auth");
        out << YAML::Value << YAML::BeginMap;
        for (const auto& [k, v] : auth_template.items())
          emit_str(out, k, resolve(v.get<std::string>()));
        out << YAML::EndMap;
      }
      if (!query_template.empty()) {
        emit_key(out, "query");
        out << YAML::Value << YAML::BeginMap;
        for (const auto& [k, v] : query_inline.items()) emit_str(out, k, v.get<std::string>());
        for (const auto& [k, v] : query_template.items())
          emit_str(out, k, resolve(v.get<std::string>()));
        out << YAML::EndMap;
      }
      out << YAML::EndMap;
    }
    emit_key(out, "flow");
    out << YAML::Value;
    emit_steps(out, sc.steps);
    out << YAML::EndMap;
    result.steps += count_steps(sc.steps);
  }
  out << YAML::EndSeq;
  out << YAML::EndMap;
  if (!out.good())
    return fail(errc::unsupported, std::string("YAML writer: ") + out.GetLastError());
  result.scenarios = scenarios.size();

  // ---- header comment -------------------------------------------------------------------------
  std::uint64_t messages = 0;
  for (const auto& s : rec.sessions) messages += s.messages.size();
  std::ostringstream h;
  h << "# Artillery v2 scenario generated by sioreplay " << SIO_VERSION << " from "
    << (opt.source_name.empty() ? std::string("a recording") : opt.source_name) << "\n";
  h << "# " << plural(rec.sessions.size(), "session") << ", "
    << plural(messages, "Socket.IO message") << " -> " << plural(scenarios.size(), "scenario")
    << ", " << plural(result.steps, "step") << ".\n";
  h << "# Run it: artillery run <this file>   or: sioreplay replay <this file>\n";
  if (!sticky.empty()) {
    for (const auto& name : sticky) {
      h << "# Sticky cookie \"" << name << "\" (values seen: ";
      const auto& vals = sticky_values[name];
      for (std::size_t i = 0; i < vals.size(); ++i) h << (i ? ", " : "") << vals[i];
      h << "): each virtual user picks one from config.variables." << var_name("", name)
        << " and sends it\n#   in the scenario-level socketio.extraHeaders.Cookie, so it stays on "
           "one "
           "replica\n#   (Artillery sends \"undefined\" for variables in the config-level "
           "block).\n";
    }
    h << "#   (socketio.withCredentials: true would make Artillery's client keep the balancer's\n"
         "#   Set-Cookie itself; it is not written because with it the Cookie header above no "
         "longer\n"
         "#   reaches the websocket upgrade, which then lands on another replica.)\n";
    h << "#   sioreplay replay needs neither: its per-user cookie jar learns the cookie live from "
         "the "
         "load balancer.\n";
  }
  if (!payload.fields.empty()) {
    if (use_csv)
      h << "# Secrets moved to " << opt.payload_file
        << " (one row per recorded session; refill with valid test credentials):\n";
    else
      h << "# Secrets written inline (--inline-secrets):\n";
    for (const auto& f : payload.fields) h << "#   " << f << ": " << payload.why[f] << "\n";
  }
  if (!notes.empty()) {
    h << "# Left out:\n";
    for (const auto& n : notes) h << "#   " << n << "\n";
  }
  if (!result.warnings.empty()) {
    h << "# Warnings:\n";
    for (const auto& w : result.warnings) h << "#   " << w << "\n";
  }
  result.yaml = h.str() + out.c_str() + "\n";

  if (use_csv) {
    std::string csv;
    for (std::size_t i = 0; i < payload.fields.size(); ++i)
      csv += (i ? "," : "") + csv_field(payload.fields[i]);
    csv += "\n";
    for (const auto& row : payload.rows) {
      for (std::size_t i = 0; i < payload.fields.size(); ++i) {
        const auto it = row.find(payload.fields[i]);
        csv += (i ? "," : "") + csv_field(it == row.end() ? std::string() : it->second);
      }
      csv += "\n";
    }
    result.csv = std::move(csv);
  }
  return result;
}

} // namespace sio::converter
