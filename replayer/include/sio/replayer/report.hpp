#pragma once
/// Reports: Artillery's JSON shape ({aggregate, intermediate[]}, counters, rates, summaries
/// with min/max/count/mean/p50/median/p75/p90/p95/p99/p999 in ms), the end-of-run table, and
/// the live line.

#include "sio/common/socketio.hpp" // sio::Json
#include "sio/replayer/metrics.hpp"

#include <string>
#include <vector>

namespace sio::replayer {

/// Artillery-shaped report JSON (summaries in milliseconds, 0.1 ms resolution).
Json report_json(const Metrics& m);

/// One Period as Artillery's JSON object.
Json period_json(const Period& p);

/// Rebuilds Metrics from a report written by report_json (for `report --merge`); histograms
/// are stored losslessly under "x-sioreplay-histograms".
Result<Metrics> metrics_from_report(const Json& report);

/// The end-of-run summary table (plain text, fixed-width columns).
std::string summary_table(const Metrics& m, double elapsed_s);

/// The live progress line for the last period ("created 120  completed 98  failed 0 ...").
/// `arrivals_s` > 0: when the phases' arrivals end (seconds from the start), for the time left.
std::string progress_line(const Period& last, const Period& total, double elapsed_s,
                          double arrivals_s = 0);

/// Per-second rates for the live display, measured by its caller between two refreshes.
struct LiveRates {
  double emits = 0, pushes = 0, http = 0;
};

/// The terminal's live display, redrawn in place about every second: a few lines (no line
/// breaks inside) for the run so far. `last` is the current reporting period (its latency
/// percentiles), `total` the totals, `arrivals_s` when the phases' arrivals end (0: unknown);
/// `ended`: the run is over (its last state, shown above the summary).
std::vector<std::string> live_display(const Period& last, const Period& total, double elapsed_s,
                                      double arrivals_s, const LiveRates& rates,
                                      bool ended = false);

/// A counter of `p`, 0 when it never counted.
std::uint64_t counter(const Period& p, std::string_view name);

/// The seconds a period's rates are computed over: its active span (first to last metric),
/// at least 1 s; a period whose metrics all share one instant counts as a whole 10 s period.
double rate_seconds(const Period& p);

} // namespace sio::replayer
