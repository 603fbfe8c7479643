#pragma once
/// The replay engine: N worker threads, each with its own io_context, metrics and virtual users;
/// an arrival scheduler that follows the script's phases times --scale, measuring from the
/// scheduled times (no coordinated omission).

#include "sio/replayer/metrics.hpp"
#include "sio/replayer/script.hpp"

#include <atomic>
#include <functional>
#include <string>

namespace sio::replayer {

/// How to run a script.
struct EngineOptions {
  double scale = 1.0;            ///< multiplies arrival rates, rampTo, arrivalCount, maxVusers
  unsigned workers = 0;          ///< worker threads; 0 = number of cores
  bool cookie_jar = true;        ///< --no-cookie-jar turns the per-user jar off (diagnostics)
  bool insecure = false;         ///< skip TLS certificate verification (--insecure)
  std::string ca_file;           ///< extra trusted CA certificates, PEM (--ca-file)
  double connect_timeout_s = 10; ///< TCP/TLS/handshake deadline
  std::uint64_t seed = 0;        ///< 0: random
  /// Called about every 10 s with the last period and the totals so far (on the caller's thread).
  std::function<void(const Period& last, const Period& total, double elapsed_s)> progress;
};

/// What a run produced.
struct RunResult {
  Metrics metrics;
  double elapsed_s = 0;
  std::uint64_t users_created = 0;
  bool interrupted = false;
};

/// Runs the whole script and returns the merged metrics. `stop` (optional) ends the run early:
/// arrivals stop and running users are closed.
Result<RunResult> run(const Script& script, const EngineOptions& options,
                      const std::atomic<bool>* stop = nullptr);

/// The arrival times (seconds from the start) of one phase at a scale, for tests.
std::vector<double> arrival_times(const Phase& phase, double scale);

} // namespace sio::replayer
