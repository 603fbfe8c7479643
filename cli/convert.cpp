/// `sioreplay convert`: a recording (or a HAR, recorded in memory) to Artillery v2 YAML + CSV.

#include "commands.hpp"

#include "sio/common/file_io.hpp"
#include "sio/common/session_json.hpp"
#include "sio/converter/converter.hpp"
#include "sio/recorder/recorder.hpp"

#include <cstdio>
#include <memory>

namespace sio::cli {
namespace {

struct ConvertArgs {
  std::string input;
  std::string output;
  std::string think = "keep";
  std::string duration;
  double arrival_rate = 0;
  converter::ConvertOptions options;
};

std::string base_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

int run_convert(ConvertArgs& a) {
  tune_allocator_for_batch();
  const auto err = [](const std::string& m) {
    std::fprintf(stderr, "sioreplay convert: error: %s\n", m.c_str());
    return exit_failure;
  };
  auto policy = converter::parse_think_policy(a.think);
  if (!policy) {
    std::fprintf(stderr, "sioreplay convert: %s\n", policy.error().context.c_str());
    return exit_usage;
  }
  a.options.think = *policy;
  if (!a.duration.empty()) {
    auto ms = converter::parse_duration_ms(a.duration);
    if (!ms || *ms <= 0) {
      std::fprintf(stderr, "sioreplay convert: --duration: %s\n",
                   ms ? "must be > 0" : ms.error().context.c_str());
      return exit_usage;
    }
    a.options.duration_s = static_cast<double>(*ms) / 1000.0;
  }
  if (a.arrival_rate > 0) a.options.arrival_rate = a.arrival_rate;
  if (!(a.options.scale > 0)) {
    std::fprintf(stderr, "sioreplay convert: --scale must be > 0\n");
    return exit_usage;
  }
  // The payload CSV sits beside the YAML: scenario.yml -> scenario.csv.
  std::string csv_path = a.output;
  for (const char* ext : {".yml", ".yaml"}) {
    const std::string e = ext;
    if (csv_path.size() > e.size() &&
        csv_path.compare(csv_path.size() - e.size(), e.size(), e) == 0) {
      csv_path.resize(csv_path.size() - e.size());
      break;
    }
  }
  csv_path += ".csv";
  a.options.payload_file = base_name(csv_path);
  a.options.source_name = base_name(a.input);

  auto rec = load_recording_input(a.input);
  if (!rec) return err(rec.error().message());
  auto conv = converter::convert(*rec, a.options);
  if (!conv) return err(a.input + ": " + conv.error().message());

  // Both files or neither: write both to temporaries, then rename.
  auto yaml = AtomicOutput::create(a.output);
  if (!yaml) return err(yaml.error().message());
  std::optional<AtomicOutput> csv;
  if (!conv->csv.empty()) {
    auto c = AtomicOutput::create(csv_path);
    if (!c) return err(c.error().message());
    csv.emplace(std::move(*c));
    csv->write(conv->csv);
  }
  yaml->write(conv->yaml);
  if (csv)
    if (auto st = csv->commit(); !st) return err(st.error().message());
  if (auto st = yaml->commit(); !st) return err(st.error().message());

  std::fprintf(stderr,
               "sioreplay convert: %zu session(s) -> %zu scenario(s), %zu step(s) -> %s%s%s\n",
               rec->sessions.size(), conv->scenarios, conv->steps, a.output.c_str(),
               conv->csv.empty() ? "" : " + ", conv->csv.empty() ? "" : csv_path.c_str());
  for (const auto& s : conv->sticky)
    std::fprintf(stderr, "  sticky cookie: %s (parameterized)\n", s.c_str());
  for (const auto& w : conv->warnings) std::fprintf(stderr, "  warning: %s\n", w.c_str());
  return exit_ok;
}

} // namespace

Result<Recording> load_recording_input(const std::string& path) {
  auto file = InputFile::open(path);
  if (!file) return fail(std::move(file).error());
  const std::string_view data = file->data();
  const std::string_view first_line = data.substr(0, data.find('\n'));
  if (first_line.find("\"sioreplay-recording\"") != std::string_view::npos)
    return read_recording(data, path);
  recorder::RecordOptions ro;
  ro.inputs = {path};
  std::vector<recorder::InputStats> stats;
  return recorder::record(ro, stats);
}

bool is_recording_input(const std::string& path) {
  // A YAML scenario never starts with '{' (a HAR or a recording does) nor with a capture's magic.
  return recorder::sniff_file(path) != recorder::InputFormat::unknown;
}

void add_convert(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<ConvertArgs>();
  auto* sub = app.add_subcommand(
      "convert", "Turn a recording (or a HAR) into an Artillery v2 scenario (YAML + payload CSV)");
  sub->add_option("input", a->input, "Recording (.jsonl), HAR, or pcap/pcapng capture")->required();
  sub->add_option("-o,--output", a->output,
                  "Scenario YAML to write; secrets go to a CSV beside it (NAME.csv)")
      ->required();
  sub->add_option("--target", a->options.target, "Target URL (default: the recorded origin)");
  sub->add_option("--sticky-cookie", a->options.sticky_cookies,
                  "Treat this cookie as the load balancer's affinity cookie (repeatable); known "
                  "names (route, AWSALB, INGRESSCOOKIE, SERVERID, ...) are found by themselves");
  sub->add_flag("--no-sticky", a->options.no_sticky, "Do not parameterize sticky cookies");
  sub->add_option("--think", a->think,
                  "Think times from the recorded gaps: keep, none, max=DURATION, scale=FACTOR")
      ->capture_default_str();
  sub->add_flag("--match-acks", a->options.match_acks,
                "Check each ack against the recorded ack payload");
  sub->add_flag("--responses", a->options.responses,
                "Wait for the server push that followed an emit (a `response` step). Artillery "
                "waits the full config.timeout (10 s) when the push does not match exactly");
  sub->add_flag("--http", a->options.http, "Add the page's other HTTP requests as HTTP steps");
  sub->add_flag("--inline-secrets", a->options.inline_secrets,
                "Write auth tokens, cookies and credentials into the YAML instead of a CSV");
  sub->add_option("--scale", a->options.scale, "Multiply the recorded arrivals by this factor")
      ->capture_default_str();
  sub->add_option("--duration", a->duration,
                  "Phase duration (e.g. 60, 60s, 5m); default: the "
                  "recording's span, at least 1 s");
  sub->add_option("--arrival-rate", a->arrival_rate,
                  "Users per second instead of the recorded count (times --scale)");
  sub->footer("Writes YAML that runs unmodified in Artillery 2.x (engine: socketio). The header\n"
              "comment lists every substitution, what was left out and why. Exit 1 on bad input.");
  sub->callback([a, &exit_code] { exit_code = run_convert(*a); });
}

} // namespace sio::cli
