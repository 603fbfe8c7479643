/// Shards: --shard parsing, and a run's result as it travels from a child process to the parent.

#include "sio/replayer/processes.hpp"

#include <gtest/gtest.h>

namespace sio::replayer {
namespace {

TEST(Shards, ParseShard) {
  const auto s = parse_shard("2/5");
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_EQ(s->first, 2u);
  EXPECT_EQ(s->second, 5u);
  EXPECT_TRUE(parse_shard("0/1"));
  for (const char* bad :
       {"5/5", "1", "/3", "1/", "-1/3", "0/0", "a/b", "1/3x", "1 /3", "0/100001"}) {
    const auto r = parse_shard(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_TRUE(r.error().is(errc::usage)) << bad;
    EXPECT_NE(r.error().message().find("I/N"), std::string::npos) << r.error().message();
  }
}

TEST(Shards, RunResultTravelsLosslessly) {
  RunResult r;
  constexpr std::int64_t t0 = 1737045320000;
  for (int i = 0; i < 500; ++i) {
    r.metrics.count("vusers.created", 1, t0 + i * 40);
    r.metrics.record("socketio.ack_time", 1000 + i * 37, t0 + i * 40);
  }
  r.metrics.example("connect_refused", "connect to 127.0.0.1:9: refused");
  r.elapsed_s = 21.5;
  r.users_created = 500;
  r.interrupted = true;
  r.pushes["s1"] = PushTally{3, 1, {{"welcome", 3}, {"/chat news", 7}}};
  const auto back = run_result_from_json(run_result_json(r));
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->elapsed_s, 21.5);
  EXPECT_EQ(back->users_created, 500u);
  EXPECT_TRUE(back->interrupted);
  EXPECT_EQ(back->metrics.examples(), r.metrics.examples());
  ASSERT_EQ(back->pushes.count("s1"), 1u);
  EXPECT_EQ(back->pushes.at("s1").events, r.pushes.at("s1").events);
  EXPECT_EQ(back->pushes.at("s1").failed, 1u);
  const Period a = r.metrics.aggregate(), b = back->metrics.aggregate();
  EXPECT_EQ(a.counters, b.counters);
  const Histogram& ha = a.histograms.at("socketio.ack_time");
  const Histogram& hb = b.histograms.at("socketio.ack_time");
  EXPECT_EQ(ha.buckets(), hb.buckets());
  EXPECT_EQ(ha.min(), hb.min());
  EXPECT_EQ(ha.max(), hb.max());

  // Merging two results: sums, the longer time, pushes added.
  RunResult m = *back;
  merge_result(m, r);
  EXPECT_EQ(m.users_created, 1000u);
  EXPECT_EQ(m.metrics.aggregate().counters.at("vusers.created"), 1000u);
  EXPECT_EQ(m.pushes.at("s1").events.at("/chat news"), 14u);
  EXPECT_EQ(m.pushes.at("s1").users, 6u);

  EXPECT_FALSE(run_result_from_json(Json::object()));
  Json missing = run_result_json(r);
  missing.erase("pushes");
  EXPECT_FALSE(run_result_from_json(missing));
}

} // namespace
} // namespace sio::replayer
