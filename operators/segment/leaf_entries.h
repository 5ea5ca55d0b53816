// LeafEntries: the (time, value) entries of one leaf of one profile (a window's events, an
// absence's pending `after` events), ascending by (time, value), and the leaf's `last` time
// (a recency's last match, an absence's last then_no event; kMinTime: none), in an 8-byte
// handle plus at most one heap block. The handle holds the owner's 16-bit tag and either
// nothing, one entry of value 1 (a count window's usual state; its time within +-2^46 ms), a
// `last` time with no entries (within +-2^45 ms) or the block's address.
// The block holds the entry count and encoding, a base time, the `last` time when there is one,
// then one fixed-size record per
// entry (random access stays O(1)): the time as a 32-bit offset from the base (64-bit times when
// the entries span more than 2^32 ms), and the value only when one of them is not 1 (counts
// never store theirs): as 32-bit hundredths when every value is exactly some k / 100 (prices,
// quantities), else as a double. The block is sized to fit (malloc's rounding is the room to
// grow, then an eighth more). Appending in time order and dropping the oldest entries are the
// fast paths; an insertion before the last entry, or a value or time the block's encoding cannot
// hold, re-encodes the list. Thread safety: a plain value type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <utility>
#include <vector>

namespace segflow {

// The layout of a LeafEntries block, shared by the inline readers below and leaf_entries.cpp.
namespace leaf_entries_block {

// The block: the base time (int64: the oldest entry's), a 32-bit word with the entry count (low
// 28 bits) and the encoding (kWideBit, value kind, kLastBit), the `last` time (int64) with
// kLastBit, then the records: the oldest entry's value, then (time, value) for each later
// entry. A time is the offset from the base (uint32) or, wide, the time itself (int64); a value
// is absent (kOnes), int32 hundredths or a double. A block of no entries holds a `last` time
// too far from 0 to be inline.
constexpr size_t kHeader = 12;
constexpr size_t kLastAt = 12;
constexpr size_t kCountAt = 8;
constexpr uint32_t kCountMask = (uint32_t{1} << 28) - 1;
constexpr int kKindShift = 28;
constexpr uint32_t kWideBit = uint32_t{1} << 30;
constexpr uint32_t kLastBit = uint32_t{1} << 31;

// How a block stores values: not at all (every one is 1), as int32 hundredths, or as doubles.
enum ValueKind : uint8_t { kOnes = 0, kHundredths = 1, kDoubles = 2 };

// The layout of a block's records.
struct Format {
  bool wide = false;
  ValueKind kind = kOnes;
  bool has_last = false;

  static Format of(const char* block) {
    uint32_t word;
    std::memcpy(&word, block + kCountAt, sizeof word);
    return {(word & kWideBit) != 0, static_cast<ValueKind>((word >> kKindShift) & 3),
            (word & kLastBit) != 0};
  }
  size_t time_size() const { return wide ? 8 : 4; }
  size_t value_size() const { return kind == kOnes ? 0 : kind == kHundredths ? 4 : 8; }
  size_t stride() const { return time_size() + value_size(); }
  size_t header() const { return has_last ? kHeader + 8 : kHeader; }
  // The bytes of a block of `n` entries.
  size_t bytes(uint32_t n) const {
    return n == 0 ? header() : header() + n * stride() - time_size();
  }
  // Where entry `i`'s value is; its time (i >= 1) is just before.
  size_t value_at(uint32_t i) const { return header() + i * stride(); }
  uint32_t word(uint32_t count) const {
    return count | (static_cast<uint32_t>(kind) << kKindShift) | (wide ? kWideBit : 0) |
           (has_last ? kLastBit : 0);
  }
};

inline uint32_t count_of(const char* block) {
  uint32_t word;
  std::memcpy(&word, block + kCountAt, sizeof word);
  return word & kCountMask;
}

inline int64_t base_of(const char* block) {
  int64_t base;
  std::memcpy(&base, block, sizeof base);
  return base;
}

inline double read_value(const char* block, Format f, uint32_t i) {
  const char* at = block + f.value_at(i);
  if (f.kind == kHundredths) {
    int32_t k;
    std::memcpy(&k, at, sizeof k);
    return static_cast<double>(k) / 100;
  }
  if (f.kind == kDoubles) {
    double v;
    std::memcpy(&v, at, sizeof v);
    return v;
  }
  return 1.0;
}

inline int64_t read_time(const char* block, Format f, uint32_t i) {
  if (i == 0) return base_of(block);
  const char* at = block + f.value_at(i) - f.time_size();
  if (f.wide) {
    int64_t t;
    std::memcpy(&t, at, sizeof t);
    return t;
  }
  uint32_t offset;
  std::memcpy(&offset, at, sizeof offset);
  return static_cast<int64_t>(static_cast<uint64_t>(base_of(block)) + offset);
}

}  // namespace leaf_entries_block

class LeafEntries {
 public:
  using Entry = std::pair<int64_t, double>;

  LeafEntries() = default;
  LeafEntries(std::initializer_list<Entry> entries);
  LeafEntries(const LeafEntries& o);
  LeafEntries(LeafEntries&& o) noexcept : word_(o.word_) { o.word_ &= kTagMask; }
  LeafEntries& operator=(const LeafEntries& o);
  LeafEntries& operator=(LeafEntries&& o) noexcept;
  ~LeafEntries() { release(); }

