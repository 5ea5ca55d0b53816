#include "connectors/nexmark/nexmark_model.h"

#include <map>

#include <gtest/gtest.h>

namespace segflow::nexmark {
namespace {

constexpr uint64_t kEvents = 200'000;

TEST(NexmarkModel, SameSeedSameEventsOtherSeedOtherEvents) {
  const NexmarkModel a({.seed = 7}), b({.seed = 7}), c({.seed = 8});
  Event ea, eb, ec;
  int differing = 0;
  for (uint64_t n = 0; n < 5000; n += 7) {
    a.generate(n, ea);
    b.generate(n, eb);
    c.generate(n, ec);
    ASSERT_EQ(ea.type, eb.type);
    ASSERT_EQ(ea.event_time, eb.event_time);
    if (ea.type == EventType::kBid) {
      EXPECT_EQ(ea.bid.auction, eb.bid.auction);
      EXPECT_EQ(ea.bid.bidder, eb.bid.bidder);
      EXPECT_EQ(ea.bid.price, eb.bid.price);
      EXPECT_EQ(ea.bid.extra, eb.bid.extra);
      differing += ea.bid.price != ec.bid.price;
    }
  }
  EXPECT_GT(differing, 500);
}

TEST(NexmarkModel, EventDoesNotDependOnWhatWasGeneratedBefore) {
  const NexmarkModel model({.seed = 3});
  Event in_order, alone;
  for (uint64_t n = 0; n < 2000; ++n) model.generate(n, in_order);
  model.generate(1999, alone);
  EXPECT_EQ(alone.type, in_order.type);
  EXPECT_EQ(alone.bid.price, in_order.bid.price);
  EXPECT_EQ(alone.bid.url, in_order.bid.url);
}

TEST(NexmarkModel, TwoSixNinetyTwoProportions) {
  std::map<EventType, uint64_t> counts;
  for (uint64_t n = 0; n < kEvents; ++n) ++counts[NexmarkModel::type_of(n)];
  EXPECT_EQ(counts[EventType::kPerson], kEvents * 2 / 100);
  EXPECT_EQ(counts[EventType::kAuction], kEvents * 6 / 100);
  EXPECT_EQ(counts[EventType::kBid], kEvents * 92 / 100);
}

TEST(NexmarkModel, IdsCountUpFromTheFirstIdAndBidsReferToRecentOnes) {
  const NexmarkModel model({.seed = 1});
  Event e;
  int64_t next_person = kFirstPersonId, next_auction = kFirstAuctionId;
  uint64_t bids = 0, hot_auction_bids = 0;
  for (uint64_t n = 0; n < kEvents; ++n) {
    model.generate(n, e);
    switch (e.type) {
      case EventType::kPerson:
        ASSERT_EQ(e.person.id, next_person++);
        EXPECT_FALSE(e.person.name.empty());
        EXPECT_NE(e.person.email.find('@'), std::string::npos);
        EXPECT_EQ(e.person.credit_card.size(), 19u);
        break;
      case EventType::kAuction:
        ASSERT_EQ(e.auction.id, next_auction++);
        EXPECT_GT(e.auction.reserve, e.auction.initial_bid);
        EXPECT_GT(e.auction.expires, e.event_time);
        EXPECT_GE(e.auction.category, kFirstCategoryId);
        EXPECT_LT(e.auction.category, kFirstCategoryId + 5);
        EXPECT_GE(e.auction.seller, kFirstPersonId);
        EXPECT_LE(e.auction.seller, next_person - 1 + 10);
        break;
      case EventType::kBid: {
        ++bids;
        const int64_t last_auction = next_auction - 1;
        EXPECT_GE(e.bid.auction, std::max(kFirstAuctionId, last_auction - 100));
        EXPECT_LE(e.bid.auction, last_auction + 10);
        EXPECT_GE(e.bid.bidder, kFirstPersonId);
        EXPECT_LE(e.bid.bidder, next_person - 1 + 10);
        EXPECT_GE(e.bid.price, 100);
        EXPECT_LE(e.bid.price, 100'000'000);
        EXPECT_FALSE(e.bid.channel.empty());
        EXPECT_EQ(e.bid.url.rfind("https://www.nexmark.com/", 0), 0u);
        const int64_t hot = (last_auction - kFirstAuctionId) / 2 * 2 + kFirstAuctionId;
        hot_auction_bids += e.bid.auction == hot;
        break;
      }
    }
  }
  // Half the bids go to the hot auction (plus the few that draw it among the in-flight).
  EXPECT_GT(hot_auction_bids, bids * 48 / 100);
  EXPECT_LT(hot_auction_bids, bids * 53 / 100);
}

TEST(NexmarkModel, EventTimeFollowsTheEventRate) {
  const NexmarkModel model({.seed = 1, .start_ms = 1000, .event_rate = 4000});
  EXPECT_EQ(model.event_time(0), 1000);
  EXPECT_EQ(model.event_time(3), 1000);
  EXPECT_EQ(model.event_time(4), 1001);
  EXPECT_EQ(model.event_time(4000), 2000);
}

TEST(NexmarkModel, RecordsAverageTheReferenceSizes) {
  const NexmarkModel model({.seed = 5});
  Event e;
  double bid_bytes = 0, auction_bytes = 0;
  uint64_t bids = 0, auctions = 0;
  for (uint64_t n = 0; n < 50'000; ++n) {
    model.generate(n, e);
    if (e.type == EventType::kBid) {
      bid_bytes += 32.0 + static_cast<double>(e.bid.extra.size());
      ++bids;
    } else if (e.type == EventType::kAuction) {
      auction_bytes +=
          48.0 + static_cast<double>(e.auction.item_name.size() + e.auction.description.size() +
                                     e.auction.extra.size());
      ++auctions;
    }
  }
  EXPECT_NEAR(bid_bytes / static_cast<double>(bids), 100, 3);
  EXPECT_NEAR(auction_bytes / static_cast<double>(auctions), 500, 10);
}

}  // namespace
}  // namespace segflow::nexmark
