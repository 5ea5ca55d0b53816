// AuctionFilter (`type: nexmark_auction_filter`): Nexmark q2. Keeps the Bid records whose
// `bid.auction` is a multiple of `modulus`; drops everything else. Stateless; the window
// operators' `where` compares but has no modulo, hence this operator.
// Thread safety: one instance per subtask.
//
// Keys: modulus (integer >= 1, default 123, the Nexmark query's).
#pragma once

#include <cstdint>

#include "engine/config_node.h"
#include "engine/operator.h"

namespace segflow {

class AuctionFilter final : public Operator {
 public:
  struct Config {
    int64_t modulus = 123;
    SymbolId bid = kNoSymbol;
    SymbolId auction = kNoSymbol;
    static Config parse(const ConfigNode& node);
  };

  explicit AuctionFilter(const Config& config) : config_(config) {}
  void process(const Batch& in, Output& out) override;

 private:
  const Config& config_;
};

}  // namespace segflow
