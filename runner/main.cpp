// segflow: the job runner command line.
//   segflow run JOB.yaml [--set key=value ...] [--from-checkpoint DIR]
//   (a running job takes a savepoint on SIGUSR1: kill -USR1 <pid>)
//   segflow validate JOB.yaml [--set key=value ...]
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "engine/spec_error.h"
#include "runner/job_runner.h"
#include "runner/job_spec.h"

namespace {

constexpr int kExitRuntimeError = 1;
constexpr int kExitSpecError = 2;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"segflow: real-time customer segmentation as a dataflow job"};
  app.set_version_flag("--version", std::string("segflow ") + SEGFLOW_VERSION);
  app.require_subcommand(1);

  std::string job_path;
  std::vector<std::string> overrides;
  bool no_summary = false;
  std::string from_checkpoint;

  CLI::App* run = app.add_subcommand("run", "Run a job until its sources end or it is stopped");
  run->add_option("job", job_path, "Job spec (YAML)")->required();
  run->add_option("--set", overrides, "Override a spec value: dotted.path=value (repeatable)");
  run->add_flag("--no-summary", no_summary, "Do not print the closing summary");
  run->add_option("--from-checkpoint", from_checkpoint,
                  "Start from this checkpoint or savepoint directory (or the newest complete "
                  "one in a directory of them). Without it, a job with 'checkpoints:' resumes "
                  "from the newest complete checkpoint in its dir. SIGUSR1 takes a savepoint.");

  CLI::App* validate = app.add_subcommand("validate", "Check a job spec without running it");
  validate->add_option("job", job_path, "Job spec (YAML)")->required();
  validate->add_option("--set", overrides, "Override a spec value: dotted.path=value");

  CLI11_PARSE(app, argc, argv);

  segflow::JobSpec spec;
  try {
    spec = segflow::load_job_spec(job_path, overrides);
  } catch (const segflow::SpecError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitSpecError;
  }
  if (validate->parsed()) {
    std::cout << job_path << ": ok (" << spec.graph.nodes().size() << " nodes)\n";
    return 0;
  }
  try {
    segflow::RunOptions options;
    options.print_summary = !no_summary;
    options.from_checkpoint = from_checkpoint;
    segflow::run_job(spec, options);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitRuntimeError;
  }
  return 0;
}
