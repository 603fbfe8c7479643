#include "sio/replayer/script.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

namespace fs = std::filesystem;
using sio::errc;
using sio::Json;
using sio::replayer::load_script;
using sio::replayer::LoadOptions;
using sio::replayer::parse_duration_s;
using sio::replayer::Script;
using sio::replayer::SocketIoOptions;
using sio::replayer::Step;

/// A fresh directory per test, removed afterwards.
class ScriptTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = "/tmp/sio_script_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  [[nodiscard]] std::string path(const std::string& name) const { return dir_ + "/" + name; }
  void write(const std::string& name, const std::string& bytes) const {
    std::ofstream f(path(name), std::ios::binary);
    f << bytes;
  }
  sio::Result<Script> load(const std::string& yaml, const LoadOptions& o = {}) {
    write("s.yml", yaml);
    return load_script(path("s.yml"), o);
  }
  /// Loads and expects success.
  Script ok(const std::string& yaml, const LoadOptions& o = {}) {
    auto r = load(yaml, o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
    if (!r.ok()) return {};
    return std::move(r).value();
  }
  /// Loads and expects failure; returns the message.
  std::string err(const std::string& yaml, const LoadOptions& o = {}) {
    auto r = load(yaml, o);
    EXPECT_FALSE(r.ok()) << yaml;
    if (r.ok()) return {};
    return r.error().message();
  }
  /// "<dir>/s.yml:LINE: ..."
  [[nodiscard]] std::string at(int line) const {
    return path("s.yml") + ":" + std::to_string(line) + ": ";
  }

  std::string dir_;
};

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

/// Wraps a flow (already indented by 6) into a full script.
std::string with_flow(const std::string& flow) {
  return "config:\n"
         "  target: \"http://localhost:3000\"\n"
         "scenarios:\n"
         "  - engine: socketio\n"
         "    flow:\n" +
         flow;
}

// ---- a complete script ------------------------------------------------------------------------

TEST_F(ScriptTest, LoadsAFullScript) {
  const Script s = ok(R"(config:
  target: "https://chat.example.com"
  timeout: 7
  tls:
    rejectUnauthorized: false
  phases:
    - name: ramp
      duration: 60
      arrivalRate: 1
      rampTo: 20
    - name: steady
      duration: "5m"
      arrivalRate: 20
      maxVusers: 400
    - pause: 10
    - duration: 2
      arrivalCount: 7
  variables:
    room: ["lobby", "games"]
  socketio:
    transports: ["websocket"]
    path: "/socket.io"
    query:
      client: "replay"
    extraHeaders:
      Cookie: "route={{ route }}"
    auth:
      token: "{{ token }}"
scenarios:
  - name: "session-replay"
    engine: socketio
    weight: 3
    socketio:
      query: "a=1&b=2"
    flow:
      - emit:
          channel: "join"
          data:
            room: "{{ room }}"
        acknowledge:
          match:
            json: "$.0.ok"
            value: true
      - think: "750ms"
      - emit: ["chat", "{{ room }}", "hello"]
        response:
          on: "chat:echo"
          args: ["{{ room }}", "hello"]
      - namespace: "/presence"
        emit:
          channel: "status"
          data: "online"
        response:
          channel: "status:ok"
          data: "online"
          capture:
            json: "$.0"
            as: "presenceReply"
      - loop:
          - emit:
              channel: "ping"
              data: "{{ $loopCount }}"
          - think: 2
        count: 3
      - log: "done {{ room }}"
  - flow: []
)");
  EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
  EXPECT_EQ(s.file, path("s.yml"));
  EXPECT_EQ(s.target, "https://chat.example.com");
  EXPECT_EQ(s.timeout_s, 7);
  EXPECT_FALSE(s.tls_reject_unauthorized);
  ASSERT_EQ(s.phases.size(), 4u);
  EXPECT_EQ(s.phases[0].name, "ramp");
  EXPECT_EQ(s.phases[0].duration_s, 60);
  EXPECT_EQ(s.phases[0].arrival_rate, 1);
  EXPECT_EQ(s.phases[0].ramp_to, 20);
  EXPECT_EQ(s.phases[1].duration_s, 300);
  EXPECT_EQ(s.phases[1].max_vusers, 400);
  EXPECT_FALSE(s.phases[1].ramp_to);
  EXPECT_TRUE(s.phases[2].pause);
  EXPECT_EQ(s.phases[2].duration_s, 10);
  EXPECT_EQ(s.phases[3].arrival_count, 7);
  EXPECT_EQ(s.variables, Json::parse(R"({"room":["lobby","games"]})"));
  ASSERT_TRUE(s.socketio.transports);
  EXPECT_EQ(*s.socketio.transports, std::vector<std::string>{"websocket"});
  EXPECT_EQ(s.socketio.path, "/socket.io");
  EXPECT_EQ(*s.socketio.query, Json::parse(R"({"client":"replay"})"));
  EXPECT_EQ(*s.socketio.extra_headers, Json::parse(R"({"Cookie":"route={{ route }}"})"));
  EXPECT_EQ(*s.socketio.auth, Json::parse(R"({"token":"{{ token }}"})"));

  ASSERT_EQ(s.scenarios.size(), 2u);
  const auto& sc = s.scenarios[0];
  EXPECT_EQ(sc.name, "session-replay");
  EXPECT_EQ(sc.weight, 3);
  EXPECT_EQ(*sc.socketio.query, "a=1&b=2");
  EXPECT_FALSE(sc.socketio.path);
  ASSERT_EQ(sc.flow.size(), 6u);

  const Step& join = sc.flow[0];
  EXPECT_EQ(join.kind, Step::Kind::emit);
  EXPECT_EQ(join.line, 36);
  EXPECT_EQ(join.channel, "join");
  EXPECT_EQ(join.args, Json::parse(R"([{"room":"{{ room }}"}])"));
  EXPECT_EQ(join.nsp, "");
  ASSERT_TRUE(join.acknowledge);
  EXPECT_FALSE(join.acknowledge->data);
  ASSERT_EQ(join.acknowledge->matches.size(), 1u);
  EXPECT_EQ(join.acknowledge->matches[0].json, "$.0.ok");
  EXPECT_EQ(*join.acknowledge->matches[0].value, true);
  EXPECT_FALSE(join.response);

  EXPECT_EQ(sc.flow[1].kind, Step::Kind::think);
  EXPECT_EQ(sc.flow[1].think_ms, 750);
  EXPECT_EQ(sc.flow[1].line, 44);

  const Step& chat = sc.flow[2];
  EXPECT_EQ(chat.channel, "chat");
  EXPECT_EQ(chat.args, Json::parse(R"(["{{ room }}","hello"])"));
  ASSERT_TRUE(chat.response);
  EXPECT_EQ(chat.response->channel, "chat:echo");
  EXPECT_EQ(*chat.response->data, Json::parse(R"(["{{ room }}","hello"])"));
  EXPECT_FALSE(chat.acknowledge);

  const Step& status = sc.flow[3];
  EXPECT_EQ(status.nsp, "/presence");
  EXPECT_EQ(status.args, Json::parse(R"(["online"])"));
  EXPECT_EQ(status.response->channel, "status:ok");
  EXPECT_EQ(*status.response->data, "online");
  ASSERT_EQ(status.response->captures.size(), 1u);
  EXPECT_EQ(status.response->captures[0].json, "$.0");
  EXPECT_EQ(status.response->captures[0].as, "presenceReply");

  const Step& loop = sc.flow[4];
  EXPECT_EQ(loop.kind, Step::Kind::loop);
  EXPECT_EQ(loop.count, 3);
  EXPECT_FALSE(loop.over);
  ASSERT_EQ(loop.steps.size(), 2u);
  EXPECT_EQ(loop.steps[0].args, Json::parse(R"(["{{ $loopCount }}"])"));
  EXPECT_EQ(loop.steps[0].line, 60);
  EXPECT_EQ(loop.steps[1].think_ms, 2000);

  EXPECT_EQ(sc.flow[5].kind, Step::Kind::log);
  EXPECT_EQ(sc.flow[5].message, "done {{ room }}");

  EXPECT_EQ(s.scenarios[1].name, "scenario-1");
  EXPECT_EQ(s.scenarios[1].weight, 1);
  EXPECT_TRUE(s.scenarios[1].flow.empty());
}

