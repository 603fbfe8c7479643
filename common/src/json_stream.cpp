#include "sio/common/json_stream.hpp"

#include "sio/common/utf8.hpp"

#include <cstring>
#include <optional>

namespace sio {
namespace {

bool is_ws(char c) noexcept {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

} // namespace

JsonReader::JsonReader(std::string_view doc, std::size_t max_depth)
    : doc_(doc.data()), size_(doc.size()), max_depth_(max_depth) {
  stack_.reserve(32);
}

std::string_view JsonReader::describe(Token t) noexcept {
  switch (t) {
  case Token::begin_object:
    return "an object";
  case Token::end_object:
    return "the end of an object";
  case Token::begin_array:
    return "an array";
  case Token::end_array:
    return "the end of an array";
  case Token::key:
    return "a member name";
  case Token::string:
    return "a string";
  case Token::number:
    return "a number";
  case Token::boolean_true:
  case Token::boolean_false:
    return "a boolean";
  case Token::null:
    return "null";
  case Token::end:
    return "the end of the document";
  case Token::error:
    return "an error";
  }
  return "a token";
}

JsonReader::Token JsonReader::fail_at(std::uint64_t at, std::string what, errc code) {
  if (!failed_) {
    failed_ = true;
    error_ = Error{code, std::move(what), at};
  }
  last_ = Token::error;
  return Token::error;
}

void JsonReader::skip_ws() noexcept {
  while (pos_ < size_ && is_ws(doc_[pos_])) ++pos_;
}

void JsonReader::after_value() {
  if (stack_.empty()) {
    expect_ = Expect::done;
  } else {
    expect_ = Expect::comma_or_end;
  }
}

JsonReader::Token JsonReader::next() {
  if (failed_) return Token::error;
  for (;;) {
    skip_ws();
    token_start_ = pos_;
    if (pos_ >= size_) {
      if (expect_ == Expect::done) return last_ = Token::end;
      return fail_at(pos_,
                     stack_.empty() && expect_ == Expect::value
                         ? "no JSON value (the input is empty or only white space)"
                         : "the document ends inside " +
                               std::string(stack_.back() == '{' ? "an object" : "an array"),
                     stack_.empty() && expect_ == Expect::value ? errc::empty_input
                                                                : errc::truncated_input);
    }
    const char c = doc_[pos_];
    switch (expect_) {
    case Expect::done:
      return fail_at(pos_, "unexpected text after the end of the JSON document");
    case Expect::value:
      return read_value_start(c);
    case Expect::value_or_end:
      if (c == ']') {
        ++pos_;
        stack_.pop_back();
        after_value();
        return last_ = Token::end_array;
      }
      return read_value_start(c);
    case Expect::key_or_end:
      if (c == '}') {
        ++pos_;
        stack_.pop_back();
        after_value();
        return last_ = Token::end_object;
      }
      [[fallthrough]];
    case Expect::key:
      if (c != '"') return fail_at(pos_, "expected a member name in double quotes");
      return read_string(true);
    case Expect::colon:
      if (c != ':') return fail_at(pos_, "expected ':' after a member name");
      ++pos_;
      expect_ = Expect::value;
      continue;
    case Expect::comma_or_end: {
      const char open = stack_.back();
      if (c == ',') {
        ++pos_;
        expect_ = open == '{' ? Expect::key : Expect::value;
        continue;
      }
      if ((open == '{' && c == '}') || (open == '[' && c == ']')) {
        ++pos_;
        stack_.pop_back();
        after_value();
        return last_ = open == '{' ? Token::end_object : Token::end_array;
      }
      return fail_at(pos_, open == '{' ? "expected ',' or '}' in an object"
                                       : "expected ',' or ']' in an array");
    }
    }
  }
}

JsonReader::Token JsonReader::read_value_start(char c) {
  switch (c) {
  case '{':
  case '[':
    if (stack_.size() >= max_depth_)
      return fail_at(pos_, "nesting deeper than " + std::to_string(max_depth_) + " levels",
                     errc::limit_exceeded);
    ++pos_;
    stack_.push_back(c);
    expect_ = c == '{' ? Expect::key_or_end : Expect::value_or_end;
    return last_ = c == '{' ? Token::begin_object : Token::begin_array;
  case '"':
    return read_string(false);
  case 't':
    return read_literal("true", Token::boolean_true);
  case 'f':
    return read_literal("false", Token::boolean_false);
  case 'n':
    return read_literal("null", Token::null);
  default:
    if (c == '-' || (c >= '0' && c <= '9')) return read_number();
    if (static_cast<unsigned char>(c) < 0x20) {
      static constexpr char hex_digits[] = "0123456789abcdef";
      const auto u = static_cast<unsigned char>(c);
      return fail_at(pos_, std::string("unexpected character '\\x") + hex_digits[u >> 4] +
                               hex_digits[u & 15] + "' where a value was expected");
    }
    return fail_at(pos_,
                   std::string("unexpected character '") + c + "' where a value was expected");
  }
}

JsonReader::Token JsonReader::read_literal(std::string_view word, Token t) {
  if (size_ - pos_ < word.size() || std::memcmp(doc_ + pos_, word.data(), word.size()) != 0)
    return fail_at(pos_, "invalid literal (expected " + std::string(word) + ")");
  pos_ += word.size();
  text_ = word;
  after_value();
  return last_ = t;
}

JsonReader::Token JsonReader::read_number() {
  const std::size_t start = pos_;
  const auto digit = [&](std::size_t i) { return i < size_ && doc_[i] >= '0' && doc_[i] <= '9'; };
  std::size_t i = pos_;
  if (doc_[i] == '-') ++i;
  if (!digit(i)) return fail_at(i, "invalid number: expected a digit");
  if (doc_[i] == '0') {
    ++i;
  } else {
    while (digit(i)) ++i;
  }
  if (i < size_ && doc_[i] == '.') {
    ++i;
    if (!digit(i)) return fail_at(i, "invalid number: expected a digit after '.'");
    while (digit(i)) ++i;
  }
  if (i < size_ && (doc_[i] == 'e' || doc_[i] == 'E')) {
    ++i;
    if (i < size_ && (doc_[i] == '+' || doc_[i] == '-')) ++i;
    if (!digit(i)) return fail_at(i, "invalid number: expected a digit in the exponent");
    while (digit(i)) ++i;
  }
  pos_ = i;
  text_ = std::string_view(doc_ + start, i - start);
  after_value();
  return last_ = Token::number;
}

JsonReader::Token JsonReader::read_string(bool is_key) {
  const std::size_t open = pos_;
  std::size_t i = pos_ + 1;
  // JSON text is UTF-8 (RFC 8259 section 8.1): a run of raw bytes with a high bit set is checked.
  const auto bad_utf8 = [this](std::size_t from, std::size_t to) {
    const std::size_t ok = valid_utf8_prefix(std::string_view(doc_ + from, to - from));
    return ok == to - from ? std::nullopt : std::optional<std::size_t>(from + ok);
  };
  unsigned char high = 0; // OR of the bytes scanned: bit 7 set when any is not ASCII
  // Fast path: scan to the closing quote; fall back to unescaping at the first backslash.
  while (i < size_) {
    const unsigned char ch = static_cast<unsigned char>(doc_[i]);
    if (ch == '"' || ch == '\\' || ch < 0x20) break;
    high |= ch;
    ++i;
  }
  if (i >= size_) return fail_at(open, "the document ends inside a string", errc::truncated_input);
  if ((high & 0x80) != 0)
    if (const auto at = bad_utf8(open + 1, i)) return fail_at(*at, "invalid UTF-8 in a string");
  if (doc_[i] == '"') {
    text_ = std::string_view(doc_ + open + 1, i - open - 1);
    pos_ = i + 1;
  } else {
    scratch_.assign(doc_ + open + 1, i - open - 1);
    for (;;) {
      if (i >= size_)
        return fail_at(open, "the document ends inside a string", errc::truncated_input);
      const unsigned char ch = static_cast<unsigned char>(doc_[i]);
      if (ch == '"') break;
      if (ch < 0x20) return fail_at(i, "control character inside a string (must be escaped)");
      if (ch != '\\') {
        const std::size_t run = i;
        while (i < size_) {
          const unsigned char d = static_cast<unsigned char>(doc_[i]);
          if (d == '"' || d == '\\' || d < 0x20) break;
          ++i;
        }
        if (const auto at = bad_utf8(run, i)) return fail_at(*at, "invalid UTF-8 in a string");
        scratch_.append(doc_ + run, i - run);
        continue;
      }
      if (i + 1 >= size_)
        return fail_at(open, "the document ends inside a string", errc::truncated_input);
      const char e = doc_[i + 1];
      i += 2;
      switch (e) {
      case '"':
        scratch_ += '"';
        break;
      case '\\':
        scratch_ += '\\';
        break;
      case '/':
        scratch_ += '/';
        break;
      case 'b':
        scratch_ += '\b';
        break;
      case 'f':
        scratch_ += '\f';
        break;
      case 'n':
        scratch_ += '\n';
        break;
      case 'r':
        scratch_ += '\r';
        break;
      case 't':
        scratch_ += '\t';
        break;
      case 'u': {
        const auto read_hex4 = [&](std::size_t at, char32_t& out) {
          if (at + 4 > size_) return false;
          char32_t v = 0;
          for (std::size_t k = 0; k < 4; ++k) {
            const int h = hex_value(doc_[at + k]);
            if (h < 0) return false;
            v = v << 4 | static_cast<char32_t>(h);
          }
          out = v;
          return true;
        };
        char32_t cp = 0;
        if (!read_hex4(i, cp)) return fail_at(i - 2, "invalid \\u escape (expected 4 hex digits)");
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          char32_t low = 0;
          if (i + 1 < size_ && doc_[i] == '\\' && doc_[i + 1] == 'u' && read_hex4(i + 2, low) &&
              low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          } else {
            cp = 0xFFFD; // a lone high surrogate cannot be UTF-8
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          cp = 0xFFFD; // a lone low surrogate
        }
        append_utf8(scratch_, cp);
        break;
      }
      default:
        return fail_at(i - 2, "invalid escape sequence in a string");
      }
    }
    text_ = scratch_;
    pos_ = i + 1;
  }
  if (is_key) {
    expect_ = Expect::colon;
    return last_ = Token::key;
  }
  after_value();
  return last_ = Token::string;
}

bool JsonReader::skip() {
  if (failed_) return false;
  if (last_ == Token::key) {
    const Token t = next();
    if (t == Token::error) return false;
    if (t != Token::begin_object && t != Token::begin_array) return true;
  } else if (last_ != Token::begin_object && last_ != Token::begin_array) {
    return true;
  }
  // Skip to the matching close bracket. Strings are skipped without unescaping.
  const std::size_t target = stack_.size() - 1;
  while (stack_.size() > target) {
    if (pos_ >= size_) {
      next(); // reports the truncation
      return false;
    }
    const char c = doc_[pos_];
    if (c == '"') {
      std::size_t i = pos_ + 1;
      for (;;) {
        const void* q = std::memchr(doc_ + i, '"', size_ - i);
        if (q == nullptr) {
          fail_at(pos_, "the document ends inside a string", errc::truncated_input);
          return false;
        }
        const std::size_t at = static_cast<std::size_t>(static_cast<const char*>(q) - doc_);
        std::size_t bs = 0;
        while (at - bs > i && doc_[at - bs - 1] == '\\') ++bs;
        i = at + 1;
        if (bs % 2 == 0) break;
      }
      pos_ = i;
      continue;
    }
    if (c == '{' || c == '[') {
      if (stack_.size() >= max_depth_) {
        fail_at(pos_, "nesting deeper than " + std::to_string(max_depth_) + " levels",
                errc::limit_exceeded);
        return false;
      }
      stack_.push_back(c);
    } else if (c == '}' || c == ']') {
      if ((c == '}') != (stack_.back() == '{')) {
        fail_at(pos_, std::string("mismatched '") + c + "'");
        return false;
      }
      stack_.pop_back();
    }
    ++pos_;
  }
  after_value();
  last_ = stack_.empty() ? Token::end : Token::null; // a neutral token: the value is done
  return true;
}

bool JsonReader::raw_value(std::string_view& out) {
  const std::size_t start = token_start_;
  if (!skip()) return false;
  out = std::string_view(doc_ + start, pos_ - start);
  return true;
}

} // namespace sio
