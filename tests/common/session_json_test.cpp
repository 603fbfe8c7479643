#include "sio/common/session_json.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using sio::CookieRecord;
using sio::Direction;
using sio::errc;
using sio::Json;
using sio::Message;
using sio::Recording;
using sio::Session;
using sio::Transport;
using sio::sock::PacketType;

Message message(std::int64_t t_us, Direction dir, PacketType type, std::string nsp = "/") {
  Message m;
  m.t_us = t_us;
  m.dir = dir;
  m.type = type;
  m.nsp = std::move(nsp);
  return m;
}

/// A session with every field set, and messages of every packet type.
Session full_session(int eio = 4) {
  Session s;
  s.id = 1;
  s.sid = "Xk3_aZ-9AAAB";
  s.eio = eio;
  s.url = "https://app.example.com:8443/socket.io/";
  s.path = "/socket.io/";
  s.query = {{"token", "a b+c"}, {"room", "42"}, {"zeta", "last"}, {"alpha", "first?"}};
  s.transports = {Transport::polling, Transport::websocket};
  s.upgraded = true;
  s.started_us = 1700000000123456;
  s.duration_us = 98765432;
  s.client = "127.0.0.1:51234";
  s.server = "127.0.0.1:8443";
  s.user_agent = "Mozilla/5.0 (X11; Linux x86_64) \"quoted\"";
  s.origin = "https://app.example.com";
  s.headers = {{"Accept-Language", "fr-FR"}, {"X-Custom", "1"}, {"X-Custom", "2"}};
  s.handshake = Json::parse(
      R"({"sid":"Xk3_aZ-9AAAB","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000})");

  CookieRecord sent;
  sent.kind = CookieRecord::Kind::sent;
  sent.name = "session";
  sent.value = "s%3Aabc.def";
  sent.method = "GET";
  sent.url = "https://app.example.com:8443/socket.io/?EIO=4&transport=polling";
  sent.t_us = 1500;
  sent.engineio = true;
  sent.count = 7;
  CookieRecord set;
  set.kind = CookieRecord::Kind::set;
  set.name = "SERVERID";
  set.value = "node2";
  set.attributes = "Path=/; HttpOnly";
  set.method = "POST";
  set.url = "https://app.example.com:8443/login";
  set.status = 302;
  set.t_us = -250000;
  set.engineio = false;
  set.count = 2;
  s.cookies = {sent, set};

  sio::HttpExchange page;
  page.method = "POST";
  page.url = "https://app.example.com:8443/api/login";
  page.status = 200;
  page.t_us = -300000;
  page.duration_us = 4321;
  page.resource_type = "fetch";
  page.mime_type = "application/json";
  page.request_headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer x"}};
  page.request_body = R"({"user":"ann","pass":"\u00e9"})";
  sio::HttpExchange script;
  script.method = "GET";
  script.url = "https://app.example.com:8443/app.js";
  script.status = 304;
  script.t_us = -290000;
  script.duration_us = -1;
  s.http = {page, script};

  s.engine = {1, 1, 12, 13, 2, 1, 2};

  Message auth = message(0, Direction::client_to_server, PacketType::connect, "/admin");
  auth.data = Json::parse(R"({"token":"abc","z":1,"a":2})");
  Message connected = message(1200, Direction::server_to_client, PacketType::connect, "/admin");
  connected.data = Json::parse(R"({"sid":"nsp-sid"})");
  connected.transport = Transport::websocket;
  Message refused = message(1300, Direction::server_to_client, PacketType::connect_error, "/x");
  refused.data = Json::parse(R"({"message":"not authorized","data":{"code":403}})");
  Message chat = message(5000, Direction::client_to_server, PacketType::event);
  chat.event = Json("chat message");
  chat.args = Json::parse(R"(["hi \"there\"", {"zeta":1,"alpha":[true,null,1.5,-3]}])");
  chat.ack_id = 17;
  chat.transport = Transport::websocket;
  Message numeric = message(5100, Direction::server_to_client, PacketType::event);
  numeric.event = Json(42);
  numeric.args = Json::array();
  Message ack = message(6000, Direction::server_to_client, PacketType::ack);
  ack.args = Json::parse(R"([{"ok":true}])");
  ack.ack_id = 17;
  ack.transport = Transport::websocket;
  Message upload = message(7000, Direction::client_to_server, PacketType::binary_event, "/admin");
  upload.event = Json("upload");
  upload.args = Json::parse(R"([{"name":"f.bin","data":{"_binary_b64":"AAECAwQ="}}])");
  upload.attachments = 1;
  Message bin_ack = message(8000, Direction::server_to_client, PacketType::binary_ack, "/admin");
  bin_ack.args = Json::parse(R"([{"_binary_b64":"/w=="},{"_binary_b64":""}])");
  bin_ack.ack_id = 0;
  bin_ack.attachments = 2;
  Message bye = message(9000, Direction::client_to_server, PacketType::disconnect, "/admin");
  s.messages = {auth, connected, refused, chat, numeric, ack, upload, bin_ack, bye};
  s.source = "captures/chrome.har";
  return s;
}

