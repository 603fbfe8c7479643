#pragma once
/// Local shards (--processes N): one run split over N child processes of this one, each with
/// its own open-files limit, merged into one result with one live display. The children are
/// forked (no exec: they share the loaded script) and send their progress and result to the
/// parent over a pipe as JSON lines; histograms travel losslessly, so merged percentiles are
/// those of the pooled data.

#include "sio/common/socketio.hpp" // sio::Json
#include "sio/replayer/engine.hpp"

#include <atomic>

namespace sio::replayer {

/// A RunResult as JSON (the report with lossless histograms, error examples, elapsed time,
/// users created, interrupted, push tallies), and back.
Json run_result_json(const RunResult& r);
Result<RunResult> run_result_from_json(const Json& j);

/// Adds `other` to `into`: metrics merged, users and pushes summed, the longer elapsed time,
/// interrupted if either was.
void merge_result(RunResult& into, const RunResult& other);

/// Runs `script` as `processes` local shards of the run `opt` describes (itself possibly shard
/// I/N of a distributed run: process p runs shard I + N*p of N*processes), all timed from one
/// instant. `opt.workers` is per process (0: the cores divided among the processes).
/// `opt.progress` is called with the merged progress of all processes. A stop (`stop`) is
/// passed to the children as SIGTERM; they ignore SIGINT (the parent decides) and die with the
/// parent. Must be called before this process starts threads (it forks). processes == 1 is
/// run() itself.
Result<RunResult> run_processes(const Script& script, const EngineOptions& opt, unsigned processes,
                                const std::atomic<bool>* stop = nullptr);

} // namespace sio::replayer
