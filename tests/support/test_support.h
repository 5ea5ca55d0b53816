// Helpers shared by the tests: temporary directories and reading files.
#pragma once

#include <filesystem>
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

}  // namespace segflow::testing