Recording full_recording() {
  Recording rec;
  rec.sources = {"captures/chrome.har", "captures/other.har"};
  rec.sessions.push_back(full_session(4));
  Session second = full_session(3);
  second.id = 2;
  second.sid = "second";
  second.handshake.reset();
  second.cookies.clear();
  second.http.clear();
  second.query.clear();
  second.transports = {Transport::polling};
  second.upgraded = false;
  rec.sessions.push_back(std::move(second));
  rec.diagnostics = {
      {"bad_eio_packet", "a.har: $.log.entries[3]", "not a packet", "Xk3_aZ-9AAAB"},
      {"missing_ws_frames", "a.har: $.log.entries[9]", "no frames", ""},
      {"bad_eio_packet", "b.har: $.log.entries[1]", "again", "second"},
  };
  return rec;
}

void expect_same(const Message& a, const Message& b, const std::string& where) {
  SCOPED_TRACE(where);
  EXPECT_EQ(a.t_us, b.t_us);
  EXPECT_EQ(a.dir, b.dir);
  EXPECT_EQ(a.transport, b.transport);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.nsp, b.nsp);
  EXPECT_EQ(a.event, b.event);
  EXPECT_EQ(a.args, b.args);
  EXPECT_EQ(a.ack_id, b.ack_id);
  EXPECT_EQ(a.data, b.data);
  EXPECT_EQ(a.attachments, b.attachments);
}

void expect_same(const CookieRecord& a, const CookieRecord& b, const std::string& where) {
  SCOPED_TRACE(where);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ(a.attributes, b.attributes);
  EXPECT_EQ(a.method, b.method);
  EXPECT_EQ(a.url, b.url);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.t_us, b.t_us);
  EXPECT_EQ(a.engineio, b.engineio);
  EXPECT_EQ(a.count, b.count);
}

void expect_same(const sio::HttpExchange& a, const sio::HttpExchange& b, const std::string& where) {
  SCOPED_TRACE(where);
  EXPECT_EQ(a.method, b.method);
  EXPECT_EQ(a.url, b.url);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.t_us, b.t_us);
  EXPECT_EQ(a.duration_us, b.duration_us);
  EXPECT_EQ(a.resource_type, b.resource_type);
  EXPECT_EQ(a.mime_type, b.mime_type);
  EXPECT_EQ(a.request_headers, b.request_headers);
  EXPECT_EQ(a.request_body, b.request_body);
}

void expect_same(const Session& a, const Session& b) {
  SCOPED_TRACE("session " + a.sid);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.sid, b.sid);
  EXPECT_EQ(a.eio, b.eio);
  EXPECT_EQ(a.url, b.url);
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.query, b.query);
  EXPECT_EQ(a.transports, b.transports);
  EXPECT_EQ(a.upgraded, b.upgraded);
  EXPECT_EQ(a.started_us, b.started_us);
  EXPECT_EQ(a.duration_us, b.duration_us);
  EXPECT_EQ(a.client, b.client);
  EXPECT_EQ(a.server, b.server);
  EXPECT_EQ(a.user_agent, b.user_agent);
  EXPECT_EQ(a.origin, b.origin);
  EXPECT_EQ(a.headers, b.headers);
  EXPECT_EQ(a.handshake, b.handshake);
  ASSERT_EQ(a.cookies.size(), b.cookies.size());
  for (std::size_t i = 0; i < a.cookies.size(); ++i)
    expect_same(a.cookies[i], b.cookies[i], "cookie " + std::to_string(i));
  ASSERT_EQ(a.http.size(), b.http.size());
  for (std::size_t i = 0; i < a.http.size(); ++i)
    expect_same(a.http[i], b.http[i], "http " + std::to_string(i));
  EXPECT_EQ(a.engine.open, b.engine.open);
  EXPECT_EQ(a.engine.close, b.engine.close);
  EXPECT_EQ(a.engine.ping, b.engine.ping);
  EXPECT_EQ(a.engine.pong, b.engine.pong);
  EXPECT_EQ(a.engine.noop, b.engine.noop);
  EXPECT_EQ(a.engine.upgrade, b.engine.upgrade);
  EXPECT_EQ(a.engine.probe, b.engine.probe);
  ASSERT_EQ(a.messages.size(), b.messages.size());
  for (std::size_t i = 0; i < a.messages.size(); ++i)
    expect_same(a.messages[i], b.messages[i], "message " + std::to_string(i));
  EXPECT_EQ(a.source, b.source);
}

