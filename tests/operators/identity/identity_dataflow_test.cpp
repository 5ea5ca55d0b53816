// Identity resolution through the real executor: the identity operator (one subtask) in
// front of keyed operators at parallelism 1, 2 and 4, with the merge protocol of
// engine/profile_merge.h moving state between subtasks. Checked against the reference
// union-find (every event's profile and the final partition of events into profiles), and
// a rolling_count_threshold segment that is entered only because two profiles merged.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <set>

#include "engine/executor.h"
#include "engine/key_group.h"
#include "operators/identity/identity_resolver.h"
#include "operators/segment/segments_operator.h"
#include "operators/threshold/rolling_count_threshold.h"
#include "tests/operators/identity/reference_identity.h"
#include "tests/support/graph_support.h"

namespace segflow {
namespace {

using testing::RandomEvent;

struct TimedEvent {
  int64_t time = 0;
  RandomEvent event;
};

// Emits the given events, a few per poll, with messageId "m<index>".
class ReplaySource final : public Source {
 public:
  ReplaySource(const std::vector<TimedEvent>* events, size_t per_poll)
      : events_(events), per_poll_(per_poll) {}
  SourceStatus poll(Output& out) override {
    for (size_t n = 0; n < per_poll_ && next_ < events_->size(); ++n, ++next_) {
      const TimedEvent& e = (*events_)[next_];
      EventKind kind = EventKind::kTrack;
      parse_event_kind(e.event.kind, kind);
      RecordBuilder b = out.add(
          kind, "k", e.time, intern(kind == EventKind::kTrack ? "Product Viewed" : e.event.kind));
      for (const auto& [name, value] : e.event.properties) b.set(name, Value::string(value));
      b.set("messageId", Value::string("m" + std::to_string(next_)));
    }
    return next_ < events_->size() ? SourceStatus::kMore : SourceStatus::kEnd;
  }

 private:
  const std::vector<TimedEvent>* events_;
  size_t per_poll_;
  size_t next_ = 0;
};

// What the collectors of one run saw.
struct Seen {
  std::mutex mutex;
  std::map<std::string, std::string> profile_of_message;     // at arrival
  std::map<std::string, std::set<std::string>> final_state;  // profile -> messageIds
  std::vector<std::string> errors;
  std::vector<std::string> lines;  // sink
};

// A keyed operator whose state is the messageIds of each profile; follows merges (export /
// import) and forwards every record. Reports its state at close.
class ProfileCollector final : public Operator {
 public:
  static constexpr bool kKeyed = true;
  explicit ProfileCollector(Seen& seen) : seen_(seen) {}
  void open(OperatorContext& ctx) override {
    Operator::open(ctx);
    state_ = std::make_unique<ValueState<std::vector<std::string>>>(ctx.state_scope());
  }
  void process(const Batch& in, Output& out) override {
    for (const Record& r : in.records()) {
      out.forward(in, r);
      if (r.kind == EventKind::kDerived) continue;  // profile_merged
      check_owned(r.key);
      const Value* id = in.find(r, intern("messageId"));
      const std::string message(id->as_string());
      state_->get_or_create(r.key).push_back(message);
      std::lock_guard l(seen_.mutex);
      seen_.profile_of_message[message] = std::string(r.key);
    }
  }
  bool merges_profiles() const override { return true; }
  void export_profile(std::string_view merged, int64_t, StateWriter& w, Output&) override {
    check_owned(merged);
    write_state(w, state_->take(merged));
  }
  void import_profile(std::string_view survivor, std::string_view, int64_t, StateReader& r,
                      Output&) override {
    check_owned(survivor);
    for (std::string& m : read_state<std::vector<std::string>>(r))
      state_->get_or_create(survivor).push_back(std::move(m));
  }
  void close(Output&) override {
    std::lock_guard l(seen_.mutex);
    state_->for_each([&](std::string_view key, std::vector<std::string>& messages) {
      auto& set = seen_.final_state[std::string(key)];
      for (const std::string& m : messages)
        if (!set.insert(m).second) seen_.errors.push_back("duplicate " + m);
    });
  }

 private:
  void check_owned(std::string_view key) {
    if (!ctx().key_groups.contains(key_group_of(key, ctx().max_parallelism))) {
      std::lock_guard l(seen_.mutex);
      seen_.errors.push_back("subtask " + std::to_string(ctx().subtask) + " got " +
                             std::string(key));
    }
  }
  Seen& seen_;
  std::unique_ptr<ValueState<std::vector<std::string>>> state_;
};

// Renders what reaches it as "key @time event name=value" lines.
class LineSink final : public Operator {
 public:
  explicit LineSink(Seen& seen) : seen_(seen) {}
  void process(const Batch& in, Output&) override {
    std::lock_guard l(seen_.mutex);
    for (const Record& r : in.records()) {
      std::string line = std::string(r.key) + " @" + std::to_string(r.event_time) + " " +
                         std::string(symbol_name(r.event));
      if (const Value* c = in.find(r, intern("count")); c != nullptr)
        line += " count=" + std::to_string(c->as_int());
      seen_.lines.push_back(line);
    }
  }

