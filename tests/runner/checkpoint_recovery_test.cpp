// The test that matters for checkpoints: a segflow process running file source ->
// rolling_count_threshold -> file sink is killed with SIGKILL over and over (fixed seeds),
// restarted each time from its latest checkpoint, and its final committed output must equal
// an uninterrupted run's: line for line at a fixed parallelism, as the same multiset of
// lines when every restart picks another parallelism (the order in which two parallel
// subtasks reach the one sink is not deterministic, even without failures).
//
// Kill points: alternately just after a checkpoint completes (plus a random 0-9 ms) and
// while one is being written (its directory exists, its _metadata not yet; the first one a
// restarted run writes qualifies). Kill points
// follow the job's observed progress (completed checkpoints), not wall time; as the job
// may still reach its end before every kill point on a slow or loaded machine, the test
// runs the kill-and-restart job again from scratch (each round's output checked) until
// the wanted number of kills is reached.
// The rocksdb variants run the same job on the rocksdb state backend with a cache far
// smaller than the 3000 profiles (evictions all the time) and expect the heap backend's
// uninterrupted output: with incremental checkpoints (the default; restores at another
// parallelism read the old databases' key groups) and with full exports.
// The short variant runs in ctest; the long one on demand:
//   SEGFLOW_RECOVERY_LONG=1 build/release/tests/runner_tests --gtest_filter='CheckpointRecovery*'
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/test_support.h"

namespace segflow {
namespace {

namespace fs = std::filesystem;

bool long_variant() { return std::getenv("SEGFLOW_RECOVERY_LONG") != nullptr; }

// Product views of 3000 users, one a second, in time order.
void write_input(const std::string& path, size_t events, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::ofstream out(path);
  char line[256];
  for (size_t i = 0; i < events; ++i) {
    const int64_t t = 1'704'067'200 + static_cast<int64_t>(i);  // 2024-01-01T00:00:00Z
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char ts[32];
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(line, sizeof line,
                  "{\"type\": \"track\", \"timestamp\": \"%s.000Z\", \"userId\": \"u%llu\", "
                  "\"event\": \"Product Viewed\", \"properties\": {\"product_id\": %zu}}\n",
                  ts, static_cast<unsigned long long>(rng() % 3000), i % 50);
    out << line;
  }
}

enum class Backend { kHeap, kRocksDb, kRocksDbFullExport };

struct Job {
  testing::TempDir dir;
  std::string spec;
  std::string output;
  std::string checkpoints;

