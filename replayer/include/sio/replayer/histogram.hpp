#pragma once
/// A log-linear histogram (HdrHistogram-style) of microsecond values: fixed memory, constant-
/// time record(), exact merge(), relative error <= 1/(2*sub_buckets) (< 1% with 64 sub-buckets).

#include <array>
#include <cstdint>
#include <vector>

namespace sio::replayer {

class Histogram {
public:
  /// Records one value (microseconds; negatives count as 0).
  void record(std::int64_t value_us) noexcept;
  /// Adds all of `other`'s values.
  void merge(const Histogram& other) noexcept;
  /// The value at quantile q in [0,1] (nearest rank; the middle of its bucket, clamped to
  /// [min, max], so the error is at most half a bucket: <= 1/128 of the value).
  [[nodiscard]] std::int64_t percentile(double q) const noexcept;
  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] std::int64_t min() const noexcept { return count_ ? min_ : 0; }
  [[nodiscard]] std::int64_t max() const noexcept { return count_ ? max_ : 0; }
  [[nodiscard]] double mean() const noexcept;
  /// Non-empty buckets as (bucket index, count), for serialising; from_buckets() rebuilds.
  [[nodiscard]] std::vector<std::pair<std::uint32_t, std::uint64_t>> buckets() const;
  static Histogram from_buckets(const std::vector<std::pair<std::uint32_t, std::uint64_t>>& b,
                                std::int64_t min, std::int64_t max, double sum);
  [[nodiscard]] double sum() const noexcept { return sum_; }

  static constexpr int sub_bucket_bits = 6; ///< 64 sub-buckets per power of two
  static constexpr int magnitudes = 40;     ///< values up to 2^46 us (~2 years)
  static constexpr std::size_t bucket_count = (magnitudes + 1) << sub_bucket_bits;
  /// The bucket of a value, and the highest value that bucket holds.
  static std::uint32_t index_of(std::int64_t v) noexcept;
  static std::int64_t upper_bound(std::uint32_t index) noexcept;

private:
  std::vector<std::uint64_t> counts_ = std::vector<std::uint64_t>(bucket_count, 0);
  std::uint64_t count_ = 0;
  std::int64_t min_ = 0;
  std::int64_t max_ = 0;
  double sum_ = 0;
};

} // namespace sio::replayer
