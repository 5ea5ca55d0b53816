#include "connectors/kafka/kafka_source.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <iostream>
#include <regex>
#include <stdexcept>

#include "connectors/json/segment_decoder.h"
#include "connectors/kafka/kafka_client.h"
#include "engine/registry.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("kafka", KafkaSource);

namespace {
constexpr int kPollTimeoutMs = 10;
}  // namespace

KafkaSource::Config KafkaSource::Config::parse(const ConfigNode& node) {
  Config c;
  c.group = node.string("group");
  if (c.group.empty()) node.fail_at("group", "must not be empty");
  if (node.has("topics") == node.has("pattern"))
    node.fail("set either 'topics' (a list of topic names) or 'pattern' (a regular expression)");
  if (node.has("topics")) {
    c.topics = node.strings("topics");
    if (c.topics.empty()) node.fail_at("topics", "must name at least one topic");
    for (const std::string& t : c.topics)
      if (t.empty() || t.front() == '^') node.fail_at("topics", "'" + t + "' is not a topic name");
  } else {
    std::string pattern = node.string("pattern");
    if (pattern.empty()) node.fail_at("pattern", "must not be empty");
    if (pattern.front() != '^') pattern.insert(0, 1, '^');  // librdkafka's regex marker
    c.topics.push_back(std::move(pattern));
  }
  const std::string event_time = node.string("event_time", "payload");
  if (event_time == "message")
    c.message_time = true;
  else if (event_time != "payload")
    node.fail_at("event_time", "expected 'payload' or 'message', found '" + event_time + "'");
  c.timestamp_field = node.string("timestamp_field", c.timestamp_field);
  if (c.timestamp_field.empty()) node.fail_at("timestamp_field", "must not be empty");
  c.max_event_bytes =
      static_cast<size_t>(node.integer("max_event_bytes", 32768, 64, int64_t{64} << 20));
  c.commit_interval_ms = node.duration_ms("commit_interval", c.commit_interval_ms);
  if (c.commit_interval_ms <= 0) node.fail_at("commit_interval", "must be positive");
  c.idle_timeout_ms = node.duration_ms("idle_timeout", c.idle_timeout_ms);
  if (c.idle_timeout_ms <= 0) node.fail_at("idle_timeout", "must be positive");
  c.stop_at_end = node.boolean("stop_at_end", false);
  c.properties = KafkaProperties::parse(
      node, KafkaProperties::Client::kConsumer, {{"auto.offset.reset", "earliest"}},
      {"group.id", "enable.auto.commit", "enable.auto.offset.store", "auto.commit.interval.ms",
       "enable.partition.eof"});
  return c;
}

// The consumer and what the source knows about its assigned partitions.
struct KafkaSource::Client {
  struct Partition {
    std::string topic;
    int32_t partition;
    int64_t handed_offset = -1;  // next offset to store once handed downstream; -1: none
    bool at_end = false;
    // With checkpoints: the next offset to read (-1: not known yet), and the checkpoint id
    // this subtask's barrier must reach before it reads the partition (taken over from a
    // subtask that was ahead; -1: not held).
    int64_t position = -1;
    int64_t held_until = -1;
    PartitionPositions::Partition key() const { return {topic, partition}; }
  };

  KafkaSource* source;
  kafka::HandlePtr handle;
  rd_kafka_queue_t* queue = nullptr;
  BatchPtr scratch = BatchPool::acquire();
  std::array<rd_kafka_message_t*, kMessagesPerPoll> messages{};
  std::vector<Partition> partitions;
  size_t last_hit = 0;
  bool closed = false;
  bool assigned = false;  // the group has assigned this member (possibly nothing)
  std::string last_error;

