// NexmarkModel: the Nexmark benchmark's event generator (Person / Auction / Bid), following
// the model of the reference generator (Apache Beam's / nexmark-flink's GeneratorConfig,
// PersonGenerator, AuctionGenerator, BidGenerator): event n is a person, an auction or a
// bid by its place in each group of 50 (1 / 3 / 46: the standard 2 / 6 / 92 %); ids grow
// with n (first id 1000); a bid goes half the time to the latest "hot" auction and
// otherwise to one of the ~100 auctions in flight, its bidder a quarter of the time to a
// hot person; prices are log-uniform 1..1,000,000 dollars (in cents); an auction lives
// until about twice the time it takes for 100 more auctions to be created; event time is
// start + n / event_rate. Event n is a pure function of (seed, n, config): any subset of
// event numbers can be generated independently and in any order.
// Thread safety: const methods are safe from any thread.
#pragma once

#include <cstdint>
#include <string>

namespace segflow::nexmark {

enum class EventType : uint8_t { kPerson, kAuction, kBid };

// The generator's parameters (the reference generator's defaults).
struct ModelConfig {
  uint64_t seed = 1;
  int64_t start_ms = 1704067200000;  // event time of event 0: 2024-01-01T00:00:00Z
  uint64_t event_rate = 10'000'000;  // events per second of event time
};

inline constexpr uint32_t kPersonProportion = 1;
inline constexpr uint32_t kAuctionProportion = 3;
inline constexpr uint32_t kBidProportion = 46;
inline constexpr uint32_t kTotalProportion =
    kPersonProportion + kAuctionProportion + kBidProportion;
inline constexpr int64_t kFirstPersonId = 1000;
inline constexpr int64_t kFirstAuctionId = 1000;
inline constexpr int64_t kFirstCategoryId = 10;
inline constexpr uint32_t kHotChannelCount = 4;  // Google, Facebook, Baidu, Apple

struct Person {
  int64_t id = 0;
  std::string name, email, credit_card, city, state, extra;
};

struct Auction {
  int64_t id = 0;
  std::string item_name, description;
  int64_t initial_bid = 0;  // cents
  int64_t reserve = 0;      // cents
  int64_t expires = 0;      // ms
  int64_t seller = 0;       // a person id
  int64_t category = 0;
  std::string extra;
};

struct Bid {
  int64_t auction = 0;
  int64_t bidder = 0;  // a person id
  int64_t price = 0;   // cents
  std::string channel, url, extra;
};

// One generated event. Only the member of `type` is meaningful; the strings keep their
// capacity between calls, so regenerating into the same Event allocates nothing.
struct Event {
  EventType type = EventType::kBid;
  uint64_t number = 0;
  int64_t event_time = 0;  // ms
  Person person;
  Auction auction;
  Bid bid;
};

class NexmarkModel {
 public:
  explicit NexmarkModel(const ModelConfig& config);

  static EventType type_of(uint64_t number);
  int64_t event_time(uint64_t number) const;
  // Fills `out` with event `number`.
  void generate(uint64_t number, Event& out) const;

  // The highest 0-based person / auction id created at or before event `number`.
  static int64_t last_base0_person_id(uint64_t number);
  static int64_t last_base0_auction_id(uint64_t number);

 private:
  ModelConfig config_;
  std::string hot_urls_[kHotChannelCount];  // the url of each hot channel
};

}  // namespace segflow::nexmark
