// The identity operator on the single-operator harness: against the reference union-find on
// thousands of random identity streams, over-merge protection, the merge log, bad input,
// bad config, snapshot/restore.
#include "operators/identity/identity_resolver.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <set>

#include "engine/spec_error.h"
#include "tests/operators/identity/reference_identity.h"
#include "tests/support/operator_harness.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

using ::testing::HasSubstr;

using testing::InputRecord;
using testing::OperatorHarness;
using testing::OutputRecord;
using testing::RandomEvent;
using testing::ReferenceIdentity;

IdentityRules rules_from(const std::string& yaml) {
  const ConfigNode node(YAML::Load(yaml), std::make_shared<const std::string>("job.yaml"),
                        "operators[0]");
  IdentityRules rules = IdentityRules::parse(node);
  node.finish();
  return rules;
}

EventKind kind_of(const std::string& name) {
  EventKind k = EventKind::kTrack;
  parse_event_kind(name, k);
  return k;
}

InputRecord input_of(const RandomEvent& e, int64_t time) {
  InputRecord in{
      "ignored", time, e.kind == "track" ? "Product Viewed" : e.kind, {}, kind_of(e.kind)};
  for (const auto& [name, value] : e.properties) in.properties.emplace_back(name, value);
  in.properties.emplace_back("messageId", "m" + std::to_string(time));
  return in;
}

// The events the operator re-emitted (not merge control records, not profile_merged).
std::vector<OutputRecord> events_of(const std::vector<OutputRecord>& out) {
  std::vector<OutputRecord> events;
  for (const OutputRecord& r : out)
    if (r.kind != EventKind::kMergeExport && r.kind != EventKind::kMergeImport &&
        r.event != "profile_merged")
      events.push_back(r);
  return events;
}

TEST(IdentityResolver, MatchesTheReferenceOnThousandsOfRandomStreams) {
  const IdentityRules rules = rules_from("{}");
  int total_merges = 0, total_refused = 0;
  for (uint32_t seed = 1; seed <= 2000; ++seed) {
    const std::vector<RandomEvent> stream = testing::random_identity_stream(seed, 60);
    OperatorHarness h(std::make_unique<IdentityResolver>(rules));
    ReferenceIdentity ref({1, 5, 5, 5}, 100);
    std::vector<std::string> expected;  // per event with identifiers: its profile key
    std::vector<InputRecord> inputs;
    for (size_t i = 0; i < stream.size(); ++i) {
      inputs.push_back(input_of(stream[i], static_cast<int64_t>(i)));
      const testing::RefIds ids = stream[i].identifiers();
      if (!ids.empty()) expected.push_back("profile-" + std::to_string(ref.resolve(ids)));
    }
    h.process(inputs);
    const std::vector<OutputRecord> out = h.take_output();
    const std::vector<OutputRecord> events = events_of(out);
    ASSERT_EQ(events.size(), expected.size()) << "seed " << seed;
    for (size_t i = 0; i < events.size(); ++i)
      ASSERT_EQ(events[i].key, expected[i]) << "seed " << seed << " event " << i;
    auto& op = h.op_as<IdentityResolver>();
    ASSERT_EQ(op.merges(), static_cast<uint64_t>(ref.merges)) << "seed " << seed;
    ASSERT_EQ(op.refused_links(), static_cast<uint64_t>(ref.refused)) << "seed " << seed;
    ASSERT_EQ(op.events_without_identifier(), stream.size() - expected.size());
    ASSERT_EQ(h.dead_letters().count("no identifier"), stream.size() - expected.size());
    // Final partition: every identifier's canonical profile.
    IdentityGraph graph = op.graph();
    for (const RandomEvent& e : stream)
      for (const auto& [type, value] : e.identifiers()) {
        IdentityGraph::ProfileId p = 0;
        const int want = ref.lookup({type, value});
        const bool known = graph.lookup({type, value}, p);
        ASSERT_EQ(known, want >= 0) << "seed " << seed << " " << value;
        if (known) ASSERT_EQ(static_cast<int>(p), want) << "seed " << seed << " " << value;
      }
    // One export and one import per merge, in that order, before the linking event.
    size_t exports = 0, imports = 0;
    for (const OutputRecord& r : out) {
      exports += r.kind == EventKind::kMergeExport;
      imports += r.kind == EventKind::kMergeImport;
    }
    ASSERT_EQ(exports, op.merges());
    ASSERT_EQ(imports, op.merges());
    total_merges += ref.merges;
    total_refused += ref.refused;
  }
  // The streams exercise both paths.
  EXPECT_GT(total_merges, 2000);
  EXPECT_GT(total_refused, 2000);
}

