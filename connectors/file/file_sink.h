// FileSink (`type: file_sink`): writes every record as one JSON line (the format of
// connectors/json/record_json.h) to a file, created (with its parent directories) or
// truncated when the subtask opens. Thread safety: one instance per subtask, each with its
// own file.
//
// Keys:
//   path   required. With parallelism p > 1, subtask i writes `path` with "-<i>" inserted
//          before the extension: out/segments.jsonl -> out/segments-0.jsonl,
//          out/segments-1.jsonl, ... (a path without extension gets the suffix at its end).
//   flush  `batch` (default): write and flush after every batch, so readers see complete
//          lines promptly; `close`: leave it to a large buffer and flush at close only.
//
// Guarantee: with checkpoints on, exactly-once. Lines are staged (staged_file.h) and reach
// `path` only when the checkpoint after them completes (and at the end of the job); after a
// restart from a checkpoint, `path` is cut back to what that checkpoint committed, so no
// line is lost or written twice. Readers see output in steps of the checkpoint interval
// (`flush` is then ignored). The sink cannot be rescaled (one file per subtask). Without
// checkpoints: the file is rewritten by every run.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "connectors/file/staged_file.h"
#include "engine/config_node.h"
#include "engine/operator.h"

namespace segflow {

class FileSink final : public Operator {
 public:
  struct Config {
    std::string path;
    bool flush_every_batch = true;
    static Config parse(const ConfigNode& node);
  };

  // The file subtask `subtask` of `parallelism` writes for `path`.
  static std::string subtask_path(const std::string& path, uint32_t subtask, uint32_t parallelism);

  explicit FileSink(const Config& config) : config_(config) {}
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  // Throws std::runtime_error naming the path and the system's reason if it cannot open.
  void open(OperatorContext& ctx) override;
  void process(const Batch& in, Output& out) override;
  void close(Output& out) override;
  void prepare_snapshot(int64_t checkpoint_id) override;
  void on_checkpoint_complete(int64_t checkpoint_id) override;
  // Format: version, subtask, parallelism, staged-file state (empty without checkpoints).
  void snapshot(StateWriter& w) const override;
  void restore(StateReader& r) override;

 private:
  [[noreturn]] void fail(const char* what) const;

  Config config_;
  std::string path_;
  std::FILE* file_ = nullptr;           // without checkpoints
  std::unique_ptr<StagedFile> staged_;  // with checkpoints
  std::string buffer_;                  // the lines of one batch, reused
};

}  // namespace segflow
