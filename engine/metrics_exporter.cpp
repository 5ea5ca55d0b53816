#include "engine/metrics_exporter.h"

#include <limits>
#include <stdexcept>

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>

#include "engine/dead_letter.h"
#include "engine/executor.h"

namespace segflow {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

class MetricsExporter::Collector final : public prometheus::Collectable {
 public:
  Collector(std::string job, const Executor& executor, const DeadLetterOutput& dead_letters)
      : job_(std::move(job)), executor_(executor), dead_letters_(dead_letters) {}

  std::vector<MetricFamily> Collect() const override {
    MetricFamily in{"segflow_records_in_total",
                    "Records received by an operator subtask",
                    MetricType::Counter,
                    {}};
    MetricFamily out{"segflow_records_out_total",
                     "Records emitted by an operator subtask",
                     MetricType::Counter,
                     {}};
    MetricFamily watermark{
        "segflow_watermark_ms",
        "Current event-time watermark of an operator subtask (ms since epoch; +Inf: ended)",
        MetricType::Gauge,
        {}};
    for (const OperatorStats& s : executor_.operator_stats()) {
      const std::vector<ClientMetric::Label> labels = {
          {"job", job_}, {"operator", s.operator_id}, {"subtask", std::to_string(s.subtask)}};
      if (!s.is_source) add_counter(in, labels, s.records_in.load(std::memory_order_relaxed));
      add_counter(out, labels, s.records_out.load(std::memory_order_relaxed));
      const int64_t wm = s.watermark.load(std::memory_order_relaxed);
      if (wm == kMaxTime)
        add_gauge(watermark, labels, std::numeric_limits<double>::infinity());
      else if (wm != kMinTime)
        add_gauge(watermark, labels, static_cast<double>(wm));
    }
    MetricFamily fill{"segflow_channel_fill_ratio",
                      "Queued batches / capacity of a channel",
                      MetricType::Gauge,
                      {}};
    MetricFamily blocked{"segflow_backpressure_seconds_total",
                         "Time the producer of a channel spent blocked on a full channel",
                         MetricType::Counter,
                         {}};
    for (const Channel* c : executor_.channels()) {
      const std::vector<ClientMetric::Label> labels = {{"job", job_}, {"channel", c->name()}};
      add_gauge(fill, labels, static_cast<double>(c->size()) / static_cast<double>(c->capacity()));
      add_counter(blocked, labels, static_cast<double>(c->blocked_ns()) / 1e9);
    }
    MetricFamily dead{"segflow_dead_letters_total",
                      "Input sent to the dead-letter output, by reason",
                      MetricType::Counter,
                      {}};
    for (const auto& [reason, count] : dead_letters_.counts())
      add_counter(dead, {{"job", job_}, {"reason", reason}}, static_cast<double>(count));
    return {in, out, watermark, fill, blocked, dead};
  }

 private:
  static void add_counter(MetricFamily& f, std::vector<ClientMetric::Label> labels, double v) {
    ClientMetric m;
    m.label = std::move(labels);
    m.counter.value = v;
    f.metric.push_back(std::move(m));
  }
  static void add_gauge(MetricFamily& f, std::vector<ClientMetric::Label> labels, double v) {
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = v;
    f.metric.push_back(std::move(m));
  }

  std::string job_;
  const Executor& executor_;
  const DeadLetterOutput& dead_letters_;
};

MetricsExporter::MetricsExporter(const std::string& address, const std::string& job,
                                 const Executor& executor, const DeadLetterOutput& dead_letters) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot serve metrics on " + address + ": " + e.what());
  }
  collector_ = std::make_shared<Collector>(job, executor, dead_letters);
  exposer_->RegisterCollectable(collector_);
}

MetricsExporter::~MetricsExporter() = default;

int MetricsExporter::port() const {
  const auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace segflow
