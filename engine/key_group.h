// Key partitioning, as Flink's KeyGroupRangeAssignment: key -> key group
// (hash % max_parallelism) -> subtask owning a contiguous range of key groups.
// State is stored per key group, so rescaling moves whole key groups. Pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace segflow {

// 64-bit hash of a key (XXH3); stable across runs and machines.
uint64_t hash_key(std::string_view key);

// The key group of a key with hash_key `hash`: hash % max_parallelism, a mask when
// max_parallelism is a power of two (the default 128) rather than a division per record.
inline uint32_t key_group_of_hash(uint64_t hash, uint32_t max_parallelism) {
  if ((max_parallelism & (max_parallelism - 1)) == 0)
    return static_cast<uint32_t>(hash & (max_parallelism - 1));
  return static_cast<uint32_t>(hash % max_parallelism);
}

inline uint32_t key_group_of(std::string_view key, uint32_t max_parallelism) {
  return key_group_of_hash(hash_key(key), max_parallelism);
}

// The subtask that owns `key_group`.
inline uint32_t subtask_of_key_group(uint32_t key_group, uint32_t max_parallelism,
                                     uint32_t parallelism) {
  return static_cast<uint32_t>(uint64_t{key_group} * parallelism / max_parallelism);
}

// Half-open range [begin, end) of key groups owned by one subtask.
struct KeyGroupRange {
  uint32_t begin = 0;
  uint32_t end = 0;
  uint32_t size() const { return end - begin; }
  bool contains(uint32_t kg) const { return kg >= begin && kg < end; }

  static KeyGroupRange for_subtask(uint32_t subtask, uint32_t max_parallelism,
                                   uint32_t parallelism) {
    auto start = [&](uint32_t i) {
      return static_cast<uint32_t>((uint64_t{i} * max_parallelism + parallelism - 1) / parallelism);
    };
    return {start(subtask), start(subtask + 1)};
  }
};

}  // namespace segflow
