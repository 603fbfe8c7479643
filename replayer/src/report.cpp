#include "sio/replayer/report.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <utility>
#include <vector>

namespace sio::replayer {

namespace {

constexpr const char* histograms_key = "x-sioreplay-histograms";
constexpr int histograms_version = 1;
constexpr std::int64_t period_length_ms = 10000;

/// Counters that Artillery also reports as a per-second rate, and the rate's name.
constexpr std::pair<const char*, const char*> rate_names[] = {
    {"socketio.emit", "socketio.emit_rate"},
    {"http.requests", "http.request_rate"},
    {"http.responses", "http.response_rate"},
};

/// Rounds to one decimal.
double round1(double v) {
  return std::round(v * 10.0) / 10.0;
}

/// Microseconds to milliseconds at 0.1 ms resolution.
double us_to_ms(double us) {
  return std::round(us / 100.0) / 10.0;
}

Json summary_json(const Histogram& h) {
  Json s = Json::object();
  s["min"] = us_to_ms(static_cast<double>(h.min()));
  s["max"] = us_to_ms(static_cast<double>(h.max()));
  s["count"] = h.count();
  s["mean"] = us_to_ms(h.mean());
  const double p50 = us_to_ms(static_cast<double>(h.percentile(0.5)));
  s["p50"] = p50;
  s["median"] = p50;
  s["p75"] = us_to_ms(static_cast<double>(h.percentile(0.75)));
  s["p90"] = us_to_ms(static_cast<double>(h.percentile(0.9)));
  s["p95"] = us_to_ms(static_cast<double>(h.percentile(0.95)));
  s["p99"] = us_to_ms(static_cast<double>(h.percentile(0.99)));
  s["p999"] = us_to_ms(static_cast<double>(h.percentile(0.999)));
  return s;
}

Json histogram_lossless(const Histogram& h) {
  Json buckets = Json::array();
  for (const auto& [index, n] : h.buckets()) buckets.push_back(Json::array({index, n}));
  Json o = Json::object();
  o["min"] = h.min();
  o["max"] = h.max();
  o["sum"] = h.sum();
  o["buckets"] = std::move(buckets);
  return o;
}

std::string with_commas(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  const std::size_t len = digits.size();
  for (std::size_t i = 0; i < len; ++i) {
    if (i != 0 && (len - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string pad_left(const std::string& s, std::size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

std::string pad_right(const std::string& s, std::size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

/// A millisecond value with one decimal and thousands separators ("1,120.0").
std::string ms_text(double ms) {
  const double r = round1(ms);
  const auto whole = static_cast<std::uint64_t>(std::floor(r));
  const auto tenth = static_cast<int>(std::llround((r - std::floor(r)) * 10.0)) % 10;
  return with_commas(whole) + "." + std::to_string(tenth);
}

std::uint64_t error_total(const Period& p) {
  std::uint64_t n = 0;
  for (const auto& [name, v] : p.counters)
    if (name.rfind("errors.", 0) == 0) n += v;
  return n;
}

// ---- validation helpers for metrics_from_report ----

Failure bad(const std::string& where, const std::string& what) {
  return fail(errc::bad_recording, "report: " + where + ": " + what);
}

bool as_u64(const Json& j, std::uint64_t& out) {
  if (j.is_number_unsigned()) {
    out = j.get<std::uint64_t>();
    return true;
  }
  if (j.is_number_integer() && j.get<std::int64_t>() >= 0) {
    out = static_cast<std::uint64_t>(j.get<std::int64_t>());
    return true;
  }
  return false;
}

bool as_i64(const Json& j, std::int64_t& out) {
  if (j.is_number_integer() && !j.is_number_unsigned()) {
    out = j.get<std::int64_t>();
    return true;
  }
  if (j.is_number_unsigned()) {
    const auto u = j.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
    out = static_cast<std::int64_t>(u);
    return true;
  }
  return false;
}

Result<Histogram> histogram_from_json(const Json& j, const std::string& where) {
  if (!j.is_object()) return bad(where, "not an object");
  std::int64_t min = 0, max = 0;
  const auto mn = j.find("min");
  const auto mx = j.find("max");
  const auto sm = j.find("sum");
  const auto bk = j.find("buckets");
  if (mn == j.end() || !as_i64(*mn, min) || min < 0)
    return bad(where + ".min", "missing or not a non-negative integer");
  if (mx == j.end() || !as_i64(*mx, max) || max < min)
    return bad(where + ".max", "missing or not an integer >= min");
  if (sm == j.end() || !sm->is_number() || !std::isfinite(sm->get<double>()) ||
      sm->get<double>() < 0)
    return bad(where + ".sum", "missing or not a non-negative number");
  if (bk == j.end() || !bk->is_array() || bk->empty())
    return bad(where + ".buckets", "missing or not a non-empty array");
  std::vector<std::pair<std::uint32_t, std::uint64_t>> buckets;
  buckets.reserve(bk->size());
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < bk->size(); ++i) {
    const Json& b = (*bk)[i];
    const std::string at = where + ".buckets[" + std::to_string(i) + "]";
    std::uint64_t index = 0, n = 0;
    if (!b.is_array() || b.size() != 2 || !as_u64(b[0], index) || !as_u64(b[1], n))
      return bad(at, "not a pair [bucket index, count]");
    if (index >= Histogram::bucket_count) return bad(at, "bucket index out of range");
    if (n == 0) return bad(at, "count is 0");
    if (!buckets.empty() && buckets.back().first >= index)
      return bad(at, "bucket indexes are not increasing");
    if (total + n < total) return bad(at, "count overflows");
    total += n;
    buckets.emplace_back(static_cast<std::uint32_t>(index), n);
  }
  if (Histogram::index_of(min) != buckets.front().first ||
      Histogram::index_of(max) != buckets.back().first)
    return bad(where, "min/max do not match the buckets");
  return Histogram::from_buckets(buckets, min, max, sm->get<double>());
}

} // namespace

std::uint64_t counter(const Period& p, std::string_view name) {
  const auto it = p.counters.find(name);
  return it == p.counters.end() ? 0 : it->second;
}

double rate_seconds(const Period& p) {
  const std::int64_t span = p.last_ms - p.first_ms;
  if (span <= 0) return static_cast<double>(period_length_ms) / 1000.0;
  return static_cast<double>(std::max<std::int64_t>(span, 1000)) / 1000.0;
}

Json period_json(const Period& p) {
  Json j = Json::object();
  Json counters = Json::object();
  for (const auto& [name, n] : p.counters) counters[name] = n;
  j["counters"] = std::move(counters);
  Json rates = Json::object();
  for (const auto& [counter_name, rate_name] : rate_names) {
    const auto it = p.counters.find(counter_name);
    if (it == p.counters.end()) continue;
    rates[rate_name] = round1(static_cast<double>(it->second) / rate_seconds(p));
  }
  j["rates"] = std::move(rates);
  // One first/last pair per period: counters and histograms share it.
  const bool has_counters = !p.counters.empty();
  const bool has_histograms = !p.histograms.empty();
  if (has_counters) j["firstCounterAt"] = p.first_ms;
  if (has_histograms) j["firstHistogramAt"] = p.first_ms;
  if (has_counters) j["lastCounterAt"] = p.last_ms;
  if (has_histograms) j["lastHistogramAt"] = p.last_ms;
  if (has_counters || has_histograms) {
    j["firstMetricAt"] = p.first_ms;
    j["lastMetricAt"] = p.last_ms;
  }
  j["period"] = p.period_ms;
  Json summaries = Json::object();
  for (const auto& [name, h] : p.histograms)
    if (h.count() != 0) summaries[name] = summary_json(h);
  j["summaries"] = summaries;
  j["histograms"] = std::move(summaries);
  return j;
}

Json report_json(const Metrics& m) {
  Json report = Json::object();
  Json aggregate = period_json(m.aggregate());
  Json intermediate = Json::array();
  Json lossless = Json::object();
  // Artillery's aggregate rates are the mean of the periods' rates.
  std::vector<std::pair<double, int>> rate_sums(std::size(rate_names), {0.0, 0});
  for (const auto& [key, p] : m.periods()) {
    Json pj = period_json(p);
    for (std::size_t i = 0; i < std::size(rate_names); ++i) {
      const auto it = pj["rates"].find(rate_names[i].second);
      if (it == pj["rates"].end()) continue;
      rate_sums[i].first += it->get<double>();
      ++rate_sums[i].second;
    }
    intermediate.push_back(std::move(pj));
    Json hs = Json::object();
    for (const auto& [name, h] : p.histograms)
      if (h.count() != 0) hs[name] = histogram_lossless(h);
    if (!hs.empty()) lossless[std::to_string(key)] = std::move(hs);
  }
  for (std::size_t i = 0; i < std::size(rate_names); ++i)
    if (rate_sums[i].second != 0)
      aggregate["rates"][rate_names[i].second] = round1(rate_sums[i].first / rate_sums[i].second);
  report["aggregate"] = std::move(aggregate);
  report["intermediate"] = std::move(intermediate);
  Json x = Json::object();
  x["version"] = histograms_version;
  x["periods"] = std::move(lossless);
  report[histograms_key] = std::move(x);
  return report;
}

Result<Metrics> metrics_from_report(const Json& report) {
  if (!report.is_object()) return bad("$", "not a JSON object");
  const auto inter = report.find("intermediate");
  if (inter == report.end() || !inter->is_array())
    return bad("$.intermediate", "missing or not an array");
  const auto x = report.find(histograms_key);
  if (x == report.end() || !x->is_object())
    return bad(std::string("$.") + histograms_key,
               "missing: not written by sioreplay replay, so its percentiles cannot be merged");
  const auto version = x->find("version");
  if (version == x->end() || !version->is_number_integer() ||
      version->get<std::int64_t>() != histograms_version)
    return bad(std::string("$.") + histograms_key + ".version",
               "missing or not " + std::to_string(histograms_version));
  const auto hperiods = x->find("periods");
  if (hperiods == x->end() || !hperiods->is_object())
    return bad(std::string("$.") + histograms_key + ".periods", "missing or not an object");

  std::map<std::int64_t, Period> periods;
  for (std::size_t i = 0; i < inter->size(); ++i) {
    const Json& e = (*inter)[i];
    const std::string where = "$.intermediate[" + std::to_string(i) + "]";
    if (!e.is_object()) return bad(where, "not an object");
    Period p;
    const auto period = e.find("period");
    if (period == e.end() || !as_i64(*period, p.period_ms) || p.period_ms % period_length_ms != 0)
      return bad(where + ".period", "missing or not a multiple of 10000");
    if (periods.count(p.period_ms) != 0) return bad(where + ".period", "duplicate period");
    if (const auto c = e.find("counters"); c != e.end()) {
      if (!c->is_object()) return bad(where + ".counters", "not an object");
      for (const auto& [name, v] : c->items()) {
        std::uint64_t n = 0;
        if (!as_u64(v, n))
          return bad(where + ".counters[\"" + name + "\"]", "not a non-negative integer");
        p.counters[name] = n;
      }
    }
    for (const auto& [field, target] :
         {std::pair{"firstMetricAt", &p.first_ms}, std::pair{"lastMetricAt", &p.last_ms}}) {
      const auto f = e.find(field);
      if (f == e.end()) {
        *target = p.period_ms;
      } else if (!as_i64(*f, *target)) {
        return bad(where + "." + field, "not an integer");
      }
    }
    if (p.first_ms > p.last_ms) return bad(where, "firstMetricAt is after lastMetricAt");
    periods.emplace(p.period_ms, std::move(p));
  }
  for (const auto& [key, hs] : hperiods->items()) {
    const std::string where = std::string("$.") + histograms_key + ".periods[\"" + key + "\"]";
    std::int64_t period_ms = 0;
    const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), period_ms);
    if (ec != std::errc{} || end != key.data() + key.size())
      return bad(where, "key is not a period (epoch ms)");
    const auto it = periods.find(period_ms);
    if (it == periods.end()) return bad(where, "period not in $.intermediate");
    if (!hs.is_object()) return bad(where, "not an object");
    for (const auto& [name, hj] : hs.items()) {
      auto h = histogram_from_json(hj, where + "[\"" + name + "\"]");
      if (!h) return Failure{h.error()};
      it->second.histograms[name] = std::move(*h);
    }
  }
  Metrics m;
  for (const auto& [key, p] : periods) m.merge(p);
  return m;
}

std::string summary_table(const Metrics& m, double elapsed_s) {
  const Period agg = m.aggregate();
  constexpr std::size_t num_width = 12;
  std::size_t name_width = 24;
  for (const auto& [name, n] : agg.counters) name_width = std::max(name_width, name.size());
  for (const auto& [name, h] : agg.histograms) name_width = std::max(name_width, name.size());
  for (const auto& [c, r] : rate_names) name_width = std::max(name_width, std::string(r).size());
  name_width += 2;
  const std::string rule(name_width + 2 + 6 * num_width, '-');

  std::string out;
  out += rule + "\n";
  out += "Summary after " + format("%.1f", std::max(0.0, elapsed_s)) + " s\n";
  out += rule + "\n";
  if (agg.counters.empty() && agg.histograms.empty()) {
    out += "  (no metrics)\n";
    return out;
  }
  if (!agg.counters.empty()) {
    // Families of counters by name (one per scenario or event name) are folded into one line
    // when they have many members: a recording replays one scenario per session. The report
    // keeps each counter.
    constexpr std::size_t fold_over = 8;
    static constexpr const char* families[] = {
        "vusers.created_by_name.", "vusers.completed_by_name.", "vusers.failed_by_name.",
        "vusers.interrupted_by_name.", "socketio.push."};
    struct Family {
      std::size_t members = 0;
      std::uint64_t sum = 0;
      bool written = false;
    };
    std::map<std::string, Family> folded;
    const auto family_of = [](const std::string& name) -> const char* {
      for (const char* f : families)
        if (name.rfind(f, 0) == 0) return f;
      return nullptr;
    };
    for (const auto& [name, n] : agg.counters)
      if (const char* f = family_of(name)) {
        ++folded[f].members;
        folded[f].sum += n;
      }
    out += "Counters\n";
    for (const auto& [name, n] : agg.counters) {
      const char* f = family_of(name);
      if (f != nullptr && folded[f].members > fold_over) {
        Family& fam = folded[f];
        if (fam.written) continue;
        fam.written = true;
        const std::string label = std::string(f) + "* (" + std::to_string(fam.members) + ")";
        out +=
            "  " + pad_right(label, name_width) + pad_left(with_commas(fam.sum), num_width) + "\n";
        continue;
      }
      out += "  " + pad_right(name, name_width) + pad_left(with_commas(n), num_width) + "\n";
    }
  }
  std::string rates;
  for (const auto& [counter_name, rate_name] : rate_names) {
    const auto it = agg.counters.find(counter_name);
    if (it == agg.counters.end() || elapsed_s <= 0) continue;
    rates += "  " + pad_right(rate_name, name_width) +
             pad_left(format("%.1f", static_cast<double>(it->second) / elapsed_s), num_width) +
             "/s\n";
  }
  if (!rates.empty()) out += "Rates (over the whole run)\n" + rates;
  if (!agg.histograms.empty()) {
    out += pad_right("Summaries (ms)", name_width + 2);
    for (const char* col : {"count", "min", "p50", "p95", "p99", "max"})
      out += pad_left(col, num_width);
    out += "\n";
    for (const auto& [name, h] : agg.histograms) {
      if (h.count() == 0) continue;
      out += "  " + pad_right(name, name_width) + pad_left(with_commas(h.count()), num_width);
      for (const std::int64_t v :
           {h.min(), h.percentile(0.5), h.percentile(0.95), h.percentile(0.99), h.max()})
        out += pad_left(ms_text(us_to_ms(static_cast<double>(v))), num_width);
      out += "\n";
    }
  }
  return out;
}

std::string progress_line(const Period& last, const Period& total, double elapsed_s,
                          double arrivals_s) {
  const std::uint64_t created = counter(total, "vusers.created");
  const std::uint64_t completed = counter(total, "vusers.completed");
  const std::uint64_t failed = counter(total, "vusers.failed");
  const std::uint64_t done = completed + failed;
  const std::uint64_t active = created > done ? created - done : 0;
  const double emit_rate = static_cast<double>(counter(last, "socketio.emit")) / rate_seconds(last);

  std::string out = "[" + format("%4.0f", std::max(0.0, elapsed_s)) + " s] users: created " +
                    with_commas(created) + " completed " + with_commas(completed) + " failed " +
                    with_commas(failed) + " active " + with_commas(active);
  out += " | emits " + with_commas(static_cast<std::uint64_t>(std::llround(emit_rate))) + "/s";
  const Histogram* ack = nullptr;
  for (const char* name : {"socketio.ack_time", "socketio.response_time"}) {
    const auto it = last.histograms.find(name);
    if (it != last.histograms.end() && it->second.count() != 0) {
      ack = &it->second;
      break;
    }
  }
  out += " | ack p95 ";
  out += ack ? format("%.1f", us_to_ms(static_cast<double>(ack->percentile(0.95)))) + " ms" : "-";
  out += " | errors " + with_commas(error_total(total));
  if (arrivals_s > 0) {
    const auto left = static_cast<long long>(std::ceil(arrivals_s - elapsed_s));
    out += left > 0 ? " | arrivals end in " + with_commas(static_cast<std::uint64_t>(left)) + " s"
                    : std::string(" | arrivals done");
  }
  return out;
}

std::vector<std::string> live_display(const Period& last, const Period& total, double elapsed_s,
                                      double arrivals_s, const LiveRates& rates, bool ended) {
  const std::uint64_t created = counter(total, "vusers.created");
  const std::uint64_t completed = counter(total, "vusers.completed");
  const std::uint64_t failed = counter(total, "vusers.failed");
  const std::uint64_t done = completed + failed;
  const std::uint64_t active = created > done ? created - done : 0;
  const auto per_s = [](double v) {
    return with_commas(static_cast<std::uint64_t>(std::llround(std::max(0.0, v)))) + "/s";
  };
  std::vector<std::string> lines;

  // Time, and a bar for the arrivals' share of the run when its length is known.
  std::string head = "elapsed  " + format("%.0f", std::max(0.0, elapsed_s)) + " s";
  if (ended) {
    head += "   run ended";
  } else if (arrivals_s > 0) {
    const double frac = std::clamp(elapsed_s / arrivals_s, 0.0, 1.0);
    constexpr int width = 24;
    const int filled = static_cast<int>(std::lround(frac * width));
    head += "   arrivals [" + std::string(static_cast<std::size_t>(filled), '#') +
            std::string(static_cast<std::size_t>(width - filled), '.') + "] " +
            format("%3.0f", frac * 100.0) + " %";
    const auto left = static_cast<long long>(std::ceil(arrivals_s - elapsed_s));
    head += left > 0 ? "   end in " + with_commas(static_cast<std::uint64_t>(left)) + " s"
                     : std::string("   done: waiting for users to finish");
  }
  lines.push_back(std::move(head));
  lines.push_back("users    active " + with_commas(active) + "   created " + with_commas(created) +
                  "   completed " + with_commas(completed) + "   failed " + with_commas(failed));
  std::string traffic = "traffic  emits " + per_s(rates.emits) + "   pushes " + per_s(rates.pushes);
  if (counter(total, "http.requests") != 0) traffic += "   http " + per_s(rates.http);
  lines.push_back(std::move(traffic));

  // Latency of this period: the first of these that has values, p50/p95/p99.
  std::string latency = "latency  ";
  bool any = false;
  for (const auto& [name, label] :
       {std::pair{"socketio.ack_time", "ack"}, std::pair{"socketio.response_time", "response"},
        std::pair{"socketio.connect_time", "connect"},
        std::pair{"engineio.handshake_time", "handshake"}}) {
    const auto it = last.histograms.find(name);
    if (it == last.histograms.end() || it->second.count() == 0) continue;
    const Histogram& h = it->second;
    if (any) latency += "   ";
    latency += std::string(label) + " p50/p95/p99 ";
    latency += ms_text(us_to_ms(static_cast<double>(h.percentile(0.5)))) + "/" +
               ms_text(us_to_ms(static_cast<double>(h.percentile(0.95)))) + "/" +
               ms_text(us_to_ms(static_cast<double>(h.percentile(0.99)))) + " ms";
    any = true;
    if (latency.size() > 60) break; // two kinds fit a laptop's terminal
  }
  if (!any) latency += "-";
  lines.push_back(std::move(latency));

  // Errors: the total, then the most frequent causes.
  std::vector<std::pair<std::uint64_t, std::string>> causes;
  for (const auto& [name, n] : total.counters)
    if (name.rfind("errors.", 0) == 0) causes.emplace_back(n, name.substr(7));
  std::sort(causes.begin(), causes.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::string errors = "errors   " + with_commas(error_total(total));
  for (std::size_t i = 0; i < causes.size() && i < 3; ++i)
    errors += (i == 0 ? ": " : ", ") + causes[i].second + " " + with_commas(causes[i].first);
  if (causes.size() > 3) errors += ", ...";
  lines.push_back(std::move(errors));
  return lines;
}

} // namespace sio::replayer
