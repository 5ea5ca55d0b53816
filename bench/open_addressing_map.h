// OpenAddressingMap: the plain hash map of the hand-written limit loops (limit_bench.cpp):
// one flat array of slots, linear probing, doubling at half full, no deletion. Deliberately
// minimal: it is the yardstick the engine's keyed state is compared against.
// Thread safety: none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace segflow::bench {

// `Key` must be default-constructible and comparable with `Lookup`; `Hash` hashes both.
template <class Key, class Value, class Hash, class Lookup = Key>
class OpenAddressingMap {
 public:
  explicit OpenAddressingMap(size_t capacity = 1024) { slots_.resize(round_up(capacity)); }

  // The value of `key`, default-constructed on first use.
  Value& operator[](const Lookup& key) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    Slot& s = probe(key, Hash{}(key));
    if (!s.used) {
      s.used = true;
      s.key = Key(key);
      ++size_;
    }
    return s.value;
  }

  size_t size() const { return size_; }

  template <class F>
  void for_each(F&& f) {
    for (Slot& s : slots_)
      if (s.used) f(s.key, s.value);
  }

 private:
  struct Slot {
    Key key{};
    Value value{};
    bool used = false;
  };

  static size_t round_up(size_t n) {
    size_t c = 16;
    while (c < n) c *= 2;
    return c;
  }

  Slot& probe(const Lookup& key, size_t hash) {
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask)
      if (!slots_[i].used || slots_[i].key == key) return slots_[i];
  }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (Slot& s : old)
      if (s.used) {
        Slot& to = probe(s.key, Hash{}(s.key));
        to = std::move(s);
      }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

// A multiplicative hash for integer keys (Fibonacci hashing, high bits folded down).
struct IntHash {
  size_t operator()(int64_t v) const {
    const uint64_t h = static_cast<uint64_t>(v) * 0x9e3779b97f4a7c15ULL;
    return static_cast<size_t>(h ^ (h >> 32));
  }
};

}  // namespace segflow::bench
