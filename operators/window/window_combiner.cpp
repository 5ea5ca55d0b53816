#include "operators/window/window_combiner.h"

#include <algorithm>

namespace segflow {

namespace {

// 2: 24-byte accumulators (accumulator.h). Version 1 snapshots are refused.
constexpr uint64_t kStateFormatVersion = 2;

}  // namespace

bool WindowCombiner::matches(SymbolId event) const {
  return config_.events.empty() ||
         std::find(config_.events.begin(), config_.events.end(), event) != config_.events.end();
}

int64_t WindowCombiner::first_window_end(int64_t pane_start) const {
  return floor_to(pane_start - config_.size_ms, config_.slide_ms) + config_.slide_ms +
         config_.size_ms - 1;
}

void WindowCombiner::process(const Batch& in, Output& out) {
  const int64_t wm = ctx().watermark;
  // Times this far out are left to the window operator (no overflow in the arithmetic here).
  constexpr int64_t kLowest = kMinTime / 4;
  constexpr int64_t kHighest = kMaxTime / 4;
  // The batch's stamp, or the earlier one it stands for (handed on by Output::forward_all).
  const int64_t ingest = std::min(in.ingest_ns(), out.ingest_cause());
  if (pass_left_ >= in.size() && std::all_of(in.records().begin(), in.records().end(),
                                             [&](const Record& r) { return matches(r.event); })) {
    // Passing the whole batch: handed on as it is, not copied record by record.
    pass_left_ -= in.size();
    passed_ += in.size();
    out.forward_all(in);
    return;
  }
  for (const Record& r : in.records()) {
    if (!matches(r.event)) continue;
    const int64_t t = r.event_time;
    if (t < pane_.start || t >= pane_.start + config_.pane_ms) {
      if (t >= kLowest && t <= kHighest) {  // else the window operator decides (passed on)
        pane_.start = floor_to(t, config_.pane_ms);
        pane_.first_window_end = first_window_end(pane_.start);
      }
    }
    const int64_t pane_start = pane_.start;
    if (pass_left_ > 0 || t < kLowest || t > kHighest || pane_.first_window_end <= wm) {
      pass_left_ -= pass_left_ > 0 ? 1 : 0;
      out.forward(in, r);
      ++passed_;
      continue;
    }
    held_ingest_ = std::min(held_ingest_, ingest);
    fold(in, r, pane_start);
    const bool few_per_pane = folded_since_empty_ < 2 * entries_;
    if (entries_ >= kMaxEntries || (few_per_pane && folded_since_empty_ % kCheckEvery == 0)) {
      if (few_per_pane) pass_left_ = kPassThroughEvents;
      send_due(kMaxTime, out);
    }
  }
}

void WindowCombiner::fold(const Batch& in, const Record& r, int64_t pane_start) {
  auto it = table_.find(r.key);
  if (it == table_.end()) it = table_.emplace(std::string(r.key), Panes{}).first;
  Panes& panes = it->second;
  // Events come mostly in order: most go to the newest pane.
  auto p = !panes.empty() && panes.back().start == pane_start
               ? panes.end() - 1
               : std::lower_bound(panes.begin(), panes.end(), pane_start,
                                  [](const Pane& x, int64_t s) { return x.start < s; });
  if (p == panes.end() || p->start != pane_start) {
    p = panes.insert(p, Pane{pane_start, config_.fresh()});
    ++entries_;
    next_due_ = std::min(next_due_, pane_.first_window_end);
  }
  config_.add(p->accs, in, r, seq_++);
  ++folded_;
  ++folded_since_empty_;
}

void WindowCombiner::send(std::string_view key, const Pane& pane, Output& out) {
  codec_.emit(out, key, pane.start, pane.accs);
  ++partials_;
}

void WindowCombiner::send_due(int64_t watermark, Output& out) {
  if (entries_ == 0 || watermark < next_due_) return;
  // What is sent now was caused by the batches the held events came in.
  const int64_t cause = out.ingest_cause();
  out.set_ingest_cause(std::min(cause, held_ingest_));
  int64_t next = kMaxTime;
  for (auto it = table_.begin(); it != table_.end();) {
    const auto following = std::next(it);  // erasing moves no other element
    Panes& panes = it->second;
    size_t kept = 0;
    for (size_t i = 0; i < panes.size(); ++i) {
      const int64_t due = first_window_end(panes[i].start);
      if (due <= watermark) {
        send(it->first, panes[i], out);
        continue;
      }
      next = std::min(next, due);
      if (kept != i) panes[kept] = std::move(panes[i]);
      ++kept;
    }
    entries_ -= panes.size() - kept;
    panes.erase(panes.begin() + static_cast<std::ptrdiff_t>(kept), panes.end());
    if (panes.empty()) table_.erase(it);
    it = following;
  }
  next_due_ = next;
  if (entries_ == 0) {
    held_ingest_ = kNoIngestTime;
    folded_since_empty_ = 0;
  }
  out.set_ingest_cause(cause);
}

void WindowCombiner::on_watermark(int64_t watermark, Output& out) { send_due(watermark, out); }

void WindowCombiner::close(Output& out) { send_due(kMaxTime, out); }

void WindowCombiner::export_profile(std::string_view merged, int64_t /*time*/, StateWriter& /*w*/,
                                    Output& out) {
  // The merged-away profile's panes go ahead of the export record, into its exported state.
  const auto it = table_.find(merged);
  if (it == table_.end()) return;
  const int64_t cause = out.ingest_cause();
  out.set_ingest_cause(std::min(cause, held_ingest_));
  for (const Pane& p : it->second) send(merged, p, out);
  out.set_ingest_cause(cause);
  entries_ -= it->second.size();
  table_.erase(it);
}

void WindowCombiner::snapshot(StateWriter& w) const {
  w.u64(kStateFormatVersion);
  write_state(w, seq_);
  w.u64(table_.size());
  for (const auto& [key, panes] : table_) {
    w.str(key);
    w.u64(panes.size());
    for (const Pane& p : panes) p.write(w);
  }
}

void WindowCombiner::restore(StateReader& r) {
  const uint64_t version = r.u64();
  if (version != kStateFormatVersion)
    throw StateFormatError("window combiner: unknown state format version " +
                           std::to_string(version));
  seq_ = std::max(seq_, read_state<uint64_t>(r));
  for (uint64_t n = r.u64(); n > 0; --n) {
    const std::string key = r.str();
    for (uint64_t count = r.u64(); count > 0; --count) {
      Pane pane = Pane::read(r);
      if (pane.accs.size() != config_.aggregates.size())
        throw StateFormatError("window combiner: state of another aggregate list");
      Panes& panes = table_[key];
      auto p = std::lower_bound(panes.begin(), panes.end(), pane.start,
                                [](const Pane& x, int64_t s) { return x.start < s; });
      if (p != panes.end() && p->start == pane.start) {
        config_.merge(p->accs, pane.accs);
        continue;
      }
      next_due_ = std::min(next_due_, first_window_end(pane.start));
      panes.insert(p, std::move(pane));
      ++entries_;
    }
  }
}

}  // namespace segflow
