// HotItems (`type: nexmark_hot_items`): the second half of Nexmark q5. Its input is the
// per-auction counts of a sliding `type: window` (records keyed by auction with
// `window_start`, `window_end` and the count property); for each window it keeps the
// highest count and the auctions that reach it, and when the watermark passes the window
// (end - 1) emits one record per such auction: kind derived, key = the auction, event time
// end - 1, event `name`, properties window_start, window_end and the count. The max over
// all keys of a window is not a keyed aggregate, hence this operator; run it at
// parallelism 1 so it sees every auction. Input for a window that already fired goes to
// the dead-letter output ("late event"). Thread safety: one instance per subtask.
//
// Keys: count (the count property's name, default "bids"), name (default "Hot Item").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/config_node.h"
#include "engine/operator.h"

namespace segflow {

class HotItems final : public Operator {
 public:
  struct Config {
    SymbolId count = kNoSymbol;
    SymbolId name = kNoSymbol;
    SymbolId window_start = kNoSymbol;
    SymbolId window_end = kNoSymbol;
    static Config parse(const ConfigNode& node);
  };

  explicit HotItems(const Config& config) : config_(config) {}
  void process(const Batch& in, Output& out) override;
  void on_watermark(int64_t watermark, Output& out) override;
  void snapshot(StateWriter& w) const override;
  void restore(StateReader& r) override;

  uint64_t late_events() const { return late_events_; }

 private:
  // One window's leaders so far.
  struct Window {
    int64_t start = 0;
    int64_t max = 0;
    std::vector<std::string> auctions;
    void write(StateWriter& w) const;
    static Window read(StateReader& r);
  };

  const Config& config_;
  std::map<int64_t, Window> windows_;  // by window end
  int64_t fired_through_ = kMinTime;   // windows ending at or before this + 1 have fired
  uint64_t late_events_ = 0;
};

}  // namespace segflow
