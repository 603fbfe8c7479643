/// The HAR reader on small HARs built in the test: producers' variants (DevTools, Playwright,
/// Firefox), Engine.IO v3 and v4 payloads, websocket-only sessions, reconnects, namespaces.

#include "../support/paths.hpp"

#include "sio/common/base64.hpp"
#include "sio/recorder/har_reader.hpp"
#include "sio/recorder/recorder.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <unistd.h>

namespace sio::recorder {
namespace {

using nlohmann::json;

/// Builds HAR files entry by entry.
class HarBuilder {
public:
  explicit HarBuilder(std::string creator = "WebInspector") {
    har_ = {{"log",
             {{"version", "1.2"},
              {"creator", {{"name", creator}, {"version", "1"}}},
              {"entries", json::array()}}}};
  }
  json& polling(const std::string& method, const std::string& url, const std::string& started,
                const std::string& body, double wait_ms = 10) {
    json e = base_entry(method, url, started, wait_ms);
    e["_resourceType"] = "xhr";
    if (method == "POST") {
      e["request"]["postData"] = {{"mimeType", "text/plain;charset=UTF-8"}, {"text", body}};
      e["response"]["content"] = {{"size", 2}, {"mimeType", "text/html"}, {"text", "ok"}};
    } else {
      e["response"]["content"] = {
          {"size", body.size()}, {"mimeType", "text/plain"}, {"text", body}};
    }
    return push(std::move(e));
  }
  json& websocket(const std::string& url, const std::string& started, json frames) {
    json e = base_entry("GET", url, started, 1000);
    e["_resourceType"] = "websocket";
    e["response"]["status"] = 101;
    if (!frames.is_null()) e["_webSocketMessages"] = std::move(frames);
    return push(std::move(e));
  }
  json& page(const std::string& url, const std::string& started) {
    json e = base_entry("GET", url, started, 5);
    e["_resourceType"] = "document";
    return push(std::move(e));
  }
  std::string write() const {
    char path[] = "/tmp/sio_har_test_XXXXXX";
    const int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    const std::string text = har_.dump(1);
    EXPECT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
    files_.push_back(path);
    return path;
  }
  ~HarBuilder() {
    for (const auto& f : files_) std::remove(f.c_str());
  }
  json har_;

private:
  json base_entry(const std::string& method, const std::string& url, const std::string& started,
                  double wait_ms) {
    return {{"startedDateTime", started},
            {"time", wait_ms + 1},
            {"request",
             {{"method", method},
              {"url", url},
              {"httpVersion", "HTTP/1.1"},
              {"headers", json::array({{{"name", "User-Agent"}, {"value", "test-agent"}}})},
              {"cookies", json::array()}}},
            {"response",
             {{"status", 200},
              {"headers", json::array()},
              {"cookies", json::array()},
              {"content", {{"size", 0}, {"mimeType", "text/plain"}}}}},
            {"timings",
             {{"blocked", 0.5},
              {"dns", -1},
              {"connect", -1},
              {"send", 0.1},
              {"wait", wait_ms},
              {"receive", 0.4}}},
            {"pageref", "page_1"}};
  }
  json& push(json e) {
    har_["log"]["entries"].push_back(std::move(e));
    return har_["log"]["entries"].back();
  }
  mutable std::vector<std::string> files_;
};

json frame(const std::string& type, double time, int opcode, const std::string& data) {
  return {{"type", type}, {"time", time}, {"opcode", opcode}, {"data", data}};
}

Result<Recording> run(const std::string& path) {
  RecordOptions o;
  o.inputs = {path};
  std::vector<InputStats> stats;
  return record(o, stats);
}

const std::string base = "http://127.0.0.1:3000/socket.io/?EIO=4&transport=";

TEST(HarReaderTest, WebsocketOnlySessionTakesSidFromTheOpenPacket) {
  HarBuilder h;
  h.websocket(
      "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket", "2026-01-01T00:00:00.000Z",
      json::array(
          {frame("receive", 1767225600.010, 1,
                 R"(0{"sid":"WSONLY","upgrades":[],"pingInterval":25000,"pingTimeout":20000})"),
           frame("send", 1767225600.011, 1, "40"),
           frame("receive", 1767225600.012, 1, R"(40{"sid":"nsp-sid"})"),
           frame("receive", 1767225600.020, 1, "2"), frame("send", 1767225600.021, 1, "3"),
           frame("send", 1767225600.030, 1, R"(42["chat","hi"])")}));
  auto rec = run(h.write());
  ASSERT_TRUE(rec) << rec.error().message();
  ASSERT_EQ(rec->sessions.size(), 1u);
  const Session& s = rec->sessions[0];
  EXPECT_EQ(s.sid, "WSONLY");
  ASSERT_EQ(s.transports.size(), 1u);
  EXPECT_EQ(s.transports[0], Transport::websocket);
  EXPECT_FALSE(s.upgraded);
  EXPECT_EQ(s.engine.ping, 1u);
  EXPECT_EQ(s.engine.pong, 1u);
  ASSERT_EQ(s.messages.size(), 3u);
  EXPECT_EQ(s.messages[2].type, sock::PacketType::event);
  EXPECT_EQ(*s.messages[2].event, "chat");
  EXPECT_EQ(s.messages[2].args->dump(), R"(["hi"])");
  EXPECT_EQ(s.messages[2].t_us, 30000);
  EXPECT_EQ(s.url, "http://127.0.0.1:3000/socket.io/");
  EXPECT_EQ(s.user_agent, "test-agent");
}

TEST(HarReaderTest, PlaywrightMillisecondTimesAndBinaryFrames) {
  HarBuilder h("Playwright");
  h.websocket(
      "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket", "2026-01-01T00:00:00.000Z",
      json::array({frame("receive", 1767225600010.0, 1, R"(0{"sid":"PW"})"),
                   frame("send", 1767225600500.0, 1, R"(451-["up",{"_placeholder":true,"num":0}])"),
                   frame("send", 1767225600501.0, 2, base64_encode("\x01\x02\x03\x04")),
                   frame("error", 1767225600502.0, -1, "oops")}));
  auto rec = run(h.write());
  ASSERT_TRUE(rec) << rec.error().message();
  ASSERT_EQ(rec->sessions.size(), 1u);
  const Session& s = rec->sessions[0];
  ASSERT_EQ(s.messages.size(), 1u);
  EXPECT_EQ(s.messages[0].type, sock::PacketType::binary_event);
  EXPECT_EQ(s.messages[0].t_us, 500000);
  EXPECT_EQ(s.messages[0].args->dump(), R"([{"_binary_b64":"AQIDBA=="}])");
  EXPECT_EQ(s.messages[0].attachments, 1u);
  ASSERT_EQ(rec->diagnostics.size(), 1u);
  EXPECT_EQ(rec->diagnostics[0].kind, "ws_frame_error");
}

TEST(HarReaderTest, FirefoxHarWithoutFramesIsReportedNotHidden) {
  HarBuilder h("Firefox");
  h.polling("GET", base + "polling&t=1", "2026-01-01T00:00:00.000Z",
            R"(0{"sid":"FF","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000})");
  h.polling("POST", base + "polling&t=2&sid=FF", "2026-01-01T00:00:00.020Z", "40");
  h.polling("GET", base + "polling&t=3&sid=FF", "2026-01-01T00:00:00.030Z", R"(40{"sid":"x"})");
  h.websocket("ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket&sid=FF",
              "2026-01-01T00:00:00.050Z", json());
  auto rec = run(h.write());
  ASSERT_TRUE(rec) << rec.error().message();
  ASSERT_EQ(rec->sessions.size(), 1u);
  EXPECT_EQ(rec->sessions[0].messages.size(), 2u);
  EXPECT_TRUE(rec->sessions[0].upgraded);
  ASSERT_EQ(rec->diagnostics.size(), 1u);
  EXPECT_EQ(rec->diagnostics[0].kind, "missing_ws_frames");
  EXPECT_NE(rec->diagnostics[0].what.find("Firefox"), std::string::npos);
  EXPECT_NE(rec->diagnostics[0].where.find("$.log.entries[3]"), std::string::npos);
}

TEST(HarReaderTest, PollingV4PayloadsWithSeveralPacketsAndBase64Bodies) {
  HarBuilder h;
  h.polling("GET", base + "polling&t=1", "2026-01-01T00:00:00.000Z", R"(0{"sid":"P4"})");
  h.polling("POST", base + "polling&t=2&sid=P4", "2026-01-01T00:00:00.100Z",
            "40\x1e"
            R"(40/chat,{"token":"t"})");
  auto& get = h.polling("GET", base + "polling&t=3&sid=P4", "2026-01-01T00:00:00.110Z", "");
  const std::string body = R"(40{"sid":"a"})"
                           "\x1e"
                           R"(42["emoji","😀"])"
                           "\x1e"
                           R"(451-["bin",{"_placeholder":true,"num":0}])"
                           "\x1e"
                           "bAQID";
  get["response"]["content"]["text"] = base64_encode(body);
  get["response"]["content"]["encoding"] = "base64";
  auto rec = run(h.write());
  ASSERT_TRUE(rec) << rec.error().message();
  ASSERT_EQ(rec->sessions.size(), 1u);
  const auto& m = rec->sessions[0].messages;
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0].dir, Direction::client_to_server);
  EXPECT_EQ(m[1].nsp, "/chat");
  EXPECT_EQ(m[1].data->dump(), R"({"token":"t"})");
  EXPECT_EQ(m[2].dir, Direction::server_to_client);
  // The GET's packets are placed after its wait: start 110 ms + blocked 0.5 + send 0.1 + wait 10.
  EXPECT_EQ(m[2].t_us, 110000 + 10600);
  EXPECT_EQ(m[3].args->dump(), R"(["😀"])");
  EXPECT_EQ(m[4].args->dump(), R"([{"_binary_b64":"AQID"}])");
  EXPECT_TRUE(rec->diagnostics.empty());
}

