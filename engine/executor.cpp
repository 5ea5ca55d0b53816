#include "engine/executor.h"

#include <stdexcept>
#include <thread>

#include "engine/rocksdb_state_store.h"
#include "engine/subtask.h"

namespace segflow {

namespace {

std::string channel_name(const std::string& from, uint32_t i, const std::string& to, uint32_t j) {
  return from + "#" + std::to_string(i) + "->" + to + "#" + std::to_string(j);
}

}  // namespace

KeyedStateStore* Executor::open_state_store(const std::string& operator_id, uint32_t subtask) {
#if SEGFLOW_HAVE_ROCKSDB
  const StateBackendSettings& backend = settings_.state_backend;
  state_stores_.push_back(make_rocksdb_state_store(
      backend.dir + "/" + settings_.name + "/" + operator_id + "-" + std::to_string(subtask),
      backend.cache_entries, backend.incremental));
  return state_stores_.back().get();
#else
  (void)operator_id;
  (void)subtask;
  throw std::runtime_error("this segflow was built without RocksDB: no rocksdb state backend");
#endif
}

Executor::Executor(const LogicalGraph& graph, const JobSettings& settings, RuntimeServices services)
    : settings_(settings), services_(services), plan_(plan_job(graph, settings.chaining)) {
  if (services_.profile_handoff == nullptr) services_.profile_handoff = &profile_handoff_;
  const auto& nodes = graph.nodes();
  // subtask_index[chain][i] -> index into subtasks_
  std::vector<std::vector<Subtask*>> by_chain(plan_.chains.size());

  for (size_t c = 0; c < plan_.chains.size(); ++c) {
    const Chain& chain = plan_.chains[c];
    for (uint32_t i = 0; i < chain.parallelism; ++i) {
      SubtaskStats& time_stats = subtask_stats_.emplace_back();
      time_stats.operator_id = nodes[chain.nodes.front()].id;
      time_stats.subtask = i;
      auto subtask =
          std::make_unique<Subtask>(settings_, services_, stop_requested_, cancelled_, &time_stats);
      for (int node_index : chain.nodes) {
        const LogicalNode& node = nodes[node_index];
        OperatorContext ctx;
        ctx.operator_id = node.id;
        ctx.subtask = i;
        ctx.parallelism = chain.parallelism;
        ctx.max_parallelism = settings_.max_parallelism;
        ctx.key_groups =
            KeyGroupRange::for_subtask(i, settings_.max_parallelism, chain.parallelism);
        ctx.clock = services_.clock;
        ctx.dead_letters = services_.dead_letters;
        ctx.metric_registry = metric_registry_;
        OperatorStats& stats = stats_.emplace_back();
        stats.operator_id = node.id;
        stats.subtask = i;
        stats.is_source = node.is_source();
        stats.is_sink = !node.is_source() && graph.consumers(node_index).empty();
        ctx.bytes_in = &stats.bytes_in;
        if (settings_.state_backend.rocksdb && !node.is_source())
          ctx.state_store = open_state_store(node.id, i);
        if (node.is_source()) {
          subtask->set_source(node.make_source(), std::move(ctx), &stats);
        } else {
          subtask->add_operator(node.make_operator(), std::move(ctx), &stats);
        }
      }
      by_chain[c].push_back(subtask.get());
      subtasks_.push_back(std::move(subtask));
    }
  }

  if (settings_.checkpoints.enabled()) {
    const int64_t first_id = services_.restore ? services_.restore->id + 1 : 1;
    coordinator_ =
        std::make_unique<CheckpointCoordinator>(settings_.checkpoints, subtasks_.size(), first_id);
    for (size_t i = 0; i < subtasks_.size(); ++i)
      subtasks_[i]->enable_checkpoints(coordinator_.get(), i);
  }
  if (services_.restore != nullptr)
    for (auto& subtask : subtasks_) subtask->restore_from(services_.restore);

  // Channels: for every edge into a chain head, from every producer subtask to its targets.
  for (size_t c = 0; c < plan_.chains.size(); ++c) {
    const LogicalNode& head = nodes[plan_.chains[c].nodes.front()];
    for (const LogicalEdge& edge : head.inputs) {
      const int from_chain = plan_.chain_of[graph.find(edge.from)];
      auto& producers = by_chain[from_chain];
      auto& consumers = by_chain[c];
      for (uint32_t i = 0; i < producers.size(); ++i) {
        std::vector<Channel*> targets;
        for (uint32_t j = 0; j < consumers.size(); ++j) {
          if (edge.partitioning == Partitioning::kForward && j != i) continue;
          channels_.push_back(std::make_unique<Channel>(channel_name(edge.from, i, head.id, j),
                                                        settings_.channel_capacity,
                                                        consumers[j]->wakeup()));
          consumers[j]->add_input(channels_.back().get());
          targets.push_back(channels_.back().get());
          producers[i]->time_stats().outputs.push_back(channels_.back().get());
        }
        producers[i]->router().add_edge(edge.partitioning, std::move(targets));
      }
    }
  }
}

Executor::~Executor() = default;

std::vector<const Channel*> Executor::channels() const {
  std::vector<const Channel*> out;
  for (const auto& c : channels_) out.push_back(c.get());
  return out;
}

size_t Executor::thread_count() const { return subtasks_.size(); }

void Executor::fail(std::exception_ptr error) {
  {
    std::lock_guard lock(error_mutex_);
    if (!error_) error_ = error;
  }
  cancelled_.store(true, std::memory_order_relaxed);
}

const char* to_string(JobState state) {
  switch (state) {
    case JobState::kCreated:
      return "created";
    case JobState::kRunning:
      return "running";
    case JobState::kFinished:
      return "finished";
    case JobState::kFailed:
      return "failed";
  }
  return "unknown";
}

void Executor::run() {
  state_.store(JobState::kRunning, std::memory_order_release);
  std::vector<std::thread> threads;
  threads.reserve(subtasks_.size());
  for (auto& subtask : subtasks_) {
    threads.emplace_back([this, s = subtask.get()] {
      try {
        s->run();
      } catch (const std::exception& e) {
        fail(std::make_exception_ptr(std::runtime_error(s->name() + ": " + e.what())));
      } catch (...) {
        fail(std::current_exception());
      }
    });
  }
  std::thread coordinator;
  if (coordinator_) coordinator = std::thread([this] { coordinator_->run(); });
  for (auto& t : threads) t.join();
  if (coordinator_) {
    coordinator_->stop();
    coordinator.join();
  }
  if (services_.dead_letters != nullptr) services_.dead_letters->flush();
  state_.store(error_ ? JobState::kFailed : JobState::kFinished, std::memory_order_release);
  if (error_) std::rethrow_exception(error_);
}

}  // namespace segflow
