#include "sio/replayer/ensure.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using sio::errc;
using sio::Json;
using sio::replayer::Ensure;
using sio::replayer::EnsureCheck;
using sio::replayer::EnsureNode;
using sio::replayer::EnsureOutcome;
using sio::replayer::evaluate_ensure;
using sio::replayer::parse_ensure;

Json aggregate() {
  return Json::parse(R"({
    "counters": {"vusers.created": 100, "vusers.completed": 98, "vusers.failed": 2,
                 "errors.response timeout": 2, "http.codes.200": 50, "socketio.emit": 600},
    "rates": {"socketio.emit_rate": 24},
    "summaries": {
      "socketio.response_time": {"min": 0.1, "max": 1120, "count": 3600, "mean": 42.2,
        "p50": 32.8, "median": 32.8, "p75": 47.2, "p90": 52.2, "p95": 57.3, "p99": 415.8,
        "p999": 620.3},
      "http.response_time": {"min": 3, "max": 2000, "count": 50, "mean": 300, "p50": 250,
        "median": 250, "p75": 400, "p90": 800, "p95": 900, "p99": 1900, "p999": 2000}
    }
  })");
}

Ensure parse(const std::string& yaml_as_json) {
  auto r = parse_ensure(Json::parse(yaml_as_json));
  EXPECT_TRUE(r.ok()) << yaml_as_json << ": " << (r.ok() ? "" : r.error().message());
  return r.ok() ? *r : Ensure{};
}

/// Evaluates one condition against `agg`.
EnsureOutcome condition(const std::string& expr, const Json& agg = aggregate()) {
  Json spec = {{"conditions", Json::array({{{"expression", expr}}})}};
  auto r = parse_ensure(spec);
  EXPECT_TRUE(r.ok()) << expr << ": " << (r.ok() ? "" : r.error().message());
  if (!r.ok()) return {};
  const auto out = evaluate_ensure(*r, agg);
  EXPECT_EQ(out.size(), 1U);
  return out.empty() ? EnsureOutcome{} : out[0];
}

// --- thresholds -------------------------------------------------------------------------------

TEST(EnsureThresholds, MetricMustBeStrictlyBelowTheLimit) {
  struct Case {
    const char* metric;
    Json limit;
    bool ok;
    const char* detail;
  };
  const std::vector<Case> cases = {
      {"socketio.response_time.p95", 100, true, "socketio.response_time.p95 = 57.3, limit 100"},
      {"socketio.response_time.p95", 57.3, false, "socketio.response_time.p95 = 57.3, limit 57.3"},
      {"socketio.response_time.p95", 57.2, false, nullptr},
      {"socketio.response_time.p99", "500", true, nullptr}, // a numeric string
      {"socketio.response_time.median", 32.9, true, nullptr},
      {"socketio.response_time.count", 3600, false, nullptr},
      {"vusers.failed", 3, true, "vusers.failed = 2, limit 3"},
      {"vusers.failed", 2, false, nullptr},
      {"socketio.emit_rate", 25, true, nullptr},
      {"vusers.skipped", 1, true, "vusers.skipped = 0 (absent), limit 1"},
      {"vusers.skipped", 0, false, nullptr},
      {"socketio.ack_time.p99", 200, false, "socketio.ack_time.p99 is missing from the report"},
      {"errors.response timeout", 3, true, nullptr},
  };
  for (const auto& c : cases) {
    Json spec = {{"thresholds", Json::array({{{c.metric, c.limit}}})}};
    auto e = parse_ensure(spec);
    ASSERT_TRUE(e.ok()) << c.metric << ": " << e.error().message();
    ASSERT_EQ(e->checks.size(), 1U);
    const auto out = evaluate_ensure(*e, aggregate());
    ASSERT_EQ(out.size(), 1U);
    EXPECT_EQ(out[0].ok, c.ok) << c.metric << " < " << c.limit.dump() << ": " << out[0].detail;
    EXPECT_TRUE(out[0].strict);
    if (c.detail) {
      EXPECT_EQ(out[0].detail, c.detail);
    }
  }
}

TEST(EnsureThresholds, TextAndSeveralMetricsInOneItem) {
  const auto e = parse(R"({"thresholds": [{"socketio.response_time.p95": 250},
                                          {"vusers.failed": 1, "http.response_time.max": 2500.5}]})");
  ASSERT_EQ(e.checks.size(), 3U);
  EXPECT_EQ(e.checks[0].text, "socketio.response_time.p95 < 250");
  EXPECT_EQ(e.checks[1].text, "vusers.failed < 1");
  EXPECT_EQ(e.checks[2].text, "http.response_time.max < 2500.5");
  const auto out = evaluate_ensure(e, aggregate());
  ASSERT_EQ(out.size(), 3U);
  EXPECT_TRUE(out[0].ok);
  EXPECT_FALSE(out[1].ok);
  EXPECT_TRUE(out[2].ok);
}

