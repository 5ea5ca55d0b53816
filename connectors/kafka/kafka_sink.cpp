#include "connectors/kafka/kafka_sink.h"

#include <chrono>
#include <cstdint>
#include <iostream>
#include <stdexcept>
#include <vector>

#include "connectors/json/record_json.h"
#include "connectors/kafka/kafka_client.h"
#include "engine/registry.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("kafka_sink", KafkaSink);

namespace {

constexpr int kQueueFullWaitMs = 10;
constexpr int kCloseFlushStepMs = 100;

// Errors that another attempt cannot fix.
bool is_permanent(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    case RD_KAFKA_RESP_ERR__FATAL:
      return true;
    default:
      return false;
  }
}

}  // namespace

KafkaSink::Config KafkaSink::Config::parse(const ConfigNode& node) {
  Config c;
  c.topic = node.string("topic");
  if (c.topic.empty()) node.fail_at("topic", "must not be empty");
  c.retries = node.integer("retries", c.retries, 0, 1000);
  c.flush_timeout_ms = node.duration_ms("flush_timeout", c.flush_timeout_ms);
  if (c.flush_timeout_ms < 0) node.fail_at("flush_timeout", "must not be negative");
  c.exactly_once = node.boolean("exactly_once", c.exactly_once);
  c.transactional_id_prefix = node.string("transactional_id_prefix", c.transactional_id_prefix);
  if (c.transactional_id_prefix.empty())
    node.fail_at("transactional_id_prefix", "must not be empty");
  c.properties =
      KafkaProperties::parse(node, KafkaProperties::Client::kProducer, {}, {"transactional.id"});
  return c;
}

struct KafkaSink::Producer {
  struct Undelivered {
    std::string key;
    std::string value;
    intptr_t attempt;
    rd_kafka_resp_err_t error;
  };

  KafkaSink* sink = nullptr;
  kafka::HandlePtr handle;
  rd_kafka_topic_t* topic = nullptr;
  std::vector<Undelivered> undelivered;  // filled by delivery reports, emptied by serve()
  bool purged = false;                   // at close, after flush_timeout: no more retries
  bool transactional = false;

  ~Producer() {
    if (topic != nullptr) rd_kafka_topic_destroy(topic);
  }

  static void on_delivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<Producer*>(opaque);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++self->sink->delivered_;
      self->sink->delivery_metrics_->delivered.inc();
      return;
    }
    self->undelivered.push_back(
        Undelivered{std::string(static_cast<const char*>(m->key), m->key ? m->key_len : 0),
                    std::string(static_cast<const char*>(m->payload), m->payload ? m->len : 0),
                    reinterpret_cast<intptr_t>(m->_private), m->err});
  }

  void dead_letter(std::string_view value, const std::string& error) {
    ++sink->dead_lettered_;
    sink->delivery_metrics_->failed.inc();
    OperatorContext& ctx = sink->ctx();
    if (ctx.dead_letters == nullptr) return;
    ctx.dead_letters->send(ctx.operator_id + ":" + sink->config_.topic + ": " + error,
                           "kafka delivery failed", value);
  }

  // Enqueues one message; waits (serving delivery reports) while the local queue is full.
  void produce(std::string_view key, std::string_view value, intptr_t attempt) {
    for (;;) {
      const rd_kafka_resp_err_t err =
          rd_kafka_producev(handle.get(), RD_KAFKA_V_RKT(topic),
                            RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                            RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(attempt)), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        dead_letter(value, rd_kafka_err2str(err));
        return;
      }
      rd_kafka_poll(handle.get(), kQueueFullWaitMs);
    }
  }

  // Throws on a failed transactional call; `error` is consumed.
  void check(rd_kafka_error_t* error, const char* what) const {
    if (error == nullptr) return;
    const std::string text = rd_kafka_error_string(error);
    rd_kafka_error_destroy(error);
    throw std::runtime_error("kafka sink " + sink->ctx().operator_id + ": " + what + ": " + text);
  }

  // Waits until every message produced was delivered (serving delivery reports).
  void flush() {
    while (rd_kafka_outq_len(handle.get()) > 0 || !undelivered.empty()) {
      rd_kafka_flush(handle.get(), kCloseFlushStepMs);
      serve(0);
    }
  }

  // Serves delivery reports; produces failed messages again or dead-letters them. In a
  // transaction a failed message fails the transaction, and the job.
  void serve(int timeout_ms) {
    rd_kafka_poll(handle.get(), timeout_ms);
    if (transactional && !undelivered.empty())
      throw std::runtime_error("kafka sink " + sink->ctx().operator_id + ": topic " +
                               sink->config_.topic + ": a message of the transaction failed (" +
                               rd_kafka_err2str(undelivered.front().error) +
                               "); restart the job from its last checkpoint");
    while (!undelivered.empty()) {
      std::vector<Undelivered> failed;
      failed.swap(undelivered);
      for (Undelivered& u : failed) {
        if (!purged && !is_permanent(u.error) && u.attempt < sink->config_.retries) {
          ++sink->retried_;
          sink->delivery_metrics_->retries.inc();
          produce(u.key, u.value, u.attempt + 1);
        } else {
          dead_letter(u.value, rd_kafka_err2str(u.error));
        }
      }
    }
  }
};