/// A fresh directory under /tmp per test, removed afterwards.
class SessionJsonTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = "/tmp/sio_session_json_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  /// Writes `rec` with write_recording into `name` and returns the file's bytes.
  std::string write(const Recording& rec, const std::string& name) {
    const std::string p = dir_ + "/" + name;
    auto out = sio::AtomicOutput::create(p);
    EXPECT_TRUE(out.ok());
    if (!out.ok()) return {};
    sio::write_recording(rec, *out);
    const auto st = out->commit();
    EXPECT_TRUE(st.ok());
    std::ifstream f(p, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
  }

  std::string dir_;
};

/// Lines of `text` (without the newlines).
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

const char* const header = R"({"format":"sioreplay-recording","version":1,"source":["a.har"]})";
const char* const minimal_session =
    R"({"kind":"session","id":1,"sid":"s","eio":4,"url":"http://h/","started_us":5,"messages":[]})";

/// A recording made of the header, then `session_line`.
std::string with_session(const std::string& session_line) {
  return std::string(header) + "\n" + session_line + "\n";
}

/// `minimal_session` with `field` replaced (or added) by `value`.
std::string session_with(const std::string& field, const Json& value) {
  Json j = Json::parse(minimal_session);
  j[field] = value;
  return sio::dump_json(j);
}

/// Reads `text` expecting an error; returns its context.
std::string read_error(const std::string& text, errc code = errc::bad_recording) {
  const auto r = sio::read_recording(text, "rec.jsonl");
  EXPECT_FALSE(r.ok()) << text;
  if (r.ok()) return {};
  EXPECT_TRUE(r.error().is(code)) << r.error().message();
  return r.error().context;
}

// --- writing and reading back -----------------------------------------------------------------

TEST_F(SessionJsonTest, EveryFieldRoundTrips) {
  const Recording rec = full_recording();
  const std::string bytes = write(rec, "rec.jsonl");
  ASSERT_FALSE(bytes.empty());
  const auto back = sio::read_recording(bytes, "rec.jsonl");
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->sources, rec.sources);
  ASSERT_EQ(back->sessions.size(), rec.sessions.size());
  for (std::size_t i = 0; i < rec.sessions.size(); ++i)
    expect_same(back->sessions[i], rec.sessions[i]);
  ASSERT_EQ(back->diagnostics.size(), rec.diagnostics.size());
  for (std::size_t i = 0; i < rec.diagnostics.size(); ++i) {
    EXPECT_EQ(back->diagnostics[i].kind, rec.diagnostics[i].kind);
    EXPECT_EQ(back->diagnostics[i].where, rec.diagnostics[i].where);
    EXPECT_EQ(back->diagnostics[i].what, rec.diagnostics[i].what);
    EXPECT_EQ(back->diagnostics[i].sid, rec.diagnostics[i].sid);
  }
}

TEST_F(SessionJsonTest, ReadBackThenWrittenAgainGivesTheSameBytes) {
  const std::string first = write(full_recording(), "one.jsonl");
  const auto back = sio::read_recording(first, "one.jsonl");
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(write(*back, "two.jsonl"), first);
}

TEST_F(SessionJsonTest, WritingTwiceGivesIdenticalBytes) {
  const Recording rec = full_recording();
  const std::string a = write(rec, "a.jsonl");
  const std::string b = write(rec, "b.jsonl");
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
}

TEST_F(SessionJsonTest, WriteRecordingIsHeaderSessionsAndTrailerLines) {
  const Recording rec = full_recording();
  const std::string bytes = write(rec, "rec.jsonl");
  std::string want = sio::recording_header_line(rec) + "\n";
  for (const auto& s : rec.sessions) want += sio::dump_json(sio::session_to_json(s)) + "\n";
  want += sio::recording_diagnostics_line(rec) + "\n";
  EXPECT_EQ(bytes, want);
  EXPECT_EQ(lines_of(bytes).size(), 2 + rec.sessions.size());
}

