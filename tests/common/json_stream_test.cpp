#include "sio/common/json_stream.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using sio::errc;
using sio::JsonReader;
using Token = sio::JsonReader::Token;
using namespace std::string_literals;

/// One token as read: its kind, its text (keys, strings, numbers) and where it started.
struct Read {
  Token token;
  std::string text;
  std::uint64_t offset;

  friend bool operator==(const Read&, const Read&) = default;
};

void PrintTo(const Read& r, std::ostream* os) {
  *os << JsonReader::describe(r.token) << " '" << r.text << "' @" << r.offset;
}

/// Reads every token up to and including `end` or `error`.
std::vector<Read> read_all(JsonReader& r) {
  std::vector<Read> out;
  for (;;) {
    const Token t = r.next();
    const bool has_text = t == Token::key || t == Token::string || t == Token::number;
    out.push_back({t, has_text ? std::string(r.text()) : std::string(), r.token_offset()});
    if (t == Token::end || t == Token::error) return out;
    if (out.size() > 100000) return out; // a runaway reader; the test will fail on the content
  }
}

std::vector<Token> tokens_of(std::string_view doc) {
  JsonReader r(doc);
  std::vector<Token> out;
  for (const auto& x : read_all(r)) out.push_back(x.token);
  return out;
}

/// The unescaped text of a document holding one string.
std::string string_value(std::string_view doc) {
  JsonReader r(doc);
  EXPECT_EQ(r.next(), Token::string) << doc;
  std::string s(r.text());
  EXPECT_EQ(r.next(), Token::end) << doc;
  return s;
}

/// Reads `doc` to the end; returns the error (expecting one).
sio::Error error_of(std::string_view doc, std::size_t max_depth = 1024) {
  JsonReader r(doc, max_depth);
  const auto all = read_all(r);
  EXPECT_EQ(all.back().token, Token::error) << doc;
  EXPECT_TRUE(r.failed()) << doc;
  return r.error();
}

// --- tokens -----------------------------------------------------------------------------------

TEST(JsonReaderTest, ReadsEveryTokenTypeWithOffsets) {
  const std::string doc = R"( {"o":{},"a":[],"s":"x","n":-1.5e3,"t":true,"f":false,"z":null} )";
  JsonReader r(doc);
  const std::vector<Read> want = {
      {Token::begin_object, "", 1},  {Token::key, "o", 2},          {Token::begin_object, "", 6},
      {Token::end_object, "", 7},    {Token::key, "a", 9},          {Token::begin_array, "", 13},
      {Token::end_array, "", 14},    {Token::key, "s", 16},         {Token::string, "x", 20},
      {Token::key, "n", 24},         {Token::number, "-1.5e3", 28}, {Token::key, "t", 35},
      {Token::boolean_true, "", 39}, {Token::key, "f", 44},         {Token::boolean_false, "", 48},
      {Token::key, "z", 54},         {Token::null, "", 58},         {Token::end_object, "", 62},
      {Token::end, "", 64},
  };
  EXPECT_EQ(read_all(r), want);
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(r.offset(), doc.size());
}

TEST(JsonReaderTest, ReadsScalarDocuments) {
  EXPECT_EQ(tokens_of("true"), (std::vector{Token::boolean_true, Token::end}));
  EXPECT_EQ(tokens_of(" false "), (std::vector{Token::boolean_false, Token::end}));
  EXPECT_EQ(tokens_of("\nnull\r\n"), (std::vector{Token::null, Token::end}));
  EXPECT_EQ(tokens_of("\t7"), (std::vector{Token::number, Token::end}));
  EXPECT_EQ(tokens_of(R"("s")"), (std::vector{Token::string, Token::end}));
}

TEST(JsonReaderTest, KeepsReturningEndAfterTheDocument) {
  JsonReader r("[]");
  EXPECT_EQ(r.next(), Token::begin_array);
  EXPECT_EQ(r.next(), Token::end_array);
  EXPECT_EQ(r.next(), Token::end);
  EXPECT_EQ(r.next(), Token::end);
  EXPECT_FALSE(r.failed());
}

