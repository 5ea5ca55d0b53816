#include "operators/window/window_state.h"

namespace segflow {

void Pane::write(StateWriter& w) const {
  write_state(w, start);
  write_state(w, accs);
}

Pane Pane::read(StateReader& r) {
  Pane p;
  p.start = read_state<int64_t>(r);
  p.accs = read_state<Accumulators>(r);
  return p;
}

void Session::write(StateWriter& w) const {
  write_state(w, start);
  write_state(w, end);
  write_state(w, fired);
  write_state(w, accs);
}

Session Session::read(StateReader& r) {
  Session s;
  s.start = read_state<int64_t>(r);
  s.end = read_state<int64_t>(r);
  s.fired = read_state<bool>(r);
  s.accs = read_state<Accumulators>(r);
  return s;
}

void KeyWindows::write(StateWriter& w) const {
  write_state(w, panes);
  write_state(w, sessions);
  write_state(w, next_start);
  write_state(w, timer);
}

KeyWindows KeyWindows::read(StateReader& r) {
  KeyWindows k;
  k.panes = read_state<std::vector<Pane>>(r);
  k.sessions = read_state<std::vector<Session>>(r);
  k.next_start = read_state<int64_t>(r);
  k.timer = read_state<int64_t>(r);
  return k;
}

}  // namespace segflow
