// config.ensure (artillery-plugin-ensure), re-implemented: a small recursive-descent parser for
// filtrex-like expressions into a flat node vector, and an evaluator over the aggregate report.
//
// Stack safety: the parser recurses only through parentheses, calls and unary operators, and
// refuses to go deeper than max_nesting; every node records its depth in the tree and trees
// deeper than max_tree_depth are refused, so the (recursive) evaluator is bounded too. Nodes
// live in a vector, so destroying a tree does not recurse either.

#include "sio/replayer/ensure.hpp"
#include "sio/replayer/template.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sio::replayer {

namespace {

constexpr int max_nesting = 64;
constexpr std::uint32_t max_tree_depth = 256;

constexpr std::string_view aggregates[] = {"min", "max", "count", "mean", "median", "p50",
                                           "p75", "p90", "p95",   "p99",  "p999"};
constexpr std::string_view legacy_keys[] = {"p95", "p99", "max", "median", "min"};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}
bool is_name_char(char c) {
  return is_name_start(c) || is_digit(c) || c == '.';
}

/// A number for a message: integers without decimals, else up to 15 significant digits.
std::string fmt(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.15g", v);
  std::string s = buf;
  return s == "-0" ? "0" : s;
}

bool truthy(double v) {
  return v != 0 && !std::isnan(v);
}