  ~Client() {
    if (queue != nullptr) rd_kafka_queue_destroy(queue);
    // Not closed (the job was cancelled): leave the group without callbacks or commits.
    if (!closed && handle)
      rd_kafka_destroy_flags(handle.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }

  Partition& find(std::string_view topic, int32_t partition) {
    auto matches = [&](const Partition& p) { return p.partition == partition && p.topic == topic; };
    if (last_hit < partitions.size() && matches(partitions[last_hit])) return partitions[last_hit];
    for (last_hit = 0; last_hit < partitions.size(); ++last_hit)
      if (matches(partitions[last_hit])) return partitions[last_hit];
    partitions.push_back(Partition{std::string(topic), partition});
    return partitions.back();
  }

  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* list, void* opaque) {
    auto* self = static_cast<KafkaSource*>(opaque);
    Client& c = *self->client_;
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    const int64_t now = self->ctx().clock->now_ms();
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      kafka::PartitionListPtr held(rd_kafka_topic_partition_list_new(1));
      for (int i = 0; i < list->cnt; ++i) {
        rd_kafka_topic_partition_t& p = list->elems[i];
        self->watermarks_.assign(p.topic, p.partition, now);
        Partition& mine = c.find(p.topic, p.partition);
        if (!self->checkpointing_) continue;
        // Continue where the checkpoint or the previous owner stopped; else at the
        // committed offset.
        const auto position = self->config_.positions->latest(mine.key());
        if (!position) continue;
        p.offset = mine.position = position->offset;
        if (position->epoch > self->last_barrier_) {
          mine.held_until = position->epoch;
          rd_kafka_topic_partition_list_add(held.get(), p.topic, p.partition);
        }
      }
      c.assigned = true;
      if (!cooperative) {
        rd_kafka_assign(rk, list);
      } else if (rd_kafka_error_t* error = rd_kafka_incremental_assign(rk, list)) {
        c.report(rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
      }
      if (held->cnt > 0) rd_kafka_pause_partitions(rk, held.get());
      return;
    }
    if (self->checkpointing_) {
      // Handed over at the position reached: its next owner continues there.
      for (int i = 0; i < list->cnt; ++i) {
        const Partition& p = c.find(list->elems[i].topic, list->elems[i].partition);
        if (p.position >= 0 && p.held_until < 0)
          self->config_.positions->publish(p.key(), p.position, self->last_barrier_);
      }
    } else if (rd_kafka_resp_err_t e = rd_kafka_commit(rk, nullptr, /*async=*/0);
               e && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      // The stored offsets (records already handed downstream) are committed before the
      // partitions go, so their next owner does not read those records again.
      c.report(std::string("committing offsets on revocation: ") + rd_kafka_err2str(e));
    }
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& p = list->elems[i];
      self->watermarks_.revoke(p.topic, p.partition);
      std::erase_if(c.partitions, [&](const Partition& x) {
        return x.partition == p.partition && x.topic == p.topic;
      });
    }
    c.last_hit = 0;
    if (cooperative) {
      if (rd_kafka_error_t* error = rd_kafka_incremental_unassign(rk, list)) {
        c.report(rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
      }
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  }

  // Consumer errors are transient (librdkafka reconnects and retries); each new one is
  // reported once on stderr. Fatal errors stop the job.
  void report(const std::string& error) {
    if (error == last_error) return;
    last_error = error;
    std::cerr << "segflow: kafka source " << source->ctx().operator_id << "#"
              << source->ctx().subtask << ": " << error << "\n";
  }

  void check_fatal() {
    std::array<char, 512> text{};
    if (rd_kafka_fatal_error(handle.get(), text.data(), text.size()) != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw std::runtime_error("kafka source " + source->ctx().operator_id +
                               ": fatal error: " + text.data());
  }

  // Stores the offsets of the records handed downstream since the last call.
  void store_handed_offsets() {
    kafka::PartitionListPtr list(rd_kafka_topic_partition_list_new(4));
    for (Partition& p : partitions) {
      if (p.handed_offset < 0) continue;
      rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition)->offset =
          p.handed_offset;
      p.handed_offset = -1;
    }
    if (list->cnt == 0) return;
    // Fails only for partitions revoked meanwhile: their records will be redelivered.
    rd_kafka_offsets_store(handle.get(), list.get());
  }

  // Resumes the held partitions this subtask's barrier has caught up with, at their
  // positions (anything fetched meanwhile was dropped).
  void release_held(int64_t last_barrier) {
    kafka::PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
    for (Partition& p : partitions) {
      if (p.held_until < 0 || p.held_until > last_barrier) continue;
      p.held_until = -1;
      rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition)->offset =
          p.position;
    }
    if (list->cnt == 0) return;
    rd_kafka_resume_partitions(handle.get(), list.get());
    if (rd_kafka_error_t* error = rd_kafka_seek_partitions(handle.get(), list.get(), 5000)) {
      report(std::string("seeking a taken-over partition: ") + rd_kafka_error_string(error));
      rd_kafka_error_destroy(error);
    }
  }

