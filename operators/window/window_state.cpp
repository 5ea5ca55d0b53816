#include "operators/window/window_state.h"

#include <string>

namespace segflow {

void write_accumulators(StateWriter& w, const Accumulators& accs) {
  w.u64(accs.size());
  for (const Accumulator& a : accs) a.write(w);
}

Accumulators read_accumulators(StateReader& r) {
  const uint64_t n = r.u64();
  if (n > Accumulators::kMaxSize)
    throw StateFormatError("window: " + std::to_string(n) + " accumulators in a pane");
  Accumulators accs(n);
  for (Accumulator& a : accs) a = Accumulator::read(r);
  return accs;
}

void Pane::write(StateWriter& w) const {
  write_state(w, start);
  write_accumulators(w, accs);
}

Pane Pane::read(StateReader& r) {
  Pane p;
  p.start = read_state<int64_t>(r);
  p.accs = read_accumulators(r);
  return p;
}

PaneList::PaneList(PaneList&& o) noexcept
    : heap_(nullptr), head_(o.head_), size_(o.size_), capacity_(o.capacity_) {
  if (o.on_heap()) {
    heap_ = o.heap_;
  } else if (o.size_ == 1) {
    std::construct_at(&inline_, std::move(o.inline_));
    std::destroy_at(&o.inline_);
  }
  o.heap_ = nullptr;
  o.head_ = 0;
  o.size_ = 0;
  o.capacity_ = 1;
}

PaneList::~PaneList() {
  std::destroy_n(begin(), size_);
  if (on_heap()) ::operator delete(heap_);
}

Pane* PaneList::lower_bound(int64_t start) {
  // Steps of 1, 2, 4, ... back from the end until a pane starts before `start`, then a
  // binary search within the last step.
  Pane* hi = end();
  size_t step = 1;
  while (hi != begin()) {
    Pane* lo = static_cast<size_t>(hi - begin()) > step ? hi - step : begin();
    if (lo->start < start)
      return std::lower_bound(lo + 1, hi, start,
                              [](const Pane& p, int64_t s) { return p.start < s; });
    hi = lo;
    step *= 2;
  }
  return begin();
}

Pane* PaneList::emplace(Pane* pos) {
  const size_t at = static_cast<size_t>(pos - begin());
  if (head_ + size_ == capacity_) grow(std::max<uint32_t>(4, 2 * (size_ + 1)));
  Pane* b = begin();
  if (at == size_) {
    std::construct_at(b + size_);
  } else {
    std::construct_at(b + size_, std::move(b[size_ - 1]));
    std::move_backward(b + at, b + size_ - 1, b + size_);
    b[at] = Pane();
  }
  ++size_;
  return b + at;
}

void PaneList::pop_front(size_t n) {
  std::destroy_n(begin(), n);
  head_ += static_cast<uint32_t>(n);
  size_ -= static_cast<uint32_t>(n);
  if (size_ > 0) return;
  head_ = 0;
  if (on_heap()) {
    ::operator delete(heap_);
    heap_ = nullptr;
    capacity_ = 1;
  }
}

void PaneList::grow(uint32_t capacity) {
  Pane* fresh = static_cast<Pane*>(::operator new(sizeof(Pane) * capacity));
  Pane* old = begin();
  for (uint32_t i = 0; i < size_; ++i) {
    std::construct_at(fresh + i, std::move(old[i]));
    std::destroy_at(old + i);
  }
  if (on_heap()) ::operator delete(heap_);
  heap_ = fresh;
  head_ = 0;
  capacity_ = capacity;
}

void Session::write(StateWriter& w) const {
  write_state(w, start);
  write_state(w, end);
  write_state(w, fired);
  write_accumulators(w, accs);
}

Session Session::read(StateReader& r) {
  Session s;
  s.start = read_state<int64_t>(r);
  s.end = read_state<int64_t>(r);
  s.fired = read_state<bool>(r);
  s.accs = read_accumulators(r);
  return s;
}

void KeyWindows::write(StateWriter& w) const {
  w.u64(panes.size());
  for (const Pane& p : panes) p.write(w);
  write_state(w, sessions());
  write_state(w, next_start);
  write_state(w, timer);
}

KeyWindows KeyWindows::read(StateReader& r) {
  KeyWindows k;
  for (uint64_t n = r.u64(); n > 0; --n) k.panes.push_back(Pane::read(r));
  auto sessions = read_state<std::vector<Session>>(r);
  if (!sessions.empty()) k.sessions() = std::move(sessions);
  k.next_start = read_state<int64_t>(r);
  k.timer = read_state<int64_t>(r);
  return k;
}

}  // namespace segflow
