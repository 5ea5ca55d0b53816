// Record JSON output: exact text, and a round trip through the Segment decoder for every
// value type (segflow's own output must be valid segflow input).
#include "connectors/json/record_json.h"

#include <gtest/gtest.h>

#include <cmath>

#include "connectors/json/segment_decoder.h"

namespace segflow {
namespace {

TEST(RecordJsonTest, WritesEveryValueType) {
  Batch b;
  b.add(EventKind::kTrack, "u\"1", 1'704'067'200'000, intern("Order Completed"))
      .set("properties.revenue", Value::real(99.5))
      .set("properties.whole", Value::real(3.0))
      .set("properties.huge", Value::real(1e20))
      .set("properties.count", Value::integer(-7))
      .set("properties.gift", Value::boolean(false))
      .set("properties.coupon", Value::null())
      .set("properties.nan", Value::real(std::nan("")))
      .set("properties.note", Value::string("a\nb"));
  std::string out;
  append_record_json(out, b, b.records()[0]);
  EXPECT_EQ(out,
            "{\"type\":\"track\",\"event\":\"Order Completed\",\"profile\":\"u\\\"1\","
            "\"timestamp\":\"2024-01-01T00:00:00.000Z\",\"properties.revenue\":99.5,"
            "\"properties.whole\":3.0,\"properties.huge\":1e+20,\"properties.count\":-7,"
            "\"properties.gift\":false,\"properties.coupon\":null,\"properties.nan\":null,"
            "\"properties.note\":\"a\\nb\"}");
}

TEST(RecordJsonTest, LargeWholeDoublesReadBackAsDoubles) {
  for (double d : {3.0, 1e15, 18446744073709551616.0, -9.3e18}) {
    Batch b;
    b.add(EventKind::kTrack, "u", 0, intern("e")).set("properties.x", Value::real(d));
    std::string json;
    append_record_json(json, b, b.records()[0]);
    // The writer's "profile" is the key; present it as userId for the decoder.
    json.replace(json.find("\"profile\""), 9, "\"userId\"");
    json.replace(json.find("\"properties.x\":"), 15, "\"properties\":{\"x\":");
    json.insert(json.size() - 1, "}");
    Batch decoded;
    SegmentDecoder decoder;
    ASSERT_TRUE(decoder.decode(json, decoded).is_ok()) << json;
    const Value* x = decoded.find(decoded.records()[0], intern("properties.x"));
    ASSERT_NE(x, nullptr);
    EXPECT_EQ(x->type(), ValueType::kDouble) << json;
    EXPECT_EQ(x->as_double(), d);
  }
}

}  // namespace
}  // namespace segflow
