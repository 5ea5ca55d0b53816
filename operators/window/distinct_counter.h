// DistinctCounter: the mergeable state of count_distinct. Exact (a sorted set of the values'
// canonical forms) up to `exact_limit` values, then a HyperLogLog sketch of 2^12 registers
// (4 KiB; relative standard error 1.04/sqrt(4096) = 1.6%, documented in README "Windows").
// Thread safety: a plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/state_io.h"
#include "engine/value.h"

namespace segflow {

class DistinctCounter {
 public:
  static constexpr int kPrecision = 12;
  static constexpr size_t kRegisters = size_t{1} << kPrecision;

  // Adds a non-null value: numbers compare by numeric value (1 == 1.0, as SQL), strings by
  // bytes, and a number never equals a string.
  void add(const Value& v, size_t exact_limit);
  void merge(const DistinctCounter& o, size_t exact_limit);
  // Exact while exact(); the HyperLogLog estimate (rounded) after.
  uint64_t estimate() const;
  bool exact() const { return registers_.empty(); }
  bool empty() const { return values_.empty() && registers_.empty(); }

  void write(StateWriter& w) const;
  static DistinctCounter read(StateReader& r);

 private:
  void insert_canonical(std::string canonical, size_t exact_limit);
  void to_sketch();
  void add_hash(uint64_t h);

  std::vector<std::string> values_;  // sorted, unique; while exact
  std::vector<uint8_t> registers_;   // HyperLogLog registers; empty while exact
};

}  // namespace segflow
