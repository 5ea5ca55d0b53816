#include "engine/rocksdb_state_store.h"

#include <filesystem>
#include <stdexcept>

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

namespace segflow {

namespace {

void append_be32(std::string& out, uint32_t v) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                         static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(bytes, 4);
}

class RocksDbStateStore final : public KeyedStateStore {
 public:
  RocksDbStateStore(std::string dir, size_t cache_entries)
      : dir_(std::move(dir)), cache_entries_(cache_entries) {
    options_.create_if_missing = true;
    options_.IncreaseParallelism(2);
    rocksdb::BlockBasedTableOptions table;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));  // most misses skip reads
    options_.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    write_options_.disableWAL = true;  // scratch: checkpoints make state durable
  }

  ~RocksDbStateStore() override {
    if (db_ == nullptr) return;
    db_.reset();
    rocksdb::DestroyDB(dir_, options_);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  size_t cache_entries() const override { return cache_entries_; }

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
    std::filesystem::create_directories(dir_, ec);
    if (ec) throw std::runtime_error("rocksdb state store " + dir_ + ": " + ec.message());
    check(rocksdb::DestroyDB(dir_, options_), "wipe");  // leftovers of a killed run
    rocksdb::DB* db = nullptr;
    check(rocksdb::DB::Open(options_, dir_, &db), "open");
    db_.reset(db);
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
  const size_t cache_entries_;
  rocksdb::Options options_;
  rocksdb::WriteOptions write_options_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteBatch batch_;
  std::string key_;
};

}  // namespace

std::unique_ptr<KeyedStateStore> make_rocksdb_state_store(std::string dir, size_t cache_entries) {
  return std::make_unique<RocksDbStateStore>(std::move(dir), cache_entries);
}

}  // namespace segflow