// ---- YAML syntax and files ----------------------------------------------------------------------

TEST_F(ScriptTest, YamlSyntaxErrorNamesLineAndColumn) {
  auto r = load("config:\n  target: x\n  phases: [1, 2\nscenarios: []\n");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::bad_json));
  EXPECT_EQ(r.error().context.rfind(path("s.yml") + ":4:", 0), 0u) << r.error().context;
  EXPECT_TRUE(contains(r.error().context, "end of sequence flow not found")) << r.error().context;

  auto r2 = load("config:\n  target: 1\n    bad: 2\n");
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().context.rfind(path("s.yml") + ":3:", 0), 0u) << r2.error().context;
}

TEST_F(ScriptTest, FileErrors) {
  auto missing = load_script(path("nope.yml"));
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(contains(missing.error().message(), path("nope.yml"))) << missing.error().message();

  auto dir = load_script(dir_);
  ASSERT_FALSE(dir.ok());
  EXPECT_TRUE(contains(dir.error().message(), dir_)) << dir.error().message();

  EXPECT_TRUE(contains(err(""), "empty"));
  EXPECT_TRUE(contains(err("# only a comment\n"), "empty"));
  EXPECT_TRUE(contains(err("- a\n- b\n"), "expected a map with `config` and `scenarios`"));
}

TEST_F(ScriptTest, StructuralErrors) {
  struct Case {
    std::string yaml;
    int line;
    std::string text;
  };
  const std::vector<Case> cases = {
      {"config:\n  target: a\n  target: b\nscenarios: []\n", 3, "duplicated key `target`"},
      {"config:\n  phases: []\nscenarios:\n  - flow: []\n", 2, "config.target: missing"},
      {"config:\n  target: x\n", 0, "scenarios: missing"},
      {"config:\n  target: x\nscenarios: {}\n", 3, "scenarios: expected a list"},
      {"config:\n  target: x\nscenarios: []\n", 3, "scenarios: no socketio scenario to run"},
      {"config:\n  target: x\nscenarios:\n  - name: a\n", 4, "scenarios[0].flow: missing"},
      {"config: [1]\nscenarios: []\n", 1, "config: expected a map"},
      {"config:\n  target: [1]\nscenarios: []\n", 2, "config.target: expected a string"},
      {"config:\n  target: x\n  timeout: soon\nscenarios: []\n", 3,
       "config.timeout: expected a number"},
      {"config:\n  target: x\n  tls:\n    rejectUnauthorized: maybe\nscenarios: []\n", 4,
       "config.tls.rejectUnauthorized: expected true or false"},
      {"config:\n  target: x\n  variables: [1]\nscenarios: []\n", 3,
       "config.variables: expected a map"},
      {"config:\n  target: x\n  socketio:\n    transports: [carrier-pigeon]\nscenarios: []\n", 4,
       "config.socketio.transports[0]: expected `polling` or `websocket`"},
      {"config:\n  target: x\n  socketio:\n    extraHeaders: [a]\nscenarios: []\n", 4,
       "config.socketio.extraHeaders: expected a map"},
  };
  for (const auto& c : cases) {
    const std::string m = err(c.yaml);
    const std::string want = c.line > 0 ? at(c.line) + c.text : c.text;
    EXPECT_TRUE(contains(m, want)) << m << "\nwant: " << want;
  }
}

TEST_F(ScriptTest, RecursiveAliasIsAnErrorNotACrash) {
  const std::string m = err("config:\n  target: x\n  variables:\n    a: &x [*x]\nscenarios: []\n");
  EXPECT_TRUE(contains(m, "deeper")) << m;
  // "Billion laughs": aliases that expand exponentially hit the node budget.
  std::string bomb =
      "config:\n  target: x\n  variables:\n    l0: &l0 [a, a, a, a, a, a, a, a, a, a]\n";
  for (int i = 1; i <= 9; ++i) {
    const std::string p = "*l" + std::to_string(i - 1);
    bomb += "    l" + std::to_string(i) + ": &l" + std::to_string(i) + " [" + p;
    for (int k = 0; k < 9; ++k) bomb += ", " + p;
    bomb += "]\n";
  }
  auto r = load(bomb + "scenarios: []\n");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::limit_exceeded)) << r.error().message();
}

TEST_F(ScriptTest, AliasesAndMergeKeys) {
  const Script s = ok(R"(config:
  target: x
  variables:
    base: &b {x: 1, y: 2}
    merged:
      <<: *b
      y: 3
    copy: *b
scenarios:
  - flow: []
)");
  EXPECT_EQ(s.variables["merged"], Json::parse(R"({"y":3,"x":1})"));
  EXPECT_EQ(s.variables["copy"], Json::parse(R"({"x":1,"y":2})"));
}

// ---- phases
// --------------------------------------------------------------------------------------

TEST_F(ScriptTest, PhaseValues) {
  struct Case {
    std::string phase;
    double duration;
    double rate;
  };
  const std::vector<Case> cases = {
      {"duration: 10", 10, 0},
      {"duration: \"10\"", 10, 0},
      {"duration: 2.5", 2.5, 0},
      {"duration: \"5m\"", 300, 0},
      {"duration: \"30s\"", 30, 0},
      {"duration: 500ms", 0.5, 0},
      {"duration: \"1h\"", 3600, 0},
      {"duration: 1\n      arrivalRate: \"5\"", 1, 5},
      {"duration: 1\n      arrivalRate: 0.5", 1, 0.5},
  };
  for (const auto& c : cases) {
    const Script s =
        ok("config:\n  target: x\n  phases:\n    - " + c.phase + "\nscenarios:\n  - flow: []\n");
    ASSERT_EQ(s.phases.size(), 1u) << c.phase;
    EXPECT_EQ(s.phases[0].duration_s, c.duration) << c.phase;
    EXPECT_EQ(s.phases[0].arrival_rate, c.rate) << c.phase;
    EXPECT_FALSE(s.phases[0].pause);
  }
  const Script p = ok("config:\n  target: x\n  phases:\n    - pause: \"2m\"\n      name: wait\n"
                      "    - duration: 3\n      arrivalCount: \"12\"\n      maxVusers: 4\n"
                      "scenarios:\n  - flow: []\n");
  EXPECT_TRUE(p.phases[0].pause);
  EXPECT_EQ(p.phases[0].duration_s, 120);
  EXPECT_EQ(p.phases[0].name, "wait");
  EXPECT_EQ(p.phases[1].arrival_count, 12);
  EXPECT_EQ(p.phases[1].max_vusers, 4);
}