/// The last dotted segment names a summary aggregate ("x.p95").
bool is_summary_name(std::string_view name) {
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return false;
  const auto agg = name.substr(dot + 1);
  for (auto a : aggregates)
    if (agg == a) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Lexer

struct Token {
  enum class Type : std::uint8_t { end, number, name, op } type = Type::end;
  std::string text;    ///< name (unquoted), operator, or the number as written
  double number = 0;   ///< Type::number
  bool quoted = false; ///< a 'quoted name' (never a keyword or a function)
  std::size_t col = 0; ///< 1-based
};

struct ParseError {
  errc code = errc::bad_recording;
  std::string message; ///< "unexpected ')' at column 12"
};

class Parser {
public:
  explicit Parser(std::string_view src) : src_(src) {}

  /// Parses the whole text; nullopt with error() set when it is not an expression.
  std::optional<std::vector<EnsureNode>> parse() {
    if (!next()) return std::nullopt;
    const auto root = expr();
    if (!root) return std::nullopt;
    if (tok_.type != Token::Type::end) {
      unexpected();
      return std::nullopt;
    }
    return std::move(nodes_);
  }
  const ParseError& error() const { return error_; }

private:
  using Idx = std::optional<std::uint32_t>;

  // --- lexing
  bool lex_error(std::string what, std::size_t pos, errc code = errc::bad_recording) {
    error_ = {code, std::move(what) + " at column " + std::to_string(pos + 1)};
    return false;
  }
  bool next() {
    while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
    tok_ = Token{};
    tok_.col = pos_ + 1;
    if (pos_ >= src_.size()) return true;
    const char c = src_[pos_];
    const std::size_t start = pos_;
    if (is_digit(c)) {
      while (pos_ < src_.size() && is_digit(src_[pos_])) ++pos_;
      if (pos_ + 1 < src_.size() && src_[pos_] == '.' && is_digit(src_[pos_ + 1])) {
        ++pos_;
        while (pos_ < src_.size() && is_digit(src_[pos_])) ++pos_;
      }
      if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
        std::size_t p = pos_ + 1;
        if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
        if (p < src_.size() && is_digit(src_[p])) {
          pos_ = p;
          while (pos_ < src_.size() && is_digit(src_[pos_])) ++pos_;
        }
      }
      if (pos_ < src_.size() && is_name_char(src_[pos_]))
        return lex_error("unexpected '" + printable_char(src_[pos_]) + "'", pos_);
      tok_.type = Token::Type::number;
      tok_.text = std::string(src_.substr(start, pos_ - start));
      const auto r = std::from_chars(src_.data() + start, src_.data() + pos_, tok_.number);
      if (r.ec != std::errc() || !std::isfinite(tok_.number))
        return lex_error("bad number '" + tok_.text + "'", start);
      return true;
    }
    if (is_name_start(c)) {
      while (pos_ < src_.size() && is_name_char(src_[pos_])) ++pos_;
      tok_.type = Token::Type::name;
      tok_.text = std::string(src_.substr(start, pos_ - start));
      return true;
    }
    if (c == '\'') {
      ++pos_;
      std::string name;
      while (pos_ < src_.size() && src_[pos_] != '\'') {
        if (src_[pos_] == '\\' && pos_ + 1 < src_.size()) ++pos_;
        name += src_[pos_++];
      }
      if (pos_ >= src_.size()) return lex_error("unterminated quoted name", start);
      ++pos_;
      if (name.empty()) return lex_error("empty quoted name", start);
      tok_.type = Token::Type::name;
      tok_.quoted = true;
      tok_.text = std::move(name);
      return true;
    }
    if (c == '"') return lex_error("strings are not supported", start, errc::unsupported);
    const std::string_view two = src_.substr(pos_, 2);
    for (std::string_view op : {"==", "!=", "<=", ">="}) {
      if (two == op) {
        pos_ += 2;
        tok_.type = Token::Type::op;
        tok_.text = std::string(op);
        return true;
      }
    }
    for (char op : {'+', '-', '*', '/', '%', '^', '(', ')', ',', '<', '>'}) {
      if (c == op) {
        ++pos_;
        tok_.type = Token::Type::op;
        tok_.text = std::string(1, op);
        return true;
      }
    }
    if (c == '=') return lex_error("unexpected '=' (compare with ==)", start);
    return lex_error("unexpected '" + printable_char(c) + "'", start);
  }

  // --- helpers
  bool is_op(std::string_view op) const { return tok_.type == Token::Type::op && tok_.text == op; }
  bool is_keyword(std::string_view kw) const {
    return tok_.type == Token::Type::name && !tok_.quoted && tok_.text == kw;
  }
  Idx fail_at(std::string what, std::size_t col, errc code = errc::bad_recording) {
    if (error_.message.empty())
      error_ = {code, std::move(what) + " at column " + std::to_string(col)};
    return std::nullopt;
  }
  Idx unexpected() {
    if (tok_.type == Token::Type::end) return fail_at("unexpected end of expression", tok_.col);
    return fail_at("unexpected '" + (tok_.quoted ? "'" + tok_.text + "'" : tok_.text) + "'",
                   tok_.col);
  }
  Idx add(EnsureNode n, std::size_t col) {
    std::uint32_t depth = 1;
    for (auto a : n.args) depth = std::max(depth, depths_[a] + 1);
    if (depth > max_tree_depth)
      return fail_at("too complex (more than " + std::to_string(max_tree_depth) +
                         " levels of operations)",
                     col, errc::limit_exceeded);
    nodes_.push_back(std::move(n));
    depths_.push_back(depth);
    return static_cast<std::uint32_t>(nodes_.size() - 1);
  }
  Idx binary(EnsureNode::Op op, std::uint32_t a, std::uint32_t b, std::size_t col) {
    EnsureNode n;
    n.op = op;
    n.args = {a, b};
    return add(std::move(n), col);
  }

  /// Guards one level of recursion.
  struct Nest {
    explicit Nest(int& d) : depth(d) { ++depth; }
    ~Nest() { --depth; }
    Nest(const Nest&) = delete;
    Nest& operator=(const Nest&) = delete;
    int& depth;
  };
  bool too_deep() {
    if (nesting_ <= max_nesting) return false;
    fail_at("nested more than " + std::to_string(max_nesting) + " levels deep", tok_.col,
            errc::limit_exceeded);
    return true;
  }

  // --- grammar
  Idx expr() { return or_expr(); }

  Idx or_expr() {
    auto a = and_expr();
    while (a && is_keyword("or")) {
      const auto col = tok_.col;
      if (!next()) return std::nullopt;
      auto b = and_expr();
      if (!b) return std::nullopt;
      a = binary(EnsureNode::Op::or_, *a, *b, col);
    }
    return a;
  }
  Idx and_expr() {
    auto a = eq_expr();
    while (a && is_keyword("and")) {
      const auto col = tok_.col;
      if (!next()) return std::nullopt;
      auto b = eq_expr();
      if (!b) return std::nullopt;
      a = binary(EnsureNode::Op::and_, *a, *b, col);
    }
    return a;
  }
  Idx eq_expr() {
    auto a = rel_expr();
    while (a && (is_op("==") || is_op("!="))) {
      const auto op = is_op("==") ? EnsureNode::Op::eq : EnsureNode::Op::ne;
      const auto col = tok_.col;
      if (!next()) return std::nullopt;
      auto b = rel_expr();
      if (!b) return std::nullopt;
      a = binary(op, *a, *b, col);
    }
    return a;
  }
  Idx rel_expr() {
    auto a = add_expr();
    while (a && (is_op("<") || is_op("<=") || is_op(">") || is_op(">="))) {
      const auto op = is_op("<")    ? EnsureNode::Op::lt
                      : is_op("<=") ? EnsureNode::Op::le
                      : is_op(">")  ? EnsureNode::Op::gt
                                    : EnsureNode::Op::ge;
      const auto col = tok_.col;
      if (!next()) return std::nullopt;
      auto b = add_expr();
      if (!b) return std::nullopt;
      a = binary(op, *a, *b, col);
    }
    return a;
  }
  Idx add_expr() {
    auto a = mul_expr();
    while (a && (is_op("+") || is_op("-"))) {
      const auto op = is_op("+") ? EnsureNode::Op::add : EnsureNode::Op::sub;
      const auto col = tok_.col;
      if (!next()) return std::nullopt;
      auto b = mul_expr();
      if (!b) return std::nullopt;
      a = binary(op, *a, *b, col);
    }
    return a;
  }
  Idx mul_expr() {
    auto a = pow_expr();
    while (a && (is_op("*") || is_op("/") || is_op("%") || is_keyword("mod"))) {
      const auto op = is_op("*")   ? EnsureNode::Op::mul
                      : is_op("/") ? EnsureNode::Op::div
                                   : EnsureNode::Op::mod;
      const auto col = tok_.col;
      if (!next()) return std::nullopt;
      auto b = pow_expr();
      if (!b) return std::nullopt;
      a = binary(op, *a, *b, col);
    }
    return a;
  }
  Idx pow_expr() { // left-associative, as filtrex
    auto a = unary();
    while (a && is_op("^")) {
      const auto col = tok_.col;
      if (!next()) return std::nullopt;
      auto b = unary();
      if (!b) return std::nullopt;
      a = binary(EnsureNode::Op::pow, *a, *b, col);
    }
    return a;
  }
  Idx unary() {
    const Nest guard(nesting_);
    if (too_deep()) return std::nullopt;
    if (is_op("-") || is_keyword("not")) {
      const auto op = is_op("-") ? EnsureNode::Op::neg : EnsureNode::Op::not_;
      const auto col = tok_.col;
      if (!next()) return std::nullopt;
      auto a = unary();
      if (!a) return std::nullopt;
      EnsureNode n;
      n.op = op;
      n.args = {*a};
      return add(std::move(n), col);
    }
    return primary();
  }
  Idx primary() {
    const auto col = tok_.col;
    if (tok_.type == Token::Type::number) {
      EnsureNode n;
      n.number = tok_.number;
      if (!next()) return std::nullopt;
      return add(std::move(n), col);
    }
    if (is_op("(")) {
      if (!next()) return std::nullopt;
      auto a = expr();
      if (!a) return std::nullopt;
      if (!is_op(")"))
        return is_op(",") || tok_.type != Token::Type::end ? unexpected()
                                                           : fail_at("expected ')'", tok_.col);
      if (!next()) return std::nullopt;
      return a;
    }
    if (tok_.type != Token::Type::name) return unexpected();
    if (!tok_.quoted) {
      for (std::string_view kw : {"and", "or", "not", "mod", "in"})
        if (tok_.text == kw) return unexpected();
      if (tok_.text == "true" || tok_.text == "false") {
        EnsureNode n;
        n.number = tok_.text == "true" ? 1 : 0;
        if (!next()) return std::nullopt;
        return add(std::move(n), col);
      }
    }
    std::string name = tok_.text;
    const bool quoted = tok_.quoted;
    if (!next()) return std::nullopt;
    if (!quoted && is_op("(")) return call(std::move(name), col);
    EnsureNode n;
    n.op = EnsureNode::Op::metric;
    n.name = std::move(name);
    return add(std::move(n), col);
  }
  Idx call(std::string name, std::size_t col) {
    int arity = 0; // -1: one or more
    for (std::string_view f : {"abs", "ceil", "floor", "round", "sqrt", "log", "log2", "log10"})
      if (name == f) arity = 1;
    if (name == "min" || name == "max") arity = -1;
    if (arity == 0) return fail_at("unknown function '" + name + "'", col);
    if (!next()) return std::nullopt; // '('
    EnsureNode n;
    n.op = EnsureNode::Op::call;
    if (!is_op(")")) {
      while (true) {
        auto a = expr();
        if (!a) return std::nullopt;
        n.args.push_back(*a);
        if (is_op(",")) {
          if (!next()) return std::nullopt;
          continue;
        }
        if (is_op(")")) break;
        return tok_.type == Token::Type::end ? fail_at("expected ')'", tok_.col) : unexpected();
      }
    }
    if (!next()) return std::nullopt; // ')'
    if (arity == 1 && n.args.size() != 1) return fail_at(name + "() takes 1 argument", col);
    if (arity == -1 && n.args.empty()) return fail_at(name + "() needs an argument", col);
    n.name = std::move(name);
    return add(std::move(n), col);
  }

  std::string_view src_;
  std::size_t pos_ = 0;
  Token tok_;
  int nesting_ = 0;
  std::vector<EnsureNode> nodes_;
  std::vector<std::uint32_t> depths_;
  ParseError error_;
};

