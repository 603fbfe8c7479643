#include "sio/common/cookie.hpp"
#include "sio/common/url.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace {

using sio::errc;
using Pairs = std::vector<std::pair<std::string, std::string>>;

// --- parse_url --------------------------------------------------------------------------------

struct UrlCase {
  const char* text;
  const char* scheme;
  const char* host;
  int port;
  const char* path;
  const char* origin;
  const char* authority;
};

void PrintTo(const UrlCase& c, std::ostream* os) {
  *os << c.text;
}

class ParseUrlCaseTest : public ::testing::TestWithParam<UrlCase> {};

TEST_P(ParseUrlCaseTest, SplitsTheUrl) {
  const auto& c = GetParam();
  const auto u = sio::parse_url(c.text);
  ASSERT_TRUE(u.ok()) << u.error().message();
  EXPECT_EQ(u->scheme, c.scheme);
  EXPECT_EQ(u->host, c.host);
  EXPECT_EQ(u->port, c.port);
  EXPECT_EQ(u->path, c.path);
  EXPECT_EQ(u->origin(), c.origin);
  EXPECT_EQ(u->authority(), c.authority);
}

INSTANTIATE_TEST_SUITE_P(
    Urls, ParseUrlCaseTest,
    ::testing::Values(UrlCase{"http://example.com/socket.io/", "http", "example.com", 80,
                              "/socket.io/", "http://example.com", "example.com:80"},
                      UrlCase{"https://example.com/a/b", "https", "example.com", 443, "/a/b",
                              "https://example.com", "example.com:443"},
                      UrlCase{"ws://example.com/ws", "ws", "example.com", 80, "/ws",
                              "ws://example.com", "example.com:80"},
                      UrlCase{"wss://example.com", "wss", "example.com", 443, "/",
                              "wss://example.com", "example.com:443"},
                      UrlCase{"http://localhost:3000/socket.io/?EIO=4", "http", "localhost", 3000,
                              "/socket.io/", "http://localhost:3000", "localhost:3000"},
                      UrlCase{"https://example.com:443/x", "https", "example.com", 443, "/x",
                              "https://example.com", "example.com:443"},
                      UrlCase{"https://example.com:80/x", "https", "example.com", 80, "/x",
                              "https://example.com:80", "example.com:80"},
                      UrlCase{"http://[::1]:3000/socket.io/", "http", "::1", 3000, "/socket.io/",
                              "http://[::1]:3000", "[::1]:3000"},
                      UrlCase{"wss://[2001:db8::1]/p", "wss", "2001:db8::1", 443, "/p",
                              "wss://[2001:db8::1]", "[2001:db8::1]:443"},
                      UrlCase{"HTTP://Example.COM/Path/Kept", "http", "example.com", 80,
                              "/Path/Kept", "http://example.com", "example.com:80"},
                      UrlCase{"http://127.0.0.1:8080?x=1", "http", "127.0.0.1", 8080, "/",
                              "http://127.0.0.1:8080", "127.0.0.1:8080"},
                      UrlCase{"http://user:secret@host.test:81/p", "http", "host.test", 81, "/p",
                              "http://host.test:81", "host.test:81"},
                      UrlCase{"http://h/p#frag", "http", "h", 80, "/p", "http://h", "h:80"},
                      UrlCase{"http://h#frag/x", "http", "h", 80, "/", "http://h", "h:80"},
                      UrlCase{"http://h:65535/", "http", "h", 65535, "/", "http://h:65535",
                              "h:65535"}));

TEST(ParseUrlTest, DecodesTheQueryInOrder) {
  const auto u =
      sio::parse_url("http://h/socket.io/?EIO=4&transport=polling&t=N8x&b=%20x+y&c&&d=&e=%zz&"
                     "%6Bey=v%2Bw&f=%4");
  ASSERT_TRUE(u.ok());
  const Pairs want = {
      {"EIO", "4"}, {"transport", "polling"}, {"t", "N8x"}, {"b", " x y"}, {"c", ""}, {"d", ""},
      {"e", "%zz"}, {"key", "v+w"},           {"f", "%4"}};
  EXPECT_EQ(u->query, want);
}

