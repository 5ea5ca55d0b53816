#include "operators/expression/expression.h"
#include "tests/support/test_support.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>

namespace segflow {
namespace {

using ::testing::HasSubstr;

class ExpressionTest : public ::testing::Test {
 protected:
  ExpressionTest() {
    batch_.add(EventKind::kTrack, "u1", 1000, intern("Product Viewed"))
        .set("properties.price", Value::real(19.5))
        .set("properties.quantity", Value::integer(2))
        .set("properties.category", Value::string("electronics"))
        .set("context.device.type", Value::string("mobile"))
        .set("traits.email", Value::string("ann@corp.com"))
        .set("traits.vip", Value::boolean(true))
        .set("properties.gift", Value::null())
        .set("odd name", Value::string("x1"));
  }
  bool test(const std::string& text) {
    return Expression::parse(text).test(batch_, batch_.records()[0]);
  }
  double number(const std::string& text) {
    double out = -12345;
    const bool ok = Expression::parse(text, Expression::Kind::kNumber)
                        .number(RecordProperties(batch_, batch_.records()[0]), out);
    return ok ? out : -99999;
  }
  Batch batch_;
};

TEST_F(ExpressionTest, Comparisons) {
  EXPECT_TRUE(test("properties.category == 'electronics'"));
  EXPECT_FALSE(test("properties.category == \"books\""));
  EXPECT_TRUE(test("properties.category != 'books'"));
  EXPECT_TRUE(test("properties.price > 19 and properties.price <= 19.5"));
  EXPECT_FALSE(test("properties.price < 19.5"));
  EXPECT_TRUE(test("properties.quantity >= 2"));
  EXPECT_TRUE(test("properties.category < 'f'"));
  EXPECT_TRUE(test("traits.vip == true"));
  EXPECT_TRUE(test("traits.vip"));
  EXPECT_FALSE(test("properties.category"));  // a string is not true
}

TEST_F(ExpressionTest, MissingAndNullCompareFalseEvenNotEqual) {
  EXPECT_FALSE(test("properties.nope == 1"));
  EXPECT_FALSE(test("properties.nope != 1"));
  EXPECT_FALSE(test("properties.gift != 'x'"));
  EXPECT_TRUE(test("not (properties.nope == 1)"));
  EXPECT_FALSE(test("exists(properties.gift)"));
  EXPECT_FALSE(test("exists(properties.nope)"));
  EXPECT_TRUE(test("exists(properties.price)"));
  // A number and a string are never equal.
  EXPECT_FALSE(test("properties.category == 3"));
  EXPECT_TRUE(test("properties.category != 3"));
  EXPECT_FALSE(test("properties.category > 3"));
}

TEST_F(ExpressionTest, InAndStrings) {
  EXPECT_TRUE(test("context.device.type in ['tablet', 'mobile']"));
  EXPECT_FALSE(test("context.device.type not in ['tablet', 'mobile']"));
  EXPECT_TRUE(test("properties.quantity in [1, 2, -3]"));
  EXPECT_FALSE(test("properties.quantity in ['2']"));
  EXPECT_FALSE(test("properties.nope not in [1]"));
  EXPECT_TRUE(test("traits.email ends_with '@corp.com'"));
  EXPECT_TRUE(test("traits.email starts_with 'ann'"));
  EXPECT_TRUE(test("traits.email contains '@'"));
  EXPECT_FALSE(test("traits.email contains 'bob'"));
  EXPECT_FALSE(test("properties.price contains '1'"));
  EXPECT_TRUE(test("`odd name` == 'x1'"));
  EXPECT_TRUE(test("'it\\'s' == \"it's\""));
}

TEST_F(ExpressionTest, LogicPrecedence) {
  EXPECT_TRUE(test("properties.price > 100 or properties.quantity == 2 and traits.vip"));
  EXPECT_FALSE(test("(properties.price > 100 or properties.quantity == 2) and not traits.vip"));
  EXPECT_TRUE(test("not not traits.vip"));
  EXPECT_FALSE(test("not traits.vip or properties.gift == 1"));
}

TEST_F(ExpressionTest, Arithmetic) {
  EXPECT_DOUBLE_EQ(number("properties.price * properties.quantity"), 39.0);
  EXPECT_DOUBLE_EQ(number("1 + 2 * 3 - 4 / 2"), 5.0);
  EXPECT_DOUBLE_EQ(number("-(1 + 2) * 2"), -6.0);
  EXPECT_DOUBLE_EQ(number("7 % 4"), 3.0);
  EXPECT_DOUBLE_EQ(number("properties.quantity - -1"), 3.0);
  EXPECT_EQ(number("1 / 0"), -99999);  // missing
  EXPECT_EQ(number("properties.nope + 1"), -99999);
  EXPECT_EQ(number("properties.category + 1"), -99999);
  EXPECT_TRUE(test("properties.price * properties.quantity > 30"));
}

TEST_F(ExpressionTest, ReadsListsEachPropertyOnce) {
  const Expression e = Expression::parse("a.b > 1 and a.b < 3 or exists(c)");
  ASSERT_EQ(e.reads().size(), 2u);
  EXPECT_EQ(symbol_name(e.reads()[0]), "a.b");
  EXPECT_EQ(symbol_name(e.reads()[1]), "c");
}

size_t error_offset(const std::string& text, Expression::Kind kind = Expression::Kind::kCondition) {
  try {
    Expression::parse(text, kind);
  } catch (const ExpressionError& e) {
    return e.offset();
  }
  ADD_FAILURE() << "no error for: " << text;
  return 9999;
}

TEST(ExpressionErrors, ReportOffsets) {
  EXPECT_EQ(error_offset("a == "), 5u);
  EXPECT_EQ(error_offset("a = 1"), 2u);
  EXPECT_EQ(error_offset("a == 'x"), 5u);
  EXPECT_EQ(error_offset("(a == 1"), 7u);
  EXPECT_EQ(error_offset("a == 1 b"), 7u);
  EXPECT_EQ(error_offset("a in [1, b]"), 9u);
  EXPECT_EQ(error_offset("'x' + 1 > 2"), 0u);
  EXPECT_EQ(error_offset("a == 1 and 3"), 11u);
  EXPECT_EQ(error_offset("1 == 'x'"), 0u);
  EXPECT_EQ(error_offset("a < 'x' and 'y' > 1"), 18u);
  EXPECT_EQ(error_offset("3 starts_with 'x'"), 0u);
  EXPECT_EQ(error_offset("a + 1"), 0u);
  EXPECT_EQ(error_offset("a > 1", Expression::Kind::kNumber), 0u);
  EXPECT_EQ(error_offset("a..b == 1"), 0u);
  EXPECT_EQ(error_offset("a == 1e999"), 5u);
  EXPECT_EQ(error_offset("and"), 0u);
  EXPECT_EQ(error_offset(""), 0u);
  EXPECT_EQ(error_offset(std::string(200, '(') + "a" + std::string(200, ')')), 64u);
}

TEST(ExpressionErrors, ConfigNodeNamesFileLineAndColumn) {
  const ConfigNode node(YAML::Load("x: 1\nwhere: \"a == = 2\"\n"),
                        std::make_shared<const std::string>("job.yaml"), "op");
  const std::string message = testing::spec_error_of([&] { Expression::parse(node, "where"); });
  EXPECT_THAT(message, HasSubstr("job.yaml:2:"));
  EXPECT_THAT(message, HasSubstr("column 6"));
}

}  // namespace
}  // namespace segflow