// ---------------------------------------------------------------------------------------------
// The report

/// A metric as found in the aggregate.
struct Lookup {
  double value = 0;
  bool found = false;   ///< in the report
  bool missing = false; ///< a summary aggregate that is not in the report
};

Lookup lookup_metric(const Json& agg, const std::string& name) {
  Lookup out;
  if (agg.is_object()) {
    // Artillery flattens counters, then rates, then summaries over each other: later wins.
    if (const auto s = agg.find("summaries"); s != agg.end() && s->is_object()) {
      const auto dot = name.rfind('.');
      if (dot != std::string::npos) {
        const auto m = s->find(name.substr(0, dot));
        if (m != s->end() && m->is_object()) {
          const auto v = m->find(name.substr(dot + 1));
          if (v != m->end() && v->is_number()) return {v->get<double>(), true, false};
        }
      }
    }
    for (const char* section : {"rates", "counters"}) {
      const auto s = agg.find(section);
      if (s == agg.end() || !s->is_object()) continue;
      const auto v = s->find(name);
      if (v != s->end() && v->is_number()) return {v->get<double>(), true, false};
    }
  }
  out.missing = is_summary_name(name);
  return out;
}

double apply_op(const EnsureNode& n, const std::vector<double>& a) {
  using Op = EnsureNode::Op;
  switch (n.op) {
  case Op::neg:
    return -a[0];
  case Op::not_:
    return truthy(a[0]) ? 0 : 1;
  case Op::add:
    return a[0] + a[1];
  case Op::sub:
    return a[0] - a[1];
  case Op::mul:
    return a[0] * a[1];
  case Op::div:
    return a[0] / a[1];
  case Op::mod:
    return std::fmod(a[0], a[1]);
  case Op::pow:
    return std::pow(a[0], a[1]);
  case Op::eq:
    return a[0] == a[1] ? 1 : 0;
  case Op::ne:
    return a[0] != a[1] ? 1 : 0;
  case Op::lt:
    return a[0] < a[1] ? 1 : 0;
  case Op::le:
    return a[0] <= a[1] ? 1 : 0;
  case Op::gt:
    return a[0] > a[1] ? 1 : 0;
  case Op::ge:
    return a[0] >= a[1] ? 1 : 0;
  case Op::call: {
    const double x = a[0];
    if (n.name == "abs") return std::fabs(x);
    if (n.name == "ceil") return std::ceil(x);
    if (n.name == "floor") return std::floor(x);
    if (n.name == "round") return std::floor(x + 0.5); // JavaScript's Math.round
    if (n.name == "sqrt") return std::sqrt(x);
    if (n.name == "log") return std::log(x);
    if (n.name == "log2") return std::log2(x);
    if (n.name == "log10") return std::log10(x);
    double r = x;
    for (double v : a) {
      if (std::isnan(v)) return v;
      r = n.name == "min" ? std::min(r, v) : std::max(r, v);
    }
    return r;
  }
  case Op::number:
  case Op::metric:
  case Op::and_:
  case Op::or_:
    break;
  }
  return std::nan("");
}

