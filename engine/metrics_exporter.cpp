#include "engine/metrics_exporter.h"

#include <CivetServer.h>

#include <chrono>
#include <limits>
#include <stdexcept>

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include "engine/dead_letter.h"
#include "engine/executor.h"
#include "engine/job_health.h"
#include "engine/process_metrics.h"

namespace segflow {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

namespace {

MetricFamily family(const char* name, const char* help, MetricType type) {
  return MetricFamily{name, help, type, {}};
}

void add(MetricFamily& f, Labels labels, double v) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter)
    m.counter.value = v;
  else
    m.gauge.value = v;
  f.metric.push_back(std::move(m));
}

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The checkpoint coordinator's figures (jobs with `checkpoints:` only).
void add_checkpoint_metrics(const std::string& job, const CheckpointStats& c,
                            std::vector<MetricFamily>& families) {
  const Labels labels = {{"job", job}};
  auto gauge = [&](const char* name, const char* help, double v) {
    auto f = family(name, help, MetricType::Gauge);
    add(f, labels, v);
    families.push_back(std::move(f));
  };
  auto counter = [&](const char* name, const char* help, double v) {
    auto f = family(name, help, MetricType::Counter);
    add(f, labels, v);
    families.push_back(std::move(f));
  };
  auto load = [](const auto& a) { return static_cast<double>(a.load(std::memory_order_relaxed)); };
  gauge("segflow_checkpoint_last_completed_id", "Id of the newest completed checkpoint",
        load(c.last_completed_id));
  gauge("segflow_checkpoint_last_duration_seconds",
        "Trigger to completion of the newest completed checkpoint", load(c.last_duration_ns) / 1e9);
  gauge("segflow_checkpoint_last_size_bytes", "Bytes written by the newest completed checkpoint",
        load(c.last_size_bytes));
  gauge("segflow_checkpoint_last_state_size_bytes",
        "Bytes of every file the newest completed checkpoint needs (incremental: with shared "
        "files uploaded earlier)",
        load(c.last_state_size_bytes));
  counter("segflow_checkpoint_written_bytes_total", "Bytes written by completed checkpoints",
          load(c.written_bytes));
  gauge("segflow_checkpoint_last_alignment_seconds",
        "Longest barrier alignment of a subtask in the newest completed checkpoint",
        load(c.last_alignment_ns) / 1e9);
  gauge("segflow_checkpoint_last_sync_seconds",
        "Longest pause of a subtask at the barrier to snapshot its state in the newest "
        "completed checkpoint",
        load(c.last_pause_ns) / 1e9);
  gauge("segflow_checkpoint_last_async_seconds",
        "Longest deferred (copy-on-write) part of a subtask's snapshot in the newest completed "
        "checkpoint, written while the subtask goes on",
        load(c.last_async_ns) / 1e9);
  gauge("segflow_checkpoint_restored_id", "Checkpoint this run was restored from (0: none)",
        load(c.restored_id));
  counter("segflow_checkpoints_completed_total", "Checkpoints completed", load(c.completed));
  counter("segflow_checkpoints_failed_total",
          "Checkpoints that failed (a subtask could not write its state, or the metadata)",
          load(c.failed));
  counter("segflow_checkpoints_aborted_total",
          "Checkpoints given up because a subtask reached the end of its input first",
          load(c.aborted));
}

// segflow_end_to_end_latency_seconds of every sink subtask.
MetricFamily latency_family(const std::string& job, const Executor& executor) {
  auto f = family("segflow_end_to_end_latency_seconds",
                  "Time from an event's ingest at the source to the end of the sink's "
                  "processing of the records it caused (timer-made records are not observed)",
                  MetricType::Histogram);
  for (const OperatorStats& s : executor.operator_stats()) {
    if (!s.is_sink) continue;
    const LatencyHistogram& h = s.end_to_end_latency;
    ClientMetric m;
    m.label = {{"job", job}, {"operator", s.operator_id}, {"subtask", std::to_string(s.subtask)}};
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= LatencyHistogram::kBounds.size(); ++b) {
      cumulative += h.bucket(b);
      const double bound = b < LatencyHistogram::kBounds.size()
                               ? LatencyHistogram::kBounds[b]
                               : std::numeric_limits<double>::infinity();
      m.histogram.bucket.push_back({cumulative, bound});
    }
    m.histogram.sample_count = cumulative;
    m.histogram.sample_sum = h.sum_seconds();
    f.metric.push_back(std::move(m));
  }
  return f;
}

// What the operators published themselves (engine/operator_metrics.h), with the standard
// labels first.
void add_operator_metrics(const std::string& job, const MetricRegistry& registry,
                          std::vector<MetricFamily>& families) {
  registry.for_each([&](const MetricRegistry::Family& f) {
    const bool counter = f.kind == MetricKind::kCounter;
    auto out = MetricFamily{f.name, f.help, counter ? MetricType::Counter : MetricType::Gauge, {}};
    for (const auto& [key, series] : f.series) {
      Labels labels = {{"job", job},
                       {"operator", series.operator_id},
                       {"subtask", std::to_string(series.subtask)}};
      for (const MetricLabel& l : series.labels) labels.push_back({l.name, l.value});
      add(out, std::move(labels),
          counter ? static_cast<double>(series.counter.value()) : series.gauge.value());
    }
    families.push_back(std::move(out));
  });
}

