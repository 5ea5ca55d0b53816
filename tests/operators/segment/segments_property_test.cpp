// Property test: the segments operator against the naive reference evaluator
// (tests/support/segment_reference.h) on thousands of random rule sets and event streams,
// delivered out of order within the watermark bound, some with a snapshot/restore midway.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>

#include "operators/segment/segments_operator.h"
#include "tests/support/operator_harness.h"
#include "tests/support/segment_reference.h"

namespace segflow {
namespace {

using testing::InputRecord;
using testing::OperatorHarness;

class RandomCase {
 public:
  // `windows_share_inputs`: half the leaves are windows, all over the same events and one of
  // two `where`s, so windows of different lengths often keep one entry list.
  explicit RandomCase(uint64_t seed, bool windows_share_inputs = false)
      : rng_(seed), windows_share_inputs_(windows_share_inputs) {}

  std::string rules() {
    std::string yaml = "emitted_at: false\n";
    yaml += "rfm: {events: " + events_list() + ", value: properties.v, within: " + duration() +
            ", recency: [30s, 60s, 90s, 240s], frequency: [1, 2, 3, 5], monetary: [2, 5, " +
            std::to_string(pick(6, 9)) + ", 15]}\nsegments:\n";
    const int segments = pick(1, 4);
    for (int s = 0; s < segments; ++s) {
      yaml += "  - name: s" + std::to_string(s) + "\n";
      yaml += "    enter: " + condition(2) + "\n";
      if (pick(0, 4) == 0) yaml += "    exit: " + condition(1) + "\n";
      if (pick(0, 3) == 0) yaml += "    cooldown: " + duration() + "\n";
    }
    return yaml;
  }

  std::vector<InputRecord> events() {
    std::vector<InputRecord> out;
    const int profiles = pick(1, 3);
    const int count = pick(5, 40);
    int64_t t = pick(0, 3) * 1000;
    for (int i = 0; i < count; ++i) {
      t += pick(0, 4) == 0 ? 0 : pick(1, 90) * 1000;  // same-time events happen too
      InputRecord e;
      e.key = "p" + std::to_string(pick(1, profiles));
      e.time = t;
      const int kind = pick(0, 4);
      if (kind == 4) {
        e.event = "identify";
        e.kind = EventKind::kIdentify;
        e.properties.emplace_back("traits.plan", std::string(pick(0, 1) ? "pro" : "free"));
        if (pick(0, 1))
          e.properties.emplace_back("traits.orders", static_cast<int64_t>(pick(0, 6)));
      } else {
        e.event = std::string(1, static_cast<char>('A' + kind));
        e.properties.emplace_back("properties.v", static_cast<int64_t>(pick(0, 9)));
        if (pick(0, 2)) e.properties.emplace_back("properties.p", pick(0, 40) * 0.25);
        e.properties.emplace_back("properties.cat", std::string(pick(0, 1) ? "x" : "y"));
      }
      static const char* kZones[] = {"Europe/Berlin", "America/New_York", "Asia/Kolkata", "Nope"};
      if (pick(0, 3) == 0)
        e.properties.emplace_back("context.timezone", std::string(kZones[pick(0, 3)]));
      out.push_back(std::move(e));
    }
    return out;
  }

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::string events_list() {
    static const char* kLists[] = {"[A]", "[B]", "[A, C]", "[C]", "[D]", "[B, D]"};
    return kLists[pick(0, 5)];
  }
  std::string where() {
    static const char* kWheres[] = {"properties.v >= 4", "properties.cat == 'x'",
                                    "properties.v * 2 + 1 < 12 or properties.cat in ['y']",
                                    "not (properties.v in [1, 2, 3])"};
    return kWheres[pick(0, 3)];
  }
  std::string duration() { return std::to_string(pick(1, 6) * 30) + "s"; }
  std::string op() {
    static const char* kOps[] = {">", ">=", "<", "<=", "==", "!="};
    return kOps[pick(0, 5)];
  }

