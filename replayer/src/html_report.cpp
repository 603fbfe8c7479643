#include "sio/replayer/html_report.hpp"

#include "sio/common/html_page.hpp"
#include "sio/common/session_json.hpp"
#include "sio/embedded/report_html.hpp"

namespace sio::replayer {

namespace {

Json phase_json(const Phase& p) {
  Json j = Json::object();
  if (!p.name.empty()) j["name"] = p.name;
  j[p.pause ? "pause" : "duration"] = p.duration_s;
  if (!p.pause) {
    if (p.arrival_count) {
      j["arrivalCount"] = *p.arrival_count;
    } else {
      j["arrivalRate"] = p.arrival_rate;
      if (p.ramp_to) j["rampTo"] = *p.ramp_to;
    }
  }
  if (p.max_vusers) j["maxVusers"] = *p.max_vusers;
  return j;
}

/// "checkout, browse (+3 more)" from the run's scenario names, for the page title.
std::string scenario_names(const Json& run) {
  const auto sc = run.find("scenarios");
  if (sc == run.end() || !sc->is_array()) return {};
  std::string names;
  std::size_t shown = 0;
  for (const auto& s : *sc) {
    if (!s.is_object() || !s.contains("name") || !s["name"].is_string()) continue;
    if (shown == 3) {
      names += " (+" + std::to_string(sc->size() - 3) + " more)";
      break;
    }
    names += (shown++ == 0 ? "" : ", ") + s["name"].get<std::string>();
  }
  return names;
}

} // namespace

Json run_json(const Script& script, const std::vector<std::string>& command, double elapsed_s) {
  Json run = Json::object();
  run["tool"] = "sioreplay " SIO_VERSION;
  run["command"] = command;
  run["script"] = script.file;
  run["target"] = script.target;
  Json scenarios = Json::array();
  for (const auto& s : script.scenarios)
    scenarios.push_back({{"name", s.name}, {"weight", s.weight}, {"steps", s.flow.size()}});
  run["scenarios"] = std::move(scenarios);
  Json phases = Json::array();
  for (const auto& p : script.phases) phases.push_back(phase_json(p));
  run["phases"] = std::move(phases);
  run["elapsedSeconds"] = elapsed_s;
  return run;
}

Result<std::string> html_report(const Json& report) {
  if (!report.is_object() || !report.contains("aggregate") || !report["aggregate"].is_object() ||
      !report.contains("intermediate") || !report["intermediate"].is_array())
    return fail(errc::bad_recording, "report: expected an object with \"aggregate\" and "
                                     "\"intermediate\" (a report written by replay -o)");
  std::string title = "sioreplay report";
  if (const auto run = report.find(run_key); run != report.end() && run->is_object()) {
    const std::string names = scenario_names(*run);
    if (!names.empty()) title += ": " + names;
  }
  // The lossless histograms are for merging; the page draws from the summaries.
  Json page = report;
  page.erase("x-sioreplay-histograms");
  return fill_html_template(embedded::report_html, dump_json(page), title);
}

} // namespace sio::replayer
