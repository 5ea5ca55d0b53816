#include "connectors/json/segment_decoder.h"

#include <gtest/gtest.h>

#include <string>

#include "connectors/json/iso8601.h"

namespace segflow {
namespace {

// Decodes one event into a fresh batch; the batch is kept for inspection.
class SegmentDecoderTest : public ::testing::Test {
 protected:
  DecodeResult decode(const std::string& json) { return decoder_.decode(json, batch_); }

  const Record& only_record() {
    EXPECT_EQ(batch_.size(), 1u);
    return batch_.records()[0];
  }
  const Value* prop(const std::string& name) { return batch_.find(only_record(), intern(name)); }
  std::string reason(const std::string& json) {
    batch_.clear();
    const DecodeResult r = decode(json);
    EXPECT_EQ(batch_.size(), 0u) << "a failed decode must append nothing: " << json;
    return std::string(r.why());
  }

  SegmentDecoder decoder_;
  Batch batch_;
};

constexpr int64_t kMay1Noon = 1714564800000;  // 2024-05-01T12:00:00Z

TEST_F(SegmentDecoderTest, TrackEventMapsKeyTimeEventAndProperties) {
  ASSERT_TRUE(decode(R"({"type":"track","event":"Product Viewed","userId":"u1",
      "anonymousId":"a1","messageId":"m1","timestamp":"2024-05-01T12:00:00.250Z",
      "properties":{"price":12.5,"quantity":3,"sku":"X-1","on_sale":true,"coupon":null,
                    "tags":["a","b",{"c":1}],"product":{"brand":"acme","dims":{"w":2}}}})")
                  .is_ok());
  const Record& r = only_record();
  EXPECT_EQ(r.kind, EventKind::kTrack);
  EXPECT_EQ(symbol_name(r.event), "Product Viewed");
  EXPECT_EQ(r.key, "u1");
  EXPECT_EQ(r.event_time, kMay1Noon + 250);
  EXPECT_EQ(*prop("userId"), Value::string("u1"));
  EXPECT_EQ(*prop("anonymousId"), Value::string("a1"));
  EXPECT_EQ(*prop("messageId"), Value::string("m1"));
  EXPECT_EQ(*prop("properties.price"), Value::real(12.5));
  EXPECT_EQ(*prop("properties.quantity"), Value::integer(3));
  EXPECT_EQ(*prop("properties.sku"), Value::string("X-1"));
  EXPECT_EQ(*prop("properties.on_sale"), Value::boolean(true));
  EXPECT_EQ(*prop("properties.coupon"), Value::null());
  EXPECT_EQ(*prop("properties.tags"), Value::string(R"(["a","b",{"c":1}])"));
  EXPECT_EQ(*prop("properties.product.brand"), Value::string("acme"));
  EXPECT_EQ(*prop("properties.product.dims.w"), Value::integer(2));
  EXPECT_EQ(prop("event"), nullptr);
  EXPECT_EQ(prop("timestamp"), nullptr);
  EXPECT_EQ(batch_.properties(r).size(), 11u);
}

TEST_F(SegmentDecoderTest, IdentifyFlattensTraitsAndContext) {
  ASSERT_TRUE(
      decode(R"({"type":"identify","anonymousId":"anon-7","timestamp":"2024-05-01T12:00:00Z",
      "traits":{"email":"a@b.c","plan":"pro","logins":4},
      "context":{"device":{"type":"ios","id":"d-1"},"location":{"country":"FR"},
                 "traits":{"email":"ctx@b.c"},"ip":"1.2.3.4"}})")
          .is_ok());
  const Record& r = only_record();
  EXPECT_EQ(r.kind, EventKind::kIdentify);
  EXPECT_EQ(symbol_name(r.event), "identify");
  EXPECT_EQ(r.key, "anon-7");
  EXPECT_EQ(prop("userId"), nullptr);
  EXPECT_EQ(*prop("traits.email"), Value::string("a@b.c"));
  EXPECT_EQ(*prop("traits.logins"), Value::integer(4));
  EXPECT_EQ(*prop("context.device.type"), Value::string("ios"));
  EXPECT_EQ(*prop("context.device.id"), Value::string("d-1"));
  EXPECT_EQ(*prop("context.location.country"), Value::string("FR"));
  EXPECT_EQ(*prop("context.traits.email"), Value::string("ctx@b.c"));
  EXPECT_EQ(*prop("context.ip"), Value::string("1.2.3.4"));
}

