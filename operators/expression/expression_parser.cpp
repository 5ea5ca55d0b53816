// The parser of Expression: a hand-written lexer and recursive-descent parser that builds the
// node tree and checks operand types (a string literal in arithmetic, a number literal with
// starts_with...) before anything runs.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include "operators/expression/expression.h"

namespace segflow {

namespace {

enum class Tok : uint8_t {
  kEnd,
  kName,
  kNumber,
  kString,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kPercent,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
};

struct Token {
  Tok kind = Tok::kEnd;
  size_t offset = 0;
  std::string text;  // names (unquoted), string literals (unescaped)
  double number = 0;
  bool quoted_name = false;  // `...`: never a keyword
};

// The static type of a node, for checks at parse time. kAny: a property (known per event).
enum class Type : uint8_t { kAny, kBool, kNumber, kString, kNull };

constexpr size_t kMaxDepth = 64;
constexpr size_t kMaxLength = 16384;

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Token next() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    Token t;
    t.offset = pos_;
    if (pos_ >= text_.size()) return t;
    const char c = text_[pos_];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$') return name(t);
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && pos_ + 1 < text_.size() &&
         std::isdigit(static_cast<unsigned char>(text_[pos_ + 1]))))
      return number(t);
    if (c == '\'' || c == '"') return string(t, c);
    if (c == '`') return quoted_name(t);
    ++pos_;
    switch (c) {
      case '(':
        t.kind = Tok::kLParen;
        return t;
      case ')':
        t.kind = Tok::kRParen;
        return t;
      case '[':
        t.kind = Tok::kLBracket;
        return t;
      case ']':
        t.kind = Tok::kRBracket;
        return t;
      case ',':
        t.kind = Tok::kComma;
        return t;
      case '+':
        t.kind = Tok::kPlus;
        return t;
      case '-':
        t.kind = Tok::kMinus;
        return t;
      case '*':
        t.kind = Tok::kStar;
        return t;
      case '/':
        t.kind = Tok::kSlash;
        return t;
      case '%':
        t.kind = Tok::kPercent;
        return t;
      case '=':
        if (accept('=')) {
          t.kind = Tok::kEq;
          return t;
        }
        throw ExpressionError(t.offset, "'=' is not an operator; use '=='");
      case '!':
        if (accept('=')) {
          t.kind = Tok::kNe;
          return t;
        }
        throw ExpressionError(t.offset, "'!' is not an operator; use 'not' or '!='");
      case '<':
        t.kind = accept('=') ? Tok::kLe : Tok::kLt;
        return t;
      case '>':
        t.kind = accept('=') ? Tok::kGe : Tok::kGt;
        return t;
      default:
        throw ExpressionError(t.offset, std::string("unexpected character '") + c + "'");
    }
  }

 private:
  bool accept(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  static bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || c == '.';
  }
  Token name(Token t) {
    const size_t start = pos_;
    while (pos_ < text_.size() && name_char(text_[pos_])) ++pos_;
    t.kind = Tok::kName;
    t.text = std::string(text_.substr(start, pos_ - start));
    if (t.text.back() == '.' || t.text.find("..") != std::string::npos)
      throw ExpressionError(t.offset, "malformed name '" + t.text + "'");
    return t;
  }
  Token number(Token t) {
    const size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.'))
      ++pos_;
    const std::string_view digits = text_.substr(start, pos_ - start);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), t.number);
    if (ec != std::errc() || end != digits.data() + digits.size() || !std::isfinite(t.number))
      throw ExpressionError(t.offset, "malformed number '" + std::string(digits) + "'");
    t.kind = Tok::kNumber;
    return t;
  }
  Token string(Token t, char quote) {
    ++pos_;
    for (;;) {
      if (pos_ >= text_.size()) throw ExpressionError(t.offset, "unterminated string");
      char c = text_[pos_++];
      if (c == quote) break;
      if (c == '\\') {
        if (pos_ >= text_.size()) throw ExpressionError(t.offset, "unterminated string");
        c = text_[pos_++];
      }
      t.text.push_back(c);
    }
    t.kind = Tok::kString;
    return t;
  }
  Token quoted_name(Token t) {
    ++pos_;
    const size_t end = text_.find('`', pos_);
    if (end == std::string_view::npos) throw ExpressionError(t.offset, "unterminated `name`");
    t.text = std::string(text_.substr(pos_, end - pos_));
    if (t.text.empty()) throw ExpressionError(t.offset, "empty `name`");
    pos_ = end + 1;
    t.kind = Tok::kName;
    t.quoted_name = true;
    return t;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

const char* type_name(Type t) {
  switch (t) {
    case Type::kBool:
      return "a boolean";
    case Type::kNumber:
      return "a number";
    case Type::kString:
      return "a string";
    case Type::kNull:
      return "null";
    default:
      return "a property";
  }
}

}  // namespace

