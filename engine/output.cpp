#include "engine/output.h"

#include <algorithm>

namespace segflow {

Output::Output(Deliver deliver, size_t batch_size)
    : deliver_(std::move(deliver)), batch_size_(batch_size), batch_(BatchPool::acquire()) {}

void Output::make_room() {
  if (batch_->size() >= batch_size_) flush();
}

RecordBuilder Output::add(EventKind kind, std::string_view key, int64_t event_time,
                          SymbolId event) {
  make_room();
  ++emitted_;
  batch_->note_ingest(cause_);
  return batch_->add(kind, key, event_time, event);
}

void Output::forward(const Batch& src, const Record& r) {
  make_room();
  ++emitted_;
  batch_->note_ingest(std::min(cause_, src.ingest_ns()));
  batch_->copy_from(src, r);
}

void Output::forward_as(const Batch& src, const Record& r, std::string_view key) {
  make_room();
  ++emitted_;
  batch_->note_ingest(std::min(cause_, src.ingest_ns()));
  batch_->copy_from(src, r, key);
}

void Output::flush() {
  if (batch_->empty()) return;
  deliver_(batch_);
  if (!batch_)
    batch_ = BatchPool::acquire();
  else
    batch_->clear();
}

}  // namespace segflow
