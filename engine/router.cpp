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
  if (selections_.size() < e.targets.size()) selections_.resize(e.targets.size());
  edges_.push_back(std::move(e));
}

BatchPtr Router::copy_of(const Batch& batch, int64_t ingest_ns) {
  BatchPtr copy = BatchPool::acquire();
  copy->note_ingest(ingest_ns);
  for (const Record& r : batch.records()) copy->copy_from(batch, r);
  return copy;
}

BatchPtr Router::selection_of(const Batch& batch, int64_t ingest_ns) {
  BatchPtr selection = BatchPool::acquire();
  selection->note_ingest(ingest_ns);
  for (const Record& r : batch.records()) selection->select(batch, r);
  return selection;
}

void Router::push(Channel* channel, BatchPtr batch) {
  // About to block: no other consumer waits for its batches meanwhile.
  if (channel->full()) wake_consumers();
  const int64_t now = steady_now_ns();
  channel->push_batch_deferred(std::move(batch), now, cancelled_);
  if (channel->deferred() && deferred_since_ns_ < 0) deferred_since_ns_ = now;
}

void Router::wake_consumers() {
  for (Edge& e : edges_)
    for (Channel* c : e.targets) c->wake_consumer();
  deferred_since_ns_ = -1;
}

void Router::route(BatchPtr& batch) {
  if (batch->empty()) return;
  // Taken over from now on, and nobody changes it: it can be referenced.
  if (batch->size() >= batch_size_ / 2) batch->freeze();
  if (by_reference(*batch)) {
    BatchPtr held = std::move(batch);  // the emitter gets a fresh batch
    route_edges(*held, held->ingest_ns(), true, &held);
    return;
  }
  route_edges(*batch, batch->ingest_ns(), false, &batch);
}

void Router::route(const Batch& batch, int64_t ingest_ns) {
  if (batch.empty()) return;
  route_edges(batch, ingest_ns, by_reference(batch), nullptr);
}

void Router::route_edges(const Batch& batch, int64_t ingest_ns, bool reference, BatchPtr* owned) {
  key_groups_valid_ = false;
  auto copy = [&] {
    return reference ? selection_of(batch, ingest_ns) : copy_of(batch, ingest_ns);
  };
  for (size_t i = 0; i < edges_.size(); ++i) {
    Edge& e = edges_[i];
    // The batch itself can go to the last target of the last edge (after that no edge
    // reads it), unless hash partitioning splits it.
    const bool last = owned != nullptr && i + 1 == edges_.size();
    switch (e.partitioning) {
      case Partitioning::kForward:
      case Partitioning::kRebalance: {
        Channel* target = e.targets[e.next];
        e.next = (e.next + 1) % e.targets.size();
        push(target, last ? std::move(*owned) : copy());
        break;
      }
      case Partitioning::kBroadcast:
        for (size_t t = 0; t < e.targets.size(); ++t)
          push(e.targets[t], last && t + 1 == e.targets.size() ? std::move(*owned) : copy());
        break;
      case Partitioning::kHash:
        if (reference)
          select_by_key(e, batch, ingest_ns);
        else
          route_by_key(e, batch, ingest_ns);
        break;
    }
  }
}

const std::vector<uint32_t>& Router::key_groups_of(const Batch& batch) {
  if (key_groups_valid_) return key_groups_;
  key_groups_.clear();
  for (const Record& r : batch.records())
    key_groups_.push_back(key_group_of(r.key, max_parallelism_));
  key_groups_valid_ = true;
  return key_groups_;
}

void Router::route_by_key(Edge& e, const Batch& batch, int64_t ingest_ns) {
  // One target takes every key: no hashing.
  const bool single = e.targets.size() == 1;
  const std::vector<uint32_t>* groups = single ? nullptr : &key_groups_of(batch);
  bool merge_records = false;
  const auto records = batch.records();
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    merge_records = merge_records || is_merge_record(r);
    const uint32_t t = single ? 0 : e.target_of_group[(*groups)[i]];
    BatchPtr& pending = e.pending[t];
    if (!pending) pending = BatchPool::acquire();
    pending->note_ingest(ingest_ns);
    pending->copy_from(batch, r);
    if (pending->size() >= batch_size_) push(e.targets[t], std::move(pending));
  }
  // An identity-merge control record waits in no buffer (engine/profile_merge.h).
  if (merge_records) {
    for (size_t t = 0; t < e.targets.size(); ++t)
      if (e.pending[t] && !e.pending[t]->empty()) push(e.targets[t], std::move(e.pending[t]));
    wake_consumers();
  }
}

void Router::select_by_key(Edge& e, const Batch& batch, int64_t ingest_ns) {
  if (e.targets.size() == 1) {  // one target takes every key: no hashing
    if (e.pending[0] && !e.pending[0]->empty()) push(e.targets[0], std::move(e.pending[0]));
    push(e.targets[0], selection_of(batch, ingest_ns));
    return;
  }
  const std::vector<uint32_t>& groups = key_groups_of(batch);
  const auto records = batch.records();
  for (size_t i = 0; i < records.size(); ++i) {
    const uint32_t t = e.target_of_group[groups[i]];
    BatchPtr& selection = selections_[t];
    if (!selection) {
      selection = BatchPool::acquire();
      selection->note_ingest(ingest_ns);
    }
    selection->select(batch, records[i]);
  }
  // Each target's records in order: what waits in its pending batch goes first.
  for (size_t t = 0; t < e.targets.size(); ++t) {
    if (!selections_[t]) continue;
    if (e.pending[t] && !e.pending[t]->empty()) push(e.targets[t], std::move(e.pending[t]));
    push(e.targets[t], std::move(selections_[t]));
  }
}

void Router::flush() {
  for (Edge& e : edges_)
    for (size_t t = 0; t < e.targets.size(); ++t)
      if (e.pending[t] && !e.pending[t]->empty()) push(e.targets[t], std::move(e.pending[t]));
  wake_consumers();
}

void Router::broadcast(Element control) {
  flush();
  for (Edge& e : edges_)
    for (Channel* c : e.targets) c->push(control, cancelled_);
}

}  // namespace segflow