TEST(JsonReaderTest, ReadsNestedObjectsAndArrays) {
  const std::string doc = R"({"a":[1,{"b":[[],{}]},"c"],"d":{"e":{"f":[null]}}})";
  JsonReader r(doc);
  const std::vector<std::pair<Token, std::size_t>> want = {
      {Token::begin_object, 1}, {Token::key, 1},          {Token::begin_array, 2},
      {Token::number, 2},       {Token::begin_object, 3}, {Token::key, 3},
      {Token::begin_array, 4},  {Token::begin_array, 5},  {Token::end_array, 4},
      {Token::begin_object, 5}, {Token::end_object, 4},   {Token::end_array, 3},
      {Token::end_object, 2},   {Token::string, 2},       {Token::end_array, 1},
      {Token::key, 1},          {Token::begin_object, 2}, {Token::key, 2},
      {Token::begin_object, 3}, {Token::key, 3},          {Token::begin_array, 4},
      {Token::null, 4},         {Token::end_array, 3},    {Token::end_object, 2},
      {Token::end_object, 1},   {Token::end_object, 0},   {Token::end, 0},
  };
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(r.next(), want[i].first) << "token " << i;
    EXPECT_EQ(r.depth(), want[i].second) << "token " << i;
  }
}

TEST(JsonReaderTest, AcceptsDeepNestingWithinTheLimit) {
  const std::string doc = std::string(1000, '[') + std::string(1000, ']');
  JsonReader r(doc);
  std::size_t opens = 0;
  Token t;
  while ((t = r.next()) == Token::begin_array) ++opens;
  EXPECT_EQ(opens, 1000u);
  EXPECT_EQ(r.depth(), 999u);
  while (t == Token::end_array) t = r.next();
  EXPECT_EQ(t, Token::end);
}

TEST(JsonReaderTest, DescribesTokens) {
  EXPECT_EQ(JsonReader::describe(Token::begin_object), "an object");
  EXPECT_EQ(JsonReader::describe(Token::begin_array), "an array");
  EXPECT_EQ(JsonReader::describe(Token::string), "a string");
  EXPECT_EQ(JsonReader::describe(Token::number), "a number");
  EXPECT_EQ(JsonReader::describe(Token::boolean_true), "a boolean");
  EXPECT_EQ(JsonReader::describe(Token::boolean_false), "a boolean");
  EXPECT_EQ(JsonReader::describe(Token::null), "null");
}

// --- strings ----------------------------------------------------------------------------------

TEST(JsonReaderTest, PlainStringsAreViewsIntoTheDocument) {
  const std::string doc = R"(["hello world",""])";
  JsonReader r(doc);
  ASSERT_EQ(r.next(), Token::begin_array);
  ASSERT_EQ(r.next(), Token::string);
  EXPECT_EQ(r.text(), "hello world");
  EXPECT_EQ(r.text().data(), doc.data() + 2); // no copy for strings without escapes
  ASSERT_EQ(r.next(), Token::string);
  EXPECT_EQ(r.text(), "");
}

TEST(JsonReaderTest, UnescapesSimpleEscapes) {
  EXPECT_EQ(string_value(R"("a\"b")"), "a\"b");
  EXPECT_EQ(string_value(R"("a\\b")"), "a\\b");
  EXPECT_EQ(string_value(R"("a\/b")"), "a/b");
  EXPECT_EQ(string_value(R"("\b\f\n\r\t")"), "\b\f\n\r\t");
  EXPECT_EQ(string_value(R"("x\\")"), "x\\");
  EXPECT_EQ(string_value(R"("\\\"")"), "\\\"");
  EXPECT_EQ(string_value(R"("pre \n mid \t post")"), "pre \n mid \t post");
}

TEST(JsonReaderTest, UnescapesUnicodeEscapes) {
  EXPECT_EQ(string_value(R"("\u0041")"), "A");
  EXPECT_EQ(string_value(R"("\u00e9\u00E9")"), "\xc3\xa9\xc3\xa9"); // é é
  EXPECT_EQ(string_value(R"("\u20ac")"), "\xe2\x82\xac");           // €
  EXPECT_EQ(string_value(R"("\u0000")"), "\0"s);                    // NUL kept
  EXPECT_EQ(string_value(R"("a\u0020b")"), "a b");
  EXPECT_EQ(string_value("\"caf\xc3\xa9 \\u00e9\""), "caf\xc3\xa9 \xc3\xa9"); // raw UTF-8 kept
}

