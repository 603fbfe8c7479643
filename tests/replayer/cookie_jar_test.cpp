#include "sio/replayer/cookie_jar.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using sio::replayer::CookieJar;

constexpr std::int64_t now = 1445412480; // Wed, 21 Oct 2015 07:28:00 GMT

TEST(CookieJar, StoresAndSendsASimpleCookie) {
  CookieJar jar;
  jar.set("SERVERID=s1; Path=/", "example.com", "/socket.io/?EIO=4&transport=polling", now);
  EXPECT_EQ(jar.size(), 1U);
  EXPECT_EQ(jar.header("example.com", "/socket.io/?EIO=4&transport=websocket", false, now),
            "SERVERID=s1");
  EXPECT_EQ(jar.header("EXAMPLE.com", "/", false, now), "SERVERID=s1"); // hosts ignore case
  EXPECT_EQ(jar.header("other.com", "/", false, now), "");
  jar.clear();
  EXPECT_EQ(jar.size(), 0U);
  EXPECT_EQ(jar.header("example.com", "/", false, now), "");
}

TEST(CookieJar, ValuesKeepEqualsSignsAndAreTrimmed) {
  CookieJar jar;
  jar.set("  tok = a=b==  ; HttpOnly; SameSite=Lax", "h.test", "/", now);
  EXPECT_EQ(jar.header("h.test", "/", false, now), "tok=a=b==");
  jar.set("empty=", "h.test", "/", now);
  EXPECT_EQ(jar.header("h.test", "/", false, now), "tok=a=b==; empty=");
}

TEST(CookieJar, DefaultPathIsTheRequestDirectory) {
  CookieJar jar;
  jar.set("a=1", "h.test", "/socket.io/?EIO=4&transport=polling", now); // path /socket.io
  jar.set("b=2", "h.test", "/app/login", now);                          // path /app
  jar.set("c=3", "h.test", "/index.html", now);                         // path /
  jar.set("d=4", "h.test", "", now);                                    // path /
  jar.set("e=5; Path=relative", "h.test", "/x/y", now);                 // bad Path: /x
  EXPECT_EQ(jar.header("h.test", "/socket.io/", false, now), "a=1; c=3; d=4");
  EXPECT_EQ(jar.header("h.test", "/socket.io", false, now), "a=1; c=3; d=4");
  EXPECT_EQ(jar.header("h.test", "/app/x", false, now), "b=2; c=3; d=4");
  EXPECT_EQ(jar.header("h.test", "/x/z", false, now), "e=5; c=3; d=4");
  EXPECT_EQ(jar.header("h.test", "/", false, now), "c=3; d=4");
}

TEST(CookieJar, PathMatching) {
  CookieJar jar;
  jar.set("a=1; Path=/docs", "h.test", "/", now);
  jar.set("b=2; Path=/docs/", "h.test", "/", now);
  EXPECT_EQ(jar.header("h.test", "/docs", false, now), "a=1");
  EXPECT_EQ(jar.header("h.test", "/docs/", false, now), "b=2; a=1");
  EXPECT_EQ(jar.header("h.test", "/docs/web", false, now), "b=2; a=1");
  EXPECT_EQ(jar.header("h.test", "/docsets", false, now), "");
  EXPECT_EQ(jar.header("h.test", "/doc", false, now), "");
  EXPECT_EQ(jar.header("h.test", "/docs?x=1", false, now), "a=1");
}

TEST(CookieJar, LongerPathsFirstThenEarlierCreation) {
  CookieJar jar;
  jar.set("z=1; Path=/", "h.test", "/", now);
  jar.set("y=2; Path=/a/b", "h.test", "/", now);
  jar.set("x=3; Path=/a", "h.test", "/", now);
  jar.set("w=4; Path=/", "h.test", "/", now);
  EXPECT_EQ(jar.header("h.test", "/a/b/c", false, now), "y=2; x=3; z=1; w=4");
  // Replacing keeps the creation order.
  jar.set("z=9; Path=/", "h.test", "/", now);
  EXPECT_EQ(jar.size(), 4U);
  EXPECT_EQ(jar.header("h.test", "/", false, now), "z=9; w=4");
}