  Job(size_t events, bool with_checkpoints, Backend backend = Backend::kHeap) {
    write_input(dir.file("input.jsonl"), events, 42);
    output = dir.file("out/output.jsonl");
    checkpoints = dir.file("checkpoints");
    spec = dir.file("job.yaml");
    std::string yaml =
        "name: recovery\nparallelism: 1\n"
        // A watermark after every source poll: its place in the stream, and so the output
        // order, do not depend on timing.
        "watermarks: { interval: 0ms }\n"
        "sources:\n  - { id: input, type: file, path: " +
        dir.file("input.jsonl") +
        " }\n"
        "operators:\n  - { id: high_intent, type: rolling_count_threshold, input: input,\n"
        "      events: [Product Viewed], window: 1h, threshold: 3 }\n"
        "sinks:\n  - { id: output, type: file_sink, path: " +
        output + ", input: high_intent }\n";
    if (backend != Backend::kHeap)
      yaml += "state_backend: { type: rocksdb, dir: " + dir.file("state") +
              ", cache_entries: 256, incremental: " +
              (backend == Backend::kRocksDb ? "true" : "false") + " }\n";
    if (with_checkpoints)
      yaml += "checkpoints: { interval: 10ms, dir: " + checkpoints + ", retain: 2 }\n";
    testing::write_file(spec, yaml);
  }
};

// Starts segflow with `args` (args[0]: the binary), stderr appended to `log`; -1 on failure.
pid_t spawn(std::vector<std::string> args, const std::string& log) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, SEGFLOW_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

pid_t start(const Job& job, uint32_t parallelism, const std::string& log) {
  return spawn({SEGFLOW_BINARY, "run", job.spec, "--no-summary", "--set",
                "parallelism=" + std::to_string(parallelism)},
               log);
}

// Checkpoint directories: the newest complete id, and whether one is being written.
struct CheckpointView {
  int64_t newest_complete = 0;
  bool in_progress = false;
};
CheckpointView look(const std::string& base) {
  CheckpointView v;
  std::error_code ec;
  for (const auto& d : fs::directory_iterator(base, ec)) {
    const std::string name = d.path().filename().string();
    if (name.rfind("chk-", 0) != 0) continue;
    if (fs::exists(d.path() / "_metadata", ec))
      v.newest_complete = std::max<int64_t>(v.newest_complete, std::stoll(name.substr(4)));
    else
      v.in_progress = true;
  }
  return v;
}

struct KillStats {
  int kills = 0;
  int during_checkpoint = 0;
  int restores = 0;
};

// Runs the job to its end, killing it at most `kills` times; the kinds of kill points
// alternate counting from `kills_before`. `parallelism_of(run)` picks each run's parallelism.
KillStats run_with_kills(const Job& job, int kills, int kills_before, uint64_t seed,
                         uint32_t (*parallelism_of)(int run)) {
  std::mt19937_64 rng(seed);
  KillStats stats;
  const std::string log = job.dir.file("segflow.log");
  for (int run = 0;; ++run) {
    const pid_t pid = start(job, parallelism_of(run), log);
    if (pid < 0) ADD_FAILURE() << "cannot start segflow";
    if (pid < 0) return stats;
    const bool kill_this_run = stats.kills < kills;
    // Even kill points: just after a checkpoint completes; odd: while one is written.
    const bool during = (kills_before + stats.kills) % 2 == 1;
    const CheckpointView at_start = look(job.checkpoints);
    const int64_t baseline = at_start.newest_complete;
    // A directory in progress at the start is the killed run's; the restarted process
    // removes it before it writes its own. Only once it is gone (or a newer checkpoint
    // completed) does a directory in progress belong to this run.
    bool stale_gone = !at_start.in_progress;
    const auto extra = std::chrono::milliseconds(rng() % 10);
    std::chrono::steady_clock::time_point kill_at = std::chrono::steady_clock::time_point::max();
    int status = 0;
    for (;;) {
      if (waitpid(pid, &status, WNOHANG) == pid) break;
      if (kill_this_run) {
        const CheckpointView v = look(job.checkpoints);
        const auto now = std::chrono::steady_clock::now();
        if (!v.in_progress) stale_gone = true;
        const bool own_in_progress = v.in_progress && (stale_gone || v.newest_complete > baseline);
        // While this run writes a checkpoint, once one exists to restore.
        if (during && own_in_progress && v.newest_complete > 0) kill_at = now;
        if (!during && v.newest_complete > baseline && kill_at == kill_at.max())
          kill_at = now + extra;
        // Not once the finished job has removed its checkpoints (it is about to exit).
        if (now >= kill_at && v.newest_complete > 0) {
          kill(pid, SIGKILL);
          waitpid(pid, &status, 0);
          ++stats.kills;
          stats.during_checkpoint += during ? 1 : 0;
          break;
        }
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    if (WIFEXITED(status)) {
      EXPECT_EQ(WEXITSTATUS(status), 0) << testing::read_file(log);
      break;
    }
  }
  const std::string text = testing::read_file(log);
  for (size_t at = 0; (at = text.find("restoring checkpoint", at)) != std::string::npos; ++at)
    ++stats.restores;
  return stats;
}

std::vector<std::string> uninterrupted_output(size_t events, uint32_t parallelism) {
  Job job(events, /*with_checkpoints=*/false);
  const pid_t pid = start(job, parallelism, job.dir.file("segflow.log"));
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return testing::read_lines(job.output);
}

size_t event_count() { return long_variant() ? 2'000'000 : 300'000; }
int kill_count() { return long_variant() ? 100 : 20; }

// Kill-and-restart rounds (each from scratch, with a fresh checkpoint directory) until
// kill_count() kills were followed by a restore (a kill that lands just after the job ended
// and removed its checkpoints is followed by a fresh run instead); `check(output)` checks
// each round's final output.
template <class Check>
void kill_in_rounds(Backend backend, uint64_t seed, uint32_t (*parallelism_of)(int run),
                    Check check) {
  constexpr int kMaxRounds = 10;
  KillStats total;
  int rounds = 0;
  while (total.restores < kill_count() && rounds < kMaxRounds) {
    Job job(event_count(), /*with_checkpoints=*/true, backend);
    const KillStats stats = run_with_kills(job, kill_count() - total.restores, total.kills,
                                           seed + static_cast<uint64_t>(rounds), parallelism_of);
    ++rounds;
    EXPECT_LE(stats.restores, stats.kills);
    check(testing::read_lines(job.output));
    const CheckpointView left = look(job.checkpoints);  // a finished job keeps no checkpoint
    EXPECT_EQ(left.newest_complete, 0);
    EXPECT_FALSE(left.in_progress);
    EXPECT_FALSE(fs::exists(job.checkpoints + "/shared"));
    total.kills += stats.kills;
    total.during_checkpoint += stats.during_checkpoint;
    total.restores += stats.restores;
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GE(total.restores, kill_count()) << "not enough kill points in " << rounds << " rounds";
  EXPECT_GT(total.during_checkpoint, 0);
  std::printf("kills: %d (%d while a checkpoint was written), restores: %d, rounds: %d\n",
              total.kills, total.during_checkpoint, total.restores, rounds);
}

void expect_lines(const std::vector<std::string>& actual,
                  const std::vector<std::string>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(actual[i], expected[i]) << "line " << i;
}

void killed_and_restarted_output_equals_uninterrupted_run(Backend backend) {
  const std::vector<std::string> expected = uninterrupted_output(event_count(), 1);
  ASSERT_GT(expected.size(), 1000u);
  kill_in_rounds(
      backend, 7, [](int) { return 1u; },
      [&](const std::vector<std::string>& actual) { expect_lines(actual, expected); });
}

void restores_at_another_parallelism(Backend backend) {
  std::vector<std::string> expected = uninterrupted_output(event_count(), 2);
  std::sort(expected.begin(), expected.end());
  // Parallelism of the keyed operator: 2, 3, 1, 4, 2, 3, 1, 4, ...
  auto parallelism_of = [](int run) {
    static constexpr uint32_t kCycle[] = {2, 3, 1, 4};
    return kCycle[run % 4];
  };
  kill_in_rounds(backend, 11, parallelism_of, [&](std::vector<std::string> actual) {
    std::sort(actual.begin(), actual.end());
    std::vector<std::string> surplus, missing;
    std::set_difference(actual.begin(), actual.end(), expected.begin(), expected.end(),
                        std::back_inserter(surplus));
    std::set_difference(expected.begin(), expected.end(), actual.begin(), actual.end(),
                        std::back_inserter(missing));
    for (size_t i = 0; i < surplus.size() && i < 5; ++i) ADD_FAILURE() << "surplus: " << surplus[i];
    for (size_t i = 0; i < missing.size() && i < 5; ++i) ADD_FAILURE() << "missing: " << missing[i];
    EXPECT_EQ(actual.size(), expected.size());
  });
}

TEST(CheckpointRecoveryTest, KilledAndRestartedOutputEqualsUninterruptedRun) {
  killed_and_restarted_output_equals_uninterrupted_run(Backend::kHeap);
}

TEST(CheckpointRecoveryTest, RestoresAtAnotherParallelism) {
  restores_at_another_parallelism(Backend::kHeap);
}

TEST(CheckpointRecoveryTest, RocksDbBackendKilledAndRestartedOutputEqualsHeapRun) {
  if (!SEGFLOW_HAVE_ROCKSDB) SEGFLOW_SKIP_WITHOUT("RocksDB (librocksdb-dev) not built in");
  killed_and_restarted_output_equals_uninterrupted_run(Backend::kRocksDb);
}

TEST(CheckpointRecoveryTest, RocksDbFullExportKilledAndRestartedOutputEqualsHeapRun) {
  if (!SEGFLOW_HAVE_ROCKSDB) SEGFLOW_SKIP_WITHOUT("RocksDB (librocksdb-dev) not built in");
  killed_and_restarted_output_equals_uninterrupted_run(Backend::kRocksDbFullExport);
}

TEST(CheckpointRecoveryTest, RocksDbBackendRestoresAtAnotherParallelism) {
  if (!SEGFLOW_HAVE_ROCKSDB) SEGFLOW_SKIP_WITHOUT("RocksDB (librocksdb-dev) not built in");
  restores_at_another_parallelism(Backend::kRocksDb);
}

// A data file uploaded by the newest checkpoint is damaged after a kill: the restart skips
// that checkpoint, restores the previous one, and the output is still exact.
TEST(CheckpointRecoveryTest, RocksDbDamagedSharedFileFallsBackToThePreviousCheckpoint) {
  if (!SEGFLOW_HAVE_ROCKSDB) SEGFLOW_SKIP_WITHOUT("RocksDB (librocksdb-dev) not built in");
  const std::vector<std::string> expected = uninterrupted_output(event_count(), 1);
  Job job(event_count(), /*with_checkpoints=*/true, Backend::kRocksDb);
  const std::string log = job.dir.file("segflow.log");
  const pid_t pid = start(job, 1, log);
  ASSERT_GT(pid, 0);
  int status = 0;
  while (look(job.checkpoints).newest_complete < 3) {
    ASSERT_NE(waitpid(pid, &status, WNOHANG), pid) << "ended before 3 checkpoints";
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  // A file uploaded by the newest complete checkpoint that uploaded any (shared files are
  // named <operator>-<subtask>-chk-<id>-<file>).
  const int64_t newest = look(job.checkpoints).newest_complete;
  int64_t uploader = 0;
  std::string damaged;
  for (const auto& f : fs::directory_iterator(job.checkpoints + "/shared")) {
    const std::string name = f.path().filename().string();
    const size_t at = name.find("-chk-");
    if (at == std::string::npos || name.size() < at + 11) continue;
    const int64_t id = std::stoll(name.substr(at + 5, 6));
    if (id <= newest && id > uploader) {
      uploader = id;
      damaged = f.path().string();
    }
  }
  ASSERT_FALSE(damaged.empty()) << "no checkpoint uploaded a file";
  {
    std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(64);
    f.put('\x7f');
  }
  const KillStats stats = run_with_kills(job, 0, 0, 1, [](int) { return 1u; });
  EXPECT_EQ(stats.restores, 1);
  const std::string text = testing::read_file(log);
  EXPECT_NE(text.find("skipping damaged checkpoint"), std::string::npos) << text;
  EXPECT_NE(text.find(fs::path(damaged).filename().string() + ": size or checksum differs"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("restoring checkpoint " + std::to_string(uploader) + " "), std::string::npos)
      << text;
  expect_lines(testing::read_lines(job.output), expected);
}

// Waits (no deadline: ctest's timeout is the limit) until `done()` or the process exits.
template <class Done>
bool wait_for(pid_t pid, Done done) {
  int status = 0;
  while (!done())
    if (waitpid(pid, &status, WNOHANG) == pid)
      return false;
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return true;
}

int stop(pid_t pid) {
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(CheckpointRecoveryTest, SavepointOnSigusr1AndRunFromIt) {
  testing::TempDir dir;
  const std::string out = dir.file("out.jsonl");
  const std::string checkpoints = dir.file("checkpoints");
  const std::string spec = dir.file("job.yaml");
  testing::write_file(spec,
                      "name: savepoint\nparallelism: 2\n"
                      "checkpoints: { interval: 1h, dir: " +
                          checkpoints +
                          " }\n"
                          "sources:\n  - { id: events, type: generator, users: 100, events: 0 }\n"
                          "sinks:\n  - { id: out, type: file_sink, path: " +
                          out + ", input: events }\n");
  const std::string log = dir.file("segflow.log");
  std::vector<std::string> args = {SEGFLOW_BINARY, "run", spec, "--no-summary"};
  const std::string savepoint = checkpoints + "/savepoint-000001";
  const pid_t first = spawn(args, log);
  // The sink's file exists once the job runs (its signal handlers are installed by then).
  ASSERT_TRUE(wait_for(first, [&] { return fs::exists(out); })) << testing::read_file(log);
  kill(first, SIGUSR1);
  ASSERT_TRUE(wait_for(first, [&] { return fs::exists(savepoint + "/_metadata"); }))
      << testing::read_file(log);
  EXPECT_EQ(stop(first), 0) << testing::read_file(log);
  EXPECT_TRUE(fs::exists(savepoint + "/_metadata"));  // stopped by a signal: kept

  args.push_back("--from-checkpoint");
  args.push_back(savepoint);
  const pid_t second = spawn(args, log);
  EXPECT_FALSE(fs::exists(out + ".inprogress"));  // the graceful stop committed everything
  // The sink's staging file appears once the restored job runs (handlers installed).
  ASSERT_TRUE(wait_for(second, [&] { return fs::exists(out + ".inprogress"); }))
      << testing::read_file(log);
  EXPECT_NE(testing::read_file(log).find("restoring checkpoint 1 from " + savepoint),
            std::string::npos);
  EXPECT_EQ(stop(second), 0) << testing::read_file(log);
}

// A savepoint of a job on incremental rocksdb is a full export: it stands alone (nothing in
// shared/) and restores on the heap backend.
TEST(CheckpointRecoveryTest, RocksDbSavepointIsAFullExportThatRestoresOnTheHeap) {
  if (!SEGFLOW_HAVE_ROCKSDB) SEGFLOW_SKIP_WITHOUT("RocksDB (librocksdb-dev) not built in");
  testing::TempDir dir;
  const std::string out = dir.file("out.jsonl");
  const std::string checkpoints = dir.file("checkpoints");
  const std::string spec = dir.file("job.yaml");
  const std::string job =
      "name: savepoint\nparallelism: 2\n"
      "checkpoints: { interval: 1h, dir: " +
      checkpoints +
      " }\n"
      "sources:\n  - { id: events, type: generator, users: 500, events: 0 }\n"
      "operators:\n  - { id: high_intent, type: rolling_count_threshold, input: events,\n"
      "      events: [Product Viewed], window: 1h, threshold: 3 }\n"
      "sinks:\n  - { id: out, type: file_sink, path: " +
      out + ", input: high_intent }\n";
  testing::write_file(spec,
                      job + "state_backend: { type: rocksdb, dir: " + dir.file("state") + " }\n");
  const std::string log = dir.file("segflow.log");
  const std::string savepoint = checkpoints + "/savepoint-000001";
  const pid_t first = spawn({SEGFLOW_BINARY, "run", spec, "--no-summary"}, log);
  ASSERT_TRUE(wait_for(first, [&] { return fs::exists(out); })) << testing::read_file(log);
  kill(first, SIGUSR1);
  ASSERT_TRUE(wait_for(first, [&] { return fs::exists(savepoint + "/_metadata"); }))
      << testing::read_file(log);
  EXPECT_EQ(stop(first), 0) << testing::read_file(log);
  EXPECT_FALSE(fs::exists(checkpoints + "/shared"));

  testing::write_file(spec, job);  // the heap backend
  const pid_t second =
      spawn({SEGFLOW_BINARY, "run", spec, "--no-summary", "--from-checkpoint", savepoint}, log);
  ASSERT_TRUE(wait_for(second, [&] { return fs::exists(out + ".inprogress"); }))
      << testing::read_file(log);
  EXPECT_EQ(stop(second), 0) << testing::read_file(log);
  EXPECT_NE(testing::read_file(log).find("restoring checkpoint 1 from " + savepoint),
            std::string::npos);
}

}  // namespace
}  // namespace segflow