TEST_F(ScriptTest, PhaseErrors) {
  struct Case {
    std::string phase;
    int line;
    std::string text;
  };
  const std::vector<Case> cases = {
      {"- duration: soon", 4, "config.phases[0].duration: expected a number or a duration string"},
      {"- duration: -5", 4, "config.phases[0].duration: must not be negative"},
      {"- duration: \"-5s\"", 4, "config.phases[0].duration: must not be negative"},
      {"- duration: [1]", 4, "config.phases[0].duration: expected a number or a duration"},
      {"- duration: 1\n      arrivalCount: -1", 5,
       "config.phases[0].arrivalCount: must not be negative"},
      {"- duration: 1\n      arrivalCount: 1.5", 5,
       "config.phases[0].arrivalCount: expected a whole number"},
      {"- duration: 1\n      arrivalRate: fast", 5,
       "config.phases[0].arrivalRate: expected a number"},
      {"- duration: 1\n      rampTo: -2", 5, "config.phases[0].rampTo: must not be negative"},
      {"- duration: 1\n      maxVusers: x", 5, "config.phases[0].maxVusers: expected a number"},
      {"- duration: 1\n    - arrivalRate: 3", 5, "config.phases[1]: expected `duration`"},
      {"- pause: -1", 4, "config.phases[0].pause: must not be negative"},
      {"- 5", 4, "config.phases[0]: expected a map"},
  };
  for (const auto& c : cases) {
    const std::string m =
        err("config:\n  target: x\n  phases:\n    " + c.phase + "\nscenarios:\n  - flow: []\n");
    EXPECT_TRUE(contains(m, at(c.line) + c.text)) << m << "\nwant: " << c.text;
  }
  const std::string m = err("config:\n  target: x\n  phases: 3\nscenarios:\n  - flow: []\n");
  EXPECT_TRUE(contains(m, at(3) + "config.phases: expected a list")) << m;
}

TEST(ParseDuration, Table) {
  struct Case {
    Json in;
    double want;
  };
  const std::vector<Case> good = {
      {0, 0},         {5, 5},          {2.5, 2.5},         {"5", 5},      {"1.5", 1.5},
      {"500ms", 0.5}, {"5s", 5},       {"5 s", 5},         {"1.5s", 1.5}, {"5m", 300},
      {"2min", 120},  {"1h", 3600},    {"1d", 86400},      {" 30s ", 30}, {"250MS", 0.25},
      {"10sec", 10},  {"3seconds", 3}, {"2 minutes", 120}, {".5s", 0.5},
  };
  for (const auto& c : good) {
    auto r = parse_duration_s(c.in);
    ASSERT_TRUE(r.ok()) << c.in.dump();
    EXPECT_DOUBLE_EQ(*r, c.want) << c.in.dump();
  }
  for (const Json& bad :
       {Json(-1), Json("-5s"), Json(""), Json("abc"), Json("5 parsecs"), Json("1e3s"),
        Json(nullptr), Json(true), Json::array({1}), Json("s"), Json("5s5")}) {
    EXPECT_FALSE(parse_duration_s(bad).ok()) << bad.dump();
  }
}

// ---- variables --------------------------------------------------------------------------------

TEST_F(ScriptTest, VariableScalarTyping) {
  const Script s = ok(R"(config:
  target: x
  variables:
    int: 42
    neg: -7
    plus: +3
    zero_lead: 007
    hex: 0x1F
    oct: 0o17
    float: 3.5
    exp: 1e+21
    small: -2.5e-07
    dot: .5
    big: 12345678901234567000
    huge: 123456789012345678901234
    t: true
    T: True
    f: FALSE
    n1: ~
    n2: null
    n3:
    yes_word: yes
    q_int: "42"
    q_bool: 'true'
    q_null: "null"
    tagged_str: !!str 12
    text: hello world
    ver: 1.2.3
    list: [1, "1", a, ~]
    nested: {a: [ {b: 1} ]}
    block: |
      line1
      line2
scenarios:
  - flow: []
)");
  const Json& v = s.variables;
  EXPECT_TRUE(v["int"].is_number_integer());
  EXPECT_EQ(v["int"], 42);
  EXPECT_EQ(v["neg"], -7);
  EXPECT_EQ(v["plus"], 3);
  EXPECT_EQ(v["zero_lead"], 7);
  EXPECT_EQ(v["hex"], 31);
  EXPECT_EQ(v["oct"], 15);
  EXPECT_TRUE(v["float"].is_number_float());
  EXPECT_EQ(v["float"], 3.5);
  EXPECT_EQ(v["exp"], 1e21);
  EXPECT_EQ(v["small"], -2.5e-07);
  EXPECT_EQ(v["dot"], 0.5);
  EXPECT_TRUE(v["big"].is_number_unsigned());
  EXPECT_EQ(v["big"], Json::parse("12345678901234567000"));
  EXPECT_TRUE(v["huge"].is_number_float());
  EXPECT_EQ(v["t"], true);
  EXPECT_EQ(v["T"], true);
  EXPECT_EQ(v["f"], false);
  EXPECT_TRUE(v["n1"].is_null());
  EXPECT_TRUE(v["n2"].is_null());
  EXPECT_TRUE(v["n3"].is_null());
  EXPECT_EQ(v["yes_word"], "yes"); // YAML 1.2, as js-yaml
  EXPECT_EQ(v["q_int"], "42");
  EXPECT_EQ(v["q_bool"], "true");
  EXPECT_EQ(v["q_null"], "null");
  EXPECT_EQ(v["tagged_str"], "12");
  EXPECT_EQ(v["text"], "hello world");
  EXPECT_EQ(v["ver"], "1.2.3");
  EXPECT_EQ(v["list"], Json::parse(R"([1, "1", "a", null])"));
  EXPECT_EQ(v["nested"], Json::parse(R"({"a":[{"b":1}]})"));
  EXPECT_EQ(v["block"], "line1\nline2\n");
  // Key order is kept.
  EXPECT_EQ(v.begin().key(), "int");
}

// ---- warnings ---------------------------------------------------------------------------------

