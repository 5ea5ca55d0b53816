#include "runner/job_summary.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <vector>

#include "engine/channel.h"
#include "engine/dead_letter.h"
#include "engine/executor.h"

namespace segflow {

void print_job_summary(std::ostream& out, const std::string& job, double seconds,
                       const Executor& executor, const DeadLetterOutput& dead_letters) {
  struct Totals {
    bool is_source = false;
    uint32_t subtasks = 0;
    uint64_t in = 0;
    uint64_t out = 0;
  };
  std::vector<std::string> order;
  std::map<std::string, Totals> totals;
  for (const OperatorStats& s : executor.operator_stats()) {
    if (!totals.count(s.operator_id)) order.push_back(s.operator_id);
    Totals& t = totals[s.operator_id];
    t.is_source = s.is_source;
    ++t.subtasks;
    t.in += s.records_in.load();
    t.out += s.records_out.load();
  }
  char line[256];
  std::snprintf(line, sizeof line, "segflow: job '%s' finished in %.3f s on %zu threads\n",
                job.c_str(), seconds, executor.thread_count());
  out << line;
  for (const std::string& id : order) {
    const Totals& t = totals[id];
    if (t.is_source) {
      std::snprintf(line, sizeof line, "  %-24s x%-2u source   out %12llu  (%.0f records/s)\n",
                    id.c_str(), t.subtasks, static_cast<unsigned long long>(t.out),
                    seconds > 0 ? static_cast<double>(t.out) / seconds : 0.0);
    } else {
      std::snprintf(line, sizeof line, "  %-24s x%-2u in %12llu  out %12llu\n", id.c_str(),
                    t.subtasks, static_cast<unsigned long long>(t.in),
                    static_cast<unsigned long long>(t.out));
    }
    out << line;
  }
  if (const CheckpointStats* c = executor.checkpoint_stats()) {
    std::snprintf(
        line, sizeof line,
        "  checkpoints: %llu completed (last id %lld, %.1f MB of %.1f MB state, %.3f s, "
        "alignment %.3f s, subtask pause %.3f s, async %.3f s, file write %.3f s; %.1f MB "
        "written in all), %llu failed, %llu aborted",
        static_cast<unsigned long long>(c->completed.load()),
        static_cast<long long>(c->last_completed_id.load()),
        static_cast<double>(c->last_size_bytes.load()) / 1e6,
        static_cast<double>(c->last_state_size_bytes.load()) / 1e6,
        static_cast<double>(c->last_duration_ns.load()) / 1e9,
        static_cast<double>(c->last_alignment_ns.load()) / 1e9,
        static_cast<double>(c->last_pause_ns.load()) / 1e9,
        static_cast<double>(c->last_async_ns.load()) / 1e9,
        static_cast<double>(c->last_write_ns.load()) / 1e9,
        static_cast<double>(c->written_bytes.load()) / 1e6,
        static_cast<unsigned long long>(c->failed.load()),
        static_cast<unsigned long long>(c->aborted.load()));
    out << line;
    if (c->restored_id.load() != 0) {
      std::snprintf(line, sizeof line, "; restored %lld in %.3f s",
                    static_cast<long long>(c->restored_id.load()),
                    static_cast<double>(c->restore_ns.load()) / 1e9);
      out << line;
    }
    out << "\n";
  }
  // Busy time per subtask thread (elapsed - idle - backpressured, as the
  // segflow_subtask_busy_seconds_total metric): which stage is the bottleneck.
  out << "  busy seconds:";
  for (const SubtaskStats& s : executor.subtask_stats()) {
    const int64_t started = s.started_ns.load();
    const int64_t finished = s.finished_ns.load();
    if (started == 0 || finished == 0) continue;
    int64_t waited = static_cast<int64_t>(s.idle_ns.load());
    for (const Channel* c : s.outputs) waited += static_cast<int64_t>(c->blocked_ns());
    std::snprintf(line, sizeof line, " %s#%u %.3f", s.operator_id.c_str(), s.subtask,
                  static_cast<double>(std::max<int64_t>(0, finished - started - waited)) / 1e9);
    out << line;
  }
  out << "\n";
  out << "  dead letters: " << dead_letters.total();
  for (const auto& [reason, count] : dead_letters.counts())
    out << "  [" << reason << ": " << count << "]";
  out << "\n";
}

}  // namespace segflow
