#include "sio/replayer/capture.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

using sio::errc;
using sio::Json;
using sio::replayer::apply_captures;
using sio::replayer::check_matches;
using sio::replayer::ExtractSource;
using sio::replayer::ExtractSpec;
using sio::replayer::json_path;
using sio::replayer::parse_extract;

using Headers = std::vector<std::pair<std::string, std::string>>;

// Raw strings use the j delimiter: regexps in them hold `)"`.

Json doc() {
  return Json::parse(R"j([
    {"token": "abc", "a b": 1, "list": [10, 20, 30], "nested": [[1, 2], [3, [4, 5]]],
     "obj": {"0": "zero", "x": {"y": null}}, "deep": {"k": {"name": "inner"}},
     "name": "outer", "n": 5, "f": 5.0, "s": "5", "ok": true},
    "second"
  ])j");
}

/// A value nested `depth` levels deep ({"a": {"a": ... 1}}), built without recursion.
Json nested(std::size_t depth) {
  Json v = 1;
  for (std::size_t i = 1; i < depth; ++i) {
    Json o = Json::object();
    o["a"] = std::move(v);
    v = std::move(o);
  }
  return v;
}

std::vector<ExtractSpec> specs(const char* json, bool is_match, std::string_view dflt = {}) {
  auto r = parse_extract(Json::parse(json), is_match, dflt);
  EXPECT_TRUE(r.ok()) << json << ": " << (r.ok() ? "" : r.error().message());
  return r.ok() ? *r : std::vector<ExtractSpec>{};
}

// --- json_path --------------------------------------------------------------------------------

TEST(CaptureJsonPath, SelectsTheFirstMatch) {
  const Json d = doc();
  struct Case {
    const char* path;
    Json want;
  };
  const std::vector<Case> cases = {
      {"$", d},
      {"$.0.token", "abc"},
      {"$[0].token", "abc"},
      {"$[0]['a b']", 1},
      {"$[0][\"a b\"]", 1},
      {"$[0][ 'a b' ]", 1},
      {"$.0.list[2]", 30},
      {"$.0.list.2", 30},
      {"$[0].list[-1]", 30},
      {"$.0.nested[1][1][0]", 4},
      {"$.0.nested.1.1.1", 5},
      {"$.0.obj.0", "zero"},  // a numeric member on an object is a member
      {"$.0.obj[0]", "zero"}, // as JavaScript's obj[0]
      {"$.0.obj.x.y", nullptr},
      {"$.1", "second"},
      {"$['0'].token", "abc"}, // a quoted index on an array
      {"$.0.list[*]", 10},
      {"$.0.list.*", 10},
      {"$[*].token", "abc"},
      {"$..name", "outer"},
      {"$..k.name", "inner"},
      {"$..[1]", "second"},
      {"$..y", nullptr},
      {"$..*.list[1]", 20},
      {"0.token", "abc"}, // no "$": as "$.0.token"
      {"[1]", "second"},
      {"  $.0.token  ", "abc"},
  };
  for (const auto& c : cases) {
    auto r = json_path(d, c.path);
    ASSERT_TRUE(r.ok()) << c.path << ": " << r.error().message();
    ASSERT_TRUE(r->has_value()) << c.path;
    EXPECT_EQ(**r, c.want) << c.path;
  }
}

TEST(CaptureJsonPath, MissingSelectsNothing) {
  const Json d = doc();
  for (const char* path :
       {"$.0.missing", "$.5", "$.0.list[3]", "$.0.list[-4]", "$.0.token.x", "$.0.list.x",
        "$.0.token[0]", "$..nope", "$.1.*", "$.0.n.*", "$.0.obj.01", "$[0].list['01']"}) {
    auto r = json_path(d, path);
    ASSERT_TRUE(r.ok()) << path << ": " << r.error().message();
    EXPECT_FALSE(r->has_value()) << path << " -> " << (*r)->dump();
  }
  auto on_scalar = json_path(Json(3), "$.a");
  ASSERT_TRUE(on_scalar.ok());
  EXPECT_FALSE(on_scalar->has_value());
}

