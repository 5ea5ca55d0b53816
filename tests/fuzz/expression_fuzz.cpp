// libFuzzer target: the `where` expression parser and evaluator on arbitrary text. Never
// crash; any text either fails with an ExpressionError at an offset inside it, or parses and
// evaluates (as a condition and as a number) on a fixed record.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/batch.h"
#include "operators/expression/expression.h"

namespace {

const segflow::Batch& sample() {
  static const segflow::Batch* batch = [] {
    auto* b = new segflow::Batch();
    b->add(segflow::EventKind::kTrack, "u1", 1000, segflow::intern("Product Viewed"))
        .set("properties.price", segflow::Value::real(19.5))
        .set("properties.quantity", segflow::Value::integer(2))
        .set("properties.category", segflow::Value::string("electronics"))
        .set("context.device.type", segflow::Value::string("mobile"))
        .set("traits.vip", segflow::Value::boolean(true))
        .set("properties.gift", segflow::Value::null());
    return b;
  }();
  return *batch;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto kind : {segflow::Expression::Kind::kCondition, segflow::Expression::Kind::kNumber}) {
    try {
      const segflow::Expression e = segflow::Expression::parse(text, kind);
      const segflow::Batch& b = sample();
      const segflow::RecordProperties props(b, b.records()[0]);
      double n = 0;
      (void)e.test(props);
      (void)e.number(props, n);
    } catch (const segflow::ExpressionError& e) {
      if (e.offset() > size) std::abort();
    }
  }
  return 0;
}
