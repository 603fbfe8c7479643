/// `sioreplay replay` on bad scripts: one clear message with file and line, exit 1, no report.

#include "../support/cli.hpp"

#include <gtest/gtest.h>

namespace sio {
namespace {

using test::CliRun;
namespace fs = std::filesystem;

class ReplayCli : public test::CliTest {};

TEST_F(ReplayCli, BadScriptsNameTheFileAndLine) {
  struct Case {
    std::string name, text, expect;
  };
  const std::vector<Case> cases = {
      {"syntax.yml", "config:\n  target: [unclosed\n", "syntax.yml:"},
      {"negative.yml",
       "config:\n  target: http://127.0.0.1:9\n  phases:\n    - duration: -5\n      arrivalRate: "
       "1\n"
       "scenarios:\n  - engine: socketio\n    flow:\n      - emit: [\"x\"]\n",
       "negative.yml:4"},
      {"huge-loop.yml",
       "config:\n  target: http://127.0.0.1:9\n  phases:\n    - duration: 1\n      arrivalCount: "
       "1\n"
       "scenarios:\n  - engine: socketio\n    flow:\n      - loop:\n          - emit: [\"x\"]\n"
       "        count: 1000000000000\n",
       "huge-loop.yml:"},
  };
  for (const auto& c : cases) {
    std::ofstream(dir_ / c.name) << c.text;
    const CliRun r = run("replay " + at(c.name) + " -o " + at("report.json"));
    EXPECT_EQ(r.code, 1) << c.name << ": " << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.name << ": " << r.err;
    EXPECT_FALSE(fs::exists(dir_ / "report.json"));
  }
  const CliRun missing = run("replay " + at("missing.yml"));
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("missing.yml"), std::string::npos);
}

TEST_F(ReplayCli, UnreachableTargetCountsFailedUsers) {
  // Port 9 (discard) on loopback: nothing listens, every user fails with a counted cause.
  std::ofstream(dir_ / "s.yml")
      << "config:\n  target: http://127.0.0.1:9\n  phases:\n    - duration: 1\n      arrivalCount: "
         "3\n"
         "scenarios:\n  - engine: socketio\n    flow:\n      - emit: [\"x\"]\n";
  const CliRun r = run("replay " + at("s.yml") + " -q -o " + at("r.json"));
  EXPECT_EQ(r.code, 0) << r.err;
  const std::string report = test::slurp(dir_ / "r.json");
  EXPECT_NE(report.find("\"vusers.failed\":3"), std::string::npos) << report.substr(0, 400);
  EXPECT_NE(report.find("errors.connect_refused"), std::string::npos);
}

} // namespace
} // namespace sio
