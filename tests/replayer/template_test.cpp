#include "sio/replayer/template.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using sio::Json;
using sio::replayer::has_template;
using sio::replayer::lookup;
using sio::replayer::render;
using sio::replayer::render_string;
using sio::replayer::TemplateContext;
using sio::replayer::uuid_v4;

Json sample_vars() {
  return Json::parse(R"({
    "n": 5, "f": 0.5, "whole": 3.0, "big": 12345678901234567000, "neg": -7,
    "yes": true, "no": false, "nothing": null, "s": "text", "empty": "",
    "obj": {"a": {"b": [10, {"c": "deep"}]}, "k": "v"},
    "arr": ["x", "y", [1, 2]],
    "spaced key": {"in": 1},
    "a.b": "dotted key",
    "$loopCount": 3, "$loopElement": {"id": 9}, "target": "http://h:1",
    "tpl": "{{ n }}"
  })");
}

class TemplateTest : public ::testing::Test {
protected:
  Json vars = sample_vars();
  std::mt19937_64 rng{42};
  TemplateContext ctx{&vars, &rng};
  Json r(const std::string& s) { return render_string(s, ctx); }
};

TEST_F(TemplateTest, WholeTemplateKeepsType) {
  struct Case {
    const char* text;
    Json want;
  };
  const std::vector<Case> cases = {
      {"{{ n }}", 5},
      {"{{n}}", 5},
      {"{{   n   }}", 5},
      {"{{{ n }}}", 5},
      {"{{ f }}", 0.5},
      {"{{ big }}", Json::parse("12345678901234567000")},
      {"{{ yes }}", true},
      {"{{ no }}", false},
      {"{{ nothing }}", nullptr},
      {"{{ s }}", "text"},
      {"{{ empty }}", ""},
      {"{{ obj }}", vars["obj"]},
      {"{{ arr }}", vars["arr"]},
      {"{{ obj.a.b[0] }}", 10},
      {"{{ obj.a.b[1].c }}", "deep"},
      {"{{ obj.a.b.1.c }}", "deep"},
      {"{{ arr[2][1] }}", 2},
      {"{{ obj['k'] }}", "v"},
      {"{{ obj[\"k\"] }}", "v"},
      {"{{ a.b }}", "dotted key"},
      {"{{ $loopCount }}", 3},
      {"{{ $loopElement.id }}", 9},
      {"{{ target }}", "http://h:1"},
      {"{{ unknown }}", nullptr},
      {"{{ obj.missing.deeper }}", nullptr},
      {"{{ arr[7] }}", nullptr},
      {"{{ tpl }}", "{{ n }}"}, // values are not templated again
  };
  for (const auto& c : cases) EXPECT_EQ(r(c.text), c.want) << c.text;
}

TEST_F(TemplateTest, MixedTextSubstitutes) {
  struct Case {
    const char* text;
    const char* want;
  };
  const std::vector<Case> cases = {
      {"id-{{ n }}", "id-5"},
      {"{{ n }}{{ n }}", "55"},
      {" {{ n }}", " 5"},
      {"{{ n }} ", "5 "},
      {"a {{ s }} b {{ neg }} c", "a text b -7 c"},
      {"f={{ f }} w={{ whole }}", "f=0.5 w=3"},
      {"{{ yes }}/{{ no }}/{{ nothing }}", "true/false/null"},
      {"o={{ obj.a }}", R"(o={"b":[10,{"c":"deep"}]})"},
      {"a={{ arr }}", R"(a=["x","y",[1,2]])"},
      {"u={{ unknown }}", "u=undefined"},
      {"e=[{{ empty }}]", "e=[]"},
      {"k={{ spaced key.in }}", "k=1"},
      {"t={{ tpl }}", "t={{ n }}"},
      {"big {{ big }}", "big 12345678901234567000"},
      {"no templates here", "no templates here"},
  };
  for (const auto& c : cases) EXPECT_EQ(r(c.text), Json(c.want)) << c.text;
}

TEST_F(TemplateTest, MalformedTemplatesStayLiteral) {
  const std::vector<std::string> cases = {
      "{{",
      "}}",
      "{{ n",
      "{{n}",
      "{ n }}",
      "{{ n(1) }}",
      "{{ a + b }}",
      "{{ $nope(1) }}",
      "{{ $randomNumber(-1,2) }}",
      "{{ $randomNumber(1.5,2) }}",
      "{{ $randomString('x') }}",
      "{{ n }",
  };
  for (const auto& c : cases) EXPECT_EQ(r(c), Json(c)) << c;
  // Artillery's pattern accepts blanks only: an empty name, which is never defined.
  EXPECT_EQ(r("{{ }}"), nullptr);
  EXPECT_EQ(r("a{{ }}"), "aundefined");
  // One bad template does not stop the good ones.
  EXPECT_EQ(r("{{ x + 1 }} and {{ n }}"), "{{ x + 1 }} and 5");
  EXPECT_EQ(r("{{{{ n }}"), "{5");
  EXPECT_EQ(r("{{ n }}}}"), "5}");
}

