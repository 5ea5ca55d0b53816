// Router: the output side of a subtask. Sends the batches its chain emits into the channels
// of downstream subtasks according to each out-edge's partitioning, and broadcasts control
// elements (watermark, idle, end of stream) in order after the data. A batch of at least
// half the batch size is routed by reference: the router freezes it (or it is frozen
// already) and sends each target a selection of its records (Batch::select), which keeps it
// alive, so no key, property or string is copied. Smaller batches are copied record by
// record into per-target batches that fill up across calls, so batches stay full.
// Internal to the runtime. Thread safety: the subtask's thread only.
#pragma once

#include <atomic>
#include <chrono>
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
  // `ingest_ns`: by reference if it is frozen (or a selection of a frozen batch), else
  // copied, per target.
  void route(const Batch& batch, int64_t ingest_ns);
  // Pushes every partly filled batch, then wakes every consumer still asleep.
  void flush();
  // Data batches that follow each other closely leave a sleeping consumer asleep until a few
  // wait (Channel::push_batch_deferred); these wake the consumers not woken yet: all of them, or
  // those whose first batch waits since kMaxDeferNs. The subtask calls the first when it stops
  // sending (it runs out of input, blocks, ends), the second once per turn of its loop.
  void wake_consumers();
  void wake_consumers_if_due() {
    if (deferred_since_ns_ >= 0 && steady_now_ns() - deferred_since_ns_ >= kMaxDeferNs)
      wake_consumers();
  }
  static constexpr int64_t kMaxDeferNs = 1'000'000;
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
  static int64_t steady_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  // Whether `batch` is routed by reference (see above).
  bool by_reference(const Batch& batch) const {
    return batch.size() >= batch_size_ / 2 && batch.root().frozen();
  }
  // Routes `batch` (by reference or copied) along every edge; `owned`, if given, is `batch`
  // itself, handed to the last forward or broadcast target instead of a copy.
  void route_edges(const Batch& batch, int64_t ingest_ns, bool reference, BatchPtr* owned);
  // Copies each record of `batch` into the pending batch of its key's target.
  void route_by_key(Edge& e, const Batch& batch, int64_t ingest_ns);
  // Sends each target the selection of `batch`'s records with its keys, after its pending
  // batch.
  void select_by_key(Edge& e, const Batch& batch, int64_t ingest_ns);
  // The key group of every record of `batch`, computed once per batch for all hash edges.
  const std::vector<uint32_t>& key_groups_of(const Batch& batch);
  static BatchPtr copy_of(const Batch& batch, int64_t ingest_ns);
  static BatchPtr selection_of(const Batch& batch, int64_t ingest_ns);

  size_t batch_size_;
  uint32_t max_parallelism_;
  const std::atomic<bool>* cancelled_;
  std::vector<Edge> edges_;
  std::vector<uint32_t> key_groups_;  // of the batch being routed (key_groups_of)
  bool key_groups_valid_ = false;
  std::vector<BatchPtr> selections_;  // per target of the edge being routed (select_by_key)
  int64_t deferred_since_ns_ = -1;    // steady clock: the oldest push not woken yet; -1: none
};

}  // namespace segflow
