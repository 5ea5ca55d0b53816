// The reference the identity operator is tested against: a plain single-threaded union-find
// over (type, value) identifiers kept as strings in std::map, applying the rules written in
// operators/identity/identity_graph.h, with none of the operator's machinery (no hashing of
// identifiers, no flat arrays, every link time kept). Also the random identity streams both
// are fed with.
#pragma once

#include <cctype>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace segflow::testing {

// One event's identifiers as (type index, value), priority order, already unblocked.
using RefIds = std::vector<std::pair<uint32_t, std::string>>;

class ReferenceIdentity {
 public:
  // `within[t]`: the time scope of type t's limit in ms (absent or 0: ever).
  ReferenceIdentity(std::vector<int> limits, int max_merges, std::vector<int64_t> within = {})
      : limits_(std::move(limits)), max_merges_(max_merges), within_(std::move(within)) {
    within_.resize(limits_.size(), 0);
  }

  // Returns the profile of an event at event time `time`.
  int resolve(const RefIds& ids, int64_t time = 0) {
    int p = -1;
    std::vector<std::pair<uint32_t, std::string>> seen;
    for (const auto& id : ids) {
      bool dup = false;
      for (const auto& s : seen) dup = dup || s == id;
      if (dup) continue;
      seen.push_back(id);
      auto it = owner_.find(id);
      if (it != owner_.end()) {
        const int q = root(it->second);
        if (p < 0) {
          p = q;
        } else if (q != p) {
          if (can_merge(p, q, time)) {
            const int survivor = std::min(p, q), merged = std::max(p, q);
            parent_[merged] = survivor;
            for (const auto& [t, times] : profiles_[merged].links)
              for (int64_t at : times) profiles_[survivor].links[t].push_back(at);
            profiles_[survivor].merges += profiles_[merged].merges + 1;
            ++merges;
            p = survivor;
          } else {
            ++refused;
          }
        }
      } else if (p < 0) {
        p = static_cast<int>(parent_.size());
        parent_.push_back(p);
        profiles_.push_back({});
        profiles_[p].links[id.first].push_back(time);
        owner_[id] = p;
      } else if (held(p, id.first, time) + 1 <= limits_[id.first]) {
        profiles_[p].links[id.first].push_back(time);
        owner_[id] = p;
      } else {
        ++refused;
      }
    }
    return p;
  }

  // The canonical profile of an identifier, or -1.
  int lookup(const std::pair<uint32_t, std::string>& id) const {
    auto it = owner_.find(id);
    return it == owner_.end() ? -1 : root(it->second);
  }

  int root(int p) const {
    while (parent_[p] != p) p = parent_[p];
    return p;
  }

  int merges = 0;
  int refused = 0;

 private:
  struct Profile {
    std::map<uint32_t, std::vector<int64_t>> links;  // per type: the link times
    int merges = 0;
  };
  // Identifiers of type t in profile p that count towards its limit at `time`.
  int held(int p, uint32_t t, int64_t time) {
    int n = 0;
    for (int64_t at : profiles_[p].links[t]) n += within_[t] == 0 || at > time - within_[t];
    return n;
  }
  bool can_merge(int a, int b, int64_t time) {
    for (uint32_t t = 0; t < limits_.size(); ++t)
      if (held(a, t, time) + held(b, t, time) > limits_[t]) return false;
    return profiles_[a].merges + profiles_[b].merges + 1 <= max_merges_;
  }

  std::vector<int> limits_;
  int max_merges_;
  std::vector<int64_t> within_;
  std::map<std::pair<uint32_t, std::string>, int> owner_;
  std::vector<int> parent_;
  std::vector<Profile> profiles_;
};

// A random event of a random identity stream: property name -> string value (absent when
// not set). People have a userId, one or two emails, several anonymous ids and devices;
// some devices are shared between people; some values are blocked ("unknown", "0000").
struct RandomEvent {
  // The identifiers of the event as the default rules see them (priority order,
  // normalised, blocked values left out).
  RefIds identifiers() const;
  std::string kind = "track";  // track, identify or alias
  std::vector<std::pair<std::string, std::string>> properties;
};

inline RefIds RandomEvent::identifiers() const {
  auto get = [&](const std::string& name) -> const std::string* {
    for (const auto& [n, v] : properties)
      if (n == name) return &v;
    return nullptr;
  };
  auto blocked = [](const std::string& v) {
    if (v.empty() || v == "null" || v == "anonymous" || v == "unknown" || v == "-1") return true;
    return v.find_first_not_of("0-") == std::string::npos;
  };
  RefIds ids;
  auto add = [&](uint32_t type, const std::string* v, bool email) {
    if (v == nullptr) return;
    std::string value = *v;
    if (email) {
      value.erase(0, value.find_first_not_of(' '));
      value.erase(value.find_last_not_of(' ') + 1);
      for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (!blocked(value)) ids.emplace_back(type, value);
  };
  add(0, get("userId"), false);
  add(1, get("traits.email"), true);
  add(2, get("anonymousId"), false);
  if (kind == "alias") add(2, get("previousId"), false);
  add(3, get("context.device.id"), false);
  return ids;
}

inline std::vector<RandomEvent> random_identity_stream(uint32_t seed, int events) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  const int people = 3 + pick(12);
  const int shared_devices = 1 + pick(3);
  std::vector<RandomEvent> out;
  for (int i = 0; i < events; ++i) {
    const int person = pick(people);
    const std::string p = std::to_string(person);
    RandomEvent e;
    const int shape = pick(10);
    auto maybe = [&](const std::string& name, const std::string& value, int percent) {
      if (pick(100) < percent) e.properties.emplace_back(name, value);
    };
    maybe("anonymousId", "anon-" + p + "-" + std::to_string(pick(4)), 80);
    maybe("context.device.id",
          pick(5) == 0 ? "shared-" + std::to_string(pick(shared_devices))
                       : "dev-" + p + "-" + std::to_string(pick(3)),
          50);
    if (shape < 4) maybe("userId", "user-" + p, 100);
    if (shape == 4) {
      e.kind = "identify";
      maybe("userId", "user-" + p, 90);
      maybe("traits.email", (pick(2) ? " User" : "user") + p + "@Example.com ", 90);
    }
    if (shape == 5) {
      e.kind = "alias";
      e.properties.emplace_back("userId", "user-" + p);
      e.properties.emplace_back("previousId", "anon-" + std::to_string(pick(people)) + "-0");
    }
    if (shape == 6) maybe("userId", pick(2) ? "unknown" : "0000-00", 100);  // blocked
    if (shape == 7 && pick(4) == 0) maybe("userId", "user-" + std::to_string(pick(people)), 100);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace segflow::testing
