#include "connectors/file/file_sink.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "engine/registry.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

using ::testing::HasSubstr;

ConfigNode config_node(const std::string& yaml) {
  return ConfigNode(YAML::Load(yaml), std::make_shared<const std::string>("test.yaml"), "");
}

FileSink::Config sink_config(const std::string& yaml) {
  const ConfigNode node = config_node(yaml);
  FileSink::Config config = FileSink::Config::parse(node);
  node.finish();
  return config;
}

BatchPtr sample_batch(int first) {
  BatchPtr batch = BatchPool::acquire();
  for (int i = first; i < first + 2; ++i)
    batch
        ->add(EventKind::kTrack, "user-" + std::to_string(i), 1714564800000 + i,
              intern("Order Completed"))
        .set("properties.revenue", Value::real(i + 0.5));
  return batch;
}

std::string sample_line(int i) {
  return "{\"type\":\"track\",\"event\":\"Order Completed\",\"profile\":\"user-" +
         std::to_string(i) + "\",\"timestamp\":\"2024-05-01T12:00:00.00" + std::to_string(i) +
         "Z\",\"properties.revenue\":" + std::to_string(i) + ".5}";
}

Output null_output() {
  return Output([](BatchPtr&) { FAIL() << "a sink emits nothing"; }, 16);
}

TEST(FileSink, IsRegistered) {
  const RegisteredType* type = Registry::global().find("file_sink");
  ASSERT_NE(type, nullptr);
  EXPECT_FALSE(type->is_source);
}

TEST(FileSink, WritesJsonLinesCreatingParentDirectories) {
  testing::TempDir dir;
  const std::string path = dir.file("a/b/out.jsonl");
  FileSink sink(sink_config("path: " + path + "\n"));
  OperatorContext ctx;
  sink.open(ctx);
  Output out = null_output();
  sink.process(*sample_batch(1), out);
  // flush: batch makes whole lines visible before close.
  EXPECT_EQ(testing::read_lines(path), (std::vector<std::string>{sample_line(1), sample_line(2)}));
  sink.process(*sample_batch(3), out);
  sink.close(out);
  EXPECT_EQ(testing::read_lines(path), (std::vector<std::string>{sample_line(1), sample_line(2),
                                                                 sample_line(3), sample_line(4)}));
}

TEST(FileSink, TruncatesAnExistingFile) {
  testing::TempDir dir;
  const std::string path = dir.file("out.jsonl");
  testing::write_file(path, "old line\nand another\n");
  FileSink sink(sink_config("path: " + path + "\n"));
  OperatorContext ctx;
  sink.open(ctx);
  Output out = null_output();
  sink.process(*sample_batch(1), out);
  sink.close(out);
  EXPECT_EQ(testing::read_lines(path), (std::vector<std::string>{sample_line(1), sample_line(2)}));
}

TEST(FileSink, FlushAtCloseBuffersUntilClose) {
  testing::TempDir dir;
  const std::string path = dir.file("out.jsonl");
  FileSink sink(sink_config("path: " + path + "\nflush: close\n"));
  OperatorContext ctx;
  sink.open(ctx);
  Output out = null_output();
  sink.process(*sample_batch(1), out);
  EXPECT_EQ(testing::read_file(path), "");
  sink.close(out);
  EXPECT_EQ(testing::read_lines(path), (std::vector<std::string>{sample_line(1), sample_line(2)}));
}

TEST(FileSink, EachParallelSubtaskWritesItsOwnFile) {
  EXPECT_EQ(FileSink::subtask_path("out/seg.jsonl", 0, 1), "out/seg.jsonl");
  EXPECT_EQ(FileSink::subtask_path("out/seg.jsonl", 1, 4), "out/seg-1.jsonl");
  EXPECT_EQ(FileSink::subtask_path("seg", 3, 4), "seg-3");
  EXPECT_EQ(FileSink::subtask_path("/tmp/x.d/seg.tar.gz", 0, 2), "/tmp/x.d/seg.tar-0.gz");

  testing::TempDir dir;
  const FileSink::Config config = sink_config("path: " + dir.file("out/seg.jsonl") + "\n");
  for (uint32_t i = 0; i < 2; ++i) {
    FileSink sink(config);
    OperatorContext ctx;
    ctx.subtask = i;
    ctx.parallelism = 2;
    sink.open(ctx);
    Output out = null_output();
    sink.process(*sample_batch(static_cast<int>(i) * 2 + 1), out);
    sink.close(out);
  }
  EXPECT_EQ(testing::read_lines(dir.file("out/seg-0.jsonl")),
            (std::vector<std::string>{sample_line(1), sample_line(2)}));
  EXPECT_EQ(testing::read_lines(dir.file("out/seg-1.jsonl")),
            (std::vector<std::string>{sample_line(3), sample_line(4)}));
  EXPECT_FALSE(std::filesystem::exists(dir.file("out/seg.jsonl")));
}

TEST(FileSink, NamesThePathAndTheReasonWhenItCannotOpen) {
  testing::TempDir dir;
  OperatorContext ctx;
  try {
    FileSink sink(sink_config("path: " + dir.path().string() + "\n"));
    sink.open(ctx);
    ADD_FAILURE() << "opened a directory";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(dir.path().string()));
    EXPECT_THAT(e.what(), HasSubstr("Is a directory"));
  }
  testing::write_file(dir.file("plain"), "");
  try {
    FileSink sink(sink_config("path: " + dir.file("plain/out.jsonl") + "\n"));
    sink.open(ctx);
    ADD_FAILURE() << "opened a file under a regular file";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(dir.file("plain/out.jsonl")));
    EXPECT_THAT(e.what(), HasSubstr("Not a directory"));
  }
}

TEST(FileSink, RejectsBadConfigWithItsLocation) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"flush: batch\n", "test.yaml:1:1: missing required field 'path'"},
      {"path: ''\n", "test.yaml:1:7: path: must not be empty"},
      {"path: out.jsonl\nflush: sometimes\n",
       "test.yaml:2:8: flush: expected 'batch' or 'close', found 'sometimes'"},
      {"path: out.jsonl\nappend: true\n", "test.yaml:2:1: unknown key 'append'"},
  };
  for (const auto& [yaml, message] : cases) {
    SCOPED_TRACE(yaml);
    EXPECT_THAT(testing::spec_error_of([&] { sink_config(yaml); }), HasSubstr(message));
  }
}

}  // namespace
}  // namespace segflow
