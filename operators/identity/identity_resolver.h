// IdentityResolver (`type: identity`): stitches the identifiers of each event (userId,
// traits.email, anonymousId, context.device.id, alias previousId; configurable) into
// profiles with a union-find identity graph and CDP-style rules (identity_graph.h), and
// re-emits every event keyed by its canonical profile id ("profile-<n>"; the oldest profile
// of a merge survives). Not keyed: its input is forwarded; its consumers hash by profile.
//
// Partitioning: one subtask. A global identity graph split by identifier would need a
// distributed union-find (a link between identifiers owned by two subtasks is a two-party
// protocol, and the result must not depend on which subtask sees an event first); one
// subtask is deterministic for a given input order. Its cost (bench/identity_bench.cpp):
// about 20 M identifier lookups/s with 10 M identifiers, 1.26 M whole events/s on one core.
// In front of jobs/retail.yaml's segments it uses under a fifth of a segments subtask's CPU
// time (bench/identity_pipeline.sh); behind it only cheap operators
// (jobs/identity_example.yaml), it is the busiest thread. A later step: partition by
// identifier. The job loader forces parallelism 1 (`kSingleSubtask`) and rejects a larger
// explicit one.
//
// Per event: the identifiers (in priority order; blocked values such as "", "null",
// "unknown", "-1" or zeros and dashes never link) are resolved. Then, in order:
//   - for every merge the event caused: the merge control records (engine/profile_merge.h:
//     the merged-away profile's state in the downstream keyed operators moves to the
//     survivor's subtask and is merged there), then, unless `emit_profile_merged: false`, a
//     derived `profile_merged` record keyed by the survivor with properties
//     `merged_profile`, `identifier_type`, `identifier`, `merge_id`;
//   - the event itself, key = canonical profile id, properties unchanged.
// An event with no (unblocked) identifier goes to the dead-letter output ("no identifier").
// A link refused by the rules (type limit, merge cap) is counted (refused_links()) and, like
// every merge, written to the optional `merge_log` (JSONL): {"type":"merge"|"refused", ...,
// "event", "event_time", "messageId", "identifier_type", "identifier", profiles, reason}.
//
// Config (all optional; defaults shown):
//   identifiers:   # priority order, highest first
//     - {type: user_id, property: userId, limit: 1}
//     - {type: email, property: traits.email, normalize: email, limit: 5}
//     - {type: anonymous_id, property: anonymousId, limit: 5}   # e.g. within: 1d
//     - {type: device_id, property: context.device.id, limit: 5}
//     # `within: <duration>` scopes a type's limit in event time: at most `limit` of that
//     # type linked to a profile by events of the last <duration> (default: ever).
//   alias: {property: previousId, type: anonymous_id}  # alias calls also link previousId
//   max_merges: 100              # merges per profile (merged-in profiles' merges count)
//   blocked_values: ["", null, anonymous, unknown, -1, undefined, none]  # case-insensitive
//   block_zeros_and_dashes: true # "0", "000-000", "--" ...
//   blocked_patterns: []         # ECMAScript regular expressions, whole value
//   profile_prefix: "profile-"
//   merge_log: ""                # JSONL path of merges and refused links
//   emit_profile_merged: true
// Metrics: segflow_profile_merges_total, segflow_profile_merges_refused_total{reason},
// segflow_identity_identifiers and segflow_identity_profiles (live, merged-away excluded).
// Thread safety: one instance per subtask, driven by its thread (operator.h).
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>
#include <vector>

#include "engine/operator.h"
#include "operators/identity/identity_graph.h"
#include "operators/identity/identity_rules.h"

namespace segflow {

class IdentityResolver final : public Operator {
 public:
  static constexpr bool kSingleSubtask = true;
  static constexpr std::string_view kNoIdentifierReason = "no identifier";

  using Config = IdentityRules;

  explicit IdentityResolver(const Config& config);
  ~IdentityResolver() override;

  void open(OperatorContext& ctx) override;
  void process(const Batch& in, Output& out) override;
  void on_watermark(int64_t watermark, Output& out) override;
  void close(Output& out) override;
  // Format: version, merge sequence, counters, the identity graph.
  void snapshot(StateWriter& w) const override;
  void restore(StateReader& r) override;

  // Counters (for tests and metrics): merges applied, links refused (all, or by reason),
  // events without identifiers; graph() gives identifiers and profiles held.
  uint64_t merges() const { return merges_; }
  uint64_t refused_links() const { return refused_[0] + refused_[1]; }
  uint64_t refused_links(IdentityGraph::Refusal reason) const {
    return refused_[static_cast<size_t>(reason)];
  }
  uint64_t events_without_identifier() const { return no_identifier_; }
  const IdentityGraph& graph() const { return graph_; }
  // The key of profile `p`: profile_prefix + number.
  std::string profile_key(IdentityGraph::ProfileId p) const;

 private:
  void append_profile_key(std::string& out, IdentityGraph::ProfileId p) const;
  void log_line(const std::string& line);
  void log_resolution(const Batch& in, const Record& r, const std::vector<std::string>& merge_ids);

  // Sets the identifier and profile gauges from the graph.
  void publish_sizes();

  const Config& config_;
  IdentityGraph graph_;
  // Exported metrics (registered in open()).
  MetricCounter* merges_metric_ = nullptr;
  MetricCounter* refused_type_limit_metric_ = nullptr;
  MetricCounter* refused_merge_cap_metric_ = nullptr;
  MetricGauge* identifiers_metric_ = nullptr;
  MetricGauge* profiles_metric_ = nullptr;
  std::string origin_;
  std::FILE* merge_log_ = nullptr;
  SymbolId profile_merged_;
  SymbolId merged_profile_;
  SymbolId identifier_type_;
  SymbolId identifier_;
  SymbolId merge_id_;
  SymbolId message_id_;
  uint64_t merge_seq_ = 0;
  uint64_t merges_ = 0;
  uint64_t refused_[2] = {0, 0};  // by IdentityGraph::Refusal
  uint64_t no_identifier_ = 0;
  // Scratch, reused per event.
  std::vector<IdentifierRef> ids_;
  std::deque<std::string> id_storage_;
  IdentityGraph::Resolution resolution_;
  std::string key_;
  std::string survivor_key_;
  std::string merged_key_;
};

}  // namespace segflow