TEST_F(ScriptTest, Warnings) {
  const Script s = ok(R"(config:
  target: x
  plugins:
    metrics-by-endpoint: {}
  ensure:
    thresholds: []
  processor: "./f.js"
  http:
    timeout: 5
  engines:
    socketio: {}
  defaults:
    think: {jitter: 10}
  colour: blue
  socketio:
    forceNew: true
    withCredentials: true
  tls:
    ca: x
before:
  flow: []
extra: 1
scenarios:
  - engine: socketio
    beforeScenario: f
    flavour: x
    flow:
      - get:
          url: "/"
      - function: "f"
      - emit:
          channel: a
          namespace: "/n"
        sparkle: 1
      - think: 1
        wink: 2
  - engine: http
    flow:
      - get:
          url: "/"
)");
  const std::vector<std::pair<int, std::string>> want = {
      {20, "`before` flows are ignored by sioreplay"},
      {22, "unknown key `extra` (ignored)"},
      {3, "`config.plugins` is ignored by sioreplay"},
      {7, "`config.processor` is ignored by sioreplay"},
      {8, "`config.http` is ignored by sioreplay"},
      {10, "`config.engines` is ignored by sioreplay"},
      {12, "`config.defaults` is ignored by sioreplay"},
      {14, "unknown key `config.colour` (ignored)"},
      {16, "`config.socketio.forceNew` is ignored by sioreplay"},
      {17, "`config.socketio.withCredentials` is ignored by sioreplay"},
      {19, "unknown key `config.tls.ca` (ignored)"},
      {25, "`scenarios[0].beforeScenario` is ignored"},
      {26, "unknown key `scenarios[0].flavour` (ignored)"},
      {30, "step `function` is not supported by sioreplay replay; skipped"},
      {33, "`scenarios[0].flow[2].emit.namespace` inside `emit` is ignored"},
      {34, "unknown key `scenarios[0].flow[2].sparkle` (ignored)"},
      {36, "unknown key `scenarios[0].flow[3].wink` (ignored)"},
      {37, "scenarios[1]: engine `http` is not supported by sioreplay replay; scenario skipped"},
  };
  for (const auto& [line, text] : want) {
    const std::string full = at(line) + text;
    int n = 0;
    for (const auto& w : s.warnings) n += contains(w, full) ? 1 : 0;
    EXPECT_EQ(n, 1) << "missing: " << full;
  }
  EXPECT_EQ(s.warnings.size(), want.size());
  for (const auto& w : s.warnings) EXPECT_EQ(w.rfind(path("s.yml") + ":", 0), 0u) << w;
  ASSERT_EQ(s.scenarios.size(), 1u);
  const auto& flow = s.scenarios[0].flow;
  ASSERT_EQ(flow.size(), 4u);
  EXPECT_EQ(flow[0].kind, Step::Kind::http);
  EXPECT_EQ(flow[0].http->method, "GET");
  EXPECT_EQ(flow[0].http->url, "/");
  EXPECT_EQ(flow[0].line, 28);
  EXPECT_EQ(flow[1].unsupported_key, "function");
  EXPECT_EQ(flow[2].kind, Step::Kind::emit);
  EXPECT_EQ(flow[2].nsp, ""); // namespace inside emit is ignored, as Artillery does
  EXPECT_EQ(flow[2].args, Json::array());
}

// ---- environments -------------------------------------------------------------------------------

const char* const env_script = R"(config:
  target: "http://default:1"
  phases:
    - duration: 60
      arrivalRate: 5
    - duration: 10
  variables:
    a: 1
  environments:
    staging:
      target: "http://staging:2"
      phases:
        - duration: 5
      variables:
        b: 2
    empty:
    local:
      timeout: 3
scenarios:
  - flow: []
)";

TEST_F(ScriptTest, Environments) {
  const Script plain = ok(env_script);
  EXPECT_EQ(plain.target, "http://default:1");
  EXPECT_EQ(plain.phases[0].duration_s, 60);

  const Script st = ok(env_script, {"staging", ""});
  EXPECT_EQ(st.target, "http://staging:2");
  ASSERT_EQ(st.phases.size(), 2u); // lodash merge: lists merge index by index
  EXPECT_EQ(st.phases[0].duration_s, 5);
  EXPECT_EQ(st.phases[0].arrival_rate, 5);
  EXPECT_EQ(st.phases[1].duration_s, 10);
  EXPECT_EQ(st.variables, Json::parse(R"({"a":1,"b":2})"));

  const Script lo = ok(env_script, {"local", "http://override:9"});
  EXPECT_EQ(lo.target, "http://override:9");
  EXPECT_EQ(lo.timeout_s, 3);
  EXPECT_EQ(ok(env_script, {"empty", ""}).target, "http://default:1");

  const std::string m = err(env_script, {"prod", ""});
  EXPECT_TRUE(contains(m, at(10) + "-e prod: no such environment (known: staging, empty, local)"))
      << m;
  const std::string none = err("config:\n  target: x\nscenarios:\n  - flow: []\n", {"prod", ""});
  EXPECT_TRUE(contains(none, "-e prod: the script has no config.environments")) << none;
}

TEST_F(ScriptTest, TargetFromEnvironmentOrOption) {
  const std::string yaml = "config:\n  environments:\n    dev:\n      target: \"http://dev\"\n"
                           "scenarios:\n  - flow: []\n";
  EXPECT_EQ(ok(yaml, {"dev", ""}).target, "http://dev");
  EXPECT_TRUE(contains(err(yaml), "config.target: missing"));
  EXPECT_EQ(ok(yaml, {"", "http://cli"}).target, "http://cli");
  EXPECT_EQ(ok("scenarios:\n  - flow: []\n", {"", "http://cli"}).target, "http://cli");
}

// ---- payload ------------------------------------------------------------------------------------

TEST_F(ScriptTest, PayloadCsv) {
  write("p.csv", "\xEF\xBB\xBFid,name,note\r\n"
                 "1,\"Smith, J\",\"say \"\"hi\"\"\"\r\n"
                 "\r\n"
                 "2,plain,\"two\nlines\"\n"
                 "3,,\"\"\n"
                 "4,x,y,extra\n");
  fs::create_directories(path("sub"));
  write("sub/q.csv", "a;b\n\"x;y\";2\n");
  const Script s = ok(R"(config:
  target: x
  payload:
    - path: "p.csv"
      fields: ["id", "name", "note"]
      skipHeader: true
      order: sequence
    - path: "sub/q.csv"
      fields: [a, b]
      delimiter: ";"
      cast: false
      order: random
    - path: "p.csv"
      loadAll: true
      name: everything
scenarios:
  - flow: []
)");
  EXPECT_TRUE(s.warnings.empty());
  ASSERT_EQ(s.payloads.size(), 3u);
  const auto& p = s.payloads[0];
  EXPECT_EQ(fs::path(p.path), fs::path(path("p.csv")));
  EXPECT_EQ(p.fields, (std::vector<std::string>{"id", "name", "note"}));
  EXPECT_TRUE(p.sequence);
  EXPECT_TRUE(p.skip_header);
  EXPECT_TRUE(p.cast);
  EXPECT_EQ(p.delimiter, ',');
  const std::vector<std::vector<std::string>> rows = {
      {"1", "Smith, J", "say \"hi\""},
      {"2", "plain", "two\nlines"},
      {"3", "", ""},
      {"4", "x", "y", "extra"},
  };
  EXPECT_EQ(p.rows, rows);
  const auto& q = s.payloads[1];
  EXPECT_EQ(fs::path(q.path), fs::path(path("sub/q.csv")));
  EXPECT_EQ(q.delimiter, ';');
  EXPECT_FALSE(q.cast);
  EXPECT_FALSE(q.sequence);
  EXPECT_FALSE(q.skip_header);
  EXPECT_EQ(q.rows, (std::vector<std::vector<std::string>>{{"a", "b"}, {"x;y", "2"}}));
  const auto& all = s.payloads[2];
  EXPECT_TRUE(all.load_all);
  EXPECT_EQ(all.name, "everything");
  EXPECT_EQ(all.rows.size(), 5u);
  EXPECT_EQ(all.rows[0][0], "id"); // BOM dropped
}

