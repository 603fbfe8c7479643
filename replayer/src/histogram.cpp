#include "sio/replayer/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace sio::replayer {

namespace {

constexpr int sub_buckets = 1 << Histogram::sub_bucket_bits; // 64
/// Values below this are stored exactly (one bucket per value): 2 * sub_buckets.
constexpr std::int64_t exact_limit = 2 * sub_buckets;
constexpr std::uint32_t last_index = static_cast<std::uint32_t>(Histogram::bucket_count - 1);

/// The lowest value of bucket `index` (index < bucket_count).
std::int64_t lower_bound_of(std::uint32_t index) noexcept {
  if (index < exact_limit) return static_cast<std::int64_t>(index);
  const std::uint32_t shift = index / sub_buckets - 1;
  const std::uint64_t sub = index % sub_buckets + sub_buckets;
  return static_cast<std::int64_t>(sub << shift);
}

/// The value a percentile reports for bucket `index`: the middle of the bucket, so the error
/// is at most half a bucket, i.e. <= 1/(2*sub_buckets) of the value.
std::int64_t middle_of(std::uint32_t index) noexcept {
  const std::int64_t lo = lower_bound_of(index);
  const std::int64_t hi = Histogram::upper_bound(index);
  return lo + (hi - lo + 1) / 2;
}

} // namespace

std::uint32_t Histogram::index_of(std::int64_t v) noexcept {
  if (v < exact_limit) return v <= 0 ? 0U : static_cast<std::uint32_t>(v);
  const auto u = static_cast<std::uint64_t>(v);
  const int magnitude = static_cast<int>(std::bit_width(u)) - 1; // floor(log2(v)) >= 7
  const int shift = magnitude - sub_bucket_bits;
  const std::uint64_t index =
      static_cast<std::uint64_t>(shift) * sub_buckets + (u >> static_cast<unsigned>(shift));
  return index > last_index ? last_index : static_cast<std::uint32_t>(index);
}

std::int64_t Histogram::upper_bound(std::uint32_t index) noexcept {
  if (index > last_index) index = last_index;
  if (index < exact_limit) return static_cast<std::int64_t>(index);
  const std::uint32_t shift = index / sub_buckets - 1;
  const std::uint64_t sub = index % sub_buckets + sub_buckets;
  return static_cast<std::int64_t>(((sub + 1) << shift) - 1);
}

void Histogram::record(std::int64_t value_us) noexcept {
  if (value_us < 0) value_us = 0;
  ++counts_[index_of(value_us)];
  if (count_ == 0) {
    min_ = max_ = value_us;
  } else {
    min_ = std::min(min_, value_us);
    max_ = std::max(max_, value_us);
  }
  ++count_;
  sum_ += static_cast<double>(value_us);
}

void Histogram::merge(const Histogram& other) noexcept {
  if (other.count_ == 0) return;
  for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  count_ += other.count_;
  sum_ += other.sum_;
}

std::int64_t Histogram::percentile(double q) const noexcept {
  if (count_ == 0) return 0;
  if (!(q > 0)) return min_; // also NaN
  if (q >= 1) return max_;
  // Nearest rank: the smallest value with at least ceil(q*count) values at or below it. The
  // epsilon keeps 0.999 * 100000 at rank 99900 despite binary rounding.
  const double r = std::ceil(q * static_cast<double>(count_) - 1e-9);
  std::uint64_t rank = r < 1 ? 1 : static_cast<std::uint64_t>(r);
  if (rank > count_) rank = count_;
  std::uint64_t seen = 0;
  for (std::uint32_t i = 0; i < bucket_count; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(middle_of(i), min_, max_);
  }
  return max_;
}

double Histogram::mean() const noexcept {
  return count_ ? sum_ / static_cast<double>(count_) : 0.0;
}

std::vector<std::pair<std::uint32_t, std::uint64_t>> Histogram::buckets() const {
  std::vector<std::pair<std::uint32_t, std::uint64_t>> out;
  for (std::uint32_t i = 0; i < bucket_count; ++i)
    if (counts_[i] != 0) out.emplace_back(i, counts_[i]);
  return out;
}

Histogram Histogram::from_buckets(const std::vector<std::pair<std::uint32_t, std::uint64_t>>& b,
                                  std::int64_t min, std::int64_t max, double sum) {
  Histogram h;
  for (const auto& [index, n] : b) {
    if (index >= bucket_count || n == 0) continue;
    h.counts_[index] += n;
    h.count_ += n;
  }
  if (h.count_ != 0) {
    h.min_ = std::min(min, max);
    h.max_ = std::max(min, max);
    h.sum_ = sum;
  }
  return h;
}

} // namespace sio::replayer
