// LeafEntries: the (time, value) entries of one leaf of one profile (a window's events, an
// absence's pending `after` events), ascending by (time, value), in 16 bytes plus at most
// one heap block. One entry, or two less than 2^32 ms apart, with value 1 (a count window's
// usual state) are kept inline, with no block. A block holds the times as 32-bit offsets from a
// base time (64-bit times when they span more than 2^32 ms), and the values only when one of them
// is not 1 (counts never store theirs); its capacity is kept in the handle. Appending in time order
// and dropping the oldest entries are the fast paths; an insertion before the last entry re-encodes
// the list. Thread safety: a plain value type.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

namespace segflow {

class LeafEntries {
 public:
  using Entry = std::pair<int64_t, double>;

  LeafEntries() = default;
  LeafEntries(std::initializer_list<Entry> entries);
  LeafEntries(const LeafEntries& o);
  LeafEntries(LeafEntries&& o) noexcept;
  LeafEntries& operator=(const LeafEntries& o);
  LeafEntries& operator=(LeafEntries&& o) noexcept;
  ~LeafEntries() { release(); }

  uint32_t size() const { return (flags_ & kPair) != 0 ? 2 : size_; }
  bool empty() const { return size() == 0; }
  int64_t time(uint32_t i) const;
  double value(uint32_t i) const;
  Entry operator[](uint32_t i) const { return {time(i), value(i)}; }
  Entry front() const { return (*this)[0]; }
  Entry back() const { return (*this)[size() - 1]; }
  // A cache hint: the block holding the entries (if any) will be read soon.
  void prefetch() const {
    if (!is_inline() && block_ != nullptr) __builtin_prefetch(block_);
  }
  // Every entry, decoded (merges, snapshots, tests).
  std::vector<Entry> to_vector() const;

  // Replaces the entries by `entries` (ascending).
  void assign(const std::vector<Entry>& entries);
  // Adds (time, value) after every entry not greater than it.
  void insert(int64_t time, double value);
  // Drops the oldest `n` entries (all, when n >= size()).
  void erase_front(uint32_t n);
  // Keeps the oldest entry only.
  void keep_first();
  void clear();

  bool operator==(const LeafEntries& o) const;

  // 16 bits the owner may use (the leaf table keeps the leaf id here): not compared, and
  // not changed by assignment.
  uint16_t tag() const { return tag_; }
  void set_tag(uint16_t tag) { tag_ = tag; }

 private:
  struct Block;
  static constexpr uint8_t kValues = 1;  // the block stores values (else all are 1)
  static constexpr uint8_t kWide = 2;    // the block stores 64-bit times (else offsets)
  static constexpr uint8_t kInline = 4;  // no block: one entry, inline_time_, value 1
  // No block: two entries of value 1, inline_time_ and inline_time_ + size_.
  static constexpr uint8_t kPair = 8;

  bool is_inline() const { return (flags_ & (kInline | kPair)) != 0; }
  // Replaces the entries by `entries` (ascending), with room for `capacity` of them.
  void rebuild(const Entry* entries, uint32_t n, uint32_t capacity);
  void release();
  // Takes o's entries (not its tag), leaving o empty. REQUIRES: this holds no block.
  void take(LeafEntries& o) noexcept;

  union {
    Block* block_ = nullptr;  // null when empty
    int64_t inline_time_;     // kInline
  };
  uint32_t size_ = 0;  // the entry count; with kPair, the second entry's offset
  uint8_t flags_ = 0;
  uint8_t capacity_class_ = 0;  // of the block (see leaf_entries.cpp)
  uint16_t tag_ = 0;
};

}  // namespace segflow
