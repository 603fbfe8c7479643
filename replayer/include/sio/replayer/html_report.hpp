#pragma once
/// The HTML report (`replay --html`, `report --html`): one self-contained page (inline CSS, JS
/// and SVG charts, no network) built from a report JSON. The template is
/// replayer/html/report.html, embedded at build time.

#include "sio/common/result.hpp"
#include "sio/common/socketio.hpp" // sio::Json
#include "sio/replayer/script.hpp"

#include <string>
#include <vector>

namespace sio::replayer {

/// The report's key for what was run (written by `replay -o`, read by the HTML page).
inline constexpr const char* run_key = "x-sioreplay-run";

/// What was run, for the report: the command line, the script, its target, scenarios
/// (name, weight, steps) and phases (Artillery's keys), how long it took.
/// {"tool", "command": [argv...], "script", "target", "scenarios": [...], "phases": [...],
///  "elapsedSeconds"}
Json run_json(const Script& script, const std::vector<std::string>& command, double elapsed_s);

/// The HTML page for a report (the JSON that replay -o / report -o write). Errors: the
/// report is not an object with "aggregate" and "intermediate", or a broken template.
Result<std::string> html_report(const Json& report);

} // namespace sio::replayer