TEST_F(SessionJsonTest, RecordingTextIsWhatWriteRecordingWrites) {
  const Recording rec = full_recording();
  EXPECT_EQ(sio::recording_text(rec), write(rec, "rec.jsonl"));
}

TEST(SessionJsonLinesTest, AppendSessionLineMatchesSessionToJson) {
  const Session s = full_session();
  std::string line = "prefix:";
  sio::append_session_line(line, s);
  ASSERT_EQ(line.rfind("prefix:", 0), 0u);
  const std::string body = line.substr(7);
  EXPECT_EQ(body.find('\n'), std::string::npos);
  EXPECT_EQ(body, sio::dump_json(sio::session_to_json(s)));
  EXPECT_EQ(body, sio::dump_json(Json::parse(body))); // already compact, as dump_json writes
}

TEST(SessionJsonLinesTest, ValuesAreWrittenAsNlohmannWritesThem) {
  // The session line is written in place, not through dump() per value: strings that need
  // escapes, non-ASCII and invalid UTF-8, every number kind, nesting and empty containers must
  // still come out byte for byte as nlohmann writes them.
  Session s = full_session();
  s.user_agent = "tab\there \"q\" back\\slash \x01\x1f \x7f caf\xc3\xa9 \xe2\x82\xac";
  s.origin = std::string("bad \xff\xfe utf-8 \xc3");
  s.query.emplace_back("k\"ey\n", "v\u00e9");
  Message m = message(-5, Direction::client_to_server, PacketType::event, "/n\"sp");
  m.event = "\xe2\x9c\x93 done";
  m.args = Json::parse(R"([1.5, -2, 18446744073709551615, -9223372036854775808, 1e300, 0.1,
                          -0.0, true, false, null, [], {}, {"a\u0000b": [{"x": "\u001b"}]},
                          "\ud83d\ude00"])");
  m.ack_id = 0;
  m.data = Json::parse(R"({"nested": {"deep": [[[1, 2.25]]]}, "empty": ""})");
  s.messages.push_back(m);
  std::string line;
  sio::append_session_line(line, s);
  const Json parsed = Json::parse(line);
  EXPECT_EQ(line, parsed.dump(-1, ' ', false, Json::error_handler_t::replace));
  EXPECT_EQ(parsed["messages"].back()["args"][2].get<std::uint64_t>(), 18446744073709551615ull);
  EXPECT_EQ(parsed["messages"].back()["nsp"], "/n\"sp");
  EXPECT_NE(line.find("\xef\xbf\xbd"), std::string::npos); // invalid bytes became U+FFFD
}

TEST(SessionJsonLinesTest, MessagesAreTheLastMember) {
  for (const Session& s : {full_session(), Session{}}) {
    const Json j = sio::session_to_json(s);
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j.items().begin().key(), "kind");
    std::string last;
    for (const auto& [k, v] : j.items()) last = k;
    EXPECT_EQ(last, "messages");
  }
}

TEST(SessionJsonLinesTest, HeaderLineDescribesTheRecording) {
  const Recording rec = full_recording();
  const std::string line = sio::recording_header_line(rec);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const Json h = Json::parse(line);
  EXPECT_EQ(h["format"], "sioreplay-recording");
  EXPECT_EQ(h["version"], sio::recording_version);
  ASSERT_TRUE(h["tool"].is_string());
  EXPECT_EQ(h["tool"].get<std::string>().rfind("sioreplay ", 0), 0u) << h["tool"];
  EXPECT_EQ(h["source"], Json(rec.sources));
  EXPECT_EQ(h["sessions"], 2);
  EXPECT_EQ(h["messages"], 18);
  EXPECT_EQ(line.rfind(R"({"format":"sioreplay-recording","version":1,)", 0), 0u) << line;
}

TEST(SessionJsonLinesTest, DiagnosticsLineCountsByKind) {
  const Recording rec = full_recording();
  const std::string line = sio::recording_diagnostics_line(rec);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const Json d = Json::parse(line);
  EXPECT_EQ(d["kind"], "diagnostics");
  EXPECT_EQ(d["count"], 3);
  EXPECT_EQ(sio::dump_json(d["by_kind"]), R"({"bad_eio_packet":2,"missing_ws_frames":1})");
  ASSERT_EQ(d["items"].size(), 3u);
  EXPECT_FALSE(d["items"][1].contains("sid")); // empty sid is left out
  EXPECT_EQ(d["items"][2]["sid"], "second");
}

