#include "engine/batch.h"

#include <atomic>

#include <concurrentqueue/concurrentqueue.h>

namespace segflow {

RecordBuilder& RecordBuilder::set(SymbolId name, Value value) {
  if (value.is_string()) value = Value::string(batch_->arena_.store(value.as_string()));
  batch_->properties_.push_back(Property{name, value});
  ++batch_->records_[index_].property_count;
  return *this;
}

Record& RecordBuilder::record() { return batch_->records_[index_]; }

RecordBuilder Batch::add(EventKind kind, std::string_view key, int64_t event_time, SymbolId event) {
  assert(root_ == nullptr && !frozen_);
  Record r;
  r.key = keys_.store(key);
  r.event_time = event_time;
  r.event = event;
  r.kind = kind;
  r.first_property = static_cast<uint32_t>(properties_.size());
  records_.push_back(r);
  return RecordBuilder(*this, records_.size() - 1);
}

void Batch::copy_from(const Batch& src, const Record& r) { copy_from(src, r, r.key); }

void Batch::copy_from(const Batch& src, const Record& r, std::string_view key) {
  assert(root_ == nullptr && !frozen_);
  Record copy = r;
  copy.key = keys_.store(key);
  copy.first_property = static_cast<uint32_t>(properties_.size());
  const auto props = src.properties(r);
  properties_.insert(properties_.end(), props.begin(), props.end());
  for (size_t i = copy.first_property; i < properties_.size(); ++i) {
    Value& v = properties_[i].value;
    if (v.is_string()) v = Value::string(arena_.store(v.as_string()));
  }
  records_.push_back(copy);
}

void Batch::set_root(const Batch& src) {
  const Batch& root = src.root();
  assert(root.frozen_ && records_.empty() && properties_.empty());
  BatchPool::retain(root);
  root_ = &root;
}

void Batch::select(const Batch& src, const Record& r) {
  if (root_ == nullptr) set_root(src);
  assert(root_ == &src.root());
  records_.push_back(r);
}

void Batch::clear() {
  records_.clear();
  properties_.clear();
  arena_.reset();
  keys_.reset();
  ingest_ns_ = kNoIngestTime;
  frozen_ = false;
  if (root_ != nullptr) {
    // The root is a pool batch; it was never changed through this pointer.
    BatchPool::release(const_cast<Batch*>(root_));
    root_ = nullptr;
  }
}

namespace {
constexpr size_t kMaxParked = 4096;
// Deletes the parked batches at exit, so leak checkers see a clean heap.
struct FreeList : moodycamel::ConcurrentQueue<Batch*> {
  ~FreeList() {
    Batch* b = nullptr;
    while (try_dequeue(b)) delete b;
  }
};
FreeList& free_list() {
  static FreeList queue;
  return queue;
}
std::atomic<size_t> parked_count{0};
std::atomic<size_t> in_use_count{0};
std::atomic<size_t> peak_in_use_count{0};

void count_acquired() {
  const size_t now = in_use_count.fetch_add(1, std::memory_order_relaxed) + 1;
  size_t peak = peak_in_use_count.load(std::memory_order_relaxed);
  while (now > peak &&
         !peak_in_use_count.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}
}  // namespace

void BatchRecycler::operator()(Batch* b) const { BatchPool::release(b); }

BatchPtr BatchPool::acquire() {
  count_acquired();
  Batch* b = nullptr;
  if (free_list().try_dequeue(b)) {
    parked_count.fetch_sub(1, std::memory_order_relaxed);
    return BatchPtr(b);
  }
  return BatchPtr(new Batch());
}

void BatchPool::release(Batch* b) {
  if (b == nullptr) return;
  // acq_rel: the last holder sees every other holder's reads done before it recycles.
  if (b->holders_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  b->holders_.store(1, std::memory_order_relaxed);
  in_use_count.fetch_sub(1, std::memory_order_relaxed);
  b->clear();
  if (parked_count.load(std::memory_order_relaxed) >= kMaxParked) {
    delete b;
    return;
  }
  parked_count.fetch_add(1, std::memory_order_relaxed);
  free_list().enqueue(b);
}

size_t BatchPool::parked() { return parked_count.load(std::memory_order_relaxed); }

size_t BatchPool::in_use() { return in_use_count.load(std::memory_order_relaxed); }

size_t BatchPool::peak_in_use() { return peak_in_use_count.load(std::memory_order_relaxed); }

void BatchPool::reset_peak() {
  peak_in_use_count.store(in_use_count.load(std::memory_order_relaxed), std::memory_order_relaxed);
}

}  // namespace segflow
