// Batch: the unit records travel in (tens to a thousand records). Owns its records, their
// properties and an arena for their strings. Batches are recycled through BatchPool, so a
// steady stream allocates nothing per event. Thread safety: one owner at a time; ownership
// moves with the BatchPtr through channels. A frozen batch (freeze()) never changes again
// until the pool recycles it: then any number of threads may read it, each holding a
// reference, which is how the runtime routes records without copying them (select()).
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "engine/arena.h"
#include "engine/ingest_time.h"
#include "engine/record.h"

namespace segflow {

class Batch;

// Appends properties to the record just added to a Batch. Valid until the next add().
class RecordBuilder {
 public:
  RecordBuilder(Batch& batch, size_t index) : batch_(&batch), index_(index) {}
  // String values are copied into the batch arena.
  RecordBuilder& set(SymbolId name, Value value);
  RecordBuilder& set(std::string_view name, Value value) { return set(intern(name), value); }
  Record& record();

 private:
  Batch* batch_;
  size_t index_;
};

class Batch {
 public:
  Batch() = default;
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  // Adds a record; its key is copied into the arena. Properties follow via the builder.
  RecordBuilder add(EventKind kind, std::string_view key, int64_t event_time, SymbolId event);
  // Deep-copies record `r` of batch `src` (key, properties, strings) into this batch.
  void copy_from(const Batch& src, const Record& r);
  // The same with another key (e.g. the canonical profile an identity operator resolved).
  void copy_from(const Batch& src, const Record& r, std::string_view key);

  std::span<const Record> records() const { return records_; }
  size_t size() const { return records_.size(); }
  bool empty() const { return records_.empty(); }
  std::span<const Property> properties(const Record& r) const {
    const Property* base = root_ != nullptr ? root_->properties_.data() : properties_.data();
    return {base + r.first_property, r.property_count};
  }
  // The value of property `name` of `r`, or nullptr.
  const Value* find(const Record& r, SymbolId name) const {
    for (const Property& p : properties(r))
      if (p.name == name) return &p.value;
    return nullptr;
  }

  std::string_view store(std::string_view s) { return arena_.store(s); }
  // Drops every record and the ingest stamp (and the reference to a selection's root);
  // keeps the memory for reuse. REQUIRES: not frozen, unless by the pool's last release.
  void clear();

  // Declares that this batch, which came from BatchPool, never changes again until the pool
  // recycles it: the runtime may then keep references to it past the call it was passed to
  // (a source replaying pre-decoded batches freezes them; the router freezes the batches it
  // takes over). Every holder releases it through BatchPool::release.
  void freeze() { frozen_ = true; }
  bool frozen() const { return frozen_; }

  // Selection: adds record `r` of frozen batch `src` as it is, without copying its key,
  // properties or strings: they stay in `src` (or in the batch `src` itself selects from,
  // its root), which this batch holds a reference to until clear(). All records of a
  // selection come from one root, and a selection gets no add() or copy_from().
  // REQUIRES: src.frozen() or src is a selection; this batch empty or selecting from the
  // same root.
  void select(const Batch& src, const Record& r);
  // The batch whose properties and strings the records live in: itself unless a selection.
  const Batch& root() const { return root_ != nullptr ? *root_ : *this; }

  // The earliest ingest stamp (engine/ingest_time.h) of the events in this batch or that
  // caused its records; kNoIngestTime when none is known. Per batch, not per record:
  // Output, Router and the runtime carry it along (engine/README.md "End-to-end latency").
  int64_t ingest_ns() const { return ingest_ns_; }
  void note_ingest(int64_t ns) {
    if (ns < ingest_ns_) ingest_ns_ = ns;
  }

 private:
  friend class RecordBuilder;
  friend class BatchPool;
  void set_root(const Batch& src);

  std::vector<Record> records_;
  std::vector<Property> properties_;
  Arena arena_;
  // The keys apart from the other strings: whoever routes or looks up a batch's records by key
  // reads them one after the other.
  Arena keys_;
  int64_t ingest_ns_ = kNoIngestTime;
  const Batch* root_ = nullptr;  // a selection's root, referenced (holders_) until clear()
  bool frozen_ = false;
  // References from BatchPtrs, channels and selections: the pool recycles the batch when
  // the last one is released.
  mutable std::atomic<uint32_t> holders_{1};
};

// Returns batches to the pool when dropped.
struct BatchRecycler {
  void operator()(Batch* b) const;
};
using BatchPtr = std::unique_ptr<Batch, BatchRecycler>;

// Process-wide free list of batches. Thread safety: acquire/release from any thread.
class BatchPool {
 public:
  static BatchPtr acquire();
  // Drops one reference to `b`; the last one recycles it.
  static void release(Batch* b);
  // One more reference to frozen batch `b`, dropped by a release().
  static void retain(const Batch& b) { b.holders_.fetch_add(1, std::memory_order_relaxed); }
  // Batches currently parked in the pool (for tests and metrics).
  static size_t parked();
  // Batches handed out and not yet returned, and the highest that count has reached since
  // reset_peak(): what bounds a job's memory under backpressure.
  static size_t in_use();
  static size_t peak_in_use();
  static void reset_peak();
};

}  // namespace segflow
