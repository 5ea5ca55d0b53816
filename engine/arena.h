// Arena: bump allocator for the string bytes of a Batch. reset() keeps the largest block,
// so a recycled batch stops allocating once it has seen its working size.
// Thread safety: none; owned by one Batch.
#pragma once

#include <cstddef>
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
  std::string_view store(std::string_view s);
  // Frees everything but the largest block.
  void reset();
  size_t bytes_used() const { return used_total_; }

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    size_t capacity = 0;
    size_t used = 0;
  };
  static constexpr size_t kMinBlock = 16 * 1024;
  char* allocate(size_t n);

  std::vector<Block> blocks_;
  size_t used_total_ = 0;
};

}  // namespace segflow
