#include "runner/job_runner.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>

#include <unistd.h>

#include "engine/checkpoint_storage.h"
#include "engine/dead_letter.h"
#include "engine/executor.h"
#include "engine/metrics_exporter.h"
#include "runner/job_summary.h"

namespace segflow {

namespace {

std::atomic<Executor*> running_executor{nullptr};
std::atomic<int> signals_seen{0};

void on_savepoint_signal(int) {
  if (Executor* e = running_executor.load()) e->request_savepoint();
}

void on_stop_signal(int) {
  // First signal: graceful stop (drain, write everything). Second: give up at once.
  if (signals_seen.fetch_add(1) > 0) _exit(130);
  if (Executor* e = running_executor.load()) e->stop();
}

// Installs the stop handlers for its lifetime.
class StopSignals {
 public:
  explicit StopSignals(Executor& executor) {
    running_executor.store(&executor);
    signals_seen.store(0);
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
    struct sigaction usr {};
    usr.sa_handler = on_savepoint_signal;
    sigemptyset(&usr.sa_mask);
    usr.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &usr, &old_usr1_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    sigaction(SIGUSR1, &old_usr1_, nullptr);
    running_executor.store(nullptr);
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
  struct sigaction old_usr1_ {};
};

// The checkpoint to start from: the one asked for, else the newest complete one in the
// job's checkpoint directory (damaged ones are skipped and reported).
std::optional<CheckpointData> checkpoint_to_restore(const JobSpec& spec,
                                                    const RunOptions& options) {
  const CheckpointSettings& checkpoints = spec.settings.checkpoints;
  if (!options.from_checkpoint.empty()) {
    if (!checkpoints.enabled())
      throw std::runtime_error("--from-checkpoint needs a 'checkpoints:' section in the job");
    return checkpoint_storage::load_from(options.from_checkpoint);
  }
  if (!checkpoints.enabled()) return std::nullopt;
  std::vector<std::string> skipped;
  auto latest = checkpoint_storage::load_latest(checkpoints.dir, /*savepoints=*/false, &skipped);
  for (const std::string& s : skipped)
    std::cerr << "segflow: skipping damaged checkpoint: " << s << "\n";
  return latest;
}

}  // namespace

RunResult run_job(const JobSpec& spec, const RunOptions& options) {
  DeadLetterOutput dead_letters(spec.settings.dead_letter_path);
  RuntimeServices services;
  services.dead_letters = &dead_letters;
  const auto load_start = std::chrono::steady_clock::now();
  const std::optional<CheckpointData> restore = checkpoint_to_restore(spec, options);
  if (restore) {
    const double load_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    std::cerr << "segflow: restoring checkpoint " << restore->id << " from " << restore->path
              << " (" << restore->bytes << " bytes, read and verified in " << load_s << " s)\n";
    services.restore = &*restore;
  }
  Executor executor(spec.graph, spec.settings, services);

  std::unique_ptr<MetricsExporter> metrics;
  if (!spec.settings.metrics_address.empty()) {
    metrics = std::make_unique<MetricsExporter>(spec.settings.metrics_address, spec.settings.name,
                                                executor, dead_letters);
    // The port actually bound (the address may ask for port 0: any free one).
    const std::string& address = spec.settings.metrics_address;
    const std::string base =
        "http://" + address.substr(0, address.rfind(':')) + ":" + std::to_string(metrics->port());
    std::cerr << "segflow: metrics on " << base << "/metrics (also /healthz, /readyz, /status)\n";
  }
  std::unique_ptr<StopSignals> signals;
  if (options.handle_signals) signals = std::make_unique<StopSignals>(executor);

  const auto start = std::chrono::steady_clock::now();
  executor.run();
  // Every source ended and all output is committed: a rerun starts afresh (a job stopped by
  // a signal keeps its checkpoints, to be resumed).
  if (spec.settings.checkpoints.enabled() && signals_seen.load() == 0)
    checkpoint_storage::remove_checkpoints(spec.settings.checkpoints.dir);
  RunResult result;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const OperatorStats& s : executor.operator_stats())
    if (s.is_source) result.source_records += s.records_out.load();
  result.dead_letters = dead_letters.total();
  if (options.print_summary)
    print_job_summary(options.summary_out ? *options.summary_out : std::cerr, spec.settings.name,
                      result.seconds, executor, dead_letters);
  return result;
}

}  // namespace segflow