// Builds an Expression's nodes; one instance per parse.
class ExpressionParser {
 public:
  ExpressionParser(std::string_view text, Expression& out) : lexer_(text), out_(out) {
    if (text.size() > kMaxLength)
      throw ExpressionError(0, "expression longer than " + std::to_string(kMaxLength));
    advance();
  }

  void parse(Expression::Kind kind) {
    const Operand root = parse_or();
    if (token_.kind != Tok::kEnd) throw ExpressionError(token_.offset, "unexpected " + describe());
    const Type wanted = kind == Expression::Kind::kCondition ? Type::kBool : Type::kNumber;
    if (root.type != Type::kAny && root.type != wanted)
      throw ExpressionError(0, std::string("the expression is ") + type_name(root.type) +
                                   ", expected " + type_name(wanted));
    out_.root_ = root.node;
  }

 private:
  struct Operand {
    uint32_t node;
    Type type;
    size_t offset;
  };
  using Op = Expression::Op;

  void advance() { token_ = lexer_.next(); }
  bool keyword(const char* word) const {
    return token_.kind == Tok::kName && !token_.quoted_name && token_.text == word;
  }
  std::string describe() const {
    switch (token_.kind) {
      case Tok::kEnd:
        return "end of expression";
      case Tok::kName:
        return "'" + token_.text + "'";
      case Tok::kString:
        return "string '" + token_.text + "'";
      case Tok::kNumber:
        return "number";
      default:
        return "operator";
    }
  }
  void expect(Tok kind, const char* what) {
    if (token_.kind != kind)
      throw ExpressionError(token_.offset,
                            std::string("expected ") + what + ", found " + describe());
    advance();
  }

  uint32_t add(Expression::Node n) {
    out_.nodes_.push_back(n);
    return static_cast<uint32_t>(out_.nodes_.size() - 1);
  }
  Operand binary(Op op, const Operand& a, const Operand& b, Type type) {
    Expression::Node n;
    n.op = op;
    n.a = a.node;
    n.b = b.node;
    return {add(n), type, a.offset};
  }
  static void require(const Operand& o, Type wanted, const char* role) {
    if (o.type != Type::kAny && o.type != wanted)
      throw ExpressionError(o.offset, std::string(role) + " needs " + type_name(wanted) +
                                          ", found " + type_name(o.type));
  }

  struct Depth {
    explicit Depth(ExpressionParser& p) : parser(p) {
      if (++parser.depth_ > kMaxDepth)
        throw ExpressionError(parser.token_.offset, "expression nested too deeply");
    }
    ~Depth() { --parser.depth_; }
    ExpressionParser& parser;
  };

  Operand parse_or() {
    Depth depth(*this);
    Operand left = parse_and();
    while (keyword("or")) {
      advance();
      const Operand right = parse_and();
      require(left, Type::kBool, "'or'");
      require(right, Type::kBool, "'or'");
      left = binary(Op::kOr, left, right, Type::kBool);
    }
    return left;
  }
  Operand parse_and() {
    Operand left = parse_not();
    while (keyword("and")) {
      advance();
      const Operand right = parse_not();
      require(left, Type::kBool, "'and'");
      require(right, Type::kBool, "'and'");
      left = binary(Op::kAnd, left, right, Type::kBool);
    }
    return left;
  }
  Operand parse_not() {
    if (!keyword("not")) return parse_comparison();
    Depth depth(*this);
    const size_t offset = token_.offset;
    advance();
    Operand operand = parse_not();
    require(operand, Type::kBool, "'not'");
    Expression::Node n;
    n.op = Op::kNot;
    n.a = operand.node;
    return {add(n), Type::kBool, offset};
  }

