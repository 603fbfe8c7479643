#include "sio/replayer/metrics.hpp"

#include <algorithm>
#include <chrono>
#include <iterator>

namespace sio::replayer {

namespace {

constexpr std::int64_t period_length_ms = 10000;

bool has_metrics(const Period& p) noexcept {
  return !p.counters.empty() || !p.histograms.empty();
}

std::int64_t period_start(std::int64_t ms) noexcept {
  std::int64_t q = ms / period_length_ms;
  if (ms % period_length_ms < 0) --q; // floor for times before the epoch
  return q * period_length_ms;
}

/// The entry for `name`, made when missing (the key is built only then).
template <class Map> typename Map::mapped_type& slot(Map& m, std::string_view name) {
  auto it = m.find(name);
  if (it == m.end()) it = m.emplace(std::string(name), typename Map::mapped_type{}).first;
  return it->second;
}

} // namespace

std::int64_t now_epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Period::merge(const Period& other) {
  if (!has_metrics(other)) {
    period_ms = std::max(period_ms, other.period_ms);
    return;
  }
  if (!has_metrics(*this)) {
    first_ms = other.first_ms;
    last_ms = other.last_ms;
  } else {
    first_ms = std::min(first_ms, other.first_ms);
    last_ms = std::max(last_ms, other.last_ms);
  }
  period_ms = std::max(period_ms, other.period_ms);
  for (const auto& [name, n] : other.counters) counters[name] += n;
  for (const auto& [name, h] : other.histograms) histograms[name].merge(h);
}

Period& Metrics::at(std::int64_t now_ms) {
  const std::int64_t key = period_start(now_ms);
  Period& p = periods_[key];
  p.period_ms = key;
  if (!has_metrics(p)) {
    p.first_ms = p.last_ms = now_ms;
  } else {
    p.first_ms = std::min(p.first_ms, now_ms);
    p.last_ms = std::max(p.last_ms, now_ms);
  }
  return p;
}

void Metrics::count(std::string_view name, std::uint64_t n, std::int64_t now_ms) {
  if (now_ms < 0) now_ms = now_epoch_ms();
  slot(at(now_ms).counters, name) += n;
}

void Metrics::record(std::string_view name, std::int64_t value_us, std::int64_t now_ms) {
  if (now_ms < 0) now_ms = now_epoch_ms();
  slot(at(now_ms).histograms, name).record(value_us);
}

void Metrics::merge(const Metrics& other) {
  for (const auto& [key, p] : other.periods_) {
    Period& mine = periods_[key];
    mine.period_ms = key;
    mine.merge(p);
  }
  for (const auto& [cause, message] : other.examples_) examples_.emplace(cause, message);
}

void Metrics::example(const std::string& cause, const std::string& message) {
  if (examples_.size() < 100) examples_.emplace(cause, message.substr(0, 300));
}

void Metrics::merge(const Period& period) {
  if (period.counters.empty() && period.histograms.empty()) return;
  const std::int64_t key = period_start(period.period_ms);
  Period& mine = periods_[key];
  mine.period_ms = key;
  mine.merge(period);
  mine.period_ms = key;
}

Metrics::Totals Metrics::totals() {
  Totals t;
  if (periods_.empty()) return t;
  const auto latest = std::prev(periods_.end());
  for (auto it = periods_.upper_bound(closed_upto_); it != latest; ++it) {
    closed_.merge(it->second);
    closed_upto_ = it->first;
  }
  t.last = latest->second;
  t.total = closed_;
  t.total.merge(t.last);
  t.total.period_ms = latest->first;
  return t;
}

Period Metrics::aggregate() const {
  Period agg;
  for (const auto& [key, p] : periods_) agg.merge(p);
  if (!periods_.empty()) agg.period_ms = periods_.rbegin()->first;
  return agg;
}

} // namespace sio::replayer
