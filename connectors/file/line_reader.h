// LineReader: reads a text file line by line through zlib, so plain and gzip files (also
// concatenated gzip members) read the same. Lines may hold any bytes, NUL included; a line
// longer than the limit is reported, truncated, instead of being buffered whole.
// Thread safety: none; one reader per source subtask.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace segflow {

class LineReader {
 public:
  enum class Result {
    kLine,     // `line` is the next line, without "\n" / "\r\n"
    kTooLong,  // the next line exceeded max_line_bytes; `line` is its first max_line_bytes
    kEnd,      // end of file
    kError,    // read error (e.g. truncated gzip); see error(). `line` holds any partial line.
  };

  // Throws std::runtime_error when the file cannot be opened.
  LineReader(const std::string& path, size_t max_line_bytes);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The view stays valid until the next call.
  Result next(std::string_view& line);
  // 1-based number of the line last returned (0 before the first).
  uint64_t line_number() const { return line_number_; }
  // Uncompressed bytes consumed: the offset where the next line starts.
  uint64_t offset() const { return read_total_ - (end_ - begin_); }
  // Continues at `offset` (a value of offset()), which starts line `line_number` + 1. On a
  // gzip file this decompresses up to there; on a plain file it seeks. Throws
  // std::runtime_error when the file is shorter.
  void seek(uint64_t offset, uint64_t line_number);
  const std::string& error() const { return error_; }

 private:
  static constexpr size_t kChunk = 256 * 1024;
  bool refill();  // false at end of file or on error
  void append_capped(const char* begin, const char* end);
  Result finish(std::string_view raw, std::string_view& line);

  void* file_ = nullptr;  // gzFile; void* keeps zlib.h out of this header
  std::unique_ptr<char[]> buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  std::string carry_;  // a line that spans chunks, capped at max_line_bytes_ + 1
  size_t max_line_bytes_;
  uint64_t line_number_ = 0;
  uint64_t read_total_ = 0;  // uncompressed bytes read into buffer_ so far
  std::string error_;
};

}  // namespace segflow