// --- conditions -------------------------------------------------------------------------------

TEST(EnsureConditions, Expressions) {
  struct Case {
    const char* expr;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"vusers.failed == 2", true},
      {"vusers.failed == 0", false},
      {"vusers.skipped == 0", true}, // an absent counter is 0
      {"vusers.failed == 2 and socketio.response_time.p99 < 500", true},
      {"vusers.failed == 2 and socketio.response_time.p99 < 400", false},
      {"vusers.failed == 0 or socketio.response_time.p99 < 500", true},
      {"vusers.failed == 0 or socketio.response_time.p99 < 400", false},
      {"not (vusers.failed > 0)", false},
      {"not vusers.skipped", true},
      {"not not vusers.failed", true},
      {"(vusers.created - vusers.completed) / vusers.created * 100 <= 2", true},
      {"(vusers.created - vusers.completed) / vusers.created * 100 < 2", false},
      {"abs(-3) == 3 and min(4, 2, 9) == 2 and max(1, 5) == 5 and max(7) == 7", true},
      {"round(2.5) == 3 and round(-2.5) == -2 and ceil(1.2) == 2 and floor(1.8) == 1", true},
      {"sqrt(16) == 4 and log10(1000) == 3 and log2(8) == 3 and log(1) == 0", true},
      {"10 % 4 == 2 and 10 mod 4 == 2 and -7 % 3 == -1", true},
      {"2 ^ 3 == 8 and 2 ^ 3 ^ 2 == 64", true}, // ^ is left-associative, as in filtrex
      {"-2 ^ 2 == 4", true},                    // unary minus binds tighter than ^
      {"1 + 2 * 3 == 7 and (1 + 2) * 3 == 9 and 10 - 4 - 3 == 3 and 8 / 4 / 2 == 1", true},
      {"true and not false", true},
      {"false or false", false},
      {"1 < 2 == 1", true},     // (1 < 2) == 1
      {"2 > 1 > 0", true},      // (2 > 1) > 0
      {"not 0 + 1 == 2", true}, // (not 0) + 1 == 2: not binds tightest, as in filtrex
      {"1 == 1 and 2 == 2 or 0", true},
      {"0 and 1 or 1", true}, // and binds tighter than or
      {"1 or 1 and 0", true},
      {"'errors.response timeout' == 2", true},
      {"'vusers.failed' == vusers.failed", true},
      {"http.codes.200 == 50 and http.codes.500 == 0", true},
      {"socketio.response_time.p95 < 100 and socketio.emit_rate >= 24", true},
      {"socketio.emit_rate > 24", false},
      {"1 / 0 > 1000", true},   // Infinity
      {"0 / 0", false},         // NaN is false
      {"0 / 0 != 0 / 0", true}, // as JavaScript
      {"vusers.failed", true},  // non-zero is true
      {"vusers.skipped", false},
      {"3 != 3", false},
      {"1e3 == 1000 and 2.5e-1 == 0.25 and 1E+2 == 100", true},
      {"  vusers.failed >= 2  ", true},
      {"min(vusers.failed, 1) <= 1 and $weird_name_1 == 0 and _x.y == 0", true},
  };
  for (const auto& c : cases) {
    const auto o = condition(c.expr);
    EXPECT_EQ(o.ok, c.ok) << c.expr << " (" << o.detail << ")";
  }
}

TEST(EnsureConditions, DetailAndMissingSummaries) {
  auto o = condition("vusers.failed == 2 and vusers.skipped == 0 and vusers.failed < 5");
  EXPECT_TRUE(o.ok);
  EXPECT_EQ(o.text, "vusers.failed == 2 and vusers.skipped == 0 and vusers.failed < 5");
  EXPECT_EQ(o.detail, "vusers.failed = 2, vusers.skipped = 0 (absent)");

  o = condition("socketio.ack_time.p99 < 200");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.detail, "socketio.ack_time.p99 is missing from the report");
  // A missing summary fails the condition wherever it appears.
  o = condition("vusers.failed == 2 or socketio.ack_time.p99 < 200");
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.detail, "socketio.ack_time.p99 is missing from the report");
  // A present summary aggregate; a counter whose name looks like one is still a counter.
  Json agg = aggregate();
  agg["counters"]["custom.count"] = 3;
  EXPECT_TRUE(condition("custom.count == 3", agg).ok);
  // Summaries win over counters of the same flattened name (Artillery's flattening order).
  agg["counters"]["socketio.response_time.p95"] = 1;
  EXPECT_TRUE(condition("socketio.response_time.p95 == 57.3", agg).ok);
  // Not an object at all: counters are 0, summaries missing.
  EXPECT_TRUE(condition("vusers.failed == 0", Json()).ok);
  EXPECT_FALSE(condition("x.p50 < 1", Json::array()).ok);
  // Non-numeric values are ignored.
  agg["counters"]["weird"] = "5";
  EXPECT_TRUE(condition("weird == 0", agg).ok);
}

