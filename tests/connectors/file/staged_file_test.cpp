// The file sink's two-phase commit: nothing is visible before its checkpoint completes, a
// restore cuts the file back to what the checkpoint committed and commits what it left
// pending, and later staging files are discarded.
#include "connectors/file/staged_file.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/test_support.h"

namespace segflow {
namespace {

namespace fs = std::filesystem;

TEST(StagedFile, LinesAppearOnlyWhenTheirCheckpointCompletes) {
  testing::TempDir dir;
  const std::string path = dir.file("out.jsonl");
  StagedFile file(path, /*restoring=*/false);
  file.append("a\n");
  file.pre_commit(1);
  file.append("b\n");
  file.pre_commit(2);
  file.append("c\n");
  EXPECT_EQ(testing::read_file(path), "");
  file.commit(1);
  EXPECT_EQ(testing::read_file(path), "a\n");
  EXPECT_FALSE(fs::exists(path + ".pending-1"));
  EXPECT_TRUE(fs::exists(path + ".pending-2"));
  file.commit_all();
  EXPECT_EQ(testing::read_file(path), "a\nb\nc\n");
  EXPECT_FALSE(fs::exists(path + ".pending-2"));
  EXPECT_FALSE(fs::exists(path + ".inprogress"));
}

TEST(StagedFile, RestoreCommitsWhatTheCheckpointCoversAndDiscardsTheRest) {
  testing::TempDir dir;
  const std::string path = dir.file("out.jsonl");
  std::string state;
  {
    StagedFile file(path, false);
    file.append("a\n");
    file.pre_commit(1);
    file.commit(1);
    file.append("b\n");
    file.pre_commit(2);
    StateWriter w;
    file.snapshot(w);  // checkpoint 2: "a" committed, "b" pending
    state = w.take();
    // Checkpoint 2 completes but the process dies before committing it; later output:
    file.append("c\n");
    file.pre_commit(3);
    file.append("d\n");
  }
  // A partial commit of pending-3 reached the file before the crash.
  testing::write_file(path, "a\nb\nc\n");

  StagedFile restored(path, /*restoring=*/true);
  StateReader r(state);
  restored.restore(r);
  EXPECT_EQ(testing::read_file(path), "a\nb\n");
  EXPECT_FALSE(fs::exists(path + ".pending-2"));
  EXPECT_FALSE(fs::exists(path + ".pending-3"));
  restored.append("c\n");
  restored.pre_commit(3);
  restored.commit(3);
  EXPECT_EQ(testing::read_file(path), "a\nb\nc\n");
}

TEST(StagedFile, AFreshStartTruncatesAndRemovesStaleStagingFiles) {
  testing::TempDir dir;
  const std::string path = dir.file("out.jsonl");
  testing::write_file(path, "old\n");
  testing::write_file(path + ".pending-9", "stale\n");
  StagedFile file(path, /*restoring=*/false);
  EXPECT_EQ(testing::read_file(path), "");
  EXPECT_FALSE(fs::exists(path + ".pending-9"));
}

}  // namespace
}  // namespace segflow
