#include "connectors/http_ingest/segment_request.h"

#include <gtest/gtest.h>

#include <string>

#include "connectors/json/iso8601.h"
#include "connectors/json/segment_decoder.h"
#include "engine/symbol_table.h"

namespace segflow {
namespace {

int64_t ms(const char* iso) {
  int64_t t = 0;
  EXPECT_TRUE(parse_iso8601(iso, t)) << iso;
  return t;
}

// The event time the Segment decoder gives `event` (as /v1/track decodes it).
int64_t decoded_time(const std::string& event) {
  SegmentDecoder::Options options;
  options.implied_kind = EventKind::kTrack;
  SegmentDecoder decoder(std::move(options));
  Batch batch;
  const DecodeResult r = decoder.decode(event, batch);
  EXPECT_TRUE(r.is_ok()) << r.why() << ": " << event;
  return batch.empty() ? 0 : batch.records()[0].event_time;
}

TEST(SegmentRequestTest, NamesTheEndpoints) {
  EXPECT_EQ(endpoint_from_target("/v1/track"), IngestEndpoint::kTrack);
  EXPECT_EQ(endpoint_from_target("/v1/batch?x=1"), IngestEndpoint::kBatch);
  EXPECT_EQ(endpoint_from_target("/v1/alias/"), IngestEndpoint::kAlias);
  EXPECT_EQ(endpoint_from_target("/v1/import"), IngestEndpoint::kImport);
  EXPECT_EQ(endpoint_from_target("/v2/track"), std::nullopt);
  EXPECT_EQ(endpoint_from_target("/v1/tracks"), std::nullopt);
  EXPECT_EQ(endpoint_from_target("/v1/t"), IngestEndpoint::kTrack);  // analytics.js's paths
  EXPECT_EQ(endpoint_from_target("/v1/s"), IngestEndpoint::kScreen);
  EXPECT_EQ(endpoint_from_target("/v1/b"), IngestEndpoint::kBatch);
  EXPECT_EQ(endpoint_from_target("/v1/x"), std::nullopt);
  EXPECT_EQ(implied_kind(IngestEndpoint::kScreen), EventKind::kScreen);
  EXPECT_EQ(implied_kind(IngestEndpoint::kBatch), std::nullopt);
}

TEST(SegmentRequestTest, KeepsTheSendersTimestamp) {
  SegmentRequestParser parser;
  const SegmentRequest r = parser.parse(
      IngestEndpoint::kTrack,
      R"({"userId":"u1","event":"A","timestamp":"2024-05-01T12:00:00Z","writeKey":"k"})", 5);
  ASSERT_EQ(r.error, nullptr);
  EXPECT_EQ(r.write_key, "k");
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(decoded_time(r.events[0]), ms("2024-05-01T12:00:00Z"));
}

TEST(SegmentRequestTest, WithoutTimestampUsesReceivedAt) {
  SegmentRequestParser parser;
  const int64_t received = ms("2024-05-01T12:00:00.500Z");
  const SegmentRequest r =
      parser.parse(IngestEndpoint::kTrack, R"({"userId":"u1","event":"A"})", received);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(decoded_time(r.events[0]), received);
}

TEST(SegmentRequestTest, CorrectsClockSkewWithSentAtAndOriginalTimestamp) {
  // The device clock is 10 minutes fast: it says the event happened at 12:10 and the batch
  // was sent at 12:15; the server received it at 12:05:30. Segment's rule:
  // timestamp = receivedAt - (sentAt - originalTimestamp) = 12:00:30.
  SegmentRequestParser parser;
  const SegmentRequest r = parser.parse(IngestEndpoint::kBatch,
                                        R"({"sentAt":"2024-05-01T12:15:00Z","batch":[
      {"type":"track","userId":"u1","event":"A","originalTimestamp":"2024-05-01T12:10:00Z"},
      {"type":"track","userId":"u1","event":"B","originalTimestamp":"2024-05-01T12:10:00Z",
       "sentAt":"2024-05-01T12:11:00Z"},
      {"type":"track","userId":"u1","event":"C"},
      {}]})",
                                        ms("2024-05-01T12:05:30Z"));
  ASSERT_EQ(r.error, nullptr);
  ASSERT_EQ(r.events.size(), 4u);
  EXPECT_EQ(decoded_time(r.events[0]), ms("2024-05-01T12:00:30Z"));
  EXPECT_EQ(decoded_time(r.events[1]), ms("2024-05-01T12:04:30Z"));  // the event's own sentAt
  EXPECT_EQ(decoded_time(r.events[2]), ms("2024-05-01T12:05:30Z"));
  EXPECT_EQ(r.events[3], R"({"timestamp":)" + std::to_string(ms("2024-05-01T12:05:30Z")) + "}");
}

