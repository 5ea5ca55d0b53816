// GeneratorSource (`type: generator`): synthetic e-commerce traffic in the shape the Segment
// JSON decoder produces — anonymous browsing, identify calls, several devices per person,
// product funnels, abandoned carts, sessions following local time of day, people who go
// quiet for weeks — deterministic for a seed. Thread safety: one instance per subtask.
//
// Keys (all optional):
//   seed          integer >= 0, default 1
//   users         people simulated, 1..100000000, default 1000 (about 100 bytes each)
//   events        records to emit in total, then end; 0 (default) = until the job stops
//   rate          records per second of processing time for the whole source; 0 (default)
//                 = as fast as possible. When paced, the end-to-end latency of a record counts
//                 from when it was due, as it would for a live producer (engine/README.md)
//   start         event time of the simulation's start, ISO-8601, default
//                 2024-01-01T00:00:00Z
//   out_of_order  duration, default 0: a quarter of sessions are stamped up to this much
//                 earlier than their place in the stream (never earlier than the person's
//                 previous event), so no record is more than this behind the latest event
//                 time emitted before it. Keep it within the job's out-of-orderness.
//
// Parallelism: subtask i of p simulates the people u with u % p == i and emits its share of
// `events` and `rate` (split evenly over the min(p, users) subtasks that have people). A
// person's events do not depend on p, but where `events` cuts the stream, and the
// interleaving of people across subtasks, do: the output is a pure function of the config
// and the source parallelism. With parallelism 1 it is a pure function of the config.
//
// Records (the equivalent Segment JSON, flattened with dotted names):
//   kind track (event "Product List Viewed", "Product Viewed", "Product Added",
//   "Checkout Started", "Order Completed"), identify (event "identify") or page (event
//   "page"); key = userId once the person logged in on that device, else anonymousId.
//   Properties, in this order: userId (when logged in), anonymousId, messageId, then
//     page:              properties.name
//     Product List Viewed: properties.category
//     Product Viewed:    properties.product_id, properties.category, properties.price
//     Product Added:     the same, and properties.quantity
//     Checkout Started / Order Completed: properties.order_id, properties.revenue,
//                        properties.currency
//     identify:          traits.email, traits.plan
//   then context.device.id, context.device.type, context.location.country,
//   context.timezone, context.locale.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "connectors/generator/synthetic_ids.h"
#include "connectors/generator/user_model.h"
#include "connectors/generator/user_timeline.h"
#include "engine/config_node.h"
#include "engine/operator.h"

namespace segflow {

class GeneratorSource final : public Source {
 public:
  struct Config {
    uint64_t seed = 1;
    uint32_t users = 1000;
    uint64_t events = 0;               // 0: unbounded
    double rate = 0;                   // records/s; 0: unpaced
    int64_t start_ms = 1704067200000;  // 2024-01-01T00:00:00Z
    int64_t out_of_order_ms = 0;
    static Config parse(const ConfigNode& node);
  };

  // Records emitted per poll() at most.
  static constexpr uint32_t kRecordsPerPoll = 512;

  explicit GeneratorSource(const Config& config);
  void open(OperatorContext& ctx) override;
  SourceStatus poll(Output& out) override;
  // The state is every simulated person's state and the count emitted: a restored source
  // continues exactly where the snapshot was taken. Restore with the same config and
  // parallelism (before or after open()).
  void snapshot(StateWriter& w) const override;
  void restore(StateReader& r) override;

 private:
  struct Symbols {
    SymbolId events[generator::kActionCount];
    SymbolId user_id, anonymous_id, message_id;
    SymbolId product_id, category, price, quantity, order_id, revenue, currency, page_name;
    SymbolId email, plan;
    SymbolId device_id, device_type, country, timezone, locale;
  };
  struct Restored {
    uint64_t subtask;
    uint64_t parallelism;
    uint64_t emitted;
    std::vector<generator::UserState> states;
  };

  void emit(const generator::UserProfile& profile, const generator::ModelEvent& event,
            Output& out) const;
  void apply(Restored restored);
  void rebuild_timeline();

  Config config_;
  std::optional<generator::UserModel> model_;
  generator::SyntheticIds ids_;
  Symbols symbols_{};
  uint32_t subtask_ = 0;
  uint32_t parallelism_ = 1;
  std::vector<generator::UserProfile> profiles_;  // by local index; user = local * p + subtask
  std::vector<generator::UserState> states_;
  generator::UserTimeline timeline_;
  uint64_t limit_ = UINT64_MAX;  // this subtask's share of `events`
  uint64_t emitted_ = 0;
  double rate_ = 0;  // this subtask's share of `rate`
  int64_t pace_start_ms_ = -1;
  uint64_t paced_ = 0;  // emitted since pace_start_ms_
  std::optional<Restored> pending_restore_;
};

}  // namespace segflow