  bool all_at_end() const {
    if (!assigned) return false;
    for (const Partition& p : partitions)
      if (!p.at_end) return false;
    return true;
  }
};

KafkaSource::KafkaSource(const Config& config)
    : config_(config), watermarks_(config.idle_timeout_ms) {}

KafkaSource::~KafkaSource() = default;

void KafkaSource::open(OperatorContext& ctx) {
  Source::open(ctx);
  clock_ = ctx.clock;
  checkpointing_ = ctx.checkpointing;
  SegmentDecoder::Options options;
  options.timestamp_field = config_.timestamp_field;
  options.max_event_bytes = config_.max_event_bytes;
  options.require_timestamp = !config_.message_time;
  decoder_ = std::make_unique<SegmentDecoder>(std::move(options));

  auto entries = config_.properties.entries;
  entries.insert(entries.begin(),
                 {"client.id", "segflow-" + ctx.operator_id + "-" + std::to_string(ctx.subtask)});
  entries.emplace_back("group.id", config_.group);
  entries.emplace_back("enable.auto.commit", checkpointing_ ? "false" : "true");
  entries.emplace_back("enable.auto.offset.store", "false");
  entries.emplace_back("auto.commit.interval.ms", std::to_string(config_.commit_interval_ms));
  entries.emplace_back("enable.partition.eof", "true");
  kafka::ConfPtr conf = kafka::make_conf(entries);
  rd_kafka_conf_set_rebalance_cb(conf.get(), &Client::on_rebalance);
  rd_kafka_conf_set_opaque(conf.get(), this);

  client_ = std::make_unique<Client>();
  client_->source = this;
  client_->handle =
      kafka::make_client(RD_KAFKA_CONSUMER, std::move(conf), "kafka source " + ctx.operator_id);
  rd_kafka_t* rk = client_->handle.get();
  rd_kafka_poll_set_consumer(rk);
  kafka::PartitionListPtr topics(rd_kafka_topic_partition_list_new(config_.topics.size()));
  for (const std::string& t : config_.topics)
    rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  if (rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, topics.get()); err)
    throw std::runtime_error("kafka source " + ctx.operator_id +
                             ": cannot subscribe: " + rd_kafka_err2str(err));
  client_->queue = rd_kafka_queue_get_consumer(rk);
}

SourceStatus KafkaSource::poll(Output& out) {
  if (!client_) return SourceStatus::kEnd;
  Client& c = *client_;
  if (checkpointing_ && !start_positions_published_) {
    // After restore (a restored position wins), before any assignment uses one.
    start_positions_published_ = publish_start_positions();
    if (!start_positions_published_) return SourceStatus::kMore;
  }
  // The records of the previous poll were flushed downstream when it returned.
  if (checkpointing_)
    c.release_held(last_barrier_);
  else
    c.store_handed_offsets();
  const ssize_t n =
      rd_kafka_consume_batch_queue(c.queue, kPollTimeoutMs, c.messages.data(), c.messages.size());
  if (n < 0) c.check_fatal();
  const int64_t now = ctx().clock->now_ms();
  Batch& scratch = *c.scratch;
  scratch.clear();
  uint64_t bytes = 0;
  for (ssize_t i = 0; i < n; ++i) {
    rd_kafka_message_t* m = c.messages[i];
    const std::string_view topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
    if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      c.report(rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      continue;
    }
    Client::Partition& p = c.find(topic, m->partition);
    if (p.held_until >= 0) {
      // Fetched before the pause took effect: read again once released.
    } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      p.at_end = true;
      if (p.position < 0) p.position = m->offset;
    } else {
      p.at_end = false;
      p.handed_offset = p.position = m->offset + 1;
      bytes += m->len;
      const std::string_view payload(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
      const size_t index = scratch.size();
      rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
      const int64_t message_time = config_.message_time ? rd_kafka_message_timestamp(m, &type) : 0;
      DecodeResult r = config_.message_time && message_time < 0
                           ? DecodeResult::fail("missing message timestamp")
                           : decoder_->decode(payload, scratch);
      if (r.is_ok()) {
        Record& record = RecordBuilder(scratch, index).record();
        if (config_.message_time) record.event_time = message_time;
        watermarks_.observe(topic, m->partition, record.event_time, now);
      } else {
        ++dead_lettered_;
        if (ctx().dead_letters != nullptr) {
          std::string origin = ctx().operator_id;
          origin.append(":").append(topic).append(":").append(std::to_string(m->partition));
          origin.append(":").append(std::to_string(m->offset));
          ctx().dead_letters->send(origin, r.why(), payload);
        }
      }
    }
    rd_kafka_message_destroy(m);
  }
  for (const Record& r : scratch.records()) out.forward(scratch, r);
  records_emitted_ += scratch.size();
  if (bytes > 0 && ctx().bytes_in != nullptr)
    ctx().bytes_in->fetch_add(bytes, std::memory_order_relaxed);
  if (n > 0) return SourceStatus::kMore;
  c.check_fatal();
  if (config_.stop_at_end && end_reached()) return SourceStatus::kEnd;
  // Idle (the runtime stops waiting for this subtask's watermark) only once the group has
  // assigned this member and none of its partitions is active: while it waits for its
  // assignment or for a partition's first records, the other subtasks must not run ahead.
  if (!c.assigned || watermarks_.any_active(now)) return SourceStatus::kMore;
  return SourceStatus::kIdle;
}

