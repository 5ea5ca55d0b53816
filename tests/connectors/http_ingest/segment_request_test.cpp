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

}  // namespace
}  // namespace segflow
