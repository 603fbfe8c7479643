#include "sio/replayer/recorded.hpp"

#include "sio/common/session_json.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace sio::replayer {
namespace {

std::string scenario_name(const Session& s) {
  return "session-" + std::to_string(s.id);
}

/// "news x2, /chat message x1" (at most `max` names, then "...").
std::string list_counts(const std::map<std::string, std::uint64_t>& m, std::size_t max = 4) {
  std::string out;
  std::size_t n = 0;
  for (const auto& [k, v] : m) {
    if (n++ == max) {
      out += ", ...";
      break;
    }
    if (!out.empty()) out += ", ";
    out += k + " x" + std::to_string(v);
  }
  return out.empty() ? "-" : out;
}

Json counts_json(const std::map<std::string, std::uint64_t>& m) {
  Json o = Json::object();
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

} // namespace

RecordedTiming recorded_timing(const Recording& rec, double speed, unsigned multiply) {
  RecordedTiming t;
  t.speed = speed;
  t.multiply = multiply;
  if (rec.sessions.empty()) return t;
  std::int64_t first = std::numeric_limits<std::int64_t>::max();
  std::int64_t last = std::numeric_limits<std::int64_t>::min();
  for (const auto& s : rec.sessions) {
    first = std::min(first, s.started_us);
    last = std::max(last, s.started_us + std::max<std::int64_t>(0, s.duration_us));
  }
  t.first_us = first;
  t.span_s = static_cast<double>(last - first) / 1e6;
  t.due_s = t.span_s / speed;
  return t;
}

std::vector<Arrival> recorded_schedule(const Recording& rec, double speed, unsigned multiply) {
  const RecordedTiming timing = recorded_timing(rec, speed, multiply);
  std::vector<Arrival> out;
  out.reserve(rec.sessions.size() * multiply);
  for (std::size_t i = 0; i < rec.sessions.size(); ++i) {
    const double at =
        static_cast<double>(rec.sessions[i].started_us - timing.first_us) / 1e6 / speed;
    for (unsigned c = 0; c < multiply; ++c) out.push_back({at, i, i});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Arrival& a, const Arrival& b) { return a.at_s < b.at_s; });
  return out;
}

std::map<std::string, std::uint64_t> recorded_pushes(const Session& s) {
  std::map<std::string, std::uint64_t> out;
  for (const auto& m : s.messages) {
    if (m.dir != Direction::server_to_client || !m.event) continue;
    if (m.type != sock::PacketType::event && m.type != sock::PacketType::binary_event) continue;
    // The name as the replayer's users see it: a string as it is, anything else as JSON.
    const std::string name =
        m.event->is_string() ? m.event->get<std::string>() : dump_json(*m.event);
    ++out[push_key(m.nsp, name)];
  }
  return out;
}

PushComparison compare_pushes(const Recording& rec,
                              const std::map<std::string, PushTally>& pushes) {
  PushComparison c;
  for (const auto& s : rec.sessions) {
    SessionPushes sp;
    sp.id = s.id;
    sp.sid = s.sid;
    const auto it = pushes.find(scenario_name(s));
    static const PushTally none;
    const PushTally& got = it != pushes.end() ? it->second : none;
    sp.copies = got.users;
    sp.failed = got.failed;
    std::map<std::string, std::uint64_t> want;
    for (const auto& [k, n] : recorded_pushes(s)) want[k] = n * got.users;
    for (const auto& [k, n] : want) {
      sp.expected += n;
      const auto g = got.events.find(k);
      const std::uint64_t have = g != got.events.end() ? g->second : 0;
      if (have < n) sp.missing[k] = n - have;
    }
    for (const auto& [k, n] : got.events) {
      sp.received += n;
      const auto w = want.find(k);
      const std::uint64_t need = w != want.end() ? w->second : 0;
      if (n > need) sp.extra[k] = n - need;
    }
    c.expected += sp.expected;
    c.received += sp.received;
    for (const auto& [k, n] : sp.missing) c.missing += n;
    for (const auto& [k, n] : sp.extra) c.extra += n;
    if (sp.matches()) ++c.matching;
    c.sessions.push_back(std::move(sp));
  }
  return c;
}

Json recorded_json(const RecordedTiming& timing, double elapsed_s, const PushComparison& c) {
  Json j = Json::object();
  j["speed"] = timing.speed;
  j["multiply"] = timing.multiply;
  j["sessions"] = c.sessions.size();
  j["recordedSpanSeconds"] = timing.span_s;
  j["dueSeconds"] = timing.due_s;
  j["elapsedSeconds"] = elapsed_s;
  j["pushes"] = {{"expected", c.expected},
                 {"received", c.received},
                 {"missing", c.missing},
                 {"extra", c.extra},
                 {"matchingSessions", c.matching}};
  Json list = Json::array();
  for (const auto& s : c.sessions) {
    Json o = Json::object();
    o["id"] = s.id;
    o["sid"] = s.sid;
    o["copies"] = s.copies;
    o["failed"] = s.failed;
    o["expected"] = s.expected;
    o["received"] = s.received;
    o["missing"] = counts_json(s.missing);
    o["extra"] = counts_json(s.extra);
    list.push_back(std::move(o));
  }
  j["bySession"] = std::move(list);
  return j;
}

