// NexmarkSource (`type: nexmark`): the Nexmark benchmark's Person / Auction / Bid stream
// (nexmark_model.h), deterministic for a seed. Thread safety: one instance per subtask.
//
// Keys (all optional):
//   seed        integer >= 0, default 1
//   events      events to emit in total, then end; 0 (default) = until the job stops
//   event_rate  events per second of event time (spacing of the event timestamps), default
//               10,000,000 (the rate of the published Flink runs)
//   start       event time of event 0, ISO-8601, default 2024-01-01T00:00:00Z
//   rate        events per second of processing time for the whole source; 0 (default) =
//               as fast as possible
//   bid_key     what a bid record's key is: `auction` (default) or `bidder`; persons are
//               keyed by their id, auctions by theirs
//
// Parallelism: subtask i of p emits the event numbers n with n % p == i, in order, so each
// subtask's stream is in event-time order and the union over subtasks is the same events
// at any p.
//
// Records: kind track, event "Person" / "Auction" / "Bid", event time as the model's,
// properties (integers unless noted; money in cents; strings as noted):
//   Person:  person.id, person.name, person.email, person.credit_card, person.city,
//            person.state, person.extra (strings but the id)
//   Auction: auction.id, auction.item_name (string), auction.description (string),
//            auction.initial_bid, auction.reserve, auction.expires (ms), auction.seller,
//            auction.category, auction.extra (string)
//   Bid:     bid.auction, bid.bidder, bid.price, bid.channel, bid.url, bid.extra (strings)
#pragma once

#include <cstdint>

#include "connectors/nexmark/nexmark_model.h"
#include "engine/config_node.h"
#include "engine/operator.h"

namespace segflow {

class NexmarkSource final : public Source {
 public:
  struct Config {
    nexmark::ModelConfig model;
    uint64_t events = 0;  // 0: unbounded
    double rate = 0;      // events/s of processing time; 0: unpaced
    bool bid_key_bidder = false;
    static Config parse(const ConfigNode& node);
  };

  static constexpr uint32_t kRecordsPerPoll = 512;

  explicit NexmarkSource(const Config& config);
  void open(OperatorContext& ctx) override;
  SourceStatus poll(Output& out) override;
  // The state is the next event number: a restored source continues where it stopped.
  void snapshot(StateWriter& w) const override;
  void restore(StateReader& r) override;

 private:
  struct Symbols {
    SymbolId person, auction, bid;
    SymbolId person_id, name, email, credit_card, city, state, person_extra;
    SymbolId auction_id, item_name, description, initial_bid, reserve, expires, seller, category,
        auction_extra;
    SymbolId bid_auction, bid_bidder, price, channel, url, bid_extra;
  };

  void emit(const nexmark::Event& e, Output& out) const;
  // Throws StateFormatError unless the restored state was taken at this parallelism.
  void check_restored_step() const;

  Config config_;
  nexmark::NexmarkModel model_;
  Symbols symbols_{};
  nexmark::Event event_;
  uint64_t next_ = 0;  // next event number this subtask emits
  uint64_t step_ = 1;  // the source parallelism
  uint64_t end_ = UINT64_MAX;
  double rate_ = 0;  // this subtask's share of `rate`
  int64_t pace_start_ms_ = -1;
  uint64_t paced_ = 0;
  bool opened_ = false;
  bool restored_ = false;  // restore() ran: keep next_
  uint64_t restored_step_ = 0;
};

}  // namespace segflow
