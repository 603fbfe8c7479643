#include "sio/replayer/metrics.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace {

using sio::replayer::Histogram;
using sio::replayer::Metrics;
using sio::replayer::Period;

constexpr std::int64_t t0 = 1737045320000; // a period start

TEST(Metrics, CountsGoToTheirTenSecondPeriod) {
  Metrics m;
  m.count("socketio.emit", 1, t0 + 1);
  m.count("socketio.emit", 2, t0 + 9999);
  m.count("socketio.emit", 5, t0 + 10000);
  m.count("vusers.created", 1, t0 + 25000);
  ASSERT_EQ(m.periods().size(), 3U);
  auto it = m.periods().begin();
  EXPECT_EQ(it->first, t0);
  EXPECT_EQ(it->second.period_ms, t0);
  EXPECT_EQ(it->second.counters.at("socketio.emit"), 3U);
  EXPECT_EQ(it->second.first_ms, t0 + 1);
  EXPECT_EQ(it->second.last_ms, t0 + 9999);
  ++it;
  EXPECT_EQ(it->first, t0 + 10000);
  EXPECT_EQ(it->second.counters.at("socketio.emit"), 5U);
  ++it;
  EXPECT_EQ(it->first, t0 + 20000);
  EXPECT_EQ(it->second.first_ms, t0 + 25000);
}

TEST(Metrics, RecordsGoToHistograms) {
  Metrics m;
  m.record("socketio.response_time", 1500, t0 + 100);
  m.record("socketio.response_time", 2500, t0 + 50);
  const Period& p = m.periods().at(t0);
  const Histogram& h = p.histograms.at("socketio.response_time");
  EXPECT_EQ(h.count(), 2U);
  EXPECT_EQ(h.min(), 1500);
  EXPECT_EQ(h.max(), 2500);
  EXPECT_EQ(p.first_ms, t0 + 50); // out-of-order times widen both ends
  EXPECT_EQ(p.last_ms, t0 + 100);
}

TEST(Metrics, NowDefaultsToTheWallClock) {
  const std::int64_t before = sio::replayer::now_epoch_ms();
  Metrics m;
  m.count("x");
  m.record("y", 10);
  const std::int64_t after = sio::replayer::now_epoch_ms();
  ASSERT_FALSE(m.periods().empty());
  const Period agg = m.aggregate();
  EXPECT_GE(agg.first_ms, before);
  EXPECT_LE(agg.last_ms, after);
  EXPECT_EQ(agg.period_ms % 10000, 0);
  EXPECT_EQ(agg.counters.at("x"), 1U);
  EXPECT_GT(before, 1600000000000); // epoch ms, not seconds or a steady clock
}

TEST(Metrics, PeriodMergeSumsAndWidens) {
  Period a;
  a.period_ms = t0;
  a.first_ms = t0 + 100;
  a.last_ms = t0 + 200;
  a.counters["c"] = 2;
  a.histograms["h"].record(10);
  Period b;
  b.period_ms = t0;
  b.first_ms = t0 + 50;
  b.last_ms = t0 + 150;
  b.counters["c"] = 3;
  b.counters["d"] = 1;
  b.histograms["h"].record(20);
  b.histograms["g"].record(30);
  a.merge(b);
  EXPECT_EQ(a.counters.at("c"), 5U);
  EXPECT_EQ(a.counters.at("d"), 1U);
  EXPECT_EQ(a.histograms.at("h").count(), 2U);
  EXPECT_EQ(a.histograms.at("g").count(), 1U);
  EXPECT_EQ(a.first_ms, t0 + 50);
  EXPECT_EQ(a.last_ms, t0 + 200);
}

TEST(Metrics, PeriodMergeIgnoresEmptySides) {
  Period empty;
  Period b;
  b.period_ms = t0;
  b.first_ms = t0 + 50;
  b.last_ms = t0 + 150;
  b.counters["c"] = 1;
  empty.merge(b); // an empty period's zero times must not widen the range to 0
  EXPECT_EQ(empty.first_ms, t0 + 50);
  EXPECT_EQ(empty.last_ms, t0 + 150);
  b.merge(Period{});
  EXPECT_EQ(b.first_ms, t0 + 50);
  EXPECT_EQ(b.counters.at("c"), 1U);
}