// Limits per time scope: the same random streams, spread over a minute of event time and
// out of order by up to 4 s, with scoped limits on three types; against the reference, which
// keeps every link time. The scopes must matter: enough events land elsewhere than with the
// same limits counted ever.
TEST(IdentityResolver, MatchesTheReferenceWithLimitsPerTimeScope) {
  const IdentityRules rules = rules_from(
      "{identifiers: [{type: user_id, property: userId, limit: 1},"
      " {type: email, property: traits.email, normalize: email, limit: 1, within: 10s},"
      " {type: anonymous_id, property: anonymousId, limit: 2, within: 5s},"
      " {type: device_id, property: context.device.id, limit: 2, within: 20s}],"
      " alias: {property: previousId, type: anonymous_id}}");
  int differs_from_ever = 0, total_refused = 0, total_merges = 0;
  for (uint32_t seed = 1; seed <= 2000; ++seed) {
    const std::vector<RandomEvent> stream = testing::random_identity_stream(seed, 60);
    std::mt19937 rng(seed);
    OperatorHarness h(std::make_unique<IdentityResolver>(rules));
    ReferenceIdentity ref({1, 1, 2, 2}, 100, {0, 10'000, 5'000, 20'000});
    ReferenceIdentity ever({1, 1, 2, 2}, 100);
    std::vector<std::string> expected;
    std::vector<InputRecord> inputs;
    for (size_t i = 0; i < stream.size(); ++i) {
      const int64_t time = static_cast<int64_t>(i * 1000 + rng() % 4000);
      inputs.push_back(input_of(stream[i], time));
      const testing::RefIds ids = stream[i].identifiers();
      if (ids.empty()) continue;
      const int p = ref.resolve(ids, time);
      differs_from_ever += p != ever.resolve(ids, time);
      expected.push_back("profile-" + std::to_string(p));
    }
    h.process(inputs);
    const std::vector<OutputRecord> events = events_of(h.take_output());
    ASSERT_EQ(events.size(), expected.size()) << "seed " << seed;
    for (size_t i = 0; i < events.size(); ++i)
      ASSERT_EQ(events[i].key, expected[i]) << "seed " << seed << " event " << i;
    auto& op = h.op_as<IdentityResolver>();
    ASSERT_EQ(op.merges(), static_cast<uint64_t>(ref.merges)) << "seed " << seed;
    ASSERT_EQ(op.refused_links(), static_cast<uint64_t>(ref.refused)) << "seed " << seed;
    IdentityGraph graph = op.graph();
    for (const RandomEvent& e : stream) {
      for (const auto& [type, value] : e.identifiers()) {
        IdentityGraph::ProfileId p = 0;
        const int want = ref.lookup({type, value});
        const bool known = graph.lookup({type, value}, p);
        ASSERT_EQ(known, want >= 0) << "seed " << seed << " " << value;
        if (known) {
          ASSERT_EQ(static_cast<int>(p), want) << "seed " << seed << " " << value;
        }
      }
    }
    total_refused += ref.refused;
    total_merges += ref.merges;
  }
  EXPECT_GT(total_merges, 2000);
  EXPECT_GT(total_refused, 2000);
  EXPECT_GT(differs_from_ever, 2000);
}

TEST(IdentityResolver, AScopedLimitCountsOnlyTheIdentifiersLinkedWithinItsScope) {
  const IdentityRules rules = rules_from(
      "{identifiers: [{type: user_id, property: userId, limit: 1},"
      " {type: anonymous_id, property: anonymousId, limit: 2, within: 1d}]}");
  OperatorHarness h(std::make_unique<IdentityResolver>(rules));
  constexpr int64_t kHour = 3'600'000;
  h.process({{"k", 0, "e", {{"userId", "u"}, {"anonymousId", "a1"}}},
             {"k", 1 * kHour, "e", {{"userId", "u"}, {"anonymousId", "a2"}}},
             // a third within a day: refused, a3 stays unlinked
             {"k", 2 * kHour, "e", {{"userId", "u"}, {"anonymousId", "a3"}}},
             {"k", 2 * kHour, "e", {{"anonymousId", "a3"}}},
             // a day after a1 (0 h): only a2 (1 h) counts, so a3's profile merges in; a
             // merged identifier keeps its link time (2 h)
             {"k", 24 * kHour + 1, "e", {{"userId", "u"}, {"anonymousId", "a3"}}},
             {"k", 24 * kHour + 2, "e", {{"anonymousId", "a3"}}},
             // at 30 h nothing counts any more: a4's own profile merges in
             {"k", 30 * kHour, "e", {{"anonymousId", "a4"}}},
             {"k", 30 * kHour, "e", {{"userId", "u"}, {"anonymousId", "a4"}}},
             {"k", 31 * kHour, "e", {{"userId", "u"}, {"anonymousId", "a5"}}},
             // a4 and a5 within the day: a6's profile would bring a third, refused
             {"k", 32 * kHour, "e", {{"anonymousId", "a6"}}},
             {"k", 32 * kHour, "e", {{"userId", "u"}, {"anonymousId", "a6"}}},
             {"k", 32 * kHour, "e", {{"anonymousId", "a6"}}},
             // a day after a5 (31 h): the merge fits
             {"k", 55 * kHour, "e", {{"userId", "u"}, {"anonymousId", "a6"}}},
             {"k", 55 * kHour, "e", {{"anonymousId", "a6"}}}});
  std::vector<std::string> keys;
  for (const OutputRecord& r : events_of(h.take_output())) keys.push_back(r.key);
  const std::vector<std::string> want = {
      "profile-0", "profile-0", "profile-0", "profile-1", "profile-0", "profile-0", "profile-2",
      "profile-0", "profile-0", "profile-3", "profile-0", "profile-3", "profile-0", "profile-0"};
  EXPECT_EQ(keys, want);
  auto& op = h.op_as<IdentityResolver>();
  EXPECT_EQ(op.merges(), 3u);
  EXPECT_EQ(op.refused_links(IdentityGraph::Refusal::kTypeLimit), 2u);
  EXPECT_EQ(op.refused_links(IdentityGraph::Refusal::kMergeCap), 0u);
  EXPECT_EQ(op.graph().live_profile_count(), 1u);
  EXPECT_EQ(op.graph().profile_count(), 4u);
}

TEST(IdentityResolver, ASharedDeviceDoesNotMergeAThousandUsers) {
  const IdentityRules rules1 = rules_from("{}");
  OperatorHarness h(std::make_unique<IdentityResolver>(rules1));
  std::vector<InputRecord> in;
  for (int u = 0; u < 1000; ++u)
    in.push_back({"x",
                  u,
                  "Product Viewed",
                  {{"userId", "user-" + std::to_string(u)}, {"context.device.id", "kiosk"}}});
  h.process(in);
  std::set<std::string> profiles;
  for (const OutputRecord& r : events_of(h.take_output())) profiles.insert(r.key);
  auto& op = h.op_as<IdentityResolver>();
  EXPECT_EQ(profiles.size(), 1000u);
  EXPECT_EQ(op.merges(), 0u);
  EXPECT_EQ(op.refused_links(), 999u);
}

TEST(IdentityResolver, ASharedDeviceMergesAnonymousVisitorsOnlyUpToTheTypeLimit) {
  const IdentityRules rules2 = rules_from("{}");
  OperatorHarness h(std::make_unique<IdentityResolver>(rules2));
  std::vector<InputRecord> in;
  for (int u = 0; u < 1000; ++u)
    in.push_back({"x",
                  u,
                  "Product Viewed",
                  {{"anonymousId", "anon-" + std::to_string(u)}, {"context.device.id", "kiosk"}}});
  h.process(in);
  std::map<std::string, int> events_per_profile;
  for (const OutputRecord& r : events_of(h.take_output())) ++events_per_profile[r.key];
  // The device's profile takes 5 anonymous ids (the limit); every other visitor stays alone.
  EXPECT_EQ(events_per_profile["profile-0"], 5);
  EXPECT_EQ(events_per_profile.size(), 996u);
  EXPECT_EQ(h.op_as<IdentityResolver>().merges(), 4u);
}

TEST(IdentityResolver, TheMergeCapStopsChains) {
  const IdentityRules rules3 = rules_from(
      "{max_merges: 2, identifiers: [{type: a, property: a, limit: 255}, "
      "{type: b, property: b, limit: 255}]}");
  OperatorHarness h(std::make_unique<IdentityResolver>(rules3));
  // a0-b0, a1-b0 (merge 1), a2-b0 ... each later event links a new profile into the chain.
  std::vector<InputRecord> in;
  for (int i = 0; i < 5; ++i) in.push_back({"x", i, "e", {{"a", "a" + std::to_string(i)}}});
  for (int i = 0; i < 5; ++i)
    in.push_back({"x", 10 + i, "e", {{"a", "a" + std::to_string(i)}, {"b", "b"}}});
  h.process(in);
  EXPECT_EQ(h.op_as<IdentityResolver>().merges(), 2u);
  EXPECT_EQ(h.op_as<IdentityResolver>().refused_links(), 2u);
}

TEST(IdentityResolver, MergesEmitControlRecordsProfileMergedAndTheMergeLog) {
  testing::TempDir dir;
  const std::string log = dir.file("merges.jsonl");
  const IdentityRules rules4 = rules_from("{merge_log: " + log + "}");
  OperatorHarness h(std::make_unique<IdentityResolver>(rules4));
  h.process({{"a1", 1, "Product Viewed", {{"anonymousId", "a1"}, {"messageId", "m1"}}},
             {"u1", 2, "Product Viewed", {{"userId", "u1"}, {"messageId", "m2"}}},
             {"u1",
              3,
              "identify",
              {{"userId", "u1"}, {"anonymousId", "a1"}, {"messageId", "m3"}},
              EventKind::kIdentify},
             {"u2",
              4,
              "identify",
              {{"userId", "u2"}, {"anonymousId", "a1"}, {"messageId", "m4"}},
              EventKind::kIdentify}});
  h.end_of_input();
  const std::vector<std::string> lines = h.take_output_lines();
  const std::vector<std::string> want = {
      R"(track profile-0 @1 Product Viewed anonymousId="a1" messageId="m1")",
      R"(track profile-1 @2 Product Viewed userId="u1" messageId="m2")",
      R"(merge_export profile-1 @3 profile_merge merge_other="profile-0" merge_id="op:1")",
      R"(merge_import profile-0 @3 profile_merge merge_other="profile-1" merge_id="op:1")",
      R"(derived profile-0 @3 profile_merged merged_profile="profile-1" identifier_type="anonymous_id" identifier="a1" merge_id="op:1")",
      R"(identify profile-0 @3 identify userId="u1" anonymousId="a1" messageId="m3")",
      // u2 would be a second userId of profile-0: refused, a1 is left out.
      R"(identify profile-2 @4 identify userId="u2" anonymousId="a1" messageId="m4")"};
  EXPECT_EQ(lines, want);
  const std::vector<std::string> log_lines = testing::read_lines(log);
  ASSERT_EQ(log_lines.size(), 2u);
  EXPECT_EQ(
      log_lines[0],
      R"({"type":"merge","merge_id":"op:1","event":"identify","event_time":3,"messageId":"m3","identifier_type":"anonymous_id","identifier":"a1","survivor":"profile-0","merged":"profile-1"})");
  EXPECT_EQ(
      log_lines[1],
      R"({"type":"refused","reason":"type limit: user_id","event":"identify","event_time":4,"messageId":"m4","identifier_type":"anonymous_id","identifier":"a1","profile":"profile-2","identifier_profile":"profile-0"})");
}

TEST(IdentityResolver, EventsWithoutIdentifiersGoToTheDeadLetterOutput) {
  const IdentityRules rules5 =
      rules_from("{blocked_patterns: ['^test-.*$'], blocked_values: [nobody]}");
  OperatorHarness h(std::make_unique<IdentityResolver>(rules5));
  h.process({{"k", 1, "e", {}},
             {"k", 2, "e", {{"userId", "NoBody"}}},
             {"k", 3, "e", {{"userId", "test-123"}, {"anonymousId", nullptr}}},
             {"k", 4, "e", {{"userId", true}}},
             {"k", 5, "e", {{"userId", "0000"}}},  // zeros and dashes are still blocked
             {"k", 6, "e", {{"userId", int64_t{42}}}}});
  const std::vector<OutputRecord> out = h.take_output();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].key, "profile-0");
  EXPECT_EQ(h.dead_letters().count("no identifier"), 5u);
  EXPECT_EQ(h.op_as<IdentityResolver>().events_without_identifier(), 5u);
}

