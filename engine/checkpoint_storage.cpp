#include "engine/checkpoint_storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <stdexcept>

#include <xxhash.h>

#include "engine/state_io.h"

namespace segflow::checkpoint_storage {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t kMagic = 0x43464753;  // "SGFC"
constexpr uint32_t kVersion = 2;         // 2: store snapshots and shared files (1 still read)
constexpr const char* kMetadata = "_metadata";
constexpr const char* kCheckpointPrefix = "chk-";
constexpr const char* kSavepointPrefix = "savepoint-";
constexpr const char* kShared = "shared";
constexpr const char* kSharedPrefix = "../shared/";  // of a StoreFile::path in shared/

// The payload of a framed file and its format version; throws when the frame or its hash
// is wrong.
std::string_view unframe(const std::string& text, const std::string& path,
                         uint32_t* version_out = nullptr) {
  constexpr size_t kHeader = 4 + 4 + 8;
  if (text.size() < kHeader + 8) throw std::runtime_error(path + ": truncated");
  uint32_t magic, version;
  uint64_t length;
  std::memcpy(&magic, text.data(), 4);
  std::memcpy(&version, text.data() + 4, 4);
  std::memcpy(&length, text.data() + 8, 8);
  if (magic != kMagic) throw std::runtime_error(path + ": not a segflow checkpoint file");
  if (version != 1 && version != kVersion)
    throw std::runtime_error(path + ": unknown version " + std::to_string(version));
  if (version_out != nullptr) *version_out = version;
  if (length != text.size() - kHeader - 8) throw std::runtime_error(path + ": truncated");
  const std::string_view payload(text.data() + kHeader, length);
  uint64_t hash;
  std::memcpy(&hash, text.data() + kHeader + length, 8);
  if (hash != XXH64(payload.data(), payload.size(), 0))
    throw std::runtime_error(path + ": checksum mismatch");
  return payload;
}

void sync_fd(int fd, const std::string& path) {
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error("cannot sync " + path + ": " + std::strerror(err));
  }
}

// Writes a framed file from payload pieces without joining them (operator states can be
// large): the frame's hash is computed piece by piece. Returns the file's size and XXH64.
CheckpointFile write_framed(const std::string& path, const std::vector<std::string_view>& payload) {
  uint64_t length = 0;
  for (std::string_view piece : payload) length += piece.size();
  XXH64_state_t* payload_hash = XXH64_createState();
  XXH64_state_t* file_hash = XXH64_createState();
  XXH64_reset(payload_hash, 0);
  XXH64_reset(file_hash, 0);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  auto fail = [&](const char* what) {
    const int err = errno;
    XXH64_freeState(payload_hash);
    XXH64_freeState(file_hash);
    if (fd >= 0) ::close(fd);
    throw std::runtime_error(std::string("cannot ") + what + " " + path + ": " +
                             std::strerror(err));
  };
  if (fd < 0) fail("create");
  uint64_t written = 0;
  auto put = [&](std::string_view bytes) {
    XXH64_update(file_hash, bytes.data(), bytes.size());
    for (size_t done = 0; done < bytes.size();) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("write");
      done += static_cast<size_t>(n);
    }
    written += bytes.size();
  };
  char header[16];
  std::memcpy(header, &kMagic, 4);
  std::memcpy(header + 4, &kVersion, 4);
  std::memcpy(header + 8, &length, 8);
  put({header, sizeof header});
  for (std::string_view piece : payload) {
    XXH64_update(payload_hash, piece.data(), piece.size());
    put(piece);
  }
  const uint64_t hash = XXH64_digest(payload_hash);
  put({reinterpret_cast<const char*>(&hash), sizeof hash});
  if (::fsync(fd) != 0) fail("sync");
  ::close(fd);
  CheckpointFile file{fs::path(path).filename().string(), written, XXH64_digest(file_hash)};
  XXH64_freeState(payload_hash);
  XXH64_freeState(file_hash);
  return file;
}

void sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + dir + ": " + std::strerror(errno));
  sync_fd(fd, dir);
  ::close(fd);
}

// The whole file in one read into a buffer of its size.
std::string read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(path + ": missing");
  struct stat st {};
  std::string text;
  if (::fstat(fd, &st) == 0) text.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::read(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  text.resize(done);
  return text;
}

// Throws unless `path` has `size` bytes with XXH64 `hash` (read in pieces: data files are
// large).
void verify_shared_file(const std::string& path, uint64_t size, uint64_t hash) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(path + ": missing");
  XXH64_state_t* state = XXH64_createState();
  XXH64_reset(state, 0);
  std::vector<char> buffer(1 << 20);
  uint64_t seen = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    XXH64_update(state, buffer.data(), static_cast<size_t>(n));
    seen += static_cast<uint64_t>(n);
  }
  ::close(fd);
  const uint64_t digest = XXH64_digest(state);
  XXH64_freeState(state);
  if (seen != size || digest != hash)
    throw std::runtime_error(path + ": size or checksum differs from _metadata");
}

