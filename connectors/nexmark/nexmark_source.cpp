#include "connectors/nexmark/nexmark_source.h"

#include <algorithm>
#include <charconv>
#include <string>

#include "connectors/json/iso8601.h"
#include "engine/registry.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("nexmark", NexmarkSource);

using nexmark::EventType;

namespace {

constexpr uint64_t kSnapshotVersion = 1;
constexpr double kMaxRate = 1e9;

Value str(const std::string& s) { return Value::string(s); }
Value num(int64_t v) { return Value::integer(v); }

// The decimal text of `v` in `buf`.
std::string_view decimal(int64_t v, char (&buf)[24]) {
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return {buf, static_cast<size_t>(end - buf)};
}

}  // namespace

NexmarkSource::Config NexmarkSource::Config::parse(const ConfigNode& node) {
  Config c;
  c.model.seed = static_cast<uint64_t>(node.integer("seed", 1, 0));
  c.events = static_cast<uint64_t>(node.integer("events", 0, 0));
  c.model.event_rate =
      static_cast<uint64_t>(node.integer("event_rate", 10'000'000, 1, 1'000'000'000'000));
  const std::string start = node.string("start", "2024-01-01T00:00:00Z");
  if (!parse_iso8601(start, c.model.start_ms))
    node.fail_at("start",
                 "expected an ISO-8601 time such as 2024-01-01T00:00:00Z, found '" + start + "'");
  c.rate = node.number("rate", 0);
  if (!(c.rate >= 0 && c.rate <= kMaxRate))
    node.fail_at("rate", "must be between 0 (unpaced) and 1e9 events per second");
  const std::string bid_key = node.string("bid_key", "auction");
  if (bid_key != "auction" && bid_key != "bidder")
    node.fail_at("bid_key", "must be 'auction' or 'bidder', found '" + bid_key + "'");
  c.bid_key_bidder = bid_key == "bidder";
  return c;
}

NexmarkSource::NexmarkSource(const Config& config) : config_(config), model_(config.model) {}

void NexmarkSource::open(OperatorContext& ctx) {
  Source::open(ctx);
  step_ = std::max<uint32_t>(1, ctx.parallelism);
  if (restored_)
    check_restored_step();
  else
    next_ = ctx.subtask;
  opened_ = true;
  end_ = config_.events > 0 ? config_.events : UINT64_MAX;
  rate_ = config_.rate / static_cast<double>(step_);
  pace_start_ms_ = -1;
  paced_ = 0;

  Symbols& s = symbols_;
  s.person = intern("Person");
  s.auction = intern("Auction");
  s.bid = intern("Bid");
  s.person_id = intern("person.id");
  s.name = intern("person.name");
  s.email = intern("person.email");
  s.credit_card = intern("person.credit_card");
  s.city = intern("person.city");
  s.state = intern("person.state");
  s.person_extra = intern("person.extra");
  s.auction_id = intern("auction.id");
  s.item_name = intern("auction.item_name");
  s.description = intern("auction.description");
  s.initial_bid = intern("auction.initial_bid");
  s.reserve = intern("auction.reserve");
  s.expires = intern("auction.expires");
  s.seller = intern("auction.seller");
  s.category = intern("auction.category");
  s.auction_extra = intern("auction.extra");
  s.bid_auction = intern("bid.auction");
  s.bid_bidder = intern("bid.bidder");
  s.price = intern("bid.price");
  s.channel = intern("bid.channel");
  s.url = intern("bid.url");
  s.bid_extra = intern("bid.extra");
}

SourceStatus NexmarkSource::poll(Output& out) {
  if (next_ >= end_) return SourceStatus::kEnd;
  // This subtask's remaining events: next_, next_ + step_, ... below end_ (no overflow when
  // end_ is UINT64_MAX, an unbounded source).
  const uint64_t remaining = (end_ - next_) / step_ + ((end_ - next_) % step_ != 0 ? 1 : 0);
  uint64_t budget = std::min<uint64_t>(kRecordsPerPoll, remaining);
  if (rate_ > 0) {
    const int64_t now = ctx().clock->now_ms();
    if (pace_start_ms_ < 0) pace_start_ms_ = now;
    const double elapsed_s = static_cast<double>(std::max<int64_t>(0, now - pace_start_ms_)) / 1000;
    const auto allowed = static_cast<uint64_t>(elapsed_s * rate_);
    if (paced_ >= allowed) return SourceStatus::kIdle;
    budget = std::min(budget, allowed - paced_);
    paced_ += budget;
  }
  for (uint64_t n = 0; n < budget; ++n, next_ += step_) {
    model_.generate(next_, event_);
    emit(event_, out);
  }
  return SourceStatus::kMore;
}

void NexmarkSource::emit(const nexmark::Event& e, Output& out) const {
  const Symbols& s = symbols_;
  char key[24];
  switch (e.type) {
    case EventType::kPerson: {
      const nexmark::Person& p = e.person;
      out.add(EventKind::kTrack, decimal(p.id, key), e.event_time, s.person)
          .set(s.person_id, num(p.id))
          .set(s.name, str(p.name))
          .set(s.email, str(p.email))
          .set(s.credit_card, str(p.credit_card))
          .set(s.city, str(p.city))
          .set(s.state, str(p.state))
          .set(s.person_extra, str(p.extra));
      break;
    }
    case EventType::kAuction: {
      const nexmark::Auction& a = e.auction;
      out.add(EventKind::kTrack, decimal(a.id, key), e.event_time, s.auction)
          .set(s.auction_id, num(a.id))
          .set(s.item_name, str(a.item_name))
          .set(s.description, str(a.description))
          .set(s.initial_bid, num(a.initial_bid))
          .set(s.reserve, num(a.reserve))
          .set(s.expires, num(a.expires))
          .set(s.seller, num(a.seller))
          .set(s.category, num(a.category))
          .set(s.auction_extra, str(a.extra));
      break;
    }
    case EventType::kBid: {
      const nexmark::Bid& b = e.bid;
      out.add(EventKind::kTrack, decimal(config_.bid_key_bidder ? b.bidder : b.auction, key),
              e.event_time, s.bid)
          .set(s.bid_auction, num(b.auction))
          .set(s.bid_bidder, num(b.bidder))
          .set(s.price, num(b.price))
          .set(s.channel, str(b.channel))
          .set(s.url, str(b.url))
          .set(s.bid_extra, str(b.extra));
      break;
    }
  }
}

void NexmarkSource::check_restored_step() const {
  if (restored_step_ != step_)
    throw StateFormatError("nexmark: state of a source with parallelism " +
                           std::to_string(restored_step_) + " restored into parallelism " +
                           std::to_string(step_));
}

void NexmarkSource::snapshot(StateWriter& w) const {
  w.u64(kSnapshotVersion);
  w.u64(config_.model.seed);
  w.u64(step_);
  w.u64(next_);
}

void NexmarkSource::restore(StateReader& r) {
  if (r.u64() != kSnapshotVersion) throw StateFormatError("nexmark: unknown state version");
  const uint64_t seed = r.u64();
  const uint64_t step = r.u64();
  const uint64_t next = r.u64();
  if (seed != config_.model.seed)
    throw StateFormatError("nexmark: state was taken with seed " + std::to_string(seed) +
                           ", the job now has seed " + std::to_string(config_.model.seed));
  restored_step_ = step;
  next_ = next;
  if (opened_) check_restored_step();
  restored_ = true;
}

}  // namespace segflow
