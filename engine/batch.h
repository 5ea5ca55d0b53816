// Batch: the unit records travel in (tens to a thousand records). Owns its records, their
// properties and an arena for their strings. Batches are recycled through BatchPool, so a
// steady stream allocates nothing per event. Thread safety: one owner at a time; ownership
// moves with the BatchPtr through channels.
#pragma once

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
    return {properties_.data() + r.first_property, r.property_count};
  }
  // The value of property `name` of `r`, or nullptr.
  const Value* find(const Record& r, SymbolId name) const {
    for (const Property& p : properties(r))
      if (p.name == name) return &p.value;
    return nullptr;
  }

  std::string_view store(std::string_view s) { return arena_.store(s); }
  // Drops every record and the ingest stamp; keeps the memory for reuse.
  void clear();

  // The earliest ingest stamp (engine/ingest_time.h) of the events in this batch or that
  // caused its records; kNoIngestTime when none is known. Per batch, not per record:
  // Output, Router and the runtime carry it along (engine/README.md "End-to-end latency").
  int64_t ingest_ns() const { return ingest_ns_; }
  void note_ingest(int64_t ns) {
    if (ns < ingest_ns_) ingest_ns_ = ns;
  }

 private:
  friend class RecordBuilder;
  std::vector<Record> records_;
  std::vector<Property> properties_;
  Arena arena_;
  int64_t ingest_ns_ = kNoIngestTime;
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
  static void release(Batch* b);
  // Batches currently parked in the pool (for tests and metrics).
  static size_t parked();
  // Batches handed out and not yet returned, and the highest that count has reached since
  // reset_peak(): what bounds a job's memory under backpressure.
  static size_t in_use();
  static size_t peak_in_use();
  static void reset_peak();
};

}  // namespace segflow