// The shared files a _metadata lists (none before version 2).
struct Metadata {
  int64_t id = 0;
  std::vector<CheckpointFile> files;
  std::vector<StoreFile> shared;
};
Metadata parse_metadata(const std::string& checkpoint_dir) {
  const std::string path = checkpoint_dir + "/" + kMetadata;
  const std::string text = read_file(path);
  uint32_t version = 0;
  StateReader meta(unframe(text, path, &version));
  Metadata m;
  try {
    m.id = read_state<int64_t>(meta);
    for (uint64_t n = meta.u64(); n > 0; --n) {
      CheckpointFile f;
      f.name = meta.str();
      f.size = meta.u64();
      f.hash = meta.u64();
      m.files.push_back(std::move(f));
    }
    if (version >= 2) m.shared = read_state<std::vector<StoreFile>>(meta);
  } catch (const StateFormatError& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  return m;
}

// (id, path) of every checkpoint-like directory under `base`, newest first.
struct Entry {
  int64_t id;
  fs::path path;
  bool savepoint;
};
std::vector<Entry> list(const std::string& base) {
  std::vector<Entry> out;
  std::error_code ec;
  for (const auto& d : fs::directory_iterator(base, ec)) {
    if (!d.is_directory()) continue;
    const std::string name = d.path().filename().string();
    for (const char* prefix : {kCheckpointPrefix, kSavepointPrefix}) {
      const size_t n = std::strlen(prefix);
      if (name.compare(0, n, prefix) != 0 || name.size() == n) continue;
      const std::string digits = name.substr(n);
      if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        continue;
      out.push_back({std::stoll(digits), d.path(), prefix == kSavepointPrefix});
    }
  }
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.id > b.id; });
  return out;
}

// Cheap test for retention: the metadata is written last, so its presence marks a finished
// checkpoint (load() verifies the contents when one is restored).
bool has_metadata(const fs::path& dir) { return fs::exists(dir / kMetadata); }

// Deletes the files of <base>/shared that no checkpoint or savepoint left references. Not
// while a checkpoint without _metadata remains (it may be uploading), nor when a _metadata
// cannot be read (an unreadable checkpoint is never restored, but keep its files to be safe).
void remove_unreferenced_shared_files(const std::string& base) {
  const fs::path shared = fs::path(base) / kShared;
  std::error_code ec;
  if (!fs::is_directory(shared, ec)) return;
  std::set<std::string> referenced;
  for (const Entry& e : list(base)) {
    if (!has_metadata(e.path)) return;
    try {
      for (const StoreFile& f : parse_metadata(e.path.string()).shared)
        if (f.path.rfind(kSharedPrefix, 0) == 0)
          referenced.insert(f.path.substr(std::strlen(kSharedPrefix)));
    } catch (const std::exception&) {
      return;
    }
  }
  std::vector<fs::path> unreferenced;
  for (const auto& f : fs::directory_iterator(shared, ec))
    if (referenced.count(f.path().filename().string()) == 0) unreferenced.push_back(f.path());
  for (const fs::path& f : unreferenced) fs::remove(f, ec);
}

}  // namespace

std::string directory_name(int64_t id, bool savepoint) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%06lld", static_cast<long long>(id));
  return std::string(savepoint ? kSavepointPrefix : kCheckpointPrefix) + digits;
}

CheckpointFile write_subtask_file(const std::string& path,
                                  const std::vector<OperatorSnapshot>& operators) {
  // The payload as StateWriter would write it, with the large strings left in place.
  std::vector<std::string> headers;
  headers.reserve(3 * operators.size() + 1);  // no reallocation: `payload` points into it
  std::vector<std::string_view> payload;
  StateWriter count;
  count.u64(operators.size());
  headers.push_back(count.take());
  payload.push_back(headers.back());
  const std::string checkpoint_dir = fs::path(path).parent_path().string();
  std::vector<StoreFile> shared;
  uint64_t uploaded_bytes = 0;
  for (const OperatorSnapshot& op : operators) {
    StateWriter h;
    h.str(op.operator_id);
    write_state(h, op.subtask);
    write_state(h, op.parallelism);
    h.u64(op.state.size());
    headers.push_back(h.take());
    payload.push_back(headers.back());
    payload.push_back(op.state);
    StateWriter t;
    t.u64(op.timers.size());
    headers.push_back(t.take());
    payload.push_back(headers.back());
    payload.push_back(op.timers);
    StateWriter store;
    store.u64(op.pending_store ? 1 : 0);
    if (op.pending_store) {
      const StoreSnapshot snapshot = op.pending_store->upload(checkpoint_dir, uploaded_bytes);
      snapshot.write(store);
      shared.insert(shared.end(), snapshot.files.begin(), snapshot.files.end());
    }
    headers.push_back(store.take());
    payload.push_back(headers.back());
  }
  CheckpointFile file = write_framed(path, payload);
  file.shared = std::move(shared);
  file.uploaded_bytes = uploaded_bytes;
  return file;
}

