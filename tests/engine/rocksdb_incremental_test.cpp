// Incremental RocksDB checkpoints (engine/rocksdb_incremental.h) through the checkpoint
// files (engine/checkpoint_storage.h), as a subtask takes and restores them: a checkpoint
// uploads only data files no earlier one uploaded, restores at the same key groups and
// split or merged over others, retention deletes shared files no retained checkpoint
// references, and a damaged shared file makes its checkpoint invalid.
#include "engine/rocksdb_incremental.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/checkpoint_storage.h"
#include "engine/keyed_state.h"
#include "engine/rocksdb_state_store.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kMaxParallelism = 128;

// One operator subtask's keyed state on an incremental rocksdb store.
struct StoreSubtask {
  std::unique_ptr<KeyedStateStore> store;
  std::unique_ptr<ValueState<int64_t>> values;
  KeyGroupRange key_groups;
  uint32_t index;
  uint32_t parallelism;

  StoreSubtask(const std::string& dir, uint32_t index, uint32_t parallelism)
      : key_groups(KeyGroupRange::for_subtask(index, kMaxParallelism, parallelism)),
        index(index),
        parallelism(parallelism) {
#if SEGFLOW_HAVE_ROCKSDB
    store = make_rocksdb_state_store(dir, /*cache_entries=*/16, /*incremental=*/true);
#endif
    values = std::make_unique<ValueState<int64_t>>(
        KeyedStateScope{key_groups, kMaxParallelism, &SystemClock::instance(), store.get()});
  }

  // What Subtask::take_snapshot does for a slot with an incremental store.
  OperatorSnapshot snapshot() {
    StateWriter w;
    store->set_snapshot_in_files(true);
    values->snapshot(w);
    store->set_snapshot_in_files(false);
    OperatorSnapshot op{"op", index, parallelism, w.take(), ""};
    op.pending_store = store->snapshot_files("op-" + std::to_string(index));
    return op;
  }

  // What Subtask::restore_slot does: the store files of the old subtasks that share key
  // groups with this one, then the operator's restore.
  void restore(const CheckpointData& data) {
    std::vector<StoreRestoreSource> sources;
    for (const OperatorSnapshot& op : data.by_operator.at("op")) {
      const KeyGroupRange groups =
          KeyGroupRange::for_subtask(op.subtask, kMaxParallelism, op.parallelism);
      if (groups.end > key_groups.begin && groups.begin < key_groups.end)
        sources.push_back({data.path, &*op.store, groups});
    }
    store->restore_files(sources, key_groups);
    for (const OperatorSnapshot& op : data.by_operator.at("op")) {
      StateReader r(op.state);
      values->restore(r);
    }
  }

  std::map<std::string, int64_t> contents() {
    std::map<std::string, int64_t> out;
    values->for_each([&](std::string_view key, int64_t& v) { out.emplace(key, v); });
    return out;
  }
};

// Writes checkpoint `id` of `subtasks` under `base`; returns the subtask files' descriptions.
std::vector<CheckpointFile> checkpoint(const std::string& base, int64_t id,
                                       std::vector<StoreSubtask*> subtasks) {
  const std::string dir = base + "/" + checkpoint_storage::directory_name(id, false);
  fs::create_directories(dir);
  std::vector<CheckpointFile> files;
  for (StoreSubtask* s : subtasks)
    files.push_back(checkpoint_storage::write_subtask_file(
        dir + "/op-" + std::to_string(s->index) + ".state", {s->snapshot()}));
  checkpoint_storage::write_metadata(dir, id, files);
  return files;
}

std::set<std::string> shared_files(const std::string& base) {
  std::set<std::string> out;
  for (const auto& f : fs::directory_iterator(base + "/shared"))
    out.insert(f.path().filename().string());
  return out;
}

// Shared file names (in shared/) a checkpoint's subtask files reference.
std::set<std::string> referenced(const std::vector<CheckpointFile>& files) {
  std::set<std::string> out;
  for (const CheckpointFile& f : files)
    for (const StoreFile& s : f.shared) out.insert(fs::path(s.path).filename().string());
  return out;
}

class RocksDbIncrementalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!SEGFLOW_HAVE_ROCKSDB)
      SEGFLOW_SKIP_WITHOUT("RocksDB (librocksdb-dev) not built in: no rocksdb state backend");
  }
  std::string state(const std::string& name) { return dir_.file("state/" + name); }
  std::string base() { return dir_.file("checkpoints"); }

  testing::TempDir dir_;
};

TEST_F(RocksDbIncrementalTest, ASecondCheckpointUploadsOnlyNewFilesAndRestoresExactly) {
  StoreSubtask before(state("before"), 0, 1);
  for (int i = 0; i < 5000; ++i) before.values->put("u" + std::to_string(i), i);
  const std::vector<CheckpointFile> first = checkpoint(base(), 1, {&before});
  ASSERT_FALSE(first[0].shared.empty());
  uint64_t first_total = 0;
  for (const StoreFile& f : first[0].shared) first_total += f.size;
  EXPECT_EQ(first[0].uploaded_bytes, first_total);  // all new

  for (int i = 0; i < 10; ++i) before.values->put("u" + std::to_string(i), -i);
  before.values->erase("u4999");
  const std::vector<CheckpointFile> second = checkpoint(base(), 2, {&before});
  uint64_t second_total = 0, reused = 0;
  for (const StoreFile& f : second[0].shared) {
    second_total += f.size;
    if (f.path.find("chk-000001") != std::string::npos) reused += f.size;
  }
  EXPECT_GT(second[0].uploaded_bytes, 0u);
  EXPECT_EQ(second[0].uploaded_bytes + reused, second_total);
  EXPECT_GE(reused, first_total / 2);  // the first checkpoint's data was not uploaded again

  const CheckpointData data = checkpoint_storage::load(base() + "/chk-000002");
  EXPECT_EQ(data.by_operator.at("op")[0].state.size(), 8u);  // a marker, not the entries
  StoreSubtask after(state("after"), 0, 1);
  after.restore(data);
  EXPECT_EQ(after.contents(), before.contents());
  EXPECT_EQ(after.contents().size(), 4999u);
  EXPECT_EQ(*after.values->get("u3"), -3);
}

TEST_F(RocksDbIncrementalTest, RestoresSplitOverMoreSubtasksAndMergedOverFewer) {
  StoreSubtask one(state("one"), 0, 1);
  for (int i = 0; i < 3000; ++i) one.values->put("u" + std::to_string(i), i * 7);
  const std::map<std::string, int64_t> all = one.contents();
  checkpoint(base(), 1, {&one});
  const CheckpointData at_one = checkpoint_storage::load(base() + "/chk-000001");

  StoreSubtask left(state("left"), 0, 2), right(state("right"), 1, 2);
  left.restore(at_one);
  right.restore(at_one);
  std::map<std::string, int64_t> both = left.contents();
  for (const auto& [key, value] : right.contents()) {
    EXPECT_TRUE(right.key_groups.contains(key_group_of(key, kMaxParallelism)));
    EXPECT_TRUE(both.emplace(key, value).second) << key << " in both halves";
  }
  for (const auto& [key, value] : left.contents())
    EXPECT_TRUE(left.key_groups.contains(key_group_of(key, kMaxParallelism)));
  EXPECT_EQ(both, all);
  EXPECT_FALSE(left.contents().empty());
  EXPECT_FALSE(right.contents().empty());

  StoreSubtask& owner =
      left.key_groups.contains(key_group_of("u1", kMaxParallelism)) ? left : right;
  owner.values->put("u1", -1);
  checkpoint(base(), 2, {&left, &right});
  StoreSubtask merged(state("merged"), 0, 1);
  merged.restore(checkpoint_storage::load(base() + "/chk-000002"));
  std::map<std::string, int64_t> expected = all;
  expected["u1"] = -1;
  EXPECT_EQ(merged.contents(), expected);
}

