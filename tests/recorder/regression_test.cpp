// The inputs that crashed a fuzz target (samples/regression/fuzz_har, fuzz_pcap; see
// docs/fuzzing.md), replayed through the recorder's façade in the normal test build: each gives
// a recording or an error that names the file, never a crash.
#include "sio/recorder/recorder.hpp"

#include "../support/paths.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace sio::recorder;

std::vector<std::string> regression_inputs(const std::string& target) {
  std::vector<std::string> out;
  const fs::path dir = sio::test::sample("regression/" + target);
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) out.push_back(e.path().string());
  return out;
}

/// Records one input file.
sio::Result<sio::Recording> record_path(const std::string& path, std::vector<InputStats>& stats) {
  RecordOptions o;
  o.inputs = {path};
  return record(o, stats);
}

TEST(RecorderRegressionTest, FuzzInputsGiveARecordingOrAnErrorNamingTheFile) {
  std::size_t replayed = 0;
  for (const char* target : {"fuzz_har", "fuzz_pcap"}) {
    for (const auto& path : regression_inputs(target)) {
      std::vector<InputStats> stats;
      auto rec = record_path(path, stats);
      if (rec)
        EXPECT_FALSE(rec->sessions.empty()) << path;
      else
        EXPECT_NE(rec.error().message().find(path), std::string::npos)
            << path << ": " << rec.error().message();
      ++replayed;
    }
  }
  EXPECT_GT(replayed, 0u);
}

// samples/regression/fuzz_har/deep-handshake.har: an Engine.IO open packet whose JSON nests
// 100,000 levels deep overflowed the stack when the handshake was copied into the session (the
// JSON parser itself does not recurse). Such JSON is now refused like any handshake that is not
// a JSON object.
TEST(RecorderRegressionTest, DeeplyNestedHandshakeIsNotAStackOverflow) {
  std::vector<InputStats> stats;
  auto rec = record_path(sio::test::sample("regression/fuzz_har/deep-handshake.har"), stats);
  ASSERT_TRUE(rec) << rec.error().message();
  ASSERT_FALSE(rec->sessions.empty());
  EXPECT_FALSE(rec->sessions[0].handshake.has_value());
}

// samples/regression/fuzz_pcap/timestamp-past-2262.pcapng (found by fuzz_pcap): a pcapng packet
// whose time, in nanoseconds, does not fit in 64 bits; computing it was a signed overflow
// (UBSan). The packet is kept with the previous packet's time and a diagnostic names it.
TEST(RecorderRegressionTest, TimestampPast2262IsADiagnosticNotAnOverflow) {
  std::vector<InputStats> stats;
  auto rec =
      record_path(sio::test::sample("regression/fuzz_pcap/timestamp-past-2262.pcapng"), stats);
  ASSERT_TRUE(rec) << rec.error().message();
  ASSERT_EQ(rec->sessions.size(), 1u);
  const auto bad = std::find_if(rec->diagnostics.begin(), rec->diagnostics.end(),
                                [](const sio::Diagnostic& d) { return d.kind == "bad_timestamp"; });
  ASSERT_NE(bad, rec->diagnostics.end());
  EXPECT_NE(bad->where.find("packet 11"), std::string::npos) << bad->where;
  EXPECT_EQ(stats.at(0).pcap.packets, 21u);
}

} // namespace