KafkaSink::KafkaSink(const Config& config) : config_(config) {}

KafkaSink::~KafkaSink() = default;

void KafkaSink::open(OperatorContext& ctx) {
  Operator::open(ctx);
  delivery_metrics_.emplace(ctx.metrics());
  const bool transactional = config_.exactly_once && ctx.checkpointing;
  const std::string client_id = "segflow-" + ctx.operator_id + "-" + std::to_string(ctx.subtask);
  const int count = transactional ? kTransactionalProducers : 1;
  for (int k = 0; k < count; ++k) {
    auto entries = config_.properties.entries;
    entries.insert(entries.begin(), {"client.id", client_id});
    if (transactional)
      entries.emplace_back("transactional.id",
                           config_.transactional_id_prefix + "-" + ctx.operator_id + "-" +
                               std::to_string(ctx.subtask) + "-" + std::to_string(k));
    kafka::ConfPtr conf = kafka::make_conf(entries);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &Producer::on_delivery);
    auto producer = std::make_unique<Producer>();
    rd_kafka_conf_set_opaque(conf.get(), producer.get());
    producer->sink = this;
    producer->transactional = transactional;
    producer->handle =
        kafka::make_client(RD_KAFKA_PRODUCER, std::move(conf), "kafka sink " + ctx.operator_id);
    producer->topic = rd_kafka_topic_new(producer->handle.get(), config_.topic.c_str(), nullptr);
    if (producer->topic == nullptr)
      throw std::runtime_error("kafka sink " + ctx.operator_id + ": topic " + config_.topic + ": " +
                               rd_kafka_err2str(rd_kafka_last_error()));
    // Aborts what an earlier run with this id left open and fences that run's producer.
    if (transactional)
      producer->check(rd_kafka_init_transactions(producer->handle.get(),
                                                 static_cast<int>(config_.flush_timeout_ms)),
                      "initialising transactions");
    producers_.push_back(std::move(producer));
  }
  current_ = producers_.front().get();
  if (transactional) current_->check(rd_kafka_begin_transaction(current_->handle.get()), "begin");
}

void KafkaSink::process(const Batch& in, Output& /*out*/) {
  for (const Record& r : in.records()) {
    json_.clear();
    append_record_json(json_, in, r);
    current_->produce(r.key, json_, 0);
  }
  current_->serve(0);
}

void KafkaSink::on_watermark(int64_t /*watermark*/, Output& /*out*/) { current_->serve(0); }

void KafkaSink::prepare_snapshot(int64_t checkpoint_id) {
  if (!current_->transactional) return;
  current_->flush();
  // Completions are delivered before each barrier: a transaction still pending belongs to
  // a checkpoint that was given up, and is committed with this one.
  pending_[checkpoint_id] = current_;
  current_ = nullptr;
  for (const auto& p : producers_) {
    bool busy = false;
    for (const auto& [id, pending] : pending_) busy |= pending == p.get();
    if (!busy) current_ = p.get();
  }
  if (current_ == nullptr)
    throw std::runtime_error("kafka sink " + ctx().operator_id + ": " +
                             std::to_string(pending_.size()) +
                             " transactions wait for their checkpoints to complete");
  current_->check(rd_kafka_begin_transaction(current_->handle.get()), "begin");
}

void KafkaSink::on_checkpoint_complete(int64_t checkpoint_id) { commit_pending(checkpoint_id); }

void KafkaSink::commit_pending(int64_t checkpoint_id) {
  for (auto it = pending_.begin(); it != pending_.end() && it->first <= checkpoint_id;
       it = pending_.erase(it)) {
    Producer& p = *it->second;
    // The checkpoint is complete: a failure here cannot be undone by a restart (it would
    // not replay these records), so it is reported, not thrown.
    if (rd_kafka_error_t* error = rd_kafka_commit_transaction(
            p.handle.get(), static_cast<int>(config_.flush_timeout_ms))) {
      std::cerr << "segflow: kafka sink " << ctx().operator_id << "#" << ctx().subtask
                << ": committing the transaction of checkpoint " << it->first
                << " failed, its records are lost: " << rd_kafka_error_string(error) << "\n";
      rd_kafka_error_destroy(error);
      p.check(
          rd_kafka_abort_transaction(p.handle.get(), static_cast<int>(config_.flush_timeout_ms)),
          "aborting a failed transaction");
    }
  }
}

void KafkaSink::close(Output& /*out*/) {
  if (producers_.empty()) return;
  if (current_->transactional) {
    // End of the job: everything written is final (as the file sink's output).
    current_->flush();
    pending_[INT64_MAX] = current_;
    commit_pending(INT64_MAX);
    producers_.clear();
    return;
  }
  Producer& p = *current_;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.flush_timeout_ms);
  for (;;) {
    rd_kafka_flush(p.handle.get(), kCloseFlushStepMs);
    p.serve(0);
    if (rd_kafka_outq_len(p.handle.get()) == 0 && p.undelivered.empty()) break;
    if (!p.purged && std::chrono::steady_clock::now() >= deadline) {
      p.purged = true;  // what is left is reported with a purge error and dead-lettered
      rd_kafka_purge(p.handle.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    }
  }
  producers_.clear();
}

}  // namespace segflow
