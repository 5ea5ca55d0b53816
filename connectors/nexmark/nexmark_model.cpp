#include "connectors/nexmark/nexmark_model.h"

#include <algorithm>
#include <cmath>
#include <string_view>

#include "connectors/generator/random.h"

namespace segflow::nexmark {

namespace {

using generator::mix64;
using generator::SplitMix64;

// The reference generator's constants.
constexpr int64_t kInFlightAuctions = 100;
constexpr int64_t kActivePeople = 1000;
constexpr int64_t kPersonIdLead = 10;
constexpr int64_t kAuctionIdLead = 10;
constexpr uint32_t kHotAuctionRatio = 2;
constexpr uint32_t kHotSellerRatio = 4;
constexpr uint32_t kHotBidderRatio = 4;
constexpr uint32_t kHotChannelRatio = 2;
constexpr uint32_t kChannels = 10'000;
constexpr uint32_t kCategories = 5;
constexpr size_t kAvgPersonBytes = 200;
constexpr size_t kAvgAuctionBytes = 500;
constexpr size_t kAvgBidBytes = 100;

constexpr std::string_view kFirstNames[] = {"Peter", "Paul",  "Luke",  "John",   "Saul",  "Vicky",
                                            "Kate",  "Julie", "Sarah", "Deiter", "Walter"};
constexpr std::string_view kLastNames[] = {"Shultz", "Abrams", "Spencer", "White", "Bartels",
                                           "Walton", "Smith",  "Jones",   "Noris"};
constexpr std::string_view kStates[] = {"AZ", "CA", "ID", "OR", "WA", "WY"};
constexpr std::string_view kCities[] = {"Phoenix",  "Los Angeles", "San Francisco", "Boise",
                                        "Portland", "Bend",        "Redmond",       "Seattle",
                                        "Kent",     "Cheyenne"};
constexpr std::string_view kHotChannels[kHotChannelCount] = {"Google", "Facebook", "Baidu",
                                                             "Apple"};
constexpr uint64_t kUrlSalt = 0x5bd1e995ULL;

template <class T, size_t N>
constexpr uint32_t count_of(const T (&)[N]) {
  return static_cast<uint32_t>(N);
}

// Uniform in [0, n); REQUIRES: n > 0.
int64_t below(SplitMix64& rng, int64_t n) {
  return static_cast<int64_t>(
      (static_cast<unsigned __int128>(rng.next()) * static_cast<uint64_t>(n)) >> 64);
}

// 64 KiB of random lower-case letters, made once. Random strings are slices of it at random
// offsets: as random as drawing every letter for this benchmark, at the cost of a copy.
constexpr size_t kLetterPoolSize = 64 * 1024;
const std::string& letter_pool() {
  static const std::string pool = [] {
    std::string letters(kLetterPoolSize, 'a');
    SplitMix64 rng(0x6e65786d61726bULL);
    for (char& c : letters) c = static_cast<char>('a' + rng.below(26));
    return letters;
  }();
  return pool;
}

// `length` random lower-case letters appended to `out`; REQUIRES: length < 64 KiB.
void append_letters(SplitMix64& rng, size_t length, std::string& out) {
  const std::string& pool = letter_pool();
  const auto offset =
      static_cast<size_t>(below(rng, static_cast<int64_t>(kLetterPoolSize - length)));
  out.append(pool, offset, length);
}

// The reference generator's nextString: 3 .. max_length - 1 letters.
void assign_string(SplitMix64& rng, size_t max_length, std::string& out) {
  out.clear();
  append_letters(rng, 3 + static_cast<size_t>(below(rng, static_cast<int64_t>(max_length - 3))),
                 out);
}

// The reference generator's nextExtra: pads a record of `current` bytes to about `average`
// (within 20 %).
void assign_extra(SplitMix64& rng, size_t current, size_t average, std::string& out) {
  out.clear();
  if (current > average) return;
  const int64_t wanted = static_cast<int64_t>(average - current);
  const int64_t delta = std::llround(static_cast<double>(wanted) * 0.2);
  append_letters(rng, static_cast<size_t>(wanted - delta + below(rng, 2 * delta + 1)), out);
}

// log-uniform 1 .. 1,000,000 dollars, in cents (the reference PriceGenerator).
int64_t next_price(SplitMix64& rng) {
  return std::llround(std::pow(10.0, rng.uniform() * 6.0) * 100.0);
}

int64_t next_base0_person_id(uint64_t number, SplitMix64& rng) {
  const int64_t people = NexmarkModel::last_base0_person_id(number) + 1;
  const int64_t active = std::min(people, kActivePeople);
  return people - active + below(rng, active + kPersonIdLead);
}

int64_t next_base0_auction_id(uint64_t number, SplitMix64& rng) {
  const int64_t max_auction = NexmarkModel::last_base0_auction_id(number);
  const int64_t min_auction = std::max<int64_t>(max_auction - kInFlightAuctions, 0);
  return min_auction + below(rng, max_auction - min_auction + 1 + kAuctionIdLead);
}

// https://www.nexmark.com/<5>/<5>/<5>/item.htm?query=1, the letters drawn from `rng`.
void assign_base_url(SplitMix64& rng, std::string& out) {
  out.assign("https://www.nexmark.com/");
  for (int part = 0; part < 3; ++part) {
    append_letters(rng, 5, out);
    out += '/';
  }
  out += "item.htm?query=1";
}

void append_int(int64_t v, std::string& out) {
  char buf[24];
  char* end = buf + sizeof buf;
  char* p = end;
  uint64_t u = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  do {
    *--p = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0) *--p = '-';
  out.append(p, end);
}

}  // namespace

NexmarkModel::NexmarkModel(const ModelConfig& config) : config_(config) {
  config_.event_rate = std::max<uint64_t>(1, config_.event_rate);
  for (uint32_t i = 0; i < kHotChannelCount; ++i) {
    SplitMix64 url_rng(mix64(config_.seed ^ kUrlSalt) + i);
    assign_base_url(url_rng, hot_urls_[i]);
  }
}

EventType NexmarkModel::type_of(uint64_t number) {
  const uint64_t offset = number % kTotalProportion;
  if (offset < kPersonProportion) return EventType::kPerson;
  if (offset < kPersonProportion + kAuctionProportion) return EventType::kAuction;
  return EventType::kBid;
}

int64_t NexmarkModel::event_time(uint64_t number) const {
  const auto ms = static_cast<unsigned __int128>(number) * 1000 / config_.event_rate;
  return config_.start_ms + static_cast<int64_t>(ms);
}

int64_t NexmarkModel::last_base0_person_id(uint64_t number) {
  const auto epoch = static_cast<int64_t>(number / kTotalProportion);
  int64_t offset = static_cast<int64_t>(number % kTotalProportion);
  if (offset >= kPersonProportion) offset = kPersonProportion - 1;
  return epoch * kPersonProportion + offset;
}

int64_t NexmarkModel::last_base0_auction_id(uint64_t number) {
  auto epoch = static_cast<int64_t>(number / kTotalProportion);
  int64_t offset = static_cast<int64_t>(number % kTotalProportion);
  if (offset < kPersonProportion) {
    --epoch;
    offset = kAuctionProportion - 1;
  } else if (offset >= kPersonProportion + kAuctionProportion) {
    offset = kAuctionProportion - 1;
  } else {
    offset -= kPersonProportion;
  }
  return epoch * kAuctionProportion + offset;
}

void NexmarkModel::generate(uint64_t number, Event& out) const {
  SplitMix64 rng(mix64(config_.seed) + number * 0xd1342543de82ef95ULL);
  out.type = type_of(number);
  out.number = number;
  out.event_time = event_time(number);
  switch (out.type) {
    case EventType::kPerson: {
      Person& p = out.person;
      p.id = last_base0_person_id(number) + kFirstPersonId;
      p.name.assign(kFirstNames[below(rng, count_of(kFirstNames))]);
      p.name += ' ';
      p.name.append(kLastNames[below(rng, count_of(kLastNames))]);
      assign_string(rng, 7, p.email);
      p.email += '@';
      append_letters(rng, 5, p.email);
      p.email += ".com";
      p.credit_card.clear();
      for (int group = 0; group < 4; ++group) {
        if (group > 0) p.credit_card += ' ';
        const int64_t digits = below(rng, 10'000);
        if (digits < 1000) p.credit_card += '0';
        if (digits < 100) p.credit_card += '0';
        if (digits < 10) p.credit_card += '0';
        append_int(digits, p.credit_card);
      }
      p.city.assign(kCities[below(rng, count_of(kCities))]);
      p.state.assign(kStates[below(rng, count_of(kStates))]);
      const size_t size = 8 + p.name.size() + p.email.size() + p.credit_card.size() +
                          p.city.size() + p.state.size() + 8;
      assign_extra(rng, size, kAvgPersonBytes, p.extra);
      break;
    }
    case EventType::kAuction: {
      Auction& a = out.auction;
      a.id = last_base0_auction_id(number) + kFirstAuctionId;
      const int64_t seller = below(rng, kHotSellerRatio) > 0
                                 ? last_base0_person_id(number) / kHotSellerRatio * kHotSellerRatio
                                 : next_base0_person_id(number, rng);
      a.seller = seller + kFirstPersonId;
      a.category = kFirstCategoryId + below(rng, kCategories);
      a.initial_bid = next_price(rng);
      a.reserve = a.initial_bid + next_price(rng);
      // Lives for up to twice the time kInFlightAuctions more auctions take to appear.
      const uint64_t events_for_auctions =
          kInFlightAuctions * kTotalProportion / kAuctionProportion;
      const int64_t horizon = event_time(number + events_for_auctions) - out.event_time;
      a.expires = out.event_time + 1 + below(rng, std::max<int64_t>(horizon * 2, 1));
      assign_string(rng, 20, a.item_name);
      assign_string(rng, 100, a.description);
      const size_t size = 8 + a.item_name.size() + a.description.size() + 8 + 8 + 8 + 8 + 8;
      assign_extra(rng, size, kAvgAuctionBytes, a.extra);
      break;
    }
    case EventType::kBid: {
      Bid& b = out.bid;
      const int64_t auction =
          below(rng, kHotAuctionRatio) > 0
              ? last_base0_auction_id(number) / kHotAuctionRatio * kHotAuctionRatio
              : next_base0_auction_id(number, rng);
      b.auction = auction + kFirstAuctionId;
      const int64_t bidder =
          below(rng, kHotBidderRatio) > 0
              ? last_base0_person_id(number) / kHotBidderRatio * kHotBidderRatio + 1
              : next_base0_person_id(number, rng);
      b.bidder = bidder + kFirstPersonId;
      b.price = next_price(rng);
      if (below(rng, kHotChannelRatio) > 0) {
        const int64_t i = below(rng, count_of(kHotChannels));
        b.channel.assign(kHotChannels[i]);
        b.url.assign(hot_urls_[i]);
      } else {
        const int64_t i = below(rng, kChannels);
        b.channel.assign("channel-");
        append_int(i, b.channel);
        SplitMix64 url_rng(mix64(config_.seed ^ kUrlSalt) + kHotChannelCount +
                           static_cast<uint64_t>(i));
        assign_base_url(url_rng, b.url);
        b.url += "&channel_id=";
        append_int(i, b.url);
      }
      assign_extra(rng, 8 + 8 + 8 + 8, kAvgBidBytes, b.extra);
      break;
    }
  }
}

}  // namespace segflow::nexmark