TEST(CaptureJsonPath, MalformedPathsAreErrors) {
  struct Case {
    const char* path;
    errc code;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"", errc::bad_recording, "json path \"\": empty path"},
      {"$.", errc::bad_recording, "json path \"$.\": expected a member name at column 3"},
      {"$.a[", errc::bad_recording, "json path \"$.a[\": expected ']' at column 5"},
      {"$[0", errc::bad_recording, "expected ']' at column 4"},
      {"$['a", errc::bad_recording, "unterminated quoted name at column 5"},
      {"$a", errc::bad_recording, "unexpected 'a' at column 2"},
      {"$.a]", errc::bad_recording, "unexpected ']' at column 4"},
      {"$..", errc::bad_recording, "expected a member name at column 4"},
      {"$[x]", errc::bad_recording, "unexpected 'x' at column 3"},
      {"$.[0]", errc::bad_recording, "expected a member name at column 3"},
      {"$.a b", errc::bad_recording, "unexpected ' ' at column 4"},
      {"$.*a", errc::bad_recording, "unexpected 'a' at column 4"},
      {"$[-]", errc::bad_recording, "expected an index at column 3"},
      {"$[?(@.id==1)]", errc::unsupported, "filter expressions are not supported at column 3"},
      {"$[(@.length-1)]", errc::unsupported, "script expressions are not supported"},
      {"$[0:2]", errc::unsupported, "slices are not supported at column 4"},
      {"$[:2]", errc::unsupported, "slices are not supported"},
      {"$[0,1]", errc::unsupported, "unions are not supported at column 4"},
  };
  for (const auto& c : cases) {
    auto r = json_path(doc(), c.path);
    ASSERT_FALSE(r.ok()) << c.path;
    EXPECT_TRUE(r.error().is(c.code)) << c.path << ": " << r.error().message();
    EXPECT_NE(r.error().context.find(c.message), std::string::npos)
        << c.path << ": " << r.error().context;
  }
}

TEST(CaptureJsonPath, LimitsGiveErrorsNotCrashes) {
  // A very long path.
  std::string long_path = "$";
  for (int i = 0; i < 2100; ++i) long_path += ".a";
  auto r = json_path(Json::object(), long_path);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::limit_exceeded)) << r.error().message();

  // Too many segments (short enough in characters).
  std::string many = "$";
  for (int i = 0; i < 300; ++i) many += "[0]";
  r = json_path(Json::array(), many);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::limit_exceeded));

  // Work that explodes: recursive descents over a long chain.
  const Json chain = nested(3000);
  r = json_path(chain, "$..*..*..*..zz");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::limit_exceeded)) << r.error().message();

  // A deep document is walked without recursion; a deep result is refused, not copied.
  r = json_path(chain, "$..zz");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  r = json_path(chain, "$.a.a");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::limit_exceeded));
  r = json_path(nested(100), "$.a.a");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->has_value());
}

// --- parse_extract ----------------------------------------------------------------------------

