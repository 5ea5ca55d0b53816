#include "engine/key_arena.h"

namespace segflow {

uint64_t KeyArena::add(std::string_view key) {
  if (bytes_.capacity() - bytes_.size() < key.size() + 10)
    bytes_.reserve(bytes_.size() + bytes_.size() / 4 + key.size() + 64);
  const uint64_t offset = bytes_.size();
  for (size_t n = key.size();; n >>= 7) {
    if (n < 0x80) {
      bytes_.push_back(static_cast<char>(n));
      break;
    }
    bytes_.push_back(static_cast<char>((n & 0x7f) | 0x80));
  }
  bytes_.append(key);
  return offset;
}

std::string_view KeyArena::at(uint64_t offset, size_t* stored) const {
  size_t n = 0;
  size_t pos = offset;
  for (int shift = 0;; shift += 7) {
    const auto b = static_cast<unsigned char>(bytes_[pos++]);
    n |= static_cast<size_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) break;
  }
  if (stored != nullptr) *stored = pos - offset + n;
  return {bytes_.data() + pos, n};
}

void KeyArena::drop(uint64_t offset) {
  size_t stored = 0;
  at(offset, &stored);
  garbage_ += stored;
}

void KeyArena::clear() {
  bytes_.clear();
  garbage_ = 0;
}

}  // namespace segflow
