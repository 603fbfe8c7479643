/// make_har: writes a large HAR for benchmarks by tiling the entries of real sample HARs.
/// Each copy of a sample gets its own Engine.IO sids (same length, so every recorded length
/// stays right), so the result holds many distinct, overlapping sessions.
///
///   make_har OUT.har TARGET_MB [--engineio-only] SAMPLE.har...
///
/// --engineio-only keeps only the Engine.IO entries and drops Chrome's _initiator stacks: a
/// HAR that is nearly all Socket.IO messages, the hardest case per byte.

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

namespace {

std::string sid_for(std::size_t copy, std::size_t len) {
  static constexpr char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string s(len, '0');
  for (std::size_t i = 0; i < len && copy > 0; ++i, copy /= 62) s[len - 1 - i] = digits[copy % 62];
  s[0] = '~'; // never equal to a real sid of the samples
  return s;
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

struct Sample {
  std::set<std::string> sids;
  std::vector<std::string> entries; ///< serialised
};

} // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: make_har OUT.har TARGET_MB [--engineio-only] SAMPLE.har...\n";
    return 2;
  }
  const std::string out_path = argv[1];
  const double target = std::atof(argv[2]) * 1e6;
  bool engineio_only = false;
  std::vector<Sample> samples;
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--engineio-only") {
      engineio_only = true;
      continue;
    }
    std::ifstream in(arg);
    if (!in) {
      std::cerr << "make_har: cannot open " << arg << "\n";
      return 1;
    }
    const nlohmann::json har = nlohmann::json::parse(in, nullptr, false);
    if (har.is_discarded()) {
      std::cerr << "make_har: not JSON: " << arg << "\n";
      return 1;
    }
    Sample s;
    for (auto e : har["log"]["entries"]) {
      const std::string url = e["request"]["url"];
      const bool eio = url.find("EIO=") != std::string::npos;
      if (engineio_only && !eio) continue;
      if (engineio_only) e.erase("_initiator");
      const auto p = url.find("sid=");
      if (p != std::string::npos) s.sids.insert(url.substr(p + 4, url.find('&', p) - p - 4));
      s.entries.push_back(e.dump());
    }
    samples.push_back(std::move(s));
  }
  if (samples.empty()) {
    std::cerr << "make_har: no sample given\n";
    return 2;
  }
  std::ofstream out(out_path, std::ios::binary);
  out << R"({"log":{"version":"1.2","creator":{"name":"make_har","version":"1"},"entries":[)";
  std::size_t written = 0;
  std::size_t copies = 0;
  bool first = true;
  while (static_cast<double>(written) < target) {
    const Sample& s = samples[copies % samples.size()];
    ++copies;
    for (std::string text : s.entries) {
      for (const auto& sid : s.sids) replace_all(text, sid, sid_for(copies, sid.size()));
      if (!first) out << ",\n";
      first = false;
      out << text;
      written += text.size() + 2;
    }
  }
  out << "]}}\n";
  out.close();
  if (!out) {
    std::cerr << "make_har: write failed: " << out_path << "\n";
    return 1;
  }
  std::cerr << "make_har: " << copies << " sessions from " << samples.size() << " sample(s), "
            << written / 1000000 << " MB -> " << out_path << "\n";
  return 0;
}