TEST(SegmentRequestTest, ReportsUnusableBodies) {
  SegmentRequestParser parser;
  EXPECT_STREQ(parser.parse(IngestEndpoint::kTrack, "{\"userId\":", 0).error, "malformed json");
  EXPECT_STREQ(parser.parse(IngestEndpoint::kTrack, "[1]", 0).error, "body is not a JSON object");
  EXPECT_STREQ(parser.parse(IngestEndpoint::kBatch, "{}", 0).error, "missing batch");
  EXPECT_STREQ(parser.parse(IngestEndpoint::kBatch, R"({"batch":{}})", 0).error,
               "batch is not an array");
  const SegmentRequest empty = parser.parse(IngestEndpoint::kBatch, R"({"batch":[]})", 0);
  EXPECT_EQ(empty.error, nullptr);
  EXPECT_TRUE(empty.events.empty());
}

TEST(SegmentRequestTest, LeavesNonObjectBatchItemsToTheDecoder) {
  SegmentRequestParser parser;
  const SegmentRequest r = parser.parse(IngestEndpoint::kBatch, R"({"batch":[1,"x"]})", 0);
  ASSERT_EQ(r.events.size(), 2u);
  SegmentDecoder decoder;
  Batch batch;
  EXPECT_EQ(decoder.decode(r.events[0], batch).why(), "not an object");
  EXPECT_EQ(decoder.decode(r.events[1], batch).why(), "not an object");
}

// Segment's /v1/batch semantics: the batch's `context` and `integrations` reach every
// event; where an event has its own, its members win and the batch fills in the rest.
TEST(SegmentRequestTest, MergesBatchContextAndIntegrationsIntoEachEvent) {
  SegmentRequestParser parser;
  const SegmentRequest r = parser.parse(IngestEndpoint::kBatch, R"({
      "context":{"ip":"1.1.1.1","timezone":"Europe/Paris","library":{"name":"batch"}},
      "integrations":{"All":false,"Mixpanel":true},
      "batch":[
        {"type":"track","event":"A","userId":"u1","timestamp":5},
        {"type":"track","event":"B","userId":"u2","timestamp":6,
         "context":{"ip":"2.2.2.2","library":{"name":"own"}},"integrations":{"All":true}},
        {"type":"track","event":"C","userId":"u3","timestamp":7,"context":"not an object"}]})",
                                        0);
  ASSERT_EQ(r.error, nullptr);
  ASSERT_EQ(r.events.size(), 3u);
  EXPECT_EQ(r.events[0],
            R"({"type":"track","event":"A","userId":"u1","timestamp":5,)"
            R"("context":{"ip":"1.1.1.1","timezone":"Europe/Paris","library":{"name":"batch"}},)"
            R"("integrations":{"All":false,"Mixpanel":true}})");
  EXPECT_EQ(r.events[1],
            R"({"type":"track","event":"B","userId":"u2","timestamp":6,)"
            R"("context":{"ip":"2.2.2.2","library":{"name":"own"},"timezone":"Europe/Paris"},)"
            R"("integrations":{"All":true,"Mixpanel":true}})");
  // A member that is not an object is the event's own: kept, not merged.
  EXPECT_EQ(r.events[2],
            R"({"type":"track","event":"C","userId":"u3","timestamp":7,"context":"not an object",)"
            R"("integrations":{"All":false,"Mixpanel":true}})");
  // The merged events decode; the one whose own context is not an object is refused.
  SegmentDecoder decoder;
  Batch batch;
  EXPECT_TRUE(decoder.decode(r.events[0], batch).is_ok());
  EXPECT_TRUE(decoder.decode(r.events[1], batch).is_ok());
  EXPECT_EQ(decoder.decode(r.events[2], batch).why(), "wrong type: context");
}

TEST(SegmentRequestTest, SingleCallsAndBatchesWithoutSharedMembersAreKeptAsSent) {
  SegmentRequestParser parser;
  const std::string event = R"({"type":"track","event":"A","userId":"u1","timestamp":5})";
  EXPECT_EQ(parser.parse(IngestEndpoint::kTrack, event, 0).events.at(0), event);
  EXPECT_EQ(parser.parse(IngestEndpoint::kBatch, R"({"batch":[)" + event + "]}", 0).events.at(0),
            event);
}

}  // namespace
}  // namespace segflow