  Operand parse_comparison() {
    Operand left = parse_sum();
    static constexpr std::pair<Tok, Op> kComparisons[] = {{Tok::kEq, Op::kEq}, {Tok::kNe, Op::kNe},
                                                          {Tok::kLt, Op::kLt}, {Tok::kLe, Op::kLe},
                                                          {Tok::kGt, Op::kGt}, {Tok::kGe, Op::kGe}};
    for (const auto& [tok, op] : kComparisons) {
      if (token_.kind != tok) continue;
      advance();
      const Operand right = parse_sum();
      if (op != Op::kEq && op != Op::kNe) {
        const bool strings = left.type == Type::kString || right.type == Type::kString;
        for (const Operand* o : {static_cast<const Operand*>(&left), &right})
          require(*o, strings ? Type::kString : Type::kNumber, "an ordering comparison");
      } else if (left.type != Type::kAny && right.type != Type::kAny && left.type != right.type) {
        throw ExpressionError(left.offset, std::string("comparing ") + type_name(left.type) +
                                               " with " + type_name(right.type));
      }
      return binary(op, left, right, Type::kBool);
    }
    if (keyword("not")) {
      advance();
      if (!keyword("in")) throw ExpressionError(token_.offset, "expected 'in' after 'not'");
      return parse_in(left, Op::kNotIn);
    }
    if (keyword("in")) return parse_in(left, Op::kIn);
    static constexpr std::pair<const char*, Op> kStringOps[] = {{"starts_with", Op::kStartsWith},
                                                                {"ends_with", Op::kEndsWith},
                                                                {"contains", Op::kContains}};
    for (const auto& [word, op] : kStringOps) {
      if (!keyword(word)) continue;
      advance();
      const Operand right = parse_sum();
      require(left, Type::kString, word);
      require(right, Type::kString, word);
      return binary(op, left, right, Type::kBool);
    }
    return left;
  }

  Operand parse_in(const Operand& left, Op op) {
    advance();  // 'in'
    expect(Tok::kLBracket, "'['");
    std::vector<double> numbers;
    std::vector<std::string> strings;
    for (;;) {
      const bool negative = token_.kind == Tok::kMinus;
      if (negative) advance();
      if (token_.kind == Tok::kNumber) {
        numbers.push_back(negative ? -token_.number : token_.number);
      } else if (token_.kind == Tok::kString && !negative) {
        strings.push_back(token_.text);
      } else {
        throw ExpressionError(token_.offset,
                              "'in' lists hold numbers and strings, found " + describe());
      }
      advance();
      if (token_.kind == Tok::kRBracket) break;
      expect(Tok::kComma, "',' or ']'");
    }
    advance();
    if (left.type == Type::kBool || left.type == Type::kNull)
      throw ExpressionError(left.offset, std::string("'in' needs a number or a string, found ") +
                                             type_name(left.type));
    std::sort(numbers.begin(), numbers.end());
    std::sort(strings.begin(), strings.end());
    Expression::Node n;
    n.op = op;
    n.a = left.node;
    n.index = static_cast<uint32_t>(out_.number_sets_.size());
    out_.number_sets_.push_back(std::move(numbers));
    out_.string_sets_.push_back(std::move(strings));
    return {add(n), Type::kBool, left.offset};
  }

