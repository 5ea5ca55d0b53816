// LatencyHistogram: a fixed-bucket histogram of durations (Prometheus histogram), updated
// with relaxed atomics and read at scrape time. Buckets from 0.5 ms to 5 min, finest
// between 1 ms and 10 ms (where changes land when watermarks follow every poll) and
// between 10 ms and 1 s (where they land with a longer watermark interval). Thread safety:
// observe() and the readers from any thread; a reader may see a bucket and the sum from slightly
// different moments.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace segflow {

class LatencyHistogram {
 public:
  // Upper bounds of the buckets, in seconds (a last +Inf bucket is implied).
  static constexpr std::array<double, 29> kBounds = {
      0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02,
      0.03,   0.05,  0.075, 0.1,   0.15,  0.2,   0.3,    0.5,  0.75,  1,
      1.5,    2,     3,     5,     10,    30,    60,     120,  300};

  // Records `count` observations of `ns` nanoseconds (negative: 0).
  void observe(int64_t ns, uint64_t count = 1) noexcept {
    if (ns < 0) ns = 0;
    const double seconds = static_cast<double>(ns) / 1e9;
    size_t b = 0;
    while (b < kBounds.size() && seconds > kBounds[b]) ++b;
    buckets_[b].fetch_add(count, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<uint64_t>(ns) * count, std::memory_order_relaxed);
  }

  // Observations in bucket `b` alone (not cumulative); b == kBounds.size(): above the last.
  uint64_t bucket(size_t b) const noexcept { return buckets_[b].load(std::memory_order_relaxed); }
  // The sum of the buckets (so it always matches them).
  uint64_t count() const noexcept {
    uint64_t n = 0;
    for (const auto& b : buckets_) n += b.load(std::memory_order_relaxed);
    return n;
  }
  double sum_seconds() const noexcept {
    return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
  }

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
};

}  // namespace segflow
