// Helpers shared by the window operator's and its combiner's tests: a WindowConfig from YAML
// (errors name "test.yaml") and the aggregate list that exercises every mergeable function.
#pragma once

#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>

#include "operators/window/window_config.h"

namespace segflow::testing {

inline WindowConfig parse_window(const std::string& yaml) {
  return WindowConfig::parse(
      ConfigNode(YAML::Load(yaml), std::make_shared<const std::string>("test.yaml"), ""));
}

// Window `w` over `buy` events: count, sum, min, max, avg, first and last of property v.
inline constexpr const char* kAllAggregates = R"(
name: w
events: [buy]
aggregates:
  - {name: n, fn: count}
  - {name: total, fn: sum, property: v}
  - {name: lo, fn: min, property: v}
  - {name: hi, fn: max, property: v}
  - {name: mean, fn: avg, property: v}
  - {name: first, fn: first, property: v}
  - {name: last, fn: last, property: v}
)";

}  // namespace segflow::testing