TEST(EnsureConditions, StrictFalseIsAWarning) {
  const auto e = parse(R"({"conditions": [
      {"expression": "vusers.failed == 0", "strict": false},
      {"expression": "vusers.failed == 0"},
      {"expression": "vusers.failed == 2", "strict": false}]})");
  ASSERT_EQ(e.checks.size(), 3U);
  const auto out = evaluate_ensure(e, aggregate());
  ASSERT_EQ(out.size(), 3U);
  EXPECT_FALSE(out[0].ok);
  EXPECT_FALSE(out[0].strict);
  EXPECT_FALSE(out[1].ok);
  EXPECT_TRUE(out[1].strict);
  EXPECT_TRUE(out[2].ok);
  EXPECT_FALSE(out[2].strict);
}

TEST(EnsureConditions, ParseErrorsGiveTheColumn) {
  struct Case {
    const char* expr;
    errc code;
    const char* message; ///< after "config.ensure.conditions[0].expression: "
  };
  const std::vector<Case> cases = {
      {"vusers.failed == 0)", errc::bad_recording, "unexpected ')' at column 19"},
      {"(1 + 2", errc::bad_recording, "expected ')' at column 7"},
      {"((1 + 2) 3)", errc::bad_recording, "unexpected '3' at column 10"},
      {"1 +", errc::bad_recording, "unexpected end of expression at column 4"},
      {"", errc::bad_recording, "unexpected end of expression at column 1"},
      {"   ", errc::bad_recording, "unexpected end of expression at column 4"},
      {"a = 1", errc::bad_recording, "unexpected '=' (compare with ==) at column 3"},
      {"a && b", errc::bad_recording, "unexpected '&' at column 3"},
      {"a ! b", errc::bad_recording, "unexpected '!' at column 3"},
      {"foo(1)", errc::bad_recording, "unknown function 'foo' at column 1"},
      {"abs(1, 2)", errc::bad_recording, "abs() takes 1 argument at column 1"},
      {"abs()", errc::bad_recording, "abs() takes 1 argument at column 1"},
      {"max()", errc::bad_recording, "max() needs an argument at column 1"},
      {"max(1, )", errc::bad_recording, "unexpected ')' at column 8"},
      {"max(1 2)", errc::bad_recording, "unexpected '2' at column 7"},
      {"max(1", errc::bad_recording, "expected ')' at column 6"},
      {"x in (1, 2)", errc::bad_recording, "unexpected 'in' at column 3"},
      {"and", errc::bad_recording, "unexpected 'and' at column 1"},
      {"1 and or 2", errc::bad_recording, "unexpected 'or' at column 7"},
      {"1.5.3", errc::bad_recording, "unexpected '.' at column 4"},
      {"12abc", errc::bad_recording, "unexpected 'a' at column 3"},
      {"'abc", errc::bad_recording, "unterminated quoted name at column 1"},
      {"'' == 1", errc::bad_recording, "empty quoted name at column 1"},
      {"1 2", errc::bad_recording, "unexpected '2' at column 3"},
      {"a b", errc::bad_recording, "unexpected 'b' at column 3"},
      {"(", errc::bad_recording, "unexpected end of expression at column 2"},
      {")", errc::bad_recording, "unexpected ')' at column 1"},
      {"x ? 1 : 2", errc::bad_recording, "unexpected '?' at column 3"},
      {"1e999 > 0", errc::bad_recording, "bad number '1e999' at column 1"},
      {"\"s\" == 1", errc::unsupported, "strings are not supported at column 1"},
      {"a\x01", errc::bad_recording, "unexpected '\\x01' at column 2"},
  };
  for (const auto& c : cases) {
    Json spec = {{"conditions", Json::array({{{"expression", c.expr}}})}};
    auto r = parse_ensure(spec);
    ASSERT_FALSE(r.ok()) << c.expr;
    EXPECT_TRUE(r.error().is(c.code)) << c.expr << ": " << r.error().message();
    EXPECT_EQ(r.error().context,
              std::string("config.ensure.conditions[0].expression: ") + c.message)
        << c.expr;
  }
}

