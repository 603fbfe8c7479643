/// The converter on recordings built in the test: emit forms, think times, loops, weights,
/// sticky cookies, secrets, and the limits real Artillery's validation puts on a scenario.

#include "sio/converter/converter.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace sio::converter {
namespace {

Message client(std::int64_t t_ms, const std::string& event, Json args, std::string nsp = "/",
               std::optional<std::uint64_t> ack = std::nullopt) {
  Message m;
  m.t_us = t_ms * 1000;
  m.dir = Direction::client_to_server;
  m.type = sock::PacketType::event;
  m.nsp = std::move(nsp);
  m.event = event;
  m.args = std::move(args);
  m.ack_id = ack;
  return m;
}

Message connect(std::int64_t t_ms, std::string nsp, std::optional<Json> auth = std::nullopt) {
  Message m;
  m.t_us = t_ms * 1000;
  m.dir = Direction::client_to_server;
  m.type = sock::PacketType::connect;
  m.nsp = std::move(nsp);
  m.data = std::move(auth);
  return m;
}

Session session(std::string sid, std::vector<Message> messages, std::int64_t start_s = 0) {
  Session s;
  s.id = 1;
  s.sid = std::move(sid);
  s.eio = 4;
  s.url = "http://127.0.0.1:3000/socket.io/";
  s.path = "/socket.io/";
  s.transports = {Transport::polling, Transport::websocket};
  s.upgraded = true;
  s.started_us = 1767225600000000 + start_s * 1000000;
  s.messages = std::move(messages);
  return s;
}

Recording recording(std::vector<Session> sessions) {
  Recording r;
  std::uint64_t id = 1;
  for (auto& s : sessions) s.id = id++;
  r.sessions = std::move(sessions);
  return r;
}

Conversion run(const Recording& r, ConvertOptions o = {}) {
  auto c = convert(r, o);
  EXPECT_TRUE(c) << (c ? "" : c.error().message());
  return c ? std::move(*c) : Conversion{};
}

YAML::Node flow_of(const Conversion& c, std::size_t scenario = 0) {
  return YAML::Load(c.yaml)["scenarios"][scenario]["flow"];
}

/// What Artillery 2.x's validate-script checks on socketio flows: at most 4 keys per step,
/// emit arrays of strings only, emit objects with a string channel.
void expect_artillery_valid(const YAML::Node& flow) {
  for (const auto& step : flow) {
    ASSERT_TRUE(step.IsMap());
    EXPECT_LE(step.size(), 4u);
    if (step["loop"]) expect_artillery_valid(step["loop"]);
    if (const auto e = step["emit"]) {
      if (e.IsSequence()) {
        for (const auto& a : e) {
          EXPECT_TRUE(a.IsScalar());
          EXPECT_EQ(a.Tag(), "!") << "a quoted string";
        }
      } else {
        ASSERT_TRUE(e.IsMap());
        EXPECT_TRUE(e["channel"].IsScalar());
      }
    }
  }
}

TEST(ConverterTest, EmitFormsFollowWhatArtilleryAccepts) {
  const auto r =
      recording({session("A", {connect(0, "/"), client(100, "strings", Json::array({"a", "b"})),
                               client(200, "one-object", Json::array({Json{{"k", 1}}})),
                               client(300, "mixed", Json::array({"x", 42, Json::array({1, 2})})),
                               client(400, "none", Json::array())})});
  const auto c = run(r);
  const auto flow = flow_of(c);
  expect_artillery_valid(flow);
  // think 100ms, emit, think, emit, think, emit, think, emit
  ASSERT_EQ(flow.size(), 8u);
  EXPECT_EQ(flow[0]["think"].as<std::string>(), "100ms");
  EXPECT_EQ(flow[1]["emit"][0].as<std::string>(), "strings");
  EXPECT_EQ(flow[1]["emit"][2].as<std::string>(), "b");
  EXPECT_EQ(flow[3]["emit"]["channel"].as<std::string>(), "one-object");
  EXPECT_EQ(flow[3]["emit"]["data"]["k"].as<int>(), 1);
  // Several arguments, not all strings: the array form with "{{ arg_N }}" variables holding the
  // typed values (wrapped in a one-element list, so "pick one per user" yields the value).
  EXPECT_EQ(flow[5]["emit"][1].as<std::string>(), "x");
  EXPECT_EQ(flow[5]["emit"][2].as<std::string>(), "{{ arg_1 }}");
  EXPECT_EQ(flow[5]["emit"][3].as<std::string>(), "{{ arg_2 }}");
  const auto vars = YAML::Load(c.yaml)["config"]["variables"];
  EXPECT_EQ(vars["arg_1"][0].as<int>(), 42);
  EXPECT_EQ(vars["arg_2"][0][1].as<int>(), 2);
  EXPECT_EQ(flow[7]["emit"].size(), 1u);
}

TEST(ConverterTest, NamespaceIsASiblingOfEmitAndAcksAreAcknowledged) {
  const auto r = recording({session("A", {connect(0, "/"), connect(0, "/chat"),
                                          client(0, "join", Json::array({"room"}), "/chat", 0)})});
  ConvertOptions o;
  o.think = *parse_think_policy("none");
  const auto flow = flow_of(run(r, o));
  ASSERT_EQ(flow.size(), 1u);
  EXPECT_EQ(flow[0]["namespace"].as<std::string>(), "/chat");
  EXPECT_TRUE(flow[0]["acknowledge"].IsMap());
  EXPECT_FALSE(flow[0]["emit"]["namespace"]);
}

TEST(ConverterTest, MatchAcksUsesTheRecordedAck) {
  Message ack;
  ack.t_us = 5000;
  ack.dir = Direction::server_to_client;
  ack.type = sock::PacketType::ack;
  ack.ack_id = 3;
  ack.args = Json::array({"ok"});
  const auto r =
      recording({session("A", {connect(0, "/"), client(0, "q", Json::array(), "/", 3), ack})});
  ConvertOptions o;
  o.match_acks = true;
  const auto flow = flow_of(run(r, o));
  EXPECT_EQ(flow[0]["acknowledge"]["args"][0].as<std::string>(), "ok");
}

TEST(ConverterTest, ThinkPolicies) {
  const auto r = recording(
      {session("A", {connect(0, "/"), client(2000, "a", Json::array()),
                     client(2250, "b", Json::array()), client(9250, "c", Json::array())})});
  auto thinks = [&](const std::string& policy) {
    ConvertOptions o;
    o.think = *parse_think_policy(policy);
    std::vector<std::string> out;
    for (const auto& step : flow_of(run(r, o)))
      if (step["think"]) out.push_back(step["think"].as<std::string>());
    return out;
  };
  EXPECT_EQ(thinks("keep"), (std::vector<std::string>{"2", "250ms", "7"}));
  EXPECT_EQ(thinks("max=1s"), (std::vector<std::string>{"1", "250ms", "1"}));
  EXPECT_EQ(thinks("scale=0.5"), (std::vector<std::string>{"1", "125ms", "3500ms"}));
  EXPECT_EQ(thinks("none"), std::vector<std::string>{});
  EXPECT_FALSE(parse_think_policy("max=abc"));
  EXPECT_FALSE(parse_think_policy("scale=-1"));
  EXPECT_FALSE(parse_think_policy("sometimes"));
  // Whole seconds are integers; anything else a string with a unit (0.5 would become 0 ms).
  EXPECT_TRUE(format_think(3000).is_integer);
  EXPECT_EQ(format_think(1500).text, "1500ms");
  EXPECT_EQ(*parse_duration_ms("2m"), 120000);
  EXPECT_EQ(*parse_duration_ms("1.5s"), 1500);
}

TEST(ConverterTest, RepeatedEmitsBecomeALoop) {
  std::vector<Message> ms{connect(0, "/")};
  for (int i = 0; i < 5; ++i) ms.push_back(client(100 * (i + 1), "tick", Json::array({"x"})));
  ms.push_back(client(1000, "bye", Json::array()));
  const auto flow = flow_of(run(recording({session("A", ms)})));
  expect_artillery_valid(flow);
  ASSERT_EQ(flow.size(), 3u) << YAML::Dump(flow);
  ASSERT_TRUE(flow[0]["loop"]);
  EXPECT_EQ(flow[0]["count"].as<int>(), 5);
  EXPECT_EQ(flow[0]["loop"].size(), 2u); // think 100ms + emit
  EXPECT_EQ(flow[0]["loop"][1]["emit"][0].as<std::string>(), "tick");
}

TEST(ConverterTest, IdenticalSessionsMergeIntoOneWeightedScenario) {
  const std::vector<Message> a{connect(0, "/"), client(100, "x", Json::array())};
  const std::vector<Message> b{connect(0, "/"), client(100, "y", Json::array())};
  const auto c = run(recording({session("1", a, 0), session("2", b, 1), session("3", a, 2)}));
  const auto doc = YAML::Load(c.yaml);
  ASSERT_EQ(doc["scenarios"].size(), 2u);
  EXPECT_EQ(doc["scenarios"][0]["weight"].as<int>(), 2);
  EXPECT_EQ(doc["scenarios"][1]["weight"].as<int>(), 1);
  // One phase reproducing the recorded arrivals: 3 sessions over 2 s.
  EXPECT_EQ(doc["config"]["phases"][0]["arrivalCount"].as<int>(), 3);
  EXPECT_EQ(doc["config"]["phases"][0]["duration"].as<int>(), 2);
  ConvertOptions o;
  o.scale = 4;
  EXPECT_EQ(
      YAML::Load(run(recording({session("1", a, 0), session("2", b, 1), session("3", a, 2)}), o)
                     .yaml)["config"]["phases"][0]["arrivalCount"]
          .as<int>(),
      12);
}

TEST(ConverterTest, PerSessionKeepsEverySessionWithItsTimingToTheEnd) {
  // Recorded-timing replay: identical sessions stay apart, a session without client events is
  // kept, gaps are scaled by the think policy, and a last think runs to the recorded end.
  const std::vector<Message> a{connect(0, "/"), client(1000, "x", Json::array())};
  Session quiet = session("q", {connect(0, "/")}, 1);
  quiet.duration_us = 3'000'000;
  Session s1 = session("1", a, 0);
  s1.duration_us = 5'000'000;
  Session s3 = session("3", a, 2);
  s3.duration_us = 1'000'000; // ends right after its emit: no last think
  ConvertOptions o;
  o.per_session = true;
  o.think.kind = ThinkPolicy::Kind::scale;
  o.think.factor = 0.5;
  const auto c = run(recording({s1, quiet, s3}), o);
  const auto doc = YAML::Load(c.yaml);
  ASSERT_EQ(doc["scenarios"].size(), 3u);
  EXPECT_EQ(doc["scenarios"][0]["name"].as<std::string>(), "session-1");
  EXPECT_EQ(doc["scenarios"][1]["name"].as<std::string>(), "session-2");
  EXPECT_EQ(doc["scenarios"][2]["name"].as<std::string>(), "session-3");
  const auto f1 = flow_of(c, 0);
  ASSERT_EQ(f1.size(), 3u) << c.yaml;
  EXPECT_EQ(f1[0]["think"].as<std::string>(), "500ms");
  EXPECT_TRUE(f1[1]["emit"]);
  EXPECT_EQ(f1[2]["think"].as<int>(), 2); // (5 s - 1 s) x 0.5
  const auto f2 = flow_of(c, 1);
  ASSERT_EQ(f2.size(), 1u) << c.yaml;
  EXPECT_EQ(f2[0]["think"].as<std::string>(), "1500ms");
  EXPECT_EQ(flow_of(c, 2).size(), 2u) << c.yaml;
}

Session with_cookies(Session s) {
  CookieRecord set;
  set.kind = CookieRecord::Kind::set;
  set.name = "AWSALB";
  set.value = "abc123";
  set.engineio = true;
  s.cookies.push_back(set);
  CookieRecord sent = set;
  sent.kind = CookieRecord::Kind::sent;
  sent.name = "app_session";
  sent.value = "s3cr3t";
  s.cookies.push_back(sent);
  CookieRecord io = sent;
  io.name = "io";
  s.cookies.push_back(io);
  s.headers.emplace_back("Authorization", "Bearer xyz");
  s.headers.emplace_back("X-Client", "web");
  s.query.emplace_back("token", "qtok");
  s.query.emplace_back("room", "lobby");
  return s;
}

TEST(ConverterTest, StickyCookieAndSecretsAreParameterized) {
  const auto r = recording({with_cookies(session(
      "A", {connect(0, "/", Json{{"token", "secret-abc"}}), client(10, "x", Json::array())}))});
  const auto c = run(r);
  EXPECT_EQ(c.sticky, std::vector<std::string>{"AWSALB"});
  // No secret in the YAML...
  for (const char* secret : {"secret-abc", "s3cr3t", "Bearer xyz", "qtok"})
    EXPECT_EQ(c.yaml.find(secret), std::string::npos) << secret;
  // ...but in the CSV, one row per session.
  EXPECT_EQ(c.csv, "auth_token,header_authorization,cookie_app_session,query_token\n"
                   "secret-abc,Bearer xyz,s3cr3t,qtok\n");
  const auto doc = YAML::Load(c.yaml);
  EXPECT_EQ(doc["config"]["variables"]["AWSALB"][0].as<std::string>(), "abc123");
  EXPECT_EQ(doc["config"]["payload"]["order"].as<std::string>(), "sequence");
  EXPECT_TRUE(doc["config"]["payload"]["skipHeader"].as<bool>());
  EXPECT_EQ(doc["config"]["socketio"]["query"]["room"].as<std::string>(), "lobby");
  EXPECT_FALSE(doc["config"]["socketio"]["withCredentials"]) << "it breaks the Cookie header on ws";
  // Per-user values in the scenario-level block (the config-level one would send "undefined").
  const auto sio = doc["scenarios"][0]["socketio"];
  EXPECT_EQ(sio["extraHeaders"]["Cookie"].as<std::string>(),
            "AWSALB={{ AWSALB }}; app_session={{ cookie_app_session }}");
  EXPECT_EQ(sio["extraHeaders"]["Authorization"].as<std::string>(), "{{ header_authorization }}");
  EXPECT_EQ(sio["extraHeaders"]["X-Client"].as<std::string>(), "web");
  EXPECT_EQ(sio["auth"]["token"].as<std::string>(), "{{ auth_token }}");
  EXPECT_EQ(sio["query"]["token"].as<std::string>(), "{{ query_token }}");
  EXPECT_NE(c.yaml.find("# Secrets moved to scenario.csv"), std::string::npos);
  EXPECT_NE(c.yaml.find("learns the cookie live"), std::string::npos);
}

TEST(ConverterTest, InlineSecretsAndNoSticky) {
  const auto r = recording({with_cookies(session(
      "A", {connect(0, "/", Json{{"token", "secret-abc"}}), client(10, "x", Json::array())}))});
  ConvertOptions o;
  o.inline_secrets = true;
  o.no_sticky = true;
  const auto c = run(r, o);
  EXPECT_TRUE(c.csv.empty());
  EXPECT_TRUE(c.sticky.empty());
  const auto doc = YAML::Load(c.yaml);
  EXPECT_FALSE(doc["config"]["payload"]);
  EXPECT_EQ(doc["scenarios"][0]["socketio"]["auth"]["token"].as<std::string>(), "secret-abc");
  // AWSALB is now an ordinary cookie the Engine.IO handshake set: left to the client.
  EXPECT_EQ(doc["scenarios"][0]["socketio"]["extraHeaders"]["Cookie"].as<std::string>(),
            "app_session=s3cr3t");
}

TEST(ConverterTest, UserNamedStickyCookie) {
  auto s = session("A", {connect(0, "/"), client(10, "x", Json::array())});
  CookieRecord c;
  c.kind = CookieRecord::Kind::set;
  c.name = "backend";
  c.value = "n2";
  s.cookies.push_back(c);
  ConvertOptions o;
  o.sticky_cookies = {"backend", "missing"};
  const auto out = run(recording({s}), o);
  EXPECT_EQ(YAML::Load(out.yaml)["config"]["variables"]["backend"][0].as<std::string>(), "n2");
  ASSERT_FALSE(out.warnings.empty());
  EXPECT_NE(out.warnings[0].find("missing"), std::string::npos);
}

TEST(ConverterTest, RefusedNamespacesAndUnreplayablePacketsAreListed) {
  Message refused;
  refused.dir = Direction::server_to_client;
  refused.type = sock::PacketType::connect_error;
  refused.nsp = "/admin";
  refused.t_us = 1000;
  Message cack;
  cack.dir = Direction::client_to_server;
  cack.type = sock::PacketType::ack;
  cack.ack_id = 0;
  cack.t_us = 2000;
  const auto c = run(recording({session("A", {connect(0, "/"), connect(0, "/admin"), refused,
                                              client(1, "in-admin", Json::array(), "/admin"), cack,
                                              client(3, "ok", Json::array())})}));
  const auto flow = flow_of(c);
  for (const auto& step : flow)
    if (step["emit"]) {
      EXPECT_NE(step["emit"][0].as<std::string>(), "in-admin");
    }
  EXPECT_NE(c.yaml.find("refused namespace(s) /admin"), std::string::npos);
  EXPECT_NE(c.yaml.find("1 client ACK"), std::string::npos);
}

TEST(ConverterTest, TransportsAndTargetAsRecorded) {
  auto s = session("A", {connect(0, "/"), client(1, "x", Json::array())});
  s.transports = {Transport::websocket};
  s.url = "https://example.test:8443/io/";
  s.path = "/io/";
  auto doc = YAML::Load(run(recording({s})).yaml);
  EXPECT_EQ(doc["config"]["target"].as<std::string>(), "https://example.test:8443");
  EXPECT_EQ(doc["config"]["socketio"]["path"].as<std::string>(), "/io/");
  EXPECT_EQ(doc["config"]["socketio"]["transports"][0].as<std::string>(), "websocket");
  ConvertOptions o;
  o.target = "http://127.0.0.1:9";
  o.arrival_rate = 5;
  o.duration_s = 30;
  doc = YAML::Load(run(recording({s}), o).yaml);
  EXPECT_EQ(doc["config"]["target"].as<std::string>(), "http://127.0.0.1:9");
  EXPECT_EQ(doc["config"]["phases"][0]["arrivalRate"].as<double>(), 5.0);
  EXPECT_EQ(doc["config"]["phases"][0]["duration"].as<int>(), 30);
}

TEST(ConverterTest, EngineIoV3RecordingsSayEio3) {
  // A Socket.IO 2.x server: the replayer must speak Engine.IO 3 from the first request (a
  // websocket-only user has no polling handshake to detect it from); Artillery cannot.
  auto s = session("A", {client(1, "x", Json::array())});
  s.eio = 3;
  const Conversion c = run(recording({s}));
  auto doc = YAML::Load(c.yaml);
  EXPECT_EQ(doc["config"]["socketio"]["eio"].as<int>(), 3);
  bool warned = false;
  for (const auto& w : c.warnings) warned |= w.find("Engine.IO 3") != std::string::npos;
  EXPECT_TRUE(warned);
  s.eio = 4;
  doc = YAML::Load(run(recording({s})).yaml);
  EXPECT_FALSE(doc["config"]["socketio"]["eio"]);
}

TEST(ConverterTest, OutputIsDeterministic) {
  const auto r = recording({with_cookies(session(
      "A", {connect(0, "/", Json{{"token", "t"}}), client(10, "x", Json::array({1, "two"}))}))});
  EXPECT_EQ(run(r).yaml, run(r).yaml);
}

TEST(ConverterTest, NothingToReplayIsAnError) {
  EXPECT_FALSE(convert(Recording{}, {}));
  EXPECT_FALSE(convert(recording({session("A", {connect(0, "/")})}), {}));
}

} // namespace
} // namespace sio::converter