TEST(HarReaderTest, EngineIoV3TextPayloadsCountUtf16Units) {
  HarBuilder h;
  const std::string b3 = "http://127.0.0.1:3000/socket.io/?EIO=3&transport=";
  h.polling(
      "GET", b3 + "polling&t=1", "2026-01-01T00:00:00.000Z",
      R"(85:0{"sid":"V3SESSION","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000}2:40)");
  h.polling("POST", b3 + "polling&t=2&sid=V3SESSION", "2026-01-01T00:00:00.100Z",
            "12:42[\"e\",\"😀\"]1:2");
  h.polling("GET", b3 + "polling&t=3&sid=V3SESSION", "2026-01-01T00:00:00.200Z",
            "1:3"
            "2:4\xe2\x82\xac"
            "25:44/admin,\"Not authorized\"");
  auto rec = run(h.write());
  ASSERT_TRUE(rec) << rec.error().message();
  ASSERT_EQ(rec->sessions.size(), 1u);
  const Session& s = rec->sessions[0];
  EXPECT_EQ(s.eio, 3);
  EXPECT_EQ(s.engine.ping, 1u);
  EXPECT_EQ(s.engine.pong, 1u);
  // "4€" is an Engine.IO message whose Socket.IO text "€" is not a packet: a diagnostic.
  ASSERT_EQ(s.messages.size(), 3u);
  EXPECT_EQ(s.messages[0].type, sock::PacketType::connect); // the server's own "40" in v2
  EXPECT_EQ(s.messages[1].args->dump(), R"(["😀"])");
  EXPECT_EQ(s.messages[2].type, sock::PacketType::connect_error);
  EXPECT_EQ(s.messages[2].data->dump(), R"("Not authorized")");
  ASSERT_EQ(rec->diagnostics.size(), 1u);
  EXPECT_EQ(rec->diagnostics[0].kind, "bad_sio_packet");
}