  Operand parse_sum() {
    Operand left = parse_product();
    while (token_.kind == Tok::kPlus || token_.kind == Tok::kMinus) {
      const Op op = token_.kind == Tok::kPlus ? Op::kAdd : Op::kSub;
      advance();
      const Operand right = parse_product();
      require(left, Type::kNumber, "arithmetic");
      require(right, Type::kNumber, "arithmetic");
      left = binary(op, left, right, Type::kNumber);
    }
    return left;
  }
  Operand parse_product() {
    Operand left = parse_unary();
    for (;;) {
      Op op;
      if (token_.kind == Tok::kStar)
        op = Op::kMul;
      else if (token_.kind == Tok::kSlash)
        op = Op::kDiv;
      else if (token_.kind == Tok::kPercent)
        op = Op::kMod;
      else
        return left;
      advance();
      const Operand right = parse_unary();
      require(left, Type::kNumber, "arithmetic");
      require(right, Type::kNumber, "arithmetic");
      left = binary(op, left, right, Type::kNumber);
    }
  }
  Operand parse_unary() {
    if (token_.kind != Tok::kMinus) return parse_primary();
    Depth depth(*this);
    const size_t offset = token_.offset;
    advance();
    const Operand operand = parse_unary();
    require(operand, Type::kNumber, "'-'");
    Expression::Node n;
    n.op = Op::kNeg;
    n.a = operand.node;
    return {add(n), Type::kNumber, offset};
  }

  Operand parse_primary() {
    const size_t offset = token_.offset;
    Expression::Node n;
    switch (token_.kind) {
      case Tok::kNumber:
        n.op = Op::kNumber;
        n.number = token_.number;
        advance();
        return {add(n), Type::kNumber, offset};
      case Tok::kString:
        n.op = Op::kString;
        n.index = static_cast<uint32_t>(out_.strings_.size());
        out_.strings_.push_back(token_.text);
        advance();
        return {add(n), Type::kString, offset};
      case Tok::kLParen: {
        advance();
        const Operand inner = parse_or();
        expect(Tok::kRParen, "')'");
        return {inner.node, inner.type, offset};
      }
      case Tok::kName:
        break;
      default:
        throw ExpressionError(offset, "expected a value, found " + describe());
    }
    if (!token_.quoted_name) {
      if (token_.text == "true" || token_.text == "false") {
        n.op = Op::kBool;
        n.number = token_.text == "true" ? 1 : 0;
        advance();
        return {add(n), Type::kBool, offset};
      }
      if (token_.text == "null") {
        advance();
        return {add(n), Type::kNull, offset};
      }
      if (token_.text == "exists") {
        advance();
        expect(Tok::kLParen, "'(' after exists");
        if (token_.kind != Tok::kName)
          throw ExpressionError(token_.offset, "exists() takes a property name");
        n.op = Op::kExists;
        n.symbol = read(token_.text);
        advance();
        expect(Tok::kRParen, "')'");
        return {add(n), Type::kBool, offset};
      }
      static constexpr const char* kReserved[] = {"and",         "or",        "not",     "in",
                                                  "starts_with", "ends_with", "contains"};
      for (const char* word : kReserved)
        if (token_.text == word)
          throw ExpressionError(offset, std::string("expected a value, found '") + word + "'");
    }
    n.op = Op::kProperty;
    n.symbol = read(token_.text);
    advance();
    return {add(n), Type::kAny, offset};
  }

  SymbolId read(const std::string& name) {
    const SymbolId id = intern(name);
    if (std::find(out_.reads_.begin(), out_.reads_.end(), id) == out_.reads_.end())
      out_.reads_.push_back(id);
    return id;
  }

  Lexer lexer_;
  Expression& out_;
  Token token_;
  size_t depth_ = 0;
};

Expression Expression::parse(std::string_view text, Kind kind) {
  Expression e;
  e.text_ = std::string(text);
  ExpressionParser(text, e).parse(kind);
  return e;
}

Expression Expression::parse(const ConfigNode& node, const std::string& key, Kind kind) {
  const std::string text = node.string(key);
  try {
    return parse(text, kind);
  } catch (const ExpressionError& e) {
    node.fail_at(key, "in expression, column " + std::to_string(e.offset() + 1) + ": " + e.what());
  }
}

}  // namespace segflow