TEST(JsonReaderTest, JoinsSurrogatePairsIntoFourByteUtf8) {
  EXPECT_EQ(string_value(R"("\ud83d\ude00")"), "\xf0\x9f\x98\x80");   // U+1F600
  EXPECT_EQ(string_value(R"("\uD834\uDD1E!")"), "\xf0\x9d\x84\x9e!"); // U+1D11E
  EXPECT_EQ(string_value(R"("\udbff\udfff")"), "\xf4\x8f\xbf\xbf");   // U+10FFFF
}

TEST(JsonReaderTest, ReplacesLoneSurrogatesWithReplacementCharacter) {
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(string_value(R"("\ud83d")"), fffd);
  EXPECT_EQ(string_value(R"("\ud83dx")"), fffd + "x");
  EXPECT_EQ(string_value(R"("\ude00")"), fffd);
  EXPECT_EQ(string_value(R"("\ud83d\u0041")"), fffd + "A");  // high then a non-surrogate
  EXPECT_EQ(string_value(R"("\ude00\ud83d")"), fffd + fffd); // low then high
  EXPECT_EQ(string_value(R"("\ud83d\ud83d\ude00")"), fffd + "\xf0\x9f\x98\x80");
  EXPECT_EQ(string_value(R"("\ud83d\n")"), fffd + "\n");
}

TEST(JsonReaderTest, UnescapesKeys) {
  JsonReader r(R"({"k\"ey\u00e9":1,"":2})");
  ASSERT_EQ(r.next(), Token::begin_object);
  ASSERT_EQ(r.next(), Token::key);
  EXPECT_EQ(r.text(), "k\"ey\xc3\xa9");
  ASSERT_EQ(r.next(), Token::number);
  EXPECT_EQ(r.text(), "1");
  ASSERT_EQ(r.next(), Token::key);
  EXPECT_EQ(r.text(), "");
}

TEST(JsonReaderTest, EscapedStringsDoNotDisturbLaterTokens) {
  JsonReader r(R"(["a\nb","plain","c\"d"])");
  ASSERT_EQ(r.next(), Token::begin_array);
  ASSERT_EQ(r.next(), Token::string);
  EXPECT_EQ(r.text(), "a\nb");
  ASSERT_EQ(r.next(), Token::string);
  EXPECT_EQ(r.text(), "plain");
  ASSERT_EQ(r.next(), Token::string);
  EXPECT_EQ(r.text(), "c\"d");
  EXPECT_EQ(r.next(), Token::end_array);
  EXPECT_EQ(r.next(), Token::end);
}

// --- numbers ----------------------------------------------------------------------------------

class JsonReaderValidNumberTest : public ::testing::TestWithParam<const char*> {};

TEST_P(JsonReaderValidNumberTest, ReadsTheNumberAsWritten) {
  const std::string n = GetParam();
  for (const std::string& doc : {n, "[" + n + "]", "{\"k\":" + n + "}", " " + n + " "}) {
    JsonReader r(doc);
    Token t = r.next();
    while (t == Token::begin_array || t == Token::begin_object || t == Token::key) t = r.next();
    ASSERT_EQ(t, Token::number) << doc;
    EXPECT_EQ(r.text(), n) << doc;
    t = r.next();
    while (t == Token::end_array || t == Token::end_object) t = r.next();
    EXPECT_EQ(t, Token::end) << doc;
  }
}

INSTANTIATE_TEST_SUITE_P(Forms, JsonReaderValidNumberTest,
                         ::testing::Values("0", "-0", "7", "-7", "1234567890", "0.5", "-0.25",
                                           "10.125", "1e10", "1E10", "1e+10", "1e-10", "-2.5E-3",
                                           "0e0", "123456789012345678901234567890"));

class JsonReaderInvalidNumberTest : public ::testing::TestWithParam<const char*> {};

TEST_P(JsonReaderInvalidNumberTest, IsAnError) {
  const std::string n = GetParam();
  for (const std::string& doc : {n, "[" + n + "]", "[" + n + ",1]"}) {
    const auto e = error_of(doc);
    EXPECT_TRUE(e.is(errc::bad_json)) << doc << ": " << e.message();
    EXPECT_NE(e.offset, sio::Error::npos) << doc;
  }
}

