#include "operators/window/distinct_counter.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>

#include "engine/key_group.h"

namespace segflow {

namespace {

std::string canonical(const Value& v) {
  if (v.is_string()) return "s" + std::string(v.as_string());
  const double d = *v.number();
  char buf[40];
  buf[0] = 'n';
  const auto [end, ec] = std::to_chars(buf + 1, buf + sizeof buf, d);
  return std::string(buf, end);
}

}  // namespace

void DistinctCounter::add(const Value& v, size_t exact_limit) {
  if (v.is_null()) return;
  insert_canonical(canonical(v), exact_limit);
}

void DistinctCounter::insert_canonical(std::string c, size_t exact_limit) {
  if (!exact()) {
    add_hash(hash_key(c));
    return;
  }
  const auto it = std::lower_bound(values_.begin(), values_.end(), c);
  if (it != values_.end() && *it == c) return;
  values_.insert(it, std::move(c));
  if (values_.size() > exact_limit) to_sketch();
}

void DistinctCounter::to_sketch() {
  registers_.assign(kRegisters, 0);
  for (const std::string& c : values_) add_hash(hash_key(c));
  values_.clear();
  values_.shrink_to_fit();
}

void DistinctCounter::add_hash(uint64_t h) {
  const size_t index = h >> (64 - kPrecision);
  const uint64_t rest = h << kPrecision;
  const auto rank =
      static_cast<uint8_t>(rest == 0 ? 64 - kPrecision + 1 : std::countl_zero(rest) + 1);
  registers_[index] = std::max(registers_[index], rank);
}

void DistinctCounter::merge(const DistinctCounter& o, size_t exact_limit) {
  if (o.exact()) {
    for (const std::string& c : o.values_) insert_canonical(c, exact_limit);
    return;
  }
  if (exact()) to_sketch();
  for (size_t i = 0; i < kRegisters; ++i) registers_[i] = std::max(registers_[i], o.registers_[i]);
}

uint64_t DistinctCounter::estimate() const {
  if (exact()) return values_.size();
  const double m = static_cast<double>(kRegisters);
  double sum = 0;
  size_t zeros = 0;
  for (uint8_t r : registers_) {
    sum += std::ldexp(1.0, -r);
    zeros += r == 0 ? 1 : 0;
  }
  const double alpha = 0.7213 / (1 + 1.079 / m);
  double e = alpha * m * m / sum;
  if (e <= 2.5 * m && zeros > 0) e = m * std::log(m / static_cast<double>(zeros));  // small range
  return static_cast<uint64_t>(std::llround(e));
}

void DistinctCounter::write(StateWriter& w) const {
  write_state(w, values_);
  write_state(w, registers_);
}

DistinctCounter DistinctCounter::read(StateReader& r) {
  DistinctCounter d;
  d.values_ = read_state<std::vector<std::string>>(r);
  d.registers_ = read_state<std::vector<uint8_t>>(r);
  return d;
}

}  // namespace segflow
