// Output: where an operator writes the records it emits during a call. Records accumulate
// in a batch that is handed downstream (to the next chained operator, or to the channels of
// the next task) when it is full and at every watermark. Valid only during the call it was
// passed to. Thread safety: used by the subtask's own thread only.
#pragma once

#include <cstddef>
#include <functional>

#include "engine/batch.h"

namespace segflow {

class Output {
 public:
  // `deliver` receives each full batch; it may keep the batch (moving from the BatchPtr).
  using Deliver = std::function<void(BatchPtr&)>;
  Output(Deliver deliver, size_t batch_size);

  RecordBuilder add(EventKind kind, std::string_view key, int64_t event_time, SymbolId event);
  // Re-emits `r` (a record of batch `src`) unchanged.
  void forward(const Batch& src, const Record& r);
  // Re-emits `r` with key `key`, properties unchanged.
  void forward_as(const Batch& src, const Record& r, std::string_view key);
  // Hands the pending records downstream now.
  void flush();

  size_t emitted() const { return emitted_; }

 private:
  void make_room();

  Deliver deliver_;
  size_t batch_size_;
  BatchPtr batch_;
  size_t emitted_ = 0;
};

}  // namespace segflow