  std::string leaf() {
    switch (windows_share_inputs_ && pick(0, 1) ? 0 : pick(0, 6)) {
      case 0:
      case 1: {
        std::string w = "{window: {";
        if (windows_share_inputs_) {
          w += "events: [A, C], ";
          if (pick(0, 1)) w += "where: \"properties.v >= 4\", ";
        } else {
          if (pick(0, 3)) w += "events: " + events_list() + ", ";
          if (pick(0, 1)) w += "where: \"" + where() + "\", ";
        }
        static const char* kFns[] = {"count", "count", "sum", "min", "max", "avg"};
        const std::string fn = kFns[pick(0, 5)];
        w += "fn: " + fn + ", ";
        if (fn != "count")
          w += std::string("of: ") +
               (windows_share_inputs_ || pick(0, 1) ? "properties.v" : "properties.p") + ", ";
        const int threshold = fn == "count" ? pick(0, 3) : pick(0, 12);
        return w + "within: " + duration() + ", is: \"" + op() + " " + std::to_string(threshold) +
               "\"}}";
      }
      case 2: {
        std::string a = "{absence: {after: " + events_list() + ", then_no: " + events_list();
        if (pick(0, 1)) a += ", after_where: \"" + where() + "\"";
        if (pick(0, 2) == 0) a += ", then_where: \"" + where() + "\"";
        a += ", within: " + duration();
        if (pick(0, 1)) a += ", for: " + duration();
        return a + "}}";
      }
      case 3: {
        std::string r = "{recency: {";
        if (pick(0, 2)) r += "events: " + events_list() + ", ";
        return r + "since: \"" + op() + " " + duration() + "\"}}";
      }
      case 6: {
        static const char* kScores[] = {"r", "f", "m", "rfm.r"};
        return std::string("{rfm: \"") + kScores[pick(0, 3)] + " " + op() + " " +
               std::to_string(pick(1, 5)) + "\"}";
      }
      default: {
        static const char* kProfiles[] = {"traits.plan == 'pro'", "traits.orders >= 3",
                                          "not (traits.plan == 'free')", "local_hour >= 12",
                                          "local_weekday in [1, 3, 5] or traits.orders < 2"};
        return std::string("{profile: \"") + kProfiles[pick(0, 4)] + "\"}";
      }
    }
  }

  std::string condition(int depth) {
    if (depth == 0 || pick(0, 2) == 0) return leaf();
    switch (pick(0, 2)) {
      case 0:
        return "{not: " + condition(depth - 1) + "}";
      default: {
        std::string c = pick(0, 1) ? "{all: [" : "{any: [";
        const int n = pick(1, 3);
        for (int i = 0; i < n; ++i) c += (i ? ", " : "") + condition(depth - 1);
        return c + "]}";
      }
    }
  }

  std::mt19937_64 rng_;
  bool windows_share_inputs_ = false;
};

// Delivers `events` in a random order within `bound` of event time, with the watermark
// following; takes a snapshot and restores it into a new instance after `restore_after`
// events (never when negative).
std::vector<std::string> run_operator(const SegmentsOperator::Config& config,
                                      std::vector<InputRecord> events, int64_t bound,
                                      int restore_after, std::mt19937_64& rng) {
  std::vector<std::pair<int64_t, InputRecord>> delivery;
  for (auto& e : events) {
    const int64_t jitter = std::uniform_int_distribution<int64_t>(0, bound - 1)(rng);
    delivery.emplace_back(e.time + jitter, std::move(e));
  }
  std::stable_sort(delivery.begin(), delivery.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  auto h = std::make_unique<OperatorHarness>(std::make_unique<SegmentsOperator>(config));
  std::vector<std::string> lines;
  int delivered = 0;
  for (auto& [arrival, e] : delivery) {
    h->process({e});
    // Every later delivery has time > arrival - bound.
    if (arrival - bound > h->current_watermark()) h->watermark(arrival - bound);
    if (++delivered == restore_after) {
      for (auto& l : h->take_output_lines()) lines.push_back(l);
      const std::string snapshot = h->snapshot();
      h = std::make_unique<OperatorHarness>(std::make_unique<SegmentsOperator>(config));
      h->restore(snapshot);
    }
  }
  h->end_of_input();
  for (auto& l : h->take_output_lines()) lines.push_back(l);
  std::sort(lines.begin(), lines.end());
  return lines;
}

// Runs `cases` random cases against the reference evaluator.
void check_random_cases(uint64_t cases, bool windows_share_inputs) {
  size_t changes = 0;
  for (uint64_t seed = 1; seed <= cases; ++seed) {
    RandomCase c(seed, windows_share_inputs);
    const std::string yaml = c.rules();
    const ConfigNode node(YAML::Load(yaml), std::make_shared<const std::string>("random.yaml"),
                          "op");
    const SegmentsOperator::Config config = SegmentsOperator::Config::parse(node);
    const std::vector<InputRecord> events = c.events();
    const auto expected = testing::reference_segment_changes(config.rules, events);
    const int64_t bound = c.pick(1, 120) * 1000;
    const int restore_after = c.pick(0, 3) == 0 ? c.pick(1, static_cast<int>(events.size())) : -1;
    const auto actual = run_operator(config, events, bound, restore_after, c.rng());
    ASSERT_EQ(actual, expected) << "seed " << seed << "\n" << yaml;
    changes += expected.size();
  }
  // The random rules do produce changes (the comparison is not vacuous).
  EXPECT_GT(changes, cases);
}

TEST(SegmentsProperty, MatchesTheReferenceEvaluatorOnRandomStreams) {
  check_random_cases(3000, false);
}

// Windows of different lengths, functions and tests over one entry list (segment_rules.h).
TEST(SegmentsProperty, WindowsSharingEntriesMatchTheReferenceEvaluator) {
  check_random_cases(1500, true);
}

}  // namespace
}  // namespace segflow