TEST(SessionJsonLinesTest, DiagnosticsLineWithoutDiagnostics) {
  EXPECT_EQ(sio::recording_diagnostics_line(Recording{}),
            R"({"kind":"diagnostics","count":0,"by_kind":{},"items":[]})");
}

TEST(SessionJsonLinesTest, SessionJsonKeepsKeyOrderInsideArgs) {
  const Json j = sio::session_to_json(full_session());
  const Json& chat = j["messages"][3];
  EXPECT_EQ(sio::dump_json(chat["args"]),
            R"(["hi \"there\"",{"zeta":1,"alpha":[true,null,1.5,-3]}])");
  EXPECT_EQ(sio::dump_json(j["messages"][0]["data"]), R"({"token":"abc","z":1,"a":2})");
  EXPECT_EQ(sio::dump_json(j["query"]),
            R"({"token":"a b+c","room":"42","zeta":"last","alpha":"first?"})");
  EXPECT_EQ(sio::dump_json(j["handshake"]),
            R"({"sid":"Xk3_aZ-9AAAB","upgrades":["websocket"],"pingInterval":25000,)"
            R"("pingTimeout":20000,"maxPayload":1000000})");
}

TEST(SessionJsonLinesTest, KeyOrderSurvivesReading) {
  const std::string line = sio::dump_json(sio::session_to_json(full_session()));
  const auto back = sio::read_recording(std::string(header) + "\n" + line + "\n", "r");
  ASSERT_TRUE(back.ok()) << back.error().message();
  const auto& chat = back->sessions.at(0).messages.at(3);
  ASSERT_TRUE(chat.args.has_value());
  EXPECT_EQ(sio::dump_json(*chat.args),
            R"(["hi \"there\"",{"zeta":1,"alpha":[true,null,1.5,-3]}])");
  std::vector<std::string> keys;
  for (const auto& [k, v] : (*chat.args)[1].items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"zeta", "alpha"}));
}

TEST(SessionJsonLinesTest, MessageFieldsAsWritten) {
  const Json j = sio::session_to_json(full_session());
  const Json& chat = j["messages"][3];
  EXPECT_EQ(chat["type"], "EVENT");
  EXPECT_EQ(chat["dir"], "client->server");
  EXPECT_EQ(chat["event"], "chat message");
  EXPECT_EQ(chat["ackId"], 17);
  EXPECT_EQ(chat["transport"], "websocket");
  EXPECT_EQ(j["messages"][4]["event"], 42);
  EXPECT_TRUE(j["messages"][4]["event"].is_number());
  EXPECT_EQ(j["messages"][6]["type"], "BINARY_EVENT");
  EXPECT_EQ(j["messages"][6]["attachments"], 1);
  EXPECT_EQ(j["messages"][6]["args"][0]["data"]["_binary_b64"], "AAECAwQ=");
  EXPECT_EQ(j["messages"][7]["type"], "BINARY_ACK");
  EXPECT_EQ(j["messages"][7]["ackId"], 0);
  EXPECT_FALSE(j["messages"][8].contains("event"));
  EXPECT_FALSE(j["messages"][8].contains("attachments"));
  EXPECT_FALSE(j["messages"][8].contains("ackId"));
  EXPECT_EQ(j["kind"], "session");
  EXPECT_EQ(j["engine"]["pong"], 13);
}

TEST(SessionJsonLinesTest, TypeFourIsNamedByTheEngineIoVersion) {
  const Json v4 = sio::session_to_json(full_session(4));
  const Json v3 = sio::session_to_json(full_session(3));
  EXPECT_EQ(v4["messages"][2]["type"], "CONNECT_ERROR");
  EXPECT_EQ(v3["messages"][2]["type"], "ERROR");
  EXPECT_EQ(v3["eio"], 3);

  const std::string text =
      std::string(header) + "\n" + sio::dump_json(v4) + "\n" + sio::dump_json(v3) + "\n";
  const auto back = sio::read_recording(text, "r");
  ASSERT_TRUE(back.ok()) << back.error().message();
  ASSERT_EQ(back->sessions.size(), 2u);
  EXPECT_EQ(back->sessions[0].messages.at(2).type, PacketType::connect_error);
  EXPECT_EQ(back->sessions[1].messages.at(2).type, PacketType::connect_error);
  EXPECT_EQ(back->sessions[1].eio, 3);
}