/// Evaluates node `i`; recursion is bounded by the tree depth checked when parsing.
double eval(const std::vector<EnsureNode>& nodes, std::uint32_t i, const Json& agg,
            std::uint32_t depth) {
  if (i >= nodes.size() || depth > max_tree_depth + 1) return std::nan("");
  const EnsureNode& n = nodes[i];
  using Op = EnsureNode::Op;
  switch (n.op) {
  case Op::number:
    return n.number;
  case Op::metric:
    return lookup_metric(agg, n.name).value;
  case Op::and_:
    if (n.args.size() != 2) return std::nan("");
    return truthy(eval(nodes, n.args[0], agg, depth + 1)) &&
                   truthy(eval(nodes, n.args[1], agg, depth + 1))
               ? 1
               : 0;
  case Op::or_:
    if (n.args.size() != 2) return std::nan("");
    return truthy(eval(nodes, n.args[0], agg, depth + 1)) ||
                   truthy(eval(nodes, n.args[1], agg, depth + 1))
               ? 1
               : 0;
  default:
    break;
  }
  const std::size_t want = n.op == Op::call ? 1 : (n.op == Op::neg || n.op == Op::not_) ? 1 : 2;
  if (n.args.size() < want || (n.op != Op::call && n.args.size() != want)) return std::nan("");
  std::vector<double> a;
  a.reserve(n.args.size());
  for (auto c : n.args) {
    if (c >= i) return std::nan(""); // operands come first; anything else is not our tree
    a.push_back(eval(nodes, c, agg, depth + 1));
  }
  return apply_op(n, a);
}

