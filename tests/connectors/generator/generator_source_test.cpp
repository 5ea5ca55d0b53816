#include "connectors/generator/generator_source.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "connectors/generator/synthetic_ids.h"
#include "engine/ingest_time.h"
#include "engine/registry.h"
#include "tests/connectors/generator/generator_test_support.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

using testing::GeneratedRecord;
using testing::generator_config;
using ::testing::HasSubstr;
using testing::run_generator;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kDay = 24 * 60 * kMinute;

std::vector<std::string> json_lines(const std::vector<GeneratedRecord>& records) {
  std::vector<std::string> lines;
  for (const GeneratedRecord& r : records) lines.push_back(r.json);
  return lines;
}

// Maps every anonymousId back to the simulated person it belongs to.
class PersonIndex {
 public:
  PersonIndex(uint64_t seed, uint32_t users) {
    generator::SyntheticIds ids(seed);
    generator::SyntheticIds::Buffer buf;
    for (uint32_t u = 0; u < users; ++u)
      for (uint32_t d = 0; d < generator::kMaxDevices; ++d)
        person_[std::string(ids.anonymous_id(buf, u, d))] = u;
  }
  uint32_t of(const GeneratedRecord& r) const { return person_.at(r.string("anonymousId")); }

 private:
  std::map<std::string, uint32_t> person_;
};

TEST(GeneratorSource, IsRegisteredAsASource) {
  const RegisteredType* type = Registry::global().find("generator");
  ASSERT_NE(type, nullptr);
  EXPECT_TRUE(type->is_source);
}

TEST(GeneratorSource, ParsesDefaultsAndEveryKey) {
  const GeneratorSource::Config defaults = generator_config("{}");
  EXPECT_EQ(defaults.seed, 1u);
  EXPECT_EQ(defaults.users, 1000u);
  EXPECT_EQ(defaults.events, 0u);
  EXPECT_EQ(defaults.rate, 0);
  EXPECT_EQ(defaults.start_ms, 1704067200000);  // 2024-01-01T00:00:00Z
  EXPECT_EQ(defaults.out_of_order_ms, 0);

  const GeneratorSource::Config c = generator_config(
      "seed: 7\nusers: 50\nevents: 1234\nrate: 2.5e3\nstart: 2024-06-01T02:00:00+02:00\n"
      "out_of_order: 90s\n");
  EXPECT_EQ(c.seed, 7u);
  EXPECT_EQ(c.users, 50u);
  EXPECT_EQ(c.events, 1234u);
  EXPECT_EQ(c.rate, 2500);
  EXPECT_EQ(c.start_ms, 1717200000000);  // 2024-06-01T00:00:00Z
  EXPECT_EQ(c.out_of_order_ms, 90'000);
}

TEST(GeneratorSource, RejectsBadValuesWithTheirLocation) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"seed: 1\nusers: 0\n", "test.yaml:2:8: users: must be between 1 and 100000000"},
      {"seed: 1\nevents: -5\n", "test.yaml:2:9: events: must be between 0"},
      {"seed: -1\n", "test.yaml:1:7: seed: must be between 0"},
      {"seed: 1\nrate: -3\n", "test.yaml:2:7: rate: must be between 0"},
      {"seed: 1\nrate: fast\n", "test.yaml:2:7: rate: expected a number"},
      {"seed: 1\nstart: yesterday\n", "test.yaml:2:8: start: expected an ISO-8601 time"},
      {"seed: 1\nstart: 2024-02-30T00:00:00Z\n", "test.yaml:2:8: start: expected an ISO-8601"},
      {"seed: 1\nstart: 2024-01-01T25:00:00Z\n", "test.yaml:2:8: start: expected an ISO-8601"},
      {"seed: 1\nout_of_order: soon\n", "test.yaml:2:15: out_of_order: expected a duration"},
      {"seed: 1\nout_of_order: 8d\n", "test.yaml:2:15: out_of_order: must be at most 7d"},
      {"seed: 1\nusers: many\n", "test.yaml:2:8: users: expected an integer"},
      {"seed: 1\nseeds: 2\n", "test.yaml:2:1: unknown key 'seeds'"},
  };
  for (const auto& [yaml, message] : cases) {
    SCOPED_TRACE(yaml);
    EXPECT_THAT(testing::spec_error_of([&] { generator_config(yaml); }), HasSubstr(message));
  }
}