TEST(SessionJsonLinesTest, AbsentOptionalsStayAbsent) {
  Session s;
  s.id = 3;
  s.sid = "min";
  s.url = "http://h/";
  s.messages.push_back(Message{});
  const auto back = sio::session_from_json(sio::session_to_json(s));
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_FALSE(back->handshake.has_value());
  ASSERT_EQ(back->messages.size(), 1u);
  EXPECT_FALSE(back->messages[0].event.has_value());
  EXPECT_FALSE(back->messages[0].args.has_value());
  EXPECT_FALSE(back->messages[0].ack_id.has_value());
  EXPECT_FALSE(back->messages[0].data.has_value());
  EXPECT_EQ(back->messages[0].nsp, "/");
  expect_same(*back, s);
}

TEST(SessionJsonLinesTest, MinimalSessionLineGetsDefaults) {
  const auto r = sio::read_recording(with_session(minimal_session), "r");
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->sessions.size(), 1u);
  const Session& s = r->sessions[0];
  EXPECT_EQ(s.id, 1u);
  EXPECT_EQ(s.sid, "s");
  EXPECT_EQ(s.started_us, 5);
  EXPECT_EQ(s.path, "");
  EXPECT_TRUE(s.query.empty());
  EXPECT_FALSE(s.upgraded);
  EXPECT_EQ(s.engine.ping, 0u);
  EXPECT_TRUE(s.messages.empty());
  EXPECT_EQ(r->sources, std::vector<std::string>{"a.har"});
  EXPECT_TRUE(r->diagnostics.empty());
}

TEST(SessionJsonLinesTest, QueryAndHeadersAcceptBothShapes) {
  Json j = Json::parse(minimal_session);
  j["query"] = Json::parse(R"([["a","1"],["a","2"]])");
  j["headers"] = Json::parse(R"({"User-Agent":"x","Origin":"o"})");
  const auto s = sio::session_from_json(j);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->query, (std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"a", "2"}}));
  EXPECT_EQ(s->headers, (std::vector<std::pair<std::string, std::string>>{{"User-Agent", "x"},
                                                                          {"Origin", "o"}}));
}

TEST(SessionJsonLinesTest, ToleratesCrLfAndBlankLines) {
  const std::string text = std::string(header) + "\r\n\r\n" + minimal_session + "\r\n\n" +
                           R"({"kind":"diagnostics","count":0,"by_kind":{},"items":[]})";
  const auto r = sio::read_recording(text, "r");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->sessions.size(), 1u);
}

TEST(SessionJsonLinesTest, DumpJsonIsCompactUtf8AndNeverThrows) {
  EXPECT_EQ(sio::dump_json(Json::parse(R"({"b": [1, 2], "a": "\u00e9"})")),
            "{\"b\":[1,2],\"a\":\"\xc3\xa9\"}");
  EXPECT_EQ(sio::dump_json(Json("bad \xff byte")), "\"bad \xef\xbf\xbd byte\"");
  EXPECT_EQ(sio::dump_json(Json("a\nb\"")), R"("a\nb\"")");
}

// --- read errors ------------------------------------------------------------------------------

TEST(ReadRecordingTest, NotJsonOnLineThreeNamesTheLine) {
  const std::string text = std::string(header) + "\n" + minimal_session + "\n{not json\n";
  const auto ctx = read_error(text);
  EXPECT_NE(ctx.find("rec.jsonl"), std::string::npos) << ctx;
  EXPECT_NE(ctx.find("line 3"), std::string::npos) << ctx;
}

TEST(ReadRecordingTest, LineNumbersCountBlankLines) {
  const std::string text = std::string(header) + "\n\n\n[1,2]\n";
  const auto ctx = read_error(text);
  EXPECT_NE(ctx.find("line 4"), std::string::npos) << ctx;
}

TEST(ReadRecordingTest, FirstLineMustHaveTheFormat) {
  const auto ctx = read_error(std::string(minimal_session) + "\n");
  EXPECT_NE(ctx.find("line 1"), std::string::npos) << ctx;
  EXPECT_NE(ctx.find("sioreplay-recording"), std::string::npos) << ctx;
  const auto other = read_error(R"({"format":"other","version":1})");
  EXPECT_NE(other.find("line 1"), std::string::npos) << other;
}

TEST(ReadRecordingTest, OtherVersionsAreRefused) {
  const auto ctx = read_error(R"({"format":"sioreplay-recording","version":2})"
                              "\n");
  EXPECT_NE(ctx.find("version 2"), std::string::npos) << ctx;
  EXPECT_NE(ctx.find("line 1"), std::string::npos) << ctx;
  const auto missing = read_error(R"({"format":"sioreplay-recording"})");
  EXPECT_NE(missing.find("version"), std::string::npos) << missing;
  const auto text = read_error(R"({"format":"sioreplay-recording","version":"1"})");
  EXPECT_NE(text.find("version"), std::string::npos) << text;
}