EnsureOutcome evaluate_condition(const EnsureCheck& c, const Json& agg) {
  EnsureOutcome o{c.text, false, c.strict, {}};
  std::vector<std::string> seen;
  std::string missing;
  for (const auto& n : c.nodes) {
    if (n.op != EnsureNode::Op::metric) continue;
    bool dup = false;
    for (const auto& s : seen) dup = dup || s == n.name;
    if (dup) continue;
    seen.push_back(n.name);
    const Lookup l = lookup_metric(agg, n.name);
    if (l.missing) {
      if (missing.empty()) missing = n.name;
      continue;
    }
    if (!o.detail.empty()) o.detail += ", ";
    o.detail += n.name + " = " + fmt(l.value) + (l.found ? "" : " (absent)");
  }
  if (!missing.empty()) {
    o.detail = missing + " is missing from the report";
    return o;
  }
  if (c.nodes.empty()) {
    o.detail = "empty expression";
    return o;
  }
  o.ok = truthy(eval(c.nodes, static_cast<std::uint32_t>(c.nodes.size() - 1), agg, 0));
  return o;
}

EnsureOutcome evaluate_threshold(const EnsureCheck& c, const Json& agg) {
  EnsureOutcome o{c.text, false, c.strict, {}};
  for (const auto& name : c.metrics) {
    const Lookup l = lookup_metric(agg, name);
    if (l.missing) continue;
    o.ok = l.value < c.limit;
    o.detail =
        name + " = " + fmt(l.value) + (l.found ? "" : " (absent)") + ", limit " + fmt(c.limit);
    return o;
  }
  if (c.metrics.size() == 1) {
    o.detail = c.metrics[0] + " is missing from the report";
  } else {
    o.detail = "none of ";
    for (std::size_t i = 0; i < c.metrics.size(); ++i) o.detail += (i ? ", " : "") + c.metrics[i];
    o.detail += " is in the report";
  }
  return o;
}