TEST(CaptureParse, MapsListsAndDefaults) {
  auto one = specs(R"j({"json": "$.0.id", "as": "id"})j", false);
  ASSERT_EQ(one.size(), 1U);
  EXPECT_EQ(one[0].json, "$.0.id");
  EXPECT_EQ(one[0].as, "id");
  EXPECT_TRUE(one[0].strict);

  auto list = specs(R"j([{"header": "x-replica", "as": "r"},
                         {"regexp": "id=(\\d+)", "group": 1, "as": "id", "strict": false},
                         {"as": "first"},
                         {"json": "", "header": "h", "as": "h"},
                         {"json": "$.a", "regexp": "x", "header": "h", "as": "j"},
                         {"regexp": "x", "header": "h", "as": "x", "group": "0", "flags": "gi"}])j",
                    false, "$.0");
  ASSERT_EQ(list.size(), 6U);
  EXPECT_EQ(list[0].header, "x-replica");
  EXPECT_TRUE(list[0].json.empty());
  EXPECT_EQ(list[1].regexp, "id=(\\d+)");
  EXPECT_EQ(list[1].group, 1);
  EXPECT_FALSE(list[1].strict);
  EXPECT_NE(list[1].compiled, nullptr);
  EXPECT_EQ(list[2].json, "$.0"); // the default
  EXPECT_EQ(list[3].header, "h"); // an empty json counts as absent
  EXPECT_TRUE(list[3].json.empty());
  EXPECT_EQ(list[4].json, "$.a"); // json wins over regexp over header
  EXPECT_TRUE(list[4].regexp.empty());
  EXPECT_TRUE(list[4].header.empty());
  EXPECT_EQ(list[5].regexp, "x");
  EXPECT_TRUE(list[5].header.empty());
  EXPECT_EQ(list[5].flags, "gi");

  auto m = specs(R"j([{"json": "$.0.ok", "value": true}, {"value": null}])j", true, "$.0");
  ASSERT_EQ(m.size(), 2U);
  EXPECT_EQ(m[0].value, Json(true));
  EXPECT_EQ(m[1].value, Json(nullptr));
  EXPECT_EQ(m[1].json, "$.0");

  EXPECT_TRUE(specs("null", false).empty());
  EXPECT_TRUE(specs("[]", true).empty());
  // Templates are checked when they run.
  auto t = specs(R"j({"json": "$.{{ k }}[", "regexp": "{{ r }}(", "as": "x"})j", false);
  ASSERT_EQ(t.size(), 1U);
}

TEST(CaptureParse, ErrorsNameTheKey) {
  struct Case {
    const char* spec;
    bool is_match;
    const char* dflt;
    errc code;
    const char* message;
  };
  const std::vector<Case> cases = {
      {R"j({"json": "$.id"})j", false, "", errc::bad_recording, "capture.as: missing"},
      {R"j([{"json": "$.id", "as": "a"}, {"json": "$.x"}])j", false, "", errc::bad_recording,
       "capture[1].as: missing"},
      {R"j({"json": "$.ok"})j", true, "", errc::bad_recording, "match.value: missing"},
      {R"j([{"json": "$.ok", "value": 1}, {"value": 2}])j", true, "", errc::bad_recording,
       "match[1]: needs json, header or regexp"},
      {R"j({"as": "x"})j", false, "", errc::bad_recording, "capture: needs json, header or regexp"},
      {R"j({"json": 5, "as": "x"})j", false, "", errc::bad_recording,
       "capture.json: expected a string"},
      {R"j({"header": ["a"], "as": "x"})j", false, "", errc::bad_recording,
       "capture.header: expected a string"},
      {R"j({"json": "$.a", "as": 1})j", false, "", errc::bad_recording,
       "capture.as: expected a string"},
      {R"j({"json": "$.a[", "as": "x"})j", false, "", errc::bad_recording,
       "capture.json: expected ']' at column 5"},
      {R"j({"json": "$[0:1]", "as": "x"})j", false, "", errc::unsupported,
       "capture.json: slices are not supported"},
      {R"j({"regexp": "(", "as": "x"})j", false, "", errc::bad_recording,
       "capture.regexp: invalid"},
      {R"j({"regexp": "a(b)", "group": 2, "as": "x"})j", false, "", errc::bad_recording,
       "capture.group: the regexp has 1 group"},
      {R"j({"regexp": "(a)\\1", "as": "x"})j", false, "", errc::unsupported,
       "capture.regexp: back-references are not supported"},
      {R"j({"regexp": "a", "flags": "s", "as": "x"})j", false, "", errc::unsupported,
       "capture.flags: flag 's' (dotAll) is not supported"},
      {R"j({"regexp": "a", "flags": "q", "as": "x"})j", false, "", errc::bad_recording,
       "capture.flags: unknown flag 'q'"},
      {R"j({"regexp": "a", "group": "name", "as": "x"})j", false, "", errc::unsupported,
       "capture.group: named groups are not supported"},
      {R"j({"regexp": "a", "group": -1, "as": "x"})j", false, "", errc::bad_recording,
       "capture.group: expected a group number"},
      {R"j({"regexp": "a", "group": 1.5, "as": "x"})j", false, "", errc::bad_recording,
       "capture.group: expected a group number"},
      {R"j({"xpath": "//a", "as": "x"})j", false, "", errc::unsupported,
       "capture.xpath: not supported"},
      {R"j({"selector": "a", "as": "x"})j", false, "$.0", errc::unsupported,
       "capture.selector: not supported"},
      {R"j({"json": "$.a", "as": "x", "transform": "this.x"})j", false, "", errc::unsupported,
       "capture.transform: not supported"},
      {R"j({"json": "$.a", "as": "x", "strict": "no"})j", false, "", errc::bad_recording,
       "capture.strict: expected true or false"},
      {R"j("$.a")j", false, "", errc::bad_recording, "capture: expected a map or a list of maps"},
      {R"j([5])j", true, "", errc::bad_recording, "match[0]: expected a map"},
  };
  for (const auto& c : cases) {
    auto r = parse_extract(Json::parse(c.spec), c.is_match, c.dflt);
    ASSERT_FALSE(r.ok()) << c.spec;
    EXPECT_TRUE(r.error().is(c.code)) << c.spec << ": " << r.error().message();
    EXPECT_EQ(r.error().context.rfind(c.message, 0), 0U) << c.spec << ": " << r.error().context;
  }
}

TEST(CaptureParse, HostileRegexpsAreRefused) {
  Json spec = {{"as", "x"}};
  spec["regexp"] = std::string(2000, 'a');
  auto r = parse_extract(spec, false);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::limit_exceeded));

  spec["regexp"] = std::string(40, '(') + "a" + std::string(40, ')');
  r = parse_extract(spec, false);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::limit_exceeded)) << r.error().message();
  EXPECT_NE(r.error().context.find("nest"), std::string::npos);

  spec["regexp"] = "((a?){400}){400}"; // over the regexp library's state limit
  r = parse_extract(spec, false);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::limit_exceeded)) << r.error().message();

  spec["regexp"] = "[((((((((((((((((((((((((((((((((((((((((]"; // inside a class: not groups
  r = parse_extract(spec, false);
  EXPECT_TRUE(r.ok()) << r.error().message();
}

