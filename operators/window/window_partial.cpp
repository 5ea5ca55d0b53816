#include "operators/window/window_partial.h"

namespace segflow {

WindowPartialCodec::WindowPartialCodec()
    : event_(intern("segflow.window.partial")), property_(intern("segflow.window.accumulators")) {}

void WindowPartialCodec::emit(Output& out, std::string_view key, int64_t pane_start,
                              const Accumulators& accs) const {
  StateWriter w;
  write_accumulators(w, accs);
  out.add(EventKind::kDerived, key, pane_start, event_).set(property_, Value::string(w.data()));
}

bool WindowPartialCodec::read(const Batch& in, const Record& r, size_t aggregates,
                              Accumulators& accs) const {
  const Value* v = in.find(r, property_);
  if (v == nullptr || !v->is_string()) return false;
  try {
    StateReader reader(v->as_string());
    accs = read_accumulators(reader);
    return reader.done() && accs.size() == aggregates;
  } catch (const StateFormatError&) {
    return false;
  }
}

}  // namespace segflow