TEST_F(SegmentDecoderTest, EveryCallTypeUsesItsNameAsEvent) {
  const std::pair<const char*, EventKind> kinds[] = {{"identify", EventKind::kIdentify},
                                                     {"page", EventKind::kPage},
                                                     {"screen", EventKind::kScreen},
                                                     {"alias", EventKind::kAlias},
                                                     {"group", EventKind::kGroup}};
  for (const auto& [name, kind] : kinds) {
    batch_.clear();
    ASSERT_TRUE(decode(std::string(R"({"type":")") + name +
                       R"(","event":"ignored","userId":"u","timestamp":0})")
                    .is_ok())
        << name;
    EXPECT_EQ(only_record().kind, kind);
    EXPECT_EQ(symbol_name(only_record().event), name);
  }
}

TEST_F(SegmentDecoderTest, PageAndScreenNameBecomesPropertiesName) {
  ASSERT_TRUE(decode(R"({"type":"page","userId":"u","name":"Pricing","timestamp":0,
      "properties":{"url":"https://x/p"}})")
                  .is_ok());
  EXPECT_EQ(*prop("properties.name"), Value::string("Pricing"));
  EXPECT_EQ(*prop("properties.url"), Value::string("https://x/p"));

  batch_.clear();  // an explicit properties.name wins
  ASSERT_TRUE(decode(R"({"type":"screen","userId":"u","name":"Outer","timestamp":0,
      "properties":{"name":"Inner"}})")
                  .is_ok());
  EXPECT_EQ(*prop("properties.name"), Value::string("Inner"));
  EXPECT_EQ(batch_.properties(only_record()).size(), 2u);  // userId, properties.name

  batch_.clear();  // track keeps no name
  ASSERT_TRUE(
      decode(R"({"type":"track","event":"E","userId":"u","name":"N","timestamp":0})").is_ok());
  EXPECT_EQ(prop("properties.name"), nullptr);
}

TEST_F(SegmentDecoderTest, AliasAndGroupIds) {
  ASSERT_TRUE(
      decode(R"({"type":"alias","previousId":"anon-1","userId":"user-1","timestamp":0})").is_ok());
  EXPECT_EQ(only_record().key, "user-1");
  EXPECT_EQ(*prop("previousId"), Value::string("anon-1"));

  batch_.clear();
  ASSERT_TRUE(decode(R"({"type":"group","groupId":"acme","userId":"u","timestamp":0,
      "traits":{"employees":40}})")
                  .is_ok());
  EXPECT_EQ(*prop("groupId"), Value::string("acme"));
  EXPECT_EQ(*prop("traits.employees"), Value::integer(40));
}

