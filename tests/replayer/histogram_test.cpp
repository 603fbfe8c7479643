#include "sio/replayer/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

namespace {

using sio::replayer::Histogram;

/// Nearest-rank percentile of sorted data, the definition Histogram::percentile follows.
std::int64_t exact_percentile(const std::vector<std::int64_t>& sorted, double q) {
  if (q <= 0) return sorted.front();
  if (q >= 1) return sorted.back();
  const auto n = static_cast<double>(sorted.size());
  auto rank = static_cast<std::size_t>(std::ceil(q * n - 1e-9));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

std::vector<std::int64_t> lognormal(std::size_t n, std::uint32_t seed, double mu, double sigma) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> dist(mu, sigma);
  std::vector<std::int64_t> v(n);
  for (auto& x : v) x = static_cast<std::int64_t>(dist(rng));
  return v;
}

constexpr double quantiles[] = {0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999};

TEST(Histogram, EmptyIsAllZero) {
  const Histogram h;
  EXPECT_EQ(h.count(), 0U);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_EQ(h.percentile(0.5), 0);
  EXPECT_TRUE(h.buckets().empty());
}

TEST(Histogram, SmallValuesAreExact) {
  for (std::int64_t v = 0; v < 128; ++v) {
    EXPECT_EQ(Histogram::index_of(v), static_cast<std::uint32_t>(v));
    EXPECT_EQ(Histogram::upper_bound(static_cast<std::uint32_t>(v)), v);
  }
  Histogram h;
  for (std::int64_t v = 0; v < 64; ++v) h.record(v);
  EXPECT_EQ(h.percentile(0.5), 31);
  EXPECT_EQ(h.percentile(0.25), 15);
  EXPECT_EQ(h.percentile(1.0), 63);
  EXPECT_EQ(h.percentile(0.0), 0);
}

TEST(Histogram, NegativesCountAsZero) {
  Histogram h;
  h.record(-5);
  EXPECT_EQ(h.count(), 1U);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(Histogram::index_of(-1), 0U);
}

TEST(Histogram, BucketsAreContiguousAndBounded) {
  // Every bucket's upper bound maps back to that bucket, and the next value to the next one.
  for (std::uint32_t i = 0; i + 1 < Histogram::bucket_count; ++i) {
    const std::int64_t ub = Histogram::upper_bound(i);
    ASSERT_EQ(Histogram::index_of(ub), i) << i;
    ASSERT_EQ(Histogram::index_of(ub + 1), i + 1) << i;
  }
  // Relative bucket width stays <= 1/64, so the middle is within 1/128 of any member.
  for (std::uint32_t i = 128; i < Histogram::bucket_count; ++i) {
    const std::int64_t lo = Histogram::upper_bound(i - 1) + 1;
    const std::int64_t hi = Histogram::upper_bound(i);
    ASSERT_LE(static_cast<double>(hi - lo + 1) / static_cast<double>(lo), 1.0 / 64) << i;
  }
  EXPECT_EQ(Histogram::upper_bound(Histogram::bucket_count - 1), (std::int64_t{1} << 46) - 1);
}

TEST(Histogram, ValuesAboveTheTopClampIntoTheLastBucket) {
  const auto last = static_cast<std::uint32_t>(Histogram::bucket_count - 1);
  EXPECT_EQ(Histogram::index_of(std::int64_t{1} << 46), last);
  EXPECT_EQ(Histogram::index_of(INT64_MAX), last);
  EXPECT_EQ(Histogram::upper_bound(last + 100), Histogram::upper_bound(last));
  Histogram h;
  h.record(INT64_MAX);
  h.record(5);
  EXPECT_EQ(h.count(), 2U);
  EXPECT_EQ(h.max(), INT64_MAX);
  EXPECT_EQ(h.percentile(1.0), INT64_MAX);
  ASSERT_EQ(h.buckets().size(), 2U);
  EXPECT_EQ(h.buckets().back().first, last);
}

TEST(Histogram, MinMaxMeanSum) {
  Histogram h;
  for (const std::int64_t v : {1000, 2000, 3000, 10}) h.record(v);
  EXPECT_EQ(h.count(), 4U);
  EXPECT_EQ(h.min(), 10);
  EXPECT_EQ(h.max(), 3000);
  EXPECT_DOUBLE_EQ(h.sum(), 6010.0);
  EXPECT_DOUBLE_EQ(h.mean(), 1502.5);
}

TEST(Histogram, SingleValuePercentilesAreExact) {
  Histogram h;
  h.record(123456);
  for (const double q : quantiles) EXPECT_EQ(h.percentile(q), 123456) << q;
}

TEST(Histogram, PercentileRelativeErrorUnderOnePercent) {
  // 1e5 lognormal samples around 30 ms (in us) with a heavy tail, and a wider one.
  struct Case {
    double mu, sigma;
    std::uint32_t seed;
  };
  double worst = 0;
  for (const Case c : {Case{std::log(30000.0), 0.8, 1}, Case{std::log(2000.0), 2.0, 2},
                       Case{std::log(500.0), 0.3, 3}}) {
    auto data = lognormal(100000, c.seed, c.mu, c.sigma);
    Histogram h;
    for (const auto v : data) h.record(v);
    std::sort(data.begin(), data.end());
    for (const double q : quantiles) {
      const auto exact = static_cast<double>(exact_percentile(data, q));
      const auto got = static_cast<double>(h.percentile(q));
      const double err = exact == 0 ? std::abs(got) : std::abs(got - exact) / exact;
      worst = std::max(worst, err);
      EXPECT_LE(err, 0.01) << "q=" << q << " exact=" << exact << " got=" << got;
    }
    EXPECT_EQ(h.percentile(0), data.front());
    EXPECT_EQ(h.percentile(1), data.back());
  }
  std::printf("[          ] worst relative percentile error: %.4f%%\n", worst * 100);
  EXPECT_LE(worst, 1.0 / 128 + 1e-12);
}

TEST(Histogram, EveryValueWithinHalfABucket) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> bits(0, 45);
  for (int i = 0; i < 100000; ++i) {
    const std::int64_t v =
        static_cast<std::int64_t>(rng() >> (64 - bits(rng) - 1)) & ((std::int64_t{1} << 46) - 1);
    Histogram h;
    h.record(0);
    h.record(v);
    h.record(INT64_C(1) << 46);
    const auto got = h.percentile(0.5); // the middle value's bucket, not clamped
    if (v == 0) {
      EXPECT_EQ(got, 0);
    } else {
      ASSERT_LE(std::abs(static_cast<double>(got - v)) / static_cast<double>(v), 1.0 / 128)
          << v << " -> " << got;
    }
  }
}