INSTANTIATE_TEST_SUITE_P(Forms, JsonReaderInvalidNumberTest,
                         ::testing::Values("01", "-01", "00", "-", "--1", "+1", ".5", "1.", "1.e3",
                                           "1e", "1e+", "1E-", "-a", "0x10", "1.5.2", "Infinity",
                                           "NaN", "1ee2"));

TEST(JsonReaderTest, LeadingZeroIsFollowedByAnErrorAtTheNextCharacter) {
  {
    JsonReader r("01");
    ASSERT_EQ(r.next(), Token::number);
    EXPECT_EQ(r.text(), "0");
    EXPECT_EQ(r.next(), Token::error);
    EXPECT_EQ(r.error().offset, 1u);
  }
  {
    JsonReader r("[01]");
    ASSERT_EQ(r.next(), Token::begin_array);
    ASSERT_EQ(r.next(), Token::number);
    EXPECT_EQ(r.text(), "0");
    EXPECT_EQ(r.next(), Token::error);
    EXPECT_EQ(r.error().offset, 2u);
  }
}

TEST(JsonReaderTest, NumberErrorsPointAtTheBadCharacter) {
  EXPECT_EQ(error_of("-").offset, 1u);
  EXPECT_EQ(error_of("[1.]").offset, 3u);
  EXPECT_EQ(error_of("[1e]").offset, 3u);
  EXPECT_EQ(error_of("[1e-x]").offset, 4u);
  EXPECT_EQ(error_of("[-x]").offset, 2u);
}

// --- literals ---------------------------------------------------------------------------------

TEST(JsonReaderTest, RejectsBadLiterals) {
  for (const char* doc : {"tru", "nul", "fals", "True", "nulL", "[t]", "[falsy]", "[nan]", "x"}) {
    const auto e = error_of(doc);
    EXPECT_TRUE(e.is(errc::bad_json) || e.is(errc::truncated_input)) << doc << ": " << e.message();
  }
  EXPECT_EQ(error_of("[1, tru]").offset, 4u);
  EXPECT_EQ(error_of("[nulx]").offset, 1u);
}

TEST(JsonReaderTest, LiteralFollowedByLettersIsAnError) {
  JsonReader r("[truex]");
  ASSERT_EQ(r.next(), Token::begin_array);
  ASSERT_EQ(r.next(), Token::boolean_true);
  EXPECT_EQ(r.next(), Token::error);
  EXPECT_EQ(r.error().offset, 5u);
}

// --- skip and raw_value -----------------------------------------------------------------------

TEST(JsonReaderTest, SkipsNestedObjects) {
  JsonReader r(R"({"a":{"b":{"c":[1,2,{"d":null}]},"e":"f"},"g":true})");
  ASSERT_EQ(r.next(), Token::begin_object);
  ASSERT_EQ(r.next(), Token::key);
  ASSERT_EQ(r.next(), Token::begin_object);
  EXPECT_EQ(r.depth(), 2u);
  ASSERT_TRUE(r.skip());
  EXPECT_EQ(r.depth(), 1u);
  ASSERT_EQ(r.next(), Token::key);
  EXPECT_EQ(r.text(), "g");
  EXPECT_EQ(r.next(), Token::boolean_true);
  EXPECT_EQ(r.next(), Token::end_object);
  EXPECT_EQ(r.next(), Token::end);
}

TEST(JsonReaderTest, SkipsNestedArrays) {
  JsonReader r(R"([[1,[2,[3,[4]]],{"x":[]}],"after"])");
  ASSERT_EQ(r.next(), Token::begin_array);
  ASSERT_EQ(r.next(), Token::begin_array);
  ASSERT_TRUE(r.skip());
  ASSERT_EQ(r.next(), Token::string);
  EXPECT_EQ(r.text(), "after");
  EXPECT_EQ(r.next(), Token::end_array);
  EXPECT_EQ(r.next(), Token::end);
}

TEST(JsonReaderTest, SkipsTheWholeTopLevelValue) {
  JsonReader r(R"( {"a":[1,2,3],"b":{"c":"d"}} )");
  ASSERT_EQ(r.next(), Token::begin_object);
  ASSERT_TRUE(r.skip());
  EXPECT_EQ(r.depth(), 0u);
  EXPECT_EQ(r.next(), Token::end);
  EXPECT_FALSE(r.failed());
}