TEST_F(SegmentDecoderTest, KeyPrefersUserIdAndAcceptsNumbers) {
  ASSERT_TRUE(decode(R"({"type":"track","event":"E","userId":"","anonymousId":"a","timestamp":0})")
                  .is_ok());
  EXPECT_EQ(only_record().key, "a");
  EXPECT_EQ(prop("userId"), nullptr);

  batch_.clear();
  ASSERT_TRUE(
      decode(R"({"type":"track","event":"E","userId":null,"anonymousId":"a","timestamp":0})")
          .is_ok());
  EXPECT_EQ(only_record().key, "a");

  batch_.clear();
  ASSERT_TRUE(decode(R"({"type":"track","event":"E","userId":12345,"timestamp":0})").is_ok());
  EXPECT_EQ(only_record().key, "12345");
  EXPECT_EQ(*prop("userId"), Value::string("12345"));

  batch_.clear();
  ASSERT_TRUE(decode(R"({"type":"track","event":"E","userId":17850.0,"timestamp":0})").is_ok());
  EXPECT_EQ(only_record().key, "17850");

  batch_.clear();
  ASSERT_TRUE(decode(R"({"type":"track","event":"E","userId":18446744073709551615,"timestamp":0})")
                  .is_ok());
  EXPECT_EQ(only_record().key, "18446744073709551615");

  batch_.clear();
  ASSERT_TRUE(decode(R"({"type":"track","event":"E","anonymousId":2.5,"timestamp":0})").is_ok());
  EXPECT_EQ(only_record().key, "2.5");
}

TEST_F(SegmentDecoderTest, TimestampForms) {
  struct Case {
    const char* json_value;
    int64_t expected;
  } cases[] = {
      {R"("2024-05-01T12:00:00Z")", kMay1Noon},
      {R"("2024-05-01T12:00:00.1Z")", kMay1Noon + 100},
      {R"("2024-05-01T12:00:00.123456789Z")", kMay1Noon + 123},
      {R"("2024-05-01T14:30:00+02:30")", kMay1Noon},
      {R"("2024-05-01T07:00:00-0500")", kMay1Noon},
      {R"("2024-05-01 12:00:00")", kMay1Noon},
      {R"("2024-05-01T12:00Z")", kMay1Noon},
      {R"("2024-05-01T12:00:00 UTC")", kMay1Noon},
      {"1714564800000", kMay1Noon},
      {"1714564800000.7", kMay1Noon},
      {"-1000", -1000},
      {R"("1970-01-01T00:00:00Z")", 0},
      {R"("2024-02-29T00:00:00Z")", 1709164800000},
  };
  for (const Case& c : cases) {
    batch_.clear();
    ASSERT_TRUE(decode(std::string(R"({"type":"track","event":"E","userId":"u","timestamp":)") +
                       c.json_value + "}")
                    .is_ok())
        << c.json_value;
    EXPECT_EQ(only_record().event_time, c.expected) << c.json_value;
  }
}

TEST_F(SegmentDecoderTest, BadTimestamps) {
  const char* bad[] = {R"("")",
                       R"("yesterday")",
                       R"("2024-13-01T00:00:00Z")",
                       R"("2023-02-29T00:00:00Z")",
                       R"("2024-05-01T24:00:00Z")",
                       R"("2024-05-01T12:60:00Z")",
                       R"("2024-05-01T12:00:00.Z")",
                       R"("2024-05-01T12:00:00+25:00")",
                       R"("2024-05-01T12:00:00Zjunk")",
                       R"("2024-05-01")",
                       R"("1714564800000")",
                       "true",
                       "{}",
                       "[1]",
                       "18446744073709551615",
                       "1e300",
                       "9223372036854775807"};
  for (const char* value : bad) {
    EXPECT_EQ(reason(std::string(R"({"type":"track","event":"E","userId":"u","timestamp":)") +
                     value + "}"),
              "bad timestamp")
        << value;
  }
  EXPECT_EQ(reason(R"({"type":"track","event":"E","userId":"u"})"), "missing timestamp");
  EXPECT_EQ(reason(R"({"type":"track","event":"E","userId":"u","timestamp":null})"),
            "missing timestamp");
}

