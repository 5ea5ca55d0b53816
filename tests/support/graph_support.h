// One-line LogicalNodes for tests that build job graphs by hand.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/job_graph.h"

namespace segflow::testing {

inline LogicalNode source_node(std::string id, uint32_t parallelism, SourceFactory make) {
  LogicalNode node;
  node.id = std::move(id);
  node.parallelism = parallelism;
  node.make_source = std::move(make);
  return node;
}

inline LogicalNode operator_node(std::string id, uint32_t parallelism,
                                 std::vector<LogicalEdge> inputs, OperatorFactory make) {
  LogicalNode node;
  node.id = std::move(id);
  node.parallelism = parallelism;
  node.inputs = std::move(inputs);
  node.make_operator = std::move(make);
  return node;
}

}  // namespace segflow::testing
