#include "engine/config_node.h"

#include <charconv>

namespace segflow {

namespace {

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "'" + n.Scalar() + "'";
    default:
      return "nothing";
  }
}

}  // namespace

std::optional<int64_t> parse_duration_ms(const std::string& text) {
  int64_t n = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc() || n < 0) return std::nullopt;
  const std::string_view unit(p, end - p);
  int64_t scale = 0;
  if (unit.empty() || unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m" || unit == "min")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else if (unit == "d")
    scale = 86'400'000;
  else
    return std::nullopt;
  return n * scale;
}

ConfigNode::ConfigNode(YAML::Node node, std::shared_ptr<const std::string> file, std::string path)
    : node_(std::move(node)),
      file_(std::move(file)),
      path_(std::move(path)),
      read_(std::make_shared<std::set<std::string>>()) {}

std::string ConfigNode::where() const {
  const YAML::Mark m = node_.Mark();
  std::string out = *file_;
  if (m.line >= 0) {
    out += ':';
    out += std::to_string(m.line + 1);
    out += ':';
    out += std::to_string(m.column + 1);
  }
  return out;
}

void ConfigNode::fail(const std::string& message) const {
  throw SpecError(where() + ": " + (path_.empty() ? "" : path_ + ": ") + message);
}

void ConfigNode::fail_at(const std::string& key, const std::string& message) const {
  if (node_.IsMap() && node_[key]) {
    ConfigNode(node_[key], file_, child_path(key)).fail(message);
  }
  fail(message);
}

std::string ConfigNode::child_path(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

void ConfigNode::expect_map() const {
  if (!node_.IsMap()) fail("expected a mapping, found " + describe(node_));
}

bool ConfigNode::has(const std::string& key) const {
  if (!node_.IsMap()) return false;
  const bool present = static_cast<bool>(node_[key]);
  if (present) read_->insert(key);
  return present;
}

YAML::Node ConfigNode::value(const std::string& key) const {
  expect_map();
  YAML::Node v = node_[key];
  if (!v) fail("missing required field '" + key + "'");
  read_->insert(key);
  return v;
}

ConfigNode ConfigNode::child(const std::string& key) const {
  YAML::Node v = value(key);
  if (!v.IsMap() && !v.IsSequence())
    ConfigNode(v, file_, child_path(key)).fail("expected a mapping or list, found " + describe(v));
  return ConfigNode(v, file_, child_path(key));
}

std::optional<ConfigNode> ConfigNode::optional_child(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  return child(key);
}

std::vector<ConfigNode> ConfigNode::list(const std::string& key) const {
  if (!has(key)) return {};
  YAML::Node v = value(key);
  ConfigNode c(v, file_, child_path(key));
  return c.elements();
}

std::vector<ConfigNode> ConfigNode::elements() const {
  if (!node_.IsSequence()) fail("expected a list, found " + describe(node_));
  std::vector<ConfigNode> out;
  for (size_t i = 0; i < node_.size(); ++i)
    out.emplace_back(node_[i], file_, path_ + "[" + std::to_string(i) + "]");
  return out;
}

std::vector<std::pair<std::string, ConfigNode>> ConfigNode::entries() const {
  expect_map();
  std::vector<std::pair<std::string, ConfigNode>> out;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string key = it->first.Scalar();
    read_->insert(key);
    out.emplace_back(key, ConfigNode(it->second, file_, child_path(key)));
  }
  return out;
}

std::string ConfigNode::scalar() const {
  if (!node_.IsScalar()) fail("expected a single value, found " + describe(node_));
  return node_.Scalar();
}

std::string ConfigNode::string(const std::string& key) const {
  return ConfigNode(value(key), file_, child_path(key)).scalar();
}

std::string ConfigNode::string(const std::string& key, const std::string& fallback) const {
  return has(key) ? string(key) : fallback;
}

int64_t ConfigNode::integer(const std::string& key) const {
  ConfigNode c(value(key), file_, child_path(key));
  const std::string s = c.scalar();
  int64_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || p != s.data() + s.size())
    c.fail("expected an integer, found '" + s + "'");
  return n;
}

int64_t ConfigNode::integer(const std::string& key, int64_t fallback, int64_t min,
                            int64_t max) const {
  if (!has(key)) return fallback;
  const int64_t n = integer(key);
  if (n < min || n > max)
    fail_at(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                     ", found " + std::to_string(n));
  return n;
}

double ConfigNode::number(const std::string& key, double fallback) const {
  if (!has(key)) return fallback;
  ConfigNode c(value(key), file_, child_path(key));
  const std::string s = c.scalar();
  double d = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || p != s.data() + s.size()) c.fail("expected a number, found '" + s + "'");
  return d;
}

bool ConfigNode::boolean(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  ConfigNode c(value(key), file_, child_path(key));
  const std::string s = c.scalar();
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  c.fail("expected true or false, found '" + s + "'");
}

int64_t ConfigNode::duration_ms(const std::string& key) const {
  ConfigNode c(value(key), file_, child_path(key));
  const std::string s = c.scalar();
  auto ms = parse_duration_ms(s);
  if (!ms) c.fail("expected a duration such as 500ms, 10s, 5m, 2h or 30d, found '" + s + "'");
  return *ms;
}

int64_t ConfigNode::duration_ms(const std::string& key, int64_t fallback) const {
  return has(key) ? duration_ms(key) : fallback;
}

std::vector<std::string> ConfigNode::strings(const std::string& key) const {
  if (!has(key)) return {};
  YAML::Node v = value(key);
  ConfigNode c(v, file_, child_path(key));
  if (v.IsScalar()) return {v.Scalar()};
  std::vector<std::string> out;
  for (const ConfigNode& e : c.elements()) out.push_back(e.scalar());
  return out;
}

void ConfigNode::finish() const {
  if (!node_.IsMap()) return;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (!read_->count(key)) ConfigNode(it->first, file_, path_).fail("unknown key '" + key + "'");
  }
}

}  // namespace segflow
