#include "engine/operator_metrics.h"

#include <algorithm>
#include <stdexcept>

namespace segflow {

namespace {

bool valid_name(std::string_view s, bool colons) {
  if (s.empty()) return false;
  auto letter = [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colons && c == ':');
  };
  if (!letter(s.front())) return false;
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return letter(c) || (c >= '0' && c <= '9'); });
}

void check(MetricKind kind, std::string_view name, const std::vector<MetricLabel>& labels) {
  const std::string where = "metric '" + std::string(name) + "': ";
  if (!valid_name(name, true)) throw std::invalid_argument(where + "not a valid metric name");
  if (kind == MetricKind::kCounter && !name.ends_with("_total"))
    throw std::invalid_argument(where + "a counter's name must end in _total");
  for (size_t i = 0; i < labels.size(); ++i) {
    const std::string& l = labels[i].name;
    if (!valid_name(l, false) || l.starts_with("__"))
      throw std::invalid_argument(where + "'" + l + "' is not a valid label name");
    if (l == "job" || l == "operator" || l == "subtask")
      throw std::invalid_argument(where + "label '" + l + "' is added by the engine");
    for (size_t j = 0; j < i; ++j)
      if (labels[j].name == l) throw std::invalid_argument(where + "label '" + l + "' repeated");
  }
}

// Identifies a series within its family.
std::string series_key(std::string_view operator_id, uint32_t subtask,
                       const std::vector<MetricLabel>& labels) {
  std::string key(operator_id);
  key += '\0';
  key += std::to_string(subtask);
  for (const MetricLabel& l : labels) {
    key += '\0';
    key += l.name;
    key += '=';
    key += l.value;
  }
  return key;
}

}  // namespace

MetricRegistry::Series& MetricRegistry::series(MetricKind kind, std::string_view operator_id,
                                               uint32_t subtask, std::string_view name,
                                               std::string_view help,
                                               std::vector<MetricLabel> labels) {
  check(kind, name, labels);
  std::lock_guard lock(mutex_);
  auto it = families_.find(name);
  if (it == families_.end()) {
    Family f;
    f.name = std::string(name);
    f.help = std::string(help);
    f.kind = kind;
    it = families_.emplace(std::string(name), std::move(f)).first;
  }
  Family& family = it->second;
  if (family.kind != kind || family.help != help)
    throw std::invalid_argument("metric '" + std::string(name) +
                                "': registered before with another type or help text");
  auto [at, added] = family.series.try_emplace(series_key(operator_id, subtask, labels));
  if (added) {
    at->second.operator_id = std::string(operator_id);
    at->second.subtask = subtask;
    at->second.labels = std::move(labels);
  }
  return at->second;
}

MetricCounter& MetricRegistry::counter(std::string_view operator_id, uint32_t subtask,
                                       std::string_view name, std::string_view help,
                                       std::vector<MetricLabel> labels) {
  return series(MetricKind::kCounter, operator_id, subtask, name, help, std::move(labels)).counter;
}

MetricGauge& MetricRegistry::gauge(std::string_view operator_id, uint32_t subtask,
                                   std::string_view name, std::string_view help,
                                   std::vector<MetricLabel> labels) {
  return series(MetricKind::kGauge, operator_id, subtask, name, help, std::move(labels)).gauge;
}

void MetricRegistry::for_each(const std::function<void(const Family&)>& visit) const {
  std::lock_guard lock(mutex_);
  for (const auto& [name, family] : families_) visit(family);
}

}  // namespace segflow