 private:
  Seen& seen_;
};

IdentityRules rules_of(const std::string& yaml) {
  return IdentityRules::parse(
      ConfigNode(YAML::Load(yaml), std::make_shared<const std::string>("test"), ""));
}

IdentityRules default_rules() { return rules_of("{}"); }

// The rules of a reference run, and the reference applying the same ones.
struct RulesCase {
  std::string yaml;
  std::vector<int> limits;
  std::vector<int64_t> within;
};
const RulesCase kDefaultRules{"{}", {1, 5, 5, 5}, {}};
// Scoped limits on the event times below (100 ms apart, out of order by up to 5 s).
const RulesCase kScopedRules{
    "{identifiers: [{type: user_id, property: userId, limit: 1},"
    " {type: email, property: traits.email, normalize: email, limit: 2, within: 3s},"
    " {type: anonymous_id, property: anonymousId, limit: 2, within: 2s},"
    " {type: device_id, property: context.device.id, limit: 3, within: 10s}],"
    " alias: {property: previousId, type: anonymous_id}}",
    {1, 2, 2, 3},
    {0, 3'000, 2'000, 10'000}};

DeadLetterOutput& dead_letters() {
  static DeadLetterOutput d;
  return d;
}

JobSettings settings(uint32_t parallelism) {
  JobSettings s;
  s.parallelism = parallelism;
  s.batch_size = 8;  // small batches and channels: merges meet backpressure
  s.channel_capacity = 2;
  s.watermark_interval_ms = 0;
  s.out_of_orderness_ms = 1000;
  return s;
}

// identity -> collector A (hash) -> collector B (hash): both must hold the reference's
// partition at the end, and have seen each event under the reference's profile.
void run_against_reference(uint32_t seed, uint32_t parallelism,
                           const RulesCase& rules_case = kDefaultRules) {
  std::vector<TimedEvent> events;
  std::mt19937 rng(seed);
  for (RandomEvent& e : testing::random_identity_stream(seed, 300))
    events.push_back({static_cast<int64_t>(events.size()) * 100 + rng() % 5000, std::move(e)});

  testing::ReferenceIdentity ref(rules_case.limits, 100, rules_case.within);
  std::map<std::string, std::string> want_profile;
  std::vector<std::pair<std::string, int>> profile_at_event;
  for (size_t i = 0; i < events.size(); ++i) {
    const testing::RefIds ids = events[i].event.identifiers();
    if (ids.empty()) continue;
    const int p = ref.resolve(ids, events[i].time);
    want_profile["m" + std::to_string(i)] = "profile-" + std::to_string(p);
    profile_at_event.emplace_back("m" + std::to_string(i), p);
  }
  std::map<std::string, std::set<std::string>> want_final;
  for (const auto& [message, p] : profile_at_event)
    want_final["profile-" + std::to_string(ref.root(p))].insert(message);

  const IdentityRules rules = rules_of(rules_case.yaml);
  Seen a, b;
  LogicalGraph g;
  LogicalNode src;
  src.id = "src";
  src.make_source = [&] { return std::make_unique<ReplaySource>(&events, 5); };
  g.add(std::move(src));
  g.add(testing::operator_node("identity", 1, {{"src", Partitioning::kForward}},
                               [&] { return std::make_unique<IdentityResolver>(rules); }));
  g.add(testing::operator_node("a", parallelism, {{"identity", Partitioning::kHash}},
                               [&] { return std::make_unique<ProfileCollector>(a); }));
  g.add(testing::operator_node("b", parallelism, {{"a", Partitioning::kHash}},
                               [&] { return std::make_unique<ProfileCollector>(b); }));
  g.validate();
  Executor e(g, settings(parallelism), {&SystemClock::instance(), &dead_letters()});
  e.run();
  for (Seen* seen : {&a, &b}) {
    EXPECT_TRUE(seen->errors.empty()) << seen->errors.front();
    ASSERT_EQ(seen->profile_of_message, want_profile) << "seed " << seed << " p " << parallelism;
    ASSERT_EQ(seen->final_state, want_final) << "seed " << seed << " p " << parallelism;
  }
}

TEST(IdentityDataflow, PartitionAndProfilesMatchTheReferenceAtParallelism1To4) {
  for (uint32_t parallelism : {1u, 2u, 4u})
    for (uint32_t seed = 1; seed <= 400; ++seed) run_against_reference(seed, parallelism);
}

TEST(IdentityDataflow, WithLimitsPerTimeScopeMatchesTheReferenceAtParallelism1To4) {
  for (uint32_t parallelism : {1u, 2u, 4u})
    for (uint32_t seed = 1; seed <= 200; ++seed)
      run_against_reference(seed, parallelism, kScopedRules);
}

// Runs `events` in every arrival order through source -> identity -> `make_segment`
// (hash-partitioned, parallelism 1, 2 and 4) -> one sink; each run must print `want`.
void expect_in_every_order(const std::vector<TimedEvent>& base,
                           const std::function<std::unique_ptr<Operator>()>& make_segment,
                           const std::vector<std::string>& want) {
  const IdentityRules rules = default_rules();
  std::vector<size_t> order(base.size());
  std::iota(order.begin(), order.end(), 0);
  do {
    std::vector<TimedEvent> events;
    for (size_t i : order) events.push_back(base[i]);
    for (uint32_t parallelism : {1u, 2u, 4u}) {
      Seen seen;
      LogicalGraph g;
      LogicalNode src;
      src.id = "src";
      src.make_source = [&] { return std::make_unique<ReplaySource>(&events, 1); };
      g.add(std::move(src));
      g.add(testing::operator_node("identity", 1, {{"src", Partitioning::kForward}},
                                   [&] { return std::make_unique<IdentityResolver>(rules); }));
      g.add(testing::operator_node("engaged", parallelism, {{"identity", Partitioning::kHash}},
                                   make_segment));
      g.add(testing::operator_node("sink", 1, {{"engaged", Partitioning::kRebalance}},
                                   [&] { return std::make_unique<LineSink>(seen); }));
      g.validate();
      JobSettings s = settings(parallelism);
      s.out_of_orderness_ms = 5000;  // every order is within the bound: nothing is late
      Executor e(g, s, {&SystemClock::instance(), &dead_letters()});
      e.run();
      std::string order_text;
      for (size_t i : order) order_text += std::to_string(i);
      ASSERT_EQ(seen.lines, want) << "order " << order_text << " p " << parallelism;
    }
  } while (std::next_permutation(order.begin(), order.end()));
}

// 2 anonymous and 2 logged-in views of one person, linked by an identify call.
const std::vector<TimedEvent> kTwoAnonymousTwoLoggedInViews = {
    {1000, {"track", {{"anonymousId", "a1"}}}},
    {2000, {"track", {{"anonymousId", "a1"}}}},
    {3000, {"track", {{"userId", "u1"}}}},
    {4000, {"track", {{"userId", "u1"}}}},
    {5000, {"identify", {{"userId", "u1"}, {"anonymousId", "a1"}}}},
};

ConfigNode yaml_node(const std::string& text) {
  return ConfigNode(YAML::Load(text), std::make_shared<const std::string>("test"), "");
}

// In every arrival order, the segment "more than 3 views in 10 minutes" is entered once, by
// the surviving profile, when its 4th view applies; it exits when the first view ages out.
TEST(IdentityDataflow, MergeCarriesStateIntoASegment) {
  // The two profiles live on different subtasks at parallelism 2 and 4.
  for (uint32_t p : {2u, 4u})
    ASSERT_NE(subtask_of_key_group(key_group_of("profile-0", 128), 128, p),
              subtask_of_key_group(key_group_of("profile-1", 128), 128, p));
  const RollingCountThreshold::Config threshold = RollingCountThreshold::Config::parse(
      yaml_node("{events: [Product Viewed], window: 10m, threshold: 3, segment: engaged}"));
  expect_in_every_order(kTwoAnonymousTwoLoggedInViews,
                        [&] { return std::make_unique<RollingCountThreshold>(threshold); },
                        {"profile-0 @4000 entered count=4", "profile-0 @601000 exited count=3"});
}

// The same through the segments operator (its export/import hooks).
TEST(IdentityDataflow, MergeCarriesStateIntoTheSegmentsOperator) {
  const SegmentsOperator::Config config = SegmentsOperator::Config::parse(
      yaml_node("{segments: [{name: engaged, enter: {window: {events: [Product Viewed], "
                "within: 10m, is: '> 3', name: views}}}]}"));
  expect_in_every_order(kTwoAnonymousTwoLoggedInViews,
                        [&] { return std::make_unique<SegmentsOperator>(config); },
                        {"profile-0 @4000 entered", "profile-0 @601000 exited"});
}

}  // namespace
}  // namespace segflow
