// TimerService: event-time and processing-time timers of one keyed subtask. A timer is
// (time, key, tag); registering the same triple twice keeps one. Event-time timers fire,
// in time order, when the watermark reaches their time; processing-time timers when the
// Clock does. Timers are part of the operator's snapshot.
// Thread safety: owned by one subtask; used by its thread only.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "engine/key_group.h"
#include "engine/state_io.h"

namespace segflow {

struct Timer {
  int64_t time = 0;
  std::string key;
  uint32_t tag = 0;  // operator-defined: lets one operator keep several kinds of timer
  auto operator<=>(const Timer&) const = default;
  void write(StateWriter& w) const;
  static Timer read(StateReader& r);
};

enum class TimeDomain : uint8_t { kEventTime, kProcessingTime };

class TimerService {
 public:
  void register_timer(TimeDomain domain, int64_t time, std::string_view key, uint32_t tag = 0);
  void delete_timer(TimeDomain domain, int64_t time, std::string_view key, uint32_t tag = 0);

  // Runtime side: removes and returns, one by one in time order, the timers due at `time`.
  // Timers registered while firing are considered too (if due).
  bool pop_due(TimeDomain domain, int64_t time, Timer& out);
  // Earliest pending timer time of `domain`, or INT64_MAX.
  int64_t next_time(TimeDomain domain) const;
  size_t size() const { return event_.size() + processing_.size(); }

  void snapshot(StateWriter& w) const;
  void restore(StateReader& r);
  // Restores only the timers whose key falls in `key_groups` (rescaling: the others belong
  // to another subtask now).
  void restore(StateReader& r, const KeyGroupRange& key_groups, uint32_t max_parallelism);

 private:
  std::set<Timer>& timers(TimeDomain d) {
    return d == TimeDomain::kEventTime ? event_ : processing_;
  }
  std::set<Timer> event_;
  std::set<Timer> processing_;
};

}  // namespace segflow
