// IngestQueue: the bounded hand-off between the HTTP threads, which decode request bodies
// into batches, and the source's poll, which emits them. Bounded in events: when full, a
// push fails and the HTTP thread answers 503 (the pipeline is backpressured), so memory
// never grows with the offered load. Each entry carries the callback that answers its
// request once poll has emitted it (accepted) or the queue was closed (not accepted).
// Thread safety: every method from any thread.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "engine/batch.h"

namespace segflow {

class IngestQueue {
 public:
  // Called exactly once per queued entry: true when its records were emitted.
  using Done = std::function<void(bool accepted)>;
  struct Entry {
    BatchPtr batch;  // not null
    Done done;
  };
  enum class PushResult { kQueued, kFull, kClosed };

  explicit IngestQueue(size_t max_events);

  // Queues `entry` (moved from only when kQueued). An entry larger than the whole capacity
  // is still taken when the queue is empty, so no request size can wait forever.
  PushResult push(Entry& entry);
  // Moves whole entries into `out` until about `max_events` events are taken (at least one
  // entry when any is queued).
  void pop(size_t max_events, std::vector<Entry>& out);
  // Refuses later pushes and returns the entries still queued.
  std::vector<Entry> close();

  size_t queued_events() const;
  size_t capacity() const { return max_events_; }

 private:
  const size_t max_events_;
  mutable std::mutex mutex_;
  std::deque<Entry> entries_;
  size_t queued_events_ = 0;
  bool closed_ = false;
};

}  // namespace segflow
