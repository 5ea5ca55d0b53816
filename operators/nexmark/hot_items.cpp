#include "operators/nexmark/hot_items.h"

#include <algorithm>

#include "engine/late_event.h"
#include "engine/registry.h"
#include "operators/nexmark/record_fields.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("nexmark_hot_items", HotItems);

namespace {
constexpr uint64_t kSnapshotVersion = 1;

}  // namespace

HotItems::Config HotItems::Config::parse(const ConfigNode& node) {
  Config c;
  c.count = intern(node.string("count", "bids"));
  c.name = intern(node.string("name", "Hot Item"));
  c.window_start = intern("window_start");
  c.window_end = intern("window_end");
  return c;
}

void HotItems::process(const Batch& in, Output& /*out*/) {
  for (const Record& r : in.records()) {
    int64_t start = 0, end = 0, count = 0;
    if (!int_property(in, r, config_.window_start, start) ||
        !int_property(in, r, config_.window_end, end) ||
        !int_property(in, r, config_.count, count)) {
      send_malformed(ctx().dead_letters, ctx().operator_id, r,
                     "missing window_start, window_end or count");
      continue;
    }
    if (end - 1 <= fired_through_) {
      ++late_events_;
      send_late_event(ctx().dead_letters, ctx().operator_id, r, fired_through_);
      continue;
    }
    Window& w = windows_[end];
    w.start = start;
    if (w.auctions.empty() || count > w.max) {
      w.max = count;
      w.auctions.clear();
    }
    if (count == w.max) w.auctions.emplace_back(r.key);
  }
}

void HotItems::on_watermark(int64_t watermark, Output& out) {
  while (!windows_.empty() && windows_.begin()->first - 1 <= watermark) {
    const int64_t end = windows_.begin()->first;
    const Window& w = windows_.begin()->second;
    for (const std::string& auction : w.auctions)
      out.add(EventKind::kDerived, auction, end - 1, config_.name)
          .set(config_.window_start, Value::integer(w.start))
          .set(config_.window_end, Value::integer(end))
          .set(config_.count, Value::integer(w.max));
    windows_.erase(windows_.begin());
  }
  fired_through_ = std::max(fired_through_, watermark);
}

void HotItems::Window::write(StateWriter& w) const {
  write_state(w, start);
  write_state(w, max);
  write_state(w, auctions);
}

HotItems::Window HotItems::Window::read(StateReader& r) {
  Window w;
  w.start = read_state<int64_t>(r);
  w.max = read_state<int64_t>(r);
  w.auctions = read_state<std::vector<std::string>>(r);
  return w;
}

void HotItems::snapshot(StateWriter& w) const {
  w.u64(kSnapshotVersion);
  write_state(w, fired_through_);
  write_state(w, windows_);
}

void HotItems::restore(StateReader& r) {
  if (r.u64() != kSnapshotVersion) throw StateFormatError("nexmark_hot_items: unknown version");
  fired_through_ = read_state<int64_t>(r);
  windows_ = read_state<std::map<int64_t, Window>>(r);
}

}  // namespace segflow
