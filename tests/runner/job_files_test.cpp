// Runs every job under tests/jobs/ at parallelism 1, 2 and 4 and compares its output with
// the expected lines (order-insensitive) and its dead letters with the expected counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "runner/job_runner.h"
#include "runner/job_spec.h"
#include "tests/support/run_job_quietly.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> sorted_lines(const std::string& path) {
  auto lines = testing::read_lines(path);
  std::sort(lines.begin(), lines.end());
  return lines;
}

// "reason count" lines of the dead-letter file's reasons.
std::map<std::string, int> reason_counts(const std::string& dead_letter_path) {
  std::map<std::string, int> counts;
  for (const std::string& line : testing::read_lines(dead_letter_path)) {
    const auto start = line.find("\"reason\":\"") + 10;
    counts[line.substr(start, line.find('"', start) - start)]++;
  }
  return counts;
}

std::map<std::string, int> expected_reason_counts(const fs::path& dir) {
  std::map<std::string, int> counts;
  const fs::path file = dir / "expected_dead_letters.txt";
  if (!fs::exists(file)) return counts;
  for (const std::string& line : testing::read_lines(file.string())) {
    const auto space = line.rfind(' ');
    counts[line.substr(0, space)] = std::stoi(line.substr(space + 1));
  }
  return counts;
}

class JobFilesTest : public ::testing::TestWithParam<std::string> {};

TEST_P(JobFilesTest, OutputMatchesAtEveryParallelism) {
  const fs::path dir = fs::path(SEGFLOW_SOURCE_DIR) / "tests/jobs" / GetParam();
  const auto expected = sorted_lines((dir / "expected.jsonl").string());
  const auto expected_dead = expected_reason_counts(dir);
  for (int parallelism : {1, 2, 4}) {
    SCOPED_TRACE("parallelism " + std::to_string(parallelism));
    testing::TempDir tmp;
    std::vector<std::string> overrides = {
        "parallelism=" + std::to_string(parallelism),
        "sinks.output.path=" + tmp.file("output.jsonl"),
        "dead_letter.path=" + tmp.file("dead.jsonl"),
    };
    if (fs::exists(dir / "input.jsonl"))
      overrides.push_back("sources.input.path=" + (dir / "input.jsonl").string());
    const JobSpec spec = load_job_spec((dir / "job.yaml").string(), overrides);
    testing::run_job_quietly(spec);
    EXPECT_EQ(sorted_lines(tmp.file("output.jsonl")), expected);
    EXPECT_EQ(reason_counts(tmp.file("dead.jsonl")), expected_dead);
  }
}

std::vector<std::string> job_dirs() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(fs::path(SEGFLOW_SOURCE_DIR) / "tests/jobs"))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

INSTANTIATE_TEST_SUITE_P(Jobs, JobFilesTest, ::testing::ValuesIn(job_dirs()));

}  // namespace
}  // namespace segflow