TEST(JsonReaderTest, SkipsEmptyContainers) {
  JsonReader r(R"([{},[],{"k":{}}])");
  ASSERT_EQ(r.next(), Token::begin_array);
  ASSERT_EQ(r.next(), Token::begin_object);
  ASSERT_TRUE(r.skip());
  ASSERT_EQ(r.next(), Token::begin_array);
  ASSERT_TRUE(r.skip());
  ASSERT_EQ(r.next(), Token::begin_object);
  ASSERT_EQ(r.next(), Token::key);
  ASSERT_TRUE(r.skip());
  EXPECT_EQ(r.next(), Token::end_object);
  EXPECT_EQ(r.next(), Token::end_array);
  EXPECT_EQ(r.next(), Token::end);
}

TEST(JsonReaderTest, SkipAfterAKeySkipsTheMemberValue) {
  JsonReader r(R"({"big":{"x":[1,{"y":2}]},"scalar":"s","arr":[true],"num":5,"last":null})");
  ASSERT_EQ(r.next(), Token::begin_object);
  for (const char* k : {"big", "scalar", "arr", "num"}) {
    ASSERT_EQ(r.next(), Token::key);
    EXPECT_EQ(r.text(), k);
    ASSERT_TRUE(r.skip()) << k;
    EXPECT_EQ(r.depth(), 1u) << k;
  }
  ASSERT_EQ(r.next(), Token::key);
  EXPECT_EQ(r.text(), "last");
  EXPECT_EQ(r.next(), Token::null);
  EXPECT_EQ(r.next(), Token::end_object);
  EXPECT_EQ(r.next(), Token::end);
}

TEST(JsonReaderTest, SkipOnAScalarDoesNothing) {
  JsonReader r(R"([1,"two",true,null,3])");
  ASSERT_EQ(r.next(), Token::begin_array);
  ASSERT_EQ(r.next(), Token::number);
  EXPECT_TRUE(r.skip());
  ASSERT_EQ(r.next(), Token::string);
  EXPECT_TRUE(r.skip());
  EXPECT_EQ(r.text(), "two");
  EXPECT_EQ(r.next(), Token::boolean_true);
  EXPECT_TRUE(r.skip());
  EXPECT_EQ(r.next(), Token::null);
  EXPECT_TRUE(r.skip());
  ASSERT_EQ(r.next(), Token::number);
  EXPECT_EQ(r.text(), "3");
  EXPECT_EQ(r.next(), Token::end_array);
  EXPECT_EQ(r.next(), Token::end);
}

TEST(JsonReaderTest, SkipIgnoresQuotesAndBracketsInsideStrings) {
  const std::string doc = R"({"a":["x\"]}",  "\\", "[{", "}]\\\"}", {"k]":"v{"}],"b":true})";
  JsonReader r(doc);
  ASSERT_EQ(r.next(), Token::begin_object);
  ASSERT_EQ(r.next(), Token::key);
  ASSERT_TRUE(r.skip());
  ASSERT_EQ(r.next(), Token::key);
  EXPECT_EQ(r.text(), "b");
  EXPECT_EQ(r.next(), Token::boolean_true);
  EXPECT_EQ(r.next(), Token::end_object);
  EXPECT_EQ(r.next(), Token::end);
  EXPECT_FALSE(r.failed());
}

TEST(JsonReaderTest, SkipHandlesAStringEndingInEscapedBackslashes) {
  // "\\\\" is two backslashes: the quote after them closes the string.
  JsonReader r(R"([["\\\\"],"next"])");
  ASSERT_EQ(r.next(), Token::begin_array);
  ASSERT_EQ(r.next(), Token::begin_array);
  ASSERT_TRUE(r.skip());
  ASSERT_EQ(r.next(), Token::string);
  EXPECT_EQ(r.text(), "next");
}

