// KeyArena: keys copied one after another into one buffer (a length varint, then the
// bytes), each named by its offset: the key store of an operator's queue of (time, key)
// pairs, so that a pair costs its key's bytes and a length byte and no allocation of its
// own. The owner drop()s a key when its pair leaves and, when wants_compaction() says the
// dropped bytes are a quarter of the buffer, compact()s it with the offsets still in use.
// The buffer grows by a quarter, not double: its slack is per key of the operator's state.
// Thread safety: a plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace segflow {

class KeyArena {
 public:
  // Copies `key` in; returns its offset.
  uint64_t add(std::string_view key);
  // The key at `offset`, valid until the next add, compact or clear.
  std::string_view at(uint64_t offset) const { return at(offset, nullptr); }
  // Counts the key at `offset` as dropped.
  void drop(uint64_t offset);
  bool wants_compaction() const { return garbage_ > 4096 && garbage_ * 4 > bytes_.size(); }
  // Rewrites the buffer with the live keys only: `for_each_live(remap)` must call
  // remap(uint64_t& offset) once on every offset still in use, which updates it.
  template <class ForEachLive>
  void compact(ForEachLive for_each_live) {
    KeyArena fresh;
    const size_t live = bytes_.size() - garbage_;
    fresh.bytes_.reserve(live + live / 4 + 64);
    for_each_live([&](uint64_t& offset) { offset = fresh.add(at(offset)); });
    *this = std::move(fresh);
  }
  void clear();

 private:
  // The key at `offset`; *stored (if given): the bytes it takes with its length.
  std::string_view at(uint64_t offset, size_t* stored) const;

  std::string bytes_;
  size_t garbage_ = 0;  // bytes of dropped keys
};

}  // namespace segflow