TEST(ReadRecordingTest, MissingMessagesFieldIsNamed) {
  Json j = Json::parse(minimal_session);
  j.erase("messages");
  const auto ctx = read_error(with_session(sio::dump_json(j)));
  EXPECT_NE(ctx.find("line 2"), std::string::npos) << ctx;
  EXPECT_NE(ctx.find("\"messages\""), std::string::npos) << ctx;
}

TEST(ReadRecordingTest, EveryRequiredSessionFieldIsNamed) {
  for (const char* field : {"id", "sid", "eio", "url", "started_us", "messages"}) {
    Json j = Json::parse(minimal_session);
    j.erase(field);
    const auto ctx = read_error(with_session(sio::dump_json(j)));
    EXPECT_NE(ctx.find(std::string("\"") + field + "\""), std::string::npos) << ctx;
    Json n = Json::parse(minimal_session);
    n[field] = nullptr; // null counts as missing
    EXPECT_NE(read_error(with_session(sio::dump_json(n))).find(field), std::string::npos);
  }
}

TEST(ReadRecordingTest, WrongFieldTypeIsNamed) {
  const auto sid = read_error(with_session(session_with("sid", 5)));
  EXPECT_NE(sid.find("\"sid\""), std::string::npos) << sid;
  EXPECT_NE(sid.find("wrong type"), std::string::npos) << sid;
  const auto messages = read_error(with_session(session_with("messages", "none")));
  EXPECT_NE(messages.find("\"messages\""), std::string::npos) << messages;
  const auto id = read_error(with_session(session_with("id", 1.5)));
  EXPECT_NE(id.find("\"id\""), std::string::npos) << id;
  const auto upgraded = read_error(with_session(session_with("upgraded", "yes")));
  EXPECT_NE(upgraded.find("\"upgraded\""), std::string::npos) << upgraded;
  const auto query = read_error(with_session(session_with("query", "a=1")));
  EXPECT_NE(query.find("\"query\""), std::string::npos) << query;
  const auto pairs = read_error(with_session(session_with("headers", Json::parse(R"([["a"]])"))));
  EXPECT_NE(pairs.find("session.headers"), std::string::npos) << pairs;
}

TEST(ReadRecordingTest, UnknownDirectionIsNamed) {
  const auto ctx = read_error(with_session(
      session_with("messages", Json::parse(R"([{"t_us":0,"dir":"sideways","type":"EVENT"}])"))));
  EXPECT_NE(ctx.find("line 2"), std::string::npos) << ctx;
  EXPECT_NE(ctx.find("messages[0].dir"), std::string::npos) << ctx;
}

TEST(ReadRecordingTest, BadMessagesAreNamed) {
  const std::string ok = R"({"t_us":0,"dir":"client->server","type":"EVENT"})";
  const auto type = read_error(with_session(session_with(
      "messages", Json::parse("[" + ok + R"(,{"t_us":0,"dir":"client->server","type":"PING"}])"))));
  EXPECT_NE(type.find("messages[1].type"), std::string::npos) << type;
  const auto args = read_error(with_session(session_with(
      "messages", Json::parse(R"([{"t_us":0,"dir":"client->server","type":"EVENT","args":{}}])"))));
  EXPECT_NE(args.find("messages[0].args"), std::string::npos) << args;
  const auto event = read_error(with_session(session_with(
      "messages",
      Json::parse(R"([{"t_us":0,"dir":"client->server","type":"EVENT","event":[1]}])"))));
  EXPECT_NE(event.find("messages[0].event"), std::string::npos) << event;
  const auto t = read_error(
      with_session(session_with("messages", Json::parse(R"([{"dir":"client->server"}])"))));
  EXPECT_NE(t.find("\"t_us\""), std::string::npos) << t;
  const auto not_object = read_error(with_session(session_with("messages", Json::parse("[1]"))));
  EXPECT_NE(not_object.find("messages[0]"), std::string::npos) << not_object;
}

