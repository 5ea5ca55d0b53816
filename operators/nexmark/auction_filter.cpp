#include "operators/nexmark/auction_filter.h"

#include "engine/registry.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("nexmark_auction_filter", AuctionFilter);

AuctionFilter::Config AuctionFilter::Config::parse(const ConfigNode& node) {
  Config c;
  c.modulus = node.integer("modulus", 123, 1);
  c.bid = intern("Bid");
  c.auction = intern("bid.auction");
  return c;
}

void AuctionFilter::process(const Batch& in, Output& out) {
  for (const Record& r : in.records()) {
    if (r.event != config_.bid) continue;
    const Value* auction = in.find(r, config_.auction);
    if (auction != nullptr && auction->type() == ValueType::kInt &&
        auction->as_int() % config_.modulus == 0)
      out.forward(in, r);
  }
}

}  // namespace segflow