TEST(ParseUrlTest, DropsTheFragmentBeforeTheQueryIsRead) {
  const auto u = sio::parse_url("http://h/p?x=1#frag?y=2&z=3");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->query, (Pairs{{"x", "1"}}));
  const auto v = sio::parse_url("http://h/p#a?b=1");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->path, "/p");
  EXPECT_TRUE(v->query.empty());
}

TEST(ParseUrlTest, EmptyQuery) {
  const auto u = sio::parse_url("http://h/p?");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->path, "/p");
  EXPECT_TRUE(u->query.empty());
}

TEST(ParseUrlTest, ParamAndHasParam) {
  const auto u = sio::parse_url("http://h/?EIO=3&sid=abc&empty=&flag&sid=second");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->param("EIO"), "3");
  EXPECT_EQ(u->param("sid"), "abc"); // the first one
  EXPECT_EQ(u->param("empty"), "");
  EXPECT_TRUE(u->has_param("empty"));
  EXPECT_TRUE(u->has_param("flag"));
  EXPECT_EQ(u->param("flag"), "");
  EXPECT_FALSE(u->has_param("missing"));
  EXPECT_EQ(u->param("missing"), "");
  EXPECT_FALSE(u->has_param("eio")); // names are case-sensitive
}

class ParseUrlErrorTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ParseUrlErrorTest, IsRefused) {
  const auto u = sio::parse_url(GetParam());
  ASSERT_FALSE(u.ok());
  EXPECT_TRUE(u.error().is(errc::bad_har)) << u.error().message();
  EXPECT_NE(u.error().context.find(GetParam()), std::string::npos) << u.error().context;
}

INSTANTIATE_TEST_SUITE_P(Malformed, ParseUrlErrorTest,
                         ::testing::Values("example.com/socket.io/", "/socket.io/?EIO=4", "",
                                           "://host/", "http://", "http:///path", "http://?x=1",
                                           "http://h:abc/", "http://h:0/", "http://h:65536/",
                                           "http://h:-1/", "http://h:80x/", "http://[::1/",
                                           "http://[::1]:99999/"));

// --- percent coding, iequals, default_port ----------------------------------------------------

TEST(PercentCodingTest, DecodesEscapes) {
  EXPECT_EQ(sio::percent_decode("%41%42c"), "ABc");
  EXPECT_EQ(sio::percent_decode("%e2%82%ac%E2%82%AC"), "\xe2\x82\xac\xe2\x82\xac");
  EXPECT_EQ(sio::percent_decode("a+b"), "a b");
  EXPECT_EQ(sio::percent_decode("a+b", false), "a+b");
  EXPECT_EQ(sio::percent_decode("%2B"), "+");
  EXPECT_EQ(sio::percent_decode("%00", false), std::string(1, '\0'));
  EXPECT_EQ(sio::percent_decode(""), "");
}

TEST(PercentCodingTest, KeepsBadEscapes) {
  EXPECT_EQ(sio::percent_decode("%"), "%");
  EXPECT_EQ(sio::percent_decode("%4"), "%4");
  EXPECT_EQ(sio::percent_decode("100%"), "100%");
  EXPECT_EQ(sio::percent_decode("%g1%1g"), "%g1%1g");
  EXPECT_EQ(sio::percent_decode("%%41"), "%A");
  EXPECT_EQ(sio::percent_decode("x%4"), "x%4");
}