// Every metric family of the job, read from the executor's atomics.
std::vector<MetricFamily> collect(const std::string& job, const Executor& executor,
                                  const DeadLetterOutput& dead_letters) {
  auto in = family("segflow_records_in_total", "Records received by an operator subtask",
                   MetricType::Counter);
  auto out = family("segflow_records_out_total", "Records emitted by an operator subtask",
                    MetricType::Counter);
  auto bytes =
      family("segflow_source_bytes_in_total",
             "Bytes read by a source subtask (sources that read bytes: file)", MetricType::Counter);
  auto watermark = family(
      "segflow_watermark_seconds",
      "Current input watermark of an operator subtask (event time, Unix seconds; +Inf: ended)",
      MetricType::Gauge);
  auto lag = family("segflow_watermark_lag_seconds",
                    "Processing time minus the current watermark of an operator subtask",
                    MetricType::Gauge);
  const double now_ms = static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
  for (const OperatorStats& s : executor.operator_stats()) {
    const Labels labels = {
        {"job", job}, {"operator", s.operator_id}, {"subtask", std::to_string(s.subtask)}};
    if (!s.is_source) add(in, labels, s.records_in.load(std::memory_order_relaxed));
    if (s.is_source) add(bytes, labels, s.bytes_in.load(std::memory_order_relaxed));
    add(out, labels, s.records_out.load(std::memory_order_relaxed));
    const int64_t wm = s.watermark.load(std::memory_order_relaxed);
    if (wm == kMaxTime) {
      add(watermark, labels, std::numeric_limits<double>::infinity());
    } else if (wm != kMinTime) {
      add(watermark, labels, static_cast<double>(wm) / 1e3);
      add(lag, labels, (now_ms - static_cast<double>(wm)) / 1e3);
    }
  }

  auto busy = family("segflow_subtask_busy_seconds_total",
                     "Time a subtask thread spent working (not idle, not backpressured); "
                     "labelled by the chain's head operator",
                     MetricType::Counter);
  auto idle = family("segflow_subtask_idle_seconds_total",
                     "Time a subtask thread spent waiting for input", MetricType::Counter);
  auto backpressured =
      family("segflow_subtask_backpressured_seconds_total",
             "Time a subtask thread spent blocked on full output channels", MetricType::Counter);
  const int64_t now_ns = steady_ns();
  for (const SubtaskStats& s : executor.subtask_stats()) {
    const int64_t started = s.started_ns.load(std::memory_order_relaxed);
    const int64_t finished = s.finished_ns.load(std::memory_order_relaxed);
    const double elapsed =
        started == 0 ? 0 : static_cast<double>((finished != 0 ? finished : now_ns) - started);
    double blocked = 0;
    for (const Channel* c : s.outputs) blocked += static_cast<double>(c->blocked_ns());
    const double waited = static_cast<double>(s.idle_ns.load(std::memory_order_relaxed));
    const Labels labels = {
        {"job", job}, {"operator", s.operator_id}, {"subtask", std::to_string(s.subtask)}};
    // The three are read at slightly different moments: clamp so busy never goes negative.
    add(busy, labels, std::max(0.0, elapsed - waited - blocked) / 1e9);
    add(idle, labels, waited / 1e9);
    add(backpressured, labels, blocked / 1e9);
  }

  auto fill = family("segflow_channel_fill_ratio", "Queued batches / capacity of a channel",
                     MetricType::Gauge);
  auto blocked =
      family("segflow_backpressure_seconds_total",
             "Time the producer of a channel spent blocked on a full channel", MetricType::Counter);
  for (const Channel* c : executor.channels()) {
    const Labels labels = {{"job", job}, {"channel", c->name()}};
    add(fill, labels, static_cast<double>(c->size()) / static_cast<double>(c->capacity()));
    add(blocked, labels, static_cast<double>(c->blocked_ns()) / 1e9);
  }

  auto dead = family("segflow_dead_letters_total",
                     "Input sent to the dead-letter output, by operator (source) and reason",
                     MetricType::Counter);
  for (const auto& [key, count] : dead_letters.counts_by_operator())
    add(dead, {{"job", job}, {"operator", key.first}, {"reason", key.second}},
        static_cast<double>(count));
  auto late = family("segflow_late_events_total",
                     "Events behind the watermark past allowed lateness (dead-lettered as "
                     "'late event')",
                     MetricType::Counter);
  add(late, {{"job", job}}, static_cast<double>(dead_letters.count("late event")));

  auto running =
      family("segflow_job_running", "1 while the job is running, else 0", MetricType::Gauge);
  add(running, {{"job", job}}, executor.state() == JobState::kRunning ? 1 : 0);
  auto threads_job =
      family("segflow_job_subtask_threads", "Subtask threads the job runs", MetricType::Gauge);
  add(threads_job, {{"job", job}}, static_cast<double>(executor.thread_count()));

  const ProcessSample p = sample_process();
  auto rss = family("segflow_process_resident_memory_bytes", "Resident memory of the process",
                    MetricType::Gauge);
  add(rss, {{"job", job}}, p.resident_bytes);
  auto cpu = family("segflow_process_cpu_seconds_total", "User and system CPU time of the process",
                    MetricType::Counter);
  add(cpu, {{"job", job}}, p.cpu_seconds);
  auto threads = family("segflow_process_threads",
                        "Threads of the process (all, not only "
                        "subtasks)",
                        MetricType::Gauge);
  add(threads, {{"job", job}}, p.threads);
  auto fds =
      family("segflow_process_open_fds", "Open file descriptors of the process", MetricType::Gauge);
  add(fds, {{"job", job}}, p.open_fds);
  auto start = family("segflow_process_start_time_seconds",
                      "Start time of the process since the Unix epoch", MetricType::Gauge);
  add(start, {{"job", job}}, process_start_time_seconds());
  auto uptime =
      family("segflow_uptime_seconds", "Seconds since the process started", MetricType::Gauge);
  add(uptime, {{"job", job}}, process_uptime_seconds());
  auto build = family("segflow_build_info", "Always 1; the version is a label", MetricType::Gauge);
  add(build, {{"job", job}, {"version", SEGFLOW_VERSION}}, 1);

  std::vector<MetricFamily> families = {in,      out,           bytes, watermark, lag,     busy,
                                        idle,    backpressured, fill,  blocked,   dead,    late,
                                        running, threads_job,   rss,   cpu,       threads, fds,
                                        start,   uptime,        build};
  families.push_back(latency_family(job, executor));
  if (const CheckpointStats* c = executor.checkpoint_stats())
    add_checkpoint_metrics(job, *c, families);
  add_operator_metrics(job, executor.operator_metrics(), families);
  return families;
}

