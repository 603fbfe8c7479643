/// `record --html`: the timeline page's data (the recorded sessions, escaped), its limits, and
/// the CLI's errors (bad paths fail before anything is read; nothing half-written is left).

#include "../support/cli.hpp"
#include "../support/html.hpp"

#include "sio/recorder/html_timeline.hpp"
#include "sio/recorder/recorder.hpp"

#include <gtest/gtest.h>

namespace sio {
namespace {

using test::CliRun;
using test::embedded_data;
using test::slurp;
namespace fs = std::filesystem;

Recording sample_recording() {
  recorder::RecordOptions options;
  options.inputs = {test::sample("har/a2/devtools.har")};
  std::vector<recorder::InputStats> stats;
  auto rec = recorder::record(options, stats);
  EXPECT_TRUE(rec) << rec.error().message();
  return rec ? std::move(*rec) : Recording{};
}

TEST(HtmlTimeline, HoldsTheSessionsEscaped) {
  Recording rec = sample_recording();
  ASSERT_EQ(rec.sessions.size(), 1u);
  // An event whose argument would end the data's <script> if it were not escaped.
  Message m = rec.sessions[0].messages.back();
  m.args = Json::array({"</script><script>alert(1)</script>"});
  rec.sessions[0].messages.push_back(m);
  recorder::TimelinePage page;
  page.add(rec.sessions[0]);
  auto html = page.html({"a.har"}, "");
  ASSERT_TRUE(html) << html.error().message();
  EXPECT_EQ(html->find("<script>alert"), std::string::npos);
  EXPECT_NE(html->find("<title>sioreplay timeline: a.har</title>"), std::string::npos);
  const Json data = embedded_data(*html);
  ASSERT_EQ(data["sessions"].size(), 1u);
  const Json& s = data["sessions"][0];
  EXPECT_EQ(s["sid"], rec.sessions[0].sid);
  EXPECT_EQ(s["messages"].size(), rec.sessions[0].messages.size());
  EXPECT_EQ(s["messages"].back()["args"][0], "</script><script>alert(1)</script>");
  EXPECT_EQ(data["sources"], Json::array({"a.har"}));
  EXPECT_EQ(data["omittedSessions"], 0);
  EXPECT_TRUE(data["diagnostics"].is_null());
}

TEST(HtmlTimeline, LimitsAreCountedNotSilent) {
  const Recording rec = sample_recording();
  ASSERT_EQ(rec.sessions.size(), 1u);
  recorder::TimelinePage page(/*max_sessions=*/2, /*max_messages=*/1000);
  for (int i = 0; i < 3; ++i) page.add(rec.sessions[0]);
  EXPECT_EQ(page.sessions(), 2u);
  EXPECT_EQ(page.omitted(), 1u);
  const Json data = embedded_data(*page.html({"a.har"}, R"({"kind":"diagnostics","count":0})"));
  EXPECT_EQ(data["sessions"].size(), 2u);
  EXPECT_EQ(data["omittedSessions"], 1);
  EXPECT_EQ(data["diagnostics"]["count"], 0);
  recorder::TimelinePage few(10, /*max_messages=*/5);
  few.add(rec.sessions[0]);
  EXPECT_EQ(few.sessions(), 0u);
  EXPECT_EQ(few.omitted(), 1u);
}

class TimelineCli : public test::CliTest {};

TEST_F(TimelineCli, WritesRecordingAndTimeline) {
  const CliRun r = run("record '" + test::sample("har/a2/devtools.har") + "' -o " +
                       at("rec.jsonl") + " --html " + at("t.html"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("wrote " + (dir_ / "t.html").string() + " (timeline of 1 session(s))"),
            std::string::npos)
      << r.err;
  const Json data = embedded_data(slurp(dir_ / "t.html"));
  EXPECT_EQ(data["sessions"][0]["messages"].size(), 62u);
  EXPECT_EQ(data["diagnostics"]["kind"], "diagnostics");
  EXPECT_EQ(leftovers({"rec.jsonl", "t.html"}), std::vector<std::string>{});
}

TEST_F(TimelineCli, CaptureTimelineIsStreamed) {
  const std::string pcap = test::sample("pcap/b1/b1.pcap");
  const CliRun r =
      run("record -q '" + pcap + "' -o " + at("rec.jsonl") + " --html " + at("t.html"));
  ASSERT_EQ(r.code, 0) << r.err;
  const Json data = embedded_data(slurp(dir_ / "t.html"));
  EXPECT_GE(data["sessions"].size(), 1u);
}

TEST_F(TimelineCli, BadPathsAndInputsLeaveNothing) {
  const std::string missing = (dir_ / "no-such-dir" / "t.html").string();
  const CliRun r = run("record '" + test::sample("har/a2/devtools.har") + "' -o " +
                       at("rec.jsonl") + " --html '" + missing + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(missing), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(missing));
  const CliRun dash = run("record '" + test::sample("har/a2/devtools.har") + "' -o - --html -");
  EXPECT_EQ(dash.code, 1);
  EXPECT_NE(dash.err.find("--html needs a file name"), std::string::npos) << dash.err;
  EXPECT_TRUE(dash.out.empty()) << "no recording either";
  std::ofstream(dir_ / "bad.har") << "{\"log\": {\"entries\": [\n";
  const CliRun bad =
      run("record " + at("bad.har") + " -o " + at("rec.jsonl") + " --html " + at("t.html"));
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("bad.har"), std::string::npos) << bad.err;
  EXPECT_EQ(leftovers({"bad.har"}), std::vector<std::string>{});
}

} // namespace
} // namespace sio
