#include "operators/segment/leaf_table.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace segflow {

void LeafState::write(StateWriter& w) const {
  write_state(w, entries.to_vector());
  write_state(w, last());
}

LeafState LeafState::read(StateReader& r) {
  LeafState s;
  const auto entries = read_state<std::vector<LeafEntries::Entry>>(r);
  for (const auto& [time, value] : entries) s.entries.insert(time, value);
  s.set_last(read_state<int64_t>(r));
  return s;
}

void LeafTable::Index::cover(uint32_t n) {
  const uint32_t had = size();
  if (n <= had) return;
  const uint32_t length = std::min<uint32_t>(std::max(n, had + had / 2), kMaxIds);
  auto* grown = static_cast<uint16_t*>(std::realloc(block_, sizeof(uint16_t) * (1 + length)));
  if (grown == nullptr) throw std::bad_alloc();
  block_ = grown;
  std::memset(block_ + 1 + had, 0, sizeof(uint16_t) * (length - had));
  block_[0] = static_cast<uint16_t>(length);
}

void LeafTable::Index::copy(const Index& o) {
  if (o.block_ == nullptr) return;
  const size_t bytes = sizeof(uint16_t) * (1 + o.size());
  block_ = static_cast<uint16_t*>(std::malloc(bytes));
  if (block_ == nullptr) throw std::bad_alloc();
  std::memcpy(block_, o.block_, bytes);
}

void LeafTable::index_all() {
  index_.clear();
  uint32_t top = 0;
  for (const LeafState& s : slots_) top = std::max(top, s.id());
  index_.cover(top + 1);
  for (uint32_t i = 0; i < slots_.size(); ++i)
    index_[slots_[i].id()] = static_cast<uint16_t>(i + 1);
}

void LeafTable::reindex() {
  if (slots_.size() <= kLinearMax / 2) {
    index_.clear();
    return;
  }
  index_.zero();
  for (uint32_t i = 0; i < slots_.size(); ++i)
    index_[slots_[i].id()] = static_cast<uint16_t>(i + 1);
}

LeafState& LeafTable::get_or_create(uint32_t id) {
  if (LeafState* s = find(id)) return *s;
  // A table past the searched form doubles: a profile read by hundreds of rules reaches its
  // size in a few moves of its states.
  if (slots_.size() == slots_.capacity() && slots_.size() >= kLinearMax)
    slots_.reserve(2 * slots_.size());
  LeafState& s = slots_.emplace_back();
  s.entries.set_tag(static_cast<uint16_t>(id));
  if (!index_.empty()) {
    if (id >= index_.size()) index_.cover(id + 1);
    index_[id] = static_cast<uint16_t>(slots_.size());
  } else if (slots_.size() > kLinearMax) {
    index_all();
  }
  return slots_.back();
}

void LeafTable::erase(uint32_t id) {
  const int64_t at = position(id);
  if (at < 0) return;
  const auto i = static_cast<uint32_t>(at);
  const uint32_t last = slots_.size() - 1;
  if (i != last) {
    const uint32_t moved = slots_[last].id();
    slots_[i].entries = std::move(slots_[last].entries);  // keeps slot i's tag; `last` moves
    slots_[i].entries.set_tag(static_cast<uint16_t>(moved));
    if (!index_.empty()) index_[moved] = static_cast<uint16_t>(i + 1);
  }
  if (!index_.empty()) index_[id] = 0;
  slots_.pop_back();
  drop_index_if_small();
}

std::vector<uint32_t> LeafTable::sorted_ids() const {
  std::vector<uint32_t> ids;
  ids.reserve(slots_.size());
  for (const LeafState& s : slots_) ids.push_back(s.id());
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace segflow
