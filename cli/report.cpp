/// `sioreplay report`: reads replay reports, merges shards' reports exactly, prints the summary.

#include "commands.hpp"

#include "sio/common/file_io.hpp"
#include "sio/common/session_json.hpp"
#include "sio/common/socketio.hpp"
#include "sio/replayer/html_report.hpp"
#include "sio/replayer/recorded.hpp"
#include "sio/replayer/report.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>

namespace sio::cli {
namespace {

struct ReportArgs {
  std::vector<std::string> inputs;
  bool merge = false;
  std::string output;
  std::string html;
};

int report_error(const std::string& text) {
  std::fprintf(stderr, "sioreplay report: error: %s\n", text.c_str());
  return exit_failure;
}

/// JSON's byte offset of a parse error as "line L, column C".
std::string line_column(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

int run_report(const ReportArgs& a) {
  if (a.inputs.size() > 1 && !a.merge) {
    std::fprintf(stderr, "sioreplay report: %zu reports given: add --merge to merge them\n",
                 a.inputs.size());
    return exit_usage;
  }
  std::optional<AtomicOutput> out;
  if (!a.output.empty()) {
    auto o = AtomicOutput::create(a.output);
    if (!o) return report_error(o.error().message());
    out.emplace(std::move(*o));
  }
  std::optional<AtomicOutput> html;
  if (!a.html.empty()) {
    auto o = open_html_output(a.html);
    if (!o) return report_error(o.error().message());
    html.emplace(std::move(*o));
  }
  replayer::Metrics merged;
  bool interrupted = false, recorded = false;
  Json run;                            // the first report's x-sioreplay-run, merged below
  double longest_s = 0;                // the longest run's elapsedSeconds
  Json commands = Json::array();       // every report's command line
  std::vector<Json> recorded_sections; // each report's x-sioreplay-recorded
  for (const auto& path : a.inputs) {
    auto file = InputFile::open(path);
    if (!file) return report_error(file.error().message());
    // Refused before parsing: copying a value nested 100,000 deep would overflow the stack.
    if (const auto deep = find_json_too_deep(file->data()))
      return report_error(path + ": " + line_column(file->data(), *deep) +
                          ": JSON nested deeper than " + std::to_string(max_json_depth) +
                          " levels");
    Json j;
    try {
      j = Json::parse(file->data());
    } catch (const Json::exception& e) { // parse_error, and out_of_range for "1e999"
      return report_error(path + ": " +
                          line_column(file->data(), json_parse_error_offset(e, file->data())) +
                          ": not JSON (" + json_parse_error_text(e) + ")");
    }
    auto m = replayer::metrics_from_report(j);
    if (!m) return report_error(path + ": " + m.error().message());
    if (const auto ex = j.find("x-sioreplay-error-examples"); ex != j.end() && ex->is_object())
      for (const auto& [cause, message] : ex->items())
        if (message.is_string()) m->example(cause, message.get<std::string>());
    interrupted = interrupted || j.value("x-sioreplay-interrupted", false);
    recorded = recorded || j.contains("x-sioreplay-recorded");
    if (const auto r = j.find(replayer::run_key); r != j.end() && r->is_object()) {
      if (run.is_null()) {
        run = *r;
      } else if (r->value("script", Json()) != run.value("script", Json()) ||
                 r->value("scenarios", Json()) != run.value("scenarios", Json())) {
        std::fprintf(stderr,
                     "sioreplay report: warning: %s ran another script or scenarios than %s: "
                     "not shards of one run?\n",
                     path.c_str(), a.inputs.front().c_str());
      }
      if (const auto e = r->find("elapsedSeconds"); e != r->end() && e->is_number())
        longest_s = std::max(longest_s, e->get<double>());
      if (const auto c = r->find("command"); c != r->end()) commands.push_back(*c);
    }
    if (const auto r = j.find("x-sioreplay-recorded"); r != j.end())
      recorded_sections.push_back(*r);
    merged.merge(*m);
  }
  const replayer::Period agg = merged.aggregate();
  const double span_s = static_cast<double>(agg.last_ms - agg.first_ms) / 1000.0;
  std::fputs(replayer::summary_table(merged, span_s).c_str(), stderr);
  if (!merged.examples().empty()) {
    std::fprintf(stderr, "First error of each cause\n");
    for (const auto& [cause, message] : merged.examples())
      std::fprintf(stderr, "  errors.%s: %s\n", cause.c_str(), message.c_str());
  }
  if (interrupted) std::fprintf(stderr, "sioreplay report: a run was interrupted\n");
  Json recorded_section;
  if (recorded_sections.size() == 1 && a.inputs.size() == 1) {
    recorded_section = std::move(recorded_sections.front());
  } else if (recorded) {
    if (recorded_sections.size() != a.inputs.size())
      return report_error("some reports are of a recorded-timing replay and some are not: not "
                          "shards of one run");
    auto r = replayer::merge_recorded_json(recorded_sections);
    if (!r) return report_error(r.error().message());
    recorded_section = std::move(*r);
    const Json& p = recorded_section["pushes"];
    std::fprintf(stderr,
                 "Server events against the recording (merged): expected %llu, received %llu "
                 "(missing %llu, extra %llu); %llu of %llu session(s) match\n",
                 p["expected"].get<unsigned long long>(), p["received"].get<unsigned long long>(),
                 p["missing"].get<unsigned long long>(), p["extra"].get<unsigned long long>(),
                 p["matchingSessions"].get<unsigned long long>(),
                 recorded_section["sessions"].get<unsigned long long>());
  }
  Json report = replayer::report_json(merged);
  if (!merged.examples().empty()) {
    Json ex = Json::object();
    for (const auto& [cause, message] : merged.examples()) ex[cause] = message;
    report["x-sioreplay-error-examples"] = std::move(ex);
  }
  if (interrupted) report["x-sioreplay-interrupted"] = true;
  if (!run.is_null()) {
    if (a.inputs.size() > 1) {
      // The shards' lines differ only in --shard: the first stays `command`, all are kept.
      run["merged"] = a.inputs.size();
      run["elapsedSeconds"] = longest_s;
      run["commands"] = std::move(commands);
    }
    report[replayer::run_key] = std::move(run);
  }
  if (!recorded_section.is_null()) report["x-sioreplay-recorded"] = std::move(recorded_section);
  if (html) {
    auto page = replayer::html_report(report);
    if (!page) return report_error(page.error().message());
    html->write(*page);
    if (auto st = html->commit(); !st) return report_error(st.error().message());
    std::fprintf(stderr, "sioreplay report: HTML report written to %s\n", a.html.c_str());
  }
  if (out) {
    out->write(dump_json(report));
    out->write("\n");
    if (auto st = out->commit(); !st) return report_error(st.error().message());
    std::fprintf(stderr, "sioreplay report: %s written to %s\n",
                 a.inputs.size() > 1 ? "merged report" : "report", a.output.c_str());
  }
  return exit_ok;
}

} // namespace

void add_report(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<ReportArgs>();
  auto* sub = app.add_subcommand(
      "report", "Print a replay report's summary, or merge the reports of shards into one");
  sub->add_option("reports", a->inputs, "Reports written by `sioreplay replay -o`")->required();
  sub->add_flag("--merge", a->merge,
                "Merge the reports (shards of one run: --shard I/N): counters summed, "
                "histograms merged exactly, periods aligned");
  sub->add_option("-o,--output", a->output, "Write the (merged) report here");
  sub->add_option("--html", a->html,
                  "Write the (merged) report as an HTML page here: charts over time, summary, "
                  "errors, scenarios, phases, the command line; self-contained");
  sub->footer("Percentiles of a merged report are those of the pooled data (the reports keep\n"
              "their histograms losslessly under x-sioreplay-histograms), not averages.\n"
              "Exit codes: 0 done, 1 unreadable or invalid report (the error names the file and\n"
              "the place), 2 usage.");
  sub->callback([a, &exit_code] { exit_code = run_report(*a); });
}

} // namespace sio::cli
