#include "tests/support/operator_harness.h"

#include <charconv>
#include <stdexcept>

#include "engine/json_text.h"

namespace segflow::testing {

namespace {

std::string render(const Value& v) {
  switch (v.type()) {
    case ValueType::kNull:
      return "null";
    case ValueType::kBool:
      return v.as_bool() ? "true" : "false";
    case ValueType::kInt:
      return std::to_string(v.as_int());
    case ValueType::kDouble: {
      char buf[32];
      const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.as_double());
      return ec == std::errc() ? std::string(buf, end) : "nan";
    }
    case ValueType::kString: {
      std::string out;
      append_json_string(out, v.as_string());
      return out;
    }
  }
  return "?";
}

}  // namespace

std::string render_value(const Value& v) { return render(v); }

namespace {

// The Value of a TestValue; string bytes stay owned by `v` (the batch copies them).
Value to_value(const TestValue& v) {
  struct Visitor {
    Value operator()(std::nullptr_t) const { return Value::null(); }
    Value operator()(bool b) const { return Value::boolean(b); }
    Value operator()(int64_t i) const { return Value::integer(i); }
    Value operator()(double d) const { return Value::real(d); }
    Value operator()(const std::string& s) const { return Value::string(s); }
  };
  return std::visit(Visitor{}, v);
}

}  // namespace

const std::string* OutputRecord::property(std::string_view name) const {
  for (const auto& [n, v] : properties)
    if (n == name) return &v;
  return nullptr;
}

std::string OutputRecord::str() const {
  std::string out(event_kind_name(kind));
  out += ' ';
  out += key;
  out += " @";
  out += std::to_string(time);
  out += ' ';
  out += event;
  for (const auto& [n, v] : properties) {
    out += ' ';
    out += n;
    out += '=';
    out += v;
  }
  return out;
}

std::ostream& operator<<(std::ostream& os, const OutputRecord& r) { return os << r.str(); }

OperatorHarness::OperatorHarness(std::unique_ptr<Operator> op, HarnessOptions options)
    : options_(std::move(options)),
      op_(std::move(op)),
      clock_(options_.start_processing_time),
      dead_letters_(std::make_unique<DeadLetterOutput>(options_.dead_letter_path)) {
  if (options_.parallelism == 0 || options_.subtask >= options_.parallelism ||
      options_.max_parallelism < options_.parallelism)
    throw std::invalid_argument("harness: bad subtask/parallelism/max_parallelism");
  ctx_.operator_id = options_.operator_id;
  ctx_.subtask = options_.subtask;
  ctx_.parallelism = options_.parallelism;
  ctx_.max_parallelism = options_.max_parallelism;
  ctx_.key_groups =
      KeyGroupRange::for_subtask(options_.subtask, options_.max_parallelism, options_.parallelism);
  ctx_.clock = &clock_;
  ctx_.timers = &timers_;
  ctx_.dead_letters = dead_letters_.get();
  ctx_.watermark = kMinTime;
  out_ = std::make_unique<Output>([this](BatchPtr& b) { collect(*b); }, options_.output_batch_size);
  op_->open(ctx_);
}

OperatorHarness::~OperatorHarness() = default;

void OperatorHarness::require_open(const char* call) const {
  if (phase_ == Phase::kClosed)
    throw std::logic_error(std::string("harness: ") + call + " after end_of_input");
}

void OperatorHarness::collect(const Batch& batch) {
  for (const Record& r : batch.records()) {
    OutputRecord o;
    o.kind = r.kind;
    o.key = std::string(r.key);
    o.time = r.event_time;
    o.event = r.event == kNoSymbol ? std::string() : std::string(symbol_name(r.event));
    o.ingest_ns = batch.ingest_ns();
    for (const Property& p : batch.properties(r))
      o.properties.emplace_back(std::string(symbol_name(p.name)), render(p.value));
    output_.push_back(std::move(o));
  }
}

void OperatorHarness::finish_call(size_t first, bool closing) {
  out_->flush();
  if (closing || !options_.reject_late_output || forwarded_watermark_ == kMinTime) return;
  for (size_t i = first; i < output_.size(); ++i) {
    if (output_[i].time <= forwarded_watermark_)
      throw std::logic_error("harness: operator emitted a late record (watermark " +
                             std::to_string(forwarded_watermark_) + "): " + output_[i].str());
  }
}