TEST(GeneratorSource, SameSeedGivesTheSameRecordsAndAnotherSeedOthers) {
  const auto config = generator_config("seed: 42\nusers: 200\nevents: 5000\n");
  const auto first = json_lines(run_generator(config).records);
  const auto second = json_lines(run_generator(config).records);
  ASSERT_EQ(first.size(), 5000u);
  EXPECT_EQ(first, second);

  const auto other =
      json_lines(run_generator(generator_config("seed: 43\nusers: 200\nevents: 5000\n")).records);
  ASSERT_EQ(other.size(), 5000u);
  size_t same = 0;
  for (size_t i = 0; i < first.size(); ++i) same += first[i] == other[i];
  EXPECT_LT(same, 50u);
}

TEST(GeneratorSource, EmitsExactlyTheConfiguredCountThenEnds) {
  const auto config = generator_config("users: 100\nevents: 10007\n");
  const testing::GeneratorRun run = run_generator(config);
  EXPECT_EQ(run.records.size(), 10007u);
  // 19 full polls, a partial one, and the one that reports the end.
  EXPECT_EQ(run.polls, 10007 / GeneratorSource::kRecordsPerPoll + 2);

  size_t total = 0;
  std::vector<size_t> shares;
  for (uint32_t i = 0; i < 3; ++i) shares.push_back(run_generator(config, i, 3).records.size());
  EXPECT_EQ(shares, (std::vector<size_t>{3336, 3336, 3335}));

  // More subtasks than people: the subtasks without people emit nothing, the rest all.
  const auto few = generator_config("users: 2\nevents: 11\n");
  for (uint32_t i = 0; i < 3; ++i) total += run_generator(few, i, 3).records.size();
  EXPECT_EQ(total, 11u);
  EXPECT_TRUE(run_generator(few, 2, 3).records.empty());
}

TEST(GeneratorSource, SubtasksSplitPeopleByIndexAndAgreeWithOneSubtask) {
  const auto config = generator_config("seed: 5\nusers: 300\nevents: 20000\n");
  const PersonIndex people(5, 300);
  const auto single = run_generator(config).records;
  std::vector<GeneratedRecord> split[2] = {run_generator(config, 0, 2).records,
                                           run_generator(config, 1, 2).records};

  std::set<uint32_t> single_people, split_people;
  for (const GeneratedRecord& r : single) single_people.insert(people.of(r));
  for (uint32_t i = 0; i < 2; ++i) {
    for (const GeneratedRecord& r : split[i]) {
      const uint32_t person = people.of(r);
      EXPECT_EQ(person % 2, i);
      split_people.insert(person);
    }
  }
  EXPECT_EQ(single_people.size(), 300u);
  EXPECT_EQ(split_people, single_people);

  // A person's events do not depend on the parallelism: up to the point where every run
  // is still going, the records are the same.
  const int64_t cutoff = std::min({single.back().time, split[0].back().time, split[1].back().time});
  std::vector<std::string> before_single, before_split;
  for (const GeneratedRecord& r : single)
    if (r.time < cutoff) before_single.push_back(r.json);
  for (const auto& part : split)
    for (const GeneratedRecord& r : part)
      if (r.time < cutoff) before_split.push_back(r.json);
  std::sort(before_single.begin(), before_single.end());
  std::sort(before_split.begin(), before_split.end());
  EXPECT_GT(before_single.size(), 15000u);
  EXPECT_EQ(before_split, before_single);
}