TEST(HarReaderTest, ReconnectsAreSeparateSessions) {
  HarBuilder h;
  for (const char* sid : {"FIRST", "SECOND"}) {
    const std::string t = std::string(sid) == "FIRST" ? "00" : "05";
    h.polling("GET", base + "polling&t=a", "2026-01-01T00:00:" + t + ".000Z",
              std::string(R"(0{"sid":")") + sid + "\"}");
    h.polling("POST", base + "polling&t=b&sid=" + sid, "2026-01-01T00:00:" + t + ".100Z", "40");
  }
  auto rec = run(h.write());
  ASSERT_TRUE(rec) << rec.error().message();
  ASSERT_EQ(rec->sessions.size(), 2u);
  EXPECT_EQ(rec->sessions[0].sid, "FIRST");
  EXPECT_EQ(rec->sessions[1].sid, "SECOND");
  EXPECT_EQ(rec->sessions[1].started_us - rec->sessions[0].started_us, 5000000);
}

TEST(HarReaderTest, SetCookieHeadersJoinedWithNewlinesAreSplit) {
  HarBuilder h;
  auto& e = h.polling("GET", base + "polling&t=1", "2026-01-01T00:00:00.000Z", R"(0{"sid":"C"})");
  e["response"]["headers"] = json::array(
      {{{"name", "set-cookie"}, {"value", "io=C; Path=/; HttpOnly\nAWSALB=xyz; Path=/"}}});
  e["request"]["headers"].push_back({{"name", "Cookie"}, {"value", "route=s2; theme=dark"}});
  auto rec = run(h.write());
  ASSERT_TRUE(rec) << rec.error().message();
  const auto& cookies = rec->sessions.at(0).cookies;
  std::vector<std::string> names;
  for (const auto& c : cookies)
    names.push_back((c.kind == CookieRecord::Kind::set ? "set:" : "sent:") + c.name + "=" +
                    c.value);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"sent:route=s2", "sent:theme=dark", "set:AWSALB=xyz",
                                             "set:io=C"}));
}