bool OperatorHarness::owns_key(std::string_view key) const {
  return ctx_.key_groups.contains(key_group_of(key, ctx_.max_parallelism));
}

void OperatorHarness::process(const std::vector<InputRecord>& records) {
  BatchPtr batch = BatchPool::acquire();
  for (const InputRecord& in : records) {
    if (!owns_key(in.key))
      throw std::invalid_argument("harness: key '" + in.key + "' is in key group " +
                                  std::to_string(key_group_of(in.key, ctx_.max_parallelism)) +
                                  ", not owned by subtask " + std::to_string(ctx_.subtask));
    RecordBuilder b = batch->add(in.kind, in.key, in.time, intern(in.event));
    for (const auto& [name, value] : in.properties) b.set(name, to_value(value));
  }
  process_batch(*batch);
}

void OperatorHarness::process_batch(const Batch& batch) {
  require_open("process");
  phase_ = Phase::kRunning;
  const size_t first = output_.size();
  out_->set_ingest_cause(batch.ingest_ns());  // as the runtime does (engine/subtask.cpp)
  op_->process(batch, *out_);
  finish_call(first, false);
  out_->set_ingest_cause(kNoIngestTime);
}

void OperatorHarness::watermark(int64_t watermark) {
  require_open("watermark");
  if (watermark < ctx_.watermark)
    throw std::invalid_argument("harness: watermark " + std::to_string(watermark) +
                                " goes back from " + std::to_string(ctx_.watermark));
  if (watermark == ctx_.watermark) return;
  phase_ = Phase::kRunning;
  const size_t first = output_.size();
  ctx_.watermark = watermark;
  Timer t;
  while (timers_.pop_due(TimeDomain::kEventTime, watermark, t)) {
    out_->set_ingest_cause(kNoIngestTime);  // timers have no ingest cause
    op_->on_timer(t, *out_);
  }
  out_->set_ingest_cause(kNoIngestTime);
  op_->on_watermark(watermark, *out_);
  finish_call(first, false);
  forwarded_watermark_ = watermark;
}

void OperatorHarness::set_processing_time(int64_t now_ms) {
  require_open("set_processing_time");
  phase_ = Phase::kRunning;
  const size_t first = output_.size();
  clock_.set(now_ms);
  Timer t;
  while (timers_.pop_due(TimeDomain::kProcessingTime, now_ms, t)) {
    out_->set_ingest_cause(kNoIngestTime);
    op_->on_timer(t, *out_);
  }
  finish_call(first, false);
}

void OperatorHarness::advance_processing_time(int64_t ms) {
  set_processing_time(clock_.now_ms() + ms);
}

void OperatorHarness::end_of_input() {
  watermark(kMaxTime);
  const size_t first = output_.size();
  op_->close(*out_);
  finish_call(first, true);
  phase_ = Phase::kClosed;
}

std::string OperatorHarness::snapshot() const {
  StateWriter op_state;
  op_->snapshot(op_state);
  StateWriter w;
  w.str(op_state.data());
  timers_.snapshot(w);
  return w.take();
}

void OperatorHarness::restore(std::string_view snapshot) {
  if (phase_ != Phase::kFresh)
    throw std::logic_error("harness: restore after the operator received input");
  StateReader r(snapshot);
  const std::string op_state = r.str();
  StateReader op_reader(op_state);
  op_->restore(op_reader);
  if (!op_reader.done())
    throw StateFormatError("harness: operator left part of its snapshot unread");

  TimerService restored;
  restored.restore(r);
  if (!r.done()) throw StateFormatError("harness: trailing bytes after the timers");
  for (const TimeDomain domain : {TimeDomain::kEventTime, TimeDomain::kProcessingTime}) {
    Timer t;
    while (restored.pop_due(domain, INT64_MAX, t))
      if (owns_key(t.key)) timers_.register_timer(domain, t.time, t.key, t.tag);
  }
}

std::vector<OutputRecord> OperatorHarness::take_output() {
  std::vector<OutputRecord> out = std::move(output_);
  output_.clear();
  return out;
}

std::vector<std::string> OperatorHarness::take_output_lines() {
  std::vector<std::string> lines;
  for (const OutputRecord& r : take_output()) lines.push_back(r.str());
  return lines;
}

}  // namespace segflow::testing
