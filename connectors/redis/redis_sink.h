// RedisSink (`type: redis`): keeps segment membership in Redis, updated on every change
// record (see membership_change.h), so applications read "who is in segment S" and "which
// segments is profile P in" with one command. Keys, under `key_prefix` (default
// "segflow:"):
//
//   <prefix>segment:<segment>   SET of the profiles in the segment
//   <prefix>profile:<profile>   HASH segment -> event time (ms) the profile entered it
//   <prefix>applied:<profile>   HASH segment -> event time (ms) of the last change applied
//
// Idempotent: one Lua script per change applies it atomically unless a later change (by
// event time) of the same (profile, segment) was already applied; changes at equal times
// apply in arrival order. Replaying changes (at-least-once delivery, a restarted job)
// therefore leaves the same state, even an old `entered` replayed after the `exited` that
// followed it. The `applied` hash is what makes that possible: one field per (profile,
// segment) ever changed, kept after an exit.
//
// Pipelined: a batch's changes go out in pipelines of up to `pipeline` commands, one round
// trip each. Nothing is lost when Redis fails or restarts: a change counts as applied only
// once its reply arrived; on a lost connection, a timeout or a transient error reply
// (LOADING, BUSY, OOM, ...) the sink reconnects with exponential backoff and jitter and
// sends every unacknowledged change again, blocking the subtask meanwhile (backpressure).
// A change Redis rejects for good (e.g. WRONGTYPE: the key holds another type) goes to the
// dead-letter output (`redis rejected change`), and so does a record that is not a change
// (`not a segment change`, `missing segment`). A Redis that refuses the connection's set-up
// (wrong password, bad database) fails the job: retrying cannot help.
//
// Keys:
//   address          host:port (default 127.0.0.1:6379)
//   database         SELECT index (default 0)
//   password         AUTH when set
//   key_prefix       default "segflow:"
//   pipeline         commands per round trip (default 1000)
//   connect_timeout  default 2s;  command_timeout  default 5s
//   initial_backoff  default 100ms;  max_backoff  default 5s
//   entered_event, exited_event, segment_property   default entered, exited, segment
//
// Thread safety: one instance per subtask, each with its own connection.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connectors/redis/membership_change.h"
#include "connectors/redis/redis_connection.h"
#include "connectors/retry/backoff.h"
#include "connectors/retry/delivery_metrics.h"
#include "engine/config_node.h"
#include "engine/operator.h"

namespace segflow {

class RedisSink final : public Operator {
 public:
  struct Config {
    RedisEndpoint endpoint;
    std::string key_prefix = "segflow:";
    size_t pipeline = 1000;
    BackoffConfig backoff{100, 5'000};
    std::string entered_event = "entered";
    std::string exited_event = "exited";
    std::string segment_property = "segment";
    static Config parse(const ConfigNode& node);
  };

  // The Lua script that applies one change (KEYS: segment set, profile hash, applied hash;
  // ARGV: profile, segment, event time, 1 = entered / 0 = exited). Returns 1 if applied,
  // 0 if a later change was applied already.
  static const std::string& script();

  explicit RedisSink(const Config& config);

  void open(OperatorContext& ctx) override;
  void process(const Batch& in, Output& out) override;

 private:
  // Applies pending_ in full, in order, retrying across failures; then clears it.
  void apply_pending();
  // Connects and loads the script; returns "" or what went wrong (connection closed).
  // Throws std::runtime_error when Redis refuses for good (AUTH, SELECT, SCRIPT LOAD).
  std::string connect();
  // Logs `error` and sleeps before retry number `failures`.
  void wait_before_retry(const std::string& error, uint32_t failures);
  void append_change(const MembershipChange& change);
  void reject(const MembershipChange& change, const std::string& error);

  Config config_;
  ChangeNames names_;
  RedisConnection connection_;
  Backoff backoff_;
  std::string origin_;
  std::optional<DeliveryMetrics> delivery_metrics_;  // set in open()
  std::string script_sha_;
  bool ever_connected_ = false;
  std::vector<MembershipChange> pending_;
  size_t pending_size_ = 0;  // pending_[0, pending_size_) are this batch's changes
  std::string keys_[3];      // scratch for one change's keys
};

}  // namespace segflow
