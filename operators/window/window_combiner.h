// WindowCombiner: the local half of local-global aggregation for a `window` operator with
// `combine: true` (tumbling and sliding windows). The runner puts it before the window's
// hash edge (LogicalGraph::insert_combiners), at the upstream's parallelism, so it chains to
// the upstream and runs before the shuffle. It folds events into per-(profile, pane)
// accumulators and forwards each pane as one partial record (window_partial.h), which the
// window operator merges as if it had added the events itself. Not keyed.
//
// Exactness: a pane is folded only while none of its windows has ended at this subtask's
// watermark, and it is forwarded before the watermark that ends its first window, so it
// reaches the window operator before any window it belongs to can fire there (the window's
// watermark is the minimum over its inputs, this one included). Every other event (behind
// the watermark: maybe late, maybe a late firing) is forwarded unchanged at once, and the
// window operator decides as without a combiner. Events the window ignores (`events`) are
// dropped here.
// Forwarded early, in order with the data: every pane when `kMaxEntries` panes are held;
// a profile's panes before an identity merge exports it (export_profile). A checkpoint
// keeps the held panes in this operator's state, and a restore (at any parallelism) sends
// them on.
// Adaptive: when the table holds fewer than 2 events per pane (checked when full and every
// `kCheckEvery` events folded: many keys, few events each), it sends everything and the next
// `kPassThroughEvents` events pass unchanged (folding them would cost more than it saves),
// then it folds again; a batch that passes whole is handed on without a copy.
// Thread safety: one instance per subtask, driven by its thread (engine/operator.h).
#pragma once

#include <cstdint>
#include <string>

#include <boost/container/small_vector.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include "engine/operator.h"
#include "engine/string_hash.h"
#include "operators/window/window_config.h"
#include "operators/window/window_partial.h"

namespace segflow {

class WindowCombiner final : public Operator {
 public:
  using Config = WindowConfig;
  static constexpr size_t kMaxEntries = size_t{1} << 16;
  static constexpr uint64_t kCheckEvery = 8192;
  static constexpr uint64_t kPassThroughEvents = 16 * kMaxEntries;

  explicit WindowCombiner(const Config& config) : config_(config) {}

  void process(const Batch& in, Output& out) override;
  void on_watermark(int64_t watermark, Output& out) override;
  void close(Output& out) override;
  // Format: version, arrival counter, then per profile its key and panes.
  void snapshot(StateWriter& w) const override;
  void restore(StateReader& r) override;
  bool merges_profiles() const override { return true; }
  void export_profile(std::string_view merged, int64_t time, StateWriter& w, Output& out) override;

  // Events folded into panes, partial records sent, events forwarded unchanged.
  uint64_t folded_events() const { return folded_; }
  uint64_t partials_sent() const { return partials_; }
  uint64_t passed_events() const { return passed_; }
  // Panes held now.
  size_t held_panes() const { return entries_; }

 private:
  using Panes = boost::container::small_vector<Pane, 1>;
  bool matches(SymbolId event) const;
  // The last instant of the first window containing the pane starting at `pane_start`.
  int64_t first_window_end(int64_t pane_start) const;
  void fold(const Batch& in, const Record& r, int64_t pane_start);
  void send(std::string_view key, const Pane& pane, Output& out);
  // Sends the panes whose first window ends at or before `watermark` (all: kMaxTime).
  void send_due(int64_t watermark, Output& out);

  const Config& config_;
  WindowPartialCodec codec_;
  boost::unordered_flat_map<std::string, Panes, StringHash, StringEq> table_;
  size_t entries_ = 0;
  // The pane of the last event and its first window's end (events mostly come in order:
  // this saves two divisions per event).
  struct {
    int64_t start = kMinTime;  // none yet
    int64_t first_window_end = kMinTime;
  } pane_;
  int64_t next_due_ = kMaxTime;          // the earliest first_window_end of a held pane
  int64_t held_ingest_ = kNoIngestTime;  // the earliest ingest stamp of the held events
  uint64_t folded_since_empty_ = 0;      // events in the held panes
  uint64_t pass_left_ = 0;               // events still to pass unchanged
  uint64_t seq_ = 0;                     // arrival counter (first/last ties)
  uint64_t folded_ = 0;
  uint64_t partials_ = 0;
  uint64_t passed_ = 0;
};

}  // namespace segflow