void write_metadata(const std::string& checkpoint_dir, int64_t id,
                    const std::vector<CheckpointFile>& files) {
  StateWriter w;
  write_state(w, id);
  w.u64(files.size());
  for (const CheckpointFile& f : files) {
    w.str(f.name);
    w.u64(f.size);
    w.u64(f.hash);
  }
  std::map<std::string, StoreFile> shared;  // by path: stores may share none, but one list
  for (const CheckpointFile& f : files)
    for (const StoreFile& s : f.shared) shared.emplace(s.path, s);
  w.u64(shared.size());
  for (const auto& [path, s] : shared) s.write(w);
  const std::string tmp = checkpoint_dir + "/" + kMetadata + ".tmp";
  write_framed(tmp, {w.data()});
  const std::string final_path = checkpoint_dir + "/" + kMetadata;
  if (std::rename(tmp.c_str(), final_path.c_str()) != 0)
    throw std::runtime_error("cannot rename " + tmp + ": " + std::strerror(errno));
  sync_directory(checkpoint_dir);
}

CheckpointData load(const std::string& checkpoint_dir) {
  CheckpointData data;
  data.path = checkpoint_dir;
  const Metadata meta = parse_metadata(checkpoint_dir);
  data.id = meta.id;
  std::map<std::string, uint64_t> shared_hashes;
  for (const StoreFile& s : meta.shared) {
    verify_shared_file(checkpoint_dir + "/" + s.path, s.size, s.hash);
    shared_hashes.emplace(s.path, s.hash);
    data.bytes += s.size;
  }
  try {
    for (const CheckpointFile& f : meta.files) {
      const std::string path = checkpoint_dir + "/" + f.name;
      const std::string text = read_file(path);
      if (text.size() != f.size || XXH64(text.data(), text.size(), 0) != f.hash)
        throw std::runtime_error(path + ": size or checksum differs from _metadata");
      data.bytes += text.size();
      uint32_t version = 0;
      StateReader r(unframe(text, path, &version));
      for (uint64_t ops = r.u64(); ops > 0; --ops) {
        OperatorSnapshot op;
        op.operator_id = r.str();
        op.subtask = read_state<uint32_t>(r);
        op.parallelism = read_state<uint32_t>(r);
        op.state = r.str();
        op.timers = r.str();
        if (version >= 2 && r.u64() != 0) {
          op.store = StoreSnapshot::read(r);
          for (const StoreFile& s : op.store->files) {
            auto it = shared_hashes.find(s.path);
            if (it == shared_hashes.end() || it->second != s.hash)
              throw std::runtime_error(path + ": " + s.path + " is not in _metadata");
          }
        }
        data.by_operator[op.operator_id].push_back(std::move(op));
      }
    }
  } catch (const StateFormatError& e) {
    throw std::runtime_error(checkpoint_dir + ": " + e.what());
  }
  return data;
}

std::optional<CheckpointData> load_latest(const std::string& base, bool savepoints,
                                          std::vector<std::string>* skipped) {
  for (const Entry& e : list(base)) {
    if (e.savepoint && !savepoints) continue;
    try {
      return load(e.path.string());
    } catch (const std::exception& error) {
      if (skipped != nullptr) skipped->push_back(error.what());
    }
  }
  return std::nullopt;
}

CheckpointData load_from(const std::string& path) {
  if (fs::exists(fs::path(path) / kMetadata)) return load(path);
  std::vector<std::string> skipped;
  if (auto latest = load_latest(path, /*savepoints=*/true, &skipped)) return std::move(*latest);
  std::string message = path + ": no complete checkpoint";
  for (const std::string& s : skipped) message += "\n  skipped: " + s;
  throw std::runtime_error(message);
}

void apply_retention(const std::string& base, uint32_t retain) {
  uint32_t kept = 0;
  for (const Entry& e : list(base)) {
    if (e.savepoint) continue;
    if (kept < retain && has_metadata(e.path)) {
      ++kept;
      continue;
    }
    // Incomplete directories newer than every complete one may be in progress: keep them.
    if (kept == 0) continue;
    std::error_code ec;
    fs::remove_all(e.path, ec);
  }
  remove_unreferenced_shared_files(base);
}

void remove_newer_than(const std::string& base, int64_t id) {
  for (const Entry& e : list(base)) {
    if (e.id <= id) break;
    std::error_code ec;
    fs::remove_all(e.path, ec);
  }
}

void remove_checkpoints(const std::string& base) {
  for (const Entry& e : list(base)) {
    if (e.savepoint) continue;
    std::error_code ec;
    fs::remove_all(e.path, ec);
  }
  std::error_code ec;
  fs::remove_all(fs::path(base) / kShared, ec);
}

}  // namespace segflow::checkpoint_storage
