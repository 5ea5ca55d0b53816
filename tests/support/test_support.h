// Helpers shared by the tests: temporary directories and reading files.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace segflow::testing {

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::string& path);
std::vector<std::string> read_lines(const std::string& path);
void write_file(const std::string& path, const std::string& content);

}  // namespace segflow::testing

namespace segflow::testing {

// GET http://127.0.0.1:<port><path> over a plain socket; returns the body ("" on failure).
std::string http_get(int port, const std::string& path);

}  // namespace segflow::testing

namespace segflow::testing {

// Runs `command` through the shell and returns its stdout; a non-zero exit fails the test.
std::string run_command(const std::string& command);

// The text of top-level field `name` of a flat JSON object line (strings unquoted, no
// unescaping); "" when absent. Enough for segflow's own output lines in tests.
std::string json_field(const std::string& json, const std::string& name);

// What the SpecError thrown by `f` says (file:line:col and the problem); "no error" when
// `f` throws none.
std::string spec_error_of(const std::function<void()>& f);

}  // namespace segflow::testing

namespace segflow::testing {
// True when every optional dependency must be present (SEGFLOW_REQUIRE_DEPENDENCIES=1, set
// by scripts/test.sh after it installed them all): a missing one then fails its tests.
bool dependencies_required();
}  // namespace segflow::testing

// Skips the current test because an optional dependency (package, tool, module) is
// missing, or fails it when dependencies are required. Use in void test bodies and SetUp.
#define SEGFLOW_SKIP_WITHOUT(message)                             \
  do {                                                            \
    if (::segflow::testing::dependencies_required())              \
      GTEST_FAIL() << "required dependency missing: " << message; \
    else                                                          \
      GTEST_SKIP() << message;                                    \
  } while (false)

#include "engine/operator_metrics.h"

namespace segflow::testing {

// The sum over the series of family `name` in `registry` that carry every label of
// `labels` (engine/operator_metrics.h); 0 when there are none.
double metric_value(const MetricRegistry& registry, const std::string& name,
                    const std::vector<MetricLabel>& labels = {});

}  // namespace segflow::testing
