#include "engine/dead_letter.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "engine/json_text.h"

namespace segflow {

DeadLetterOutput::DeadLetterOutput(const std::string& path) {
  if (path == "-") {
    file_ = stderr;
  } else if (!path.empty()) {
    const auto parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    file_ = std::fopen(path.c_str(), "w");
    if (file_ == nullptr)
      throw std::runtime_error("cannot open dead-letter output " + path + ": " +
                               std::strerror(errno));
    owns_file_ = true;
  }
}

DeadLetterOutput::~DeadLetterOutput() {
  if (owns_file_) std::fclose(file_);
}

void DeadLetterOutput::send(std::string_view origin, std::string_view reason,
                            std::string_view payload) {
  std::string line;
  if (file_ != nullptr) {
    line.reserve(payload.size() + 64);
    line += "{\"origin\":";
    append_json_string(line, origin);
    line += ",\"reason\":";
    append_json_string(line, reason);
    line += ",\"payload\":";
    append_json_string(line, payload);
    line += "}\n";
  }
  std::lock_guard lock(mutex_);
  auto it = counts_.find(reason);
  if (it == counts_.end()) it = counts_.emplace(std::string(reason), 0).first;
  ++it->second;
  ++by_operator_[{std::string(origin.substr(0, origin.find_first_of("#:"))), it->first}];
  ++total_;
  if (file_ != nullptr) std::fwrite(line.data(), 1, line.size(), file_);
}

void DeadLetterOutput::flush() {
  std::lock_guard lock(mutex_);
  if (file_ != nullptr) std::fflush(file_);
}

uint64_t DeadLetterOutput::total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

uint64_t DeadLetterOutput::count(const std::string& reason) const {
  std::lock_guard lock(mutex_);
  auto it = counts_.find(reason);
  return it == counts_.end() ? 0 : it->second;
}

std::map<std::string, uint64_t> DeadLetterOutput::counts() const {
  std::lock_guard lock(mutex_);
  return {counts_.begin(), counts_.end()};
}

}  // namespace segflow

namespace segflow {

std::map<std::pair<std::string, std::string>, uint64_t> DeadLetterOutput::counts_by_operator()
    const {
  std::lock_guard lock(mutex_);
  return by_operator_;
}

}  // namespace segflow
