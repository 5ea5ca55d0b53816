// Metrics an operator, source or sink publishes itself (segment sizes, merges, requests by
// status...). An operator registers its counters and gauges once (in open()), keeps the
// references, and updates them on the hot path: one relaxed atomic operation, no lookup.
// The job's MetricRegistry is owned by the engine; the metrics endpoint reads every series
// at scrape time and adds the job, operator and subtask labels (engine/metrics_exporter.h).
// No Prometheus headers here: operators depend only on this file.
// Thread safety: registration from any thread (a mutex); MetricCounter / MetricGauge
// updates from any thread (atomics); MetricRegistry::for_each from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace segflow {

// One label of a series beyond the standard job / operator / subtask.
struct MetricLabel {
  std::string name;
  std::string value;
  bool operator==(const MetricLabel&) const = default;
};

// A monotonically increasing count (Prometheus counter; names end in `_total`).
class MetricCounter {
 public:
  void inc(uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down (Prometheus gauge).
class MetricGauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double delta) noexcept { value_.fetch_add(delta, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

enum class MetricKind : uint8_t { kCounter, kGauge };

// Every operator-published series of one job, grouped into families by name.
class MetricRegistry {
 public:
  // One series: its operator subtask, its extra labels, and its value (the member that
  // matches the family's kind).
  struct Series {
    std::string operator_id;
    uint32_t subtask = 0;
    std::vector<MetricLabel> labels;
    MetricCounter counter;
    MetricGauge gauge;
  };
  struct Family {
    std::string name;
    std::string help;
    MetricKind kind = MetricKind::kCounter;
    std::map<std::string, Series> series;  // by operator, subtask and labels
  };

  // The series (created on first call, the same one after): throws std::invalid_argument
  // when the name or a label name is not a valid Prometheus name, a counter's name does not
  // end in `_total`, a label is job/operator/subtask or repeated, or the name is already
  // registered with another kind or help text.
  MetricCounter& counter(std::string_view operator_id, uint32_t subtask, std::string_view name,
                         std::string_view help, std::vector<MetricLabel> labels = {});
  MetricGauge& gauge(std::string_view operator_id, uint32_t subtask, std::string_view name,
                     std::string_view help, std::vector<MetricLabel> labels = {});

  // Calls `visit` for every family in name order, holding the registry's lock: read the
  // values (value()), register nothing.
  void for_each(const std::function<void(const Family&)>& visit) const;

 private:
  Series& series(MetricKind kind, std::string_view operator_id, uint32_t subtask,
                 std::string_view name, std::string_view help, std::vector<MetricLabel> labels);

  mutable std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
};

// One operator subtask's view of the job's registry: its series carry its operator id and
// subtask. Cheap to copy; register in open(), keep the returned references.
class OperatorMetrics {
 public:
  OperatorMetrics(MetricRegistry& registry, std::string operator_id, uint32_t subtask)
      : registry_(&registry), operator_id_(std::move(operator_id)), subtask_(subtask) {}

  MetricCounter& counter(std::string_view name, std::string_view help,
                         std::vector<MetricLabel> labels = {}) const {
    return registry_->counter(operator_id_, subtask_, name, help, std::move(labels));
  }
  MetricGauge& gauge(std::string_view name, std::string_view help,
                     std::vector<MetricLabel> labels = {}) const {
    return registry_->gauge(operator_id_, subtask_, name, help, std::move(labels));
  }

 private:
  MetricRegistry* registry_;
  std::string operator_id_;
  uint32_t subtask_;
};

}  // namespace segflow
