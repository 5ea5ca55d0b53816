#include "operators/nexmark/highest_bid.h"

#include <algorithm>
#include <charconv>

#include "engine/late_event.h"
#include "engine/registry.h"
#include "operators/nexmark/record_fields.h"
#include "operators/window/window_config.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("nexmark_highest_bid", HighestBid);

namespace {
constexpr uint64_t kSnapshotVersion = 1;

}  // namespace

HighestBid::Config HighestBid::Config::parse(const ConfigNode& node) {
  Config c;
  c.size_ms = node.duration_ms("size");
  if (c.size_ms <= 0) node.fail_at("size", "must be a positive duration");
  c.name = intern(node.string("name", "Highest Bid"));
  c.bid = intern("Bid");
  c.auction = intern("bid.auction");
  c.bidder = intern("bid.bidder");
  c.price = intern("bid.price");
  c.time = intern("bid.time");
  c.window_start = intern("window_start");
  c.window_end = intern("window_end");
  return c;
}

HighestBid::Window& HighestBid::window_at(int64_t start) {
  if (current_ == nullptr || current_start_ != start) {
    current_ = &windows_[start];
    current_start_ = start;
  }
  return *current_;
}

void HighestBid::process(const Batch& in, Output& /*out*/) {
  auto is_int = [](const Value* v) { return v != nullptr && v->type() == ValueType::kInt; };
  for (const Record& r : in.records()) {
    if (r.event != config_.bid && r.event != config_.name) continue;
    // The first property of each name, as Batch::find, in one pass over the properties.
    const Value *auction = nullptr, *bidder = nullptr, *price = nullptr, *time = nullptr;
    for (const Property& p : in.properties(r)) {
      const Value** field = p.name == config_.price     ? &price
                            : p.name == config_.auction ? &auction
                            : p.name == config_.bidder  ? &bidder
                            : p.name == config_.time    ? &time
                                                        : nullptr;
      if (field != nullptr && *field == nullptr) *field = &p.value;
    }
    if (!is_int(auction) || !is_int(bidder) || !is_int(price)) {
      send_malformed(ctx().dead_letters, ctx().operator_id, r,
                     "missing bid.auction, bid.bidder or bid.price");
      continue;
    }
    const int64_t start = floor_to(r.event_time, config_.size_ms);
    if (start + config_.size_ms - 1 <= fired_through_) {
      ++late_events_;
      send_late_event(ctx().dead_letters, ctx().operator_id, r, fired_through_);
      continue;
    }
    std::vector<Row>& bids = window_at(start).bids;
    const int64_t bid_price = price->as_int();
    if (!bids.empty() && bid_price < bids.front().price) continue;
    if (!bids.empty() && bid_price > bids.front().price) bids.clear();
    // A partial result carries the bid's own time.
    bids.push_back({auction->as_int(), bidder->as_int(), bid_price,
                    is_int(time) ? time->as_int() : r.event_time});
  }
}

void HighestBid::on_watermark(int64_t watermark, Output& out) {
  while (!windows_.empty() && windows_.begin()->first + config_.size_ms - 1 <= watermark) {
    const int64_t start = windows_.begin()->first;
    const int64_t end = start + config_.size_ms;
    for (const Row& row : windows_.begin()->second.bids) {
      char key[24];
      const auto [key_end, ec] = std::to_chars(key, key + sizeof key, row.auction);
      out.add(EventKind::kDerived, std::string_view(key, static_cast<size_t>(key_end - key)),
              end - 1, config_.name)
          .set(config_.auction, Value::integer(row.auction))
          .set(config_.bidder, Value::integer(row.bidder))
          .set(config_.price, Value::integer(row.price))
          .set(config_.time, Value::integer(row.time))
          .set(config_.window_start, Value::integer(start))
          .set(config_.window_end, Value::integer(end));
    }
    windows_.erase(windows_.begin());
    current_ = nullptr;
  }
  fired_through_ = std::max(fired_through_, watermark);
}

void HighestBid::Window::write(StateWriter& w) const {
  w.u64(bids.size());
  for (const Row& row : bids) {
    write_state(w, row.auction);
    write_state(w, row.bidder);
    write_state(w, row.price);
    write_state(w, row.time);
  }
}

HighestBid::Window HighestBid::Window::read(StateReader& r) {
  Window w;
  w.bids.resize(r.u64());
  for (Row& row : w.bids) {
    row.auction = read_state<int64_t>(r);
    row.bidder = read_state<int64_t>(r);
    row.price = read_state<int64_t>(r);
    row.time = read_state<int64_t>(r);
  }
  return w;
}

void HighestBid::snapshot(StateWriter& w) const {
  w.u64(kSnapshotVersion);
  write_state(w, fired_through_);
  write_state(w, windows_);
}

void HighestBid::restore(StateReader& r) {
  if (r.u64() != kSnapshotVersion) throw StateFormatError("nexmark_highest_bid: unknown version");
  fired_through_ = read_state<int64_t>(r);
  windows_ = read_state<std::map<int64_t, Window>>(r);
  current_ = nullptr;
}

}  // namespace segflow
