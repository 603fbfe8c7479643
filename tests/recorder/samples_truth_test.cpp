/// The recorder against real browser HARs: the recording's messages must equal the events the
/// app itself logged (truth.json), in order per direction. Where a HAR producer lost data, the
/// test pins exactly what was lost and that the recording says so in its diagnostics.

#include "../support/paths.hpp"
#include "../support/truth.hpp"

#include "sio/common/file_io.hpp"
#include "sio/common/session_json.hpp"
#include "sio/recorder/recorder.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace sio::recorder {
namespace {

Recording record_one(const std::string& rel) {
  RecordOptions o;
  o.inputs = {test::sample(rel)};
  std::vector<InputStats> stats;
  auto rec = record(o, stats);
  if (!rec) ADD_FAILURE() << rec.error().message();
  return rec ? std::move(*rec) : Recording{};
}

std::size_t count_kind(const Recording& rec, const std::string& kind) {
  std::size_t n = 0;
  for (const auto& d : rec.diagnostics) n += d.kind == kind ? 1u : 0u;
  return n;
}

class DevtoolsHar : public ::testing::TestWithParam<const char*> {};

TEST_P(DevtoolsHar, MessagesEqualTruthInOrder) {
  const std::string kase = GetParam();
  const Recording rec = record_one("har/" + kase + "/devtools.har");
  ASSERT_EQ(rec.sessions.size(), 1u);
  EXPECT_TRUE(rec.diagnostics.empty())
      << rec.diagnostics.front().where << ": " << rec.diagnostics.front().what;
  const Session& s = rec.sessions[0];
  const auto truth = test::load_truth(test::sample("har/" + kase + "/truth.json"));
  ASSERT_EQ(s.messages.size(), truth.size());
  for (const char* dir : {"client->server", "server->client"}) {
    const auto d = test::compare_direction(truth, s, dir);
    EXPECT_EQ(d.truth_count, d.recorded_count) << dir;
    EXPECT_TRUE(d.mismatched.empty()) << d.first_difference;
  }
  // Times: each message within 250 ms of when the app logged it (the app logs when it encodes
  // or decodes; the HAR when the request started or the frame crossed the socket).
  std::size_t i[2] = {0, 0};
  std::vector<const test::TruthEvent*> by_dir[2];
  for (const auto& e : truth) by_dir[e.dir == "client->server" ? 0 : 1].push_back(&e);
  for (const auto& m : s.messages) {
    const int side = m.dir == Direction::client_to_server ? 0 : 1;
    const auto* e = by_dir[side][i[side]++];
    const double at_ms = static_cast<double>(s.started_us + m.t_us) / 1000.0;
    EXPECT_LT(std::abs(at_ms - e->t_ms), 250.0) << e->key.dump();
  }
  // The engine session and its transports.
  EXPECT_FALSE(s.sid.empty());
  EXPECT_EQ(s.eio, 4);
  EXPECT_EQ(s.path, "/socket.io/");
  ASSERT_TRUE(s.handshake.has_value());
  EXPECT_EQ((*s.handshake)["sid"], s.sid);
  EXPECT_FALSE(s.user_agent.empty());
}

INSTANTIATE_TEST_SUITE_P(Samples, DevtoolsHar, ::testing::Values("a1", "a2", "a3"));

TEST(SamplesTruthTest, A1UpgradesFromPollingToWebsocket) {
  const Recording rec = record_one("har/a1/devtools.har");
  ASSERT_EQ(rec.sessions.size(), 1u);
  const Session& s = rec.sessions[0];
  ASSERT_EQ(s.transports.size(), 2u);
  EXPECT_EQ(s.transports[0], Transport::polling);
  EXPECT_EQ(s.transports[1], Transport::websocket);
  EXPECT_TRUE(s.upgraded);
  EXPECT_EQ(s.engine.probe, 2u); // 2probe + 3probe
  EXPECT_EQ(s.engine.upgrade, 1u);
  bool polling = false, websocket = false;
  for (const auto& m : s.messages) {
    polling |= m.transport == Transport::polling;
    websocket |= m.transport == Transport::websocket;
  }
  EXPECT_TRUE(polling && websocket);
}

TEST(SamplesTruthTest, A1CookiesFromPageAndHandshake) {
  const Recording rec = record_one("har/a1/devtools.har");
  ASSERT_EQ(rec.sessions.size(), 1u);
  const Session& s = rec.sessions[0];
  auto find = [&](CookieRecord::Kind kind, const std::string& name) -> const CookieRecord* {
    for (const auto& c : s.cookies)
      if (c.kind == kind && c.name == name) return &c;
    return nullptr;
  };
  // Set by the page (not Engine.IO) and by the Engine.IO handshake (truth.cookies.set_by_servers).
  const auto* app = find(CookieRecord::Kind::set, "app_session");
  ASSERT_NE(app, nullptr);
  EXPECT_FALSE(app->engineio);
  EXPECT_NE(app->attributes.find("HttpOnly"), std::string::npos);
  const auto* io = find(CookieRecord::Kind::set, "io");
  ASSERT_NE(io, nullptr);
  EXPECT_TRUE(io->engineio);
  EXPECT_EQ(io->value, s.sid);
  EXPECT_NE(io->url.find("EIO=4"), std::string::npos);
  ASSERT_NE(find(CookieRecord::Kind::set, "uid"), nullptr);
  // Sent on the Engine.IO requests, counted once per name=value.
  const auto* sent = find(CookieRecord::Kind::sent, "app_session");
  ASSERT_NE(sent, nullptr);
  EXPECT_GT(sent->count, 1u);
  // The page's own requests are kept as HTTP exchanges.
  bool document = false;
  for (const auto& h : s.http) document |= h.resource_type == "document";
  EXPECT_TRUE(document);
}

TEST(SamplesTruthTest, A2RouteCookieOfTheStickyBalancer) {
  const Recording rec = record_one("har/a2/devtools.har");
  ASSERT_EQ(rec.sessions.size(), 1u);
  const Session& s = rec.sessions[0];
  bool set = false, sent = false;
  for (const auto& c : s.cookies) {
    if (c.name != "route") continue;
    set |= c.kind == CookieRecord::Kind::set;
    sent |= c.kind == CookieRecord::Kind::sent && c.engineio;
  }
  EXPECT_TRUE(set) << "HAProxy's Set-Cookie: route=... on the first response";
  EXPECT_TRUE(sent) << "the browser's Cookie: route=... on the Engine.IO requests";
}

TEST(SamplesTruthTest, PlaywrightHarDropsTheZeroLengthFrame) {
  // Playwright's recordHar drops zero-length binary frames: the 3rd attachment of
  // "mixed-binary" never reaches the HAR. The recording keeps the packet with its placeholder
  // and says so; every other message equals the truth.
  const Recording rec = record_one("har/a1/playwright.har");
  ASSERT_EQ(rec.sessions.size(), 1u);
  const Session& s = rec.sessions[0];
  const auto truth = test::load_truth(test::sample("har/a1/truth.json"));
  const auto c2s = test::compare_direction(truth, s, "client->server");
  EXPECT_EQ(c2s.truth_count, c2s.recorded_count);
  ASSERT_EQ(c2s.mismatched.size(), 1u) << c2s.first_difference;
  const auto s2c = test::compare_direction(truth, s, "server->client");
  EXPECT_TRUE(s2c.mismatched.empty()) << s2c.first_difference;
  const Message* mixed = nullptr;
  for (const auto& m : s.messages)
    if (m.event && *m.event == "mixed-binary") mixed = &m;
  ASSERT_NE(mixed, nullptr);
  EXPECT_NE(mixed->args->dump().find("_placeholder"), std::string::npos);
  ASSERT_EQ(count_kind(rec, "missing_attachments"), 1u);
  EXPECT_NE(rec.diagnostics[0].where.find("_webSocketMessages"), std::string::npos);
}

TEST(SamplesTruthTest, ChromeHarHasNoWebsocketEntryNorResponseBodies) {
  // chrome-har discards Network.webSocket* events and, by default, response bodies: only the
  // client's first polling POSTs survive. They equal the start of the truth, and each missing
  // body is listed in the diagnostics.
  const Recording rec = record_one("har/a1/chrome-har.har");
  ASSERT_EQ(rec.sessions.size(), 1u);
  const Session& s = rec.sessions[0];
  const auto truth = test::load_truth(test::sample("har/a1/truth.json"));
  const auto c2s = test::compare_direction(truth, s, "client->server");
  ASSERT_GT(c2s.recorded_count, 0u);
  ASSERT_LT(c2s.recorded_count, c2s.truth_count);
  for (const auto i : c2s.mismatched) EXPECT_GE(i, c2s.recorded_count) << c2s.first_difference;
  const auto s2c = test::compare_direction(truth, s, "server->client");
  EXPECT_EQ(s2c.recorded_count, 0u);
  EXPECT_EQ(count_kind(rec, "missing_body"), 4u);
  EXPECT_EQ(rec.diagnostics.size(), 4u);
}

TEST(SamplesTruthTest, OutputIsDeterministic) {
  std::string first, second;
  for (std::string* out : {&first, &second}) {
    const Recording rec = record_one("har/a1/devtools.har");
    *out = recording_text(rec);
  }
  EXPECT_EQ(first, second);
}

TEST(SamplesTruthTest, SeveralInputsGiveSeveralSessionsInTimeOrder) {
  RecordOptions o;
  o.inputs = {test::sample("har/a3/devtools.har"), test::sample("har/a1/devtools.har")};
  std::vector<InputStats> stats;
  auto rec = record(o, stats);
  ASSERT_TRUE(rec) << rec.error().message();
  ASSERT_EQ(rec->sessions.size(), 2u);
  EXPECT_LE(rec->sessions[0].started_us, rec->sessions[1].started_us);
  EXPECT_EQ(rec->sessions[0].id, 1u);
  EXPECT_EQ(rec->sessions[1].id, 2u);
  EXPECT_EQ(stats.size(), 2u);
}

TEST(SamplesTruthTest, RecordingRoundTripsThroughJsonLines) {
  const Recording rec = record_one("har/a1/devtools.har");
  const std::string text = recording_text(rec);
  auto back = read_recording(text, "a1.jsonl");
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_EQ(back->sessions.size(), 1u);
  const auto truth = test::load_truth(test::sample("har/a1/truth.json"));
  for (const char* dir : {"client->server", "server->client"}) {
    const auto d = test::compare_direction(truth, back->sessions[0], dir);
    EXPECT_TRUE(d.mismatched.empty()) << d.first_difference;
  }
}

} // namespace
} // namespace sio::recorder