TEST(Histogram, MergeEqualsPooledExactly) {
  const auto a = lognormal(50000, 11, std::log(20000.0), 1.0);
  const auto b = lognormal(70000, 12, std::log(5000.0), 1.5);
  Histogram ha, hb, pooled;
  for (const auto v : a) {
    ha.record(v);
    pooled.record(v);
  }
  for (const auto v : b) {
    hb.record(v);
    pooled.record(v);
  }
  Histogram merged = ha;
  merged.merge(hb);
  EXPECT_EQ(merged.count(), pooled.count());
  EXPECT_EQ(merged.min(), pooled.min());
  EXPECT_EQ(merged.max(), pooled.max());
  EXPECT_EQ(merged.sum(), pooled.sum()); // integer sums below 2^53 are exact
  EXPECT_EQ(merged.buckets(), pooled.buckets());
  for (const double q : quantiles) EXPECT_EQ(merged.percentile(q), pooled.percentile(q)) << q;
  // Merging with empty changes nothing, either way round.
  Histogram empty;
  Histogram m2 = merged;
  m2.merge(empty);
  EXPECT_EQ(m2.buckets(), merged.buckets());
  empty.merge(merged);
  EXPECT_EQ(empty.min(), merged.min());
  EXPECT_EQ(empty.percentile(0.99), merged.percentile(0.99));
}

TEST(Histogram, BucketsRoundTrip) {
  const auto data = lognormal(10000, 21, std::log(1000.0), 1.2);
  Histogram h;
  for (const auto v : data) h.record(v);
  const Histogram r = Histogram::from_buckets(h.buckets(), h.min(), h.max(), h.sum());
  EXPECT_EQ(r.count(), h.count());
  EXPECT_EQ(r.min(), h.min());
  EXPECT_EQ(r.max(), h.max());
  EXPECT_EQ(r.sum(), h.sum());
  EXPECT_EQ(r.buckets(), h.buckets());
  for (const double q : quantiles) EXPECT_EQ(r.percentile(q), h.percentile(q));
  // Out-of-range indexes and empty counts are ignored.
  const Histogram bad = Histogram::from_buckets({{99999, 3}, {5, 0}}, 1, 2, 3);
  EXPECT_EQ(bad.count(), 0U);
}

TEST(Histogram, PercentileEdgeQuantiles) {
  Histogram h;
  for (int v = 1; v <= 1000; ++v) h.record(v * 1000);
  EXPECT_EQ(h.percentile(-1), 1000);
  EXPECT_EQ(h.percentile(std::nan("")), 1000);
  EXPECT_EQ(h.percentile(2), 1000000);
  EXPECT_NEAR(static_cast<double>(h.percentile(0.5)), 500000, 500000 / 128.0);
}

} // namespace
