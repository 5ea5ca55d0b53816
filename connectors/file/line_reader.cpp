#include "connectors/file/line_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace segflow {

namespace {
gzFile as_gz(void* p) { return static_cast<gzFile>(p); }
}  // namespace

LineReader::LineReader(const std::string& path, size_t max_line_bytes)
    : buffer_(std::make_unique<char[]>(kChunk)), max_line_bytes_(max_line_bytes) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw std::runtime_error("cannot open " + path + ": it is a directory");
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) {
    throw std::runtime_error("cannot open " + path + ": " +
                             (errno != 0 ? std::strerror(errno) : "out of memory"));
  }
  gzbuffer(f, kChunk);
  file_ = f;
}

LineReader::~LineReader() {
  if (file_ != nullptr) gzclose(as_gz(file_));
}

bool LineReader::refill() {
  if (eof_ || !error_.empty()) return false;
  const int n = gzread(as_gz(file_), buffer_.get(), static_cast<unsigned>(kChunk));
  int errnum = Z_OK;
  const char* message = gzerror(as_gz(file_), &errnum);
  if (n < 0 || (errnum != Z_OK && errnum != Z_STREAM_END)) {
    error_ = message != nullptr && *message != '\0' ? message : "read error";
    eof_ = true;
    if (n <= 0) return false;
  }
  if (n == 0) {
    eof_ = true;
    return false;
  }
  begin_ = 0;
  end_ = static_cast<size_t>(n);
  read_total_ += end_;
  return true;
}

void LineReader::seek(uint64_t offset, uint64_t line_number) {
  if (gzseek(as_gz(file_), static_cast<z_off_t>(offset), SEEK_SET) != static_cast<z_off_t>(offset))
    throw std::runtime_error("cannot resume at byte " + std::to_string(offset) +
                             ": the file is shorter (replaced since the checkpoint?)");
  begin_ = end_ = 0;
  eof_ = false;
  carry_.clear();
  read_total_ = offset;
  line_number_ = line_number;
}

void LineReader::append_capped(const char* begin, const char* end) {
  const size_t room = max_line_bytes_ + 1 - std::min(carry_.size(), max_line_bytes_ + 1);
  carry_.append(begin, std::min(static_cast<size_t>(end - begin), room));
}

LineReader::Result LineReader::finish(std::string_view raw, std::string_view& line) {
  ++line_number_;
  if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
  if (raw.size() > max_line_bytes_) {
    line = raw.substr(0, max_line_bytes_);
    return Result::kTooLong;
  }
  line = raw;
  return Result::kLine;
}

LineReader::Result LineReader::next(std::string_view& line) {
  carry_.clear();
  bool partial = false;  // carry_ holds the start of the line
  for (;;) {
    if (begin_ < end_) {
      const char* start = buffer_.get() + begin_;
      const char* stop = buffer_.get() + end_;
      const auto* newline = static_cast<const char*>(std::memchr(start, '\n', stop - start));
      if (newline != nullptr) {
        begin_ = static_cast<size_t>(newline + 1 - buffer_.get());
        if (!partial) return finish({start, static_cast<size_t>(newline - start)}, line);
        append_capped(start, newline);
        return finish(carry_, line);
      }
      append_capped(start, stop);
      partial = true;
      begin_ = end_;
    }
    if (!refill()) {
      if (!error_.empty()) {
        line = carry_;
        return Result::kError;
      }
      if (!partial) return Result::kEnd;
      return finish(carry_, line);  // last line without a newline
    }
  }
}

}  // namespace segflow
