#include "engine/arena.h"

#include <algorithm>

namespace segflow {

std::string_view Arena::store_in_new_block(std::string_view s) {
  const size_t last = blocks_.empty() ? 0 : blocks_.back().capacity;
  if (!blocks_.empty())
    used_in_full_blocks_ += static_cast<size_t>(next_ - blocks_.back().data.get());
  const size_t capacity = std::max({kMinBlock, s.size(), last * 2});
  blocks_.push_back(Block{std::make_unique<char[]>(capacity), capacity});
  next_ = blocks_.back().data.get();
  end_ = next_ + capacity;
  return store(s);
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
  used_in_full_blocks_ = 0;
  next_ = blocks_.empty() ? nullptr : blocks_.back().data.get();
  end_ = blocks_.empty() ? nullptr : next_ + blocks_.back().capacity;
}

size_t Arena::bytes_used() const {
  if (blocks_.empty()) return 0;
  return used_in_full_blocks_ + static_cast<size_t>(next_ - blocks_.back().data.get());
}

}  // namespace segflow