TEST(IdentityResolver, EmailsAreNormalised) {
  const IdentityRules rules6 = rules_from("{}");
  OperatorHarness h(std::make_unique<IdentityResolver>(rules6));
  h.process({{"k", 1, "identify", {{"traits.email", "  Ann@Example.COM "}}},
             {"k", 2, "identify", {{"traits.email", "ann@example.com"}}}});
  const std::vector<OutputRecord> out = h.take_output();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].key, out[1].key);
}

TEST(IdentityResolver, TwoTypesMayReadOneProperty) {
  const IdentityRules rules = rules_from(
      "{identifiers: [{type: a, property: x, limit: 1}, {type: b, property: x, limit: 1},"
      " {type: c, property: y, limit: 1}]}");
  OperatorHarness h(std::make_unique<IdentityResolver>(rules));
  h.process({{"k", 1, "e", {{"y", "w"}, {"x", "v"}, {"x", "ignored: not the first"}}}});
  IdentityGraph graph = h.op_as<IdentityResolver>().graph();
  IdentityGraph::ProfileId p = 1;
  EXPECT_TRUE(graph.lookup({0, "v"}, p));
  EXPECT_TRUE(graph.lookup({1, "v"}, p));
  EXPECT_TRUE(graph.lookup({2, "w"}, p));
  EXPECT_FALSE(graph.lookup({0, "ignored: not the first"}, p));
  EXPECT_EQ(graph.identifier_count(), 3u);
}