TEST_F(ScriptTest, PayloadObjectFormAndTab) {
  write("t.csv", "a\tb\n1\t2\n");
  const Script s = ok("config:\n  target: x\n  payload:\n    path: t.csv\n    fields: [a, b]\n"
                      "    delimiter: \"\\t\"\nscenarios:\n  - flow: []\n");
  ASSERT_EQ(s.payloads.size(), 1u);
  EXPECT_EQ(s.payloads[0].rows, (std::vector<std::vector<std::string>>{{"a", "b"}, {"1", "2"}}));
  // Absolute paths are kept.
  const Script abs = ok("config:\n  target: x\n  payload:\n    path: \"" + path("t.csv") +
                        "\"\n    fields: [a]\n    delimiter: \"\\t\"\nscenarios:\n  - flow: []\n");
  EXPECT_EQ(abs.payloads[0].path, path("t.csv"));
}

TEST_F(ScriptTest, PayloadErrors) {
  write("short.csv", "h1,h2,h3\n1,2,3\n4,5\n");
  const std::string m = err("config:\n  target: x\n  payload:\n    path: short.csv\n"
                            "    fields: [a, b, c]\nscenarios:\n  - flow: []\n");
  EXPECT_TRUE(contains(m, path("short.csv") + ":3: 2 column(s), but config.payload.fields names 3"))
      << m;

  write("quote.csv", "a,b\n1,\"open\n2,3\n");
  const std::string q = err("config:\n  target: x\n  payload:\n    path: quote.csv\n"
                            "    fields: [a, b]\nscenarios:\n  - flow: []\n");
  EXPECT_TRUE(contains(q, path("quote.csv") + ":2: unterminated quoted field")) << q;

  write("after.csv", "\"a\"x,b\n");
  const std::string a = err("config:\n  target: x\n  payload:\n    path: after.csv\n"
                            "    fields: [a]\nscenarios:\n  - flow: []\n");
  EXPECT_TRUE(contains(a, path("after.csv") + ":1: unexpected character after a closing quote"))
      << a;

  struct Case {
    std::string payload;
    int line;
    std::string text;
  };
  write("ok.csv", "1,2\n");
  write("empty.csv", "");
  const std::vector<Case> cases = {
      {"path: missing.csv\n    fields: [a]", 4, "config.payload.path: cannot read the CSV"},
      {"fields: [a]", 4, "config.payload.path: missing"},
      {"path: ok.csv\n    order: shuffled", 5, "config.payload.order: expected `random` or"},
      {"path: ok.csv\n    delimiter: \";;\"", 5, "config.payload.delimiter: expected one char"},
      {"path: ok.csv\n    loadAll: true", 4, "config.payload.name: missing"},
      {"path: ok.csv\n    skipHeader: sometimes", 5, "config.payload.skipHeader: expected true"},
      {"path: ok.csv\n    fields: a", 5, "config.payload.fields: expected a list"},
      {"path: empty.csv\n    fields: [a]", 4, "config.payload.path: no data rows in "},
  };
  for (const auto& c : cases) {
    const std::string e =
        err("config:\n  target: x\n  payload:\n    " + c.payload + "\nscenarios:\n  - flow: []\n");
    EXPECT_TRUE(contains(e, at(c.line) + c.text)) << e << "\nwant: " << c.text;
  }
  const std::string seq = err("config:\n  target: x\n  payload:\n    - path: ok.csv\n"
                              "      fields: [a, b, c]\nscenarios:\n  - flow: []\n");
  EXPECT_TRUE(contains(seq, "config.payload[0].fields names 3")) << seq;
  EXPECT_TRUE(contains(seq, "missing.csv") || contains(seq, path("ok.csv") + ":1:")) << seq;
}

// ---- steps
// ----------------------------------------------------------------------------------------

