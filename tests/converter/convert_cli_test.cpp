/// `sioreplay convert` end to end: golden files for the bundled HARs, bad recordings, and
/// outputs that appear whole or not at all.

#include "../support/cli.hpp"

#include <gtest/gtest.h>

namespace sio {
namespace {

using test::CliRun;
using test::slurp;
namespace fs = std::filesystem;

class ConvertCli : public test::CliTest {};

class Golden : public test::CliTest, public ::testing::WithParamInterface<const char*> {};

/// Each bundled HAR converts to exactly the committed YAML + CSV (samples/expected/). After an
/// intended change, regenerate them with SIO_UPDATE_GOLDEN=1 and review the diff.
TEST_P(Golden, HarConvertsToTheExpectedYamlAndCsv) {
  const std::string kase = GetParam();
  const CliRun r = run("convert '" + test::sample("har/" + kase + "/devtools.har") + "' -o " +
                       at(kase + ".yml"));
  ASSERT_EQ(r.code, 0) << r.err;
  const fs::path expected = test::sample("expected/" + kase);
  for (const char* ext : {".yml", ".csv"}) {
    const std::string got = slurp(dir_ / (kase + ext));
    if (std::getenv("SIO_UPDATE_GOLDEN") != nullptr) {
      fs::create_directories(expected.parent_path());
      std::ofstream(expected.string() + ext, std::ios::binary) << got;
      continue;
    }
    const std::string want = slurp(expected.string() + ext);
    if (got == want) continue;
    // Point at the first line that differs instead of printing whole files.
    std::istringstream g(got), w(want);
    std::string gl, wl;
    int line = 0;
    while (true) {
      ++line;
      const bool gm = static_cast<bool>(std::getline(g, gl));
      const bool wm = static_cast<bool>(std::getline(w, wl));
      if (!gm && !wm) break;
      if (gl != wl || gm != wm) {
        ADD_FAILURE() << kase << ext << " differs from samples/expected at line " << line
                      << "\n  expected: " << (wm ? wl : "(end)")
                      << "\n  got:      " << (gm ? gl : "(end)");
        break;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Samples, Golden, ::testing::Values("a1", "a2", "a3"));

TEST_F(ConvertCli, StickyRouteCookieOfA2IsParameterized) {
  const CliRun r = run("convert '" + test::sample("har/a2/devtools.har") + "' -o " + at("s.yml"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("sticky cookie: route"), std::string::npos) << r.err;
  const std::string yaml = slurp(dir_ / "s.yml");
  EXPECT_NE(yaml.find("Cookie: \"route={{ route }}"), std::string::npos);
  EXPECT_NE(yaml.find("route: [\"s1\"]"), std::string::npos);
  EXPECT_NE(yaml.find("path: \"s.csv\""), std::string::npos);
  EXPECT_EQ(yaml.find("secret-abc"), std::string::npos) << "the token belongs in the CSV";
  EXPECT_NE(slurp(dir_ / "s.csv").find("secret-abc"), std::string::npos);
}

TEST_F(ConvertCli, RecordingAndHarGiveTheSameScenario) {
  const std::string har = test::sample("har/a1/devtools.har");
  ASSERT_EQ(run("record -q '" + har + "' -o " + at("a1.jsonl")).code, 0);
  ASSERT_EQ(run("convert " + at("a1.jsonl") + " -o " + at("from-rec.yml")).code, 0);
  ASSERT_EQ(run("convert '" + har + "' -o " + at("from-har.yml")).code, 0);
  std::string a = slurp(dir_ / "from-rec.yml");
  std::string b = slurp(dir_ / "from-har.yml");
  // Only the header's source name and the CSV name differ.
  const auto strip = [](std::string s) {
    for (const char* n : {"a1.jsonl", "devtools.har", "from-rec.csv", "from-har.csv"}) {
      for (auto at = s.find(n); at != std::string::npos; at = s.find(n))
        s.replace(at, std::strlen(n), "X");
    }
    return s;
  };
  EXPECT_EQ(strip(a), strip(b));
  EXPECT_EQ(slurp(dir_ / "from-rec.csv"), slurp(dir_ / "from-har.csv"));
}

TEST_F(ConvertCli, BadRecordingsNameTheLine) {
  const std::string header = R"({"format":"sioreplay-recording","version":1,"source":["x"]})";
  const std::string good_session =
      R"({"kind":"session","id":1,"sid":"S","eio":4,"url":"http://h/socket.io/","started_us":0,"messages":[]})";
  struct Case {
    std::string name;
    std::string text;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"v2.jsonl",
       R"({"format":"sioreplay-recording","version":2})"
       "\n",
       "line 1: recording version 2 is not supported"},
      {"missing.jsonl",
       header + "\n" +
           R"({"kind":"session","id":1,"sid":"S","eio":4,"started_us":0,"messages":[]})"
           "\n",
       "line 2: session: missing field \"url\""},
      {"badjson.jsonl", header + "\n" + good_session + "\n{not json\n",
       "line 3: column 3: not valid JSON"},
      {"empty.jsonl", "", "empty"},
      {"nosessions.jsonl", header + "\n", "no session"},
      {"wrongtype.jsonl",
       header + "\n" +
           R"({"kind":"session","id":1,"sid":7,"eio":4,"url":"u","started_us":0,"messages":[]})"
           "\n",
       "line 2: session: field \"sid\" has the wrong type"},
  };
  for (const auto& c : cases) {
    std::ofstream(dir_ / c.name) << c.text;
    const CliRun r = run("convert " + at(c.name) + " -o " + at("out.yml"));
    EXPECT_EQ(r.code, 1) << c.name << ": " << r.err;
    EXPECT_NE(r.err.find(c.name), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.name << ": " << r.err;
    EXPECT_FALSE(fs::exists(dir_ / "out.yml"));
    EXPECT_FALSE(fs::exists(dir_ / "out.csv"));
  }
  std::vector<std::string> inputs;
  for (const auto& c : cases) inputs.push_back(c.name);
  EXPECT_EQ(leftovers(inputs), std::vector<std::string>{});
}

TEST_F(ConvertCli, UsageErrors) {
  const std::string har = "'" + test::sample("har/a1/devtools.har") + "'";
  EXPECT_EQ(run("convert " + har).code, 2) << "-o is required";
  EXPECT_EQ(run("convert " + har + " -o " + at("x.yml") + " --think sometimes").code, 2);
  EXPECT_EQ(run("convert " + har + " -o " + at("x.yml") + " --duration soon").code, 2);
  EXPECT_EQ(run("convert " + har + " -o " + at("x.yml") + " --scale 0").code, 2);
  EXPECT_FALSE(fs::exists(dir_ / "x.yml"));
  const CliRun help = run("convert --help");
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("config.timeout"), std::string::npos) << "--responses explains the wait";
}

} // namespace
} // namespace sio
