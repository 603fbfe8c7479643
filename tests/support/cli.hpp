#pragma once
/// Runs the sioreplay binary as a user would, in a scratch folder per test.

#include "paths.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <vector>

namespace sio::test {

namespace fs = std::filesystem;

/// Exit code and output of one run.
struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A fixture with a fresh scratch folder (removed afterwards) and run("args").
class CliTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sio_cli_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// Runs `sioreplay ARGS` (a shell word list) with no standard input.
  CliRun run(const std::string& args) {
    const fs::path out = dir_ / ".stdout";
    const fs::path err = dir_ / ".stderr";
    const std::string cmd = "'" + cli_path() + "' " + args + " >'" + out.string() + "' 2>'" +
                            err.string() + "' </dev/null";
    const int status = std::system(cmd.c_str());
    CliRun r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    fs::remove(out);
    fs::remove(err);
    return r;
  }

  /// Names in the scratch folder other than `known` (temporaries left behind, for instance).
  std::vector<std::string> leftovers(const std::vector<std::string>& known) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) {
      const auto n = e.path().filename().string();
      if (std::find(known.begin(), known.end(), n) == known.end()) names.push_back(n);
    }
    return names;
  }

  /// Quoted path of a file in the scratch folder, for command lines.
  std::string at(const std::string& name) const { return "'" + (dir_ / name).string() + "'"; }

  fs::path dir_;
};

} // namespace sio::test
