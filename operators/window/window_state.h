// The keyed state of a `window` operator for one profile: pane accumulators (tumbling and
// sliding windows are combined from panes of gcd(size, slide)), open sessions, how far its
// windows have fired, and its pending timer. Mergeable: every part is a set of accumulators.
// Thread safety: a plain value type, owned by one subtask's keyed state.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "engine/record.h"
#include "engine/state_io.h"
#include "operators/window/accumulator.h"

namespace segflow {

// One accumulator per configured aggregate; up to two inline (no allocation per pane for
// e.g. count + sum), behind an 8-byte header. The size is fixed at construction.
class Accumulators {
 public:
  static constexpr size_t kInline = 2;
  // Decoding refuses more (a window config allows as many: window_config.cpp).
  static constexpr size_t kMaxSize = 1024;

  Accumulators() : heap_(nullptr) {}
  explicit Accumulators(size_t n) : size_(static_cast<uint32_t>(n)) {
    if (n > kInline)
      heap_ = new Accumulator[n];
    else
      for (size_t i = 0; i < n; ++i) std::construct_at(&inline_[i]);
  }
  Accumulators(const Accumulators& o) : Accumulators(o.size()) {
    std::copy(o.begin(), o.end(), begin());
  }
  Accumulators(Accumulators&& o) noexcept : size_(o.size_) {
    if (o.size_ > kInline) {
      heap_ = o.heap_;
      o.size_ = 0;
    } else {
      for (size_t i = 0; i < size_; ++i) std::construct_at(&inline_[i], std::move(o.inline_[i]));
    }
  }
  Accumulators& operator=(const Accumulators& o) {
    if (this != &o) *this = Accumulators(o);
    return *this;
  }
  Accumulators& operator=(Accumulators&& o) noexcept {
    if (this != &o) {
      this->~Accumulators();
      std::construct_at(this, std::move(o));
    }
    return *this;
  }
  ~Accumulators() {
    if (size_ > kInline)
      delete[] heap_;
    else
      std::destroy_n(inline_, size_);
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  Accumulator* begin() { return size_ > kInline ? heap_ : inline_; }
  Accumulator* end() { return begin() + size_; }
  const Accumulator* begin() const { return size_ > kInline ? heap_ : inline_; }
  const Accumulator* end() const { return begin() + size_; }
  Accumulator& operator[](size_t i) { return begin()[i]; }
  const Accumulator& operator[](size_t i) const { return begin()[i]; }

 private:
  uint32_t size_ = 0;
  union {
    Accumulator inline_[kInline];
    Accumulator* heap_;
  };
};
void write_accumulators(StateWriter& w, const Accumulators& accs);
Accumulators read_accumulators(StateReader& r);

struct Pane {
  int64_t start = 0;  // [start, start + pane)
  Accumulators accs;
  void write(StateWriter& w) const;
  static Pane read(StateReader& r);
};

// The panes of one profile, ascending start: a vector with one pane inline (a tumbling
// window's profile allocates nothing) whose removal at the front is O(1), so a sliding window
// that drops its oldest pane per result does not move the others. Iterators are pointers;
// emplace() invalidates them. Move-only.
class PaneList {
 public:
  PaneList() : heap_(nullptr) {}
  PaneList(PaneList&& o) noexcept;
  PaneList& operator=(PaneList&& o) noexcept {
    if (this != &o) {
      this->~PaneList();
      std::construct_at(this, std::move(o));
    }
    return *this;
  }
  ~PaneList();

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  Pane* begin() { return data() + head_; }
  Pane* end() { return begin() + size_; }
  const Pane* begin() const { return data() + head_; }
  const Pane* end() const { return begin() + size_; }
  Pane& operator[](size_t i) { return begin()[i]; }
  const Pane& operator[](size_t i) const { return begin()[i]; }
  const Pane& front() const { return *begin(); }
  Pane& back() { return end()[-1]; }

  // The first pane starting at or after `start`. Searched from the back (galloping): the
  // panes an event or a fired window looks for are mostly the newest, and the old ones,
  // not touched, stay out of the cache.
  Pane* lower_bound(int64_t start);
  const Pane* lower_bound(int64_t start) const {
    return const_cast<PaneList*>(this)->lower_bound(start);
  }
  // Inserts an empty pane before `pos` and returns it.
  Pane* emplace(Pane* pos);
  Pane* insert(Pane* pos, Pane pane) {
    Pane* at = emplace(pos);
    *at = std::move(pane);
    return at;
  }
  void push_back(Pane pane) { insert(end(), std::move(pane)); }
  // Removes the first n panes (n <= size()).
  void pop_front(size_t n);

 private:
  bool on_heap() const { return capacity_ > 1; }
  Pane* data() { return on_heap() ? heap_ : &inline_; }
  const Pane* data() const { return on_heap() ? heap_ : &inline_; }
  // Moves the panes to the start of a new heap buffer of `capacity` (> 1).
  void grow(uint32_t capacity);

  union {
    Pane inline_;
    Pane* heap_;
  };
  uint32_t head_ = 0;  // panes [head_, head_ + size_) of data() are live
  uint32_t size_ = 0;
  uint32_t capacity_ = 1;
};

struct Session {
  int64_t start = 0;  // first event time
  int64_t end = 0;    // last event time + gap (exclusive)
  bool fired = false;
  Accumulators accs;
  void write(StateWriter& w) const;
  static Session read(StateReader& r);
};

inline constexpr int64_t kNoTimer = kMinTime;

// Field order: what every event reads first (next to the key in the state's table), the
// panes next, the session list (behind a pointer, unused by panes) last.
struct KeyWindows {
  // Sliding/tumbling: every window starting before this has fired or passed.
  int64_t next_start = kMinTime;
  int64_t timer = kNoTimer;  // the registered event-time timer, if any

  // Not part of snapshots: partial merges that make a fired sliding window cost O(1)
  // amortised instead of size/slide pane merges. A window [s, s + size) not aligned to
  // size spans the blocks [b, b + size) and [b + size, b + 2 size), b = floor(s / size):
  // its result is the merge of a suffix of the first block and a prefix of the second.
  // Dropped whenever a pane they cover changes. Allocated only by sliding windows that use
  // it, so tumbling and session state stays small.
  struct SlideCache {
    int64_t suffix_block = kMinTime;
    // (pane start, merge of the block's panes from it to the block's end), ascending.
    std::vector<std::pair<int64_t, Accumulators>> suffix;
    int64_t prefix_block = kMinTime;
    int64_t prefix_end = 0;  // `prefix` merges the block's panes in [block, prefix_end)
    Accumulators prefix;
  };
  std::unique_ptr<SlideCache> cache;
  PaneList panes;
  // Session windows, ascending start, disjoint; behind a pointer so that pane state stays
  // small.
  std::vector<Session>& sessions() {
    if (!sessions_) sessions_ = std::make_unique<std::vector<Session>>();
    return *sessions_;
  }
  const std::vector<Session>& sessions() const {
    static const std::vector<Session> kNone;
    return sessions_ ? *sessions_ : kNone;
  }

  bool empty() const { return panes.empty() && (!sessions_ || sessions_->empty()); }
  void write(StateWriter& w) const;
  static KeyWindows read(StateReader& r);

 private:
  std::unique_ptr<std::vector<Session>> sessions_;
};

}  // namespace segflow
