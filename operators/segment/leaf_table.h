// LeafState and LeafTable: the state of the leaves one profile has touched, by leaf id, in
// 8 bytes per leaf plus its entries' block (leaf_entries.h). A table of a few leaves is
// searched in place; a larger one keeps an index by leaf id beside it, so a profile touched
// by hundreds of rules finds each leaf in one step. Thread safety: a plain value type.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "engine/record.h"
#include "engine/state_io.h"
#include "operators/segment/compact_vector.h"
#include "operators/segment/leaf_entries.h"

namespace segflow {

// The state of one leaf for one profile.
struct LeafState {
  // window: (time, value) in the window, ascending; absence: `after` times not yet cancelled
  // or expired, ascending (value unused). Also holds `last`.
  LeafEntries entries;
  // recency: last match; absence: last then_no event (kMinTime: none).
  int64_t last() const { return entries.last(); }
  void set_last(int64_t time) { entries.set_last(time); }
  uint32_t id() const { return entries.tag(); }
  bool empty() const { return entries.empty() && last() == kMinTime; }
  // Format: entries as a std::vector<std::pair<int64_t, double>>, then last.
  void write(StateWriter& w) const;
  static LeafState read(StateReader& r);
};

class LeafTable {
 public:
  // REQUIRES: id < 65536 (SegmentRules::kMaxLeaves).
  LeafState* find(uint32_t id) {
    const int64_t at = position(id);
    return at < 0 ? nullptr : &slots_[static_cast<size_t>(at)];
  }
  const LeafState* find(uint32_t id) const {
    const int64_t at = position(id);
    return at < 0 ? nullptr : &slots_[static_cast<size_t>(at)];
  }
  LeafState& get_or_create(uint32_t id);
  void erase(uint32_t id);
  // Calls keep(state) on every leaf (which may change it) and erases those it returns false
  // for, in one pass: cheaper than erase() one by one when many go.
  template <class Keep>
  void retain(Keep keep);
  uint32_t size() const { return slots_.size(); }
  bool empty() const { return slots_.empty(); }
  // In no particular order; LeafState::id() tells which.
  LeafState* begin() { return slots_.begin(); }
  LeafState* end() { return slots_.end(); }
  const LeafState* begin() const { return slots_.begin(); }
  const LeafState* end() const { return slots_.end(); }
  std::vector<uint32_t> sorted_ids() const;
  // Cache hints before find(ids...) on a large table: prefetch_index for each id first, then
  // prefetch_slot for each (which reads the index), then prefetch_entries (which reads the
  // slot), so their misses overlap.
  // Reads nothing: the index's length is not checked (a prefetch past a block cannot fault),
  // so this hint does not wait for the index's first line.
  void prefetch_index(uint32_t id) const {
    if (!index_.empty()) __builtin_prefetch(index_.data() + id);
  }
  void prefetch_slot(uint32_t id) const {
    if (id < index_.size() && index_[id] != 0) __builtin_prefetch(slots_.data() + index_[id] - 1);
  }
  void prefetch_entries(uint32_t id) const {
    if (id < index_.size() && index_[id] != 0) slots_[index_[id] - 1].entries.prefetch();
  }

 private:
  // Searched in place up to this many leaves; beyond, through index_.
  static constexpr uint32_t kLinearMax = 12;
  int64_t position(uint32_t id) const {  // -1: none
    if (index_.empty()) {
      for (uint32_t i = 0; i < slots_.size(); ++i)
        if (slots_[i].id() == id) return i;
      return -1;
    }
    return id < index_.size() ? static_cast<int64_t>(index_[id]) - 1 : -1;
  }
  void index_all();
  // After slots moved: the index anew over its block (or none once the table is small).
  void reindex();
  // Frees the index once the table is small again.
  void drop_index_if_small() {
    if (slots_.size() <= kLinearMax / 2) index_.clear();
  }

  // Slot positions by leaf id, in one block: its length n, then the slot + 1 of each id
  // below n (0: none). Grown zero-filled in one step (a table reaches hundreds of ids).
  class Index {
   public:
    Index() = default;
    Index(const Index& o) { copy(o); }
    Index(Index&& o) noexcept : block_(std::exchange(o.block_, nullptr)) {}
    Index& operator=(const Index& o) {
      if (this != &o) {
        clear();
        copy(o);
      }
      return *this;
    }
    Index& operator=(Index&& o) noexcept {
      if (this != &o) {
        clear();
        block_ = std::exchange(o.block_, nullptr);
      }
      return *this;
    }
    ~Index() { clear(); }

    bool empty() const { return block_ == nullptr; }
    uint32_t size() const { return block_ != nullptr ? block_[0] : 0; }
    uint16_t& operator[](uint32_t id) { return block_[1 + id]; }
    uint16_t operator[](uint32_t id) const { return block_[1 + id]; }
    const uint16_t* data() const { return block_ + 1; }
    // Covers the ids below n (REQUIRES: n <= 65535), the new ones as none.
    void cover(uint32_t n);
    void clear() {
      std::free(block_);
      block_ = nullptr;
    }
    // Every id as none (the length stays).
    void zero() {
      if (block_ != nullptr) std::memset(block_ + 1, 0, sizeof(uint16_t) * size());
    }

   private:
    static constexpr uint32_t kMaxIds = 65535;  // SegmentRules::kMaxLeaves
    void copy(const Index& o);
    uint16_t* block_ = nullptr;
  };

  CompactVector<LeafState> slots_;
  // With more than kLinearMax slots: index_[id] = its slot + 1 (0: none); else empty.
  Index index_;
};

template <class Keep>
void LeafTable::retain(Keep keep) {
  uint32_t kept = 0;
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    LeafState& s = slots_[i];
    if (!keep(s)) continue;
    if (kept != i) {
      LeafState& to = slots_[kept];
      const uint16_t id = s.entries.tag();
      to.entries = std::move(s.entries);  // keeps slot `kept`'s tag; `last` moves along
      to.entries.set_tag(id);
    }
    ++kept;
  }
  if (kept == slots_.size()) return;
  slots_.erase(slots_.begin() + kept, slots_.end());
  // The index anew in one sequential pass, not a random write per slot dropped or moved.
  if (!index_.empty()) reindex();
}

}  // namespace segflow