bool KafkaSource::end_reached() {
  Client& c = *client_;
  const bool at_end = c.all_at_end();
  if (at_end && !counted_at_end_) {
    // Committed now, while the group is stable: the first subtask to leave it triggers a
    // rebalance, during which commits fail.
    if (checkpointing_) {
      if (!commit_current_positions()) return false;  // tried again on the next poll
    } else if (rd_kafka_resp_err_t err = rd_kafka_commit(c.handle.get(), nullptr, /*async=*/0);
               err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
      c.report(std::string("committing offsets: ") + rd_kafka_err2str(err));
      return false;  // tried again on the next poll
    }
    ++*config_.subtasks_at_end;
  } else if (!at_end && counted_at_end_) {
    --*config_.subtasks_at_end;  // a rebalance gave this subtask more to read
  }
  counted_at_end_ = at_end;
  return at_end && config_.subtasks_at_end->load() == ctx().parallelism;
}

bool KafkaSource::commit_current_positions() {
  Client& c = *client_;
  kafka::PartitionListPtr list(rd_kafka_topic_partition_list_new(4));
  for (const Client::Partition& p : c.partitions)
    if (p.position >= 0 && p.held_until < 0)
      rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition)->offset =
          p.position;
  if (list->cnt == 0) return true;
  if (rd_kafka_resp_err_t err = rd_kafka_commit(c.handle.get(), list.get(), /*async=*/0); err) {
    c.report(std::string("committing offsets: ") + rd_kafka_err2str(err));
    return false;
  }
  return true;
}

bool KafkaSource::publish_start_positions() {
  Client& c = *client_;
  rd_kafka_t* rk = c.handle.get();
  const rd_kafka_metadata_t* metadata = nullptr;
  if (rd_kafka_resp_err_t err = rd_kafka_metadata(rk, /*all_topics=*/1, nullptr, &metadata, 5000);
      err) {
    c.report(std::string("reading the topics' partitions: ") + rd_kafka_err2str(err));
    return false;
  }
  auto subscribed = [&](const std::string& topic) {
    return std::any_of(config_.topics.begin(), config_.topics.end(), [&](const std::string& t) {
      return t.front() == '^' ? std::regex_search(topic, std::regex(t)) : t == topic;
    });
  };
  kafka::PartitionListPtr unknown(rd_kafka_topic_partition_list_new(8));
  for (int t = 0; t < metadata->topic_cnt; ++t) {
    const rd_kafka_metadata_topic_t& topic = metadata->topics[t];
    if (topic.err || !subscribed(topic.topic)) continue;
    for (int p = 0; p < topic.partition_cnt; ++p)
      if (!config_.positions->latest({topic.topic, topic.partitions[p].id}))
        rd_kafka_topic_partition_list_add(unknown.get(), topic.topic, topic.partitions[p].id);
  }
  rd_kafka_metadata_destroy(metadata);
  if (unknown->cnt == 0) return true;
  if (rd_kafka_resp_err_t err = rd_kafka_committed(rk, unknown.get(), 5000); err) {
    c.report(std::string("reading the committed offsets: ") + rd_kafka_err2str(err));
    return false;
  }
  std::string reset = "earliest";
  for (const auto& [key, value] : config_.properties.entries)
    if (key == "auto.offset.reset") reset = value;
  const bool from_beginning = reset == "earliest" || reset == "smallest" || reset == "beginning";
  const bool from_end = reset == "latest" || reset == "largest" || reset == "end";
  for (int i = 0; i < unknown->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = unknown->elems[i];
    int64_t offset = p.offset;
    if (offset < 0) {                              // nothing committed
      if (!from_beginning && !from_end) continue;  // auto.offset.reset: error
      int64_t low = 0, high = 0;
      if (rd_kafka_resp_err_t err =
              rd_kafka_query_watermark_offsets(rk, p.topic, p.partition, &low, &high, 5000);
          err) {
        c.report(std::string("reading a partition's offsets: ") + rd_kafka_err2str(err));
        return false;
      }
      offset = from_beginning ? low : high;
    }
    config_.positions->publish_if_unknown({p.topic, p.partition}, offset, last_barrier_);
  }
  return true;
}

