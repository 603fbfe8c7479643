#include "sio/common/json_fast.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

using sio::Json;

/// The same value and the same number types all the way down (nlohmann's == calls 1 and 1u
/// and 1.0 equal).
bool same_tree(const Json& a, const Json& b) {
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same_tree(a[i], b[i])) return false;
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    auto ia = a.begin();
    auto ib = b.begin();
    for (; ia != a.end(); ++ia, ++ib)
      if (ia.key() != ib.key() || !same_tree(*ia, *ib)) return false;
    return true;
  }
  if (a.is_number_float()) // bit for bit (NaN cannot be parsed)
    return a.get<double>() == b.get<double>() &&
           std::signbit(a.get<double>()) == std::signbit(b.get<double>());
  return a == b;
}

/// What nlohmann makes of `text` (nullopt: a parse error).
std::optional<Json> reference(const std::string& text) {
  try {
    return Json::parse(text);
  } catch (const Json::exception&) {
    return std::nullopt;
  }
}

/// The contract: when the fast parser says yes, the value equals nlohmann's.
void check(const std::string& text, std::size_t max_depth = 512) {
  Json fast;
  const bool ok = sio::parse_json_fast(text, fast, max_depth);
  // The check-only pass says yes exactly when the parse does.
  EXPECT_EQ(sio::json_surely_valid(text, max_depth), ok) << text;
  if (!ok) return;
  const auto ref = reference(text);
  ASSERT_TRUE(ref.has_value()) << "fast parser accepted what nlohmann refuses: " << text;
  EXPECT_TRUE(same_tree(fast, *ref))
      << text << "\n fast: " << fast.dump() << "\n nlohmann: " << ref->dump();
}

bool accepts(const std::string& text, std::size_t max_depth = 512) {
  Json j;
  const bool ok = sio::parse_json_fast(text, j, max_depth);
  EXPECT_EQ(sio::json_surely_valid(text, max_depth), ok) << text;
  return ok;
}

TEST(JsonFast, ParsesWhatSocketIoSendsLikeNlohmann) {
  const std::vector<std::string> texts = {
      R"(["message",{"user":"ann","text":"hi","n":3,"ok":true,"none":null}])",
      R"(["join",[1,2,3],{},[],""])",
      R"( { "a" : [ 1 , -2 , 3.5 , -0 , 0 , 1e3 , 2E-2 , -1.25e+2 ] } )",
      R"({"sid":"x7sS_f0AAAB","pingInterval":25000})",
      R"("\"\\\/\b\f\n\r\t\u0041\u00e9\u20ac\u0000")",
      "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"",
      R"({"a":1,"b":2,"a":3})",         // repeated key: first place, last value
      "18446744073709551615",           // uint64 max: unsigned
      "18446744073709551616",           // one more: a double
      "-9223372036854775808",           // int64 min: signed
      "-9223372036854775809",           // one less: a double
      "123456789012345678901234567890", // far past 64 bits
      "0.1",
      "1e-300",
      "5e-324",
      "1.7976931348623157e308",
      "-0.0",
      "[[[[[[]]]]]]",
      "true",
      "false",
      "null",
      "\t\r\n 7 \n",
  };
  for (const auto& t : texts) {
    SCOPED_TRACE(t);
    EXPECT_TRUE(accepts(t));
    check(t);
  }
}

TEST(JsonFast, LeavesEverythingElseToNlohmann) {
  const std::vector<std::string> texts = {
      "",
      " ",
      "[",
      "]",
      "{",
      "[1,]",
      "{\"a\":1,}",
      "{\"a\"}",
      "{a:1}",
      "[1 2]",
      "01",
      "-",
      "1.",
      ".5",
      "+1",
      "1e",
      "1e+",
      "tru",
      "nul",
      "True",
      "[1]x",
      "\"abc",
      "\"a\\x\"",
      "\"\\u12\"",
      "\"\\uZZZZ\"",
      "\"tab\there\"",
      "\"\\uD83D\\uDE00\"",
      "\"\\uDE00\"",
      "\"\xC3\"",
      "\"\xC0\xAF\"",
      "\"\xED\xA0\x80\"",
      "\"\xF4\x90\x80\x80\"",
      "\xFF",
      "\xEF\xBB\xBF[1]",
      "1e400",
      "-1e400",
      "1e-400",
      "{\"a\":1}}",
      std::string("[1]\0", 4),
  };
  for (const auto& t : texts) {
    SCOPED_TRACE(t);
    EXPECT_FALSE(accepts(t));
  }
}

TEST(JsonFast, RefusesNestingPastTheLimit) {
  EXPECT_TRUE(accepts("[[[1]]]", 3));
  EXPECT_FALSE(accepts("[[[[1]]]]", 3));
  EXPECT_FALSE(accepts("{\"a\":{\"b\":{\"c\":{}}}}", 3));
  EXPECT_FALSE(accepts(std::string(100000, '[') + std::string(100000, ']'), 512));
}

/// Random documents from the grammar, then random damage: whatever the fast parser accepts
/// must be exactly what nlohmann parses.
TEST(JsonFast, AgreesWithNlohmannOnRandomText) {
  std::mt19937 rng(20261129);
  const auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::vector<std::string> atoms = {"0",
                                          "-0",
                                          "7",
                                          "-12",
                                          "3.25",
                                          "-1e5",
                                          "1E-3",
                                          "18446744073709551616",
                                          "true",
                                          "false",
                                          "null",
                                          "\"\"",
                                          "\"a b\"",
                                          "\"\\n\\u00e9\"",
                                          "\"\xC3\xA9\"",
                                          "\"\\\"\"",
                                          "1.5e308"};
  std::function<std::string(int)> gen = [&](int depth) -> std::string {
    const int k = depth > 3 ? 0 : pick(3);
    if (k == 0) return atoms[static_cast<std::size_t>(pick(static_cast<int>(atoms.size())))];
    std::string s(1, k == 1 ? '[' : '{');
    const int n = pick(4);
    for (int i = 0; i < n; ++i) {
      if (i > 0) s += pick(8) == 0 ? " , " : ",";
      if (k == 2) s += "\"k" + std::to_string(pick(3)) + "\":";
      s += gen(depth + 1);
    }
    s += k == 1 ? ']' : '}';
    return s;
  };
  const std::string noise = "[]{},:\"\\ -.e0123456789tfnu\x01\x80\xC3";
  for (int i = 0; i < 20000; ++i) {
    std::string t = gen(0);
    if (i % 2 == 1) { // damage: change, insert or drop a byte
      const auto at = static_cast<std::size_t>(pick(static_cast<int>(t.size()) + 1));
      const char c = noise[static_cast<std::size_t>(pick(static_cast<int>(noise.size())))];
      switch (pick(3)) {
      case 0:
        if (at < t.size()) t[at] = c;
        break;
      case 1:
        t.insert(at, 1, c);
        break;
      default:
        if (at < t.size()) t.erase(at, 1);
      }
    } else {
      EXPECT_TRUE(accepts(t)) << t; // undamaged documents take the fast path
    }
    check(t);
    if (HasFailure()) break;
  }
}

} // namespace
