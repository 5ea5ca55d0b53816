// Partial window aggregates: what a WindowCombiner (window_combiner.h) sends to a `window`
// operator instead of the events it folded. One record per (profile, pane): kind derived,
// key = profile, event_time = pane start, event `segflow.window.partial`, one property
// `segflow.window.accumulators` holding the pane's accumulators in the state codec
// (window_state.h). Both names are reserved. Thread safety: one instance per subtask.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/output.h"
#include "operators/window/window_state.h"

namespace segflow {

class WindowPartialCodec {
 public:
  WindowPartialCodec();

  void emit(Output& out, std::string_view key, int64_t pane_start, const Accumulators& accs) const;
  bool is_partial(const Record& r) const {
    return r.kind == EventKind::kDerived && r.event == event_;
  }
  // The accumulators of partial `r` (is_partial(r)); false when it carries none or they do
  // not decode into `aggregates` accumulators.
  bool read(const Batch& in, const Record& r, size_t aggregates, Accumulators& accs) const;

 private:
  SymbolId event_;
  SymbolId property_;
};

}  // namespace segflow
