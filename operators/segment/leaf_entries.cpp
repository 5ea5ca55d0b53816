#include "operators/segment/leaf_entries.h"

#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>

namespace segflow {

namespace {

using namespace leaf_entries_block;  // NOLINT: the block layout, shared with the header

constexpr uint64_t kMaxOffset = std::numeric_limits<uint32_t>::max();
// An inline `last`: 46 bits, signed (an inline entry's: LeafEntries::kInlineLimit).
constexpr int64_t kInlineLastLimit = int64_t{1} << 45;

// The value as an exact number of hundredths, if it is one within int32.
bool to_hundredths(double v, int32_t& out) {
  const double scaled = v * 100;
  if (!(std::fabs(scaled) <= std::numeric_limits<int32_t>::max())) return false;  // NaN, inf
  const auto k = static_cast<int32_t>(std::lround(scaled));
  const double back = static_cast<double>(k) / 100;
  if (std::memcmp(&back, &v, sizeof v) != 0) return false;  // inexact, or -0.0
  out = k;
  return true;
}

ValueKind kind_of(double v) {
  if (v == 1.0) return kOnes;
  int32_t k;
  return to_hundredths(v, k) ? kHundredths : kDoubles;
}

void set_count(char* block, Format f, uint32_t count) {
  const uint32_t word = f.word(count);
  std::memcpy(block + kCountAt, &word, sizeof word);
}

// Writes entry `i` (entry 0: its value; its time is the base, written by the caller).
// REQUIRES: the block's encoding holds (time, value).
void write_record(char* block, Format f, uint32_t i, int64_t time, double value) {
  char* at = block + f.value_at(i);
  if (i > 0 && f.wide) {
    std::memcpy(at - sizeof time, &time, sizeof time);
  } else if (i > 0) {
    const auto offset =
        static_cast<uint32_t>(static_cast<uint64_t>(time) - static_cast<uint64_t>(base_of(block)));
    std::memcpy(at - sizeof offset, &offset, sizeof offset);
  }
  if (f.kind == kHundredths) {
    int32_t k = 0;
    to_hundredths(value, k);
    std::memcpy(at, &k, sizeof k);
  } else if (f.kind == kDoubles) {
    std::memcpy(at, &value, sizeof value);
  }
}

// A block address as a handle payload. User-space addresses fit in 48 bits on the 64-bit
// platforms we build for (x86-64 and AArch64 with 4-level page tables); anything else is a
// broken platform assumption, not a state to recover from.
uint64_t address_of(void* block) {
  const auto address = reinterpret_cast<uint64_t>(block);
  if ((address >> 48) != 0 || (address & 1) != 0) {
    std::fputs("LeafEntries: heap address beyond 48 bits\n", stderr);
    std::abort();
  }
  return address;
}

// `n` entries and an eighth more (beyond malloc's rounding, the room to append).
uint32_t with_room(uint32_t n) { return n + n / 8; }

// Every (time, value) decoded into a scratch vector reused by the slow paths of one thread.
std::vector<LeafEntries::Entry>& scratch() {
  thread_local std::vector<LeafEntries::Entry> v;
  v.clear();
  return v;
}

}  // namespace

LeafEntries::LeafEntries(std::initializer_list<Entry> entries) {
  const auto n = static_cast<uint32_t>(entries.size());
  rebuild(entries.begin(), n, n, kNoLast);
}

LeafEntries::LeafEntries(const LeafEntries& o) : word_(o.word_ & kTagMask) {
  if (!o.has_block()) {
    word_ = o.word_;
    return;
  }
  const size_t bytes = Format::of(o.block()).bytes(count_of(o.block()));
  void* copy = std::malloc(bytes);
  if (copy == nullptr) throw std::bad_alloc();
  std::memcpy(copy, o.block(), bytes);
  set_payload(address_of(copy));
}

LeafEntries& LeafEntries::operator=(const LeafEntries& o) {
  if (this == &o) return *this;
  LeafEntries copy(o);
  return *this = std::move(copy);  // the tag stays
}

LeafEntries& LeafEntries::operator=(LeafEntries&& o) noexcept {
  if (this == &o) return *this;
  release();
  set_payload(o.payload());  // the tag stays: it names the leaf these entries belong to
  o.word_ &= kTagMask;
  return *this;
}

size_t LeafEntries::heap_bytes() const { return has_block() ? malloc_usable_size(block()) : 0; }

std::vector<LeafEntries::Entry> LeafEntries::to_vector() const {
  std::vector<Entry> out;
  const uint32_t n = size();
  out.reserve(n);
  for (uint32_t i = 0; i < n; ++i) out.emplace_back(time(i), value(i));
  return out;
}

void LeafEntries::rebuild(const Entry* entries, uint32_t n, uint32_t capacity, int64_t last) {
  if (n > kCountMask) throw std::length_error("LeafEntries: too many entries");
  if (n == 0 && last == kNoLast) {
    release();
    return;
  }
  if (n == 0 && last >= -kInlineLastLimit && last < kInlineLastLimit) {
    release();
    set_payload(((static_cast<uint64_t>(last) << 2) | 2) & kPayloadMask);
    return;
  }
  const int64_t first = n > 0 ? entries[0].first : 0;
  if (n == 1 && last == kNoLast && entries[0].second == 1.0 && first >= -kInlineLimit &&
      first < kInlineLimit) {
    release();
    set_payload(((static_cast<uint64_t>(first) << 1) | 1) & kPayloadMask);
    return;
  }
  Format f;
  f.has_last = last != kNoLast;
  for (uint32_t i = 0; i < n; ++i) f.kind = std::max(f.kind, kind_of(entries[i].second));
  f.wide = n > 0 &&
           static_cast<uint64_t>(entries[n - 1].first) - static_cast<uint64_t>(first) > kMaxOffset;
  char* fresh = static_cast<char*>(std::malloc(f.bytes(std::max(n, capacity))));
  if (fresh == nullptr) throw std::bad_alloc();
  const uint64_t address = address_of(fresh);
  std::memcpy(fresh, &first, sizeof first);
  set_count(fresh, f, n);
  if (f.has_last) std::memcpy(fresh + kLastAt, &last, sizeof last);
  for (uint32_t i = 0; i < n; ++i) write_record(fresh, f, i, entries[i].first, entries[i].second);
  release();
  set_payload(address);
}

void LeafEntries::clear_block() { rebuild(nullptr, 0, 0, last()); }

void LeafEntries::set_last(int64_t time) {
  if (has_block()) {
    char* b = block();
    if (Format::of(b).has_last) {
      if (time != kNoLast || count_of(b) > 0) {
        std::memcpy(b + kLastAt, &time, sizeof time);
        return;
      }
    } else if (time == kNoLast) {
      return;
    }
  } else if (time == last()) {
    return;
  }
  // Re-encoded: the form that holds `last` changes.
  std::vector<Entry>& all = scratch();
  const uint32_t n = size();
  for (uint32_t i = 0; i < n; ++i) all.emplace_back(this->time(i), value(i));
  rebuild(all.data(), n, n, time);
}

bool LeafEntries::append(int64_t t, double v) {
  char* b = block();
  const Format f = Format::of(b);
  if (kind_of(v) > f.kind) return false;
  if (!f.wide && static_cast<uint64_t>(t) - static_cast<uint64_t>(base_of(b)) > kMaxOffset)
    return false;
  const uint32_t n = count_of(b);
  if (n + 1 > kCountMask) throw std::length_error("LeafEntries: too many entries");
  if (f.bytes(n + 1) > malloc_usable_size(b)) {
    char* grown = static_cast<char*>(std::realloc(b, f.bytes(with_room(n + 1))));
    if (grown == nullptr) throw std::bad_alloc();
    set_payload(address_of(grown));
    b = grown;
  }
  write_record(b, f, n, t, v);
  set_count(b, f, n + 1);
  return true;
}

void LeafEntries::insert_slow(int64_t t, double v) {
  const Entry entry{t, v};
  if (empty()) {
    rebuild(&entry, 1, 1);
    return;
  }
  if (has_block() && !(entry < back()) && append(t, v)) return;  // (a block has entries here)
  // Re-encoded: an insertion before the last entry, a value or a span the block cannot hold.
  std::vector<Entry>& all = scratch();
  const uint32_t n = size();
  for (uint32_t i = 0; i < n; ++i) all.emplace_back(time(i), value(i));
  all.insert(std::upper_bound(all.begin(), all.end(), entry), entry);
  rebuild(all.data(), n + 1, with_room(n + 1));
}

void LeafEntries::assign(const std::vector<Entry>& entries) {
  const auto n = static_cast<uint32_t>(entries.size());
  rebuild(entries.data(), n, n);
}

void LeafEntries::erase_front(uint32_t n) {
  if (n == 0) return;
  const uint32_t size = this->size();
  if (n >= size) {
    clear();
    return;
  }
  char* b = block();  // two or more entries: a block
  const Format f = Format::of(b);
  const uint32_t left = size - n;
  if (left == 1) {  // inline when it can be
    const Entry last{read_time(b, f, n), read_value(b, f, n)};
    rebuild(&last, 1, 1);
    return;
  }
  // Rebased on the new oldest entry: its value, then the later (time, value) records, move to
  // the front, and their offsets shrink by the base's move.
  const int64_t base = read_time(b, f, n);
  std::memmove(b + f.header(), b + f.value_at(n), f.bytes(left) - f.header());
  if (!f.wide) {
    const auto shift =
        static_cast<uint32_t>(static_cast<uint64_t>(base) - static_cast<uint64_t>(base_of(b)));
    for (uint32_t i = 1; i < left; ++i) {
      char* at = b + f.value_at(i) - sizeof(uint32_t);
      uint32_t offset;
      std::memcpy(&offset, at, sizeof offset);
      offset -= shift;
      std::memcpy(at, &offset, sizeof offset);
    }
  }
  std::memcpy(b, &base, sizeof base);
  set_count(b, f, left);
  // Shrunk when more than half of it would be free (glibc shrinks in place).
  if (malloc_usable_size(b) > 2 * f.bytes(left)) {
    char* shrunk = static_cast<char*>(std::realloc(b, f.bytes(with_room(left))));
    if (shrunk != nullptr) set_payload(address_of(shrunk));
  }
}

void LeafEntries::keep_first() {
  if (size() <= 1) return;
  const Entry first = front();
  rebuild(&first, 1, 1);
}

bool LeafEntries::operator==(const LeafEntries& o) const {
  const uint32_t n = size();
  if (n != o.size()) return false;
  for (uint32_t i = 0; i < n; ++i)
    if (time(i) != o.time(i) || value(i) != o.value(i)) return false;
  return true;
}

}  // namespace segflow