TEST_F(TemplateTest, RandomNumberIsInclusiveAndText) {
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    const Json v = r("{{ $randomNumber(1, 3) }}");
    ASSERT_TRUE(v.is_string()); // Artillery substitutes the text of the result
    seen.insert(v.get<std::string>());
  }
  EXPECT_EQ(seen, (std::set<std::string>{"1", "2", "3"}));
  EXPECT_EQ(r("{{$randomNumber(5,5)}}"), "5");
  EXPECT_EQ(r("{{ $randomNumber(7, 7) }}"), "7");
  EXPECT_EQ(r("{{ $randomNumber(9,9) }}-{{ n }}"), "9-5"); // then variables
  for (int i = 0; i < 200; ++i) {
    const auto v = std::stoll(r("{{ $randomNumber(10,2) }}").get<std::string>()); // swapped
    EXPECT_GE(v, 2);
    EXPECT_LE(v, 10);
    const auto one = std::stoll(r("{{ $randomNumber(4) }}").get<std::string>());
    EXPECT_GE(one, 0);
    EXPECT_LE(one, 4);
  }
}

TEST_F(TemplateTest, RandomString) {
  const auto alnum = [](const std::string& s) {
    for (char c : s)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
        return false;
    return true;
  };
  const std::string def = r("{{ $randomString() }}").get<std::string>();
  EXPECT_EQ(def.size(), 10u);
  EXPECT_TRUE(alnum(def)) << def;
  const std::string eight = r("id-{{ $randomString(8) }}").get<std::string>();
  ASSERT_EQ(eight.size(), 11u);
  EXPECT_EQ(eight.substr(0, 3), "id-");
  EXPECT_TRUE(alnum(eight.substr(3)));
  EXPECT_EQ(r("{{ $randomString(0) }}"), "");
  EXPECT_NE(r("{{ $randomString() }}"), r("{{ $randomString() }}"));
}

TEST_F(TemplateTest, SeededRngIsDeterministic) {
  std::mt19937_64 a{7}, b{7};
  Json v = Json::object();
  TemplateContext ca{&v, &a}, cb{&v, &b};
  const std::string t = "{{ $randomString(12) }} {{ $randomNumber(1,1000000) }} {{ $uuid }}";
  for (int i = 0; i < 5; ++i) EXPECT_EQ(render_string(t, ca), render_string(t, cb));
}

TEST_F(TemplateTest, Uuid) {
  Json with = {{"$uuid", "11111111-2222-4333-8444-555555555555"}};
  TemplateContext c{&with, &rng};
  EXPECT_EQ(render_string("{{ $uuid }}", c), "11111111-2222-4333-8444-555555555555");
  const auto check = [](const std::string& u) {
    ASSERT_EQ(u.size(), 36u) << u;
    for (std::size_t i = 0; i < u.size(); ++i) {
      if (i == 8 || i == 13 || i == 18 || i == 23) {
        EXPECT_EQ(u[i], '-') << u;
      } else {
        EXPECT_TRUE((u[i] >= '0' && u[i] <= '9') || (u[i] >= 'a' && u[i] <= 'f')) << u;
      }
    }
    EXPECT_EQ(u[14], '4') << u;
    EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos) << u;
  };
  check(r("{{ $uuid }}").get<std::string>());
  for (int i = 0; i < 50; ++i) check(uuid_v4(rng));
  std::mt19937_64 x{1}, y{1};
  EXPECT_EQ(uuid_v4(x), uuid_v4(y));
  EXPECT_NE(uuid_v4(x), uuid_v4(x));
  // No generator in the context: still a uuid.
  TemplateContext none{&vars, nullptr};
  check(render_string("{{ $uuid }}", none).get<std::string>());
  EXPECT_EQ(render_string("{{ $randomNumber(3,3) }}", none), "3");
}