TEST(IdentityResolver, BadConfigFailsWithItsLocation) {
  EXPECT_THROW(rules_from("{identifiers: []}"), SpecError);
  EXPECT_THROW(rules_from("{identifiers: [{type: a, property: x, limit: 0}]}"), SpecError);
  EXPECT_THROW(rules_from("{identifiers: [{type: a, property: x}, {type: a, property: y}]}"),
               SpecError);
  EXPECT_THROW(rules_from("{identifiers: [{type: a, property: x, normalize: upper}]}"), SpecError);
  EXPECT_THROW(rules_from("{alias: {type: nope}}"), SpecError);
  EXPECT_THROW(rules_from("{blocked_patterns: ['(']}"), SpecError);
  EXPECT_THROW(rules_from("{max_merge: 3}"), SpecError);
  EXPECT_THROW(rules_from("{identifiers: [{type: a, property: x, within: 0s}]}"), SpecError);
  EXPECT_THROW(rules_from("{identifiers: [{type: a, property: x, within: daily}]}"), SpecError);
  EXPECT_NO_THROW(rules_from("{identifiers: [{type: a, property: x, within: ever}]}"));
  EXPECT_THAT(testing::spec_error_of([] {
                rules_from("{identifiers: [{type: a, property: x, limit: 2,\n  within: 5 days}]}");
              }),
              HasSubstr("job.yaml:2:11:"));
  EXPECT_THAT(testing::spec_error_of(
                  [] { rules_from("{identifiers: [{type: a, property: x, limit: 300}]}"); }),
              HasSubstr("job.yaml:1:"));
}