TEST(EnsureConditions, HostileInputGivesErrorsNotCrashes) {
  const std::vector<std::string> bombs = {
      std::string(10000, '(') + "1" + std::string(10000, ')'),
      std::string(10000, '(') + "1",
      std::string(10000, '-') + "1",
      [] {
        std::string s;
        for (int i = 0; i < 10000; ++i) s += "not ";
        return s + "1";
      }(),
      [] {
        std::string s;
        for (int i = 0; i < 5000; ++i) s += "abs(";
        return s + "1";
      }(),
      [] {
        std::string s = "1";
        for (int i = 0; i < 100000; ++i) s += " + 1";
        return s;
      }(),
      [] {
        std::string s = "1";
        for (int i = 0; i < 100000; ++i) s += " and 1";
        return s;
      }(),
  };
  for (const auto& b : bombs) {
    Json spec = {{"conditions", Json::array({{{"expression", b}}})}};
    auto r = parse_ensure(spec);
    ASSERT_FALSE(r.ok()) << b.substr(0, 40);
    EXPECT_TRUE(r.error().is(errc::limit_exceeded)) << r.error().message();
  }
  // Just under the limits is fine.
  auto o = condition(std::string(60, '(') + "1" + std::string(60, ')'));
  EXPECT_TRUE(o.ok);
  std::string sum = "0";
  for (int i = 0; i < 200; ++i) sum += " + 1";
  EXPECT_TRUE(condition(sum + " == 200").ok);
  // Many arguments are flat, not deep.
  std::string args = "max(0";
  for (int i = 1; i <= 5000; ++i) args += ", " + std::to_string(i);
  EXPECT_TRUE(condition(args + ") == 5000").ok);
}

TEST(EnsureConditions, HandBuiltTreesDoNotCrash) {
  // The nodes are public: a tree that parse_ensure() would never build must not crash.
  EnsureCheck c;
  c.text = "broken";
  EnsureNode bad_ref;
  bad_ref.op = EnsureNode::Op::add;
  bad_ref.args = {7, 9};
  EnsureNode self_ref;
  self_ref.op = EnsureNode::Op::neg;
  self_ref.args = {1};
  EnsureNode no_args;
  no_args.op = EnsureNode::Op::call;
  no_args.name = "abs";
  c.nodes = {bad_ref, self_ref, no_args};
  Ensure e;
  e.checks.push_back(c);
  c.nodes.clear();
  e.checks.push_back(c);
  c.nodes = {self_ref, self_ref};
  e.checks.push_back(c);
  const auto out = evaluate_ensure(e, aggregate());
  ASSERT_EQ(out.size(), 3U);
  for (const auto& o : out) EXPECT_FALSE(o.ok);
}

// --- legacy keys, maxErrorRate, parsing --------------------------------------------------------

TEST(EnsureLegacy, ResponseTimeKeys) {
  Json agg = aggregate();
  auto e = parse(R"({"p95": 100, "p99": 400, "max": 2000, "median": 40, "min": 1})");
  ASSERT_EQ(e.checks.size(), 5U);
  EXPECT_EQ(e.checks[0].text, "p95 < 100");
  auto out = evaluate_ensure(e, agg);
  ASSERT_EQ(out.size(), 5U);
  EXPECT_TRUE(out[0].ok);
  EXPECT_EQ(out[0].detail, "socketio.response_time.p95 = 57.3, limit 100");
  EXPECT_FALSE(out[1].ok); // 415.8
  EXPECT_TRUE(out[2].ok);  // 1120
  EXPECT_TRUE(out[3].ok);  // 32.8
  EXPECT_TRUE(out[4].ok);  // 0.1

  // Without socketio.response_time: http.response_time.
  agg["summaries"].erase("socketio.response_time");
  out = evaluate_ensure(e, agg);
  EXPECT_FALSE(out[0].ok);
  EXPECT_EQ(out[0].detail, "http.response_time.p95 = 900, limit 100");
  EXPECT_FALSE(out[2].ok); // max 2000 == limit: fails

  // Neither.
  agg["summaries"].erase("http.response_time");
  out = evaluate_ensure(e, agg);
  EXPECT_FALSE(out[0].ok);
  EXPECT_EQ(out[0].detail,
            "none of socketio.response_time.p95, http.response_time.p95 is in the report");
}

