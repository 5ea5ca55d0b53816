#include "engine/arena.h"

#include <algorithm>
#include <cstring>

namespace segflow {

char* Arena::allocate(size_t n) {
  if (blocks_.empty() || blocks_.back().capacity - blocks_.back().used < n) {
    const size_t last = blocks_.empty() ? 0 : blocks_.back().capacity;
    const size_t capacity = std::max({kMinBlock, n, last * 2});
    blocks_.push_back(Block{std::make_unique<char[]>(capacity), capacity, 0});
  }
  Block& b = blocks_.back();
  char* p = b.data.get() + b.used;
  b.used += n;
  used_total_ += n;
  return p;
}

std::string_view Arena::store(std::string_view s) {
  if (s.empty()) return {};
  char* p = allocate(s.size());
  std::memcpy(p, s.data(), s.size());
  return {p, s.size()};
}

void Arena::reset() {
  if (blocks_.size() > 1) {
    auto largest =
        std::max_element(blocks_.begin(), blocks_.end(),
                         [](const Block& a, const Block& b) { return a.capacity < b.capacity; });
    Block keep = std::move(*largest);
    blocks_.clear();
    blocks_.push_back(std::move(keep));
  }
  if (!blocks_.empty()) blocks_.back().used = 0;
  used_total_ = 0;
}

}  // namespace segflow