  uint32_t size() const;
  bool empty() const { return size() == 0; }
  int64_t time(uint32_t i) const;
  double value(uint32_t i) const;
  Entry operator[](uint32_t i) const { return {time(i), value(i)}; }
  Entry front() const { return (*this)[0]; }
  Entry back() const { return (*this)[size() - 1]; }
  // A cache hint: the block holding the entries (if any) will be read soon.
  void prefetch() const {
    if (has_block()) __builtin_prefetch(block());
  }
  // Every entry, decoded (merges, snapshots, tests).
  std::vector<Entry> to_vector() const;

  // Replaces the entries by `entries` (ascending).
  void assign(const std::vector<Entry>& entries);
  // Adds (time, value) after every entry not greater than it.
  void insert(int64_t time, double value) {
    if (payload() == 0 && value == 1.0 && time >= -kInlineLimit && time < kInlineLimit) {
      set_payload((static_cast<uint64_t>(time) << 1 | 1) & kPayloadMask);  // the first, inline
      return;
    }
    insert_slow(time, value);
  }
  // Drops the oldest `n` entries (all, when n >= size()).
  void erase_front(uint32_t n);
  // Keeps the oldest entry only.
  void keep_first();
  // Drops every entry (`last` stays).
  void clear() {
    if (has_block()) {
      clear_block();
    } else if (is_inline()) {  // one entry, no `last`
      word_ &= kTagMask;
    }
  }

  // The leaf's `last` time (kMinTime: none); kept apart from the entries.
  int64_t last() const;
  void set_last(int64_t time);

  bool operator==(const LeafEntries& o) const;

  // 16 bits the owner may use (the leaf table keeps the leaf id here): not compared (nor is
  // `last`), and
  // not changed by assignment.
  uint16_t tag() const { return static_cast<uint16_t>(word_ >> kTagShift); }
  void set_tag(uint16_t tag) {
    word_ = (word_ & kPayloadMask) | (static_cast<uint64_t>(tag) << kTagShift);
  }

  // Heap bytes of the block (malloc's usable size; 0 without one), for tests and benches.
  size_t heap_bytes() const;

 private:
  // word_: the tag in the top 16 bits; the low 48 bits (the payload) are 0 (empty), an
  // inline entry (bit 0 set: its time in bits 1..47, sign-extended, value 1), an inline `last`
  // with no entries (bits 0..1 are 10: its time in bits 2..47, sign-extended) or the block's
  // address (malloc aligns it to 16, so bits 0..1 are clear).
  static constexpr int kTagShift = 48;
  static constexpr uint64_t kPayloadMask = (uint64_t{1} << kTagShift) - 1;
  static constexpr uint64_t kTagMask = ~kPayloadMask;

  uint64_t payload() const { return word_ & kPayloadMask; }
  bool is_inline() const { return (word_ & 1) != 0; }
  bool is_inline_last() const { return (word_ & 3) == 2; }
  bool has_block() const { return payload() != 0 && (word_ & 3) == 0; }
  char* block() const { return reinterpret_cast<char*>(payload()); }  // NOLINT: the block
  int64_t inline_time() const;
  void set_payload(uint64_t payload) { word_ = (word_ & kTagMask) | payload; }
  // Replaces the entries by `entries` (ascending), with room for `capacity` of them, and
  // `last` by `last`.
  void rebuild(const Entry* entries, uint32_t n, uint32_t capacity, int64_t last);
  void rebuild(const Entry* entries, uint32_t n, uint32_t capacity) {
    rebuild(entries, n, capacity, this->last());
  }
  // Appends (time, value) to the block when its encoding holds it; false when it does not.
  bool append(int64_t time, double value);
  void release() {
    if (has_block()) std::free(block());
    word_ &= kTagMask;
  }
  void clear_block();
  void insert_slow(int64_t time, double value);
  // An inline entry's time: 47 bits, signed.
  static constexpr int64_t kInlineLimit = int64_t{1} << 46;

  static constexpr int64_t kNoLast = INT64_MIN;  // kMinTime (engine/record.h)
  uint64_t word_ = 0;
};

// The hot readers, inline: evaluation reads each fed leaf's times several times per event.
inline int64_t LeafEntries::inline_time() const {
  return static_cast<int64_t>(word_ << (64 - kTagShift)) >> (64 - kTagShift + 1);
}

inline uint32_t LeafEntries::size() const {
  if (payload() == 0 || is_inline_last()) return 0;
  return is_inline() ? 1 : leaf_entries_block::count_of(block());
}

inline int64_t LeafEntries::time(uint32_t i) const {
  if (is_inline()) return inline_time();
  return leaf_entries_block::read_time(block(), leaf_entries_block::Format::of(block()), i);
}

inline int64_t LeafEntries::last() const {
  if (is_inline_last())
    return static_cast<int64_t>(word_ << (64 - kTagShift)) >> (64 - kTagShift + 2);
  if (!has_block() || !leaf_entries_block::Format::of(block()).has_last) return kNoLast;
  int64_t t;
  std::memcpy(&t, block() + leaf_entries_block::kLastAt, sizeof t);
  return t;
}

inline double LeafEntries::value(uint32_t i) const {
  if (!has_block()) return 1.0;
  return leaf_entries_block::read_value(block(), leaf_entries_block::Format::of(block()), i);
}

}  // namespace segflow
