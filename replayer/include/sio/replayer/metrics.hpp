#pragma once
/// Per-worker metrics in Artillery's vocabulary: counters ("vusers.created", "socketio.emit",
/// "errors.<cause>") and summaries (histograms, ms in reports: "socketio.response_time"), kept
/// per 10-second period (aligned to epoch) and merged exactly at report time.

#include "sio/replayer/histogram.hpp"

#include <climits>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace sio::replayer {

/// One 10 s period (or the aggregate).
struct Period {
  std::int64_t period_ms = 0; ///< start, epoch ms, multiple of 10000
  /// By name; std::less<> so that a name is looked up without building a std::string.
  std::map<std::string, std::uint64_t, std::less<>> counters;
  std::map<std::string, Histogram, std::less<>> histograms; ///< values in microseconds
  std::int64_t first_ms = 0, last_ms = 0;                   ///< first/last metric time, epoch ms

  void merge(const Period& other);
};

/// What one worker measures. Not thread-safe: one per worker, merged after the run.
class Metrics {
public:
  /// Adds to a counter / records a value; no allocation once the name exists in the period.
  void count(std::string_view name, std::uint64_t n = 1, std::int64_t now_ms = -1);
  void record(std::string_view name, std::int64_t value_us, std::int64_t now_ms = -1);
  /// Adds another worker's metrics.
  void merge(const Metrics& other);
  /// Adds one period (e.g. rebuilt from a report) to the period that starts at the same
  /// floor(period_ms/10000)*10000.
  void merge(const Period& period);
  /// Keeps the first message seen for an error cause ("tls" -> "TLS handshake with x: ..."),
  /// so a summary can say what happened, not only how often.
  void example(const std::string& cause, const std::string& message);
  [[nodiscard]] const std::map<std::string, std::string>& examples() const noexcept {
    return examples_;
  }
  /// All periods (sorted) and their aggregate.
  [[nodiscard]] const std::map<std::int64_t, Period>& periods() const noexcept { return periods_; }
  [[nodiscard]] Period aggregate() const;

  /// The latest period and the aggregate, for a live display that asks every second: the
  /// periods before the latest no longer change (metrics go to the current period), so they
  /// are added up once and kept, and each call copies only the latest period and that sum.
  struct Totals {
    Period last, total;
  };
  Totals totals();

private:
  Period& at(std::int64_t now_ms);
  std::map<std::int64_t, Period> periods_;
  std::map<std::string, std::string> examples_;
  Period closed_;                        ///< totals(): the sum of the periods up to closed_upto_
  std::int64_t closed_upto_ = INT64_MIN; ///< the last period added to closed_
};

/// Current wall clock, epoch milliseconds.
std::int64_t now_epoch_ms();

} // namespace sio::replayer