TEST(PercentCodingTest, EncodesAllButUnreserved) {
  EXPECT_EQ(sio::percent_encode("azAZ09-_.~"), "azAZ09-_.~");
  EXPECT_EQ(sio::percent_encode(" "), "%20");
  EXPECT_EQ(sio::percent_encode("a b+c"), "a%20b%2Bc");
  EXPECT_EQ(sio::percent_encode("/?&=#%"), "%2F%3F%26%3D%23%25");
  EXPECT_EQ(sio::percent_encode("\xe2\x82\xac"), "%E2%82%AC");
  EXPECT_EQ(sio::percent_encode(std::string(1, '\0')), "%00");
  EXPECT_EQ(sio::percent_encode("\xff"), "%FF");
  EXPECT_EQ(sio::percent_encode(""), "");
}

TEST(PercentCodingTest, EncodeThenDecodeRoundTrips) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  EXPECT_EQ(sio::percent_decode(sio::percent_encode(all), false), all);
  EXPECT_EQ(sio::percent_decode(sio::percent_encode(all), true), all); // '+' is encoded
}

TEST(IequalsTest, ComparesAsciiCaseInsensitively) {
  EXPECT_TRUE(sio::iequals("Content-Type", "content-type"));
  EXPECT_TRUE(sio::iequals("PATH", "path"));
  EXPECT_TRUE(sio::iequals("", ""));
  EXPECT_FALSE(sio::iequals("path", "paths"));
  EXPECT_FALSE(sio::iequals("a", "b"));
  EXPECT_FALSE(sio::iequals("[", "{")); // 0x5B and 0x7B differ by 32 but are not letters
  EXPECT_FALSE(sio::iequals("@", "`"));
}

TEST(DefaultPortTest, KnowsTheWebSchemes) {
  EXPECT_EQ(sio::default_port("http"), 80);
  EXPECT_EQ(sio::default_port("ws"), 80);
  EXPECT_EQ(sio::default_port("https"), 443);
  EXPECT_EQ(sio::default_port("wss"), 443);
  EXPECT_EQ(sio::default_port("ftp"), 0);
  EXPECT_EQ(sio::default_port(""), 0);
}

// --- cookies ----------------------------------------------------------------------------------