TEST(SegmentDecoderOptions, TimestampFieldIsConfigurable) {
  SegmentDecoder::Options options;
  options.timestamp_field = "sentAt";
  SegmentDecoder decoder(options);
  Batch batch;
  ASSERT_TRUE(decoder
                  .decode(R"({"type":"track","event":"E","userId":"u","timestamp":"bad",
                   "sentAt":"2024-05-01T12:00:00Z"})",
                          batch)
                  .is_ok());
  EXPECT_EQ(batch.records()[0].event_time, kMay1Noon);
  EXPECT_EQ(
      decoder.decode(R"({"type":"track","event":"E","userId":"u","timestamp":0})", batch).why(),
      "missing timestamp");
}

// The Kafka source with event_time: message sets the time itself.
TEST(SegmentDecoderOptions, TimestampCanBeLeftToTheCaller) {
  SegmentDecoder::Options options;
  options.require_timestamp = false;
  SegmentDecoder decoder(options);
  Batch batch;
  ASSERT_TRUE(decoder.decode(R"({"type":"track","event":"E","userId":"u"})", batch).is_ok());
  EXPECT_EQ(batch.records()[0].event_time, 0);
  EXPECT_EQ(decoder.decode(R"({"type":"track","event":"E","userId":"u","timestamp":"soon"})", batch)
                .why(),
            "bad timestamp");
}

TEST(SegmentDecoderOptions, ImpliedKindFillsAMissingType) {
  SegmentDecoder::Options options;
  options.implied_kind = EventKind::kTrack;
  SegmentDecoder decoder(options);
  Batch batch;
  ASSERT_TRUE(decoder.decode(R"({"event":"E","userId":"u","timestamp":0})", batch).is_ok());
  EXPECT_EQ(batch.records()[0].kind, EventKind::kTrack);
  ASSERT_TRUE(decoder.decode(R"({"type":"identify","userId":"u","timestamp":0})", batch).is_ok());
  EXPECT_EQ(batch.records()[1].kind, EventKind::kIdentify);
}

TEST(SegmentDecoderOptions, MaxEventBytes) {
  SegmentDecoder::Options options;
  options.max_event_bytes = 64;
  SegmentDecoder decoder(options);
  Batch batch;
  const std::string fits = R"({"type":"track","event":"E","userId":"u","timestamp":0})";
  ASSERT_LE(fits.size(), 64u);
  EXPECT_TRUE(decoder.decode(fits, batch).is_ok());
  const std::string big = R"({"type":"track","event":"E","userId":"u","timestamp":0,"p":")" +
                          std::string(10, 'x') + "\"}";
  EXPECT_EQ(decoder.decode(big, batch).why(), "event too large");
  EXPECT_EQ(batch.size(), 1u);
}

