/// Recorded-timing replay: the schedule of users, the recorded pushes and their comparison with
/// what the users received, and how it is reported.

#include "sio/replayer/recorded.hpp"
#include "sio/replayer/report.hpp"

#include <gtest/gtest.h>

namespace sio::replayer {
namespace {

Message server_event(std::string event, std::string nsp = "/") {
  Message m;
  m.dir = Direction::server_to_client;
  m.type = sock::PacketType::event;
  m.nsp = std::move(nsp);
  m.event = std::move(event);
  return m;
}

Session session(std::uint64_t id, std::int64_t start_ms, std::int64_t duration_ms,
                std::vector<Message> messages = {}) {
  Session s;
  s.id = id;
  s.sid = "sid" + std::to_string(id);
  s.started_us = 1'767'225'600'000'000 + start_ms * 1000;
  s.duration_us = duration_ms * 1000;
  s.messages = std::move(messages);
  return s;
}

TEST(RecordedTest, ScheduleFollowsTheRecordedStartsDividedBySpeed) {
  Recording rec;
  // Not in start order: the schedule is sorted, and copies stay together in recording order.
  rec.sessions = {session(1, 4000, 1000), session(2, 0, 9000), session(3, 4000, 500)};
  const auto sched = recorded_schedule(rec, 2.0, 3);
  ASSERT_EQ(sched.size(), 9u);
  const std::vector<std::pair<double, std::size_t>> want = {
      {0.0, 1}, {0.0, 1}, {0.0, 1}, {2.0, 0}, {2.0, 0}, {2.0, 0}, {2.0, 2}, {2.0, 2}, {2.0, 2}};
  for (std::size_t i = 0; i < sched.size(); ++i) {
    EXPECT_DOUBLE_EQ(sched[i].at_s, want[i].first) << i;
    EXPECT_EQ(sched[i].scenario, want[i].second) << i;
    EXPECT_EQ(sched[i].payload_row, want[i].second) << i; // session i takes payload row i
  }
  const auto t = recorded_timing(rec, 2.0, 3);
  EXPECT_DOUBLE_EQ(t.span_s, 9.0); // session 2: 0 .. 9 s
  EXPECT_DOUBLE_EQ(t.due_s, 4.5);
  EXPECT_EQ(t.multiply, 3u);
  EXPECT_TRUE(recorded_schedule(Recording{}, 1.0, 1).empty());
}

TEST(RecordedTest, RecordedPushesAreServerEventsByNamespaceAndName) {
  Message numeric = server_event("", "/chat");
  numeric.event = 42;
  Message client = server_event("echo");
  client.dir = Direction::client_to_server;
  Message ack = server_event("ignored");
  ack.type = sock::PacketType::ack;
  Message binary = server_event("blob");
  binary.type = sock::PacketType::binary_event;
  const Session s = session(1, 0, 10,
                            {server_event("news"), server_event("news"),
                             server_event("message", "/chat"), numeric, client, ack, binary});
  const std::map<std::string, std::uint64_t> want = {
      {"news", 2}, {"/chat message", 1}, {"/chat 42", 1}, {"blob", 1}};
  EXPECT_EQ(recorded_pushes(s), want);
  EXPECT_EQ(push_key("/", "x"), "x");
  EXPECT_EQ(push_key("", "x"), "x");
  EXPECT_EQ(push_key("/a", "x y"), "/a x y");
}

TEST(RecordedTest, ComparisonCountsMissingAndExtraPerSessionTimesCopies) {
  Recording rec;
  rec.sessions = {session(1, 0, 10, {server_event("news"), server_event("welcome")}),
                  session(2, 0, 10, {server_event("news")}), session(3, 0, 10)};
  std::map<std::string, PushTally> got;
  got["session-1"] = {3, 1, {{"news", 3}, {"welcome", 2}, {"surprise", 4}}};
  got["session-2"] = {2, 0, {{"news", 2}}};
  // session-3 never ran (an interrupted run): nothing expected of it.
  const PushComparison c = compare_pushes(rec, got);
  ASSERT_EQ(c.sessions.size(), 3u);
  const SessionPushes& s1 = c.sessions[0];
  EXPECT_EQ(s1.copies, 3u);
  EXPECT_EQ(s1.failed, 1u);
  EXPECT_EQ(s1.expected, 6u);
  EXPECT_EQ(s1.received, 9u);
  EXPECT_EQ(s1.missing, (std::map<std::string, std::uint64_t>{{"welcome", 1}}));
  EXPECT_EQ(s1.extra, (std::map<std::string, std::uint64_t>{{"surprise", 4}}));
  EXPECT_FALSE(s1.matches());
  EXPECT_TRUE(c.sessions[1].matches());
  EXPECT_TRUE(c.sessions[2].matches());
  EXPECT_EQ(c.sessions[2].copies, 0u);
  EXPECT_EQ(c.expected, 8u);
  EXPECT_EQ(c.received, 11u);
  EXPECT_EQ(c.missing, 1u);
  EXPECT_EQ(c.extra, 4u);
  EXPECT_EQ(c.matching, 2u);

  RecordedTiming t = recorded_timing(rec, 2.0, 3);
  const Json j = recorded_json(t, 1.25, c);
  EXPECT_EQ(j["multiply"], 3);
  EXPECT_EQ(j["pushes"]["expected"], 8);
  EXPECT_EQ(j["pushes"]["matchingSessions"], 2);
  EXPECT_EQ(j["elapsedSeconds"], 1.25);
  ASSERT_EQ(j["bySession"].size(), 3u);
  EXPECT_EQ(j["bySession"][0]["missing"]["welcome"], 1);
  EXPECT_EQ(j["bySession"][0]["extra"]["surprise"], 4);
  EXPECT_EQ(j["bySession"][0]["sid"], "sid1");

  const std::string text = recorded_summary(t, 1.25, c);
  EXPECT_NE(text.find("3 session(s) x 3 at --speed 2"), std::string::npos) << text;
  EXPECT_NE(text.find("expected 8, received 11 (missing 1, extra 4); 2 of 3 session(s) match"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("welcome x1 | surprise x4"), std::string::npos) << text;
  EXPECT_EQ(text.find("sid2"), std::string::npos) << "matching sessions are not listed";
}

TEST(RecordedTest, SummaryListsAtMostMaxRowsSessions) {
  Recording rec;
  std::map<std::string, PushTally> got;
  for (std::uint64_t i = 1; i <= 15; ++i) {
    rec.sessions.push_back(session(i, 0, 10, {server_event("news")}));
    got["session-" + std::to_string(i)] = {1, 0, {}};
  }
  const std::string text =
      recorded_summary(recorded_timing(rec, 1.0, 1), 1.0, compare_pushes(rec, got), 10);
  EXPECT_NE(text.find("... and 5 more session(s)"), std::string::npos) << text;
  EXPECT_NE(text.find("sid10 "), std::string::npos) << text;
  EXPECT_EQ(text.find("sid11 "), std::string::npos) << text;
}

TEST(RecordedTest, SummaryTableFoldsLargeCounterFamilies) {
  // One scenario per recorded session: 20 created_by_name counters become one line.
  Metrics m;
  for (int i = 1; i <= 20; ++i) m.count("vusers.created_by_name.session-" + std::to_string(i), 2);
  m.count("vusers.created_by_name.other", 0);
  m.count("socketio.push.news", 5);
  m.count("socketio.push", 5);
  const std::string table = summary_table(m, 1.0);
  EXPECT_NE(table.find("vusers.created_by_name.* (21)"), std::string::npos) << table;
  EXPECT_NE(table.find("40"), std::string::npos) << table;
  EXPECT_EQ(table.find("session-7"), std::string::npos) << table;
  EXPECT_NE(table.find("socketio.push.news"), std::string::npos) << "small families stay";
}

TEST(RecordedTest, ShardsMergeBySessionAndMissingCancelsExtra) {
  // Two shards of one run: session 1 ran once on each; shard A missed a "tick" that shard B got
  // twice (their sum is right), session 2 ran only on shard B and missed a "news".
  const auto part = [](double elapsed, Json sessions) {
    return Json{{"speed", 2.0},
                {"multiply", 2},
                {"sessions", 2},
                {"recordedSpanSeconds", 10.0},
                {"dueSeconds", 5.0},
                {"elapsedSeconds", elapsed},
                {"bySession", std::move(sessions)}};
  };
  const auto session = [](int id, int copies, int expected, int received, Json missing,
                          Json extra) {
    return Json{{"id", id},
                {"sid", "s" + std::to_string(id)},
                {"copies", copies},
                {"failed", 0},
                {"expected", expected},
                {"received", received},
                {"missing", std::move(missing)},
                {"extra", std::move(extra)}};
  };
  const Json a = part(5.5, Json::array({session(1, 1, 3, 2, {{"tick", 1}}, Json::object()),
                                        session(2, 0, 0, 0, Json::object(), Json::object())}));
  const Json b = part(6.0, Json::array({session(1, 1, 3, 4, Json::object(), {{"tick", 1}}),
                                        session(2, 2, 4, 3, {{"news", 1}}, Json::object())}));
  auto merged = merge_recorded_json({a, b});
  ASSERT_TRUE(merged) << merged.error().message();
  const Json& m = *merged;
  EXPECT_EQ(m["sessions"], 2);
  EXPECT_EQ(m["elapsedSeconds"], 6.0);
  EXPECT_EQ(m["speed"], 2.0);
  EXPECT_EQ(m["pushes"]["expected"], 10);
  EXPECT_EQ(m["pushes"]["received"], 9);
  EXPECT_EQ(m["pushes"]["missing"], 1);
  EXPECT_EQ(m["pushes"]["extra"], 0);
  EXPECT_EQ(m["pushes"]["matchingSessions"], 1);
  ASSERT_EQ(m["bySession"].size(), 2U);
  EXPECT_EQ(m["bySession"][0]["copies"], 2);
  EXPECT_TRUE(m["bySession"][0]["missing"].empty());
  EXPECT_TRUE(m["bySession"][0]["extra"].empty());
  EXPECT_EQ(m["bySession"][1]["missing"]["news"], 1);

  // Not shards of one run, or not the shape written by recorded_json: errors naming the part.
  Json other = b;
  other["multiply"] = 3;
  auto bad = merge_recorded_json({a, other});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("report 2"), std::string::npos) << bad.error().message();
  Json broken = b;
  broken["bySession"][0]["copies"] = "two";
  EXPECT_FALSE(merge_recorded_json({a, broken}));
  EXPECT_FALSE(merge_recorded_json({}));
}

} // namespace
} // namespace sio::replayer
