#include "connectors/retry/backoff.h"

#include <algorithm>

namespace segflow {

BackoffConfig BackoffConfig::parse(const ConfigNode& node, const BackoffConfig& defaults) {
  BackoffConfig c;
  c.initial_ms = node.duration_ms("initial_backoff", defaults.initial_ms);
  c.max_ms = node.duration_ms("max_backoff", defaults.max_ms);
  if (c.initial_ms <= 0) node.fail_at("initial_backoff", "must be positive");
  if (c.max_ms < c.initial_ms) node.fail_at("max_backoff", "must not be less than initial_backoff");
  return c;
}

int64_t Backoff::ceiling_ms(uint32_t retry) const {
  int64_t d = config_.initial_ms;
  for (uint32_t i = 1; i < retry && d < config_.max_ms; ++i) d *= 2;
  return std::min(d, config_.max_ms);
}

int64_t Backoff::delay_ms(uint32_t retry) {
  const int64_t d = ceiling_ms(retry);
  return std::uniform_int_distribution<int64_t>(d / 2, d)(random_);
}

}  // namespace segflow