TEST_F(SegmentDecoderTest, EveryDeadLetterReason) {
  const std::pair<std::string, std::string> cases[] = {
      {"", "malformed json"},
      {"{", "malformed json"},
      {R"({"type":"track",})", "malformed json"},
      {R"({"type":"track"} {"x":1})", "malformed json"},
      {"{\"type\":\"track\",\"event\":\"\xff\",\"userId\":\"u\",\"timestamp\":0}", "invalid utf-8"},
      {std::string(100, '[') + std::string(100, ']'), "too deeply nested"},
      {"[1,2]", "not an object"},
      {R"("text")", "not an object"},
      {R"({"event":"E","userId":"u","timestamp":0})", "missing type"},
      {R"({"type":5,"event":"E","userId":"u","timestamp":0})", "wrong type: type"},
      {R"({"type":"Track","event":"E","userId":"u","timestamp":0})", "unknown type"},
      {R"({"type":"derived","event":"E","userId":"u","timestamp":0})", "unknown type"},
      {R"({"type":"track","userId":"u","timestamp":0})", "missing event"},
      {R"({"type":"track","event":"","userId":"u","timestamp":0})", "missing event"},
      {R"({"type":"track","event":null,"userId":"u","timestamp":0})", "missing event"},
      {R"({"type":"track","event":7,"userId":"u","timestamp":0})", "wrong type: event"},
      {R"({"type":"track","event":"E","timestamp":0})", "missing userId and anonymousId"},
      {R"({"type":"track","event":"E","userId":"","anonymousId":"","timestamp":0})",
       "missing userId and anonymousId"},
      {R"({"type":"alias","previousId":"p","timestamp":0})", "missing userId and anonymousId"},
      {R"({"type":"track","event":"E","userId":true,"timestamp":0})", "wrong type: userId"},
      {R"({"type":"track","event":"E","userId":"u","anonymousId":{},"timestamp":0})",
       "wrong type: anonymousId"},
      {R"({"type":"track","event":"E","userId":"u","messageId":[],"timestamp":0})",
       "wrong type: messageId"},
      {R"({"type":"alias","userId":"u","previousId":false,"timestamp":0})",
       "wrong type: previousId"},
      {R"({"type":"group","userId":"u","groupId":{},"timestamp":0})", "wrong type: groupId"},
      {R"({"type":"page","userId":"u","name":3,"timestamp":0})", "wrong type: name"},
      {R"({"type":"track","event":"E","userId":"u","timestamp":0,"properties":[1]})",
       "wrong type: properties"},
      {R"({"type":"track","event":"E","userId":"u","timestamp":0,"properties":"x"})",
       "wrong type: properties"},
      {R"({"type":"identify","userId":"u","timestamp":0,"traits":5})", "wrong type: traits"},
      {R"({"type":"track","event":"E","userId":"u","timestamp":0,"context":true})",
       "wrong type: context"},
      {R"({"type":"track","event":"E","userId":"u","timestamp":"x"})", "bad timestamp"},
      {R"({"type":"track","event":"E","userId":"u"})", "missing timestamp"},
  };
  for (const auto& [json, expected] : cases) EXPECT_EQ(reason(json), expected) << json;
}

TEST_F(SegmentDecoderTest, NullSectionsAreAbsentAndUnknownFieldsIgnored) {
  ASSERT_TRUE(decode(R"({"type":"track","event":"E","userId":"u","timestamp":0,"properties":null,
      "traits":{},"integrations":{"All":true},"sentAt":"x","version":2,"channel":"server"})")
                  .is_ok());
  EXPECT_EQ(batch_.properties(only_record()).size(), 1u);  // userId
}

TEST_F(SegmentDecoderTest, EscapesAndUnicodeSurviveDecoding) {
  ASSERT_TRUE(decode(R"({"type":"track","event":"Caf\u00e9 \"Visit\"","userId":"\u7528\u6237",
      "timestamp":0,"properties":{"note":"line\nbreak","emoji":"\ud83d\ude00","weird.key":1}})")
                  .is_ok());
  EXPECT_EQ(symbol_name(only_record().event), "Café \"Visit\"");
  EXPECT_EQ(only_record().key, "用户");
  EXPECT_EQ(*prop("properties.note"), Value::string("line\nbreak"));
  EXPECT_EQ(*prop("properties.emoji"), Value::string("\xF0\x9F\x98\x80"));
  EXPECT_EQ(*prop("properties.weird.key"), Value::integer(1));
}

TEST_F(SegmentDecoderTest, NamesStayRightWhenFieldOrderChanges) {
  // The decoder remembers names by position; a reordered or different event must not reuse
  // a stale name.
  const char* events[] = {
      R"({"type":"track","event":"A","userId":"u","timestamp":0,"properties":{"x":1,"y":2}})",
      R"({"type":"track","event":"B","userId":"u","timestamp":0,"properties":{"y":3,"x":4}})",
      R"({"type":"track","event":"B","userId":"u","timestamp":0,"properties":{"z":5}})",
      R"({"type":"identify","userId":"u","timestamp":0,"traits":{"x":6}})",
  };
  for (const char* e : events) ASSERT_TRUE(decode(e).is_ok()) << e;
  const auto r = batch_.records();
  EXPECT_EQ(symbol_name(r[0].event), "A");
  EXPECT_EQ(symbol_name(r[1].event), "B");
  EXPECT_EQ(*batch_.find(r[0], intern("properties.x")), Value::integer(1));
  EXPECT_EQ(*batch_.find(r[0], intern("properties.y")), Value::integer(2));
  EXPECT_EQ(*batch_.find(r[1], intern("properties.y")), Value::integer(3));
  EXPECT_EQ(*batch_.find(r[1], intern("properties.x")), Value::integer(4));
  EXPECT_EQ(*batch_.find(r[2], intern("properties.z")), Value::integer(5));
  EXPECT_EQ(batch_.find(r[2], intern("properties.x")), nullptr);
  EXPECT_EQ(*batch_.find(r[3], intern("traits.x")), Value::integer(6));
  EXPECT_EQ(batch_.find(r[3], intern("properties.x")), nullptr);
}

