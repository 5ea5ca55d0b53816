#include "engine/checkpoint_coordinator.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <set>
#include <thread>

namespace segflow {

namespace {

constexpr std::chrono::milliseconds kPoll(10);

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

CheckpointCoordinator::CheckpointCoordinator(CheckpointSettings settings, size_t subtasks,
                                             int64_t first_id)
    : settings_(std::move(settings)), subtasks_(subtasks), next_id_(first_id) {
  std::filesystem::create_directories(settings_.dir);
  // Directories above the restored id are leftovers of the run that was restarted.
  checkpoint_storage::remove_newer_than(settings_.dir, first_id - 1);
  stats_.last_completed_id.store(first_id - 1, std::memory_order_relaxed);
  stats_.restored_id.store(first_id - 1, std::memory_order_relaxed);
}

void CheckpointCoordinator::run() {
  std::thread writer([this] { write_loop(); });
  struct JoinWriter {
    CheckpointCoordinator* self;
    std::thread& writer;
    ~JoinWriter() {
      {
        std::lock_guard lock(self->mutex_);
        self->writer_done_ = true;
      }
      self->wake_.notify_all();
      writer.join();
    }
  } join_writer{this, writer};
  auto next_due =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(settings_.interval_ms);
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, kPoll);
    if (stopping_ || any_finished_ || in_flight_ != 0) continue;
    const bool savepoint = savepoint_requested_.exchange(false, std::memory_order_relaxed);
    if (!savepoint && std::chrono::steady_clock::now() < next_due) continue;
    trigger(savepoint);
    next_due = std::chrono::steady_clock::now() + std::chrono::milliseconds(settings_.interval_ms);
  }
}

void CheckpointCoordinator::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  wake_.notify_all();
}

void CheckpointCoordinator::trigger(bool savepoint) {
  const int64_t id = next_id_++;
  const std::string dir =
      (std::filesystem::path(settings_.dir) / checkpoint_storage::directory_name(id, savepoint))
          .string();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::cerr << "segflow: checkpoint " << id << ": cannot create " << dir << ": " << ec.message()
              << "\n";
    stats_.failed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  in_flight_ = id;
  in_flight_dir_ = dir;
  if (savepoint) savepoint_id_.store(id, std::memory_order_relaxed);
  started_ns_ = steady_ns();
  acked_.assign(subtasks_, false);
  snapshotted_.assign(subtasks_, false);
  files_.clear();
  acks_ = 0;
  max_alignment_ns_ = 0;
  max_pause_ns_ = 0;
  max_async_ns_ = 0;
  max_write_ns_ = 0;
  triggered_.store(id, std::memory_order_release);
}

void CheckpointCoordinator::submit(int64_t id, size_t subtask, std::string file_name,
                                   std::vector<OperatorSnapshot> operators, int64_t alignment_ns,
                                   int64_t pause_ns, int64_t async_ns) {
  {
    std::lock_guard lock(mutex_);
    if (id != in_flight_ || snapshotted_[subtask]) return;  // given up meanwhile
    snapshotted_[subtask] = true;
    writes_.push_back({id, subtask, std::move(file_name), std::move(operators), alignment_ns,
                       pause_ns, async_ns});
  }
  wake_.notify_all();
}

// The writer thread: writes submitted snapshots, in order, until the coordinator stops and
// nothing is left.
void CheckpointCoordinator::write_loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return !writes_.empty() || writer_done_; });
    if (writes_.empty()) return;
    WriteJob job = std::move(writes_.front());
    writes_.pop_front();
    if (job.id != in_flight_) continue;
    const std::string path = in_flight_dir_ + "/" + job.file_name;
    lock.unlock();
    std::string error;
    CheckpointFile file;
    const int64_t write_started = steady_ns();
    try {
      file = checkpoint_storage::write_subtask_file(path, job.operators);
    } catch (const std::exception& e) {
      error = e.what();
    }
    const int64_t write_ns = steady_ns() - write_started;
    job.operators.clear();
    lock.lock();
    if (job.id != in_flight_) continue;  // aborted while writing
    if (!error.empty()) {
      std::cerr << "segflow: checkpoint " << job.id << " failed: " << error << "\n";
      abort_in_flight_locked(/*failed=*/true);
      continue;
    }
    acknowledge(job, file, write_ns);
  }
}

void CheckpointCoordinator::acknowledge(const WriteJob& job, const CheckpointFile& file,
                                        int64_t write_ns) {
  const int64_t id = job.id;
  if (acked_[job.subtask]) return;
  acked_[job.subtask] = true;
  files_.push_back(file);
  max_alignment_ns_ = std::max(max_alignment_ns_, job.alignment_ns);
  max_pause_ns_ = std::max(max_pause_ns_, job.pause_ns);
  max_async_ns_ = std::max(max_async_ns_, job.async_ns);
  max_write_ns_ = std::max(max_write_ns_, write_ns);
  if (++acks_ < subtasks_) return;
  try {
    checkpoint_storage::write_metadata(in_flight_dir_, id, files_);
  } catch (const std::exception& e) {
    std::cerr << "segflow: checkpoint " << id << " failed: " << e.what() << "\n";
    abort_in_flight_locked(/*failed=*/true);
    return;
  }
  uint64_t bytes = 0, state_bytes = 0;
  std::set<std::string> shared;
  for (const CheckpointFile& f : files_) {
    bytes += f.size + f.uploaded_bytes;
    state_bytes += f.size;
    for (const StoreFile& s : f.shared)
      if (shared.insert(s.path).second) state_bytes += s.size;
  }
  stats_.last_duration_ns.store(steady_ns() - started_ns_, std::memory_order_relaxed);
  stats_.last_size_bytes.store(bytes, std::memory_order_relaxed);
  stats_.last_state_size_bytes.store(state_bytes, std::memory_order_relaxed);
  stats_.written_bytes.fetch_add(bytes, std::memory_order_relaxed);
  stats_.last_alignment_ns.store(max_alignment_ns_, std::memory_order_relaxed);
  stats_.last_pause_ns.store(max_pause_ns_, std::memory_order_relaxed);
  stats_.last_async_ns.store(max_async_ns_, std::memory_order_relaxed);
  stats_.last_write_ns.store(max_write_ns_, std::memory_order_relaxed);
  stats_.completed.fetch_add(1, std::memory_order_relaxed);
  stats_.last_completed_id.store(id, std::memory_order_release);
  in_flight_ = 0;
  checkpoint_storage::apply_retention(settings_.dir, settings_.retain);
}

void CheckpointCoordinator::finished(size_t subtask) {
  std::lock_guard lock(mutex_);
  any_finished_ = true;
  if (in_flight_ != 0 && !snapshotted_[subtask]) abort_in_flight_locked(/*failed=*/false);
}

void CheckpointCoordinator::restored(int64_t ns) {
  int64_t seen = stats_.restore_ns.load(std::memory_order_relaxed);
  while (ns > seen && !stats_.restore_ns.compare_exchange_weak(seen, ns)) {
  }
}

void CheckpointCoordinator::abort_in_flight_locked(bool failed) {
  (failed ? stats_.failed : stats_.aborted).fetch_add(1, std::memory_order_relaxed);
  std::error_code ec;
  std::filesystem::remove_all(in_flight_dir_, ec);
  in_flight_ = 0;
}

}  // namespace segflow
