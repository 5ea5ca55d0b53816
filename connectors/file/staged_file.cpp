#include "connectors/file/staged_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace segflow {

namespace {
constexpr uint64_t kStateVersion = 1;
constexpr size_t kCopyBuffer = 1 << 20;
}  // namespace

StagedFile::StagedFile(std::string path, bool restoring) : path_(std::move(path)) {
  final_fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | (restoring ? 0 : O_TRUNC), 0644);
  if (final_fd_ < 0) fail("open", path_);
  if (!restoring) remove_staging_files();
  open_in_progress();
}

StagedFile::~StagedFile() {
  if (in_progress_ != nullptr) std::fclose(in_progress_);
  if (final_fd_ >= 0) ::close(final_fd_);
}

void StagedFile::fail(const std::string& what, const std::string& path) const {
  throw std::runtime_error("file_sink: cannot " + what + " " + path + ": " + std::strerror(errno));
}

std::string StagedFile::pending_path(int64_t id) const {
  return path_ + ".pending-" + std::to_string(id);
}

void StagedFile::open_in_progress() {
  in_progress_ = std::fopen(in_progress_path().c_str(), "wb");
  if (in_progress_ == nullptr) fail("open", in_progress_path());
  in_progress_size_ = 0;
}

void StagedFile::remove_staging_files() const {
  const std::filesystem::path p(path_);
  const std::filesystem::path dir = p.parent_path().empty() ? "." : p.parent_path();
  const std::string prefix = p.filename().string() + ".";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string_view rest = std::string_view(name).substr(prefix.size());
    if (rest == "inprogress" || rest.substr(0, 8) == "pending-") std::filesystem::remove(entry, ec);
  }
}

void StagedFile::append(std::string_view bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), in_progress_) != bytes.size())
    fail("write", in_progress_path());
  in_progress_size_ += bytes.size();
}

void StagedFile::pre_commit(int64_t id) {
  if (in_progress_size_ == 0) return;
  if (std::fflush(in_progress_) != 0 || ::fdatasync(fileno(in_progress_)) != 0)
    fail("write", in_progress_path());
  std::fclose(in_progress_);
  in_progress_ = nullptr;
  if (std::rename(in_progress_path().c_str(), pending_path(id).c_str()) != 0)
    fail("rename", in_progress_path());
  pending_.push_back({id, staged_length_, in_progress_size_});
  staged_length_ += in_progress_size_;
  open_in_progress();
}

void StagedFile::write_at(const std::string& from, uint64_t offset) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) fail("open", from);
  std::string buffer(kCopyBuffer, '\0');
  for (;;) {
    const ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(in);
      fail("read", from);
    }
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::pwrite(final_fd_, buffer.data() + done, static_cast<size_t>(n - done),
                                 static_cast<off_t>(offset));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        ::close(in);
        fail("write", path_);
      }
      done += w;
      offset += static_cast<uint64_t>(w);
    }
  }
  ::close(in);
}

void StagedFile::sync_final() {
  if (::fdatasync(final_fd_) != 0) fail("sync", path_);
}

void StagedFile::commit(int64_t id) {
  size_t done = 0;
  for (; done < pending_.size() && pending_[done].id <= id; ++done) {
    const Pending& p = pending_[done];
    write_at(pending_path(p.id), p.offset);
  }
  if (done == 0) return;
  sync_final();
  // Deleted only once the final file is durable: a crash before leaves them to restore().
  for (size_t i = 0; i < done; ++i) std::remove(pending_path(pending_[i].id).c_str());
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(done));
}

void StagedFile::commit_all() {
  commit(INT64_MAX);
  if (std::fflush(in_progress_) != 0) fail("write", in_progress_path());
  if (in_progress_size_ > 0) {
    write_at(in_progress_path(), staged_length_);
    staged_length_ += in_progress_size_;
    sync_final();
  }
  std::fclose(in_progress_);
  in_progress_ = nullptr;
  std::remove(in_progress_path().c_str());
}

void StagedFile::snapshot(StateWriter& w) const {
  w.u64(kStateVersion);
  w.u64(staged_length_);
  w.u64(pending_.size());
  for (const Pending& p : pending_) {
    write_state(w, p.id);
    w.u64(p.offset);
    w.u64(p.size);
  }
}

void StagedFile::restore(StateReader& r) {
  if (r.u64() != kStateVersion) throw StateFormatError("file_sink: unknown state version");
  const uint64_t length = r.u64();
  // Every pending file the checkpoint lists belongs to a completed checkpoint; one still
  // present may not be (fully) in the final file yet.
  for (uint64_t n = r.u64(); n > 0; --n) {
    const auto id = read_state<int64_t>(r);
    const uint64_t offset = r.u64();
    const uint64_t size = r.u64();
    const std::string pending = pending_path(id);
    std::error_code ec;
    if (std::filesystem::file_size(pending, ec) == size && !ec) write_at(pending, offset);
  }
  if (::ftruncate(final_fd_, static_cast<off_t>(length)) != 0) fail("truncate", path_);
  sync_final();
  std::fclose(in_progress_);
  in_progress_ = nullptr;
  remove_staging_files();
  open_in_progress();
  pending_.clear();
  staged_length_ = length;
}

}  // namespace segflow
