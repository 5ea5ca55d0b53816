#include "engine/router.h"

#include "engine/key_group.h"
#include "engine/profile_merge.h"

namespace segflow {

void Router::add_edge(Partitioning partitioning, std::vector<Channel*> targets) {
  Edge e{partitioning, std::move(targets), {}, {}, 0};
  e.pending.resize(e.targets.size());
  if (partitioning == Partitioning::kHash) {
    const auto parallelism = static_cast<uint32_t>(e.targets.size());
    for (uint32_t g = 0; g < max_parallelism_; ++g)
      e.target_of_group.push_back(subtask_of_key_group(g, max_parallelism_, parallelism));
  }
  edges_.push_back(std::move(e));
}

BatchPtr Router::copy_of(const Batch& batch, int64_t ingest_ns) {
  BatchPtr copy = BatchPool::acquire();
  copy->note_ingest(ingest_ns);
  for (const Record& r : batch.records()) copy->copy_from(batch, r);
  return copy;
}

void Router::push(Channel* channel, BatchPtr batch) {
  channel->push_batch(std::move(batch), cancelled_);
}

void Router::route(BatchPtr& batch) {
  if (batch->empty()) return;
  for (size_t i = 0; i < edges_.size(); ++i) {
    Edge& e = edges_[i];
    const bool last = i + 1 == edges_.size();
    switch (e.partitioning) {
      case Partitioning::kForward:
      case Partitioning::kRebalance: {
        Channel* target = e.targets[e.next];
        e.next = (e.next + 1) % e.targets.size();
        push(target, last ? std::move(batch) : copy_of(*batch, batch->ingest_ns()));
        break;
      }
      case Partitioning::kBroadcast:
        for (size_t t = 0; t < e.targets.size(); ++t)
          push(e.targets[t], last && t + 1 == e.targets.size()
                                 ? std::move(batch)
                                 : copy_of(*batch, batch->ingest_ns()));
        break;
      case Partitioning::kHash:
        route_by_key(e, *batch, batch->ingest_ns());
        break;
    }
    if (!batch) return;  // handed over: no later edge (it was the last)
  }
}

void Router::route(const Batch& batch, int64_t ingest_ns) {
  if (batch.empty()) return;
  for (Edge& e : edges_) {
    switch (e.partitioning) {
      case Partitioning::kForward:
      case Partitioning::kRebalance: {
        Channel* target = e.targets[e.next];
        e.next = (e.next + 1) % e.targets.size();
        push(target, copy_of(batch, ingest_ns));
        break;
      }
      case Partitioning::kBroadcast:
        for (Channel* target : e.targets) push(target, copy_of(batch, ingest_ns));
        break;
      case Partitioning::kHash:
        route_by_key(e, batch, ingest_ns);
        break;
    }
  }
}

void Router::route_by_key(Edge& e, const Batch& batch, int64_t ingest_ns) {
  bool merge_records = false;
  for (const Record& r : batch.records()) {
    merge_records = merge_records || is_merge_record(r);
    const uint32_t t = e.target_of_group[key_group_of(r.key, max_parallelism_)];
    BatchPtr& pending = e.pending[t];
    if (!pending) pending = BatchPool::acquire();
    pending->note_ingest(ingest_ns);
    pending->copy_from(batch, r);
    if (pending->size() >= batch_size_) push(e.targets[t], std::move(pending));
  }
  // An identity-merge control record waits in no buffer (engine/profile_merge.h).
  if (merge_records)
    for (size_t t = 0; t < e.targets.size(); ++t)
      if (e.pending[t] && !e.pending[t]->empty()) push(e.targets[t], std::move(e.pending[t]));
}

void Router::flush() {
  for (Edge& e : edges_)
    for (size_t t = 0; t < e.targets.size(); ++t)
      if (e.pending[t] && !e.pending[t]->empty()) push(e.targets[t], std::move(e.pending[t]));
}

void Router::broadcast(Element control) {
  flush();
  for (Edge& e : edges_)
    for (Channel* c : e.targets) c->push(control, cancelled_);
}

}  // namespace segflow