// --- apply_captures ---------------------------------------------------------------------------

TEST(CaptureApply, JsonFromAckArgs) {
  const Json args =
      Json::parse(R"j([{"id": 7, "token": "t", "user": {"roles": ["a", "b"]}}, "x"])j");
  Json vars = {{"field", "token"}, {"keep", 1}};
  const auto s = specs(R"j([{"json": "$.0.id", "as": "id"},
                            {"as": "first"},
                            {"json": "$.0.user.roles[1]", "as": "role"},
                            {"json": "$.1", "as": "second"},
                            {"json": "$.0.{{ field }}", "as": "templated"},
                            {"json": "$.0.user", "as": "a.b"}])j",
                       false, "$.0");
  ASSERT_TRUE(apply_captures(s, ExtractSource{&args, {}, nullptr}, vars).ok());
  EXPECT_EQ(vars["id"], 7);
  EXPECT_EQ(vars["first"], args[0]);
  EXPECT_EQ(vars["role"], "b");
  EXPECT_EQ(vars["second"], "x");
  EXPECT_EQ(vars["templated"], "t");
  EXPECT_EQ(vars["a.b"], args[0]["user"]); // set literally, dots included
  EXPECT_EQ(vars["keep"], 1);
}

TEST(CaptureApply, HttpBodyHeadersAndRegexps) {
  const std::string body = R"j({"user": {"id": "u1", "n": 42}, "next": "page=3&sid=ab12"})j";
  const Headers headers = {{"Content-Type", "application/json"},
                           {"X-Replica", "r2"},
                           {"Set-Cookie", "a=1"},
                           {"set-cookie", "b=2"},
                           {"Via", "one"},
                           {"via", "two"}};
  Json vars; // null becomes an object
  const auto s = specs(R"j([{"json": "$.user.id", "as": "uid"},
                            {"json": "$.user.n", "as": "n"},
                            {"header": "x-replica", "as": "replica"},
                            {"header": "SET-COOKIE", "as": "cookies"},
                            {"header": "via", "as": "via"},
                            {"regexp": "sid=(\\w+)", "group": 1, "as": "sid"},
                            {"regexp": "page=\\d", "as": "page"},
                            {"regexp": "SID=(\\w+)", "flags": "i", "group": 1, "as": "sid2"}])j",
                       false);
  ASSERT_TRUE(apply_captures(s, ExtractSource{nullptr, body, &headers}, vars).ok());
  EXPECT_EQ(vars["uid"], "u1");
  EXPECT_EQ(vars["n"], 42);
  EXPECT_EQ(vars["replica"], "r2");
  EXPECT_EQ(vars["cookies"], Json::parse(R"j(["a=1", "b=2"])j"));
  EXPECT_EQ(vars["via"], "one, two");
  EXPECT_EQ(vars["sid"], "ab12");
  EXPECT_EQ(vars["page"], "page=3");
  EXPECT_EQ(vars["sid2"], "ab12");
}