TEST(GeneratorSource, RecordsFollowTheSegmentShape) {
  const auto records = run_generator(generator_config("users: 300\nevents: 30000\n")).records;
  std::set<std::string> message_ids;
  for (const GeneratedRecord& r : records) {
    SCOPED_TRACE(r.json);
    const std::string user_id = r.string("userId");
    EXPECT_EQ(r.key, user_id.empty() ? r.string("anonymousId") : user_id);
    EXPECT_EQ(r.string("anonymousId").size(), 36u);
    EXPECT_TRUE(message_ids.insert(r.string("messageId")).second) << "duplicate messageId";
    for (const char* context : {"context.device.id", "context.device.type",
                                "context.location.country", "context.timezone", "context.locale"})
      EXPECT_FALSE(r.string(context).empty()) << context;
    switch (r.kind) {
      case EventKind::kIdentify:
        EXPECT_EQ(r.event, "identify");
        EXPECT_FALSE(user_id.empty());
        EXPECT_THAT(r.string("traits.email"), HasSubstr("@example."));
        EXPECT_THAT(r.string("traits.plan"), ::testing::AnyOf("free", "plus", "premium"));
        break;
      case EventKind::kPage:
        EXPECT_EQ(r.event, "page");
        EXPECT_FALSE(r.string("properties.name").empty());
        break;
      case EventKind::kTrack:
        if (r.event == "Product Viewed" || r.event == "Product Added") {
          EXPECT_THAT(r.string("properties.product_id"), HasSubstr("sku-"));
          EXPECT_FALSE(r.string("properties.category").empty());
          EXPECT_GT(r.numbers.at("properties.price"), 0);
        } else if (r.event == "Order Completed" || r.event == "Checkout Started") {
          EXPECT_GT(r.numbers.at("properties.revenue"), 0);
          EXPECT_FALSE(r.string("properties.order_id").empty());
        } else {
          EXPECT_EQ(r.event, "Product List Viewed");
          EXPECT_FALSE(r.string("properties.category").empty());
        }
        break;
      default:
        ADD_FAILURE() << "unexpected kind";
    }
  }
}

TEST(GeneratorSource, ProducesFunnelsCartsAndAMixOfProducts) {
  const auto records = run_generator(generator_config("users: 500\nevents: 50000\n")).records;
  const PersonIndex people(1, 500);
  std::map<std::string, size_t> count;
  std::set<std::string> categories, countries, device_types;
  size_t premium = 0, bargain = 0;
  std::map<uint32_t, int64_t> last_added, last_order;
  for (const GeneratedRecord& r : records) {
    ++count[r.event];
    if (r.has("properties.category")) categories.insert(r.string("properties.category"));
    countries.insert(r.string("context.location.country"));
    device_types.insert(r.string("context.device.type"));
    if (r.numbers.count("properties.price")) {
      premium += r.numbers.at("properties.price") >= 500;
      bargain += r.numbers.at("properties.price") < 10;
    }
    if (r.event == "Product Added") last_added[people.of(r)] = r.time;
    if (r.event == "Order Completed") last_order[people.of(r)] = r.time;
  }
  for (const char* event : {"page", "identify", "Product List Viewed", "Product Viewed",
                            "Product Added", "Checkout Started", "Order Completed"})
    EXPECT_GT(count[event], 0u) << event;
  EXPECT_GT(count["Product Viewed"], count["Product Added"]);
  EXPECT_GT(count["Product Added"], count["Checkout Started"]);
  EXPECT_GT(count["Checkout Started"], count["Order Completed"]);
  EXPECT_TRUE(categories.count("electronics"));
  EXPECT_GE(categories.size(), 6u);
  EXPECT_GE(countries.size(), 8u);
  EXPECT_EQ(device_types, (std::set<std::string>{"desktop", "mobile", "tablet"}));
  EXPECT_GT(premium, 100u);
  EXPECT_GT(bargain, 100u);

  // Abandoned carts: people whose last add to cart came after their last order (if any).
  size_t abandoned = 0;
  for (const auto& [person, added] : last_added)
    abandoned += !last_order.count(person) || last_order[person] < added;
  EXPECT_GT(abandoned, last_added.size() / 5);
}

TEST(GeneratorSource, PeopleBrowseAnonymouslyThenIdentifyOnEachDevice) {
  const auto records = run_generator(generator_config("users: 300\nevents: 60000\n")).records;
  const PersonIndex people(1, 300);
  std::map<uint32_t, std::set<std::string>> devices, identified_devices;
  std::map<std::string, bool> device_logged_in;  // by anonymousId
  std::set<std::string> anonymous_then_identified;
  for (const GeneratedRecord& r : records) {
    const std::string anonymous_id = r.string("anonymousId");
    const uint32_t person = people.of(r);
    devices[person].insert(anonymous_id);
    if (r.kind == EventKind::kIdentify) {
      EXPECT_EQ(r.string("userId"), "user-" + std::to_string(person));
      identified_devices[person].insert(anonymous_id);
      if (device_logged_in.count(anonymous_id) && !device_logged_in[anonymous_id])
        anonymous_then_identified.insert(anonymous_id);
      device_logged_in[anonymous_id] = true;
    } else {
      // Once logged in on a device, it stays logged in.
      if (device_logged_in[anonymous_id])
        EXPECT_EQ(r.key, "user-" + std::to_string(person));
      else
        EXPECT_EQ(r.key, anonymous_id);
    }
  }
  size_t several_devices = 0, identified_on_several = 0;
  for (const auto& [person, ids] : devices) several_devices += ids.size() >= 2;
  for (const auto& [person, ids] : identified_devices) identified_on_several += ids.size() >= 2;
  EXPECT_GT(several_devices, 50u);
  EXPECT_GT(identified_on_several, 10u);
  EXPECT_GT(anonymous_then_identified.size(), 50u);
  EXPECT_LT(identified_devices.size(), devices.size());  // some never identify
}

