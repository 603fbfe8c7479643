#pragma once
/// JsonReader: a fast pull tokenizer over one JSON document held in memory.
///
/// Why our own: HAR files reach hundreds of MB. nlohmann's SAX lexer runs at ~120 MB/s here
/// (it copies every token for its error messages); this reader scans strings with memchr-like
/// loops, hands out views without copying when a string has no escapes, and can skip whole
/// subtrees it does not need. Values we keep are parsed with nlohmann from their raw text.
///
/// Usage: call next() to get each token; for strings and keys, text() is the unescaped value;
/// skip() skips the value whose first token was just returned (or the next value). Errors stop
/// the reader: next() then returns Token::error and error() says what and where (byte offset).

#include "sio/common/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sio {

class JsonReader {
public:
  enum class Token : std::uint8_t {
    begin_object,
    end_object,
    begin_array,
    end_array,
    key,    ///< an object member name; text() holds it
    string, ///< text() holds the unescaped value
    number, ///< text() holds the number as written
    boolean_true,
    boolean_false,
    null,
    end,  ///< the document ended cleanly
    error ///< see error()
  };

  /// `max_depth` bounds nesting (objects + arrays) so hostile input cannot exhaust memory.
  explicit JsonReader(std::string_view doc, std::size_t max_depth = 1024);

  /// Reads the next token.
  Token next();

  /// The text of the last key, string or number token. Valid until the next call of next().
  [[nodiscard]] std::string_view text() const noexcept { return text_; }

  /// Skips one value. If the last token opened an object or array, skips to its end; if it was a
  /// key, skips the member's value; otherwise (a scalar) does nothing. Returns false on error.
  bool skip();

  /// Raw JSON text of one value: call right after the value's first token (begin_object,
  /// begin_array or a scalar). Consumes the value. Returns false on error.
  bool raw_value(std::string_view& out);

  /// Byte offset of the start of the last token.
  [[nodiscard]] std::uint64_t token_offset() const noexcept { return token_start_; }
  /// Byte offset of the reader's position.
  [[nodiscard]] std::uint64_t offset() const noexcept { return pos_; }
  /// Current nesting depth.
  [[nodiscard]] std::size_t depth() const noexcept { return stack_.size(); }
  /// The error after Token::error.
  [[nodiscard]] const Error& error() const noexcept { return error_; }
  /// True once an error has been reported.
  [[nodiscard]] bool failed() const noexcept { return failed_; }

  /// Turns a token into a word for error messages ("a string", "an object", ...).
  static std::string_view describe(Token t) noexcept;

private:
  enum class Expect : std::uint8_t {
    value,
    key_or_end,
    key,
    colon,
    comma_or_end,
    value_or_end,
    done
  };
  Token fail_at(std::uint64_t at, std::string what, errc code = errc::bad_json);
  Token read_value_start(char c);
  Token read_string(bool is_key);
  Token read_number();
  Token read_literal(std::string_view word, Token t);
  void after_value();
  void skip_ws() noexcept;

  const char* doc_;
  std::size_t size_;
  std::size_t pos_ = 0;
  std::size_t token_start_ = 0;
  std::size_t max_depth_;
  std::vector<char> stack_; ///< '{' or '['
  Expect expect_ = Expect::value;
  std::string_view text_;
  std::string scratch_; ///< unescaped string storage
  Token last_ = Token::end;
  bool failed_ = false;
  Error error_;
};

} // namespace sio