EnsureOutcome evaluate_error_rate(const EnsureCheck& c, const Json& agg) {
  EnsureOutcome o{c.text, false, c.strict, {}};
  const double created = lookup_metric(agg, "vusers.created").value;
  const double completed = lookup_metric(agg, "vusers.completed").value;
  if (!(created > 0)) {
    // Artillery computes 0/0 = NaN here, and NaN <= limit is false.
    o.detail = "no virtual users were created";
    return o;
  }
  const double rate = (created - completed) / created * 100;
  o.ok = rate <= c.limit;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", rate);
  o.detail = std::string("error rate = ") + buf + "% (" + fmt(created - completed) + " of " +
             fmt(created) + " virtual users did not complete), limit " + fmt(c.limit) + "%";
  return o;
}

// ---------------------------------------------------------------------------------------------
// Parsing config.ensure

/// A limit: a finite number, or a string holding one.
std::optional<double> to_limit(const Json& v) {
  if (v.is_number()) {
    const double d = v.get<double>();
    return std::isfinite(d) ? std::optional<double>(d) : std::nullopt;
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    std::size_t b = 0, e = s.size();
    while (b < e && is_space(s[b])) ++b;
    while (e > b && is_space(s[e - 1])) --e;
    if (b == e) return std::nullopt;
    double d = 0;
    const auto r = std::from_chars(s.data() + b, s.data() + e, d);
    if (r.ec != std::errc() || r.ptr != s.data() + e || !std::isfinite(d)) return std::nullopt;
    return d;
  }
  return std::nullopt;
}

