// DeadLetterOutput: where input that cannot be processed goes, with its reason, instead of
// being dropped. Each entry is one JSONL line {"origin","reason","payload"}; counts are kept
// per reason (exported as segflow_dead_letters_total). Thread safety: send() from any thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace segflow {

class DeadLetterOutput {
 public:
  // Writes to `path` ("" keeps counts only; "-" is stderr), creating its directory. Throws
  // std::runtime_error if the file cannot be opened.
  explicit DeadLetterOutput(const std::string& path = "");
  ~DeadLetterOutput();
  DeadLetterOutput(const DeadLetterOutput&) = delete;
  DeadLetterOutput& operator=(const DeadLetterOutput&) = delete;

  // `origin`: which operator and input position; `reason`: short stable text (the metric
  // label); `payload`: the offending input, written as a JSON string.
  void send(std::string_view origin, std::string_view reason, std::string_view payload);
  void flush();

  uint64_t total() const;
  uint64_t count(const std::string& reason) const;
  std::map<std::string, uint64_t> counts() const;
  // Counts per (operator, reason); the operator is the origin up to its first '#' or ':'.
  std::map<std::pair<std::string, std::string>, uint64_t> counts_by_operator() const;

 private:
  mutable std::mutex mutex_;
  std::FILE* file_ = nullptr;
  bool owns_file_ = false;
  std::map<std::string, uint64_t, std::less<>> counts_;
  std::map<std::pair<std::string, std::string>, uint64_t> by_operator_;
  uint64_t total_ = 0;
};

}  // namespace segflow
