#include "sio/replayer/metrics_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

namespace {

using sio::replayer::MetricsServer;
using sio::replayer::Period;
using sio::replayer::prometheus_text;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

Period sample_total() {
  Period p;
  p.counters["vusers.created"] = 12;
  p.counters["vusers.completed"] = 5;
  p.counters["vusers.failed"] = 2;
  p.counters["errors.timeout.ws_handshake"] = 2;
  p.counters["socketio.emit"] = 40;
  for (int i = 1; i <= 100; ++i) p.histograms["socketio.ack_time"].record(i * 1000); // 1..100 ms
  return p;
}

/// The sample lines of an exposition text by "name{labels}", checking every line's shape and
/// that every sample comes under a # TYPE of its family.
std::map<std::string, double> parse(const std::string& text) {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  const std::regex type_re(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|summary))");
  const std::regex help_re(R"(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+)");
  const std::regex sample_re(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{quantile="[0-9.]+"\})? (-?[0-9][0-9.e+-]*))");
  std::istringstream in(text);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, type_re)) {
      EXPECT_TRUE(types.emplace(m[1], m[2]).second) << "family typed twice: " << line;
    } else if (std::regex_match(line, help_re)) {
      continue;
    } else if (std::regex_match(line, m, sample_re)) {
      const std::string name = m[1];
      const std::string family = std::regex_replace(name, std::regex("_(sum|count)$"), "");
      EXPECT_TRUE(types.count(name) || types.count(family)) << "untyped sample: " << line;
      samples[name + std::string(m[2])] = std::stod(m[3]);
    } else {
      ADD_FAILURE() << "not a Prometheus text line: " << line;
    }
  }
  return samples;
}

/// A plain HTTP/1.1 exchange on a fresh connection; returns the whole response.
std::string http_get(std::uint16_t port, const std::string& request) {
  asio::io_context io;
  tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(s, asio::buffer(request));
  std::string out;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(out), ec); // until the server closes
  return out;
}

std::string body_of(const std::string& response) {
  const auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : response.substr(at + 4);
}

TEST(MetricsServer, TextIsPrometheusExpositionFormat) {
  Period last;
  last.counters["socketio.emit"] = 30;
  last.first_ms = 1000;
  last.last_ms = 11000; // 10 s: 3 emits/s
  const auto s = parse(prometheus_text(last, sample_total(), 12.5));
  EXPECT_EQ(s.at("sioreplay_vusers_created_total"), 12);
  EXPECT_EQ(s.at("sioreplay_vusers_active"), 5); // 12 - 5 - 2
  EXPECT_EQ(s.at("sioreplay_errors_timeout_ws_handshake_total"), 2);
  EXPECT_EQ(s.at("sioreplay_elapsed_seconds"), 12.5);
  EXPECT_EQ(s.at("sioreplay_emit_rate"), 3);
  EXPECT_EQ(s.at("sioreplay_socketio_ack_time_seconds_count"), 100);
  EXPECT_NEAR(s.at("sioreplay_socketio_ack_time_seconds_sum"), 5.05, 1e-9);
  EXPECT_NEAR(s.at("sioreplay_socketio_ack_time_seconds{quantile=\"0.5\"}"), 0.050, 0.001);
  EXPECT_NEAR(s.at("sioreplay_socketio_ack_time_seconds{quantile=\"0.99\"}"), 0.099, 0.001);
}

TEST(MetricsServer, NamesThatCollideStayDistinctFamilies) {
  Period total;
  total.counters["a.b"] = 1;
  total.counters["a_b"] = 2;
  const auto s = parse(prometheus_text({}, total, 0)); // parse() checks one TYPE per family
  EXPECT_EQ(s.at("sioreplay_a_b_total"), 1);
  EXPECT_EQ(s.at("sioreplay_a_b_total_"), 2);
}

TEST(MetricsServer, ServesMetricsOverHttp) {
  auto server = MetricsServer::start("127.0.0.1", 0);
  ASSERT_TRUE(server.ok()) << server.error().message();
  const std::uint16_t port = (*server)->port();
  ASSERT_NE(port, 0);

  // Before any period: zeros, still well formed.
  std::string r = http_get(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << r;
  EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4; charset=utf-8"), std::string::npos);
  EXPECT_EQ(parse(body_of(r)).at("sioreplay_vusers_active"), 0);

  (*server)->update({}, sample_total(), 20);
  r = http_get(port, "GET /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(body_of(r), prometheus_text({}, sample_total(), 20));

  // Keep-alive: two scrapes on one connection.
  r = http_get(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::size_t answers = 0;
  for (auto at = r.find("HTTP/1.1 200 OK"); at != std::string::npos;
       at = r.find("HTTP/1.1 200 OK", at + 1))
    ++answers;
  EXPECT_EQ(answers, 2U) << r;

  r = http_get(port, "GET /other HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.0 404", 0), 0U) << r;
  r = http_get(port, "POST /metrics HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.0 405", 0), 0U) << r;
  r = http_get(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.0 200", 0), 0U) << r;
  EXPECT_TRUE(body_of(r).empty());
  r = http_get(port, "this is not http\r\n\r\n");
  EXPECT_TRUE(r.empty()) << r; // dropped, and the server goes on
  r = http_get(port, "GET /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.0 200", 0), 0U);
}

TEST(MetricsServer, DeferredServingAnswersFromTheFirstUpdate) {
  auto server = MetricsServer::start("127.0.0.1", 0, /*defer_serving=*/true);
  ASSERT_TRUE(server.ok());
  std::string r;
  std::atomic<bool> answered{false};
  std::thread scraper([&] {
    r = http_get((*server)->port(), "GET /metrics HTTP/1.0\r\n\r\n");
    answered = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(answered); // waiting in the listen queue
  (*server)->update({}, sample_total(), 10);
  scraper.join();
  EXPECT_EQ(parse(body_of(r)).at("sioreplay_vusers_created_total"), 12);
}

TEST(MetricsServer, ErrorsNameTheAddress) {
  auto bad = MetricsServer::start("not-an-ip", 9100);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("not-an-ip:9100"), std::string::npos);
  auto first = MetricsServer::start("127.0.0.1", 0);
  ASSERT_TRUE(first.ok());
  auto second = MetricsServer::start("127.0.0.1", (*first)->port());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message().find("cannot listen"), std::string::npos)
      << second.error().message();
}

} // namespace