Result<Ensure> parse_impl(const Json& spec, const std::string& where) {
  Ensure out;
  if (spec.is_null()) return out;
  if (!spec.is_object()) return fail(errc::bad_recording, where + ": expected a map");
  for (const auto& [key, value] : spec.items()) {
    bool known = key == "thresholds" || key == "conditions" || key == "maxErrorRate";
    for (auto k : legacy_keys) known = known || key == k;
    if (!known)
      return fail(errc::bad_recording,
                  where + "." + key +
                      ": unknown key (expected thresholds, conditions, p95, p99, max, median, "
                      "min or maxErrorRate)");
  }
  const auto limit_of = [&](const Json& v, const std::string& path) -> Result<double> {
    auto l = to_limit(v);
    if (!l) return fail(errc::bad_recording, path + ": expected a number");
    return *l;
  };

  if (const auto t = spec.find("thresholds"); t != spec.end() && !t->is_null()) {
    const std::string path = where + ".thresholds";
    if (!t->is_array()) return fail(errc::bad_recording, path + ": expected a list");
    for (std::size_t i = 0; i < t->size(); ++i) {
      const Json& item = (*t)[i];
      const std::string ip = path + "[" + std::to_string(i) + "]";
      if (!item.is_object() || item.empty())
        return fail(errc::bad_recording,
                    ip + ": expected a map like {\"socketio.response_time.p95\": 250}");
      for (const auto& [metric, value] : item.items()) {
        auto limit = limit_of(value, ip + "." + metric);
        if (!limit) return fail(limit.error());
        if (metric.empty()) return fail(errc::bad_recording, ip + ": empty metric name");
        EnsureCheck c;
        c.kind = EnsureCheck::Kind::threshold;
        c.metrics = {metric};
        c.limit = *limit;
        c.text = metric + " < " + fmt(*limit);
        out.checks.push_back(std::move(c));
      }
    }
  }

  if (const auto cs = spec.find("conditions"); cs != spec.end() && !cs->is_null()) {
    const std::string path = where + ".conditions";
    if (!cs->is_array()) return fail(errc::bad_recording, path + ": expected a list");
    for (std::size_t i = 0; i < cs->size(); ++i) {
      const Json& item = (*cs)[i];
      const std::string ip = path + "[" + std::to_string(i) + "]";
      if (!item.is_object())
        return fail(errc::bad_recording, ip + ": expected a map with `expression`");
      EnsureCheck c;
      const auto ex = item.find("expression");
      if (ex == item.end() || ex->is_null())
        return fail(errc::bad_recording, ip + ".expression: missing");
      if (!ex->is_string()) return fail(errc::bad_recording, ip + ".expression: expected a string");
      if (const auto st = item.find("strict"); st != item.end() && !st->is_null()) {
        if (!st->is_boolean())
          return fail(errc::bad_recording, ip + ".strict: expected true or false");
        c.strict = st->get<bool>();
      }
      const auto& text = ex->get_ref<const std::string&>();
      Parser p(text);
      auto nodes = p.parse();
      if (!nodes) return fail(p.error().code, ip + ".expression: " + p.error().message);
      c.nodes = std::move(*nodes);
      std::size_t b = 0, e = text.size();
      while (b < e && is_space(text[b])) ++b;
      while (e > b && is_space(text[e - 1])) --e;
      c.text = text.substr(b, e - b);
      out.checks.push_back(std::move(c));
    }
  }

  for (auto k : legacy_keys) {
    const auto v = spec.find(std::string(k));
    if (v == spec.end() || v->is_null()) continue;
    auto limit = limit_of(*v, where + "." + std::string(k));
    if (!limit) return fail(limit.error());
    EnsureCheck c;
    c.kind = EnsureCheck::Kind::threshold;
    c.metrics = {"socketio.response_time." + std::string(k),
                 "http.response_time." + std::string(k)};
    c.limit = *limit;
    c.text = std::string(k) + " < " + fmt(*limit);
    out.checks.push_back(std::move(c));
  }

  if (const auto v = spec.find("maxErrorRate"); v != spec.end() && !v->is_null()) {
    auto limit = limit_of(*v, where + ".maxErrorRate");
    if (!limit) return fail(limit.error());
    EnsureCheck c;
    c.kind = EnsureCheck::Kind::max_error_rate;
    c.limit = *limit;
    c.text = "maxErrorRate <= " + fmt(*limit);
    out.checks.push_back(std::move(c));
  }
  return out;
}

} // namespace

Result<Ensure> parse_ensure(const Json& spec, std::string_view where) {
  try {
    return parse_impl(spec, std::string(where));
  } catch (const std::exception& e) {
    return fail(errc::bad_recording, std::string(where) + ": " + e.what());
  }
}

std::vector<EnsureOutcome> evaluate_ensure(const Ensure& e, const Json& aggregate) {
  std::vector<EnsureOutcome> out;
  try {
    out.reserve(e.checks.size());
    for (const auto& c : e.checks) {
      try {
        switch (c.kind) {
        case EnsureCheck::Kind::condition:
          out.push_back(evaluate_condition(c, aggregate));
          break;
        case EnsureCheck::Kind::threshold:
          out.push_back(evaluate_threshold(c, aggregate));
          break;
        case EnsureCheck::Kind::max_error_rate:
          out.push_back(evaluate_error_rate(c, aggregate));
          break;
        }
      } catch (const std::exception& ex) {
        out.push_back({c.text, false, c.strict, std::string("could not evaluate: ") + ex.what()});
      }
    }
  } catch (...) {
    // Out of memory while reporting: return what there is.
  }
  return out;
}

} // namespace sio::replayer
