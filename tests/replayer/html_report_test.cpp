/// The HTML report: the embedded template, the report's data in it (escaped), the run's
/// description; `replay --html` / `report --html` on bad paths and bad inputs.

#include "../support/cli.hpp"
#include "../support/html.hpp"

#include "sio/common/session_json.hpp"
#include "sio/replayer/html_report.hpp"
#include "sio/replayer/report.hpp"

#include <gtest/gtest.h>

namespace sio {
namespace {

using test::CliRun;
using test::embedded_data;
using test::slurp;
namespace fs = std::filesystem;

constexpr std::int64_t t0 = 1737045320000;
/// A report of 25 s with two scenarios (one with a name that would end a <script>).
Json sample_report() {
  replayer::Metrics m;
  const std::string evil = "</script><script>alert(1)</script>";
  for (int i = 0; i < 250; ++i) {
    const std::int64_t t = t0 + i * 100;
    m.count("vusers.created", 1, t);
    m.count("vusers.created_by_name." + (i % 2 ? evil : std::string("plain")), 1, t);
    m.count("socketio.emit", 2, t);
    m.record("socketio.ack_time", 1000 + i * 10, t);
    m.record("engineio.handshake_time", 3000 + i, t);
    m.count(i % 2 ? "vusers.failed" : "vusers.completed", 1, t + 50);
    if (i % 2) m.count("errors.timeout.ack", 1, t + 50);
  }
  Json report = replayer::report_json(m);
  report["x-sioreplay-error-examples"] = {{"timeout.ack", "no ack within 10 s <b>"}};
  return report;
}

TEST(HtmlReport, EmbedsTheReportEscaped) {
  Json report = sample_report();
  replayer::Script script;
  script.file = "s.yml";
  script.target = "http://127.0.0.1:1";
  script.scenarios.resize(2);
  script.scenarios[0].name = "plain";
  script.scenarios[1].name = "</script><script>alert(1)</script>";
  script.scenarios[1].weight = 3;
  replayer::Phase ramp;
  ramp.duration_s = 10;
  ramp.arrival_rate = 1;
  ramp.ramp_to = 5;
  replayer::Phase count;
  count.name = "burst";
  count.duration_s = 2;
  count.arrival_count = 40;
  count.max_vusers = 10;
  script.phases = {ramp, count};
  report[replayer::run_key] =
      replayer::run_json(script, {"sioreplay", "replay", "s.yml", "--html", "r.html"}, 25.5);
  const Json& run = report[replayer::run_key];
  EXPECT_EQ(run["command"].size(), 5u);
  EXPECT_EQ(run["scenarios"][1]["weight"], 3.0);
  EXPECT_EQ(run["phases"][0], (Json{{"duration", 10.0}, {"arrivalRate", 1.0}, {"rampTo", 5.0}}));
  EXPECT_EQ(run["phases"][1],
            (Json{{"name", "burst"}, {"duration", 2.0}, {"arrivalCount", 40}, {"maxVusers", 10}}));

  auto page = replayer::html_report(report);
  ASSERT_TRUE(page) << page.error().message();
  EXPECT_EQ(page->rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(page->find("prefers-color-scheme: dark"), std::string::npos);
  EXPECT_NE(page->find("data-rendered"), std::string::npos);
  // Self-contained: nothing is fetched.
  EXPECT_EQ(page->find("src=\"http"), std::string::npos);
  EXPECT_EQ(page->find("<link"), std::string::npos);
  // The scenario name cannot end the data's <script>: only the template's own </script> tags.
  EXPECT_EQ(page->find("<script>alert"), std::string::npos);
  Json data = embedded_data(*page);
  EXPECT_FALSE(data.contains("x-sioreplay-histograms")) << "the page draws from the summaries";
  report.erase("x-sioreplay-histograms");
  EXPECT_EQ(data, report);
  // The title names the scenarios, escaped.
  EXPECT_NE(page->find("<title>sioreplay report: plain, &lt;/script&gt;&lt;script&gt;"),
            std::string::npos);
}

TEST(HtmlReport, RefusesWhatIsNotAReport) {
  auto r = replayer::html_report(Json{{"aggregate", 1}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("aggregate"), std::string::npos) << r.error().message();
  EXPECT_FALSE(replayer::html_report(Json::array()));
}

class HtmlReportCli : public test::CliTest {
protected:
  void write_report() { std::ofstream(dir_ / "r.json") << dump_json(sample_report()); }
};

TEST_F(HtmlReportCli, ReportWritesThePage) {
  write_report();
  const CliRun r = run("report " + at("r.json") + " --html " + at("r.html"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("HTML report written to " + (dir_ / "r.html").string()), std::string::npos)
      << r.err;
  const std::string page = slurp(dir_ / "r.html");
  const Json data = embedded_data(page);
  EXPECT_EQ(data["aggregate"]["counters"]["vusers.created"], 250);
  EXPECT_EQ(data["x-sioreplay-error-examples"]["timeout.ack"], "no ack within 10 s <b>");
  EXPECT_EQ(leftovers({"r.json", "r.html"}), std::vector<std::string>{});
}

TEST_F(HtmlReportCli, BadPathsFailAtOnceAndLeaveNothing) {
  write_report();
  const std::string missing = (dir_ / "no-such-dir" / "r.html").string();
  const CliRun r = run("report " + at("r.json") + " --html '" + missing + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(missing));
  const CliRun dash = run("report " + at("r.json") + " --html -");
  EXPECT_EQ(dash.code, 1);
  EXPECT_NE(dash.err.find("--html needs a file name"), std::string::npos) << dash.err;
  // replay: the page's path is checked before any user is started.
  std::ofstream(dir_ / "s.yml") << "config:\n  target: http://127.0.0.1:9\n  phases:\n"
                                   "    - duration: 1\n      arrivalCount: 1\n"
                                   "scenarios:\n  - engine: socketio\n    flow:\n"
                                   "      - emit: [\"x\"]\n";
  const CliRun replay = run("replay -q " + at("s.yml") + " --html '" + missing + "'");
  EXPECT_EQ(replay.code, 1);
  EXPECT_NE(replay.err.find(missing), std::string::npos) << replay.err;
  EXPECT_EQ(replay.err.find("Summary"), std::string::npos) << "no run: " << replay.err;
  EXPECT_EQ(leftovers({"r.json", "s.yml"}), std::vector<std::string>{});
}

TEST_F(HtmlReportCli, BadReportLeavesNoPage) {
  std::ofstream(dir_ / "bad.json") << "{\"aggregate\": {\n  \"counters\": [1,\n";
  const CliRun r = run("report " + at("bad.json") + " --html " + at("r.html"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("bad.json: line "), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "r.html"));
  EXPECT_EQ(leftovers({"bad.json"}), std::vector<std::string>{});
}

} // namespace
} // namespace sio
