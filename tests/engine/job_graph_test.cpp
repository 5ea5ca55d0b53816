// Job graph: validation and the chaining plan.
#include "engine/job_graph.h"
#include "tests/support/test_support.h"

#include <gtest/gtest.h>

namespace segflow {
namespace {

class Nop final : public Operator {
 public:
  void process(const Batch&, Output&) override {}
};
class NopSource final : public Source {
 public:
  SourceStatus poll(Output&) override { return SourceStatus::kEnd; }
};

LogicalNode node(std::string id, uint32_t p, std::vector<LogicalEdge> inputs = {}) {
  LogicalNode n;
  n.id = std::move(id);
  n.parallelism = p;
  n.where = "job.yaml:1:1";
  n.inputs = std::move(inputs);
  if (n.inputs.empty())
    n.make_source = [] { return std::make_unique<NopSource>(); };
  else
    n.make_operator = [] { return std::make_unique<Nop>(); };
  return n;
}

TEST(JobGraphTest, ChainsForwardEdgesWithOneConsumer) {
  LogicalGraph g;
  g.add(node("src", 2));
  g.add(node("decode", 2, {{"src", Partitioning::kForward}}));
  g.add(node("keyed", 4, {{"decode", Partitioning::kHash}}));
  g.add(node("map", 4, {{"keyed", Partitioning::kForward}}));
  g.add(node("sink", 1, {{"map", Partitioning::kRebalance}}));
  g.validate();
  const PhysicalPlan plan = plan_job(g, true);
  ASSERT_EQ(plan.chains.size(), 3u);
  EXPECT_EQ(plan.chains[0].nodes, (std::vector<int>{0, 1}));
  EXPECT_EQ(plan.chains[1].nodes, (std::vector<int>{2, 3}));
  EXPECT_EQ(plan.chains[1].parallelism, 4u);
  EXPECT_EQ(plan.chains[2].nodes, (std::vector<int>{4}));
  EXPECT_EQ(plan_job(g, false).chains.size(), 5u);
}

TEST(JobGraphTest, FanOutEndsAChain) {
  LogicalGraph g;
  g.add(node("src", 1));
  g.add(node("a", 1, {{"src", Partitioning::kForward}}));
  g.add(node("b", 1, {{"src", Partitioning::kForward}}));
  g.validate();
  EXPECT_EQ(plan_job(g, true).chains.size(), 3u);
}

TEST(JobGraphTest, ValidationErrors) {
  auto error_of = [](LogicalGraph g) { return testing::spec_error_of([&] { g.validate(); }); };
  LogicalGraph dup;
  dup.add(node("a", 1));
  dup.add(node("a", 1));
  EXPECT_EQ(error_of(dup), "job.yaml:1:1: 'a': duplicate id");
  LogicalGraph nowhere;
  nowhere.add(node("a", 1));
  nowhere.add(node("b", 1, {{"ghost", Partitioning::kForward}}));
  EXPECT_EQ(error_of(nowhere), "job.yaml:1:1: 'b': input 'ghost' is not defined");
  LogicalGraph cycle;
  cycle.add(node("s", 1));
  cycle.add(node("a", 1, {{"s", Partitioning::kForward}, {"b", Partitioning::kForward}}));
  cycle.add(node("b", 1, {{"a", Partitioning::kForward}}));
  EXPECT_NE(error_of(cycle).find("is part of a cycle"), std::string::npos);
  LogicalGraph mismatch;
  mismatch.add(node("s", 1));
  mismatch.add(node("a", 2, {{"s", Partitioning::kForward, true}}));
  EXPECT_NE(error_of(mismatch).find("forward input 's' has parallelism 1 but this has 2"),
            std::string::npos);
  mismatch.resolve_default_edges();  // explicit: stays forward, still an error
  EXPECT_NE(error_of(mismatch), "no error");
}

}  // namespace
}  // namespace segflow