TEST(CookieHeaderTest, SplitsPairsInOrder) {
  EXPECT_EQ(sio::parse_cookie_header("a=1; b=2"), (Pairs{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(sio::parse_cookie_header("a=1;b=2;c=3"), (Pairs{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  EXPECT_EQ(sio::parse_cookie_header("io=abc; io=def"), (Pairs{{"io", "abc"}, {"io", "def"}}));
}

TEST(CookieHeaderTest, TrimsSpacesAndTabs) {
  EXPECT_EQ(sio::parse_cookie_header("  a = 1 ;\tb=2\t;  "), (Pairs{{"a", "1"}, {"b", "2"}}));
}

TEST(CookieHeaderTest, SkipsEmptyParts) {
  EXPECT_EQ(sio::parse_cookie_header(";;a=1;; ;b=2;"), (Pairs{{"a", "1"}, {"b", "2"}}));
  EXPECT_TRUE(sio::parse_cookie_header("").empty());
  EXPECT_TRUE(sio::parse_cookie_header(" ; ;").empty());
}

TEST(CookieHeaderTest, KeepsNamelessAndEmptyValuedCookies) {
  EXPECT_EQ(sio::parse_cookie_header("token; a="), (Pairs{{"", "token"}, {"a", ""}}));
  EXPECT_EQ(sio::parse_cookie_header("=v"), (Pairs{{"", "v"}}));
}

TEST(CookieHeaderTest, SplitsAtTheFirstEquals) {
  EXPECT_EQ(sio::parse_cookie_header("jwt=a.b=c==; x=\"q\""),
            (Pairs{{"jwt", "a.b=c=="}, {"x", "\"q\""}}));
}

TEST(SetCookieTest, ParsesNameValueAndAttributes) {
  sio::SetCookie c;
  ASSERT_TRUE(sio::parse_set_cookie("io=abc123; Path=/; HttpOnly; SameSite=Lax", c));
  EXPECT_EQ(c.name, "io");
  EXPECT_EQ(c.value, "abc123");
  EXPECT_EQ(c.attributes, "Path=/; HttpOnly; SameSite=Lax");
  EXPECT_EQ(c.path, "/");
  EXPECT_EQ(c.domain, "");
}

TEST(SetCookieTest, ReadsPathAndDomainCaseInsensitively) {
  sio::SetCookie c;
  ASSERT_TRUE(sio::parse_set_cookie(
      "SERVERID=s1;  domain = .example.com ; PATH=/app; Secure; Expires=Wed, 21 Oct 2099", c));
  EXPECT_EQ(c.name, "SERVERID");
  EXPECT_EQ(c.value, "s1");
  EXPECT_EQ(c.domain, ".example.com");
  EXPECT_EQ(c.path, "/app");
  EXPECT_EQ(c.attributes, "domain = .example.com ; PATH=/app; Secure; Expires=Wed, 21 Oct 2099");
}

TEST(SetCookieTest, UnquotesAQuotedValue) {
  sio::SetCookie c;
  ASSERT_TRUE(sio::parse_set_cookie(R"(route="a b c"; Path=/)", c));
  EXPECT_EQ(c.value, "a b c");
  ASSERT_TRUE(sio::parse_set_cookie(R"(q="")", c));
  EXPECT_EQ(c.value, "");
  ASSERT_TRUE(sio::parse_set_cookie(R"(one=")", c));
  EXPECT_EQ(c.value, "\""); // a single quote is not a quoted value
}

TEST(SetCookieTest, WithoutAttributes) {
  sio::SetCookie c;
  ASSERT_TRUE(sio::parse_set_cookie(" a = b ", c));
  EXPECT_EQ(c.name, "a");
  EXPECT_EQ(c.value, "b");
  EXPECT_EQ(c.attributes, "");
  EXPECT_EQ(c.path, "");
  EXPECT_EQ(c.domain, "");
  ASSERT_TRUE(sio::parse_set_cookie("a=; Max-Age=0", c));
  EXPECT_EQ(c.value, "");
  EXPECT_EQ(c.attributes, "Max-Age=0");
  ASSERT_TRUE(sio::parse_set_cookie("a=b;", c));
  EXPECT_EQ(c.attributes, "");
}

TEST(SetCookieTest, KeepsEqualsInTheValue) {
  sio::SetCookie c;
  ASSERT_TRUE(sio::parse_set_cookie("t=x=y==; Path=/", c));
  EXPECT_EQ(c.name, "t");
  EXPECT_EQ(c.value, "x=y==");
}

TEST(SetCookieTest, RefusesAHeaderWithoutNameValue) {
  sio::SetCookie c;
  EXPECT_FALSE(sio::parse_set_cookie("novalue", c));
  EXPECT_FALSE(sio::parse_set_cookie("novalue; Path=/", c));
  EXPECT_FALSE(sio::parse_set_cookie("", c));
  EXPECT_FALSE(sio::parse_set_cookie("=value; Path=/", c));
  EXPECT_FALSE(sio::parse_set_cookie("; a=b", c)); // the pair must come first
}

TEST(SetCookieTest, ReusedResultDoesNotKeepOldAttributes) {
  sio::SetCookie c;
  ASSERT_TRUE(sio::parse_set_cookie("a=1; Path=/x; Domain=d.test", c));
  EXPECT_EQ(c.path, "/x");
  ASSERT_TRUE(sio::parse_set_cookie("b=2; HttpOnly", c));
  EXPECT_EQ(c.name, "b");
  EXPECT_EQ(c.value, "2");
  EXPECT_EQ(c.attributes, "HttpOnly");
  EXPECT_EQ(c.path, "");
  EXPECT_EQ(c.domain, "");
}

TEST(TrimTest, TrimsSpacesAndTabsOnly) {
  EXPECT_EQ(sio::trim("  a b\t "), "a b");
  EXPECT_EQ(sio::trim("\t\t"), "");
  EXPECT_EQ(sio::trim(""), "");
  EXPECT_EQ(sio::trim("\na\n"), "\na\n");
}

} // namespace
