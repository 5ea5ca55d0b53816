#include "engine/timer_service.h"

#include <vector>

namespace segflow {

void Timer::write(StateWriter& w) const {
  write_state(w, time);
  w.str(key);
  write_state(w, tag);
}

Timer Timer::read(StateReader& r) {
  Timer t;
  t.time = read_state<int64_t>(r);
  t.key = r.str();
  t.tag = read_state<uint32_t>(r);
  return t;
}

void TimerService::register_timer(TimeDomain domain, int64_t time, std::string_view key,
                                  uint32_t tag) {
  timers(domain).insert(Timer{time, std::string(key), tag});
}

void TimerService::delete_timer(TimeDomain domain, int64_t time, std::string_view key,
                                uint32_t tag) {
  timers(domain).erase(Timer{time, std::string(key), tag});
}

bool TimerService::pop_due(TimeDomain domain, int64_t time, Timer& out) {
  auto& set = timers(domain);
  if (set.empty() || set.begin()->time > time) return false;
  out = std::move(set.extract(set.begin()).value());
  return true;
}

int64_t TimerService::next_time(TimeDomain domain) const {
  const auto& set = domain == TimeDomain::kEventTime ? event_ : processing_;
  return set.empty() ? INT64_MAX : set.begin()->time;
}

void TimerService::snapshot(StateWriter& w) const {
  write_state(w, std::vector<Timer>(event_.begin(), event_.end()));
  write_state(w, std::vector<Timer>(processing_.begin(), processing_.end()));
}

void TimerService::restore(StateReader& r) {
  for (Timer& t : read_state<std::vector<Timer>>(r)) event_.insert(std::move(t));
  for (Timer& t : read_state<std::vector<Timer>>(r)) processing_.insert(std::move(t));
}

void TimerService::restore(StateReader& r, const KeyGroupRange& key_groups,
                           uint32_t max_parallelism) {
  for (std::set<Timer>* set : {&event_, &processing_})
    for (Timer& t : read_state<std::vector<Timer>>(r))
      if (key_groups.contains(key_group_of(t.key, max_parallelism))) set->insert(std::move(t));
}

}  // namespace segflow