TEST(Metrics, MergeOfWorkersEqualsOneWorker) {
  Metrics w1, w2, all;
  for (int i = 0; i < 1000; ++i) {
    const std::int64_t t = t0 + i * 37;
    Metrics& w = (i % 3 == 0) ? w1 : w2;
    w.count("socketio.emit", 1, t);
    all.count("socketio.emit", 1, t);
    w.record("socketio.response_time", 100 + i * 13, t);
    all.record("socketio.response_time", 100 + i * 13, t);
  }
  Metrics merged = w1;
  merged.merge(w2);
  ASSERT_EQ(merged.periods().size(), all.periods().size());
  for (const auto& [key, p] : all.periods()) {
    const Period& q = merged.periods().at(key);
    EXPECT_EQ(q.period_ms, key);
    EXPECT_EQ(q.counters, p.counters);
    EXPECT_EQ(q.first_ms, p.first_ms);
    EXPECT_EQ(q.last_ms, p.last_ms);
    EXPECT_EQ(q.histograms.at("socketio.response_time").buckets(),
              p.histograms.at("socketio.response_time").buckets());
  }
}

TEST(Metrics, AggregateMergesAllPeriods) {
  Metrics m;
  m.count("vusers.created", 2, t0 + 5);
  m.count("vusers.created", 3, t0 + 20005);
  m.record("vusers.session_length", 1000, t0 + 6);
  m.record("vusers.session_length", 3000, t0 + 30001);
  const Period agg = m.aggregate();
  EXPECT_EQ(agg.counters.at("vusers.created"), 5U);
  EXPECT_EQ(agg.histograms.at("vusers.session_length").count(), 2U);
  EXPECT_EQ(agg.histograms.at("vusers.session_length").max(), 3000);
  EXPECT_EQ(agg.first_ms, t0 + 5);
  EXPECT_EQ(agg.last_ms, t0 + 30001);
  EXPECT_EQ(agg.period_ms, t0 + 30000); // the last period's
  EXPECT_EQ(Metrics{}.aggregate().counters.size(), 0U);
}

TEST(Metrics, MergePeriodAddsToTheMatchingPeriod) {
  Metrics m;
  m.count("a", 1, t0 + 10);
  Period p;
  p.period_ms = t0 + 123; // normalised to the period start
  p.first_ms = t0 + 5;
  p.last_ms = t0 + 9000;
  p.counters["a"] = 4;
  m.merge(p);
  ASSERT_EQ(m.periods().size(), 1U);
  const Period& q = m.periods().at(t0);
  EXPECT_EQ(q.period_ms, t0);
  EXPECT_EQ(q.counters.at("a"), 5U);
  EXPECT_EQ(q.first_ms, t0 + 5);
  EXPECT_EQ(q.last_ms, t0 + 9000);
  m.merge(Period{}); // an empty period adds nothing
  EXPECT_EQ(m.periods().size(), 1U);
}

} // namespace

namespace {

void expect_same(const Period& a, const Period& b) {
  EXPECT_EQ(a.period_ms, b.period_ms);
  EXPECT_EQ(a.counters, b.counters);
  EXPECT_EQ(a.first_ms, b.first_ms);
  EXPECT_EQ(a.last_ms, b.last_ms);
  ASSERT_EQ(a.histograms.size(), b.histograms.size());
  for (const auto& [name, h] : a.histograms) {
    const Histogram& o = b.histograms.at(name);
    EXPECT_EQ(h.count(), o.count()) << name;
    EXPECT_EQ(h.max(), o.max()) << name;
    EXPECT_EQ(h.percentile(50), o.percentile(50)) << name;
  }
}

TEST(Metrics, TotalsEqualTheAggregateAsPeriodsPass) {
  Metrics m;
  EXPECT_TRUE(m.totals().total.counters.empty());
  for (int step = 0; step < 5; ++step) {
    // Each step adds to the current period and opens the next one; totals() is asked in
    // between, as the live display does, so its kept sum grows one period at a time.
    const std::int64_t at = t0 + step * 10000;
    m.count("socketio.emit", static_cast<std::uint64_t>(step + 1), at + 5);
    m.record("socketio.ack_time", 1000 * (step + 1), at + 7);
    Metrics::Totals t = m.totals();
    expect_same(t.total, m.aggregate());
    expect_same(t.last, m.periods().rbegin()->second);
    m.count("socketio.emit", 10, at + 9000); // the same (latest) period, after the call
    t = m.totals();
    expect_same(t.total, m.aggregate());
    EXPECT_EQ(t.last.counters.at("socketio.emit"), static_cast<std::uint64_t>(step + 11));
  }
  EXPECT_EQ(m.totals().total.counters.at("socketio.emit"), 15U + 50U);
}

} // namespace
