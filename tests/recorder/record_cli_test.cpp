/// `sioreplay record` as a user runs it: exit codes, stdout/stderr, atomic outputs.

#include "../support/cli.hpp"

#include "sio/common/session_json.hpp"
#include "sio/recorder/recorder.hpp"

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

TEST_F(RecordCli, RedactReplacesSecretsKeepsStickyAndIsOffByDefault) {
  const fs::path plain = dir_ / "plain.jsonl", red = dir_ / "red.jsonl";
  const std::string har = "'" + test::sample("har/a2/devtools.har") + "'";
  ASSERT_EQ(run("record " + har + " -q -o '" + plain.string() + "'").code, 0);
  const CliRun r = run("record " + har + " --redact --redact-field text --keep-cookie theme -o '" +
                       red.string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("--redact: secrets replaced"), std::string::npos) << r.err;
  const std::string p = slurp(plain), t = slurp(red);
  EXPECT_NE(p.find("secret-abc"), std::string::npos); // off by default: a recording feeds replay
  EXPECT_NE(p.find("42832d447d143d40"), std::string::npos);
  for (const char* secret : {"secret-abc", "wrong-token", "42832d447d143d40", "\"ack me\""})
    EXPECT_EQ(t.find(secret), std::string::npos) << secret;
  EXPECT_NE(t.find(R"("name":"route","value":"s)"), std::string::npos);     // sticky: kept
  EXPECT_NE(t.find(R"("name":"theme","value":"dark")"), std::string::npos); // --keep-cookie
  EXPECT_NE(t.find(R"("token":"[redacted:)"), std::string::npos);
  // The redacted recording is still a recording the converter takes.
  const CliRun c = run("convert '" + red.string() + "' -o '" + (dir_ / "s.yml").string() + "'");
  EXPECT_EQ(c.code, 0) << c.err;
  EXPECT_EQ(slurp(dir_ / "s.csv").find("secret-abc"), std::string::npos);
  // --redact-field and --keep-cookie mean nothing without --redact.
  EXPECT_EQ(
      run("record " + har + " --redact-field x -o '" + (dir_ / "x.jsonl").string() + "'").code, 2);
}

} // namespace
} // namespace sio

namespace sio {
namespace {

class RecordPcapCli : public test::CliTest {
protected:
  /// Writes a classic pcap (microsecond, little-endian) with `linktype` and the given records.
  void write_pcap(const fs::path& p, std::uint32_t linktype, const std::string& records) {
    std::string h;
    const auto u32 = [&](std::uint32_t v) { h.append(reinterpret_cast<const char*>(&v), 4); };
    const auto u16 = [&](std::uint16_t v) { h.append(reinterpret_cast<const char*>(&v), 2); };
    u32(0xa1b2c3d4);
    u16(2);
    u16(4);
    u32(0);
    u32(0);
    u32(262144);
    u32(linktype);
    std::ofstream(p, std::ios::binary) << h << records;
  }
};

TEST_F(RecordPcapCli, CaptureGivesTheSameKindOfRecording) {
  const fs::path out = dir_ / "rec.jsonl";
  const CliRun r =
      run("record '" + test::sample("pcap/b1/b1.pcap") + "' -o '" + out.string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("1 session, 57 Socket.IO messages"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(pcap, EN10MB)"), std::string::npos) << r.err;
  const std::string text = slurp(out);
  EXPECT_NE(text.find(R"("client":"127.0.0.1:)"), std::string::npos);
  // The converter takes the capture directly.
  const CliRun c = run("convert '" + test::sample("pcap/b1/b1.pcap") + "' -o '" +
                       (dir_ / "s.yml").string() + "'");
  EXPECT_EQ(c.code, 0) << c.err;
  EXPECT_TRUE(fs::exists(dir_ / "s.yml"));
}

TEST_F(RecordPcapCli, DamagedCaptureKeepsWhatIsIntactWithAWarning) {
  const fs::path out = dir_ / "rec.jsonl";
  const CliRun r =
      run("record '" + test::sample("pcap/b10/b1-truncated.pcap") + "' -o '" + out.string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: damaged capture"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("packet 120"), std::string::npos) << r.err;
  EXPECT_NE(slurp(out).find("capture_damaged"), std::string::npos);
}

TEST_F(RecordPcapCli, BadCapturesNameTheFileAndPlace) {
  // A pcap header and nothing else: no traffic (exit 1, no output).
  write_pcap(dir_ / "empty.pcap", 1, "");
  CliRun r = run("record '" + (dir_ / "empty.pcap").string() + "' -o '" +
                 (dir_ / "o.jsonl").string() + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("empty.pcap"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no Socket.IO traffic"), std::string::npos) << r.err;
  // An unsupported link type.
  write_pcap(dir_ / "usb.pcap", 189, "");
  r = run("record '" + (dir_ / "usb.pcap").string() + "' -o '" + (dir_ / "o.jsonl").string() + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("usb.pcap"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not supported"), std::string::npos) << r.err;
  // A record header that claims a huge packet.
  std::string rec(16, '\0');
  const std::uint32_t huge = 0x7fffffff;
  std::memcpy(rec.data() + 8, &huge, 4);
  std::memcpy(rec.data() + 12, &huge, 4);
  write_pcap(dir_ / "huge.pcap", 1, rec + "xyz");
  r = run("record '" + (dir_ / "huge.pcap").string() + "' -o '" + (dir_ / "o.jsonl").string() +
          "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("huge.pcap"), std::string::npos) << r.err;
  // A malformed key log names its line.
  std::ofstream(dir_ / "keys.log") << "# comment\nCLIENT_RANDOM zz 00\n";
  r = run("record '" + test::sample("pcap/b9/b9.pcap") + "' --keylog '" +
          (dir_ / "keys.log").string() + "' -o '" + (dir_ / "o.jsonl").string() + "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("keys.log:2"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "o.jsonl"));
  // A capture with no keys: the summary lists the encrypted flows.
  r = run("record '" + test::sample("pcap/b9/b9.pcap") + "' -o '" + (dir_ / "o.jsonl").string() +
          "'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("encrypted"), std::string::npos) << r.err;
}

TEST_F(RecordPcapCli, StreamedRecordingEqualsTheInMemoryOne) {
  // `record` streams captures (sessions spilled as they end, then sorted); the recording must be
  // byte for byte what the in-memory path gives, for one client and for 20 behind a proxy.
  for (const char* name : {"pcap/b1/b1.pcap", "pcap/b8/b8.pcap", "pcap/b4/b4.pcap"}) {
    SCOPED_TRACE(name);
    const fs::path out = dir_ / "rec.jsonl";
    const CliRun r = run("record -q '" + test::sample(name) + "' -o '" + out.string() + "'");
    ASSERT_EQ(r.code, 0) << r.err;
    recorder::RecordOptions o;
    o.inputs = {test::sample(name)};
    std::vector<recorder::InputStats> stats;
    auto rec = recorder::record(o, stats);
    ASSERT_TRUE(rec) << rec.error().message();
    EXPECT_EQ(slurp(out), recording_text(*rec));
  }
}

TEST_F(RecordPcapCli, MaxSessionsStopsOnceThatManyEnded) {
  const fs::path out = dir_ / "rec.jsonl";
  // With a short idle limit sessions end while the capture is read; the first 5 are kept.
  const CliRun r = run("record '" + test::sample("pcap/b8/b8.pcap") +
                       "' --max-sessions 5 --session-idle 0.2 -o '" + out.string() + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string text = slurp(out);
  EXPECT_NE(text.find(R"("sessions":5,)"), std::string::npos) << text.substr(0, 300);
  EXPECT_NE(r.err.find("sioreplay record: 5 sessions"), std::string::npos) << r.err;
  const CliRun bad = run("record '" + test::sample("pcap/b8/b8.pcap") + "' --session-idle 0 -o '" +
                         out.string() + "'");
  EXPECT_EQ(bad.code, 2) << bad.err;
}

} // namespace
} // namespace sio
