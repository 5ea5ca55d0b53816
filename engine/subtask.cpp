#include "engine/subtask.h"

#include "engine/profile_merge.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace segflow {

namespace {
constexpr std::chrono::milliseconds kMaxSleep(50);
constexpr int kElementsPerInputTurn = 8;

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

Subtask::Subtask(const JobSettings& settings, const RuntimeServices& services,
                 const std::atomic<bool>& stop_requested, const std::atomic<bool>& cancelled,
                 SubtaskStats* time_stats)
    : settings_(settings),
      services_(services),
      stop_requested_(stop_requested),
      cancelled_(cancelled),
      time_stats_(time_stats),
      router_(settings.batch_size, settings.max_parallelism, &cancelled) {}

Subtask::~Subtask() { finish_deferred_snapshot(); }

void Subtask::finish_deferred_snapshot() {
  if (deferred_snapshot_.joinable()) deferred_snapshot_.join();
}

std::string Subtask::name_for_file() const {
  const std::string& head = source_ ? source_ctx_.operator_id : slots_.front()->operator_id;
  const uint32_t index = source_ ? source_ctx_.subtask : slots_.front()->ctx.subtask;
  return head + "-" + std::to_string(index) + ".state";
}

std::string Subtask::name() const {
  const std::string& head = source_ ? source_ctx_.operator_id : slots_.front()->operator_id;
  const uint32_t index = source_ ? source_ctx_.subtask : slots_.front()->ctx.subtask;
  return head + "#" + std::to_string(index);
}

void Subtask::set_source(std::unique_ptr<Source> source, OperatorContext ctx,
                         OperatorStats* stats) {
  source_ = std::move(source);
  source_ctx_ = std::move(ctx);
  source_stats_ = stats;
}

void Subtask::add_operator(std::unique_ptr<Operator> op, OperatorContext ctx,
                           OperatorStats* stats) {
  auto slot = std::make_unique<Slot>();
  slot->operator_id = ctx.operator_id;
  slot->op = std::move(op);
  slot->ctx = std::move(ctx);
  slot->stats = stats;
  slots_.push_back(std::move(slot));
}

void Subtask::wire_outputs() {
  if (source_) {
    auto note_emitted = [this](const Batch& b) {
      for (const Record& r : b.records())
        max_source_time_ = std::max(max_source_time_, r.event_time);
      source_stats_->records_out.fetch_add(b.size(), std::memory_order_relaxed);
    };
    source_out_ = std::make_unique<Output>(
        [this, note_emitted](BatchPtr& b) {
          note_emitted(*b);
          deliver(SIZE_MAX, b);
        },
        settings_.batch_size,
        [this, note_emitted](const Batch& b, int64_t ingest_ns) {
          note_emitted(b);
          deliver_view(SIZE_MAX, b, ingest_ns);
        });
  }
  for (size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = *slots_[i];
    s.ctx.timers = &s.timers;
    s.out = std::make_unique<Output>(
        [this, i](BatchPtr& b) {
          slots_[i]->stats->records_out.fetch_add(b->size(), std::memory_order_relaxed);
          deliver(i, b);
        },
        settings_.batch_size,
        [this, i](const Batch& b, int64_t ingest_ns) {
          slots_[i]->stats->records_out.fetch_add(b.size(), std::memory_order_relaxed);
          deliver_view(i, b, ingest_ns);
        });
  }
}

// Hands a batch emitted by slot `from_slot` (SIZE_MAX: the source) to the next slot, or to
// the router at the end of the chain.
void Subtask::deliver(size_t from_slot, BatchPtr& batch) {
  const size_t next = from_slot == SIZE_MAX ? 0 : from_slot + 1;
  if (next < slots_.size()) {
    process_in_slot(next, *batch);
  } else {
    router_.route(batch);
  }
}

void Subtask::deliver_view(size_t from_slot, const Batch& batch, int64_t ingest_ns) {
  const size_t next = from_slot == SIZE_MAX ? 0 : from_slot + 1;
  if (next < slots_.size()) {
    process_in_slot(next, batch, ingest_ns);
  } else {
    router_.route(batch, ingest_ns);
  }
}

void Subtask::process_in_slot(size_t slot, const Batch& batch, int64_t ingest_ns) {
  Slot& s = *slots_[slot];
  s.stats->records_in.fetch_add(batch.size(), std::memory_order_relaxed);
  // What the operator emits now was caused by this batch (engine/ingest_time.h).
  s.out->set_ingest_cause(ingest_ns);
  process_batch(s, batch, ingest_ns);
  s.out->set_ingest_cause(kNoIngestTime);
  if (s.stats->is_sink && ingest_ns != kNoIngestTime)
    s.stats->end_to_end_latency.observe(ingest_clock_ns() - ingest_ns, batch.size());
}

void Subtask::process_batch(Slot& s, const Batch& batch, int64_t ingest_ns) {
  if (!has_merge_records(batch)) {
    s.op->process(batch, *s.out);
    return;
  }
  // Rare: split the batch at its merge control records, keeping the order.
  BatchPtr run = BatchPool::acquire();
  run->note_ingest(ingest_ns);
  for (const Record& r : batch.records()) {
    if (!is_merge_record(r)) {
      run->copy_from(batch, r);
      continue;
    }
    if (!run->empty()) {
      s.op->process(*run, *s.out);
      run->clear();
    }
    apply_merge_record(s, batch, r);
  }
  if (!run->empty()) s.op->process(*run, *s.out);
}

void Subtask::apply_merge_record(Slot& s, const Batch& batch, const Record& r) {
  MergeRecordFields fields;
  if (s.op->merges_profiles() && read_merge_record(batch, r, fields)) {
    const std::string handoff_key = s.operator_id + "/" + std::string(fields.merge_id);
    if (r.kind == EventKind::kMergeExport) {
      StateWriter w;
      s.op->export_profile(r.key, r.event_time, w, *s.out);
      services_.profile_handoff->put(handoff_key, w.take());
    } else {
      std::string bytes;
      if (!services_.profile_handoff->take(handoff_key, cancelled_, bytes)) return;
      StateReader reader(bytes);
      s.op->import_profile(r.key, fields.other, r.event_time, reader, *s.out);
    }
  }
  const bool last = &s == slots_.back().get();
  if (last && !router_.has_edges()) return;  // a sink: the record ends here
  s.out->forward(batch, r);
  s.out->flush();
}

void Subtask::open_all() {
  const int64_t started = steady_ns();
  wire_outputs();
  auto restoring = [&](const std::string& id) {
    return restore_ != nullptr && restore_->by_operator.count(id) > 0;
  };
  if (source_) {
    source_ctx_.checkpointing = coordinator_ != nullptr;
    source_ctx_.restoring = restoring(source_ctx_.operator_id);
    source_->open(source_ctx_);
    if (source_ctx_.restoring) restore_source();
  }
  for (auto& s : slots_) {
    s->ctx.checkpointing = coordinator_ != nullptr;
    s->ctx.restoring = restoring(s->operator_id);
    s->op->open(s->ctx);
    if (s->ctx.restoring) restore_slot(*s);
  }
  input_watermarks_.assign(inputs_.size(), kMinTime);
  input_states_.assign(inputs_.size(), InputState::kActive);
  blocked_.assign(inputs_.size(), false);
  if (restore_ != nullptr) {
    last_barrier_ = notified_complete_ = restore_->id;
    if (coordinator_ != nullptr) coordinator_->restored(steady_ns() - started);
  }
}

void Subtask::restore_source() {
  const auto& snapshots = restore_->by_operator.at(source_ctx_.operator_id);
  const bool every = source_->restores_every_snapshot();
  for (const OperatorSnapshot& snap : snapshots) {
    if (!every && snap.parallelism != source_ctx_.parallelism)
      throw std::runtime_error(
          "checkpoint " + std::to_string(restore_->id) + " has source '" + source_ctx_.operator_id +
          "' at parallelism " + std::to_string(snap.parallelism) + ", the job has " +
          std::to_string(source_ctx_.parallelism) + " (sources cannot be rescaled)");
    if (!every && snap.subtask != source_ctx_.subtask) continue;
    StateReader r(snap.state);
    source_->restore(r);
  }
}

void Subtask::restore_slot(Slot& slot) {
  // Same parallelism: this subtask's own snapshot. Rescaled: every old subtask's snapshot;
  // keyed state and timers keep the key groups this subtask owns.
  const auto& snapshots = restore_->by_operator.at(slot.operator_id);
  const bool rescaled = snapshots.front().parallelism != slot.ctx.parallelism;
  restore_store_files(slot, snapshots);
  for (const OperatorSnapshot& snap : snapshots) {
    if (!rescaled && snap.subtask != slot.ctx.subtask) continue;
    StateReader r(snap.state);
    slot.op->restore(r);
    StateReader timers(snap.timers);
    if (rescaled)
      slot.timers.restore(timers, slot.ctx.key_groups, slot.ctx.max_parallelism);
    else
      slot.timers.restore(timers);
  }
}

// An incremental checkpoint's store files come back before the operator restores (its
// states then skip their entries).
void Subtask::restore_store_files(Slot& slot, const std::vector<OperatorSnapshot>& snapshots) {
  std::vector<StoreRestoreSource> sources;
  for (const OperatorSnapshot& snap : snapshots) {
    if (!snap.store) continue;
    if (slot.ctx.state_store == nullptr)
      throw std::runtime_error("checkpoint " + std::to_string(restore_->id) + " holds '" +
                               slot.operator_id +
                               "' state in RocksDB files: restore it with state_backend rocksdb");
    const KeyGroupRange groups =
        KeyGroupRange::for_subtask(snap.subtask, slot.ctx.max_parallelism, snap.parallelism);
    const KeyGroupRange& own = slot.ctx.key_groups;
    if (groups.end > own.begin && groups.begin < own.end)
      sources.push_back({restore_->path, &*snap.store, groups});
  }
  if (!sources.empty()) slot.ctx.state_store->restore_files(sources, slot.ctx.key_groups);
}

void Subtask::count_idle(int64_t since) {
  time_stats_->idle_ns.fetch_add(static_cast<uint64_t>(steady_ns() - since),
                                 std::memory_order_relaxed);
}

void Subtask::run() {
  time_stats_->started_ns.store(steady_ns(), std::memory_order_relaxed);
  struct MarkFinished {
    SubtaskStats* stats;
    ~MarkFinished() { stats->finished_ns.store(steady_ns(), std::memory_order_relaxed); }
  } mark_finished{time_stats_};
  open_all();
  if (source_)
    run_source();
  else
    run_inputs();
  if (!cancelled_.load(std::memory_order_relaxed)) finish();
  finish_deferred_snapshot();  // acknowledges its checkpoint before `finished` gives it up
  if (coordinator_ != nullptr) coordinator_->finished(index_);
}

void Subtask::poll_checkpoints() {
  if (coordinator_ == nullptr) return;
  if (source_) {
    const int64_t triggered = coordinator_->triggered();
    if (triggered > last_barrier_) {
      take_snapshot(triggered, 0);
      router_.broadcast(Element{ElementKind::kBarrier, triggered, nullptr});
      last_barrier_ = triggered;
    }
  }
  notify_completed();
}

void Subtask::notify_completed() {
  const int64_t completed = coordinator_->completed();
  if (completed > notified_complete_) {
    notified_complete_ = completed;
    if (source_) source_->on_checkpoint_complete(completed);
    for (auto& s : slots_) s->op->on_checkpoint_complete(completed);
  }
}

void Subtask::on_barrier(size_t input, int64_t id) {
  if (id <= last_barrier_ || id < aligning_) return;  // of a checkpoint given up already
  if (id > aligning_) {
    // A newer checkpoint overtakes one that never completed: align on the newer one.
    aligning_ = id;
    align_start_ns_ = steady_ns();
    std::fill(blocked_.begin(), blocked_.end(), false);
  }
  blocked_[input] = true;
  complete_alignment_if_ready();
}

void Subtask::complete_alignment_if_ready() {
  if (aligning_ <= last_barrier_) return;
  for (size_t c = 0; c < inputs_.size(); ++c)
    if (!blocked_[c] && input_states_[c] != InputState::kEnded) return;
  take_snapshot(aligning_, steady_ns() - align_start_ns_);
  router_.broadcast(Element{ElementKind::kBarrier, aligning_, nullptr});
  last_barrier_ = aligning_;
  std::fill(blocked_.begin(), blocked_.end(), false);
}

void Subtask::take_snapshot(int64_t id, int64_t alignment_ns) {
  if (coordinator_ == nullptr) return;
  const int64_t started = steady_ns();
  finish_deferred_snapshot();  // of the previous checkpoint: done long since, normally
  // Checkpoint `id` was triggered after the previous one completed or was given up: every
  // operator hears of the completion before this barrier (a transactional sink then knows
  // that a transaction still pending belongs to a checkpoint given up).
  notify_completed();
  // Everything before the barrier reaches every operator of the chain (and the router).
  if (source_) source_out_->flush();
  for (auto& s : slots_) s->out->flush();
  std::vector<OperatorSnapshot> operators;
  if (source_) {
    StateWriter w;
    source_->prepare_snapshot(id);
    source_->snapshot(w);
    operators.push_back(
        {source_ctx_.operator_id, source_ctx_.subtask, source_ctx_.parallelism, w.take(), {}});
  }
  // Keyed state is written after the barrier, on deferred_snapshot_ (copy-on-write).
  struct Deferred {
    size_t snapshot;  // in `operators`
    Slot* slot;
    StateWriter state;  // what was written at the barrier
    DeferredSnapshot rest;
  };
  std::vector<Deferred> deferred;
  for (auto& slot : slots_) {
    Slot& s = *slot;
    s.op->prepare_snapshot(id);
    StateWriter state, timers;
    state.reserve(s.last_snapshot_bytes + s.last_snapshot_bytes / 8);
    // Savepoints export every entry: they stand alone and restore on either backend.
    KeyedStateStore* store = s.ctx.state_store;
    const bool in_files =
        store != nullptr && store->incremental() && !coordinator_->is_savepoint(id);
    if (in_files) store->set_snapshot_in_files(true);
    DeferredSnapshot rest = s.op->snapshot_async(state);  // a store's state is written now
    if (in_files) store->set_snapshot_in_files(false);
    s.timers.snapshot(timers);
    if (rest) {
      deferred.push_back({operators.size(), &s, std::move(state), std::move(rest)});
    } else {
      s.last_snapshot_bytes = state.data().size();
    }
    operators.push_back(
        {s.operator_id, s.ctx.subtask, s.ctx.parallelism, state.take(), timers.take()});
    if (in_files)
      operators.back().pending_store =
          store->snapshot_files(s.operator_id + "-" + std::to_string(s.ctx.subtask));
  }
  const int64_t pause_ns = steady_ns() - started;
  if (deferred.empty()) {
    coordinator_->submit(id, index_, name_for_file(), std::move(operators), alignment_ns, pause_ns);
    return;
  }
  deferred_snapshot_ =
      std::thread([this, id, alignment_ns, pause_ns, name = name_for_file(),
                   operators = std::move(operators), deferred = std::move(deferred)]() mutable {
        const int64_t async_started = steady_ns();
        for (Deferred& d : deferred) {
          d.rest(d.state);
          d.rest = nullptr;  // lets the state see its snapshot is written
          d.slot->last_snapshot_bytes = d.state.size();
          operators[d.snapshot].state = d.state.take();
        }
        coordinator_->submit(id, index_, std::move(name), std::move(operators), alignment_ns,
                             pause_ns, steady_ns() - async_started);
      });
}

void Subtask::run_source() {
  const Clock& clock = *services_.clock;
  int64_t idle_since = -1;
  int64_t last_watermark_at = clock.now_ms();
  while (!cancelled_.load(std::memory_order_relaxed) &&
         !stop_requested_.load(std::memory_order_relaxed)) {
    poll_checkpoints();
    source_out_->set_ingest_cause(ingest_clock_ns());
    const SourceStatus status = source_->poll(*source_out_);
    source_out_->flush();
    if (status == SourceStatus::kEnd) break;
    router_.wake_consumers_if_due();
    const int64_t now = clock.now_ms();
    const bool idle = status == SourceStatus::kIdle;
    // A watermark every `watermark_interval_ms` while the source is busy, and as soon as it
    // runs out of input: what it emitted is then released downstream at once instead of at
    // the next tick (engine/README.md, "End-to-end latency").
    const int64_t source_time = source_->event_time_reached().value_or(max_source_time_);
    if (source_time != kMinTime &&
        (idle || now - last_watermark_at >= settings_.watermark_interval_ms)) {
      const int64_t wm = source_time - settings_.out_of_orderness_ms - 1;
      if (wm > watermark_) advance_watermark(wm, false);
      last_watermark_at = now;
    }
    if (idle) {
      if (idle_since < 0) idle_since = now;
      if (!idle_forwarded_ && now - idle_since >= settings_.idle_timeout_ms) {
        router_.broadcast(Element{ElementKind::kIdle, 0, nullptr});
        idle_forwarded_ = true;
      }
      flush_outputs();
      const int64_t idle_from = steady_ns();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      count_idle(idle_from);
    } else {
      idle_since = -1;
      idle_forwarded_ = false;
    }
    fire_processing_timers();
  }
}

void Subtask::run_inputs() {
  const size_t n = inputs_.size();
  while (ended_inputs_ < n && !cancelled_.load(std::memory_order_relaxed)) {
    bool progressed = false;
    for (size_t c = 0; c < n; ++c) {
      Element e;
      for (int budget = kElementsPerInputTurn; budget > 0 && input_open(c) && inputs_[c]->pop(e);
           --budget) {
        progressed = true;
        handle(c, e);
      }
    }
    fire_processing_timers();
    poll_checkpoints();
    router_.wake_consumers_if_due();
    if (!progressed) {
      flush_outputs();
      auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(kMaxSleep);
      const int64_t next_timer = next_processing_timer();
      if (next_timer != INT64_MAX) {
        const int64_t wait_ms = std::max<int64_t>(0, next_timer - services_.clock->now_ms());
        timeout = std::min(timeout, std::chrono::microseconds(wait_ms * 1000));
      }
      const int64_t idle_from = steady_ns();
      wakeup_.wait_until_ready(
          [&] {
            for (size_t c = 0; c < n; ++c)
              if (input_open(c) && inputs_[c]->has_data()) return true;
            return false;
          },
          timeout);
      count_idle(idle_from);
    }
  }
}

void Subtask::flush_outputs() {
  // In chain order: what one operator's flush hands to the next is flushed by the next.
  for (auto& s : slots_) s->out->flush();
  router_.flush();
}

void Subtask::handle(size_t input, const Element& e) {
  switch (e.kind) {
    case ElementKind::kBatch: {
      BatchPtr batch(e.batch);
      if (input_states_[input] == InputState::kIdle) input_states_[input] = InputState::kActive;
      if (!slots_.empty()) process_in_slot(0, *batch);
      return;
    }
    case ElementKind::kWatermark:
      input_states_[input] = InputState::kActive;
      input_watermarks_[input] = std::max(input_watermarks_[input], e.value);
      break;
    case ElementKind::kIdle:
      input_states_[input] = InputState::kIdle;
      break;
    case ElementKind::kEndOfStream:
      input_states_[input] = InputState::kEnded;
      ++ended_inputs_;
      complete_alignment_if_ready();  // an ended input cannot hold a barrier back
      break;
    case ElementKind::kBarrier:
      on_barrier(input, e.value);
      return;
  }
  update_input_watermark();
}

void Subtask::update_input_watermark() {
  int64_t min_active = kMaxTime;
  bool any_active = false;
  bool any_idle = false;
  for (size_t c = 0; c < inputs_.size(); ++c) {
    if (input_states_[c] == InputState::kActive) {
      any_active = true;
      min_active = std::min(min_active, input_watermarks_[c]);
    } else if (input_states_[c] == InputState::kIdle) {
      any_idle = true;
    }
  }
  if (!any_active) {
    // All inputs idle or ended: nothing holds the watermark, but nothing moves it either;
    // tell downstream not to wait for us.
    if (any_idle && !idle_forwarded_) {
      router_.broadcast(Element{ElementKind::kIdle, 0, nullptr});
      idle_forwarded_ = true;
    }
    return;
  }
  idle_forwarded_ = false;
  if (min_active > watermark_ && min_active != kMaxTime) advance_watermark(min_active, false);
}

void Subtask::advance_watermark(int64_t watermark, bool closing) {
  watermark_ = watermark;
  for (auto& slot : slots_) {
    Slot& s = *slot;
    s.ctx.watermark = watermark;
    // Timers have no ingest cause of their own (engine/README.md "End-to-end latency").
    Timer t;
    while (s.timers.pop_due(TimeDomain::kEventTime, watermark, t)) {
      s.out->set_ingest_cause(kNoIngestTime);
      s.op->on_timer(t, *s.out);
    }
    s.out->set_ingest_cause(kNoIngestTime);
    s.op->on_watermark(watermark, *s.out);
    // Closing slot by slot: everything an operator emits while closing reaches the next
    // operator before that one sees the final watermark.
    if (closing) {
      s.out->set_ingest_cause(kNoIngestTime);
      s.op->close(*s.out);
    }
    s.out->flush();
    s.stats->watermark.store(watermark, std::memory_order_relaxed);
  }
  if (source_stats_ != nullptr)
    source_stats_->watermark.store(watermark, std::memory_order_relaxed);
  router_.broadcast(Element{ElementKind::kWatermark, watermark, nullptr});
}

int64_t Subtask::next_processing_timer() const {
  int64_t next = INT64_MAX;
  for (const auto& s : slots_)
    next = std::min(next, s->timers.next_time(TimeDomain::kProcessingTime));
  return next;
}

void Subtask::fire_processing_timers() {
  if (next_processing_timer() == INT64_MAX) return;
  const int64_t now = services_.clock->now_ms();
  for (auto& slot : slots_) {
    Slot& s = *slot;
    Timer t;
    bool fired = false;
    while (s.timers.pop_due(TimeDomain::kProcessingTime, now, t)) {
      s.out->set_ingest_cause(kNoIngestTime);
      s.op->on_timer(t, *s.out);
      fired = true;
    }
    if (fired) s.out->flush();
  }
}

void Subtask::finish() {
  if (source_) source_->close();
  advance_watermark(kMaxTime, /*closing=*/true);
  router_.broadcast(Element{ElementKind::kEndOfStream, 0, nullptr});
}

}  // namespace segflow