TEST_F(TemplateTest, ProcessEnvironment) {
  ::setenv("SIO_TEMPLATE_TEST_VAR", "from-env", 1);
  ::unsetenv("SIO_TEMPLATE_TEST_UNSET");
  EXPECT_EQ(r("{{ $env.SIO_TEMPLATE_TEST_VAR }}"), "from-env");
  EXPECT_EQ(r("{{ $processEnvironment.SIO_TEMPLATE_TEST_VAR }}"), "from-env");
  EXPECT_EQ(r("x={{ $env.SIO_TEMPLATE_TEST_VAR }}"), "x=from-env");
  EXPECT_EQ(r("{{ $env.SIO_TEMPLATE_TEST_UNSET }}"), nullptr);
  EXPECT_EQ(r("x={{ $env.SIO_TEMPLATE_TEST_UNSET }}"), "x=undefined");
  // Variables put there by the engine win.
  Json v = {{"$env", {{"SIO_TEMPLATE_TEST_VAR", "from-vars"}}}};
  TemplateContext c{&v, &rng};
  EXPECT_EQ(render_string("{{ $env.SIO_TEMPLATE_TEST_VAR }}", c), "from-vars");
}

TEST_F(TemplateTest, RenderWalksValuesAndKeepsKeys) {
  const Json in = Json::parse(R"({
    "{{ n }}": "{{ n }}",
    "list": ["{{ obj.k }}", 1, true, null, {"deep": "v={{ s }}"}],
    "num": 4.5
  })");
  const Json out = render(in, ctx);
  const Json want = Json::parse(R"({
    "{{ n }}": 5,
    "list": ["v", 1, true, null, {"deep": "v=text"}],
    "num": 4.5
  })");
  EXPECT_EQ(out, want);
  EXPECT_EQ(out.begin().key(), "{{ n }}"); // order kept
  EXPECT_EQ(render(Json("{{ arr }}"), ctx), vars["arr"]);
  EXPECT_EQ(render(Json(12), ctx), 12);
}

TEST_F(TemplateTest, NoVariables) {
  TemplateContext none{nullptr, &rng};
  EXPECT_EQ(render_string("{{ n }}", none), nullptr);
  EXPECT_EQ(render_string("a{{ n }}", none), "aundefined");
  EXPECT_EQ(render_string("plain", none), "plain");
}

TEST(TemplateLookup, Paths) {
  const Json v = sample_vars();
  ASSERT_NE(lookup(v, "obj.a.b[1].c"), nullptr);
  EXPECT_EQ(*lookup(v, "obj.a.b[1].c"), "deep");
  EXPECT_EQ(*lookup(v, "arr[2][0]"), 1);
  EXPECT_EQ(*lookup(v, "a.b"), "dotted key");
  EXPECT_EQ(*lookup(v, "$loopCount"), 3);
  EXPECT_EQ(*lookup(v, "obj['a']['b'][0]"), 10);
  EXPECT_EQ(lookup(v, "obj.zzz"), nullptr);
  EXPECT_EQ(lookup(v, "arr[-1]"), nullptr);
  EXPECT_EQ(lookup(v, "arr[99999999999999999999]"), nullptr);
  EXPECT_EQ(lookup(v, "s.length"), nullptr);
  EXPECT_EQ(lookup(v, "obj["), nullptr);
  EXPECT_EQ(lookup(v, "obj['k"), nullptr);
  EXPECT_EQ(lookup(v, "arr[0]x"), nullptr);
  EXPECT_EQ(lookup(v, ""), nullptr);
  EXPECT_EQ(lookup(Json(5), "a"), nullptr);
}

TEST(TemplateHas, Detects) {
  EXPECT_TRUE(has_template("a {{ b }}"));
  EXPECT_TRUE(has_template("{{"));
  EXPECT_FALSE(has_template("{ {"));
  EXPECT_FALSE(has_template(""));
}

TEST(TemplateFuzz, NeverThrows) {
  const std::string alphabet = "{}$ ab.[]'\"(),0123-_\\\xff\x00";
  std::mt19937_64 gen(123);
  Json vars = sample_vars();
  TemplateContext ctx{&vars, &gen};
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1), len(0, 24);
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const std::size_t n = len(gen);
    for (std::size_t k = 0; k < n; ++k) s += alphabet[pick(gen)];
    Json out;
    EXPECT_NO_THROW(out = render_string(s, ctx)) << s;
    if (!has_template(s)) {
      EXPECT_EQ(out, Json(s));
    }
    EXPECT_NO_THROW((void)lookup(vars, s));
    EXPECT_NO_THROW((void)render(Json::array({s, Json::object({{"k", s}})}), ctx));
  }
}

} // namespace