TEST_F(RocksDbIncrementalTest, RetentionDeletesSharedFilesNoRetainedCheckpointReferences) {
  StoreSubtask s(state("s"), 0, 1);
  for (int i = 0; i < 2000; ++i) s.values->put("u" + std::to_string(i), i);
  const std::set<std::string> first = referenced(checkpoint(base(), 1, {&s}));
  // Each checkpoint flushes a new file; once enough have piled up, RocksDB compacts them
  // into new ones (in the background: checkpoint until the first ones are gone from it).
  std::vector<std::set<std::string>> refs = {first};
  for (int64_t id = 2; id < 80; ++id) {
    for (int i = 0; i < 2000; ++i) s.values->put("u" + std::to_string(i), id);
    refs.push_back(referenced(checkpoint(base(), id, {&s})));
    checkpoint_storage::apply_retention(base(), 2);
    std::set<std::string> retained = refs[refs.size() - 1];
    retained.insert(refs[refs.size() - 2].begin(), refs[refs.size() - 2].end());
    ASSERT_EQ(shared_files(base()), retained);  // nothing else left, nothing missing
    bool first_unreferenced = true;
    for (const std::string& f : first) first_unreferenced &= retained.count(f) == 0;
    if (first_unreferenced) break;
  }
  const std::set<std::string> left = shared_files(base());
  for (const std::string& f : first)
    EXPECT_EQ(left.count(f), 0u) << f << ": RocksDB never compacted the first files away";

  StoreSubtask restored(state("restored"), 0, 1);
  restored.restore(checkpoint_storage::load_from(base()));
  EXPECT_EQ(restored.contents(), s.contents());

  checkpoint_storage::remove_checkpoints(base());
  EXPECT_FALSE(fs::exists(base() + "/shared"));
}

void damage(const std::string& path, bool remove) {
  if (remove) {
    fs::remove(path);
    return;
  }
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(100);
  f.put('\x7f');
}

TEST_F(RocksDbIncrementalTest, ADamagedSharedFileMakesItsCheckpointInvalid) {
  for (const bool remove : {false, true}) {
    SCOPED_TRACE(remove ? "missing" : "corrupt");
    const std::string checkpoints = base() + (remove ? "-missing" : "-corrupt");
    StoreSubtask s(state(remove ? "missing" : "corrupt"), 0, 1);
    for (int i = 0; i < 2000; ++i) s.values->put("u" + std::to_string(i), i);
    checkpoint(checkpoints, 1, {&s});
    const std::map<std::string, int64_t> at_first = s.contents();
    for (int i = 0; i < 2000; i += 2) s.values->put("u" + std::to_string(i), -i);
    const std::vector<CheckpointFile> second = checkpoint(checkpoints, 2, {&s});
    std::string uploaded_by_second;
    for (const StoreFile& f : second[0].shared)
      if (f.path.find("chk-000002") != std::string::npos) uploaded_by_second = f.path;
    ASSERT_FALSE(uploaded_by_second.empty());
    damage(checkpoints + "/chk-000002/" + uploaded_by_second, remove);

    std::vector<std::string> skipped;
    const auto latest = checkpoint_storage::load_latest(checkpoints, false, &skipped);
    ASSERT_TRUE(latest.has_value());
    EXPECT_EQ(latest->id, 1);
    ASSERT_EQ(skipped.size(), 1u);
    EXPECT_NE(skipped[0].find(remove ? "missing" : "checksum differs"), std::string::npos)
        << skipped[0];
    StoreSubtask restored(state(remove ? "restored-missing" : "restored-corrupt"), 0, 1);
    restored.restore(*latest);
    EXPECT_EQ(restored.contents(), at_first);
  }
}

TEST_F(RocksDbIncrementalTest, TheHeapBackendRefusesStateHeldInStoreFiles) {
  StoreSubtask s(state("s"), 0, 1);
  s.values->put("u1", 1);
  checkpoint(base(), 1, {&s});
  const CheckpointData data = checkpoint_storage::load(base() + "/chk-000001");
  ValueState<int64_t> heap(KeyedStateScope{{0, kMaxParallelism}, kMaxParallelism});
  StateReader r(data.by_operator.at("op")[0].state);
  EXPECT_THROW(heap.restore(r), StateFormatError);
}

}  // namespace
}  // namespace segflow
