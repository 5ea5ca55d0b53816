#include "connectors/file/file_sink.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "connectors/json/record_json.h"
#include "engine/registry.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("file_sink", FileSink);

namespace {
constexpr size_t kCloseModeBuffer = 1 << 20;
constexpr uint64_t kStateVersion = 1;
}  // namespace

FileSink::Config FileSink::Config::parse(const ConfigNode& node) {
  Config c;
  c.path = node.string("path");
  if (c.path.empty()) node.fail_at("path", "must not be empty");
  const std::string flush = node.string("flush", "batch");
  if (flush == "batch")
    c.flush_every_batch = true;
  else if (flush == "close")
    c.flush_every_batch = false;
  else
    node.fail_at("flush", "expected 'batch' or 'close', found '" + flush + "'");
  return c;
}

std::string FileSink::subtask_path(const std::string& path, uint32_t subtask,
                                   uint32_t parallelism) {
  if (parallelism <= 1) return path;
  const std::filesystem::path p(path);
  std::string name = p.stem().string() + "-" + std::to_string(subtask) + p.extension().string();
  return (p.parent_path() / name).string();
}

FileSink::~FileSink() {
  if (file_ != nullptr) std::fclose(file_);
}

void FileSink::fail(const char* what) const {
  throw std::runtime_error("file_sink: cannot " + std::string(what) + " " + path_ + ": " +
                           std::strerror(errno));
}

void FileSink::open(OperatorContext& ctx) {
  Operator::open(ctx);
  path_ = subtask_path(config_.path, ctx.subtask, ctx.parallelism);
  const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec)
      throw std::runtime_error("file_sink: cannot create directory " + parent.string() + " for " +
                               path_ + ": " + ec.message());
  }
  if (ctx.checkpointing) {
    staged_ = std::make_unique<StagedFile>(path_, ctx.restoring);
    return;
  }
  file_ = std::fopen(path_.c_str(), "wb");
  if (file_ == nullptr) fail("open");
  if (!config_.flush_every_batch) std::setvbuf(file_, nullptr, _IOFBF, kCloseModeBuffer);
}

void FileSink::process(const Batch& in, Output& /*out*/) {
  buffer_.clear();
  for (const Record& r : in.records()) {
    append_record_json(buffer_, in, r);
    buffer_ += '\n';
  }
  if (staged_) {
    staged_->append(buffer_);
    return;
  }
  if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) fail("write");
  if (config_.flush_every_batch && std::fflush(file_) != 0) fail("write");
}

void FileSink::prepare_snapshot(int64_t checkpoint_id) {
  if (staged_) staged_->pre_commit(checkpoint_id);
}

void FileSink::on_checkpoint_complete(int64_t checkpoint_id) {
  if (staged_) staged_->commit(checkpoint_id);
}

void FileSink::snapshot(StateWriter& w) const {
  w.u64(kStateVersion);
  w.u64(ctx().subtask);
  w.u64(ctx().parallelism);
  w.u64(staged_ ? 1 : 0);
  if (staged_) staged_->snapshot(w);
}

void FileSink::restore(StateReader& r) {
  if (r.u64() != kStateVersion) throw StateFormatError("file_sink: unknown state version");
  const uint64_t subtask = r.u64();
  const uint64_t parallelism = r.u64();
  if (subtask != ctx().subtask || parallelism != ctx().parallelism)
    throw StateFormatError("file_sink: state of subtask " + std::to_string(subtask) + " of " +
                           std::to_string(parallelism) + " restored into subtask " +
                           std::to_string(ctx().subtask) + " of " +
                           std::to_string(ctx().parallelism) + " (a file sink cannot be rescaled)");
  if (r.u64() != 0 && staged_) staged_->restore(r);
}

void FileSink::close(Output& /*out*/) {
  if (staged_) {
    staged_->commit_all();
    staged_.reset();
    return;
  }
  if (file_ == nullptr) return;
  std::FILE* file = file_;
  file_ = nullptr;
  if (std::fclose(file) != 0) fail("write");
}

}  // namespace segflow
