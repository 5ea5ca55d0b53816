#include "operators/segment/leaf_entries.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

namespace segflow {

// The heap block: the base time, then `capacity` times (uint32_t offsets from `base`, or
// int64_t with kWide), then, with kValues, `capacity` doubles (8-aligned). The capacity is
// not stored: the handle keeps its class (kCapacities).
struct LeafEntries::Block {
  int64_t base;
};

namespace {

constexpr uint32_t kMaxOffset = std::numeric_limits<uint32_t>::max();

// Block capacities, each about 1.5 times the one before, up to 2^32 - 1.
struct Capacities {
  uint32_t of[64] = {};
  uint8_t count = 0;
  constexpr Capacities() {
    uint64_t c = 1;
    while (c < kMaxOffset) {
      of[count++] = static_cast<uint32_t>(c);
      c = c < 4 ? c + 1 : c + c / 2;
    }
    of[count++] = kMaxOffset;
  }
};
constexpr Capacities kCapacities;

// The smallest class holding `n` entries.
uint8_t capacity_class(uint32_t n) {
  uint8_t c = 0;
  while (kCapacities.of[c] < n) ++c;
  return c;
}

bool is_one(double v) { return v == 1.0; }  // NaN: not one (stored)

size_t time_bytes(uint8_t wide) { return wide != 0 ? 8 : 4; }

size_t values_offset(uint32_t capacity, size_t tsize) {
  return sizeof(int64_t) + (capacity * tsize + 7) / 8 * 8;
}

char* times_of(void* block) { return static_cast<char*>(block) + sizeof(int64_t); }

// Every (time, value) decoded into a scratch vector reused by the slow paths of one thread.
std::vector<LeafEntries::Entry>& scratch() {
  thread_local std::vector<LeafEntries::Entry> v;
  v.clear();
  return v;
}

}  // namespace

LeafEntries::LeafEntries(std::initializer_list<Entry> entries) {
  rebuild(entries.begin(), static_cast<uint32_t>(entries.size()),
          static_cast<uint32_t>(entries.size()));
}

LeafEntries::LeafEntries(const LeafEntries& o) : tag_(o.tag_) {
  if (o.is_inline()) {
    inline_time_ = o.inline_time_;
    size_ = o.size_;
    flags_ = o.flags_;
  } else if (o.size_ > 0) {
    const std::vector<Entry> all = o.to_vector();
    rebuild(all.data(), o.size_, o.size_);
  }
}

LeafEntries::LeafEntries(LeafEntries&& o) noexcept : tag_(o.tag_) { take(o); }

void LeafEntries::take(LeafEntries& o) noexcept {
  size_ = o.size_;
  flags_ = o.flags_;
  capacity_class_ = o.capacity_class_;
  if (o.is_inline()) {
    inline_time_ = o.inline_time_;
  } else {
    block_ = o.block_;
  }
  o.block_ = nullptr;
  o.size_ = 0;
  o.flags_ = 0;
}

LeafEntries& LeafEntries::operator=(const LeafEntries& o) {
  if (this == &o) return *this;
  if (o.is_inline()) {
    release();
    inline_time_ = o.inline_time_;
    size_ = o.size_;
    flags_ = o.flags_;
  } else {
    const std::vector<Entry> all = o.to_vector();
    rebuild(all.data(), o.size_, o.size_);
  }
  return *this;
}

LeafEntries& LeafEntries::operator=(LeafEntries&& o) noexcept {
  if (this == &o) return *this;
  release();
  take(o);  // the tag stays: it names the leaf these entries belong to
  return *this;
}

int64_t LeafEntries::time(uint32_t i) const {
  if ((flags_ & kInline) != 0) return inline_time_;
  if ((flags_ & kPair) != 0) return i == 0 ? inline_time_ : inline_time_ + size_;
  const char* at = times_of(block_) + i * time_bytes(flags_ & kWide);
  if ((flags_ & kWide) != 0) {
    int64_t t;
    std::memcpy(&t, at, sizeof t);
    return t;
  }
  uint32_t offset;
  std::memcpy(&offset, at, sizeof offset);
  return block_->base + static_cast<int64_t>(offset);
}

double LeafEntries::value(uint32_t i) const {
  if ((flags_ & kValues) == 0) return 1.0;
  double v;
  std::memcpy(&v,
              reinterpret_cast<const char*>(block_) +
                  values_offset(kCapacities.of[capacity_class_], time_bytes(flags_ & kWide)) +
                  i * sizeof v,
              sizeof v);
  return v;
}

std::vector<LeafEntries::Entry> LeafEntries::to_vector() const {
  std::vector<Entry> out;
  out.reserve(size());
  for (uint32_t i = 0; i < size(); ++i) out.emplace_back(time(i), value(i));
  return out;
}

void LeafEntries::release() {
  if (!is_inline() && block_ != nullptr) std::free(block_);
  block_ = nullptr;
  size_ = 0;
  flags_ = 0;
}

void LeafEntries::clear() { release(); }

void LeafEntries::rebuild(const Entry* entries, uint32_t n, uint32_t capacity) {
  if (n == 0) {
    release();
    return;
  }
  if (n == 1 && is_one(entries[0].second)) {
    const int64_t t = entries[0].first;
    release();
    inline_time_ = t;
    size_ = 1;
    flags_ = kInline;
    return;
  }
  if (n == 2 && is_one(entries[0].second) && is_one(entries[1].second) &&
      static_cast<uint64_t>(entries[1].first) - static_cast<uint64_t>(entries[0].first) <=
          kMaxOffset) {
    const int64_t first = entries[0].first;
    const auto offset = static_cast<uint32_t>(static_cast<uint64_t>(entries[1].first) -
                                              static_cast<uint64_t>(first));
    release();
    inline_time_ = first;
    size_ = offset;
    flags_ = kPair;
    return;
  }
  uint8_t flags = 0;
  if (std::any_of(entries, entries + n, [](const Entry& e) { return !is_one(e.second); }))
    flags |= kValues;
  const int64_t base = entries[0].first;
  if (static_cast<uint64_t>(entries[n - 1].first) - static_cast<uint64_t>(base) > kMaxOffset)
    flags |= kWide;
  const uint8_t capacity_class = segflow::capacity_class(capacity);
  capacity = kCapacities.of[capacity_class];
  const size_t tsize = time_bytes(flags & kWide);
  const size_t voffset = values_offset(capacity, tsize);
  const size_t bytes = (flags & kValues) != 0 ? voffset + capacity * sizeof(double) : voffset;
  auto* block = static_cast<Block*>(std::malloc(bytes));
  if (block == nullptr) throw std::bad_alloc();
  block->base = base;
  char* times = times_of(block);
  char* values = reinterpret_cast<char*>(block) + voffset;
  for (uint32_t i = 0; i < n; ++i) {
    if ((flags & kWide) != 0) {
      std::memcpy(times + i * 8, &entries[i].first, 8);
    } else {
      const auto offset = static_cast<uint32_t>(static_cast<uint64_t>(entries[i].first) -
                                                static_cast<uint64_t>(base));
      std::memcpy(times + i * 4, &offset, 4);
    }
    if ((flags & kValues) != 0) std::memcpy(values + i * 8, &entries[i].second, 8);
  }
  release();
  block_ = block;
  size_ = n;
  flags_ = flags;
  capacity_class_ = capacity_class;
}

void LeafEntries::insert(int64_t t, double v) {
  const Entry entry{t, v};
  if (empty()) {
    rebuild(&entry, 1, 1);
    return;
  }
  const bool at_end = !(entry < back());
  if (at_end && !is_inline() && size_ < kCapacities.of[capacity_class_] &&
      ((flags_ & kValues) != 0 || is_one(v)) &&
      ((flags_ & kWide) != 0 ||
       static_cast<uint64_t>(t) - static_cast<uint64_t>(block_->base) <= kMaxOffset)) {
    char* times = times_of(block_);
    if ((flags_ & kWide) != 0) {
      std::memcpy(times + size_ * 8, &t, 8);
    } else {
      const auto offset =
          static_cast<uint32_t>(static_cast<uint64_t>(t) - static_cast<uint64_t>(block_->base));
      std::memcpy(times + size_ * 4, &offset, 4);
    }
    if ((flags_ & kValues) != 0)
      std::memcpy(reinterpret_cast<char*>(block_) +
                      values_offset(kCapacities.of[capacity_class_], time_bytes(flags_ & kWide)) +
                      size_ * 8,
                  &v, 8);
    ++size_;
    return;
  }
  // Re-encoded: grown by half, rebased on the oldest entry, or with values or wide times.
  std::vector<Entry>& all = scratch();
  for (uint32_t i = 0; i < size(); ++i) all.emplace_back(time(i), value(i));
  all.insert(std::upper_bound(all.begin(), all.end(), entry), entry);
  const auto n = static_cast<uint32_t>(all.size());
  rebuild(all.data(), n, n);  // capacity classes grow by half
}

void LeafEntries::assign(const std::vector<Entry>& entries) {
  const auto n = static_cast<uint32_t>(entries.size());
  rebuild(entries.data(), n, n);
}

void LeafEntries::erase_front(uint32_t n) {
  if (n == 0) return;
  const uint32_t size = this->size();
  if (n >= size) {
    release();
    return;
  }
  const uint32_t left = size - n;
  // Inline (or from inline), or shrunk to fit.
  if (left <= 2 || is_inline() || left * 4 < kCapacities.of[capacity_class_]) {
    std::vector<Entry>& rest = scratch();
    for (uint32_t i = n; i < size; ++i) rest.emplace_back(time(i), value(i));
    rebuild(rest.data(), left, left);
    return;
  }
  const size_t tsize = time_bytes(flags_ & kWide);
  char* times = times_of(block_);
  std::memmove(times, times + n * tsize, left * tsize);
  if ((flags_ & kValues) != 0) {
    char* values =
        reinterpret_cast<char*>(block_) + values_offset(kCapacities.of[capacity_class_], tsize);
    std::memmove(values, values + n * 8, left * 8);
  }
  size_ = left;
}

void LeafEntries::keep_first() {
  if (size() <= 1) return;
  const Entry first = front();
  rebuild(&first, 1, 1);
}

bool LeafEntries::operator==(const LeafEntries& o) const {
  if (size() != o.size()) return false;
  for (uint32_t i = 0; i < size(); ++i)
    if (time(i) != o.time(i) || value(i) != o.value(i)) return false;
  return true;
}

}  // namespace segflow
