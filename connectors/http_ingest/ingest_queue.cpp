#include "connectors/http_ingest/ingest_queue.h"

namespace segflow {

IngestQueue::IngestQueue(size_t max_events) : max_events_(max_events) {}

IngestQueue::PushResult IngestQueue::push(Entry& entry) {
  const size_t events = entry.batch->size();
  std::lock_guard lock(mutex_);
  if (closed_) return PushResult::kClosed;
  if (!entries_.empty() && queued_events_ + events > max_events_) return PushResult::kFull;
  queued_events_ += events;
  entries_.push_back(std::move(entry));
  return PushResult::kQueued;
}

void IngestQueue::pop(size_t max_events, std::vector<Entry>& out) {
  std::lock_guard lock(mutex_);
  size_t taken = 0;
  while (!entries_.empty() &&
         (taken == 0 || taken + entries_.front().batch->size() <= max_events)) {
    const size_t events = entries_.front().batch->size();
    taken += events;
    queued_events_ -= events;
    out.push_back(std::move(entries_.front()));
    entries_.pop_front();
  }
}

std::vector<IngestQueue::Entry> IngestQueue::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  std::vector<Entry> left;
  for (Entry& e : entries_) left.push_back(std::move(e));
  entries_.clear();
  queued_events_ = 0;
  return left;
}

size_t IngestQueue::queued_events() const {
  std::lock_guard lock(mutex_);
  return queued_events_;
}

}  // namespace segflow
