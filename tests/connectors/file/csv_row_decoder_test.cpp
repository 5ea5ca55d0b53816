#include "connectors/file/csv_row_decoder.h"

#include <gtest/gtest.h>

#include "connectors/file/csv_split.h"

namespace segflow {
namespace {

std::vector<std::string> split(std::string_view line, char delimiter = ',') {
  std::vector<std::string_view> fields;
  std::string scratch;
  if (!split_csv_row(line, delimiter, fields, scratch)) return {"<malformed>"};
  return {fields.begin(), fields.end()};
}

using Fields = std::vector<std::string>;

TEST(CsvSplit, Rfc4180Quoting) {
  EXPECT_EQ(split("a,b,c"), (Fields{"a", "b", "c"}));
  EXPECT_EQ(split(""), (Fields{""}));
  EXPECT_EQ(split(","), (Fields{"", ""}));
  EXPECT_EQ(split("a,,"), (Fields{"a", "", ""}));
  EXPECT_EQ(split(R"("a,b",c)"), (Fields{"a,b", "c"}));
  EXPECT_EQ(split(R"("say ""hi""","x""y","")"), (Fields{"say \"hi\"", "x\"y", ""}));
  EXPECT_EQ(split(R"("""")"), (Fields{"\""}));
  EXPECT_EQ(split(R"(a"b,c)"), (Fields{"a\"b", "c"})) << "quote inside an unquoted field";
  EXPECT_EQ(split(R"( "a",b)"), (Fields{" \"a\"", "b"}));
  EXPECT_EQ(split("a;\"b;c\";d", ';'), (Fields{"a", "b;c", "d"}));
  EXPECT_EQ(split("a\tb", '\t'), (Fields{"a", "b"}));
  EXPECT_EQ(split(std::string_view("a\0b,c", 5)), (Fields{std::string("a\0b", 3), "c"}));
}

TEST(CsvSplit, MalformedRows) {
  EXPECT_EQ(split(R"("abc)"), (Fields{"<malformed>"}));
  EXPECT_EQ(split(R"(a,"b"")"), (Fields{"<malformed>"}));
  EXPECT_EQ(split(R"(a,"b""")"), (Fields{"a", "b\""}));
  EXPECT_EQ(split(R"("a"b,c)"), (Fields{"<malformed>"}));
  EXPECT_EQ(split(R"("a" ,c)"), (Fields{"<malformed>"}));
}

TEST(CsvSplit, ManyDoubledQuotesStayValid) {
  // Views into the scratch buffer must survive later appends (no reallocation).
  std::string line;
  for (int i = 0; i < 200; ++i) line += "\"x\"\"" + std::to_string(i) + "\"\"\",";
  line += "end";
  const Fields fields = split(line);
  ASSERT_EQ(fields.size(), 201u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(fields[i], "x\"" + std::to_string(i) + "\"");
}

TEST(CsvRowDecoder, HeaderParsing) {
  EXPECT_EQ(*CsvRowDecoder::parse_header("\xEF\xBB\xBF"
                                         "a,\"b c\",d",
                                         ','),
            (Fields{"a", "b c", "d"}));
  EXPECT_FALSE(CsvRowDecoder::parse_header("\"a,b", ',').has_value());
}

TEST(CsvRowDecoder, AutoTypingKeepsCodesAsText) {
  EXPECT_EQ(auto_typed_value("42"), Value::integer(42));
  EXPECT_EQ(auto_typed_value("-7"), Value::integer(-7));
  EXPECT_EQ(auto_typed_value("0"), Value::integer(0));
  EXPECT_EQ(auto_typed_value("0.5"), Value::real(0.5));
  EXPECT_EQ(auto_typed_value("2103807459595387724"), Value::integer(2103807459595387724));
  EXPECT_EQ(auto_typed_value("99999999999999999999"), Value::real(1e20));
  EXPECT_EQ(auto_typed_value("007"), Value::string("007"));
  EXPECT_EQ(auto_typed_value("85123A"), Value::string("85123A"));
  EXPECT_EQ(auto_typed_value("inf"), Value::string("inf"));
  EXPECT_EQ(auto_typed_value("nan"), Value::string("nan"));
  EXPECT_EQ(auto_typed_value("1e999"), Value::string("1e999"));
  EXPECT_EQ(auto_typed_value("+5"), Value::string("+5"));
  EXPECT_EQ(auto_typed_value("1-2"), Value::string("1-2"));
  EXPECT_EQ(auto_typed_value("-"), Value::string("-"));
  EXPECT_EQ(auto_typed_value(" 5"), Value::string(" 5"));
}

}  // namespace
}  // namespace segflow
