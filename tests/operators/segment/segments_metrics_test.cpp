// The segments operator's exported metrics and the ingest stamps of the changes it emits.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <memory>

#include "operators/segment/segments_operator.h"
#include "tests/support/operator_harness.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

using testing::metric_value;
using testing::OperatorHarness;
using testing::OutputRecord;

constexpr int64_t kMin = 60'000;

std::unique_ptr<SegmentsOperator::Config> parse(const std::string& yaml) {
  const ConfigNode node(YAML::Load(yaml), std::make_shared<const std::string>("job.yaml"), "op");
  return std::make_unique<SegmentsOperator::Config>(SegmentsOperator::Config::parse(node));
}

// One event in a batch of its own, stamped `ingest_ns`.
void process(OperatorHarness& h, const std::string& key, int64_t time, const char* event,
             int64_t ingest_ns) {
  BatchPtr batch = BatchPool::acquire();
  batch->add(EventKind::kTrack, key, time, intern(event));
  batch->note_ingest(ingest_ns);
  h.process_batch(*batch);
}

TEST(SegmentsMetrics, CountsChangesAndMembersPerSegment) {
  const auto config = parse(R"(
segments:
  - name: viewers
    enter: {window: {events: [Product Viewed], within: 10m, is: ">= 1"}}
  - name: buyers
    enter: {window: {events: [Order Completed], within: 10m, is: ">= 1"}})");
  OperatorHarness h(std::make_unique<SegmentsOperator>(*config));
  const MetricRegistry& registry = *h.context().metric_registry;
  auto value = [&](const char* name, const char* segment) {
    return metric_value(registry, name, {{"segment", segment}});
  };
  process(h, "u1", 1 * kMin, "Product Viewed", 100);
  process(h, "u2", 2 * kMin, "Product Viewed", 200);
  process(h, "u2", 3 * kMin, "Order Completed", 300);
  h.watermark(3 * kMin);
  EXPECT_EQ(value("segflow_segment_members", "viewers"), 2);
  EXPECT_EQ(value("segflow_segment_members", "buyers"), 1);
  EXPECT_EQ(value("segflow_segment_entered_total", "viewers"), 2);
  EXPECT_EQ(value("segflow_segment_entered_total", "buyers"), 1);
  EXPECT_EQ(value("segflow_segment_exited_total", "viewers"), 0);

  h.watermark(12 * kMin);  // u1's and u2's views aged out; u2's order still counts
  EXPECT_EQ(value("segflow_segment_members", "viewers"), 0);
  EXPECT_EQ(value("segflow_segment_exited_total", "viewers"), 2);
  EXPECT_EQ(value("segflow_segment_members", "buyers"), 1);
  // The counts the operator keeps itself agree.
  const auto& counts = h.op_as<SegmentsOperator>().counts();
  EXPECT_EQ(counts[0].entered, 2u);
  EXPECT_EQ(counts[0].exited, 2u);
  EXPECT_EQ(counts[1].members, 1);
}

TEST(SegmentsMetrics, AChangeCarriesTheStampOfTheEventsThatCausedItATimerNone) {
  const auto config = parse(R"(
segments:
  - name: viewers
    enter: {window: {events: [Product Viewed], within: 10m, is: ">= 2"}})");
  OperatorHarness h(std::make_unique<SegmentsOperator>(*config));
  process(h, "u1", 1 * kMin, "Product Viewed", 100);
  process(h, "u2", 1 * kMin, "Product Viewed", 150);
  process(h, "u1", 2 * kMin, "Product Viewed", 200);  // u1 enters at 2 min: caused by this one
  process(h, "u2", 3 * kMin, "Product Viewed", 300);  // u2 enters at 3 min
  h.watermark(2 * kMin);
  std::vector<OutputRecord> out = h.take_output();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].key, "u1");
  EXPECT_EQ(out[0].event, "entered");
  EXPECT_EQ(out[0].ingest_ns, 200);  // emitted by a timer, stamped by the buffered event
  h.watermark(3 * kMin);
  out = h.take_output();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].key, "u2");
  EXPECT_EQ(out[0].ingest_ns, 300);
  h.watermark(20 * kMin);  // both exit as their views age out: no ingest cause
  out = h.take_output();
  ASSERT_EQ(out.size(), 2u);
  for (const OutputRecord& r : out) {
    EXPECT_EQ(r.event, "exited");
    EXPECT_EQ(r.ingest_ns, kNoIngestTime);
  }
}

}  // namespace
}  // namespace segflow
