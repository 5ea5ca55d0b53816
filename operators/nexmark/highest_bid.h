// HighestBid (`type: nexmark_highest_bid`): Nexmark q7, the highest bid of each tumbling
// event-time window of `size`. Takes records with event "Bid" (and records of its own
// output event `name`, so a second instance can merge the partial results of parallel
// first instances); keeps per window the highest `bid.price` and every bid that has it,
// and when the watermark passes the window (end - 1) emits each such bid: kind derived,
// key = the auction, event time end - 1, event `name`, properties bid.auction, bid.bidder,
// bid.price, bid.time (the bid's own event time), window_start, window_end. A max over
// all keys that returns the bid's other fields is not what `type: window` computes, hence
// this operator. Run at any parallelism, then once more at parallelism 1 for the global
// result (jobs/nexmark/q7.yaml). A bid lacking an integer bid.price, bid.auction or
// bid.bidder goes to the dead-letter output, and so does a bid for a window that has
// fired ("late event"). Thread safety: one instance per subtask.
//
// Keys: size (duration, required), name (default "Highest Bid").
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "engine/config_node.h"
#include "engine/operator.h"

namespace segflow {

class HighestBid final : public Operator {
 public:
  struct Config {
    int64_t size_ms = 0;
    SymbolId name = kNoSymbol;
    SymbolId bid = kNoSymbol;
    SymbolId auction = kNoSymbol, bidder = kNoSymbol, price = kNoSymbol, time = kNoSymbol;
    SymbolId window_start = kNoSymbol, window_end = kNoSymbol;
    static Config parse(const ConfigNode& node);
  };

  explicit HighestBid(const Config& config) : config_(config) {}
  void process(const Batch& in, Output& out) override;
  void on_watermark(int64_t watermark, Output& out) override;
  void snapshot(StateWriter& w) const override;
  void restore(StateReader& r) override;

  uint64_t late_events() const { return late_events_; }

 private:
  struct Row {
    int64_t auction, bidder, price, time;
  };
  // One window's highest bids so far.
  struct Window {
    std::vector<Row> bids;
    void write(StateWriter& w) const;
    static Window read(StateReader& r);
  };

  // The window starting at `start`, created if new: consecutive bids mostly fall in the
  // same window, which is then found without a map lookup.
  Window& window_at(int64_t start);

  const Config& config_;
  std::map<int64_t, Window> windows_;  // by window start
  Window* current_ = nullptr;          // windows_[current_start_], until a window is erased
  int64_t current_start_ = 0;
  int64_t fired_through_ = kMinTime;
  uint64_t late_events_ = 0;
};

}  // namespace segflow
