#include "connectors/kafka/kafka_sink.h"

#include <chrono>
#include <cstdint>
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
  c.properties = KafkaProperties::parse(node, KafkaProperties::Client::kProducer, {}, {});
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

  ~Producer() {
    if (topic != nullptr) rd_kafka_topic_destroy(topic);
  }

  static void on_delivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* m, void* opaque) {
    auto* sink = static_cast<KafkaSink*>(opaque);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++sink->delivered_;
      sink->delivery_metrics_->delivered.inc();
      return;
    }
    sink->producer_->undelivered.push_back(
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

  // Serves delivery reports; produces failed messages again or dead-letters them.
  void serve(int timeout_ms) {
    rd_kafka_poll(handle.get(), timeout_ms);
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
  auto entries = config_.properties.entries;
  entries.insert(entries.begin(),
                 {"client.id", "segflow-" + ctx.operator_id + "-" + std::to_string(ctx.subtask)});
  kafka::ConfPtr conf = kafka::make_conf(entries);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &Producer::on_delivery);
  rd_kafka_conf_set_opaque(conf.get(), this);
  producer_ = std::make_unique<Producer>();
  producer_->sink = this;
  producer_->handle =
      kafka::make_client(RD_KAFKA_PRODUCER, std::move(conf), "kafka sink " + ctx.operator_id);
  producer_->topic = rd_kafka_topic_new(producer_->handle.get(), config_.topic.c_str(), nullptr);
  if (producer_->topic == nullptr)
    throw std::runtime_error("kafka sink " + ctx.operator_id + ": topic " + config_.topic + ": " +
                             rd_kafka_err2str(rd_kafka_last_error()));
}

void KafkaSink::process(const Batch& in, Output& /*out*/) {
  for (const Record& r : in.records()) {
    json_.clear();
    append_record_json(json_, in, r);
    producer_->produce(r.key, json_, 0);
  }
  producer_->serve(0);
}

void KafkaSink::on_watermark(int64_t /*watermark*/, Output& /*out*/) { producer_->serve(0); }

void KafkaSink::close(Output& /*out*/) {
  if (!producer_) return;
  Producer& p = *producer_;
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
  producer_.reset();
}

}  // namespace segflow
