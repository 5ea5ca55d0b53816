#include "operators/window/window_state.h"

#include <string>

namespace segflow {

void write_accumulators(StateWriter& w, const Accumulators& accs) {
  w.u64(accs.size());
  for (const Accumulator& a : accs) a.write(w);
}

Accumulators read_accumulators(StateReader& r) {
  const uint64_t n = r.u64();
  if (n > Accumulators::kMaxSize)
    throw StateFormatError("window: " + std::to_string(n) + " accumulators in a pane");
  Accumulators accs(n);
  for (Accumulator& a : accs) a = Accumulator::read(r);
  return accs;
}

void Pane::write(StateWriter& w) const {
  write_state(w, start);
  write_accumulators(w, accs);
}

Pane Pane::read(StateReader& r) {
  Pane p;
  p.start = read_state<int64_t>(r);
  p.accs = read_accumulators(r);
  return p;
}

void Session::write(StateWriter& w) const {
  write_state(w, start);
  write_state(w, end);
  write_state(w, fired);
  write_accumulators(w, accs);
}

Session Session::read(StateReader& r) {
  Session s;
  s.start = read_state<int64_t>(r);
  s.end = read_state<int64_t>(r);
  s.fired = read_state<bool>(r);
  s.accs = read_accumulators(r);
  return s;
}

void KeyWindows::write(StateWriter& w) const {
  w.u64(panes.size());
  for (const Pane& p : panes) p.write(w);
  write_state(w, sessions());
  write_state(w, next_start);
  write_state(w, timer);
}

KeyWindows KeyWindows::read(StateReader& r) {
  KeyWindows k;
  for (uint64_t n = r.u64(); n > 0; --n) k.panes.push_back(Pane::read(r));
  auto sessions = read_state<std::vector<Session>>(r);
  if (!sessions.empty()) k.sessions() = std::move(sessions);
  k.next_start = read_state<int64_t>(r);
  k.timer = read_state<int64_t>(r);
  return k;
}

}  // namespace segflow
