// ConfigNode: a view of one YAML mapping of the job spec that operators read their settings
// from. Every read is typed and checked; every error names file:line:column. After reading,
// finish() rejects keys nobody asked for, so a typo is an error and not a silent default.
// Thread safety: none; used while loading the job.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "engine/spec_error.h"

namespace segflow {

class ConfigNode {
 public:
  ConfigNode(YAML::Node node, std::shared_ptr<const std::string> file, std::string path);

  // Throws SpecError unless the node is a mapping / sequence / scalar.
  void expect_map() const;

  bool has(const std::string& key) const;
  // A child mapping or sequence; throws when missing (required) or of the wrong kind.
  ConfigNode child(const std::string& key) const;
  std::optional<ConfigNode> optional_child(const std::string& key) const;
  // The elements of a sequence-valued child (empty when the key is absent).
  std::vector<ConfigNode> list(const std::string& key) const;
  // The elements of this node, which must be a sequence.
  std::vector<ConfigNode> elements() const;
  // Key/value pairs of this node, which must be a mapping.
  std::vector<std::pair<std::string, ConfigNode>> entries() const;

  std::string string(const std::string& key) const;
  std::string string(const std::string& key, const std::string& fallback) const;
  int64_t integer(const std::string& key) const;
  int64_t integer(const std::string& key, int64_t fallback, int64_t min = INT64_MIN,
                  int64_t max = INT64_MAX) const;
  double number(const std::string& key, double fallback) const;
  bool boolean(const std::string& key, bool fallback) const;
  // Durations: "250ms", "5s", "10m", "2h", "30d" or an integer of milliseconds.
  int64_t duration_ms(const std::string& key) const;
  int64_t duration_ms(const std::string& key, int64_t fallback) const;
  // The list of strings of `key`; a single string is a list of one.
  std::vector<std::string> strings(const std::string& key) const;
  // The scalar text of this node.
  std::string scalar() const;

  // Throws for the first key of this mapping that no accessor read.
  void finish() const;

  // "file:line:column: <message>" for this node / for child `key`.
  [[noreturn]] void fail(const std::string& message) const;
  [[noreturn]] void fail_at(const std::string& key, const std::string& message) const;
  std::string where() const;
  const std::string& path() const { return path_; }
  const YAML::Node& yaml() const { return node_; }

 private:
  YAML::Node value(const std::string& key) const;  // marks key read; throws if missing
  std::string child_path(const std::string& key) const;

  YAML::Node node_;
  std::shared_ptr<const std::string> file_;
  std::string path_;
  std::shared_ptr<std::set<std::string>> read_;
};

// Parses milliseconds from "250ms", "5s", "10m", "2h", "3d" or a plain integer; nullopt if
// malformed.
std::optional<int64_t> parse_duration_ms(const std::string& text);

}  // namespace segflow