void KafkaSource::prepare_snapshot(int64_t checkpoint_id) {
  last_barrier_ = checkpoint_id;
  Positions own;
  if (client_)
    for (const Client::Partition& p : client_->partitions)
      if (p.position >= 0 && p.held_until < 0) own.emplace_back(p.key(), p.position);
  // The partitions handed over before this barrier (and restored ones) as well: their new
  // owner may not have passed this barrier yet. A restore takes the largest position.
  snapshot_ = config_.positions->positions_for(checkpoint_id);
  snapshot_.insert(snapshot_.end(), own.begin(), own.end());
  if (!own.empty()) uncommitted_[checkpoint_id] = std::move(own);
}

void KafkaSource::snapshot(StateWriter& w) const {
  write_state(w, uint32_t{1});
  write_state(w, last_barrier_);
  write_state(w, uint64_t{snapshot_.size()});
  for (const auto& [partition, offset] : snapshot_) {
    write_state(w, partition.first);
    write_state(w, partition.second);
    write_state(w, offset);
  }
}

void KafkaSource::restore(StateReader& r) {
  if (read_state<uint32_t>(r) != 1) throw StateFormatError("kafka source: unknown state version");
  const auto id = read_state<int64_t>(r);
  last_barrier_ = std::max(last_barrier_, id);
  for (uint64_t n = read_state<uint64_t>(r); n > 0; --n) {
    auto topic = read_state<std::string>(r);
    const auto partition = read_state<int32_t>(r);
    const auto offset = read_state<int64_t>(r);
    config_.positions->publish({std::move(topic), partition}, offset, id);
  }
}

void KafkaSource::on_checkpoint_complete(int64_t checkpoint_id) {
  if (!client_) return;
  // Commit what the completed checkpoint (and any earlier one not yet committed) holds.
  std::map<PartitionPositions::Partition, int64_t> positions;
  for (auto it = uncommitted_.begin(); it != uncommitted_.end() && it->first <= checkpoint_id;
       it = uncommitted_.erase(it))
    for (const auto& [partition, offset] : it->second) positions[partition] = offset;
  config_.positions->forget_before(checkpoint_id);
  if (positions.empty()) return;
  kafka::PartitionListPtr list(rd_kafka_topic_partition_list_new(positions.size()));
  for (const auto& [partition, offset] : positions)
    rd_kafka_topic_partition_list_add(list.get(), partition.first.c_str(), partition.second)
        ->offset = offset;
  // Async: a failed commit (e.g. during a rebalance) is superseded by the next checkpoint's.
  rd_kafka_commit(client_->handle.get(), list.get(), /*async=*/1);
}

std::optional<int64_t> KafkaSource::event_time_reached() const {
  if (clock_ == nullptr) return kMinTime;
  return watermarks_.reached(clock_->now_ms());
}

void KafkaSource::close() {
  if (!client_) return;
  // Committed before leaving the group, in the current generation, so the members that
  // take over these partitions start after the last record handed downstream (a restore
  // from a checkpoint starts at the checkpoint's positions instead).
  rd_kafka_t* rk = client_->handle.get();
  if (checkpointing_) {
    commit_current_positions();
  } else {
    client_->store_handed_offsets();
    if (rd_kafka_resp_err_t err = rd_kafka_commit(rk, nullptr, /*async=*/0);
        err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
      client_->report(std::string("committing offsets: ") + rd_kafka_err2str(err));
  }
  if (rd_kafka_resp_err_t err = rd_kafka_consumer_close(rk); err)
    client_->report(std::string("closing: ") + rd_kafka_err2str(err));
  client_->closed = true;
  client_.reset();
}

}  // namespace segflow
