#include "engine/profile_merge.h"

#include <chrono>

namespace segflow {

namespace {
struct MergeSymbols {
  SymbolId other = intern("merge_other");
  SymbolId merge_id = intern("merge_id");
};
const MergeSymbols& symbols() {
  static const MergeSymbols s;
  return s;
}
}  // namespace

bool has_merge_records(const Batch& batch) {
  for (const Record& r : batch.records())
    if (is_merge_record(r)) return true;
  return false;
}

bool read_merge_record(const Batch& batch, const Record& r, MergeRecordFields& fields) {
  if (!is_merge_record(r)) return false;
  const Value* other = batch.find(r, symbols().other);
  const Value* id = batch.find(r, symbols().merge_id);
  if (other == nullptr || id == nullptr || !other->is_string() || !id->is_string()) return false;
  fields.other = other->as_string();
  fields.merge_id = id->as_string();
  return true;
}

void emit_merge_records(Output& out, std::string_view merged, std::string_view survivor,
                        int64_t time, std::string_view merge_id) {
  const SymbolId event = intern("profile_merge");
  out.add(EventKind::kMergeExport, merged, time, event)
      .set(symbols().other, Value::string(survivor))
      .set(symbols().merge_id, Value::string(merge_id));
  out.add(EventKind::kMergeImport, survivor, time, event)
      .set(symbols().other, Value::string(merged))
      .set(symbols().merge_id, Value::string(merge_id));
  out.flush();
}

void ProfileHandoff::put(const std::string& key, std::string bytes) {
  {
    std::lock_guard lock(mutex_);
    entries_.insert_or_assign(key, std::move(bytes));
  }
  put_.notify_all();
}

bool ProfileHandoff::take(const std::string& key, const std::atomic<bool>& cancelled,
                          std::string& bytes) {
  std::unique_lock lock(mutex_);
  for (;;) {
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      bytes = std::move(it->second);
      entries_.erase(it);
      return true;
    }
    if (cancelled.load(std::memory_order_relaxed)) return false;
    put_.wait_for(lock, std::chrono::milliseconds(20));
  }
}

size_t ProfileHandoff::pending() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace segflow