TEST(HarReaderTest, PathOptionSelectsTheEndpoint) {
  HarBuilder h;
  h.polling("GET", base + "polling&t=1", "2026-01-01T00:00:00.000Z", R"(0{"sid":"A"})");
  h.polling("GET", "http://127.0.0.1:3000/other/?EIO=4&transport=polling&t=1",
            "2026-01-01T00:00:01.000Z", R"(0{"sid":"B"})");
  const std::string path = h.write();
  RecordOptions o;
  o.inputs = {path};
  o.path = "/other/";
  std::vector<InputStats> stats;
  auto rec = record(o, stats);
  ASSERT_TRUE(rec) << rec.error().message();
  ASSERT_EQ(rec->sessions.size(), 1u);
  EXPECT_EQ(rec->sessions[0].sid, "B");
}

TEST(HarReaderTest, HttpErrorsOfPollingAreDiagnosed) {
  HarBuilder h;
  h.polling("GET", base + "polling&t=1", "2026-01-01T00:00:00.000Z", R"(0{"sid":"E"})");
  auto& e = h.polling("GET", base + "polling&t=2&sid=E", "2026-01-01T00:00:00.100Z",
                      R"({"code":1,"message":"Session ID unknown"})");
  e["response"]["status"] = 400;
  auto rec = run(h.write());
  ASSERT_TRUE(rec) << rec.error().message();
  ASSERT_EQ(rec->diagnostics.size(), 1u);
  EXPECT_EQ(rec->diagnostics[0].kind, "http_error");
  EXPECT_NE(rec->diagnostics[0].what.find("Session ID unknown"), std::string::npos);
}

struct BadHar {
  const char* name;
  std::string text;
  errc code;
  const char* expect_in_message;
};

class HarErrors : public ::testing::TestWithParam<BadHar> {};

TEST_P(HarErrors, ClearErrorWithPlace) {
  const BadHar& b = GetParam();
  char path[] = "/tmp/sio_bad_har_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, b.text.data(), b.text.size()), static_cast<ssize_t>(b.text.size()));
  ::close(fd);
  auto rec = run(path);
  std::remove(path);
  ASSERT_FALSE(rec) << b.name;
  EXPECT_TRUE(rec.error().is(b.code)) << b.name << ": " << rec.error().message();
  EXPECT_NE(rec.error().message().find(path), std::string::npos) << rec.error().message();
  EXPECT_NE(rec.error().message().find(b.expect_in_message), std::string::npos)
      << b.name << ": " << rec.error().message();
}

