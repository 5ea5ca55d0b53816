#include "engine/output.h"

#include <algorithm>

namespace segflow {

Output::Output(Deliver deliver, size_t batch_size, DeliverView deliver_view)
    : deliver_(std::move(deliver)),
      deliver_view_(std::move(deliver_view)),
      batch_size_(batch_size),
      batch_(BatchPool::acquire()) {}

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

void Output::forward_all(const Batch& src) {
  if (!deliver_view_ || src.size() < batch_size_ / 2) {
    for (const Record& r : src.records()) forward(src, r);
    return;
  }
  flush();  // what was emitted before goes first
  emitted_ += src.size();
  deliver_view_(src, std::min(cause_, src.ingest_ns()));
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
