#include "sio/replayer/report.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

using sio::errc;
using sio::Json;
using sio::replayer::Metrics;
using sio::replayer::Period;

constexpr std::int64_t t0 = 1737045320000;

std::vector<std::string> keys(const Json& j) {
  std::vector<std::string> out;
  for (const auto& [k, v] : j.items()) out.push_back(k);
  return out;
}

Metrics sample_metrics(std::uint32_t seed, int n, std::int64_t start = t0) {
  Metrics m;
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> lat(std::log(30000.0), 0.9);
  for (int i = 0; i < n; ++i) {
    const std::int64_t t = start + i * 25;
    m.count("socketio.emit", 1, t);
    m.record("socketio.response_time", static_cast<std::int64_t>(lat(rng)), t);
    if (i % 10 == 0) {
      m.count("vusers.created", 1, t);
      m.count("vusers.created_by_name.replay", 1, t);
    }
    if (i % 10 == 9) {
      m.count("vusers.completed", 1, t);
      m.record("vusers.session_length", 250000 + i, t);
    }
  }
  m.count("errors.response timeout", 2, start + 100);
  return m;
}

TEST(Report, PeriodJsonHasArtilleryShape) {
  Metrics m;
  m.count("socketio.emit", 1, t0 + 1000);
  m.count("socketio.emit", 1, t0 + 5000);
  m.count("socketio.emit", 18, t0 + 3000);
  for (int v = 1; v <= 100; ++v) m.record("socketio.response_time", v * 1000, t0 + 2000);
  const Json j = sio::replayer::period_json(m.periods().at(t0));
  EXPECT_EQ(keys(j),
            (std::vector<std::string>{"counters", "rates", "firstCounterAt", "firstHistogramAt",
                                      "lastCounterAt", "lastHistogramAt", "firstMetricAt",
                                      "lastMetricAt", "period", "summaries", "histograms"}));
  EXPECT_EQ(j["counters"]["socketio.emit"], 20);
  // 20 emits over the 4 s active span.
  EXPECT_DOUBLE_EQ(j["rates"]["socketio.emit_rate"].get<double>(), 5.0);
  EXPECT_EQ(j["firstMetricAt"], t0 + 1000);
  EXPECT_EQ(j["lastMetricAt"], t0 + 5000);
  EXPECT_EQ(j["period"], t0);
  const Json& s = j["summaries"]["socketio.response_time"];
  EXPECT_EQ(keys(s), (std::vector<std::string>{"min", "max", "count", "mean", "p50", "median",
                                               "p75", "p90", "p95", "p99", "p999"}));
  EXPECT_EQ(s["count"], 100);
  EXPECT_DOUBLE_EQ(s["min"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(s["max"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(s["mean"].get<double>(), 50.5);
  EXPECT_NEAR(s["p50"].get<double>(), 50.0, 0.5);
  EXPECT_EQ(s["p50"], s["median"]);
  EXPECT_NEAR(s["p95"].get<double>(), 95.0, 0.8);
  EXPECT_NEAR(s["p999"].get<double>(), 100.0, 0.8); // within half a bucket (1/128)
  EXPECT_EQ(j["histograms"], j["summaries"]);
}

TEST(Report, SummariesAreRoundedToATenthOfAMillisecond) {
  Metrics m;
  m.record("h", 1234, t0); // 1.234 ms
  m.record("h", 1251, t0); // 1.251 ms
  const Json s = sio::replayer::period_json(m.periods().at(t0))["summaries"]["h"];
  EXPECT_DOUBLE_EQ(s["min"].get<double>(), 1.2);
  EXPECT_DOUBLE_EQ(s["max"].get<double>(), 1.3);
  EXPECT_DOUBLE_EQ(s["mean"].get<double>(), 1.2); // 1.2425
}

TEST(Report, CountersOnlyPeriodOmitsHistogramTimes) {
  Metrics m;
  m.count("vusers.created", 1, t0 + 7);
  const Json j = sio::replayer::period_json(m.periods().at(t0));
  EXPECT_FALSE(j.contains("firstHistogramAt"));
  EXPECT_FALSE(j.contains("lastHistogramAt"));
  EXPECT_EQ(j["firstCounterAt"], t0 + 7);
  EXPECT_TRUE(j["rates"].empty());
  EXPECT_TRUE(j["summaries"].empty());
  // A single instant: a lone emit is spread over the whole 10 s period.
  m.count("socketio.emit", 5, t0 + 7);
  EXPECT_DOUBLE_EQ(
      sio::replayer::period_json(m.periods().at(t0))["rates"]["socketio.emit_rate"].get<double>(),
      0.5);
}

TEST(Report, ReportJsonShape) {
  const Metrics m = sample_metrics(1, 1000); // 25 s: three periods
  const Json r = sio::replayer::report_json(m);
  EXPECT_EQ(keys(r),
            (std::vector<std::string>{"aggregate", "intermediate", "x-sioreplay-histograms"}));
  ASSERT_EQ(r["intermediate"].size(), 3U);
  EXPECT_EQ(r["intermediate"][0]["period"], t0);
  EXPECT_EQ(r["intermediate"][2]["period"], t0 + 20000);
  EXPECT_EQ(r["aggregate"]["period"], t0 + 20000);
  EXPECT_EQ(r["aggregate"]["counters"]["socketio.emit"], 1000);
  EXPECT_EQ(r["aggregate"]["summaries"]["socketio.response_time"]["count"], 1000);
  // Aggregate rate = mean of the periods' rates (Artillery averages rates over periods).
  double sum = 0;
  for (const auto& p : r["intermediate"]) sum += p["rates"]["socketio.emit_rate"].get<double>();
  EXPECT_NEAR(r["aggregate"]["rates"]["socketio.emit_rate"].get<double>(), sum / 3, 0.051);
  EXPECT_NEAR(r["intermediate"][0]["rates"]["socketio.emit_rate"].get<double>(), 40.0, 0.2);
  // Empty metrics still give a valid report.
  const Json e = sio::replayer::report_json(Metrics{});
  EXPECT_TRUE(e["intermediate"].empty());
  EXPECT_TRUE(e["aggregate"]["counters"].empty());
  EXPECT_TRUE(sio::replayer::metrics_from_report(e).ok());
}

TEST(Report, RoundTripIsLossless) {
  const Metrics m = sample_metrics(2, 3000);
  const Json r = sio::replayer::report_json(m);
  // Through text, as `report --merge` reads it from disk.
  const Json parsed = Json::parse(r.dump());
  auto back = sio::replayer::metrics_from_report(parsed);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(sio::replayer::report_json(*back), r);
  ASSERT_EQ(back->periods().size(), m.periods().size());
  for (const auto& [key, p] : m.periods()) {
    const Period& q = back->periods().at(key);
    EXPECT_EQ(q.counters, p.counters);
    EXPECT_EQ(q.first_ms, p.first_ms);
    EXPECT_EQ(q.last_ms, p.last_ms);
    for (const auto& [name, h] : p.histograms) {
      const auto& g = q.histograms.at(name);
      EXPECT_EQ(g.buckets(), h.buckets());
      EXPECT_EQ(g.min(), h.min());
      EXPECT_EQ(g.max(), h.max());
      EXPECT_EQ(g.sum(), h.sum());
    }
  }
}

TEST(Report, MergedShardReportsEqualPooledData) {
  Metrics a = sample_metrics(3, 2000);
  Metrics b = sample_metrics(4, 1500, t0 + 3000);
  Metrics pooled = a;
  pooled.merge(b);
  auto ra = sio::replayer::metrics_from_report(Json::parse(sio::replayer::report_json(a).dump()));
  auto rb = sio::replayer::metrics_from_report(Json::parse(sio::replayer::report_json(b).dump()));
  ASSERT_TRUE(ra.ok() && rb.ok());
  Metrics merged = *ra;
  merged.merge(*rb);
  const Json jm = sio::replayer::report_json(merged);
  const Json jp = sio::replayer::report_json(pooled);
  EXPECT_EQ(jm["aggregate"]["summaries"], jp["aggregate"]["summaries"]);
  EXPECT_EQ(jm["aggregate"]["counters"], jp["aggregate"]["counters"]);
  EXPECT_EQ(jm, jp);
}

/// Mutates a good report and expects metrics_from_report to refuse it with bad_recording.
void expect_rejected(const std::function<void(Json&)>& mutate, const std::string& needle) {
  Json r = sio::replayer::report_json(sample_metrics(5, 200));
  mutate(r);
  sio::Result<Metrics> m = sio::replayer::metrics_from_report(r);
  ASSERT_FALSE(m.ok()) << needle;
  EXPECT_TRUE(m.error().is(errc::bad_recording));
  EXPECT_NE(m.error().message().find(needle), std::string::npos) << m.error().message();
}

TEST(Report, MetricsFromReportRejectsMalformedInput) {
  const std::string x = "x-sioreplay-histograms";
  EXPECT_FALSE(sio::replayer::metrics_from_report(Json::array()).ok());
  EXPECT_FALSE(sio::replayer::metrics_from_report(Json("text")).ok());
  expect_rejected([](Json& r) { r.erase("intermediate"); }, "$.intermediate");
  expect_rejected([](Json& r) { r["intermediate"] = 3; }, "$.intermediate");
  expect_rejected([&](Json& r) { r.erase(x); }, "not written by sioreplay");
  expect_rejected([&](Json& r) { r[x]["version"] = 2; }, "version");
  expect_rejected([&](Json& r) { r[x]["periods"] = Json::array(); }, "periods");
  expect_rejected([](Json& r) { r["intermediate"][0] = 1; }, "$.intermediate[0]");
  expect_rejected([](Json& r) { r["intermediate"][0]["period"] = 12345; }, "period");
  expect_rejected([](Json& r) { r["intermediate"][0]["period"] = "x"; }, "period");
  expect_rejected([](Json& r) { r["intermediate"][0]["counters"]["socketio.emit"] = -1; },
                  "socketio.emit");
  expect_rejected([](Json& r) { r["intermediate"][0]["counters"]["socketio.emit"] = 1.5; },
                  "socketio.emit");
  expect_rejected([](Json& r) { r["intermediate"][0]["counters"] = Json::array(); }, "counters");
  expect_rejected([](Json& r) { r["intermediate"][0]["firstMetricAt"] = "soon"; }, "firstMetricAt");
  expect_rejected([](Json& r) { r["intermediate"].push_back(r["intermediate"][0]); }, "duplicate");
  const std::string key = std::to_string(t0);
  const std::string h = "socketio.response_time";
  expect_rejected([&](Json& r) { r[x]["periods"]["abc"] = Json::object(); }, "key");
  expect_rejected([&](Json& r) { r[x]["periods"]["1737045990000"] = Json::object(); },
                  "not in $.intermediate");
  expect_rejected([&](Json& r) { r[x]["periods"][key][h] = 1; }, "not an object");
  expect_rejected([&](Json& r) { r[x]["periods"][key][h].erase("min"); }, "min");
  expect_rejected([&](Json& r) { r[x]["periods"][key][h]["max"] = -1; }, "max");
  expect_rejected([&](Json& r) { r[x]["periods"][key][h]["sum"] = "many"; }, "sum");
  expect_rejected([&](Json& r) { r[x]["periods"][key][h]["buckets"] = Json::array(); }, "buckets");
  expect_rejected([&](Json& r) { r[x]["periods"][key][h]["buckets"][0] = Json::array({1}); },
                  "buckets[0]");
  expect_rejected(
      [&](Json& r) {
        r[x]["periods"][key][h]["buckets"][0] = Json::array({999999, 1});
      },
      "out of range");
  expect_rejected([&](Json& r) { r[x]["periods"][key][h]["buckets"][0][1] = 0; }, "count is 0");
  expect_rejected(
      [&](Json& r) {
        auto& b = r[x]["periods"][key][h]["buckets"];
        std::swap(b[0], b[1]);
      },
      "increasing");
  expect_rejected([&](Json& r) { r[x]["periods"][key][h]["min"] = 0; }, "min/max");
}

TEST(Report, SummaryTableIsReadable) {
  const Metrics m = sample_metrics(6, 1000);
  const std::string t = sio::replayer::summary_table(m, 25.0);
  EXPECT_NE(t.find("Summary after 25.0 s"), std::string::npos) << t;
  // Counters sorted, with right-aligned numbers.
  const auto e = t.find("errors.response timeout");
  const auto s = t.find("socketio.emit ");
  const auto v = t.find("vusers.created ");
  ASSERT_NE(e, std::string::npos);
  ASSERT_NE(s, std::string::npos);
  ASSERT_NE(v, std::string::npos);
  EXPECT_LT(e, s);
  EXPECT_LT(s, v);
  EXPECT_NE(t.find("       1,000\n"), std::string::npos) << t;
  EXPECT_NE(t.find("socketio.emit_rate"), std::string::npos);
  EXPECT_NE(t.find("40.0/s"), std::string::npos) << t;
  EXPECT_NE(t.find("Summaries (ms)"), std::string::npos);
  EXPECT_NE(t.find("p95"), std::string::npos);
  // Every data line of the counters block has the same width.
  std::size_t width = 0;
  std::size_t pos = t.find("Counters\n") + 9;
  while (pos < t.size() && t.compare(pos, 2, "  ") == 0) {
    const auto end = t.find('\n', pos);
    if (width == 0) width = end - pos;
    EXPECT_EQ(end - pos, width) << t.substr(pos, end - pos);
    pos = end + 1;
  }
  EXPECT_GT(width, 0U);
  EXPECT_NE(sio::replayer::summary_table(Metrics{}, 0).find("(no metrics)"), std::string::npos);
}

TEST(Report, ProgressLine) {
  Metrics m;
  m.count("vusers.created", 120, t0 + 1000);
  m.count("vusers.completed", 98, t0 + 2000);
  m.count("socketio.emit", 14500, t0 + 1000);
  m.count("socketio.emit", 1, t0 + 11000);
  m.count("errors.response timeout", 3, t0 + 3000);
  for (int i = 0; i < 100; ++i) m.record("socketio.ack_time", 3200, t0 + 5000);
  m.count("socketio.emit", 0, t0 + 6000); // the first period is active for 5 s
  const Period last = m.periods().at(t0);
  const std::string line = sio::replayer::progress_line(last, m.aggregate(), 10.2);
  EXPECT_EQ(line, "[  10 s] users: created 120 completed 98 failed 0 active 22 | emits 2,900/s "
                  "| ack p95 3.2 ms | errors 3");
  EXPECT_EQ(sio::replayer::progress_line(Period{}, Period{}, 0),
            "[   0 s] users: created 0 completed 0 failed 0 active 0 | emits 0/s | ack p95 - | "
            "errors 0");
  EXPECT_EQ(sio::replayer::progress_line(Period{}, Period{}, 10.2, 95),
            "[  10 s] users: created 0 completed 0 failed 0 active 0 | emits 0/s | ack p95 - | "
            "errors 0 | arrivals end in 85 s");
  EXPECT_EQ(sio::replayer::progress_line(Period{}, Period{}, 30.1, 40).substr(82),
            "errors 0 | arrivals end in 10 s");
  EXPECT_EQ(sio::replayer::progress_line(Period{}, Period{}, 40.5, 40).substr(82),
            "errors 0 | arrivals done");
}

TEST(Report, LiveDisplayLines) {
  Metrics m;
  m.count("vusers.created", 1200, t0 + 1000);
  m.count("vusers.completed", 390, t0 + 2000);
  m.count("vusers.failed", 10, t0 + 2000);
  m.count("errors.connect_refused", 7, t0 + 2000);
  m.count("errors.ping_timeout", 3, t0 + 2000);
  for (int i = 0; i < 100; ++i) m.record("socketio.ack_time", 1000 + 100 * i, t0 + 5000);
  m.record("socketio.connect_time", 2500, t0 + 5000);
  const Period last = m.periods().at(t0);
  const auto lines = sio::replayer::live_display(last, m.aggregate(), 23.2, 60,
                                                 {.emits = 1234.4, .pushes = 2000, .http = 0});
  ASSERT_EQ(lines.size(), 5U);
  EXPECT_EQ(lines[0], "elapsed  23 s   arrivals [#########...............]  39 %   end in 37 s");
  EXPECT_EQ(lines[1], "users    active 800   created 1,200   completed 390   failed 10");
  EXPECT_EQ(lines[2], "traffic  emits 1,234/s   pushes 2,000/s");
  EXPECT_EQ(lines[3].rfind("latency  ack p50/p95/p99 ", 0), 0U) << lines[3];
  EXPECT_NE(lines[3].find("connect p50/p95/p99 2.5/2.5/2.5 ms"), std::string::npos) << lines[3];
  EXPECT_EQ(lines[4], "errors   10: connect_refused 7, ping_timeout 3");
  for (const auto& l : lines) EXPECT_EQ(l.find('\n'), std::string::npos);

  // Nothing measured yet, no known end; after the arrivals, the wait for the last users.
  const auto empty = sio::replayer::live_display(Period{}, Period{}, 0, 0, {});
  EXPECT_EQ(empty[0], "elapsed  0 s");
  EXPECT_EQ(empty[3], "latency  -");
  EXPECT_EQ(empty[4], "errors   0");
  EXPECT_NE(sio::replayer::live_display(Period{}, Period{}, 70, 60, {})[0].find(
                "[########################] 100 %   done: waiting for users to finish"),
            std::string::npos);
  EXPECT_EQ(sio::replayer::live_display(Period{}, Period{}, 70.4, 60, {}, true)[0],
            "elapsed  70 s   run ended");
}

} // namespace