TEST_F(ScriptTest, EmitForms) {
  const Script s = ok(with_flow(R"(      - emit: ["a"]
      - emit: ["b", "x", 1, {k: v}, ~]
      - emit:
          channel: c
      - emit:
          channel: d
          data: ~
      - emit:
          channel: "{{ ev }}"
          data: [1, 2]
        namespace: "/chat"
        acknowledge: {}
      - emit: ["e"]
        acknowledge:
          args: [true]
          capture: {json: "$.0", as: r}
      - emit: ["f"]
        response:
          channel: g
          data: {ok: true}
          match: {json: "$.0.ok", value: true}
      - emit: ["h"]
        acknowledge: true
      - emit: ["i"]
        acknowledge:
)"));
  const auto& f = s.scenarios[0].flow;
  ASSERT_EQ(f.size(), 9u);
  EXPECT_EQ(f[0].channel, "a");
  EXPECT_EQ(f[0].args, Json::array());
  EXPECT_EQ(f[1].args, Json::parse(R"(["x", 1, {"k":"v"}, null])"));
  EXPECT_EQ(f[2].channel, "c");
  EXPECT_EQ(f[2].args, Json::array());
  EXPECT_EQ(f[3].args, Json::parse("[null]"));
  EXPECT_EQ(f[4].channel, "{{ ev }}");
  EXPECT_EQ(f[4].args, Json::parse("[[1, 2]]"));
  EXPECT_EQ(f[4].nsp, "/chat");
  ASSERT_TRUE(f[4].acknowledge);
  EXPECT_FALSE(f[4].acknowledge->data);
  EXPECT_TRUE(f[4].acknowledge->captures.empty());
  ASSERT_TRUE(f[5].acknowledge);
  EXPECT_EQ(*f[5].acknowledge->data, Json::parse("[true]"));
  ASSERT_EQ(f[5].acknowledge->captures.size(), 1u);
  EXPECT_EQ(f[5].acknowledge->captures[0].json, "$.0");
  EXPECT_EQ(f[5].acknowledge->captures[0].as, "r");
  ASSERT_TRUE(f[6].response);
  EXPECT_EQ(f[6].response->channel, "g");
  EXPECT_EQ(*f[6].response->data, Json::parse(R"({"ok":true})"));
  ASSERT_EQ(f[6].response->matches.size(), 1u);
  EXPECT_EQ(f[6].response->matches[0].json, "$.0.ok");
  EXPECT_EQ(*f[6].response->matches[0].value, true);
  EXPECT_TRUE(f[7].acknowledge);
  EXPECT_FALSE(f[8].acknowledge); // empty: Artillery treats it as absent
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_TRUE(contains(s.warnings[0], "acknowledge` is empty")) << s.warnings[0];
}

TEST_F(ScriptTest, StepErrors) {
  struct Case {
    std::string flow;
    int line;
    std::string text;
  };
  const std::vector<Case> cases = {
      {"      - emit: []\n", 6, "scenarios[0].flow[0].emit: expected [channel, args...]"},
      {"      - emit:\n          data: 1\n", 7, "scenarios[0].flow[0].emit.channel: missing"},
      {"      - emit: [[1]]\n", 6, "scenarios[0].flow[0].emit[0]: expected a string"},
      {"      - emit: [a]\n        response:\n          data: 1\n", 8,
       "scenarios[0].flow[0].response.channel: missing"},
      {"      - emit: [a]\n        response:\n          on: x\n          channel: y\n", 9,
       "scenarios[0].flow[0].response.channel: give either `channel` or `on`"},
      {"      - emit: [a]\n        acknowledge: [1]\n", 7,
       "scenarios[0].flow[0].acknowledge: expected a map"},
      {"      - think: soon\n", 6, "scenarios[0].flow[0].think: expected a number or a duration"},
      {"      - think: -1\n", 6, "scenarios[0].flow[0].think: must not be negative"},
      {"      - think: 1\n        jitter: lots\n", 7, "scenarios[0].flow[0].jitter: expected a "},
      {"      - loop:\n          - think: 1\n", 6,
       "scenarios[0].flow[0]: a loop needs `count` or `over`"},
      {"      - loop:\n          - think: 1\n        count: 1000000000000\n", 8,
       "scenarios[0].flow[0].count: 1000000000000 is over the limit of 10000000"},
      {"      - loop:\n          - think: 1\n        count: \"{{ n }}\"\n", 8,
       "scenarios[0].flow[0].count: templated loop counts are not supported"},
      {"      - loop:\n          - think: 1\n        count: -1\n", 8,
       "scenarios[0].flow[0].count: must not be negative"},
      {"      - loop: 3\n", 6, "scenarios[0].flow[0].loop: expected a list of steps"},
      {"      - loop:\n          - think: x\n        count: 2\n", 7,
       "scenarios[0].flow[0].loop[0].think: expected a number"},
      {"      - 5\n", 6, "scenarios[0].flow[0]: expected a step"},
      {"      - {}\n", 6, "scenarios[0].flow[0]: expected a step"},
      {"      - think: 1\n    weight: -1\n", 7, "scenarios[0].weight: must not be negative"},
  };
  for (const auto& c : cases) {
    const std::string m = err(with_flow(c.flow));
    EXPECT_TRUE(contains(m, at(c.line) + c.text)) << m << "\nwant: " << c.text;
  }
  auto r = load(with_flow("      - loop:\n          - think: 1\n        count: \"{{ n }}\"\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::unsupported));
}

TEST_F(ScriptTest, ThinkAndLoop) {
  const Script s = ok(with_flow(R"(      - think: 2
      - think: "500ms"
      - think: "1.5s"
      - think: 0.25
      - think: 3
        jitter: "20%"
      - think: 0
        jitter: 50
      - loop:
          - emit: ["x", "{{ $loopElement }}"]
        over: [a, b, c]
      - loop:
          - think: 1
        over: items
      - loop:
          - loop:
              - think: "10ms"
            count: "4"
        count: 1-15
)"));
  const auto& f = s.scenarios[0].flow;
  ASSERT_EQ(f.size(), 9u);
  EXPECT_EQ(f[0].think_ms, 2000);
  EXPECT_EQ(f[1].think_ms, 500);
  EXPECT_EQ(f[2].think_ms, 1500);
  EXPECT_EQ(f[3].think_ms, 250);
  EXPECT_EQ(f[4].think_ms, 3000);
  EXPECT_EQ(f[4].jitter_pct, 20);
  EXPECT_EQ(f[5].jitter_pct, 50);
  EXPECT_EQ(f[6].kind, Step::Kind::loop);
  EXPECT_EQ(*f[6].over, Json::parse(R"(["a","b","c"])"));
  EXPECT_EQ(f[6].steps[0].args, Json::parse(R"(["{{ $loopElement }}"])"));
  EXPECT_EQ(*f[7].over, "items");
  EXPECT_EQ(f[8].count, 15);
  ASSERT_EQ(f[8].steps.size(), 1u);
  EXPECT_EQ(f[8].steps[0].count, 4);
  EXPECT_EQ(f[8].steps[0].steps[0].think_ms, 10);
  EXPECT_EQ(f[8].steps[0].steps[0].line, 22);
  ASSERT_EQ(s.warnings.size(), 2u);
  EXPECT_TRUE(contains(s.warnings[0], at(9) + "`scenarios[0].flow[3].think`: 0.25 s: Artillery"))
      << s.warnings[0];
  EXPECT_TRUE(contains(s.warnings[1], at(24) + "`scenarios[0].flow[8].count`: the range \"1-15\""))
      << s.warnings[1];
}

TEST(SocketIoOptionsMerge, SetFieldsReplace) {
  SocketIoOptions base;
  base.path = "/a";
  base.transports = std::vector<std::string>{"polling"};
  base.query = Json::parse(R"({"x":1})");
  base.extra_headers = Json::parse(R"({"A":"1"})");
  SocketIoOptions over;
  over.transports = std::vector<std::string>{"websocket"};
  over.auth = Json::parse(R"({"t":"{{ token }}"})");
  over.extra_headers = Json::parse(R"({"B":"2"})");
  base.merge_from(over);
  EXPECT_EQ(base.path, "/a");
  EXPECT_EQ(*base.transports, std::vector<std::string>{"websocket"});
  EXPECT_EQ(*base.query, Json::parse(R"({"x":1})"));
  EXPECT_EQ(*base.extra_headers, Json::parse(R"({"B":"2"})")); // replaced, not merged
  EXPECT_EQ(*base.auth, Json::parse(R"({"t":"{{ token }}"})"));
  base.merge_from(SocketIoOptions{});
  EXPECT_EQ(base.path, "/a");
}

// ---- the converter's output -------------------------------------------------------------------

std::string golden(const std::string& name) {
  return std::string(SIO_SOURCE_DIR) + "/samples/expected/" + name;
}

TEST(GoldenScripts, A1) {
  auto r = load_script(golden("a1.yml"));
  ASSERT_TRUE(r.ok()) << r.error().message();
  const Script& s = *r;
  EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
  EXPECT_EQ(s.target, "http://127.0.0.1:4000");
  ASSERT_EQ(s.phases.size(), 1u);
  EXPECT_EQ(s.phases[0].name, "recorded");
  EXPECT_EQ(s.phases[0].duration_s, 1);
  EXPECT_EQ(s.phases[0].arrival_count, 1);
  ASSERT_EQ(s.variables.size(), 16u);
  for (int i = 1; i <= 16; ++i) {
    const std::string k = "arg_" + std::to_string(i);
    ASSERT_TRUE(s.variables.contains(k)) << k;
    EXPECT_TRUE(s.variables[k].is_array()) << k;
    EXPECT_EQ(s.variables[k].size(), 1u) << k;
  }
  const Json& v = s.variables;
  EXPECT_TRUE(v["arg_1"][0].is_number_integer());
  EXPECT_EQ(v["arg_1"][0], 0);
  EXPECT_EQ(v["arg_2"][0], -1);
  EXPECT_EQ(v["arg_3"][0], 3.14159);
  EXPECT_EQ(v["arg_4"][0], 1e21);
  EXPECT_EQ(v["arg_5"][0], 9007199254740991);
  EXPECT_EQ(v["arg_6"][0], -2.5e-07);
  EXPECT_EQ(v["arg_7"][0], true);
  EXPECT_EQ(v["arg_8"][0], false);
  EXPECT_TRUE(v["arg_9"][0].is_null());
  EXPECT_EQ(v["arg_11"][0], Json::parse("[1,[2,[3,[4]]]]"));
  EXPECT_EQ(v["arg_12"][0], Json::parse(R"(["a",{"b":[null]}])"));
  EXPECT_EQ(v["arg_13"][0], Json::array());
  EXPECT_EQ(v["arg_14"][0], Json::parse(R"({"_binary_b64":"AQID"})"));
  EXPECT_EQ(v["arg_15"][0]["nested"]["list"][0]["_binary_b64"], "");
  EXPECT_EQ(v["arg_16"][0], Json::parse("12345678901234567000"));

  ASSERT_EQ(s.payloads.size(), 1u);
  const auto& p = s.payloads[0];
  EXPECT_EQ(fs::path(p.path), fs::path(golden("a1.csv")));
  EXPECT_EQ(p.fields,
            (std::vector<std::string>{"auth_token", "cookie_app_session", "cookie_theme"}));
  EXPECT_TRUE(p.sequence);
  EXPECT_TRUE(p.skip_header);
  ASSERT_EQ(p.rows.size(), 1u);
  EXPECT_EQ(p.rows[0], (std::vector<std::string>{"secret-abc", "a0688f0270263cee", "dark"}));
  EXPECT_EQ(s.socketio.path, "/socket.io/");
  EXPECT_FALSE(s.socketio.transports);

  ASSERT_EQ(s.scenarios.size(), 1u);
  const auto& sc = s.scenarios[0];
  EXPECT_EQ(sc.name, "session-1");
  EXPECT_EQ(sc.weight, 1);
  EXPECT_EQ(*sc.socketio.extra_headers,
            Json::parse(
                R"({"Cookie":"app_session={{ cookie_app_session }}; theme={{ cookie_theme }}"})"));
  EXPECT_EQ(*sc.socketio.auth, Json::parse(R"({"token":"{{ auth_token }}"})"));
  ASSERT_EQ(sc.flow.size(), 59u);
  int emits = 0, thinks = 0, chat = 0, acks = 0;
  for (const auto& st : sc.flow) {
    emits += st.kind == Step::Kind::emit;
    thinks += st.kind == Step::Kind::think;
    chat += st.nsp == "/chat";
    acks += st.acknowledge.has_value();
  }
  EXPECT_EQ(emits, 30);
  EXPECT_EQ(thinks, 29);
  EXPECT_EQ(chat, 6);
  EXPECT_EQ(acks, 10);
  EXPECT_EQ(sc.flow[0].think_ms, 163);
  EXPECT_EQ(sc.flow[0].line, 71);
  EXPECT_EQ(sc.flow[1].channel, "hello");
  EXPECT_EQ(sc.flow[1].args, Json::parse(R"(["world"])"));
  EXPECT_EQ(sc.flow[2].channel, "nested");
  EXPECT_EQ(sc.flow[2].args[0]["user"]["name"], "Zoë");
  EXPECT_EQ(sc.flow[2].args[0]["ratio"], 0.75);
  const std::string uni = sc.flow[4].args[0].get<std::string>();
  EXPECT_NE(uni.find("rs\x1e us\x1f"), std::string::npos);
  EXPECT_NE(uni.find("tab\t \"quote\" back\\slash"), std::string::npos);
  EXPECT_EQ(sc.flow[6].channel, "numbers");
  EXPECT_EQ(sc.flow[6].args.size(), 9u);
  EXPECT_EQ(sc.flow[6].args[0], "{{ arg_1 }}");
  // The empty-key / numeric-key object keeps its keys as strings.
  bool saw_obj_keys = false;
  for (const auto& st : sc.flow) {
    if (st.channel == "obj-keys") {
      saw_obj_keys = true;
      const Json& d = st.args[0];
      EXPECT_EQ(d["42"], "numeric key");
      EXPECT_EQ(d[""], "empty key");
      EXPECT_EQ(d["a.b"], 1);
      EXPECT_EQ(d["nested"]["\"q\""], "'");
    }
    if (st.channel == "echo" && st.args.size() == 1 && st.args[0].contains("special")) {
      const std::string sp = st.args[0]["special"].get<std::string>();
      EXPECT_NE(sp.find(std::string("\0 nul", 5)), std::string::npos);
    }
    if (st.channel == "float") {
      EXPECT_EQ(st.args[0], 0.30000000000000004);
    }
    if (st.channel == "big-int-like") {
      EXPECT_EQ(st.args[0], "12345678901234567890");
    }
  }
  EXPECT_TRUE(saw_obj_keys);
}

TEST(GoldenScripts, A2AndA3) {
  auto a2 = load_script(golden("a2.yml"));
  ASSERT_TRUE(a2.ok()) << a2.error().message();
  EXPECT_TRUE(a2->warnings.empty());
  EXPECT_EQ(a2->target, "http://127.0.0.1:4080");
  EXPECT_EQ(a2->variables["route"], Json::parse(R"(["s1"])"));
  EXPECT_EQ(a2->variables.size(), 17u);
  ASSERT_EQ(a2->scenarios.size(), 1u);
  EXPECT_EQ(a2->scenarios[0].flow.size(), 59u);
  EXPECT_EQ(a2->payloads.at(0).rows.at(0).at(1), "42832d447d143d40");
  EXPECT_TRUE(contains(a2->scenarios[0].socketio.extra_headers->at("Cookie").get<std::string>(),
                       "route={{ route }}"));

  auto a3 = load_script(golden("a3.yml"));
  ASSERT_TRUE(a3.ok()) << a3.error().message();
  EXPECT_TRUE(a3->warnings.empty());
  EXPECT_EQ(a3->variables.size(), 16u);
  ASSERT_TRUE(a3->socketio.transports);
  EXPECT_EQ(*a3->socketio.transports, std::vector<std::string>{"polling"});
  ASSERT_EQ(a3->scenarios.size(), 1u);
  EXPECT_EQ(a3->scenarios[0].flow.size(), 59u);
  EXPECT_EQ(a3->payloads.at(0).fields.size(), 3u);
}

} // namespace

namespace {

// ---- extensions and HTTP steps ----------------------------------------------------------------

TEST_F(ScriptTest, WaitForTimeoutsHttpStepsAndEio) {
  const Script s = ok(R"(config:
  target: "http://localhost:3000/base/"
  socketio:
    eio: 3
scenarios:
  - engine: socketio
    flow:
      - waitFor:
          on: "welcome"
          capture:
            json: "$.0.replica"
            as: r
        namespace: "/chat"
        timeout: "1500ms"
      - emit: ["x"]
        acknowledge:
          match:
            - json: "$.1.replica"
              value: "{{ r }}"
        timeout: 2
      - post:
          url: "/items?x=1"
          json: {name: "{{ r }}"}
          headers: {X-Test: "1"}
          qs: {y: "{{ r }}"}
          capture:
            - header: "x-replica"
              as: h
            - json: "$.id"
              as: id
          match:
            regexp: "ok"
            value: "ok"
          timeout: "3s"
      - delete:
          url: "/items/{{ id }}"
)");
  EXPECT_EQ(s.socketio.eio, 3);
  ASSERT_EQ(s.scenarios.size(), 1u);
  const auto& sc = s.scenarios[0];
  EXPECT_TRUE(sc.waits_for_pushes);
  ASSERT_EQ(sc.flow.size(), 4u);
  const Step& wf = sc.flow[0];
  EXPECT_EQ(wf.kind, Step::Kind::wait_for);
  EXPECT_EQ(wf.response->channel, "welcome");
  EXPECT_EQ(wf.nsp, "/chat");
  EXPECT_DOUBLE_EQ(*wf.timeout_s, 1.5);
  ASSERT_EQ(wf.response->captures.size(), 1u);
  EXPECT_EQ(wf.response->captures[0].as, "r");
  const Step& emit = sc.flow[1];
  EXPECT_DOUBLE_EQ(*emit.timeout_s, 2);
  ASSERT_EQ(emit.acknowledge->matches.size(), 1u);
  EXPECT_EQ(*emit.acknowledge->matches[0].value, "{{ r }}");
  const Step& post = sc.flow[2];
  EXPECT_EQ(post.kind, Step::Kind::http);
  EXPECT_EQ(post.http->method, "POST");
  EXPECT_EQ(post.http->url, "/items?x=1&y={{ r }}");
  EXPECT_EQ(*post.http->json, Json::parse(R"({"name":"{{ r }}"})"));
  EXPECT_EQ(post.http->captures.size(), 2u);
  EXPECT_EQ(post.http->matches.size(), 1u);
  EXPECT_DOUBLE_EQ(*post.timeout_s, 3);
  EXPECT_EQ(sc.flow[3].http->method, "DELETE");
  EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
}

TEST_F(ScriptTest, ExtensionErrorsNameThePlace) {
  EXPECT_TRUE(contains(err(with_flow("      - waitFor: {data: 1}\n")),
                       "s.yml:6: scenarios[0].flow[0].waitFor.channel: missing"));
  EXPECT_TRUE(contains(err(with_flow("      - emit: [a]\n        timeout: -1\n")),
                       "scenarios[0].flow[0].timeout"));
  EXPECT_TRUE(contains(err(with_flow("      - get: {headers: {a: b}}\n")),
                       "scenarios[0].flow[0].get.url: missing"));
  EXPECT_TRUE(contains(err(with_flow("      - get:\n          url: /\n          capture: {json: "
                                     "\"$.a\"}\n")),
                       "scenarios[0].flow[0].get.capture"));
  EXPECT_TRUE(contains(err("config:\n  target: x\n  socketio:\n    eio: 5\nscenarios: []\n"),
                       "config.socketio.eio: expected 3"));
}

TEST_F(ScriptTest, EnsureIsParsedWithItsPlace) {
  const Script s = ok(R"(config:
  target: x
  ensure:
    p95: 200
    thresholds:
      - "socketio.ack_time.p99": 100
    conditions:
      - expression: "vusers.failed == 0"
        strict: false
  plugins:
    ensure:
      maxErrorRate: 1
scenarios:
  - engine: socketio
    flow: []
)");
  EXPECT_EQ(s.ensure.checks.size(), 4u);
  EXPECT_TRUE(s.warnings.empty());
  const std::string e =
      err("config:\n  target: x\n  ensure:\n    conditions:\n      - expression: \"a ==\"\n"
          "scenarios: []\n");
  EXPECT_TRUE(contains(e, "s.yml:4: config.ensure.conditions[0].expression: unexpected end")) << e;
}

TEST(HeaderFault, LineBreaksAndNulAreRefusedInNamesAndValues) {
  EXPECT_EQ(sio::replayer::header_fault("Bearer abc", false), std::nullopt);
  EXPECT_EQ(sio::replayer::header_fault("X-Trace", true), std::nullopt);
  EXPECT_EQ(sio::replayer::header_fault("", false), std::nullopt);
  const auto value = sio::replayer::header_fault("abc\r\nX-Injected: 1", false);
  ASSERT_TRUE(value);
  EXPECT_EQ(*value, "contains a line break (\\r or \\n) at byte 3: refused (it would inject a "
                    "header)");
  EXPECT_TRUE(sio::replayer::header_fault("a\nb", false));
  EXPECT_TRUE(sio::replayer::header_fault(std::string("a\0b", 3), false));
  EXPECT_TRUE(sio::replayer::header_fault("X Trace", true));
  EXPECT_TRUE(sio::replayer::header_fault("X:Trace", true));
  EXPECT_TRUE(sio::replayer::header_fault("", true));
  EXPECT_EQ(sio::replayer::header_fault("a: b", false), std::nullopt); // a colon in a value is fine
}

} // namespace

TEST_F(ScriptTest, EmitArgumentsArePreEncodedOrCutAtTemplates) {
  const Script s = ok(R"(config:
  target: "http://127.0.0.1:9"
  phases: [{duration: 1, arrivalCount: 1}]
scenarios:
  - engine: socketio
    flow:
      - emit: ["tick", {"n": 1, "t": "a\"b"}]
      - emit: ["tick", {"n": "{{ $loopCount }}", "s": "x {{ id }} y"}, [true, null]]
      - emit: ["up", {"data": {"_binary_b64": "AAE="}}]
      - emit: ["{{ name }}"]
)");
  ASSERT_EQ(s.scenarios.size(), 1u);
  const auto& f = s.scenarios[0].flow;
  ASSERT_EQ(f.size(), 4u);
  // Constant: exactly what the general path's JSON dump writes.
  EXPECT_EQ(f[0].constant_args, R"(["tick",{"n":1,"t":"a\"b"}])");
  EXPECT_TRUE(f[0].arg_pieces.empty());
  // Templated strings become holes; everything else is literal JSON text.
  EXPECT_TRUE(f[1].constant_args.empty());
  ASSERT_EQ(f[1].arg_pieces.size(), 3u);
  EXPECT_EQ(f[1].arg_pieces[0].literal, R"(["tick",{"n":)");
  EXPECT_EQ(f[1].arg_pieces[0].hole, "{{ $loopCount }}");
  EXPECT_EQ(f[1].arg_pieces[1].literal, R"(,"s":)");
  EXPECT_EQ(f[1].arg_pieces[1].hole, "x {{ id }} y");
  EXPECT_EQ(f[1].arg_pieces[2].literal, R"(},[true,null]])");
  EXPECT_TRUE(f[1].arg_pieces[2].hole.empty());
  // Binary: the general path (attachments).
  EXPECT_TRUE(f[2].constant_args.empty());
  EXPECT_TRUE(f[2].arg_pieces.empty());
  // A templated event name is a hole too.
  ASSERT_EQ(f[3].arg_pieces.size(), 2u);
  EXPECT_EQ(f[3].arg_pieces[0].literal, "[");
  EXPECT_EQ(f[3].arg_pieces[1].literal, "]");
}
