// The Nexmark operators alone (the queries end to end: tests/runner/nexmark_oracle_test.cpp):
// outputs on hand-made input, bad and late input to the dead-letter output, snapshot/restore.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/spec_error.h"
#include "operators/nexmark/auction_filter.h"
#include "operators/nexmark/currency_conversion.h"
#include "operators/nexmark/highest_bid.h"
#include "operators/nexmark/hot_items.h"
#include "tests/support/operator_harness.h"

namespace segflow {
namespace {

using ::segflow::testing::InputRecord;
using ::segflow::testing::OperatorHarness;
using ::testing::ElementsAre;

template <class Op>
typename Op::Config parse(const std::string& yaml) {
  const ConfigNode node(YAML::Load(yaml), std::make_shared<const std::string>("test.yaml"), "");
  typename Op::Config c = Op::Config::parse(node);
  node.finish();
  return c;
}

InputRecord bid(int64_t auction, int64_t bidder, int64_t price, int64_t time) {
  return {std::to_string(auction),
          time,
          "Bid",
          {{"bid.auction", auction}, {"bid.bidder", bidder}, {"bid.price", price}}};
}

TEST(CurrencyConversion, ConvertsBidPricesAndDropsOtherEvents) {
  const auto config = parse<CurrencyConversion>("rate: 0.5");
  OperatorHarness h(std::make_unique<CurrencyConversion>(config));
  h.process({bid(1000, 7, 300, 5), {"1000", 6, "Auction", {{"auction.id", int64_t{1000}}}}});
  EXPECT_THAT(h.take_output_lines(),
              ElementsAre("track 1000 @5 Bid bid.auction=1000 bid.bidder=7 bid.price=150"));
  EXPECT_THROW(parse<CurrencyConversion>("rate: -1"), SpecError);
}

TEST(AuctionFilter, KeepsBidsOnMultiplesOfTheModulus) {
  const auto config = parse<AuctionFilter>("modulus: 10");
  OperatorHarness h(std::make_unique<AuctionFilter>(config));
  h.process({bid(1000, 7, 300, 5),
             bid(1001, 7, 300, 6),
             bid(1010, 8, 1, 7),
             {"1020", 8, "Auction", {{"bid.auction", int64_t{1020}}}}});
  EXPECT_EQ(h.take_output_lines().size(), 2u);
  EXPECT_THROW(parse<AuctionFilter>("modulus: 0"), SpecError);
}

TEST(HighestBid, EmitsEveryBidAtTheWindowMaximumWhenTheWatermarkPassesIt) {
  const auto config = parse<HighestBid>("size: 10ms");
  OperatorHarness h(std::make_unique<HighestBid>(config));
  h.process({bid(1, 7, 50, 1), bid(2, 8, 90, 3), bid(3, 9, 90, 9), bid(4, 9, 10, 12)});
  h.watermark(8);
  EXPECT_TRUE(h.take_output_lines().empty());
  h.watermark(9);
  EXPECT_THAT(h.take_output_lines(),
              ElementsAre("derived 2 @9 Highest Bid bid.auction=2 bid.bidder=8 bid.price=90 "
                          "bid.time=3 window_start=0 window_end=10",
                          "derived 3 @9 Highest Bid bid.auction=3 bid.bidder=9 bid.price=90 "
                          "bid.time=9 window_start=0 window_end=10"));
  // Late for the fired window: dead letter, not counted; malformed: dead letter.
  h.process({bid(5, 1, 1000, 4), {"6", 13, "Bid", {{"bid.auction", int64_t{6}}}}});
  EXPECT_EQ(h.dead_letters().count("late event"), 1u);
  EXPECT_EQ(h.dead_letters().count("missing bid.auction, bid.bidder or bid.price"), 1u);
  h.end_of_input();
  EXPECT_THAT(h.take_output_lines(),
              ElementsAre("derived 4 @19 Highest Bid bid.auction=4 bid.bidder=9 bid.price=10 "
                          "bid.time=12 window_start=10 window_end=20"));
}

// Bids alternating between windows (out of order), a window fired and opened again in
// between, a price that is not an integer and a repeated property (the first counts).
TEST(HighestBid, KeepsEachWindowApartWhateverTheOrderOfItsBids) {
  const auto config = parse<HighestBid>("size: 10ms");
  OperatorHarness h(std::make_unique<HighestBid>(config));
  h.process({bid(1, 7, 50, 11), bid(2, 7, 60, 2), bid(3, 7, 40, 12), bid(4, 7, 70, 5)});
  h.watermark(9);
  EXPECT_THAT(h.take_output_lines(),
              ElementsAre("derived 4 @9 Highest Bid bid.auction=4 bid.bidder=7 bid.price=70 "
                          "bid.time=5 window_start=0 window_end=10"));
  h.process({bid(5, 8, 45, 13),
             {"6",
              14,
              "Bid",
              {{"bid.auction", int64_t{6}},
               {"bid.bidder", int64_t{8}},
               {"bid.price", std::string("99")}}},
             {"7",
              15,
              "Bid",
              {{"bid.auction", int64_t{7}},
               {"bid.bidder", int64_t{8}},
               {"bid.price", int64_t{20}},
               {"bid.price", int64_t{500}}}},
             bid(8, 8, 30, 21)});
  EXPECT_EQ(h.dead_letters().count("missing bid.auction, bid.bidder or bid.price"), 1u);
  h.end_of_input();
  EXPECT_THAT(h.take_output_lines(),
              ElementsAre("derived 1 @19 Highest Bid bid.auction=1 bid.bidder=7 bid.price=50 "
                          "bid.time=11 window_start=10 window_end=20",
                          "derived 8 @29 Highest Bid bid.auction=8 bid.bidder=8 bid.price=30 "
                          "bid.time=21 window_start=20 window_end=30"));
}

TEST(HighestBid, MergesPartialResultsKeepingTheBidTimeAndRestores) {
  const auto config = parse<HighestBid>("size: 10ms");
  OperatorHarness first(std::make_unique<HighestBid>(config));
  first.process({{"2",
                  9,
                  "Highest Bid",
                  {{"bid.auction", int64_t{2}},
                   {"bid.bidder", int64_t{8}},
                   {"bid.price", int64_t{90}},
                   {"bid.time", int64_t{3}}}}});
  OperatorHarness second(std::make_unique<HighestBid>(config));
  second.restore(first.snapshot());
  second.process({bid(3, 9, 80, 5)});
  second.end_of_input();
  EXPECT_THAT(second.take_output_lines(),
              ElementsAre("derived 2 @9 Highest Bid bid.auction=2 bid.bidder=8 bid.price=90 "
                          "bid.time=3 window_start=0 window_end=10"));
}

InputRecord count(const std::string& auction, int64_t start, int64_t end, int64_t n) {
  return {auction,
          end - 1,
          "bids_per_auction",
          {{"window_start", start}, {"window_end", end}, {"bids", n}},
          EventKind::kDerived};
}

TEST(HotItems, EmitsTheAuctionsWithTheMostBidsPerWindow) {
  const auto config = parse<HotItems>("count: bids");
  OperatorHarness h(std::make_unique<HotItems>(config));
  h.process(
      {count("a", 0, 10, 3), count("b", 0, 10, 5), count("c", 0, 10, 5), count("a", 2, 12, 9)});
  h.watermark(9);
  EXPECT_THAT(h.take_output_lines(),
              ElementsAre("derived b @9 Hot Item window_start=0 window_end=10 bids=5",
                          "derived c @9 Hot Item window_start=0 window_end=10 bids=5"));
  h.process({count("d", 0, 10, 50), {"e", 11, "bids_per_auction", {{"bids", int64_t{1}}}}});
  EXPECT_EQ(h.dead_letters().count("late event"), 1u);
  EXPECT_EQ(h.dead_letters().count("missing window_start, window_end or count"), 1u);
  const std::string state = h.snapshot();
  OperatorHarness restored(std::make_unique<HotItems>(config));
  restored.restore(state);
  restored.end_of_input();
  EXPECT_THAT(restored.take_output_lines(),
              ElementsAre("derived a @11 Hot Item window_start=2 window_end=12 bids=9"));
}

}  // namespace
}  // namespace segflow