TEST(ReadRecordingTest, BadSessionValuesAreNamed) {
  const auto eio = read_error(with_session(session_with("eio", 5)));
  EXPECT_NE(eio.find("\"eio\""), std::string::npos) << eio;
  const auto transport =
      read_error(with_session(session_with("transports", Json::parse(R"(["carrier-pigeon"])"))));
  EXPECT_NE(transport.find("carrier-pigeon"), std::string::npos) << transport;
  const auto cookie = read_error(with_session(
      session_with("cookies", Json::parse(R"([{"kind":"eaten","name":"a","value":"b"}])"))));
  EXPECT_NE(cookie.find("cookies[0].kind"), std::string::npos) << cookie;
  const auto http = read_error(with_session(session_with("http", Json::parse(R"([{"url":"u"}])"))));
  EXPECT_NE(http.find("http[0]"), std::string::npos) << http;
  EXPECT_NE(http.find("\"method\""), std::string::npos) << http;
}

TEST(ReadRecordingTest, UnknownLineKindAndTextAfterTheTrailerAreRefused) {
  const auto kind = read_error(with_session(R"({"kind":"mystery"})"));
  EXPECT_NE(kind.find("line 2"), std::string::npos) << kind;
  EXPECT_NE(kind.find("mystery"), std::string::npos) << kind;
  const auto after = read_error(std::string(header) + "\n" + R"({"kind":"diagnostics"})" + "\n" +
                                minimal_session + "\n");
  EXPECT_NE(after.find("line 3"), std::string::npos) << after;
  const auto array = read_error(std::string(header) + "\n[]\n");
  EXPECT_NE(array.find("line 2"), std::string::npos) << array;
}

TEST(ReadRecordingTest, EmptyTextIsEmptyInput) {
  for (const char* text : {"", "\n", "\n\n\r\n"}) {
    const auto r = sio::read_recording(text, "rec.jsonl");
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(r.error().is(errc::empty_input)) << r.error().message();
    EXPECT_NE(r.error().context.find("rec.jsonl"), std::string::npos);
  }
}

// Found by fuzz_recording (samples/regression/fuzz_recording/deep-nesting.jsonl): a value nested
// 100,000 levels deep parsed (nlohmann parses without recursion) and then overflowed the stack
// when the session was copied. Such a line is refused, naming the line and the column.
TEST(ReadRecordingTest, DeepNestingIsRefusedNotAStackOverflow) {
  const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  const std::string line =
      R"({"kind":"session","id":1,"sid":"s","eio":4,"url":"http://h/","started_us":5,)"
      R"("messages":[{"t_us":0,"dir":"client->server","type":"EVENT",)"
      R"("nsp":"/","data":)" +
      deep + "}]}";
  const std::string text = std::string(header) + "\n" + line + "\n";
  const auto ctx = read_error(text);
  EXPECT_NE(ctx.find("rec.jsonl: line 2: column "), std::string::npos) << ctx;
  EXPECT_NE(ctx.find("nested deeper than 512 levels"), std::string::npos) << ctx;
  // 500 levels (plus the 3 of the line around them) are still read.
  const std::string ok_line = line.substr(0, line.find('[', line.find("\"data\":"))) +
                              std::string(500, '[') + std::string(500, ']') + "}]}";
  const auto ok = sio::read_recording(std::string(header) + "\n" + ok_line + "\n", "rec.jsonl");
  EXPECT_TRUE(ok.ok()) << ok.error().message();
}

TEST(ReadRecordingTest, NumberPastDoublesRangeIsAnErrorWithItsPlace) {
  // Found by fuzz_recording (samples/regression/fuzz_recording/number-overflow.jsonl): nlohmann
  // reports "1e999" as out_of_range, not parse_error, and it escaped as an internal error.
  const std::string line = R"({"kind":"session","id":1,"sid":"s","eio":4,"x":1e999})";
  const auto ctx = read_error(std::string(header) + "\n" + line + "\n");
  EXPECT_NE(ctx.find("rec.jsonl: line 2: column " + std::to_string(line.find("1e999") + 1) +
                     ": not valid JSON (number overflow parsing '1e999')"),
            std::string::npos)
      << ctx;
  // The fuzzer's own input gives the same kind of error, with the place of its number.
  std::ifstream f(SIO_SOURCE_DIR "/samples/regression/fuzz_recording/number-overflow.jsonl",
                  std::ios::binary);
  std::ostringstream bytes;
  bytes << f.rdbuf();
  const std::string found = bytes.str();
  ASSERT_FALSE(found.empty());
  const auto r = sio::read_recording(found, "number-overflow.jsonl");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("number-overflow.jsonl: line 2: column "), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("number overflow parsing '17958263506940e803774'"),
            std::string::npos)
      << r.error().message();
}

TEST(ReadRecordingTest, SessionFromJsonRejectsNonObjects) {
  const auto r = sio::session_from_json(Json::array());
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().is(errc::bad_recording));
}

} // namespace
