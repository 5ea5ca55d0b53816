// Checkpoint files on disk: round trip, damaged and partial checkpoints skipped in favour of
// the previous complete one, retention.
#include "engine/checkpoint_storage.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/test_support.h"

namespace segflow {
namespace {

namespace fs = std::filesystem;

// Writes a complete checkpoint `id` under `base` holding operator "op" with `state`.
std::string write_checkpoint(const std::string& base, int64_t id, const std::string& state,
                             bool savepoint = false) {
  const std::string dir = base + "/" + checkpoint_storage::directory_name(id, savepoint);
  fs::create_directories(dir);
  OperatorSnapshot op{"op", 0, 1, state, "timers"};
  const CheckpointFile file = checkpoint_storage::write_subtask_file(dir + "/op-0.state", {op});
  checkpoint_storage::write_metadata(dir, id, {file});
  return dir;
}

void flip_byte(const std::string& path, size_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x20));
}

TEST(CheckpointStorageTest, RoundTrip) {
  testing::TempDir dir;
  const std::string path = write_checkpoint(dir.path().string(), 3, "hello");
  EXPECT_EQ(fs::path(path).filename(), "chk-000003");
  const CheckpointData data = checkpoint_storage::load(path);
  EXPECT_EQ(data.id, 3);
  ASSERT_EQ(data.by_operator.at("op").size(), 1u);
  EXPECT_EQ(data.by_operator.at("op")[0].state, "hello");
  EXPECT_EQ(data.by_operator.at("op")[0].timers, "timers");
  EXPECT_GT(data.bytes, 0u);
}

TEST(CheckpointStorageTest, CorruptOrPartialCheckpointFallsBackToThePreviousOne) {
  testing::TempDir dir;
  const std::string base = dir.path().string();
  write_checkpoint(base, 1, "one");
  const std::string second = write_checkpoint(base, 2, "two");
  const std::string third = write_checkpoint(base, 3, "three");
  fs::remove(third + "/_metadata");  // crashed before completing
  flip_byte(second + "/op-0.state", 30);

  std::vector<std::string> skipped;
  const auto latest = checkpoint_storage::load_latest(base, false, &skipped);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->id, 1);
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_NE(skipped[0].find("_metadata: missing"), std::string::npos) << skipped[0];
  EXPECT_NE(skipped[1].find("differs from _metadata"), std::string::npos) << skipped[1];
  EXPECT_THROW(checkpoint_storage::load(second), std::runtime_error);
}

TEST(CheckpointStorageTest, CorruptMetadataAndTruncatedFilesAreDetected) {
  testing::TempDir dir;
  const std::string base = dir.path().string();
  const std::string one = write_checkpoint(base, 1, "one");
  flip_byte(one + "/_metadata", 20);
  EXPECT_THROW(checkpoint_storage::load(one), std::runtime_error);
  const std::string two = write_checkpoint(base, 2, "two");
  fs::resize_file(two + "/op-0.state", 10);
  EXPECT_THROW(checkpoint_storage::load(two), std::runtime_error);
  EXPECT_THROW(checkpoint_storage::load_from(base), std::runtime_error);
}

TEST(CheckpointStorageTest, SavepointsAreFoundOnRequestAndSurviveRetention) {
  testing::TempDir dir;
  const std::string base = dir.path().string();
  for (int id = 1; id <= 5; ++id) write_checkpoint(base, id, "c", /*savepoint=*/id == 2);
  fs::create_directories(base + "/chk-000006");  // in progress: kept
  checkpoint_storage::apply_retention(base, 2);
  EXPECT_FALSE(fs::exists(base + "/chk-000001"));
  EXPECT_TRUE(fs::exists(base + "/savepoint-000002"));
  EXPECT_FALSE(fs::exists(base + "/chk-000003"));
  EXPECT_TRUE(fs::exists(base + "/chk-000004"));
  EXPECT_TRUE(fs::exists(base + "/chk-000005"));
  EXPECT_TRUE(fs::exists(base + "/chk-000006"));

  write_checkpoint(base, 7, "s", /*savepoint=*/true);
  EXPECT_EQ(checkpoint_storage::load_latest(base, false)->id, 5);
  EXPECT_EQ(checkpoint_storage::load_latest(base, true)->id, 7);
  EXPECT_EQ(checkpoint_storage::load_from(base).id, 7);

  checkpoint_storage::remove_newer_than(base, 4);
  EXPECT_FALSE(fs::exists(base + "/chk-000005"));
  EXPECT_FALSE(fs::exists(base + "/savepoint-000007"));
  checkpoint_storage::remove_checkpoints(base);
  EXPECT_FALSE(fs::exists(base + "/chk-000004"));
  EXPECT_TRUE(fs::exists(base + "/savepoint-000002"));
}

}  // namespace
}  // namespace segflow
