// The logical job graph (what the user wrote: sources, operators, sinks and the edges
// between them) and its translation into the physical plan the runtime executes: chains
// of forward-connected operators, each run by `parallelism` subtasks, one thread each.
// Thread safety: built and planned on one thread before the job starts; immutable after.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/clock.h"
#include "engine/registry.h"

namespace segflow {

enum class Partitioning {
  kForward,    // subtask i -> subtask i (same parallelism); allows chaining
  kHash,       // by key group of the record's profile key
  kBroadcast,  // every record to every subtask
  kRebalance,  // whole batches round-robin
};
const char* partitioning_name(Partitioning p);

struct LogicalEdge {
  std::string from;  // id of the upstream node
  Partitioning partitioning = Partitioning::kForward;
  bool explicit_partitioning = false;  // the spec said `partition:`
};

struct LogicalNode {
  std::string id;
  std::string type;
  uint32_t parallelism = 1;
  std::vector<LogicalEdge> inputs;
  SourceFactory make_source;      // set for sources
  OperatorFactory make_operator;  // set for operators and sinks
  // Optional pre-aggregation before this node's hash inputs (e.g. `window` with
  // `combine: true`); insert_combiners() turns it into nodes.
  OperatorFactory make_combiner;
  std::string where;  // job-spec location, for error messages
  bool is_source() const { return static_cast<bool>(make_source); }
};

// Periodic checkpoints (spec: `checkpoints: {interval, dir, retain}`); off when interval_ms
// is 0. See engine/checkpoint_coordinator.h.
struct CheckpointSettings {
  int64_t interval_ms = 0;
  std::string dir;      // one sub-directory per checkpoint
  uint32_t retain = 3;  // completed checkpoints kept (savepoints are never deleted)
  bool enabled() const { return interval_ms > 0; }
};

// Where keyed state lives (spec: `state_backend: heap` or
// `state_backend: {type: rocksdb, dir, cache_entries, incremental}`). See
// engine/rocksdb_state_store.h.
struct StateBackendSettings {
  bool rocksdb = false;            // false: heap
  std::string dir;                 // rocksdb: one database per operator subtask below it
  size_t cache_entries = 100'000;  // rocksdb: entries cached in memory per state
  bool incremental = true;         // rocksdb: checkpoints record database files (store_snapshot.h)
};

// Job-wide settings from the spec's top level.
struct JobSettings {
  std::string name = "job";
  uint32_t parallelism = 2;
  uint32_t max_parallelism = 128;
  int64_t out_of_orderness_ms = 0;     // bounded out-of-orderness at the sources
  int64_t idle_timeout_ms = 10'000;    // a source idle this long stops holding watermarks
  int64_t watermark_interval_ms = 50;  // how often sources emit watermarks
  size_t batch_size = 512;
  size_t channel_capacity = 64;  // batches per channel
  bool chaining = true;
  std::string metrics_address;   // host:port for Prometheus; empty: off
  std::string dead_letter_path;  // JSONL file; empty: counts only
  CheckpointSettings checkpoints;
  StateBackendSettings state_backend;
};

class LogicalGraph {
 public:
  void add(LogicalNode node);
  const std::vector<LogicalNode>& nodes() const { return nodes_; }
  // Index of node `id`, or -1.
  int find(const std::string& id) const;
  // A forward edge the spec did not ask for, between different parallelisms, becomes a
  // rebalance edge (an explicit one stays, and validate() rejects it).
  void resolve_default_edges();
  // For each node with make_combiner, puts a combiner node "<id>.combine" (with several hash
  // inputs: "<id>.combine.<input>") on every hash input edge: fed forward by the edge's
  // upstream, at its parallelism (so it chains to it), and feeding the node by hash.
  void insert_combiners();
  // Throws SpecError (prefixed with the node's `where`) for: duplicate ids, an edge from an
  // unknown node, a source with inputs, an operator without inputs, a forward edge between
  // different parallelisms, a cycle.
  void validate() const;
  // Node indices, every node after all its inputs. REQUIRES: validate() passed.
  std::vector<int> topological_order() const;
  // The nodes fed by node `index`.
  std::vector<int> consumers(int index) const;

 private:
  std::vector<LogicalNode> nodes_;
};

// A chain: forward-connected nodes with one consumer each, run by the same thread.
struct Chain {
  std::vector<int> nodes;  // logical node indices, head first
  uint32_t parallelism = 1;
};

struct PhysicalPlan {
  std::vector<Chain> chains;  // in topological order
  std::vector<int> chain_of;  // logical node index -> chain index
};

PhysicalPlan plan_job(const LogicalGraph& graph, bool chaining);

}  // namespace segflow