TEST(EnsureLegacy, MaxErrorRate) {
  struct Case {
    Json limit;
    double created;
    double completed;
    bool ok;
    const char* detail;
  };
  const std::vector<Case> cases = {
      {2, 100, 98, true, "error rate = 2.00% (2 of 100 virtual users did not complete), limit 2%"},
      {1.9, 100, 98, false, nullptr},
      {0, 100, 100, true, nullptr},
      {"5", 10, 9, false, nullptr},
      {0, 0, 0, false, "no virtual users were created"},
  };
  for (const auto& c : cases) {
    Json spec = {{"maxErrorRate", c.limit}};
    auto e = parse_ensure(spec);
    ASSERT_TRUE(e.ok()) << e.error().message();
    Json agg = {{"counters", {{"vusers.created", c.created}, {"vusers.completed", c.completed}}}};
    const auto out = evaluate_ensure(*e, agg);
    ASSERT_EQ(out.size(), 1U);
    EXPECT_EQ(out[0].text, "maxErrorRate <= " +
                               (c.limit.is_string() ? c.limit.get<std::string>() : c.limit.dump()));
    EXPECT_EQ(out[0].ok, c.ok) << c.limit.dump() << ": " << out[0].detail;
    if (c.detail) {
      EXPECT_EQ(out[0].detail, c.detail);
    }
  }
  // No counters at all.
  const auto out = evaluate_ensure(parse(R"({"maxErrorRate": 1})"), Json::object());
  ASSERT_EQ(out.size(), 1U);
  EXPECT_FALSE(out[0].ok);
}

TEST(EnsureParse, OrderAndShapes) {
  const auto e = parse(R"({"maxErrorRate": 1, "p95": 200,
                           "conditions": [{"expression": "vusers.failed == 0"}],
                           "thresholds": [{"vusers.failed": 1}]})");
  ASSERT_EQ(e.checks.size(), 4U);
  EXPECT_EQ(e.checks[0].kind, EnsureCheck::Kind::threshold);
  EXPECT_EQ(e.checks[1].kind, EnsureCheck::Kind::condition);
  EXPECT_EQ(e.checks[2].text, "p95 < 200");
  EXPECT_EQ(e.checks[3].kind, EnsureCheck::Kind::max_error_rate);
  EXPECT_TRUE(parse("null").checks.empty());
  EXPECT_TRUE(parse("{}").checks.empty());
  EXPECT_TRUE(parse(R"({"thresholds": null, "conditions": []})").checks.empty());
}

TEST(EnsureParse, ErrorsNameThePlace) {
  struct Case {
    const char* spec;
    const char* message;
  };
  const std::vector<Case> cases = {
      {R"([1])", "config.ensure: expected a map"},
      {R"("p95")", "config.ensure: expected a map"},
      {R"({"threshold": []})", "config.ensure.threshold: unknown key"},
      {R"({"thresholds": {"a": 1}})", "config.ensure.thresholds: expected a list"},
      {R"({"thresholds": [5]})", "config.ensure.thresholds[0]: expected a map"},
      {R"({"thresholds": [{}]})", "config.ensure.thresholds[0]: expected a map"},
      {R"({"thresholds": [{"x.p95": "abc"}]})",
       "config.ensure.thresholds[0].x.p95: expected a number"},
      {R"({"thresholds": [{"x.p95": null}]})",
       "config.ensure.thresholds[0].x.p95: expected a number"},
      {R"({"thresholds": [{"": 1}]})", "config.ensure.thresholds[0]: empty metric name"},
      {R"({"conditions": "a == 1"})", "config.ensure.conditions: expected a list"},
      {R"({"conditions": ["a == 1"]})", "config.ensure.conditions[0]: expected a map"},
      {R"({"conditions": [{"strict": true}]})", "config.ensure.conditions[0].expression: missing"},
      {R"({"conditions": [{"expression": 5}]})",
       "config.ensure.conditions[0].expression: expected a string"},
      {R"({"conditions": [{"expression": "1", "strict": "yes"}]})",
       "config.ensure.conditions[0].strict: expected true or false"},
      {R"({"p95": "fast"})", "config.ensure.p95: expected a number"},
      {R"({"maxErrorRate": [1]})", "config.ensure.maxErrorRate: expected a number"},
  };
  for (const auto& c : cases) {
    auto r = parse_ensure(Json::parse(c.spec));
    ASSERT_FALSE(r.ok()) << c.spec;
    EXPECT_TRUE(r.error().is(errc::bad_recording)) << r.error().message();
    EXPECT_EQ(r.error().context.rfind(c.message, 0), 0U) << c.spec << ": " << r.error().context;
  }
  auto r = parse_ensure(Json::parse(R"({"conditions": [{"expression": "("}]})"),
                        "config.plugins.ensure");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().context,
            "config.plugins.ensure.conditions[0].expression: unexpected end of expression at "
            "column 2");
}

} // namespace
