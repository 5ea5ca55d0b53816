// CurrencyConversion (`type: nexmark_currency`): Nexmark q1. Every Bid record is emitted
// again with `bid.price` multiplied by `rate` (a double: dollars to euros); other records
// are dropped (q1 reads the bid stream only). Stateless; YAML cannot express a map over a
// property, hence this operator. Thread safety: one instance per subtask.
//
// Keys: rate (number, default 0.908, the factor of the Nexmark query).
#pragma once

#include "engine/config_node.h"
#include "engine/operator.h"

namespace segflow {

class CurrencyConversion final : public Operator {
 public:
  struct Config {
    double rate = 0.908;
    SymbolId bid = kNoSymbol;
    SymbolId price = kNoSymbol;
    static Config parse(const ConfigNode& node);
  };

  explicit CurrencyConversion(const Config& config) : config_(config) {}
  void process(const Batch& in, Output& out) override;

 private:
  const Config& config_;
};

}  // namespace segflow
