// EventFilter: keeps the records whose event name is in a list (or, with `exclude: true`,
// those whose name is not). Stateless. The worked example of "Writing an operator" in the
// README.
#pragma once

#include <vector>

#include "engine/config_node.h"
#include "engine/operator.h"

namespace segflow {

class EventFilter final : public Operator {
 public:
  struct Config {
    std::vector<SymbolId> events;
    bool exclude = false;
    static Config parse(const ConfigNode& node);
  };

  explicit EventFilter(const Config& config) : config_(config) {}
  void process(const Batch& in, Output& out) override;

 private:
  bool keep(SymbolId event) const;
  const Config& config_;
};

}  // namespace segflow
