// Profile merges in the dataflow: how the state of a merged-away profile follows it to the
// surviving profile's subtask when the identity operator links two profiles.
//
// Protocol. For a merge of profile M (merged away) into S (survivor), the identity operator
// emits, in order, two control records (emit_merge_records) and flushes:
//   1. kMergeExport, key M, property merge_other = S
//   2. kMergeImport, key S, property merge_other = M
// both with property merge_id (unique per merge) and the event time of the linking event.
// They are records, so hash partitioning routes them like M's and S's events: each reaches
// the subtask owning its key, in order after every record of that key emitted before it,
// and before every record emitted after it (per-key FIFO on a producer's channel). The
// runtime (Subtask) never hands them to Operator::process. At each operator on the path it:
//   - export: calls op.export_profile(M) (engine/operator.h) and puts the bytes into the
//     job's ProfileHandoff under "<operator id>/<merge id>";
//   - import: takes those bytes, waiting until the exporting subtask has put them, and calls
//     op.import_profile(S, M);
//   - then forwards the control record to the operator's output and flushes it, so
//     downstream operators (e.g. a keyed operator after another) get the same protocol, in
//     order with what this operator emitted. Routers flush every pending batch after a
//     batch holding a control record, so none waits in a buffer behind later data.
// Operators with merges_profiles() == false only forward the records.
//
// Why it is correct: every event of M that reached the identity operator before the merge
// precedes the export on M's channel, so it is in M's exported state; every later event of
// M's identifiers is keyed S and follows the import on S's channel, so it lands in the merged
// state; out-of-order event times are the operators' business (they buffer by event time,
// and buffered events are part of the exported state). Why it cannot deadlock: a subtask only
// waits at an import, for the export of the same merge, which its producer pushed before the
// import (flushed). The exporting subtask reaches it unless it waits itself, at an import
// that precedes the export on its channel, so of an earlier merge: waits-for only points to
// earlier merges, so there is no cycle. A cancelled job stops all waits.
// Requirements: the path from the identity operator to a keyed operator keeps per-key order
// (hash or forward edges; not rebalance or broadcast, which would also reorder the events).
//
// Thread safety: ProfileHandoff is shared by all subtasks (mutex + condition variable); the
// helpers are pure functions on records.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/batch.h"
#include "engine/output.h"

namespace segflow {

inline bool is_merge_record(const Record& r) {
  return r.kind == EventKind::kMergeExport || r.kind == EventKind::kMergeImport;
}
bool has_merge_records(const Batch& batch);

// What a merge control record carries besides its key and time.
struct MergeRecordFields {
  std::string_view other;     // export: the survivor; import: the merged-away profile
  std::string_view merge_id;  // unique per merge
};
// False when `r` is not a well-formed merge control record.
bool read_merge_record(const Batch& batch, const Record& r, MergeRecordFields& fields);

// Emits the export (key `merged`) and import (key `survivor`) records of one merge, then
// flushes `out`.
void emit_merge_records(Output& out, std::string_view merged, std::string_view survivor,
                        int64_t time, std::string_view merge_id);

// The rendezvous of exported profile state: one entry per (operator, merge), put by the
// exporting subtask, taken once by the importing one.
class ProfileHandoff {
 public:
  void put(const std::string& key, std::string bytes);
  // Waits until `key` was put (or `cancelled` is set: then returns false), then removes it.
  bool take(const std::string& key, const std::atomic<bool>& cancelled, std::string& bytes);
  size_t pending() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable put_;
  std::unordered_map<std::string, std::string> entries_;
};

}  // namespace segflow
