#include "engine/job_health.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <vector>

#include "engine/dead_letter.h"
#include "engine/executor.h"
#include "engine/json_text.h"
#include "engine/process_metrics.h"

namespace segflow {

namespace {

// Lowest watermark over every operator subtask that has one; INT64_MIN when none has.
int64_t lowest_watermark(const Executor& executor) {
  int64_t lowest = INT64_MAX;
  bool any = false;
  for (const OperatorStats& s : executor.operator_stats()) {
    const int64_t wm = s.watermark.load(std::memory_order_relaxed);
    if (wm == kMinTime) return INT64_MIN;  // someone has no watermark yet
    lowest = std::min(lowest, wm);
    any = true;
  }
  return any ? lowest : INT64_MIN;
}

void append_number(std::string& out, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  out += buf;
}

// One operator-published series summed over an operator's subtasks.
struct PublishedValue {
  std::string name;
  std::vector<MetricLabel> labels;
  double value = 0;
};

// The operator-published metrics (engine/operator_metrics.h) by operator id, each series
// summed over subtasks, in name order.
std::map<std::string, std::vector<PublishedValue>> published_by_operator(const Executor& executor) {
  std::map<std::string, std::map<std::string, PublishedValue>> by_key;
  executor.operator_metrics().for_each([&](const MetricRegistry::Family& f) {
    for (const auto& [key, series] : f.series) {
      std::string id = f.name;
      for (const MetricLabel& l : series.labels) id += '\0' + l.name + '=' + l.value;
      PublishedValue& v = by_key[series.operator_id][id];
      v.name = f.name;
      v.labels = series.labels;
      v.value += f.kind == MetricKind::kCounter ? static_cast<double>(series.counter.value())
                                                : series.gauge.value();
    }
  });
  std::map<std::string, std::vector<PublishedValue>> out;
  for (auto& [op, values] : by_key)
    for (auto& [id, v] : values) out[op].push_back(std::move(v));
  return out;
}

}  // namespace

ReadinessProbe::Verdict ReadinessProbe::check(const Executor& executor) {
  const JobState state = executor.state();
  if (state != JobState::kRunning) return {false, std::string("job is ") + to_string(state)};
  const int64_t wm = lowest_watermark(executor);
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  std::lock_guard lock(mutex_);
  if (wm == INT64_MIN) return {false, "no watermark yet"};
  if (wm != last_watermark_) {
    last_watermark_ = wm;
    last_change_ns_ = now;
    return {true, "running, watermark advancing"};
  }
  if (static_cast<double>(now - last_change_ns_) > stall_ns_) return {false, "watermark stalled"};
  return {true, "running, watermark advancing"};
}

std::string job_status_json(const std::string& job, const Executor& executor) {
  struct Op {
    uint32_t parallelism = 0;
    bool is_source = false;
    uint64_t in = 0, out = 0, bytes = 0;
    int64_t watermark = kMaxTime;
  };
  std::vector<std::string> order;
  std::map<std::string, Op> ops;
  for (const OperatorStats& s : executor.operator_stats()) {
    auto [it, fresh] = ops.try_emplace(s.operator_id);
    if (fresh) order.push_back(s.operator_id);
    Op& op = it->second;
    ++op.parallelism;
    op.is_source = s.is_source;
    op.in += s.records_in.load(std::memory_order_relaxed);
    op.out += s.records_out.load(std::memory_order_relaxed);
    op.bytes += s.bytes_in.load(std::memory_order_relaxed);
    op.watermark = std::min(op.watermark, s.watermark.load(std::memory_order_relaxed));
  }
  const auto published = published_by_operator(executor);
  // Edges between operators, from the channel names "from#i->to#j".
  std::set<std::pair<std::string, std::string>> edges;
  for (const Channel* c : executor.channels()) {
    const std::string& name = c->name();
    const size_t arrow = name.find("->");
    if (arrow == std::string::npos) continue;
    const std::string from = name.substr(0, name.rfind('#', arrow));
    const std::string to_part = name.substr(arrow + 2);
    edges.emplace(from, to_part.substr(0, to_part.rfind('#')));
  }

  std::string out = "{\"job\":";
  append_json_string(out, job);
  out += ",\"state\":\"";
  out += to_string(executor.state());
  out += "\",\"uptime_seconds\":";
  append_number(out, process_uptime_seconds());
  out += ",\"threads\":" + std::to_string(executor.thread_count());
  out += ",\"operators\":[";
  for (size_t i = 0; i < order.size(); ++i) {
    const Op& op = ops[order[i]];
    if (i > 0) out += ',';
    out += "{\"id\":";
    append_json_string(out, order[i]);
    out += ",\"kind\":\"";
    out += op.is_source ? "source" : "operator";
    out += "\",\"parallelism\":" + std::to_string(op.parallelism);
    if (!op.is_source) out += ",\"records_in\":" + std::to_string(op.in);
    out += ",\"records_out\":" + std::to_string(op.out);
    if (op.is_source) out += ",\"bytes_in\":" + std::to_string(op.bytes);
    out += ",\"watermark\":";
    if (op.watermark == kMinTime) {
      out += "null";
    } else if (op.watermark == kMaxTime) {
      out += "\"end\"";
    } else {
      append_iso8601(out += '"', op.watermark);
      out += '"';
    }
    if (const auto it = published.find(order[i]); it != published.end()) {
      out += ",\"metrics\":[";
      for (size_t m = 0; m < it->second.size(); ++m) {
        const PublishedValue& v = it->second[m];
        if (m > 0) out += ',';
        out += "{\"name\":";
        append_json_string(out, v.name);
        out += ",\"labels\":{";
        for (size_t l = 0; l < v.labels.size(); ++l) {
          if (l > 0) out += ',';
          append_json_string(out, v.labels[l].name);
          out += ':';
          append_json_string(out, v.labels[l].value);
        }
        out += "},\"value\":";
        append_number(out, v.value);
        out += '}';
      }
      out += ']';
    }
    out += '}';
  }
  out += "],\"edges\":[";
  bool first = true;
  for (const auto& [from, to] : edges) {
    if (!first) out += ',';
    first = false;
    out += "{\"from\":";
    append_json_string(out, from);
    out += ",\"to\":";
    append_json_string(out, to);
    out += '}';
  }
  out += "]}";
  return out;
}

}  // namespace segflow