TEST(CaptureApply, RegexpOnArgsUsesTheirJsonText) {
  const Json args = Json::parse(R"j([{"room": "r-17"}])j");
  Json vars = Json::object();
  const auto s = specs(R"j({"regexp": "\"room\":\"r-(\\d+)\"", "group": 1, "as": "room"})j", false);
  ASSERT_TRUE(apply_captures(s, ExtractSource{&args, {}, nullptr}, vars).ok());
  EXPECT_EQ(vars["room"], "17");
}

TEST(CaptureApply, NothingFound) {
  const Json args = Json::parse(R"j([{"id": 1}])j");
  const Headers headers = {{"x-a", "1"}};
  struct Case {
    const char* spec;
    ExtractSource src;
    const char* message;
  };
  const std::vector<Case> cases = {
      {R"j({"json": "$.0.nope", "as": "v"})j",
       {&args, {}, nullptr},
       "capture \"$.0.nope\" found nothing"},
      {R"j({"json": "$.id", "as": "v"})j",
       {nullptr, "<html>", nullptr},
       "capture \"$.id\" found nothing (the response is not JSON)"},
      {R"j({"header": "x-b", "as": "v"})j",
       {nullptr, "", &headers},
       "capture header \"x-b\" found nothing"},
      {R"j({"header": "x-a", "as": "v"})j",
       {&args, {}, nullptr},
       "capture header \"x-a\" found nothing (no headers)"},
      {R"j({"regexp": "id=(\\d+)", "as": "v"})j",
       {nullptr, "no ids here", nullptr},
       "capture regexp \"id=(\\d+)\" found nothing"},
      {R"j({"regexp": "a(x)?b", "group": 1, "as": "v"})j",
       {nullptr, "ab", nullptr},
       "capture regexp \"a(x)?b\" found nothing"}, // the group took no part
  };
  for (const auto& c : cases) {
    Json vars = {{"v", "old"}};
    auto s = specs(c.spec, false);
    auto st = apply_captures(s, c.src, vars);
    ASSERT_FALSE(st.ok()) << c.spec;
    EXPECT_EQ(st.error().context, c.message);
    EXPECT_EQ(vars["v"], "old") << c.spec;

    // strict: false -> no error, and the variable is gone (Artillery: undefined).
    s[0].strict = false;
    ASSERT_TRUE(apply_captures(s, c.src, vars).ok()) << c.spec;
    EXPECT_FALSE(vars.contains("v")) << c.spec;
  }
}

