#pragma once
/// `replay --metrics-port`: the run's live counters and latencies for Prometheus.
///
/// A small HTTP/1.1 server on its own thread answers `GET /metrics` with the Prometheus text
/// exposition format (version 0.0.4, which OpenMetrics scrapers read too). The numbers are the
/// ones of the live progress line: updated at the end of every reporting period (10 s), from
/// all workers (and, with --processes, all processes) merged.

#include "sio/common/result.hpp"
#include "sio/replayer/metrics.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace sio::replayer {

/// The exposition text for the totals so far and the last period. Counters become
/// `sioreplay_<name>_total` (dots and other characters made '_'), latency histograms
/// summaries `sioreplay_<name>_seconds` with quantiles 0.5/0.95/0.99 and _sum/_count over
/// the run, plus `sioreplay_vusers_active`, `sioreplay_elapsed_seconds` and the last period's
/// `sioreplay_emit_rate` (emits per second).
std::string prometheus_text(const Period& last, const Period& total, double elapsed_s);

class MetricsServer {
public:
  /// Listens on `address:port` (port 0: any free port; see port()). Errors name the address.
  /// Scrapers are answered from now on, or, with `defer_serving` (a process that forks
  /// after this must not have a second thread running), from the first update(): until then
  /// their connections wait in the listen queue.
  static Result<std::unique_ptr<MetricsServer>>
  start(const std::string& address, std::uint16_t port, bool defer_serving = false);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  /// The port it listens on.
  [[nodiscard]] std::uint16_t port() const noexcept;
  /// New numbers (thread-safe; called from the progress callback).
  void update(const Period& last, const Period& total, double elapsed_s);

  struct Impl;

private:
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace sio::replayer