TEST(CookieJar, ReplacesSameNameDomainPathOnly) {
  CookieJar jar;
  jar.set("a=1; Path=/", "h.test", "/", now);
  jar.set("a=2; Path=/p", "h.test", "/", now);
  jar.set("a=3; Path=/", "h.test", "/", now);
  EXPECT_EQ(jar.size(), 2U);
  EXPECT_EQ(jar.header("h.test", "/p", false, now), "a=2; a=3");
}

TEST(CookieJar, HostOnlyWithoutDomain) {
  CookieJar jar;
  jar.set("a=1", "example.com", "/", now);
  EXPECT_EQ(jar.header("example.com", "/", false, now), "a=1");
  EXPECT_EQ(jar.header("sub.example.com", "/", false, now), "");
}

TEST(CookieJar, DomainAttributeCoversSubdomains) {
  CookieJar jar;
  jar.set("a=1; Domain=.Example.com", "www.example.com", "/", now);
  EXPECT_EQ(jar.header("example.com", "/", false, now), "a=1");
  EXPECT_EQ(jar.header("sub.example.com", "/", false, now), "a=1");
  EXPECT_EQ(jar.header("a.b.example.com", "/", false, now), "a=1");
  EXPECT_EQ(jar.header("badexample.com", "/", false, now), "");
  EXPECT_EQ(jar.header("example.org", "/", false, now), "");
  jar.set("b=2; Domain=example.com", "example.com", "/", now);
  EXPECT_EQ(jar.header("sub.example.com", "/", false, now), "a=1; b=2");
}

TEST(CookieJar, RejectsForeignDomains) {
  CookieJar jar;
  jar.set("a=1; Domain=other.com", "example.com", "/", now);
  jar.set("b=1; Domain=sub.example.com", "example.com", "/", now);
  jar.set("c=1; Domain=ample.com", "example.com", "/", now);
  EXPECT_EQ(jar.size(), 0U);
}

TEST(CookieJar, IpHostsMatchOnlyExactly) {
  CookieJar jar;
  jar.set("a=1", "10.0.0.5", "/", now);
  jar.set("b=1; Domain=0.0.5", "10.0.0.5", "/", now); // suffix of an IP: rejected
  jar.set("c=1; Domain=10.0.0.5", "10.0.0.5", "/", now);
  EXPECT_EQ(jar.size(), 2U);
  EXPECT_EQ(jar.header("10.0.0.5", "/", false, now), "a=1; c=1");
  EXPECT_EQ(jar.header("110.0.0.5", "/", false, now), "");
}

TEST(CookieJar, SecureCookiesOnlyOnSecureRequests) {
  CookieJar jar;
  jar.set("s=1; Secure", "h.test", "/", now);
  jar.set("p=2", "h.test", "/", now);
  EXPECT_EQ(jar.header("h.test", "/", false, now), "p=2");
  EXPECT_EQ(jar.header("h.test", "/", true, now), "s=1; p=2");
}

TEST(CookieJar, MaxAgeExpires) {
  CookieJar jar;
  jar.set("a=1; Max-Age=60", "h.test", "/", now);
  EXPECT_EQ(jar.header("h.test", "/", false, now + 59), "a=1");
  EXPECT_EQ(jar.header("h.test", "/", false, now + 60), "");
  EXPECT_EQ(jar.size(), 1U); // until the next set()
  jar.set("b=2", "h.test", "/", now + 61);
  EXPECT_EQ(jar.size(), 1U);
  EXPECT_EQ(jar.header("h.test", "/", false, now + 61), "b=2");
}

TEST(CookieJar, MaxAgeZeroOrNegativeDeletes) {
  CookieJar jar;
  jar.set("a=1", "h.test", "/", now);
  jar.set("b=1", "h.test", "/", now);
  jar.set("a=; Max-Age=0", "h.test", "/", now);
  jar.set("b=; Max-Age=-5", "h.test", "/", now);
  EXPECT_EQ(jar.size(), 0U);
  jar.set("c=1; Max-Age=0", "h.test", "/", now); // never stored
  EXPECT_EQ(jar.size(), 0U);
}

