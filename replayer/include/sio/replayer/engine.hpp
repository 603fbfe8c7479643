#pragma once
/// The replay engine: N worker threads, each with its own io_context, metrics and virtual users;
/// an arrival scheduler that follows the script's phases times --scale, measuring from the
/// scheduled times (no coordinated omission).

#include "sio/replayer/metrics.hpp"
#include "sio/replayer/script.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sio::replayer {

/// One user of a scheduled run (recorded-timing replay): when it starts and what it runs.
struct Arrival {
  double at_s = 0;             ///< seconds from the start of the run
  std::size_t scenario = 0;    ///< index into Script::scenarios
  std::size_t payload_row = 0; ///< the row this user takes from every payload CSV
};

/// The server events (pushes) the users of one scenario received.
struct PushTally {
  std::uint64_t users = 0;  ///< users that ran the scenario
  std::uint64_t failed = 0; ///< of which failed
  /// Received events by name: "event" in the default namespace, "/nsp event" in others.
  std::map<std::string, std::uint64_t> events;
};

/// How to run a script.
struct EngineOptions {
  double scale = 1.0;     ///< multiplies arrival rates, rampTo, arrivalCount, maxVusers
  unsigned workers = 0;   ///< worker threads; 0 = number of cores
  bool cookie_jar = true; ///< --no-cookie-jar turns the per-user jar off (diagnostics)
  bool insecure = false;  ///< skip TLS certificate verification (--insecure)
  std::string ca_file;    ///< extra trusted CA certificates, PEM (--ca-file)
  /// --allow-host: hosts HTTP steps may go to besides the target, "HOST" (any port) or
  /// "HOST:PORT" ("[v6]:PORT"); the replayer connects to nothing else.
  std::vector<std::string> allow_hosts;
  double connect_timeout_s = 10; ///< TCP/TLS/handshake deadline
  std::uint64_t seed = 0;        ///< 0: random
  /// When not empty: exactly these users at these times (sorted by at_s), instead of the
  /// script's phases; `scale`, scenario weights and payload order do not apply.
  std::vector<Arrival> schedule;
  bool tally_pushes = false; ///< fill RunResult::pushes
  /// --source-addresses: local addresses the connections are bound to in turn (each has its
  /// own local ports towards the target); empty: the kernel chooses.
  std::vector<std::string> source_addresses;
  /// Shard `shard_index` of `shard_count` (--shard I/N, --processes): this run takes arrival k
  /// (counted over all phases, or schedule entry k) when k % shard_count == shard_index, the
  /// same share of maxVusers, and with a sequential payload the row of arrival k; so the N
  /// shards together make exactly the load of one unsharded run.
  unsigned shard_index = 0;
  unsigned shard_count = 1;
  /// When set: arrivals are timed from this instant (steady clock, shared by the processes of
  /// one machine) instead of from the call, so local shards start together.
  std::optional<std::chrono::steady_clock::time_point> start_at;
  /// Called about every `progress_interval_s` with the current period (partial) and the totals
  /// so far (on the caller's thread).
  std::function<void(const Period& last, const Period& total, double elapsed_s)> progress;
  /// 10 s: a plain line per reporting period; the terminal's live display asks for 1 s.
  double progress_interval_s = 10;
};

/// What a run produced.
struct RunResult {
  Metrics metrics;
  double elapsed_s = 0;
  std::uint64_t users_created = 0;
  bool interrupted = false;
  std::map<std::string, PushTally> pushes; ///< by scenario name, with tally_pushes
};

/// Parses --source-addresses: a comma-separated list of IPv4/IPv6 addresses and IPv4 ranges
/// ("127.0.0.1-127.0.0.8", at most 65,536 addresses in all).
Result<std::vector<std::string>> parse_source_addresses(std::string_view text);

/// Raises the soft limit on open files (RLIMIT_NOFILE) to the hard limit; returns the limit in
/// force afterwards. Each connected user holds one or two descriptors.
std::uint64_t raise_open_files_limit();

/// Usage error unless options.shard_index < options.shard_count.
Status check_shard(const EngineOptions& options);

/// Usage error unless every --allow-host entry is HOST, HOST:PORT, [IPv6] or [IPv6]:PORT.
Status check_allow_hosts(const std::vector<std::string>& hosts);

/// Parses "I/N" (--shard): 0 <= I < N <= 100000.
Result<std::pair<unsigned, unsigned>> parse_shard(std::string_view text);

/// The key of a received event in PushTally::events.
std::string push_key(std::string_view nsp, std::string_view event);

/// Runs the whole script and returns the merged metrics. `stop` (optional) ends the run early:
/// arrivals stop and running users are closed.
Result<RunResult> run(const Script& script, const EngineOptions& options,
                      const std::atomic<bool>* stop = nullptr);

/// The arrival times (seconds from the start) of one phase at a scale, for tests.
std::vector<double> arrival_times(const Phase& phase, double scale);

} // namespace sio::replayer
