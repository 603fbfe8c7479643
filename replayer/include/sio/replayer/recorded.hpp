#pragma once
/// Recorded-timing replay (`sioreplay replay RECORDING --speed F --multiply N`): every recorded
/// session starts at its recorded offset (divided by the speed), N copies of each, and the
/// server events the copies received are compared with the ones the recording holds.
///
/// The sessions become one scenario each (the converter's per-session mode, whose think steps
/// are the recorded gaps divided by the speed); this module makes the schedule of users and the
/// comparison of pushes.

#include "sio/common/session.hpp"
#include "sio/replayer/engine.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sio::replayer {

/// Timing of a recorded-timing run.
struct RecordedTiming {
  double speed = 1.0;        ///< recorded time / replayed time
  unsigned multiply = 1;     ///< copies of each session
  double span_s = 0;         ///< recording: first session start to last session end
  double due_s = 0;          ///< span_s / speed: when the last user should end
  std::int64_t first_us = 0; ///< start of the first session (the run's time 0)
};

/// The users of a recorded-timing run: for session i (scenario i, payload row i), `multiply`
/// users at (started_us - first start) / speed, sorted by time (stable: copies and sessions that
/// start together keep the recording's order).
std::vector<Arrival> recorded_schedule(const Recording& rec, double speed, unsigned multiply);

/// When the recording's sessions start and end.
RecordedTiming recorded_timing(const Recording& rec, double speed, unsigned multiply);

/// The server events of one recorded session by push_key: what each copy should receive.
std::map<std::string, std::uint64_t> recorded_pushes(const Session& s);

/// One recorded session's copies against the recording.
struct SessionPushes {
  std::uint64_t id = 0;
  std::string sid;
  std::uint64_t copies = 0; ///< users that ran it
  std::uint64_t failed = 0;
  std::uint64_t expected = 0; ///< recorded events x copies
  std::uint64_t received = 0;
  std::map<std::string, std::uint64_t> missing; ///< by push_key: expected - received, if > 0
  std::map<std::string, std::uint64_t> extra;   ///< by push_key: received - expected, if > 0
  bool matches() const { return missing.empty() && extra.empty(); }
};

/// All sessions, in the recording's order, and the totals.
struct PushComparison {
  std::vector<SessionPushes> sessions;
  std::uint64_t expected = 0, received = 0, missing = 0, extra = 0;
  std::size_t matching = 0; ///< sessions whose copies received exactly the recorded events
};

/// Compares what each session's users received (`pushes` by scenario name "session-<id>", from
/// the engine) with the recording: a session whose users did not all run (an interrupted run)
/// expects the recorded events once per user that ran.
PushComparison compare_pushes(const Recording& rec, const std::map<std::string, PushTally>& pushes);

/// The comparison as the report's "x-sioreplay-recorded" member, with the timing.
Json recorded_json(const RecordedTiming& timing, double elapsed_s, const PushComparison& c);

/// Merges the "x-sioreplay-recorded" members of the reports of shards of one recorded-timing
/// run (`report --merge`): per session copies, failures, expected and received events summed,
/// missing and extra recomputed from the summed difference per event (one shard's missing
/// event and another's extra one cancel out), totals recomputed, the longest elapsed time.
/// Reports of different recordings or timings (speed, multiply, sessions) are an error.
Result<Json> merge_recorded_json(const std::vector<Json>& parts);

/// Human-readable lines for stderr: timing, totals, and up to `max_rows` sessions that differ.
std::string recorded_summary(const RecordedTiming& timing, double elapsed_s,
                             const PushComparison& c, std::size_t max_rows = 10);

} // namespace sio::replayer