TEST(CaptureApply, TemplatedExpressionsAreCheckedWhenTheyRun) {
  const Json args = Json::parse(R"j([{"id": 1}])j");
  Json vars = {{"bad", "[("}, {"pattern", "(\\d)"}};
  auto s = specs(R"j({"json": "$.0{{ bad }}", "as": "v"})j", false);
  auto st = apply_captures(s, ExtractSource{&args, {}, nullptr}, vars);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().context.find("json path \"$.0[(\""), std::string::npos)
      << st.error().context;

  s = specs(R"j({"regexp": "{{ bad }}", "as": "v"})j", false);
  st = apply_captures(s, ExtractSource{nullptr, "x", nullptr}, vars);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().context.find("regexp \"[(\""), std::string::npos) << st.error().context;

  s = specs(R"j({"regexp": "id={{ pattern }}", "group": 1, "as": "v"})j", false);
  ASSERT_TRUE(apply_captures(s, ExtractSource{nullptr, "id=7", nullptr}, vars).ok());
  EXPECT_EQ(vars["v"], "7");

  s = specs(R"j({"regexp": "id={{ pattern }}", "group": 2, "as": "v"})j", false);
  st = apply_captures(s, ExtractSource{nullptr, "id=7", nullptr}, vars);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().context.find("has no group 2"), std::string::npos);
}

TEST(CaptureApply, BigAndDeepInputsDoNotCrash) {
  // Backtracking std::regex would overflow the stack here; the text is also cut at 1 MB.
  const std::string body = "x=" + std::string(2u << 20, 'a');
  Json vars = Json::object();
  auto s = specs(R"j({"regexp": "x=(a*)", "group": 1, "as": "v"})j", false);
  ASSERT_TRUE(apply_captures(s, ExtractSource{nullptr, body, nullptr}, vars).ok());
  EXPECT_EQ(vars["v"].get<std::string>().size(), sio::replayer::max_regexp_text - 2);

  // A deep document: a regexp cannot run on its text, a json capture of it is refused.
  Json deep = Json::array();
  deep.push_back(nested(5000)); // moved in: copying would recurse
  s = specs(R"j([{"regexp": "a", "as": "r", "strict": false}, {"json": "$.0.a", "as": "j"}])j",
            false);
  auto st = apply_captures(s, ExtractSource{&deep, {}, nullptr}, vars);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().is(errc::limit_exceeded)) << st.error().message();
  EXPECT_FALSE(vars.contains("r"));

  // Text that is not valid UTF-8 or holds NULs.
  const std::string bin("\xff\xfe\0id=9\0", 9);
  s = specs(R"j({"regexp": "id=(\\d)", "group": 1, "as": "v"})j", false);
  ASSERT_TRUE(apply_captures(s, ExtractSource{nullptr, bin, nullptr}, vars).ok());
  EXPECT_EQ(vars["v"], "9");

  // Variables that are not an object.
  Json not_object = 5;
  EXPECT_FALSE(apply_captures(s, ExtractSource{nullptr, bin, nullptr}, not_object).ok());
}

// --- check_matches ----------------------------------------------------------------------------

