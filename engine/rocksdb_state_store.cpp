#include "engine/rocksdb_state_store.h"

#include <filesystem>
#include <map>
#include <stdexcept>

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "engine/rocksdb_incremental.h"

namespace segflow {

namespace {

void append_be32(std::string& out, uint32_t v) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                         static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(bytes, 4);
}

uint32_t be32_at(const rocksdb::Slice& s, size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data() + at);
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

class RocksDbStateStore final : public KeyedStateStore {
 public:
  RocksDbStateStore(std::string dir, size_t cache_entries, bool incremental)
      : dir_(std::move(dir)),
        captures_dir_(dir_ + ".captures"),
        cache_entries_(cache_entries),
        incremental_(incremental) {
    options_.create_if_missing = true;
    options_.IncreaseParallelism(2);
    rocksdb::BlockBasedTableOptions table;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));  // most misses skip reads
    options_.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    write_options_.disableWAL = true;  // scratch: checkpoints make state durable
    // Incremental checkpoints hold the MANIFEST inline: roll it over while it is small.
    // (Compaction stays leveled: universal compaction wrote about as much per checkpoint in
    // bench/checkpoint.sh; engine/README.md has the figures.)
    options_.max_manifest_file_size = 1 << 20;
  }

  ~RocksDbStateStore() override {
    std::error_code ignored;
    std::filesystem::remove_all(captures_dir_, ignored);
    if (db_ == nullptr) return;
    db_.reset();
    rocksdb::DestroyDB(dir_, options_);
    std::filesystem::remove_all(dir_, ignored);
  }

  size_t cache_entries() const override { return cache_entries_; }
  bool incremental() const override { return incremental_; }

  // Null when the database was never opened: nothing was ever stored.
  std::shared_ptr<PendingStoreSnapshot> snapshot_files(const std::string& file_prefix) override {
    commit();
    if (db_ == nullptr) return nullptr;
    std::error_code ec;
    std::filesystem::create_directories(captures_dir_, ec);
    if (ec) throw std::runtime_error("rocksdb state store " + captures_dir_ + ": " + ec.message());
    const std::string capture = captures_dir_ + "/" + std::to_string(++captures_);
    return capture_store_files(*db_, capture, file_prefix, uploaded_);
  }

  // Same key groups as one old subtask: its database, as it was. Otherwise the entries of
  // this subtask's key groups, read from each old database that has some.
  void restore_files(const std::vector<StoreRestoreSource>& sources,
                     KeyGroupRange key_groups) override {
    batch_.Clear();
    db_.reset();
    check(rocksdb::DestroyDB(dir_, options_), "wipe");
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (sources.size() == 1 && sources[0].key_groups.begin == key_groups.begin &&
        sources[0].key_groups.end == key_groups.end) {
      materialize_store_files(sources[0], dir_);
      open_existing();
      std::map<std::string, StoreFile> uploaded;
      for (const StoreFile& f : sources[0].snapshot->files) uploaded.emplace(f.local_name, f);
      uploaded_->replace_all(std::move(uploaded));
      return;
    }
    uploaded_->replace_all({});
    for (const StoreRestoreSource& source : sources) {
      if (source.key_groups.end <= key_groups.begin || source.key_groups.begin >= key_groups.end)
        continue;
      copy_key_groups(source, key_groups);
    }
  }

  bool get(uint32_t state, uint32_t key_group, std::string_view key, std::string& value) override {
    const rocksdb::Status s =
        db().Get(rocksdb::ReadOptions(), make_key(state, key_group, key), &value);
    if (s.IsNotFound()) return false;
    check(s, "read");
    return true;
  }

  void put(uint32_t state, uint32_t key_group, std::string_view key,
           std::string_view value) override {
    check(batch_.Put(make_key(state, key_group, key), rocksdb::Slice(value.data(), value.size())),
          "write");
  }

  void erase(uint32_t state, uint32_t key_group, std::string_view key) override {
    check(batch_.Delete(make_key(state, key_group, key)), "write");
  }

  void commit() override {
    if (batch_.Count() == 0) return;
    check(db().Write(write_options_, &batch_), "write");
    batch_.Clear();
  }

  void scan(uint32_t state, uint32_t key_group,
            const std::function<void(std::string_view, std::string_view)>& f) override {
    std::string begin, end;
    append_be32(begin, state);
    append_be32(begin, key_group);
    append_be32(end, state);
    append_be32(end, key_group + 1);
    const rocksdb::Slice upper(end);
    rocksdb::ReadOptions read;
    read.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db().NewIterator(read));
    for (it->Seek(begin); it->Valid(); it->Next()) {
      const rocksdb::Slice k = it->key();
      const rocksdb::Slice v = it->value();
      f(std::string_view(k.data() + 8, k.size() - 8), std::string_view(v.data(), v.size()));
    }
    check(it->status(), "scan");
  }

 private:
  rocksdb::DB& db() {
    if (db_ == nullptr) open();
    return *db_;
  }

  void open() {
    std::error_code ec;
    std::filesystem::remove_all(captures_dir_, ec);  // leftovers of a killed run
    std::filesystem::create_directories(dir_, ec);
    if (ec) throw std::runtime_error("rocksdb state store " + dir_ + ": " + ec.message());
    check(rocksdb::DestroyDB(dir_, options_), "wipe");  // leftovers of a killed run
    open_existing();
  }

  void open_existing() {
    rocksdb::DB* db = nullptr;
    check(rocksdb::DB::Open(options_, dir_, &db), "open");
    db_.reset(db);
  }

  // Copies the entries of `key_groups` from `source`'s database (opened read-only in a
  // directory of its own) into this one.
  void copy_key_groups(const StoreRestoreSource& source, KeyGroupRange key_groups) {
    const std::string from_dir = dir_ + ".restoring";
    std::error_code ec;
    std::filesystem::remove_all(from_dir, ec);
    materialize_store_files(source, from_dir);
    {
      rocksdb::DB* raw = nullptr;
      check(rocksdb::DB::OpenForReadOnly(options_, from_dir, &raw), "open checkpoint");
      std::unique_ptr<rocksdb::DB> from(raw);
      std::unique_ptr<rocksdb::Iterator> it(from->NewIterator(rocksdb::ReadOptions()));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        const rocksdb::Slice k = it->key();
        if (k.size() < 8 || !key_groups.contains(be32_at(k, 4))) continue;
        check(batch_.Put(k, it->value()), "write");
        if (batch_.Count() >= 4096) commit();
      }
      check(it->status(), "read checkpoint");
      commit();
    }
    std::filesystem::remove_all(from_dir, ec);
  }

  const std::string& make_key(uint32_t state, uint32_t key_group, std::string_view key) {
    key_.clear();
    append_be32(key_, state);
    append_be32(key_, key_group);
    key_.append(key);
    return key_;
  }

  void check(const rocksdb::Status& s, const char* what) const {
    if (!s.ok())
      throw std::runtime_error("rocksdb state store " + dir_ + ": " + what + ": " + s.ToString());
  }

  const std::string dir_;
  const std::string captures_dir_;  // files captured for checkpoints, until uploaded
  const size_t cache_entries_;
  const bool incremental_;
  uint64_t captures_ = 0;
  std::shared_ptr<UploadedFiles> uploaded_ = std::make_shared<UploadedFiles>();
  rocksdb::Options options_;
  rocksdb::WriteOptions write_options_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteBatch batch_;
  std::string key_;
};

}  // namespace

std::unique_ptr<KeyedStateStore> make_rocksdb_state_store(std::string dir, size_t cache_entries,
                                                          bool incremental) {
  return std::make_unique<RocksDbStateStore>(std::move(dir), cache_entries, incremental);
}

}  // namespace segflow
