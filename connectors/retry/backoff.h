// Backoff: exponential retry delays with jitter, for the sinks that retry a remote system
// (redis, webhook). The delay before retry n (n >= 1) is drawn uniformly from [d/2, d] with
// d = min(max, initial * 2^(n-1)) ("equal jitter": many clients that failed together do
// not retry together, and no retry comes sooner than half the exponential delay).
// Thread safety: one instance per thread.
#pragma once

#include <cstdint>
#include <random>

#include "engine/config_node.h"

namespace segflow {

struct BackoffConfig {
  int64_t initial_ms = 100;
  int64_t max_ms = 10'000;
  // Reads `initial_backoff` and `max_backoff` (durations) of `node`, defaulting to `defaults`.
  static BackoffConfig parse(const ConfigNode& node, const BackoffConfig& defaults);
};

class Backoff {
 public:
  Backoff(const BackoffConfig& config, uint64_t seed) : config_(config), random_(seed) {}
  // The delay before retry `retry` (1-based), in milliseconds.
  int64_t delay_ms(uint32_t retry);
  // The upper bound d of delay_ms(retry).
  int64_t ceiling_ms(uint32_t retry) const;

 private:
  BackoffConfig config_;
  std::mt19937_64 random_;
};

}  // namespace segflow