const std::string entry_ok =
    R"({"startedDateTime":"2026-01-01T00:00:00Z","request":{"method":"GET","url":"http://h/socket.io/?EIO=4&transport=polling","headers":[]},"response":{"status":200,"content":{"text":"0{\"sid\":\"S\"}"}}})";

INSTANTIATE_TEST_SUITE_P(
    Samples, HarErrors,
    ::testing::Values(
        BadHar{"truncated", R"({"log":{"entries":[)" + entry_ok.substr(0, 60),
               errc::truncated_input, ":1:"},
        BadHar{"invalid json", R"({"log":{"entries":[}]}})", errc::bad_json, ":1:20"},
        BadHar{
            "url not a string",
            R"({"log":{"entries":[{"startedDateTime":"2026-01-01T00:00:00Z","request":{"method":"GET","url":42}}]}})",
            errc::bad_har, "$.log.entries[0].request.url: expected a string, got a number"},
        BadHar{"entries not an array", R"({"log":{"entries":{}}})", errc::bad_har,
               "$.log.entries: expected an array"},
        BadHar{"no log", R"({"foo":1})", errc::bad_har, "$.log"},
        BadHar{
            "bad date",
            R"({"log":{"entries":[{"startedDateTime":"yesterday","request":{"method":"GET","url":"http://h/"}}]}})",
            errc::bad_har, "$.log.entries[0].startedDateTime"},
        BadHar{
            "no socket.io",
            R"({"log":{"entries":[{"startedDateTime":"2026-01-01T00:00:00Z","request":{"method":"GET","url":"http://h/"},"response":{"status":200}}]}})",
            errc::no_socketio_traffic, "no Socket.IO traffic"},
        BadHar{"not json", "hello", errc::bad_har, "neither a HAR"},
        BadHar{
            "ws frame without data",
            R"({"log":{"entries":[{"startedDateTime":"2026-01-01T00:00:00Z","request":{"method":"GET","url":"ws://h/socket.io/?EIO=4&transport=websocket&sid=S"},"response":{"status":101},"_webSocketMessages":[{"type":"send","time":1,"opcode":1}]}]}})",
            errc::bad_har, "_webSocketMessages[0]: missing field \"data\""},
        BadHar{"trailing garbage", R"({"log":{"entries":[]}} x)", errc::bad_json, "after the end"}),
    [](const auto& param_info) {
      std::string n = param_info.param.name;
      for (auto& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return n;
    });

TEST(HarReaderTest, ByteOrderMarkIsSkipped) {
  HarBuilder h;
  h.polling("GET", base + "polling&t=1", "2026-01-01T00:00:00.000Z", R"(0{"sid":"BOM"})");
  const std::string path = h.write();
  std::string text;
  {
    std::ifstream in(path);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(path, std::ios::trunc) << "\xEF\xBB\xBF" << text;
  auto rec = run(path);
  ASSERT_TRUE(rec) << rec.error().message();
  EXPECT_EQ(rec->sessions.at(0).sid, "BOM");
}

TEST(HarReaderTest, Iso8601) {
  EXPECT_EQ(*parse_iso8601_us("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*parse_iso8601_us("2026-11-28T00:38:33.562Z"), 1795826313562000);
  EXPECT_EQ(*parse_iso8601_us("2026-11-28T02:38:33.562+02:00"), 1795826313562000);
  EXPECT_EQ(*parse_iso8601_us("2026-11-28T00:38:33.5621234Z"), 1795826313562123);
  EXPECT_FALSE(parse_iso8601_us("2026-13-28T00:38:33Z"));
  EXPECT_FALSE(parse_iso8601_us("2026-11-28"));
}

} // namespace
} // namespace sio::recorder