TEST(IdentityResolver, SnapshotRestoreKeepsTheGraph) {
  const IdentityRules rules = rules_from("{}");
  OperatorHarness a(std::make_unique<IdentityResolver>(rules));
  a.process({{"k", 1, "e", {{"anonymousId", "a1"}}},
             {"k", 2, "e", {{"userId", "u1"}}},
             {"k", 3, "e", {{"userId", "u1"}, {"anonymousId", "a1"}}}});
  OperatorHarness b(std::make_unique<IdentityResolver>(rules));
  b.restore(a.snapshot());
  b.process({{"k", 4, "e", {{"userId", "u1"}}}, {"k", 5, "e", {{"anonymousId", "a2"}}}});
  const std::vector<OutputRecord> out = b.take_output();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].key, "profile-0");
  EXPECT_EQ(out[1].key, "profile-2");
  EXPECT_EQ(b.op_as<IdentityResolver>().merges(), 1u);
  OperatorHarness c(std::make_unique<IdentityResolver>(rules));
  EXPECT_THROW(c.restore("garbage"), StateFormatError);
}

TEST(IdentityResolver, SnapshotRestoreKeepsTheLinkTimesOfScopedLimits) {
  const IdentityRules rules = rules_from(
      "{identifiers: [{type: user_id, property: userId, limit: 1},"
      " {type: anonymous_id, property: anonymousId, limit: 1, within: 1h}]}");
  OperatorHarness a(std::make_unique<IdentityResolver>(rules));
  a.process({{"k", 0, "e", {{"userId", "u"}, {"anonymousId", "a1"}}}});
  OperatorHarness b(std::make_unique<IdentityResolver>(rules));
  b.restore(a.snapshot());
  b.process({{"k", 1000, "e", {{"userId", "u"}, {"anonymousId", "a2"}}},       // refused
             {"k", 3'600'001, "e", {{"userId", "u"}, {"anonymousId", "a3"}}},  // a1 aged out
             {"k", 3'600'002, "e", {{"anonymousId", "a2"}}},
             {"k", 3'600'003, "e", {{"anonymousId", "a3"}}}});
  std::vector<std::string> keys;
  for (const OutputRecord& r : b.take_output()) keys.push_back(r.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"profile-0", "profile-0", "profile-1", "profile-0"}));
  EXPECT_EQ(b.op_as<IdentityResolver>().refused_links(), 1u);
  // Other limits than the snapshot's: refused with a reason, not misread.
  OperatorHarness c(std::make_unique<IdentityResolver>(rules_from("{}")));
  EXPECT_THROW(c.restore(a.snapshot()), StateFormatError);
}

}  // namespace
}  // namespace segflow
