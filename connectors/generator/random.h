// Deterministic randomness for the generator: a 64-bit mixing function and SplitMix64, a
// tiny generator whose whole state is one integer, so every simulated user carries its own
// stream and a user's behaviour does not depend on which other users share its subtask.
// Thread safety: plain values.
#pragma once

#include <cmath>
#include <cstdint>

namespace segflow::generator {

// A bijection on 64-bit integers that scatters nearby inputs (the SplitMix64 finaliser).
// Distinct inputs give distinct outputs, which the identifiers built from it rely on.
constexpr uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

class SplitMix64 {
 public:
  explicit constexpr SplitMix64(uint64_t state) : state_(state) {}

  uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix64(state_);
  }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n); REQUIRES: n > 0.
  uint32_t below(uint32_t n) {
    return static_cast<uint32_t>(((next() >> 32) * static_cast<uint64_t>(n)) >> 32);
  }
  // Uniform in [lo, hi].
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(uniform() * static_cast<double>(hi - lo + 1));
  }
  bool chance(double p) { return uniform() < p; }
  // Exponentially distributed with the given mean.
  double exponential(double mean) { return -mean * std::log1p(-uniform()); }
  // Log-uniform in [lo, hi): many small values, a long tail of large ones.
  double log_uniform(double lo, double hi) { return lo * std::pow(hi / lo, uniform()); }

  uint64_t state() const { return state_; }

 private:
  uint64_t state_;
};

// Index drawn with probability proportional to weights[i]; REQUIRES: a positive sum.
template <class Weights>
uint32_t pick_weighted(SplitMix64& rng, const Weights& weights) {
  uint32_t total = 0;
  for (uint32_t w : weights) total += w;
  uint32_t r = rng.below(total);
  uint32_t i = 0;
  for (uint32_t w : weights) {
    if (r < w) return i;
    r -= w;
    ++i;
  }
  return i - 1;
}

}  // namespace segflow::generator