TEST(JsonReaderTest, RawValueReturnsTheTextOfEachValue) {
  const std::string doc =
      R"({"obj": {"x": [1, 2], "s": "q\"}"}, "str": "s\"q", "num": -1.5e3, "arr": [ [] ], "t": true, "n": null})";
  JsonReader r(doc);
  ASSERT_EQ(r.next(), Token::begin_object);
  const std::vector<std::pair<std::string, std::string>> want = {
      {"obj", R"({"x": [1, 2], "s": "q\"}"})"},
      {"str", R"("s\"q")"},
      {"num", "-1.5e3"},
      {"arr", "[ [] ]"},
      {"t", "true"},
      {"n", "null"},
  };
  for (const auto& [key, raw] : want) {
    ASSERT_EQ(r.next(), Token::key);
    EXPECT_EQ(r.text(), key);
    ASSERT_NE(r.next(), Token::error);
    std::string_view out;
    ASSERT_TRUE(r.raw_value(out)) << key;
    EXPECT_EQ(out, raw) << key;
  }
  EXPECT_EQ(r.next(), Token::end_object);
  EXPECT_EQ(r.next(), Token::end);
}

TEST(JsonReaderTest, RawValueOfTheTopLevelValue) {
  const std::string doc = "  [1, {\"a\": \"b\"}]\n";
  JsonReader r(doc);
  ASSERT_EQ(r.next(), Token::begin_array);
  std::string_view out;
  ASSERT_TRUE(r.raw_value(out));
  EXPECT_EQ(out, R"([1, {"a": "b"}])");
  EXPECT_EQ(out.data(), doc.data() + 2);
  EXPECT_EQ(r.next(), Token::end);
}

TEST(JsonReaderTest, RawValueInsideAnArray) {
  JsonReader r(R"([{"a":1},[2],"x"])");
  ASSERT_EQ(r.next(), Token::begin_array);
  std::string_view out;
  ASSERT_EQ(r.next(), Token::begin_object);
  ASSERT_TRUE(r.raw_value(out));
  EXPECT_EQ(out, R"({"a":1})");
  ASSERT_EQ(r.next(), Token::begin_array);
  ASSERT_TRUE(r.raw_value(out));
  EXPECT_EQ(out, "[2]");
  ASSERT_EQ(r.next(), Token::string);
  ASSERT_TRUE(r.raw_value(out));
  EXPECT_EQ(out, R"("x")");
  EXPECT_EQ(r.next(), Token::end_array);
}

// --- errors -----------------------------------------------------------------------------------

TEST(JsonReaderTest, EmptyInputIsReported) {
  for (const char* doc : {"", " ", "\n\t\r "}) {
    const auto e = error_of(doc);
    EXPECT_TRUE(e.is(errc::empty_input)) << '"' << doc << "\": " << e.message();
    EXPECT_EQ(e.offset, std::string_view(doc).size());
  }
}

struct ErrorCase {
  const char* doc;
  errc code;
  std::uint64_t offset;
};

void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << c.doc;
}

class JsonReaderErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(JsonReaderErrorTest, ReportsCodeAndOffset) {
  const auto& c = GetParam();
  const auto e = error_of(c.doc);
  EXPECT_TRUE(e.is(c.code)) << e.message();
  EXPECT_EQ(e.offset, c.offset) << e.message();
  EXPECT_FALSE(e.context.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Documents, JsonReaderErrorTest,
    ::testing::Values(
        // truncated documents
        ErrorCase{"[", errc::truncated_input, 1}, ErrorCase{"{", errc::truncated_input, 1},
        ErrorCase{"[1, 2", errc::truncated_input, 5}, ErrorCase{"[1,", errc::truncated_input, 3},
        ErrorCase{R"({"a")", errc::truncated_input, 4},
        ErrorCase{R"({"a":)", errc::truncated_input, 5},
        ErrorCase{R"({"a":1)", errc::truncated_input, 6},
        ErrorCase{R"({"a":[{}])", errc::truncated_input, 9},
        ErrorCase{R"("abc)", errc::truncated_input, 0},
        ErrorCase{R"(["ab\"c)", errc::truncated_input, 1},
        ErrorCase{R"(["abc\)", errc::truncated_input, 1},
        ErrorCase{R"({"ke)", errc::truncated_input, 1},
        // trailing garbage
        ErrorCase{"[1] x", errc::bad_json, 4}, ErrorCase{"1 2", errc::bad_json, 2},
        ErrorCase{"{}}", errc::bad_json, 2}, ErrorCase{"[]]", errc::bad_json, 2},
        ErrorCase{"null,", errc::bad_json, 4},
        // missing colon / comma
        ErrorCase{R"({"a" 1})", errc::bad_json, 5}, ErrorCase{R"({"a",1})", errc::bad_json, 4},
        ErrorCase{R"({"a":1 "b":2})", errc::bad_json, 7}, ErrorCase{"[1 2]", errc::bad_json, 3},
        ErrorCase{"[1}", errc::bad_json, 2}, ErrorCase{R"({"a":1])", errc::bad_json, 6},
        // misplaced tokens
        ErrorCase{"[1,]", errc::bad_json, 3}, ErrorCase{R"({"a":1,})", errc::bad_json, 7},
        ErrorCase{"{a:1}", errc::bad_json, 1}, ErrorCase{"{1:1}", errc::bad_json, 1},
        ErrorCase{"[,1]", errc::bad_json, 1}, ErrorCase{"]", errc::bad_json, 0},
        ErrorCase{"}", errc::bad_json, 0}, ErrorCase{":", errc::bad_json, 0},
        ErrorCase{"['x']", errc::bad_json, 1},
        // bad strings
        ErrorCase{"\"ab\x01\"", errc::bad_json, 3}, ErrorCase{"[\"a\nb\"]", errc::bad_json, 3},
        ErrorCase{"[\"a\\n\tb\"]", errc::bad_json, 5},
        ErrorCase{"{\"k\x1f\":1}", errc::bad_json, 3}, ErrorCase{R"("\x")", errc::bad_json, 1},
        ErrorCase{R"(["ok","\a"])", errc::bad_json, 7}, ErrorCase{R"("\u12")", errc::bad_json, 1},
        ErrorCase{R"("\u12G4")", errc::bad_json, 1}, ErrorCase{R"("ab\u)", errc::bad_json, 3},
        // a control character where a value should be
        ErrorCase{"[\x01]", errc::bad_json, 1}));

TEST(JsonReaderTest, UnexpectedControlCharacterIsShownInHex) {
  const auto e = error_of("[\x1f]");
  EXPECT_NE(e.context.find("\\x1f"), std::string::npos) << e.context;
  const auto nul = error_of("[\0]"s);
  EXPECT_NE(nul.context.find("\\x00"), std::string::npos) << nul.context;
}

TEST(JsonReaderTest, KeepsReturningErrorAfterAnError) {
  JsonReader r("[1 2] [3]");
  ASSERT_EQ(r.next(), Token::begin_array);
  ASSERT_EQ(r.next(), Token::number);
  ASSERT_EQ(r.next(), Token::error);
  const auto first = r.error();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(r.next(), Token::error);
  EXPECT_TRUE(r.failed());
  EXPECT_FALSE(r.skip());
  std::string_view out;
  EXPECT_FALSE(r.raw_value(out));
  EXPECT_EQ(r.error().offset, first.offset); // the first error is kept
  EXPECT_EQ(r.error().context, first.context);
  EXPECT_EQ(r.error().code, first.code);
}

TEST(JsonReaderTest, DepthLimitStopsWithoutCrashing) {
  const std::string doc(2000, '[');
  JsonReader r(doc, 1024);
  std::size_t opens = 0;
  Token t;
  while ((t = r.next()) == Token::begin_array) ++opens;
  EXPECT_EQ(opens, 1024u);
  ASSERT_EQ(t, Token::error);
  EXPECT_TRUE(r.error().is(errc::limit_exceeded)) << r.error().message();
  EXPECT_EQ(r.error().offset, 1024u);
  EXPECT_EQ(r.next(), Token::error);
}

TEST(JsonReaderTest, DepthLimitCountsObjectsAndArrays) {
  EXPECT_EQ(error_of(R"({"a":[{"b":[1]}]})", 3).offset, 11u);
  EXPECT_TRUE(error_of(R"({"a":[{"b":[1]}]})", 3).is(errc::limit_exceeded));
  JsonReader ok(R"({"a":[{"b":[1]}]})", 4);
  const auto all = read_all(ok);
  EXPECT_EQ(all.back().token, Token::end);
}

TEST(JsonReaderTest, SkipEnforcesTheDepthLimit) {
  const std::string doc(2000, '[');
  JsonReader r(doc, 1024);
  ASSERT_EQ(r.next(), Token::begin_array);
  EXPECT_FALSE(r.skip());
  EXPECT_TRUE(r.error().is(errc::limit_exceeded)) << r.error().message();
  EXPECT_EQ(r.error().offset, 1024u);
  EXPECT_EQ(r.next(), Token::error);

  JsonReader small("[[[[1]]]]", 3);
  ASSERT_EQ(small.next(), Token::begin_array);
  EXPECT_FALSE(small.skip());
  EXPECT_TRUE(small.error().is(errc::limit_exceeded));
  EXPECT_EQ(small.error().offset, 3u);
}

TEST(JsonReaderTest, SkipReportsMismatchedBrackets) {
  {
    JsonReader r("[1, {]");
    ASSERT_EQ(r.next(), Token::begin_array);
    EXPECT_FALSE(r.skip());
    EXPECT_TRUE(r.failed());
    EXPECT_TRUE(r.error().is(errc::bad_json));
    EXPECT_EQ(r.error().offset, 5u);
    EXPECT_EQ(r.next(), Token::error);
  }
  {
    JsonReader r(R"({"a":[1}})");
    ASSERT_EQ(r.next(), Token::begin_object);
    ASSERT_EQ(r.next(), Token::key);
    EXPECT_FALSE(r.skip());
    EXPECT_TRUE(r.error().is(errc::bad_json));
    EXPECT_EQ(r.error().offset, 7u);
  }
  {
    JsonReader r("{]");
    ASSERT_EQ(r.next(), Token::begin_object);
    EXPECT_FALSE(r.skip());
    EXPECT_EQ(r.error().offset, 1u);
  }
}

TEST(JsonReaderTest, SkipReportsTruncation) {
  {
    JsonReader r(R"({"a":[1,[2)");
    ASSERT_EQ(r.next(), Token::begin_object);
    ASSERT_EQ(r.next(), Token::key);
    EXPECT_FALSE(r.skip());
    EXPECT_TRUE(r.error().is(errc::truncated_input)) << r.error().message();
    EXPECT_EQ(r.error().offset, 10u);
  }
  {
    JsonReader r(R"(["abc\"]})");
    ASSERT_EQ(r.next(), Token::begin_array);
    EXPECT_FALSE(r.skip());
    EXPECT_TRUE(r.error().is(errc::truncated_input)) << r.error().message();
    EXPECT_EQ(r.error().offset, 1u);
  }
  {
    JsonReader r(R"({"a":)");
    ASSERT_EQ(r.next(), Token::begin_object);
    ASSERT_EQ(r.next(), Token::key);
    EXPECT_FALSE(r.skip());
    EXPECT_TRUE(r.error().is(errc::truncated_input));
  }
  {
    JsonReader r(R"({"a" [1]})"); // missing colon found while skipping a member
    ASSERT_EQ(r.next(), Token::begin_object);
    ASSERT_EQ(r.next(), Token::key);
    EXPECT_FALSE(r.skip());
    EXPECT_TRUE(r.error().is(errc::bad_json));
    EXPECT_EQ(r.error().offset, 5u);
  }
}

TEST(JsonReaderTest, ErrorMessageNamesTheByteOffset) {
  const auto e = error_of(R"({"a" 1})");
  EXPECT_NE(e.message().find("byte 5"), std::string::npos) << e.message();
}

TEST(JsonReaderTest, InvalidUtf8InAStringIsAnErrorAtTheBadByte) {
  // A lone Latin-1 byte, in the fast path and after an escape (the unescaping path).
  for (const auto& [doc, at] : std::vector<std::pair<std::string, std::uint64_t>>{
           {"[\"caf\xe9\"]", 5}, {"[\"a\\n\xc3\x28\"]", 5}, {"{\"k\xff\":1}", 3}}) {
    JsonReader r(doc);
    for (int i = 0; i < 8 && r.next() != Token::error; ++i) {}
    ASSERT_TRUE(r.failed()) << doc;
    EXPECT_EQ(r.error().offset, at) << doc;
    EXPECT_EQ(r.error().context, "invalid UTF-8 in a string") << doc;
  }
  EXPECT_EQ(string_value("\"\xf0\x9f\x98\x80\""), "\xf0\x9f\x98\x80"); // valid 4-byte UTF-8 kept
}

} // namespace