TEST_F(SegmentDecoderTest, LargeNumbers) {
  ASSERT_TRUE(decode(R"({"type":"track","event":"E","userId":"u","timestamp":0,"properties":{
      "big":18446744073709551615,"neg":-9223372036854775808,"exp":1e3,"tiny":5e-324}})")
                  .is_ok());
  EXPECT_EQ(*prop("properties.big"), Value::real(18446744073709551615.0));
  EXPECT_EQ(*prop("properties.neg"), Value::integer(INT64_MIN));
  EXPECT_EQ(*prop("properties.exp"), Value::real(1000.0));
  EXPECT_EQ(prop("properties.tiny")->type(), ValueType::kDouble);
}

TEST(SegmentDecoderOutput, DecodesIntoAnOutputAndSurvivesParserReuse) {
  std::vector<BatchPtr> delivered;
  Output out([&](BatchPtr& b) { delivered.push_back(std::move(b)); }, 2);
  SegmentDecoder decoder;
  for (int i = 0; i < 5; ++i) {
    const std::string json = R"({"type":"track","event":"E","userId":"user-)" + std::to_string(i) +
                             R"(","timestamp":0,"properties":{"s":"v)" + std::to_string(i) +
                             R"("}})";
    ASSERT_TRUE(decoder.decode(json, out).is_ok());
    EXPECT_FALSE(decoder.decode("{bad", out).is_ok());
  }
  out.flush();
  ASSERT_EQ(delivered.size(), 3u);
  int i = 0;
  for (const BatchPtr& b : delivered) {
    for (const Record& r : b->records()) {
      EXPECT_EQ(r.key, "user-" + std::to_string(i));
      EXPECT_EQ(*b->find(r, intern("properties.s")), Value::string("v" + std::to_string(i)));
      ++i;
    }
  }
  EXPECT_EQ(i, 5);
}

TEST(Iso8601, RejectsOutOfRangeAndAcceptsEdges) {
  int64_t ms = 42;
  EXPECT_TRUE(parse_iso8601("0000-01-01T00:00:00Z", ms));
  EXPECT_EQ(ms, kEarliestEventTime);
  EXPECT_TRUE(parse_iso8601("9999-12-31T23:59:59.999Z", ms));
  EXPECT_EQ(ms, kLatestEventTime);
  EXPECT_FALSE(parse_iso8601("9999-12-31T23:59:59.999-01:00", ms));
  EXPECT_FALSE(parse_iso8601("0000-01-01T00:00:00+01:00", ms));
  EXPECT_EQ(ms, kLatestEventTime);  // unchanged on failure
  EXPECT_TRUE(parse_iso8601("2024-05-01t12:00:00z", ms));
  EXPECT_TRUE(parse_iso8601("2024-05-01T12:00:00,5Z", ms));
  EXPECT_EQ(ms, kMay1Noon + 500);
  EXPECT_TRUE(parse_iso8601("2024-05-01T13:00:00+01", ms));
  EXPECT_EQ(ms, kMay1Noon);
}

}  // namespace
}  // namespace segflow