TEST(CaptureMatch, PassesAndFailures) {
  const Json args = doc();
  const Headers headers = {{"X-Replica", "r2"}, {"x-count", "5"}};
  const std::string text = "n=5 ok=true";
  struct Case {
    const char* spec;
    const char* failure; ///< nullptr: passes
  };
  const std::vector<Case> cases = {
      {R"j({"json": "$.0.ok", "value": true})j", nullptr},
      {R"j({"json": "$.0.n", "value": 5})j", nullptr},
      {R"j({"json": "$.0.n", "value": 5.0})j", nullptr}, // numbers compare by value
      {R"j({"json": "$.0.f", "value": 5})j", nullptr},
      {R"j({"json": "$.0.s", "value": "5"})j", nullptr},
      {R"j({"json": "$.0.list", "value": [10, 20, 30]})j", nullptr}, // deep equality
      {R"j({"json": "$.0.obj.x.y", "value": null})j", nullptr},
      {R"j({"header": "x-replica", "value": "r2"})j", nullptr},
      {R"j({"header": "X-COUNT", "value": 5})j", nullptr}, // text vs the value's text
      {R"j({"regexp": "n=(\\d)", "group": 1, "value": 5})j", nullptr},
      {R"j({"regexp": "ok=(\\w+)", "group": 1, "value": true})j", nullptr},
      {R"j({"regexp": "n=(\\d)", "group": 1, "value": "5"})j", nullptr},
      {R"j({"json": "$.0.ok", "value": false})j", "match $.0.ok: expected false, got true"},
      {R"j({"json": "$.0.n", "value": "5"})j", "match $.0.n: expected \"5\", got 5"},
      {R"j({"json": "$.0.s", "value": 5})j", "match $.0.s: expected 5, got \"5\""},
      {R"j({"json": "$.0.zz", "value": 1})j", "match $.0.zz: expected 1, got nothing"},
      {R"j({"json": "$.0.list", "value": [10, 20]})j",
       "match $.0.list: expected [10,20], got [10,20,30]"},
      {R"j({"header": "x-replica", "value": "r1"})j",
       "match header x-replica: expected \"r1\", got \"r2\""},
      {R"j({"header": "x-none", "value": "r1"})j",
       "match header x-none: expected \"r1\", got nothing"},
      {R"j({"regexp": "n=(\\d)", "group": 1, "value": 6})j",
       "match regexp n=(\\d): expected 6, got \"5\""},
      {R"j({"regexp": "n=(\\d)", "group": 1, "value": [5]})j",
       "match regexp n=(\\d): expected [5], got \"5\""},
  };
  for (const auto& c : cases) {
    auto s = specs(c.spec, true);
    ASSERT_EQ(s.size(), 1U) << c.spec;
    // The header/regexp cases read the text; json ones the parsed document.
    const bool text_source = s[0].json.empty();
    const ExtractSource src =
        text_source ? ExtractSource{nullptr, text, &headers} : ExtractSource{&args, {}, &headers};
    auto st = check_matches(s, src);
    if (!c.failure) {
      EXPECT_TRUE(st.ok()) << c.spec << ": " << st.error().message();
      continue;
    }
    ASSERT_FALSE(st.ok()) << c.spec;
    EXPECT_EQ(st.error().context, c.failure);
    s[0].strict = false; // a non-strict match may fail
    EXPECT_TRUE(check_matches(s, src).ok()) << c.spec;
  }
}

TEST(CaptureMatch, FirstFailingSpecIsNamedAndTemplatesUseVars) {
  const Json args = Json::parse(R"j([{"a": 1, "b": 2, "c": 3}])j");
  auto s = specs(R"j([{"json": "$.0.a", "value": 1}, {"json": "$.0.b", "value": 9},
                      {"json": "$.0.c", "value": 9}])j",
                 true);
  auto st = check_matches(s, ExtractSource{&args, {}, nullptr});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().context, "match $.0.b: expected 9, got 2");

  const Json vars = {{"k", "c"}};
  s = specs(R"j({"json": "$.0.{{ k }}", "value": 3})j", true);
  EXPECT_TRUE(check_matches(s, ExtractSource{&args, {}, nullptr}, &vars).ok());
  // A long value is cut in the message.
  const Json big = Json::array({std::string(1000, 'x')});
  s = specs(R"j({"json": "$.0", "value": "y"})j", true);
  st = check_matches(s, ExtractSource{&big, {}, nullptr});
  ASSERT_FALSE(st.ok());
  EXPECT_LT(st.error().context.size(), 300U);
}

} // namespace
