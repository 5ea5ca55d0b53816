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
  // Receives a batch this output does not own (forward_all), to pass on without copying it,
  // with the ingest stamp it stands for.
  using DeliverView = std::function<void(const Batch&, int64_t ingest_ns)>;
  Output(Deliver deliver, size_t batch_size, DeliverView deliver_view = nullptr);

  RecordBuilder add(EventKind kind, std::string_view key, int64_t event_time, SymbolId event);
  // Re-emits `r` (a record of batch `src`) unchanged; the batch it goes to keeps the
  // earlier of src's ingest stamp and the cause.
  void forward(const Batch& src, const Record& r);
  // Re-emits `r` with key `key`, properties unchanged.
  void forward_as(const Batch& src, const Record& r, std::string_view key);
  // Re-emits every record of `src`, in order, as forward() of each would. The runtime's
  // outputs hand a batch of at least half their batch size on as it is, without copying its
  // records (a source replaying decoded batches, an operator passing a batch through).
  void forward_all(const Batch& src);

  // The ingest stamp (engine/ingest_time.h) of what causes the records added from now on:
  // the batch they go to keeps the earliest. The runtime sets it to the input batch's stamp
  // around process() (a source's: the time of the poll) and to kNoIngestTime around timers,
  // watermarks and close; an operator that emits later what an earlier batch caused (it
  // buffered the event) sets it to that batch's stamp before emitting.
  void set_ingest_cause(int64_t ns) { cause_ = ns; }
  int64_t ingest_cause() const { return cause_; }
  // Hands the pending records downstream now.
  void flush();

  size_t emitted() const { return emitted_; }

 private:
  void make_room();

  Deliver deliver_;
  DeliverView deliver_view_;
  size_t batch_size_;
  BatchPtr batch_;
  size_t emitted_ = 0;
  int64_t cause_ = kNoIngestTime;
};

}  // namespace segflow
