// Router: the output side of a subtask. Sends the batches its chain emits into the channels
// of downstream subtasks according to each out-edge's partitioning, buffering per target so
// batches stay full, and broadcasts control elements (watermark, idle, end of stream) in
// order after the data. Internal to the runtime. Thread safety: the subtask's thread only.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "engine/channel.h"
#include "engine/job_graph.h"

namespace segflow {

class Router {
 public:
  Router(size_t batch_size, uint32_t max_parallelism, const std::atomic<bool>* cancelled)
      : batch_size_(batch_size), max_parallelism_(max_parallelism), cancelled_(cancelled) {}

  // `targets`: one channel per downstream subtask (forward edges: just this subtask's peer).
  void add_edge(Partitioning partitioning, std::vector<Channel*> targets);

  // False for the last chain of a graph (sinks): nothing is sent anywhere.
  bool has_edges() const { return !edges_.empty(); }
  // Routes every record of `batch`; may take the batch (leaving `batch` empty).
  void route(BatchPtr& batch);
  // Routes every record of a batch owned elsewhere, which stands for ingest stamp
  // `ingest_ns`: copied, per target.
  void route(const Batch& batch, int64_t ingest_ns);
  // Pushes every partly filled batch.
  void flush();
  // flush(), then sends `e` (not a batch) to every target of every edge.
  void broadcast(Element e);

 private:
  struct Edge {
    Partitioning partitioning;
    std::vector<Channel*> targets;
    std::vector<BatchPtr> pending;          // per target, for hash partitioning
    std::vector<uint32_t> target_of_group;  // hash partitioning: key group -> target
    size_t next = 0;                        // round-robin position, for rebalance
  };
  void push(Channel* channel, BatchPtr batch);
  // Copies each record of `batch` into the pending batch of its key's target.
  void route_by_key(Edge& e, const Batch& batch, int64_t ingest_ns);
  static BatchPtr copy_of(const Batch& batch, int64_t ingest_ns);

  size_t batch_size_;
  uint32_t max_parallelism_;
  const std::atomic<bool>* cancelled_;
  std::vector<Edge> edges_;
};

}  // namespace segflow
