#include "operators/nexmark/currency_conversion.h"

#include "engine/registry.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("nexmark_currency", CurrencyConversion);

CurrencyConversion::Config CurrencyConversion::Config::parse(const ConfigNode& node) {
  Config c;
  c.rate = node.number("rate", 0.908);
  if (!(c.rate > 0)) node.fail_at("rate", "must be a positive number");
  c.bid = intern("Bid");
  c.price = intern("bid.price");
  return c;
}

void CurrencyConversion::process(const Batch& in, Output& out) {
  for (const Record& r : in.records()) {
    if (r.event != config_.bid) continue;
    RecordBuilder b = out.add(r.kind, r.key, r.event_time, r.event);
    for (const Property& p : in.properties(r)) {
      if (p.name == config_.price && p.value.is_number()) {
        const double price = p.value.type() == ValueType::kInt
                                 ? static_cast<double>(p.value.as_int())
                                 : p.value.as_double();
        b.set(p.name, Value::real(price * config_.rate));
      } else {
        b.set(p.name, p.value);
      }
    }
  }
}

}  // namespace segflow