TEST(CookieJar, ExpiresDates) {
  CookieJar jar;
  jar.set("a=1; Expires=Wed, 21 Oct 2015 07:29:00 GMT", "h.test", "/", now);
  jar.set("b=1; expires=Wednesday, 21-Oct-2015 07:30:00 GMT", "h.test", "/", now);
  jar.set("c=1; Expires=Wed, 21-Oct-15 07:31:00 GMT", "h.test", "/", now);
  jar.set("d=1; Expires=Wed Oct 21 07:32:00 2015", "h.test", "/", now); // asctime
  EXPECT_EQ(jar.size(), 4U);
  EXPECT_EQ(jar.header("h.test", "/", false, now + 59), "a=1; b=1; c=1; d=1");
  EXPECT_EQ(jar.header("h.test", "/", false, now + 60), "b=1; c=1; d=1");
  EXPECT_EQ(jar.header("h.test", "/", false, now + 120), "c=1; d=1");
  EXPECT_EQ(jar.header("h.test", "/", false, now + 180), "d=1");
  EXPECT_EQ(jar.header("h.test", "/", false, now + 240), "");
  // Leap years and the far future.
  jar.clear();
  jar.set("e=1; Expires=Thu, 29 Feb 2024 00:00:00 GMT", "h.test", "/", now);
  EXPECT_EQ(jar.header("h.test", "/", false, 1709164799), "e=1");
  EXPECT_EQ(jar.header("h.test", "/", false, 1709164800), "");
  jar.set("f=1; Expires=Fri, 31 Dec 9999 23:59:59 GMT", "h.test", "/", now);
  EXPECT_EQ(jar.header("h.test", "/", false, 253402300798), "f=1");
}

TEST(CookieJar, ExpiresInThePastDeletes) {
  CookieJar jar;
  jar.set("a=1", "h.test", "/", now);
  jar.set("a=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "h.test", "/", now);
  EXPECT_EQ(jar.size(), 0U);
}

TEST(CookieJar, MaxAgeWinsOverExpires) {
  CookieJar jar;
  jar.set("a=1; Max-Age=3600; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "h.test", "/", now);
  jar.set("b=1; Expires=Thu, 01 Jan 2099 00:00:00 GMT; Max-Age=10", "h.test", "/", now);
  EXPECT_EQ(jar.header("h.test", "/", false, now + 100), "a=1");
}

TEST(CookieJar, IgnoresMalformedHeaders) {
  CookieJar jar;
  for (const char* bad : {"", ";", "novalue", "=value", " = x", "\x01=x", "a\x7f=x"})
    jar.set(bad, "h.test", "/", now);
  EXPECT_EQ(jar.size(), 0U);
  // Malformed attributes are ignored, the cookie is kept.
  jar.set("a=1; Max-Age=abc; Expires=not a date; Domain=; Path; Secure=1; ;;", "h.test", "/", now);
  jar.set("b=1; Max-Age=99999999999999999999999; Expires=Wed, 32 Oct 2015 07:28:00 GMT", "h.test",
          "/", now);
  jar.set("c=1; Expires=Wed, 21 Oct 2015 25:28:00 GMT; Max-Age=-", "h.test", "/", now);
  EXPECT_EQ(jar.size(), 3U);
  EXPECT_EQ(jar.header("h.test", "/", true, now + 1000000), "a=1; b=1; c=1");
  EXPECT_EQ(jar.header("h.test", "/", false, now), "b=1; c=1"); // "Secure=1" is still Secure
  // Arbitrary bytes never throw.
  std::string junk;
  for (int i = 0; i < 256; ++i) junk += static_cast<char>(i);
  EXPECT_NO_THROW(jar.set(junk, "h.test", "/", now));
  EXPECT_NO_THROW(jar.set("x=1; Expires=" + junk, junk, junk, now));
  EXPECT_NO_THROW((void)jar.header(junk, junk, false, now));
}

TEST(CookieJar, NowEpochSeconds) {
  const std::int64_t t = sio::replayer::now_epoch_s();
  EXPECT_GT(t, 1600000000);
  EXPECT_LT(t, 4000000000);
}

} // namespace
