#include "sio/common/secrets.hpp"
#include "sio/common/session_json.hpp"
#include "sio/recorder/redact.hpp"

#include <gtest/gtest.h>

namespace sio::recorder {
namespace {

Redactor make(RedactOptions o = {}) {
  o.enabled = true;
  return Redactor(std::move(o), "test key");
}

Message connect(std::string nsp, Json auth) {
  Message m;
  m.type = sock::PacketType::connect;
  m.nsp = std::move(nsp);
  m.data = std::move(auth);
  return m;
}

Message event(Direction dir, std::string name, Json args) {
  Message m;
  m.dir = dir;
  m.type = sock::PacketType::event;
  m.event = Json(std::move(name));
  m.args = std::move(args);
  return m;
}

CookieRecord cookie(CookieRecord::Kind kind, std::string name, std::string value) {
  CookieRecord c;
  c.kind = kind;
  c.name = std::move(name);
  c.value = std::move(value);
  c.url = "http://127.0.0.1:4000/socket.io/?EIO=4&transport=polling";
  return c;
}

TEST(SecretsTest, NamesAndStickyCookiesAreShared) {
  for (const char* n : {"Authorization", "Proxy-Authorization", "X-Api-Key", "access_token",
                        "sessionId", "PASSWORD", "pwd", "jwt", "signature"})
    EXPECT_TRUE(looks_secret(n)) << n;
  for (const char* n : {"text", "room", "n", "user-agent", "channel"})
    EXPECT_FALSE(looks_secret(n)) << n;
  for (const char* n : {"route", "AWSALB", "AWSALBCORS", "SERVERID", "BIGipServerpool_web"})
    EXPECT_TRUE(is_known_sticky_cookie(n)) << n;
  EXPECT_FALSE(is_known_sticky_cookie("app_session"));
}

TEST(RedactTest, MarkersAreStableWithinARunAndHideTheValue) {
  const Redactor r = make();
  const std::string m = r.marker("secret-abc");
  EXPECT_EQ(m, r.marker("secret-abc"));
  EXPECT_NE(m, r.marker("secret-abd"));
  EXPECT_EQ(m.size(), std::string("[redacted:12345678]").size());
  EXPECT_EQ(m.rfind("[redacted:", 0), 0u);
  EXPECT_EQ(m.find("secret"), std::string::npos);
  // Another key (another run): another marker, so a marker cannot be looked up.
  EXPECT_NE(m, Redactor(RedactOptions{}, "other key").marker("secret-abc"));
}

TEST(RedactTest, HeadersCookiesAuthFieldsAndQuery) {
  Redactor r = make();
  Session s;
  s.query = {{"token", "secret-abc"}, {"room", "lobby"}};
  s.headers = {{"Authorization", "Bearer eyJhbGciOi.payload.sig"},
               {"Proxy-Authorization", "Basic dXNlcjpwYXNz"},
               {"X-Trace", "abc"}};
  s.cookies = {cookie(CookieRecord::Kind::sent, "app_session", "a0688f0270263cee"),
               cookie(CookieRecord::Kind::set, "route", "s2"),
               cookie(CookieRecord::Kind::set, "AWSALB", "xyz123")};
  s.cookies[0].url = "http://127.0.0.1:4000/page?access_token=tok-123456&x=1";
  s.messages.push_back(connect("/chat", Json{{"token", "secret-abc"}, {"user", "ann"}}));
  s.messages.push_back(event(
      Direction::client_to_server, "login",
      Json::array({Json{{"name", "ann"},
                        {"password", "hunter22"},
                        {"profile", Json{{"apiKey", 12345}, {"nested", {{"sessionId", "s-1"}}}}},
                        {"credentials", Json::array({"a", 7, true})}}})));
  r.redact(s);

  EXPECT_EQ(s.query[0].second, r.marker("secret-abc"));
  EXPECT_EQ(s.query[1].second, "lobby");
  EXPECT_EQ(s.headers[0].second, "Bearer " + r.marker("eyJhbGciOi.payload.sig"));
  EXPECT_EQ(s.headers[1].second, "Basic " + r.marker("dXNlcjpwYXNz"));
  EXPECT_EQ(s.headers[2].second, "abc");
  EXPECT_EQ(s.cookies[0].value, r.marker("a0688f0270263cee"));
  EXPECT_EQ(s.cookies[1].value, "s2");     // sticky: replay needs it
  EXPECT_EQ(s.cookies[2].value, "xyz123"); // sticky
  EXPECT_EQ(s.cookies[0].url, "http://127.0.0.1:4000/page?access_token=%5Bredacted%3A" +
                                  r.marker("tok-123456").substr(10, 8) + "%5D&x=1");
  // CONNECT auth: every field, whatever its name; equal secrets, equal markers.
  EXPECT_EQ(*s.messages[0].data,
            (Json{{"token", r.marker("secret-abc")}, {"user", r.marker("ann")}}));
  const Json& a = (*s.messages[1].args)[0];
  EXPECT_EQ(a["name"], "ann");
  EXPECT_EQ(a["password"], r.marker("hunter22"));
  EXPECT_EQ(a["profile"]["apiKey"], r.marker("12345"));
  EXPECT_EQ(a["profile"]["nested"]["sessionId"], r.marker("s-1"));
  EXPECT_EQ(a["credentials"], Json::array({r.marker("a"), r.marker("7"), true}));
  const std::string all = [&] {
    std::string line;
    append_session_line(line, s);
    return line;
  }();
  for (const char* secret : {"secret-abc", "a0688f0270263cee", "hunter22", "tok-123456", "eyJhbG"})
    EXPECT_EQ(all.find(secret), std::string::npos) << secret << " in " << all;
}

TEST(RedactTest, EchoedSecretsAndDiagnostics) {
  Redactor r = make();
  Session s;
  s.messages.push_back(connect("/chat", Json{{"token", "secret-abc"}}));
  Message v2 = connect("/chat?token=secret-abc&room=1", Json());
  v2.data.reset();
  s.messages.push_back(v2);
  Message refused;
  refused.dir = Direction::server_to_client;
  refused.type = sock::PacketType::connect_error;
  refused.nsp = "/chat";
  refused.data = Json{{"message", "not authorized"}, {"hint", "auth: {token: \"secret-abc\"}"}};
  s.messages.push_back(refused);
  // A short value ("dark") is not hunted elsewhere: "darkness" stays.
  s.cookies = {cookie(CookieRecord::Kind::sent, "theme", "dark")};
  s.messages.push_back(event(Direction::server_to_client, "news", Json::array({"darkness"})));
  r.redact(s);
  // Socket.IO protocol 4: the namespace's query is in its name.
  EXPECT_EQ(s.messages[1].nsp,
            "/chat?token=%5Bredacted%3A" + r.marker("secret-abc").substr(10, 8) + "%5D&room=1");
  EXPECT_EQ((*s.messages[2].data)["hint"], "auth: {token: \"" + r.marker("secret-abc") + "\"}");
  EXPECT_EQ((*s.messages[2].data)["message"], "not authorized");
  EXPECT_EQ(s.cookies[0].value, r.marker("dark"));
  EXPECT_EQ((*s.messages[3].args)[0], "darkness");

  std::vector<Diagnostic> d{{"bad_sio_packet", "a.har: $.log.entries[3]",
                             "bad packet in \"40/chat,{\\\"token\\\":\\\"secret-abc\\\"\"", ""}};
  r.redact(d);
  EXPECT_EQ(d[0].what.find("secret-abc"), std::string::npos) << d[0].what;
  EXPECT_NE(d[0].what.find(r.marker("secret-abc")), std::string::npos);
}

TEST(RedactTest, OptionsAddFieldsAndKeepCookies) {
  RedactOptions o;
  o.fields = {"pin", "X-Tenant"};
  o.keep_cookies = {"theme"};
  Redactor r = make(o);
  Session s;
  s.sid = "DhQgmFTS08Y4yPC5AAAA";
  s.handshake = Json{{"sid", s.sid}, {"pingInterval", 25000}};
  s.headers = {{"x-tenant", "acme"}};
  s.query = {{"PIN", "1234"}};
  s.cookies = {cookie(CookieRecord::Kind::sent, "theme", "dark"),
               cookie(CookieRecord::Kind::sent, "io", "DhQgmFTS08Y4yPC5AAAA")};
  s.messages.push_back(event(Direction::client_to_server, "unlock",
                             Json::array({Json{{"Pin", 1234}, {"pinned", "yes"}}})));
  r.redact(s);
  EXPECT_EQ(s.headers[0].second, r.marker("acme"));
  EXPECT_EQ(s.query[0].second, r.marker("1234"));
  EXPECT_EQ(s.cookies[0].value, "dark");
  // Engine.IO's io cookie holds the sid, which the recording keeps anyway.
  EXPECT_EQ(s.cookies[1].value, "DhQgmFTS08Y4yPC5AAAA");
  EXPECT_EQ((*s.handshake)["sid"], "DhQgmFTS08Y4yPC5AAAA");
  EXPECT_EQ((*s.messages[0].args)[0]["Pin"], r.marker("1234"));
  EXPECT_EQ((*s.messages[0].args)[0]["pinned"], "yes"); // names match exactly, not as parts
}

TEST(RedactTest, PageRequestsBodiesAndAlreadyRedacted) {
  Redactor r = make();
  Session s;
  HttpExchange h;
  h.method = "POST";
  h.url = "https://app.example/login?next=/home&api_key=k-9876543210#top";
  h.request_headers = {{"Cookie", "app_session=abc123; route=s1"}, {"Content-Type", "json"}};
  h.request_body = R"({"user":"ann","password":"hunter22"})";
  s.http.push_back(h);
  h.request_body = "user=ann&passwd=hunter22&remember=1";
  s.http.push_back(h);
  h.request_body = "plain text, not a form";
  s.http.push_back(h);
  s.messages.push_back(connect("/", Json{{"token", r.marker("x")}, {"empty", ""}}));
  r.redact(s);
  EXPECT_EQ(s.http[0].url, "https://app.example/login?next=/home&api_key=%5Bredacted%3A" +
                               r.marker("k-9876543210").substr(10, 8) + "%5D#top");
  EXPECT_EQ(s.http[0].request_headers[0].second,
            "app_session=" + r.marker("abc123") + "; route=s1");
  EXPECT_EQ(*s.http[0].request_body,
            R"({"user":"ann","password":")" + r.marker("hunter22") + R"("})");
  EXPECT_EQ(*s.http[1].request_body, "user=ann&passwd=%5Bredacted%3A" +
                                         r.marker("hunter22").substr(10, 8) + "%5D&remember=1");
  EXPECT_EQ(*s.http[2].request_body, "plain text, not a form");
  // A marker is not redacted again; an empty value stays empty.
  EXPECT_EQ(*s.messages[0].data, (Json{{"token", r.marker("x")}, {"empty", ""}}));
}

} // namespace
} // namespace sio::recorder
