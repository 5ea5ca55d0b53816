#include "engine/rocksdb_incremental.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/utilities/checkpoint.h>
#include <xxhash.h>

namespace segflow {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path, int err) {
  throw std::runtime_error("cannot " + what + " " + path + ": " + std::strerror(err));
}

// Copies `from` to `to` (through a temporary file, synced, renamed); returns its XXH64.
uint64_t copy_synced(const std::string& from, const std::string& to, uint64_t& size) {
  const std::string tmp = to + ".tmp";
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) fail("open", from, errno);
  const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    const int err = errno;
    ::close(in);
    fail("create", tmp, err);
  }
  XXH64_state_t* hash = XXH64_createState();
  XXH64_reset(hash, 0);
  auto close_all = [&] {
    XXH64_freeState(hash);
    ::close(in);
    ::close(out);
  };
  std::vector<char> buffer(1 << 20);
  size = 0;
  for (;;) {
    const ssize_t n = ::read(in, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close_all();
      fail("read", from, err);
    }
    if (n == 0) break;
    XXH64_update(hash, buffer.data(), static_cast<size_t>(n));
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out, buffer.data() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        const int err = errno;
        close_all();
        fail("write", tmp, err);
      }
      done += w;
    }
    size += static_cast<uint64_t>(n);
  }
  const uint64_t digest = XXH64_digest(hash);
  if (::fsync(out) != 0) {
    const int err = errno;
    close_all();
    fail("sync", tmp, err);
  }
  close_all();
  std::error_code ec;
  fs::rename(tmp, to, ec);
  if (ec) fail("rename", tmp, ec.value());
  return digest;
}

std::string read_whole(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("open", path, errno);
  std::string text;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      fail("read", path, err);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

void sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("open", dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) fail("sync", dir, err);
}

bool is_data_file(const std::string& name) {
  return name.size() > 4 && name.compare(name.size() - 4, 4, ".sst") == 0;
}

class CapturedStoreFiles final : public PendingStoreSnapshot {
 public:
  CapturedStoreFiles(std::string capture_dir, std::string file_prefix,
                     std::shared_ptr<UploadedFiles> uploaded)
      : capture_dir_(std::move(capture_dir)),
        file_prefix_(std::move(file_prefix)),
        uploaded_(std::move(uploaded)) {}

  ~CapturedStoreFiles() override {
    std::error_code ignored;
    fs::remove_all(capture_dir_, ignored);
  }

  StoreSnapshot upload(const std::string& checkpoint_dir, uint64_t& uploaded_bytes) override {
    const fs::path shared = fs::path(checkpoint_dir).parent_path() / "shared";
    const std::string checkpoint_name = fs::path(checkpoint_dir).filename().string();
    std::error_code ec;
    fs::create_directories(shared, ec);
    if (ec) fail("create", shared.string(), ec.value());
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(capture_dir_)) {
      if (entry.is_regular_file()) names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    StoreSnapshot snapshot;
    std::map<std::string, StoreFile> now_uploaded;
    bool copied = false;
    for (const std::string& name : names) {
      const std::string local = capture_dir_ + "/" + name;
      if (!is_data_file(name)) {
        snapshot.small_files.emplace_back(name, read_whole(local));
        continue;
      }
      StoreFile file;
      if (!uploaded_->find(name, file)) {
        const std::string shared_name = file_prefix_ + "-" + checkpoint_name + "-" + name;
        file.local_name = name;
        file.path = "../shared/" + shared_name;
        file.hash = copy_synced(local, (shared / shared_name).string(), file.size);
        uploaded_bytes += file.size;
        copied = true;
      }
      now_uploaded.emplace(name, file);
      snapshot.files.push_back(std::move(file));
    }
    if (copied) sync_directory(shared.string());
    uploaded_->replace_all(std::move(now_uploaded));
    return snapshot;
  }

 private:
  const std::string capture_dir_;
  const std::string file_prefix_;
  const std::shared_ptr<UploadedFiles> uploaded_;
};

}  // namespace

std::shared_ptr<PendingStoreSnapshot> capture_store_files(rocksdb::DB& db,
                                                          const std::string& capture_dir,
                                                          std::string file_prefix,
                                                          std::shared_ptr<UploadedFiles> uploaded) {
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(&db, &raw);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush 0: the memtable is flushed first (there is no write-ahead log).
  if (s.ok()) s = checkpoint->CreateCheckpoint(capture_dir, /*log_size_for_flush=*/0);
  if (!s.ok())
    throw std::runtime_error("rocksdb checkpoint into " + capture_dir + ": " + s.ToString());
  return std::make_shared<CapturedStoreFiles>(capture_dir, std::move(file_prefix),
                                              std::move(uploaded));
}

void materialize_store_files(const StoreRestoreSource& source, const std::string& into_dir) {
  std::error_code ec;
  fs::create_directories(into_dir, ec);
  if (ec) fail("create", into_dir, ec.value());
  for (const StoreFile& file : source.snapshot->files) {
    const fs::path from = fs::path(source.checkpoint_dir) / file.path;
    const fs::path to = fs::path(into_dir) / file.local_name;
    fs::create_hard_link(from, to, ec);
    if (!ec) continue;
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    if (ec) fail("copy", from.string(), ec.value());
  }
  for (const auto& [name, contents] : source.snapshot->small_files) {
    const std::string path = into_dir + "/" + name;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) fail("create", path, errno);
    for (size_t done = 0; done < contents.size();) {
      const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        ::close(fd);
        fail("write", path, err);
      }
      done += static_cast<size_t>(n);
    }
    ::close(fd);
  }
}

}  // namespace segflow
