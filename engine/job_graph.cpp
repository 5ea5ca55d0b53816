#include "engine/job_graph.h"

#include <functional>
#include <set>

#include "engine/spec_error.h"

namespace segflow {

const char* partitioning_name(Partitioning p) {
  switch (p) {
    case Partitioning::kForward:
      return "forward";
    case Partitioning::kHash:
      return "hash";
    case Partitioning::kBroadcast:
      return "broadcast";
    case Partitioning::kRebalance:
      return "rebalance";
  }
  return "?";
}

void LogicalGraph::add(LogicalNode node) { nodes_.push_back(std::move(node)); }

int LogicalGraph::find(const std::string& id) const {
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].id == id) return static_cast<int>(i);
  return -1;
}

std::vector<int> LogicalGraph::consumers(int index) const {
  std::vector<int> out;
  for (size_t i = 0; i < nodes_.size(); ++i)
    for (const LogicalEdge& e : nodes_[i].inputs)
      if (e.from == nodes_[index].id) out.push_back(static_cast<int>(i));
  return out;
}

void LogicalGraph::resolve_default_edges() {
  for (LogicalNode& n : nodes_)
    for (LogicalEdge& e : n.inputs) {
      const int from = find(e.from);
      if (from >= 0 && !e.explicit_partitioning && e.partitioning == Partitioning::kForward &&
          nodes_[from].parallelism != n.parallelism)
        e.partitioning = Partitioning::kRebalance;
    }
}

void LogicalGraph::insert_combiners() {
  std::vector<LogicalNode> combiners;
  for (LogicalNode& n : nodes_) {
    if (!n.make_combiner) continue;
    size_t hash_inputs = 0;
    for (const LogicalEdge& e : n.inputs) hash_inputs += e.partitioning == Partitioning::kHash;
    for (LogicalEdge& e : n.inputs) {
      const int from = find(e.from);
      if (e.partitioning != Partitioning::kHash || from < 0) continue;
      LogicalNode c;
      c.id = n.id + ".combine" + (hash_inputs > 1 ? "." + e.from : "");
      c.type = n.type + ".combine";
      c.parallelism = nodes_[from].parallelism;
      c.inputs = {LogicalEdge{e.from, Partitioning::kForward, false}};
      c.make_operator = n.make_combiner;
      c.where = n.where;
      e.from = c.id;
      combiners.push_back(std::move(c));
    }
    n.make_combiner = nullptr;
  }
  for (LogicalNode& c : combiners) nodes_.push_back(std::move(c));
}

void LogicalGraph::validate() const {
  auto fail = [](const LogicalNode& n, const std::string& what) {
    throw SpecError(n.where + ": '" + n.id + "': " + what);
  };
  std::set<std::string> ids;
  for (const LogicalNode& n : nodes_) {
    if (!ids.insert(n.id).second) fail(n, "duplicate id");
    if (n.parallelism == 0) fail(n, "parallelism must be at least 1");
  }
  for (const LogicalNode& n : nodes_) {
    if (n.is_source() && !n.inputs.empty()) fail(n, "a source takes no input");
    if (!n.is_source() && n.inputs.empty()) fail(n, "has no input");
    for (const LogicalEdge& e : n.inputs) {
      const int from = find(e.from);
      if (from < 0) fail(n, "input '" + e.from + "' is not defined");
      if (e.partitioning == Partitioning::kForward && nodes_[from].parallelism != n.parallelism)
        fail(n, "forward input '" + e.from + "' has parallelism " +
                    std::to_string(nodes_[from].parallelism) + " but this has " +
                    std::to_string(n.parallelism) + "; use partition: rebalance or hash");
    }
  }
  // Cycle check: depth-first search with colours.
  std::vector<int> colour(nodes_.size(), 0);
  std::function<void(int)> visit = [&](int i) {
    colour[i] = 1;
    for (int c : consumers(i)) {
      if (colour[c] == 1) fail(nodes_[c], "is part of a cycle");
      if (colour[c] == 0) visit(c);
    }
    colour[i] = 2;
  };
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (colour[i] == 0) visit(static_cast<int>(i));
}

std::vector<int> LogicalGraph::topological_order() const {
  std::vector<int> order;
  std::vector<bool> placed(nodes_.size(), false);
  while (order.size() < nodes_.size()) {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (placed[i]) continue;
      bool ready = true;
      for (const LogicalEdge& e : nodes_[i].inputs) ready = ready && placed[find(e.from)];
      if (ready) {
        placed[i] = true;
        order.push_back(static_cast<int>(i));
      }
    }
  }
  return order;
}

PhysicalPlan plan_job(const LogicalGraph& graph, bool chaining) {
  const auto& nodes = graph.nodes();
  PhysicalPlan plan;
  plan.chain_of.assign(nodes.size(), -1);
  for (int i : graph.topological_order()) {
    const LogicalNode& n = nodes[i];
    if (chaining && n.inputs.size() == 1 && n.inputs[0].partitioning == Partitioning::kForward) {
      const int up = graph.find(n.inputs[0].from);
      Chain& chain = plan.chains[plan.chain_of[up]];
      if (chain.nodes.back() == up && graph.consumers(up).size() == 1) {
        chain.nodes.push_back(i);
        plan.chain_of[i] = plan.chain_of[up];
        continue;
      }
    }
    plan.chain_of[i] = static_cast<int>(plan.chains.size());
    plan.chains.push_back(Chain{{i}, n.parallelism});
  }
  return plan;
}

}  // namespace segflow