Result<Json> merge_recorded_json(const std::vector<Json>& parts) {
  if (parts.empty()) return fail(errc::usage, "x-sioreplay-recorded: nothing to merge");
  struct Merged {
    SessionPushes s;
    std::map<std::string, std::int64_t> net; ///< by push_key: expected - received
  };
  std::map<std::uint64_t, Merged> sessions;
  RecordedTiming timing;
  double elapsed_s = 0;
  std::size_t session_count = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const Json& j = parts[i];
    const auto bad = [&](const std::string& what) {
      return fail(errc::bad_json,
                  "x-sioreplay-recorded of report " + std::to_string(i + 1) + ": " + what);
    };
    try {
      if (!j.is_object()) return bad("not an object");
      const double speed = j.at("speed").get<double>();
      const auto multiply = j.at("multiply").get<unsigned>();
      const auto count = j.at("sessions").get<std::size_t>();
      if (i == 0) {
        timing.speed = speed;
        timing.multiply = multiply;
        timing.span_s = j.at("recordedSpanSeconds").get<double>();
        timing.due_s = j.at("dueSeconds").get<double>();
        session_count = count;
      } else if (speed != timing.speed || multiply != timing.multiply || count != session_count) {
        return bad("another recording or timing than the first report's (speed, multiply or "
                   "number of sessions differ): not shards of one run");
      }
      elapsed_s = std::max(elapsed_s, j.at("elapsedSeconds").get<double>());
      for (const Json& o : j.at("bySession")) {
        Merged& m = sessions[o.at("id").get<std::uint64_t>()];
        m.s.id = o.at("id").get<std::uint64_t>();
        m.s.sid = o.at("sid").get<std::string>();
        m.s.copies += o.at("copies").get<std::uint64_t>();
        m.s.failed += o.at("failed").get<std::uint64_t>();
        m.s.expected += o.at("expected").get<std::uint64_t>();
        m.s.received += o.at("received").get<std::uint64_t>();
        for (const auto& [k, n] : o.at("missing").items())
          m.net[k] += static_cast<std::int64_t>(n.get<std::uint64_t>());
        for (const auto& [k, n] : o.at("extra").items())
          m.net[k] -= static_cast<std::int64_t>(n.get<std::uint64_t>());
      }
    } catch (const Json::exception& e) {
      return bad(std::string("malformed (") + e.what() + ")");
    }
  }
  PushComparison c;
  for (auto& [id, m] : sessions) {
    for (const auto& [k, n] : m.net) {
      if (n > 0) m.s.missing[k] = static_cast<std::uint64_t>(n);
      if (n < 0) m.s.extra[k] = static_cast<std::uint64_t>(-n);
    }
    c.expected += m.s.expected;
    c.received += m.s.received;
    for (const auto& [k, n] : m.s.missing) c.missing += n;
    for (const auto& [k, n] : m.s.extra) c.extra += n;
    if (m.s.matches()) ++c.matching;
    c.sessions.push_back(std::move(m.s));
  }
  return recorded_json(timing, elapsed_s, c);
}

std::string recorded_summary(const RecordedTiming& timing, double elapsed_s,
                             const PushComparison& c, std::size_t max_rows) {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line,
                "Recorded timing: %zu session(s) x %u at --speed %g: recorded span %.2f s, due "
                "in %.2f s, the run took %.2f s\n",
                c.sessions.size(), timing.multiply, timing.speed, timing.span_s, timing.due_s,
                elapsed_s);
  out += line;
  std::snprintf(line, sizeof line,
                "Server events against the recording: expected %llu, received %llu (missing "
                "%llu, extra %llu); %zu of %zu session(s) match\n",
                static_cast<unsigned long long>(c.expected),
                static_cast<unsigned long long>(c.received),
                static_cast<unsigned long long>(c.missing),
                static_cast<unsigned long long>(c.extra), c.matching, c.sessions.size());
  out += line;
  std::size_t differ = c.sessions.size() - c.matching, shown = 0;
  if (differ == 0) return out;
  std::snprintf(line, sizeof line, "  %-8s %-22s %6s %6s %8s %8s  %s\n", "session", "sid", "copies",
                "failed", "expected", "received", "missing | extra");
  out += line;
  for (const auto& s : c.sessions) {
    if (s.matches()) continue;
    if (shown++ == max_rows) {
      std::snprintf(line, sizeof line, "  ... and %zu more session(s) (all in the report)\n",
                    differ - max_rows);
      out += line;
      break;
    }
    std::snprintf(
        line, sizeof line, "  %-8llu %-22s %6llu %6llu %8llu %8llu  ",
        static_cast<unsigned long long>(s.id), s.sid.substr(0, 22).c_str(),
        static_cast<unsigned long long>(s.copies), static_cast<unsigned long long>(s.failed),
        static_cast<unsigned long long>(s.expected), static_cast<unsigned long long>(s.received));
    out += line;
    out += list_counts(s.missing) + " | " + list_counts(s.extra) + "\n";
  }
  return out;
}

} // namespace sio::replayer