TEST(GeneratorSource, SessionsHaveGapsAndSomePeopleGoQuiet) {
  const auto records = run_generator(generator_config("users: 100\nevents: 60000\n")).records;
  const PersonIndex people(1, 100);
  std::map<uint32_t, int64_t> last_time;
  size_t session_gaps = 0, quiet_month = 0;
  for (const GeneratedRecord& r : records) {
    const uint32_t person = people.of(r);
    if (last_time.count(person)) {
      const int64_t gap = r.time - last_time[person];
      session_gaps += gap >= 30 * kMinute;
      quiet_month += gap >= 30 * kDay;
    }
    last_time[person] = r.time;
  }
  EXPECT_GT(session_gaps, 3000u);
  EXPECT_GT(quiet_month, 3u);
}

TEST(GeneratorSource, EventTimeStartsAtStartAndNeverDecreases) {
  const auto records =
      run_generator(generator_config("users: 300\nevents: 20000\nstart: 2024-03-01T00:00:00Z\n"))
          .records;
  const int64_t start = 1709251200000;
  ASSERT_FALSE(records.empty());
  EXPECT_GE(records.front().time, start);
  EXPECT_LT(records.front().time, start + kDay);
  for (size_t i = 1; i < records.size(); ++i) ASSERT_LE(records[i - 1].time, records[i].time) << i;
  // Interleaved across people, not one person after another.
  const PersonIndex people(1, 300);
  size_t switches = 0;
  for (size_t i = 1; i < 1000; ++i) switches += people.of(records[i]) != people.of(records[i - 1]);
  EXPECT_GT(switches, 500u);
}

TEST(GeneratorSource, OutOfOrderStaysWithinItsBound) {
  const int64_t bound = 5 * kMinute;
  const auto in_order = run_generator(generator_config("users: 300\nevents: 20000\n")).records;
  const auto late =
      run_generator(generator_config("users: 300\nevents: 20000\nout_of_order: 5m\n")).records;
  ASSERT_EQ(late.size(), in_order.size());
  const PersonIndex people(1, 300);
  int64_t max_time = late.front().time;
  size_t behind = 0;
  std::map<uint32_t, int64_t> person_time;
  for (size_t i = 0; i < late.size(); ++i) {
    const GeneratedRecord& r = late[i];
    ASSERT_GE(r.time, max_time - bound) << r.json;
    behind += r.time < max_time;
    max_time = std::max(max_time, r.time);
    // Still in order per person, and the same behaviour as without lateness.
    const uint32_t person = people.of(r);
    ASSERT_GE(r.time, person_time[person]);
    person_time[person] = r.time;
    ASSERT_EQ(r.string("messageId"), in_order[i].string("messageId"));
    ASSERT_EQ(r.event, in_order[i].event);
    ASSERT_LE(r.time, in_order[i].time);
  }
  EXPECT_GT(behind, late.size() / 20);
}

TEST(GeneratorSource, RatePacesOutputWithTheClock) {
  ManualClock clock(1'000'000);
  OperatorContext ctx;
  ctx.clock = &clock;
  GeneratorSource source(generator_config("users: 50\nrate: 1000\n"));
  source.open(ctx);
  size_t emitted = 0;
  Output out([&](BatchPtr& batch) { emitted += batch->size(); }, 64);
  auto poll = [&] {
    const SourceStatus status = source.poll(out);
    out.flush();
    return status;
  };
  EXPECT_EQ(poll(), SourceStatus::kIdle);
  EXPECT_EQ(emitted, 0u);
  clock.advance(100);
  EXPECT_EQ(poll(), SourceStatus::kMore);
  EXPECT_EQ(emitted, 100u);
  EXPECT_EQ(poll(), SourceStatus::kIdle);
  clock.advance(1900);  // 2000 due in all: more than one poll's worth
  EXPECT_EQ(poll(), SourceStatus::kMore);
  EXPECT_EQ(emitted, 100u + GeneratorSource::kRecordsPerPoll);
  while (poll() == SourceStatus::kMore) {
  }
  EXPECT_EQ(emitted, 2000u);
}

