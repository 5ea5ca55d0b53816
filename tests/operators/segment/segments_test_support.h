// Helpers shared by the segments operator's tests: a config from YAML (errors name
// "job.yaml" and the operator "op") and a short way to write an input event.
#pragma once

#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "operators/segment/segments_operator.h"
#include "tests/support/operator_harness.h"

namespace segflow::testing {

inline std::unique_ptr<SegmentsOperator::Config> parse(const std::string& yaml) {
  const ConfigNode node(YAML::Load(yaml), std::make_shared<const std::string>("job.yaml"), "op");
  return std::make_unique<SegmentsOperator::Config>(SegmentsOperator::Config::parse(node));
}

inline InputRecord ev(const std::string& key, int64_t time, const std::string& event,
                      std::vector<std::pair<std::string, TestValue>> props = {}) {
  return {key, time, event, std::move(props)};
}

}  // namespace segflow::testing