void reply(mg_connection* conn, int status, const char* content_type, const std::string& body) {
  const char* text = status == 200 ? "OK" : status == 503 ? "Service Unavailable" : "Error";
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            status, text, content_type, body.size());
  mg_write(conn, body.data(), body.size());
}

// One GET handler: a function of the request that returns the status and body.
class Handler final : public CivetHandler {
 public:
  using Fn = std::function<int(std::string& body)>;
  Handler(const char* content_type, Fn fn) : content_type_(content_type), fn_(std::move(fn)) {}
  bool handleGet(CivetServer*, mg_connection* conn) override {
    std::string body;
    int status = 500;
    try {
      status = fn_(body);
    } catch (const std::exception& e) {
      body = e.what();
    }
    reply(conn, status, content_type_, body);
    return true;
  }

 private:
  const char* content_type_;
  Fn fn_;
};

}  // namespace

class MetricsExporter::Server {
 public:
  Server(const std::string& address, const std::string& job, const Executor& executor,
         const DeadLetterOutput& dead_letters)
      : job_(job),
        metrics_("text/plain; version=0.0.4; charset=utf-8",
                 [&job = job_, &executor, &dead_letters](std::string& body) {
                   body =
                       prometheus::TextSerializer().Serialize(collect(job, executor, dead_letters));
                   return 200;
                 }),
        healthz_("text/plain; charset=utf-8",
                 [](std::string& body) {
                   body = "ok\n";
                   return 200;
                 }),
        readyz_("text/plain; charset=utf-8",
                [this, &executor](std::string& body) {
                  const ReadinessProbe::Verdict v = probe_.check(executor);
                  body = v.reason + "\n";
                  return v.ready ? 200 : 503;
                }),
        status_("application/json", [&job = job_, &executor](std::string& body) {
          body = job_status_json(job, executor) + "\n";
          return 200;
        }) {
    const std::vector<std::string> options = {"listening_ports", address, "num_threads", "2"};
    try {
      server_ = std::make_unique<CivetServer>(options);
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot serve metrics on " + address + ": " + e.what());
    }
    server_->addHandler("/metrics", metrics_);
    server_->addHandler("/healthz", healthz_);
    server_->addHandler("/readyz", readyz_);
    server_->addHandler("/status", status_);
  }
  ~Server() {
    if (server_) server_->close();  // stops the threads before the handlers go
  }
  int port() const {
    const auto ports = server_->getListeningPorts();
    return ports.empty() ? 0 : ports.front();
  }

 private:
  std::string job_;
  ReadinessProbe probe_;
  Handler metrics_, healthz_, readyz_, status_;
  std::unique_ptr<CivetServer> server_;  // last: stopped before the handlers go
};

MetricsExporter::MetricsExporter(const std::string& address, const std::string& job,
                                 const Executor& executor, const DeadLetterOutput& dead_letters)
    : server_(std::make_unique<Server>(address, job, executor, dead_letters)) {}

MetricsExporter::~MetricsExporter() = default;

int MetricsExporter::port() const { return server_->port(); }

}  // namespace segflow