// Paced, a poll's batch carries the ingest stamp of its first record's due time (what a
// live producer would have sent then), not the poll's: end-to-end latency counts a late
// poll. The stamp is checked against steady-clock reads around the poll.
TEST(GeneratorSource, PacedBatchesAreStampedWithTheirDueTime) {
  constexpr int64_t kMs = 1'000'000;
  ManualClock clock(1'000'000);
  OperatorContext ctx;
  ctx.clock = &clock;
  GeneratorSource source(generator_config("users: 50\nrate: 1000\n"));
  source.open(ctx);
  std::vector<int64_t> stamps;
  Output out([&](BatchPtr& batch) { stamps.push_back(batch->ingest_ns()); }, 4096);
  // Polls as the runtime does (the cause is the time of the poll) and returns the bounds of
  // that time.
  auto poll = [&](SourceStatus want) {
    const int64_t before = ingest_clock_ns();
    out.set_ingest_cause(before);
    EXPECT_EQ(source.poll(out), want);
    out.flush();
    return std::pair{before, ingest_clock_ns()};
  };
  poll(SourceStatus::kIdle);  // the pace starts at 1,000,000 ms
  clock.advance(100);
  auto [before, after] = poll(SourceStatus::kMore);
  // Record 1 of 100 was due at 1 ms: 99 ms before the poll.
  ASSERT_EQ(stamps.size(), 1u);
  EXPECT_GE(stamps[0], before - 99 * kMs);
  EXPECT_LE(stamps[0], after - 99 * kMs);
  clock.advance(1900);  // a backlog: record 101 was due at 101 ms, the clock reads 2000 ms
  std::tie(before, after) = poll(SourceStatus::kMore);
  ASSERT_EQ(stamps.size(), 2u);
  EXPECT_GE(stamps[1], before - 1899 * kMs);
  EXPECT_LE(stamps[1], after - 1899 * kMs);
}

// Unpaced, the poll's own stamp stands.
TEST(GeneratorSource, UnpacedBatchesKeepThePollsStamp) {
  OperatorContext ctx;
  GeneratorSource source(generator_config("users: 50\nevents: 10\n"));
  source.open(ctx);
  std::vector<int64_t> stamps;
  Output out([&](BatchPtr& batch) { stamps.push_back(batch->ingest_ns()); }, 4096);
  out.set_ingest_cause(12345);
  source.poll(out);
  out.flush();
  EXPECT_EQ(stamps, (std::vector<int64_t>{12345}));
}

TEST(GeneratorSource, RestoredSourceContinuesWhereTheSnapshotWasTaken) {
  const auto config = generator_config("seed: 9\nusers: 80\nevents: 6000\nout_of_order: 1m\n");
  const auto whole = json_lines(run_generator(config, 1, 2).records);

  OperatorContext ctx;
  ctx.subtask = 1;
  ctx.parallelism = 2;
  GeneratorSource first(config);
  first.open(ctx);
  testing::GeneratorRun before;
  testing::poll_to_end(first, before, 3);
  StateWriter w;
  first.snapshot(w);

  for (bool restore_before_open : {false, true}) {
    SCOPED_TRACE(restore_before_open);
    GeneratorSource second(config);
    StateReader r(w.data());
    if (restore_before_open) second.restore(r);
    second.open(ctx);
    if (!restore_before_open) second.restore(r);
    testing::GeneratorRun after;
    testing::poll_to_end(second, after);
    std::vector<std::string> joined = json_lines(before.records);
    for (const std::string& line : json_lines(after.records)) joined.push_back(line);
    EXPECT_EQ(joined, whole);
  }

  OperatorContext other_subtask;
  other_subtask.subtask = 0;
  other_subtask.parallelism = 2;
  GeneratorSource wrong(config);
  wrong.open(other_subtask);
  StateReader r(w.data());
  EXPECT_THROW(wrong.restore(r), StateFormatError);
}

}  // namespace
}  // namespace segflow
