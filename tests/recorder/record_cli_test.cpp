/// `sioreplay record` as a user runs it: exit codes, stdout/stderr, atomic outputs.

#include "../support/cli.hpp"

namespace sio {
namespace {

using test::CliRun;
using test::slurp;
namespace fs = std::filesystem;

class RecordCli : public test::CliTest {};

TEST_F(RecordCli, VersionAndHelp) {
  const CliRun v = run("--version");
  EXPECT_EQ(v.code, 0);
  EXPECT_NE(v.out.find("sioreplay " SIO_VERSION_FOR_TESTS), std::string::npos) << v.out;
  const CliRun h = run("record --help");
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("--output"), std::string::npos);
  const CliRun none = run("");
  EXPECT_EQ(none.code, 2);
  const CliRun unknown = run("record --no-such-flag x.har");
  EXPECT_EQ(unknown.code, 2);
}

TEST_F(RecordCli, ReportSubcommandSaysNotYetImplemented) {
  for (const char* sub : {"report"}) {
    const CliRun r = run(std::string(sub) + " x");
    EXPECT_EQ(r.code, 2) << sub;
    EXPECT_NE(r.err.find("not yet implemented"), std::string::npos) << r.err;
  }
}

TEST_F(RecordCli, WritesRecordingAndSummary) {
  const fs::path out = dir_ / "rec.jsonl";
  const CliRun r =
      run("record '" + test::sample("har/a1/devtools.har") + "' -o '" + out.string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("1 session, 63 Socket.IO messages"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("CONNECT_ERROR"), std::string::npos) << r.err;
  const std::string text = slurp(out);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.rfind(R"({"format":"sioreplay-recording","version":1,)", 0), 0u)
      << text.substr(0, 80);
  EXPECT_NE(text.find(R"({"kind":"diagnostics","count":0)"), std::string::npos);
  EXPECT_EQ(leftovers({"rec.jsonl"}), std::vector<std::string>{});
}

TEST_F(RecordCli, DashWritesToStdout) {
  const CliRun r = run("record '" + test::sample("har/a3/devtools.har") + "' -o -");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind(R"({"format":"sioreplay-recording")", 0), 0u);
  EXPECT_NE(r.err.find("sioreplay record: 1 session"), std::string::npos);
  const CliRun q = run("record -q '" + test::sample("har/a3/devtools.har") + "'");
  ASSERT_EQ(q.code, 0);
  EXPECT_TRUE(q.err.empty()) << q.err;
  EXPECT_EQ(q.out, r.out) << "same input, same bytes";
}

TEST_F(RecordCli, BadInputsFailClearlyAndLeaveNoOutput) {
  std::ofstream(dir_ / "empty.har").close();
  {
    std::ofstream t(dir_ / "truncated.har");
    const std::string full = slurp(test::sample("har/a1/devtools.har"));
    t << full.substr(0, full.size() / 2);
  }
  std::ofstream(dir_ / "nosio.har")
      << R"({"log":{"entries":[{"startedDateTime":"2026-01-01T00:00:00Z","request":{"method":"GET","url":"http://h/"},"response":{"status":200}}]}})";
  fs::create_directory(dir_ / "folder.har");
  struct Case {
    std::string input;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"empty.har", "empty"},
      {"truncated.har", "truncated.har:"},
      {"nosio.har", "no Socket.IO traffic"},
      {"folder.har", "directory"},
      {"missing.har", "cannot open"},
  };
  for (const auto& c : cases) {
    const fs::path in = dir_ / c.input;
    const CliRun r = run("record '" + in.string() + "' -o '" + (dir_ / "out.jsonl").string() + "'");
    EXPECT_EQ(r.code, 1) << c.input << ": " << r.err;
    EXPECT_NE(r.err.find(in.string()), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one clear line: " << r.err;
    EXPECT_FALSE(fs::exists(dir_ / "out.jsonl")) << c.input;
  }
  EXPECT_EQ(leftovers({"empty.har", "truncated.har", "nosio.har", "folder.har"}),
            std::vector<std::string>{});
}

TEST_F(RecordCli, FailedRunKeepsThePreviousOutput) {
  const fs::path out = dir_ / "rec.jsonl";
  std::ofstream(out) << "previous";
  std::ofstream(dir_ / "bad.har") << "{";
  const CliRun r = run("record '" + (dir_ / "bad.har").string() + "' -o '" + out.string() + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(slurp(out), "previous");
}

TEST_F(RecordCli, OutputInMissingFolderIsAnError) {
  const CliRun r = run("record '" + test::sample("har/a1/devtools.har") + "' -o '" +
                       (dir_ / "no/such/dir/rec.jsonl").string() + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no/such/dir/rec.jsonl"), std::string::npos) << r.err;
}

TEST_F(RecordCli, InputIsNeverModified) {
  const std::string before = slurp(test::sample("har/a2/devtools.har"));
  const auto mtime = fs::last_write_time(test::sample("har/a2/devtools.har"));
  const CliRun r = run("record '" + test::sample("har/a2/devtools.har") + "' -o '" +
                       (dir_ / "rec.jsonl").string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(slurp(test::sample("har/a2/devtools.har")), before);
  EXPECT_EQ(fs::last_write_time(test::sample("har/a2/devtools.har")), mtime);
}

} // namespace
} // namespace sio
