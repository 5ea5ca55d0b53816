// The registry operators publish their own metrics through.
#include "engine/operator_metrics.h"

#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace segflow {
namespace {

TEST(OperatorMetricsTest, TheSameNameAndLabelsGiveTheSameSeries) {
  MetricRegistry registry;
  const OperatorMetrics metrics(registry, "segments", 1);
  MetricCounter& a = metrics.counter("segflow_x_total", "X", {{"segment", "vip"}});
  MetricCounter& b = metrics.counter("segflow_x_total", "X", {{"segment", "vip"}});
  MetricCounter& other = metrics.counter("segflow_x_total", "X", {{"segment", "churn"}});
  MetricCounter& other_subtask = OperatorMetrics(registry, "segments", 0)
                                     .counter("segflow_x_total", "X", {{"segment", "vip"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  EXPECT_NE(&a, &other_subtask);
  a.inc();
  b.inc(2);
  EXPECT_EQ(a.value(), 3u);
  EXPECT_EQ(other.value(), 0u);
}

TEST(OperatorMetricsTest, ForEachVisitsFamiliesInNameOrderWithEverySeries) {
  MetricRegistry registry;
  const OperatorMetrics seg(registry, "segments", 0);
  seg.gauge("segflow_segment_members", "Inside", {{"segment", "vip"}}).set(4);
  seg.gauge("segflow_segment_members", "Inside", {{"segment", "churn"}}).add(-1.5);
  OperatorMetrics(registry, "identity", 0).counter("segflow_profile_merges_total", "Merges").inc(7);

  std::vector<std::string> names;
  registry.for_each([&](const MetricRegistry::Family& f) {
    names.push_back(f.name);
    if (f.name == "segflow_segment_members") {
      EXPECT_EQ(f.kind, MetricKind::kGauge);
      EXPECT_EQ(f.help, "Inside");
      ASSERT_EQ(f.series.size(), 2u);
      double total = 0;
      for (const auto& [key, s] : f.series) {
        EXPECT_EQ(s.operator_id, "segments");
        ASSERT_EQ(s.labels.size(), 1u);
        EXPECT_EQ(s.labels[0].name, "segment");
        total += s.gauge.value();
      }
      EXPECT_EQ(total, 2.5);
    } else {
      ASSERT_EQ(f.series.size(), 1u);
      EXPECT_EQ(f.series.begin()->second.counter.value(), 7u);
      EXPECT_EQ(f.series.begin()->second.operator_id, "identity");
    }
  });
  EXPECT_EQ(names,
            (std::vector<std::string>{"segflow_profile_merges_total", "segflow_segment_members"}));
}

TEST(OperatorMetricsTest, RejectsWhatPrometheusWouldNot) {
  MetricRegistry registry;
  const OperatorMetrics m(registry, "op", 0);
  EXPECT_THROW(m.counter("segflow_requests", "no _total"), std::invalid_argument);
  EXPECT_THROW(m.gauge("1bad", "starts with a digit"), std::invalid_argument);
  EXPECT_THROW(m.gauge("segflow-dash", "dash"), std::invalid_argument);
  EXPECT_THROW(m.gauge("segflow_g", "reserved label", {{"job", "x"}}), std::invalid_argument);
  EXPECT_THROW(m.gauge("segflow_g", "reserved label", {{"subtask", "x"}}), std::invalid_argument);
  EXPECT_THROW(m.gauge("segflow_g", "bad label", {{"a-b", "x"}}), std::invalid_argument);
  EXPECT_THROW(m.gauge("segflow_g", "internal label", {{"__name__", "x"}}), std::invalid_argument);
  EXPECT_THROW(m.gauge("segflow_g", "twice", {{"a", "x"}, {"a", "y"}}), std::invalid_argument);
  m.gauge("segflow_g", "help");
  EXPECT_THROW(m.counter("segflow_g", "help"), std::invalid_argument);  // name is a gauge
  EXPECT_THROW(m.gauge("segflow_g", "other help"), std::invalid_argument);
  EXPECT_NO_THROW(m.gauge("segflow_g", "help", {{"any", "label value, with spaces"}}));
}

// Updates from several threads while another reads (the ThreadSanitizer run checks this).
TEST(OperatorMetricsTest, UpdatesFromManyThreadsWhileScraped) {
  MetricRegistry registry;
  constexpr int kThreads = 4;
  constexpr int kIncrements = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&registry, t] {
      const OperatorMetrics m(registry, "op", static_cast<uint32_t>(t % 2));
      MetricCounter& c = m.counter("segflow_c_total", "C");
      MetricGauge& g = m.gauge("segflow_g", "G", {{"thread", std::to_string(t)}});
      for (int i = 0; i < kIncrements; ++i) {
        c.inc();
        g.add(1);
      }
    });
  }
  std::thread reader([&registry] {
    for (int i = 0; i < 200; ++i)
      registry.for_each([](const MetricRegistry::Family& f) {
        for (const auto& [key, s] : f.series) (void)(s.counter.value() + s.gauge.value());
      });
  });
  for (auto& t : threads) t.join();
  reader.join();
  uint64_t counted = 0;
  double gauged = 0;
  registry.for_each([&](const MetricRegistry::Family& f) {
    for (const auto& [key, s] : f.series) {
      counted += s.counter.value();
      gauged += s.gauge.value();
    }
  });
  EXPECT_EQ(counted, uint64_t{kThreads} * kIncrements);
  EXPECT_EQ(gauged, double{kThreads} * kIncrements);
}

}  // namespace
}  // namespace segflow
