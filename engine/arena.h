// Arena: bump allocator for the string bytes of a Batch. reset() keeps the largest block,
// so a recycled batch stops allocating once it has seen its working size. store() is
// inline: its common case is a bounds check and a memcpy.
// Thread safety: none; owned by one Batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace segflow {

class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Copies `s` into the arena; the view stays valid until reset().
  std::string_view store(std::string_view s) {
    if (s.size() > static_cast<size_t>(end_ - next_)) return store_in_new_block(s);
    if (s.empty()) return {};
    char* p = next_;
    copy(p, s.data(), s.size());
    next_ += s.size();
    return {p, s.size()};
  }
  // Frees everything but the largest block.
  void reset();
  size_t bytes_used() const;

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    size_t capacity = 0;
  };
  static constexpr size_t kMinBlock = 16 * 1024;
  // memcpy, inline for the short strings most are (keys, names): overlapping word moves.
  static void copy(char* to, const char* from, size_t n) {
    if (n >= 8 && n <= 16) {
      uint64_t head, tail;
      std::memcpy(&head, from, 8);
      std::memcpy(&tail, from + n - 8, 8);
      std::memcpy(to, &head, 8);
      std::memcpy(to + n - 8, &tail, 8);
      return;
    }
    std::memcpy(to, from, n);
  }
  std::string_view store_in_new_block(std::string_view s);

  std::vector<Block> blocks_;  // the last one is being filled
  char* next_ = nullptr;
  char* end_ = nullptr;
  size_t used_in_full_blocks_ = 0;
};

}  // namespace segflow
