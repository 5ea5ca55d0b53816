#include "engine/router.h"

#include "engine/key_group.h"
#include "engine/profile_merge.h"

namespace segflow {

void Router::add_edge(Partitioning partitioning, std::vector<Channel*> targets) {
  Edge e{partitioning, std::move(targets), {}, 0};
  e.pending.resize(e.targets.size());
  edges_.push_back(std::move(e));
}

BatchPtr Router::copy_of(const Batch& batch) {
  BatchPtr copy = BatchPool::acquire();
  copy->note_ingest(batch.ingest_ns());
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
        push(target, last ? std::move(batch) : copy_of(*batch));
        break;
      }
      case Partitioning::kBroadcast:
        for (size_t t = 0; t < e.targets.size(); ++t)
          push(e.targets[t],
               last && t + 1 == e.targets.size() ? std::move(batch) : copy_of(*batch));
        break;
      case Partitioning::kHash: {
        const auto parallelism = static_cast<uint32_t>(e.targets.size());
        bool merge_records = false;
        for (const Record& r : batch->records()) {
          merge_records = merge_records || is_merge_record(r);
          const uint32_t t = subtask_of_key_group(key_group_of(r.key, max_parallelism_),
                                                  max_parallelism_, parallelism);
          BatchPtr& pending = e.pending[t];
          if (!pending) pending = BatchPool::acquire();
          pending->note_ingest(batch->ingest_ns());
          pending->copy_from(*batch, r);
          if (pending->size() >= batch_size_) push(e.targets[t], std::move(pending));
        }
        // An identity-merge control record waits in no buffer (engine/profile_merge.h).
        if (merge_records)
          for (size_t t = 0; t < e.targets.size(); ++t)
            if (e.pending[t] && !e.pending[t]->empty()) push(e.targets[t], std::move(e.pending[t]));
        break;
      }
    }
    if (!batch) return;  // handed over: no later edge (it was the last)
  }
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
